// The PCI function core driven as software drives it: configuration requests
// (type 0, ECAM offsets) and memory / I/O requests as TLM payloads with a
// pcie_ext, straight into the function; what it issues (DMA, MSI, MSI-X) is
// observed in a memory that records every write.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/common/payload.h"
#include "models/devices/dma_engine.h"
#include "models/pci/pci_function.h"

namespace {

using namespace iotwin;
using namespace sc_core;
namespace cfg = pci::cfg;
namespace cmd = pci::command_bits;

// Upstream of the function: 1 MiB of RAM that records every write.
struct sink : sc_module {
    struct write { std::uint64_t addr; std::uint32_t data; };
    tlm_utils::simple_target_socket<sink, 32, pcie::protocol_types> in{"in"};
    std::vector<std::uint8_t> ram = std::vector<std::uint8_t>(1 << 20);
    std::vector<write> writes;
    explicit sink(sc_module_name n) : sc_module(n) { in.register_b_transport(this, &sink::b_transport); }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time& d) {
        auto* ext = gp.get_extension<pcie::pcie_ext>();
        const std::uint64_t a = gp.get_address() & 0xfffff;
        const unsigned len = gp.get_data_length();
        d += sc_time(100, SC_NS);
        if (gp.is_write()) {
            std::uint32_t v = 0;
            std::memcpy(&v, gp.get_data_ptr(), std::min(len, 4u));
            writes.push_back({gp.get_address(), v});
            std::memcpy(ram.data() + a, gp.get_data_ptr(), len);
        } else {
            std::memcpy(gp.get_data_ptr(), ram.data() + a, len);
        }
        pcie::complete(gp, ext, pcie::completion::SC);
    }
};

// A device whose BARs (memory and I/O) are byte stores; counts its resets.
struct test_device : pci::pci_function {
    std::map<std::uint64_t, std::uint8_t> bytes;  // (BAR index << 32 | offset) -> byte
    std::vector<unsigned> bars_hit;
    unsigned resets = 0;
    test_device(sc_module_name n, const pci::function_params& p) : pci_function(n, p) {}
    pcie::completion bar_access(const pci::bar_desc& b, tlm::tlm_command c, std::uint64_t off, std::uint8_t* d, unsigned len,
                                sc_time&) override {
        bars_hit.push_back(b.index);
        for (unsigned i = 0; i < len; ++i) {
            const std::uint64_t k = std::uint64_t(b.index) << 32 | (off + i);
            if (c == tlm::TLM_WRITE_COMMAND) bytes[k] = d[i];
            else d[i] = bytes.count(k) ? bytes[k] : 0;
        }
        return pcie::completion::SC;
    }
    void reset_device() override { ++resets; }
};

struct requester : sc_module {
    tlm_utils::simple_initiator_socket<requester, 32, pcie::protocol_types> out{"out"};
    explicit requester(sc_module_name n) : sc_module(n) {}
    pcie::completion send(pcie::request_kind kind, tlm::tlm_command c, std::uint64_t addr, void* data, unsigned len) {
        pcie::pcie_ext ext;
        ext.kind = kind;
        ext.host = true;
        tlm::tlm_generic_payload gp;
        prepare(gp, c, addr, data, len);
        gp.set_extension(&ext);
        sc_time d = SC_ZERO_TIME;
        out->b_transport(gp, d);
        gp.clear_extension(&ext);
        return ext.status;
    }
};

constexpr std::uint64_t bar0 = 0xc0000000, bar2 = 0x4000000000, bar4 = 0xc0100000, rom = 0xc0200000;
constexpr std::uint32_t io_base = 0x1000;
constexpr std::uint64_t msi_addr = 0x80000, msix_addr = 0x81000;

// BAR0 4 KiB mem32, BAR1 32 bytes I/O, BAR2 64 KiB mem64 prefetchable, BAR4
// 16 KiB mem32 with the MSI-X table at 0 and the PBA at 0x800; an 8 KiB ROM.
pci::function_params full_params() {
    pci::function_params p;
    p.pcie = pci::port_type::endpoint;
    p.bars = {{0, 0x1000, pci::bar_type::mem32, false}, {1, 32, pci::bar_type::io, false},
              {2, 0x10000, pci::bar_type::mem64, true}, {4, 0x4000, pci::bar_type::mem32, false}};
    p.rom_size = 0x2000;
    p.msi_vectors = 4;
    p.msi_per_vector_mask = true;
    p.msix = pci::function_params::msix_regs{8, 4, 0, 4, 0x800};
    p.interrupt_pin = 2;
    p.power_management = true;
    p.no_soft_reset = false;
    p.flr = true;
    return p;
}

class Fn : public ::testing::Test {
protected:
    explicit Fn(const pci::function_params& p = full_params()) : dev("dev", p) {
        cpu.out.bind(dev.pcie_in);
        dev.pcie_out.bind(mem.in);
        sc_start(SC_ZERO_TIME);
    }
    std::uint64_t cfg_read(std::uint16_t reg, unsigned len = 4) {
        std::uint64_t v = 0;
        cpu.send(pcie::request_kind::config, tlm::TLM_READ_COMMAND, pcie::ecam_offset({0, 0, 0}, reg), &v, len);
        return v;
    }
    void cfg_write(std::uint16_t reg, unsigned len, std::uint64_t v) {
        EXPECT_EQ(cpu.send(pcie::request_kind::config, tlm::TLM_WRITE_COMMAND, pcie::ecam_offset({0, 0, 0}, reg), &v, len),
                  pcie::completion::SC);
    }
    pcie::completion mem_read(std::uint64_t a, std::uint64_t& v, unsigned len = 4) {
        v = 0;
        return cpu.send(pcie::request_kind::memory, tlm::TLM_READ_COMMAND, a, &v, len);
    }
    pcie::completion mem_write(std::uint64_t a, std::uint64_t v, unsigned len = 4) {
        return cpu.send(pcie::request_kind::memory, tlm::TLM_WRITE_COMMAND, a, &v, len);
    }
    std::uint32_t cap(std::uint8_t id) { return *dev.config().find_capability(id); }
    // Firmware's work: BARs placed, decoding and bus mastering on.
    void place_bars() {
        cfg_write(cfg::bar0, 4, bar0);
        cfg_write(cfg::bar0 + 4, 4, io_base);
        cfg_write(cfg::bar0 + 8, 4, bar2 & 0xffffffff);
        cfg_write(cfg::bar0 + 12, 4, bar2 >> 32);
        cfg_write(cfg::bar0 + 16, 4, bar4);
        cfg_write(cfg::command, 2, cmd::memory_space | cmd::io_space | cmd::bus_master);
    }
    void program_msi(unsigned mme_log2) {
        const std::uint32_t c = cap(pci::cap_id::msi);
        cfg_write(c + 4, 4, msi_addr);
        cfg_write(c + 8, 4, 0);
        cfg_write(c + 12, 2, 0x40);
        cfg_write(c + 2, 2, mme_log2 << 4 | 1);
    }
    void msix_entry(unsigned v, std::uint64_t addr, std::uint32_t data) {
        EXPECT_EQ(mem_write(bar4 + v * 16, addr, 8), pcie::completion::SC);
        EXPECT_EQ(mem_write(bar4 + v * 16 + 8, data), pcie::completion::SC);
    }

    requester cpu{"cpu"};
    test_device dev;
    sink mem{"mem"};
};

TEST_F(Fn, StatusBitsAreRoAndRw1c) {
    const std::uint16_t st = cfg::status;
    EXPECT_EQ(cfg_read(st, 2), pci::status_bits::capabilities_list);
    // Hardware sets error bits; software clears them by writing 1, one at a time.
    dev.config().set(st, 2, dev.config().get(st, 2) | pci::status_bits::errors | pci::status_bits::interrupt_status);
    cfg_write(st, 2, pci::status_bits::received_master_abort);
    EXPECT_EQ(cfg_read(st, 2), (pci::status_bits::errors & ~pci::status_bits::received_master_abort) |
                                   pci::status_bits::capabilities_list | pci::status_bits::interrupt_status);
    // Writing 0 clears nothing; Interrupt Status and Capabilities List are RO.
    cfg_write(st, 2, 0);
    cfg_write(st, 2, pci::status_bits::interrupt_status | pci::status_bits::capabilities_list);
    EXPECT_TRUE(cfg_read(st, 2) & pci::status_bits::interrupt_status);
    EXPECT_TRUE(cfg_read(st, 2) & pci::status_bits::capabilities_list);
    cfg_write(st, 2, 0xffff);
    EXPECT_EQ(cfg_read(st, 2), pci::status_bits::capabilities_list | pci::status_bits::interrupt_status);
}

TEST_F(Fn, HeaderRegistersRwAndRo) {
    cfg_write(cfg::cache_line, 1, 0x10);
    EXPECT_EQ(cfg_read(cfg::cache_line, 1), 0x10u);
    cfg_write(cfg::latency_timer, 1, 0x40);  // PCI Express: hardwired to 0
    EXPECT_EQ(cfg_read(cfg::latency_timer, 1), 0u);
    cfg_write(cfg::interrupt_line, 1, 11);
    EXPECT_EQ(cfg_read(cfg::interrupt_line, 1), 11u);
    EXPECT_EQ(cfg_read(cfg::interrupt_pin, 1), 2u);  // INTB, RO
    cfg_write(cfg::interrupt_pin, 1, 4);
    EXPECT_EQ(cfg_read(cfg::interrupt_pin, 1), 2u);
    EXPECT_EQ(dev.interrupt_pin(), 2u);
    // The function has an I/O BAR: I/O Space Enable is writable.
    cfg_write(cfg::command, 2, 0xffff);
    EXPECT_EQ(cfg_read(cfg::command, 2), 0x0547u);
    // Identity is RO.
    cfg_write(cfg::vendor_id, 4, 0);
    EXPECT_EQ(cfg_read(cfg::vendor_id, 2), 0x1af4u);
    // Wrong-size and unaligned configuration requests: Completer Abort, nothing changes.
    std::uint64_t v = 0xffffffff;
    EXPECT_EQ(cpu.send(pcie::request_kind::config, tlm::TLM_WRITE_COMMAND, pcie::ecam_offset({0, 0, 0}, cfg::command + 1), &v, 2),
              pcie::completion::CA);
    EXPECT_EQ(cpu.send(pcie::request_kind::config, tlm::TLM_READ_COMMAND, pcie::ecam_offset({0, 0, 0}, cfg::command), &v, 8),
              pcie::completion::CA);
    EXPECT_EQ(cfg_read(cfg::command, 2), 0x0547u);
}

TEST(FnConventional, LatencyTimerIsWritableAndNoIoEnableWithoutIoBar) {
    pci::function_params p;
    p.bars = {{0, 0x1000, pci::bar_type::mem32, false}};
    test_device d("d", p);
    d.config().write(cfg::latency_timer, 1, 0x40);
    EXPECT_EQ(d.config().read(cfg::latency_timer, 1), 0x40u);
    d.config().write(cfg::command, 2, 0xffff);
    EXPECT_FALSE(d.config().read(cfg::command, 2) & cmd::io_space);
    EXPECT_EQ(d.config().read(cfg::interrupt_pin, 1), 0u);  // function_params default: no pin
}

TEST_F(Fn, BarSizingOfEveryType) {
    const auto size_of = [&](std::uint16_t reg) {
        cfg_write(reg, 4, 0xffffffff);
        const std::uint64_t v = cfg_read(reg);
        cfg_write(reg, 4, 0);
        return v;
    };
    EXPECT_EQ(size_of(cfg::bar0), 0xfffff000u);       // 4 KiB, 32-bit, non-prefetchable
    EXPECT_EQ(size_of(cfg::bar0 + 4), 0xffffffe1u);   // 32 bytes of I/O: bit 0 set
    EXPECT_EQ(size_of(cfg::bar0 + 8), 0xffff000cu);   // 64 KiB, 64-bit, prefetchable
    EXPECT_EQ(size_of(cfg::bar0 + 12), 0xffffffffu);  // the upper half
    EXPECT_EQ(size_of(cfg::bar0 + 16), 0xffffc000u);
    EXPECT_EQ(size_of(cfg::bar0 + 20), 0u);           // unimplemented
    // Expansion ROM: address bits 31:13 for 8 KiB, the enable bit apart.
    EXPECT_EQ(size_of(cfg::rom), 0xffffe001u);
    cfg_write(cfg::rom, 4, 0xfffffffe);
    EXPECT_EQ(cfg_read(cfg::rom), 0xffffe000u);
}

TEST_F(Fn, MemoryAndIoDecodeFollowTheCommandRegister) {
    place_bars();
    cfg_write(cfg::command, 2, 0);
    std::uint64_t v;
    EXPECT_EQ(mem_write(bar0 + 8, 0x1234), pcie::completion::UR);
    std::uint32_t port_v = 0xab;
    EXPECT_EQ(cpu.send(pcie::request_kind::io, tlm::TLM_WRITE_COMMAND, io_base + 4, &port_v, 1), pcie::completion::UR);
    EXPECT_TRUE(dev.bars_hit.empty());
    cfg_write(cfg::command, 2, cmd::memory_space);
    EXPECT_EQ(mem_write(bar0 + 8, 0x1234), pcie::completion::SC);
    EXPECT_EQ(mem_read(bar2 + 0x10, v), pcie::completion::SC);
    EXPECT_EQ(cpu.send(pcie::request_kind::io, tlm::TLM_WRITE_COMMAND, io_base + 4, &port_v, 1), pcie::completion::UR);
    cfg_write(cfg::command, 2, cmd::io_space);
    EXPECT_EQ(mem_read(bar0 + 8, v), pcie::completion::UR);
    EXPECT_EQ(cpu.send(pcie::request_kind::io, tlm::TLM_WRITE_COMMAND, io_base + 4, &port_v, 1), pcie::completion::SC);
    port_v = 0;
    EXPECT_EQ(cpu.send(pcie::request_kind::io, tlm::TLM_READ_COMMAND, io_base + 4, &port_v, 1), pcie::completion::SC);
    EXPECT_EQ(port_v, 0xabu);
    EXPECT_EQ(dev.io_bar_at(io_base + 31)->index, 1u);
    EXPECT_FALSE(dev.io_bar_at(io_base + 32));
    EXPECT_EQ(cpu.send(pcie::request_kind::io, tlm::TLM_READ_COMMAND, io_base + 30, &port_v, 4), pcie::completion::UR);  // leaves the BAR
    // An I/O BAR decodes no memory at its number.
    cfg_write(cfg::command, 2, cmd::io_space | cmd::memory_space);
    EXPECT_FALSE(dev.claims_memory(io_base + 4));
    EXPECT_EQ(mem_read(io_base + 4, v), pcie::completion::UR);
    EXPECT_EQ(dev.bars_hit, (std::vector<unsigned>{0, 2, 1, 1}));
}

TEST_F(Fn, RomDecodesWithItsEnableAndMemorySpace) {
    place_bars();
    std::uint64_t v;
    cfg_write(cfg::rom, 4, rom);  // enable clear
    EXPECT_EQ(mem_read(rom, v), pcie::completion::UR);
    cfg_write(cfg::rom, 4, rom | 1);
    EXPECT_TRUE(dev.claims_memory(rom + 0x1fff));
    EXPECT_EQ(mem_read(rom, v, 4), pcie::completion::SC);
    EXPECT_EQ(v, 0x10aa55u);  // 55 AA, 16 x 512 bytes
    EXPECT_EQ(mem_write(rom, 0), pcie::completion::SC);  // discarded
    EXPECT_EQ(mem_read(rom, v, 2), pcie::completion::SC);
    EXPECT_EQ(v, 0xaa55u);
    EXPECT_EQ(mem_read(rom + 0x2000, v), pcie::completion::UR);
    cfg_write(cfg::command, 2, cmd::io_space);
    EXPECT_EQ(mem_read(rom, v), pcie::completion::UR);
}

TEST_F(Fn, MsiPerVectorMaskingHoldsAndReleases) {
    place_bars();
    const std::uint32_t c = cap(pci::cap_id::msi);
    EXPECT_EQ(cfg_read(c + 2, 2), 0x0184u);  // per-vector masking, 64-bit, 4 messages capable
    // Mask Bits: one per capable vector; Pending Bits RO.
    cfg_write(c + 16, 4, 0xffffffff);
    EXPECT_EQ(cfg_read(c + 16), 0xfu);
    cfg_write(c + 16, 4, 0x2);
    cfg_write(c + 20, 4, 0xffffffff);
    EXPECT_EQ(cfg_read(c + 20), 0u);
    program_msi(2);
    EXPECT_TRUE(dev.msi_enabled());
    EXPECT_FALSE(dev.intx_allowed());
    sc_time d = SC_ZERO_TIME;
    EXPECT_TRUE(dev.send_msi(0, d));
    EXPECT_FALSE(dev.send_msi(1, d));  // masked: held
    ASSERT_EQ(mem.writes.size(), 1u);
    EXPECT_EQ(mem.writes[0].addr, msi_addr);
    EXPECT_EQ(mem.writes[0].data, 0x40u);
    EXPECT_EQ(cfg_read(c + 20), 0x2u);
    cfg_write(c + 16, 4, 0);  // unmask: the held message goes out
    ASSERT_EQ(mem.writes.size(), 2u);
    EXPECT_EQ(mem.writes[1].data, 0x41u);
    EXPECT_EQ(cfg_read(c + 20), 0u);
    EXPECT_FALSE(dev.send_msi(4, d));  // not enabled
    // Without Bus Master Enable nothing goes out.
    cfg_write(cfg::command, 2, cmd::memory_space);
    EXPECT_FALSE(dev.send_msi(2, d));
    EXPECT_EQ(mem.writes.size(), 2u);
}

TEST(FnMsi32, ThirtyTwoBitLayout) {
    pci::function_params p;
    p.msi_vectors = 2;
    p.msi_64bit = false;
    p.msi_per_vector_mask = true;
    test_device d("d", p);
    sink m("m");
    requester r("r");
    r.out.bind(d.pcie_in);
    d.pcie_out.bind(m.in);
    sc_start(SC_ZERO_TIME);
    const std::uint32_t c = *d.config().find_capability(pci::cap_id::msi);
    EXPECT_EQ(d.config().read(c + 2, 2), 0x0102u);  // no 64-bit bit, 2 messages capable
    d.config().write(c + 4, 4, msi_addr);
    d.config().write(c + 8, 2, 0x30);    // Message Data right after the address
    d.config().write(c + 12, 4, 0x3);    // Mask Bits
    EXPECT_EQ(d.config().read(c + 12, 4), 0x3u);
    d.config().write(c + 2, 2, 0x11);
    d.config().write(cfg::command, 2, cmd::bus_master);
    sc_time t = SC_ZERO_TIME;
    EXPECT_FALSE(d.send_msi(1, t));
    EXPECT_EQ(d.config().read(c + 16, 4), 0x2u);  // Pending Bits
    d.config().write(c + 12, 4, 0x1);
    ASSERT_EQ(m.writes.size(), 1u);
    EXPECT_EQ(m.writes[0].addr, msi_addr);
    EXPECT_EQ(m.writes[0].data, 0x31u);
}

TEST_F(Fn, MsixTablePbaAndMasks) {
    place_bars();
    const std::uint32_t c = cap(pci::cap_id::msix);
    EXPECT_EQ(cfg_read(c + 2, 2), 7u);       // Table Size 8
    EXPECT_EQ(cfg_read(c + 4), 4u);          // table at 0 of BAR4
    EXPECT_EQ(cfg_read(c + 8), 0x804u);      // PBA at 0x800 of BAR4
    cfg_write(c + 4, 4, 0);                  // RO
    EXPECT_EQ(cfg_read(c + 4), 4u);
    std::uint64_t v;
    for (unsigned e = 0; e < 8; ++e) {       // every vector masked at reset
        EXPECT_EQ(mem_read(bar4 + e * 16 + 12, v), pcie::completion::SC);
        EXPECT_EQ(v, 1u);
    }
    msix_entry(2, msix_addr, 0x4242);
    EXPECT_EQ(mem_read(bar4 + 32, v, 8), pcie::completion::SC);
    EXPECT_EQ(v, msix_addr);
    EXPECT_EQ(mem_write(bar4 + 32 + 12, 0xfffffffe), pcie::completion::SC);  // unmask; reserved bits stay 0
    EXPECT_EQ(mem_read(bar4 + 32 + 12, v), pcie::completion::SC);
    EXPECT_EQ(v, 0u);
    sc_time d = SC_ZERO_TIME;
    EXPECT_FALSE(dev.send_msix(2, d));       // MSI-X disabled
    cfg_write(c + 2, 2, 0xc000);             // enable with Function Mask
    EXPECT_TRUE(dev.msix_enabled());
    EXPECT_FALSE(dev.intx_allowed());
    EXPECT_FALSE(dev.send_interrupt(2, d));  // held in the PBA
    EXPECT_EQ(mem_read(bar4 + 0x800, v, 8), pcie::completion::SC);
    EXPECT_EQ(v, 0x4u);
    EXPECT_EQ(mem_write(bar4 + 0x800, 0), pcie::completion::SC);  // PBA is RO
    EXPECT_EQ(mem_read(bar4 + 0x800, v), pcie::completion::SC);
    EXPECT_EQ(v, 0x4u);
    EXPECT_TRUE(mem.writes.empty());
    cfg_write(c + 2, 2, 0x8000);             // Function Mask cleared: the pending message goes out
    ASSERT_EQ(mem.writes.size(), 1u);
    EXPECT_EQ(mem.writes[0].addr, msix_addr);
    EXPECT_EQ(mem.writes[0].data, 0x4242u);
    EXPECT_EQ(mem_read(bar4 + 0x800, v), pcie::completion::SC);
    EXPECT_EQ(v, 0u);
    // A vector's own mask: pending, then sent when the table entry is unmasked.
    msix_entry(5, msix_addr + 4, 0x55);
    EXPECT_FALSE(dev.send_msix(5, d));
    EXPECT_EQ(mem_read(bar4 + 0x800, v), pcie::completion::SC);
    EXPECT_EQ(v, 0x20u);
    EXPECT_EQ(mem_write(bar4 + 5 * 16 + 12, 0), pcie::completion::SC);
    ASSERT_EQ(mem.writes.size(), 2u);
    EXPECT_EQ(mem.writes[1].data, 0x55u);
    EXPECT_TRUE(dev.send_interrupt(2, d));   // MSI-X before MSI
    EXPECT_EQ(mem.writes.size(), 3u);
    EXPECT_FALSE(dev.send_msix(8, d));       // no such vector
    // Table accesses other than aligned DWORD / QWORD: Completer Abort, nothing written.
    EXPECT_EQ(mem_write(bar4 + 32, 0xffff, 2), pcie::completion::CA);
    EXPECT_EQ(mem_write(bar4 + 34, 0xffff), pcie::completion::CA);
    EXPECT_EQ(mem_read(bar4 + 36, v, 8), pcie::completion::CA);
    EXPECT_EQ(mem_read(bar4 + 32, v), pcie::completion::SC);
    EXPECT_EQ(v, msix_addr);
    // The rest of the BAR is the device's.
    EXPECT_EQ(mem_write(bar4 + 0x1000, 7), pcie::completion::SC);
    EXPECT_EQ(dev.bars_hit, (std::vector<unsigned>{4}));
}

TEST_F(Fn, FlrResetsTheFunctionButKeepsInterruptLine) {
    place_bars();
    program_msi(0);
    cfg_write(cfg::interrupt_line, 1, 10);
    cfg_write(cfg::cache_line, 1, 0x10);
    const std::uint32_t px = cap(pci::cap_id::pcie), mx = cap(pci::cap_id::msix);
    EXPECT_TRUE(cfg_read(px + 4) & (1u << 28));  // Function Level Reset Capability
    cfg_write(mx + 2, 2, 0x8000);
    msix_entry(1, msix_addr, 1);
    dev.config().set(px + 10, 2, 0x9);            // errors detected
    cfg_write(px + 8, 2, 0x8000 | cfg_read(px + 8, 2));  // Initiate FLR
    EXPECT_EQ(dev.reset_count(), 1u);
    EXPECT_EQ(dev.resets, 1u);
    EXPECT_EQ(cfg_read(px + 8, 2) & 0x8000, 0u);  // reads 0
    EXPECT_EQ(cfg_read(cfg::command, 2), 0u);
    EXPECT_EQ(cfg_read(cfg::bar0), 0u);
    EXPECT_EQ(cfg_read(cfg::cache_line, 1), 0u);
    EXPECT_EQ(cfg_read(cfg::interrupt_line, 1), 10u);
    EXPECT_EQ(cfg_read(px + 10, 2), 0u);
    EXPECT_FALSE(dev.msi_enabled());
    EXPECT_FALSE(dev.msix_enabled());
    EXPECT_TRUE(dev.intx_allowed());
    place_bars();
    std::uint64_t v;
    EXPECT_EQ(mem_read(bar4 + 16, v, 8), pcie::completion::SC);
    EXPECT_EQ(v, 0u);
    EXPECT_EQ(mem_read(bar4 + 16 + 12, v), pcie::completion::SC);
    EXPECT_EQ(v, 1u);  // masked again
}

TEST(FnWithoutFlr, InitiateFlrIsIgnored) {
    pci::function_params p;
    p.pcie = pci::port_type::endpoint;
    test_device d("d", p);
    const std::uint32_t px = *d.config().find_capability(pci::cap_id::pcie);
    EXPECT_FALSE(d.config().read(px + 4, 4) & (1u << 28));
    d.config().write(cfg::command, 2, cmd::memory_space);
    d.config().write(px + 8, 2, 0x8000 | d.config().read(px + 8, 2));
    EXPECT_EQ(d.reset_count(), 0u);
    EXPECT_EQ(d.config().read(px + 8, 2) & 0x8000, 0u);
    EXPECT_EQ(d.config().read(cfg::command, 2), cmd::memory_space);
    // Device Control 2 / Capabilities 2: Completion Timeout Disable only.
    EXPECT_EQ(d.config().read(px + 0x24, 4), 0x10u);
    d.config().write(px + 0x28, 2, 0xffff);
    EXPECT_EQ(d.config().read(px + 0x28, 2), 0x10u);
}

TEST_F(Fn, PowerManagementD3hot) {
    place_bars();
    const std::uint32_t pm = cap(pci::cap_id::power_management);
    EXPECT_EQ(cfg_read(pm + 2, 2), 0x3u);  // PM 1.2, no D1/D2, no PME
    EXPECT_EQ(cfg_read(pm + 4, 2), 0u);    // D0, No_Soft_Reset clear
    cfg_write(pm + 4, 2, 1);               // D1: not supported, discarded
    EXPECT_EQ(cfg_read(pm + 4, 2), 0u);
    cfg_write(pm + 4, 2, 3);
    EXPECT_TRUE(dev.in_d3hot());
    std::uint64_t v;
    EXPECT_EQ(mem_read(bar0, v), pcie::completion::UR);
    std::uint32_t port_v = 0;
    EXPECT_EQ(cpu.send(pcie::request_kind::io, tlm::TLM_READ_COMMAND, io_base, &port_v, 1), pcie::completion::UR);
    program_msi(0);
    sc_time d = SC_ZERO_TIME;
    EXPECT_FALSE(dev.send_msi(0, d));
    std::uint8_t buf[8] = {};
    EXPECT_FALSE(dev.dma(tlm::TLM_WRITE_COMMAND, 0x100, buf, 8, d).issued);
    EXPECT_TRUE(mem.writes.empty());
    EXPECT_EQ(cfg_read(cfg::command, 2), cmd::memory_space | cmd::io_space | cmd::bus_master);  // config still answers
    // D3hot -> D0 without No_Soft_Reset: the function is reset.
    cfg_write(pm + 4, 2, 0);
    EXPECT_FALSE(dev.in_d3hot());
    EXPECT_EQ(dev.resets, 1u);
    EXPECT_EQ(cfg_read(cfg::command, 2), 0u);
    EXPECT_EQ(cfg_read(cfg::bar0), 0u);
}

TEST(FnNoSoftReset, D3hotToD0KeepsState) {
    pci::function_params p;
    p.power_management = true;
    p.bars = {{0, 0x1000, pci::bar_type::mem32, false}};
    test_device d("d", p);
    const std::uint32_t pm = *d.config().find_capability(pci::cap_id::power_management);
    EXPECT_EQ(d.config().read(pm + 4, 2), 0x8u);  // No_Soft_Reset
    d.config().write(cfg::bar0, 4, bar0);
    d.config().write(pm + 4, 2, 3);
    d.config().write(pm + 4, 2, 0);
    EXPECT_EQ(d.resets, 0u);
    EXPECT_EQ(d.config().read(cfg::bar0, 4), bar0);
}

// FLR during a dma_engine transfer: nothing the engine would have written
// after the reset reaches memory.
TEST(FnFlr, AbortsTheDmaInProgress) {
    pci::function_params p;
    p.pcie = pci::port_type::endpoint;
    p.flr = true;
    devices::dma_engine eng("eng", p);
    sink m("m");
    requester r("r");
    r.out.bind(eng.pcie_in);
    eng.pcie_out.bind(m.in);
    sc_start(SC_ZERO_TIME);
    const auto cfgw = [&](std::uint16_t reg, unsigned len, std::uint64_t v) {
        r.send(pcie::request_kind::config, tlm::TLM_WRITE_COMMAND, pcie::ecam_offset({0, 0, 0}, reg), &v, len);
    };
    const auto mmio = [&](std::uint32_t off, std::uint64_t v, unsigned len = 4) {
        return r.send(pcie::request_kind::memory, tlm::TLM_WRITE_COMMAND, bar0 + off, &v, len);
    };
    cfgw(cfg::bar0, 4, bar0);
    cfgw(cfg::bar0 + 4, 4, 0);
    cfgw(cfg::command, 2, cmd::memory_space | cmd::bus_master);
    for (std::uint32_t o = 0; o < devices::dma_engine::BUFFER_SIZE; o += 8)
        ASSERT_EQ(mmio(devices::dma_engine::BUFFER + o, 0x0101010101010101ull, 8), pcie::completion::SC);
    mmio(devices::dma_engine::SRC, 0, 8);
    mmio(devices::dma_engine::DST, 0x10000, 8);
    mmio(devices::dma_engine::LEN, devices::dma_engine::BUFFER_SIZE);
    mmio(devices::dma_engine::DIRECTION, devices::dma_engine::DEV_TO_MEM);
    mmio(devices::dma_engine::CONTROL, 1);
    sc_start(400, SC_NS);
    const std::size_t before = m.writes.size();
    ASSERT_GT(before, 0u);
    ASSERT_LT(before, devices::dma_engine::BUFFER_SIZE / 128);  // still running
    const std::uint32_t px = *eng.config().find_capability(pci::cap_id::pcie);
    cfgw(px + 8, 2, 0x8000 | eng.config().read(px + 8, 2));
    EXPECT_EQ(eng.reset_count(), 1u);
    sc_start(100, SC_US);
    EXPECT_EQ(m.writes.size(), before);  // not one TLP after the reset
    EXPECT_EQ(m.ram[0x10000 + devices::dma_engine::BUFFER_SIZE - 1], 0u);
    EXPECT_EQ(m.ram[0x10000], 1u);
}

} // namespace
