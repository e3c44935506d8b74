#include "models/iommu/vtd.h"

namespace iotwin::vtd {

namespace {
// dma_remap_fault_reasons[] of Linux 6.1's drivers/iommu/intel/dmar.c, indexed
// by the reason (0x0-0xd): Linux names no reason 0xe.
const char* const linux_reasons[] = {
    "Software", "Present bit in root entry is clear", "Present bit in context entry is clear", "Invalid context entry",
    "Access beyond MGAW", "PTE Write access is not set", "PTE Read access is not set", "Next page table ptr is invalid",
    "Root table address invalid", "Context table ptr is invalid", "non-zero reserved fields in RTP",
    "non-zero reserved fields in CTP", "non-zero reserved fields in PTE", "PCE for translation request specifies blocking",
};
// irq_remap_fault_reasons[] of the same file, for reasons 0x20-0x26.
const char* const linux_ir_reasons[] = {
    "Detected reserved fields in the decoded interrupt-remapped request",
    "Interrupt index exceeded the interrupt-remapping table size",
    "Present field in the IRTE entry is clear",
    "Error accessing interrupt-remapping table pointed by IRTA_REG",
    "Detected reserved fields in the IRTE entry",
    "Blocked a compatibility format interrupt request",
    "Blocked an interrupt request due to source-id verification failure",
};
constexpr unsigned count_of_reasons = sizeof linux_reasons / sizeof *linux_reasons;
constexpr unsigned count_of_ir_reasons = sizeof linux_ir_reasons / sizeof *linux_ir_reasons;
} // namespace

const char* linux_reason_text(unsigned reason) {
    if (reason >= 0x20 && reason - 0x20 < count_of_ir_reasons) return linux_ir_reasons[reason - 0x20];
    if (reason < count_of_reasons) return linux_reasons[reason];
    return nullptr;
}

// dma_remap_sm_fault_reasons[] of Linux 6.1's dmar.c (from 0x30): the
// scalable-mode reasons this model reports.
const char* linux_sm_reason_text(unsigned reason) {
    switch (reason) {
    case 0x30: return "SM: Invalid Root Table Address";
    case 0x31: return "SM: TTM 0 for request with PASID";
    case 0x38: return "SM: Error attempting to access Root Entry";
    case 0x39: return "SM: Present bit in Root Entry is clear";
    case 0x40: return "SM: Error attempting to access Context Entry";
    case 0x41: return "SM: Present bit in Context Entry is clear";
    case 0x43: return "SM: Invalid Context Entry";
    case 0x45: return "SM: PASID Enable field in Context Entry is clear";
    case 0x46: return "SM: PASID is larger than the max in Context Entry";
    case 0x50: return "SM: Error attempting to access the PASID Directory Entry";
    case 0x51: return "SM: Present bit in Directory Entry is clear";
    case 0x58: return "SM: Error attempting to access PASID Table Entry";
    case 0x59: return "SM: Present bit in PASID Table Entry is clear";
    case 0x5b: return "SM: Invalid Scalable-Mode PASID Table Entry";
    case 0x70: return "SM: Error attempting to access first-level paging entry";
    case 0x71: return "SM: Present bit in first-level paging entry is clear";
    case 0x72: return "SM: Non-zero reserved field set in first-level paging entry";
    case 0x78: return "SM: Error attempting to access second-level paging entry";
    case 0x79: return "SM: Read/Write permission error in second-level paging entry";
    case 0x7a: return "SM: Non-zero reserved field set in second-level paging entry";
    case 0x80: return "SM: Address in first-level translation is not canonical";
    case 0x81: return "SM: U/S set 0 for first-level translation with user privilege";
    case 0x83: return "SM: Address beyond the DMA hardware max";
    case 0x85: return "SM: No write permission for Write/AtomicOp request";
    case 0x86: return "SM: No read permission for Read/AtomicOp request";
    }
    return "Unknown";
}

const char* describe(fault_reason r) {
    if (static_cast<unsigned>(r) >= 0x30) return linux_sm_reason_text(static_cast<unsigned>(r));
    if (const char* linux_text = linux_reason_text(static_cast<unsigned>(r))) return linux_text;
    // Linux 6.1 has no text for 0xE: the condition of VT-d 3.x appendix A.
    if (r == fault_reason::interrupt_address) return "Output address in the interrupt address range";
    return "Unknown";
}

} // namespace iotwin::vtd
