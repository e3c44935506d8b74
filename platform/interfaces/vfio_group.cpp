// vfio: the group file (/dev/vfio/N), models/guest/vfio/group.cpp; the
// errno of each case is Linux 6.1's (docs/drivers/vfio-group.md).
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

void op_unset_container(step_context& c) {
    guest::process& p = c.acting_process();
    put_ret(c, p.ioctl(static_cast<long>(c.integer("fd")), V::VFIO_GROUP_UNSET_CONTAINER, 0, c.delay));
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
           syscall_results({{"flags", result_type::flags,
                             "VFIO_GROUP_FLAGS_VIABLE (attached to a container, or no function of the group bound to a driver "
                             "that uses the kernel's DMA API) and VFIO_GROUP_FLAGS_CONTAINER_SET",
                             V::group_flag_names}}),
           {}, {},
           "EFAULT: the structure cannot be read or written; EINVAL: argsz below 8; ENOTTY: not a group file; EINVAL on a "
           "container without an IOMMU set"},
          op_get_status);
    r.add({"vfio.group_set_container", actor::process, "VFIO_GROUP_SET_CONTAINER: attaches the group to a container",
           {fd_arg(), {"container", t::integer, true, "the container's descriptor (read as a 32-bit int: 0xffffffff is -1)", 0,
                       0xffffffffu},
            null_arg()},
           syscall_results(), {}, {},
           "EFAULT: the argument cannot be read; EBADF: `container` is not an open descriptor; EINVAL: the group is in a "
           "container already, or the descriptor is not a container; EPERM: a function of the group is bound to a driver "
           "that uses the kernel's DMA API (iommu_group_claim_dma_owner); the IOMMU backend's error when the container has "
           "one and it cannot take the group"},
          op_set_container);
    r.add({"vfio.group_get_device_fd", actor::process, "VFIO_GROUP_GET_DEVICE_FD: a descriptor for a device of the group",
           {fd_arg(), {"name", t::string, true, "the device's name (\"0000:01:00.0\")", 0, 4096}, null_arg()},
           syscall_results({{"fd", result_type::integer, "the new descriptor"}}), {}, {},
           "EFAULT: the name cannot be read; EINVAL: no NUL within 4096 bytes, options after the name other than one "
           "vf_token=<uuid> (or a token for a device that takes none), or the group has no container with an IOMMU set; "
           "ENODEV: no device of the group bound to vfio-pci has that name; ENOMEM; EMFILE; the device's enable error on "
           "its first open"},
          op_get_device_fd);
    r.add({"vfio.group_unset_container", actor::process, "VFIO_GROUP_UNSET_CONTAINER: detaches the group from its container",
           {fd_arg()}, syscall_results(), {}, {},
           "EINVAL: the group is in no container; EBUSY: device files of the group are open; ENOTTY: not a group file"},
          op_unset_container);
}

} // namespace iotwin::platform::interfaces
