// The table half of gnttab_structs.h: setup_table, dump_table, transfer,
// query_size, set_version, get_status_frames, get_version, swap_grant_ref as
// steps write them and as their results come back.
#include "platform/interfaces/gnttab_structs.h"

#include <cctype>
#include <limits>

namespace iotwin::platform::interfaces::gnttab_structs {

namespace {
constexpr std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();
using t = arg_type;

arg_spec dom_arg(const char* name, const char* what) {
    return {name, t::domain, false, std::string(what) + ": a domain name, a domid, or DOMID_SELF", 0, 0xffff, "DOMID_SELF"};
}

// A domain field: a name, a domid or a DOMID_* name; a name that names no
// domain stands for a domid no domain has (DOMID_INVALID), which Xen answers
// as it answers any such domid (GNTST_bad_domain, -ESRCH).
hyp::domid_t dom_of(step_context& c, const batch_op& op, const char* f, hyp::domid_t def) {
    if (!op.has(f)) return def;
    const YAML::Node n = op.fields[f];
    if (n.IsScalar()) {
        const std::string v = n.Scalar();
        const bool known = v.rfind("DOMID_", 0) == 0 || (!v.empty() && std::isdigit(static_cast<unsigned char>(v[0]))) ||
                           c.hyp().find(v) != nullptr;
        if (!known) return hyp::DOMID_INVALID;
    }
    return op.domain(c, f, def);
}

// An integer field not written is 0, as in a zeroed structure.
std::uint64_t field(const batch_op& op, const char* f, std::uint64_t max) { return op.integer(f, max, 0); }

nlohmann::ordered_json frames(const std::vector<std::uint64_t>& v) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (std::uint64_t f : v) a.push_back(f);
    return a;
}
} // namespace

std::vector<arg_spec> fields(const g::setup_table*) {
    return {dom_arg("dom", "the domain whose table"),
            {"nr_frames", t::integer, true, "frames wanted (the table grows to this many); 0 when absent", 0, u32_max}};
}
std::vector<arg_spec> fields(const g::dump_table*) { return {dom_arg("dom", "the domain whose table")}; }
std::vector<arg_spec> fields(const g::transfer*) {
    return {{"mfn", t::integer, true, "the page given away: a machine frame (PV) or the caller's guest frame (HVM)"},
            {"domid", t::domain, true, "the receiving domain: a name or a domid", 0, 0xffff},
            {"ref", t::integer, true, "the receiver's grant reference that accepts the page", 0, u32_max}};
}
std::vector<arg_spec> fields(const g::query_size*) { return {dom_arg("dom", "the domain whose table")}; }
std::vector<arg_spec> fields(const g::set_version*) {
    return {{"version", t::integer, true, "1 or 2 (anything else is the hypercall's EINVAL)", 0, u32_max}};
}
std::vector<arg_spec> fields(const g::get_status_frames*) {
    return {{"nr_frames", t::integer, true, "status frames wanted", 0, u32_max}, dom_arg("dom", "the domain whose table")};
}
std::vector<arg_spec> fields(const g::get_version*) { return {dom_arg("dom", "the domain whose table")}; }
std::vector<arg_spec> fields(const g::swap_grant_ref*) {
    return {{"ref_a", t::integer, true, "a grant reference of the caller's table", 0, u32_max},
            {"ref_b", t::integer, true, "the other", 0, u32_max}};
}

void read_op(step_context& c, const batch_op& op, g::setup_table& s) {
    s.dom = dom_of(c, op, "dom", hyp::DOMID_SELF);
    s.nr_frames = static_cast<std::uint32_t>(field(op, "nr_frames", u32_max));
}
void read_op(step_context& c, const batch_op& op, g::dump_table& s) { s.dom = dom_of(c, op, "dom", hyp::DOMID_SELF); }
void read_op(step_context& c, const batch_op& op, g::transfer& s) {
    s.mfn = field(op, "mfn", std::numeric_limits<std::uint64_t>::max());
    s.domid = dom_of(c, op, "domid", 0);
    s.ref = static_cast<g::grant_ref_t>(field(op, "ref", u32_max));
}
void read_op(step_context& c, const batch_op& op, g::query_size& s) { s.dom = dom_of(c, op, "dom", hyp::DOMID_SELF); }
void read_op(step_context&, const batch_op& op, g::set_version& s) {
    s.version = static_cast<std::uint32_t>(field(op, "version", u32_max));
}
void read_op(step_context& c, const batch_op& op, g::get_status_frames& s) {
    s.nr_frames = static_cast<std::uint32_t>(field(op, "nr_frames", u32_max));
    s.dom = dom_of(c, op, "dom", hyp::DOMID_SELF);
}
void read_op(step_context& c, const batch_op& op, g::get_version& s) { s.dom = dom_of(c, op, "dom", hyp::DOMID_SELF); }
void read_op(step_context&, const batch_op& op, g::swap_grant_ref& s) {
    s.ref_a = static_cast<g::grant_ref_t>(field(op, "ref_a", u32_max));
    s.ref_b = static_cast<g::grant_ref_t>(field(op, "ref_b", u32_max));
}

nlohmann::ordered_json result_of(const g::setup_table& s) {
    return {{"status", gntst_json(s.status)}, {"frame_list", frames(s.frame_list)}};
}
nlohmann::ordered_json result_of(const g::dump_table& s) { return {{"status", gntst_json(s.status)}}; }
nlohmann::ordered_json result_of(const g::transfer& s) { return {{"status", gntst_json(s.status)}}; }
nlohmann::ordered_json result_of(const g::query_size& s) {
    return {{"nr_frames", s.nr_frames}, {"max_nr_frames", s.max_nr_frames}, {"status", gntst_json(s.status)}};
}
nlohmann::ordered_json result_of(const g::set_version& s) { return {{"version", s.version}}; }
nlohmann::ordered_json result_of(const g::get_status_frames& s) {
    return {{"status", gntst_json(s.status)}, {"frame_list", frames(s.frame_list)}};
}
nlohmann::ordered_json result_of(const g::get_version& s) { return {{"version", s.version}}; }
nlohmann::ordered_json result_of(const g::swap_grant_ref& s) { return {{"status", gntst_json(s.status)}}; }

} // namespace iotwin::platform::interfaces::gnttab_structs
