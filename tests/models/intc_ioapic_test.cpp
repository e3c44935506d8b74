// The I/O APIC's level-triggered GSIs: wired-OR of sources, delivery on the
// rising edge, Remote IRR until the EOI, redelivery while still asserted.
#include <gtest/gtest.h>

#include <vector>

#include "models/intc/ioapic.h"

namespace {

using namespace iotwin;
using namespace sc_core;

struct fired {
    unsigned gsi;
    sc_time when;
};

struct IoApic : ::testing::Test {
    intc::ioapic apic{"apic", sc_time(30, SC_NS)};
    std::vector<fired> log;
    sc_time d = SC_ZERO_TIME;
    IoApic() {
        apic.set_sink([this](unsigned gsi, const sc_time& when) { log.push_back({gsi, when}); });
    }
};

TEST_F(IoApic, DeliversOnRisingLevelAfterItsLatency) {
    d = sc_time(100, SC_NS);
    apic.set_line(20, 1, true, d);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].gsi, 20u);
    EXPECT_EQ(log[0].when, sc_time(130, SC_NS));
    EXPECT_TRUE(apic.asserted(20));
    EXPECT_TRUE(apic.in_service(20));
}

TEST_F(IoApic, NoSecondDeliveryBeforeEoi) {
    apic.set_line(21, 1, true, d);
    apic.set_line(21, 1, false, d);
    apic.set_line(21, 1, true, d);
    EXPECT_EQ(log.size(), 1u);
}

TEST_F(IoApic, EoiWhileAssertedDeliversAgain) {
    apic.set_line(22, 7, true, d);
    apic.eoi(22, d);
    ASSERT_EQ(log.size(), 2u);
    apic.set_line(22, 7, false, d);
    apic.eoi(22, d);
    EXPECT_EQ(log.size(), 2u);
    EXPECT_FALSE(apic.in_service(22));
}

TEST_F(IoApic, LineIsTheWiredOrOfItsSources) {
    apic.set_line(23, 1, true, d);
    apic.set_line(23, 2, true, d);
    apic.set_line(23, 1, false, d);
    EXPECT_TRUE(apic.asserted(23));
    apic.eoi(23, d);  // source 2 still asserts
    EXPECT_EQ(log.size(), 2u);
    apic.set_line(23, 2, false, d);
    EXPECT_FALSE(apic.asserted(23));
    apic.eoi(23, d);
    EXPECT_EQ(log.size(), 2u);
}

TEST_F(IoApic, DeassertOfAnUnknownSourceChangesNothing) {
    apic.set_line(20, 1, true, d);
    apic.set_line(20, 9, false, d);
    EXPECT_TRUE(apic.asserted(20));
}

TEST_F(IoApic, OutOfRangeGsiAndSpuriousEoiAreCounted) {
    apic.set_line(24, 1, true, d);
    apic.eoi(5, d);
    apic.eoi(99, d);
    EXPECT_TRUE(log.empty());
    stat_map s;
    apic.stats(s);
    EXPECT_EQ(s.at("apic.out_of_range"), 1u);
    EXPECT_EQ(s.at("apic.spurious_eoi"), 2u);
}

} // namespace
