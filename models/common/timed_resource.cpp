#include "models/common/timed_resource.h"

namespace iotwin {

sc_core::sc_time timed_resource::occupy_out_of_order(const sc_core::sc_time& arrival, const sc_core::sc_time& busy,
                                                     const sc_core::sc_time& now) {
    prune(now);
    if (empty() || arrival >= busy_.back().end) return append(arrival, busy);
    // The first gap that fits, from the arrival on (the intervals are sorted
    // and disjoint, so their ends are sorted too).
    sc_core::sc_time earliest = arrival;
    auto it = std::upper_bound(first(), busy_.end(), arrival,
                               [](const sc_core::sc_time& t, const interval& i) { return t < i.end; });
    for (; it != busy_.end(); ++it) {
        if (earliest + busy <= it->start) {
            const sc_core::sc_time end = earliest + busy;
            if (end == it->start) it->start = earliest;
            else busy_.insert(it, {earliest, end});
            return end;
        }
        earliest = it->end;
    }
    return append(earliest, busy);
}

} // namespace iotwin
