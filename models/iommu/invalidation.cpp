// Invalidation of the context cache and the IOTLB through the registers.
#include "models/iommu/iommu.h"


namespace iotwin::iommu {

using namespace sc_core;

void iommu::on_ccmd(std::uint64_t value) {
    if (!(value & vtd::ccmd::ICC)) return;
    const auto g = static_cast<vtd::invalidation_granularity>((value >> vtd::ccmd::CIRG_SHIFT) & 3);
    const auto did = static_cast<std::uint16_t>(value & 0xffff);
    const auto sid = static_cast<std::uint16_t>((value >> 16) & 0xffff);
    drop_contexts(g, did, sid, static_cast<unsigned>((value >> vtd::ccmd::FM_SHIFT) & 3));
    ++ctx_invalidations_;
    // Completed at once: ICC reads back 0, CAIG reports the granularity performed.
    bank_.set(vtd::reg::CCMD, 8, (value & ~vtd::ccmd::ICC & ~(3ull << vtd::ccmd::CAIG_SHIFT)) |
                                     (std::uint64_t(g) << vtd::ccmd::CAIG_SHIFT));
}

void iommu::on_iotlb(std::uint64_t value) {
    if (!(value & vtd::iotlb_cmd::IVT)) return;
    const auto g = static_cast<vtd::invalidation_granularity>((value >> vtd::iotlb_cmd::IIRG_SHIFT) & 3);
    const auto did = static_cast<std::uint16_t>((value >> vtd::iotlb_cmd::DID_SHIFT) & 0xffff);
    const std::uint64_t iva = bank_.get(vtd::reg::IOTLB_BASE, 8);
    drop_translations(g, did, iva & ~std::uint64_t(0xfff), static_cast<unsigned>(iva & vtd::iotlb_cmd::IVA_AM_MASK),
                      (iva & vtd::iotlb_cmd::IVA_IH) != 0);
    ++iotlb_invalidations_;
    bank_.set(vtd::reg::IOTLB_BASE + 8, 8, (value & ~vtd::iotlb_cmd::IVT & ~(3ull << vtd::iotlb_cmd::IAIG_SHIFT)) |
                                               (std::uint64_t(g) << vtd::iotlb_cmd::IAIG_SHIFT));
}

} // namespace iotwin::iommu
