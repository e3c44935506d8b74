// Address Translation Services: translation requests, translated requests
// and the invalidation of device TLBs.
//
// Legacy mode (VT-d 3.x 4.1, 9.3): a context entry's TT field decides
// whether its device may use ATS. Only TT=01b (valid where ECAP.DT is
// reported) accepts Translation Requests (AT=01b) and Translated Requests
// (AT=10b); with TT=00b or 10b both are blocked and recorded with fault
// reason 0xD, "translation request or translated request explicitly blocked
// due to the programming of the Translation Type field" (VT-d appendix A; QEMU
// hw/i386/intel_iommu_internal.h, VTD_FR_CONTEXT_ENTRY_TT, the value after
// 0xC).
// A Translation Request is answered as VT-d 4.2.3 describes: context errors
// are Unsupported Request with a fault recorded; a page that is not present
// or not accessible is a successful Translation Completion whose entry grants
// nothing (R = W = 0), with no fault recorded (the device asks again or gives
// up; it is not an error of the device); a table read that fails is Completer
// Abort. A Translated Request from a TT=01b device is not translated again:
// its address is taken as the machine address, as hardware trusts the
// device's ATC (VT-d 4.2.4). That trust is why Linux enables ATS only for
// devices it trusts (docs/iommu/ats.md).
#include "models/iommu/iommu.h"

#include <algorithm>
#include <cstring>

#include "models/common/payload.h"

namespace iotwin::iommu {

using namespace sc_core;
using vtd::fault_reason;

bool iommu::context_of(std::uint16_t sid, context& c, fault_reason& why, sc_time& delay) {
    if (const context* cached = ctx_.lookup(sid)) {
        c = *cached;
        return true;
    }
    if (!fetch_context(sid, c, why, delay)) return false;
    ctx_.insert(sid, c);
    return true;
}

void iommu::ats_request(tlm::tlm_generic_payload& gp, pcie::pcie_ext& ext, sc_time& delay) {
    if (!translation_enabled()) {
        // Nothing is remapped: a translated request passes as every request
        // does; nobody answers a Translation Request.
        if (ext.at == pcie::address_type::translated) {
            ++untranslated_;
            forward(gp, ext, delay);
        } else {
            pcie::complete(gp, &ext, pcie::completion::UR);
        }
        return;
    }
    ext.passed_iommu = true;
    delay += p_.lookup_latency;
    const std::uint64_t addr = gp.get_address();
    const bool write = gp.is_write();
    const std::uint16_t sid = ext.requester_id;
    auto refuse = [&](fault_reason r, bool fpd, pcie::completion status) {
        report_fault({sid, addr, r, !write}, fpd, delay);
        ext.iommu_fault = true;
        ++blocked_;
        pcie::complete(gp, &ext, status);
    };
    context c;
    fault_reason why{};
    if (!context_of(sid, c, why, delay)) return refuse(why, c.fault_processing_disable, pcie::completion::UR);
    if (c.translation_type != vtd::entry::TT_DEVICE_TLB)
        return refuse(fault_reason::translation_type_blocked, c.fault_processing_disable, pcie::completion::UR);
    if (ext.at == pcie::address_type::translated) {
        // Not translated again: the device's ATC is trusted. The request
        // crossed the IOMMU without being isolated by it.
        ++translated_passed_;
        ++translated_;
        ext.passed_iommu = false;
        forward(gp, ext, delay);
        return;
    }
    // A Translation Request is a read; its length asks for that many 8-byte
    // translations of consecutive 4 KiB ranges (PCIe 5.0 10.2.2).
    const unsigned len = gp.get_data_length();
    if (write || len == 0 || (len & 7) || (addr & 0xfff)) {
        ++blocked_;
        pcie::complete(gp, &ext, pcie::completion::UR);
        return;
    }
    ++translation_requests_;
    for (unsigned i = 0; i < len / 8; ++i) {
        const std::uint64_t iova = addr + std::uint64_t(i) * 4096;
        std::uint64_t entry = 0;
        outcome o = translate(sid, iova, false, delay);
        if (o.ok) {
            entry = (o.t.frame << 12) | pcie::ats::R | (o.t.write ? pcie::ats::W : 0);
        } else if (o.reason == fault_reason::read_not_permitted) {
            // Not readable: perhaps write-only (the walk's result is in the IOTLB now).
            o = translate(sid, iova, true, delay);
            if (o.ok) entry = (o.t.frame << 12) | pcie::ats::W;
        } else if (o.reason == fault_reason::paging_entry_access || o.reason == fault_reason::reserved_paging) {
            return refuse(o.reason, o.fpd, pcie::completion::CA);
        }
        // Anything else (not present, beyond the address width): R = W = 0.
        std::memcpy(gp.get_data_ptr() + i * 8, &entry, 8);
    }
    pcie::complete(gp, &ext, pcie::completion::SC);
}

void iommu::invalidate_device_tlb(std::uint16_t sid, std::uint64_t addr, bool size, sc_time& delay) {
    const sc_time now = sc_time_stamp() + delay;
    // Forget the invalidations that are over: completed, or expired (counted).
    auto over = [&](const device_tlb_invalidation& x) {
        if (x.completed) return *x.completed <= now;
        if (x.sent + p_.ats_invalidation_timeout <= now) { ++dtlb_expired_; return true; }
        return false;
    };
    device_tlb_invalidations_.erase(std::remove_if(device_tlb_invalidations_.begin(), device_tlb_invalidations_.end(), over),
                                    device_tlb_invalidations_.end());
    ++dtlb_sent_;
    device_tlb_invalidation inv{sid, now, std::nullopt};
    // The descriptor does not wait for the completion (an Invalidation Wait
    // descriptor does): the message's journey runs on a copy of the time.
    sc_time d = delay;
    if (device_tlb_port_ && device_tlb_port_(sid, addr & pcie::ats::ADDRESS_MASK, size, d)) {
        inv.completed = sc_time_stamp() + d;
        ++dtlb_completed_;
    }
    device_tlb_invalidations_.push_back(inv);
}

std::size_t iommu::device_tlb_invalidations_pending(const sc_time& at) const {
    return static_cast<std::size_t>(std::count_if(device_tlb_invalidations_.begin(), device_tlb_invalidations_.end(), [&](const auto& x) {
        return x.completed ? *x.completed > at : x.sent + p_.ats_invalidation_timeout > at;
    }));
}

std::size_t iommu::device_tlb_invalidation_timeouts(const sc_time& at) const {
    return dtlb_expired_ + static_cast<std::size_t>(std::count_if(device_tlb_invalidations_.begin(), device_tlb_invalidations_.end(), [&](const auto& x) {
               return !x.completed && x.sent + p_.ats_invalidation_timeout <= at;
           }));
}

sc_time iommu::device_tlb_invalidations_over_at() const {
    sc_time t = SC_ZERO_TIME;
    for (const auto& x : device_tlb_invalidations_) t = std::max(t, x.completed ? *x.completed : x.sent + p_.ats_invalidation_timeout);
    return t;
}

} // namespace iotwin::iommu
