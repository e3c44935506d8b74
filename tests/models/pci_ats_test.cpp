// The device side of ATS as plain code: the Address Translation Cache and the
// (address, S) range encoding that Translation Completions and Invalidate
// Requests share (PCIe 5.0 10.2.3.2, 10.3.1).
#include <gtest/gtest.h>

#include "models/pci/ats.h"
#include "models/pcie/protocol.h"

namespace {

using iotwin::pci::address_translation_cache;
using iotwin::pci::atc_entry;
namespace ats = iotwin::pcie::ats;

TEST(AtsRange, SClearIsOnePage) {
    EXPECT_EQ(ats::range_size(0x12345000, false), 4096u);
    EXPECT_EQ(ats::encode_range(0x12345000, 4096), 0x12345000u);
}

TEST(AtsRange, SSetSizeFromTheLowestClearBit) {
    // Bit 12 clear: 8 KiB; bits 13:12 = 01b: 16 KiB; bits 20:12 all set, bit 21 clear: 4 MiB.
    EXPECT_EQ(ats::range_size(0x10000, true), 8192u);
    EXPECT_EQ(ats::range_size(0x11000, true), 16384u);
    EXPECT_EQ(ats::range_size(0x1ff000, true), 4u << 20);
    // Every bit set: the whole address space.
    EXPECT_EQ(ats::range_size(~std::uint64_t(0xfff), true), 0u);
}

TEST(AtsRange, EncodeThenDecodeGivesTheRange) {
    for (std::uint64_t size = 4096; size <= (std::uint64_t(1) << 40); size <<= 1) {
        const std::uint64_t base = size * 3;
        const std::uint64_t enc = ats::encode_range(base, size);
        EXPECT_EQ(ats::range_size(enc, enc & ats::S), size) << size;
        EXPECT_EQ(enc & ats::ADDRESS_MASK & ~(size - 1), base) << size;
    }
}

TEST(Atc, HitInsideTheRangeMissOutside) {
    address_translation_cache c(4);
    c.insert({0x200000, 0x200000, 0x40000000, true, false});  // 2 MiB
    auto e = c.lookup(0x3ff000);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->translated, 0x40000000u);
    EXPECT_TRUE(e->read);
    EXPECT_FALSE(e->write);
    EXPECT_FALSE(c.lookup(0x400000));
    EXPECT_FALSE(c.lookup(0x1ff000));
    EXPECT_EQ(c.hits(), 1u);
    EXPECT_EQ(c.misses(), 2u);
}

TEST(Atc, InvalidateDropsOverlappingEntriesOnly) {
    address_translation_cache c(8);
    for (std::uint64_t p = 0; p < 4; ++p) c.insert({0x10000 + p * 4096, 4096, 0x90000 + p * 4096, true, true});
    // An 8 KiB range, naturally aligned: 0x12000..0x13fff.
    EXPECT_EQ(c.invalidate(0x12000, 8192), 2u);
    EXPECT_TRUE(c.lookup(0x10000));
    EXPECT_TRUE(c.lookup(0x11000));
    EXPECT_FALSE(c.lookup(0x12000));
    EXPECT_FALSE(c.lookup(0x13000));
    // Size 0: everything.
    EXPECT_EQ(c.invalidate(0, 0), 2u);
    EXPECT_EQ(c.size(), 0u);
}

TEST(Atc, FullCacheEvictsTheOldest) {
    address_translation_cache c(2);
    c.insert({0x1000, 4096, 0xa000, true, true});
    c.insert({0x2000, 4096, 0xb000, true, true});
    c.insert({0x3000, 4096, 0xc000, true, true});
    EXPECT_EQ(c.evictions(), 1u);
    EXPECT_FALSE(c.lookup(0x1000));
    EXPECT_TRUE(c.lookup(0x2000));
    EXPECT_TRUE(c.lookup(0x3000));
}

TEST(Atc, ReinsertingARangeReplacesIt) {
    address_translation_cache c(4);
    c.insert({0x1000, 4096, 0xa000, true, false});
    c.insert({0x1000, 4096, 0xb000, true, true});
    EXPECT_EQ(c.size(), 1u);
    EXPECT_EQ(c.lookup(0x1000)->translated, 0xb000u);
}

} // namespace
