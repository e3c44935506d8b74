// The queued invalidation interface of VT-d: its registers and the layout of
// its 128-bit descriptors, as both the IOMMU model and the hypervisor's driver
// use them.
// Sources: Intel VT-d Architecture Specification rev. 3.x, 6.5.2 (queued
// invalidation, descriptor formats 6.5.2.1-6.5.2.9) and 10.4.22-10.4.26 (IQH,
// IQT, IQA, ICS, IECTL/IEDATA/IEADDR); the offsets and bit positions as
// Linux 6.1 include/linux/intel-iommu.h (DMAR_IQH_REG..., QI_* macros) and
// QEMU hw/i386/intel_iommu_internal.h (VTD_INV_DESC_* reserved masks) define them.
#pragma once
#include <cstdint>

namespace iotwin::vtd {

namespace reg {
constexpr std::uint32_t IQH = 0x80, IQT = 0x88, IQA = 0x90, ICS = 0x9c;
constexpr std::uint32_t IECTL = 0xa0, IEDATA = 0xa4, IEADDR = 0xa8, IEUADDR = 0xac;
} // namespace reg

namespace qi {
// GCMD.QIE / GSTS.QIES (bit 26), ECAP.QI (bit 1), FSTS.IQE (bit 4), ICS.IWC
// (bit 0), IECTL.IM (bit 31) and IP (bit 30).
constexpr std::uint32_t GCMD_QIE = 1u << 26, GSTS_QIES = 1u << 26;
constexpr std::uint64_t ECAP_QI = 1ull << 1;
constexpr std::uint32_t FSTS_IQE = 1u << 4;
constexpr std::uint32_t ICS_IWC = 1u << 0;
constexpr std::uint32_t IECTL_IM = 1u << 31, IECTL_IP = 1u << 30;
// IQA: base bits 63:12, DW bit 11 (256-bit descriptors), QS bits 2:0
// (2^QS 4 KiB pages). IQH/IQT: the descriptor index in bits 18:4 for
// 128-bit descriptors.
constexpr std::uint64_t IQA_DW = 1ull << 11, IQA_QS_MASK = 0x7;
constexpr unsigned INDEX_SHIFT = 4;
constexpr std::uint64_t INDEX_MASK = 0x7fff0;
constexpr unsigned DESCRIPTOR_BYTES = 16;

// Descriptor types (bits 3:0 of the low quadword); 0x6 and 0x7 exist in scalable mode only.
constexpr unsigned TYPE_CC = 0x1, TYPE_IOTLB = 0x2, TYPE_DEVTLB = 0x3, TYPE_IEC = 0x4, TYPE_WAIT = 0x5;
constexpr unsigned TYPE_PIOTLB = 0x6, TYPE_PC = 0x7;

// Context-cache invalidate: G bits 5:4, DID 31:16, SID 47:32, FM 49:48.
constexpr std::uint64_t CC_RSVD_LO = 0xfffc00000000ffc0ull;
// IOTLB invalidate: G bits 5:4, DW bit 6, DR bit 7, DID 31:16 (low);
// AM 5:0, IH bit 6, address 63:12 (high).
constexpr std::uint64_t IOTLB_RSVD_LO = 0xffffffff0000ff00ull, IOTLB_RSVD_HI = 0xf80ull;
constexpr std::uint64_t IOTLB_DW = 1ull << 6, IOTLB_DR = 1ull << 7, IOTLB_IH = 1ull << 6;
// Device-TLB invalidate: SID 47:32 (low); S bit 0, address 63:12 (high).
constexpr std::uint64_t DEVTLB_RSVD_LO = 0xffff0000ffe0fff8ull, DEVTLB_RSVD_HI = 0xffeull;
// Interrupt entry cache invalidate: G bit 4 (1 = index-selective), IM 31:27, IIDX 47:32.
constexpr std::uint64_t IEC_SELECTIVE = 1ull << 4, IEC_RSVD_LO = 0xffff000007ffffe0ull;
// Invalidation wait: IF bit 4, SW bit 5, FN bit 6, status data 63:32 (low);
// status address 63:2 (high).
constexpr std::uint64_t WAIT_IF = 1ull << 4, WAIT_SW = 1ull << 5, WAIT_FN = 1ull << 6;
constexpr std::uint64_t WAIT_RSVD_LO = 0xffffff80ull, WAIT_RSVD_HI = 0x3ull;
constexpr unsigned WAIT_DATA_SHIFT = 32;
// PASID-based-IOTLB invalidate (VT-d 3.x 6.5.2.4): G bits 5:4 (2 every
// translation of the PASID in the domain, 3 page-selective within it), DID
// 31:16, PASID 51:32 (low); AM 5:0, IH bit 6, address 63:12 (high).
// PASID-cache invalidate (6.5.2.2): G bits 5:4 (0 domain-selective, 1
// PASID-selective, 3 global), DID 31:16, PASID 51:32 (low); high reserved.
constexpr std::uint64_t PASID_RSVD_LO = 0xfff000000000ffc0ull, PIOTLB_RSVD_HI = 0xf80ull;
constexpr unsigned PASID_SHIFT = 32;
constexpr std::uint64_t PASID_FIELD = 0xfffff;
} // namespace qi

} // namespace iotwin::vtd
