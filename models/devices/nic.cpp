#include "models/devices/nic.h"

#include <algorithm>
#include <cstring>

namespace iotwin::devices {

using namespace sc_core;

namespace {

constexpr std::uint64_t max_tx_frame = 16384;  // bytes gathered over descriptors before EOP (a jumbo frame fits)
constexpr std::uint64_t min_frame = 60, max_frame = 9018;

// BAR0 (registers, 64-bit) and BAR3 (the MSI-X table at 0 and its Pending
// Bit Array at 0x2000, as QEMU's e1000e places them: hw/net/e1000e.c) unless the description
// gives BARs; one MSI-X vector per queue and direction.
pci::function_params nic_function_params(pci::function_params p, unsigned queues) {
    if (std::none_of(p.bars.begin(), p.bars.end(), [](const pci::bar_desc& b) { return b.index == 0; }))
        p.bars.push_back({0, 0x10000, pci::bar_type::mem64, false});
    const bool bar3_free = std::none_of(p.bars.begin(), p.bars.end(), [](const pci::bar_desc& b) {
        return b.index == 3 || (b.index == 2 && b.type == pci::bar_type::mem64);
    });
    if (!p.msix && bar3_free) {
        p.bars.push_back({3, 0x4000, pci::bar_type::mem32, false});
        p.msix = pci::function_params::msix_regs{2 * queues, 3, 0, 3, 0x2000};
    }
    if (p.msi_vectors == 0) p.msi_vectors = 1;
    return p;
}

unsigned clamp_queues(std::uint64_t q) { return static_cast<unsigned>(std::clamp<std::uint64_t>(q, 1, nic::MAX_QUEUES)); }

std::uint64_t le(const std::uint8_t* p, unsigned n) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= std::uint64_t(p[i]) << (8 * i);
    return v;
}

bool completed(const pci::pci_function::dma_result& r) {
    return r.issued && !r.stopped && r.status == pcie::completion::SC;
}

} // namespace

std::vector<std::uint8_t> nic::rx_frame(std::uint64_t seq, std::uint64_t size) {
    std::vector<std::uint8_t> f(size);
    for (std::uint64_t i = 0; i < size; ++i) f[i] = static_cast<std::uint8_t>(i < 4 ? seq >> (8 * i) : seq + i);
    return f;
}

std::uint64_t nic::fnv1a(std::uint64_t h, const std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

nic::nic(sc_module_name name, pci::function_params p, const nic_params& np)
    : pci_function(name, nic_function_params(std::move(p), clamp_queues(np.queues))), np_(np),
      queues_(clamp_queues(np.queues)), regs_(REG_SIZE) {
    np_.rx_packet_size = std::clamp(np_.rx_packet_size, min_frame, max_frame);
    regs_.define({"ID", ID, 4, ID_VALUE});
    regs_.define({"STATUS", STATUS, 4, 0x1});  // LINK_UP
    regs_.define({"LINK_RATE", LINK_RATE, 4, static_cast<std::uint64_t>(np_.link_rate * 1000.0)});
    regs_.define({"QUEUES", QUEUES, 4, queues_});
    const std::uint64_t causes = (1ull << (2 * queues_)) - 1;
    regs_.define({"ICR", ICR, 4, 0, 0, causes}, [this](std::uint64_t, std::uint64_t) { update_intx(); });
    regs_.define({"IMASK", IMASK, 4, 0, causes}, [this](std::uint64_t, std::uint64_t) { update_intx(); });
    regs_.define({"RX_BUF_SIZE", RX_BUF_SIZE, 4, 2048, 0x3ff0});
    const std::pair<const char*, std::uint32_t> counters[] = {
        {"RX_PACKETS", RX_PACKETS}, {"RX_BYTES", RX_BYTES}, {"RX_NO_DESC", RX_NO_DESC}, {"RX_MISSED", RX_MISSED},
        {"RX_ERRORS", RX_ERRORS},   {"TX_PACKETS", TX_PACKETS}, {"TX_BYTES", TX_BYTES}, {"TX_DIGEST", TX_DIGEST},
        {"TX_ERRORS", TX_ERRORS},   {"INTERRUPTS", INTERRUPTS}};
    for (const auto& [n, off] : counters) regs_.define({n, off, 8, off == TX_DIGEST ? fnv_offset : 0});
    for (unsigned q = 0; q < queues_; ++q)
        for (const bool rx : {true, false}) {
            const std::uint32_t b = (rx ? RXQ : TXQ) + q * QSTRIDE;
            regs_.define({rx ? "RDBAL" : "TDBAL", b + Q_BAL, 4, 0, 0xfffffff0});  // 16-byte aligned ring
            regs_.define({rx ? "RDBAH" : "TDBAH", b + Q_BAH, 4, 0, 0xffffffff});
            regs_.define({rx ? "RDLEN" : "TDLEN", b + Q_LEN, 4, 0, 0x000fff80});   // bytes, a multiple of 128
            regs_.define({rx ? "RDH" : "TDH", b + Q_HEAD, 4, 0, 0xffff});
            regs_.define({rx ? "RDT" : "TDT", b + Q_TAIL, 4, 0, 0xffff},
                         [this, rx](std::uint64_t, std::uint64_t) { (rx ? rx_kick_ : tx_kick_).notify(SC_ZERO_TIME); });
            regs_.define({rx ? "RXCTRL" : "TXCTRL", b + Q_CTRL, 4, 0, 0x1}, [this, rx, q](std::uint64_t old, std::uint64_t v) {
                if (!rx) { tx_kick_.notify(SC_ZERO_TIME); return; }
                if (q == 0 && (v & 1) && !(old & 1) && !rx_started_) {
                    rx_started_ = true;
                    rx_enabled_.notify(SC_ZERO_TIME);
                }
                rx_kick_.notify(SC_ZERO_TIME);
            });
            regs_.define({rx ? "RXITR" : "TXITR", b + Q_ITR, 4, 0, 0xffff});
            regs_.define({rx ? "RXIRQ_COUNT" : "TXIRQ_COUNT", b + Q_IRQ_COUNT, 4, 0});
        }
    SC_THREAD(rx_source);
    SC_THREAD(rx_engine);
    SC_THREAD(tx_engine);
    for (unsigned v = 0; v < 2 * queues_; ++v) sc_spawn([this, v] { interrupt_thread(v); }, sc_gen_unique_name("irq"));
}

pcie::completion nic::bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                 std::uint8_t* data, unsigned len, sc_time& delay) {
    if (bar.index != 0) return pcie::completion::UR;  // BAR3's table and PBA are the function's MSI-X structures
    delay += np_.register_latency;
    // 32- and 64-bit accesses, naturally aligned; anything else is a Completer Abort.
    if ((len != 4 && len != 8) || (offset & (len - 1))) return pcie::completion::CA;
    std::uint64_t v = 0;
    // Offsets past the register map read as zero and ignore writes, like reserved ones inside it.
    if (!regs_.in_range(static_cast<std::uint32_t>(std::min<std::uint64_t>(offset, REG_SIZE)), len)) {
        if (cmd == tlm::TLM_READ_COMMAND) std::memset(data, 0, len);
        return pcie::completion::SC;
    }
    if (cmd == tlm::TLM_READ_COMMAND) {
        v = regs_.read(static_cast<std::uint32_t>(offset), len);
        std::memcpy(data, &v, len);
    } else {
        std::memcpy(&v, data, len);
        regs_.write(static_cast<std::uint32_t>(offset), len, v);
    }
    return pcie::completion::SC;
}

void nic::reset_device() {
    regs_.reset();
    fifo_.clear();
    fifo_bytes_ = 0;
    for (auto& f : tx_frame_) f.clear();
    for (auto& s : vectors_) {
        s.pending = false;
        s.fired_once = false;
    }
    if (interrupt_pin()) set_intx(false);
}

sc_time nic::wire_time(std::uint64_t bytes) const {
    return sc_time(static_cast<double>((bytes + wire_overhead) * 8) / np_.link_rate, SC_NS);
}

bool nic::ring_has_work(std::uint32_t block) const {
    const std::uint64_t n = descriptors(block), head = reg(block + Q_HEAD), tail = reg(block + Q_TAIL);
    // A head or tail beyond the ring stalls it, as an inconsistent ring would.
    return (reg(block + Q_CTRL) & 1) && n > 0 && head < n && tail < n && head != tail;
}

void nic::advance_head(std::uint32_t block) {
    const std::uint64_t n = descriptors(block);
    if (n == 0) return;
    regs_.set(block + Q_HEAD, 4, (reg(block + Q_HEAD) + 1) % n);
}

// The traffic source: frames arrive from the wire, back to back at the link
// rate or one per rx_interval, from rx_start after the driver first enables
// RX queue 0. A frame that does not fit in the receive buffer is missed.
void nic::rx_source() {
    if (np_.rx_packets == 0) return;
    wait(rx_enabled_);
    wait(np_.rx_start);
    const sc_time spacing = std::max(np_.rx_interval, wire_time(np_.rx_packet_size));
    for (std::uint64_t seq = 0; seq < np_.rx_packets; ++seq) {
        if (seq) wait(spacing);
        if (fifo_bytes_ + np_.rx_packet_size > np_.rx_fifo_size) {
            count(RX_MISSED);
            continue;
        }
        fifo_.push_back({seq, np_.rx_packet_size});
        fifo_bytes_ += np_.rx_packet_size;
        rx_arrived_.notify(SC_ZERO_TIME);
    }
}

// Moves the frame at the head of the receive buffer into the next
// descriptor's buffer of its queue: descriptor fetch, data, write-back, by DMA.
void nic::rx_engine() {
    for (;;) {
        while (fifo_.empty()) wait(rx_arrived_);
        const frame f = fifo_.front();
        const unsigned q = static_cast<unsigned>(f.seq % queues_);
        const std::uint32_t blk = RXQ + q * QSTRIDE;
        if (!ring_has_work(blk)) {
            // The frame waits in the buffer (head of line) until the driver gives descriptors.
            count(RX_NO_DESC);
            while (!fifo_.empty() && fifo_.front().seq == f.seq && !ring_has_work(blk)) wait(rx_kick_ | rx_arrived_);
            continue;
        }
        const std::uint64_t resets = reset_count();
        sc_time local = SC_ZERO_TIME;
        const std::uint64_t desc_addr = ring_base(blk) + reg(blk + Q_HEAD) * DESC_SIZE;
        std::uint8_t d[DESC_SIZE] = {};
        bool ok = completed(dma(tlm::TLM_READ_COMMAND, desc_addr, d, DESC_SIZE, local));
        if (ok && f.size > reg(RX_BUF_SIZE)) ok = false;  // one frame per descriptor: it must fit
        if (ok) {
            std::vector<std::uint8_t> bytes = rx_frame(f.seq, f.size);
            const dma_result w = dma(tlm::TLM_WRITE_COMMAND, le(d, 8), bytes.data(), f.size, local);
            ok = w.issued && !w.stopped;
        }
        if (ok) {
            // Write-back: Length, Checksum 0, Status DD | EOP, Errors 0, Special 0.
            d[8] = static_cast<std::uint8_t>(f.size);
            d[9] = static_cast<std::uint8_t>(f.size >> 8);
            std::memset(d + 10, 0, 6);
            d[12] = RX_DD | RX_EOP;
            const dma_result w = dma(tlm::TLM_WRITE_COMMAND, desc_addr, d, DESC_SIZE, local);
            ok = w.issued && !w.stopped;
        }
        wait(local);
        if (reset_count() != resets) continue;  // a Function Level Reset emptied the buffer meanwhile
        fifo_.pop_front();
        fifo_bytes_ -= f.size;
        if (!ok) {
            count(RX_ERRORS);  // dropped; the descriptor stays the driver's to give again
            continue;
        }
        advance_head(blk);
        count(RX_PACKETS);
        count(RX_BYTES, f.size);
        raise(2 * q);
    }
}

// Transmits what the driver queued: each descriptor's buffer is read by DMA
// and gathered until one with EOP, then the frame goes out on the link at its
// rate into the sink, which counts it and digests its bytes. RS asks for the
// descriptor's DD write-back and an interrupt. A descriptor that cannot be
// fetched stops its queue (TXCTRL.EN cleared, TX_ERRORS counted).
void nic::tx_engine() {
    for (;;) {
        bool any = false;
        for (unsigned q = 0; q < queues_; ++q) {
            const std::uint32_t blk = TXQ + q * QSTRIDE;
            if (!ring_has_work(blk)) continue;
            any = true;
            const std::uint64_t resets = reset_count();
            sc_time local = SC_ZERO_TIME;
            const std::uint64_t desc_addr = ring_base(blk) + reg(blk + Q_HEAD) * DESC_SIZE;
            std::uint8_t d[DESC_SIZE] = {};
            if (!completed(dma(tlm::TLM_READ_COMMAND, desc_addr, d, DESC_SIZE, local))) {
                wait(local);
                if (reset_count() != resets) continue;
                regs_.set(blk + Q_CTRL, 4, 0);
                count(TX_ERRORS);
                continue;
            }
            const std::uint64_t len = le(d + 8, 2);
            const std::uint8_t cmd = d[11];
            std::vector<std::uint8_t>& frame = tx_frame_[q];
            bool dropped = false, sent = false;
            std::vector<std::uint8_t> on_wire;
            if (len) {
                std::vector<std::uint8_t> buf(len);
                if (frame.size() + len > max_tx_frame || !completed(dma(tlm::TLM_READ_COMMAND, le(d, 8), buf.data(), len, local)))
                    dropped = true;
                else
                    frame.insert(frame.end(), buf.begin(), buf.end());
            }
            if (dropped) {
                count(TX_ERRORS);
                frame.clear();
            } else if (cmd & TX_EOP) {
                // The link serialises frames one after the other at its rate.
                const sc_time start = std::max(sc_time_stamp() + local, wire_free_);
                wire_free_ = start + wire_time(frame.size());
                local = wire_free_ - sc_time_stamp();
                on_wire.swap(frame);
                sent = true;
            }
            if (cmd & TX_RS) {
                std::uint8_t sta = TX_DD;
                dma(tlm::TLM_WRITE_COMMAND, desc_addr + 12, &sta, 1, local);
            }
            wait(local);
            if (reset_count() != resets) continue;
            if (sent) {
                // The sink has the whole frame once its last bit is on the wire.
                count(TX_PACKETS);
                count(TX_BYTES, on_wire.size());
                regs_.set(TX_DIGEST, 8, fnv1a(regs_.get(TX_DIGEST, 8), on_wire.data(), on_wire.size()));
            }
            advance_head(blk);
            if (cmd & TX_RS) raise(2 * q + 1);
        }
        if (!any) wait(tx_kick_);
    }
}

void nic::raise(unsigned vector) {
    vectors_[vector].pending = true;
    vectors_[vector].ev.notify(SC_ZERO_TIME);
}

// Interrupt moderation (e1000e's ITR/EITR): after an interrupt of a vector, the next
// waits until the interval has passed; every event meanwhile is coalesced
// into that one interrupt.
void nic::interrupt_thread(unsigned vector) {
    vector_state& s = vectors_[vector];
    const std::uint32_t blk = (vector % 2 ? TXQ : RXQ) + (vector / 2) * QSTRIDE;
    for (;;) {
        while (!s.pending) wait(s.ev);
        const sc_time interval = sc_time(256.0 * static_cast<double>(reg(blk + Q_ITR)), SC_NS);
        if (s.fired_once && sc_time_stamp() < s.last + interval) wait(s.last + interval - sc_time_stamp());
        if (!s.pending) continue;  // a reset cleared it
        s.pending = false;
        s.fired_once = true;
        s.last = sc_time_stamp();
        fire(vector);
    }
}

void nic::fire(unsigned vector) {
    const std::uint32_t bit = 1u << vector;
    regs_.set(ICR, 4, reg(ICR) | bit);
    if (!(reg(IMASK) & bit)) return;
    const std::uint32_t blk = (vector % 2 ? TXQ : RXQ) + (vector / 2) * QSTRIDE;
    regs_.set(blk + Q_IRQ_COUNT, 4, (reg(blk + Q_IRQ_COUNT) + 1) & 0xffffffff);
    count(INTERRUPTS);
    // A posted write: the engine does not wait for it.
    sc_time d = SC_ZERO_TIME;
    if (msix_enabled()) send_msix(vector, d);
    else if (msi_enabled()) send_msi(0, d);  // one message for every cause; the driver reads ICR
    else update_intx();
}

// INTx (no MSI or MSI-X enabled): the line is asserted while an enabled cause is pending.
void nic::update_intx() {
    if (!interrupt_pin() || msix_enabled() || msi_enabled()) return;
    set_intx((reg(ICR) & reg(IMASK)) != 0);
}

void nic::stats(stat_map& out) const {
    pci_function::stats(out);
    const std::string n = basename();
    add_stat(out, n, "rx_packets", regs_.get(RX_PACKETS, 8));
    add_stat(out, n, "rx_bytes", regs_.get(RX_BYTES, 8));
    add_stat(out, n, "rx_no_desc", regs_.get(RX_NO_DESC, 8));
    add_stat(out, n, "rx_missed", regs_.get(RX_MISSED, 8));
    add_stat(out, n, "rx_errors", regs_.get(RX_ERRORS, 8));
    add_stat(out, n, "tx_packets", regs_.get(TX_PACKETS, 8));
    add_stat(out, n, "tx_bytes", regs_.get(TX_BYTES, 8));
    add_stat(out, n, "tx_digest", regs_.get(TX_DIGEST, 8));
    add_stat(out, n, "tx_errors", regs_.get(TX_ERRORS, 8));
    add_stat(out, n, "interrupts", regs_.get(INTERRUPTS, 8));
}

} // namespace iotwin::devices
