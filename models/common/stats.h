// Counters that models expose for reports: named `<model>.<counter>` and kept in
// an ordered map so that reports list them in a stable order.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace iotwin {

using stat_map = std::map<std::string, std::uint64_t>;

inline void add_stat(stat_map& out, const std::string& model, const char* counter, std::uint64_t v) {
    out[model + "." + counter] += v;
}

} // namespace iotwin
