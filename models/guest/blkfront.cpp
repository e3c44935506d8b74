#include "models/guest/blkfront.h"

#include <algorithm>
#include <cerrno>

#include "models/guest/gnttab_guest.h"
#include "models/guest/kernel.h"
#include "models/hyp/event_channel.h"
#include "models/hyp/hypervisor.h"

namespace iotwin::guest {

using sc_core::sc_time;
using namespace blkif;

blkfront::blkfront(kernel& k, hyp::domid_t backend, bool persistent)
    : k_(k), back_(backend), persistent_(persistent) {}


long blkfront::setup(sc_time& d) {
    // setup_blkring: a zeroed page, SHARED_RING_INIT (both event indices 1),
    // granted read-write to the back end.
    const auto page = k_.alloc_page(d);
    if (!page) return -ENOMEM;
    ring_gpa_ = *page;
    const std::uint32_t one = 1;
    k_.access(true, ring_gpa_ + sring::req_event, const_cast<std::uint32_t*>(&one), 4, d);
    k_.access(true, ring_gpa_ + sring::rsp_event, const_cast<std::uint32_t*>(&one), 4, d);
    const long ref = k_.claim_grant_ref(d);
    if (ref < 0) { teardown(d); return ref; }
    ring_ref_ = static_cast<std::uint32_t>(ref);
    gnttab_guest gt(k_.hyp(), k_.domid());
    if (const int e = gt.grant_access(ring_ref_, back_, ring_gpa_ / blkif::page_size, false, d)) {
        k_.release_grant_ref(ring_ref_);
        teardown(d);
        return -e;
    }
    ring_granted_ = true;
    // xenbus_alloc_evtchn: EVTCHNOP_alloc_unbound for the back end, then
    // bind_evtchn_to_irqhandler_lateeoi(blkif_interrupt).
    hyp::evtchn_alloc_unbound a;
    a.dom = hyp::reserved_domid("DOMID_SELF").value();
    a.remote_dom = back_;
    ++hypercalls_;
    if (const long e = k_.hypercall(hyp::HYPERVISOR_event_channel_op, hyp::EVTCHNOP_alloc_unbound, &a, 1, d)) {
        teardown(d);
        return e;
    }
    port_ = a.port;
    bound_ = true;
    bell_.bind(k_, port_);
    return 0;
}

void blkfront::release(shadow& s, sc_time& d) {
    gnttab_guest gt(k_.hyp(), k_.domid());
    if (persistent_) {
        for (const grant_page& g : s.grants) free_pool_.push_back(g);
    } else {
        // blkif_completion without persistence: gnttab_end_foreign_access.
        // A grant the back end still holds cannot be reclaimed: its page is
        // leaked rather than reused (as gnttab_end_foreign_access defers it).
        for (const grant_page& g : s.grants)
            if (gt.end_access(g.gref, d) == 0) k_.release_grant_ref(g.gref);
    }
    s.grants.clear();
    for (const std::uint64_t p : s.bio) k_.put_page(p);
    s.bio.clear();
}

void blkfront::teardown(sc_time& d) {
    if (bound_) k_.evtchn_close(port_, d);
    bound_ = false;
    for (auto& [id, s] : shadow_) release(s, d);
    shadow_.clear();
    gnttab_guest gt(k_.hyp(), k_.domid());
    for (const grant_page& g : pool_) {
        if (gt.end_access(g.gref, d) == 0) {
            k_.release_grant_ref(g.gref);
            k_.put_page(g.gpa);
        }
    }
    pool_.clear();
    free_pool_.clear();
    if (ring_granted_ && gt.end_access(ring_ref_, d) == 0) k_.release_grant_ref(ring_ref_);
    else if (ring_granted_) ring_gpa_ = 0;  // still mapped by the back end: the page stays out of the pool
    ring_granted_ = false;
    if (ring_gpa_) k_.put_page(ring_gpa_);
    ring_gpa_ = 0;
}

long blkfront::grant_page_for(std::uint64_t bio_gpa, bool readonly, grant_page& out, sc_time& d) {
    gnttab_guest gt(k_.hyp(), k_.domid());
    if (persistent_) {
        // get_free_grant: a grant of the pool, else a new page granted once (read-write, kept).
        if (!free_pool_.empty()) {
            out = free_pool_.back();
            free_pool_.pop_back();
            return 0;
        }
        const auto page = k_.alloc_page(d);
        if (!page) return -ENOMEM;
        const long ref = k_.claim_grant_ref(d);
        if (ref < 0) { k_.put_page(*page); return ref; }
        if (const int e = gt.grant_access(static_cast<std::uint32_t>(ref), back_, *page / blkif::page_size, false, d)) {
            k_.release_grant_ref(static_cast<std::uint32_t>(ref));
            k_.put_page(*page);
            return -e;
        }
        out = {*page, static_cast<std::uint32_t>(ref)};
        pool_.push_back(out);
        return 0;
    }
    const long ref = k_.claim_grant_ref(d);
    if (ref < 0) return ref;
    if (const int e = gt.grant_access(static_cast<std::uint32_t>(ref), back_, bio_gpa / blkif::page_size, readonly, d)) {
        k_.release_grant_ref(static_cast<std::uint32_t>(ref));
        return -e;
    }
    out = {bio_gpa, static_cast<std::uint32_t>(ref)};
    return 0;
}

long blkfront::queue(std::uint8_t op, std::uint64_t sector, std::uint64_t len, const std::vector<std::uint8_t>& data,
                     sc_time& d) {
    if (!bound_) return -ENODEV;
    if (len == 0 || len % sector_size || len > BLKIF_MAX_SEGMENTS_PER_REQUEST * blkif::page_size) return -EINVAL;
    // RING_FULL: as many requests in flight as the ring has slots.
    if (req_prod_pvt_ - rsp_cons_ >= sring::ring_size) return -EBUSY;
    const bool write = op == BLKIF_OP_WRITE;
    shadow s;
    s.op = op;
    s.len = len;
    request r;
    r.operation = op;
    r.sector_number = sector;
    std::uint64_t done = 0;
    while (done < len) {
        const std::uint64_t n = std::min<std::uint64_t>(blkif::page_size, len - done);
        // The bio's page (the page cache's): it holds the data to write.
        const auto bio = k_.alloc_page(d);
        if (!bio) { release(s, d); return -ENOMEM; }
        s.bio.push_back(*bio);
        if (write) k_.access(true, *bio, const_cast<std::uint8_t*>(data.data() + done), n, d);
        grant_page g;
        if (const long e = grant_page_for(*bio, write, g, d)) { release(s, d); return e; }
        s.grants.push_back(g);
        if (persistent_ && write) {
            // The persistent grant's page gets a copy of the data (blkif_setup_rw_req_grant's memcpy).
            std::vector<std::uint8_t> buf(n);
            k_.access(false, *bio, buf.data(), n, d);
            k_.access(true, g.gpa, buf.data(), n, d);
        }
        segment& sg = r.seg[r.nr_segments++];
        sg.gref = g.gref;
        sg.first_sect = 0;
        sg.last_sect = static_cast<std::uint8_t>(n / sector_size - 1);
        done += n;
    }
    // The id is the ring slot, as blkfront's shadow index.
    r.id = req_prod_pvt_ & (sring::ring_size - 1);
    const auto b = encode(r);
    k_.access(true, ring_gpa_ + sring::entry(req_prod_pvt_), const_cast<std::uint8_t*>(b.data()), b.size(), d);
    ++req_prod_pvt_;
    done_.erase(r.id);
    shadow_[r.id] = std::move(s);
    return static_cast<long>(r.id);
}

void blkfront::queue_raw(const request& r, sc_time& d) {
    const auto b = encode(r);
    k_.access(true, ring_gpa_ + sring::entry(req_prod_pvt_), const_cast<std::uint8_t*>(b.data()), b.size(), d);
    ++req_prod_pvt_;
    done_.erase(r.id);
}

bool blkfront::push(sc_time& d) {
    // RING_PUSH_REQUESTS_AND_CHECK_NOTIFY.
    std::uint32_t old = 0, ev = 0;
    k_.access(false, ring_gpa_ + sring::req_prod, &old, 4, d);
    k_.access(true, ring_gpa_ + sring::req_prod, &req_prod_pvt_, 4, d);
    k_.access(false, ring_gpa_ + sring::req_event, &ev, 4, d);
    if (std::uint32_t(req_prod_pvt_ - ev) >= std::uint32_t(req_prod_pvt_ - old)) return false;
    ++hypercalls_;
    k_.evtchn_send(port_, d);
    return true;
}

void blkfront::notify(sc_time& d) {
    ++hypercalls_;
    k_.evtchn_send(port_, d);
}

void blkfront::complete(sc_time& d) {
    bell_.clear();
    if (!ring_gpa_) return;
    for (;;) {
        std::uint32_t rp = 0;
        k_.access(false, ring_gpa_ + sring::rsp_prod, &rp, 4, d);
        // blkif_interrupt: never more responses than requests (RING_RESPONSE_PROD_OVERFLOW).
        if (rp - rsp_cons_ > req_prod_pvt_ - rsp_cons_) rp = req_prod_pvt_;
        while (rsp_cons_ != rp) {
            std::uint8_t raw[response_size];
            k_.access(false, ring_gpa_ + sring::entry(rsp_cons_), raw, response_size, d);
            ++rsp_cons_;
            const response rsp = decode_response(raw);
            outcome o;
            o.done = true;
            o.status = rsp.status;
            const auto it = shadow_.find(rsp.id);
            if (it != shadow_.end()) {
                shadow& s = it->second;
                if (s.op == BLKIF_OP_READ && rsp.status == BLKIF_RSP_OKAY) {
                    o.data.resize(s.len);
                    for (std::size_t i = 0; i < s.grants.size(); ++i) {
                        const std::uint64_t n = std::min<std::uint64_t>(blkif::page_size, s.len - i * blkif::page_size);
                        // Persistent: out of the grant's page into the bio (blkif_completion's memcpy).
                        if (persistent_) {
                            k_.access(false, s.grants[i].gpa, o.data.data() + i * blkif::page_size, n, d);
                            k_.access(true, s.bio[i], o.data.data() + i * blkif::page_size, n, d);
                        } else {
                            k_.access(false, s.bio[i], o.data.data() + i * blkif::page_size, n, d);
                        }
                    }
                }
                release(s, d);
                shadow_.erase(it);
            } else {
                ++stray_;
            }
            done_[rsp.id] = std::move(o);
        }
        // RING_FINAL_CHECK_FOR_RESPONSES.
        const std::uint32_t want = rsp_cons_ + 1;
        k_.access(true, ring_gpa_ + sring::rsp_event, const_cast<std::uint32_t*>(&want), 4, d);
        std::uint32_t again = 0;
        k_.access(false, ring_gpa_ + sring::rsp_prod, &again, 4, d);
        if (again == rsp_cons_ || again - rsp_cons_ > req_prod_pvt_ - rsp_cons_) break;
    }
}

std::optional<blkfront::outcome> blkfront::take(std::uint64_t id) {
    const auto it = done_.find(id);
    if (it == done_.end()) return std::nullopt;
    outcome o = std::move(it->second);
    done_.erase(it);
    return o;
}

// ---- one request's trip through both ends ----

namespace {

// Waits (in simulated time) until `flag` is set by an upcall handler or
// `timeout` passes. Outside a running simulation the upcall was delivered
// inside the hypercall that raised it, so the flag already tells.
bool await(const bool& flag, sc_core::sc_event& ev, const sc_time& timeout, sc_time& d) {
    if (flag) return true;
    if (!sc_core::sc_is_running()) return false;
    const sc_core::sc_process_handle me = sc_core::sc_get_current_process_handle();
    if (!me.valid() || me.proc_kind() != sc_core::SC_THREAD_PROC_) return false;
    sc_core::wait(d);
    d = sc_core::SC_ZERO_TIME;
    if (!flag) sc_core::wait(timeout, ev);
    return flag;
}

}  // namespace

void blkif_vbd::run_to_completion(trip& t, std::uint64_t id, const sc_time& timeout, sc_time& d) {
    const std::uint64_t hc0 = front->hypercalls() + back->hypercalls();
    front->push(d);
    serve(timeout, d);
    // The front end's handler may have run for an earlier response: it
    // collects until this one is in or the time is up.
    const sc_time deadline = sc_core::sc_time_stamp() + d + timeout;
    for (;;) {
        if (front->kicked()) front->complete(d);
        if (auto o = front->take(id)) {
            t.answered = true;
            t.status = o->status;
            t.data = std::move(o->data);
            break;
        }
        const sc_time now = sc_core::sc_time_stamp() + d;
        if (now >= deadline || !await(front->kicked(), front->kick_event(), deadline - now, d)) break;
    }
    t.hypercalls = front->hypercalls() + back->hypercalls() - hc0;
}

void blkif_vbd::serve(const sc_time& timeout, sc_time& d) {
    // xen_blkif_be_int wakes xen_blkif_schedule: the back end's work starts at the upcall.
    if (await(back->kicked(), back->kick_event(), timeout, d)) back->process(d);
}

blkif_vbd::trip blkif_vbd::io(std::uint8_t op, std::uint64_t sector, std::uint64_t len, const std::vector<std::uint8_t>& data,
                              const sc_time& timeout, sc_time& d) {
    trip t;
    drain(d);
    const sc_time start = sc_core::sc_time_stamp() + d;
    t.queued = front->queue(op, sector, len, data, d);
    if (t.queued < 0) return t;
    run_to_completion(t, static_cast<std::uint64_t>(t.queued), timeout, d);
    t.latency = sc_core::sc_time_stamp() + d - start;
    return t;
}

blkif_vbd::trip blkif_vbd::raw(const request& r, const sc_time& timeout, sc_time& d) {
    trip t;
    drain(d);
    const sc_time start = sc_core::sc_time_stamp() + d;
    front->queue_raw(r, d);
    run_to_completion(t, r.id, timeout, d);
    t.latency = sc_core::sc_time_stamp() + d - start;
    return t;
}

void blkif_vbd::drain(sc_time& d) {
    // Wake-ups left from before (the bind's conservative event, a kick that
    // came after its work was done): each end's thread ran, found nothing, slept.
    if (back->kicked()) back->process(d);
    if (front->kicked()) front->complete(d);
}

void blkif_vbd::kick(const sc_time& timeout, sc_time& d) {
    front->notify(d);
    serve(timeout, d);
    if (await(front->kicked(), front->kick_event(), timeout, d)) front->complete(d);
}

}  // namespace iotwin::guest
