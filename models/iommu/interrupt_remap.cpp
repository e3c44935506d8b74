// Interrupt remapping: what becomes of an interrupt message a device sends.
#include "models/iommu/iommu.h"

namespace iotwin::iommu {

using namespace sc_core;

void iommu::remap_interrupt(tlm::tlm_generic_payload& gp, pcie::pcie_ext&, sc_time& delay) {
    ++msi_forwarded_;
    forward(gp, delay);
}

void iommu::invalidate_interrupt_entries(bool global, unsigned index, unsigned index_mask) {
    (void)global;
    (void)index;
    (void)index_mask;
}

} // namespace iotwin::iommu
