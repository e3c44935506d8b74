#include "platform/topology.h"

#include <algorithm>
#include <array>
#include <map>

#include "models/devices/device_list.h"
#include "platform/quirks.h"

namespace iotwin::platform {

namespace acs {

namespace {
constexpr std::pair<const char*, std::uint16_t> bit_names[] = {{"SV", SV}, {"TB", TB}, {"RR", RR}, {"CR", CR},
                                                               {"UF", UF}, {"EC", EC}, {"DT", DT}};
}

const std::vector<std::string>& known_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (const auto& [name, bit] : bit_names) v.emplace_back(name);
        return v;
    }();
    return names;
}

std::uint16_t bits(const std::vector<std::string>& names) {
    std::uint16_t b = 0;
    for (const std::string& n : names)
        for (const auto& [name, bit] : bit_names)
            if (n == name) b |= bit;
    return b;
}

std::string names(std::uint16_t b) {
    std::string s;
    for (const auto& [name, bit] : bit_names)
        if (b & bit) s += (s.empty() ? "" : " ") + std::string(name);
    return s;
}

} // namespace acs

namespace {

// The IDs and PCI Express port type of a node: its own, or the defaults of
// its type (QEMU's IDs for ports and bridges so that no quirk applies,
// iotwin's own 1b36:00f0/00f1 for endpoints and conventional functions).
struct node_identity {
    std::uint16_t vendor, device;
    std::uint32_t class_code;
    std::optional<pci::port_type> pcie_type;
};

node_identity identity_of(const pcie_node& n) {
    using t = node_type;
    using port = pci::port_type;
    node_identity id{};
    switch (n.type) {
    case t::root_port: id = {0x1b36, 0x000c, 0x060400, port::root_port}; break;
    case t::upstream_port: id = {0x104c, 0x8232, 0x060400, port::upstream_port}; break;
    case t::downstream_port: id = {0x104c, 0x8233, 0x060400, port::downstream_port}; break;
    case t::pcie_pci_bridge: id = {0x1b36, 0x000e, 0x060400, port::pcie_to_pci_bridge}; break;
    case t::pci_bridge: id = {0x1b36, 0x0001, 0x060400, std::nullopt}; break;
    case t::host_bridge: id = {0x8086, 0x29c0, 0x060000, std::nullopt}; break;
    case t::rciep: id = {0x1b36, 0x00f0, 0x088000, port::rciep}; break;
    case t::endpoint: id = {0x1b36, 0x00f0, 0x088000, port::endpoint}; break;
    case t::pci_device: id = {0x1b36, 0x00f1, 0x088000, std::nullopt}; break;
    }
    // A model of a real device fixes its IDs (models/devices/model_traits.h);
    // the loader refuses a description that gives others.
    if (const auto m = devices::model_identity_of(n.model)) {
        id.vendor = m->vendor;
        id.device = m->device;
        id.class_code = m->class_code;
        if (m->conventional_pci) id.pcie_type.reset();
    }
    if (n.vendor) id.vendor = *n.vendor;
    if (n.device) id.device = *n.device;
    if (n.class_code) id.class_code = *n.class_code;
    return id;
}

} // namespace

std::string topo_function::bdf_string() const {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%x", segment, bdf.bus, bdf.dev, bdf.fn);
    return buf;
}

namespace {

// A bridge's buses: the secondary bus it opens and the highest below it.
struct bus_range {
    unsigned secondary = 0, subordinate = 0;
};

std::string buses(unsigned lo, unsigned hi) {
    return lo == hi ? "bus " + std::to_string(lo) : "buses " + std::to_string(lo) + ".." + std::to_string(hi);
}

// The bus numbers of every bridge, as Linux 6.1 leaves them
// (drivers/pci/probe.c, pci_scan_child_bus_extend() and
// pci_scan_bridge_extend()). On each bus, after the buses the virtual
// functions of its PFs can need (pci_iov_bus_range()), a first pass keeps the
// numbers firmware programmed into bridges (`secondary`, `subordinate`) and
// scans below them; a second pass numbers the other bridges, each from the
// highest bus in use + 1, and gives it the buses below it. Without numbers
// from firmware this is the depth-first numbering PC firmware does.
//
// Linux renumbers a bridge whose numbers are invalid (secondary not above its
// bus, subordinate below secondary), and keeps ranges that leave their
// parent's or overlap a sibling's, with devices behind them unusable; a
// scenario states the numbers a machine has, so those are input errors here
// (docs/fidelity.md).
class bus_numbering {
public:
    explicit bus_numbering(std::map<const pcie_node*, bus_range>& out) : out_(out) {}

    // Numbers the bridges below root bus `bus`; returns the highest bus used.
    unsigned root(const std::vector<pcie_node>& nodes, unsigned bus) { return scan(nodes, bus, {255, nullptr}); }

private:
    // The highest bus a bus's bridges may use, and the bridge whose
    // firmware range sets it (none: the root bus, up to 255).
    struct limit {
        unsigned end;
        const pcie_node* by;
    };
    // An explicit bridge's buses, kept to check its later siblings against.
    struct claimed {
        bus_range r;
        const pcie_node* by;
    };

    unsigned scan(const std::vector<pcie_node>& nodes, unsigned bus, limit lim) {
        std::vector<const pcie_node*> bridges;
        for (const pcie_node& n : nodes)
            if (is_bridge(n.type) && n.type != node_type::host_bridge) bridges.push_back(&n);
        const auto by_devfn = [](const pcie_node* a, const pcie_node* b) { return (a->dev << 3 | a->fn) < (b->dev << 3 | b->fn); };
        if (!std::is_sorted(bridges.begin(), bridges.end(), by_devfn)) std::stable_sort(bridges.begin(), bridges.end(), by_devfn);
        const pcie_node* vf_owner = nullptr;
        const unsigned vf_max = virtual_function_buses(nodes, bus, lim, vf_owner);
        unsigned max = vf_max;
        std::vector<claimed> kept;
        // First pass: the bridges firmware numbered.
        for (const pcie_node* b : bridges) {
            if (!b->secondary) continue;
            const unsigned sec = *b->secondary;
            if (sec <= bus)
                throw input_error(b->secondary_pos, "secondary bus " + std::to_string(sec) + " of '" + b->id + "' is not above bus " +
                                                        std::to_string(bus) + ", where it sits (Linux would find the bridge misconfigured and renumber it)");
            check_claim({sec, b->subordinate.value_or(sec)}, *b, bus, lim, vf_max, vf_owner, kept);
            limit below = lim;
            if (b->subordinate) below = {*b->subordinate, b};
            const unsigned cmax = scan(b->children, sec, below);
            const bus_range r{sec, b->subordinate.value_or(cmax)};
            if (!b->subordinate) check_claim(r, *b, bus, lim, vf_max, vf_owner, kept);
            out_[b] = r;
            kept.push_back({r, b});
            max = std::max(max, r.subordinate);
        }
        // Second pass: Linux numbers the others.
        for (const pcie_node* b : bridges) {
            if (b->secondary) continue;
            if (max >= lim.end)
                throw input_error(b->pos, "no bus number left for the secondary bus of '" + b->id + "'" +
                                              (lim.by ? " within the range of '" + lim.by->id + "' (" + range_of(*lim.by) + ")" : std::string()));
            const unsigned sec = ++max;
            max = scan(b->children, sec, lim);
            out_[b] = {sec, max};
        }
        return max;
    }

    // pci_iov_bus_range(): the highest bus the last possible VF of a PF on
    // `bus` needs (`bus` itself when none needs another), and the PF.
    static unsigned virtual_function_buses(const std::vector<pcie_node>& nodes, unsigned bus, limit lim, const pcie_node*& owner) {
        unsigned max = bus;
        for (const pcie_node& n : nodes) {
            if (!n.sriov || !n.sriov->total_vfs) continue;
            const std::uint32_t rid =
                pci::vf_routing_id(bus << 8 | (n.dev << 3 | n.fn), n.sriov->first_vf_offset, n.sriov->vf_stride, n.sriov->total_vfs - 1);
            if (rid >> 8 > 255) throw input_error(n.pos, "SR-IOV virtual functions need bus numbers beyond 255");
            if (rid >> 8 > lim.end)
                throw input_error(n.pos, "the virtual functions of '" + n.id + "' need buses up to " + std::to_string(rid >> 8) +
                                             ", beyond the range of '" + lim.by->id + "' (" + range_of(*lim.by) + ")");
            if (rid >> 8 > max) max = rid >> 8, owner = &n;
        }
        return max;
    }

    // A firmware range must lie inside its parent's, clear of the buses of
    // the VFs on its bus and of its siblings' ranges.
    static void check_claim(bus_range r, const pcie_node& b, unsigned bus, limit lim, unsigned vf_max, const pcie_node* vf_owner,
                            const std::vector<claimed>& kept) {
        const source_pos& at = b.secondary_pos;
        const std::string what = buses(r.secondary, r.subordinate) + " of '" + b.id + "'";
        if (r.subordinate > lim.end)
            throw input_error(b.subordinate ? b.subordinate_pos : at, what + ": outside the range of '" + lim.by->id + "' (" + range_of(*lim.by) + ")");
        if (vf_owner && r.secondary <= vf_max)
            throw input_error(at, what + ": the virtual functions of '" + vf_owner->id + "' need " + buses(bus + 1, vf_max) +
                                      " (pci_iov_bus_range())");
        for (const claimed& c : kept)
            if (r.secondary <= c.r.subordinate && c.r.secondary <= r.subordinate)
                throw input_error(at, what + " and " + buses(c.r.secondary, c.r.subordinate) + " of '" + c.by->id + "' overlap");
    }

    static std::string range_of(const pcie_node& b) { return buses(*b.secondary, *b.subordinate); }

    std::map<const pcie_node*, bus_range>& out_;
};

class numbering {
public:
    explicit numbering(topology& t) : t_(t) {}

    void run(const platform_desc& p) {
        std::map<std::uint16_t, unsigned> last_bus;  // per segment, the highest bus used so far
        bus_numbering buses_of(ranges_);
        last_bus[0] = buses_of.root(p.pcie, 0);
        scan_bus(p.pcie, 0, 0, -1);
        // Additional host bridges open their root buses in description order.
        for (const pcie_node& n : p.pcie) {
            if (n.type != node_type::host_bridge) continue;
            const std::uint16_t seg = n.segment;
            const std::uint8_t root = *n.root_bus;
            auto used = last_bus.find(seg);
            if (used != last_bus.end() && root <= used->second)
                throw input_error(n.pos, "root_bus " + std::to_string(root) + " of '" + n.id + "' is already used: buses up to " +
                                             std::to_string(used->second) + " of segment " + std::to_string(seg) + " are taken");
            last_bus[seg] = buses_of.root(n.children, root);
            t_.root_buses.push_back(root);
            scan_bus(n.children, seg, root, -1);
        }
        add_virtual_functions();
        index_by_id();
        // Functions of one bus mostly follow each other in probe order.
        std::vector<int>* bus = nullptr;
        std::uint32_t bus_key = 0;
        for (std::size_t i = 0; i < t_.functions.size(); ++i) {
            const std::uint32_t k = t_.functions[i].bus_key();
            if (!bus || k != bus_key) {
                bus = &t_.by_bus[k];
                bus_key = k;
            }
            bus->push_back(static_cast<int>(i));
        }
        t_.graph = topo_graph(t_.functions.size());
        for (std::size_t i = 0; i < t_.functions.size(); ++i)
            if (t_.functions[i].parent >= 0) boost::add_edge(static_cast<std::size_t>(t_.functions[i].parent), i, t_.graph);
    }

private:
    // by_id[id] = i for every function in probe order (the last of equal ids
    // wins), inserted in key order so that each insertion is amortized O(1).
    // The sort compares the first 16 bytes of the ids as two integers (zero
    // padded, big-endian: the same order as the strings') and the strings
    // only when those are equal.
    void index_by_id() {
        const std::vector<topo_function>& fs = t_.functions;
        struct key {
            std::uint64_t hi, lo;
            int i;
        };
        const auto word = [](const std::string& s, std::size_t off) {
            std::uint64_t v = 0;
            for (std::size_t k = off; k < off + 8; ++k) v = v << 8 | (k < s.size() ? static_cast<unsigned char>(s[k]) : 0u);
            return v;
        };
        std::vector<key> order(fs.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = {word(fs[i].id, 0), word(fs[i].id, 8), static_cast<int>(i)};
        const auto same = [&](const key& a, const key& b) { return a.hi == b.hi && a.lo == b.lo && fs[a.i].id == fs[b.i].id; };
        std::sort(order.begin(), order.end(), [&](const key& a, const key& b) {
            if (a.hi != b.hi) return a.hi < b.hi;
            if (a.lo != b.lo) return a.lo < b.lo;
            const int c = fs[a.i].id.compare(fs[b.i].id);
            return c < 0 || (c == 0 && a.i < b.i);
        });
        for (std::size_t k = 0; k < order.size(); ++k) {
            if (k + 1 < order.size() && same(order[k + 1], order[k])) continue;  // a later function has this id
            t_.by_id.emplace_hint(t_.by_id.end(), fs[order[k].i].id, order[k].i);
        }
    }

    void scan_bus(const std::vector<pcie_node>& nodes, std::uint16_t seg, std::uint8_t bus, int parent) {
        std::vector<const pcie_node*> order;
        order.reserve(nodes.size());
        for (const pcie_node& n : nodes) order.push_back(&n);
        const auto by_devfn = [](const pcie_node* a, const pcie_node* b) { return (a->dev << 3 | a->fn) < (b->dev << 3 | b->fn); };
        if (!std::is_sorted(order.begin(), order.end(), by_devfn)) std::stable_sort(order.begin(), order.end(), by_devfn);
        std::vector<std::pair<int, const pcie_node*>> bridges;
        std::array<int, 256> per_device{};  // functions of the description at each device number
        for (const pcie_node& n : nodes) ++per_device[n.dev];
        for (const pcie_node* n : order) {
            const int idx = add(*n, per_device[n->dev], seg, bus, parent);
            if (t_.functions[idx].bridge) bridges.emplace_back(idx, n);
        }
        // Each bus's functions, then the buses below its bridges in device
        // order (pci_bus_add_devices()), whatever pass numbered them.
        for (auto [idx, n] : bridges) {
            const bus_range& r = ranges_.at(n);
            t_.functions[idx].secondary = static_cast<std::uint8_t>(r.secondary);
            t_.functions[idx].subordinate = static_cast<std::uint8_t>(r.subordinate);
            scan_bus(n->children, seg, static_cast<std::uint8_t>(r.secondary), idx);
        }
    }

    // same_device: how many functions of the parent bus's description share n's device number.
    int add(const pcie_node& n, int same_device, std::uint16_t seg, std::uint8_t bus, int parent) {
        const node_identity id = identity_of(n);
        // Firmware and Linux take a Vendor ID of FFFFh for an empty slot
        // (PCI_POSSIBLE_ERROR): such a function, and all below it, would
        // never be enumerated.
        if (id.vendor == 0xffff) throw input_error(n.pos, "vendor 0xffff of '" + n.id + "' is what an empty slot reads; no function has it");
        topo_function f;
        f.id = n.id;
        f.type = n.type;
        f.node = &n;
        f.segment = seg;
        f.bdf = {bus, n.dev, n.fn};
        f.vendor = id.vendor;
        f.device = id.device;
        f.class_code = id.class_code;
        f.pcie_type = id.pcie_type;
        f.header_multifunction = n.multifunction.value_or(same_device > 1);
        f.multifunction = f.header_multifunction || n.fn > 0;
        // Conventional PCI has no extended configuration space, so no ACS
        // capability there (pci_find_ext_capability() finds nothing).
        f.has_acs = n.has_acs && f.pcie_type;
        if (f.has_acs) {
            f.acs_cap = acs::bits(n.acs);
            // Linux 6.1 pci_std_enable_acs() adds Translation Blocking on an
            // external-facing port and on an untrusted device (one below such a port).
            bool untrusted = n.external_facing;
            for (int p = parent; p >= 0; p = t_.functions[p].parent)
                untrusted = untrusted || (t_.functions[p].node && t_.functions[p].node->external_facing);
            const std::uint16_t tb = untrusted ? acs::TB : 0;
            f.acs_ctrl = n.acs_ctrl ? acs::bits(*n.acs_ctrl) : (f.acs_cap & (acs::linux_default | tb));
        }
        f.parent = parent;
        f.on_root_bus = parent < 0;
        f.bridge = is_bridge(n.type) && n.type != node_type::host_bridge;
        const auto quirk = quirk_acs_enabled(f.subject(), acs::linux_default);
        f.internal_p2p = n.internal_p2p.value_or(!(quirk && *quirk));
        apply_alias_quirks(f);
        t_.functions.push_back(std::move(f));
        return static_cast<int>(t_.functions.size() - 1);
    }

    void apply_alias_quirks(topo_function& f) {
        const alias_quirk a = quirk_dma_alias(f.subject(), f.bdf.devfn());
        f.dma_alias = a.dma_alias_devfns;
        f.xlate_root = a.xlate_root;
        // quirk_use_pcie_bridge_dma_alias: conventional bridges directly below
        // a PCIe port that is not itself a PCIe-to-PCI bridge.
        if (a.pcie_bridge_alias && f.bridge && !f.pcie_type && f.parent >= 0) {
            const topo_function& up = t_.functions[f.parent];
            f.pcie_bridge_alias = up.pcie_type && *up.pcie_type != pci::port_type::pcie_to_pci_bridge;
        }
        if (f.dma_alias.any() || f.xlate_root || f.pcie_bridge_alias) f.alias_quirk = a.name;
    }

    void add_virtual_functions() {
        const std::size_t boot = t_.functions.size();
        std::size_t vfs = 0;
        for (std::size_t i = 0; i < boot; ++i)
            if (t_.functions[i].node->sriov) vfs += t_.functions[i].node->sriov->num_vfs;
        t_.functions.reserve(boot + vfs);
        // The function that has each routing ID, per segment: the last boot
        // function with it (the static check reports those clashes), then
        // each virtual function, which must have its own.
        std::map<std::uint16_t, std::vector<int>> owners;
        const auto owner = [&](std::uint16_t seg, std::uint16_t rid) -> int& {
            std::vector<int>& o = owners[seg];
            if (o.empty()) o.assign(65536, -1);
            return o[rid];
        };
        for (std::size_t i = 0; i < boot; ++i) owner(t_.functions[i].segment, t_.functions[i].bdf.rid()) = static_cast<int>(i);
        for (std::size_t i = 0; i < boot; ++i) {
            const pcie_node& n = *t_.functions[i].node;
            if (!n.sriov) continue;
            const sriov_spec& sp = *n.sriov;
            for (std::uint64_t v = 0; v < sp.num_vfs; ++v) {
                const topo_function& pf = t_.functions[i];
                const std::uint32_t rid = pci::vf_routing_id(pf.bdf.rid(), sp.first_vf_offset, sp.vf_stride, static_cast<unsigned>(v));
                topo_function f;
                f.id = n.id + "-vf" + std::to_string(v);
                if (rid > 0xffff) throw input_error(n.pos, "virtual function " + f.id + " would need a bus number beyond 255");
                int& who = owner(pf.segment, static_cast<std::uint16_t>(rid));
                if (who >= 0)
                    throw input_error(n.pos, "virtual function " + f.id + " has routing ID " + pcie::bdf::from_rid(static_cast<std::uint16_t>(rid)).str() +
                                                 ", the routing ID of '" + t_.functions[who].id + "'");
                who = static_cast<int>(t_.functions.size());
                f.type = pf.type;
                f.node = &n;
                f.segment = pf.segment;
                f.bdf = pcie::bdf::from_rid(static_cast<std::uint16_t>(rid));
                f.vendor = pf.vendor;
                f.device = sp.vf_device ? sp.vf_device : pf.device;
                f.class_code = pf.class_code;
                f.pcie_type = pf.pcie_type;
                f.is_vf = true;
                f.pf = static_cast<int>(i);
                f.vf_index = static_cast<unsigned>(v);
                f.parent = pf.parent;
                f.on_root_bus = pf.on_root_bus && f.bdf.bus == pf.bdf.bus;
                t_.functions.push_back(std::move(f));
            }
        }
    }

    topology& t_;
    std::map<const pcie_node*, bus_range> ranges_;  // every bridge's buses (bus_numbering)
};

} // namespace

topology build_topology(const platform_desc& p) {
    topology t;
    numbering(t).run(p);
    t.override = p.pcie_acs_override;
    return t;
}

std::vector<std::pair<int, std::uint16_t>> topology::dma_alias_calls(int i) const {
    // pci_for_each_dma_alias(): the function, its quirk aliases on its bus,
    // then every bridge above that takes ownership of its requests.
    const topo_function& f = functions[i];
    std::vector<std::pair<int, std::uint16_t>> out{{i, f.bdf.rid()}};
    for (unsigned d = 0; d < 256; ++d)
        if (f.dma_alias.test(d)) out.emplace_back(i, static_cast<std::uint16_t>(f.bdf.bus << 8 | d));
    for (int b = f.parent; b >= 0; b = functions[b].parent) {
        const topo_function& br = functions[b];
        if (br.xlate_root) break;
        if (!br.takes_ownership()) continue;
        // A PCIe-to-PCI bridge (or a conventional one with the PCIe bridge
        // alias quirk) uses its secondary bus number with devfn 0.
        const bool secondary_alias = br.pcie_type ? *br.pcie_type == pci::port_type::pcie_to_pci_bridge : br.pcie_bridge_alias;
        out.emplace_back(b, secondary_alias ? static_cast<std::uint16_t>(br.secondary << 8) : br.bdf.rid());
    }
    return out;
}

std::vector<std::uint16_t> topology::dma_aliases(int i) const {
    std::vector<std::uint16_t> out;
    for (const auto& [dev, alias] : dma_alias_calls(i)) out.push_back(alias);
    return out;
}

topology::msi_source topology::msi_source_of(int i) const {
    const auto calls = dma_alias_calls(i);
    // set_msi_sid_cb counts the calls, and those whose alias is on the bus of the alias before it.
    std::size_t busmatch = 0;
    for (std::size_t k = 0; k < calls.size(); ++k)
        if (k == 0 || (calls[k].second >> 8) == (calls[k - 1].second >> 8)) ++busmatch;
    const std::uint8_t bus = functions[i].bdf.bus;
    const auto [last_dev, last_alias] = calls.back();
    const auto alias_bus = static_cast<std::uint8_t>(last_alias >> 8);
    const std::uint8_t last_dev_bus = functions[last_dev].bdf.bus;
    // A topology alias on another bus than its device (a PCIe-to-PCI bridge's
    // secondary bus): only the bus range can be verified.
    if (alias_bus != last_dev_bus) return {true, static_cast<std::uint16_t>(alias_bus << 8 | bus)};
    // Several aliases, all on one bus (quirk proxies): the bus.
    if (calls.size() >= 2 && busmatch == calls.size()) return {true, static_cast<std::uint16_t>(bus << 8 | bus)};
    // A bridge's own requester ID on another bus: that ID.
    if (last_dev_bus != bus) return {false, last_alias};
    return {false, functions[i].bdf.rid()};
}

} // namespace iotwin::platform
