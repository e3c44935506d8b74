// The host's VT-d fault handler: what Linux 6.1's dmar_fault()
// (drivers/iommu/intel/dmar.c) does when the IOMMU's fault event interrupt
// arrives. It reads FSTS; with PPF set it walks the fault recording registers
// from FSTS.FRI (the register offset from CAP.FRO, their count from CAP.NFR),
// reads each record whose F bit is set (high dword first, then the source ID
// dword and the faulting address), logs it as dmar_fault_do_one() does,
// clears F by writing it back, and moves on, wrapping at the last register;
// it stops at the first record with F clear and then clears PFO and PPF in
// FSTS. So the log drains and later faults interrupt again.
//
// Linux prints through a ratelimit (DEFINE_RATELIMIT_STATE(rs,
// DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST): 10 messages in 5 s,
// shared by the "DRHD: handling fault status reg" line and each record); a
// ratelimited record is cleared without being read or logged. The model
// applies it when platform.iommu.fault_log.ratelimit is set.
#include "models/hyp/hypervisor.h"

#include "models/iommu/vtd.h"

namespace iotwin::hyp {

using namespace sc_core;

namespace {
// DEFAULT_RATELIMIT_INTERVAL (5 * HZ) and DEFAULT_RATELIMIT_BURST (10), include/linux/ratelimit_types.h.
const sc_time ratelimit_interval(5, SC_SEC);
constexpr unsigned ratelimit_burst = 10;
constexpr std::uint32_t frcd_f = 1u << 31;  // F, bit 127 of a recording register: bit 31 of its last dword
} // namespace

std::uint32_t hypervisor::iommu_read32(std::uint32_t off, sc_time& d) {
    std::uint32_t v = 0;
    access(tlm::TLM_READ_COMMAND, p_.iommu_regs + off, &v, 4, d);
    return v;
}

std::uint64_t hypervisor::iommu_read64(std::uint32_t off, sc_time& d) {
    std::uint64_t v = 0;
    access(tlm::TLM_READ_COMMAND, p_.iommu_regs + off, &v, 8, d);
    return v;
}

void hypervisor::iommu_write32(std::uint32_t off, std::uint32_t v, sc_time& d) {
    access(tlm::TLM_WRITE_COMMAND, p_.iommu_regs + off, &v, 4, d);
}

void hypervisor::iommu_write64(std::uint32_t off, std::uint64_t v, sc_time& d) {
    access(tlm::TLM_WRITE_COMMAND, p_.iommu_regs + off, &v, 8, d);
}

void hypervisor::fault_interrupt(const sc_time& when) {
    // The handler runs on the hypervisor's CPU when the message arrives, not
    // inside the request that faulted.
    if (!sc_is_running()) {
        sc_time d = SC_ZERO_TIME;
        dmar_fault(d);
        return;
    }
    sc_spawn_options opts;
    sc_spawn(
        [this, when] {
            if (when > sc_time_stamp()) wait(when - sc_time_stamp());
            sc_time d = SC_ZERO_TIME;
            dmar_fault(d);
            wait(d);
        },
        sc_gen_unique_name("dmar_fault"), &opts);
}

bool hypervisor::printk_ratelimit() {
    if (!p_.fault_log_ratelimit) return true;
    // ___ratelimit (lib/ratelimit.c): a window opens at the first call; within it
    // the first `burst` calls pass.
    const sc_time now = sc_time_stamp();
    if (!ratelimit_started_ || now >= ratelimit_begin_ + ratelimit_interval) {
        ratelimit_started_ = true;
        ratelimit_begin_ = now;
        ratelimit_printed_ = 0;
    }
    if (ratelimit_printed_ < ratelimit_burst) {
        ++ratelimit_printed_;
        return true;
    }
    return false;
}

void hypervisor::dmar_fault(sc_time& d) {
    ++dmar_fault_runs_;
    const std::uint32_t fsts = iommu_read32(vtd::reg::FSTS, d);
    if (fsts && printk_ratelimit()) ++dmar_status_lines_;  // "DRHD: handling fault status reg %x"
    if (!(fsts & vtd::fsts::PPF)) return;
    const std::uint64_t cap = iommu_read64(vtd::reg::CAP, d);
    // cap_fault_reg_offset: FRO (bits 33:24) * 16; cap_num_fault_regs: NFR (bits 47:40) + 1.
    const auto fro = static_cast<std::uint32_t>(((cap >> 24) & 0x3ff) * 16);
    const unsigned nfr = static_cast<unsigned>((cap >> 40) & 0xff) + 1;
    unsigned index = (fsts >> vtd::fsts::FRI_SHIFT) & 0xff;
    if (index >= nfr) index = 0;
    // Linux loops until a record with F clear; every pass clears one, so at
    // most NFR records are pending.
    for (unsigned n = 0; n < nfr; ++n) {
        const bool ratelimited = !printk_ratelimit();
        const std::uint32_t reg = fro + index * 16;
        const std::uint32_t high = iommu_read32(reg + 12, d);
        if (!(high & frcd_f)) break;
        if (!ratelimited) {
            const std::uint32_t sid_dword = iommu_read32(reg + 8, d);
            const std::uint64_t low = iommu_read64(reg, d);
            dmar_log_.push_back(iommu::decode_record(low, std::uint64_t(high) << 32 | sid_dword));
        } else {
            ++dmar_ratelimited_;
        }
        iommu_write32(reg + 12, frcd_f, d);  // clear the fault
        index = (index + 1) % nfr;
    }
    // writel(DMA_FSTS_PFO | DMA_FSTS_PPF | DMA_FSTS_PRO): PFO is write-1-to-clear
    // (PPF is read-only and PRO is not modelled).
    iommu_write32(vtd::reg::FSTS, vtd::fsts::PFO | vtd::fsts::PPF, d);
}

} // namespace iotwin::hyp
