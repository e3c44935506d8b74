#include "platform/iommu_groups.h"

#include <algorithm>
#include <bitset>
#include <map>
#include <set>

#include "platform/quirks.h"

namespace iotwin::platform {

namespace {

constexpr std::uint16_t required = acs::linux_default;  // REQ_ACS_FLAGS

std::string quoted(const topo_function& f) { return "'" + f.id + "'"; }

// pci_acs_flags_enabled() (acs::not_enabled), saying why when not.
bool flags_enabled(const topo_function& f, std::uint16_t flags, std::string* why) {
    if (!f.has_acs) {
        if (why) *why = quoted(f) + " has no ACS capability";
        return false;
    }
    const std::uint16_t missing = acs::not_enabled(flags, f.acs_cap, f.acs_ctrl);
    if (missing && why) *why = quoted(f) + " does not enable ACS " + acs::names(missing);
    return !missing;
}

} // namespace

// pcie_acs_overrides(): never for conventional functions or those with an
// ACS capability; any function of a listed vendor:device; root and
// downstream ports with `downstream`; multi-function endpoints and upstream
// ports with `multifunction`.
bool acs_overridden(const acs_override& o, const topo_function& f) {
    if (!f.pcie_type || f.has_acs) return false;
    for (const auto& [vendor, device] : o.ids)
        if (vendor == f.vendor && device == f.device) return true;
    using port = pci::port_type;
    switch (*f.pcie_type) {
    case port::downstream_port:
    case port::root_port:
        return o.downstream;
    case port::endpoint:
    case port::upstream_port:
    case port::legacy_endpoint:
    case port::rciep:
        return o.multifunction && f.multifunction;
    default:
        return false;
    }
}

bool linux_acs_enabled(const topology& t, int i, std::string* why) {
    const topo_function& f = t.functions[i];
    std::string quirk;
    if (const auto r = quirk_acs_enabled(f.subject(), required, why ? &quirk : nullptr)) {
        if (!*r && why) *why = quoted(f) + " is not isolated per " + quirk;
        return *r;
    }
    // The override is the table's last entry: a real quirk answers first.
    if (acs_overridden(t.override, f)) return true;
    if (!f.pcie_type) {
        if (why) *why = quoted(f) + " is conventional PCI";
        return false;
    }
    using port = pci::port_type;
    switch (*f.pcie_type) {
    case port::pcie_to_pci_bridge:
    case port::pci_to_pcie_bridge:
        if (why) *why = quoted(f) + " is a PCIe-to-PCI bridge";
        return false;
    case port::rc_event_collector:
        if (why) *why = quoted(f) + " is a root complex event collector";
        return false;
    case port::downstream_port:
    case port::root_port:
        return flags_enabled(f, required, why);
    case port::endpoint:
    case port::upstream_port:
    case port::legacy_endpoint:
    case port::rciep:
        // PCIe 3.0 6.12.1.3: ACS does not apply to single-function devices.
        return f.multifunction ? flags_enabled(f, required, why) : true;
    default:
        return true;
    }
}

namespace {

// How a function came to share a group, for the group's reason.
struct join {
    enum kind { none, behind_bridge, below_path, dma_alias, mf_sibling } how = none;
    int anchor = -1;     // the bridge, alias or sibling it joined through
    std::string detail;  // why the path is not isolated, or the alias quirk
};

class grouper {
public:
    explicit grouper(const topology& t)
        : t_(t), group_of_(t.functions.size(), -1), joined_(t.functions.size()), path_(t.functions.size(), -1), path_why_(t.functions.size()),
          acs_(t.functions.size(), -1), bus_of_(t.functions.size(), nullptr), bus_alias_(t.functions.size()) {
        // Each function's bus, and which buses have DMA-alias quirks at all:
        // on the others the same-bus alias scan of get_pci_alias_group() finds nothing.
        for (const auto& [key, members] : t.by_bus) {
            bool any = false;
            for (int m : members) {
                bus_of_[m] = &members;
                any = any || t.functions[m].dma_alias.any();
            }
            if (any)
                for (int m : members) bus_alias_[m] = true;
        }
    }

    group_result run() {
        members_.reserve(t_.functions.size());
        for (std::size_t i = 0; i < t_.functions.size(); ++i) {
            const int g = device_group(static_cast<int>(i));
            group_of_[i] = g;
            members_[g].push_back(static_cast<int>(i));
        }
        return number();
    }

private:
    // linux_acs_enabled() without the reason, memoized.
    bool acs_enabled(int i) {
        if (acs_[i] < 0) acs_[i] = linux_acs_enabled(t_, i);
        return acs_[i] == 1;
    }

    // pci_acs_path_enabled(b, NULL, REQ), memoized: b and every bridge above it.
    // The reason, when the path is not enabled, stays in path_why_[b].
    bool path_enabled(int b) {
        if (path_[b] < 0) {
            std::string w;
            bool ok = linux_acs_enabled(t_, b, &w);
            if (const int up = parent(b); ok && up >= 0) {
                ok = path_enabled(up);
                w = path_why_[up];
            }
            path_[b] = ok;
            path_why_[b] = std::move(w);
        }
        return path_[b] == 1;
    }

    int new_group() {
        const int g = static_cast<int>(members_.size());
        members_.emplace_back();
        return g;
    }

    // pci_device_group()
    int device_group(int i) {
        // (1) The DMA alias walk: the first bridge above that takes ownership
        // of the function's requests and already has a group.
        int pdev = i;
        for (int b = parent(i); b >= 0; b = parent(b)) {
            const topo_function& br = t_.functions[b];
            if (br.xlate_root) break;
            if (!br.takes_ownership()) continue;
            pdev = b;
            if (group_of_[b] >= 0) {
                joined_[i] = {join::behind_bridge, b, ""};
                return group_of_[b];
            }
        }
        // (2) Up the hierarchy until the path to the root is ACS-isolated.
        for (int b = parent(pdev); b >= 0; b = parent(b)) {
            if (path_enabled(b)) break;
            pdev = b;
            if (group_of_[b] >= 0) {
                joined_[i] = {join::below_path, b, path_why_[b]};
                return group_of_[b];
            }
        }
        // (3) and (4): same-bus DMA aliases, then multi-function siblings without ACS.
        std::bitset<256> seen;
        join via;
        int g = alias_group(pdev, seen, via);
        if (g < 0) g = function_alias_group(pdev, seen, via);
        if (g >= 0) {
            joined_[i] = std::move(via);
            return g;
        }
        return new_group();
    }

    // get_pci_alias_group()
    int alias_group(int p, std::bitset<256>& seen, join& via) {
        const topo_function& f = t_.functions[p];
        if (seen.test(f.bdf.devfn())) return -1;
        seen.set(f.bdf.devfn());
        if (group_of_[p] >= 0) return group_of_[p];
        if (!bus_alias_[p]) return -1;  // no function on the bus has a DMA alias
        for (int o : *bus_of_[p]) {
            const topo_function& x = t_.functions[o];
            if (o == p || !(f.dma_alias.test(x.bdf.devfn()) || x.dma_alias.test(f.bdf.devfn()))) continue;
            int g = alias_group(o, seen, via);
            if (g < 0) g = function_alias_group(o, seen, via);
            if (g >= 0) {
                if (via.how == join::none) via = {join::dma_alias, o, f.alias_quirk.empty() ? x.alias_quirk : f.alias_quirk};
                return g;
            }
        }
        return -1;
    }

    // get_pci_function_alias_group()
    int function_alias_group(int p, std::bitset<256>& seen, join& via) {
        const topo_function& f = t_.functions[p];
        if (!f.multifunction || acs_enabled(p)) return -1;
        for (int o : *bus_of_[p]) {
            const topo_function& x = t_.functions[o];
            if (o == p || x.bdf.dev != f.bdf.dev || acs_enabled(o)) continue;
            const int g = alias_group(o, seen, via);
            if (g >= 0) {
                if (via.how == join::none) via = {join::mf_sibling, o, ""};
                return g;
            }
        }
        return -1;
    }

    // Renumbers groups in order of their lowest BDF and writes the reasons.
    group_result number() {
        std::vector<std::uint32_t> keys(t_.functions.size());
        for (std::size_t i = 0; i < keys.size(); ++i) {
            const topo_function& f = t_.functions[i];
            keys[i] = std::uint32_t(f.segment) << 16 | f.bdf.rid();
        }
        auto key = [&](int i) { return keys[i]; };
        for (auto& m : members_)
            if (m.size() > 1) std::sort(m.begin(), m.end(), [&](int a, int b) { return key(a) < key(b); });
        std::vector<std::pair<std::uint32_t, int>> order(members_.size());  // (lowest key, group)
        for (std::size_t g = 0; g < order.size(); ++g) order[g] = {key(members_[g].front()), static_cast<int>(g)};
        std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        group_result r;
        r.group_of.assign(t_.functions.size(), -1);
        r.groups.reserve(order.size());
        std::vector<int> by_probe;
        for (std::size_t id = 0; id < order.size(); ++id) {
            iommu_group g;
            g.id = static_cast<int>(id);
            g.members = std::move(members_[order[id].second]);
            if (g.members.size() > 1) {
                by_probe = g.members;
                std::sort(by_probe.begin(), by_probe.end());
                g.reason = reason(by_probe);
            }
            for (int m : g.members) r.group_of[m] = g.id;
            r.groups.push_back(std::move(g));
        }
        return r;
    }

    // The bridge above function v (bus->self): its in-edge in the topology
    // graph; -1 on a root bus.
    int parent(int v) const {
        const auto [first, last] = boost::in_edges(static_cast<topo_graph::vertex_descriptor>(v), t_.graph);
        return first == last ? -1 : static_cast<int>(boost::source(*first, t_.graph));
    }

    // The sentence of a group: its members' joins, the same kind and anchor
    // told once ("'a' and 'b' are behind 'br', ...").
    std::string reason(const std::vector<int>& members) const {
        std::map<int, std::vector<int>> behind;                      // bridge -> functions behind it
        std::map<std::string, std::pair<std::set<int>, std::vector<int>>> below;  // why -> (bridges, functions)
        std::map<std::uint32_t, std::set<int>> slots;               // multi-function device -> functions
        std::vector<std::string> clauses;
        for (int m : members) {
            const join& j = joined_[m];
            if (j.how == join::behind_bridge) behind[j.anchor].push_back(m);
            if (j.how == join::below_path) {
                auto& [bridges, functions] = below[j.detail];
                bridges.insert(j.anchor);
                functions.push_back(m);
            }
            if (j.how == join::mf_sibling) {
                const topo_function& f = t_.functions[m];
                std::set<int>& slot = slots[f.bus_key() << 5 | f.bdf.dev];
                slot.insert(m);
                slot.insert(j.anchor);
            }
            if (j.how == join::dma_alias)
                clauses.push_back(quoted(t_.functions[m]) + " and " + quoted(t_.functions[j.anchor]) + " are DMA aliases of each other (" +
                                  j.detail + ")");
        }
        for (const auto& [bridge, subjects] : behind) {
            const bool one = subjects.size() == 1;
            clauses.push_back(listing(subjects) + (one ? " is" : " are") + " behind " + quoted(t_.functions[bridge]) +
                              ", a PCI bridge that takes ownership of " + (one ? "its" : "their") + " requests");
        }
        for (const auto& [why, where] : below) {
            const auto& [bridges, subjects] = where;
            const bool one = subjects.size() == 1;
            const std::string place = bridges.size() == 1 ? "below " + quoted(t_.functions[*bridges.begin()]) + ", whose path" : "below bridges whose path";
            clauses.push_back(listing(subjects) + (one ? " is " : " are ") + place + " to the root complex is not ACS-isolated (" + why + ")");
        }
        for (const auto& [slot, functions] : slots) {
            // pci_acs_enabled() is false for a function without a PCI Express capability.
            const bool conventional = std::any_of(functions.begin(), functions.end(), [&](int f) { return !t_.functions[f].pcie_type; });
            clauses.push_back(listing({functions.begin(), functions.end()}) + " are functions of one multi-function device without ACS" +
                              (conventional ? " (conventional PCI functions are never ACS-isolated)" : ""));
        }
        std::string r;
        for (const std::string& c : clauses) r += (r.empty() ? "" : "; ") + c;
        return r;
    }

    std::string listing(const std::vector<int>& ids) const {
        std::string s;
        for (std::size_t k = 0; k < ids.size(); ++k)
            s += (k == 0 ? "" : k + 1 == ids.size() ? " and " : ", ") + quoted(t_.functions[ids[k]]);
        return s;
    }

    const topology& t_;
    std::vector<int> group_of_;
    std::vector<std::vector<int>> members_;
    std::vector<join> joined_;
    std::vector<int> path_;
    std::vector<std::string> path_why_;
    std::vector<signed char> acs_;                   // linux_acs_enabled(), -1 until asked
    std::vector<const std::vector<int>*> bus_of_;    // function -> the functions on its bus
    std::vector<bool> bus_alias_;                    // function -> some function on its bus has a DMA alias
};

} // namespace

group_result compute_groups(const topology& t) { return grouper(t).run(); }

} // namespace iotwin::platform
