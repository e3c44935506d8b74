#include "platform/lspci_import.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "platform/host_drivers.h"
#include "platform/loader.h"

namespace iotwin::platform::lspci_import {

namespace {

std::string scenario_text(const lspci_text::listing& l, const lspci_hierarchy::machine& m, const lspci_scenario::options& o) {
    std::ostringstream yaml;
    lspci_scenario::write(l, m, o, yaml);
    return yaml.str();
}

std::shared_ptr<const loaded> load_text(const std::string& yaml, const std::filesystem::path& file) {
    {
        std::ofstream out(file);
        out << yaml;
        if (!out) throw input_error(source_pos(file.string()), "cannot write the imported scenario");
    }
    auto r = std::make_shared<loaded>();
    r->s = load_scenario(file.string());
    std::filesystem::remove(file);
    r->t = build_topology(r->s.platform);
    r->g = compute_groups(r->t);
    return r;
}

// The function whose `driver` key an error of the host drivers points at.
const topo_function* driver_at(const topology& t, const source_pos& where) {
    for (const topo_function& f : t.functions)
        if (f.node && !f.is_vf && f.node->driver_pos.line == where.line && f.node->driver_pos.col == where.col && where.line > 0) return &f;
    return nullptr;
}

// The listed drivers the twin's host drivers cannot bind as the listing
// says (their ID tables and probes are the twin's, smaller than Linux's):
// left to the boot-time choice, as for drivers the twin does not have.
// Returns false once every listed driver binds.
bool refuse_unbindable_driver(const loaded& m, lspci_scenario::options& o) {
    std::map<std::string, int> group;
    for (std::size_t i = 0; i < m.t.functions.size(); ++i) group[m.t.functions[i].id] = m.g.group_of[i];
    try {
        host_drivers bound(m.t, true, [&](const std::string& id) -> std::optional<int> {
            const auto it = group.find(id);
            return it == group.end() ? std::nullopt : std::optional<int>(it->second);
        });
        return false;
    } catch (const input_error& e) {
        const topo_function* f = driver_at(m.t, e.where);
        if (!f || o.driver_not_bound.count(f->id)) throw;  // not a listed driver: a defect of the importer
        // The message without its FILE:LINE:COL (a position in a scratch file).
        std::string why = e.what();
        const std::string at = e.where.str() + ": ";
        if (why.compare(0, at.size(), at) == 0) why.erase(0, at.size());
        o.driver_not_bound.emplace(f->id, why);
        return true;
    }
}

} // namespace

result run(const lspci_text::listing& l, const lspci_hierarchy::machine& m, const lspci_scenario::options& o,
           const std::filesystem::path& scratch) {
    result r;
    lspci_scenario::options base = o;
    r.yaml = scenario_text(l, m, base);
    r.has_kernel_groups = std::any_of(l.functions.begin(), l.functions.end(), [](const lspci_text::function& f) { return f.iommu_group.has_value(); });
    const std::filesystem::path file = scratch / "imported.yaml";
    r.scenario = load_text(r.yaml, file);
    while (refuse_unbindable_driver(*r.scenario, base)) {
        r.yaml = scenario_text(l, m, base);
        r.scenario = load_text(r.yaml, file);
    }
    const loaded& plain = *r.scenario;
    const lspci_compare::comparison c = lspci_compare::compare(l, plain.t, plain.g);
    std::ostringstream text;
    lspci_compare::write_text(text, c, plain.t, plain.g);
    r.comparison = text.str();
    r.kernel_groups = c.rows.size();
    r.differ_from_6_1 = r.differ_from_scenario = c.differing();
    const std::vector<std::string> ids = lspci_compare::override_ids(c);
    if (ids.empty()) return r;
    // The kernel's view, where the overrides bring the twin closer to it.
    lspci_scenario::options adjusted = base;
    adjusted.acs_override = ids;
    adjusted.acs_override_why =
        "the machine's kernel counted these functions without an ACS capability as isolated (an ACS quirk newer than Linux 6.1, "
        "or the ACS override patch): iotwin import --compare says where";
    const std::string yaml = scenario_text(l, m, adjusted);
    std::shared_ptr<const loaded> with = load_text(yaml, file);
    const std::size_t differ = lspci_compare::compare(l, with->t, with->g).differing();
    if (differ >= r.differ_from_6_1) return r;
    r.yaml = yaml;
    r.scenario = std::move(with);
    r.acs_override = ids;
    r.differ_from_scenario = differ;
    return r;
}

} // namespace iotwin::platform::lspci_import
