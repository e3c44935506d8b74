// Scalable-mode DMA remapping (VT-d 3.x 3.4-3.6, 9.2-9.7): a request is
// looked up through the scalable-mode root entry (lower or upper context
// table by devfn), the 256-bit scalable-mode context entry, the PASID
// directory and the PASID table entry of its PASID (RID_PASID for a request
// without PASID); the PASID entry's PGTT selects first-level translation
// (x86 4-level tables, with A/D updates), second-level translation (the
// legacy walk, with the scalable-mode fault reasons) or pass-through.
// Nested translation (PGTT 011) is not modelled: ECAP.NEST is clear, and an
// entry asking for it is invalid (fault 0x5B).
#include "models/iommu/iommu.h"

#include <cstring>

#include "models/common/payload.h"

namespace iotwin::iommu {

using namespace sc_core;
using vtd::fault_reason;
namespace sm = vtd::sm;

iommu::outcome iommu::translate_scalable(std::uint16_t sid, std::optional<std::uint32_t> req_pasid, std::uint64_t iova,
                                         bool write, sc_time& delay) {
    outcome o;
    auto fail = [&o](fault_reason r) {
        o.ok = false;
        o.reason = r;
        return o;
    };
    if (root_ttm_ != sm::TTM_SCALABLE) return fail(fault_reason::sm_root_table_invalid);  // TTM 10b/11b are reserved
    sm_context c;
    if (const sm_context* cached = sm_ctx_.lookup(sid)) {
        c = *cached;
    } else if (!fetch_sm_context(sid, c, o.reason, delay)) {
        o.ok = false;
        return o;
    } else {
        sm_ctx_.insert(sid, c);
    }
    o.fpd = c.fault_processing_disable;
    if (req_pasid && !c.pasid_enable) return fail(fault_reason::sm_pasid_disabled);
    const std::uint32_t pasid = req_pasid.value_or(c.rid_pasid) & 0xfffff;
    if ((pasid >> sm::PASID_PDE_SHIFT) >= (1u << (c.pdts + 7))) return fail(fault_reason::sm_pasid_too_large);

    pasid_entry pe;
    if (const pasid_entry* cached = pasid_cache_.lookup(sid, pasid)) {
        pe = *cached;
    } else {
        bool fpd = false;
        const bool ok = fetch_pasid_entry(c, pasid, pe, fpd, o.reason, delay);
        o.fpd = o.fpd || fpd;
        if (!ok) {
            o.ok = false;
            return o;
        }
        pasid_cache_.insert(sid, pasid, pe);
    }
    o.fpd = o.fpd || pe.fault_processing_disable;
    if (pe.pgtt == sm::PGTT_PASS_THROUGH) {
        o.t = {iova >> 12, true, true};
        o.pass_through = true;
        return o;
    }
    if (pe.pgtt == sm::PGTT_FIRST_LEVEL) {
        // 4-level first-level tables translate canonical 48-bit addresses:
        // bits 63:47 all equal (VT-d 3.x 3.6).
        const std::uint64_t top = iova >> 47;
        if (top != 0 && top != 0x1ffff) return fail(fault_reason::sm_not_canonical);
    } else if (iova >> p_.address_width) {
        return fail(fault_reason::sm_beyond_max);
    }
    const std::uint64_t page = iova >> 12;
    if (const translation* t = tlb_.lookup(pe.did, pasid, page)) {
        o.t = *t;
    } else {
        bool cacheable = true;
        unsigned order = 0;
        if (pe.pgtt == sm::PGTT_FIRST_LEVEL) {
            // A miss holds a pending-miss slot and a walker for its whole walk (walkers.h).
            const walk_resources::ticket held = walk_pool_.begin(delay);
            const bool found = walk_first_level(pe.flptr, iova, write, o.t, order, cacheable, o.reason, delay);
            walk_pool_.end(held, delay);
            if (!found) {
                o.ok = false;
                return o;
            }
        } else {
            context sl;
            sl.present = true;
            sl.slptptr = pe.slptr;
            sl.did = pe.did;
            sl.aw = pe.aw;
            fault_reason why{};
            const walk_resources::ticket held = walk_pool_.begin(delay);
            const bool found = walk(sl, iova, o.t, order, why, write, delay);
            walk_pool_.end(held, delay);
            if (!found) {
                // The legacy walk's reasons, renumbered as scalable mode numbers them.
                if (why == fault_reason::reserved_paging) return fail(fault_reason::sm_sl_reserved);
                if (why == fault_reason::paging_entry_access) return fail(fault_reason::sm_sl_entry_access);
                return fail(fault_reason::sm_sl_not_present);
            }
        }
        if (cacheable) tlb_.insert(pe.did, pasid, page, o.t, order);
    }
    if (write ? !o.t.write : !o.t.read)
        return fail(write ? fault_reason::sm_write_not_permitted : fault_reason::sm_read_not_permitted);
    return o;
}

bool iommu::fetch_sm_context(std::uint16_t sid, sm_context& c, fault_reason& why, sc_time& delay) {
    if (!(gsts_ & vtd::gsts::RTPS)) { why = fault_reason::sm_root_table_invalid; return false; }
    // Scalable-mode root entry: the low quadword points at the context table of
    // devfn 0-127, the high one at that of devfn 128-255 (VT-d 3.x 9.2).
    const std::uint64_t re = root_table_ + (sid >> 8) * 16 + ((sid & 0x80) ? 8 : 0);
    std::uint64_t root, lo, hi;
    if (!read_qword(re, root, delay)) { why = fault_reason::sm_root_access; return false; }
    if (!(root & sm::ROOT_PRESENT)) { why = fault_reason::sm_root_not_present; return false; }
    const std::uint64_t ce = (root & vtd::entry::ADDR_MASK) + (sid & 0x7f) * sm::CONTEXT_SIZE;
    if (!read_qword(ce, lo, delay) || !read_qword(ce + 8, hi, delay)) { why = fault_reason::sm_context_access; return false; }
    c.fault_processing_disable = lo & sm::CTX_FPD;
    if (!(lo & sm::CTX_P)) { why = fault_reason::sm_context_not_present; return false; }
    c.pasid_enable = lo & sm::CTX_PASIDE;
    c.pdts = static_cast<unsigned>((lo >> sm::CTX_PDTS_SHIFT) & 7);
    c.pasid_dir = lo & vtd::entry::ADDR_MASK;
    c.rid_pasid = static_cast<std::uint32_t>(hi & sm::CTX_RID_PASID_MASK);
    // DTE asks for device-TLB translation (ATS), PRE for page requests: this unit
    // reports neither (ECAP.DT, ECAP.PRS clear), so an entry that sets them is invalid.
    if (lo & (sm::CTX_DTE | sm::CTX_PRE)) { why = fault_reason::sm_context_invalid; return false; }
    return true;
}

bool iommu::fetch_pasid_entry(const sm_context& c, std::uint32_t pasid, pasid_entry& e, bool& fpd, fault_reason& why,
                              sc_time& delay) {
    std::uint64_t pde, q0, q1, q2;
    if (!read_qword(c.pasid_dir + std::uint64_t(pasid >> sm::PASID_PDE_SHIFT) * 8, pde, delay)) {
        why = fault_reason::sm_pasid_dir_access;
        return false;
    }
    fpd = pde & sm::PDE_FPD;
    if (!(pde & sm::PDE_P)) { why = fault_reason::sm_pasid_dir_not_present; return false; }
    const std::uint64_t pte = (pde & vtd::entry::ADDR_MASK) + (pasid & ((1u << sm::PASID_PDE_SHIFT) - 1)) * sm::PASID_ENTRY_SIZE;
    if (!read_qword(pte, q0, delay) || !read_qword(pte + 8, q1, delay) || !read_qword(pte + 16, q2, delay)) {
        why = fault_reason::sm_pasid_entry_access;
        return false;
    }
    fpd = fpd || (q0 & sm::PE_FPD);
    if (!(q0 & sm::PE_P)) { why = fault_reason::sm_pasid_entry_not_present; return false; }
    e.fault_processing_disable = fpd;
    e.pgtt = (q0 >> sm::PE_PGTT_SHIFT) & 7;
    e.aw = static_cast<unsigned>((q0 >> sm::PE_AW_SHIFT) & 7);
    e.did = static_cast<std::uint16_t>(q1 & sm::PE_DID_MASK);
    e.slptr = q0 & vtd::entry::ADDR_MASK;
    e.flptr = q2 & vtd::entry::ADDR_MASK;
    bool valid = false;
    switch (e.pgtt) {
    case sm::PGTT_FIRST_LEVEL:
        // FLPM 00 (4-level) only: CAP.FL5LP is clear. SRE needs ECAP.SRS, which is clear.
        valid = ((q2 >> sm::PE_FLPM_SHIFT) & 3) == 0 && !(q2 & sm::PE_SRE);
        break;
    case sm::PGTT_SECOND_LEVEL: valid = e.aw == vtd::aw_for(static_cast<unsigned>(p_.address_width)); break;
    case sm::PGTT_PASS_THROUGH: valid = true; break;
    default: valid = false;  // nested (ECAP.NEST clear) and the reserved values
    }
    if (!valid) { why = fault_reason::sm_pasid_entry_invalid; return false; }
    return true;
}

bool iommu::write_qword(std::uint64_t addr, std::uint64_t v, sc_time& delay) {
    std::uint8_t buf[8];
    std::memcpy(buf, &v, 8);
    tlm::tlm_generic_payload gp;
    prepare(gp, tlm::TLM_WRITE_COMMAND, addr, buf, 8);
    mem_out.b_transport(gp, delay);
    return gp.is_response_ok();
}

bool iommu::walk_first_level(std::uint64_t table, std::uint64_t iova, bool write, translation& t, unsigned& order, bool& cacheable,
                             fault_reason& why, sc_time& delay) {
    ++walks_;
    ++first_level_walks_;
    // Address bits 51:48 lie above the 48-bit host address width: reserved.
    constexpr std::uint64_t above_haw = 0x000f000000000000ull;
    bool rw = true;
    for (int level = 4; level >= 1; --level) {
        const unsigned shift = 12 + 9 * static_cast<unsigned>(level - 1);
        const std::uint64_t slot = table + ((iova >> shift) & 0x1ff) * 8;
        std::uint64_t e;
        delay += p_.walk_step_latency;
        if (!read_qword(slot, e, delay)) { why = fault_reason::sm_fl_entry_access; return false; }
        if (!(e & sm::FL_P)) { why = fault_reason::sm_fl_not_present; return false; }
        const bool ps = e & sm::FL_PS;
        // PS is reserved in a PML4 entry, and in a PDPE without CAP.FL1GP.
        if ((level == 4 && ps) || (level == 3 && ps && !p_.first_level_1g) || (e & above_haw)) {
            why = fault_reason::sm_fl_reserved;
            return false;
        }
        // Every request is a user-privilege one: requests without PASID are
        // (VT-d 3.x 3.6.2), and the PASID prefix's privileged-mode bit is not
        // modelled. So U/S must be set at every level (Linux 6.1 sets
        // DMA_FL_PTE_US in every first-level entry for this reason).
        if (!(e & sm::FL_US)) { why = fault_reason::sm_user_not_permitted; return false; }
        rw = rw && (e & sm::FL_RW);
        const bool leaf = level == 1 || ps;
        // The unit sets Accessed in every entry it uses and Dirty in the leaf
        // of a write it permits (VT-d 3.x 3.6.3), by a locked update in memory.
        std::uint64_t updated = e | sm::FL_A;
        if (leaf && write && rw) updated |= sm::FL_D;
        if (updated != e) {
            if (!write_qword(slot, updated, delay)) { why = fault_reason::sm_fl_entry_access; return false; }
            ++ad_updates_;
            e = updated;
        }
        if (leaf) {
            const std::uint64_t page_mask = (std::uint64_t(1) << shift) - 1;
            // A large page's frame bits below its size are reserved, but bit 12 (PAT).
            if (level > 1 && (e & vtd::entry::ADDR_MASK & page_mask & ~std::uint64_t(0x1000))) {
                why = fault_reason::sm_fl_reserved;
                return false;
            }
            const std::uint64_t base = e & vtd::entry::ADDR_MASK & ~page_mask;
            t.frame = (base | (iova & page_mask)) >> 12;
            t.read = true;  // present means readable in the x86 format
            t.write = rw;
            order = shift - 12;
            // A writable translation whose Dirty flag is still clear must not
            // serve a later write from the IOTLB without setting it: it stays
            // uncached until a write walk sets D.
            cacheable = !(rw && !(e & sm::FL_D));
            return true;
        }
        table = e & vtd::entry::ADDR_MASK;
    }
    why = fault_reason::sm_fl_entry_access;
    return false;
}

// A context-cache invalidation also drops what the scalable-mode caches derived
// from the entries it covers (the PASID entries below a context entry).
void iommu::sm_drop_contexts(vtd::invalidation_granularity g, std::uint16_t did, std::uint16_t sid) {
    if (g == vtd::invalidation_granularity::device_or_page) {
        sm_ctx_.invalidate_device(sid);
        pasid_cache_.invalidate_device(sid);
    } else if (g == vtd::invalidation_granularity::domain) {
        sm_ctx_.invalidate_all();  // scalable-mode context entries carry no domain ID
        pasid_cache_.invalidate_domain(did);
    } else {
        sm_ctx_.invalidate_all();
        pasid_cache_.invalidate_all();
    }
}

bool iommu::invalidate_pasid_iotlb(std::uint16_t did, std::uint32_t pasid, unsigned granularity, std::uint64_t addr,
                                   unsigned am, bool ih) {
    // The paging-structure caches are tagged by domain only: the domain's
    // entries for the range go with the PASID's (a superset), unless IH says
    // that only leaf entries changed.
    using g_t = vtd::invalidation_granularity;
    pasid &= 0xfffff;
    if (granularity == 2) drop_translations(g_t::domain, did, 0, 0, false, pasid);
    else if (granularity == 3 && am <= 63) drop_translations(g_t::device_or_page, did, addr, am, ih, pasid);
    else return false;
    ++pasid_iotlb_invalidations_;
    return true;
}

bool iommu::invalidate_pasid_cache(std::uint16_t did, std::uint32_t pasid, unsigned granularity) {
    pasid &= 0xfffff;
    if (granularity == 0) pasid_cache_.invalidate_domain(did);
    else if (granularity == 1) pasid_cache_.invalidate_pasid(did, pasid);
    else if (granularity == 3) pasid_cache_.invalidate_all();
    else return false;
    ++pasid_cache_invalidations_;
    return true;
}

void iommu::sm_stats(stat_map& out) const {
    const std::string n = basename();
    add_stat(out, n, "sm_context_cache_hits", sm_ctx_.hits());
    add_stat(out, n, "sm_context_cache_misses", sm_ctx_.misses());
    add_stat(out, n, "pasid_cache_hits", pasid_cache_.hits());
    add_stat(out, n, "pasid_cache_misses", pasid_cache_.misses());
    add_stat(out, n, "first_level_walks", first_level_walks_);
    add_stat(out, n, "ad_updates", ad_updates_);
    add_stat(out, n, "pasid_iotlb_invalidations", pasid_iotlb_invalidations_);
    add_stat(out, n, "pasid_cache_invalidations", pasid_cache_invalidations_);
}

} // namespace iotwin::iommu
