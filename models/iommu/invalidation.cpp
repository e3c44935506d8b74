// Invalidation of the IOMMU's caches: the register-based commands (CCMD,
// IOTLB_REG) and the invalidation queue (VT-d 6.5.2). Whatever the interface,
// what leaves the caches is decided by drop_contexts / drop_translations
// (translate.cpp) and the interrupt-entry and device-TLB hooks.
//
// The queue is processed when software writes a register (IQT, or any write
// that may let a stopped queue resume): every descriptor from IQH to IQT is
// fetched from memory by a timed TLM read and carried out in order, so a
// wait descriptor's status write happens after everything before it (the
// fence, FN, holds by construction). Each invalidation descriptor also costs
// `latency.invalidation`. The time adds to the register write that started
// the processing: software that polls the status afterwards sees it written.
#include "models/iommu/iommu.h"

#include <cstring>

#include "models/common/payload.h"
#include "models/iommu/invalidation_queue.h"

namespace iotwin::iommu {

using namespace sc_core;

bool iommu::queued_invalidation_enabled() const { return gsts_ & vtd::qi::GSTS_QIES; }

void iommu::on_ccmd(std::uint64_t value) {
    if (!(value & vtd::ccmd::ICC)) return;
    if (queued_invalidation_enabled()) {
        // Software must not use the register-based interface while queued
        // invalidation is enabled (VT-d 6.5.2); the model performs nothing
        // and completes the command so that no caller waits forever.
        ++register_invalidations_ignored_;
        bank_.set(vtd::reg::CCMD, 8, value & ~vtd::ccmd::ICC);
        return;
    }
    const auto g = static_cast<vtd::invalidation_granularity>((value >> vtd::ccmd::CIRG_SHIFT) & 3);
    const auto did = static_cast<std::uint16_t>(value & 0xffff);
    const auto sid = static_cast<std::uint16_t>((value >> 16) & 0xffff);
    drop_contexts(g, did, sid, static_cast<unsigned>((value >> vtd::ccmd::FM_SHIFT) & 3));
    revoke_dmi_contexts(g, did, sid, static_cast<unsigned>((value >> vtd::ccmd::FM_SHIFT) & 3));
    ++ctx_invalidations_;
    // Completed at once: ICC reads back 0, CAIG reports the granularity performed.
    bank_.set(vtd::reg::CCMD, 8, (value & ~vtd::ccmd::ICC & ~(3ull << vtd::ccmd::CAIG_SHIFT)) |
                                     (std::uint64_t(g) << vtd::ccmd::CAIG_SHIFT));
}

void iommu::on_iotlb(std::uint64_t value) {
    if (!(value & vtd::iotlb_cmd::IVT)) return;
    if (queued_invalidation_enabled()) {
        ++register_invalidations_ignored_;
        bank_.set(vtd::reg::IOTLB_BASE + 8, 8, value & ~vtd::iotlb_cmd::IVT);
        return;
    }
    const auto g = static_cast<vtd::invalidation_granularity>((value >> vtd::iotlb_cmd::IIRG_SHIFT) & 3);
    const auto did = static_cast<std::uint16_t>((value >> vtd::iotlb_cmd::DID_SHIFT) & 0xffff);
    const std::uint64_t iva = bank_.get(vtd::reg::IOTLB_BASE, 8);
    drop_translations(g, did, iva & ~std::uint64_t(0xfff), static_cast<unsigned>(iva & vtd::iotlb_cmd::IVA_AM_MASK),
                      (iva & vtd::iotlb_cmd::IVA_IH) != 0);
    revoke_dmi_translations(g, did, iva & ~std::uint64_t(0xfff), static_cast<unsigned>(iva & vtd::iotlb_cmd::IVA_AM_MASK));
    ++iotlb_invalidations_;
    bank_.set(vtd::reg::IOTLB_BASE + 8, 8, (value & ~vtd::iotlb_cmd::IVT & ~(3ull << vtd::iotlb_cmd::IAIG_SHIFT)) |
                                               (std::uint64_t(g) << vtd::iotlb_cmd::IAIG_SHIFT));
}

// ---- queued invalidation -----------------------------------------------------

void iommu::after_register_write(std::uint32_t off, sc_time& delay) {
    using namespace vtd::reg;
    if (off == CCMD || off == IOTLB_BASE + 8) {
        // A register-based command takes the hardware's invalidation time.
        delay += p_.invalidation_latency;
    }
    if (off == IECTL) {
        // Unmasking with IP set sends the pending message and clears IP (VT-d 10.4.24).
        const auto ctl = static_cast<std::uint32_t>(bank_.get(IECTL, 4));
        if (!(ctl & vtd::qi::IECTL_IM) && (ctl & vtd::qi::IECTL_IP)) {
            bank_.set(IECTL, 4, ctl & ~vtd::qi::IECTL_IP);
            send_event(IEDATA, IEADDR, IEUADDR, delay);
            ++invalidation_events_;
        }
    }
    if (off == ICS && !(bank_.get(ICS, 4) & vtd::qi::ICS_IWC)) {
        // Clearing IWC clears a pending (masked) completion event (VT-d 10.4.24).
        bank_.set(IECTL, 4, bank_.get(IECTL, 4) & ~std::uint64_t(vtd::qi::IECTL_IP));
    }
    process_invalidation_queue(delay);
}

void iommu::send_event(std::uint32_t data_off, std::uint32_t addr_off, std::uint32_t uaddr_off, sc_time& delay) {
    const std::uint64_t addr = bank_.get(addr_off, 4) | bank_.get(uaddr_off, 4) << 32;
    std::uint32_t data = static_cast<std::uint32_t>(bank_.get(data_off, 4));
    tlm::tlm_generic_payload gp;
    prepare(gp, tlm::TLM_WRITE_COMMAND, addr, &data, 4);
    mem_out.b_transport(gp, delay);
}

void iommu::signal_event(std::uint32_t ctl_off, std::uint32_t data_off, std::uint32_t addr_off, std::uint32_t uaddr_off,
                         sc_time& delay) {
    // FECTL and IECTL share the layout: IM bit 31, IP bit 30.
    const auto ctl = static_cast<std::uint32_t>(bank_.get(ctl_off, 4));
    if (ctl & vtd::qi::IECTL_IP) return;  // one already pending
    if (ctl & vtd::qi::IECTL_IM) {
        bank_.set(ctl_off, 4, ctl | vtd::qi::IECTL_IP);
        return;
    }
    send_event(data_off, addr_off, uaddr_off, delay);
}

void iommu::process_invalidation_queue(sc_time& delay) {
    using namespace vtd::reg;
    if (!queued_invalidation_enabled() || (qi_fsts_ & vtd::qi::FSTS_IQE)) return;
    const std::uint64_t iqa = bank_.get(IQA, 8);
    const std::uint64_t base = iqa & ~std::uint64_t(0xfff);
    // 2^QS pages of 4 KiB, 256 descriptors of 128 bits each per page.
    const std::uint64_t entries = std::uint64_t(256) << (iqa & vtd::qi::IQA_QS_MASK);
    std::uint64_t head = (bank_.get(IQH, 8) & vtd::qi::INDEX_MASK) >> vtd::qi::INDEX_SHIFT;
    const std::uint64_t tail = (bank_.get(IQT, 8) & vtd::qi::INDEX_MASK) >> vtd::qi::INDEX_SHIFT;
    // A tail beyond the queue names no descriptor: the model stops the queue
    // with IQE as for an invalid descriptor (IQH unchanged).
    bool error = tail >= entries;
    while (!error && head != tail) {
        std::uint8_t buf[vtd::qi::DESCRIPTOR_BYTES];
        tlm::tlm_generic_payload gp;
        prepare(gp, tlm::TLM_READ_COMMAND, base + head * vtd::qi::DESCRIPTOR_BYTES, buf, sizeof buf);
        mem_out.b_transport(gp, delay);
        std::uint64_t lo = 0, hi = 0;
        std::memcpy(&lo, buf, 8);
        std::memcpy(&hi, buf + 8, 8);
        // A descriptor that cannot be fetched is an invalidation queue error (VT-d 10.4.9, FSTS.IQE).
        if (!gp.is_response_ok() || !run_descriptor(lo, hi, delay)) {
            error = true;
            break;
        }
        ++qi_descriptors_;
        head = (head + 1) % entries;
        bank_.set(IQH, 8, head << vtd::qi::INDEX_SHIFT);
    }
    if (!error) return;
    // IQH keeps pointing at the descriptor that failed; the queue stays
    // stopped until software clears FSTS.IQE (VT-d 6.5.2.10), and a fault
    // event is raised (VT-d 7.3.1).
    ++qi_errors_;
    qi_fsts_ |= vtd::qi::FSTS_IQE;
    const bool was_pending = bank_.get(FECTL, 4) & vtd::fectl::IP;
    signal_event(FECTL, FEDATA, FEADDR, FEUADDR, delay);
    if (!was_pending && !(bank_.get(FECTL, 4) & vtd::fectl::IP)) ++fault_interrupts_;
}

// PASID-based-IOTLB invalidation: a descriptor of scalable mode only (ECAP.SMTS);
// a reserved granularity makes it invalid.
bool iommu::run_pasid_iotlb_descriptor(std::uint64_t lo, std::uint64_t hi, sc_time& delay) {
    using g_t = vtd::invalidation_granularity;
    if (!p_.scalable || (lo & vtd::qi::PASID_RSVD_LO) || (hi & vtd::qi::PIOTLB_RSVD_HI)) return false;
    const auto did = static_cast<std::uint16_t>(lo >> 16);
    const unsigned g = (lo >> 4) & 3, am = static_cast<unsigned>(hi & 0x3f);
    const std::uint64_t addr = hi & ~std::uint64_t(0xfff);
    // AM above CAP.MAMV (9) cannot be carried out, as for the IOTLB descriptor.
    if (g == 3 && am > 9) return false;
    if (!invalidate_pasid_iotlb(did, static_cast<std::uint32_t>((lo >> vtd::qi::PASID_SHIFT) & vtd::qi::PASID_FIELD), g, addr, am,
                                hi & vtd::qi::IOTLB_IH))
        return false;
    if (g == 3) revoke_dmi_translations(g_t::device_or_page, did, addr, am);
    else revoke_dmi_translations(g_t::domain, did, 0, 0);
    delay += p_.invalidation_latency;
    return true;
}

bool iommu::run_descriptor(std::uint64_t lo, std::uint64_t hi, sc_time& delay) {
    using g_t = vtd::invalidation_granularity;
    switch (static_cast<unsigned>(lo & 0xf)) {
    case vtd::qi::TYPE_CC: {  // VT-d 6.5.2.1
        const unsigned g = (lo >> 4) & 3;
        if ((lo & vtd::qi::CC_RSVD_LO) || hi || g == 0) return false;
        drop_contexts(static_cast<g_t>(g), static_cast<std::uint16_t>(lo >> 16), static_cast<std::uint16_t>(lo >> 32),
                      static_cast<unsigned>((lo >> 48) & 3));
        revoke_dmi_contexts(static_cast<g_t>(g), static_cast<std::uint16_t>(lo >> 16), static_cast<std::uint16_t>(lo >> 32),
                            static_cast<unsigned>((lo >> 48) & 3));
        ++ctx_invalidations_;
        delay += p_.invalidation_latency;
        return true;
    }
    case vtd::qi::TYPE_IOTLB: {  // VT-d 6.5.2.3
        const unsigned g = (lo >> 4) & 3;
        const auto am = static_cast<unsigned>(hi & 0x3f);
        // AM above CAP.MAMV (9 here, iommu.cpp) cannot be carried out: the model calls the descriptor invalid.
        if ((lo & vtd::qi::IOTLB_RSVD_LO) || (hi & vtd::qi::IOTLB_RSVD_HI) || g == 0 || (g == 3 && am > 9)) return false;
        // DR/DW (drain reads/writes) need nothing: requests complete in order here.
        // IH (a hint that no paging-structure entry changed) only narrows what
        // may be kept, so dropping everything the range names is always correct.
        drop_translations(static_cast<g_t>(g), static_cast<std::uint16_t>(lo >> 16), hi & ~std::uint64_t(0xfff), am);
        revoke_dmi_translations(static_cast<g_t>(g), static_cast<std::uint16_t>(lo >> 16), hi & ~std::uint64_t(0xfff), am);
        ++iotlb_invalidations_;
        delay += p_.invalidation_latency;
        return true;
    }
    case vtd::qi::TYPE_DEVTLB: {  // VT-d 6.5.2.5
        if ((lo & vtd::qi::DEVTLB_RSVD_LO) || (hi & vtd::qi::DEVTLB_RSVD_HI)) return false;
        invalidate_device_tlb(static_cast<std::uint16_t>(lo >> 32), hi & ~std::uint64_t(0xfff), hi & 1, delay);
        delay += p_.invalidation_latency;
        return true;
    }
    case vtd::qi::TYPE_IEC: {  // VT-d 6.5.2.7
        if ((lo & vtd::qi::IEC_RSVD_LO) || hi) return false;
        invalidate_interrupt_entries(!(lo & vtd::qi::IEC_SELECTIVE), static_cast<unsigned>((lo >> 32) & 0xffff),
                                     static_cast<unsigned>((lo >> 27) & 0x1f));
        delay += p_.invalidation_latency;
        return true;
    }
    case vtd::qi::TYPE_WAIT: {  // VT-d 6.5.2.8
        // A wait completes only once every device-TLB invalidation before it
        // has completed or timed out (VT-d 6.5.2.8, 6.5.2.5).
        if (const sc_time over = device_tlb_invalidations_over_at(); over > sc_time_stamp() + delay)
            delay = over - sc_time_stamp();
        if ((lo & vtd::qi::WAIT_RSVD_LO) || (hi & vtd::qi::WAIT_RSVD_HI)) return false;
        ++qi_waits_;
        if (lo & vtd::qi::WAIT_SW) {
            std::uint32_t data = static_cast<std::uint32_t>(lo >> vtd::qi::WAIT_DATA_SHIFT);
            tlm::tlm_generic_payload gp;
            prepare(gp, tlm::TLM_WRITE_COMMAND, hi & ~vtd::qi::WAIT_RSVD_HI, &data, 4);
            mem_out.b_transport(gp, delay);
            if (!gp.is_response_ok()) return false;
        }
        if (lo & vtd::qi::WAIT_IF) {
            bank_.set(vtd::reg::ICS, 4, bank_.get(vtd::reg::ICS, 4) | vtd::qi::ICS_IWC);
            const bool masked = bank_.get(vtd::reg::IECTL, 4) & (vtd::qi::IECTL_IM | vtd::qi::IECTL_IP);
            signal_event(vtd::reg::IECTL, vtd::reg::IEDATA, vtd::reg::IEADDR, vtd::reg::IEUADDR, delay);
            if (!masked) ++invalidation_events_;
        }
        return true;
    }
    case vtd::qi::TYPE_PIOTLB:  // VT-d 3.x 6.5.2.4
        return run_pasid_iotlb_descriptor(lo, hi, delay);
    case vtd::qi::TYPE_PC: {  // VT-d 3.x 6.5.2.2
        if (!p_.scalable || (lo & vtd::qi::PASID_RSVD_LO) || hi) return false;
        const auto did = static_cast<std::uint16_t>(lo >> 16);
        const unsigned g = (lo >> 4) & 3;
        if (!invalidate_pasid_cache(did, static_cast<std::uint32_t>((lo >> vtd::qi::PASID_SHIFT) & vtd::qi::PASID_FIELD), g))
            return false;
        // A PASID entry that changed may translate differently: the domain's pointers go (every one's, globally).
        revoke_dmi_translations(g == 3 ? g_t::global : g_t::domain, did, 0, 0);
        delay += p_.invalidation_latency;
        return true;
    }
    default:
        // Page request responses (0x9) and the 256-bit forms are not
        // modelled (no PRS, IQA.DW reads as 0); 0 is no descriptor.
        return false;
    }
}

} // namespace iotwin::iommu
