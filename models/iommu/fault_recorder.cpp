#include "models/iommu/fault_recorder.h"

#include <cstdio>

namespace iotwin::iommu {


const char* linux_fault_reason(unsigned reason) {
    if (reason >= 0x30) return vtd::linux_sm_reason_text(reason);
    const char* text = vtd::linux_reason_text(reason);
    return text ? text : "Unknown";
}

std::string dmar_log_line(const fault_record& f) {
    const unsigned reason = static_cast<unsigned>(f.reason);
    const char* text = linux_fault_reason(reason);
    char buf[320];
    // dmar_fault_do_one: an INTR_REMAP type prints the index (address >> 48).
    if (reason >= 0x20 && reason < 0x30 && vtd::linux_reason_text(reason)) {
        std::snprintf(buf, sizeof buf, "DMAR: [INTR-REMAP] Request device [%02x:%02x.%d] fault index 0x%llx [fault reason 0x%02x] %s",
                      f.sid >> 8, (f.sid >> 3) & 0x1f, f.sid & 7, static_cast<unsigned long long>(f.address >> 48), reason, text);
    } else {
        char pasid[32] = "NO_PASID";
        if (f.pasid) std::snprintf(pasid, sizeof pasid, "PASID 0x%x", static_cast<unsigned>(*f.pasid));
        std::snprintf(buf, sizeof buf, "DMAR: [%s %s] Request device [%02x:%02x.%d] fault addr 0x%llx [fault reason 0x%02x] %s",
                      f.read ? "DMA Read" : "DMA Write", pasid, f.sid >> 8, (f.sid >> 3) & 0x1f, f.sid & 7,
                      static_cast<unsigned long long>(f.address & ~std::uint64_t(0xfff)), reason, text);
    }
    return buf;
}

fault_record decode_record(std::uint64_t low, std::uint64_t high) {
    // VT-d 3.x 11.4.14: FI bits 63:12 (low); SID 15:0, PV 31, FR 39:32, PASID 59:40, T 62, F 63 (high).
    fault_record f;
    f.address = low & ~std::uint64_t(0xfff);
    f.sid = static_cast<std::uint16_t>(high & 0xffff);
    f.reason = static_cast<vtd::fault_reason>((high >> 32) & 0xff);
    f.read = (high >> 62) & 1;
    // PV bit 95 (31 of the high quadword) and PASID bits 123:104 (59:40).
    if ((high >> 31) & 1) f.pasid = static_cast<std::uint32_t>((high >> 40) & 0xfffff);
    return f;
}

bool fault_recorder::record(const fault_record& f) {
    if (overflow_) return false;  // no recording while PFO is set (VT-d 3.x 7.2.1)
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
