// Limits on everything a scenario file (and --set) controls. A file that
// exceeds one is bad input (exit 2, FILE:LINE:COL): no input may make the twin
// crash, hang or exhaust memory. The values are far above what a real
// scenario needs and far below what would cost seconds or gigabytes; each is
// documented, with its reason, in docs/scenario-reference.md ("Limits").
// The loader checks them; the step interpreter uses the time bounds.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace iotwin::platform::limits {

// --- the file as text and as a YAML tree ---
constexpr std::uint64_t max_file_bytes = 4ull << 20;      // checked before parsing
constexpr int max_depth = 32;                              // nesting of maps and lists (root = 1)
// Nodes the loader may visit, counting an aliased node once per reference:
// anchors and aliases cannot expand beyond this (billion laughs). A file
// within max_file_bytes has fewer distinct nodes; only aliases reach it.
constexpr std::uint64_t max_nodes = 4ull << 20;
// Entries of any one list or map: a step's data may be a list of 1 MiB of
// bytes. Lists of what the platform builds have their own, lower limits.
constexpr std::size_t max_list_length = 1u << 20;
constexpr std::size_t max_scalar_length = 4096;           // any value or key, free text included
constexpr std::size_t max_name_length = 64;               // scenario name, ids, domain and process names

// --- what the description builds ---
constexpr std::size_t max_functions = 4096;               // PCI functions, enabled VFs included
constexpr std::size_t max_domains = 64;
constexpr std::size_t max_processes = 256;
constexpr std::uint64_t max_nofile = 1048576;  // fs.nr_open's default: the largest RLIMIT_NOFILE
constexpr std::size_t max_steps = 10000;
constexpr std::uint64_t max_memory = 1ull << 40;          // platform.memory and each domain's memory
constexpr std::uint64_t max_bar_size = 64ull << 30;       // a 64-bit BAR (the 64-bit MMIO window is 1 TiB)
constexpr std::uint64_t max_grant_frames = 4096;          // grant_table.max_frames
constexpr std::uint64_t max_maptrack_frames = 65536;      // grant_table.max_maptrack_frames

// --- model parameters (platform.*) ---
constexpr std::uint64_t max_iotlb_entries = 65536;
constexpr std::uint64_t max_iotlb_ways = 64;
constexpr std::uint64_t max_context_cache_entries = 65536;  // one per requester ID
constexpr std::uint64_t max_tlp_overhead = 256;           // bytes a TLP adds besides its payload
constexpr std::uint64_t max_pci_bus_overhead_clocks = 1024;
constexpr double min_bandwidth = 0.001;                   // GB/s, per DRAM channel (1 MB/s)
constexpr double max_bandwidth = 100000;                  // GB/s

// --- times, in picoseconds (sc_time's default resolution) ---
// Any single time a file gives (a parameter, a wait, a latency bound): with
// max_steps steps, a run's sum stays far from sc_time's 2^64 ps (213 days).
constexpr std::uint64_t ps_per_s = 1000000000000ull;
constexpr std::uint64_t max_time_value_ps = 10 * ps_per_s;      // 10 s
// Latencies and clock periods of the models (platform.*): a per-transaction
// cost, so a bound well below a step's: 1 ms.
constexpr std::uint64_t max_param_time_ps = ps_per_s / 1000;    // 1 ms
// platform.simulation.settle_limit is a per-step wait: up to max_time_value.
// The longest simulated time a run may reach (for the step interpreter to enforce).
constexpr std::uint64_t max_sim_time_ps = 86400 * ps_per_s;     // one day

// --- --set ---
constexpr std::size_t max_overrides = 64;
constexpr std::size_t max_set_path_length = 256;
constexpr std::size_t max_set_path_parts = 16;
constexpr std::size_t max_set_value_length = max_scalar_length;

// --- messages ---
constexpr std::size_t max_excerpt = 40;       // characters of input a message quotes
constexpr std::size_t max_message = 1024;     // bytes of one printed error message

} // namespace iotwin::platform::limits

namespace iotwin::platform {

// A short, printable excerpt of input text for a message: control and
// non-ASCII bytes as \xNN, a backslash as \\, cut after `max` characters
// with "...". Messages quote input only through this.
inline std::string excerpt(std::string_view text, std::size_t max = limits::max_excerpt) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    std::size_t shown = 0;
    for (const char ch : text) {
        if (shown == max) return out + "...";
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\\') out += "\\\\";
        else if (c >= 0x20 && c < 0x7f) out += ch;
        else out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
        ++shown;
    }
    return out;
}

} // namespace iotwin::platform
