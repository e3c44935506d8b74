// nic: a PCIe Ethernet controller with descriptor rings in the style of
// Intel's e1000/e1000e (legacy descriptors; base, length, head and tail
// registers per ring), reduced to what throughput, latency and isolation
// scenarios need. The register map is the twin's own (docs/devices/nic.md).
//
// Modelled: up to 4 queue pairs; TX and RX rings of 16-byte descriptors in
// memory, fetched and written back by DMA through the fabric (so the IOMMU
// translates and checks every request); packet data moved by DMA (split at
// Max Payload Size and Max Read Request Size by pci_function::dma()); one
// interrupt vector per queue (MSI-X vector 2q for RX queue q, 2q+1 for TX
// queue q; with MSI one message for all, with INTx the pin) with an interrupt
// throttle interval per queue (at most one interrupt per interval, events in
// between coalesced, as e1000e's EITR); a link of configurable rate pacing
// both directions; an RX traffic source and a TX sink in the model (params),
// so a scenario has traffic without a peer; statistics registers.
// Not modelled: MAC/PHY registers, EEPROM, offloads (checksum, TSO, VLAN),
// descriptor prefetch and write-back batching, multi-descriptor RX packets,
// RSS hashing (the source spreads packets over RX queues round-robin).
// Sources: the legacy descriptor layouts and bits of Linux's e1000e
// (drivers/net/ethernet/intel/e1000e/hw.h: struct e1000_rx_desc and
// e1000_tx_desc; E1000_RXD_STAT_DD/EOP, E1000_TXD_CMD_EOP/RS, E1000_TXD_STAT_DD);
// the throttle interval in 256 ns units (netdev.c, e1000e_write_itr() writes
// 10^9 / (interrupts per second * 256) into ITR/EITR); IEEE 802.3 (preamble +
// start delimiter 8 bytes and inter-frame gap 12 bytes on the wire per frame).
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include <systemc>

#include "models/pci/pci_function.h"

namespace iotwin::devices {

struct nic_params {
    double link_rate = 10.0;  // Gb/s
    std::uint64_t queues = 1;
    sc_core::sc_time register_latency = sc_core::sc_time(10, sc_core::SC_NS);
    std::uint64_t rx_fifo_size = 32768;
    std::uint64_t rx_packets = 0;
    std::uint64_t rx_packet_size = 1514;
    sc_core::sc_time rx_interval = sc_core::SC_ZERO_TIME;
    sc_core::sc_time rx_start = sc_core::sc_time(1, sc_core::SC_US);

    template <class V> void visit(V& v) {
        v("link_rate", link_rate, "Gb/s", "rate of the Ethernet link; paces received and transmitted frames");
        v("queues", queues, "queue pairs", "TX/RX queue pairs (1..4), each with its own interrupt vectors");
        v("register_latency", register_latency, "time", "completion of an MMIO access to a register");
        v("rx_fifo_size", rx_fifo_size, "bytes", "on-chip receive packet buffer; a frame that does not fit is missed");
        v("rx_packets", rx_packets, "packets", "frames the RX traffic source sends (0: none)");
        v("rx_packet_size", rx_packet_size, "bytes", "size of each received frame (60..9018)");
        v("rx_interval", rx_interval, "time", "inter-arrival time of received frames; shorter than a frame's wire time means line rate");
        v("rx_start", rx_start, "time", "from the first enable of RX queue 0 to the end of the first frame's arrival");
    }
};

class nic : public pci::pci_function {
public:
    // Global registers (BAR0).
    static constexpr std::uint32_t ID = 0x000, STATUS = 0x004, LINK_RATE = 0x008, QUEUES = 0x00c;
    static constexpr std::uint32_t ICR = 0x010, IMASK = 0x014, RX_BUF_SIZE = 0x018;
    // Statistics (64-bit, read-only).
    static constexpr std::uint32_t RX_PACKETS = 0x100, RX_BYTES = 0x108, RX_NO_DESC = 0x110, RX_MISSED = 0x118,
                                   RX_ERRORS = 0x120, TX_PACKETS = 0x128, TX_BYTES = 0x130, TX_DIGEST = 0x138,
                                   TX_ERRORS = 0x140, INTERRUPTS = 0x148;
    // Queue blocks: RX queue q at RXQ + q * QSTRIDE, TX queue q at TXQ + q * QSTRIDE.
    static constexpr std::uint32_t RXQ = 0x1000, TXQ = 0x2000, QSTRIDE = 0x100;
    static constexpr std::uint32_t Q_BAL = 0x00, Q_BAH = 0x04, Q_LEN = 0x08, Q_HEAD = 0x10, Q_TAIL = 0x18,
                                   Q_CTRL = 0x20, Q_ITR = 0x24, Q_IRQ_COUNT = 0x28;
    static constexpr std::uint32_t REG_SIZE = 0x2400;
    static constexpr std::uint32_t ID_VALUE = 0x4e494331;  // "NIC1"
    static constexpr unsigned MAX_QUEUES = 4;
    static constexpr std::uint32_t DESC_SIZE = 16;
    // Descriptor fields (e1000e legacy layouts).
    static constexpr std::uint8_t RX_DD = 0x01, RX_EOP = 0x02;               // RX status byte (offset 12)
    static constexpr std::uint8_t TX_EOP = 0x01, TX_RS = 0x08, TX_DD = 0x01;  // TX CMD (offset 11), STA (offset 12)
    static constexpr std::uint64_t wire_overhead = 20;  // preamble + SFD (8) and inter-frame gap (12), IEEE 802.3

    SC_HAS_PROCESS(nic);
    nic(sc_core::sc_module_name name, pci::function_params p, const nic_params& np = {});

    void stats(stat_map& out) const override;

    // The bytes of received frame `seq` of the traffic source: byte i is
    // (seq + i) & 0xff after a 4-byte little-endian sequence number.
    static std::vector<std::uint8_t> rx_frame(std::uint64_t seq, std::uint64_t size);
    // 64-bit FNV-1a, continued from `h` (the TX sink's digest).
    static std::uint64_t fnv1a(std::uint64_t h, const std::uint8_t* p, std::size_t n);
    static constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ull;

protected:
    pcie::completion bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                std::uint8_t* data, unsigned len, sc_core::sc_time& delay) override;
    void reset_device() override;

private:
    std::uint64_t reg(std::uint32_t off) const { return regs_.get(off, 4); }
    std::uint64_t descriptors(std::uint32_t block) const { return reg(block + Q_LEN) / DESC_SIZE; }
    bool ring_has_work(std::uint32_t block) const;
    std::uint64_t ring_base(std::uint32_t block) const { return reg(block + Q_BAL) | reg(block + Q_BAH) << 32; }
    void advance_head(std::uint32_t block);
    void count(std::uint32_t off, std::uint64_t n = 1) { regs_.set(off, 8, regs_.get(off, 8) + n); }
    sc_core::sc_time wire_time(std::uint64_t bytes) const;

    void rx_source();
    void rx_engine();
    void tx_engine();
    void interrupt_thread(unsigned vector);
    void raise(unsigned vector);
    void fire(unsigned vector);
    void update_intx();

    nic_params np_;
    unsigned queues_;
    register_bank regs_;
    struct frame { std::uint64_t seq; std::uint64_t size; };
    std::deque<frame> fifo_;
    std::uint64_t fifo_bytes_ = 0;
    bool rx_started_ = false;
    sc_core::sc_event rx_enabled_, rx_arrived_, rx_kick_, tx_kick_;
    sc_core::sc_time wire_free_ = sc_core::SC_ZERO_TIME;  // when the TX side of the link is free
    std::vector<std::uint8_t> tx_frame_[MAX_QUEUES];      // bytes gathered until a descriptor with EOP
    struct vector_state {
        bool pending = false;
        bool fired_once = false;
        sc_core::sc_time last = sc_core::SC_ZERO_TIME;
        sc_core::sc_event ev;
    };
    std::array<vector_state, 2 * MAX_QUEUES> vectors_;
};

} // namespace iotwin::devices
