// vfio: the device file of a function bound to vfio-pci: its information,
// regions (pread / pwrite at index << 40), resets and hot resets.
#include "platform/interfaces/vfio.h"

#include <algorithm>
#include <cerrno>
#include <limits>

namespace iotwin::platform::interfaces {

namespace {

namespace V = guest::vfio;
using t = arg_type;

void op_get_info(step_context& c) {
    user_struct s;
    s.u32(vfio_argsz(c, 24)).u32(0).u32(0).u32(0).u32(0).u32(0);
    const auto b = vfio_call(c, V::VFIO_DEVICE_GET_INFO, s);
    if (b.empty()) return;
    c.result()["flags"] = field(b, 4, 4);
    c.result()["num_regions"] = field(b, 8, 4);
    c.result()["num_irqs"] = field(b, 12, 4);
    c.result()["cap_offset"] = field(b, 16, 4);
}

void op_get_region_info(step_context& c) {
    const std::uint32_t argsz = vfio_argsz(c, 32);
    user_struct s;
    s.u32(argsz).u32(0).u32(vfio_flags(c, "index", V::region_index_names)).u32(0).u64(0).u64(0);
    // Room for the capability chain the kernel writes past the structure when argsz allows it.
    const auto b = vfio_call(c, V::VFIO_DEVICE_GET_REGION_INFO, s, argsz > 32 ? std::min<std::uint32_t>(argsz - 32, 4096) : 0);
    if (b.empty()) return;
    c.result()["argsz"] = field(b, 0, 4);
    c.result()["flags"] = field(b, 4, 4);
    c.result()["cap_offset"] = field(b, 12, 4);
    c.result()["size"] = field(b, 16, 8);
    c.result()["offset"] = field(b, 24, 8);
    const std::uint64_t cap = field(b, 12, 4);
    if (cap && cap + 8 <= b.size()) {
        auto caps = nlohmann::ordered_json::array();
        caps.push_back({{"id", field(b, cap, 2)}, {"version", field(b, cap + 2, 2)}});
        c.result()["caps"] = caps;
    }
}

void op_reset(step_context& c) {
    guest::process& p = c.acting_process();
    put_ret(c, p.ioctl(static_cast<long>(c.integer("fd")), V::VFIO_DEVICE_RESET, 0, c.delay));
}

void op_hot_reset_info(step_context& c) {
    const std::uint32_t argsz = vfio_argsz(c, 12 + 8 * 32);
    user_struct s;
    s.u32(argsz).u32(0).u32(0);
    const std::uint64_t extra = argsz > 12 ? std::min<std::uint32_t>(argsz - 12, 8 * 256) : 0;
    guest::process& p = c.acting_process();
    const std::uint64_t arg = pass(c, p, s, extra);
    const long r = p.ioctl(static_cast<long>(c.integer("fd")), V::VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, arg, c.delay);
    put_ret(c, r);
    // ENOSPC still writes the header back: the count needed.
    if (!arg || (r < 0 && r != -ENOSPC)) return;
    const auto b = read_back(c, p, arg, 12 + extra);
    c.result()["argsz"] = field(b, 0, 4);
    c.result()["count"] = field(b, 8, 4);
    if (r < 0) return;
    auto devs = nlohmann::ordered_json::array();
    for (std::uint64_t i = 0; i < field(b, 8, 4) && 12 + 8 * (i + 1) <= b.size(); ++i) {
        const std::size_t o = 12 + 8 * i;
        devs.push_back({{"group_id", field(b, o, 4)}, {"segment", field(b, o + 4, 2)}, {"bus", field(b, o + 6, 1)},
                        {"devfn", field(b, o + 7, 1)}});
    }
    c.result()["devices"] = devs;
}

void op_hot_reset(step_context& c) {
    const auto fds = c.has("group_fds") ? integers_value(c.args()["group_fds"]) : std::vector<std::int64_t>{};
    const auto count = static_cast<std::uint32_t>(c.integer("count", fds.size()));
    user_struct s;
    s.u32(vfio_argsz(c, static_cast<std::uint32_t>(12 + 4 * fds.size()))).u32(c.integer("flags", 0)).u32(count);
    for (const std::int64_t fd : fds) s.u32(static_cast<std::uint32_t>(fd));
    vfio_call(c, V::VFIO_DEVICE_PCI_HOT_RESET, s);
}

void op_read(step_context& c) {
    guest::process& p = c.acting_process();
    const std::uint64_t len = c.size("count");
    const std::uint64_t buf = p.scratch(std::max<std::uint64_t>(len, 8), c.delay);
    const auto b = read_step(c, p, buf, len);
    if (!b.empty() && b.size() <= 8) c.result()["value"] = field(b, 0, static_cast<unsigned>(b.size()));
}

void op_write(step_context& c) {
    guest::process& p = c.acting_process();
    const auto data = c.data("data");
    user_struct s;
    s.bytes(data.data(), data.size());
    write_step(c, p, pass(c, p, s), data.size());
}

} // namespace

void register_vfio_device(op_registry& r) {
    r.add({"vfio.device_get_info", actor::process, "VFIO_DEVICE_GET_INFO", {fd_arg(), argsz_arg("struct vfio_device_info (24)"), null_arg()},
           syscall_results({{"flags", result_type::flags, "VFIO_DEVICE_FLAGS_* set", V::device_flag_names},
                            {"num_regions", result_type::integer, "regions"},
                            {"num_irqs", result_type::integer, "interrupt indexes"},
                            {"cap_offset", result_type::integer, "cap_offset (written back when argsz reaches it)"}}),
           {}, {}, "EINVAL: argsz below 16; EFAULT; ENOTTY: not a device file"},
          op_get_info);
    r.add({"vfio.device_get_region_info", actor::process, "VFIO_DEVICE_GET_REGION_INFO: a region's size, flags and file offset",
           {fd_arg(),
            flags_arg("index", true, "the region: a number or VFIO_PCI_*_REGION_INDEX", V::region_index_names),
            argsz_arg("struct vfio_region_info (32)"), null_arg()},
           syscall_results({{"argsz", result_type::integer, "argsz as written back (the size the capability chain needs)"},
                            {"flags", result_type::flags, "VFIO_REGION_INFO_FLAG_* set", V::region_flag_names},
                            {"size", result_type::integer, "bytes"},
                            {"offset", result_type::integer, "the region's offset in the device file (index << 40)"},
                            {"cap_offset", result_type::integer, "where the capability chain starts (0: none)"},
                            {"caps", result_type::structure, "the capabilities: [{ id, version }] (3: MSIX_MAPPABLE)"}}),
           {}, {}, "EINVAL: argsz below 32, an index past the regions, VGA on a device without it; EFAULT"},
          op_get_region_info);
    r.add({"vfio.device_reset", actor::process, "VFIO_DEVICE_RESET: pci_try_reset_function", {fd_arg()}, syscall_results(), {}, {},
           "EINVAL: no reset method worked when the device was opened; ENOTTY: none works now; EINVAL from a PM reset out of D0"},
          op_reset);
    r.add({"vfio.device_get_pci_hot_reset_info", actor::process,
           "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: the functions a bus reset for this device reaches",
           {fd_arg(), argsz_arg("the header (12) and 32 entries of 8 bytes"), null_arg()},
           syscall_results({{"argsz", result_type::integer, "argsz as written back"},
                            {"count", result_type::integer, "functions affected (also on ENOSPC: how many are needed)"},
                            {"devices", result_type::structure, "each function: { group_id, segment, bus, devfn }"}}),
           {}, {}, "EINVAL: argsz below 12; ENOSPC: argsz too small for every function (count says how many); ENODEV: no bus reset "
                   "(a function on a root bus); EPERM: a function without an IOMMU group; EFAULT"},
          op_hot_reset_info);
    r.add({"vfio.device_pci_hot_reset", actor::process,
           "VFIO_DEVICE_PCI_HOT_RESET: a bus reset, proving ownership of every affected device by its group's descriptor",
           {fd_arg(),
            {"group_fds", t::integers, false, "the group descriptors (each an s32 of group_fds[]; any integer, -1 included)", 0, 256},
            {"count", t::integer, false, "count as the caller sets it (default: the number of group_fds)", 0, 0xffffffffu},
            {"flags", t::integer, false, "flags (must be 0)", 0, 0xffffffffu, "0"},
            argsz_arg("the header (12) and 4 bytes per descriptor"), null_arg()},
           syscall_results(), {}, {},
           "EINVAL: argsz below 12, flags, count 0 or above the functions affected, a descriptor that is no group, a device of the "
           "reset's set whose group is not passed, a function below the bus not bound to vfio-pci; EBADF; ENODEV: no bus reset; "
           "ENOMEM; EFAULT"},
          op_hot_reset);
    const arg_spec offset{"offset", t::integer, false, "pread/pwrite position: the region's offset (index << 40) plus the offset in it; "
                                                       "absent: read/write at the file position", 0, ~std::uint64_t(0)};
    r.add({"vfio.read", actor::process, "pread(2) of a device region: a BAR, the ROM or the configuration space",
           {fd_arg(), offset, {"count", t::size, true, "bytes", 0, op_limits::max_transfer}},
           syscall_results({{"data", result_type::data, "the bytes read"},
                            {"value", result_type::integer, "the bytes read as a little-endian integer (8 bytes or fewer)"}}),
           {}, {},
           "EINVAL: an index past the regions, an absent BAR, an offset past the region, VGA; EFAULT: past the configuration space; "
           "EIO: a memory BAR while Memory Space Enable is clear; ENOMEM: no ROM image"},
          op_read);
    r.add({"vfio.write", actor::process, "pwrite(2) of a device region: a BAR or the configuration space",
           {fd_arg(), offset, {"data", t::data, true, "the bytes written", 1, op_limits::max_transfer}},
           syscall_results(), {}, {},
           "EINVAL: an index past the regions, the ROM, an absent BAR, an offset past the region; EFAULT: past the configuration "
           "space; EIO: a memory BAR while Memory Space Enable is clear"},
          op_write);
}

} // namespace iotwin::platform::interfaces
