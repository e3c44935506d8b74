// The context cache on its own: lookup by source ID, LRU replacement and the
// global, domain-selective and device-selective invalidations.
#include <gtest/gtest.h>

#include "models/iommu/context_cache.h"

namespace iotwin::iommu {
namespace {

context ctx(std::uint16_t did, std::uint64_t slptptr) {
    context c;
    c.present = true;
    c.did = did;
    c.slptptr = slptptr;
    c.aw = 2;
    return c;
}

TEST(context_cache_test, MissThenHitReturnsTheInsertedContext) {
    context_cache cc(4);
    EXPECT_EQ(cc.lookup(0x0100), nullptr);
    EXPECT_EQ(cc.misses(), 1u);

    context c = ctx(7, 0x123000);
    c.fault_processing_disable = true;
    c.translation_type = 2;
    cc.insert(0x0100, c);
    const context* got = cc.lookup(0x0100);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->did, 7);
    EXPECT_EQ(got->slptptr, 0x123000u);
    EXPECT_TRUE(got->fault_processing_disable);
    EXPECT_EQ(got->translation_type, 2u);
    EXPECT_EQ(cc.hits(), 1u);
    // Keyed by the whole source ID: another function of the device misses.
    EXPECT_EQ(cc.lookup(0x0101), nullptr);
    EXPECT_EQ(cc.misses(), 2u);
}

TEST(context_cache_test, ReinsertUpdatesInPlace) {
    context_cache cc(2);
    cc.insert(1, ctx(1, 0x1000));
    cc.insert(2, ctx(2, 0x2000));
    cc.insert(1, ctx(3, 0x3000));
    // Both source IDs still cached: updating 1 did not evict 2.
    ASSERT_NE(cc.lookup(2), nullptr);
    ASSERT_NE(cc.lookup(1), nullptr);
    EXPECT_EQ(cc.lookup(1)->did, 3);
}

TEST(context_cache_test, FullCacheEvictsTheLeastRecentlyUsed) {
    context_cache cc(2);
    cc.insert(1, ctx(1, 0x1000));
    cc.insert(2, ctx(2, 0x2000));
    ASSERT_NE(cc.lookup(1), nullptr);  // 2 becomes LRU
    cc.insert(3, ctx(3, 0x3000));
    EXPECT_EQ(cc.lookup(2), nullptr);
    EXPECT_NE(cc.lookup(1), nullptr);
    EXPECT_NE(cc.lookup(3), nullptr);
}

TEST(context_cache_test, InvalidateAll) {
    context_cache cc(4);
    cc.insert(1, ctx(1, 0x1000));
    cc.insert(2, ctx(2, 0x2000));
    cc.invalidate_all();
    EXPECT_EQ(cc.lookup(1), nullptr);
    EXPECT_EQ(cc.lookup(2), nullptr);
}

TEST(context_cache_test, InvalidateDomainDropsEveryDeviceOfThatDomainOnly) {
    context_cache cc(4);
    cc.insert(1, ctx(5, 0x1000));
    cc.insert(2, ctx(5, 0x1000));
    cc.insert(3, ctx(6, 0x2000));
    cc.invalidate_domain(5);
    EXPECT_EQ(cc.lookup(1), nullptr);
    EXPECT_EQ(cc.lookup(2), nullptr);
    ASSERT_NE(cc.lookup(3), nullptr);
    EXPECT_EQ(cc.lookup(3)->did, 6);
}

TEST(context_cache_test, InvalidateDeviceDropsOneSourceId) {
    context_cache cc(4);
    cc.insert(0x0100, ctx(5, 0x1000));
    cc.insert(0x0101, ctx(5, 0x1000));
    cc.invalidate_device(0x0100);
    EXPECT_EQ(cc.lookup(0x0100), nullptr);
    EXPECT_NE(cc.lookup(0x0101), nullptr);
}

} // namespace
} // namespace iotwin::iommu
