// libFuzzer target: what `iotwin groups` computes from a scenario file,
// without simulating. load_scenario -> build_topology -> compute_groups ->
// the text, JSON, sysfs and Graphviz writers. Loading and numbering may
// refuse the input (input_error with a position); from then on nothing may
// throw, and the result must keep the CLI contract: every function in
// exactly one group, groups in order of their lowest BDF with ids counted
// from 0, members in BDF order, a reason exactly for the groups that are not
// singletons, no two functions at one routing ID of a segment.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <set>
#include <sstream>
#include <typeinfo>

#include "platform/groups_report.h"
#include "platform/iommu_groups.h"
#include "platform/loader.h"
#include "platform/topology.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace iotwin;
using platform::topology;

std::uint32_t bdf_key(const platform::topo_function& f) { return std::uint32_t(f.segment) << 16 | f.bdf.rid(); }

void check_topology(const topology& t) {
    if (boost::num_vertices(t.graph) != t.functions.size()) fuzz::finding("topology", "graph vertices differ from functions");
    if (t.by_id.size() != t.functions.size()) fuzz::finding("topology", "by_id differs from functions");
    std::set<std::uint32_t> seen;
    for (std::size_t i = 0; i < t.functions.size(); ++i) {
        const platform::topo_function& f = t.functions[i];
        if (!seen.insert(bdf_key(f)).second) fuzz::finding("topology", "two functions at " + f.bdf_string());
        if (f.parent >= static_cast<int>(t.functions.size()) || f.pf >= static_cast<int>(t.functions.size()))
            return fuzz::finding("topology", f.id + ": parent or physical function out of range");
        if (t.dma_aliases(static_cast<int>(i)).empty()) fuzz::finding("topology", f.id + ": no DMA alias at all");
        std::string why;
        platform::linux_acs_enabled(t, static_cast<int>(i), &why);
    }
}

void check_groups(const topology& t, const platform::group_result& g) {
    const std::size_t n = t.functions.size();
    if (g.group_of.size() != n) return fuzz::finding("groups", "group_of does not cover every function");
    std::vector<int> count(n, 0);
    std::uint32_t previous_lowest = 0;
    for (std::size_t id = 0; id < g.groups.size(); ++id) {
        const platform::iommu_group& grp = g.groups[id];
        if (grp.id != static_cast<int>(id)) fuzz::finding("groups", "group ids do not count from 0");
        if (grp.members.empty()) return fuzz::finding("groups", "empty group " + std::to_string(id));
        if ((grp.members.size() > 1) == grp.reason.empty())
            fuzz::finding("groups", "group " + std::to_string(id) + ": a reason must be given exactly when it is not a singleton");
        for (std::size_t k = 0; k < grp.members.size(); ++k) {
            const int m = grp.members[k];
            if (m < 0 || static_cast<std::size_t>(m) >= n) return fuzz::finding("groups", "member out of range");
            ++count[m];
            if (g.group_of[m] != grp.id) fuzz::finding("groups", t.functions[m].id + ": group_of disagrees with the members");
            if (k && bdf_key(t.functions[grp.members[k - 1]]) >= bdf_key(t.functions[m]))
                fuzz::finding("groups", "group " + std::to_string(id) + ": members not in BDF order");
        }
        const std::uint32_t lowest = bdf_key(t.functions[grp.members.front()]);
        if (id && lowest <= previous_lowest) fuzz::finding("groups", "groups not in order of their lowest BDF");
        previous_lowest = lowest;
    }
    for (std::size_t i = 0; i < n; ++i)
        if (count[i] != 1) fuzz::finding("groups", t.functions[i].id + " is in " + std::to_string(count[i]) + " groups");
}

void write_all(const topology& t, const platform::group_result& g) {
    std::ostringstream os;
    const std::string json = platform::groups_json(t, g).dump(2);
    platform::write_groups_text(os, t, g);
    platform::write_groups_sysfs(os, t, g);
    platform::write_groups_dot(os, t, g);
    if (json.empty() || (!t.functions.empty() && os.str().empty())) fuzz::finding("writers", "empty output");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = fuzz::write_input(data, size);
    try {
        std::optional<platform::scenario> s;
        std::optional<topology> t;
        try {
            s = platform::load_scenario(path);
            t = platform::build_topology(s->platform);
        } catch (const platform::input_error& e) {
            fuzz::check_error_message(e.what(), path);
            return 0;
        }
        check_topology(*t);
        const platform::group_result g = platform::compute_groups(*t);
        check_groups(*t, g);
        write_all(*t, g);
    } catch (const std::exception& e) {
        fuzz::finding("exception", std::string(typeid(e).name()) + ": " + e.what());
    } catch (...) {
        fuzz::finding("exception", "not a std::exception");
    }
    return 0;
}
