// The IOMMU's page-walk resources: pending-miss slots and page walkers.
//
// An IOTLB miss takes a pending-miss slot (a miss-status holding register:
// how many misses may be outstanding at once) from the moment it misses until
// its walk has finished, and a page walker from the moment the walk starts
// until its last paging-entry read has returned. Both are pools of identical
// servers; a miss that finds every slot (or every walker) taken waits for the
// first to free, so concurrent misses queue. Hits are not held behind misses
// (hit-under-miss), as in any non-blocking translation cache.
//
// Each server keeps a calendar of busy intervals (models/common/timed_resource.h),
// so the pools stay consistent with temporal decoupling: a miss that arrives
// out of simulated-time order takes the first gap at or after its arrival.
// The length of a walk is known only once its reads have returned, so a miss
// looks for a gap as long as the last walk took and books what its own walk
// really took (a longer walk overlapping work booked later joins it in one
// busy interval rather than moving: an error of the same kind and bound as
// the calendar's own, docs/timing.md).
//
// VT-d does not publish how many walks an implementation runs at once: both
// counts are parameters (docs/timing.md, "IOTLB reach", gives the calibration).
#pragma once
#include <cstdint>
#include <vector>

#include <systemc>

#include "models/common/timed_resource.h"

namespace iotwin::iommu {

// A pool of `n` identical servers, each with its own calendar.
class server_pool {
public:
    explicit server_pool(unsigned n);

    struct grant {
        unsigned server = 0;
        sc_core::sc_time start;  // absolute simulated time at which the server takes the work
    };
    // The server that can start a job of about `estimate` earliest at or
    // after `arrival`, and when. Books nothing: `book` does.
    grant find(const sc_core::sc_time& arrival, const sc_core::sc_time& estimate, const sc_core::sc_time& now);
    // Books [g.start, end) on g.server.
    void book(const grant& g, const sc_core::sc_time& end, const sc_core::sc_time& now);

    unsigned size() const { return static_cast<unsigned>(servers_.size()); }

private:
    std::vector<timed_resource> servers_;
};

// The pending-miss slots and walkers of one remapping unit, with their counters.
class walk_resources {
public:
    walk_resources(unsigned pending_misses, unsigned walkers);

    // A walk in progress: what `begin` granted, to hand back to `end`.
    struct ticket {
        server_pool::grant slot, walker;
        sc_core::sc_time arrival;
    };
    // A miss arriving at local time `delay` (relative to the global time):
    // takes a pending-miss slot and a walker, and moves `delay` on to when
    // the walk can start.
    ticket begin(sc_core::sc_time& delay);
    // The walk ended at local time `delay`: both are free from then on.
    void end(const ticket& t, const sc_core::sc_time& delay);

    // Counters (times in picoseconds).
    std::uint64_t walks() const { return walks_; }
    std::uint64_t queued() const { return queued_; }                 // misses that waited for a slot or a walker
    std::uint64_t queue_ps() const { return queue_ps_; }             // their total waiting time
    std::uint64_t max_queue_ps() const { return max_queue_ps_; }     // the longest wait
    std::uint64_t walker_busy_ps() const { return walker_busy_ps_; } // sum of walk durations

private:
    server_pool slots_, walkers_;
    sc_core::sc_time estimate_;  // the length of the last walk
    std::uint64_t walks_ = 0, queued_ = 0, queue_ps_ = 0, max_queue_ps_ = 0, walker_busy_ps_ = 0;
};

} // namespace iotwin::iommu
