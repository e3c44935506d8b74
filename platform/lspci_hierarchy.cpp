#include "platform/lspci_hierarchy.h"

#include <algorithm>
#include <cstdio>
#include <map>
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
    explicit builder(const lspci_text::listing& l) : l_(l), parent_(l.functions.size(), -1), vf_of_(l.functions.size(), -1) {}

    machine run() {
        find_virtual_functions();
        index_bridges();
        place_functions();
        children_.resize(l_.functions.size());
        vfs_listed_.resize(l_.functions.size());
        for (std::size_t c = 0; c < l_.functions.size(); ++c) {
            if (parent_[c] >= 0) children_[std::size_t(parent_[c])].push_back(int(c));
            if (vf_of_[c] >= 0) ++vfs_listed_[std::size_t(vf_of_[c])];
        }
        for (const auto& [key, members] : roots_) {
            root_bus r;
            r.domain = key.first;
            r.bus = key.second;
            for (int i : members) r.children.push_back(make(i));
            sort(r.children);
            out_.roots.push_back(std::move(r));
        }
        return std::move(out_);
    }

private:
    // A PF's listed VFs: the functions at its VF routing IDs (in its domain).
    void find_virtual_functions() {
        std::map<std::pair<std::uint16_t, unsigned>, int> by_rid;
        for (std::size_t i = 0; i < l_.functions.size(); ++i) by_rid[{domain_of(l_.functions[i]), rid_of(l_.functions[i])}] = int(i);
        for (std::size_t i = 0; i < l_.functions.size(); ++i) {
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
            if (!b.secondary_bus || vf_of_[i] >= 0) continue;
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
            if (vf_of_[i] >= 0) continue;
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

    node make(int i) {
        node n;
        n.function = &l_.functions[std::size_t(i)];
        n.type = type_of(*n.function);
        n.vfs_listed = vfs_listed_[std::size_t(i)];
        for (int c : children_[std::size_t(i)]) n.children.push_back(make(c));
        sort(n.children);
        return n;
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
    if (f.class_code >> 8 == 0x0600) return f.express == port_type::none ? node_type::pci_device : node_type::rciep;
    switch (f.express) {
    case port_type::root_port: return node_type::root_port;
    case port_type::upstream_port: return node_type::upstream_port;
    case port_type::downstream_port: return node_type::downstream_port;
    case port_type::pcie_to_pci_bridge: return node_type::pcie_pci_bridge;
    case port_type::endpoint:
    case port_type::legacy_endpoint: return node_type::endpoint;
    case port_type::rc_integrated:
    case port_type::rc_event_collector: return node_type::rciep;
    case port_type::pci_to_pcie_bridge:
    case port_type::unknown:
    case port_type::none: break;
    }
    return f.secondary_bus ? node_type::pci_bridge : node_type::pci_device;
}

machine rebuild(const lspci_text::listing& l) { return builder(l).run(); }

} // namespace iotwin::platform::lspci_hierarchy
