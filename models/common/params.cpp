#include "models/common/params.h"

#include <sstream>
#include <vector>

namespace iotwin {

std::string to_string_with_unit(const sc_core::sc_time& t) {
    const double ps = t.to_seconds() * 1e12;
    std::ostringstream os;
    if (ps == 0) os << "0ns";
    else if (static_cast<std::uint64_t>(ps) % 1000000000000ull == 0) os << static_cast<std::uint64_t>(ps / 1e12) << "s";
    else if (static_cast<std::uint64_t>(ps) % 1000000000 == 0) os << static_cast<std::uint64_t>(ps / 1e9) << "ms";
    else if (static_cast<std::uint64_t>(ps) % 1000000 == 0) os << static_cast<std::uint64_t>(ps / 1e6) << "us";
    else if (static_cast<std::uint64_t>(ps) % 1000 == 0) os << static_cast<std::uint64_t>(ps / 1e3) << "ns";
    else os << static_cast<std::uint64_t>(ps) << "ps";
    return os.str();
}

std::string param_lister::render(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

} // namespace iotwin
