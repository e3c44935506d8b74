#include "models/devices/dma_engine.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace iotwin::devices {

using namespace sc_core;

namespace {
pci::function_params with_bar0(pci::function_params p) {
    if (std::none_of(p.bars.begin(), p.bars.end(), [](const pci::bar_desc& b) { return b.index == 0; }))
        p.bars.push_back({0, 0x10000, pci::bar_type::mem64, false});
    if (p.msi_vectors == 0) p.msi_vectors = 1;
    return p;
}
} // namespace

dma_engine::dma_engine(sc_module_name name, pci::function_params p, const dma_engine_params& dp)
    : pci_function(name, with_bar0(std::move(p))), dp_(dp), regs_(0x50) {
    regs_.define({"ID", ID, 4, 0x444d4145});
    regs_.define({"SRC", SRC, 8, 0, ~std::uint64_t(0)});
    regs_.define({"DST", DST, 8, 0, ~std::uint64_t(0)});
    regs_.define({"LEN", LEN, 4, 0, 0xffffffff});
    regs_.define({"DIRECTION", DIRECTION, 4, 0, 0x3});
    regs_.define({"CONTROL", CONTROL, 4, 0, START | IRQ_ENABLE | SG}, [this](std::uint64_t, std::uint64_t v) {
        if (!(v & START)) return;
        regs_.set(CONTROL, 4, v & ~std::uint64_t(START));  // START is self-clearing
        if (regs_.get(STATUS, 4) & BUSY) { ++ignored_starts_; return; }
        regs_.set(STATUS, 4, BUSY);
        pending_ = true;
        start_at_ = sc_time_stamp() + dp_.start_latency;
        start_.notify(dp_.start_latency);
    });
    regs_.define({"STATUS", STATUS, 4, 0, 0, DONE | ERROR});
    regs_.define({"ERROR_ADDR", ERROR_ADDR, 8, 0});
    regs_.define({"ERROR_CODE", ERROR_CODE, 4, 0});
    regs_.define({"BYTES_DONE", BYTES_DONE, 4, 0});
    // Descriptors are 32-byte aligned: the low five bits read as zero.
    regs_.define({"DESC_ADDR", DESC_ADDR, 8, 0, ~std::uint64_t(DESC_SIZE - 1)});
    regs_.define({"DESC_COUNT", DESC_COUNT, 4, 0});
    regs_.define({"DESC_CURRENT", DESC_CURRENT, 8, 0});
    SC_THREAD(run);
}

pcie::completion dma_engine::bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                        std::uint8_t* data, unsigned len, sc_time& delay) {
    if (bar.index != 0) return pcie::completion::UR;
    delay += dp_.register_latency;
    if (offset >= BUFFER) {
        // BAR0 may be declared larger than the register map: nothing lies past the buffer.
        if (offset - BUFFER > BUFFER_SIZE || len > BUFFER_SIZE - (offset - BUFFER)) return pcie::completion::CA;
        std::uint8_t* b = buffer_.data() + (offset - BUFFER);
        if (cmd == tlm::TLM_READ_COMMAND) std::memcpy(data, b, len);
        else std::memcpy(b, data, len);
        return pcie::completion::SC;
    }
    // Registers: aligned accesses of 4 or 8 bytes whose every byte belongs to
    // a register (reserved offsets, such as 0x44, answer CA).
    const auto off = static_cast<std::uint32_t>(offset);
    if ((len != 4 && len != 8) || (offset & (len - 1)) || !regs_.in_range(off, len) || regs_.name_at(off).empty() ||
        regs_.name_at(off + len - 1).empty())
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

// Function Level Reset: registers and buffer to their reset values, a pending
// START forgotten; a transfer under way sees the epoch change and ends without
// touching a register or issuing another request (its DMA stops too: FLR
// clears Bus Master Enable and pci_function::dma() stops at a reset).
void dma_engine::reset_device() {
    regs_.reset();
    buffer_.fill(0);
    pending_ = false;
    start_.cancel();
    ++epoch_;
}

void dma_engine::run() {
    for (;;) {
        while (!pending_) wait(start_);
        while (sc_time_stamp() < start_at_) wait(start_at_ - sc_time_stamp());
        if (!pending_) continue;  // reset meanwhile
        pending_ = false;
        const std::uint64_t epoch = epoch_;
        sc_time local = SC_ZERO_TIME;
        regs_.set(BYTES_DONE, 4, 0);
        regs_.set(DESC_COUNT, 4, 0);
        error_code e;
        if (regs_.get(CONTROL, 4) & SG) {
            e = chain(local);
        } else {
            const segment s{regs_.get(SRC, 8), regs_.get(DST, 8), regs_.get(LEN, 4), static_cast<direction>(regs_.get(DIRECTION, 4))};
            e = transfer(s, local);
        }
        if (aborted(epoch)) { ++aborted_; continue; }
        wait(local);  // the engine is done when its last request is
        if (aborted(epoch)) { ++aborted_; continue; }
        finish(e);
        if (regs_.get(CONTROL, 4) & IRQ_ENABLE) interrupt();
    }
}

// The MSI is a posted write: the engine does not wait for it. Waiting would
// leave the thread deaf to a START written meanwhile (BUSY is already clear),
// and the transfer would never run.
void dma_engine::interrupt() {
    sc_time d = SC_ZERO_TIME;
    send_msi(0, d);
}

namespace {
std::uint64_t le(const std::uint8_t* p, unsigned n) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= std::uint64_t(p[i]) << (8 * i);
    return v;
}
} // namespace

// Walks the descriptor chain from DESC_ADDR: fetches each descriptor with a
// DMA read (non-posted: a fetch the IOMMU blocks completes UR and ends the
// chain with ERROR_ADDR the descriptor's address), runs its segment, raises
// MSI for a descriptor that asks (D_IRQ, with CONTROL.IRQ_ENABLE), and stops
// after the one marked D_LAST. DESC_CURRENT is the descriptor in hand (the
// failing one after an error), DESC_COUNT the descriptors completed.
dma_engine::error_code dma_engine::chain(sc_time& local) {
    const std::uint64_t epoch = epoch_;
    std::uint64_t at = regs_.get(DESC_ADDR, 8);
    for (std::uint64_t n = 0;; ++n) {
        regs_.set(DESC_CURRENT, 8, at);
        if (n >= dp_.max_descriptors) return DESCRIPTOR_LIMIT;
        if (!config().bus_master()) return BUS_MASTER_DISABLED;
        std::array<std::uint8_t, DESC_SIZE> d{};
        const dma_result r = dma_as_enabled(tlm::TLM_READ_COMMAND, at, d.data(), DESC_SIZE, local);
        if (aborted(epoch)) return NONE;
        if (!r.issued || r.stopped) return BUS_MASTER_DISABLED;
        if (r.status != pcie::completion::SC) {
            regs_.set(ERROR_ADDR, 8, r.failed_addr);
            return r.status == pcie::completion::CA ? COMPLETER_ABORT : UNSUPPORTED_REQUEST;
        }
        ++descriptors_;
        const auto flags = static_cast<std::uint32_t>(le(d.data() + D_FLAGS, 4));
        const std::uint64_t next = le(d.data() + D_NEXT, 8);
        const bool last = flags & D_LAST;
        if ((flags & ~std::uint32_t(D_DIRECTION | D_IRQ | D_LAST)) || (flags & D_DIRECTION) == 3 ||
            (!last && (next & (DESC_SIZE - 1)))) {
            regs_.set(ERROR_ADDR, 8, at);
            return BAD_DESCRIPTOR;
        }
        const segment s{le(d.data() + D_SRC, 8), le(d.data() + D_DST, 8), le(d.data() + D_LEN, 4),
                        static_cast<direction>(flags & D_DIRECTION)};
        const error_code e = transfer(s, local);
        if (aborted(epoch) || e != NONE) return e;
        regs_.set(DESC_COUNT, 4, n + 1);
        if ((flags & D_IRQ) && (regs_.get(CONTROL, 4) & IRQ_ENABLE)) {
            // The interrupt follows the segment's last request, as the final one does.
            wait(local);
            local = SC_ZERO_TIME;
            if (aborted(epoch)) return NONE;
            interrupt();
        }
        if (last) return NONE;
        at = next;
    }
}

// Copies one segment by DMA: reads complete (or fail, which ends the
// transfer); writes are posted, so the engine cannot tell that one was
// blocked (the IOMMU's fault log and the root port's error status can).
// Clearing Bus Master Enable stops the transfer at its next request. `local`
// is the engine's local time (dma() synchronises with the quantum as it goes).
dma_engine::error_code dma_engine::transfer(const segment& s, sc_time& local) {
    const std::uint64_t epoch = epoch_;
    const std::uint64_t len = s.len;
    const direction dir = s.dir;
    if (len == 0 || len > BUFFER_SIZE) return BAD_LENGTH;
    // Written as offset > size - len: offset + len could wrap past 2^64.
    if ((dir == MEM_TO_DEV && s.dst > BUFFER_SIZE - len) || (dir == DEV_TO_MEM && s.src > BUFFER_SIZE - len)) return BAD_RANGE;
    // A memory-side range that runs past 2^64 would continue at bus address 0.
    const auto wraps = [len](std::uint64_t a) { return a + (len - 1) < a; };
    if ((dir != DEV_TO_MEM && wraps(s.src)) || (dir != MEM_TO_DEV && wraps(s.dst))) return BAD_RANGE;
    if (!config().bus_master()) return BUS_MASTER_DISABLED;
    std::vector<std::uint8_t> staging(len);
    const auto outcome = [this](const dma_result& r, std::uint64_t bytes) {
        regs_.set(BYTES_DONE, 4, regs_.get(BYTES_DONE, 4) + bytes);
        if (!r.issued || r.stopped) return BUS_MASTER_DISABLED;
        if (r.status == pcie::completion::SC) return NONE;
        regs_.set(ERROR_ADDR, 8, r.failed_addr);
        return r.status == pcie::completion::CA ? COMPLETER_ABORT : UNSUPPORTED_REQUEST;
    };
    if (dir != DEV_TO_MEM) {
        std::uint8_t* into = dir == MEM_TO_DEV ? buffer_.data() + s.dst : staging.data();
        const dma_result r = dma_as_enabled(tlm::TLM_READ_COMMAND, s.src, into, len, local);
        if (aborted(epoch)) return NONE;
        const error_code e = outcome(r, dir == MEM_TO_DEV ? r.bytes : 0);  // MEM_TO_MEM counts bytes written
        if (e != NONE || dir == MEM_TO_DEV) return e;
    }
    if (dir == DEV_TO_MEM) std::memcpy(staging.data(), buffer_.data() + s.src, len);
    const dma_result w = dma_as_enabled(tlm::TLM_WRITE_COMMAND, s.dst, staging.data(), len, local);
    if (aborted(epoch)) return NONE;
    return outcome(w, w.bytes);
}

void dma_engine::finish(error_code e) {
    regs_.set(ERROR_CODE, 4, e);
    regs_.set(STATUS, 4, e == NONE ? DONE : ERROR);
    ++transfers_;
    if (e != NONE) ++failed_;
}

void dma_engine::stats(stat_map& out) const {
    pci_function::stats(out);
    const std::string n = basename();
    add_stat(out, n, "transfers", transfers_);
    add_stat(out, n, "failed_transfers", failed_);
    add_stat(out, n, "ignored_starts", ignored_starts_);
    add_stat(out, n, "descriptors", descriptors_);
    add_stat(out, n, "aborted_transfers", aborted_);
}

bar_ram::bar_ram(sc_module_name name, const pci::function_params& p, const bar_ram_params& bp)
    : pci_function(name, p), bp_(bp) {}

pcie::completion bar_ram::bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                     std::uint8_t* data, unsigned len, sc_time& delay) {
    for (unsigned done = 0; done < len;) {
        const std::uint64_t a = offset + done;
        const auto in_page = static_cast<unsigned>(std::min<std::uint64_t>(len - done, 4096 - (a & 4095)));
        std::vector<std::uint8_t>& page = pages_[{bar.index, a >> 12}];
        if (page.empty()) page.resize(4096);
        if (cmd == tlm::TLM_READ_COMMAND) std::memcpy(data + done, page.data() + (a & 4095), in_page);
        else std::memcpy(page.data() + (a & 4095), data + done, in_page);
        done += in_page;
    }
    delay += bp_.latency;
    return pcie::completion::SC;
}

} // namespace iotwin::devices
