#include "models/iommu/walkers.h"

#include <algorithm>
#include <cassert>

namespace iotwin::iommu {

using namespace sc_core;

namespace {
std::uint64_t picoseconds(const sc_time& t) { return static_cast<std::uint64_t>(t.to_seconds() * 1e12 + 0.5); }
} // namespace

server_pool::server_pool(unsigned n) : servers_(n ? n : 1) {}

server_pool::grant server_pool::find(const sc_time& arrival, const sc_time& estimate, const sc_time& now) {
    grant best{0, servers_[0].first_fit(arrival, estimate, now)};
    for (unsigned i = 1; i < servers_.size() && best.start > arrival; ++i) {
        const sc_time s = servers_[i].first_fit(arrival, estimate, now);
        if (s < best.start) best = {i, s};
    }
    return best;
}

void server_pool::book(const grant& g, const sc_time& end, const sc_time& now) {
    assert(g.server < servers_.size());
    servers_[g.server].book(g.start, end, now);
}

walk_resources::walk_resources(unsigned pending_misses, unsigned walkers)
    : slots_(pending_misses), walkers_(walkers) {}

walk_resources::ticket walk_resources::begin(sc_time& delay) {
    const sc_time now = sc_time_stamp();
    ticket t;
    t.arrival = now + delay;
    // The slot is held from the miss, the walker from the start of the walk.
    t.slot = slots_.find(t.arrival, estimate_, now);
    t.walker = walkers_.find(t.slot.start, estimate_, now);
    const sc_time start = t.walker.start;
    if (start > t.arrival) {
        const std::uint64_t waited = picoseconds(start - t.arrival);
        ++queued_;
        queue_ps_ += waited;
        max_queue_ps_ = std::max(max_queue_ps_, waited);
    }
    delay = start - now;
    return t;
}

void walk_resources::end(const ticket& t, const sc_time& delay) {
    const sc_time now = sc_time_stamp();
    const sc_time done = now + delay;
    ++walks_;
    if (done > t.walker.start) {
        estimate_ = done - t.walker.start;
        walker_busy_ps_ += picoseconds(estimate_);
    }
    slots_.book(t.slot, done, now);
    walkers_.book(t.walker, done, now);
}

} // namespace iotwin::iommu
