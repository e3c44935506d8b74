// gntalloc: /dev/xen/gntalloc as processes use it (models/guest/gntalloc.h).
// Each ioctl's structure is laid out as include/uapi/xen/gntalloc.h has it,
// in the process's memory, and the driver reads and writes it there.
#include <algorithm>

#include "models/guest/devices.h"
#include "models/guest/gntalloc.h"
#include "platform/interfaces/interfaces.h"
#include "platform/interfaces/syscall.h"

namespace iotwin::platform::interfaces {

namespace {

namespace G = guest;

// Room the twin gives the gref_ids array beyond the structure: a program
// asking for more references than this passes a smaller buffer, and the
// driver's copy_to_user faults (EFAULT) where the buffer ends.
constexpr std::uint64_t max_gref_ids_room = 65536;

const std::vector<std::pair<std::string, std::uint64_t>> alloc_flag_names = {{"GNTALLOC_FLAG_WRITABLE", G::GNTALLOC_FLAG_WRITABLE}};
const std::vector<std::pair<std::string, std::uint64_t>> notify_action_names = {
    {"UNMAP_NOTIFY_CLEAR_BYTE", G::UNMAP_NOTIFY_CLEAR_BYTE}, {"UNMAP_NOTIFY_SEND_EVENT", G::UNMAP_NOTIFY_SEND_EVENT}};

void op_open(step_context& c) { open_device(c, "/dev/xen/gntalloc"); }

void op_alloc(step_context& c) {
    G::process& p = c.acting_process();
    const std::uint64_t count = c.integer("count");
    const std::uint64_t flags = c.has("flags") ? flags_value(c.args()["flags"], alloc_flag_names) : 0;
    // struct ioctl_gntalloc_alloc_gref: domid, flags, count, index, gref_ids[1] (24 bytes).
    user_struct s;
    s.u16(c.domain("domid")).u16(flags).u32(count).u64(0).u32(0).pad_to(8);
    const std::uint64_t room = std::min(count, max_gref_ids_room) * 4;
    const std::uint64_t extra = room > 8 ? room - 8 : 0;
    const std::uint64_t arg = pass(c, p, s, extra);
    const long r = p.ioctl(static_cast<long>(c.integer("fd")), G::IOCTL_GNTALLOC_ALLOC_GREF, arg, c.delay);
    if (!ioctl_ok(c, r)) return;
    const auto b = read_back(c, p, arg, G::gntalloc_gref_ids_offset + std::min(count, max_gref_ids_room) * 4);
    c.result()["index"] = field(b, 8, 8);
    nlohmann::ordered_json ids = nlohmann::ordered_json::array();
    for (std::uint64_t i = 0; i < std::min(count, max_gref_ids_room); ++i)
        ids.push_back(field(b, static_cast<std::size_t>(G::gntalloc_gref_ids_offset + 4 * i), 4));
    c.result()["gref_ids"] = ids;
}

void op_dealloc(step_context& c) {
    G::process& p = c.acting_process();
    // struct ioctl_gntalloc_dealloc_gref: index, count (16 bytes).
    user_struct s;
    s.u64(c.integer("index")).u32(c.integer("count")).pad_to(8);
    const std::uint64_t arg = pass(c, p, s);
    ioctl_ok(c, p.ioctl(static_cast<long>(c.integer("fd")), G::IOCTL_GNTALLOC_DEALLOC_GREF, arg, c.delay));
}

void op_notify(step_context& c) {
    G::process& p = c.acting_process();
    // struct ioctl_gntalloc_unmap_notify: index, action, event_channel_port (16 bytes).
    user_struct s;
    s.u64(c.integer("index")).u32(flags_value(c.args()["action"], notify_action_names)).u32(c.integer("event_channel_port", 0));
    const std::uint64_t arg = pass(c, p, s);
    ioctl_ok(c, p.ioctl(static_cast<long>(c.integer("fd")), G::IOCTL_GNTALLOC_SET_UNMAP_NOTIFY, arg, c.delay));
}

}  // namespace

void register_gntalloc(op_registry& r) {
    using t = arg_type;
    r.add({"gntalloc.open", actor::process, "open(2) of /dev/xen/gntalloc", {},
           syscall_results({{"fd", result_type::integer, "the new descriptor"}}), {}, {}, "EMFILE"},
          op_open);
    r.add({"gntalloc.alloc_gref", actor::process,
           "IOCTL_GNTALLOC_ALLOC_GREF: `count` zeroed pages of the kernel, each granted to `domid`; the file offset to mmap them at",
           {fd_arg(), {"domid", t::domain, true, "the domain given access"},
            flags_arg("flags", false, "GNTALLOC_FLAG_WRITABLE (else the grants are read-only)", alloc_flag_names, 0xffff),
            {"count", t::integer, true, "how many pages", 0, 0xffffffff}, null_arg()},
           syscall_results({{"index", result_type::integer, "the mmap offset of the first page"},
                            {"gref_ids", result_type::structure, "the grant references, one per page"}}),
           {}, {},
           "EFAULT (arg, or the gref_ids array past the buffer); ENOMEM (count * 4 above kmalloc's 4 MiB, a page allocation); "
           "ENOSPC (the `limit` module parameter; current: grant references exhausted); ENOTTY on another file"},
          op_alloc);
    r.add({"gntalloc.dealloc_gref", actor::process,
           "IOCTL_GNTALLOC_DEALLOC_GREF: `count` grefs from `index` leave the file; each page goes when no mapping holds it and the remote domain does not map it",
           {fd_arg(), {"index", t::integer, true, "the offset alloc_gref returned", 0, ~std::uint64_t(0)},
            {"count", t::integer, true, "how many", 0, 0xffffffff}, null_arg()},
           syscall_results(), {}, {}, "EFAULT; EINVAL: no `count` grefs of this file at consecutive offsets from `index`"},
          op_dealloc);
    r.add({"gntalloc.set_unmap_notify", actor::process,
           "IOCTL_GNTALLOC_SET_UNMAP_NOTIFY (current only): when the page at `index` goes, clear the byte at index's page offset and/or signal an event channel",
           {fd_arg(), {"index", t::integer, true, "the page's offset plus the byte's offset in it", 0, ~std::uint64_t(0)},
            flags_arg("action", true, "UNMAP_NOTIFY_CLEAR_BYTE, UNMAP_NOTIFY_SEND_EVENT", notify_action_names),
            {"event_channel_port", t::integer, false, "a port this kernel's /dev/xen/evtchn bound", 0, 0xffffffff, "0"}, null_arg()},
           syscall_results(), {}, {},
           "EFAULT; ENOENT: no gref at index; EINVAL: unknown action bits, or a port not bound through /dev/xen/evtchn; ENOTTY on `original`"},
          op_notify);
    register_file_ops(r, "gntalloc", "/dev/xen/gntalloc");
}

} // namespace iotwin::platform::interfaces
