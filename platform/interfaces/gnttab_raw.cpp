// gnttab.grant_table_op: the raw hypercall, any cmd and any count, for what
// the named operations cannot express (an unknown command, a count that does
// not match the structures given, a NULL argument).
#include <cerrno>
#include <memory>

#include "platform/interfaces/gnttab_structs.h"
#include "platform/interfaces/interfaces.h"

namespace iotwin::platform::interfaces {

namespace {

namespace g = hyp::gnttab;
namespace gs = gnttab_structs;

const name_table& gnttabop_names() {
    static const name_table n = {
        {"GNTTABOP_map_grant_ref", g::GNTTABOP_map_grant_ref},         {"GNTTABOP_unmap_grant_ref", g::GNTTABOP_unmap_grant_ref},
        {"GNTTABOP_setup_table", g::GNTTABOP_setup_table},             {"GNTTABOP_dump_table", g::GNTTABOP_dump_table},
        {"GNTTABOP_transfer", g::GNTTABOP_transfer},                   {"GNTTABOP_copy", g::GNTTABOP_copy},
        {"GNTTABOP_query_size", g::GNTTABOP_query_size},               {"GNTTABOP_unmap_and_replace", g::GNTTABOP_unmap_and_replace},
        {"GNTTABOP_set_version", g::GNTTABOP_set_version},             {"GNTTABOP_get_status_frames", g::GNTTABOP_get_status_frames},
        {"GNTTABOP_get_version", g::GNTTABOP_get_version},             {"GNTTABOP_swap_grant_ref", g::GNTTABOP_swap_grant_ref},
        {"GNTTABOP_cache_flush", g::GNTTABOP_cache_flush},
    };
    return n;
}

// The raw call over structures of type S: every entry of `ops` is read as an
// S (its fields checked against S's), `count` is passed as given.
template <class S> void raw(step_context& c, unsigned cmd, std::uint32_t count) {
    std::vector<batch_op> ops;
    if (c.has("ops")) ops = batch(c);
    const std::vector<arg_spec> known = gs::fields(static_cast<const S*>(nullptr));
    std::vector<S> v(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
        for (const auto& kv : ops[i].fields) {
            const std::string k = kv.first.Scalar();
            if (std::none_of(known.begin(), known.end(), [&](const arg_spec& a) { return a.name == k; }))
                ops[i].fail(k, "is not a field of this command's structure");
        }
        gs::read_op(c, ops[i], v[i]);
    }
    issue(c, hyp::HYPERVISOR_grant_table_op, cmd, c.has("ops") ? v.data() : nullptr, count, static_cast<std::uint32_t>(v.size()));
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const S& s : v) out.push_back(gs::result_of(s));
    c.result()["ops"] = out;
}

void op_grant_table_op(step_context& c) {
    const auto cmd = static_cast<unsigned>(flags_value(c.args()["cmd"], gnttabop_names()));
    const std::uint64_t given = c.has("ops") ? batch(c).size() : 0;
    const auto count = static_cast<std::uint32_t>(c.integer("count", given));
    // Structures are read as the command's own; the dispatcher masks the
    // opaque bits off, so the model reads them as Xen would.
    switch (cmd & ((1u << 12) - 1)) {
    case g::GNTTABOP_map_grant_ref: return raw<g::map_grant_ref>(c, cmd, count);
    case g::GNTTABOP_unmap_grant_ref: return raw<g::unmap_grant_ref>(c, cmd, count);
    case g::GNTTABOP_setup_table: return raw<g::setup_table>(c, cmd, count);
    case g::GNTTABOP_dump_table: return raw<g::dump_table>(c, cmd, count);
    case g::GNTTABOP_transfer: return raw<g::transfer>(c, cmd, count);
    case g::GNTTABOP_copy: return raw<g::copy>(c, cmd, count);
    case g::GNTTABOP_query_size: return raw<g::query_size>(c, cmd, count);
    case g::GNTTABOP_unmap_and_replace: return raw<g::unmap_and_replace>(c, cmd, count);
    case g::GNTTABOP_set_version: return raw<g::set_version>(c, cmd, count);
    case g::GNTTABOP_get_status_frames: return raw<g::get_status_frames>(c, cmd, count);
    case g::GNTTABOP_get_version: return raw<g::get_version>(c, cmd, count);
    case g::GNTTABOP_swap_grant_ref: return raw<g::swap_grant_ref>(c, cmd, count);
    default: {
        // A command the model does not know: nothing is read.
        std::vector<std::uint8_t> junk(c.has("ops") ? batch(c).size() : 0);
        issue(c, hyp::HYPERVISOR_grant_table_op, cmd, c.has("ops") ? junk.data() : nullptr, count,
              static_cast<std::uint32_t>(junk.size()));
        c.result()["ops"] = nlohmann::ordered_json::array();
    }
    }
}

} // namespace

void register_gnttab_raw(op_registry& r) {
    using t = arg_type;
    r.add({"gnttab.grant_table_op", actor::domain,
           "issues HYPERVISOR_grant_table_op as it is: any cmd (a GNTTABOP_* name or a number, opaque bits included), any count, the structures in ops (absent: a NULL guest handle)",
           {flags_arg("cmd", true, "the command: a GNTTABOP_* name or a number", gnttabop_names()),
            {"count", t::integer, false, "the count argument", 0, 0xffffffffull, "the number of ops"},
            structure_arg("ops", false, "the argument structures, each with the fields of the command's structure", {}, true, max_batch)},
           {{"rc", result_type::integer, "the hypercall's return value: 0, a negative errno name, or the count done"},
            {"ops", result_type::structure, "each structure after the call (its out fields)"}},
           {}, {}, "as the command's own: -ENOSYS for an unknown command, -EINVAL for a count above INT_MAX or opaque bits on a command other than cache_flush, -EFAULT when count exceeds the structures given (or there are none)"},
          op_grant_table_op);
}

} // namespace iotwin::platform::interfaces
