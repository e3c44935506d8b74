// A PCIe link: serialization time of a TLP on each direction, with the link's
// generation and width. Each direction is a timed resource, so back-to-back
// TLPs queue behind each other.
// Sources: PCIe Base Specification 5.0 section 4.2 (8b/10b for 2.5/5 GT/s,
// 128b/130b from 8 GT/s), section 2.2 (TLP headers), 3.6 (sequence number, LCRC),
// 4.2.2.3 (STP framing token).
#pragma once
#include <cstdint>

#include "models/common/ns_time.h"
#include "models/common/timed_resource.h"

namespace iotwin::pcie {

struct link_params {
    std::uint64_t gen = 3;     // 1..5
    std::uint64_t width = 8;   // lanes: 1, 2, 4, 8, 16, 32
    // Bytes each TLP adds on the wire besides its payload: a 4-DW header (16),
    // sequence number (2), LCRC (4) and framing (4 at 8 GT/s and above).
    std::uint64_t tlp_overhead = 26;
    // The same for a completion, whose header is 3 DW (12): 22 bytes.
    std::uint64_t completion_overhead = 22;
};

// How many completions carry `len` bytes read at `addr` when the completer
// splits at naturally aligned `split`-byte boundaries (its Read Completion
// Boundary, PCIe 5.0 2.3.1.1): at least one, even for a zero-length read.
inline std::uint64_t completion_count(std::uint64_t addr, std::uint64_t len, std::uint64_t split) {
    if (len == 0 || split == 0) return 1;
    // Completion boundaries are powers of two (64 or 128 bytes): shifts, not divisions.
    if ((split & (split - 1)) == 0) {
        const unsigned s = static_cast<unsigned>(__builtin_ctzll(split));
        return ((addr + len - 1) >> s) - (addr >> s) + 1;
    }
    return (addr + len - 1) / split - addr / split + 1;
}

// Usable bytes per nanosecond on one direction of a link.
double link_bytes_per_ns(std::uint64_t gen, std::uint64_t width);
// Whether (gen, width) names a real link.
bool valid_link(std::uint64_t gen, std::uint64_t width);

class link {
public:
    explicit link(const link_params& p = {});
    // Occupies the upstream or downstream direction for one TLP with `payload` bytes.
    void send_up(sc_core::sc_time& delay, std::uint64_t payload) { occupy(up_, delay, wire_time(payload)); }
    void send_down(sc_core::sc_time& delay, std::uint64_t payload) { occupy(down_, delay, wire_time(payload)); }
    // Occupies a direction for the completions of a read of `len` bytes at
    // `addr`, split at `split` bytes: each completion carries its own overhead.
    void complete_up(sc_core::sc_time& delay, std::uint64_t addr, std::uint64_t len, std::uint64_t split) {
        occupy(up_, delay, completion_time(addr, len, split));
    }
    void complete_down(sc_core::sc_time& delay, std::uint64_t addr, std::uint64_t len, std::uint64_t split) {
        occupy(down_, delay, completion_time(addr, len, split));
    }
    sc_core::sc_time wire_time(std::uint64_t payload) const { return time_on_wire(payload + p_.tlp_overhead); }
    sc_core::sc_time completion_time(std::uint64_t addr, std::uint64_t len, std::uint64_t split) const {
        return time_on_wire(len + completion_count(addr, len, split) * p_.completion_overhead);
    }
    const link_params& params() const { return p_; }

private:
    // Streams repeat the same sizes: the two last conversions are remembered
    // (requests and completions alternate), so a TLP's time is a compare.
    sc_core::sc_time time_on_wire(std::uint64_t bytes) const {
        if (bytes == cache_[0].bytes) return cache_[0].time;
        if (bytes == cache_[1].bytes) return cache_[1].time;
        return convert(bytes);
    }
    sc_core::sc_time convert(std::uint64_t bytes) const;

    link_params p_;
    double bytes_per_ns_;
    ns_time ns_;
    struct wire_cache { std::uint64_t bytes = ~std::uint64_t(0); sc_core::sc_time time; };
    mutable wire_cache cache_[2];  // the two last sizes converted (requests and completions alternate)
    timed_resource up_, down_;
};

} // namespace iotwin::pcie
