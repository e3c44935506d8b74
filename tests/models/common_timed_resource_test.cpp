// timed_resource: the calendar of a shared resource. Requests in
// simulated-time order queue behind each other; a request that arrives out of
// order (another initiator booked ahead within its quantum) takes the first
// gap that fits at or after its arrival; intervals behind the global time are
// dropped.
#include <gtest/gtest.h>

#include "models/common/timed_resource.h"

namespace {

using iotwin::timed_resource;
using sc_core::SC_NS;
using sc_core::SC_ZERO_TIME;
using sc_core::sc_time;

sc_time ns(double v) { return sc_time(v, SC_NS); }

TEST(TimedResource, InOrderRequestsQueueAndMergeIntoOneInterval) {
    timed_resource r;
    EXPECT_EQ(r.occupy(ns(0), ns(10)), ns(10));
    EXPECT_EQ(r.occupy(ns(0), ns(10)), ns(20));  // busy until 10: waits
    EXPECT_EQ(r.occupy(ns(20), ns(5)), ns(25));  // back to back
    EXPECT_EQ(r.booked_intervals(), 1u);
    EXPECT_EQ(r.occupy(ns(40), ns(5)), ns(45));  // after an idle stretch
    EXPECT_EQ(r.booked_intervals(), 2u);
    EXPECT_EQ(r.next_free(), ns(45));
}

TEST(TimedResource, AnEarlierRequestTakesAGapBeforeLaterWork) {
    timed_resource r;
    // Another initiator booked [100, 110) and [130, 140) ahead of time.
    r.occupy(ns(100), ns(10));
    r.occupy(ns(130), ns(10));
    // A request for 0 ns fits before them and does not wait for them.
    EXPECT_EQ(r.occupy(ns(0), ns(20)), ns(20));
    // One arriving at 105 needs 15 ns: the gap 110..130 fits it.
    EXPECT_EQ(r.occupy(ns(105), ns(15)), ns(125));
    // One arriving at 112 needing 10 ns: 125..130 is too short, so after 140.
    EXPECT_EQ(r.occupy(ns(112), ns(10)), ns(150));
    EXPECT_EQ(r.next_free(), ns(150));
}

TEST(TimedResource, AGapThatFitsExactlyIsUsed) {
    timed_resource r;
    r.occupy(ns(0), ns(10));
    r.occupy(ns(20), ns(10));
    EXPECT_EQ(r.occupy(ns(5), ns(10)), ns(20));  // 10..20, exactly
    EXPECT_EQ(r.occupy(ns(0), ns(1)), ns(31));   // nothing left before 30
}

TEST(TimedResource, ZeroLengthRequestsOccupyNothing) {
    timed_resource r;
    r.occupy(ns(0), ns(10));
    EXPECT_EQ(r.occupy(ns(3), SC_ZERO_TIME), ns(3));
    EXPECT_EQ(r.booked_intervals(), 1u);
}

TEST(TimedResource, IntervalsBehindTheGlobalTimeAreDropped) {
    timed_resource r;
    for (int i = 0; i < 100; ++i) r.occupy(ns(20 * i), ns(10));
    EXPECT_EQ(r.booked_intervals(), 100u);
    // With the global time at 1500 ns, nobody can arrive before it.
    EXPECT_EQ(r.occupy(ns(2000), ns(10), ns(1500)), ns(2010));
    EXPECT_LE(r.booked_intervals(), 27u);
}

} // namespace
