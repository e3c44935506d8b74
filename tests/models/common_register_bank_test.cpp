// register_bank: the masks decide what software can change, hooks see the
// register after the write, and the model's own get/set bypass all of it.
#include <gtest/gtest.h>

#include <vector>

#include "models/common/register_bank.h"

namespace {

using iotwin::reg_desc;
using iotwin::register_bank;

struct hook_call {
    std::uint64_t old_value, new_value;
};

TEST(RegisterBank, ResetValuesAreVisibleAfterDefine) {
    register_bank b(0x40);
    EXPECT_EQ(b.define({"ID", 0x00, 4, 0x12345678}), 0x00u);
    EXPECT_EQ(b.define({"WIDE", 0x08, 8, 0x0123456789abcdefull}), 0x08u);
    EXPECT_EQ(b.read(0x00, 4), 0x12345678u);
    EXPECT_EQ(b.read(0x08, 8), 0x0123456789abcdefull);
    // Sub-word reads see the little-endian bytes.
    EXPECT_EQ(b.read(0x01, 1), 0x56u);
    EXPECT_EQ(b.read(0x0c, 4), 0x01234567u);
    EXPECT_EQ(b.size(), 0x40u);
}

TEST(RegisterBank, WmaskLimitsWhichBitsSoftwareChanges) {
    register_bank b(0x10);
    b.define({"CTRL", 0x0, 4, 0xa5000000, 0x0000ff0f});
    b.write(0x0, 4, 0xffffffff);
    // Bits outside wmask keep their (reset) value, bits inside take the written one.
    EXPECT_EQ(b.read(0x0, 4), 0xa500ff0fu);
    b.write(0x0, 4, 0x00000000);
    EXPECT_EQ(b.read(0x0, 4), 0xa5000000u);
    // A read-only register (wmask 0) ignores writes entirely.
    b.define({"RO", 0x4, 4, 0x11111111});
    b.write(0x4, 4, 0xdeadbeef);
    EXPECT_EQ(b.read(0x4, 4), 0x11111111u);
}

TEST(RegisterBank, W1cBitsClearOnlyWhereOnesAreWritten) {
    register_bank b(0x10);
    b.define({"STATUS", 0x0, 4, 0, 0, 0x0000000e});
    b.set(0x0, 4, 0x0000000f);  // hardware sets bits 0..3; bit 0 is read-only
    b.write(0x0, 4, 0x00000004);
    EXPECT_EQ(b.read(0x0, 4), 0x0000000bu);
    // Writing 0 clears nothing; writing 1 to the read-only bit changes nothing.
    b.write(0x0, 4, 0x00000000);
    EXPECT_EQ(b.read(0x0, 4), 0x0000000bu);
    b.write(0x0, 4, 0xffffffff);
    EXPECT_EQ(b.read(0x0, 4), 0x00000001u);
}

TEST(RegisterBank, MixedWmaskAndW1cInOneRegister) {
    register_bank b(0x4);
    // Low byte: read/write; bits 8..9: W1C; the rest read-only.
    b.define({"MIXED", 0x0, 4, 0, 0x000000ff, 0x00000300});
    b.set(0x0, 4, 0x00000300);
    b.write(0x0, 4, 0x000001aa);  // writes the low byte and clears bit 8 only
    EXPECT_EQ(b.read(0x0, 4), 0x000002aau);
}

TEST(RegisterBank, HookRunsAfterTheBytesChangeWithOldAndNewValue) {
    register_bank b(0x10);
    std::vector<hook_call> calls;
    std::uint64_t seen_inside = 0;
    b.define({"CTRL", 0x4, 4, 0x10, 0xff},
             [&](std::uint64_t o, std::uint64_t n) {
                 calls.push_back({o, n});
                 seen_inside = b.get(0x4, 4);  // the bank already holds the new value
             });
    b.write(0x4, 4, 0x12345);
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].old_value, 0x10u);
    EXPECT_EQ(calls[0].new_value, 0x45u);  // masked value, not the raw written one
    EXPECT_EQ(seen_inside, 0x45u);
}

TEST(RegisterBank, HookRunsForPartialWritesWithTheWholeRegister) {
    register_bank b(0x10);
    std::vector<hook_call> calls;
    b.define({"CTRL", 0x0, 4, 0x11223344, 0xffffffff}, [&](std::uint64_t o, std::uint64_t n) { calls.push_back({o, n}); });
    b.write(0x2, 1, 0xaa);
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].old_value, 0x11223344u);
    EXPECT_EQ(calls[0].new_value, 0x11aa3344u);
}

TEST(RegisterBank, HookRunsEvenWhenTheValueDoesNotChange) {
    // Command registers (START) act on the write itself, not on a change.
    register_bank b(0x4);
    int calls = 0;
    b.define({"CMD", 0x0, 4, 0, 0}, [&](std::uint64_t, std::uint64_t) { ++calls; });
    b.write(0x0, 4, 1);
    b.write(0x0, 4, 1);
    EXPECT_EQ(calls, 2);
}

TEST(RegisterBank, MultiRegisterWriteUpdatesAllAndRunsEveryHook) {
    register_bank b(0x10);
    std::vector<std::pair<int, hook_call>> calls;
    b.define({"LO", 0x0, 4, 0, 0xffffffff}, [&](std::uint64_t o, std::uint64_t n) { calls.push_back({0, {o, n}}); });
    b.define({"HI", 0x4, 4, 0, 0x0000ffff}, [&](std::uint64_t o, std::uint64_t n) { calls.push_back({1, {o, n}}); });
    b.define({"OTHER", 0x8, 4, 0, 0xffffffff}, [&](std::uint64_t o, std::uint64_t n) { calls.push_back({2, {o, n}}); });
    b.write(0x0, 8, 0xaaaabbbbccccddddull);
    EXPECT_EQ(b.read(0x0, 4), 0xccccddddu);
    EXPECT_EQ(b.read(0x4, 4), 0x0000bbbbu);  // each register's own wmask applies
    ASSERT_EQ(calls.size(), 2u);             // OTHER is not touched
    EXPECT_EQ(calls[0].first, 0);
    EXPECT_EQ(calls[0].second.new_value, 0xccccddddu);
    EXPECT_EQ(calls[1].first, 1);
    EXPECT_EQ(calls[1].second.new_value, 0x0000bbbbu);
}

TEST(RegisterBank, HooksOfAMultiRegisterWriteSeeTheWholeWriteDone) {
    // A 64-bit write to a pair of 32-bit halves: the low half's hook must see
    // the high half already written (QEMU and real devices latch on the access).
    register_bank b(0x8);
    std::uint64_t hi_seen_by_lo = 0;
    b.define({"LO", 0x0, 4, 0, 0xffffffff}, [&](std::uint64_t, std::uint64_t) { hi_seen_by_lo = b.get(0x4, 4); });
    b.define({"HI", 0x4, 4, 0, 0xffffffff});
    b.write(0x0, 8, 0x1234567800000001ull);
    EXPECT_EQ(hi_seen_by_lo, 0x12345678u);
}

TEST(RegisterBank, GetAndSetBypassMasksAndHooks) {
    register_bank b(0x10);
    int calls = 0;
    b.define({"STATUS", 0x0, 4, 0, 0, 0xff}, [&](std::uint64_t, std::uint64_t) { ++calls; });
    b.set(0x0, 4, 0xdeadbeef);
    EXPECT_EQ(b.get(0x0, 4), 0xdeadbeefu);
    EXPECT_EQ(b.read(0x0, 4), 0xdeadbeefu);
    EXPECT_EQ(calls, 0);
    b.write(0x0, 4, 0xff);  // software clears the W1C byte only
    EXPECT_EQ(b.get(0x0, 4), 0xdeadbe00u);
    EXPECT_EQ(calls, 1);
}

TEST(RegisterBank, SetWmaskChangesWhatSoftwareMayWrite) {
    register_bank b(0x8);
    b.define({"BAR", 0x0, 4, 0, 0});
    b.write(0x0, 4, 0xffffffff);
    EXPECT_EQ(b.read(0x0, 4), 0u);
    b.set_wmask(0x0, 4, 0xfffff000);
    b.write(0x0, 4, 0xffffffff);
    EXPECT_EQ(b.read(0x0, 4), 0xfffff000u);
}

TEST(RegisterBank, NameAtCoversEveryByteOfARegister) {
    register_bank b(0x20);
    b.define({"ID", 0x00, 4});
    b.define({"SRC", 0x08, 8});
    EXPECT_EQ(b.name_at(0x00), "ID");
    EXPECT_EQ(b.name_at(0x03), "ID");
    EXPECT_EQ(b.name_at(0x04), "");  // a hole between registers
    EXPECT_EQ(b.name_at(0x08), "SRC");
    EXPECT_EQ(b.name_at(0x0f), "SRC");
    EXPECT_EQ(b.name_at(0x10), "");
    EXPECT_EQ(b.name_at(0x1000), "");  // beyond the bank
}

TEST(RegisterBank, InRangeRejectsAccessesPastTheEnd) {
    register_bank b(0x10);
    EXPECT_TRUE(b.in_range(0x0, 4));
    EXPECT_TRUE(b.in_range(0xc, 4));
    EXPECT_FALSE(b.in_range(0xd, 4));
    EXPECT_FALSE(b.in_range(0x10, 1));
    EXPECT_FALSE(b.in_range(0xffffffff, 4));  // no wrap-around
    EXPECT_FALSE(b.in_range(0, 0x11));
}

TEST(RegisterBank, ResetRestoresResetValuesButKeepsMasks) {
    register_bank b(0x10);
    b.define({"CTRL", 0x0, 4, 0x5, 0xff});
    b.define({"STATUS", 0x4, 4, 0x1, 0, 0x6});
    b.write(0x0, 4, 0xaa);
    b.set(0x4, 4, 0x7);
    b.reset();
    EXPECT_EQ(b.read(0x0, 4), 0x5u);
    EXPECT_EQ(b.read(0x4, 4), 0x1u);
    // Masks survive a reset.
    b.write(0x0, 4, 0xffff);
    EXPECT_EQ(b.read(0x0, 4), 0xffu);
    b.set(0x4, 4, 0x7);
    b.write(0x4, 4, 0x2);
    EXPECT_EQ(b.read(0x4, 4), 0x5u);
}

TEST(RegisterBank, UndefinedBytesReadZeroAndIgnoreWrites) {
    register_bank b(0x10);
    b.define({"A", 0x0, 4, 0, 0xffffffff});
    b.write(0x8, 4, 0xffffffff);
    EXPECT_EQ(b.read(0x8, 4), 0u);
}

} // namespace
