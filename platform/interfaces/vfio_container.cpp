// vfio: the container (/dev/vfio/vfio) and the type1 IOMMU's ioctls.
#include "platform/interfaces/vfio.h"

namespace iotwin::platform::interfaces {

namespace {

namespace V = guest::vfio;
using t = arg_type;

void op_get_api_version(step_context& c) { vfio_call(c, V::VFIO_GET_API_VERSION, user_struct()); }

void raw_ioctl(step_context& c, unsigned long cmd, std::uint64_t arg) {
    guest::process& p = c.acting_process();
    put_ret(c, p.ioctl(static_cast<long>(c.integer("fd")), cmd, arg, c.delay));
}

void op_check_extension(step_context& c) {
    raw_ioctl(c, V::VFIO_CHECK_EXTENSION, flags_value(c.args()["extension"], V::extension_names));
}

void op_set_iommu(step_context& c) { raw_ioctl(c, V::VFIO_SET_IOMMU, flags_value(c.args()["type"], V::extension_names)); }

void op_map_dma(step_context& c) {
    user_struct s;
    s.u32(vfio_argsz(c, 32)).u32(vfio_flags(c, "flags", V::dma_map_flag_names));
    s.u64(c.integer("vaddr")).u64(c.integer("iova")).u64(c.size("size"));
    vfio_call(c, V::VFIO_IOMMU_MAP_DMA, s);
}

} // namespace

void register_vfio_container(op_registry& r) {
    const std::uint64_t u64_max = ~std::uint64_t(0);
    r.add({"vfio.get_api_version", actor::process, "VFIO_GET_API_VERSION on a container", {fd_arg()},
           syscall_results(), {}, {}, "EINVAL: not a container"},
          op_get_api_version);
    r.add({"vfio.check_extension", actor::process, "VFIO_CHECK_EXTENSION: whether the container supports an extension (ret 1 or 0)",
           {fd_arg(), flags_arg("extension", true, "VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU, ... or a number", V::extension_names, u64_max)},
           syscall_results(), {}, {}, ""},
          op_check_extension);
    r.add({"vfio.set_iommu", actor::process, "VFIO_SET_IOMMU: the container's IOMMU model",
           {fd_arg(), flags_arg("type", true, "VFIO_TYPE1_IOMMU or VFIO_TYPE1v2_IOMMU, or a number", V::extension_names, u64_max)},
           syscall_results(), {}, {}, "EINVAL"},
          op_set_iommu);
    r.add({"vfio.iommu_map_dma", actor::process, "VFIO_IOMMU_MAP_DMA: maps user memory at an IOVA",
           {fd_arg(), argsz_arg("struct vfio_iommu_type1_dma_map (32)"),
            {"vaddr", t::integer, true, "the user address", 0, u64_max}, {"iova", t::integer, true, "the IO virtual address", 0, u64_max},
            {"size", t::size, true, "bytes", 0, u64_max},
            flags_arg("flags", false, "VFIO_DMA_MAP_FLAG_* names", V::dma_map_flag_names), null_arg()},
           syscall_results(), {}, {}, "EINVAL; EFAULT; EEXIST"},
          op_map_dma);
}

} // namespace iotwin::platform::interfaces
