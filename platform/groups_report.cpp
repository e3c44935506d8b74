#include "platform/groups_report.h"

namespace iotwin::platform {

nlohmann::ordered_json groups_json(const topology& t, const group_result& g) {
    nlohmann::ordered_json groups = nlohmann::ordered_json::array();
    for (const iommu_group& grp : g.groups) {
        nlohmann::ordered_json devices = nlohmann::ordered_json::array();
        for (int m : grp.members) devices.push_back({{"id", t.functions[m].id}, {"bdf", t.functions[m].bdf_string()}});
        groups.push_back({{"id", grp.id}, {"devices", devices}, {"reason", grp.reason}});
    }
    return {{"groups", groups}};
}

void write_groups_text(std::ostream& os, const topology& t, const group_result& g) {
    for (const iommu_group& grp : g.groups) {
        os << "IOMMU group " << grp.id << "\n";
        for (int m : grp.members) {
            const topo_function& f = t.functions[m];
            os << "  " << f.bdf_string() << "  " << f.id << " (" << to_string(f.type) << (f.is_vf ? ", virtual function" : "") << ")\n";
        }
        if (!grp.reason.empty()) os << "  why: " << grp.reason << "\n";
    }
}

void write_groups_sysfs(std::ostream& os, const topology& t, const group_result& g) {
    for (const iommu_group& grp : g.groups)
        for (int m : grp.members) os << "/sys/kernel/iommu_groups/" << grp.id << "/devices/" << t.functions[m].bdf_string() << "\n";
}

void write_groups_dot(std::ostream& os, const topology& t, const group_result& g) {
    os << "digraph iommu_groups {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n";
    os << "  root_complex [label=\"root complex\", shape=ellipse];\n";
    for (const iommu_group& grp : g.groups) {
        os << "  subgraph cluster_" << grp.id << " {\n    label=\"group " << grp.id << "\";\n";
        for (int m : grp.members) {
            const topo_function& f = t.functions[m];
            os << "    f" << m << " [label=\"" << f.id << "\\n" << f.bdf_string() << "\\n" << to_string(f.type) << "\"];\n";
        }
        os << "  }\n";
    }
    for (std::size_t i = 0; i < t.functions.size(); ++i) {
        const topo_function& f = t.functions[i];
        if (f.is_vf) os << "  f" << f.pf << " -> f" << i << " [style=dashed, label=\"VF\"];\n";
        else if (f.parent < 0) os << "  root_complex -> f" << i << ";\n";
        else os << "  f" << f.parent << " -> f" << i << ";\n";
    }
    os << "}\n";
}

} // namespace iotwin::platform
