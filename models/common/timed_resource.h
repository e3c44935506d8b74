// A shared resource (a link direction, a page walker, a memory channel, a
// conventional PCI bus) in the loosely-timed style: each request occupies it
// for a while, and a request that finds it busy waits, so contention shows in
// latency and throughput while transactions still travel as one b_transport.
//
// With temporal decoupling, initiators run ahead of the global time by up to
// a quantum, so requests reach a resource out of simulated-time order: a
// device that ran ahead may already have booked the link for the next
// microsecond when another device's request for an earlier time arrives. The
// resource therefore keeps a calendar of busy intervals and gives each request
// the first gap at or after its arrival that is long enough: a request is
// never queued behind work booked for a later time unless no gap fits it, and
// the resource never idles while a request waits (work-conserving). What
// remains of booking order is bounded: a request can lose a gap to a request
// booked earlier in execution order but later in simulated time only within
// the quantum the other initiator ran ahead (docs/timing.md).
// Intervals that end by the global time are dropped: no initiator's local
// time is ever behind it.
#pragma once
#include <algorithm>
#include <vector>

#include <systemc>

#include "models/common/ns_time.h"

namespace iotwin {

class timed_resource {
public:
    // A request arriving at `arrival` (absolute simulated time) that occupies
    // the resource for `busy`. Returns the time at which it is done.
    sc_core::sc_time occupy(const sc_core::sc_time& arrival, const sc_core::sc_time& busy) {
        return occupy(arrival, busy, sim_now());
    }
    // The same, with the global time already at hand.
    sc_core::sc_time occupy(const sc_core::sc_time& arrival, const sc_core::sc_time& busy, const sc_core::sc_time& now) {
        if (busy == sc_core::SC_ZERO_TIME) return arrival;
        // In simulated-time order, the common case (every request of a
        // stream): after everything booked. Inline, so a hop pays a few compares.
        if (!empty() && arrival >= busy_.back().end) {
            interval& last = busy_.back();
            // Back-to-back work is one interval, so a stream keeps the calendar short.
            if (arrival == last.end) {
                last.end += busy;
                return last.end;
            }
            // Everything booked is past (no request arrives before the
            // global time): the calendar starts again. Else what is past
            // is dropped once it is worth a pass over it.
            if (last.end <= now) {
                busy_.clear();
                head_ = 0;
            } else if (busy_.size() - head_ >= prune_batch) {
                prune(now);
            }
            busy_.push_back({arrival, arrival + busy});
            return busy_.back().end;
        }
        return occupy_out_of_order(arrival, busy, now);
    }
    // When a request arriving at `arrival` that occupies the resource for
    // `busy` would start, booking nothing (a pool of servers asks each).
    sc_core::sc_time first_fit(const sc_core::sc_time& arrival, const sc_core::sc_time& busy, const sc_core::sc_time& now) {
        prune(now);
        if (empty() || arrival >= busy_.back().end) return arrival;
        sc_core::sc_time earliest = arrival;
        auto it = std::upper_bound(first(), busy_.end(), arrival,
                                   [](const sc_core::sc_time& t, const interval& i) { return t < i.end; });
        for (; it != busy_.end(); ++it) {
            if (earliest + busy <= it->start) return earliest;
            earliest = std::max(earliest, it->end);
        }
        return earliest;
    }
    // Books [start, end) whatever is booked already: intervals it overlaps
    // or touches become one (for work whose length is known only once done).
    void book(const sc_core::sc_time& start, const sc_core::sc_time& end, const sc_core::sc_time& now) {
        if (end <= start) return;
        prune(now);
        if (empty() || start > busy_.back().end) { busy_.push_back({start, end}); return; }
        auto first = std::lower_bound(this->first(), busy_.end(), start,
                                      [](const interval& i, const sc_core::sc_time& t) { return i.end < t; });
        if (first == busy_.end() || end < first->start) { busy_.insert(first, {start, end}); return; }
        first->start = std::min(first->start, start);
        first->end = std::max(first->end, end);
        auto next = first + 1;
        auto last = next;
        while (last != busy_.end() && last->start <= first->end) {
            first->end = std::max(first->end, last->end);
            ++last;
        }
        busy_.erase(next, last);
    }
    // When the resource is free of everything booked so far.
    sc_core::sc_time next_free() const { return empty() ? sc_core::SC_ZERO_TIME : busy_.back().end; }
    // Intervals booked and not yet past (for tests and statistics).
    std::size_t booked_intervals() const { return busy_.size() - head_; }

private:
    struct interval { sc_core::sc_time start, end; };
    // In-order bookings drop the past intervals once this many are booked
    // (until then they cost only memory: a search skips them).
    static constexpr std::size_t prune_batch = 16;
    // A request that arrives before the end of what is booked (timed_resource.cpp).
    sc_core::sc_time occupy_out_of_order(const sc_core::sc_time& arrival, const sc_core::sc_time& busy, const sc_core::sc_time& now);
    using iterator = std::vector<interval>::iterator;

    // The calendar is the vector's tail from head_: intervals leave at the
    // front and arrive at the back, so a stream of requests costs no
    // allocation (a deque allocates and frees a block every few dozen).
    iterator first() { return busy_.begin() + static_cast<std::ptrdiff_t>(head_); }
    bool empty() const { return head_ == busy_.size(); }

    sc_core::sc_time append(const sc_core::sc_time& start, const sc_core::sc_time& busy) {
        const sc_core::sc_time end = start + busy;
        // Back-to-back work is one interval, so a stream keeps the calendar short.
        if (!empty() && busy_.back().end == start) busy_.back().end = end;
        else busy_.push_back({start, end});
        return end;
    }
    void prune(const sc_core::sc_time& now) {
        while (busy_.size() - head_ > 1 && busy_[head_].end <= now) ++head_;
        // Reclaim the dropped front once it outweighs what is left.
        if (head_ >= 32 && head_ * 2 >= busy_.size()) {
            busy_.erase(busy_.begin(), first());
            head_ = 0;
        }
    }

    std::vector<interval> busy_;
    std::size_t head_ = 0;
};

// Adds the contention-aware occupation of `r` to a loosely-timed annotated delay.
inline void occupy(timed_resource& r, sc_core::sc_time& delay, const sc_core::sc_time& busy) {
    const sc_core::sc_time now = sim_now();
    delay = r.occupy(now + delay, busy, now) - now;
}

} // namespace iotwin
