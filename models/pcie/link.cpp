#include "models/pcie/link.h"

namespace iotwin::pcie {

namespace {
// GT/s per lane and the encoding efficiency of each generation.
struct gen_rate { double gts; double efficiency; };
constexpr gen_rate rates[] = {
    {2.5, 8.0 / 10.0}, {5.0, 8.0 / 10.0}, {8.0, 128.0 / 130.0}, {16.0, 128.0 / 130.0}, {32.0, 128.0 / 130.0}};
} // namespace

bool valid_link(std::uint64_t gen, std::uint64_t width) {
    const bool w = width == 1 || width == 2 || width == 4 || width == 8 || width == 12 || width == 16 || width == 32;
    return gen >= 1 && gen <= 5 && w;
}

double link_bytes_per_ns(std::uint64_t gen, std::uint64_t width) {
    const gen_rate& r = rates[gen - 1];
    return r.gts * r.efficiency * static_cast<double>(width) / 8.0;  // GT/s -> bits/ns -> bytes/ns
}

link::link(const link_params& p) : p_(p), bytes_per_ns_(link_bytes_per_ns(p.gen, p.width)) {}

sc_core::sc_time link::convert(std::uint64_t bytes) const {
    cache_[1] = cache_[0];
    cache_[0] = {bytes, ns_(static_cast<double>(bytes) / bytes_per_ns_)};
    return cache_[0].time;
}

} // namespace iotwin::pcie
