// The IOTLB's reach on DMA, against pcie-bench (Neugebauer et al., SIGCOMM
// 2018, §6.4): 64-byte random reads over a window, throughput with the IOMMU
// (4 KiB pages) over throughput without it, within ±10 % of the paper's
// ratio for each window, with the default parameters. Simulated time only:
// the figures do not depend on the host. docs/timing.md, "IOTLB reach".
#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/iotlb_reach.h"

namespace {

using namespace iotwin::test::reach;

void expect_ratio(std::uint64_t window, double paper) {
    config with, without;
    with.window = without.window = window;
    without.iommu = false;
    const auto a = run(with), b = run(without);
    ASSERT_TRUE(a && b) << "a run failed";
    ASSERT_GT(b->gbps, 0);
    const double ratio = a->gbps / b->gbps;
    EXPECT_NEAR(ratio, paper, 0.10 * paper) << "window " << window << " B: " << a->gbps << " GB/s with the IOMMU, "
                                            << b->gbps << " GB/s without; IOTLB miss rate " << a->miss_rate;
}

TEST(IotlbReach, Window256KiB) { expect_ratio(256ull << 10, 1.00); }
TEST(IotlbReach, Window512KiB) { expect_ratio(512ull << 10, 0.74); }
TEST(IotlbReach, Window1MiB) { expect_ratio(1ull << 20, 0.52); }
TEST(IotlbReach, Window4MiB) { expect_ratio(4ull << 20, 0.38); }
TEST(IotlbReach, Window64MiB) { expect_ratio(64ull << 20, 0.35); }

// The mechanism behind the curve: the miss rate follows the IOTLB's capacity
// (64 entries of 4 KiB: 256 KiB), and misses queue for the walkers.
TEST(IotlbReach, MissRateFollowsCapacityAndMissesQueue) {
    config c;
    c.window = 1ull << 20;  // 256 pages for 64 entries: 3 in 4 accesses miss
    const auto m = run(c);
    ASSERT_TRUE(m);
    EXPECT_NEAR(m->miss_rate, 0.75, 0.03);
    EXPECT_GT(m->queue_ns, 0.0);
}

// With 2 MiB pages the largest window fits the IOTLB (32 entries): no drop.
TEST(IotlbReach, TwoMegabytePagesDoNotDrop) {
    config with, without;
    with.window = without.window = 64ull << 20;
    with.superpages = true;
    without.iommu = false;
    const auto a = run(with), b = run(without);
    ASSERT_TRUE(a && b);
    EXPECT_NEAR(a->gbps / b->gbps, 1.00, 0.05);
    EXPECT_LT(a->miss_rate, 0.01);
}

// Fewer walkers, fewer misses served at once: the large window slows down
// in proportion (the walker pool is the bottleneck there).
TEST(IotlbReach, OneWalkerIsTheBottleneck) {
    config eight, one;
    eight.window = one.window = 64ull << 20;
    eight.count = one.count = 4000;
    eight.warmup = one.warmup = 500;
    one.iommu_keys = ", walkers: 1, pending_misses: 1";
    const auto a = run(eight), b = run(one);
    ASSERT_TRUE(a && b);
    EXPECT_LT(b->gbps, a->gbps / 3);
}

} // namespace
