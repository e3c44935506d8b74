// The GNTTABOP_* argument structures as scenario steps write them: each
// structure's fields (the schema of one operation, and of each entry of
// `ops`), reading a step's operation into the structure, and the structure's
// results as the step reports them. The named operations and the raw
// gnttab.grant_table_op share these.
//
// Field names are those of the public header (contract:
// ../shared/spec/interfaces.md); flags take GNTMAP_* / GNTCOPY_* names;
// domain fields take names, domids or DOMID_SELF.
#pragma once
#include <vector>

#include <nlohmann/json.hpp>

#include "models/hyp/grant_table.h"
#include "platform/interfaces/hypercall.h"
#include "platform/operations.h"

namespace iotwin::platform::interfaces::gnttab_structs {

namespace g = hyp::gnttab;

// Table operations (platform/interfaces/gnttab_structs_table.cpp).
std::vector<arg_spec> fields(const g::setup_table*);
std::vector<arg_spec> fields(const g::dump_table*);
std::vector<arg_spec> fields(const g::transfer*);
std::vector<arg_spec> fields(const g::query_size*);
std::vector<arg_spec> fields(const g::set_version*);
std::vector<arg_spec> fields(const g::get_status_frames*);
std::vector<arg_spec> fields(const g::get_version*);
std::vector<arg_spec> fields(const g::swap_grant_ref*);
void read_op(step_context& c, const batch_op& op, g::setup_table& s);
void read_op(step_context& c, const batch_op& op, g::dump_table& s);
void read_op(step_context& c, const batch_op& op, g::transfer& s);
void read_op(step_context& c, const batch_op& op, g::query_size& s);
void read_op(step_context& c, const batch_op& op, g::set_version& s);
void read_op(step_context& c, const batch_op& op, g::get_status_frames& s);
void read_op(step_context& c, const batch_op& op, g::get_version& s);
void read_op(step_context& c, const batch_op& op, g::swap_grant_ref& s);
nlohmann::ordered_json result_of(const g::setup_table& s);
nlohmann::ordered_json result_of(const g::dump_table& s);
nlohmann::ordered_json result_of(const g::transfer& s);
nlohmann::ordered_json result_of(const g::query_size& s);
nlohmann::ordered_json result_of(const g::set_version& s);
nlohmann::ordered_json result_of(const g::get_status_frames& s);
nlohmann::ordered_json result_of(const g::get_version& s);
nlohmann::ordered_json result_of(const g::swap_grant_ref& s);

// Mapping and copying (platform/interfaces/gnttab_structs_map.cpp).
std::vector<arg_spec> fields(const g::map_grant_ref*);
std::vector<arg_spec> fields(const g::unmap_grant_ref*);
std::vector<arg_spec> fields(const g::unmap_and_replace*);
std::vector<arg_spec> fields(const g::copy*);
void read_op(step_context& c, const batch_op& op, g::map_grant_ref& s);
void read_op(step_context& c, const batch_op& op, g::unmap_grant_ref& s);
void read_op(step_context& c, const batch_op& op, g::unmap_and_replace& s);
void read_op(step_context& c, const batch_op& op, g::copy& s);
nlohmann::ordered_json result_of(const g::map_grant_ref& s);
nlohmann::ordered_json result_of(const g::unmap_grant_ref& s);
nlohmann::ordered_json result_of(const g::unmap_and_replace& s);
nlohmann::ordered_json result_of(const g::copy& s);

// A named batched operation end to end: its operations read from the step
// (`ops` or the fields directly), the hypercall issued with `cmd`, the
// results put back. For the operations whose hypercall takes one structure
// (set_version, get_version, ...) the batch has one entry.
template <class S> void run_batch(step_context& c, unsigned cmd) {
    const std::vector<batch_op> ops = batch(c);
    std::vector<S> v(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) read_op(c, ops[i], v[i]);
    issue(c, hyp::HYPERVISOR_grant_table_op, cmd, v.data(), static_cast<std::uint32_t>(v.size()), static_cast<std::uint32_t>(v.size()));
    std::vector<nlohmann::ordered_json> out;
    for (const S& s : v) out.push_back(result_of(s));
    put_results(c, out);
}

// The args schema of a named operation over S: S's fields for one
// operation, or `ops` (a list of them) for a batch.
template <class S> std::vector<arg_spec> batch_args(const char* what) {
    std::vector<arg_spec> a = fields(static_cast<const S*>(nullptr));
    for (arg_spec& f : a) f.required = false;  // when `ops` is given, the fields are not
    a.push_back(structure_arg("ops", false, std::string("a batch: each entry one ") + what, fields(static_cast<const S*>(nullptr)), true, max_batch));
    return a;
}

} // namespace iotwin::platform::interfaces::gnttab_structs
