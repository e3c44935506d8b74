#include "models/iommu/fault_recorder.h"

#include <cstdio>

namespace iotwin::iommu {

namespace {
// dma_remap_fault_reasons[] of Linux 6.1's dmar.c, indexed by the reason (0x0-0xd).
const char* const linux_reasons[] = {
    "Software", "Present bit in root entry is clear", "Present bit in context entry is clear", "Invalid context entry",
    "Access beyond MGAW", "PTE Write access is not set", "PTE Read access is not set", "Next page table ptr is invalid",
    "Root table address invalid", "Context table ptr is invalid", "non-zero reserved fields in RTP",
    "non-zero reserved fields in CTP", "non-zero reserved fields in PTE", "PCE for translation request specifies blocking",
};
// dma_remap_sm_fault_reasons[] of Linux 6.1's dmar.c (from 0x30): the
// scalable-mode reasons this model reports.
const char* sm_reason_text(unsigned reason) {
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
} // namespace

std::string dmar_log_line(const fault_record& f) {
    const unsigned reason = static_cast<unsigned>(f.reason);
    const char* text = reason >= 0x30                                          ? sm_reason_text(reason)
                       : reason < sizeof linux_reasons / sizeof *linux_reasons ? linux_reasons[reason]
                                                                               : "Unknown";
    char pasid[32] = "NO_PASID";
    if (f.pasid) std::snprintf(pasid, sizeof pasid, "PASID 0x%x", static_cast<unsigned>(*f.pasid));
    char buf[256];
    std::snprintf(buf, sizeof buf, "DMAR: [%s %s] Request device [%02x:%02x.%d] fault addr 0x%llx [fault reason 0x%02x] %s",
                  f.read ? "DMA Read" : "DMA Write", pasid, f.sid >> 8, (f.sid >> 3) & 0x1f, f.sid & 7,
                  static_cast<unsigned long long>(f.address & ~std::uint64_t(0xfff)), reason, text);
    return buf;
}

bool fault_recorder::record(const fault_record& f) {
    slot& s = regs_[index_];
    if (s.valid) {
        overflow_ = true;
        return false;
    }
    if (!pending()) fri_ = index_;  // this fault sets PPF
    s = {true, f};
    index_ = (index_ + 1) % regs_.size();
    return true;
}

std::uint64_t fault_recorder::low(unsigned i) const {
    return regs_[i].valid ? regs_[i].f.address & ~std::uint64_t(0xfff) : 0;
}

std::uint64_t fault_recorder::high(unsigned i) const {
    const slot& s = regs_[i];
    if (!s.valid) return 0;
    // PV (bit 95) and the PASID value (bits 123:104) for a request with PASID
    // (VT-d 3.x 11.4.14; Linux dma_frcd_pasid_present / dma_frcd_pasid_value).
    const std::uint64_t pasid = s.f.pasid ? (std::uint64_t(1) << 31 | std::uint64_t(*s.f.pasid & 0xfffff) << 40) : 0;
    return std::uint64_t(s.f.sid) | pasid | std::uint64_t(static_cast<std::uint8_t>(s.f.reason)) << 32 |
           std::uint64_t(s.f.read) << 62 | std::uint64_t(1) << 63;
}

bool fault_recorder::pending() const {
    for (const slot& s : regs_)
        if (s.valid) return true;
    return false;
}

std::uint32_t fault_recorder::status() const {
    return (overflow_ ? vtd::fsts::PFO : 0u) | (pending() ? vtd::fsts::PPF : 0u) | fri_ << vtd::fsts::FRI_SHIFT;
}

} // namespace iotwin::iommu
