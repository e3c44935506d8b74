// vfio: the group file (/dev/vfio/N).
#include "platform/interfaces/vfio.h"

namespace iotwin::platform::interfaces {

namespace {

namespace V = guest::vfio;
using t = arg_type;

void op_get_status(step_context& c) {
    user_struct s;
    s.u32(vfio_argsz(c, 8)).u32(0);
    const auto b = vfio_call(c, V::VFIO_GROUP_GET_STATUS, s);
    if (!b.empty()) c.result()["flags"] = field(b, 4, 4);
}

void op_set_container(step_context& c) {
    user_struct s;
    s.u32(c.integer("container"));
    vfio_call(c, V::VFIO_GROUP_SET_CONTAINER, s);
}

void op_get_device_fd(step_context& c) {
    const std::string name = c.text("name");
    user_struct s;
    s.bytes(name.data(), name.size()).u8(0);
    guest::process& p = c.acting_process();
    const std::uint64_t arg = pass(c, p, s);
    put_fd(c, p.ioctl(static_cast<long>(c.integer("fd")), V::VFIO_GROUP_GET_DEVICE_FD, arg, c.delay));
}

} // namespace

void register_vfio_group(op_registry& r) {
    r.add({"vfio.group_get_status", actor::process, "VFIO_GROUP_GET_STATUS", {fd_arg(), argsz_arg("struct vfio_group_status (8)"), null_arg()},
           syscall_results({{"flags", result_type::flags, "VFIO_GROUP_FLAGS_* set", V::group_flag_names}}), {}, {}, "EINVAL; EFAULT"},
          op_get_status);
    r.add({"vfio.group_set_container", actor::process, "VFIO_GROUP_SET_CONTAINER: attaches the group to a container",
           {fd_arg(), {"container", t::integer, true, "the container's descriptor", 0, 0xffffffffu}, null_arg()},
           syscall_results(), {}, {}, "EINVAL; EBADF"},
          op_set_container);
    r.add({"vfio.group_get_device_fd", actor::process, "VFIO_GROUP_GET_DEVICE_FD: a descriptor for a device of the group",
           {fd_arg(), {"name", t::string, true, "the device's name (\"0000:01:00.0\")", 0, 4096}, null_arg()},
           syscall_results({{"fd", result_type::integer, "the new descriptor"}}), {}, {}, "EINVAL; ENODEV"},
          op_get_device_fd);
}

} // namespace iotwin::platform::interfaces
