// vfio: the device file of a function bound to vfio-pci.
#include "platform/interfaces/vfio.h"

namespace iotwin::platform::interfaces {

namespace {

namespace V = guest::vfio;

void op_get_info(step_context& c) {
    user_struct s;
    s.u32(vfio_argsz(c, 24)).u32(0).u32(0).u32(0).u32(0).u32(0);
    const auto b = vfio_call(c, V::VFIO_DEVICE_GET_INFO, s);
    if (b.empty()) return;
    c.result()["flags"] = field(b, 4, 4);
    c.result()["num_regions"] = field(b, 8, 4);
    c.result()["num_irqs"] = field(b, 12, 4);
}

} // namespace

void register_vfio_device(op_registry& r) {
    r.add({"vfio.device_get_info", actor::process, "VFIO_DEVICE_GET_INFO", {fd_arg(), argsz_arg("struct vfio_device_info (24)"), null_arg()},
           syscall_results({{"flags", result_type::flags, "VFIO_DEVICE_FLAGS_* set", V::device_flag_names},
                            {"num_regions", result_type::integer, "regions"},
                            {"num_irqs", result_type::integer, "interrupt indexes"}}),
           {}, {}, "EINVAL; EFAULT"},
          op_get_info);
}

} // namespace iotwin::platform::interfaces
