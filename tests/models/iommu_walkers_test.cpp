// The IOMMU's walk resources (models/iommu/walkers.h): pending-miss slots and
// page walkers are pools of servers, each busy for a whole walk, so
// concurrent misses queue; the calendar's first fit and booking of work whose
// length is known only afterwards (models/common/timed_resource.h).
#include <gtest/gtest.h>

#include "models/common/timed_resource.h"
#include "models/iommu/walkers.h"

namespace {

using iotwin::timed_resource;
using iotwin::iommu::server_pool;
using iotwin::iommu::walk_resources;
using sc_core::SC_NS;
using sc_core::SC_ZERO_TIME;
using sc_core::sc_time;

sc_time ns(double v) { return sc_time(v, SC_NS); }

TEST(TimedResourceBooking, FirstFitFindsTheGapWithoutBooking) {
    timed_resource r;
    r.book(ns(10), ns(20), SC_ZERO_TIME);
    r.book(ns(30), ns(40), SC_ZERO_TIME);
    EXPECT_EQ(r.first_fit(ns(0), ns(5), SC_ZERO_TIME), ns(0));    // before the first interval
    EXPECT_EQ(r.first_fit(ns(0), ns(15), SC_ZERO_TIME), ns(40));  // no gap is long enough
    EXPECT_EQ(r.first_fit(ns(12), ns(10), SC_ZERO_TIME), ns(20)); // the gap 20..30
    EXPECT_EQ(r.first_fit(ns(50), ns(10), SC_ZERO_TIME), ns(50));
    EXPECT_EQ(r.booked_intervals(), 2u);
}

TEST(TimedResourceBooking, OverlappingBookingsMergeIntoOneInterval) {
    timed_resource r;
    r.book(ns(10), ns(20), SC_ZERO_TIME);
    r.book(ns(30), ns(40), SC_ZERO_TIME);
    r.book(ns(50), ns(60), SC_ZERO_TIME);
    r.book(ns(0), ns(5), SC_ZERO_TIME);      // before everything: its own interval
    EXPECT_EQ(r.booked_intervals(), 4u);
    r.book(ns(15), ns(35), SC_ZERO_TIME);    // joins 10..20 and 30..40
    EXPECT_EQ(r.booked_intervals(), 3u);
    EXPECT_EQ(r.first_fit(ns(10), ns(5), SC_ZERO_TIME), ns(40));
    r.book(ns(40), ns(70), SC_ZERO_TIME);    // touches 10..40, swallows 50..60
    EXPECT_EQ(r.booked_intervals(), 2u);
    EXPECT_EQ(r.next_free(), ns(70));
    r.book(ns(20), ns(20), SC_ZERO_TIME);    // empty: nothing
    EXPECT_EQ(r.booked_intervals(), 2u);
}

TEST(ServerPool, TakesTheServerFreeEarliest) {
    server_pool p(2);
    auto a = p.find(ns(0), ns(100), SC_ZERO_TIME);
    EXPECT_EQ(a.start, ns(0));
    p.book(a, ns(100), SC_ZERO_TIME);
    auto b = p.find(ns(10), ns(100), SC_ZERO_TIME);
    EXPECT_EQ(b.start, ns(10));  // the second server is free
    EXPECT_NE(b.server, a.server);
    p.book(b, ns(110), SC_ZERO_TIME);
    auto c = p.find(ns(20), ns(100), SC_ZERO_TIME);
    EXPECT_EQ(c.start, ns(100));  // both busy: waits for the first to free
    EXPECT_EQ(c.server, a.server);
}

// Three misses at once with two walkers: the third waits for the first walk
// to end, for its whole length, not for a per-level slice of it.
TEST(WalkResources, AThirdConcurrentMissWaitsForAWholeWalk) {
    walk_resources w(16, 2);
    sc_time d1 = ns(0), d2 = ns(0), d3 = ns(0);
    auto t1 = w.begin(d1);
    EXPECT_EQ(d1, ns(0));
    d1 += ns(350);  // the walk's reads
    w.end(t1, d1);
    auto t2 = w.begin(d2);
    EXPECT_EQ(d2, ns(0));
    d2 += ns(350);
    w.end(t2, d2);
    auto t3 = w.begin(d3);
    EXPECT_EQ(d3, ns(350));
    d3 += ns(350);
    w.end(t3, d3);
    EXPECT_EQ(w.walks(), 3u);
    EXPECT_EQ(w.queued(), 1u);
    EXPECT_EQ(w.queue_ps(), 350000u);
    EXPECT_EQ(w.walker_busy_ps(), 3u * 350000u);
}

// Pending-miss slots bound the misses outstanding, whatever the walkers.
TEST(WalkResources, PendingMissSlotsBoundOutstandingMisses) {
    walk_resources w(1, 4);
    sc_time d1 = ns(0), d2 = ns(5);
    auto t1 = w.begin(d1);
    d1 += ns(200);
    w.end(t1, d1);
    auto t2 = w.begin(d2);
    EXPECT_EQ(d2, ns(200));  // the one slot frees when the first walk ends
    d2 += ns(200);
    w.end(t2, d2);
    EXPECT_EQ(w.queued(), 1u);
    EXPECT_EQ(w.max_queue_ps(), 195000u);
}

// A miss that arrives out of simulated-time order (another initiator booked
// ahead within its quantum) takes a gap before the later walk.
TEST(WalkResources, AnEarlierMissTakesAGapBeforeALaterWalk) {
    walk_resources w(1, 1);
    sc_time late = ns(1000), early = ns(0);
    auto t1 = w.begin(late);
    late += ns(300);
    w.end(t1, late);
    auto t2 = w.begin(early);
    EXPECT_EQ(early, ns(0));
    early += ns(300);
    w.end(t2, early);
    EXPECT_EQ(w.queued(), 0u);
}

} // namespace
