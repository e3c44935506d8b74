// vfio: the container (/dev/vfio/vfio) and the type1 IOMMU's ioctls.
#include "platform/interfaces/vfio.h"

#include <algorithm>

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

void op_unmap_dma(step_context& c) {
    user_struct s;
    s.u32(vfio_argsz(c, 24)).u32(vfio_flags(c, "flags", V::dma_unmap_flag_names));
    s.u64(c.integer("iova", 0)).u64(c.has("size") ? c.size("size") : 0);
    const auto b = vfio_call(c, V::VFIO_IOMMU_UNMAP_DMA, s);
    if (!b.empty()) c.result()["size"] = field(b, 16, 8);
}

// The capability chain the kernel wrote after struct vfio_iommu_type1_info,
// followed from cap_offset through each header's `next` (offsets from the
// start of the structure), each as { id, version } and its fields.
nlohmann::ordered_json parse_caps(const std::vector<std::uint8_t>& b, std::uint32_t first) {
    nlohmann::ordered_json caps = nlohmann::ordered_json::array();
    std::uint64_t at = first;
    for (unsigned n = 0; at && at + 8 <= b.size() && n < 16; ++n) {
        nlohmann::ordered_json cap;
        const auto id = field(b, at, 2);
        cap["id"] = id;
        cap["version"] = field(b, at + 2, 2);
        if (id == V::VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
            const std::uint64_t nr = field(b, at + 8, 4);
            cap["nr_iovas"] = nr;
            nlohmann::ordered_json ranges = nlohmann::ordered_json::array();
            for (std::uint64_t i = 0; i < nr && at + 32 + 16 * i <= b.size(); ++i)
                ranges.push_back({{"start", field(b, at + 16 + 16 * i, 8)}, {"end", field(b, at + 24 + 16 * i, 8)}});
            cap["iova_ranges"] = ranges;
        } else if (id == V::VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) {
            cap["flags"] = field(b, at + 8, 4);
            cap["pgsize_bitmap"] = field(b, at + 16, 8);
            cap["max_dirty_bitmap_size"] = field(b, at + 24, 8);
        } else if (id == V::VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
            cap["avail"] = field(b, at + 8, 4);
        }
        caps.push_back(cap);
        const std::uint64_t next = field(b, at + 4, 4);
        if (next <= at) break;  // a chain only moves forward
        at = next;
    }
    return caps;
}

std::vector<std::uint8_t> get_info(step_context& c, std::uint32_t argsz) {
    user_struct s;
    s.u32(argsz).u32(0).u64(0).u32(0).u32(0);
    // Room for what the kernel may write: argsz bytes, as the caller would
    // have allocated them (bounded: a lying argsz runs past the buffer).
    const std::uint64_t room = std::min<std::uint64_t>(argsz, 65536);
    return vfio_call(c, V::VFIO_IOMMU_GET_INFO, s, room > s.size() ? room - s.size() : 0);
}

void op_get_info(step_context& c) {
    auto b = get_info(c, vfio_argsz(c, V::iommu_type1_info_size));
    // Without argsz the step does what QEMU's vfio_get_iommu_info does: the
    // structure's size first, then again with the argsz the kernel asked for.
    if (!c.has("argsz") && !b.empty() && field(b, 0, 4) > V::iommu_type1_info_size)
        b = get_info(c, static_cast<std::uint32_t>(field(b, 0, 4)));
    if (b.empty()) return;
    c.result()["argsz"] = field(b, 0, 4);
    c.result()["flags"] = field(b, 4, 4);
    c.result()["iova_pgsizes"] = field(b, 8, 8);
    c.result()["cap_offset"] = field(b, 16, 4);
    c.result()["caps"] = parse_caps(b, static_cast<std::uint32_t>(field(b, 16, 4)));
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
           syscall_results(), {}, {},
           "EINVAL: no group attached, an IOMMU already set, or an extension that is not an IOMMU type; ENODEV: no backend "
           "supports the type; EPERM: no interrupt remapping (allow_unsafe_interrupts); ENOMEM"},
          op_set_iommu);
    r.add({"vfio.iommu_get_info", actor::process, "VFIO_IOMMU_GET_INFO: the type1 IOMMU's page sizes and capability chain",
           {fd_arg(), argsz_arg("struct vfio_iommu_type1_info (24), then again with the argsz the kernel wrote back, as QEMU does"), null_arg()},
           syscall_results({{"argsz", result_type::integer, "argsz as the kernel wrote it back (larger than passed when the capabilities did not fit)"},
                            {"flags", result_type::flags, "VFIO_IOMMU_INFO_* set", V::iommu_info_flag_names},
                            {"iova_pgsizes", result_type::integer, "the IOMMU page sizes (bitmap)"},
                            {"cap_offset", result_type::integer, "offset of the first capability (0: none copied)"},
                            {"caps", result_type::structure,
                             "the capability chain in order, each { id, version } and its fields: IOVA range (1) nr_iovas and "
                             "iova_ranges [{ start, end }], migration (2) flags, pgsize_bitmap, max_dirty_bitmap_size, DMA "
                             "available (3) avail"}}),
           {}, {}, "EINVAL: argsz below 16, or no IOMMU set; EFAULT; ENOMEM"},
          op_get_info);
    r.add({"vfio.iommu_map_dma", actor::process, "VFIO_IOMMU_MAP_DMA: pins user memory and maps it at an IOVA",
           {fd_arg(), argsz_arg("struct vfio_iommu_type1_dma_map (32)"),
            {"vaddr", t::integer, true, "the user address", 0, u64_max}, {"iova", t::integer, true, "the IO virtual address", 0, u64_max},
            {"size", t::size, true, "bytes", 0, u64_max},
            flags_arg("flags", false, "VFIO_DMA_MAP_FLAG_* names", V::dma_map_flag_names), null_arg()},
           syscall_results(), {}, {},
           "EINVAL: argsz, flags, size 0, unaligned, wrapping, outside the IOVA ranges; EEXIST: overlaps a mapping; "
           "ENOSPC: dma_entry_limit reached; ENOMEM: RLIMIT_MEMLOCK; EFAULT: vaddr not mapped or not writable; "
           "ENOENT: VFIO_DMA_MAP_FLAG_VADDR with no mapping"},
          op_map_dma);
    r.add({"vfio.iommu_unmap_dma", actor::process, "VFIO_IOMMU_UNMAP_DMA: unmaps and unpins the mappings in a range",
           {fd_arg(), argsz_arg("struct vfio_iommu_type1_dma_unmap (24)"),
            {"iova", t::integer, false, "the IO virtual address", 0, u64_max, "0"},
            {"size", t::size, false, "bytes", 0, u64_max, "0"},
            flags_arg("flags", false, "VFIO_DMA_UNMAP_FLAG_* names", V::dma_unmap_flag_names), null_arg()},
           syscall_results({{"size", result_type::integer, "bytes unmapped, as written back"}}), {}, {},
           "EINVAL: argsz, flags, unaligned, size 0, a mapping bisected (type1 v2); EFAULT"},
          op_unmap_dma);
}

} // namespace iotwin::platform::interfaces
