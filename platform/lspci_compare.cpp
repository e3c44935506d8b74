#include "platform/lspci_compare.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "platform/lspci_scenario.h"
#include "platform/newer_quirks.h"
#include "platform/quirks.h"

namespace iotwin::platform::lspci_compare {

namespace {

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
}

std::string hex_id(std::uint16_t vendor, std::uint16_t device) {
    char s[16];
    std::snprintf(s, sizeof s, "%04x:%04x", vendor, device);
    return s;
}

// What the listing tells about the machine beyond its functions.
class evidence {
public:
    evidence(const lspci_text::listing& l, const topology& t, const group_result& g) : t_(t), g_(g) {
        for (const lspci_text::function& f : l.functions) listed_.emplace(lspci_scenario::id_of(f), &f);
        for (const lspci_text::function& f : l.functions)
            if (f.capabilities_denied) unreadable_.insert(lspci_scenario::id_of(f));
        // An AMD (or Hygon) host bridge at 00:00.0, or an AMD IOMMU function (class 0806).
        for (const lspci_text::function& f : l.functions) {
            const bool amd_vendor = f.vendor && (*f.vendor == 0x1022 || *f.vendor == 0x1d94);
            if (amd_vendor && ((f.bus == 0 && f.dev == 0 && f.fn == 0 && f.domain.value_or(0) == 0) || (f.class_code >> 8) == 0x0806)) amd_ = true;
        }
    }

    // Reasons for a kernel group that differs from the twin's.
    std::vector<std::string> explain(row& r, const std::vector<int>& members) const {
        std::vector<std::string> out;
        std::set<int> in_kernel(members.begin(), members.end());
        std::vector<int> extra;  // in the twin's groups, not in this kernel group
        for (int tg : r.twin_groups)
            for (int m : g_.groups[static_cast<std::size_t>(tg)].members)
                if (!in_kernel.count(m)) extra.push_back(m);
        note_unreadable(members, r, out);
        // With capabilities unread, that is the cause; the functions Linux 6.1
        // would not isolate are then consequences, not news.
        const bool unread = !out.empty();
        for (int e : extra) note_extra(e, out);
        if (!extra.empty()) explain_split(r, unread ? nullptr : &out);
        if (r.twin_groups.size() > 1) explain_joined(members, out);
        if (out.empty()) out.push_back("the listing shows no cause");
        return out;
    }

private:
    std::string name(int i) const {
        const topo_function& f = t_.functions[static_cast<std::size_t>(i)];
        return f.bdf_string() + " [" + hex_id(f.vendor, f.device) + "]";
    }

    // Functions involved (the groups' members and the bridges above them)
    // whose capabilities lspci could not read: the twin knows neither their
    // port type nor their ACS.
    void note_unreadable(const std::vector<int>& members, const row& r, std::vector<std::string>& out) const {
        std::set<int> involved;
        const auto up = [&](int i) {
            for (int x = i; x >= 0; x = t_.functions[static_cast<std::size_t>(x)].parent) involved.insert(x);
        };
        for (int m : members) up(m);
        for (int tg : r.twin_groups)
            for (int m : g_.groups[static_cast<std::size_t>(tg)].members) up(m);
        std::string which;
        for (int i : involved)
            if (unreadable_.count(t_.functions[static_cast<std::size_t>(i)].id)) which += (which.empty() ? "" : ", ") + name(i);
        if (!which.empty())
            out.push_back("missing information: lspci could not read the capabilities of " + which +
                          " (it ran without root), so the twin knows neither their PCI Express port type nor their ACS; a "
                          "listing made as root shows them");
    }

    // Where the kernel put a function the twin has in this group.
    void note_extra(int e, std::vector<std::string>& out) const {
        const topo_function& f = t_.functions[static_cast<std::size_t>(e)];
        const auto it = listed_.find(f.id);
        if (it == listed_.end()) {
            out.push_back(name(e) + " is not in the listing (the twin adds it: a virtual function, or the listing was cut with -s)");
        } else if (!it->second->iommu_group) {
            out.push_back(name(e) + " has no IOMMU group line: the kernel gave it no group (no IOMMU unit covered it, e.g. "
                                    "intel_iommu=igfx_off for integrated graphics, or its lspci record was cut)");
        }
    }

    // The twin joined functions the kernel kept apart: something the twin
    // counts as not isolated, the kernel did.
    // out: where the reasons go, or nullptr for none.
    void explain_split(row& r, std::vector<std::string>* out) const {
        std::set<int> culprits;
        const auto consider = [&](int i) {
            for (int x = i; x >= 0; x = t_.functions[static_cast<std::size_t>(x)].parent) {
                const topo_function& f = t_.functions[static_cast<std::size_t>(x)];
                const bool port = f.pcie_type && (*f.pcie_type == pci::port_type::root_port || *f.pcie_type == pci::port_type::downstream_port);
                if ((port || f.multifunction) && !linux_acs_enabled(t_, x)) culprits.insert(x);
            }
        };
        for (int tg : r.twin_groups)
            for (int m : g_.groups[static_cast<std::size_t>(tg)].members) consider(m);
        // One sentence per device and kind of function (IDs, ACS, PCI
        // Express or not); functions whose capabilities lspci could not read
        // are named once, by note_unreadable().
        using kind = std::tuple<std::uint32_t, unsigned, std::uint16_t, std::uint16_t, bool, bool>;
        std::map<kind, std::vector<int>> by_kind;
        for (int c : culprits) {
            const topo_function& f = t_.functions[static_cast<std::size_t>(c)];
            // The kernel's groups show it isolated these functions, also
            // where lspci could not read their ACS capability.
            if (!f.has_acs && f.pcie_type) r.kernel_isolated.emplace_back(f.vendor, f.device);
            if (unreadable_.count(f.id)) continue;
            by_kind[{f.bus_key(), f.bdf.dev, f.vendor, f.device, f.has_acs, f.pcie_type.has_value()}].push_back(c);
        }
        if (out)
            for (const auto& [k, fs] : by_kind) out->push_back(why_isolated_in_kernel(fs));
    }

    // fs: functions of one device that Linux 6.1 counts as not isolated.
    std::string why_isolated_in_kernel(const std::vector<int>& fs) const {
        const topo_function& f = t_.functions[static_cast<std::size_t>(fs.front())];
        std::string who;
        for (std::size_t k = 0; k < fs.size(); ++k)
            who += (k ? (k + 1 == fs.size() ? " and " : ", ") : "") + t_.functions[static_cast<std::size_t>(fs[k])].bdf_string();
        who += " [" + hex_id(f.vendor, f.device) + "]";
        const bool plural = fs.size() > 1;
        for (const std::string& q : acs_quirks_matching(f.vendor, f.device))
            if (q == "pci_quirk_amd_sb_acs" && amd_)
                return who + " is isolated by pci_quirk_amd_sb_acs, which answers on machines with an AMD IOMMU; the twin models "
                             "VT-d, where it does not";
        for (const newer_quirk* q : newer_quirks_for(f.vendor, f.device))
            if (q->kind == newer_quirk::kind_t::acs)
                return who + (plural ? " are" : " is") + " covered by " + q->quirk + ", an ACS quirk of Linux " + q->linux_version +
                       " (newer than the 6.1 rules the twin follows: " + q->claim + "); the machine's kernel has it";
        const bool port = f.pcie_type && (*f.pcie_type == pci::port_type::root_port || *f.pcie_type == pci::port_type::downstream_port);
        if (!f.has_acs)
            return who + (plural ? " have" : " has") + " no ACS capability" + (f.pcie_type ? "" : " (conventional PCI)") +
                   ", which Linux 6.1 counts as not isolating, yet the kernel separated what that joins: an ACS quirk for " +
                   hex_id(f.vendor, f.device) + " newer than Linux 6.1, or a kernel with the ACS override patch (pcie_acs_override=" +
                   (port ? "downstream" : "multifunction") + " or id:" + hex_id(f.vendor, f.device) +
                   "; a firmware that hides ACS shows the same listing)";
        return who + (plural ? " have" : " has") + " ACS, but the control as listed (" + acs::names(f.acs_ctrl) +
               ") lacks flags Linux 6.1 requires (SV RR CR UF); the kernel separated what it joins anyway: a quirk newer than 6.1 or "
               "the ACS override patch";
    }

    // The kernel joined functions the twin keeps apart.
    void explain_joined(const std::vector<int>& members, std::vector<std::string>& out) const {
        if (amd_)
            out.push_back("the machine has an AMD IOMMU: the kernel also joins functions that the firmware's IVRS table gives one "
                          "requester ID (alias entries), which lspci does not show");
        std::set<const newer_quirk*> named;
        for (int m : members) {
            const topo_function& f = t_.functions[static_cast<std::size_t>(m)];
            for (const newer_quirk* q : newer_quirks_for(f.vendor, f.device))
                if (named.insert(q).second)
                    out.push_back(name(m) + " is covered by " + q->quirk + " of Linux " + q->linux_version + " (newer than 6.1: " + q->claim +
                                  "); the machine's kernel has it");
            std::string quirk;
            if (const auto on = quirk_acs_enabled(f.subject(), acs::linux_default, &quirk); on && *on)
                out.push_back("the twin isolates " + name(m) + " by " + quirk + " of Linux 6.1; the machine's kernel may predate it");
        }
        if (out.empty())
            out.push_back("the kernel joined functions the twin keeps apart and the listing shows no cause: a DMA alias the firmware "
                          "declares (ACPI DMAR or IVRS), or a DMA-alias quirk newer than Linux 6.1");
    }

    const topology& t_;
    const group_result& g_;
    std::map<std::string, const lspci_text::function*> listed_;
    std::set<std::string> unreadable_;
    bool amd_ = false;
};

} // namespace

std::vector<std::string> override_ids(const comparison& c) {
    std::set<std::string> ids;
    for (const row& r : c.rows)
        for (const auto& [vendor, device] : r.kernel_isolated) ids.insert("id:" + hex_id(vendor, device));
    return {ids.begin(), ids.end()};
}

std::size_t comparison::differing() const {
    return static_cast<std::size_t>(std::count_if(rows.begin(), rows.end(), [](const row& r) { return !r.same; }));
}

comparison compare(const lspci_text::listing& l, const topology& t, const group_result& g) {
    std::map<std::string, int> twin_index;  // scenario id -> topology function
    for (std::size_t i = 0; i < t.functions.size(); ++i) twin_index[t.functions[i].id] = static_cast<int>(i);
    comparison c;
    std::map<unsigned, row> by_group;
    std::map<unsigned, std::vector<int>> members_of;  // kernel group -> twin functions, listing order
    for (const lspci_text::function& f : l.functions) {
        const auto it = twin_index.find(lspci_scenario::id_of(f));
        if (it == twin_index.end()) {
            c.not_in_twin.push_back(f.address());
            continue;
        }
        if (!f.iommu_group) {
            c.without_group.push_back(f.address());
            continue;
        }
        row& r = by_group[*f.iommu_group];
        r.kernel_group = *f.iommu_group;
        r.functions.push_back(f.address());
        r.twin_groups.push_back(g.group_of[static_cast<std::size_t>(it->second)]);
        members_of[*f.iommu_group].push_back(it->second);
    }
    const evidence ev(l, t, g);
    for (auto& [n, r] : by_group) {
        std::sort(r.twin_groups.begin(), r.twin_groups.end());
        r.twin_groups.erase(std::unique(r.twin_groups.begin(), r.twin_groups.end()), r.twin_groups.end());
        // The same group: one twin group, and nothing else in it.
        r.same = r.twin_groups.size() == 1 && g.groups[static_cast<std::size_t>(r.twin_groups[0])].members.size() == r.functions.size();
        if (!r.same) r.reasons = ev.explain(r, members_of[n]);
        c.rows.push_back(r);
    }
    return c;
}

void write_text(std::ostream& out, const comparison& c, const topology& t, const group_result& g) {
    for (const row& r : c.rows) {
        out << "kernel group " << r.kernel_group << ": " << join(r.functions) << "\n";
        for (int tg : r.twin_groups) {
            std::vector<std::string> ids;
            for (int m : g.groups[static_cast<std::size_t>(tg)].members) ids.push_back(t.functions[static_cast<std::size_t>(m)].id);
            out << "  twin group " << tg << ": " << join(ids) << "\n";
        }
        out << "  " << (r.same ? "same" : "differs") << "\n";
        for (const std::string& why : r.reasons) out << "    why: " << why << "\n";
    }
    if (!c.without_group.empty()) out << "no IOMMU group in the listing: " << join(c.without_group) << "\n";
    if (!c.not_in_twin.empty()) out << "not in the imported scenario: " << join(c.not_in_twin) << "\n";
    out << c.rows.size() << " kernel groups, " << c.differing() << " differ\n";
}

} // namespace iotwin::platform::lspci_compare
