// What the vfio.* operations share (platform/interfaces/vfio*.cpp): an
// ioctl on a VFIO descriptor with its structure passed through the
// process's memory, and the arguments every one of them takes.
#pragma once
#include "models/guest/vfio/uapi.h"
#include "platform/interfaces/syscall.h"

namespace iotwin::platform::interfaces {

// The ioctl `cmd` on args.fd with `s` as its structure (`extra` zero bytes
// after it for what the kernel writes back); reports `ret` and `errno`.
// Returns the structure as the kernel left it, `s.size() + extra` bytes
// (empty when the call failed or `arg: null` was passed).
std::vector<std::uint8_t> vfio_call(step_context& c, unsigned long cmd, user_struct s, std::uint64_t extra = 0);
// `argsz`: the scenario's value, or the structure's real size.
std::uint32_t vfio_argsz(step_context& c, std::uint32_t real);
arg_spec argsz_arg(const std::string& what);
// A flags argument's value, 0 when the step does not give it.
std::uint64_t vfio_flags(step_context& c, const char* name, const guest::vfio::name_table& names);

void register_vfio_container(op_registry& r);  // vfio_container.cpp: the container and the type1 IOMMU
void register_vfio_group(op_registry& r);      // vfio_group.cpp: the group file
void register_vfio_device(op_registry& r);     // vfio_device.cpp: the device file, its regions and resets
void register_vfio_irqs(op_registry& r);       // vfio_irqs.cpp: the device's interrupts

} // namespace iotwin::platform::interfaces
