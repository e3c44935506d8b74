#include "models/guest/blkback.h"

#include <algorithm>
#include <cerrno>

#include "models/guest/kernel.h"
#include "models/hyp/event_channel.h"
#include "models/hyp/grant_table.h"
#include "models/hyp/hypervisor.h"

namespace iotwin::guest {

using sc_core::sc_time;
namespace g = hyp::gnttab;
using namespace blkif;

namespace {
// A halted or mis-indexed ring without the overflow check loops over stale
// entries until req_cons catches a far-away req_prod; the twin stops the
// kernel thread's loop after this many requests in one kick (the real
// thread would spin on, a denial of service of the back-end domain).
constexpr std::uint32_t runaway_budget = 4096;
}  // namespace

const char* blkif::rsp_name(std::int16_t status) {
    switch (status) {
    case BLKIF_RSP_OKAY: return "BLKIF_RSP_OKAY";
    case BLKIF_RSP_ERROR: return "BLKIF_RSP_ERROR";
    case BLKIF_RSP_EOPNOTSUPP: return "BLKIF_RSP_EOPNOTSUPP";
    default: return "";
    }
}

blkback::blkback(kernel& k, hyp::domid_t frontend, blkback_options o)
    : k_(k), front_(frontend), o_(o) {}


long blkback::hc(unsigned nr, unsigned cmd, void* arg, std::uint32_t count, sc_time& d) {
    ++hypercalls_;
    return k_.hypercall(nr, cmd, arg, count, d);
}

long blkback::connect(std::uint32_t ring_ref, std::uint32_t remote_port, sc_time& d) {
    // The RAM disk: pages of this domain's memory, lowest address first so
    // that disk bytes are laid out in address order.
    const std::uint64_t pages = (o_.sectors * sector_size + blkif::page_size - 1) / blkif::page_size;
    for (std::uint64_t i = 0; i < pages; ++i) {
        const auto p = k_.alloc_page(d);
        if (!p) { disconnect(d); return -ENOMEM; }
        disk_.push_back(*p);
    }
    std::sort(disk_.begin(), disk_.end());
    // xen_blkif_map -> xenbus_map_ring_valloc: the ring grant mapped at
    // ballooned (unpopulated) space; __xenbus_map_ring answers -ENOENT for
    // a map that fails (xenbus_client.c, Linux 6.x).
    const auto at = k_.alloc_unpopulated(d);
    if (!at) { disconnect(d); return -ENOMEM; }
    ring_gpa_ = *at;
    g::map_grant_ref m;
    m.host_addr = ring_gpa_;
    m.flags = g::GNTMAP_host_map;
    m.ref = ring_ref;
    m.dom = front_;
    const long rc = hc(hyp::HYPERVISOR_grant_table_op, g::GNTTABOP_map_grant_ref, &m, 1, d);
    if (rc || m.status != g::GNTST_okay) {
        last_error_ = rc ? "map_grant_ref rc " + std::to_string(rc) : std::string(g::gntst_name(m.status));
        disconnect(d);
        return -ENOENT;
    }
    ring_mapped_ = true;
    ring_handle_ = m.handle;
    // bind_interdomain_evtchn_to_irqhandler_lateeoi(..., xen_blkif_be_int):
    // the handler only wakes the kernel thread.
    hyp::evtchn_bind_interdomain b;
    b.remote_dom = front_;
    b.remote_port = remote_port;
    if (const long e = hc(hyp::HYPERVISOR_event_channel_op, hyp::EVTCHNOP_bind_interdomain, &b, 1, d)) {
        disconnect(d);
        return e;
    }
    port_ = b.local_port;
    bound_ = true;
    bell_.bind(k_, port_);
    return 0;
}

void blkback::disconnect(sc_time& d) {
    if (bound_) k_.evtchn_close(port_, d);
    bound_ = false;
    // free_persistent_gnts and the ring's xenbus_unmap_ring_vfree.
    for (auto& [gref, pg] : persistent_) {
        g::unmap_grant_ref u;
        u.host_addr = pg.gpa;
        u.handle = pg.handle;
        hc(hyp::HYPERVISOR_grant_table_op, g::GNTTABOP_unmap_grant_ref, &u, 1, d);
        k_.free_unpopulated(pg.gpa);
    }
    persistent_.clear();
    if (ring_mapped_) {
        g::unmap_grant_ref u;
        u.host_addr = ring_gpa_;
        u.handle = ring_handle_;
        hc(hyp::HYPERVISOR_grant_table_op, g::GNTTABOP_unmap_grant_ref, &u, 1, d);
    }
    if (ring_gpa_) k_.free_unpopulated(ring_gpa_);
    ring_mapped_ = false;
    ring_gpa_ = 0;
    for (const std::uint64_t p : disk_) k_.put_page(p);
    disk_.clear();
}

void blkback::refuse(const std::string& why) {
    ++refused_;
    last_error_ = why;
}

std::uint64_t blkback::disk_gpa(std::uint64_t byte) const {
    const std::uint64_t page = byte / blkif::page_size;
    if (page < disk_.size()) return disk_[page] + byte % blkif::page_size;
    // Only reached without the bounds check: the disk's pages are
    // contiguous from the lowest, so what lies past the end is whatever the
    // back-end domain keeps above it.
    return disk_.front() + byte;
}

bool blkback::disk_io(bool write, std::uint64_t byte, std::uint8_t* p, std::uint64_t n, sc_time& d) {
    while (n > 0) {
        const std::uint64_t chunk = std::min(n, blkif::page_size - byte % blkif::page_size);
        if (k_.access(write, disk_gpa(byte), p, chunk, d)) return false;
        byte += chunk;
        p += chunk;
        n -= chunk;
    }
    return true;
}

int blkback::disk_read(std::uint64_t byte, std::uint8_t* p, std::uint64_t n, sc_time& d) {
    if (disk_.empty() || byte + n > disk_.size() * blkif::page_size || byte + n < byte) return EINVAL;
    return disk_io(false, byte, p, n, d) ? 0 : EFAULT;
}

void blkback::respond(std::uint64_t id, std::uint8_t op, std::int16_t status, sc_time& d) {
    // make_response: the response goes in the slot rsp_prod_pvt names.
    response r;
    r.id = id;
    r.operation = op;
    r.status = status;
    auto b = encode(r);
    k_.access(true, ring_gpa_ + sring::entry(rsp_prod_pvt_), b.data(), b.size(), d);
    ++rsp_prod_pvt_;
}

long blkback::process(sc_time& d) {
    bell_.clear();
    if (broken_ || !ring_mapped_) return -EACCES;
    std::uint32_t rp = 0;
    if (k_.access(false, ring_gpa_ + sring::req_prod, &rp, 4, d)) return -EFAULT;
    // __do_block_io_op (blkback.c): a producer more than a ring ahead of the
    // responses is bogus; the ring is halted for good and the thread waits
    // for disconnection (xen_blkif_schedule on -EACCES).
    if (o_.check_ring && rp - rsp_prod_pvt_ > sring::ring_size) {
        broken_ = true;
        refuse("bogus ring requests: req_prod " + std::to_string(rp) + " - rsp_prod " + std::to_string(rsp_prod_pvt_) +
               " = " + std::to_string(rp - rsp_prod_pvt_));
        return -EACCES;
    }
    std::uint32_t budget = runaway_budget;
    for (;;) {
        while (req_cons_ != rp && budget > 0) {
            // RING_REQUEST_CONS_OVERFLOW: never more requests in flight than the ring holds.
            if (req_cons_ - rsp_prod_pvt_ >= sring::ring_size) break;
            --budget;
            // The request is copied out of the shared page once; only the
            // copy is checked and used (the front end may rewrite the slot).
            std::uint8_t raw[request_size];
            if (k_.access(false, ring_gpa_ + sring::entry(req_cons_), raw, request_size, d)) return -EFAULT;
            ++req_cons_;
            const request r = decode_request(raw);
            const std::int16_t st = dispatch(r, d);
            ++processed_;
            respond(r.id, r.operation, st, d);
        }
        // RING_PUSH_RESPONSES_AND_CHECK_NOTIFY.
        std::uint32_t old = 0, ev = 0;
        k_.access(false, ring_gpa_ + sring::rsp_prod, &old, 4, d);
        k_.access(true, ring_gpa_ + sring::rsp_prod, &rsp_prod_pvt_, 4, d);
        k_.access(false, ring_gpa_ + sring::rsp_event, &ev, 4, d);
        if (std::uint32_t(rsp_prod_pvt_ - ev) < std::uint32_t(rsp_prod_pvt_ - old)) {
            ++hypercalls_;
            k_.evtchn_send(port_, d);
        }
        if (budget == 0) break;
        // RING_FINAL_CHECK_FOR_REQUESTS: ask for a kick at the next request, then look once more.
        std::uint32_t want = req_cons_ + 1;
        k_.access(true, ring_gpa_ + sring::req_event, &want, 4, d);
        if (k_.access(false, ring_gpa_ + sring::req_prod, &rp, 4, d)) return -EFAULT;
        if (rp == req_cons_) break;
        if (o_.check_ring && rp - rsp_prod_pvt_ > sring::ring_size) {
            broken_ = true;
            refuse("bogus ring requests: req_prod " + std::to_string(rp) + " - rsp_prod " + std::to_string(rsp_prod_pvt_) +
                   " = " + std::to_string(rp - rsp_prod_pvt_));
            return -EACCES;
        }
    }
    if (budget == 0) last_error_ = "runaway ring: stopped after " + std::to_string(runaway_budget) + " requests in one kick";
    return 0;
}

std::int16_t blkback::dispatch(const request& r, sc_time& d) {
    d += o_.service;
    switch (r.operation) {
    case BLKIF_OP_READ: return rw(r, false, d);
    case BLKIF_OP_WRITE: return rw(r, true, d);
    case BLKIF_OP_WRITE_BARRIER:
    case BLKIF_OP_FLUSH_DISKCACHE:
        // REQ_PREFLUSH with no data (nseg 0 allowed); a RAM disk has no cache to flush.
        if (r.nr_segments == 0) {
            if (o_.readonly) { refuse("write to a read-only vbd"); return BLKIF_RSP_ERROR; }
            return BLKIF_RSP_OKAY;
        }
        return rw(r, true, d);
    default:
        // dispatch_other_io (unknown operations), and BLKIF_OP_DISCARD on a
        // device without discard / BLKIF_OP_INDIRECT (not modelled).
        refuse("unsupported operation " + std::to_string(r.operation));
        return BLKIF_RSP_EOPNOTSUPP;
    }
}

std::int16_t blkback::rw(const request& r, bool write, sc_time& d) {
    // dispatch_rw_block_io: the segment count, then each segment's sector
    // bounds within its page, then xen_vbd_translate's access and range.
    const unsigned nseg = r.nr_segments;
    if (nseg == 0 || nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
        refuse("bad number of segments " + std::to_string(nseg));
        return BLKIF_RSP_ERROR;
    }
    std::uint64_t nr_sects = 0;
    for (unsigned i = 0; i < nseg; ++i) {
        const segment& s = r.seg[i];
        if (s.last_sect >= sectors_per_page || s.last_sect < s.first_sect) {
            refuse("bad segment " + std::to_string(i) + ": first_sect " + std::to_string(s.first_sect) + ", last_sect " +
                   std::to_string(s.last_sect));
            return BLKIF_RSP_ERROR;
        }
        nr_sects += s.last_sect - s.first_sect + 1u;
    }
    if (write && o_.readonly) {
        refuse("write to a read-only vbd");
        return BLKIF_RSP_ERROR;
    }
    const std::uint64_t end = r.sector_number + nr_sects;
    if (end < r.sector_number || (o_.check_bounds && end > o_.sectors)) {
        refuse("access denied: sectors [" + std::to_string(r.sector_number) + ", " + std::to_string(end) + ") of " +
               std::to_string(o_.sectors));
        return BLKIF_RSP_ERROR;
    }
    // Past the 64-bit byte range even without the check: nothing to address.
    if (r.sector_number > (~0ull >> 9) - nr_sects) {
        refuse("sector beyond the address space");
        return BLKIF_RSP_ERROR;
    }
    const bool ok = o_.mode == mode::copy ? move_copy(r, write, d) : move_map(r, write, d);
    return ok ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR;
}

bool blkback::move_copy(const request& r, bool write, sc_time& d) {
    // One GNTTABOP_copy batch for the request: each segment split where the
    // disk's bytes change page.
    std::vector<g::copy> ops;
    std::uint64_t byte = r.sector_number * sector_size;
    const hyp::domid_t self = hyp::reserved_domid("DOMID_SELF").value();
    const hyp::domain& me = k_.domain();
    for (unsigned i = 0; i < r.nr_segments; ++i) {
        const segment& s = r.seg[i];
        std::uint64_t off = s.first_sect * sector_size;
        std::uint64_t left = (s.last_sect - s.first_sect + 1u) * sector_size;
        while (left > 0) {
            const std::uint64_t n = std::min(left, blkif::page_size - byte % blkif::page_size);
            const std::uint64_t gpa = disk_gpa(byte);
            std::uint64_t frame = gpa / blkif::page_size;
            if (!me.translated()) {
                // A PV kernel names its own frames by machine frame (pfn_to_mfn).
                const auto m = me.to_machine(gpa & ~(blkif::page_size - 1), blkif::page_size);
                frame = m ? *m / blkif::page_size : ~0ull;
            }
            g::copy c;
            g::copy_ptr& foreign = write ? c.source : c.dest;
            g::copy_ptr& local = write ? c.dest : c.source;
            foreign.ref = s.gref;
            foreign.domid = front_;
            foreign.offset = static_cast<std::uint16_t>(off);
            local.gmfn = frame;
            local.domid = self;
            local.offset = static_cast<std::uint16_t>(gpa % blkif::page_size);
            c.len = static_cast<std::uint16_t>(n);
            c.flags = write ? g::GNTCOPY_source_gref : g::GNTCOPY_dest_gref;
            ops.push_back(c);
            off += n;
            byte += n;
            left -= n;
        }
    }
    const long rc = hc(hyp::HYPERVISOR_grant_table_op, g::GNTTABOP_copy, ops.data(), static_cast<std::uint32_t>(ops.size()), d);
    if (rc) {
        refuse("GNTTABOP_copy rc " + std::to_string(rc));
        return false;
    }
    for (const g::copy& c : ops)
        if (c.status != g::GNTST_okay) {
            refuse(std::string("grant copy: ") + g::gntst_name(c.status));
            return false;
        }
    return true;
}

bool blkback::move_map(const request& r, bool write, sc_time& d) {
    // xen_blkbk_map: the grants not already held persistently are mapped in
    // one batch (read-only for a write when not persistent); each failure
    // fails the request. Then the data moves through the mappings, and the
    // non-persistent ones are unmapped (xen_blkbk_unmap).
    const bool keep = o_.mode == mode::persistent;
    struct seg_map {
        std::uint64_t gpa = 0;
        std::uint32_t handle = 0;
        bool temporary = false;
        bool mapped = false;
    };
    std::vector<seg_map> segs(r.nr_segments);
    std::vector<g::map_grant_ref> maps;
    std::vector<unsigned> which;
    std::map<std::uint32_t, std::size_t> fresh;  // gref -> index in maps, one map per gref in a request
    bool ok = true;
    for (unsigned i = 0; i < r.nr_segments; ++i) {
        const std::uint32_t gref = r.seg[i].gref;
        if (keep) {
            if (const auto it = persistent_.find(gref); it != persistent_.end()) {
                segs[i].gpa = it->second.gpa;
                segs[i].mapped = true;
                continue;
            }
        }
        if (keep && fresh.count(gref)) {
            which.push_back(i);
            continue;
        }
        const auto at = k_.alloc_unpopulated(d);
        if (!at) { refuse("no pages to map into"); ok = false; break; }
        g::map_grant_ref m;
        m.host_addr = *at;
        m.flags = g::GNTMAP_host_map | (!keep && write ? g::GNTMAP_readonly : 0u);
        m.ref = gref;
        m.dom = front_;
        fresh[gref] = maps.size();
        maps.push_back(m);
        which.push_back(i);
    }
    if (!maps.empty()) {
        const long rc = hc(hyp::HYPERVISOR_grant_table_op, g::GNTTABOP_map_grant_ref, maps.data(),
                           static_cast<std::uint32_t>(maps.size()), d);
        if (rc) { refuse("GNTTABOP_map_grant_ref rc " + std::to_string(rc)); ok = false; }
    }
    // Each mapping that succeeded: kept (persistent, within the limit) or temporary.
    std::vector<g::map_grant_ref> temporaries;
    for (g::map_grant_ref& m : maps) {
        if (m.status != g::GNTST_okay) {
            if (ok) refuse(std::string("grant map: ") + g::gntst_name(m.status));
            ok = false;
            k_.free_unpopulated(m.host_addr);
            m.host_addr = 0;
            continue;
        }
        if (keep && persistent_.size() < o_.max_persistent_grants) persistent_[m.ref] = {m.host_addr, m.handle};
        else temporaries.push_back(m);
    }
    for (const unsigned i : which) {
        const g::map_grant_ref& m = maps[fresh[r.seg[i].gref]];
        if (m.status == g::GNTST_okay) {
            segs[i].gpa = m.host_addr;
            segs[i].mapped = true;
        }
    }
    if (ok) {
        std::uint64_t byte = r.sector_number * sector_size;
        std::vector<std::uint8_t> buf;
        for (unsigned i = 0; i < r.nr_segments && ok; ++i) {
            const segment& s = r.seg[i];
            const std::uint64_t n = (s.last_sect - s.first_sect + 1u) * sector_size;
            const std::uint64_t at = segs[i].gpa + s.first_sect * sector_size;
            buf.resize(n);
            if (write) ok = k_.access(false, at, buf.data(), n, d) == 0 && disk_io(true, byte, buf.data(), n, d);
            else ok = disk_io(false, byte, buf.data(), n, d) && k_.access(true, at, buf.data(), n, d) == 0;
            if (!ok) refuse("data access failed");
            byte += n;
        }
    }
    if (!temporaries.empty()) {
        std::vector<g::unmap_grant_ref> us;
        for (const g::map_grant_ref& m : temporaries) {
            g::unmap_grant_ref u;
            u.host_addr = m.host_addr;
            u.handle = m.handle;
            us.push_back(u);
        }
        hc(hyp::HYPERVISOR_grant_table_op, g::GNTTABOP_unmap_grant_ref, us.data(), static_cast<std::uint32_t>(us.size()), d);
        for (const g::map_grant_ref& m : temporaries) k_.free_unpopulated(m.host_addr);
    }
    return ok;
}

}  // namespace iotwin::guest
