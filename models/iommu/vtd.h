// The Intel VT-d programming interface the IOMMU model implements and the
// hypervisor's driver programs: register offsets, the root/context/second-level
// paging entry formats and the fault reason codes.
// Source: Intel Virtualization Technology for Directed I/O, Architecture
// Specification rev. 3.x, chapters 9 (entry formats), 10.4 (registers) and 7.1.3
// (fault reasons). Only legacy mode (root and context entries, second-level
// translation with 4-level 48-bit tables) is modelled.
#pragma once
#include <cstdint>

namespace iotwin::vtd {

namespace reg {
constexpr std::uint32_t VER = 0x00, CAP = 0x08, ECAP = 0x10, GCMD = 0x18, GSTS = 0x1c, RTADDR = 0x20;
constexpr std::uint32_t CCMD = 0x28, FSTS = 0x34, FECTL = 0x38, FEDATA = 0x3c, FEADDR = 0x40, FEUADDR = 0x44;
// IOTLB registers at IRO (ECAP bits 17:8) * 16; fault recording at FRO (CAP bits 33:24) * 16.
constexpr std::uint32_t IOTLB_BASE = 0x100;  // IVA_REG at +0, IOTLB_REG at +8
constexpr std::uint32_t FRCD_BASE = 0x200;   // 16 bytes per fault recording register
constexpr std::uint32_t SIZE = 0x1000;
} // namespace reg

namespace gcmd {
constexpr std::uint32_t TE = 1u << 31, SRTP = 1u << 30;
}
namespace gsts {
constexpr std::uint32_t TES = 1u << 31, RTPS = 1u << 30;
}
namespace ccmd {
constexpr std::uint64_t ICC = 1ull << 63;
constexpr unsigned CIRG_SHIFT = 61, CAIG_SHIFT = 59;  // 1 global, 2 domain, 3 device
}
namespace iotlb_cmd {
constexpr std::uint64_t IVT = 1ull << 63;
constexpr unsigned IIRG_SHIFT = 60, IAIG_SHIFT = 57, DID_SHIFT = 32;  // 1 global, 2 domain, 3 page
}
namespace fsts {
constexpr std::uint32_t PFO = 1u << 0, PPF = 1u << 1;
constexpr unsigned FRI_SHIFT = 8;
}
namespace fectl {
constexpr std::uint32_t IM = 1u << 31, IP = 1u << 30;
}

enum class invalidation_granularity : unsigned { global = 1, domain = 2, device_or_page = 3 };

// Root entry: P bit 0, context-table pointer bits 63:12 (low quadword).
// Context entry: P bit 0, FPD bit 1, TT bits 3:2, SLPTPTR bits 63:12 (low);
//                AW bits 2:0, DID bits 23:8 (high).
// Second-level paging entry: R bit 0, W bit 1, PS bit 7, address bits 51:12.
namespace entry {
constexpr std::uint64_t P = 1, FPD = 2, R = 1, W = 2, PS = 1u << 7;
constexpr std::uint64_t ADDR_MASK = 0x000ffffffffff000ull;
constexpr unsigned TT_SHIFT = 2;
// TT (VT-d 3.x 9.3): 00b untranslated requests only, 01b untranslated,
// translation and translated requests (Device-TLBs), 10b pass-through.
constexpr std::uint64_t TT_UNTRANSLATED = 0, TT_DEVICE_TLB = 1, TT_PASS_THROUGH = 2;
constexpr std::uint64_t AW_39BIT = 1, AW_48BIT = 2;  // 3-level, 4-level table
} // namespace entry

// Fault reasons (VT-d 3.x appendix A, non-recoverable faults).
enum class fault_reason : std::uint8_t {
    root_not_present = 0x1,
    context_not_present = 0x2,
    context_invalid = 0x3,
    address_beyond_mgaw = 0x4,
    write_not_permitted = 0x5,
    read_not_permitted = 0x6,
    paging_entry_access = 0x7,
    root_table_invalid = 0x8,
    reserved_root = 0xa,
    reserved_context = 0xb,
    reserved_paging = 0xc,
    translation_type_blocked = 0xd,
};
const char* describe(fault_reason r);

constexpr unsigned mgaw = 48;           // address width the 4-level table covers (the default width)
constexpr unsigned levels = 4;
// The second-level table for an address width (platform.iommu.address_width):
// 39 bits = 3 levels (SAGAW bit 1, context AW 1), 48 bits = 4 levels (SAGAW bit 2, AW 2).
constexpr unsigned levels_for(unsigned width) { return width == 39 ? 3 : 4; }
constexpr std::uint64_t aw_for(unsigned width) { return width == 39 ? entry::AW_39BIT : entry::AW_48BIT; }
constexpr std::uint64_t page_size = 4096;

} // namespace iotwin::vtd
