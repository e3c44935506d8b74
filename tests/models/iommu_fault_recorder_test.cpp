// Primary fault logging on its own: the fault recording register encodings,
// overflow, clearing F, and FSTS (PFO, PPF, FRI) as VT-d software reads them.
#include <gtest/gtest.h>

#include "models/iommu/fault_recorder.h"

namespace iotwin::iommu {
namespace {

using vtd::fault_reason;

constexpr std::uint64_t F = 1ull << 63, T = 1ull << 62;

unsigned fri(std::uint32_t fsts) { return (fsts >> vtd::fsts::FRI_SHIFT) & 0xff; }

fault_record fault(std::uint16_t sid, std::uint64_t addr, fault_reason r, bool read) { return {sid, addr, r, read}; }

TEST(fault_recorder_test, EmptyRecorderReadsZero) {
    fault_recorder fr(4);
    EXPECT_EQ(fr.size(), 4u);
    EXPECT_EQ(fr.low(0), 0u);
    EXPECT_EQ(fr.high(0), 0u);
    EXPECT_EQ(fr.status() & (vtd::fsts::PPF | vtd::fsts::PFO), 0u);
}

TEST(fault_recorder_test, WriteFaultEncoding) {
    fault_recorder fr(4);
    ASSERT_TRUE(fr.record(fault(0x0108, 0x12345678, fault_reason::write_not_permitted, false)));
    // Low quadword: the faulting page (FI, bits 63:12).
    EXPECT_EQ(fr.low(0), 0x12345000u);
    // High quadword: F, T = 0 (write), FR at 39:32, SID at 15:0.
    EXPECT_EQ(fr.high(0), F | 0x05ull << 32 | 0x0108);
    EXPECT_NE(fr.status() & vtd::fsts::PPF, 0u);
    EXPECT_EQ(fr.status() & vtd::fsts::PFO, 0u);
}

TEST(fault_recorder_test, ReadFaultSetsT) {
    fault_recorder fr(4);
    ASSERT_TRUE(fr.record(fault(0xabcd, 0xfedc'ba98'7654'3210ull, fault_reason::read_not_permitted, true)));
    EXPECT_EQ(fr.low(0), 0xfedc'ba98'7654'3000ull);
    EXPECT_EQ(fr.high(0), F | T | 0x06ull << 32 | 0xabcd);
}

TEST(fault_recorder_test, FaultsFillConsecutiveRegisters) {
    fault_recorder fr(4);
    ASSERT_TRUE(fr.record(fault(1, 0x1000, fault_reason::root_not_present, true)));
    ASSERT_TRUE(fr.record(fault(2, 0x2000, fault_reason::context_not_present, false)));
    EXPECT_EQ(fr.high(0) & 0xffff, 1u);
    EXPECT_EQ((fr.high(0) >> 32) & 0xff, 0x1u);
    EXPECT_EQ(fr.high(1) & 0xffff, 2u);
    EXPECT_EQ((fr.high(1) >> 32) & 0xff, 0x2u);
    EXPECT_EQ(fr.low(1), 0x2000u);
    EXPECT_EQ(fr.high(2), 0u);
}

TEST(fault_recorder_test, OverflowSetsPfoAndDropsTheFault) {
    fault_recorder fr(2);
    ASSERT_TRUE(fr.record(fault(1, 0x1000, fault_reason::read_not_permitted, true)));
    ASSERT_TRUE(fr.record(fault(2, 0x2000, fault_reason::read_not_permitted, true)));
    EXPECT_EQ(fr.status() & vtd::fsts::PFO, 0u);

    EXPECT_FALSE(fr.record(fault(3, 0x3000, fault_reason::write_not_permitted, false)));
    EXPECT_NE(fr.status() & vtd::fsts::PFO, 0u);
    // Neither register was overwritten by the dropped fault.
    EXPECT_EQ(fr.high(0) & 0xffff, 1u);
    EXPECT_EQ(fr.high(1) & 0xffff, 2u);
    EXPECT_EQ(fr.low(0), 0x1000u);

    fr.clear_overflow();
    EXPECT_EQ(fr.status() & vtd::fsts::PFO, 0u);
    EXPECT_NE(fr.status() & vtd::fsts::PPF, 0u);  // the two records are still pending
}

TEST(fault_recorder_test, ClearFreesTheSlotForTheNextFault) {
    fault_recorder fr(2);
    ASSERT_TRUE(fr.record(fault(1, 0x1000, fault_reason::read_not_permitted, true)));
    ASSERT_TRUE(fr.record(fault(2, 0x2000, fault_reason::read_not_permitted, true)));
    fr.clear(0);
    EXPECT_EQ(fr.high(0), 0u);
    EXPECT_EQ(fr.low(0), 0u);
    // The index wrapped to register 0, which is free again.
    ASSERT_TRUE(fr.record(fault(3, 0x3000, fault_reason::write_not_permitted, false)));
    EXPECT_EQ(fr.high(0), F | 0x05ull << 32 | 3);
    EXPECT_EQ(fr.status() & vtd::fsts::PFO, 0u);
}

TEST(fault_recorder_test, PpfClearsWhenEveryRecordIsCleared) {
    fault_recorder fr(4);
    ASSERT_TRUE(fr.record(fault(1, 0x1000, fault_reason::read_not_permitted, true)));
    ASSERT_TRUE(fr.record(fault(2, 0x2000, fault_reason::read_not_permitted, true)));
    fr.clear(0);
    EXPECT_NE(fr.status() & vtd::fsts::PPF, 0u);
    fr.clear(1);
    EXPECT_EQ(fr.status() & vtd::fsts::PPF, 0u);
}

// FRI names the register of the first pending fault (VT-d 3.x 11.4.9.1): the
// register software starts scanning from, not where the next fault will go.
TEST(fault_recorder_test, FriPointsAtTheFirstPendingFault) {
    fault_recorder fr(4);
    ASSERT_TRUE(fr.record(fault(1, 0x1000, fault_reason::read_not_permitted, true)));
    EXPECT_EQ(fri(fr.status()), 0u);
    // A second fault while the first is pending leaves FRI alone.
    ASSERT_TRUE(fr.record(fault(2, 0x2000, fault_reason::read_not_permitted, true)));
    EXPECT_EQ(fri(fr.status()), 0u);

    fr.clear(0);
    fr.clear(1);
    ASSERT_EQ(fr.status() & vtd::fsts::PPF, 0u);
    // The next fault goes to register 2 and sets PPF again: FRI follows it.
    ASSERT_TRUE(fr.record(fault(3, 0x3000, fault_reason::write_not_permitted, false)));
    EXPECT_EQ(fri(fr.status()), 2u);
    EXPECT_EQ(fr.high(2) & 0xffff, 3u);
}

} // namespace
} // namespace iotwin::iommu
