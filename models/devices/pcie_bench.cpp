#include "models/devices/pcie_bench.h"

#include <algorithm>
#include <cstring>

namespace iotwin::devices {

using namespace sc_core;

namespace {
pci::function_params with_bar0(pci::function_params p) {
    if (std::none_of(p.bars.begin(), p.bars.end(), [](const pci::bar_desc& b) { return b.index == 0; }))
        p.bars.push_back({0, 0x1000, pci::bar_type::mem64, false});
    return p;
}

// splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014): one 64-bit state, the same sequence everywhere.
std::uint64_t next_random(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// A bound on one run, so that no register value keeps the simulation busy for
// hours of host time: 2^20 transfers (64 MiB of 64-byte reads).
constexpr std::uint64_t max_transfers = std::uint64_t(1) << 20;

std::uint64_t picoseconds(const sc_time& t) { return static_cast<std::uint64_t>(t.to_seconds() * 1e12 + 0.5); }
} // namespace

pcie_bench::pcie_bench(sc_module_name name, pci::function_params p, const pcie_bench_params& bp)
    : pci_function(name, with_bar0(std::move(p))), bp_(bp), regs_(0x48) {
    regs_.define({"ID", ID, 4, ID_VALUE});
    regs_.define({"WINDOW", WINDOW, 8, 0, ~std::uint64_t(0)});
    regs_.define({"WINDOW_SIZE", WINDOW_SIZE, 8, 0, ~std::uint64_t(0)});
    regs_.define({"XFER", XFER, 4, 64, 0xffffffff});
    regs_.define({"COUNT", COUNT, 4, 0, 0xffffffff});
    regs_.define({"WARMUP", WARMUP, 4, 0, 0xffffffff});
    regs_.define({"CONTROL", CONTROL, 4, 0, START | WRITE}, [this](std::uint64_t, std::uint64_t v) {
        if (!(v & START)) return;
        regs_.set(CONTROL, 4, v & ~std::uint64_t(START));  // START is self-clearing
        if (regs_.get(STATUS, 4) & BUSY) { ++ignored_starts_; return; }
        regs_.set(STATUS, 4, BUSY);
        pending_ = true;
        start_at_ = sc_time_stamp() + bp_.start_latency;
        start_.notify(bp_.start_latency);
    });
    regs_.define({"STATUS", STATUS, 4, 0, 0, DONE | ERROR});
    regs_.define({"ERRORS", ERRORS, 4, 0});
    regs_.define({"SEED", SEED, 8, 1, ~std::uint64_t(0)});
    regs_.define({"ELAPSED_PS", ELAPSED_PS, 8, 0});
    regs_.define({"BYTES", BYTES, 8, 0});
    SC_THREAD(run);
}

pcie::completion pcie_bench::bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                        std::uint8_t* data, unsigned len, sc_time& delay) {
    if (bar.index != 0) return pcie::completion::UR;
    delay += bp_.register_latency;
    const auto off = static_cast<std::uint32_t>(offset);
    if (offset >= 0x1000 || (len != 4 && len != 8) || (offset & (len - 1)) || !regs_.in_range(off, len) ||
        regs_.name_at(off).empty() || regs_.name_at(off + len - 1).empty())
        return pcie::completion::CA;
    std::uint64_t v = 0;
    if (cmd == tlm::TLM_READ_COMMAND) {
        v = regs_.read(off, len);
        std::memcpy(data, &v, len);
    } else {
        std::memcpy(&v, data, len);
        regs_.write(off, len, v);
    }
    return pcie::completion::SC;
}

void pcie_bench::reset_device() {
    regs_.reset();
    pending_ = false;
    start_.cancel();
    ++epoch_;
}

void pcie_bench::run() {
    for (;;) {
        while (!pending_) wait(start_);
        while (sc_time_stamp() < start_at_) wait(start_at_ - sc_time_stamp());
        if (!pending_) continue;  // reset meanwhile
        pending_ = false;
        const std::uint64_t epoch = epoch_;
        const bool ok = bench(epoch);
        if (epoch != epoch_) continue;
        ++runs_;
        regs_.set(STATUS, 4, ok && regs_.get(ERRORS, 4) == 0 ? DONE : (DONE | ERROR));
    }
}

bool pcie_bench::bench(std::uint64_t epoch) {
    regs_.set(ERRORS, 4, 0);
    regs_.set(ELAPSED_PS, 8, 0);
    regs_.set(BYTES, 8, 0);
    const std::uint64_t base = regs_.get(WINDOW, 8), window = regs_.get(WINDOW_SIZE, 8);
    const std::uint64_t xfer = regs_.get(XFER, 4);
    const std::uint64_t count = regs_.get(COUNT, 4), warmup = regs_.get(WARMUP, 4);
    if (xfer == 0 || xfer > MAX_XFER || window < xfer || window % xfer || base + window < base ||
        count + warmup > max_transfers)
        return false;
    const tlm::tlm_command cmd = regs_.get(CONTROL, 4) & WRITE ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND;
    const std::uint64_t slots = window / xfer;
    std::uint64_t state = regs_.get(SEED, 8);
    std::uint32_t errors = 0;
    std::uint64_t bytes = 0;
    // Absolute times: when the next request may go out, when the measurement
    // began, and when the last request measured was done.
    sc_time issue = sc_time_stamp(), begin = issue, done = issue;
    for (std::uint64_t i = 0; i < warmup + count; ++i) {
        if (epoch != epoch_) return true;
        if (i == warmup) begin = issue;
        // Multiply-high maps 64 random bits onto [0, slots) without modulo bias worth the name.
        const auto pick = static_cast<std::uint64_t>((static_cast<unsigned __int128>(next_random(state)) * slots) >> 64);
        sc_time d = issue - sc_time_stamp();
        const dma_result r = dma(cmd, base + pick * xfer, buffer_.data(), xfer, d);
        if (!r.issued || r.stopped) {
            ++errors;
            break;  // Bus Master Enable cleared, or reset: nothing more goes out
        }
        const bool ok = r.status == pcie::completion::SC && r.bytes == xfer;
        if (i >= warmup) {
            if (ok) bytes += xfer;
            else ++errors;
            done = std::max(done, sc_time_stamp() + d);
        }
        issue = std::max(r.next_issue, sc_time_stamp());
    }
    if (done > sc_time_stamp()) wait(done - sc_time_stamp());  // the run ends with its last completion
    if (epoch != epoch_) return true;
    transfers_ += count;
    failed_ += errors;
    regs_.set(ERRORS, 4, errors);
    regs_.set(ELAPSED_PS, 8, done > begin ? picoseconds(done - begin) : 0);
    regs_.set(BYTES, 8, bytes);
    return true;
}

void pcie_bench::stats(stat_map& out) const {
    pci_function::stats(out);
    const std::string n = basename();
    add_stat(out, n, "bench_runs", runs_);
    add_stat(out, n, "bench_transfers", transfers_);
    add_stat(out, n, "bench_failed", failed_);
    add_stat(out, n, "ignored_starts", ignored_starts_);
}

} // namespace iotwin::devices
