// pcie::link: serialization time from generation and width, and the queueing
// of back-to-back TLPs on one direction of the link.
#include <gtest/gtest.h>

#include <cmath>

#include "models/pcie/link.h"

namespace {

using namespace iotwin::pcie;
// unistd.h declares a link() too.
using pcie_link = iotwin::pcie::link;
using sc_core::SC_NS;
using sc_core::SC_ZERO_TIME;
using sc_core::sc_time;

double ns(const sc_time& t) { return t.to_seconds() * 1e9; }

// The time resolution is 1 ps: compare with that tolerance.
constexpr double ps = 1e-3;

TEST(PcieLink, BytesPerNanosecondFollowsTheEncoding) {
    // 8b/10b: 2.5 GT/s x1 carries 0.25 B/ns, 5 GT/s x1 0.5 B/ns.
    EXPECT_DOUBLE_EQ(link_bytes_per_ns(1, 1), 0.25);
    EXPECT_DOUBLE_EQ(link_bytes_per_ns(2, 1), 0.5);
    // 128b/130b from gen 3: 8 GT/s x1 = 8 * 128/130 / 8 B/ns.
    EXPECT_DOUBLE_EQ(link_bytes_per_ns(3, 1), 128.0 / 130.0);
    EXPECT_DOUBLE_EQ(link_bytes_per_ns(4, 1), 2 * 128.0 / 130.0);
    EXPECT_DOUBLE_EQ(link_bytes_per_ns(5, 1), 4 * 128.0 / 130.0);
    // Lanes scale linearly.
    EXPECT_DOUBLE_EQ(link_bytes_per_ns(3, 16), 16 * 128.0 / 130.0);
    EXPECT_DOUBLE_EQ(link_bytes_per_ns(1, 4), 1.0);
    // Gen 3 is a bit less than twice gen 2 per lane (the encoding gain, not 2x).
    EXPECT_GT(link_bytes_per_ns(3, 1) / link_bytes_per_ns(2, 1), 1.96);
    EXPECT_LT(link_bytes_per_ns(3, 1) / link_bytes_per_ns(2, 1), 1.97);
}

TEST(PcieLink, WireTimeIncludesTheTlpOverhead) {
    const pcie_link g1x1({1, 1, 26});
    // 26 bytes of header/CRC/framing alone at 0.25 B/ns.
    EXPECT_NEAR(ns(g1x1.wire_time(0)), 104.0, ps);
    EXPECT_NEAR(ns(g1x1.wire_time(64)), 360.0, ps);
    const pcie_link g3x8({3, 8, 26});
    EXPECT_NEAR(ns(g3x8.wire_time(256)), (256.0 + 26.0) / (8 * 128.0 / 130.0), ps);
    const pcie_link g2x4({2, 4, 20});
    EXPECT_NEAR(ns(g2x4.wire_time(128)), (128.0 + 20.0) / 2.0, ps);
    // A different overhead changes the time only by the overhead.
    const pcie_link g1x1_less({1, 1, 16});
    EXPECT_NEAR(ns(g1x1.wire_time(64)) - ns(g1x1_less.wire_time(64)), 40.0, ps);
}

TEST(PcieLink, DefaultsAreGen3X8) {
    const pcie_link l;
    EXPECT_EQ(l.params().gen, 3u);
    EXPECT_EQ(l.params().width, 8u);
    EXPECT_EQ(l.params().tlp_overhead, 26u);
    EXPECT_NEAR(ns(l.wire_time(4)), 30.0 / (8 * 128.0 / 130.0), ps);
}

TEST(PcieLink, BackToBackTlpsQueueOnOneDirection) {
    pcie_link l({1, 1, 26});
    const sc_time w = l.wire_time(64);
    sc_time first = SC_ZERO_TIME, second = SC_ZERO_TIME;
    l.send_up(first, 64);
    l.send_up(second, 64);  // issued at the same time: waits for the first
    EXPECT_EQ(first, w);
    EXPECT_EQ(second, w + w);
    // A TLP that arrives after the link went idle does not wait.
    sc_time later(1, sc_core::SC_US);
    l.send_up(later, 64);
    EXPECT_EQ(later, sc_time(1, sc_core::SC_US) + w);
}

TEST(PcieLink, OppositeDirectionsDoNotQueueBehindEachOther) {
    pcie_link l({1, 1, 26});
    const sc_time w = l.wire_time(64);
    sc_time up = SC_ZERO_TIME, down = SC_ZERO_TIME;
    l.send_up(up, 64);
    l.send_down(down, 64);
    EXPECT_EQ(up, w);
    EXPECT_EQ(down, w);
    // But the downstream direction queues its own second TLP.
    sc_time down2 = SC_ZERO_TIME;
    l.send_down(down2, 0);
    EXPECT_EQ(down2, w + l.wire_time(0));
}

TEST(PcieLink, PartialOverlapWaitsOnlyForTheRemainder) {
    pcie_link l({1, 1, 26});
    const sc_time w = l.wire_time(0);  // 104 ns
    sc_time a = SC_ZERO_TIME;
    l.send_down(a, 0);
    sc_time b(50, SC_NS);
    l.send_down(b, 0);
    EXPECT_EQ(b, w + w);  // starts when the first is done (104 ns), not at 50 ns
}

TEST(PcieLink, CompletionsSplitAtNaturallyAlignedBoundaries) {
    EXPECT_EQ(completion_count(0, 64, 64), 1u);
    EXPECT_EQ(completion_count(0, 512, 64), 8u);
    EXPECT_EQ(completion_count(32, 64, 64), 2u);    // crosses one boundary
    EXPECT_EQ(completion_count(0x1000, 4096, 128), 32u);
    EXPECT_EQ(completion_count(60, 8, 64), 2u);     // 4 bytes each side of 64
    EXPECT_EQ(completion_count(0, 0, 64), 1u);      // a completion without data
}

TEST(PcieLink, EachCompletionCarriesItsOwnOverhead) {
    const pcie_link g3x8({3, 8, 26, 22});
    const double bytes_per_ns = 8 * 128.0 / 130.0;
    // 512 bytes in eight 64-byte completions: 8 x 22 bytes of overhead.
    EXPECT_NEAR(ns(g3x8.completion_time(0, 512, 64)), (512 + 8 * 22) / bytes_per_ns, ps);
    EXPECT_NEAR(ns(g3x8.completion_time(0, 512, 128)), (512 + 4 * 22) / bytes_per_ns, ps);
    // The direction is occupied for that long.
    pcie_link l({3, 8, 26, 22});
    sc_time down = SC_ZERO_TIME;
    l.complete_down(down, 0, 512, 64);
    EXPECT_EQ(down, l.completion_time(0, 512, 64));
    sc_time up = SC_ZERO_TIME;
    l.complete_up(up, 0, 64, 64);
    EXPECT_EQ(up, l.completion_time(0, 64, 64));  // the other direction is free
}

TEST(PcieLink, ValidLink) {
    for (std::uint64_t gen = 1; gen <= 5; ++gen)
        for (std::uint64_t width : {1, 2, 4, 8, 12, 16, 32}) EXPECT_TRUE(valid_link(gen, width)) << gen << " x" << width;
    EXPECT_FALSE(valid_link(0, 8));
    EXPECT_FALSE(valid_link(6, 8));
    EXPECT_FALSE(valid_link(3, 0));
    EXPECT_FALSE(valid_link(3, 3));
    EXPECT_FALSE(valid_link(3, 64));
    EXPECT_FALSE(valid_link(3, 6));
}

} // namespace
