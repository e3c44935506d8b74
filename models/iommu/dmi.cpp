// The IOMMU's side of the TLM-2.0 direct memory interface: a device may hold
// a pointer into the memory of one translated page, and loses it before any
// change that could make the page unreachable takes effect.
//
// Granted: for a remapped request (translation enabled, a translating
// context) of a page the translation allows, read and/or write as the
// translation grants, covering exactly that 4 KiB page of the IOVA space,
// with the latency of the translated path on an IOTLB hit (lookup + memory).
// Refused: translation disabled or a pass-through context (untranslated DMA,
// nothing to revoke when software changes its mind except by turning
// everything off), interrupt addresses, translated (ATS) requests, anything
// that faults (no fault is recorded: a DMI request is not a DMA).
// Revoked (invalidate_direct_mem_ptr on `in`, which the fabric carries down
// to every function): by every IOTLB invalidation of the page's domain and
// range, every context-cache invalidation of its requester or domain, a
// change of GCMD.TE, an IOTLB eviction (the stale translation of a deferred
// unmap must not outlive the IOTLB entry), and memory's own revocation of the
// frame. The revocation happens inside the invalidation, before the register
// write or wait descriptor that completes it, so software that waited for an
// invalidation knows no pointer survives it; a deferred unmap is revoked
// when its flush runs, exactly as its IOTLB entry goes.
// Revocations carry IOVA ranges, and IOVA spaces of requesters overlap: a
// function drops every pointer in the range, whichever requester's it was
// (conservative, never unsafe).
#include "models/iommu/iommu.h"

#include <algorithm>

#include "models/common/payload.h"

namespace iotwin::iommu {

using namespace sc_core;

bool iommu::get_direct_mem_ptr(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
    const auto* ext = gp.get_extension<pcie::pcie_ext>();
    const std::uint64_t iova = gp.get_address();
    const bool write = gp.is_write();
    if (!ext || ext->host || ext->kind != pcie::request_kind::memory || ext->at != pcie::address_type::untranslated ||
        !translation_enabled() || pcie::is_msi_address(iova) || iova >> p_.address_width) {
        ++dmi_refused_;
        return false;
    }
    sc_time delay = SC_ZERO_TIME;
    const outcome o = translate(ext->requester_id, iova, write, delay);
    check_evictions();
    if (!o.ok || o.pass_through) {
        ++dmi_refused_;
        return false;
    }
    const std::uint64_t frame_addr = o.t.frame << 12;
    tlm::tlm_generic_payload mgp;
    std::uint8_t none = 0;
    prepare(mgp, write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND, frame_addr, &none, 1);
    tlm::tlm_dmi mem;
    if (!mem_out->get_direct_mem_ptr(mgp, mem) || mem.get_start_address() > frame_addr || mem.get_end_address() < frame_addr + 4095) {
        ++dmi_refused_;
        return false;
    }
    dmi.set_dmi_ptr(mem.get_dmi_ptr() + (frame_addr - mem.get_start_address()));
    dmi.set_start_address(iova & ~std::uint64_t(4095));
    dmi.set_end_address((iova & ~std::uint64_t(4095)) + 4095);
    const bool r = o.t.read && mem.is_read_allowed(), w = o.t.write && mem.is_write_allowed();
    dmi.set_granted_access(r && w ? tlm::tlm_dmi::DMI_ACCESS_READ_WRITE
                                  : r ? tlm::tlm_dmi::DMI_ACCESS_READ : w ? tlm::tlm_dmi::DMI_ACCESS_WRITE : tlm::tlm_dmi::DMI_ACCESS_NONE);
    dmi.set_read_latency(p_.lookup_latency + mem.get_read_latency());
    dmi.set_write_latency(p_.lookup_latency + mem.get_write_latency());
    // The context was cached by translate(): its domain tags the grant.
    dmi_grants_.push_back({ext->requester_id, o.did, iova >> 12, o.t.frame});
    ++dmi_granted_;
    return true;
}

template <class Pred> void iommu::revoke_dmi(Pred revoked) {
    // Collected first: a revocation calls out of the IOMMU, and nothing may
    // hold an iterator into dmi_grants_ across that call.
    std::vector<dmi_grant> gone;
    auto keep = std::stable_partition(dmi_grants_.begin(), dmi_grants_.end(), [&](const dmi_grant& g) { return !revoked(g); });
    gone.assign(keep, dmi_grants_.end());
    dmi_grants_.erase(keep, dmi_grants_.end());
    for (const dmi_grant& g : gone) {
        ++dmi_revoked_;
        in->invalidate_direct_mem_ptr(g.iova_page << 12, (g.iova_page << 12) + 4095);
    }
}

void iommu::revoke_dmi_translations(vtd::invalidation_granularity g, std::uint16_t did, std::uint64_t addr, unsigned am) {
    using gran = vtd::invalidation_granularity;
    const std::uint64_t first = (addr >> 12) >> am << am, last = first + (std::uint64_t(1) << am) - 1;
    revoke_dmi([&](const dmi_grant& x) {
        if (g == gran::global) return true;
        if (x.did != did) return false;
        return g == gran::domain || (x.iova_page >= first && x.iova_page <= last);
    });
}

void iommu::revoke_dmi_contexts(vtd::invalidation_granularity g, std::uint16_t did, std::uint16_t sid, unsigned function_mask) {
    using gran = vtd::invalidation_granularity;
    // FM masks the one, two or three most significant bits of the function
    // number (VT-d 10.4.7); any mask revokes the whole device here (a superset).
    const std::uint16_t mask = function_mask ? 0xfff8 : 0xffff;
    revoke_dmi([&](const dmi_grant& x) {
        if (g == gran::global) return true;
        if (g == gran::domain) return x.did == did;
        return (x.sid & mask) == (sid & mask);
    });
}

void iommu::revoke_all_dmi() {
    revoke_dmi([](const dmi_grant&) { return true; });
}

void iommu::memory_dmi_invalidated(sc_dt::uint64 start, sc_dt::uint64 end) {
    revoke_dmi([&](const dmi_grant& x) { return (x.frame << 12) <= end && start <= (x.frame << 12) + 4095; });
}

void iommu::check_evictions() {
    if (tlb_.evictions() == evictions_seen_) return;
    evictions_seen_ = tlb_.evictions();
    if (!dmi_grants_.empty()) revoke_all_dmi();
}

} // namespace iotwin::iommu
