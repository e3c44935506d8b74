#include "models/iommu/fault_recorder.h"

namespace iotwin::iommu {

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
