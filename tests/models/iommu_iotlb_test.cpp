// The IOTLB on its own: hit/miss accounting, domain tagging, LRU replacement
// inside a set and the three VT-d invalidation scopes.
#include <gtest/gtest.h>

#include "models/iommu/iotlb.h"

namespace iotwin::iommu {
namespace {

translation rw(std::uint64_t frame) { return {frame, true, true}; }

TEST(iotlb_test, MissThenHitAreCounted) {
    iotlb tlb(64, 4);
    EXPECT_EQ(tlb.lookup(1, 0x123), nullptr);
    EXPECT_EQ(tlb.misses(), 1u);
    EXPECT_EQ(tlb.hits(), 0u);

    tlb.insert(1, 0x123, {0x456, true, false});
    const translation* t = tlb.lookup(1, 0x123);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->frame, 0x456u);
    EXPECT_TRUE(t->read);
    EXPECT_FALSE(t->write);
    EXPECT_EQ(tlb.hits(), 1u);
    EXPECT_EQ(tlb.misses(), 1u);

    // A neighbouring page is a different entry.
    EXPECT_EQ(tlb.lookup(1, 0x124), nullptr);
    EXPECT_EQ(tlb.misses(), 2u);
}

TEST(iotlb_test, SamePageInTwoDomainsIsTwoEntries) {
    iotlb tlb(64, 4);
    tlb.insert(1, 0x40, rw(0x1000));
    tlb.insert(2, 0x40, rw(0x2000));
    EXPECT_EQ(tlb.valid_entries(), 2u);

    ASSERT_NE(tlb.lookup(1, 0x40), nullptr);
    EXPECT_EQ(tlb.lookup(1, 0x40)->frame, 0x1000u);
    ASSERT_NE(tlb.lookup(2, 0x40), nullptr);
    EXPECT_EQ(tlb.lookup(2, 0x40)->frame, 0x2000u);
    // A third domain never sees another domain's translation of the page.
    EXPECT_EQ(tlb.lookup(3, 0x40), nullptr);
}

TEST(iotlb_test, ReinsertingAnEntryReplacesItWithoutEviction) {
    iotlb tlb(8, 2);
    tlb.insert(1, 0, rw(0x10));
    tlb.insert(1, 0, {0x20, true, false});
    EXPECT_EQ(tlb.valid_entries(), 1u);
    EXPECT_EQ(tlb.evictions(), 0u);
    ASSERT_NE(tlb.lookup(1, 0), nullptr);
    EXPECT_EQ(tlb.lookup(1, 0)->frame, 0x20u);
    EXPECT_FALSE(tlb.lookup(1, 0)->write);
}

TEST(iotlb_test, FullSetEvictsTheLeastRecentlyUsedWay) {
    // 8 entries, 2 ways: 4 sets, so pages 0, 4 and 8 share set 0.
    iotlb tlb(8, 2);
    tlb.insert(1, 0, rw(0x100));
    tlb.insert(1, 4, rw(0x104));
    tlb.insert(1, 1, rw(0x101));  // another set, must survive
    ASSERT_NE(tlb.lookup(1, 0), nullptr);  // page 4 is now the LRU way of set 0

    tlb.insert(1, 8, rw(0x108));
    EXPECT_EQ(tlb.evictions(), 1u);
    EXPECT_EQ(tlb.valid_entries(), 3u);
    EXPECT_EQ(tlb.lookup(1, 4), nullptr);
    ASSERT_NE(tlb.lookup(1, 0), nullptr);
    ASSERT_NE(tlb.lookup(1, 8), nullptr);
    EXPECT_EQ(tlb.lookup(1, 8)->frame, 0x108u);
    ASSERT_NE(tlb.lookup(1, 1), nullptr);

    // Now page 0 was used before page 8: it is the next victim.
    tlb.insert(1, 12, rw(0x10c));
    EXPECT_EQ(tlb.evictions(), 2u);
    EXPECT_EQ(tlb.lookup(1, 0), nullptr);
    EXPECT_NE(tlb.lookup(1, 8), nullptr);
    EXPECT_NE(tlb.lookup(1, 12), nullptr);
}

TEST(iotlb_test, InvalidateAllEmptiesTheCache) {
    iotlb tlb(16, 4);
    for (std::uint64_t p = 0; p < 6; ++p) tlb.insert(static_cast<std::uint16_t>(p % 2), p, rw(p));
    EXPECT_EQ(tlb.valid_entries(), 6u);
    tlb.invalidate_all();
    EXPECT_EQ(tlb.valid_entries(), 0u);
    EXPECT_EQ(tlb.lookup(0, 0), nullptr);
    EXPECT_EQ(tlb.lookup(1, 1), nullptr);
}

TEST(iotlb_test, InvalidateDomainKeepsOtherDomains) {
    iotlb tlb(64, 4);
    for (std::uint64_t p = 0; p < 4; ++p) {
        tlb.insert(1, p, rw(0x100 + p));
        tlb.insert(2, p, rw(0x200 + p));
    }
    tlb.invalidate_domain(1);
    EXPECT_EQ(tlb.valid_entries(), 4u);
    for (std::uint64_t p = 0; p < 4; ++p) {
        EXPECT_EQ(tlb.lookup(1, p), nullptr) << "page " << p;
        ASSERT_NE(tlb.lookup(2, p), nullptr) << "page " << p;
        EXPECT_EQ(tlb.lookup(2, p)->frame, 0x200 + p);
    }
}

TEST(iotlb_test, InvalidatePagesCoversTheAlignedPowerOfTwoRange) {
    iotlb tlb(64, 4);
    for (std::uint64_t p = 0x100; p < 0x108; ++p) {
        tlb.insert(1, p, rw(p));
        tlb.insert(2, p, rw(p));
    }
    ASSERT_EQ(tlb.valid_entries(), 16u);

    // Order 2 = 4 pages; 0x105 aligns down to 0x104: pages 0x104..0x107 of domain 1.
    tlb.invalidate_pages(1, 0x105, 2);
    EXPECT_EQ(tlb.valid_entries(), 12u);
    for (std::uint64_t p = 0x100; p < 0x108; ++p) {
        const bool gone = p >= 0x104;
        EXPECT_EQ(tlb.lookup(1, p) == nullptr, gone) << "domain 1 page " << std::hex << p;
        EXPECT_NE(tlb.lookup(2, p), nullptr) << "domain 2 page " << std::hex << p;
    }
}

TEST(iotlb_test, InvalidatePagesOrderZeroIsOnePage) {
    iotlb tlb(64, 4);
    tlb.insert(1, 0x10, rw(1));
    tlb.insert(1, 0x11, rw(2));
    tlb.insert(1, 0x0f, rw(3));
    tlb.invalidate_pages(1, 0x10, 0);
    EXPECT_EQ(tlb.valid_entries(), 2u);
    EXPECT_EQ(tlb.lookup(1, 0x10), nullptr);
    EXPECT_NE(tlb.lookup(1, 0x11), nullptr);
    EXPECT_NE(tlb.lookup(1, 0x0f), nullptr);
}

TEST(iotlb_test, InvalidatedWayIsReusedBeforeEvicting) {
    iotlb tlb(8, 2);
    tlb.insert(1, 0, rw(0));
    tlb.insert(1, 4, rw(4));
    tlb.invalidate_pages(1, 0, 0);
    tlb.insert(1, 8, rw(8));
    EXPECT_EQ(tlb.evictions(), 0u);
    EXPECT_NE(tlb.lookup(1, 4), nullptr);
    EXPECT_NE(tlb.lookup(1, 8), nullptr);
}

} // namespace
} // namespace iotwin::iommu
