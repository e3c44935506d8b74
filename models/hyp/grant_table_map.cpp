// Mapping and copying grants: map_grant_ref, unmap_grant_ref,
// unmap_and_replace, copy, the maptrack handles, and releasing a dying
// domain's mappings (xen/common/grant_table.c of current Xen: map_grant_ref,
// unmap_common, unmap_common_complete, acquire_grant_for_copy,
// release_grant_for_copy, gnttab_copy_one, get_maptrack_handle,
// put_maptrack_handle, gnttab_release_mappings; the HVM host mapping is
// xen/arch/x86/hvm/grant_table.c's create/replace_grant_p2m_mapping).
//
// The hypervisor never trusts the shared entries: every decision reads the
// entry when it acts, the header is changed only by compare-and-exchange,
// and frame numbers are checked against the granter's memory.
#include "models/hyp/grant_table.h"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "models/hyp/hypervisor.h"

namespace iotwin::hyp::gnttab {

using sc_core::sc_time;

namespace {
// The writers' pin counters (host and device): GTF_writing stays while either counts.
constexpr std::uint32_t GNTPIN_hstw_mask = GNTPIN_cntr_mask * GNTPIN_hstw_inc;
constexpr std::uint32_t GNTPIN_devw_mask = GNTPIN_cntr_mask * GNTPIN_devw_inc;
constexpr std::uint32_t write_pins = GNTPIN_hstw_mask | GNTPIN_devw_mask;
// A pin count about to overflow (map_grant_ref's 0x80808080 test).
constexpr std::uint32_t pin_overflow = 0x80808080u;
// The retries of the header's compare-and-exchange before the entry is
// declared unstable (_set_status_v1: "retries++ == 4").
constexpr int cmpxchg_retries = 4;
// Guest frames an HVM P2M holds (x86: 52-bit physical addresses).
constexpr std::uint64_t max_gfn = (1ull << 40) - 1;

std::uint16_t flags_of(std::uint32_t header) { return static_cast<std::uint16_t>(header & 0xffff); }
domid_t domid_of(std::uint32_t header) { return static_cast<domid_t>(header >> 16); }
} // namespace

// --- maptrack ---------------------------------------------------------------

grant_tables::maptrack_list& grant_tables::mt(domid_t d) {
    if (mt_.size() <= d) mt_.resize(d + 1u);
    return mt_[d];
}

std::uint32_t grant_tables::get_maptrack_handle(domid_t ld) {
    table* lt = find(ld);
    if (!lt) return maptrack_tail;
    maptrack_list& l = mt(ld);
    // _get_maptrack_handle: one entry always stays in the free list (the tail).
    if (l.head != maptrack_tail && l.next[l.head] != maptrack_tail) {
        const std::uint32_t h = l.head;
        l.head = l.next[h];
        return h;
    }
    // A new maptrack frame while below max_maptrack_frames; its first entry
    // is the handle, the others go to the head of the free list.
    std::optional<std::uint64_t> frame;
    if (lt->maptrack_frames < lt->max_maptrack_frames) frame = h_.alloc_frame(DOMID_XEN);
    // No frame: Xen steals from another vCPU's list; the twin's domains have
    // one vCPU, whose list was just found empty.
    if (!frame) return maptrack_tail;
    const auto limit = static_cast<std::uint32_t>(lt->maptrack.size());
    l.frames.push_back(*frame);
    ++lt->maptrack_frames;
    lt->maptrack.resize(limit + maptrack_per_frame);
    l.next.resize(limit + maptrack_per_frame);
    for (std::uint32_t i = 0; i < maptrack_per_frame; ++i) l.next[limit + i] = limit + i + 1;
    if (l.tail == maptrack_tail) l.tail = limit + maptrack_per_frame - 1;
    l.next[limit + maptrack_per_frame - 1] = l.head;
    l.head = limit + 1;
    return limit;
}

void grant_tables::put_maptrack_handle(domid_t ld, std::uint32_t handle) {
    // To the tail of the free list: freed handles are reused last.
    maptrack_list& l = mt(ld);
    l.next[handle] = maptrack_tail;
    const std::uint32_t prev = l.tail;
    l.tail = handle;
    if (prev != maptrack_tail) l.next[prev] = handle;
}

// --- frames and entries -------------------------------------------------------

grant_tables::frame_lookup grant_tables::lookup_frame(const domain& rd, std::uint64_t frame) {
    // get_paged_frame: the page must be the granter's own. A dying domain's
    // P2M and memory are being torn down: nothing is found.
    if (rd.dying) return {GNTST_bad_page, 0};
    if (!rd.translated()) {
        // PV: the frame is a machine frame, which the granter must own.
        if (frame > max_gfn) return {GNTST_bad_page, 0};
        const std::uint64_t maddr = frame * page_size;
        if (h_.owner_of(maddr) != rd.id) return {GNTST_bad_page, 0};
        return {GNTST_okay, maddr};
    }
    // HVM: a guest frame through its P2M; a foreign (granted) page there is
    // refused (p2m_is_foreign / not p2m_ram).
    if (frame > max_gfn || rd.foreign.count(frame)) return {GNTST_bad_page, 0};
    if (const auto sh = rd.shared.find(frame); sh != rd.shared.end())
        return h_.owner_of(sh->second) == rd.id ? frame_lookup{GNTST_okay, sh->second} : frame_lookup{GNTST_bad_page, 0};
    if (const auto m = rd.to_machine(frame * page_size, page_size)) return {GNTST_okay, *m};
    return {GNTST_bad_page, 0};
}

int grant_tables::set_status(table& rt, grant_ref_t ref, active_entry& act, bool readonly, bool mapflag, domid_t ldom,
                             sc_time& d) {
    std::uint16_t mask = GTF_type_mask;
    if (mapflag) mask |= GTF_sub_page;  // a mapping never takes a sub-page grant
    if (rt.version == 1) {
        // _set_status_v1: set GTF_reading (and GTF_writing) in the header by
        // compare-and-exchange, re-checking what the guest may have changed.
        std::uint32_t seen = read_header(rt, ref, d);
        for (int retries = 0;; ++retries) {
            const std::uint16_t f = flags_of(seen);
            if (!act.pin && ((f & mask) != GTF_permit_access || domid_of(seen) != ldom)) return GNTST_general_error;
            std::uint16_t nf = static_cast<std::uint16_t>(f | GTF_reading);
            if (!readonly) {
                nf = static_cast<std::uint16_t>(nf | GTF_writing);
                if (f & GTF_readonly) return GNTST_general_error;  // write-pin of a read-only grant
            }
            const std::uint32_t want = (seen & 0xffff0000u) | nf;
            const std::uint32_t prev = cmpxchg_header(rt, ref, seen, want, d);
            if (prev == seen) return GNTST_okay;
            if (retries == cmpxchg_retries) return GNTST_general_error;  // "Shared grant entry is unstable"
            seen = prev;
        }
    }
    // _set_status_v2: check, set the status word, then check the header again.
    const auto bad = [&](std::uint32_t h) {
        const std::uint16_t f = flags_of(h);
        return ((f & mask) != GTF_permit_access && (mapflag || (f & mask) != GTF_transitive)) || domid_of(h) != ldom;
    };
    std::uint32_t h = read_header(rt, ref, d);
    if (!act.pin && bad(h)) return GNTST_general_error;
    if (!readonly && (flags_of(h) & GTF_readonly)) return GNTST_general_error;
    set_status_flags(rt, ref, readonly ? GTF_reading : GTF_reading | GTF_writing, d);
    h = read_header(rt, ref, d);
    if (!act.pin) {
        if (bad(h) || (!readonly && (flags_of(h) & GTF_readonly))) {
            clear_status_flags(rt, ref, GTF_writing | GTF_reading, d);
            return GNTST_general_error;
        }
    } else if (flags_of(h) & GTF_readonly) {
        clear_status_flags(rt, ref, GTF_writing, d);
        return GNTST_general_error;
    }
    return GNTST_okay;
}

bool grant_tables::need_iommu(const domain& ld, const domain& rd) const {
    // gnttab_need_iommu_mapping(): a PV domain's IO page tables follow its
    // grant mappings (dfn = mfn); a translated domain's follow its P2M. Not
    // for mapping one's own grants (map_grant_ref: ld != rd).
    return &ld != &rd && !ld.translated();
}

// --- map ----------------------------------------------------------------------

void grant_tables::map_one(domain& ld, gnttab::map_grant_ref& op, sc_time& d) {
    d += t_.op;
    if (!(op.flags & (GNTMAP_device_map | GNTMAP_host_map))) { op.status = GNTST_bad_gntref; return; }
    if (ld.translated() && (op.flags & (GNTMAP_device_map | GNTMAP_application_map | GNTMAP_contains_pte))) {
        op.status = GNTST_general_error;  // "No device mapping in HVM domain"
        return;
    }
    // rcu_lock_domain_by_id: a real domid only (DOMID_SELF is not one).
    domain* rd = h_.find(op.dom);
    table* rt = rd && !rd->released ? find(op.dom) : nullptr;
    if (!rt) { op.status = GNTST_bad_domain; return; }
    table* lt = find(ld.id);
    const std::uint32_t handle = get_maptrack_handle(ld.id);
    // No maptrack handle: GNTST_no_space since Xen 4.16 ("gnttab: introduce
    // GNTST_no_space", 2021; GNTST_no_device_space before, an IOMMU code).
    if (handle == maptrack_tail || !lt) { op.status = GNTST_no_space; return; }
    const bool ro = op.flags & GNTMAP_readonly;
    const auto fail = [&](int st) {
        op.status = static_cast<std::int16_t>(st);
        put_maptrack_handle(ld.id, handle);
    };
    if (op.ref >= rt->entries()) return fail(GNTST_bad_gntref);
    if (rt->active.size() < rt->entries()) rt->active.resize(rt->entries());
    active_entry& act = rt->active[op.ref];
    if (act.pin && (act.domid != ld.id || (act.pin & pin_overflow) || act.is_sub_page)) return fail(GNTST_general_error);

    // Clears what this attempt set when nothing else holds it (unlock_out_clear).
    const auto clear = [&]() {
        std::uint16_t bits = 0;
        if (!ro && !(act.pin & write_pins)) bits |= GTF_writing;
        if (!act.pin) bits |= GTF_reading;
        if (bits) clear_status_flags(*rt, op.ref, bits, d);
    };
    if (!act.pin || (!ro && !(act.pin & write_pins))) {
        if (const int rc = set_status(*rt, op.ref, act, ro, true, ld.id, d)) return fail(rc);
        if (!act.pin) {
            const shared_entry e = read_entry(*rt, op.ref, d);
            const frame_lookup f = lookup_frame(*rd, e.frame);
            if (f.status != GNTST_okay) { clear(); return fail(f.status); }
            act.domid = ld.id;
            act.maddr = f.maddr;
            act.start = 0;
            act.length = static_cast<std::uint16_t>(page_size);
            act.is_sub_page = false;
            act.src_domid = rd->id;
            act.trans_gref = op.ref;
        }
    }
    const std::uint32_t pins = ((op.flags & GNTMAP_device_map) ? (ro ? GNTPIN_devr_inc : GNTPIN_devw_inc) : 0) +
                               ((op.flags & GNTMAP_host_map) ? (ro ? GNTPIN_hstr_inc : GNTPIN_hstw_inc) : 0);
    act.pin += pins;
    const std::uint64_t maddr = act.maddr;
    const std::uint16_t cache_flags = flags_of(read_header(*rt, op.ref, d)) & (GTF_PAT | GTF_PWT | GTF_PCD);

    bool host_created = false;
    const std::uint64_t gfn = op.host_addr / page_size;  // the address's offset is dropped (addr >> PAGE_SHIFT)
    const auto undo = [&](int st) {
        if (host_created) { ld.foreign.erase(gfn); d += t_.pte_update; }
        act.pin -= pins;
        clear();
        fail(st);
    };
    // The page must still be the granter's (could_not_pin).
    if (h_.owner_of(maddr) != rd->id) return undo(GNTST_general_error);
    if (op.flags & GNTMAP_host_map) {
        // create_grant_p2m_mapping (HVM): only host_map (and readonly), no
        // cache attributes; the gfn must take a grant entry. A PV domain's
        // page-table entry takes the cache attributes and the other flags.
        if (ld.translated() && (cache_flags || (op.flags & ~GNTMAP_readonly) != GNTMAP_host_map)) return undo(GNTST_general_error);
        // A gfn beyond the P2M, or one that holds a grant mapping already
        // (Xen's p2m_add_page refuses it, and crashes the domain), fails.
        if (gfn > max_gfn || ld.foreign.count(gfn)) return undo(GNTST_general_error);
        ld.foreign[gfn] = foreign_page{maddr, ro, rd->id, op.ref, handle};
        d += t_.pte_update;
        host_created = true;
    }
    if (need_iommu(ld, *rd)) {
        // The identity IOMMU entry, counted per frame: read-write for the
        // first writable mapping, read-only for the first read-only one when
        // nothing writes (map_grant_ref's maptrack_tree).
        ever_iommu_.insert({ld.id, maddr});
        iommu_count& c = iommu_refs_[{ld.id, maddr}];
        ro ? ++c.rd : ++c.wr;
        int e = 0;
        if (!ro && c.wr == 1) e = h_.iommu_map_frame(ld.id, maddr, true, d);
        else if (ro && c.rd == 1 && !c.wr) e = h_.iommu_map_frame(ld.id, maddr, false, d);
        if (e) {
            ro ? --c.rd : --c.wr;
            if (!c.rd && !c.wr) iommu_refs_.erase({ld.id, maddr});
            return undo(GNTST_general_error);
        }
    }
    mapping& m = lt->maptrack[handle];
    m.in_use = true;
    m.ref = op.ref;
    m.domid = rd->id;
    m.flags = op.flags;
    m.host_addr = op.host_addr;
    m.dev_bus_addr = maddr;
    m.maddr = maddr;
    ++frame_refs_[maddr];
    ++maps_;
    op.dev_bus_addr = maddr;  // always written (current Xen)
    op.handle = handle;
    op.status = GNTST_okay;
}

long grant_tables::map_grant_ref(domid_t caller, gnttab::map_grant_ref* ops, unsigned count, sc_time& d) {
    domain* ld = h_.find(caller);
    if (!ld) return -ESRCH;
    for (unsigned i = 0; i < count; ++i) map_one(*ld, ops[i], d);
    return 0;
}

// --- unmap --------------------------------------------------------------------

void grant_tables::iommu_put(domain& ld, std::uint64_t maddr, bool readonly, sc_time& d) {
    const auto it = iommu_refs_.find({ld.id, maddr});
    if (it == iommu_refs_.end()) return;
    iommu_count& c = it->second;
    readonly ? --c.rd : --c.wr;
    if (!c.rd && !c.wr) {
        h_.iommu_unmap_frame(ld.id, maddr, d);  // with its IOTLB invalidation, before the call returns
        iommu_refs_.erase(it);
    } else if (!readonly && !c.wr) {
        h_.iommu_map_frame(ld.id, maddr, false, d);  // the last writer went: read-only from now on
    }
}

void grant_tables::drop_pins(domain& rd, grant_ref_t ref, std::uint32_t done, sc_time& d) {
    table* rt = find(rd.id);
    if (!rt || ref >= rt->active.size()) return;
    active_entry& act = rt->active[ref];
    const bool ro = done & GNTMAP_readonly;
    if (done & GNTMAP_device_map) act.pin -= ro ? GNTPIN_devr_inc : GNTPIN_devw_inc;
    if (done & GNTMAP_host_map) act.pin -= ro ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
    std::uint16_t bits = 0;
    if (!(act.pin & write_pins) && !ro) bits |= GTF_writing;
    if (!act.pin) bits |= GTF_reading;
    if (bits && ref < rt->entries()) clear_status_flags(*rt, ref, bits, d);
}

void grant_tables::mapping_gone(std::uint64_t maddr, domid_t granter, sc_time& d) {
    const auto it = frame_refs_.find(maddr);
    if (it != frame_refs_.end() && --it->second == 0) frame_refs_.erase(it);
    domain* rd = h_.find(granter);
    if (!rd || !rd->dying) return;
    // The granter is dying: a frame of its memory is freed when its last
    // mapping goes, and its table when nothing maps its grants any more.
    // (While its destruction is still relinquishing memory, that pass frees it.)
    if (rd->p2m.empty() && !frame_held(maddr) && h_.owner_of(maddr) == granter) h_.free_frame(maddr);
    finish_destroy(*rd, d);
}

void grant_tables::unmap_one(domain& ld, unmap_common& op, sc_time& d) {
    d += t_.op;
    table* lt = find(ld.id);
    if (!lt || op.handle >= lt->maptrack.size()) { op.status = GNTST_bad_handle; return; }
    mapping& m = lt->maptrack[op.handle];
    if (!m.in_use) { op.status = GNTST_bad_handle; return; }
    domain* rd = h_.find(m.domid);
    table* rt = find(m.domid);
    if (!rd || !rt || m.ref >= rt->entries() || m.ref >= rt->active.size()) { op.status = GNTST_bad_handle; return; }
    const grant_ref_t ref = m.ref;
    const active_entry& act = rt->active[ref];
    if (op.dev_bus_addr && op.dev_bus_addr != act.maddr) { op.status = GNTST_general_error; return; }
    std::uint32_t done = 0;
    if (op.host_addr && (m.flags & GNTMAP_host_map)) {
        // replace_grant_p2m_mapping: no new_addr for a translated domain; the
        // gfn must hold a grant mapping of this very frame.
        const std::uint64_t gfn = op.host_addr / page_size;
        const auto at = ld.foreign.find(gfn);
        if ((ld.translated() && op.new_addr) || at == ld.foreign.end() || at->second.maddr != act.maddr) {
            op.status = GNTST_general_error;
            return;
        }
        ld.foreign.erase(at);
        d += t_.pte_update;
        if (op.new_addr) {
            // PV: the entry at new_addr moves to host_addr, new_addr is cleared.
            const auto moved = ld.foreign.find(op.new_addr / page_size);
            if (moved != ld.foreign.end()) {
                ld.foreign[gfn] = moved->second;
                ld.foreign.erase(op.new_addr / page_size);
                d += t_.pte_update;
            }
        }
        m.flags &= ~GNTMAP_host_map;
        done |= GNTMAP_host_map | (m.flags & GNTMAP_readonly);
    }
    if (op.dev_bus_addr && (m.flags & GNTMAP_device_map)) {
        m.flags &= ~GNTMAP_device_map;
        done |= GNTMAP_device_map | (m.flags & GNTMAP_readonly);
    }
    op.status = GNTST_okay;
    const bool ro = m.flags & GNTMAP_readonly;
    const std::uint64_t maddr = m.maddr;
    const domid_t granter = m.domid;
    const bool put_handle = !(m.flags & (GNTMAP_device_map | GNTMAP_host_map));
    if (put_handle) {
        m = mapping{};
        put_maptrack_handle(ld.id, op.handle);
        if (need_iommu(ld, *rd)) iommu_put(ld, maddr, ro, d);
    }
    if (done) drop_pins(*rd, ref, done, d);
    if (put_handle) {
        ++unmaps_;
        mapping_gone(maddr, granter, d);
    }
}

domain* grant_tables::find_domain(domid_t id) { return h_.find(id); }

long grant_tables::unmap_grant_ref(domid_t caller, gnttab::unmap_grant_ref* ops, unsigned count, sc_time& d) {
    return unmap_batch(caller, ops, count, d, [](const gnttab::unmap_grant_ref& op, unmap_common& u) { u.dev_bus_addr = op.dev_bus_addr; });
}

long grant_tables::unmap_and_replace(domid_t caller, gnttab::unmap_and_replace* ops, unsigned count, sc_time& d) {
    return unmap_batch(caller, ops, count, d, [](const gnttab::unmap_and_replace& op, unmap_common& u) {
        u.new_addr = op.new_addr;
        u.replace = true;
    });
}

// --- copy ---------------------------------------------------------------------

int grant_tables::acquire_for_copy(domain& rd, grant_ref_t gref, domid_t ldom, bool readonly, bool allow_transitive,
                                   std::uint64_t& maddr, std::uint16_t& off, std::uint16_t& len, sc_time& d) {
    table* rt = find(rd.id);
    if (!rt || gref >= rt->entries()) return GNTST_bad_gntref;
    if (rt->active.size() < rt->entries()) rt->active.resize(rt->entries());
    active_entry& act = rt->active[gref];
    if (act.pin && (act.domid != ldom || (act.pin & pin_overflow))) return GNTST_general_error;
    const std::uint32_t old_pin = act.pin;
    const auto clear = [&]() {
        std::uint16_t bits = 0;
        if (!readonly && !(act.pin & write_pins)) bits |= GTF_writing;
        if (!act.pin) bits |= GTF_reading;
        if (bits) clear_status_flags(*rt, gref, bits, d);
    };
    const bool need_status = !old_pin || (!readonly && !(old_pin & write_pins));
    const std::uint32_t header = read_header(*rt, gref, d);
    if (rt->version == 2 && (flags_of(header) & GTF_type_mask) == GTF_transitive) {
        if (need_status)
            if (const int rc = set_status(*rt, gref, act, readonly, false, ldom, d)) return rc;
        if (!allow_transitive) { clear(); return GNTST_general_error; }
        const shared_entry e = read_entry(*rt, gref, d);  // read once: the guest may change it meanwhile
        if (e.trans_domid == rd.id) { clear(); return GNTST_general_error; }  // self-referential
        domain* td = h_.find(e.trans_domid);
        if (!td || td->released) { clear(); return GNTST_general_error; }
        std::uint64_t m = 0;
        std::uint16_t o = 0, l = 0;
        if (const int rc = acquire_for_copy(*td, e.trans_gref, rd.id, readonly, false, m, o, l, d)) {
            clear();  // fixup_status_for_copy_pin
            return rc;
        }
        if (!old_pin) {
            act.domid = ldom;
            act.start = o;
            act.length = l;
            act.src_domid = td->id;
            act.trans_gref = e.trans_gref;
            act.maddr = m;
            act.is_sub_page = true;  // blocks mapping a transitive grant
        }
    } else if (need_status) {
        if (const int rc = set_status(*rt, gref, act, readonly, false, ldom, d)) return rc;
        const shared_entry e = read_entry(*rt, gref, d);
        const frame_lookup f = lookup_frame(rd, e.frame);
        if (f.status != GNTST_okay) { clear(); return f.status; }
        const bool sub = rt->version == 2 && (e.flags & GTF_sub_page);
        if (!act.pin) {
            act.domid = ldom;
            act.is_sub_page = sub;
            act.start = sub ? e.page_off : 0;
            act.length = sub ? e.length : static_cast<std::uint16_t>(page_size);
            act.src_domid = rd.id;
            act.trans_gref = gref;
            act.maddr = f.maddr;
        }
    } else if (h_.owner_of(act.maddr) != rd.id || rd.dying) {
        clear();
        return GNTST_bad_domain;
    }
    act.pin += readonly ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
    off = act.start;
    len = act.length;
    maddr = act.maddr;
    return GNTST_okay;
}

void grant_tables::release_for_copy(domain& rd, grant_ref_t gref, bool readonly, sc_time& d) {
    table* rt = find(rd.id);
    if (!rt || gref >= rt->active.size()) return;
    active_entry& act = rt->active[gref];
    const domid_t td = rt->version == 1 ? rd.id : act.src_domid;
    const grant_ref_t tref = rt->version == 1 ? gref : act.trans_gref;
    std::uint16_t bits = 0;
    act.pin -= readonly ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
    if (!readonly && !(act.pin & write_pins)) bits |= GTF_writing;
    if (!act.pin) bits |= GTF_reading;
    if (bits) clear_status_flags(*rt, gref, bits, d);
    if (td != rd.id)
        if (domain* t = h_.find(td)) release_for_copy(*t, tref, readonly, d);
}

int grant_tables::copy_one(domain& ld, const gnttab::copy& op, sc_time& d) {
    // gnttab_copy_lock_domain: a frame only of DOMID_SELF; any domain by gref.
    const auto lock = [&](const copy_ptr& p, bool is_gref, copy_buf& b) -> int {
        if (p.domid != DOMID_SELF && !is_gref) return GNTST_permission_denied;
        domain* x = p.domid == DOMID_SELF ? &ld : h_.find(p.domid);
        if (!x || x->released) return GNTST_bad_domain;
        b.dom = x;
        return GNTST_okay;
    };
    copy_buf src, dst;
    src.readonly = true;
    dst.readonly = false;
    if (const int rc = lock(op.source, op.flags & GNTCOPY_source_gref, src)) return rc;
    if (const int rc = lock(op.dest, op.flags & GNTCOPY_dest_gref, dst)) return rc;
    const auto claim = [&](const copy_ptr& p, bool is_gref, copy_buf& b) -> int {
        if (is_gref) {
            const int rc = acquire_for_copy(*b.dom, p.ref, ld.id, b.readonly, true, b.maddr, b.off, b.len, d);
            if (rc) return rc;
            b.have_grant = true;
            b.ref = p.ref;
            return GNTST_okay;
        }
        const frame_lookup f = lookup_frame(*b.dom, p.gmfn);
        if (f.status) return f.status;
        b.maddr = f.maddr;
        b.off = 0;
        b.len = static_cast<std::uint16_t>(page_size);
        return GNTST_okay;
    };
    const auto release = [&](copy_buf& b) {
        if (b.have_grant) release_for_copy(*b.dom, b.ref, b.readonly, d);
        b.have_grant = false;
    };
    int rc = claim(op.source, op.flags & GNTCOPY_source_gref, src);
    if (!rc) rc = claim(op.dest, op.flags & GNTCOPY_dest_gref, dst);
    if (!rc) {
        // gnttab_copy_buf: within the page, then within what each grant allows.
        if (op.source.offset + op.len > int(page_size) || op.dest.offset + op.len > int(page_size)) rc = GNTST_bad_copy_arg;
        else if (op.source.offset < src.off || op.source.offset + op.len > src.off + src.len) rc = GNTST_general_error;
        else if (op.dest.offset < dst.off || op.dest.offset + op.len > dst.off + dst.len) rc = GNTST_general_error;
    }
    if (!rc && op.len) {
        // The hypervisor's own loads and stores of the two frames.
        std::vector<std::uint8_t> buf(op.len);
        h_.read_machine(src.maddr + op.source.offset, buf.data(), op.len, d);
        h_.write_machine(dst.maddr + op.dest.offset, buf.data(), op.len, d);
        d += t_.copy_per_byte * double(op.len);
        copied_bytes_ += op.len;
    }
    release(src);
    release(dst);
    return rc;
}

long grant_tables::copy(domid_t caller, gnttab::copy* ops, unsigned count, sc_time& d) {
    domain* ld = h_.find(caller);
    if (!ld) return -ESRCH;
    for (unsigned i = 0; i < count; ++i) {
        d += t_.op;
        ops[i].status = static_cast<std::int16_t>(copy_one(*ld, ops[i], d));
        ++copies_;
    }
    return 0;
}

// --- destruction --------------------------------------------------------------

void grant_tables::domain_destroyed(domain& dd, sc_time& d) {
    // gnttab_release_mappings: every mapping the dying domain holds, from
    // the last handle down, its pins dropped and GTF flags cleared; its
    // IOMMU entries and P2M entries removed.
    table* lt = find(dd.id);
    if (lt) {
        for (std::size_t h = lt->maptrack.size(); h-- > 0;) {
            mapping& m = lt->maptrack[h];
            if (!m.in_use) continue;
            domain* rd = h_.find(m.domid);
            const std::uint32_t flags = m.flags;
            const std::uint64_t maddr = m.maddr;
            const domid_t granter = m.domid;
            const grant_ref_t ref = m.ref;
            if (flags & GNTMAP_host_map) {
                const auto at = dd.foreign.find(m.host_addr / page_size);
                if (at != dd.foreign.end() && at->second.handle == h) {
                    dd.foreign.erase(at);
                    d += t_.pte_update;
                }
            }
            m = mapping{};
            if (rd && need_iommu(dd, *rd)) iommu_put(dd, maddr, flags & GNTMAP_readonly, d);
            if (rd) drop_pins(*rd, ref, flags & (GNTMAP_host_map | GNTMAP_device_map | GNTMAP_readonly), d);
            mapping_gone(maddr, granter, d);
        }
        for (std::uint64_t f : mt(dd.id).frames) h_.free_frame(f);
        mt_[dd.id] = maptrack_list{};
        lt->maptrack.clear();
        lt->maptrack_frames = 0;
    }
    dd.foreign.clear();
    finish_destroy(dd, d);
}

void grant_tables::finish_destroy(domain& dd, sc_time&) {
    if (!dd.dying || dd.released) return;
    // Others still map its grants: its table stays (grant_table_destroy runs
    // only when the domain's last reference goes).
    for (const auto& [frame, n] : frame_refs_)
        if (n && h_.owner_of(frame) == dd.id) return;
    if (table* t = find(dd.id)) {
        for (std::uint64_t f : t->frames) h_.free_frame(f);
        for (std::uint64_t f : t->status_frames) h_.free_frame(f);
        for (unsigned i = 0; i < t->frames.size(); ++i) dd.shared.erase(dd.grant_frame_gfn(i));
        for (unsigned i = 0; i < t->status_frames.size(); ++i) dd.shared.erase(dd.status_frame_gfn(i));
        t->frames.clear();
        t->status_frames.clear();
        t->active.clear();
    }
    dd.released = true;
}

// --- queries --------------------------------------------------------------------

bool grant_tables::frame_held(std::uint64_t maddr) const {
    const auto it = frame_refs_.find(maddr & ~(page_size - 1));
    return it != frame_refs_.end() && it->second > 0;
}

bool grant_tables::device_may_reach(domid_t mapper, std::uint64_t maddr, bool write) const {
    const auto it = iommu_refs_.find({mapper, maddr & ~(page_size - 1)});
    if (it == iommu_refs_.end()) return false;
    return write ? it->second.wr > 0 : (it->second.rd + it->second.wr) > 0;
}

bool grant_tables::host_mapping_allows(domid_t mapper, std::uint32_t handle, std::uint64_t maddr, bool write) const {
    const table* lt = find(mapper);
    if (!lt || handle >= lt->maptrack.size()) return false;
    const mapping& m = lt->maptrack[handle];
    if (!m.in_use || !(m.flags & GNTMAP_host_map) || m.maddr != (maddr & ~(page_size - 1))) return false;
    return !write || !(m.flags & GNTMAP_readonly);
}

const mapping* grant_tables::mapping_of(domid_t mapper, std::uint64_t maddr) const {
    const table* lt = find(mapper);
    if (!lt) return nullptr;
    for (const mapping& m : lt->maptrack)
        if (m.in_use && m.maddr == (maddr & ~(page_size - 1))) return &m;
    return nullptr;
}

} // namespace iotwin::hyp::gnttab
