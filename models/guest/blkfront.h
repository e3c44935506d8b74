// blkfront: the front end of the split block driver, in a guest's kernel
// (Linux's drivers/block/xen-blkfront.c, 6.x): the shared ring in a page of
// its own memory granted to the back end (setup_blkring), an event channel
// it allocates unbound for the back end (xenbus_alloc_evtchn), requests
// queued into the ring with their data pages granted (blkif_queue_rw_req),
// and responses collected by its event handler (blkif_interrupt,
// blkif_completion).
//
// With feature-persistent the data pages are a pool granted once and kept
// (get_free_grant / info->grants): the request's data is copied into them
// and the grants are never ended; without it each request grants the bio's
// pages and ends the grants on completion.
//
// blkif_vbd ties one front end to its back end (models/guest/blkback.h) and
// drives a request through both in simulated time: the front end queues and
// notifies; the back end's kernel thread runs when its upcall has arrived;
// the front end completes when the response upcall has arrived.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <systemc>

#include "models/guest/blkback.h"
#include "models/guest/blkif.h"
#include "models/hyp/hypercall.h"

namespace iotwin::guest {

class kernel;

class blkfront {
public:
    blkfront(kernel& k, hyp::domid_t backend, bool persistent);
    blkfront(const blkfront&) = delete;
    blkfront& operator=(const blkfront&) = delete;

    // talk_to_blkback's setup_blkring and xenbus_alloc_evtchn: 0 or -errno.
    long setup(sc_core::sc_time& d);
    // blkif_free: ends every grant, closes the port, frees the pages.
    void teardown(sc_core::sc_time& d);

    // blkif_queue_rw_req: one request of `op` (read or write) at `sector`
    // of `len` bytes (a multiple of 512, at most 11 pages); for a write
    // `data` holds them. The request's id, or -errno (-EBUSY: the ring is
    // full; -ENOMEM, -ENOSPC: no page or grant reference).
    long queue(std::uint8_t op, std::uint64_t sector, std::uint64_t len, const std::vector<std::uint8_t>& data,
               sc_core::sc_time& d);
    // A request with any fields, as a malicious front end writes it.
    void queue_raw(const blkif::request& r, sc_core::sc_time& d);
    // RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, then EVTCHNOP_send when the back end asked: whether it notified.
    bool push(sc_core::sc_time& d);
    // notify_remote_via_irq: EVTCHNOP_send whatever the ring's indices say.
    void notify(sc_core::sc_time& d);
    // blkif_interrupt: every response up to rsp_prod.
    void complete(sc_core::sc_time& d);

    struct outcome {
        bool done = false;
        std::int16_t status = 0;
        std::vector<std::uint8_t> data;  // a read's bytes
    };
    // The outcome of request `id` once answered (taken: asked once).
    std::optional<outcome> take(std::uint64_t id);

    const bool& kicked() const { return bell_.rung(); }
    sc_core::sc_event& kick_event() { return bell_.event(); }
    std::uint32_t ring_ref() const { return ring_ref_; }
    std::uint32_t port() const { return port_; }
    std::uint64_t ring_gpa() const { return ring_gpa_; }
    std::uint64_t hypercalls() const { return hypercalls_; }
    std::uint64_t stray_responses() const { return stray_; }
    std::size_t persistent_grants() const { return pool_.size(); }

private:
    struct grant_page {
        std::uint64_t gpa = 0;
        std::uint32_t gref = 0;
    };
    struct shadow {
        std::uint8_t op = 0;
        std::uint64_t len = 0;
        std::vector<std::uint64_t> bio;      // the request's own pages
        std::vector<grant_page> grants;      // the pages granted for it
    };
    long grant_page_for(std::uint64_t bio_gpa, bool readonly, grant_page& out, sc_core::sc_time& d);
    void release(shadow& s, sc_core::sc_time& d);

    kernel& k_;
    hyp::domid_t back_;
    bool persistent_;
    std::uint64_t ring_gpa_ = 0;
    std::uint32_t ring_ref_ = 0;
    bool ring_granted_ = false;
    std::uint32_t port_ = 0;
    bool bound_ = false;
    std::uint32_t req_prod_pvt_ = 0, rsp_cons_ = 0;
    std::map<std::uint64_t, shadow> shadow_;   // in flight, by id
    std::map<std::uint64_t, outcome> done_;   // answered, by id
    std::vector<grant_page> pool_;            // persistent grants
    std::vector<grant_page> free_pool_;
    blkif::doorbell bell_;
    std::uint64_t hypercalls_ = 0, stray_ = 0;
};

// A connected virtual block device: the front end in its guest, the back end in its domain.
struct blkif_vbd {
    std::unique_ptr<blkfront> front;
    std::unique_ptr<blkback> back;
    hyp::domid_t frontend = 0, backend = 0;

    // One request's trip: queue, notify, the back end's work at its upcall,
    // the front end's completion at its upcall. `timeout`: how long the
    // front end waits for a response that may never come.
    struct trip {
        long queued = 0;          // the id, or -errno from queue()
        bool answered = false;
        std::int16_t status = 0;
        std::vector<std::uint8_t> data;
        sc_core::sc_time latency;
        std::uint64_t hypercalls = 0;  // by both ends
    };
    trip io(std::uint8_t op, std::uint64_t sector, std::uint64_t len, const std::vector<std::uint8_t>& data,
            const sc_core::sc_time& timeout, sc_core::sc_time& d);
    trip raw(const blkif::request& r, const sc_core::sc_time& timeout, sc_core::sc_time& d);
    // Wake-ups left from earlier: each end's thread runs and finds nothing new.
    void drain(sc_core::sc_time& d);
    // The front end kicks the back end without a new request (after it wrote the ring itself).
    void kick(const sc_core::sc_time& timeout, sc_core::sc_time& d);

private:
    void serve(const sc_core::sc_time& timeout, sc_core::sc_time& d);
    void run_to_completion(trip& t, std::uint64_t id, const sc_core::sc_time& timeout, sc_core::sc_time& d);
};

// The vbds whose front end is in one kernel (module state "blkfront").
struct blkfront_module {
    std::map<std::uint32_t, std::unique_ptr<blkif_vbd>> vbds;
    std::uint32_t next = 0;
};

}  // namespace iotwin::guest
