// The mapping and copying structures of GNTTABOP_* as steps write them
// (struct gnttab_map_grant_ref, gnttab_unmap_grant_ref,
// gnttab_unmap_and_replace, gnttab_copy): their fields, reading them from a
// step, and their results.
#include "platform/interfaces/gnttab_structs.h"

namespace iotwin::platform::interfaces::gnttab_structs {

namespace {

using t = arg_type;
constexpr std::uint64_t u64_max = ~std::uint64_t(0);

const name_table& gntmap_names() {
    static const name_table n = {{"GNTMAP_device_map", g::GNTMAP_device_map},
                                 {"GNTMAP_host_map", g::GNTMAP_host_map},
                                 {"GNTMAP_readonly", g::GNTMAP_readonly},
                                 {"GNTMAP_application_map", g::GNTMAP_application_map},
                                 {"GNTMAP_contains_pte", g::GNTMAP_contains_pte}};
    return n;
}

const name_table& gntcopy_names() {
    static const name_table n = {{"GNTCOPY_source_gref", g::GNTCOPY_source_gref}, {"GNTCOPY_dest_gref", g::GNTCOPY_dest_gref}};
    return n;
}

arg_spec domid_field(const char* name, const char* desc) { return {name, t::domain, true, desc, 0, 0xffff}; }

std::vector<arg_spec> copy_ptr_fields() {
    return {{"ref", t::integer, false, "grant reference (with GNTCOPY_*_gref)", 0, 0xffffffffu},
            {"gmfn", t::integer, false, "frame number of `domid` (without GNTCOPY_*_gref; only DOMID_SELF may name a frame)", 0, u64_max},
            domid_field("domid", "the domain: a name, a domid or DOMID_SELF"),
            {"offset", t::integer, false, "byte offset in the page", 0, 0xffff, "0"}};
}

void read_ptr(step_context& c, const batch_op& p, g::copy_ptr& out) {
    out.ref = static_cast<g::grant_ref_t>(p.integer("ref", 0xffffffffu, 0));
    out.gmfn = p.integer("gmfn", u64_max, 0);
    out.domid = p.domain(c, "domid");
    out.offset = static_cast<std::uint16_t>(p.integer("offset", 0xffff, 0));
}

} // namespace

std::vector<arg_spec> fields(const g::map_grant_ref*) {
    return {{"host_addr", t::integer, false, "guest-physical address of the caller where the frame appears (GNTMAP_host_map)", 0, u64_max, "0"},
            flags_arg("flags", true, "GNTMAP_* flags", gntmap_names()),
            {"ref", t::integer, true, "grant reference in the granter's table", 0, 0xffffffffu},
            domid_field("dom", "the granting domain: a name or a domid")};
}

std::vector<arg_spec> fields(const g::unmap_grant_ref*) {
    return {{"host_addr", t::integer, false, "the host mapping's address (0: leave it)", 0, u64_max, "0"},
            {"dev_bus_addr", t::integer, false, "the device mapping's bus address (0: leave it)", 0, u64_max, "0"},
            {"handle", t::integer, true, "the handle map_grant_ref returned", 0, 0xffffffffu}};
}

std::vector<arg_spec> fields(const g::unmap_and_replace*) {
    return {{"host_addr", t::integer, true, "the host mapping's address", 0, u64_max},
            {"new_addr", t::integer, false, "the address whose mapping replaces it (0: none; refused for HVM)", 0, u64_max, "0"},
            {"handle", t::integer, true, "the handle map_grant_ref returned", 0, 0xffffffffu}};
}

std::vector<arg_spec> fields(const g::copy*) {
    return {structure_arg("source", true, "where the bytes come from: { ref | gmfn, domid, offset }", copy_ptr_fields()),
            structure_arg("dest", true, "where they go: { ref | gmfn, domid, offset }", copy_ptr_fields()),
            {"len", t::integer, true, "bytes", 0, 0xffff},
            flags_arg("flags", false, "GNTCOPY_* flags", gntcopy_names(), 0xffff)};
}

void read_op(step_context& c, const batch_op& op, g::map_grant_ref& s) {
    s.host_addr = op.integer("host_addr", u64_max, 0);
    s.flags = static_cast<std::uint32_t>(op.flags("flags", gntmap_names(), 0xffffffffu));
    s.ref = static_cast<g::grant_ref_t>(op.integer("ref", 0xffffffffu));
    s.dom = op.domain(c, "dom");
}

void read_op(step_context&, const batch_op& op, g::unmap_grant_ref& s) {
    s.host_addr = op.integer("host_addr", u64_max, 0);
    s.dev_bus_addr = op.integer("dev_bus_addr", u64_max, 0);
    s.handle = static_cast<g::grant_handle_t>(op.integer("handle", 0xffffffffu));
}

void read_op(step_context&, const batch_op& op, g::unmap_and_replace& s) {
    s.host_addr = op.integer("host_addr", u64_max);
    s.new_addr = op.integer("new_addr", u64_max, 0);
    s.handle = static_cast<g::grant_handle_t>(op.integer("handle", 0xffffffffu));
}

void read_op(step_context& c, const batch_op& op, g::copy& s) {
    read_ptr(c, op.member("source"), s.source);
    read_ptr(c, op.member("dest"), s.dest);
    s.len = static_cast<std::uint16_t>(op.integer("len", 0xffff));
    s.flags = static_cast<std::uint16_t>(op.flags("flags", gntcopy_names(), 0xffff));
}

nlohmann::ordered_json result_of(const g::map_grant_ref& s) {
    nlohmann::ordered_json j;
    j["status"] = gntst_json(s.status);
    j["handle"] = s.handle;
    j["dev_bus_addr"] = s.dev_bus_addr;
    return j;
}

nlohmann::ordered_json result_of(const g::unmap_grant_ref& s) {
    nlohmann::ordered_json j;
    j["status"] = gntst_json(s.status);
    return j;
}

nlohmann::ordered_json result_of(const g::unmap_and_replace& s) {
    nlohmann::ordered_json j;
    j["status"] = gntst_json(s.status);
    return j;
}

nlohmann::ordered_json result_of(const g::copy& s) {
    nlohmann::ordered_json j;
    j["status"] = gntst_json(s.status);
    return j;
}

} // namespace iotwin::platform::interfaces::gnttab_structs
