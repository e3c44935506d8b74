// sc_time(ns, SC_NS) for a time computed per transaction (a TLP's wire time,
// a burst's transfer time). SystemC's constructor looks up the simulation
// context and the time resolution on every call, which costs more than the
// rest of a DMA hop; this does the same arithmetic (SystemC 2.3 sc_time.cpp:
// value = int64(v * scale + 0.5)) with the scale taken once, so the result is
// the same to the last unit of resolution.
#pragma once
#include <cstdint>

#include <systemc>

namespace iotwin {

// The current simulated time, as sc_time_stamp() returns it. SystemC's
// function is out of line in the library; the hot paths (a DMA's every hop
// reads the time) take it inline from the context.
inline const sc_core::sc_time& sim_now() { return sc_core::sc_get_curr_simcontext()->time_stamp(); }

class ns_time {
public:
    // Takes the time resolution, which fixes it as any sc_time does.
    ns_time() : scale_(static_cast<double>(sc_core::sc_time(1, sc_core::SC_SEC).value()) / 1e9) {}

    sc_core::sc_time operator()(double ns) const {
        if (ns == 0) return sc_core::SC_ZERO_TIME;
        const double units = ns * scale_ + 0.5;
        return sc_core::sc_time::from_value(static_cast<sc_core::sc_time::value_type>(static_cast<std::int64_t>(units)));
    }

private:
    double scale_;  // resolution units per nanosecond
};

} // namespace iotwin
