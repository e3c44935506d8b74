// The driver's invalidations of the IOMMU's caches.
#include "models/hyp/vtd_driver.h"

#include "models/iommu/vtd.h"

namespace iotwin::hyp {

using namespace sc_core;

void vtd_driver::invalidate_page(std::uint16_t did, std::uint64_t iova, sc_time& d) {
    write_reg64(vtd::reg::IOTLB_BASE, iova & ~std::uint64_t(0xfff), d);  // IVA, AM = 0
    write_reg64(vtd::reg::IOTLB_BASE + 8,
                vtd::iotlb_cmd::IVT | 3ull << vtd::iotlb_cmd::IIRG_SHIFT | std::uint64_t(did) << vtd::iotlb_cmd::DID_SHIFT, d);
    ++invalidations_;
}

} // namespace iotwin::hyp
