// The table itself: creation and growth, versions, status frames, swap,
// dump and page transfer (xen/common/grant_table.c, current Xen: 4.17+
// unless a comment says otherwise).
#include "models/hyp/grant_table.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "models/hyp/hypervisor.h"

namespace iotwin::hyp::gnttab {

using sc_core::sc_time;

namespace {

// INITIAL_NR_GRANT_FRAMES (asm/grant_table.h): what gnttab_grow_table()
// allocates at least, and so what grant_table_init() gives a new domain.
constexpr unsigned initial_nr_grant_frames = 1;
// Pages a domain may receive beyond its memory by transfer before
// gnttab_transfer() finds no headroom (domain_tot_pages(e) >= e->max_pages):
// libxl sets max_pages to the target plus LIBXL_MAXMEM_CONSTANT (1 MiB).
constexpr long maxmem_slack_pages = 256;

void clear_frame(hypervisor& h, std::uint64_t maddr, sc_time& tm) {
    static const std::uint8_t zero[page_size] = {};
    h.write_machine(maddr, zero, page_size, tm);
}

// The P2M of a domain as the transfer changes it (guest_physmap_remove_page /
// guest_physmap_add_page): extents split around one page.
void p2m_remove_gpa(domain& d, std::uint64_t gpa) {
    for (std::size_t i = 0; i < d.p2m.size(); ++i) {
        const extent e = d.p2m[i];
        if (gpa < e.gpa || gpa - e.gpa >= e.size) continue;
        std::vector<extent> parts;
        if (gpa > e.gpa) parts.push_back({e.gpa, e.maddr, gpa - e.gpa});
        const std::uint64_t after = gpa + page_size;
        if (after < e.gpa + e.size) parts.push_back({after, e.maddr + (after - e.gpa), e.gpa + e.size - after});
        d.p2m.erase(d.p2m.begin() + static_cast<long>(i));
        d.p2m.insert(d.p2m.begin() + static_cast<long>(i), parts.begin(), parts.end());
        return;
    }
}

std::optional<std::uint64_t> p2m_gpa_of(const domain& d, std::uint64_t maddr) {
    for (const extent& e : d.p2m)
        if (maddr >= e.maddr && maddr - e.maddr < e.size) return e.gpa + (maddr - e.maddr);
    return std::nullopt;
}

void p2m_add(domain& d, std::uint64_t gpa, std::uint64_t maddr) {
    p2m_remove_gpa(d, gpa);
    const auto at = std::lower_bound(d.p2m.begin(), d.p2m.end(), gpa, [](const extent& e, std::uint64_t a) { return e.gpa < a; });
    d.p2m.insert(at, extent{gpa, maddr, page_size});
}

std::uint64_t frame_number(const domain& d, unsigned i, std::uint64_t maddr, bool status) {
    // What setup_table / get_status_frames write: gnttab_shared_gfn() /
    // gnttab_status_gfn() (x86 asm/grant_table.h) are mfn_to_gfn(): the
    // machine frame for a PV domain, for a translated one the guest frame it
    // is placed at (its M2P entry; the twin places every frame, as an HVM
    // guest does with XENMEM_add_to_physmap).
    if (d.translated()) return status ? d.status_frame_gfn(i) : d.grant_frame_gfn(i);
    return maddr / page_size;
}

} // namespace

domain* grant_tables::by_any_id(domid_t caller, domid_t dom) {
    // rcu_lock_domain_by_any_id(): DOMID_SELF is the caller.
    domain* d = h_.find(dom == DOMID_SELF ? caller : dom);
    return d && d->id < tables_.size() ? d : nullptr;
}

bool grant_tables::may_target(domid_t caller, const domain& target) {
    // The dummy XSM policy's XSM_TARGET (xsm/dummy.h xsm_default_action):
    // the domain itself, or a control (privileged) domain.
    if (caller == target.id) return true;
    const domain* c = h_.find(caller);
    return c && c->privileged;
}

bool grant_tables::alloc_cleared(domain& d, unsigned n, std::vector<std::uint64_t>& out, sc_time& tm) {
    // All `n` frames, each cleared, or none (what was taken goes back).
    for (unsigned i = 0; i < n; ++i) {
        const auto f = h_.alloc_frame(d.id);
        if (!f) {
            for (std::uint64_t m : out) h_.free_frame(m);
            out.clear();
            ++grow_failures_;
            return false;
        }
        clear_frame(h_, *f, tm);
        out.push_back(*f);
    }
    return true;
}

int grant_tables::populate_status_frames(domain& d, table& t, unsigned nr_grant_frames, sc_time& tm) {
    // gnttab_populate_status_frames(): allocate every missing status frame,
    // undo on failure (-ENOMEM), then share them all with the domain.
    const unsigned want = status_frames_for(nr_grant_frames);
    std::vector<std::uint64_t> fresh;
    if (want > t.status_frames.size() && !alloc_cleared(d, want - static_cast<unsigned>(t.status_frames.size()), fresh, tm)) return -ENOMEM;
    for (std::uint64_t m : fresh) {
        d.shared[d.status_frame_gfn(static_cast<unsigned>(t.status_frames.size()))] = m;
        t.status_frames.push_back(m);
        ++status_frames_allocated_;
        tm += t_.pte_update;
    }
    return 0;
}

void grant_tables::unpopulate_status_frames(domain& d, table& t) {
    // gnttab_unpopulate_status_frames(): each frame leaves the domain's
    // physmap and goes back to the heap. (Xen answers -EBUSY when a PV guest
    // still holds a reference to one; nothing in the twin can take such a
    // reference.)
    for (std::size_t i = 0; i < t.status_frames.size(); ++i) {
        d.shared.erase(d.status_frame_gfn(static_cast<unsigned>(i)));
        h_.free_frame(t.status_frames[i]);
    }
    t.status_frames.clear();
}

int grant_tables::grow_table(domain& d, table& t, unsigned nr_frames, sc_time& tm) {
    // gnttab_grow_table(): at least INITIAL_NR_GRANT_FRAMES; shared frames
    // allocated and cleared, then (v2) the status frames; any allocation
    // failure undoes this call's frames and gives -ENOMEM.
    nr_frames = std::max(nr_frames, initial_nr_grant_frames);
    nr_frames = std::min(nr_frames, t.max_frames);
    std::vector<std::uint64_t> fresh;
    if (nr_frames > t.frames.size() && !alloc_cleared(d, nr_frames - static_cast<unsigned>(t.frames.size()), fresh, tm)) return -ENOMEM;
    if (t.version > 1) {
        if (const int e = populate_status_frames(d, t, nr_frames, tm)) {
            for (std::uint64_t m : fresh) h_.free_frame(m);
            return e;
        }
    }
    for (std::uint64_t m : fresh) {
        d.shared[d.grant_frame_gfn(static_cast<unsigned>(t.frames.size()))] = m;
        t.frames.push_back(m);
        ++frames_allocated_;
        tm += t_.pte_update;
    }
    // Active entries for every v1-sized entry, as Xen sizes them
    // (num_act_frames_from_sha_frames).
    t.active.resize(t.frames.size() * v1_per_frame);
    return 0;
}

int grant_tables::domain_created(domain& d, unsigned version, unsigned max_version, unsigned max_frames,
                                 unsigned max_maptrack_frames, sc_time& tm) {
    if (tables_.size() <= d.id) tables_.resize(d.id + 1u);
    if (page_delta_.size() <= d.id) page_delta_.resize(d.id + 1u, 0);
    page_delta_[d.id] = 0;
    table& t = tables_[d.id];
    t = table{};
    t.owner = d.id;
    // grant_table_init(): max_grant_frames below INITIAL_NR_GRANT_FRAMES is
    // -EINVAL; domain_create() refuses a max version beyond 2 the same way.
    if (max_frames < initial_nr_grant_frames || max_version < 1 || max_version > 2 || version < 1 || version > max_version)
        return EINVAL;
    t.version = 1;
    t.max_version = max_version;
    t.max_frames = max_frames;
    t.max_maptrack_frames = max_maptrack_frames;
    if (const int e = grow_table(d, t, 0, tm)) return -e;
    // The guest's kernel selecting v2 at boot: GNTTABOP_set_version(2) on a
    // table nothing uses yet.
    if (version == 2)
        if (const int e = set_version_of(d, t, 2, tm)) return -e;
    return 0;
}

long grant_tables::setup_table(domid_t caller, gnttab::setup_table* ops, unsigned count, sc_time& tm) {
    // gnttab_setup_table(): only one structure per call.
    if (count != 1) return -EINVAL;
    if (!ops) return -EFAULT;
    gnttab::setup_table& op = ops[0];
    tm += t_.op;
    op.frame_list.clear();
    domain* d = by_any_id(caller, op.dom);
    if (!d) {
        op.status = GNTST_bad_domain;
        return 0;
    }
    if (!may_target(caller, *d)) {
        op.status = GNTST_permission_denied;
        return 0;
    }
    table& t = tables_[d->id];
    if (op.nr_frames > t.max_frames) {
        op.status = GNTST_general_error;  // "d%d is limited to %u grant-table frames"
        return 0;
    }
    const bool grow = op.nr_frames > t.frames.size() ||
                      (t.version > 1 && status_frames_for(op.nr_frames) > t.status_frames.size());
    if (grow && grow_table(*d, t, op.nr_frames, tm)) {
        op.status = GNTST_general_error;  // "Expand grant table of d%d to %u failed"
        return 0;
    }
    op.status = GNTST_okay;
    for (unsigned i = 0; i < op.nr_frames; ++i) op.frame_list.push_back(frame_number(*d, i, t.frames[i], false));
    return 0;
}

long grant_tables::dump_table(domid_t, gnttab::dump_table*, unsigned, sc_time&) {
    // Current Xen's do_grant_table_op() has no GNTTABOP_dump_table case (it
    // was a GRANT_DEBUG-only operation of early Xen): the default, -ENOSYS.
    return -ENOSYS;
}

long grant_tables::query_size(domid_t caller, gnttab::query_size* ops, unsigned count, sc_time& tm) {
    // gnttab_query_size().
    if (count != 1) return -EINVAL;
    if (!ops) return -EFAULT;
    gnttab::query_size& op = ops[0];
    tm += t_.op;
    const domain* d = by_any_id(caller, op.dom);
    if (!d) {
        op.status = GNTST_bad_domain;
        return 0;
    }
    if (!may_target(caller, *d)) {  // xsm_grant_query_size(XSM_TARGET)
        op.status = GNTST_permission_denied;
        return 0;
    }
    const table& t = tables_[d->id];
    op.nr_frames = static_cast<std::uint32_t>(t.frames.size());
    op.max_nr_frames = t.max_frames;
    op.status = GNTST_okay;
    return 0;
}

int grant_tables::set_version_of(domain& d, table& t, unsigned version, sc_time& tm) {
    // gnttab_set_version() from the point where the version changes.
    // Entries beyond the reserved ones must not be in use (pinned).
    const unsigned nr_ents = t.entries();
    for (unsigned i = nr_reserved_entries; i < nr_ents && i < t.active.size(); ++i)
        if (t.active[i].pin) return -EBUSY;
    const std::uint64_t f0 = t.frames.at(0);
    if (t.version == 1) {
        if (const int e = populate_status_frames(d, t, static_cast<unsigned>(t.frames.size()), tm)) return e;
    } else {
        // v2 -> v1: a reserved entry v1 cannot express is -ERANGE: a
        // full-page grant of a frame beyond 32 bits, or a transitive grant.
        for (unsigned i = 0; i < nr_reserved_entries; ++i) {
            const shared_entry e = read_entry(t, i, tm);
            const unsigned type = e.flags & GTF_type_mask;
            if ((type == GTF_permit_access && (e.frame >> 32)) || type == GTF_transitive) return -ERANGE;
        }
    }
    // The reserved entries (console, xenstore) are kept across the switch,
    // as v1 entries: v2 ones other than permit_access become invalid, and a
    // v2 entry's status word joins its flags.
    struct v1e { std::uint16_t flags, domid; std::uint32_t frame; };
    v1e keep[nr_reserved_entries] = {};
    for (unsigned i = 0; i < nr_reserved_entries; ++i) {
        if (t.version == 1) {
            const shared_entry e = read_entry(t, i, tm);
            keep[i] = {e.flags, e.domid, static_cast<std::uint32_t>(e.frame)};
            continue;
        }
        const shared_entry e = read_entry(t, i, tm);
        if ((e.flags & GTF_type_mask) == GTF_permit_access)
            keep[i] = {static_cast<std::uint16_t>(e.flags | status_flags(t, i, tm)), e.domid, static_cast<std::uint32_t>(e.frame)};
    }
    if (version < 2 && t.version == 2) unpopulate_status_frames(d, t);
    // "Make sure there's no crud left over from the old version."
    for (std::uint64_t m : t.frames) clear_frame(h_, m, tm);
    for (unsigned i = 0; i < nr_reserved_entries; ++i) {
        if (version == 1) {
            std::uint8_t raw[v1_entry_size];
            std::memcpy(raw, &keep[i].flags, 2);
            std::memcpy(raw + 2, &keep[i].domid, 2);
            std::memcpy(raw + 4, &keep[i].frame, 4);
            h_.write_machine(f0 + i * v1_entry_size, raw, v1_entry_size, tm);
        } else {
            const std::uint16_t st = keep[i].flags & (GTF_reading | GTF_writing);
            const std::uint16_t fl = keep[i].flags & ~(GTF_reading | GTF_writing);
            const std::uint64_t frame = keep[i].frame;
            h_.write_machine(t.status_frames.at(0) + i * status_entry_size, &st, 2, tm);
            h_.write_machine(f0 + i * v2_entry_size, &fl, 2, tm);
            h_.write_machine(f0 + i * v2_entry_size + 2, &keep[i].domid, 2, tm);
            h_.write_machine(f0 + i * v2_entry_size + 8, &frame, 8, tm);
        }
    }
    t.version = version;
    ++version_switches_;
    return 0;
}

long grant_tables::set_version(domid_t caller, gnttab::set_version* op, unsigned, sc_time& tm) {
    // gnttab_set_version() (the count is not looked at).
    if (!op) return -EFAULT;
    ++set_version_calls_;
    tm += t_.op;
    domain* d = h_.find(caller);
    table* t = find(caller);
    if (!d || !t || t->frames.empty()) return -EINVAL;
    long res = 0;
    if (op->version != 1 && op->version != 2)
        res = -EINVAL;
    else if (op->version == 2 && t->max_version == 1)
        res = -ENOSYS;  // "Behave as before set_version was introduced." (Xen 4.16+: per-domain max_version)
    else if (t->version != op->version)
        res = set_version_of(*d, *t, op->version, tm);
    op->version = t->version;  // written back whatever the outcome
    return res;
}

long grant_tables::get_status_frames(domid_t caller, gnttab::get_status_frames* ops, unsigned count, sc_time& tm) {
    // gnttab_get_status_frames().
    if (count != 1) return -EINVAL;
    if (!ops) return -EFAULT;
    gnttab::get_status_frames& op = ops[0];
    tm += t_.op;
    op.frame_list.clear();
    const domain* d = by_any_id(caller, op.dom);
    if (!d) {
        op.status = GNTST_bad_domain;
        return 0;
    }
    if (!may_target(caller, *d)) {  // xsm_grant_setup(XSM_TARGET)
        op.status = GNTST_permission_denied;
        return 0;
    }
    const table& t = tables_[d->id];
    // A v1 table has no status frames: any nr_frames above 0 is beyond them.
    if (op.nr_frames > t.status_frames.size()) {
        op.status = GNTST_general_error;
        return 0;
    }
    op.status = GNTST_okay;
    for (unsigned i = 0; i < op.nr_frames; ++i) op.frame_list.push_back(frame_number(*d, i, t.status_frames[i], true));
    return 0;
}

long grant_tables::get_version(domid_t caller, gnttab::get_version* op, unsigned, sc_time& tm) {
    // gnttab_get_version(): errors are the hypercall's return, not a status.
    if (!op) return -EFAULT;
    tm += t_.op;
    const domain* d = by_any_id(caller, op->dom);
    if (!d) return -ESRCH;
    if (!may_target(caller, *d)) return -EPERM;  // xsm_grant_query_size(XSM_TARGET)
    op->version = tables_[d->id].version;
    return 0;
}

std::int16_t grant_tables::swap_one(table& t, grant_ref_t a, grant_ref_t b, sc_time& tm) {
    // swap_grant_ref(): bounds first, then the same ref is a no-op, then a
    // pinned entry is GNTST_eagain; entries (and v2 status words) swap whole.
    const unsigned n = t.entries();
    if (a >= n || b >= n) return GNTST_bad_gntref;
    if (a == b) return GNTST_okay;
    if ((a < t.active.size() && t.active[a].pin) || (b < t.active.size() && t.active[b].pin)) return GNTST_eagain;
    const unsigned size = t.version == 1 ? v1_entry_size : v2_entry_size;
    std::uint8_t ea[v2_entry_size], eb[v2_entry_size];
    h_.read_machine(entry_maddr(t, a), ea, size, tm);
    h_.read_machine(entry_maddr(t, b), eb, size, tm);
    h_.write_machine(entry_maddr(t, a), eb, size, tm);
    h_.write_machine(entry_maddr(t, b), ea, size, tm);
    if (t.version == 2) {
        std::uint16_t sa = 0, sb = 0;
        h_.read_machine(status_maddr(t, a), &sa, 2, tm);
        h_.read_machine(status_maddr(t, b), &sb, 2, tm);
        h_.write_machine(status_maddr(t, a), &sb, 2, tm);
        h_.write_machine(status_maddr(t, b), &sa, 2, tm);
    }
    ++swaps_;
    return GNTST_okay;
}

long grant_tables::swap_grant_ref(domid_t caller, gnttab::swap_grant_ref* ops, unsigned count, sc_time& tm) {
    table* t = find(caller);
    for (unsigned i = 0; i < count; ++i) {
        tm += t_.op;
        ops[i].status = t && !t->frames.empty() ? swap_one(*t, ops[i].ref_a, ops[i].ref_b, tm) : std::int16_t(GNTST_bad_gntref);
    }
    return 0;
}

bool grant_tables::page_in_use(std::uint64_t maddr) const {
    // References steal_page() finds beyond PGC_allocated: a grant of the
    // frame pinned (mapped or being copied), the frame mapped through a
    // grant into some domain, or mapped in an IO page table for a device
    // (it would stay reachable by the giver's devices after the transfer).
    if (h_.io_mapped(maddr)) return true;
    for (const table& t : tables_)
        for (const active_entry& a : t.active)
            if (a.pin && (a.maddr & ~(page_size - 1)) == maddr) return true;
    for (const domain& x : h_.domains())
        for (const auto& [gfn, f] : x.foreign)
            if ((f.maddr & ~(page_size - 1)) == maddr) return true;
    return false;
}

bool grant_tables::prepare_for_transfer(domain& e, domid_t giver, grant_ref_t ref, sc_time& tm) {
    // gnttab_prepare_for_transfer(): the receiving entry must say exactly
    // GTF_accept_transfer for the giver; GTF_transfer_committed is set with
    // compare-and-exchange, retried at most 4 times if the guest keeps
    // changing the entry ("Shared grant entry is unstable").
    table& t = tables_[e.id];
    if (ref >= t.entries()) return false;
    std::uint32_t seen = read_header(t, ref, tm);
    for (int retries = 0;; ++retries) {
        const std::uint16_t flags = static_cast<std::uint16_t>(seen & 0xffff);
        const domid_t domid = static_cast<domid_t>(seen >> 16);
        if (flags != GTF_accept_transfer || domid != giver) return false;
        const std::uint32_t desired = seen | GTF_transfer_committed;
        const std::uint32_t prev = cmpxchg_header(t, ref, seen, desired, tm);
        if (prev == seen) return true;
        if (retries == 4) return false;
        seen = prev;
    }
}

std::int16_t grant_tables::transfer_one(domain& d, gnttab::transfer& op, sc_time& tm) {
    // gnttab_transfer(), one structure.
    if (d.translated()) {
        // get_gfn_unshare(): a frame that is not RAM of the caller (nothing
        // there, or a grant mapping) is INVALID_MFN -> GNTST_bad_page; any
        // other frame reaches steal_page(), which refuses every translated
        // domain (x86 mm.c: paging_mode_external -> -EOPNOTSUPP), and
        // anything but -EINVAL is GNTST_general_error.
        if (op.mfn > (~0ull >> 12)) return GNTST_bad_page;
        const auto tg = d.translate(op.mfn * page_size);
        if (!tg || tg->foreign) return GNTST_bad_page;
        return GNTST_general_error;
    }
    // PV: `mfn` is a machine frame. steal_page() wants a frame the caller
    // owns, that is not a hypervisor page shared with it (grant, status,
    // shared-info frames: is_special_page) and that nothing else holds a
    // reference to; each is -EINVAL -> GNTST_bad_page (as is a frame that is
    // not RAM at all, !mfn_valid).
    if (op.mfn > (~0ull >> 12)) return GNTST_bad_page;
    const std::uint64_t maddr = op.mfn * page_size;
    if (h_.owner_of(maddr) != d.id) return GNTST_bad_page;
    for (const auto& [gfn, m] : d.shared)
        if (m == maddr) return GNTST_bad_page;
    if (page_in_use(maddr)) return GNTST_bad_page;
    // Stolen: the page leaves the caller's physmap (the PV guest's own
    // pfn_to_mfn entry goes with it) and its allocation.
    if (const auto gpa = p2m_gpa_of(d, maddr)) p2m_remove_gpa(d, *gpa);
    tm += t_.pte_update;
    --page_delta_[d.id];
    // From here on a failure frees the stolen page to the heap: the caller
    // has lost it (free_domheap_page on every error path after steal_page).
    auto lose = [&](std::int16_t st) {
        h_.free_frame(maddr);
        ++transfers_failed_;
        return st;
    };
    // rcu_lock_domain_by_id(): DOMID_SELF is not accepted here.
    domain* e = op.domid < tables_.size() ? h_.find(op.domid) : nullptr;
    if (!e) return lose(GNTST_bad_domain);
    // (The address-width clamp for a v1 PV receiver, 44 bits, never binds
    // in the twin's machine memory.)
    const long max_pages = static_cast<long>(e->memory / page_size) + maxmem_slack_pages;
    const long tot_pages = static_cast<long>(e->memory / page_size) + page_delta_[e->id];
    if (e->dying || tot_pages >= max_pages) return lose(GNTST_general_error);
    if (!prepare_for_transfer(*e, d.id, op.ref, tm)) return lose(GNTST_general_error);
    // assign_pages(): the frame is the receiver's now.
    h_.set_owner(maddr, e->id);
    ++page_delta_[e->id];
    // "Tell the guest about its new page frame": the physmap entry at the
    // frame the entry names (re-read now), then for a PV receiver the
    // machine frame written back into the entry, a write barrier, and
    // GTF_transfer_completed.
    table& rt = tables_[e->id];
    const shared_entry se = read_entry(rt, op.ref, tm);
    const std::uint64_t gfn = se.frame;
    // guest_physmap_add_page()'s result is not checked by Xen: a frame
    // outside the receiver's RAM leaves the page owned but not mapped.
    if (gfn < e->special_gfn()) {
        p2m_add(*e, gfn * page_size, maddr);
        tm += t_.pte_update;
    }
    if (!e->translated()) {
        if (rt.version == 1) {
            const auto f = static_cast<std::uint32_t>(op.mfn);
            h_.write_machine(entry_maddr(rt, op.ref) + 4, &f, 4, tm);
        } else {
            const std::uint64_t f = op.mfn;
            h_.write_machine(entry_maddr(rt, op.ref) + 8, &f, 8, tm);
        }
    }
    std::uint16_t flags = 0;
    h_.read_machine(entry_maddr(rt, op.ref), &flags, 2, tm);
    flags = static_cast<std::uint16_t>(flags | GTF_transfer_completed);
    h_.write_machine(entry_maddr(rt, op.ref), &flags, 2, tm);
    ++transfers_;
    return GNTST_okay;
}

long grant_tables::transfer(domid_t caller, gnttab::transfer* ops, unsigned count, sc_time& tm) {
    domain* d = h_.find(caller);
    for (unsigned i = 0; i < count; ++i) {
        tm += t_.op;
        ops[i].status = d ? transfer_one(*d, ops[i], tm) : std::int16_t(GNTST_bad_domain);
    }
    return 0;
}

void grant_tables::stats(stat_map& out, const std::string& prefix) const {
    add_stat(out, prefix, "gnttab_frames", frames_allocated_);
    add_stat(out, prefix, "gnttab_status_frames", status_frames_allocated_);
    add_stat(out, prefix, "gnttab_grow_failures", grow_failures_);
    add_stat(out, prefix, "gnttab_set_version_calls", set_version_calls_);
    add_stat(out, prefix, "gnttab_version_switches", version_switches_);
    add_stat(out, prefix, "gnttab_transfers", transfers_);
    add_stat(out, prefix, "gnttab_transfers_failed", transfers_failed_);
    add_stat(out, prefix, "gnttab_swaps", swaps_);
}

} // namespace iotwin::hyp::gnttab
