// ns_time gives what sc_time(ns, SC_NS) gives, to the unit of resolution.
#include "models/common/ns_time.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace {

using sc_core::sc_time;

TEST(NsTime, EqualsTheSystemCConstructor) {
    const iotwin::ns_time ns;
    // Wire and transfer times as the link and memory models make them:
    // bytes over a rate in bytes/ns, with fractions of a picosecond.
    for (double rate : {0.25, 0.5, 0.985, 1.969, 3.938, 7.877, 15.754, 31.508, 25.6, 12.8}) {
        for (std::uint64_t bytes = 0; bytes <= 4096 + 26; ++bytes) {
            const double t = static_cast<double>(bytes) / rate;
            ASSERT_EQ(ns(t), sc_time(t, sc_core::SC_NS)) << bytes << " bytes at " << rate << " bytes/ns";
        }
    }
    EXPECT_EQ(ns(0), sc_core::SC_ZERO_TIME);
    EXPECT_EQ(ns(1e9), sc_time(1, sc_core::SC_SEC));
    EXPECT_EQ(ns(0.0004), sc_core::SC_ZERO_TIME);  // below half a picosecond
    EXPECT_EQ(ns(0.0005), sc_time(1, sc_core::SC_PS));
}

} // namespace
