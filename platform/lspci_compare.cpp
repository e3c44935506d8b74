#include "platform/lspci_compare.h"

#include <algorithm>
#include <map>

#include "platform/lspci_scenario.h"

namespace iotwin::platform::lspci_compare {

namespace {

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
}

} // namespace

std::size_t comparison::differing() const {
    return static_cast<std::size_t>(std::count_if(rows.begin(), rows.end(), [](const row& r) { return !r.same; }));
}

comparison compare(const lspci_text::listing& l, const topology& t, const group_result& g) {
    std::map<std::string, int> twin_index;  // scenario id -> topology function
    for (std::size_t i = 0; i < t.functions.size(); ++i) twin_index[t.functions[i].id] = static_cast<int>(i);
    comparison c;
    std::map<unsigned, row> by_group;
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
    }
    for (auto& [n, r] : by_group) {
        std::sort(r.twin_groups.begin(), r.twin_groups.end());
        r.twin_groups.erase(std::unique(r.twin_groups.begin(), r.twin_groups.end()), r.twin_groups.end());
        // The same group: one twin group, and nothing else in it.
        r.same = r.twin_groups.size() == 1 && g.groups[static_cast<std::size_t>(r.twin_groups[0])].members.size() == r.functions.size();
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
    }
    if (!c.without_group.empty()) out << "no IOMMU group in the listing: " << join(c.without_group) << "\n";
    if (!c.not_in_twin.empty()) out << "not in the imported scenario: " << join(c.not_in_twin) << "\n";
    out << c.rows.size() << " kernel groups, " << c.differing() << " differ\n";
}

} // namespace iotwin::platform::lspci_compare
