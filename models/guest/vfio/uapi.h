// The VFIO user interface of Linux 6.1 (include/uapi/linux/vfio.h): ioctl
// numbers, flags, indexes, capability IDs and the sizes of the structures
// that programs pass. Structures are read and written field by field at
// these offsets (little-endian), as a program lays them out.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace iotwin::guest::vfio {

constexpr int VFIO_API_VERSION = 0;

// Extensions (VFIO_CHECK_EXTENSION) and IOMMU types (VFIO_SET_IOMMU).
constexpr unsigned long VFIO_TYPE1_IOMMU = 1, VFIO_SPAPR_TCE_IOMMU = 2, VFIO_TYPE1v2_IOMMU = 3, VFIO_DMA_CC_IOMMU = 4,
                        VFIO_EEH = 5, VFIO_TYPE1_NESTING_IOMMU = 6, VFIO_SPAPR_TCE_v2_IOMMU = 7, VFIO_NOIOMMU_IOMMU = 8,
                        VFIO_UNMAP_ALL = 9, VFIO_UPDATE_VADDR = 10;

// _IO(VFIO_TYPE, VFIO_BASE + n): no direction or size bits.
constexpr unsigned long vfio_io(unsigned n) { return (static_cast<unsigned long>(';') << 8) | (100 + n); }
constexpr unsigned long VFIO_GET_API_VERSION = vfio_io(0), VFIO_CHECK_EXTENSION = vfio_io(1), VFIO_SET_IOMMU = vfio_io(2),
                        VFIO_GROUP_GET_STATUS = vfio_io(3), VFIO_GROUP_SET_CONTAINER = vfio_io(4),
                        VFIO_GROUP_UNSET_CONTAINER = vfio_io(5), VFIO_GROUP_GET_DEVICE_FD = vfio_io(6),
                        VFIO_DEVICE_GET_INFO = vfio_io(7), VFIO_DEVICE_GET_REGION_INFO = vfio_io(8),
                        VFIO_DEVICE_GET_IRQ_INFO = vfio_io(9), VFIO_DEVICE_SET_IRQS = vfio_io(10),
                        VFIO_DEVICE_RESET = vfio_io(11), VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = vfio_io(12),
                        VFIO_DEVICE_PCI_HOT_RESET = vfio_io(13), VFIO_DEVICE_QUERY_GFX_PLANE = vfio_io(14),
                        VFIO_DEVICE_GET_GFX_DMABUF = vfio_io(15), VFIO_DEVICE_IOEVENTFD = vfio_io(16),
                        VFIO_DEVICE_FEATURE = vfio_io(17),
                        // The type1 IOMMU's, on the container (numbers shared with the device's).
                        VFIO_IOMMU_GET_INFO = vfio_io(12), VFIO_IOMMU_MAP_DMA = vfio_io(13),
                        VFIO_IOMMU_UNMAP_DMA = vfio_io(14), VFIO_IOMMU_DIRTY_PAGES = vfio_io(17);

// struct vfio_group_status { argsz, flags }
constexpr std::uint32_t VFIO_GROUP_FLAGS_VIABLE = 1u << 0, VFIO_GROUP_FLAGS_CONTAINER_SET = 1u << 1;

// struct vfio_device_info { argsz, flags, num_regions, num_irqs, cap_offset, pad }
constexpr std::uint32_t VFIO_DEVICE_FLAGS_RESET = 1u << 0, VFIO_DEVICE_FLAGS_PCI = 1u << 1,
                        VFIO_DEVICE_FLAGS_CAPS = 1u << 7;

// struct vfio_region_info { argsz, flags, index, cap_offset, u64 size, u64 offset }
constexpr std::uint32_t VFIO_REGION_INFO_FLAG_READ = 1u << 0, VFIO_REGION_INFO_FLAG_WRITE = 1u << 1,
                        VFIO_REGION_INFO_FLAG_MMAP = 1u << 2, VFIO_REGION_INFO_FLAG_CAPS = 1u << 3;
enum : unsigned {
    VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_BAR1_REGION_INDEX, VFIO_PCI_BAR2_REGION_INDEX, VFIO_PCI_BAR3_REGION_INDEX,
    VFIO_PCI_BAR4_REGION_INDEX, VFIO_PCI_BAR5_REGION_INDEX, VFIO_PCI_ROM_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX,
    VFIO_PCI_VGA_REGION_INDEX, VFIO_PCI_NUM_REGIONS
};
// Region offsets within the device file (VFIO_PCI_INDEX_TO_OFFSET).
constexpr unsigned VFIO_PCI_OFFSET_SHIFT = 40;
constexpr std::uint64_t vfio_pci_index_to_offset(std::uint64_t index) { return index << VFIO_PCI_OFFSET_SHIFT; }

// struct vfio_irq_info { argsz, flags, index, count }
constexpr std::uint32_t VFIO_IRQ_INFO_EVENTFD = 1u << 0, VFIO_IRQ_INFO_MASKABLE = 1u << 1,
                        VFIO_IRQ_INFO_AUTOMASKED = 1u << 2, VFIO_IRQ_INFO_NORESIZE = 1u << 3;
enum : unsigned { VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_ERR_IRQ_INDEX,
                  VFIO_PCI_REQ_IRQ_INDEX, VFIO_PCI_NUM_IRQS };

// struct vfio_irq_set { argsz, flags, index, start, count, u8 data[] }
constexpr std::uint32_t VFIO_IRQ_SET_DATA_NONE = 1u << 0, VFIO_IRQ_SET_DATA_BOOL = 1u << 1,
                        VFIO_IRQ_SET_DATA_EVENTFD = 1u << 2, VFIO_IRQ_SET_ACTION_MASK = 1u << 3,
                        VFIO_IRQ_SET_ACTION_UNMASK = 1u << 4, VFIO_IRQ_SET_ACTION_TRIGGER = 1u << 5;
constexpr std::uint32_t VFIO_IRQ_SET_DATA_TYPE_MASK = 0x7, VFIO_IRQ_SET_ACTION_TYPE_MASK = 0x38;

// struct vfio_pci_hot_reset_info { argsz, flags, count, struct vfio_pci_dependent_device devices[] }
// struct vfio_pci_dependent_device { u32 group_id; u16 segment; u8 bus; u8 devfn; }
// struct vfio_pci_hot_reset { argsz, flags, count, s32 group_fds[] }
constexpr unsigned hot_reset_header_size = 12, dependent_device_size = 8;

// struct vfio_iommu_type1_info { argsz, flags, u64 iova_pgsizes, u32 cap_offset, pad }
constexpr std::uint32_t VFIO_IOMMU_INFO_PGSIZES = 1u << 0, VFIO_IOMMU_INFO_CAPS = 1u << 1;
constexpr unsigned iommu_type1_info_size = 24;
// struct vfio_info_cap_header { u16 id, u16 version, u32 next }
constexpr std::uint16_t VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION = 2,
                        VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;

// struct vfio_iommu_type1_dma_map { argsz, flags, u64 vaddr, u64 iova, u64 size }
constexpr std::uint32_t VFIO_DMA_MAP_FLAG_READ = 1u << 0, VFIO_DMA_MAP_FLAG_WRITE = 1u << 1,
                        VFIO_DMA_MAP_FLAG_VADDR = 1u << 2;
// struct vfio_iommu_type1_dma_unmap { argsz, flags, u64 iova, u64 size, u8 data[] }
constexpr std::uint32_t VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1u << 0, VFIO_DMA_UNMAP_FLAG_ALL = 1u << 1,
                        VFIO_DMA_UNMAP_FLAG_VADDR = 1u << 2;

// Names a scenario may use for these numbers, by the argument that takes them.
using name_table = std::vector<std::pair<std::string, std::uint64_t>>;
extern const name_table extension_names, region_index_names, irq_index_names, group_flag_names, device_flag_names,
    region_flag_names, irq_info_flag_names, irq_set_flag_names, iommu_info_flag_names, dma_map_flag_names,
    dma_unmap_flag_names;

} // namespace iotwin::guest::vfio
