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
constexpr std::uint32_t IRTA = 0xb8;  // interrupt remapping table address (VT-d 3.x 11.4.12)
constexpr std::uint32_t IOTLB_BASE = 0x100;  // IVA_REG at +0, IOTLB_REG at +8
constexpr std::uint32_t FRCD_BASE = 0x200;   // 16 bytes per fault recording register
constexpr std::uint32_t SIZE = 0x1000;
} // namespace reg

namespace cap {
// CAP_REG.SLLPS, bits 37:34: bit 34 2 MiB, bit 35 1 GiB second-level pages (VT-d 3.x 11.4.2).
constexpr unsigned SLLPS_SHIFT = 34;
constexpr std::uint64_t SLLPS_2M = 1, SLLPS_1G = 2;
} // namespace cap
namespace gcmd {
constexpr std::uint32_t TE = 1u << 31, SRTP = 1u << 30;
constexpr std::uint32_t IRE = 1u << 25, SIRTP = 1u << 24, CFI = 1u << 23;  // VT-d 3.x 11.4.4
}
namespace gsts {
constexpr std::uint32_t TES = 1u << 31, RTPS = 1u << 30;
constexpr std::uint32_t IRES = 1u << 25, IRTPS = 1u << 24, CFIS = 1u << 23;  // VT-d 3.x 11.4.5
}
// CAP_REG fields this model reports (VT-d 3.x 11.4.2).
namespace cap {
constexpr unsigned ND_SHIFT = 0;  // bits 2:0: 2^(4 + 2*ND) domain IDs
constexpr std::uint64_t ND_MASK = 7;
// The number of domain IDs CAP.ND advertises: DIDs 0 .. count-1 are valid.
constexpr std::uint32_t domains(std::uint64_t cap_reg) { return 1u << (4 + 2 * ((cap_reg >> ND_SHIFT) & ND_MASK)); }
}
// ECAP_REG fields (VT-d 3.x 11.4.3).
namespace ecap {
constexpr std::uint64_t IR = 1ull << 3;   // interrupt remapping supported
constexpr std::uint64_t EIM = 1ull << 4;  // extended (x2APIC) interrupt mode: not supported
}
// IRTA_REG: table address bits 63:12, EIME bit 11, S bits 3:0 (2^(S+1) entries) (VT-d 3.x 11.4.12).
namespace irta {
constexpr std::uint64_t ADDR_MASK = ~std::uint64_t(0xfff), EIME = 1ull << 11, S_MASK = 0xf;
}
namespace ccmd {
constexpr std::uint64_t ICC = 1ull << 63;
constexpr unsigned CIRG_SHIFT = 61, CAIG_SHIFT = 59;  // 1 global, 2 domain, 3 device
constexpr unsigned FM_SHIFT = 32;  // function mask, bits 33:32 (VT-d 3.x 10.4.7; Linux 6.1 DMA_CCMD_FM)
}
namespace iotlb_cmd {
constexpr std::uint64_t IVT = 1ull << 63;
constexpr unsigned IIRG_SHIFT = 60, IAIG_SHIFT = 57, DID_SHIFT = 32;  // 1 global, 2 domain, 3 page
// IVA_REG: AM bits 5:0, IH (invalidation hint) bit 6 (VT-d 3.x 10.4.8.2).
constexpr std::uint64_t IVA_AM_MASK = 0x3f, IVA_IH = 1ull << 6;
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
// Reserved fields for a host address width `haw` (VT-d 3.x 9.1, 9.3, 9.8):
// a set bit of these in a present entry is fault 0xA, 0xB or 0xC.
constexpr std::uint64_t above(unsigned haw) { return haw >= 64 ? 0 : ~((std::uint64_t(1) << haw) - 1); }
// Root entry: bits 11:1 and the address bits at or above HAW (low); the whole high quadword.
constexpr std::uint64_t root_reserved_lo(unsigned haw) { return 0xffeull | above(haw); }
// Context entry low: bits 11:4 and address bits at or above HAW; high: bit 7 and bits 63:24.
constexpr std::uint64_t context_reserved_lo(unsigned haw) { return 0xff0ull | above(haw); }
constexpr std::uint64_t context_reserved_hi = 0xffffffffff000080ull;
// Second-level paging entry: bits 62 (TM, reserved without ECAP.DT) and 51:HAW are
// reserved in every entry (63 and 61:52 are ignored); bit 11 (SNP, reserved
// without ECAP.SC); in a non-leaf entry bit 7 of the top level (PS); in a
// superpage leaf the address bits below the page size (2 MiB: 20:12, 1 GiB: 29:12).
constexpr std::uint64_t paging_ignored = 0xbff0000000000000ull;
constexpr std::uint64_t paging_reserved(unsigned haw, unsigned page_shift) {
    return ((above(haw) & ~paging_ignored) | 0x800ull) | (page_shift > 12 ? ((std::uint64_t(1) << page_shift) - 1) & ~0xfffull : 0);
}
} // namespace entry

// Interrupt remapping table entry, 128 bits (VT-d 3.x 9.10, remapped format).
namespace irte {
constexpr std::uint64_t P = 1, FPD = 2, DM = 1ull << 2, RH = 1ull << 3, TM = 1ull << 4;
constexpr unsigned DLM_SHIFT = 5, VECTOR_SHIFT = 16, DST_SHIFT = 32;  // low quadword
constexpr std::uint64_t IM = 1ull << 15;                              // 1: posted format (not modelled)
// Low quadword reserved in remapped format with xAPIC (EIME clear): bits 14:12,
// 31:24, and destination bits 63:48 and 39:32 (xAPIC ID in DST bits 15:8).
constexpr std::uint64_t reserved_lo_xapic = 0xffff00ff'ff007000ull;
// High quadword: SID bits 15:0, SQ bits 17:16, SVT bits 19:18; 63:20 reserved.
constexpr unsigned SQ_SHIFT = 16, SVT_SHIFT = 18;
constexpr std::uint64_t reserved_hi = ~std::uint64_t(0xfffff);
enum class svt : unsigned { none = 0, requester_id = 1, bus_range = 2, reserved = 3 };
} // namespace irte

// Remappable-format MSI address (VT-d 3.x 5.1.5.2): 0xFEE in bits 31:20,
// handle[14:0] in 19:5, Interrupt Format bit 4 (1 = remappable), SHV bit 3,
// handle[15] bit 2. Data bits 15:0 are the subhandle when SHV is set; 31:16 reserved.
namespace msi {
constexpr std::uint64_t REMAPPABLE = 1ull << 4, SHV = 1ull << 3;
constexpr std::uint64_t address(std::uint16_t handle, bool shv) {
    return 0xfee00000ull | std::uint64_t(handle & 0x7fff) << 5 | REMAPPABLE | (shv ? SHV : 0) | std::uint64_t(handle >> 15) << 2;
}
constexpr std::uint16_t handle(std::uint64_t address) {
    return static_cast<std::uint16_t>(((address >> 5) & 0x7fff) | ((address >> 2) & 1) << 15);
}
} // namespace msi

// Fault reasons (VT-d 3.x appendix A, "Non-Recoverable Fault Reasons", legacy
// mode 0x1-0xE; interrupt remapping 0x20-0x26). The names follow the spec's
// conditions; Linux 6.1's texts for them are in fault_recorder.cpp.
enum class fault_reason : std::uint8_t {
    root_not_present = 0x1,          // P clear in the root entry
    context_not_present = 0x2,       // P clear in the context entry
    context_invalid = 0x3,           // invalid programming of a present context entry (TT, AW)
    address_beyond_mgaw = 0x4,       // input address above 2^MGAW - 1
    write_not_permitted = 0x5,       // W clear in a paging entry (also: entry not present, for a write)
    read_not_permitted = 0x6,        // R clear in a paging entry (also: entry not present, for a read)
    paging_entry_access = 0x7,       // reading a paging entry through the previous entry's address failed
    root_table_invalid = 0x8,        // reading the root entry through RTADDR failed
    context_table_invalid = 0x9,     // reading the context entry through the root entry's CTP failed
    reserved_root = 0xa,             // non-zero reserved field in a present root entry
    reserved_context = 0xb,          // non-zero reserved field in a present context entry (DID bits beyond CAP.ND too)
    reserved_paging = 0xc,           // non-zero reserved field in a paging entry with R or W set
    translation_type_blocked = 0xd,  // translation or translated request blocked by the context entry's TT
    interrupt_address = 0xe,         // the translated (output) address falls in the interrupt range 0xFEEx_xxxx
    ir_request_reserved = 0x20,      // reserved field set in the interrupt request (remappable-format MSI)
    ir_index_beyond_size = 0x21,     // interrupt_index beyond the table size IRTA.S gives
    ir_entry_not_present = 0x22,     // P clear in the IRTE
    ir_table_access = 0x23,          // reading the IRTE through IRTA failed
    ir_entry_reserved = 0x24,        // non-zero reserved field in a present IRTE
    ir_compatibility_blocked = 0x25, // compatibility-format interrupt while CFIS is clear (IRES set)
    ir_source_id_invalid = 0x26,     // the request's source ID fails the IRTE's SVT/SQ/SID check
    // Scalable mode (VT-d 3.x 7.1.3, table 26 and following; the codes and
    // texts of Linux 6.1's dma_remap_sm_fault_reasons[], dmar.c, from 0x30).
    sm_root_table_invalid = 0x30,        // RTADDR.TTM reserved value
    sm_ttm0_request_with_pasid = 0x31,   // legacy-mode root table, request with PASID
    sm_root_access = 0x38,
    sm_root_not_present = 0x39,
    sm_context_access = 0x40,
    sm_context_not_present = 0x41,
    sm_context_invalid = 0x43,
    sm_pasid_disabled = 0x45,            // request with PASID, context PASIDE clear
    sm_pasid_too_large = 0x46,           // PASID beyond the directory PDTS gives
    sm_pasid_dir_access = 0x50,
    sm_pasid_dir_not_present = 0x51,
    sm_pasid_entry_access = 0x58,
    sm_pasid_entry_not_present = 0x59,
    sm_pasid_entry_invalid = 0x5b,       // PGTT (or its fields) programmed to what the unit does not support
    sm_fl_entry_access = 0x70,
    sm_fl_not_present = 0x71,
    sm_fl_reserved = 0x72,
    sm_sl_entry_access = 0x78,
    sm_sl_not_present = 0x79,            // second-level entry with R = W = 0
    sm_sl_reserved = 0x7a,
    sm_not_canonical = 0x80,             // first-level input address not canonical
    sm_user_not_permitted = 0x81,        // U/S clear on a first-level entry, user-privilege request
    sm_beyond_max = 0x83,                // address beyond the address width (second level)
    sm_write_not_permitted = 0x85,
    sm_read_not_permitted = 0x86,
};
constexpr bool is_interrupt_remapping(fault_reason r) { return static_cast<unsigned>(r) >= 0x20 && static_cast<unsigned>(r) < 0x30; }
// What Linux 6.1 prints for a reason (drivers/iommu/intel/dmar.c,
// dma_remap_fault_reasons[] and irq_remap_fault_reasons[]); the spec's
// condition for 0xE, which Linux does not name.
const char* describe(fault_reason r);
// Linux 6.1's text for a reason code, nullptr where its tables have none.
const char* linux_reason_text(unsigned reason);
// Linux 6.1's text for a scalable-mode reason (0x30 and above): dma_remap_sm_fault_reasons[].
const char* linux_sm_reason_text(unsigned reason);

// Scalable-mode translation structures (VT-d 3.x 9.4-9.9), with the bit
// positions Linux 6.1 programs (drivers/iommu/intel/iommu.h, pasid.h).
namespace sm {
// RTADDR_REG bits 11:10 (TTM): 00 legacy, 01 scalable (Linux: DMA_RTADDR_SMT = 1 << 10).
constexpr unsigned TTM_SHIFT = 10;
constexpr std::uint64_t TTM_MASK = 3ull << TTM_SHIFT, TTM_LEGACY = 0, TTM_SCALABLE = 1;
// Scalable-mode root entry (9.2): LP bit 0 and LCTP bits 63:12 for devfn 0-127
// (low quadword), UP bit 64 and UCTP bits 127:76 for devfn 128-255 (high).
constexpr std::uint64_t ROOT_PRESENT = 1;
// Scalable-mode context entry (9.4): 256 bits, 128 per 4 KiB table (index devfn & 0x7f).
// Low: P 0, FPD 1, DTE 2, PASIDE 3, PRE 4, PDTS 11:9 (2^(PDTS+7) directory entries),
// PASIDDIRPTR 63:12. High: RID_PASID bits 19:0.
constexpr unsigned CONTEXT_SIZE = 32;
constexpr std::uint64_t CTX_P = 1, CTX_FPD = 2, CTX_DTE = 4, CTX_PASIDE = 8, CTX_PRE = 16;
constexpr unsigned CTX_PDTS_SHIFT = 9;
constexpr std::uint64_t CTX_RID_PASID_MASK = 0xfffff;
// PASID directory entry (9.5): P 0, FPD 1, SMPTBLPTR 63:12; PASID bits 19:6 index the
// directory, bits 5:0 the 64-entry PASID table (Linux PASID_PDE_SHIFT).
constexpr unsigned PASID_PDE_SHIFT = 6;
constexpr std::uint64_t PDE_P = 1, PDE_FPD = 2;
// PASID table entry (9.6): 512 bits. Qword 0: P 0, FPD 1, AW 4:2, PGTT 8:6,
// SLPTPTR 63:12. Qword 1: DID 15:0. Qword 2: SRE bit 0 (128), FLPM 3:2, FLPTPTR 63:12.
constexpr unsigned PASID_ENTRY_SIZE = 64;
constexpr std::uint64_t PE_P = 1, PE_FPD = 2, PE_SRE = 1;
constexpr unsigned PE_AW_SHIFT = 2, PE_PGTT_SHIFT = 6, PE_FLPM_SHIFT = 2;
constexpr std::uint64_t PE_DID_MASK = 0xffff;
// PGTT (Linux PASID_ENTRY_PGTT_*): first-level only, second-level only, nested, pass-through.
constexpr std::uint64_t PGTT_FIRST_LEVEL = 1, PGTT_SECOND_LEVEL = 2, PGTT_NESTED = 3, PGTT_PASS_THROUGH = 4;
// First-level paging entries (9.7, the x86 4-level format).
constexpr std::uint64_t FL_P = 1, FL_RW = 1u << 1, FL_US = 1u << 2, FL_A = 1u << 5, FL_D = 1u << 6, FL_PS = 1u << 7;
constexpr std::uint64_t FL_XD = 1ull << 63;
// The PASID Linux 6.1 puts in RID_PASID (PASID_RID2PASID): requests without PASID use it.
constexpr std::uint32_t RID_PASID = 0;
// One 4 KiB PASID directory (512 entries): PDTS 2, PASIDs 0..32767, as Linux 6.1's
// intel_pasid_alloc_table sizes it for a function without a PASID capability.
constexpr unsigned DIRECTORY_PDTS = 2;
} // namespace sm

namespace ecap_bit {
// ECAP_REG (VT-d 3.x 11.4.3; Linux iommu.h ecap_*).
constexpr unsigned PT = 6, PSS = 35, PASID = 40, SMTS = 43, SLTS = 46, FLTS = 47;
} // namespace ecap_bit
namespace cap_bit {
// CAP_REG (VT-d 3.x 11.4.2; Linux iommu.h cap_fl1gp_support, cap_fl5lp_support).
constexpr unsigned FL1GP = 56, FL5LP = 60;
} // namespace cap_bit

constexpr unsigned mgaw = 48;           // address width the 4-level table covers (the default width)
constexpr unsigned levels = 4;
// The second-level table for an address width (platform.iommu.address_width):
// 39 bits = 3 levels (SAGAW bit 1, context AW 1), 48 bits = 4 levels (SAGAW bit 2, AW 2).
constexpr unsigned levels_for(unsigned width) { return width == 39 ? 3 : 4; }
constexpr std::uint64_t aw_for(unsigned width) { return width == 39 ? entry::AW_39BIT : entry::AW_48BIT; }
constexpr std::uint64_t page_size = 4096;

} // namespace iotwin::vtd
