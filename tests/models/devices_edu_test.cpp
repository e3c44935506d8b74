// edu behind a root port, driven as its driver would (QEMU's docs/specs/edu.rst):
// configuration and MMIO accesses through the root complex, DMA into a memory
// target that stands where the IOMMU would be (one page answers UR, as an
// IOMMU fault does), interrupts seen as MSI writes or as INTx: Interrupt Status
// in configuration space and the GSI line changes at the root complex.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include <tlm_utils/simple_target_socket.h>

#include "models/common/payload.h"
#include "models/devices/edu.h"
#include "models/pci/pci_bridge.h"
#include "models/pcie/root_complex.h"

#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace sc_core;
using cpu = iotwin::test_support::test_cpu;
namespace cfg = pci::cfg;
using edu = devices::edu;

struct memory_target : sc_module {
    static constexpr std::uint64_t size = 1 << 20;
    static constexpr std::uint64_t ur_page = 0x80000;
    tlm_utils::simple_target_socket<memory_target, 32, pcie::protocol_types> in{"in"};
    std::vector<std::uint8_t> ram = std::vector<std::uint8_t>(size);
    std::vector<std::uint32_t> msis;
    std::vector<std::uint64_t> accesses;

    explicit memory_target(sc_module_name n) : sc_module(n) { in.register_b_transport(this, &memory_target::b_transport); }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time& d) {
        auto* ext = gp.get_extension<pcie::pcie_ext>();
        const std::uint64_t a = gp.get_address();
        const unsigned len = gp.get_data_length();
        d += sc_time(80, SC_NS);
        if (ext && ext->kind == pcie::request_kind::msi) {
            std::uint32_t v = 0;
            std::memcpy(&v, gp.get_data_ptr(), std::min(len, 4u));
            msis.push_back(v);
            pcie::complete(gp, ext, pcie::completion::SC);
            return;
        }
        if (ext && ext->kind == pcie::request_kind::message) {
            pcie::complete(gp, ext, pcie::completion::SC);
            return;
        }
        accesses.push_back(a);
        if ((a & ~0xfffull) == ur_page || a + len > size) { pcie::complete(gp, ext, pcie::completion::UR); return; }
        if (gp.is_read()) std::memcpy(gp.get_data_ptr(), ram.data() + a, len);
        else std::memcpy(ram.data() + a, gp.get_data_ptr(), len);
        pcie::complete(gp, ext, pcie::completion::SC);
    }
};

constexpr std::uint64_t bar0 = 0xC0000000;

pci::function_params edu_function() {
    pci::function_params p;  // the model replaces IDs, BARs and capabilities with edu's
    p.pcie = pci::port_type::endpoint;
    p.bars = {{0, 0x4000, pci::bar_type::mem64, false}};
    return p;
}

class Edu : public ::testing::Test {
protected:
    Edu() {
        rc.attach(rp);
        rp.attach(dev);
        rc.iommu_out.bind(mem.in);
        host.out.bind(rc.host_in);
        // What the I/O APIC sees: the Assert/Deassert messages the root port
        // forwards, as line changes of a GSI.
        rc.set_intx_sink([this](unsigned gsi, std::uint32_t, bool level, sc_time&) { intx.push_back({gsi, level}); });
        sc_start(SC_ZERO_TIME);
        cfg_write(port, cfg::primary_bus, 4, 0x00010100);
        cfg_write(port, cfg::memory_base, 2, 0xc000);  // a 1 MiB window: BAR0 fills it
        cfg_write(port, cfg::memory_limit, 2, 0xc000);
        cfg_write(port, cfg::pref_base, 2, 0xfff0);
        cfg_write(port, cfg::pref_limit, 2, 0x0000);
        cfg_write(port, cfg::command, 2, pci::command_bits::memory_space | pci::command_bits::bus_master);
        cfg_write(ep, cfg::bar0, 4, static_cast<std::uint32_t>(bar0));
        cfg_write(ep, cfg::command, 2, pci::command_bits::memory_space);
    }

    pcie::root_complex rc{"rc", pcie::root_complex_params{}};
    pci::pci_bridge rp{"rp", iotwin::test_support::root_port_params(), pci::bridge_params{}};
    edu dev{"edu0", edu_function()};
    memory_target mem{"mem"};
    cpu host{"host"};
    const pcie::bdf port{0, 1, 0}, ep{1, 0, 0};
    struct line_change { unsigned gsi; bool level; };
    std::vector<line_change> intx;
    // edu's INTA#, swizzled by the root port at device 1 (slot 0: INTA), is GSI 21.
    static constexpr unsigned edu_gsi = 21;

    pcie::completion cfg_write(const pcie::bdf& f, std::uint16_t reg, unsigned len, std::uint32_t v) {
        return host.access(tlm::TLM_WRITE_COMMAND, rc.params().ecam_base + pcie::ecam_offset(f, reg), &v, len);
    }
    std::uint32_t cfg_read(std::uint16_t reg, unsigned len = 4) {
        std::uint32_t v = 0;
        host.access(tlm::TLM_READ_COMMAND, rc.params().ecam_base + pcie::ecam_offset(ep, reg), &v, len);
        return v;
    }
    void set_master(bool on) {
        cfg_write(ep, cfg::command, 2, pci::command_bits::memory_space | (on ? pci::command_bits::bus_master : 0));
    }
    void enable_msi() {
        cfg_write(ep, 0x44, 4, 0xFEE00000);
        cfg_write(ep, 0x48, 4, 0);
        cfg_write(ep, 0x4c, 2, 0x41);
        cfg_write(ep, 0x42, 2, 1);
    }
    std::uint64_t reg(std::uint32_t off, unsigned len = 4) {
        std::uint64_t v = 0;
        EXPECT_EQ(host.access(tlm::TLM_READ_COMMAND, bar0 + off, &v, len), pcie::completion::SC);
        return v;
    }
    void set_reg(std::uint32_t off, std::uint64_t v, unsigned len = 4) {
        EXPECT_EQ(host.access(tlm::TLM_WRITE_COMMAND, bar0 + off, &v, len), pcie::completion::SC);
    }
    void fill_ram(std::uint64_t at, std::size_t n, std::uint8_t seed) {
        for (std::size_t i = 0; i < n; ++i) mem.ram[at + i] = static_cast<std::uint8_t>(seed + i * 7);
    }
    // Programs and starts a transfer, and lets QEMU's 100 ms timer expire.
    void dma(std::uint64_t src, std::uint64_t dst, std::uint64_t cnt, std::uint64_t cmd) {
        set_reg(edu::DMA_SRC, src, 8);
        set_reg(edu::DMA_DST, dst, 8);
        set_reg(edu::DMA_CNT, cnt, 8);
        set_reg(edu::DMA_CMD, cmd, 8);
        sc_start(101, SC_MS);
    }
};

TEST_F(Edu, ConfigSpaceIsQemus) {
    EXPECT_EQ(cfg_read(cfg::vendor_id), 0x11e81234u);
    EXPECT_EQ(cfg_read(cfg::revision), 0x00ff0010u);  // revision 0x10, class 0x00ff00 (PCI_CLASS_OTHERS)
    EXPECT_EQ(cfg_read(cfg::subsystem_vendor), 0x11001af4u);
    EXPECT_EQ(cfg_read(cfg::header_type, 1), 0x00u);
    EXPECT_EQ(cfg_read(cfg::interrupt_pin, 1), 1u);  // INTA#
    EXPECT_EQ(cfg_read(cfg::status, 2) & 0x10u, 0x10u);
    // One capability: MSI at 0x40, 64-bit, 1 vector, no per-vector masking; no PCI Express capability.
    EXPECT_EQ(cfg_read(cfg::cap_ptr, 1), 0x40u);
    EXPECT_EQ(cfg_read(0x40), 0x00800005u);
    EXPECT_FALSE(dev.config().find_capability(pci::cap_id::pcie).has_value());
    // BAR0: 1 MiB, 32-bit, non-prefetchable memory; no other BAR.
    cfg_write(ep, cfg::bar0, 4, 0xffffffff);
    EXPECT_EQ(cfg_read(cfg::bar0), 0xfff00000u);
    cfg_write(ep, cfg::bar0 + 4, 4, 0xffffffff);
    EXPECT_EQ(cfg_read(cfg::bar0 + 4), 0u);
}

TEST_F(Edu, IdentificationAndLiveness) {
    EXPECT_EQ(reg(edu::IDENT), 0x010000edu);
    set_reg(edu::IDENT, 0);  // read-only
    EXPECT_EQ(reg(edu::IDENT), 0x010000edu);
    EXPECT_EQ(reg(edu::LIVENESS), 0u);
    set_reg(edu::LIVENESS, 0x12345678);
    EXPECT_EQ(reg(edu::LIVENESS), 0xedcba987u);
    set_reg(edu::LIVENESS, 0xffffffff);
    EXPECT_EQ(reg(edu::LIVENESS), 0u);
}

TEST_F(Edu, FactorialWithoutInterrupt) {
    set_reg(edu::FACTORIAL, 5);
    EXPECT_EQ(reg(edu::STATUS), edu::STATUS_COMPUTING);
    EXPECT_EQ(reg(edu::FACTORIAL), 5u);
    set_reg(edu::FACTORIAL, 7);  // ignored while computing
    sc_start(2, SC_US);
    EXPECT_EQ(reg(edu::STATUS), 0u);
    EXPECT_EQ(reg(edu::FACTORIAL), 120u);
    EXPECT_EQ(reg(edu::IRQ_STATUS), 0u);
    EXPECT_FALSE(dev.intx_asserted());
    set_reg(edu::FACTORIAL, 13);  // 6227020800 mod 2^32, as QEMU's uint32_t loop
    sc_start(2, SC_US);
    EXPECT_EQ(reg(edu::FACTORIAL), 1932053504u);
    set_reg(edu::FACTORIAL, 0xffffffff);  // holds 2^32
    sc_start(2, SC_US);
    EXPECT_EQ(reg(edu::FACTORIAL), 0u);
    set_reg(edu::FACTORIAL, 0);
    sc_start(2, SC_US);
    EXPECT_EQ(reg(edu::FACTORIAL), 1u);
}

TEST_F(Edu, FactorialRaisesMsiWhenAsked) {
    set_master(true);
    enable_msi();
    set_reg(edu::STATUS, edu::STATUS_IRQFACT | edu::STATUS_COMPUTING);  // COMPUTING is read-only
    EXPECT_EQ(reg(edu::STATUS), edu::STATUS_IRQFACT);
    set_reg(edu::FACTORIAL, 4);
    EXPECT_EQ(reg(edu::STATUS), edu::STATUS_IRQFACT | edu::STATUS_COMPUTING);
    sc_start(2, SC_US);
    EXPECT_EQ(reg(edu::FACTORIAL), 24u);
    ASSERT_EQ(mem.msis.size(), 1u);
    EXPECT_EQ(mem.msis[0], 0x41u);
    EXPECT_EQ(reg(edu::IRQ_STATUS), edu::FACT_IRQ);
    EXPECT_FALSE(dev.intx_asserted());  // MSI instead of INTx
    set_reg(edu::IRQ_ACK, edu::FACT_IRQ);
    EXPECT_EQ(reg(edu::IRQ_STATUS), 0u);
    // IRQFACT cleared: the next result raises nothing.
    set_reg(edu::STATUS, 0);
    set_reg(edu::FACTORIAL, 3);
    sc_start(2, SC_US);
    EXPECT_EQ(reg(edu::FACTORIAL), 6u);
    EXPECT_EQ(mem.msis.size(), 1u);
}

TEST_F(Edu, RaiseAndAcknowledgeWithMsi) {
    set_master(true);
    enable_msi();
    set_reg(edu::IRQ_RAISE, 0x10);
    sc_start(1, SC_US);
    EXPECT_EQ(reg(edu::IRQ_STATUS), 0x10u);
    EXPECT_EQ(mem.msis.size(), 1u);
    set_reg(edu::IRQ_RAISE, 0x20);  // another cause: another message
    sc_start(1, SC_US);
    EXPECT_EQ(reg(edu::IRQ_STATUS), 0x30u);
    EXPECT_EQ(mem.msis.size(), 2u);
    set_reg(edu::IRQ_ACK, 0x30);
    EXPECT_EQ(reg(edu::IRQ_STATUS), 0u);
    // Write-only registers read as edu_mmio_read's ~0.
    EXPECT_EQ(reg(edu::IRQ_RAISE), 0xffffffffu);
    EXPECT_EQ(reg(edu::IRQ_ACK), 0xffffffffu);
    // IRQ_STATUS is read-only.
    set_reg(edu::IRQ_STATUS, 0xff);
    EXPECT_EQ(reg(edu::IRQ_STATUS), 0u);
    EXPECT_EQ(mem.msis.size(), 2u);
}

// As a driver sees INTx: Interrupt Status (Status bit 3) in configuration
// space, and at the interrupt controller one Assert_INTA when the first cause
// is raised and one Deassert_INTA when the last is acknowledged.
TEST_F(Edu, RaiseAndAcknowledgeWithIntx) {
    set_master(true);
    EXPECT_EQ(cfg_read(cfg::status, 2) & 0x8, 0u);
    set_reg(edu::IRQ_RAISE, 0x3);
    sc_start(1, SC_US);
    EXPECT_EQ(cfg_read(cfg::status, 2) & 0x8, 0x8u);
    ASSERT_EQ(intx.size(), 1u);
    EXPECT_EQ(intx[0].gsi, edu_gsi);
    EXPECT_TRUE(intx[0].level);
    EXPECT_TRUE(mem.msis.empty());
    set_reg(edu::IRQ_ACK, 0x1);  // a cause is left: the line stays up
    sc_start(1, SC_US);
    EXPECT_EQ(cfg_read(cfg::status, 2) & 0x8, 0x8u);
    EXPECT_EQ(intx.size(), 1u);
    set_reg(edu::IRQ_ACK, 0x2);
    sc_start(1, SC_US);
    EXPECT_EQ(cfg_read(cfg::status, 2) & 0x8, 0u);
    ASSERT_EQ(intx.size(), 2u);
    EXPECT_EQ(intx[1].gsi, edu_gsi);
    EXPECT_FALSE(intx[1].level);
}

// Interrupt Disable (Command bit 10) keeps the message from the port while
// Interrupt Status still shows the cause (PCI 3.0 6.2.2).
TEST_F(Edu, InterruptDisableHoldsTheLine) {
    set_master(true);
    cfg_write(ep, cfg::command, 2, pci::command_bits::memory_space | pci::command_bits::bus_master | pci::command_bits::interrupt_disable);
    set_reg(edu::IRQ_RAISE, 0x1);
    sc_start(1, SC_US);
    EXPECT_EQ(cfg_read(cfg::status, 2) & 0x8, 0x8u);
    EXPECT_TRUE(intx.empty());
}

TEST_F(Edu, DmaFromRamAndBack) {
    set_master(true);
    enable_msi();
    fill_ram(0x1000, 100, 9);
    set_reg(edu::DMA_SRC, 0x1000, 8);
    set_reg(edu::DMA_DST, edu::BUFFER, 8);
    set_reg(edu::DMA_CNT, 100, 8);
    set_reg(edu::DMA_CMD, edu::CMD_RUN, 8);
    sc_start(99, SC_MS);  // QEMU's timer: nothing happens for 100 ms
    EXPECT_EQ(reg(edu::DMA_CMD, 8), edu::CMD_RUN);
    EXPECT_TRUE(mem.accesses.empty());
    sc_start(2, SC_MS);
    EXPECT_EQ(reg(edu::DMA_CMD, 8), 0u);
    EXPECT_FALSE(mem.accesses.empty());
    EXPECT_TRUE(mem.msis.empty());  // bit 2 not set
    // Back to RAM at addr + 100, with the completion interrupt.
    dma(edu::BUFFER, 0x1000 + 100, 100, edu::CMD_RUN | edu::CMD_TO_RAM | edu::CMD_IRQ);
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x1000, mem.ram.data() + 0x1000 + 100, 100), 0);
    EXPECT_EQ(mem.ram[0x1000 + 200], 0u);
    EXPECT_EQ(reg(edu::DMA_CMD, 8), edu::CMD_TO_RAM | edu::CMD_IRQ);
    EXPECT_EQ(reg(edu::IRQ_STATUS), edu::DMA_IRQ);
    EXPECT_EQ(mem.msis.size(), 1u);
}

TEST_F(Edu, WholeBufferIsInRangeAndTheRamSideIsMasked) {
    set_master(true);
    fill_ram(0x2000, 4096, 1);
    // 4096 bytes at 0x40000 end exactly at the buffer's end: accepted (QEMU's
    // older check refused it). The source is clamped to 28 bits.
    dma(0x70002000, edu::BUFFER, 4096, edu::CMD_RUN);
    dma(edu::BUFFER, 0x4000, 4096, edu::CMD_RUN | edu::CMD_TO_RAM);
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x2000, mem.ram.data() + 0x4000, 4096), 0);
}

TEST_F(Edu, TransfersOutsideTheBufferMoveNothing) {
    set_master(true);
    enable_msi();
    fill_ram(0x1000, 256, 5);
    struct range { std::uint64_t at, cnt; };
    // One byte past the end; below the buffer; a count that wraps 2^64.
    for (const range r : {range{edu::BUFFER + 4096 - 99, 100}, range{edu::BUFFER - 4, 8}, range{edu::BUFFER + 8, ~std::uint64_t(0)}}) {
        mem.accesses.clear();
        dma(0x1000, r.at, r.cnt, edu::CMD_RUN | edu::CMD_IRQ);
        EXPECT_TRUE(mem.accesses.empty());
        // Completed all the same: RUN clear, the interrupt raised.
        EXPECT_EQ(reg(edu::DMA_CMD, 8), edu::CMD_IRQ);
        EXPECT_EQ(reg(edu::IRQ_STATUS), edu::DMA_IRQ);
        set_reg(edu::IRQ_ACK, edu::DMA_IRQ);
        dma(r.at, 0x9000, r.cnt, edu::CMD_RUN | edu::CMD_TO_RAM);
        EXPECT_TRUE(mem.accesses.empty());
    }
    // The buffer is as it was: all zero.
    dma(edu::BUFFER, 0x9000, 4096, edu::CMD_RUN | edu::CMD_TO_RAM);
    for (std::size_t i = 0; i < 4096; ++i) ASSERT_EQ(mem.ram[0x9000 + i], 0u) << i;
    EXPECT_EQ(mem.msis.size(), 3u);
}

TEST_F(Edu, BlockedReadLeavesTheBufferAndStillCompletes) {
    set_master(true);
    enable_msi();
    fill_ram(0x1000, 64, 3);
    dma(0x1000, edu::BUFFER, 64, edu::CMD_RUN);
    // The source page answers UR (an IOMMU fault): nothing lands in the buffer.
    fill_ram(memory_target::ur_page, 64, 50);
    dma(memory_target::ur_page, edu::BUFFER, 64, edu::CMD_RUN | edu::CMD_IRQ);
    EXPECT_EQ(reg(edu::DMA_CMD, 8), edu::CMD_IRQ);
    EXPECT_EQ(reg(edu::IRQ_STATUS), edu::DMA_IRQ);
    EXPECT_EQ(mem.msis.size(), 1u);
    dma(edu::BUFFER, 0x3000, 64, edu::CMD_RUN | edu::CMD_TO_RAM);
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x1000, mem.ram.data() + 0x3000, 64), 0);
}

TEST_F(Edu, BusMasterOffMeansNoDmaAndNoMsi) {
    enable_msi();
    fill_ram(0x1000, 64, 3);
    dma(0x1000, edu::BUFFER, 64, edu::CMD_RUN | edu::CMD_IRQ);
    EXPECT_TRUE(mem.accesses.empty());
    EXPECT_TRUE(mem.msis.empty());
    EXPECT_EQ(reg(edu::DMA_CMD, 8), edu::CMD_IRQ);
    EXPECT_EQ(reg(edu::IRQ_STATUS), edu::DMA_IRQ);
}

TEST_F(Edu, DmaRegistersWhileRunningAndPartialAccesses) {
    set_reg(edu::DMA_SRC, 0x1122334455667788ull, 8);
    EXPECT_EQ(reg(edu::DMA_SRC, 8), 0x1122334455667788ull);
    EXPECT_EQ(reg(edu::DMA_SRC), 0x55667788u);      // 4 bytes at 0x80: the low half
    EXPECT_EQ(reg(edu::DMA_SRC + 4), 0xffffffffu);  // 0x84 is no register
    set_reg(edu::DMA_SRC, 0xaabbccdd);              // 4 bytes: zero-extended
    EXPECT_EQ(reg(edu::DMA_SRC, 8), 0xaabbccddull);
    set_reg(edu::DMA_CMD, edu::CMD_TO_RAM, 8);      // no RUN bit: ignored
    EXPECT_EQ(reg(edu::DMA_CMD, 8), 0u);
    set_reg(edu::DMA_CNT, 0, 8);
    set_reg(edu::DMA_CMD, 0xf0 | edu::CMD_RUN, 8);  // every bit written is kept
    set_reg(edu::DMA_SRC, 0x5000, 8);               // ignored while it runs
    set_reg(edu::DMA_CMD, edu::CMD_RUN | edu::CMD_IRQ, 8);
    EXPECT_EQ(reg(edu::DMA_SRC, 8), 0xaabbccddull);
    EXPECT_EQ(reg(edu::DMA_CMD, 8), 0xf1u);
    sc_start(101, SC_MS);
    EXPECT_EQ(reg(edu::DMA_CMD, 8), 0xf0u);
    EXPECT_EQ(reg(edu::IRQ_STATUS), 0u);  // 0xf0 has bit 2 clear
}

TEST_F(Edu, AccessesQemuRefusesOrIgnores) {
    std::uint64_t v = 0;
    // Sizes other than 4 and 8, and unaligned accesses: QEMU's memory core
    // refuses them (.valid), x86 reads 0, the write goes nowhere.
    EXPECT_EQ(reg(edu::IDENT, 2), 0u);
    EXPECT_EQ(reg(edu::IDENT, 1), 0u);
    EXPECT_EQ(reg(edu::IDENT + 2, 4), 0u);
    EXPECT_EQ(reg(edu::DMA_SRC + 4, 8), 0u);
    set_reg(edu::LIVENESS + 1, 0, 1);
    set_reg(edu::LIVENESS + 2, 0x1234, 4);
    EXPECT_EQ(reg(edu::LIVENESS), 0u);
    // 8 bytes below 0x80: ~0 and ignored.
    EXPECT_EQ(reg(edu::IDENT, 8), ~std::uint64_t(0));
    set_reg(edu::LIVENESS - 4, 0x1111111100000000ull, 8);
    EXPECT_EQ(reg(edu::LIVENESS), 0u);
    // No register there: ~0, writes ignored. The DMA buffer is not MMIO.
    for (std::uint32_t off : {0x0cu, 0x28u, 0x7cu, 0xa0u, 0x100u, 0x40000u, 0xffffcu}) {
        set_reg(off, 0x5a5a5a5a);
        EXPECT_EQ(reg(off), 0xffffffffu) << off;
    }
    EXPECT_EQ(reg(0x40000, 8), ~std::uint64_t(0));
    // Past BAR0: not the function's.
    EXPECT_NE(host.access(tlm::TLM_READ_COMMAND, bar0 + edu::BAR0_SIZE, &v, 4), pcie::completion::SC);
}

TEST_F(Edu, ResetReturnsRegistersToPowerOn) {
    set_master(true);
    set_reg(edu::LIVENESS, 1);
    set_reg(edu::STATUS, edu::STATUS_IRQFACT);
    set_reg(edu::FACTORIAL, 6);
    set_reg(edu::IRQ_RAISE, 0x4);
    fill_ram(0x1000, 16, 2);
    set_reg(edu::DMA_SRC, 0x1000, 8);
    set_reg(edu::DMA_DST, edu::BUFFER, 8);
    set_reg(edu::DMA_CNT, 16, 8);
    set_reg(edu::DMA_CMD, edu::CMD_RUN | edu::CMD_IRQ, 8);
    sc_start(1, SC_US);
    EXPECT_EQ(cfg_read(cfg::status, 2) & 0x8, 0x8u);
    ASSERT_EQ(intx.size(), 1u);
    // edu has no FLR: Linux's pci_parent_bus_reset() pulses Secondary Bus
    // Reset (Bridge Control bit 6) of the parent bridge.
    const std::uint32_t bctl = static_cast<std::uint32_t>(rp.config().get(cfg::bridge_control, 2));
    cfg_write(port, cfg::bridge_control, 2, bctl | 0x40);
    cfg_write(port, cfg::bridge_control, 2, bctl);
    sc_start(200, SC_MS);
    EXPECT_EQ(cfg_read(cfg::status, 2) & 0x8, 0u);
    ASSERT_EQ(intx.size(), 2u);  // the port deasserts what the reset line dropped
    EXPECT_FALSE(intx[1].level);
    EXPECT_TRUE(mem.accesses.empty());  // the pending transfer was dropped
    cfg_write(ep, cfg::bar0, 4, static_cast<std::uint32_t>(bar0));
    set_master(true);
    for (std::uint32_t r : {edu::LIVENESS, edu::FACTORIAL, edu::STATUS, edu::IRQ_STATUS}) EXPECT_EQ(reg(r), 0u) << r;
    for (std::uint32_t r : {edu::DMA_SRC, edu::DMA_DST, edu::DMA_CNT, edu::DMA_CMD}) EXPECT_EQ(reg(r, 8), 0u) << r;
    EXPECT_EQ(reg(edu::IDENT), 0x010000edu);
}

} // namespace
