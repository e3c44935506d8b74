#include "platform/lspci_import.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "platform/loader.h"

namespace iotwin::platform::lspci_import {

namespace {

std::string scenario_text(const lspci_text::listing& l, const lspci_hierarchy::machine& m, const lspci_scenario::options& o) {
    std::ostringstream yaml;
    lspci_scenario::write(l, m, o, yaml);
    return yaml.str();
}

// The scenario loaded as `iotwin groups` loads it, and its groups.
struct grouped {
    scenario s;
    topology t;
    group_result g;
};

grouped load_text(const std::string& yaml, const std::filesystem::path& file) {
    {
        std::ofstream out(file);
        out << yaml;
        if (!out) throw input_error(source_pos(file.string()), "cannot write the imported scenario");
    }
    grouped r{load_scenario(file.string()), {}, {}};
    std::filesystem::remove(file);
    r.t = build_topology(r.s.platform);
    r.g = compute_groups(r.t);
    return r;
}

} // namespace

result run(const lspci_text::listing& l, const lspci_hierarchy::machine& m, const lspci_scenario::options& o,
           const std::filesystem::path& scratch) {
    result r;
    r.yaml = scenario_text(l, m, o);
    r.has_kernel_groups = std::any_of(l.functions.begin(), l.functions.end(), [](const lspci_text::function& f) { return f.iommu_group.has_value(); });
    const std::filesystem::path file = scratch / "imported.yaml";
    const grouped plain = load_text(r.yaml, file);
    const lspci_compare::comparison c = lspci_compare::compare(l, plain.t, plain.g);
    std::ostringstream text;
    lspci_compare::write_text(text, c, plain.t, plain.g);
    r.comparison = text.str();
    r.kernel_groups = c.rows.size();
    r.differ_from_6_1 = r.differ_from_scenario = c.differing();
    const std::vector<std::string> ids = lspci_compare::override_ids(c);
    if (ids.empty()) return r;
    // The kernel's view, where the overrides bring the twin closer to it.
    lspci_scenario::options adjusted = o;
    adjusted.acs_override = ids;
    adjusted.acs_override_why =
        "the machine's kernel counted these functions without an ACS capability as isolated (an ACS quirk newer than Linux 6.1, "
        "or the ACS override patch): iotwin import --compare says where";
    const std::string yaml = scenario_text(l, m, adjusted);
    const grouped with = load_text(yaml, file);
    const std::size_t differ = lspci_compare::compare(l, with.t, with.g).differing();
    if (differ >= r.differ_from_6_1) return r;
    r.yaml = yaml;
    r.acs_override = ids;
    r.differ_from_scenario = differ;
    return r;
}

} // namespace iotwin::platform::lspci_import
