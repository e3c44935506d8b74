// DMA remapping: the context lookup and the second-level page walk.
#include "models/iommu/iommu.h"

#include <cstring>

#include "models/common/payload.h"

namespace iotwin::iommu {

using namespace sc_core;
using vtd::fault_reason;

iommu::outcome iommu::translate(std::uint16_t sid, std::uint64_t iova, bool write, sc_time& delay) {
    outcome o;
    context c;
    if (const context* cached = ctx_.lookup(sid)) {
        c = *cached;
    } else if (!fetch_context(sid, c, o.reason, delay)) {
        o.ok = false;
        return o;
    } else {
        ctx_.insert(sid, c);
    }
    o.fpd = c.fault_processing_disable;
    o.did = c.did;
    if (c.translation_type == vtd::entry::TT_PASS_THROUGH) {
        o.t = {iova >> 12, true, true};
        o.pass_through = true;
        return o;
    }
    if (iova >> p_.address_width) {
        o.ok = false;
        o.reason = fault_reason::address_beyond_mgaw;
        return o;
    }
    const std::uint64_t page = iova >> 12;
    if (const translation* t = tlb_.lookup(c.did, page)) {
        o.t = *t;
    } else if (walk(c, iova, o.t, o.reason, write, delay)) {
        tlb_.insert(c.did, page, o.t);
    } else {
        o.ok = false;
        return o;
    }
    if (write ? !o.t.write : !o.t.read) {
        o.ok = false;
        o.reason = write ? fault_reason::write_not_permitted : fault_reason::read_not_permitted;
    }
    return o;
}

bool iommu::read_qword(std::uint64_t addr, std::uint64_t& v, sc_time& delay) {
    std::uint8_t buf[8];
    tlm::tlm_generic_payload gp;
    prepare(gp, tlm::TLM_READ_COMMAND, addr, buf, 8);
    mem_out->b_transport(gp, delay);
    ++walk_reads_;
    if (!gp.is_response_ok()) return false;
    std::memcpy(&v, buf, 8);
    return true;
}

bool iommu::fetch_context(std::uint16_t sid, context& c, fault_reason& why, sc_time& delay) {
    if (!(gsts_ & vtd::gsts::RTPS)) { why = fault_reason::root_table_invalid; return false; }
    std::uint64_t root_lo, ctx_lo, ctx_hi;
    if (!read_qword(root_table_ + (sid >> 8) * 16, root_lo, delay)) { why = fault_reason::root_table_invalid; return false; }
    if (!(root_lo & vtd::entry::P)) { why = fault_reason::root_not_present; return false; }
    const std::uint64_t ce = (root_lo & vtd::entry::ADDR_MASK) + (sid & 0xff) * 16;
    if (!read_qword(ce, ctx_lo, delay) || !read_qword(ce + 8, ctx_hi, delay)) {
        why = fault_reason::context_invalid;
        return false;
    }
    c.present = ctx_lo & vtd::entry::P;
    c.fault_processing_disable = ctx_lo & vtd::entry::FPD;
    if (!c.present) { why = fault_reason::context_not_present; return false; }
    c.translation_type = (ctx_lo >> vtd::entry::TT_SHIFT) & 3;
    c.slptptr = ctx_lo & vtd::entry::ADDR_MASK;
    c.aw = static_cast<unsigned>(ctx_hi & 7);
    c.did = static_cast<std::uint16_t>((ctx_hi >> 8) & 0xffff);
    const bool tt_ok = c.translation_type == vtd::entry::TT_UNTRANSLATED || c.translation_type == vtd::entry::TT_PASS_THROUGH;
    if (!tt_ok || (c.translation_type == vtd::entry::TT_UNTRANSLATED && c.aw != vtd::aw_for(static_cast<unsigned>(p_.address_width)))) {
        why = fault_reason::context_invalid;
        return false;
    }
    return true;
}

bool iommu::walk(const context& c, std::uint64_t iova, translation& t, fault_reason& why, bool write, sc_time& delay) {
    ++walks_;
    std::uint64_t table = c.slptptr;
    // R and W apply to everything below an entry: the leaf grants only what
    // every level above it grants too (VT-d 3.x 3.7).
    bool read = true, write_ok = true;
    for (int level = static_cast<int>(vtd::levels_for(static_cast<unsigned>(p_.address_width))); level >= 1; --level) {
        const unsigned shift = 12 + 9 * (level - 1);
        const std::uint64_t index = (iova >> shift) & 0x1ff;
        std::uint64_t e;
        occupy(walker_, delay, p_.walk_step_latency);
        if (!read_qword(table + index * 8, e, delay)) { why = fault_reason::paging_entry_access; return false; }
        if (!(e & (vtd::entry::R | vtd::entry::W))) {
            why = write ? fault_reason::write_not_permitted : fault_reason::read_not_permitted;
            return false;
        }
        read = read && (e & vtd::entry::R);
        write_ok = write_ok && (e & vtd::entry::W);
        const bool leaf = level == 1 || ((level == 2 || level == 3) && (e & vtd::entry::PS));
        if (leaf) {
            const std::uint64_t page_mask = (std::uint64_t(1) << shift) - 1;
            const std::uint64_t base = e & vtd::entry::ADDR_MASK & ~page_mask;
            if ((e & vtd::entry::ADDR_MASK) & page_mask) { why = fault_reason::reserved_paging; return false; }
            t.frame = (base | (iova & page_mask)) >> 12;
            t.read = read;
            t.write = write_ok;
            return true;
        }
        if (level == 4 && (e & vtd::entry::PS)) { why = fault_reason::reserved_paging; return false; }
        table = e & vtd::entry::ADDR_MASK;
    }
    why = fault_reason::paging_entry_access;
    return false;
}

// What an invalidation (register-based or queued) removes from the caches:
// the single place that knows which caches hold what.
void iommu::drop_contexts(vtd::invalidation_granularity g, std::uint16_t did, std::uint16_t sid, unsigned function_mask) {
    (void)function_mask;
    if (g == vtd::invalidation_granularity::domain) ctx_.invalidate_domain(did);
    else if (g == vtd::invalidation_granularity::device_or_page) ctx_.invalidate_device(sid);
    else ctx_.invalidate_all();
}

void iommu::drop_translations(vtd::invalidation_granularity g, std::uint16_t did, std::uint64_t addr, unsigned am) {
    if (g == vtd::invalidation_granularity::domain) tlb_.invalidate_domain(did);
    else if (g == vtd::invalidation_granularity::device_or_page) tlb_.invalidate_pages(did, addr >> 12, am);
    else tlb_.invalidate_all();
}

} // namespace iotwin::iommu
