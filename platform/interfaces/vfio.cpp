// vfio: /dev/vfio/vfio and /dev/vfio/N as a host process uses them
// (models/guest/vfio/vfio.h). Structures are laid out as
// include/uapi/linux/vfio.h has them and passed through the process's memory.
#include "platform/interfaces/vfio.h"

#include "models/guest/devices.h"
#include "platform/interfaces/interfaces.h"

namespace iotwin::platform::interfaces {

std::vector<std::uint8_t> vfio_call(step_context& c, unsigned long cmd, user_struct s, std::uint64_t extra) {
    guest::process& p = c.acting_process();
    const std::uint64_t n = s.size() + extra;
    const std::uint64_t arg = pass(c, p, s, extra);
    const long r = p.ioctl(static_cast<long>(c.integer("fd")), cmd, arg, c.delay);
    if (!ioctl_ok(c, r) || !arg) return {};
    return read_back(c, p, arg, n);
}

std::uint32_t vfio_argsz(step_context& c, std::uint32_t real) {
    return static_cast<std::uint32_t>(c.integer("argsz", real));
}

arg_spec argsz_arg(const std::string& what) {
    return {"argsz", arg_type::integer, false, "argsz as the caller sets it (default: the size of " + what + ")", 0,
            0xffffffffu};
}

std::uint64_t vfio_flags(step_context& c, const char* name, const guest::vfio::name_table& names) {
    return c.args()[name] ? flags_value(c.args()[name], names) : 0;
}

namespace {

void op_open_container(step_context& c) { open_device(c, "/dev/vfio/vfio"); }
void op_open_group(step_context& c) { open_device(c, "/dev/vfio/" + std::to_string(c.integer("group"))); }

} // namespace

void register_vfio(op_registry& r) {
    using t = arg_type;
    const std::vector<arg_spec> flags = {{"flags", t::integer, false, "open(2) flags (O_RDWR)", 0, 0xffffffffu, "2"}};
    r.add({"vfio.open_container", actor::process, "open(2) of /dev/vfio/vfio: a new container", flags,
           syscall_results({{"fd", result_type::integer, "the new descriptor"}}), {}, {}, "EMFILE; ENOMEM"},
          op_open_container);
    std::vector<arg_spec> gargs = {{"group", t::integer, true, "the IOMMU group's number (pci.iommu_group)", 0, 0xffffffffu}};
    gargs.push_back(flags.front());
    r.add({"vfio.open_group", actor::process, "open(2) of /dev/vfio/N: the group's file", gargs,
           syscall_results({{"fd", result_type::integer, "the new descriptor"}}), {}, {},
           "ENOENT: no /dev/vfio/N (no function of the group is bound to vfio-pci); EBUSY: the group is open already; EMFILE"},
          op_open_group);
    register_vfio_container(r);
    register_vfio_group(r);
    register_vfio_device(r);
    register_vfio_irqs(r);
    register_file_ops(r, "vfio", "a VFIO file (container, group or device)");
}

} // namespace iotwin::platform::interfaces
