#include "models/guest/vfio/uapi.h"

namespace iotwin::guest::vfio {

#define NAMED(x) {#x, x}
const name_table extension_names = {
    NAMED(VFIO_TYPE1_IOMMU), NAMED(VFIO_SPAPR_TCE_IOMMU), NAMED(VFIO_TYPE1v2_IOMMU), NAMED(VFIO_DMA_CC_IOMMU),
    NAMED(VFIO_EEH), NAMED(VFIO_TYPE1_NESTING_IOMMU), NAMED(VFIO_SPAPR_TCE_v2_IOMMU), NAMED(VFIO_NOIOMMU_IOMMU),
    NAMED(VFIO_UNMAP_ALL), NAMED(VFIO_UPDATE_VADDR)};
const name_table region_index_names = {
    NAMED(VFIO_PCI_BAR0_REGION_INDEX), NAMED(VFIO_PCI_BAR1_REGION_INDEX), NAMED(VFIO_PCI_BAR2_REGION_INDEX),
    NAMED(VFIO_PCI_BAR3_REGION_INDEX), NAMED(VFIO_PCI_BAR4_REGION_INDEX), NAMED(VFIO_PCI_BAR5_REGION_INDEX),
    NAMED(VFIO_PCI_ROM_REGION_INDEX), NAMED(VFIO_PCI_CONFIG_REGION_INDEX), NAMED(VFIO_PCI_VGA_REGION_INDEX)};
const name_table irq_index_names = {NAMED(VFIO_PCI_INTX_IRQ_INDEX), NAMED(VFIO_PCI_MSI_IRQ_INDEX),
                                    NAMED(VFIO_PCI_MSIX_IRQ_INDEX), NAMED(VFIO_PCI_ERR_IRQ_INDEX),
                                    NAMED(VFIO_PCI_REQ_IRQ_INDEX)};
const name_table group_flag_names = {NAMED(VFIO_GROUP_FLAGS_VIABLE), NAMED(VFIO_GROUP_FLAGS_CONTAINER_SET)};
const name_table device_flag_names = {NAMED(VFIO_DEVICE_FLAGS_RESET), NAMED(VFIO_DEVICE_FLAGS_PCI),
                                      NAMED(VFIO_DEVICE_FLAGS_CAPS)};
const name_table region_flag_names = {NAMED(VFIO_REGION_INFO_FLAG_READ), NAMED(VFIO_REGION_INFO_FLAG_WRITE),
                                      NAMED(VFIO_REGION_INFO_FLAG_MMAP), NAMED(VFIO_REGION_INFO_FLAG_CAPS)};
const name_table irq_info_flag_names = {NAMED(VFIO_IRQ_INFO_EVENTFD), NAMED(VFIO_IRQ_INFO_MASKABLE),
                                        NAMED(VFIO_IRQ_INFO_AUTOMASKED), NAMED(VFIO_IRQ_INFO_NORESIZE)};
const name_table irq_set_flag_names = {NAMED(VFIO_IRQ_SET_DATA_NONE), NAMED(VFIO_IRQ_SET_DATA_BOOL),
                                       NAMED(VFIO_IRQ_SET_DATA_EVENTFD), NAMED(VFIO_IRQ_SET_ACTION_MASK),
                                       NAMED(VFIO_IRQ_SET_ACTION_UNMASK), NAMED(VFIO_IRQ_SET_ACTION_TRIGGER)};
const name_table iommu_info_flag_names = {NAMED(VFIO_IOMMU_INFO_PGSIZES), NAMED(VFIO_IOMMU_INFO_CAPS)};
const name_table dma_map_flag_names = {NAMED(VFIO_DMA_MAP_FLAG_READ), NAMED(VFIO_DMA_MAP_FLAG_WRITE),
                                       NAMED(VFIO_DMA_MAP_FLAG_VADDR)};
const name_table dma_unmap_flag_names = {NAMED(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP), NAMED(VFIO_DMA_UNMAP_FLAG_ALL),
                                         NAMED(VFIO_DMA_UNMAP_FLAG_VADDR)};
#undef NAMED

} // namespace iotwin::guest::vfio
