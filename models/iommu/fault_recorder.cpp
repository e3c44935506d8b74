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
} // namespace

std::string dmar_log_line(const fault_record& f) {
    const unsigned reason = static_cast<unsigned>(f.reason);
    const char* text = reason < sizeof linux_reasons / sizeof *linux_reasons ? linux_reasons[reason] : "Unknown";
    char buf[256];
    std::snprintf(buf, sizeof buf, "DMAR: [%s NO_PASID] Request device [%02x:%02x.%d] fault addr 0x%llx [fault reason 0x%02x] %s",
                  f.read ? "DMA Read" : "DMA Write", f.sid >> 8, (f.sid >> 3) & 0x1f, f.sid & 7,
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
    return std::uint64_t(s.f.sid) | std::uint64_t(static_cast<std::uint8_t>(s.f.reason)) << 32 |
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
