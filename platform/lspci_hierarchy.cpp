#include "platform/lspci_hierarchy.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <tuple>

namespace iotwin::platform::lspci_hierarchy {

using lspci_text::function;
using lspci_text::port_type;

namespace {

std::uint16_t domain_of(const function& f) { return f.domain.value_or(0); }
unsigned rid_of(const function& f) { return unsigned(f.bus) << 8 | unsigned(f.dev) << 3 | f.fn; }

class builder {
public:
    explicit builder(const lspci_text::listing& l) : l_(l), dropped_(l.functions.size(), false), parent_(l.functions.size(), -1), vf_of_(l.functions.size(), -1) {}

    machine run() {
        find_repeated_functions();
        find_virtual_functions();
        index_bridges();
        place_functions();
        drop_functions_without_function_0();
        children_.resize(l_.functions.size());
        vfs_listed_.resize(l_.functions.size());
        for (std::size_t c = 0; c < l_.functions.size(); ++c) {
            if (dropped_[c]) continue;
            if (parent_[c] >= 0) children_[std::size_t(parent_[c])].push_back(int(c));
            if (vf_of_[c] >= 0) ++vfs_listed_[std::size_t(vf_of_[c])];
        }
        for (const auto& [key, members] : roots_) {
            root_bus r;
            r.domain = key.first;
            r.bus = key.second;
            for (int i : members)
                if (!dropped_[std::size_t(i)]) r.children.push_back(make(i, nullptr));
            if (r.children.empty()) continue;
            sort(r.children);
            out_.roots.push_back(std::move(r));
        }
        std::stable_sort(out_.problems.begin(), out_.problems.end(), [](const problem& a, const problem& b) { return a.line < b.line; });
        return std::move(out_);
    }

private:
    // A function listed a second time (a listing pasted twice, two runs
    // concatenated): the first record stands, the others are left out.
    void find_repeated_functions() {
        std::map<std::pair<std::uint16_t, unsigned>, int> first;
        for (std::size_t i = 0; i < l_.functions.size(); ++i) {
            const function& f = l_.functions[i];
            const auto [it, fresh] = first.emplace(std::make_pair(domain_of(f), rid_of(f)), int(i));
            if (fresh) continue;
            dropped_[i] = true;
            out_.problems.push_back({f.line, f.address() + " is listed again (first at line " +
                                                 std::to_string(l_.functions[std::size_t(it->second)].line) +
                                                 "): this record is not imported, the first one is"});
        }
    }

    // Linux reads function 0 of a device first and looks for the others only
    // when it is there (pci_scan_slot(), Linux 6.1; ARI too starts its chain
    // at function 0), so a function whose device has no function 0 in the
    // listing (`lspci -s 00:1d.7`) is one the scenario cannot declare: it is
    // left out, and so is whatever lies below it.
    void drop_functions_without_function_0() {
        std::set<std::tuple<std::uint16_t, unsigned, unsigned>> with_function_0;
        for (std::size_t i = 0; i < l_.functions.size(); ++i) {
            const function& f = l_.functions[i];
            if (!dropped_[i] && vf_of_[i] < 0 && f.fn == 0) with_function_0.insert({domain_of(f), f.bus, f.dev});
        }
        for (std::size_t i = 0; i < l_.functions.size(); ++i) {
            const function& f = l_.functions[i];
            if (dropped_[i] || vf_of_[i] >= 0 || f.fn == 0 || with_function_0.count({domain_of(f), f.bus, f.dev})) continue;
            dropped_[i] = true;
            out_.problems.push_back({f.line, f.address() + " is function " + std::to_string(f.fn) + " of a device whose function 0 the listing does not show: " +
                                                 "Linux finds the other functions of a device only through its function 0 (pci_scan_slot()), " +
                                                 "so it is not imported (a hypervisor that hands out single functions is not modelled)"});
        }
        for (std::size_t i = 0; i < l_.functions.size(); ++i) {
            if (dropped_[i] || vf_of_[i] >= 0) continue;
            for (int up = parent_[i]; up >= 0; up = parent_[std::size_t(up)]) {
                if (!dropped_[std::size_t(up)]) continue;
                dropped_[i] = true;
                out_.problems.push_back({l_.functions[i].line, l_.functions[i].address() + " lies below " + l_.functions[std::size_t(up)].address() +
                                                                   ", which is not imported: not imported either"});
                break;
            }
        }
    }

    // A PF's listed VFs: the functions at its VF routing IDs (in its domain).
    void find_virtual_functions() {
        std::map<std::pair<std::uint16_t, unsigned>, int> by_rid;
        for (std::size_t i = l_.functions.size(); i-- > 0;)
            if (!dropped_[i]) by_rid[{domain_of(l_.functions[i]), rid_of(l_.functions[i])}] = int(i);
        for (std::size_t i = 0; i < l_.functions.size(); ++i) {
            if (dropped_[i]) continue;
            const function& pf = l_.functions[i];
            if (!pf.sriov || pf.sriov->num_vfs == 0) continue;
            for (unsigned n = 0; n < pf.sriov->num_vfs; ++n) {
                const unsigned rid = rid_of(pf) + pf.sriov->vf_offset + n * pf.sriov->vf_stride;
                const auto it = by_rid.find({domain_of(pf), rid});
                if (it == by_rid.end()) continue;
                const function& vf = l_.functions[std::size_t(it->second)];
                if (vf.device && *vf.device != pf.sriov->vf_device) {
                    out_.problems.push_back({vf.line, vf.address() + " sits at a VF routing ID of " + pf.address() +
                                                          " but its device ID is not the VF Device ID: kept as a function of its own"});
                    continue;
                }
                vf_of_[std::size_t(it->second)] = int(i);
            }
        }
    }

    void index_bridges() {
        for (std::size_t i = 0; i < l_.functions.size(); ++i) {
            const function& b = l_.functions[i];
            if (!b.secondary_bus || vf_of_[i] >= 0 || dropped_[i]) continue;
            if (*b.secondary_bus <= b.bus || (b.subordinate_bus && *b.subordinate_bus < *b.secondary_bus)) {
                out_.problems.push_back({b.line, b.address() + ": bus numbers that open nothing below it (secondary " +
                                                     std::to_string(*b.secondary_bus) + " on bus " + std::to_string(b.bus) +
                                                     "): treated as a bridge with no secondary bus"});
                continue;
            }
            const auto key = std::make_pair(domain_of(b), *b.secondary_bus);
            if (!opens_.emplace(key, int(i)).second)
                out_.problems.push_back({b.line, b.address() + " opens the bus that " + l_.functions[std::size_t(opens_[key])].address() +
                                                     " opens already: its functions stay with the first"});
        }
    }

    void place_functions() {
        for (std::size_t i = 0; i < l_.functions.size(); ++i) {
            if (vf_of_[i] >= 0 || dropped_[i]) continue;
            const function& f = l_.functions[i];
            const auto it = opens_.find({domain_of(f), f.bus});
            if (it != opens_.end()) {
                parent_[i] = it->second;
                continue;
            }
            if (const int within = covering(f); within >= 0) {
                out_.problems.push_back({f.line, f.address() + " is on bus " + hex2(f.bus) + ", inside the range of " +
                                                     l_.functions[std::size_t(within)].address() +
                                                     " but on no bus a bridge of the listing opens (a bridge missing from it?): placed below " +
                                                     l_.functions[std::size_t(within)].address()});
                parent_[i] = within;
                continue;
            }
            roots_[{domain_of(f), f.bus}].push_back(int(i));
        }
    }

    // The bridge with the narrowest bus range that holds f's bus, or -1.
    int covering(const function& f) const {
        int best = -1;
        unsigned width = 256;
        for (const auto& [key, i] : opens_) {
            const function& b = l_.functions[std::size_t(i)];
            const unsigned lo = *b.secondary_bus, hi = b.subordinate_bus.value_or(*b.secondary_bus);
            if (key.first == domain_of(f) && f.bus >= lo && f.bus <= hi && hi - lo < width) {
                best = i;
                width = hi - lo;
            }
        }
        return best;
    }

    // `parent`: the node it sits below, none on a root bus (types are
    // decided from the top down: a port type inferred for a bridge decides
    // its children's).
    node make(int i, const node* parent) {
        node n;
        n.function = &l_.functions[std::size_t(i)];
        n.type = typed(*n.function, parent);
        n.vfs_listed = vfs_listed_[std::size_t(i)];
        const bool link = n.type == node_type::root_port || n.type == node_type::downstream_port;
        // The functions of the bus the bridge opens come first; one placed
        // below it from another bus of its range cannot take their position.
        std::vector<int> order = children_[std::size_t(i)];
        const auto own_bus_first = [&](int x, int y) {
            const function &fx = l_.functions[std::size_t(x)], &fy = l_.functions[std::size_t(y)];
            const bool ox = fx.bus == n.function->secondary_bus, oy = fy.bus == n.function->secondary_bus;
            return std::make_tuple(!ox, fx.bus, fx.dev, fx.fn) < std::make_tuple(!oy, fy.bus, fy.dev, fy.fn);
        };
        std::sort(order.begin(), order.end(), own_bus_first);
        std::map<unsigned, int> at;  // dev << 3 | fn -> the child there
        for (int c : order) {
            const function& cf = l_.functions[std::size_t(c)];
            if (const auto [it, fresh] = at.emplace(unsigned(cf.dev) << 3 | cf.fn, c); !fresh) {
                out_.problems.push_back({cf.line, cf.address() + " would sit below " + n.function->address() + " at the position of " +
                                                      l_.functions[std::size_t(it->second)].address() + ": not imported"});
                not_imported_below(c);
                continue;
            }
            if (link && cf.dev != 0) {
                // only_one_child() (Linux 6.1): below a PCI Express port Linux
                // scans device 0 only, as a link has no other.
                out_.problems.push_back({cf.line, cf.address() + " is device " + hex2(cf.dev) + " on the link below " + n.function->address() +
                                                      " (" + a(n.type) + "), where Linux scans device 0 only (only_one_child()): not imported"});
                not_imported_below(c);
                continue;
            }
            n.children.push_back(make(c, &n));
        }
        sort(n.children);
        return n;
    }

    void not_imported_below(int i) {
        for (int c : children_[std::size_t(i)]) {
            const function& cf = l_.functions[std::size_t(c)];
            out_.problems.push_back({cf.line, cf.address() + " lies below " + l_.functions[std::size_t(i)].address() + ", which is not imported: not imported either"});
            not_imported_below(c);
        }
    }

    // type_of(), with what only the function's place tells: the port type of
    // a bridge whose capabilities lspci could not read, the type of a
    // function whose header and PCI Express capability disagree.
    node_type typed(const function& f, const node* parent) {
        const node_type t = type_of(f);
        const std::string at = f.address() + ": ";
        const bool type1 = f.secondary_bus.has_value();
        if (t == node_type::pci_bridge && f.capabilities_denied && f.driver == "pcieport") return inferred_port(f, parent);
        if (type1 && t == node_type::pci_bridge && f.express != port_type::none && f.express != port_type::pci_to_pcie_bridge) {
            out_.problems.push_back({f.line, at + "a type 1 (bridge) header, as its Bus: line shows, with a PCI Express capability of type " +
                                                 to_string(f.express) + ": imported as a pci_bridge, since the header decides (Linux scans the " +
                                                 "bus behind any type 1 header); the twin has it as a conventional bridge"});
            return t;
        }
        if (!type1 && is_port(f.express) && f.class_code >> 8 != 0x0600) {
            const node_type as = parent ? node_type::endpoint : node_type::rciep;
            out_.problems.push_back({f.line, at + "a PCI Express " + to_string(f.express) + " without a Bus: line (a type 0 header, class 0x" +
                                                 hex6(f.class_code) + "): imported as an " + to_string(as) +
                                                 ", since the header decides (Linux scans no bus behind a type 0 header)"});
            return as;
        }
        if (!type1 && (f.class_code >> 8 == 0x0604 || f.class_code >> 8 == 0x0609))
            out_.problems.push_back({f.line, at + "class 0x" + hex6(f.class_code) + " (a PCI-to-PCI bridge) without a Bus: line: imported as the " +
                                                 "function with a type 0 header that the listing shows, with nothing below it"});
        if (t == node_type::upstream_port || t == node_type::downstream_port) return switch_port(f, t, parent);
        return t;
    }

    // A switch port where its port type cannot be: Linux corrects a
    // Downstream Port below a Root Port or Downstream Port to an Upstream
    // Port, and an Upstream Port below an Upstream Port to a Downstream
    // Port (set_pcie_port_type(), Linux 6.1). A Downstream Port anywhere
    // else has no switch above it in the listing (a cut listing).
    node_type switch_port(const function& f, node_type t, const node* parent) {
        const node_type above = parent ? parent->type : node_type::host_bridge;
        const bool link_above = above == node_type::root_port || above == node_type::downstream_port || above == node_type::pcie_pci_bridge;
        std::optional<node_type> as;
        std::string why;
        if (t == node_type::downstream_port && link_above) {
            as = node_type::upstream_port;
            why = "Linux takes a Downstream Port below " + a(above) + " for an Upstream Port (set_pcie_port_type())";
        } else if (t == node_type::upstream_port && above == node_type::upstream_port) {
            as = node_type::downstream_port;
            why = "Linux takes an Upstream Port below an upstream_port for a Downstream Port (set_pcie_port_type())";
        } else if (t == node_type::downstream_port && above != node_type::upstream_port) {
            as = parent ? node_type::pci_bridge : node_type::root_port;
            why = std::string("a Downstream Port with no switch's upstream port above it in the listing (") +
                  (parent ? "below " + a(above) : std::string("on a root bus")) + "), which a scenario cannot declare";
        }
        if (!as) return t;
        out_.problems.push_back({f.line, f.address() + ": " + why + ": imported as " + a(*as)});
        return *as;
    }

    // Linux's PCI Express port driver binds only to Root Ports, switch
    // Upstream and Downstream Ports and Root Complex Event Collectors
    // (pcie_portdrv_probe(), Linux 6.1); a bridge is none but a port, and
    // where it sits tells which.
    node_type inferred_port(const function& f, const node* parent) {
        std::optional<node_type> t;
        if (!parent)
            t = node_type::root_port;
        else if (parent->type == node_type::root_port || parent->type == node_type::downstream_port)
            t = node_type::upstream_port;
        else if (parent->type == node_type::upstream_port)
            t = node_type::downstream_port;
        const std::string head = f.address() + ": capabilities not readable (lspci without root) and Kernel driver in use: pcieport";
        if (!t) {
            out_.problems.push_back({f.line, head + ", but below " + parent->function->address() + " (" + a(parent->type) +
                                                 ") no PCI Express port type fits: imported as a pci_bridge"});
            return node_type::pci_bridge;
        }
        out_.problems.push_back({f.line, "port type inferred from the pcieport driver: " + head + " (the driver binds only to PCI Express ports), " +
                                             (parent ? "directly below " + parent->function->address() + " (" + a(parent->type) + ")"
                                                     : std::string("on a root bus")) +
                                             ": imported as " + a(*t) + "; its ACS, which the listing hides, stays unknown"});
        return *t;
    }

    // "a root_port", "an upstream_port".
    static std::string a(node_type t) {
        const std::string name = to_string(t);
        return (std::string("aeiou").find(name[0]) != std::string::npos ? "an " : "a ") + name;
    }
    static bool is_port(port_type t) {
        return t == port_type::root_port || t == port_type::upstream_port || t == port_type::downstream_port || t == port_type::pcie_to_pci_bridge;
    }
    static std::string hex6(unsigned v) {
        char s[8];
        std::snprintf(s, sizeof s, "%06x", v & 0xffffff);
        return s;
    }

    static void sort(std::vector<node>& v) {
        std::sort(v.begin(), v.end(), [](const node& a, const node& b) {
            return std::tie(a.function->bus, a.function->dev, a.function->fn) < std::tie(b.function->bus, b.function->dev, b.function->fn);
        });
    }
    static std::string hex2(unsigned v) {
        char s[4];
        std::snprintf(s, sizeof s, "%02x", v & 0xff);
        return s;
    }

    const lspci_text::listing& l_;
    std::vector<bool> dropped_;  // by function: not imported (listed again, or no function 0 of its device)
    std::vector<int> parent_;  // index of the bridge each function sits below, or -1 (a root bus)
    std::vector<int> vf_of_;   // index of the PF of a listed VF, or -1
    std::vector<std::vector<int>> children_;  // by bridge: the functions placed below it
    std::vector<unsigned> vfs_listed_;        // by PF: its VFs the listing shows
    std::map<std::pair<std::uint16_t, std::uint8_t>, int> opens_;  // (domain, secondary bus) -> bridge
    std::map<std::pair<std::uint16_t, std::uint8_t>, std::vector<int>> roots_;
    machine out_;
};

} // namespace

node_type type_of(const function& f) {
    // A host-bridge function (the root complex's DRAM controller, AMD's
    // dummy host bridges) is an ordinary function of its root bus to Linux:
    // integrated when it has an Express capability, whatever port type that
    // claims (the X58 IOH's 00:00.0 says Root Port), else conventional. The
    // scenario's host_bridge type is something else: a function that opens
    // another root bus.
    //
    // Where the header and the PCI Express capability disagree, the header
    // decides, as it does for Linux: a function with a `Bus:` line (a type 1
    // header) is a bridge, one without is not (docs/import.md).
    const bool type1 = f.secondary_bus.has_value();
    if (f.class_code >> 8 == 0x0600 && !type1) return f.express == port_type::none ? node_type::pci_device : node_type::rciep;
    switch (f.express) {
    case port_type::root_port: return type1 ? node_type::root_port : node_type::rciep;
    case port_type::upstream_port: return type1 ? node_type::upstream_port : node_type::endpoint;
    case port_type::downstream_port: return type1 ? node_type::downstream_port : node_type::endpoint;
    case port_type::pcie_to_pci_bridge: return type1 ? node_type::pcie_pci_bridge : node_type::endpoint;
    case port_type::endpoint:
    case port_type::legacy_endpoint: return type1 ? node_type::pci_bridge : node_type::endpoint;
    case port_type::rc_integrated:
    case port_type::rc_event_collector: return type1 ? node_type::pci_bridge : node_type::rciep;
    case port_type::pci_to_pcie_bridge:
    case port_type::unknown:
    case port_type::none: break;
    }
    return f.secondary_bus ? node_type::pci_bridge : node_type::pci_device;
}

machine rebuild(const lspci_text::listing& l) { return builder(l).run(); }

} // namespace iotwin::platform::lspci_hierarchy
