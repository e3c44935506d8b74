// Fault reporting: the primary fault log and the fault event interrupt.
#include "models/iommu/iommu.h"

#include <cstring>

#include "models/common/payload.h"

namespace iotwin::iommu {

using namespace sc_core;
using vtd::fault_reason;

void iommu::report_fault(const fault_record& f, bool fpd, sc_time& delay) {
    fault_event ev{f, sc_time_stamp() + delay, false};
    // A fault event is generated only when PPF goes from clear to set (VT-d 7.3.1).
    const bool was_pending = recorder_.pending();
    if (!fpd) ev.logged = recorder_.record(f);
    faults_.push_back(ev);
    const auto fectl = static_cast<std::uint32_t>(bank_.get(vtd::reg::FECTL, 4));
    if (!ev.logged || was_pending || (fectl & vtd::fectl::IP)) return;
    if (fectl & vtd::fectl::IM) {
        bank_.set(vtd::reg::FECTL, 4, fectl | vtd::fectl::IP);  // pending until unmasked
        return;
    }
    // Fault event interrupt: the message software programmed in FEDATA/FEADDR.
    const std::uint64_t addr = bank_.get(vtd::reg::FEADDR, 4) | bank_.get(vtd::reg::FEUADDR, 4) << 32;
    std::uint32_t data = static_cast<std::uint32_t>(bank_.get(vtd::reg::FEDATA, 4));
    tlm::tlm_generic_payload gp;
    prepare(gp, tlm::TLM_WRITE_COMMAND, addr, &data, 4);
    mem_out->b_transport(gp, delay);
    ++fault_interrupts_;
}

bool iommu::fault_reg_read(std::uint32_t off, unsigned len, std::uint64_t& v) const {
    using namespace vtd::reg;
    if (off >= FRCD_BASE && off < FRCD_BASE + 16 * recorder_.size()) {
        const unsigned i = (off - FRCD_BASE) / 16;
        const std::uint64_t q = (off - FRCD_BASE) % 16 < 8 ? recorder_.low(i) : recorder_.high(i);
        v = len == 8 ? q : (off % 8 ? q >> 32 : q & 0xffffffffu);
        return true;
    }
    if (off == FSTS && len == 4) {
        v = recorder_.status();
        return true;
    }
    return false;
}

bool iommu::fault_reg_write(std::uint32_t off, unsigned len, std::uint64_t v) {
    using namespace vtd::reg;
    if (off >= FRCD_BASE && off < FRCD_BASE + 16 * recorder_.size()) {
        // F (bit 127) is write-1-to-clear; everything else in a record is read-only.
        const unsigned i = (off - FRCD_BASE) / 16, q = (off - FRCD_BASE) % 16;
        const bool f_written = (q == 8 && len == 8 && (v >> 63)) || (q == 12 && len == 4 && (v >> 31));
        if (f_written) recorder_.clear(i);
        return true;
    }
    if (off == FSTS && len == 4) {
        if (v & vtd::fsts::PFO) recorder_.clear_overflow();
        return true;
    }
    if (off == FECTL && len == 4) {
        const auto before = static_cast<std::uint32_t>(bank_.get(FECTL, 4));
        bank_.write(off, len, v);
        const auto after = static_cast<std::uint32_t>(bank_.get(FECTL, 4));
        // Unmasking with a pending event clears IP (the interrupt is sent by the
        // next fault; VT-d sends the pending one, which this model counts only).
        if ((before & vtd::fectl::IM) && !(after & vtd::fectl::IM)) bank_.set(FECTL, 4, after & ~vtd::fectl::IP);
        return true;
    }
    return false;
}

} // namespace iotwin::iommu
