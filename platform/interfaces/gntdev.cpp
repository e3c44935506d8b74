// gntdev: /dev/xen/gntdev as processes use it (models/guest/gntdev.h).
// Every request's structure is laid out as include/uapi/xen/gntdev.h has it
// and passed through the process's memory.
#include "models/guest/devices.h"
#include "models/guest/gntdev.h"
#include "models/hyp/grant_table.h"
#include "platform/interfaces/hypercall.h"
#include "platform/interfaces/interfaces.h"
#include "platform/interfaces/syscall.h"

namespace iotwin::platform::interfaces {

namespace {

namespace G = guest;
namespace g = hyp::gnttab;
using t = arg_type;
constexpr std::uint64_t u32_max = 0xffffffffu, u64_max = ~std::uint64_t(0);
// The twin's own bound on a step's list of grant references or copy segments.
constexpr std::uint64_t max_items = 4096;

const name_table& notify_names() {
    static const name_table n = {{"UNMAP_NOTIFY_CLEAR_BYTE", G::UNMAP_NOTIFY_CLEAR_BYTE},
                                 {"UNMAP_NOTIFY_SEND_EVENT", G::UNMAP_NOTIFY_SEND_EVENT}};
    return n;
}
const name_table& gntcopy_names() {
    static const name_table n = {{"GNTCOPY_source_gref", g::GNTCOPY_source_gref}, {"GNTCOPY_dest_gref", g::GNTCOPY_dest_gref}};
    return n;
}

std::vector<batch_op> list_of(step_context& c, const char* name) {
    std::vector<batch_op> out;
    const YAML::Node n = c.args()[name];
    if (!n) return out;
    for (std::size_t i = 0; i < n.size(); ++i) out.push_back({n[i], std::string("args.") + name + "[" + std::to_string(i) + "]"});
    return out;
}

void op_open(step_context& c) {
    G::process& p = c.acting_process();
    const long r = G::open_path(p, "/dev/xen/gntdev", c.delay);
    put_ret(c, r);
    if (r < 0) return;
    c.result()["fd"] = r;
    // gntdev_open records the opener's address space.
    if (auto* f = dynamic_cast<G::gntdev*>(p.lookup(r).get())) f->set_owner(p.pid());
}

// An ioctl on `s`; returns the structure as the driver left it (empty on failure).
std::vector<std::uint8_t> call(step_context& c, unsigned long cmd, user_struct s, std::uint64_t extra = 0) {
    G::process& p = c.acting_process();
    const std::uint64_t n = s.size();
    const std::uint64_t arg = pass(c, p, s, extra);
    const long r = p.ioctl(static_cast<long>(c.integer("fd")), cmd, arg, c.delay);
    if (!ioctl_ok(c, r) || !arg) return {};
    return read_back(c, p, arg, n);
}

void op_map_grant_ref(step_context& c) {
    const std::vector<batch_op> refs = list_of(c, "refs");
    user_struct s;
    s.u32(c.integer("count", refs.size())).u32(0).u64(0);
    for (const batch_op& r : refs) s.u32(r.domain(c, "domid")).u32(r.integer("ref", u32_max));
    if (refs.empty()) s.u32(0).u32(0);  // refs[1] of the header's own size
    const auto b = call(c, G::IOCTL_GNTDEV_MAP_GRANT_REF, s);
    if (!b.empty()) c.result()["index"] = field(b, 8, 8);
}

void op_unmap_grant_ref(step_context& c) {
    user_struct s;
    s.u64(c.integer("index")).u32(c.integer("count")).u32(0);
    call(c, G::IOCTL_GNTDEV_UNMAP_GRANT_REF, s);
}

void op_get_offset_for_vaddr(step_context& c) {
    user_struct s;
    s.u64(c.integer("vaddr")).u64(0).u32(0).u32(0);
    const auto b = call(c, G::IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR, s);
    if (b.empty()) return;
    c.result()["offset"] = field(b, 8, 8);
    c.result()["count"] = field(b, 16, 4);
}

void op_set_max_grants(step_context& c) {
    user_struct s;
    s.u32(c.integer("count"));
    call(c, G::IOCTL_GNTDEV_SET_MAX_GRANTS, s);
}

void op_set_unmap_notify(step_context& c) {
    user_struct s;
    s.u64(c.integer("index"))
        .u32(flags_value(c.args()["action"], notify_names()))
        .u32(c.integer("event_channel_port", 0));
    call(c, G::IOCTL_GNTDEV_SET_UNMAP_NOTIFY, s);
}

// One side of a segment: the union of `virt` and `foreign { ref, offset, domid }`.
void put_side(step_context& c, user_struct& s, const batch_op& side) {
    if (side.has("virt")) {
        s.u64(side.integer("virt", u64_max));
        return;
    }
    const batch_op f = side.member("foreign");
    s.u32(f.integer("ref", u32_max, 0)).u16(f.integer("offset", 0xffff, 0)).u16(f.domain(c, "domid", 0));
}

void op_grant_copy(step_context& c) {
    G::process& p = c.acting_process();
    const std::vector<batch_op> segs = list_of(c, "segments");
    // The segments array, then the ioctl_gntdev_grant_copy header that points at it.
    user_struct arr;
    for (const batch_op& sg : segs) {
        put_side(c, arr, sg.member("source"));
        put_side(c, arr, sg.member("dest"));
        arr.u16(sg.integer("len", 0xffff)).u16(sg.flags("flags", gntcopy_names(), 0xffff)).u16(0).pad_to(8);
    }
    const std::uint64_t hdr_size = 16;
    user_struct all;
    all.u32(c.integer("count", segs.size())).u32(0).u64(0);  // segments pointer patched below
    const std::uint64_t base = p.scratch(hdr_size + arr.size(), c.delay);
    std::vector<std::uint8_t>& bytes = all.data();
    for (unsigned i = 0; i < 8; ++i) bytes[8 + i] = static_cast<std::uint8_t>((base + hdr_size) >> (8 * i));
    all.bytes(arr.data().data(), arr.size());
    const std::uint64_t arg = pass(c, p, all);
    const long r = p.ioctl(static_cast<long>(c.integer("fd")), G::IOCTL_GNTDEV_GRANT_COPY, arg, c.delay);
    put_ret(c, r);
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    if (arg == base) {
        const auto b = read_back(c, p, base + hdr_size, arr.size());
        for (std::size_t i = 0; i < segs.size(); ++i) {
            nlohmann::ordered_json j;
            j["status"] = gntst_json(static_cast<std::int16_t>(field(b, i * G::gntdev_copy_segment_size + 20, 2)));
            out.push_back(j);
        }
    }
    c.result()["segments"] = out;
}

std::vector<arg_spec> side_fields() {
    return {{"virt", t::integer, false, "a user address of the caller (without GNTCOPY_*_gref)", 0, u64_max},
            structure_arg("foreign", false, "a grant: { ref, offset, domid } (with GNTCOPY_*_gref)",
                          {{"ref", t::integer, false, "grant reference", 0, u32_max, "0"},
                           {"offset", t::integer, false, "byte offset in the granted page", 0, 0xffff, "0"},
                           {"domid", t::domain, false, "the granting domain", 0, 0xffff, "0"}})};
}

}  // namespace

void register_gntdev(op_registry& r) {
    const std::string no_req = "ENOTTY (current) / EINVAL (original) where the version lacks the request";
    r.add({"gntdev.open", actor::process, "open(2) of /dev/xen/gntdev", {},
           syscall_results({{"fd", result_type::integer, "the new descriptor"}}), {}, {}, "EMFILE"},
          op_open);
    r.add({"gntdev.map_grant_ref", actor::process,
           "IOCTL_GNTDEV_MAP_GRANT_REF: reserves an mmap offset for `count` grants (mapped at mmap)",
           {fd_arg(),
            {"count", t::integer, false, "grants (default: the length of refs; any value may be passed)", 0, u32_max},
            structure_arg("refs", false, "struct ioctl_gntdev_grant_ref: { domid, ref }",
                          {{"domid", t::domain, true, "the granting domain", 0, 0xffff},
                           {"ref", t::integer, true, "its grant reference", 0, u32_max}},
                          true, max_items),
            null_arg()},
           syscall_results({{"index", result_type::integer, "the mmap offset of the grants (bytes)"}}), {}, {},
           "EINVAL: count 0 or above the limit; ENOMEM: out of memory (original: also past the file's limit, or a bad refs pointer); EFAULT"},
          op_map_grant_ref);
    r.add({"gntdev.unmap_grant_ref", actor::process,
           "IOCTL_GNTDEV_UNMAP_GRANT_REF: releases the map at `index` (current: its grants go with the last VMA)",
           {fd_arg(), {"index", t::integer, true, "the offset map_grant_ref returned", 0, u64_max},
            {"count", t::integer, true, "its grants (current: 0 matches any)", 0, u32_max}, null_arg()},
           syscall_results(), {}, {}, "ENOENT: no map there with that count; EBUSY (original): still mmapped; EFAULT"},
          op_unmap_grant_ref);
    r.add({"gntdev.get_offset_for_vaddr", actor::process,
           "IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR: the map behind a user address",
           {fd_arg(), {"vaddr", t::integer, true, "a user address", 0, u64_max}, null_arg()},
           syscall_results({{"offset", result_type::integer, "the map's offset"}, {"count", result_type::integer, "its grants"}}), {}, {},
           "EINVAL: not in a gntdev mapping (original: not its start); EFAULT"},
          op_get_offset_for_vaddr);
    r.add({"gntdev.set_max_grants", actor::process, "IOCTL_GNTDEV_SET_MAX_GRANTS (original only): the file's limit",
           {fd_arg(), {"count", t::integer, true, "the new limit", 0, u32_max}, null_arg()}, syscall_results(), {}, {},
           "E2BIG: above the module's limit; " + no_req},
          op_set_max_grants);
    r.add({"gntdev.set_unmap_notify", actor::process,
           "IOCTL_GNTDEV_SET_UNMAP_NOTIFY (current): clear a byte and/or signal a port when the map is unmapped",
           {fd_arg(), {"index", t::integer, true, "the byte's offset in the file (inside a map)", 0, u64_max},
            flags_arg("action", true, "UNMAP_NOTIFY_* names", notify_names()),
            {"event_channel_port", t::integer, false, "the port (bound through /dev/xen/evtchn) for UNMAP_NOTIFY_SEND_EVENT", 0, u32_max, "0"},
            null_arg()},
           syscall_results(), {}, {},
           "EINVAL: unknown action bits, a port not bound by the kernel, a byte to clear in a read-only map; ENOENT: no map there; " + no_req},
          op_set_unmap_notify);
    r.add({"gntdev.grant_copy", actor::process,
           "IOCTL_GNTDEV_GRANT_COPY (current): GNTTABOP_copy between grants and the caller's memory, per segment",
           {fd_arg(),
            structure_arg("segments", false, "struct gntdev_grant_copy_segment: { source, dest, len, flags }",
                          {structure_arg("source", true, "{ virt } or { foreign: { ref, offset, domid } }", side_fields()),
                           structure_arg("dest", true, "{ virt } or { foreign: { ref, offset, domid } }", side_fields()),
                           {"len", t::integer, true, "bytes", 0, 0xffff},
                           flags_arg("flags", false, "GNTCOPY_* names", gntcopy_names(), 0xffff)},
                          true, max_items),
            {"count", t::integer, false, "segments the header claims (default: the list's length)", 0, u32_max},
            null_arg()},
           syscall_results({{"segments", result_type::structure, "each segment's `status` (GNTST_*) as the driver wrote it"}}), {}, {},
           "EINVAL: a segment with no grant side, or a grant side crossing its page; EFAULT: a user page not there (or not writable); " + no_req},
          op_grant_copy);
    register_file_ops(r, "gntdev", "/dev/xen/gntdev");
}

} // namespace iotwin::platform::interfaces
