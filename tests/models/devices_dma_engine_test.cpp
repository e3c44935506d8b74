// dma_engine behind a root port, driven as its driver would: registers by MMIO
// through the root complex, copies by real DMA into a memory target that
// stands where the IOMMU would be. The engine is an SC_THREAD, so each
// transfer is given simulated time with sc_start().
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/devices/dma_engine.h"
#include "models/pcie/root_complex.h"
#include "models/pci/pci_bridge.h"
#include "models/common/payload.h"

#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace sc_core;
using cpu = iotwin::test_support::test_cpu;
namespace cfg = pci::cfg;
using dma = devices::dma_engine;

// 1 MiB of RAM at 0 with one page that answers UR (as an IOMMU fault would)
// and one that answers CA; interrupt messages are recorded, not stored.
struct memory_target : sc_module {
    static constexpr std::uint64_t size = 1 << 20;
    static constexpr std::uint64_t ur_page = 0x80000, ca_page = 0x90000;
    struct msi { std::uint64_t addr; std::uint32_t data; std::uint16_t rid; pcie::request_kind kind; };

    tlm_utils::simple_target_socket<memory_target, 32, pcie::protocol_types> in{"in"};
    std::vector<std::uint8_t> ram = std::vector<std::uint8_t>(size);
    std::vector<msi> interrupts;
    std::vector<std::uint64_t> accesses;

    explicit memory_target(sc_module_name n) : sc_module(n) { in.register_b_transport(this, &memory_target::b_transport); }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time& d) {
        auto* ext = gp.get_extension<pcie::pcie_ext>();
        const std::uint64_t a = gp.get_address();
        const unsigned len = gp.get_data_length();
        d += sc_time(80, SC_NS);
        accesses.push_back(a);
        if (ext && ext->kind == pcie::request_kind::msi) {
            std::uint32_t v = 0;
            std::memcpy(&v, gp.get_data_ptr(), std::min(len, 4u));
            interrupts.push_back({a, v, ext->requester_id, ext->kind});
            pcie::complete(gp, ext, pcie::completion::SC);
            return;
        }
        if ((a & ~0xfffull) == ur_page) { pcie::complete(gp, ext, pcie::completion::UR); return; }
        if ((a & ~0xfffull) == ca_page) { pcie::complete(gp, ext, pcie::completion::CA); return; }
        if (a + len > size) { pcie::complete(gp, ext, pcie::completion::UR); return; }
        if (gp.is_read()) std::memcpy(gp.get_data_ptr(), ram.data() + a, len);
        else std::memcpy(ram.data() + a, gp.get_data_ptr(), len);
        pcie::complete(gp, ext, pcie::completion::SC);
    }
};


constexpr std::uint64_t bar0 = 0xC0000000;

pci::function_params engine_params(std::vector<pci::bar_desc> bars = {}) {
    pci::function_params p;
    p.pcie = pci::port_type::endpoint;
    p.bars = std::move(bars);  // none: the engine adds its 64 KiB BAR0
    p.flr = true;              // Function Level Reset Capability
    return p;
}

class DmaEngine : public ::testing::Test {
protected:
    explicit DmaEngine(std::vector<pci::bar_desc> bars = {}, const devices::dma_engine_params& dp = {})
        : engine("dma0", engine_params(std::move(bars)), dp) {
        rc.attach(rp);
        rp.attach(engine);
        rc.iommu_out.bind(mem.in);
        host.out.bind(rc.host_in);
        sc_start(SC_ZERO_TIME);
        // Firmware: bus 1 below the port, BAR0 in the port's window, decoding and
        // forwarding on. The engine's own Bus Master Enable is the driver's to set.
        cfg_write(port, cfg::primary_bus, 4, 0x00010100);
        cfg_write(port, cfg::memory_base, 2, 0xc000);
        cfg_write(port, cfg::memory_limit, 2, 0xc000);
        cfg_write(port, cfg::pref_base, 2, 0xfff0);  // empty prefetchable window
        cfg_write(port, cfg::pref_limit, 2, 0x0000);
        cfg_write(port, cfg::command, 2, pci::command_bits::memory_space | pci::command_bits::bus_master);
        cfg_write(ep, cfg::bar0, 4, static_cast<std::uint32_t>(bar0));
        cfg_write(ep, cfg::bar0 + 4, 4, 0);
        cfg_write(ep, cfg::command, 2, pci::command_bits::memory_space);
    }

    pcie::root_complex rc{"rc", pcie::root_complex_params{}};
    pci::pci_bridge rp{"rp", iotwin::test_support::root_port_params(), pci::bridge_params{}};
    dma engine;
    memory_target mem{"mem"};
    cpu host{"host"};
    const pcie::bdf port{0, 1, 0}, ep{1, 0, 0};

    // Initiate FLR (Device Control bit 15) as Linux's pcie_flr() sets it.
    void initiate_flr() {
        const auto px = engine.config().find_capability(pci::cap_id::pcie);
        ASSERT_TRUE(px.has_value());
        ASSERT_TRUE(engine.config().get(*px + 4, 4) & (1u << 28));  // Device Capabilities: FLR capable
        const std::uint64_t resets = engine.reset_count();
        const std::uint16_t devctl = static_cast<std::uint16_t>(*px + 8);
        cfg_write(ep, devctl, 2, static_cast<std::uint32_t>(engine.config().get(devctl, 2)) | 0x8000);
        ASSERT_EQ(engine.reset_count(), resets + 1);
    }
    pcie::completion cfg_write(const pcie::bdf& f, std::uint16_t reg, unsigned len, std::uint32_t v) {
        return host.access(tlm::TLM_WRITE_COMMAND, rc.params().ecam_base + pcie::ecam_offset(f, reg), &v, len);
    }
    // What a driver restores after a Function Level Reset (pci_restore_state):
    // the BAR and Memory Space Enable, which the reset may have cleared.
    void restore_config() {
        cfg_write(ep, cfg::bar0, 4, static_cast<std::uint32_t>(bar0));
        cfg_write(ep, cfg::bar0 + 4, 4, 0);
        cfg_write(ep, cfg::command, 2, pci::command_bits::memory_space);
    }
    void set_master(bool on) {
        cfg_write(ep, cfg::command, 2, pci::command_bits::memory_space | (on ? pci::command_bits::bus_master : 0));
    }
    void enable_msi(std::uint32_t vector) {
        const auto cap = engine.config().find_capability(pci::cap_id::msi);
        ASSERT_TRUE(cap.has_value());
        cfg_write(ep, static_cast<std::uint16_t>(*cap + 4), 4, 0xFEE00000);
        cfg_write(ep, static_cast<std::uint16_t>(*cap + 8), 4, 0);
        cfg_write(ep, static_cast<std::uint16_t>(*cap + 12), 2, vector);
        cfg_write(ep, static_cast<std::uint16_t>(*cap + 2), 2, 1);
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
    void program(std::uint64_t src, std::uint64_t dst, std::uint32_t len, dma::direction dir) {
        EXPECT_EQ(set_reg(dma::SRC, src, 8), pcie::completion::SC);
        EXPECT_EQ(set_reg(dma::DST, dst, 8), pcie::completion::SC);
        EXPECT_EQ(set_reg(dma::LEN, len), pcie::completion::SC);
        EXPECT_EQ(set_reg(dma::DIRECTION, dir), pcie::completion::SC);
    }
    // Starts the programmed transfer and gives it time to finish.
    void run(bool irq = false) {
        set_reg(dma::CONTROL, irq ? 3 : 1);
        sc_start(10, SC_US);
    }
    void fill_ram(std::uint64_t at, std::size_t n, std::uint8_t seed) {
        for (std::size_t i = 0; i < n; ++i) mem.ram[at + i] = static_cast<std::uint8_t>(seed + i * 7);
    }
    // A scatter-gather descriptor in RAM, as a driver lays it out.
    void descriptor(std::uint64_t at, std::uint64_t src, std::uint64_t dst, std::uint32_t len, std::uint32_t flags,
                    std::uint64_t next = 0) {
        const auto put = [&](std::uint64_t off, std::uint64_t v, unsigned n) {
            for (unsigned i = 0; i < n; ++i) mem.ram[at + off + i] = static_cast<std::uint8_t>(v >> (8 * i));
        };
        put(dma::D_SRC, src, 8);
        put(dma::D_DST, dst, 8);
        put(dma::D_LEN, len, 4);
        put(dma::D_FLAGS, flags, 4);
        put(dma::D_NEXT, next, 8);
    }
    void run_chain(std::uint64_t first, bool irq = false) {
        EXPECT_EQ(set_reg(dma::DESC_ADDR, first, 8), pcie::completion::SC);
        set_reg(dma::CONTROL, dma::START | dma::SG | (irq ? std::uint32_t(dma::IRQ_ENABLE) : 0u));
        sc_start(20, SC_US);
    }
    bool touched(std::uint64_t from, std::uint64_t to) const {
        return std::any_of(mem.accesses.begin(), mem.accesses.end(), [&](std::uint64_t a) { return a >= from && a < to; });
    }
};

class DmaEngineBigBar : public DmaEngine {
protected:
    // A scenario may declare BAR0 larger than the 64 KiB register map.
    DmaEngineBigBar() : DmaEngine({{0, 0x40000, pci::bar_type::mem64, false}}) {}
};

TEST_F(DmaEngine, IdRegister) {
    pcie::completion c;
    EXPECT_EQ(reg(dma::ID, 4, &c), 0x444d4145u);
    EXPECT_EQ(c, pcie::completion::SC);
    set_reg(dma::ID, 0);  // read-only
    EXPECT_EQ(reg(dma::ID), 0x444d4145u);
    EXPECT_EQ(reg(dma::STATUS), 0u);
}

TEST_F(DmaEngine, RegistersReadBackAndUnalignedAccessesAbort) {
    program(0x1122334455667788ull, 0x99aabbccddeeff00ull, 0x100, dma::DEV_TO_MEM);
    EXPECT_EQ(reg(dma::SRC, 8), 0x1122334455667788ull);
    EXPECT_EQ(reg(dma::DST, 8), 0x99aabbccddeeff00ull);
    EXPECT_EQ(reg(dma::LEN), 0x100u);
    EXPECT_EQ(reg(dma::DIRECTION), 2u);
    EXPECT_EQ(reg(dma::SRC + 4), 0x11223344u);  // the upper half on its own
    pcie::completion c;
    EXPECT_EQ(reg(dma::SRC + 2, 4, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::CA);
    EXPECT_EQ(reg(dma::ID, 2, &c), 0xffffu);
    EXPECT_EQ(c, pcie::completion::CA);
    EXPECT_EQ(reg(0x100, 4, &c), 0xffffffffu);  // a hole in the register block
    EXPECT_EQ(c, pcie::completion::CA);
}

TEST_F(DmaEngine, BufferIsReadableAndWritableByMmio) {
    EXPECT_EQ(set_reg(dma::BUFFER + 0x10, 0x0123456789abcdefull, 8), pcie::completion::SC);
    EXPECT_EQ(reg(dma::BUFFER + 0x10, 8), 0x0123456789abcdefull);
    EXPECT_EQ(reg(dma::BUFFER + 0x14, 4), 0x01234567u);
    EXPECT_EQ(set_reg(dma::BUFFER + dma::BUFFER_SIZE - 4, 0xa5a5a5a5), pcie::completion::SC);
    EXPECT_EQ(reg(dma::BUFFER + dma::BUFFER_SIZE - 4), 0xa5a5a5a5u);
}

TEST_F(DmaEngine, MemToMemCopies) {
    set_master(true);
    fill_ram(0x1000, 0x300, 3);
    program(0x1000, 0x5000, 0x300, dma::MEM_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::NONE);
    EXPECT_EQ(reg(dma::BYTES_DONE), 0x300u);
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x1000, mem.ram.data() + 0x5000, 0x300), 0);
    EXPECT_NE(mem.ram[0x5000 + 0x2ff], 0u);
    EXPECT_EQ(mem.ram[0x5300], 0u);  // not one byte more
    EXPECT_TRUE(mem.interrupts.empty());
    // START self-clears.
    EXPECT_EQ(reg(dma::CONTROL) & 1, 0u);
}

TEST_F(DmaEngine, MemToDevFillsTheBuffer) {
    set_master(true);
    fill_ram(0x2000, 64, 9);
    program(0x2000, 0x100, 64, dma::MEM_TO_DEV);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_EQ(reg(dma::BYTES_DONE), 64u);
    for (std::uint32_t i = 0; i < 64; i += 8) {
        std::uint64_t expect;
        std::memcpy(&expect, mem.ram.data() + 0x2000 + i, 8);
        EXPECT_EQ(reg(dma::BUFFER + 0x100 + i, 8), expect) << i;
    }
}

TEST_F(DmaEngine, DevToMemDrainsTheBuffer) {
    set_master(true);
    set_reg(dma::BUFFER + 0x40, 0x0123456789abcdefull, 8);
    program(0x40, 0x3008, 8, dma::DEV_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    const std::uint8_t expect[8] = {0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01};
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x3008, expect, 8), 0);
}

TEST_F(DmaEngine, LargestTransferCopiesEveryByte) {
    set_master(true);
    fill_ram(0x10000, dma::BUFFER_SIZE, 1);
    program(0x10000, 0x20000, dma::BUFFER_SIZE, dma::MEM_TO_MEM);
    // 64 reads of 512 bytes (MRRS) and 256 writes of 128 (MPS): well over 10 us.
    set_reg(dma::CONTROL, 1);
    sc_start(1, SC_MS);
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_EQ(reg(dma::BYTES_DONE), dma::BUFFER_SIZE);
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x10000, mem.ram.data() + 0x20000, dma::BUFFER_SIZE), 0);
}

TEST_F(DmaEngine, StatusBitsAreWriteOneToClear) {
    set_master(true);
    program(0x1000, 0x2000, 16, dma::MEM_TO_MEM);
    run();
    ASSERT_EQ(reg(dma::STATUS), dma::DONE);
    set_reg(dma::STATUS, 0);  // zeros clear nothing
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    set_reg(dma::STATUS, dma::ERROR | dma::BUSY);  // only the bit written as 1, and BUSY is read-only
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    set_reg(dma::STATUS, dma::DONE);
    EXPECT_EQ(reg(dma::STATUS), 0u);
    // ERROR clears the same way.
    set_reg(dma::LEN, 0);
    run();
    ASSERT_EQ(reg(dma::STATUS), dma::ERROR);
    set_reg(dma::STATUS, dma::ERROR);
    EXPECT_EQ(reg(dma::STATUS), 0u);
}

TEST_F(DmaEngine, BusyWhileRunningAndStartIgnoredMeanwhile) {
    set_master(true);
    fill_ram(0x1000, 0x100, 5);
    fill_ram(0x4000, 0x100, 77);
    program(0x1000, 0x2000, 0x100, dma::MEM_TO_MEM);
    set_reg(dma::CONTROL, 1);
    EXPECT_EQ(reg(dma::STATUS), dma::BUSY);
    // Reprogram and START again while busy: ignored, the first transfer is unaffected
    // (its registers were latched when it began, 50 ns after START).
    sc_start(60, SC_NS);
    ASSERT_EQ(reg(dma::STATUS) & dma::BUSY, dma::BUSY);
    program(0x4000, 0x6000, 0x100, dma::MEM_TO_MEM);
    set_reg(dma::CONTROL, 1);
    sc_start(10, SC_US);
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x1000, mem.ram.data() + 0x2000, 0x100), 0);
    EXPECT_EQ(mem.ram[0x6000], 0u);  // the second START never ran
    EXPECT_EQ(mem.ram[0x60ff], 0u);
    stat_map s;
    engine.stats(s);
    EXPECT_EQ(s.at("dma0.ignored_starts"), 1u);
    EXPECT_EQ(s.at("dma0.transfers"), 1u);
}

TEST_F(DmaEngine, BusMasterDisabledIsAnError) {
    program(0x1000, 0x2000, 64, dma::MEM_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::BUS_MASTER_DISABLED);
    EXPECT_EQ(reg(dma::BYTES_DONE), 0u);
    EXPECT_TRUE(mem.accesses.empty());  // nothing left the device
}

TEST_F(DmaEngine, BadLength) {
    set_master(true);
    program(0x1000, 0x2000, 0, dma::MEM_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::BAD_LENGTH);
    set_reg(dma::STATUS, dma::ERROR);
    set_reg(dma::LEN, dma::BUFFER_SIZE + 1);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::BAD_LENGTH);
    EXPECT_TRUE(mem.accesses.empty());
}

TEST_F(DmaEngine, BadBufferRange) {
    set_master(true);
    program(0x1000, dma::BUFFER_SIZE - 8, 16, dma::MEM_TO_DEV);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::BAD_RANGE);
    set_reg(dma::STATUS, dma::ERROR);
    program(dma::BUFFER_SIZE, 0x2000, 1, dma::DEV_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::BAD_RANGE);
    // Exactly the end of the buffer is in range.
    set_reg(dma::STATUS, dma::ERROR);
    program(dma::BUFFER_SIZE - 8, 0x2000, 8, dma::DEV_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::NONE);
}

TEST_F(DmaEngine, BufferOffsetsThatWrapAroundAreBadRange) {
    // A guest picks offsets near 2^64 so that offset + length wraps: the engine
    // must refuse rather than touch memory outside its buffer.
    set_master(true);
    program(0x1000, ~std::uint64_t(0) - 0xfff, 0x2000, dma::MEM_TO_DEV);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::BAD_RANGE);
    set_reg(dma::STATUS, dma::ERROR);
    program(~std::uint64_t(0) - 0xfff, 0x2000, 0x2000, dma::DEV_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::BAD_RANGE);
    EXPECT_TRUE(mem.accesses.empty());
}

TEST_F(DmaEngine, MemoryRangesThatWrapPast2To64AreBadRange) {
    // The bus-address side too: a range running past 2^64 would continue at
    // bus address 0, an address the guest never named.
    set_master(true);
    program(~std::uint64_t(0) - 0x7, 0x2000, 0x10, dma::MEM_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::BAD_RANGE);
    set_reg(dma::STATUS, dma::ERROR);
    program(0x0, ~std::uint64_t(0) - 0x7, 0x10, dma::DEV_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::BAD_RANGE);
    EXPECT_TRUE(mem.accesses.empty());
}

TEST_F(DmaEngine, UpstreamUnsupportedRequestRecordsTheFailingAddress) {
    set_master(true);
    program(memory_target::ur_page + 0x100, 0x1000, 64, dma::MEM_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::UNSUPPORTED_REQUEST);
    EXPECT_EQ(reg(dma::ERROR_ADDR, 8), memory_target::ur_page + 0x100);
    EXPECT_EQ(reg(dma::BYTES_DONE), 0u);
}

TEST_F(DmaEngine, ABlockedPostedWriteIsNotSeenByTheEngine) {
    // Writes are posted: the UR the target answers never returns to the
    // engine, which completes as on real hardware. Only the data is missing.
    set_master(true);
    program(0x1000, memory_target::ur_page + 0x100, 64, dma::MEM_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::NONE);
    EXPECT_EQ(reg(dma::BYTES_DONE), 64u);
}

TEST_F(DmaEngine, FailureInTheMiddleOfASplitTransfer) {
    // 512 bytes read from 0x100 below the UR page: the first request (to the
    // page boundary) succeeds, the second, at the boundary, fails.
    set_master(true);
    program(memory_target::ur_page - 0x100, 0x1000, 0x200, dma::MEM_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::UNSUPPORTED_REQUEST);
    EXPECT_EQ(reg(dma::ERROR_ADDR, 8), memory_target::ur_page);
}

TEST_F(DmaEngine, CompleterAbortIsReportedAsSuch) {
    set_master(true);
    program(memory_target::ca_page, 0x1000, 16, dma::MEM_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::COMPLETER_ABORT);
    EXPECT_EQ(reg(dma::ERROR_ADDR, 8), memory_target::ca_page);
}

TEST_F(DmaEngine, RootPortWithoutBusMasterAnswersUR) {
    set_master(true);
    cfg_write(port, cfg::command, 2, pci::command_bits::memory_space);
    program(0x1000, 0x2000, 64, dma::MEM_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::UNSUPPORTED_REQUEST);
    EXPECT_EQ(reg(dma::ERROR_ADDR, 8), 0x1000u);
    EXPECT_TRUE(mem.accesses.empty());
}

TEST_F(DmaEngine, MsiOnCompletionWhenIrqEnabledAndMsiEnabled) {
    set_master(true);
    enable_msi(0x45);
    program(0x1000, 0x2000, 64, dma::MEM_TO_MEM);
    run(true);
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    ASSERT_EQ(mem.interrupts.size(), 1u);
    EXPECT_EQ(mem.interrupts[0].addr, 0xFEE00000u);
    EXPECT_EQ(mem.interrupts[0].data, 0x45u);
    EXPECT_EQ(mem.interrupts[0].rid, 0x0100u);
    EXPECT_EQ(mem.interrupts[0].kind, pcie::request_kind::msi);
    // IRQ_ENABLE stays set after START self-clears.
    EXPECT_EQ(reg(dma::CONTROL), 2u);
}

TEST_F(DmaEngine, MsiAlsoSignalsAnError) {
    set_master(true);
    enable_msi(0x46);
    program(0x1000, 0x2000, 0, dma::MEM_TO_MEM);
    run(true);
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    ASSERT_EQ(mem.interrupts.size(), 1u);
    EXPECT_EQ(mem.interrupts[0].data, 0x46u);
}

TEST_F(DmaEngine, NoMsiWithoutIrqEnable) {
    set_master(true);
    enable_msi(0x45);
    program(0x1000, 0x2000, 64, dma::MEM_TO_MEM);
    run(false);
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_TRUE(mem.interrupts.empty());
}

TEST_F(DmaEngine, NoMsiWhileMsiIsDisabled) {
    set_master(true);
    program(0x1000, 0x2000, 64, dma::MEM_TO_MEM);
    run(true);
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_TRUE(mem.interrupts.empty());
}

TEST_F(DmaEngine, StartRightAfterDoneIsNotLost) {
    // A driver that polls STATUS and restarts as soon as DONE shows must get a
    // second transfer, even while the completion interrupt is still in flight.
    set_master(true);
    enable_msi(0x45);
    fill_ram(0x1000, 64, 1);
    fill_ram(0x3000, 64, 100);
    program(0x1000, 0x2000, 64, dma::MEM_TO_MEM);
    set_reg(dma::CONTROL, 3);
    int polls = 0;
    while (!(reg(dma::STATUS) & dma::DONE) && polls++ < 100000) sc_start(1, SC_NS);
    ASSERT_EQ(reg(dma::STATUS), dma::DONE);
    set_reg(dma::STATUS, dma::DONE);
    program(0x3000, 0x4000, 64, dma::MEM_TO_MEM);
    set_reg(dma::CONTROL, 3);
    sc_start(10, SC_US);
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x3000, mem.ram.data() + 0x4000, 64), 0);
    EXPECT_EQ(mem.interrupts.size(), 2u);
}

TEST_F(DmaEngine, SecondTransferClearsThePreviousError) {
    set_master(true);
    program(0x1000, 0x2000, 0, dma::MEM_TO_MEM);
    run();
    ASSERT_EQ(reg(dma::ERROR_CODE), dma::BAD_LENGTH);
    set_reg(dma::LEN, 16);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::NONE);
    EXPECT_EQ(reg(dma::BYTES_DONE), 16u);
}

// A fixture whose engine gives up after 4 descriptors.
class DmaEngineShortChains : public DmaEngine {
protected:
    static devices::dma_engine_params short_chains() {
        devices::dma_engine_params p;
        p.max_descriptors = 4;
        return p;
    }
    DmaEngineShortChains() : DmaEngine({}, short_chains()) {}
};

TEST_F(DmaEngine, ScatterGatherRegistersAndReservedOffsets) {
    pcie::completion c;
    EXPECT_EQ(set_reg(dma::DESC_ADDR, 0x12345678abcdef3full, 8), pcie::completion::SC);
    EXPECT_EQ(reg(dma::DESC_ADDR, 8), 0x12345678abcdef20ull);  // 32-byte aligned: bits 4:0 read 0
    EXPECT_EQ(reg(dma::DESC_ADDR + 4), 0x12345678u);
    // Read-only: DESC_COUNT and DESC_CURRENT ignore writes.
    EXPECT_EQ(set_reg(dma::DESC_COUNT, 7), pcie::completion::SC);
    EXPECT_EQ(reg(dma::DESC_COUNT), 0u);
    EXPECT_EQ(set_reg(dma::DESC_CURRENT, 0x1000, 8), pcie::completion::SC);
    EXPECT_EQ(reg(dma::DESC_CURRENT, 8), 0u);
    EXPECT_EQ(set_reg(dma::BYTES_DONE, 5), pcie::completion::SC);
    EXPECT_EQ(reg(dma::BYTES_DONE), 0u);
    // 0x44 is reserved: alone or as the upper half of an 8-byte access at 0x40.
    EXPECT_EQ(reg(0x44, 4, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::CA);
    EXPECT_EQ(reg(dma::DESC_COUNT, 8, &c), ~std::uint64_t(0));
    EXPECT_EQ(c, pcie::completion::CA);
    EXPECT_EQ(set_reg(0x44, 1), pcie::completion::CA);
    // Past the last register, before the buffer.
    EXPECT_EQ(reg(0x50, 4, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::CA);
    // Wrong sizes and alignment.
    EXPECT_EQ(set_reg(dma::DESC_ADDR, 0x40, 2), pcie::completion::CA);
    EXPECT_EQ(set_reg(dma::DESC_ADDR + 4, 0x40, 8), pcie::completion::CA);
    EXPECT_EQ(reg(dma::DESC_ADDR, 8), 0x12345678abcdef20ull);
    // CONTROL takes START, IRQ_ENABLE and SG only.
    EXPECT_EQ(set_reg(dma::CONTROL, 0xfffffff6u), pcie::completion::SC);
    EXPECT_EQ(reg(dma::CONTROL), static_cast<std::uint64_t>(dma::IRQ_ENABLE | dma::SG));
}

TEST_F(DmaEngine, ScatterGatherChainRunsEveryDirection) {
    set_master(true);
    fill_ram(0x1000, 0x200, 1);
    fill_ram(0x3000, 0x100, 50);
    // 1: memory to memory; 2: memory into the buffer at 0x100; 3: the buffer back to memory.
    // The descriptors are scattered, as a driver's allocations are.
    descriptor(0x10000, 0x1000, 0x5000, 0x200, dma::MEM_TO_MEM, 0x10040);
    descriptor(0x10040, 0x3000, 0x100, 0x100, dma::MEM_TO_DEV, 0x20000);
    descriptor(0x20000, 0x100, 0x7000, 0x100, dma::DEV_TO_MEM | dma::D_LAST, 0xdead0000);
    run_chain(0x10000);
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::NONE);
    EXPECT_EQ(reg(dma::DESC_COUNT), 3u);
    EXPECT_EQ(reg(dma::DESC_CURRENT, 8), 0x20000u);
    EXPECT_EQ(reg(dma::BYTES_DONE), 0x400u);
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x1000, mem.ram.data() + 0x5000, 0x200), 0);
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x3000, mem.ram.data() + 0x7000, 0x100), 0);
    EXPECT_EQ(reg(dma::BUFFER + 0x100, 8), [&] { std::uint64_t v; std::memcpy(&v, mem.ram.data() + 0x3000, 8); return v; }());
    EXPECT_EQ(mem.ram[0x7100], 0u);
    EXPECT_FALSE(touched(0xdead0000, 0xdead0020));  // NEXT of the last descriptor is not followed
    // The descriptors were fetched by DMA, as reads of the function.
    EXPECT_TRUE(touched(0x10040, 0x10060));
    EXPECT_TRUE(mem.interrupts.empty());
}

TEST_F(DmaEngine, BlockedDescriptorFetchIsAnErrorAtTheDescriptor) {
    set_master(true);
    fill_ram(0x1000, 0x40, 9);
    descriptor(0x10000, 0x1000, 0x5000, 0x40, dma::MEM_TO_MEM, memory_target::ur_page + 0x20);
    run_chain(0x10000);
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::UNSUPPORTED_REQUEST);
    EXPECT_EQ(reg(dma::ERROR_ADDR, 8), memory_target::ur_page + 0x20);
    EXPECT_EQ(reg(dma::DESC_CURRENT, 8), memory_target::ur_page + 0x20);
    EXPECT_EQ(reg(dma::DESC_COUNT), 1u);  // the first one completed
    EXPECT_EQ(reg(dma::BYTES_DONE), 0x40u);
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x1000, mem.ram.data() + 0x5000, 0x40), 0);
}

TEST_F(DmaEngine, BlockedFirstFetchMovesNothing) {
    set_master(true);
    run_chain(memory_target::ca_page);
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::COMPLETER_ABORT);
    EXPECT_EQ(reg(dma::ERROR_ADDR, 8), memory_target::ca_page);
    EXPECT_EQ(reg(dma::DESC_COUNT), 0u);
    EXPECT_EQ(reg(dma::BYTES_DONE), 0u);
    EXPECT_EQ(mem.accesses.size(), 1u);  // the fetch alone
}

TEST_F(DmaEngine, BlockedDataReadNamesTheDataAddressAndTheDescriptor) {
    set_master(true);
    descriptor(0x10000, memory_target::ur_page + 0x100, 0x5000, 0x40, dma::MEM_TO_MEM | dma::D_LAST);
    run_chain(0x10000);
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::UNSUPPORTED_REQUEST);
    EXPECT_EQ(reg(dma::ERROR_ADDR, 8), memory_target::ur_page + 0x100);
    EXPECT_EQ(reg(dma::DESC_CURRENT, 8), 0x10000u);
    EXPECT_EQ(reg(dma::DESC_COUNT), 0u);
    EXPECT_FALSE(touched(0x5000, 0x5040));  // nothing written after a failed read
}

TEST_F(DmaEngine, MalformedDescriptorsAreRefused) {
    set_master(true);
    const std::uint32_t bad_flags[] = {0x40 | dma::D_LAST, 3u | dma::D_LAST, 0x80000000u | dma::D_LAST};
    for (std::uint32_t flags : bad_flags) {
        set_reg(dma::STATUS, dma::DONE | dma::ERROR);
        descriptor(0x10000, 0x1000, 0x5000, 0x40, flags);
        run_chain(0x10000);
        EXPECT_EQ(reg(dma::STATUS), dma::ERROR) << flags;
        EXPECT_EQ(reg(dma::ERROR_CODE), dma::BAD_DESCRIPTOR) << flags;
        EXPECT_EQ(reg(dma::ERROR_ADDR, 8), 0x10000u) << flags;
    }
    // A NEXT that is not 32-byte aligned (without LAST).
    set_reg(dma::STATUS, dma::DONE | dma::ERROR);
    descriptor(0x10000, 0x1000, 0x5000, 0x40, dma::MEM_TO_MEM, 0x10008);
    run_chain(0x10000);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::BAD_DESCRIPTOR);
    EXPECT_FALSE(touched(0x5000, 0x5040));
    // A bad length inside a descriptor is the register's error.
    set_reg(dma::STATUS, dma::DONE | dma::ERROR);
    descriptor(0x10000, 0x1000, 0x5000, 0, dma::MEM_TO_MEM | dma::D_LAST);
    run_chain(0x10000);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::BAD_LENGTH);
}

TEST_F(DmaEngineShortChains, ALoopingChainStopsAtTheLimit) {
    set_master(true);
    fill_ram(0x1000, 0x10, 4);
    descriptor(0x10000, 0x1000, 0x5000, 0x10, dma::MEM_TO_MEM, 0x10000);  // points at itself, never LAST
    run_chain(0x10000);
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::DESCRIPTOR_LIMIT);
    EXPECT_EQ(reg(dma::DESC_COUNT), 4u);
    EXPECT_EQ(reg(dma::BYTES_DONE), 0x40u);
}

TEST_F(DmaEngine, DescriptorIrqAndChainEndInterrupts) {
    set_master(true);
    enable_msi(0x51);
    descriptor(0x10000, 0x1000, 0x5000, 0x10, dma::MEM_TO_MEM | dma::D_IRQ, 0x10020);
    descriptor(0x10020, 0x1000, 0x6000, 0x10, dma::MEM_TO_MEM, 0x10040);
    descriptor(0x10040, 0x1000, 0x7000, 0x10, dma::MEM_TO_MEM | dma::D_IRQ | dma::D_LAST);
    run_chain(0x10000, true);
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    // Descriptors 1 and 3 asked; the end of the chain signals too.
    ASSERT_EQ(mem.interrupts.size(), 3u);
    EXPECT_EQ(mem.interrupts[0].data, 0x51u);
    // Without IRQ_ENABLE, neither.
    set_reg(dma::STATUS, dma::DONE);
    run_chain(0x10000, false);
    EXPECT_EQ(mem.interrupts.size(), 3u);
}

TEST_F(DmaEngine, ScatterGatherWithoutBusMaster) {
    descriptor(0x10000, 0x1000, 0x5000, 0x10, dma::MEM_TO_MEM | dma::D_LAST);
    run_chain(0x10000);
    EXPECT_EQ(reg(dma::STATUS), dma::ERROR);
    EXPECT_EQ(reg(dma::ERROR_CODE), dma::BUS_MASTER_DISABLED);
    EXPECT_TRUE(mem.accesses.empty());
}

TEST_F(DmaEngine, ResetAbortsATransferAndReturnsRegistersToReset) {
    set_master(true);
    enable_msi(0x45);
    fill_ram(0x10000, dma::BUFFER_SIZE, 5);
    set_reg(dma::BUFFER, 0x1234);
    program(0x10000, 0x40000, dma::BUFFER_SIZE, dma::MEM_TO_MEM);
    set_reg(dma::CONTROL, dma::START | dma::IRQ_ENABLE);
    sc_start(300, SC_NS);  // reading the source
    ASSERT_EQ(reg(dma::STATUS), dma::BUSY);
    ASSERT_TRUE(touched(0x10000, 0x18000));
    initiate_flr();
    restore_config();
    EXPECT_EQ(reg(dma::STATUS), 0u);
    EXPECT_EQ(reg(dma::SRC, 8), 0u);
    EXPECT_EQ(reg(dma::LEN), 0u);
    EXPECT_EQ(reg(dma::CONTROL), 0u);
    EXPECT_EQ(reg(dma::BUFFER), 0u);
    sc_start(50, SC_US);
    // The aborted transfer wrote nothing, set no status and sent no interrupt.
    EXPECT_FALSE(touched(0x40000, 0x48000));
    EXPECT_EQ(reg(dma::STATUS), 0u);
    EXPECT_EQ(reg(dma::BYTES_DONE), 0u);
    EXPECT_TRUE(mem.interrupts.empty());
    stat_map s;
    engine.stats(s);
    EXPECT_EQ(s.at("dma0.aborted_transfers"), 1u);
    EXPECT_EQ(s.at("dma0.transfers"), 0u);
    // The engine works again after the reset.
    set_master(true);
    fill_ram(0x1000, 64, 1);
    program(0x1000, 0x2000, 64, dma::MEM_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x1000, mem.ram.data() + 0x2000, 64), 0);
}

TEST_F(DmaEngine, ResetBeforeTheStartForgetsIt) {
    set_master(true);
    fill_ram(0x1000, 64, 1);
    program(0x1000, 0x2000, 64, dma::MEM_TO_MEM);
    set_reg(dma::CONTROL, dma::START);
    initiate_flr();  // within the start latency
    restore_config();
    set_master(true);  // so that a START not forgotten would show as requests
    sc_start(10, SC_US);
    EXPECT_TRUE(mem.accesses.empty());
    EXPECT_EQ(reg(dma::STATUS), 0u);
    // A START right after the reset runs (the register was reset: program again).
    program(0x1000, 0x2000, 64, dma::MEM_TO_MEM);
    run();
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
}

TEST_F(DmaEngine, StartWhileAnAbortedTransferWindsDownIsNotLost) {
    set_master(true);
    fill_ram(0x10000, dma::BUFFER_SIZE, 5);
    program(0x10000, 0x40000, dma::BUFFER_SIZE, dma::MEM_TO_MEM);
    set_reg(dma::CONTROL, dma::START);
    sc_start(300, SC_NS);
    initiate_flr();
    restore_config();
    // Straight away, before the engine's thread has seen the reset.
    set_master(true);
    fill_ram(0x1000, 64, 1);
    program(0x1000, 0x2000, 64, dma::MEM_TO_MEM);
    set_reg(dma::CONTROL, dma::START);
    sc_start(50, SC_US);
    EXPECT_EQ(reg(dma::STATUS), dma::DONE);
    EXPECT_EQ(reg(dma::BYTES_DONE), 64u);
    EXPECT_EQ(std::memcmp(mem.ram.data() + 0x1000, mem.ram.data() + 0x2000, 64), 0);
    EXPECT_FALSE(touched(0x40000, 0x48000));
}

TEST_F(DmaEngineBigBar, AccessesBeyondTheBufferAreRejected) {
    // BAR0 is 256 KiB; the register map ends with the buffer at 64 KiB.
    pcie::completion c;
    EXPECT_EQ(reg(dma::ID), 0x444d4145u);
    EXPECT_EQ(set_reg(dma::BUFFER + dma::BUFFER_SIZE, 0xdeadbeef), pcie::completion::CA);
    EXPECT_EQ(reg(dma::BUFFER + dma::BUFFER_SIZE, 4, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::CA);
    EXPECT_EQ(reg(0x3fff8, 8, &c), ~std::uint64_t(0));
    EXPECT_EQ(c, pcie::completion::CA);
    // One that starts inside the buffer and runs past its end, too.
    EXPECT_EQ(set_reg(dma::BUFFER + dma::BUFFER_SIZE - 4, 0x1111111122222222ull, 8), pcie::completion::CA);
    EXPECT_EQ(reg(dma::BUFFER + dma::BUFFER_SIZE - 4), 0u);
}

} // namespace
