// Fault reporting: the primary fault log and the fault event interrupt
// (VT-d 3.x 7.2.1 primary fault logging, 7.3 fault event interrupts, 11.4.6-11.4.9
// FSTS/FECTL/FEDATA/FEADDR, 11.4.14 fault recording registers).
#include "models/iommu/iommu.h"

#include <cstring>

#include "models/common/payload.h"

namespace iotwin::iommu {

using namespace sc_core;
using vtd::fault_reason;

void iommu::report_fault(const fault_record& f, bool fpd, sc_time& delay) {
    fault_event ev{f, sc_time_stamp() + delay, false};
    const std::uint32_t before = recorder_.status();
    if (!fpd) ev.logged = recorder_.record(f);
    faults_.push_back(ev);
    const std::uint32_t after = recorder_.status();
    // A fault event is generated when PPF or PFO goes from clear to set
    // (VT-d 3.x 7.3.1): not for a fault recorded while earlier ones are still pending.
    const bool ppf_set = !(before & vtd::fsts::PPF) && (after & vtd::fsts::PPF);
    const bool pfo_set = !(before & vtd::fsts::PFO) && (after & vtd::fsts::PFO);
    if (ppf_set || pfo_set) fault_event_raised(delay);
}

void iommu::fault_event_raised(sc_time& delay) {
    const auto fectl = static_cast<std::uint32_t>(bank_.get(vtd::reg::FECTL, 4));
    // IP already set: an interrupt is pending (masked) and this event adds nothing.
    if (fectl & vtd::fectl::IP) return;
    if (fectl & vtd::fectl::IM) {
        bank_.set(vtd::reg::FECTL, 4, fectl | vtd::fectl::IP);  // pending until unmasked or serviced
        return;
    }
    // Unmasked: IP is set, the message goes out and IP is cleared again.
    send_fault_message(delay);
}

void iommu::send_fault_message(sc_time& delay) {
    // Fault event interrupt: the message software programmed in FEDATA/FEADDR/FEUADDR.
    const std::uint64_t addr = bank_.get(vtd::reg::FEADDR, 4) | bank_.get(vtd::reg::FEUADDR, 4) << 32;
    std::uint32_t data = static_cast<std::uint32_t>(bank_.get(vtd::reg::FEDATA, 4));
    tlm::tlm_generic_payload gp;
    prepare(gp, tlm::TLM_WRITE_COMMAND, addr, &data, 4);
    mem_out.b_transport(gp, delay);
    ++fault_interrupts_;
}

void iommu::fault_condition_serviced() {
    // IP is cleared by hardware once software has serviced every condition
    // that raised it: PPF (all F bits clear) and PFO (VT-d 3.x 11.4.7, FECTL.IP).
    if (recorder_.status() & (vtd::fsts::PPF | vtd::fsts::PFO)) return;
    const auto fectl = static_cast<std::uint32_t>(bank_.get(vtd::reg::FECTL, 4));
    bank_.set(vtd::reg::FECTL, 4, fectl & ~vtd::fectl::IP);
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
        if (f_written) {
            recorder_.clear(i);
            fault_condition_serviced();
        }
        return true;
    }
    if (off == FSTS && len == 4) {
        // PFO is write-1-to-clear; PPF and FRI are read-only (PPF follows the F bits).
        if (v & vtd::fsts::PFO) recorder_.clear_overflow();
        fault_condition_serviced();
        return true;
    }
    if (off == FECTL && len == 4) {
        const auto before = static_cast<std::uint32_t>(bank_.get(FECTL, 4));
        bank_.write(off, len, v);
        const auto after = static_cast<std::uint32_t>(bank_.get(FECTL, 4));
        // Unmasking with IP set sends the pending interrupt message and clears
        // IP (VT-d 3.x 7.3.1, 11.4.7). The register write carries no annotated
        // time here: the message leaves one lookup latency after it.
        if ((before & vtd::fectl::IM) && !(after & vtd::fectl::IM) && (after & vtd::fectl::IP)) {
            bank_.set(FECTL, 4, after & ~vtd::fectl::IP);
            sc_time d = p_.lookup_latency;
            send_fault_message(d);
        }
        return true;
    }
    return false;
}

} // namespace iotwin::iommu
