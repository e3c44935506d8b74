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

const char* describe(fault_reason r) {
    if (const char* linux_text = linux_reason_text(static_cast<unsigned>(r))) return linux_text;
    // Linux 6.1 has no text for 0xE: the condition of VT-d 3.x appendix A.
    if (r == fault_reason::interrupt_address) return "Output address in the interrupt address range";
    return "Unknown";
}

} // namespace iotwin::vtd
