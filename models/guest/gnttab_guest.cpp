#include "models/guest/gnttab_guest.h"

#include <cerrno>
#include <cstring>

namespace iotwin::guest {

using sc_core::sc_time;
namespace g = hyp::gnttab;

namespace {
// Spins of gnttab_end_foreign_transfer_ref()'s wait for
// GTF_transfer_completed before the twin gives up on it.
constexpr int transfer_wait_spins = 16;
} // namespace

int gnttab_guest::locate(std::uint32_t ref, where& w) {
    const g::table* t = h_.grant_tables().find(self_);
    const hyp::domain* d = h_.find(self_);
    if (!t || !d || t->frames.empty() || ref >= t->entries()) return EINVAL;
    w.version = t->version;
    const unsigned per = t->version == 1 ? g::v1_per_frame : g::v2_per_frame;
    const unsigned size = t->version == 1 ? g::v1_entry_size : g::v2_entry_size;
    w.gpa = d->grant_frame_gfn(ref / per) * g::page_size + std::uint64_t(ref % per) * size;
    w.status_gpa = d->status_frame_gfn(ref / g::status_per_frame) * g::page_size +
                   std::uint64_t(ref % g::status_per_frame) * g::status_entry_size;
    return 0;
}

std::uint64_t gnttab_guest::machine_frame(std::uint64_t gfn) {
    const hyp::domain* d = h_.find(self_);
    if (!d->translated()) {
        // pfn_to_mfn(): the PV kernel's own P2M.
        if (gfn > (~0ull >> 12)) return ~0ull;
        const auto m = d->to_machine(gfn * g::page_size, g::page_size);
        return m ? *m / g::page_size : ~0ull;
    }
    return gfn;
}

int gnttab_guest::load(std::uint64_t gpa, void* p, unsigned n, sc_time& d) {
    return h_.guest_access(self_, tlm::TLM_READ_COMMAND, gpa, static_cast<std::uint8_t*>(p), n, d);
}

int gnttab_guest::store(std::uint64_t gpa, const void* p, unsigned n, sc_time& d) {
    return h_.guest_access(self_, tlm::TLM_WRITE_COMMAND, gpa, static_cast<std::uint8_t*>(const_cast<void*>(p)), n, d);
}

int gnttab_guest::write_entry(std::uint32_t ref, bool v2_only, const raw_fields& f, sc_time& d) {
    where w{};
    if (const int e = locate(ref, w)) return e;
    if (v2_only && w.version != 2) return EOPNOTSUPP;
    int e = 0;
    if (f.domid) e = e ? e : store(w.gpa + 2, &*f.domid, 2, d);
    if (w.version == 1) {
        if (f.frame) {
            const auto v = static_cast<std::uint32_t>(*f.frame);  // grant_entry_v1.frame is 32 bits
            e = e ? e : store(w.gpa + 4, &v, 4, d);
        }
    } else {
        // grant_entry_v2's union: sub_page {page_off, length, frame},
        // transitive {trans_domid, pad, gref}, full_page {pad, frame}.
        if (f.page_off) e = e ? e : store(w.gpa + 4, &*f.page_off, 2, d);
        if (f.length) e = e ? e : store(w.gpa + 6, &*f.length, 2, d);
        if (f.trans_domid) e = e ? e : store(w.gpa + 4, &*f.trans_domid, 2, d);
        if (f.frame) e = e ? e : store(w.gpa + 8, &*f.frame, 8, d);
        if (f.trans_gref) e = e ? e : store(w.gpa + 8, &*f.trans_gref, 4, d);
    }
    // wmb(): the stores above are complete (in order, on this vCPU's
    // timeline) before the flags make the entry valid.
    if (f.flags) e = e ? e : store(w.gpa, &*f.flags, 2, d);
    return e;
}

int gnttab_guest::grant_access(std::uint32_t ref, hyp::domid_t domid, std::uint64_t gfn, bool readonly, sc_time& d) {
    // gnttab_grant_foreign_access_ref() -> gnttab_update_entry_v1/v2.
    raw_fields f;
    f.domid = domid;
    f.frame = machine_frame(gfn);
    f.flags = static_cast<std::uint16_t>(g::GTF_permit_access | (readonly ? g::GTF_readonly : 0));
    return write_entry(ref, false, f, d);
}

int gnttab_guest::grant_access_subpage(std::uint32_t ref, hyp::domid_t domid, std::uint64_t gfn, std::uint16_t page_off,
                                       std::uint16_t length, bool readonly, sc_time& d) {
    // The v2 sub-page grant (Linux's former gnttab_grant_foreign_access_subpage_ref).
    raw_fields f;
    f.domid = domid;
    f.frame = machine_frame(gfn);
    f.page_off = page_off;
    f.length = length;
    f.flags = static_cast<std::uint16_t>(g::GTF_permit_access | g::GTF_sub_page | (readonly ? g::GTF_readonly : 0));
    return write_entry(ref, true, f, d);
}

int gnttab_guest::grant_access_transitive(std::uint32_t ref, hyp::domid_t domid, hyp::domid_t trans_domid,
                                          std::uint32_t trans_gref, sc_time& d) {
    raw_fields f;
    f.domid = domid;
    f.trans_domid = trans_domid;
    f.trans_gref = trans_gref;
    f.flags = static_cast<std::uint16_t>(g::GTF_transitive);
    return write_entry(ref, true, f, d);
}

int gnttab_guest::grant_transfer(std::uint32_t ref, hyp::domid_t domid, std::uint64_t pfn, sc_time& d) {
    raw_fields f;
    f.domid = domid;
    f.frame = pfn;
    f.flags = static_cast<std::uint16_t>(g::GTF_accept_transfer);
    return write_entry(ref, false, f, d);
}

int gnttab_guest::end_access(std::uint32_t ref, sc_time& d) {
    where w{};
    if (const int e = locate(ref, w)) return e;
    if (w.version == 1) {
        // gnttab_end_foreign_access_ref_v1(): cmpxchg the flags to 0 unless
        // the hypervisor has the grant in use. Load and store run with no
        // process switch between them (an atomic cmpxchg).
        std::uint16_t flags = 0;
        for (;;) {
            if (const int e = load(w.gpa, &flags, 2, d)) return e;
            if (flags & (g::GTF_reading | g::GTF_writing)) return EBUSY;
            std::uint16_t now = 0;
            if (const int e = load(w.gpa, &now, 2, d)) return e;
            if (now != flags) continue;
            const std::uint16_t zero = 0;
            return store(w.gpa, &zero, 2, d);
        }
    }
    // gnttab_end_foreign_access_ref_v2(): the flags are cleared first, then
    // (after a full barrier) the status word says whether it was still in
    // use; the entry stays cleared either way.
    const std::uint16_t zero = 0;
    if (const int e = store(w.gpa, &zero, 2, d)) return e;
    std::uint16_t status = 0;
    if (const int e = load(w.status_gpa, &status, 2, d)) return e;
    return (status & (g::GTF_reading | g::GTF_writing)) ? EBUSY : 0;
}

int gnttab_guest::end_transfer(std::uint32_t ref, std::uint64_t& frame, sc_time& d) {
    // gnttab_end_foreign_transfer_ref_v1/v2.
    frame = 0;
    where w{};
    if (const int e = locate(ref, w)) return e;
    std::uint16_t flags = 0;
    for (;;) {
        if (const int e = load(w.gpa, &flags, 2, d)) return e;
        if (flags & g::GTF_transfer_committed) break;
        // No transfer began: reclaim the entry (cmpxchg flags -> 0).
        std::uint16_t now = 0;
        if (const int e = load(w.gpa, &now, 2, d)) return e;
        if (now != flags) continue;
        const std::uint16_t zero = 0;
        return store(w.gpa, &zero, 2, d);
    }
    for (int spin = 0; !(flags & g::GTF_transfer_completed); ++spin) {
        if (spin == transfer_wait_spins) return ETIMEDOUT;
        if (const int e = load(w.gpa, &flags, 2, d)) return e;
    }
    // rmb(): the frame is read after the completion flag.
    if (w.version == 1) {
        std::uint32_t f = 0;
        if (const int e = load(w.gpa + 4, &f, 4, d)) return e;
        frame = f;
    } else if (const int e = load(w.gpa + 8, &frame, 8, d)) {
        return e;
    }
    return 0;
}

int gnttab_guest::entry(std::uint32_t ref, entry_view& out, sc_time& d) {
    where w{};
    if (const int e = locate(ref, w)) return e;
    out = entry_view{};
    out.version = w.version;
    std::uint8_t raw[g::v2_entry_size] = {};
    if (const int e = load(w.gpa, raw, w.version == 1 ? g::v1_entry_size : g::v2_entry_size, d)) return e;
    std::memcpy(&out.flags, raw, 2);
    std::memcpy(&out.domid, raw + 2, 2);
    if (w.version == 1) {
        std::uint32_t f = 0;
        std::memcpy(&f, raw + 4, 4);
        out.frame = f;
        return 0;
    }
    std::memcpy(&out.page_off, raw + 4, 2);
    std::memcpy(&out.length, raw + 6, 2);
    std::memcpy(&out.frame, raw + 8, 8);
    std::memcpy(&out.trans_domid, raw + 4, 2);
    std::memcpy(&out.trans_gref, raw + 8, 4);
    return load(w.status_gpa, &out.status, 2, d);
}

int gnttab_guest::set_entry(std::uint32_t ref, const raw_fields& f, sc_time& d) { return write_entry(ref, false, f, d); }

std::vector<std::string> gnttab_guest::flag_names(std::uint16_t flags) {
    static const char* types[] = {"GTF_invalid", "GTF_permit_access", "GTF_accept_transfer", "GTF_transitive"};
    std::vector<std::string> out{types[flags & g::GTF_type_mask]};
    const bool transfer = (flags & g::GTF_type_mask) == g::GTF_accept_transfer;
    if (flags & (1u << 2)) out.emplace_back(transfer ? "GTF_transfer_committed" : "GTF_readonly");
    if (flags & (1u << 3)) out.emplace_back(transfer ? "GTF_transfer_completed" : "GTF_reading");
    if (flags & g::GTF_writing) out.emplace_back("GTF_writing");
    if (flags & g::GTF_PWT) out.emplace_back("GTF_PWT");
    if (flags & g::GTF_PCD) out.emplace_back("GTF_PCD");
    if (flags & g::GTF_PAT) out.emplace_back("GTF_PAT");
    if (flags & g::GTF_sub_page) out.emplace_back("GTF_sub_page");
    return out;
}

} // namespace iotwin::guest
