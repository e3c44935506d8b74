// DMA remapping: the context lookup and the second-level page walk.
#include "models/iommu/iommu.h"

#include <algorithm>
#include <cstring>

#include "models/common/payload.h"

namespace iotwin::iommu {

using namespace sc_core;
using vtd::fault_reason;

iommu::outcome iommu::translate_context_miss(std::uint16_t sid, std::uint64_t iova, bool write, sc_time& delay) {
    context fetched;
    vtd::fault_reason why{};
    if (!fetch_context(sid, fetched, why, delay)) {
        outcome o;
        o.ok = false;
        o.reason = why;
        return o;
    }
    ctx_.insert(sid, fetched);
    return translate_with(fetched, iova, write, delay);
}

bool iommu::walk_miss(const context& c, std::uint64_t iova, bool write, outcome& o, sc_time& delay) {
    // A miss holds a pending-miss slot and a walker for its whole walk (walkers.h).
    // The walk reads memory: it works on its own copy of the entry.
    const context walked = c;
    unsigned order = order_4k;
    const walk_resources::ticket held = walk_pool_.begin(delay);
    const bool found = walk(walked, iova, o.t, order, o.reason, write, delay);
    walk_pool_.end(held, delay);
    if (!found) {
        o.ok = false;
        return false;
    }
    // One entry for the whole page the walk found, superpages included.
    tlb_.insert(walked.did, no_pasid, iova >> 12, o.t, order);
    // Only a fill evicts: a DMI grant over what it evicted goes now.
    check_evictions();
    return true;
}

bool iommu::read_qword(std::uint64_t addr, std::uint64_t& v, sc_time& delay) {
    std::uint8_t buf[8];
    tlm::tlm_generic_payload& gp = walk_gp_;
    prepare(gp, tlm::TLM_READ_COMMAND, addr, buf, 8);
    mem_out.b_transport(gp, delay);
    ++walk_reads_;
    if (!gp.is_response_ok()) return false;
    std::memcpy(&v, buf, 8);
    return true;
}

bool iommu::fetch_context(std::uint16_t sid, context& c, fault_reason& why, sc_time& delay) {
    if (!(gsts_ & vtd::gsts::RTPS)) { why = fault_reason::root_table_invalid; return false; }
    std::uint64_t root_lo, root_hi, ctx_lo, ctx_hi;
    const std::uint64_t re = root_table_ + (sid >> 8) * 16;
    if (!read_qword(re, root_lo, delay)) { why = fault_reason::root_table_invalid; return false; }
    if (!(root_lo & vtd::entry::P)) { why = fault_reason::root_not_present; return false; }
    const auto haw = static_cast<unsigned>(p_.address_width);
    // Reserved fields of a present root entry, the whole high quadword
    // included (legacy mode): fault 0xA (VT-d 3.x 9.1).
    if (!read_qword(re + 8, root_hi, delay)) { why = fault_reason::root_table_invalid; return false; }
    if ((root_lo & vtd::entry::root_reserved_lo(haw)) || root_hi) { why = fault_reason::reserved_root; return false; }
    const std::uint64_t ce = (root_lo & vtd::entry::ADDR_MASK) + (sid & 0xff) * 16;
    // An error reading the context entry through CTP is 0x9 (appendix A).
    if (!read_qword(ce, ctx_lo, delay) || !read_qword(ce + 8, ctx_hi, delay)) {
        why = fault_reason::context_table_invalid;
        return false;
    }
    c.present = ctx_lo & vtd::entry::P;
    c.fault_processing_disable = ctx_lo & vtd::entry::FPD;
    if (!c.present) { why = fault_reason::context_not_present; return false; }
    // Reserved fields of a present context entry, and DID bits beyond CAP.ND: 0xB (VT-d 3.x 9.3).
    if ((ctx_lo & vtd::entry::context_reserved_lo(haw)) || (ctx_hi & vtd::entry::context_reserved_hi) ||
        ((ctx_hi >> 8) & 0xffff) >= vtd::cap::domains(bank_.get(vtd::reg::CAP, 8))) {
        why = fault_reason::reserved_context;
        return false;
    }
    c.translation_type = (ctx_lo >> vtd::entry::TT_SHIFT) & 3;
    c.slptptr = ctx_lo & vtd::entry::ADDR_MASK;
    c.aw = static_cast<unsigned>(ctx_hi & 7);
    c.did = static_cast<std::uint16_t>((ctx_hi >> 8) & 0xffff);
    // TT=01 (device-TLBs) is valid only where ECAP.DT is reported (VT-d 3.x 9.3).
    const bool dt = c.translation_type == vtd::entry::TT_DEVICE_TLB && p_.device_tlb;
    const bool tt_ok = c.translation_type == vtd::entry::TT_UNTRANSLATED || c.translation_type == vtd::entry::TT_PASS_THROUGH || dt;
    if (!tt_ok || (c.translation_type != vtd::entry::TT_PASS_THROUGH && c.aw != vtd::aw_for(static_cast<unsigned>(p_.address_width)))) {
        why = fault_reason::context_invalid;
        return false;
    }
    return true;
}

bool iommu::walk(const context& c, std::uint64_t iova, translation& t, unsigned& order, fault_reason& why, bool write,
                 sc_time& delay) {
    ++walks_;
    const int top = static_cast<int>(vtd::levels_for(static_cast<unsigned>(p_.address_width)));
    std::uint64_t table = c.slptptr;
    // R and W apply to everything below an entry: the leaf grants only what
    // every level above it grants too (VT-d 3.x 3.7).
    bool read = true, write_ok = true;
    int start = top;
    // The paging-structure caches (VT-d 3.x 6.2.4): a hit on the entry of
    // level L gives the table of level L - 1 and the rights above it.
    paging_entry cached;
    if (const int hit = psc_.lookup(c.did, iova, top, cached)) {
        table = cached.table;
        read = cached.read;
        write_ok = cached.write;
        start = hit - 1;
    }
    for (int level = start; level >= 1; --level) {
        const unsigned shift = 12 + 9 * static_cast<unsigned>(level - 1);
        const std::uint64_t index = (iova >> shift) & 0x1ff;
        std::uint64_t e;
        delay += p_.walk_step_latency;  // the walker's own work per level, while it holds the walker
        if (!read_qword(table + index * 8, e, delay)) { why = fault_reason::paging_entry_access; return false; }
        if (!(e & (vtd::entry::R | vtd::entry::W))) {
            why = write ? fault_reason::write_not_permitted : fault_reason::read_not_permitted;
            return false;
        }
        read = read && (e & vtd::entry::R);
        write_ok = write_ok && (e & vtd::entry::W);
        if (level > 1 && (e & vtd::entry::PS)) {
            // PS is reserved at level 4, and at levels 3 and 2 unless CAP.SLLPS
            // advertises that page size (VT-d 3.x 9.8, second-level entries'
            // reserved bits; a set reserved bit faults with reason 0xC).
            const bool honoured = (level == 2 && (p_.sllps & vtd::cap::SLLPS_2M)) ||
                                  (level == 3 && (p_.sllps & vtd::cap::SLLPS_1G));
            if (!honoured) { why = fault_reason::reserved_paging; return false; }
        }
        const bool leaf = level == 1 || (e & vtd::entry::PS);  // bit 7 of a level-1 entry is ignored
        // Reserved fields of an entry with R or W set: 0xC (VT-d 3.x 9.8).
        if (e & vtd::entry::paging_reserved(static_cast<unsigned>(p_.address_width), leaf ? shift : 12)) {
            why = fault_reason::reserved_paging;
            return false;
        }
        if (leaf) {
            const std::uint64_t page_mask = (std::uint64_t(1) << shift) - 1;
            const std::uint64_t base = e & vtd::entry::ADDR_MASK & ~page_mask;
            if ((e & vtd::entry::ADDR_MASK) & page_mask) { why = fault_reason::reserved_paging; return false; }
            t.frame = (base | (iova & page_mask)) >> 12;
            t.read = read;
            t.write = write_ok;
            order = static_cast<unsigned>(9 * (level - 1));
            return true;
        }
        table = e & vtd::entry::ADDR_MASK;
        // A non-leaf entry of level 2..4 goes to that level's cache.
        psc_.insert(c.did, iova, level, {table, read, write_ok});
    }
    why = fault_reason::paging_entry_access;
    return false;
}

// What an invalidation (register-based or queued) removes from the caches:
// the single place that knows which caches hold what.
void iommu::drop_contexts(vtd::invalidation_granularity g, std::uint16_t did, std::uint16_t sid, unsigned function_mask) {
    if (g == vtd::invalidation_granularity::domain) ctx_.invalidate_domain(did);
    else if (g == vtd::invalidation_granularity::device_or_page) ctx_.invalidate_device(sid, function_mask);
    else ctx_.invalidate_all();
    sm_drop_contexts(g, did, sid);
}

// VT-d 3.x 6.5.1.2 (IOTLB invalidation): global and domain-selective drop
// the IOTLB and paging-structure cache entries of every (or the) domain;
// page-selective drops the IOTLB entries that overlap the 2^am pages at
// addr (a superpage entry included) and, unless IH is set, the
// paging-structure entries whose region overlaps them.
void iommu::drop_translations(vtd::invalidation_granularity g, std::uint16_t did, std::uint64_t addr, unsigned am, bool ih,
                              std::optional<std::uint32_t> pasid) {
    if (g == vtd::invalidation_granularity::domain) {
        tlb_.invalidate_domain(did, pasid);
        psc_.invalidate_domain(did);
    } else if (g == vtd::invalidation_granularity::device_or_page) {
        tlb_.invalidate_pages(did, addr >> 12, am, pasid);
        if (!ih) {
            const std::uint64_t size_log = std::min<unsigned>(12 + am, 63);
            const std::uint64_t first = addr & ~((std::uint64_t(1) << size_log) - 1);
            psc_.invalidate_range(did, first, first + ((std::uint64_t(1) << size_log) - 1));
        }
    } else {
        tlb_.invalidate_all();
        psc_.invalidate_all();
    }
}

} // namespace iotwin::iommu
