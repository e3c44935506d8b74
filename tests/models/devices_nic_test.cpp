// nic behind a root port, driven as its driver would: registers by MMIO
// through the root complex, rings and buffers in a memory target that
// stands where the IOMMU would be (one page of it answers UR, as an IOMMU
// fault would), interrupt messages recorded. Simulated time passes with
// sc_start(); each TEST runs in its own process.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "models/devices/nic.h"
#include "models/pci/pci_bridge.h"
#include "models/pcie/root_complex.h"

#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace sc_core;
using cpu = iotwin::test_support::test_cpu;
namespace cfg = pci::cfg;
using nic = devices::nic;

struct memory_target : sc_module {
    static constexpr std::uint64_t size = 1 << 20;
    static constexpr std::uint64_t ur_page = 0x80000;
    struct msi { std::uint64_t addr; std::uint32_t data; sc_time at; };
    struct write { std::uint64_t addr; unsigned len; };

    tlm_utils::simple_target_socket<memory_target, 32, pcie::protocol_types> in{"in"};
    std::vector<std::uint8_t> ram = std::vector<std::uint8_t>(size);
    std::vector<msi> interrupts;
    std::vector<write> writes;

    explicit memory_target(sc_module_name n) : sc_module(n) { in.register_b_transport(this, &memory_target::b_transport); }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time& d) {
        auto* ext = gp.get_extension<pcie::pcie_ext>();
        const std::uint64_t a = gp.get_address();
        const unsigned len = gp.get_data_length();
        d += sc_time(80, SC_NS);
        if (ext && ext->kind == pcie::request_kind::msi) {
            std::uint32_t v = 0;
            std::memcpy(&v, gp.get_data_ptr(), std::min(len, 4u));
            interrupts.push_back({a, v, sc_time_stamp() + d});
            pcie::complete(gp, ext, pcie::completion::SC);
            return;
        }
        if ((a & ~0xfffull) == ur_page || a + len > size) { pcie::complete(gp, ext, pcie::completion::UR); return; }
        if (gp.is_read()) {
            std::memcpy(gp.get_data_ptr(), ram.data() + a, len);
        } else {
            std::memcpy(ram.data() + a, gp.get_data_ptr(), len);
            writes.push_back({a, len});
        }
        pcie::complete(gp, ext, pcie::completion::SC);
    }
};

constexpr std::uint64_t bar0 = 0xC0000000;
constexpr std::uint64_t ring = 0x1000, buffers = 0x10000, buf_size = 0x800;

pci::function_params nic_fn() {
    pci::function_params p;
    p.pcie = pci::port_type::endpoint;
    p.class_code = 0x020000;
    p.interrupt_pin = 1;  // INTA#
    p.flr = true;
    return p;
}

// One NIC below one root port, with the firmware's setup done.
struct bench {
    pcie::root_complex rc{"rc", pcie::root_complex_params{}};
    pci::pci_bridge rp{"rp", iotwin::test_support::root_port_params(), pci::bridge_params{}};
    nic dev;
    memory_target mem{"mem"};
    cpu host{"host"};
    const pcie::bdf port{0, 1, 0}, ep{1, 0, 0};

    explicit bench(const devices::nic_params& np) : dev("nic0", nic_fn(), np) {
        rc.attach(rp);
        rp.attach(dev);
        rc.iommu_out.bind(mem.in);
        host.out.bind(rc.host_in);
        sc_start(SC_ZERO_TIME);
        cfg_write(port, cfg::primary_bus, 4, 0x00010100);
        cfg_write(port, cfg::memory_base, 2, 0xc000);
        cfg_write(port, cfg::memory_limit, 2, 0xc000);
        cfg_write(port, cfg::pref_base, 2, 0xfff0);
        cfg_write(port, cfg::pref_limit, 2, 0x0000);
        cfg_write(port, cfg::command, 2, pci::command_bits::memory_space | pci::command_bits::bus_master);
        cfg_write(ep, cfg::bar0, 4, static_cast<std::uint32_t>(bar0));
        cfg_write(ep, cfg::bar0 + 4, 4, 0);
        cfg_write(ep, cfg::command, 2, pci::command_bits::memory_space | pci::command_bits::bus_master);
    }
    pcie::completion cfg_write(const pcie::bdf& f, std::uint16_t reg, unsigned len, std::uint32_t v) {
        return host.access(tlm::TLM_WRITE_COMMAND, rc.params().ecam_base + pcie::ecam_offset(f, reg), &v, len);
    }
    std::uint64_t reg(std::uint32_t off, unsigned len = 4, pcie::completion* c = nullptr) {
        std::uint64_t v = 0;
        const auto st = host.access(tlm::TLM_READ_COMMAND, bar0 + off, &v, len);
        if (c) *c = st;
        return v;
    }
    pcie::completion set_reg(std::uint32_t off, std::uint64_t v, unsigned len = 4) {
        return host.access(tlm::TLM_WRITE_COMMAND, bar0 + off, &v, len);
    }
    void enable_msi() {
        const auto cap = dev.config().find_capability(pci::cap_id::msi);
        ASSERT_TRUE(cap.has_value());
        cfg_write(ep, static_cast<std::uint16_t>(*cap + 4), 4, 0xFEE00000);
        cfg_write(ep, static_cast<std::uint16_t>(*cap + 8), 4, 0);
        cfg_write(ep, static_cast<std::uint16_t>(*cap + 12), 2, 0x41);
        cfg_write(ep, static_cast<std::uint16_t>(*cap + 2), 2, 1);
    }
    // As Linux's msix_capability_init(): MSI-X Enable with Function Mask,
    // every table entry programmed (address 0xFEE00000, data 0x40 + entry)
    // and unmasked by MMIO stores to BAR 3, then Function Mask cleared.
    static constexpr std::uint64_t bar3 = bar0 + 0x10000;
    void enable_msix() {
        const auto cap = dev.config().find_capability(pci::cap_id::msix);
        ASSERT_TRUE(cap.has_value());
        cfg_write(ep, cfg::bar0 + 12, 4, static_cast<std::uint32_t>(bar3));
        const std::uint16_t ctrl = static_cast<std::uint16_t>(*cap + 2);
        cfg_write(ep, ctrl, 2, 0xc000);
        const std::uint32_t table = static_cast<std::uint32_t>(dev.config().get(*cap + 4, 4));
        ASSERT_EQ(table & 7, 3u);  // BIR: BAR 3
        for (unsigned v = 0; v < (dev.config().get(ctrl, 2) & 0x7ff) + 1; ++v) {
            const std::uint64_t e = bar3 + (table & ~7u) + v * 16;
            std::uint32_t w[4] = {0xFEE00000, 0, 0x40 + v, 0};
            for (unsigned i = 0; i < 4; ++i) ASSERT_EQ(host.access(tlm::TLM_WRITE_COMMAND, e + 4 * i, &w[i], 4), pcie::completion::SC);
        }
        cfg_write(ep, ctrl, 2, 0x8000);
    }
    std::uint32_t msix_mem(std::uint64_t off) {
        std::uint32_t v = 0;
        host.access(tlm::TLM_READ_COMMAND, bar3 + off, &v, 4);
        return v;
    }
    void set_msix_mem(std::uint64_t off, std::uint32_t v) { host.access(tlm::TLM_WRITE_COMMAND, bar3 + off, &v, 4); }
    // A ring of `n` RX descriptors at `ring`, buffer i at buffers + i * buf_size.
    void rx_ring(unsigned n, unsigned given, unsigned itr = 0) {
        for (unsigned i = 0; i < n; ++i) {
            const std::uint64_t b = buffers + i * buf_size;
            std::memcpy(mem.ram.data() + ring + i * 16, &b, 8);
        }
        set_reg(nic::RXQ + nic::Q_BAL, ring);
        set_reg(nic::RXQ + nic::Q_LEN, n * 16);
        set_reg(nic::RXQ + nic::Q_TAIL, given);
        set_reg(nic::RXQ + nic::Q_ITR, itr);
        set_reg(nic::IMASK, 1);
        set_reg(nic::RXQ + nic::Q_CTRL, 1);
    }
    void tx_desc(unsigned i, std::uint64_t buf, std::uint16_t len, std::uint8_t cmd) {
        std::uint8_t d[16] = {};
        std::memcpy(d, &buf, 8);
        std::memcpy(d + 8, &len, 2);
        d[11] = cmd;
        std::memcpy(mem.ram.data() + ring + i * 16, d, 16);
    }
};

devices::nic_params rx_traffic(std::uint64_t packets, std::uint64_t size = 1514) {
    devices::nic_params np;
    np.rx_packets = packets;
    np.rx_packet_size = size;
    return np;
}

TEST(Nic, IdentificationRegisters) {
    devices::nic_params np;
    np.queues = 2;
    np.link_rate = 25;
    bench b(np);
    pcie::completion c;
    EXPECT_EQ(b.reg(nic::ID, 4, &c), nic::ID_VALUE);
    EXPECT_EQ(c, pcie::completion::SC);
    EXPECT_EQ(b.reg(nic::STATUS), 1u);
    EXPECT_EQ(b.reg(nic::LINK_RATE), 25000u);
    EXPECT_EQ(b.reg(nic::QUEUES), 2u);
    EXPECT_EQ(b.reg(nic::RX_BUF_SIZE), 2048u);
    EXPECT_EQ(b.reg(nic::TX_DIGEST, 8), nic::fnv_offset);
    // The MSI-X capability: Table Size 4 (2 queue pairs), table in BAR3 at 0, PBA at 0x2000.
    ASSERT_TRUE(b.dev.params().msix.has_value());
    EXPECT_EQ(b.dev.params().msix->vectors, 4u);
    EXPECT_EQ(b.dev.params().msix->table_bar, 3u);
    EXPECT_EQ(b.dev.params().msix->pba_offset, 0x2000u);
}

TEST(Nic, BadAccessesAbortAndReadOnlyRegistersKeepTheirValue) {
    bench b({});
    pcie::completion c;
    EXPECT_EQ(b.reg(nic::ID, 2, &c), 0xffffu);  // 16-bit access
    EXPECT_EQ(c, pcie::completion::CA);
    b.reg(nic::ID + 2, 4, &c);  // unaligned
    EXPECT_EQ(c, pcie::completion::CA);
    EXPECT_EQ(b.set_reg(nic::ID, 0, 1), pcie::completion::CA);
    EXPECT_EQ(b.set_reg(nic::ID, 0), pcie::completion::SC);
    EXPECT_EQ(b.reg(nic::ID), nic::ID_VALUE);
    EXPECT_EQ(b.set_reg(nic::RX_PACKETS, 55, 8), pcie::completion::SC);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 0u);
    // A reserved offset reads zero and ignores writes, inside the map and past it.
    EXPECT_EQ(b.set_reg(0x0800, 0x1234), pcie::completion::SC);
    EXPECT_EQ(b.reg(0x0800, 4, &c), 0u);
    EXPECT_EQ(c, pcie::completion::SC);
    EXPECT_EQ(b.set_reg(0x8000, 0x1234), pcie::completion::SC);
    EXPECT_EQ(b.reg(0x8000), 0u);
    // A queue of a NIC with one queue pair does not exist.
    EXPECT_EQ(b.set_reg(nic::RXQ + nic::QSTRIDE + nic::Q_LEN, 1024), pcie::completion::SC);
    EXPECT_EQ(b.reg(nic::RXQ + nic::QSTRIDE + nic::Q_LEN), 0u);
    // Writable fields only: ring base 16-byte aligned, length a multiple of 128.
    b.set_reg(nic::RXQ + nic::Q_BAL, 0x1234567f);
    EXPECT_EQ(b.reg(nic::RXQ + nic::Q_BAL), 0x12345670u);
    b.set_reg(nic::RXQ + nic::Q_LEN, 1000);
    EXPECT_EQ(b.reg(nic::RXQ + nic::Q_LEN), 896u);
    EXPECT_EQ(b.reg(nic::RXQ + nic::Q_BAL, 8), 0x12345670u);  // BAL and BAH as one 64-bit access
}

TEST(Nic, ReceivesFramesIntoTheRingAndWritesDescriptorsBack) {
    bench b(rx_traffic(4, 1514));
    b.enable_msi();
    b.rx_ring(8, 7);
    sc_start(50, SC_US);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 4u);
    EXPECT_EQ(b.reg(nic::RX_BYTES, 8), 4u * 1514);
    EXPECT_EQ(b.reg(nic::RXQ + nic::Q_HEAD), 4u);
    for (unsigned seq = 0; seq < 4; ++seq) {
        const std::vector<std::uint8_t> want = nic::rx_frame(seq, 1514);
        EXPECT_EQ(std::memcmp(b.mem.ram.data() + buffers + seq * buf_size, want.data(), want.size()), 0) << seq;
        const std::uint8_t* d = b.mem.ram.data() + ring + seq * 16;
        EXPECT_EQ(d[8] | d[9] << 8, 1514);
        EXPECT_EQ(d[12], nic::RX_DD | nic::RX_EOP);
    }
    EXPECT_EQ(b.mem.ram[buffers + 1514], 0u);  // not one byte more
    EXPECT_EQ(b.mem.ram[ring + 4 * 16 + 12], 0u);  // descriptor 4 untouched
    // Posted writes of at most Max Payload Size (128 B at reset), none across 4 KiB.
    unsigned frame0 = 0;
    for (const auto& w : b.mem.writes) {
        EXPECT_LE(w.len, 128u);
        if (w.addr >= buffers && w.addr < buffers + buf_size) ++frame0;
    }
    EXPECT_EQ(frame0, (1514u + 127) / 128);
    // Without moderation one MSI per frame, with the data software programmed.
    ASSERT_EQ(b.mem.interrupts.size(), 4u);
    EXPECT_EQ(b.mem.interrupts[0].data, 0x41u);
    EXPECT_EQ(b.reg(nic::RXQ + nic::Q_IRQ_COUNT), 4u);
    EXPECT_EQ(b.reg(nic::ICR), 1u);
    b.set_reg(nic::ICR, 1);  // write 1 to clear
    EXPECT_EQ(b.reg(nic::ICR), 0u);
}

TEST(Nic, FramesArriveAtTheLinkRate) {
    devices::nic_params np = rx_traffic(3, 1230);
    np.link_rate = 1.0;  // (1230 + 20) * 8 bits: 10 us per frame
    np.rx_start = sc_time(1, SC_US);
    bench b(np);
    b.enable_msi();
    b.rx_ring(8, 7);
    const sc_time t0 = sc_time_stamp();
    sc_start(50, SC_US);
    ASSERT_EQ(b.mem.interrupts.size(), 3u);
    const sc_time gap = b.mem.interrupts[2].at - b.mem.interrupts[1].at;
    EXPECT_EQ(gap, sc_time(10, SC_US));
    EXPECT_GE(b.mem.interrupts[0].at - t0, sc_time(1, SC_US));
}

TEST(Nic, InterruptModerationCoalescesEvents) {
    devices::nic_params np = rx_traffic(20, 1514);  // 1.2272 us apart at 10 Gb/s
    bench b(np);
    b.enable_msi();
    b.rx_ring(32, 31, 40);  // 10.24 us
    sc_start(100, SC_US);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 20u);
    const std::size_t n = b.mem.interrupts.size();
    EXPECT_GE(n, 2u);
    EXPECT_LE(n, 4u);  // 20 frames over ~24 us: the first at once, then one per 10.24 us
    EXPECT_EQ(b.reg(nic::RXQ + nic::Q_IRQ_COUNT), n);
    for (std::size_t i = 1; i < n; ++i) EXPECT_GE(b.mem.interrupts[i].at - b.mem.interrupts[i - 1].at, sc_time(10240, SC_NS));
}

TEST(Nic, MaskedCauseSendsNothing) {
    bench b(rx_traffic(2, 100));
    b.enable_msi();
    b.rx_ring(8, 7);
    b.set_reg(nic::IMASK, 0);
    sc_start(20, SC_US);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 2u);
    EXPECT_TRUE(b.mem.interrupts.empty());
    EXPECT_EQ(b.reg(nic::ICR), 1u);  // the cause is still recorded
}

TEST(Nic, QueuesShareFramesRoundRobinWithAVectorEach) {
    devices::nic_params np = rx_traffic(6, 200);
    np.queues = 2;
    bench b(np);
    b.enable_msi();
    b.rx_ring(8, 7);  // queue 0
    const std::uint32_t q1 = nic::RXQ + nic::QSTRIDE;
    for (unsigned i = 0; i < 8; ++i) {
        const std::uint64_t buf = 0x40000 + i * buf_size;
        std::memcpy(b.mem.ram.data() + 0x3000 + i * 16, &buf, 8);
    }
    b.set_reg(q1 + nic::Q_BAL, 0x3000);
    b.set_reg(q1 + nic::Q_LEN, 128);
    b.set_reg(q1 + nic::Q_TAIL, 7);
    b.set_reg(nic::IMASK, 0x5);  // RX causes of both queues
    b.set_reg(q1 + nic::Q_CTRL, 1);
    sc_start(20, SC_US);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 6u);
    EXPECT_EQ(b.reg(nic::RXQ + nic::Q_HEAD), 3u);
    EXPECT_EQ(b.reg(q1 + nic::Q_HEAD), 3u);
    // Odd frames in queue 1's buffers.
    const std::vector<std::uint8_t> f1 = nic::rx_frame(1, 200);
    EXPECT_EQ(std::memcmp(b.mem.ram.data() + 0x40000, f1.data(), f1.size()), 0);
    EXPECT_EQ(b.reg(nic::RXQ + nic::Q_IRQ_COUNT), 3u);
    EXPECT_EQ(b.reg(q1 + nic::Q_IRQ_COUNT), 3u);
    EXPECT_EQ(b.reg(nic::ICR), 0x5u);
    EXPECT_EQ(b.mem.interrupts.size(), 6u);  // MSI: one message for every cause
}

// MSI-X (docs/devices/nic.md): RX queue q signals vector 2q, TX queue q
// vector 2q+1, each with the address and data of its own table entry. A
// masked vector sets its Pending bit instead and sends the message when the
// driver unmasks it (PCIe 5.0 7.7.2.9).
TEST(Nic, MsixGivesEachQueueAndDirectionItsVector) {
    devices::nic_params np = rx_traffic(4, 200);
    np.queues = 2;
    bench b(np);
    b.enable_msix();
    ASSERT_TRUE(b.dev.msix_enabled());
    b.set_msix_mem(2 * 16 + 12, 1);  // mask vector 2 (RX queue 1)
    const std::uint32_t q1 = nic::RXQ + nic::QSTRIDE;
    for (unsigned i = 0; i < 8; ++i) {
        const std::uint64_t buf = 0x40000 + i * buf_size;
        std::memcpy(b.mem.ram.data() + 0x3000 + i * 16, &buf, 8);
    }
    b.set_reg(q1 + nic::Q_BAL, 0x3000);
    b.set_reg(q1 + nic::Q_LEN, 128);
    b.set_reg(q1 + nic::Q_TAIL, 7);
    b.set_reg(q1 + nic::Q_CTRL, 1);
    b.rx_ring(8, 7);  // queue 0; IMASK = RX queue 0 only
    b.set_reg(nic::IMASK, 0x5 | 0x8);  // RX of both queues, TX of queue 1
    sc_start(20, SC_US);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 4u);
    EXPECT_EQ(b.reg(q1 + nic::Q_IRQ_COUNT), 2u);
    // Queue 0's two frames: two messages of entry 0; queue 1's wait in the PBA.
    ASSERT_EQ(b.mem.interrupts.size(), 2u);
    for (const auto& m : b.mem.interrupts) {
        EXPECT_EQ(m.addr, 0xFEE00000u);
        EXPECT_EQ(m.data, 0x40u);
    }
    EXPECT_EQ(b.msix_mem(0x2000), 0x4u);
    b.set_msix_mem(2 * 16 + 12, 0);  // unmask: the pending message goes out
    sc_start(1, SC_US);
    ASSERT_EQ(b.mem.interrupts.size(), 3u);
    EXPECT_EQ(b.mem.interrupts[2].data, 0x42u);
    EXPECT_EQ(b.msix_mem(0x2000), 0u);
    // TX queue 1: vector 3.
    const std::uint32_t t1 = nic::TXQ + nic::QSTRIDE;
    b.tx_desc(0, 0x20000, 100, nic::TX_EOP | nic::TX_RS);
    b.set_reg(t1 + nic::Q_BAL, ring);
    b.set_reg(t1 + nic::Q_LEN, 128);
    b.set_reg(t1 + nic::Q_CTRL, 1);
    b.set_reg(t1 + nic::Q_TAIL, 1);
    sc_start(20, SC_US);
    EXPECT_EQ(b.reg(nic::TX_PACKETS, 8), 1u);
    ASSERT_EQ(b.mem.interrupts.size(), 4u);
    EXPECT_EQ(b.mem.interrupts[3].data, 0x43u);
}

TEST(Nic, IntxFollowsEnabledCausesWithoutMsi) {
    bench b(rx_traffic(1, 64));
    ASSERT_NE(b.dev.interrupt_pin(), 0u);
    b.rx_ring(8, 7);
    sc_start(20, SC_US);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 1u);
    EXPECT_TRUE(b.mem.interrupts.empty());
    EXPECT_TRUE(b.dev.intx_asserted());
    b.set_reg(nic::ICR, 1);  // the driver acknowledges: the level drops
    EXPECT_FALSE(b.dev.intx_asserted());
}

// Initiate FLR in Device Control resets the NIC's registers and stops its receiver.
TEST(Nic, FunctionLevelResetReturnsRegistersToTheirResetValues) {
    devices::nic_params np = rx_traffic(4, 1000);
    np.rx_interval = sc_time(5, SC_US);
    bench b(np);
    b.rx_ring(8, 7);
    sc_start(4, SC_US);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 1u);
    const auto px = b.dev.config().find_capability(pci::cap_id::pcie);
    ASSERT_TRUE(px.has_value());
    b.cfg_write(b.ep, static_cast<std::uint16_t>(*px + 8), 2, 0x8000);  // Device Control: Initiate FLR
    // The reset cleared the BAR and the command register: the driver restores them.
    EXPECT_EQ(b.dev.config().command(), 0u);
    b.cfg_write(b.ep, cfg::bar0, 4, static_cast<std::uint32_t>(bar0));
    b.cfg_write(b.ep, cfg::bar0 + 4, 4, 0);
    b.cfg_write(b.ep, cfg::command, 2, pci::command_bits::memory_space);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 0u);
    EXPECT_EQ(b.reg(nic::RXQ + nic::Q_LEN), 0u);
    EXPECT_EQ(b.reg(nic::RXQ + nic::Q_CTRL), 0u);
    EXPECT_EQ(b.reg(nic::IMASK), 0u);
    EXPECT_EQ(b.reg(nic::ID), nic::ID_VALUE);
    EXPECT_EQ(b.reg(nic::TX_DIGEST, 8), nic::fnv_offset);
    // The receiver is off: frames that arrive now wait and nothing reaches memory.
    const std::size_t writes = b.mem.writes.size();
    sc_start(20, SC_US);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 0u);
    EXPECT_EQ(b.mem.writes.size(), writes);
}

TEST(Nic, FramesWithoutDescriptorsWaitThenAreMissed) {
    devices::nic_params np = rx_traffic(10, 1000);
    np.rx_fifo_size = 3000;  // three frames
    np.rx_interval = sc_time(5, SC_US);
    bench b(np);
    b.rx_ring(8, 2);  // two descriptors given
    sc_start(70, SC_US);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 2u);
    EXPECT_EQ(b.reg(nic::RX_NO_DESC, 8), 1u);
    EXPECT_EQ(b.reg(nic::RX_MISSED, 8), 5u);  // 3 wait, 5 found the buffer full
    b.set_reg(nic::RXQ + nic::Q_TAIL, 7);
    sc_start(20, SC_US);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 5u);
    EXPECT_EQ(b.reg(nic::RXQ + nic::Q_HEAD), 5u);
}

TEST(Nic, BlockedDescriptorFetchDropsTheFrame) {
    bench b(rx_traffic(1, 64));
    b.rx_ring(8, 7);
    b.set_reg(nic::RXQ + nic::Q_BAL, memory_target::ur_page);  // the ring in a page the IOMMU would block
    sc_start(20, SC_US);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 0u);
    EXPECT_EQ(b.reg(nic::RX_ERRORS, 8), 1u);
    EXPECT_EQ(b.reg(nic::RXQ + nic::Q_HEAD), 0u);
}

TEST(Nic, OversizedFrameIsDropped) {
    bench b(rx_traffic(1, 3000));
    b.rx_ring(8, 7);
    sc_start(20, SC_US);
    EXPECT_EQ(b.reg(nic::RX_ERRORS, 8), 1u);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 0u);
}

TEST(Nic, TransmitsGatheredFramesAtTheLinkRateIntoTheSink) {
    devices::nic_params np;
    np.link_rate = 1.0;  // 1000-byte frames: 8.16 us each on the wire
    bench b(np);
    b.enable_msi();
    for (unsigned i = 0; i < 1000; ++i) b.mem.ram[0x20000 + i] = static_cast<std::uint8_t>(i * 3);
    b.tx_desc(0, 0x20000, 600, 0);
    b.tx_desc(1, 0x20000 + 600, 400, nic::TX_EOP | nic::TX_RS);
    b.tx_desc(2, 0x20000, 1000, nic::TX_EOP | nic::TX_RS);
    b.set_reg(nic::TXQ + nic::Q_BAL, ring);
    b.set_reg(nic::TXQ + nic::Q_LEN, 128);
    b.set_reg(nic::IMASK, 2);
    b.set_reg(nic::TXQ + nic::Q_CTRL, 1);
    b.set_reg(nic::TXQ + nic::Q_TAIL, 3);
    sc_start(12, SC_US);
    EXPECT_EQ(b.reg(nic::TX_PACKETS, 8), 1u);  // the second frame is still on the wire
    sc_start(20, SC_US);
    EXPECT_EQ(b.reg(nic::TX_PACKETS, 8), 2u);
    EXPECT_EQ(b.reg(nic::TX_BYTES, 8), 2000u);
    std::uint64_t digest = nic::fnv1a(nic::fnv_offset, b.mem.ram.data() + 0x20000, 1000);
    digest = nic::fnv1a(digest, b.mem.ram.data() + 0x20000, 1000);
    EXPECT_EQ(b.reg(nic::TX_DIGEST, 8), digest);
    EXPECT_EQ(b.reg(nic::TXQ + nic::Q_HEAD), 3u);
    EXPECT_EQ(b.mem.ram[ring + 12], 0u);       // no RS: no write-back
    EXPECT_EQ(b.mem.ram[ring + 16 + 12], nic::TX_DD);
    EXPECT_EQ(b.mem.ram[ring + 32 + 12], nic::TX_DD);
    EXPECT_EQ(b.mem.interrupts.size(), 2u);
}

TEST(Nic, BlockedTxDescriptorFetchStopsTheQueue) {
    bench b({});
    b.set_reg(nic::TXQ + nic::Q_BAL, memory_target::ur_page);
    b.set_reg(nic::TXQ + nic::Q_LEN, 128);
    b.set_reg(nic::TXQ + nic::Q_CTRL, 1);
    b.set_reg(nic::TXQ + nic::Q_TAIL, 2);
    sc_start(20, SC_US);
    EXPECT_EQ(b.reg(nic::TX_ERRORS, 8), 1u);
    EXPECT_EQ(b.reg(nic::TXQ + nic::Q_CTRL), 0u);
    EXPECT_EQ(b.reg(nic::TXQ + nic::Q_HEAD), 0u);
}

TEST(Nic, NothingMovesWithoutBusMaster) {
    bench b(rx_traffic(2, 64));
    b.cfg_write(b.ep, cfg::command, 2, pci::command_bits::memory_space);
    b.rx_ring(8, 7);
    sc_start(20, SC_US);
    EXPECT_EQ(b.reg(nic::RX_PACKETS, 8), 0u);
    EXPECT_EQ(b.reg(nic::RX_ERRORS, 8), 2u);
    EXPECT_TRUE(b.mem.writes.empty());
}

} // namespace
