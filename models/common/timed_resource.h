// A shared resource (a link direction, a page walker, a memory channel) in the
// loosely-timed style: it remembers the simulated time at which it is next free,
// so contention adds delay while transactions still travel as one b_transport.
#pragma once
#include <systemc>

namespace iotwin {

class timed_resource {
public:
    // A request arriving at `arrival` that occupies the resource for `busy`.
    // Returns the time at which the resource is done with it.
    sc_core::sc_time occupy(const sc_core::sc_time& arrival, const sc_core::sc_time& busy) {
        const sc_core::sc_time start = arrival > next_free_ ? arrival : next_free_;
        next_free_ = start + busy;
        return next_free_;
    }
    const sc_core::sc_time& next_free() const { return next_free_; }

private:
    sc_core::sc_time next_free_ = sc_core::SC_ZERO_TIME;
};

// Adds the contention-aware occupation of `r` to a loosely-timed annotated delay.
inline void occupy(timed_resource& r, sc_core::sc_time& delay, const sc_core::sc_time& busy) {
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    delay = r.occupy(now + delay, busy) - now;
}

} // namespace iotwin
