// Address Translation Services: translation requests, translated requests
// and the invalidation of device TLBs.
#include "models/iommu/iommu.h"

namespace iotwin::iommu {

using namespace sc_core;

void iommu::invalidate_device_tlb(std::uint16_t sid, std::uint64_t addr, bool size, sc_time& delay) {
    (void)sid;
    (void)addr;
    (void)size;
    (void)delay;
}

} // namespace iotwin::iommu
