// root_complex with a root port, an endpoint below it and an RCiEP on bus 0,
// programmed the way firmware does it, through ECAM. Checks configuration
// routing, the Memory Space / Bus Master Enable gating on both sides of the
// port, the requester ID on device requests, MSI marking and malformed TLPs.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/devices/dma_engine.h"
#include "models/pci/config_space.h"
#include "models/pcie/root_complex.h"
#include "models/pci/pci_bridge.h"
#include "models/common/payload.h"

#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace sc_core;
using cpu = iotwin::test_support::test_cpu;
namespace cfg = pci::cfg;

// Stands in for the IOMMU: remembers what reached it and answers every request.
struct recorder : sc_module {
    struct entry {
        std::uint64_t addr;
        tlm::tlm_command cmd;
        unsigned len;
        std::uint16_t rid;
        pcie::request_kind kind;
        bool host;
        std::vector<std::uint8_t> data;
        const sc_object* origin = nullptr;
    };
    tlm_utils::simple_target_socket<recorder, 32, pcie::protocol_types> in{"in"};
    std::vector<entry> seen;

    explicit recorder(sc_module_name n) : sc_module(n) { in.register_b_transport(this, &recorder::b_transport); }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time& d) {
        auto* ext = gp.get_extension<pcie::pcie_ext>();
        entry e{gp.get_address(), gp.get_command(), gp.get_data_length(), ext ? ext->requester_id : std::uint16_t(0xffff),
                ext ? ext->kind : pcie::request_kind::memory, ext && ext->host, {}, ext ? ext->origin : nullptr};
        if (gp.is_read()) std::memset(gp.get_data_ptr(), 0x5a, gp.get_data_length());
        else e.data.assign(gp.get_data_ptr(), gp.get_data_ptr() + gp.get_data_length());
        seen.push_back(std::move(e));
        d += sc_time(50, SC_NS);
        pcie::complete(gp, ext, pcie::completion::SC);
    }
};


constexpr std::uint64_t ep_bar0 = 0xC0000000;        // 4 KiB, 32-bit
constexpr std::uint64_t ep_bar2 = 0x20000000000;     // 1 MiB, 64-bit prefetchable
constexpr std::uint64_t rciep_bar0 = 0xC0100000;     // outside the port's window
constexpr std::uint64_t far_memory = 0x10000000;     // DMA target outside every window

pci::function_params port_params() {
    pci::function_params p;
    p.devfn = 1 << 3;  // 00:01.0
    p.vendor = 0x1b36;
    p.device = 0x000c;
    p.class_code = 0x060400;
    p.pcie = pci::port_type::root_port;
    p.msi_vectors = 0;
    return p;
}

pci::function_params endpoint_params() {
    pci::function_params p;
    p.devfn = 0;
    p.vendor = 0x1af4;
    p.device = 0x1111;
    p.pcie = pci::port_type::endpoint;
    p.bars = {{0, 0x1000, pci::bar_type::mem32, false}, {2, 0x100000, pci::bar_type::mem64, true}};
    return p;
}

pci::function_params rciep_params() {
    pci::function_params p;
    p.devfn = 2 << 3;  // 00:02.0
    p.vendor = 0x1af4;
    p.device = 0x2222;
    p.pcie = pci::port_type::rciep;
    p.bars = {{0, 0x1000, pci::bar_type::mem32, false}};
    return p;
}

class RootComplex : public ::testing::Test {
protected:
    pcie::root_complex rc{"rc", pcie::root_complex_params{}};
    pci::pci_bridge rp{"rp", port_params(), pci::bridge_params{}};
    devices::bar_ram ep{"ep", endpoint_params()};
    devices::bar_ram rciep{"rciep", rciep_params()};
    recorder iommu{"iommu"};
    cpu host{"host"};

    const pcie::bdf rp_bdf{0, 1, 0}, ep_bdf{1, 0, 0}, rciep_bdf{0, 2, 0};

    RootComplex() {
        rc.attach(rp);
        rp.attach(ep);
        rc.attach(rciep);
        rc.iommu_out.bind(iommu.in);
        host.out.bind(rc.host_in);
        // Multi-passthrough sockets resolve their bindings at elaboration.
        sc_start(SC_ZERO_TIME);
    }

    std::uint64_t ecam(const pcie::bdf& f, std::uint16_t reg) const { return rc.params().ecam_base + pcie::ecam_offset(f, reg); }
    std::uint32_t cfg_read(const pcie::bdf& f, std::uint16_t reg, unsigned len, pcie::completion* c = nullptr) {
        std::uint32_t v = 0;
        const auto st = host.access(tlm::TLM_READ_COMMAND, ecam(f, reg), &v, len);
        if (c) *c = st;
        return len == 4 ? v : v & ((1u << (8 * len)) - 1);
    }
    pcie::completion cfg_write(const pcie::bdf& f, std::uint16_t reg, unsigned len, std::uint32_t v) {
        return host.access(tlm::TLM_WRITE_COMMAND, ecam(f, reg), &v, len);
    }
    std::uint32_t mmio_read32(std::uint64_t a, pcie::completion* c = nullptr) {
        std::uint32_t v = 0;
        const auto st = host.access(tlm::TLM_READ_COMMAND, a, &v, 4);
        if (c) *c = st;
        return v;
    }
    pcie::completion mmio_write32(std::uint64_t a, std::uint32_t v) { return host.access(tlm::TLM_WRITE_COMMAND, a, &v, 4); }
    void command(const pcie::bdf& f, std::uint16_t bits) { ASSERT_EQ(cfg_write(f, cfg::command, 2, bits), pcie::completion::SC); }

    // What firmware does: bus numbers, BARs, windows; decoding left off.
    void program() {
        ASSERT_EQ(cfg_write(rp_bdf, cfg::primary_bus, 4, 0x00010100), pcie::completion::SC);  // 0 / 1 / 1
        ASSERT_EQ(cfg_write(ep_bdf, cfg::bar0, 4, static_cast<std::uint32_t>(ep_bar0)), pcie::completion::SC);
        ASSERT_EQ(cfg_write(ep_bdf, cfg::bar0 + 8, 4, static_cast<std::uint32_t>(ep_bar2)), pcie::completion::SC);
        ASSERT_EQ(cfg_write(ep_bdf, cfg::bar0 + 12, 4, static_cast<std::uint32_t>(ep_bar2 >> 32)), pcie::completion::SC);
        // Non-prefetchable window 0xC0000000..0xC00FFFFF, prefetchable 0x200_0000_0000..+1 MiB.
        cfg_write(rp_bdf, cfg::memory_base, 2, 0xc000);
        cfg_write(rp_bdf, cfg::memory_limit, 2, 0xc000);
        cfg_write(rp_bdf, cfg::pref_base, 2, 0x0000);
        cfg_write(rp_bdf, cfg::pref_limit, 2, 0x0000);
        cfg_write(rp_bdf, cfg::pref_base_upper, 4, 0x200);
        cfg_write(rp_bdf, cfg::pref_limit_upper, 4, 0x200);
        ASSERT_EQ(cfg_write(rciep_bdf, cfg::bar0, 4, static_cast<std::uint32_t>(rciep_bar0)), pcie::completion::SC);
    }

    pci::pci_function::dma_result dma(pci::pci_function& f, tlm::tlm_command cmd, std::uint64_t a, std::uint8_t* data,
                                      std::uint64_t len) {
        sc_time d = SC_ZERO_TIME;
        return f.dma(cmd, a, data, len, d);
    }
};

// ---- configuration requests ---------------------------------------------------

TEST_F(RootComplex, ConfigReadsReachTheAddressedFunction) {
    EXPECT_EQ(cfg_read(rp_bdf, cfg::vendor_id, 4), 0x000c1b36u);
    EXPECT_EQ(cfg_read(rciep_bdf, cfg::vendor_id, 4), 0x22221af4u);
    EXPECT_EQ(cfg_read(rp_bdf, cfg::header_type, 1) & 0x7f, 1u);
    EXPECT_EQ(cfg_read(rciep_bdf, cfg::header_type, 1) & 0x7f, 0u);
    // The endpoint is only reachable once the port has a secondary bus.
    pcie::completion c;
    EXPECT_EQ(cfg_read(ep_bdf, cfg::vendor_id, 4, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::UR);
    ASSERT_EQ(cfg_write(rp_bdf, cfg::primary_bus, 4, 0x00010100), pcie::completion::SC);
    EXPECT_EQ(cfg_read(ep_bdf, cfg::vendor_id, 4, &c), 0x11111af4u);
    EXPECT_EQ(c, pcie::completion::SC);
    EXPECT_EQ(host.last_response, tlm::TLM_OK_RESPONSE);
    EXPECT_GT(host.last_delay, SC_ZERO_TIME);
}

TEST_F(RootComplex, ConfigWritesReachTheAddressedFunctionOnly) {
    ASSERT_EQ(cfg_write(rp_bdf, cfg::primary_bus, 4, 0x00010100), pcie::completion::SC);
    command(ep_bdf, pci::command_bits::bus_master);
    EXPECT_TRUE(ep.config().bus_master());
    EXPECT_FALSE(rp.config().bus_master());
    EXPECT_FALSE(rciep.config().bus_master());
    command(rciep_bdf, pci::command_bits::memory_space);
    EXPECT_TRUE(rciep.config().memory_enabled());
    EXPECT_FALSE(ep.config().memory_enabled());
    EXPECT_EQ(rp.secondary_bus(), 1u);
    EXPECT_EQ(rp.subordinate_bus(), 1u);
    // Sub-DWORD config accesses hit the right bytes.
    ASSERT_EQ(cfg_write(ep_bdf, cfg::cache_line, 1, 0x10), pcie::completion::SC);
    EXPECT_EQ(cfg_read(ep_bdf, cfg::cache_line, 1), 0x10u);
    EXPECT_EQ(ep.config().get(cfg::cache_line, 1), 0x10u);
}

TEST_F(RootComplex, MissingFunctionsReadAllOnes) {
    pcie::completion c;
    EXPECT_EQ(cfg_read({0, 5, 0}, cfg::vendor_id, 4, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::UR);
    EXPECT_EQ(cfg_read({0, 1, 1}, cfg::vendor_id, 2, &c), 0xffffu);  // function 1 of the port's device
    EXPECT_EQ(c, pcie::completion::UR);
    EXPECT_EQ(cfg_read({7, 0, 0}, cfg::vendor_id, 4, &c), 0xffffffffu);  // a bus nobody routes
    EXPECT_EQ(c, pcie::completion::UR);
    // Writes to nothing are dropped without harm.
    EXPECT_EQ(cfg_write({0, 5, 0}, cfg::command, 2, 0xffff), pcie::completion::UR);
    // Master abort: the data is all ones, and the response agrees with the UR.
    EXPECT_EQ(host.last_response, tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

TEST_F(RootComplex, OnlyDeviceZeroExistsBelowARootPort) {
    program();
    pcie::completion c;
    EXPECT_EQ(cfg_read({1, 0, 0}, cfg::vendor_id, 4, &c), 0x11111af4u);
    EXPECT_EQ(c, pcie::completion::SC);
    EXPECT_EQ(cfg_read({1, 1, 0}, cfg::vendor_id, 4, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::UR);
    EXPECT_EQ(cfg_read({1, 31, 0}, cfg::vendor_id, 4, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::UR);
    EXPECT_EQ(cfg_write({1, 1, 0}, cfg::command, 2, 0x6), pcie::completion::UR);
    EXPECT_EQ(ep.config().command(), 0u);  // device 1 is not an alias of device 0
    // A bus beyond the port's subordinate bus is not below it.
    EXPECT_EQ(cfg_read({2, 0, 0}, cfg::vendor_id, 4, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::UR);
}

TEST_F(RootComplex, EndpointCapturesItsBusNumberFromConfigWrites) {
    program();
    EXPECT_EQ(ep.bdf(), ep_bdf);
    EXPECT_EQ(rciep.bdf(), rciep_bdf);
    // Renumbering the port's secondary bus moves the endpoint on its next write.
    ASSERT_EQ(cfg_write(rp_bdf, cfg::primary_bus, 4, 0x00050500), pcie::completion::SC);
    ASSERT_EQ(cfg_write({5, 0, 0}, cfg::command, 2, 0), pcie::completion::SC);
    EXPECT_EQ(ep.bdf().bus, 5u);
}

// ---- MMIO through the port ------------------------------------------------------

TEST_F(RootComplex, MmioNeedsMemorySpaceEnableOnPortAndEndpoint) {
    program();
    pcie::completion c;
    // Neither enabled.
    EXPECT_EQ(mmio_write32(ep_bar0 + 0x10, 0xcafef00d), pcie::completion::UR);
    EXPECT_EQ(mmio_read32(ep_bar0 + 0x10, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::UR);
    // The endpoint only.
    command(ep_bdf, pci::command_bits::memory_space);
    EXPECT_EQ(mmio_write32(ep_bar0 + 0x10, 0xcafef00d), pcie::completion::UR);
    EXPECT_EQ(mmio_read32(ep_bar0 + 0x10, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::UR);
    // The port only.
    command(ep_bdf, 0);
    command(rp_bdf, pci::command_bits::memory_space);
    EXPECT_EQ(mmio_write32(ep_bar0 + 0x10, 0xcafef00d), pcie::completion::UR);
    EXPECT_EQ(mmio_read32(ep_bar0 + 0x10, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::UR);
    // Both: the write lands and reads back.
    command(ep_bdf, pci::command_bits::memory_space);
    EXPECT_EQ(mmio_write32(ep_bar0 + 0x10, 0xcafef00d), pcie::completion::SC);
    EXPECT_EQ(mmio_read32(ep_bar0 + 0x10, &c), 0xcafef00du);
    EXPECT_EQ(c, pcie::completion::SC);
    // The writes made while decoding was off never reached the device.
    EXPECT_EQ(mmio_read32(ep_bar0 + 0x14), 0u);
}

TEST_F(RootComplex, Mmio64BitPrefetchableBarThroughThePrefetchableWindow) {
    program();
    command(rp_bdf, pci::command_bits::memory_space);
    command(ep_bdf, pci::command_bits::memory_space);
    EXPECT_EQ(mmio_write32(ep_bar2 + 0xff000, 0x12345678), pcie::completion::SC);
    EXPECT_EQ(mmio_read32(ep_bar2 + 0xff000), 0x12345678u);
    // BAR2 and BAR0 are separate memories.
    EXPECT_EQ(mmio_read32(ep_bar0), 0u);
    // Past the end of the BAR (and of the window): nobody decodes it.
    pcie::completion c;
    EXPECT_EQ(mmio_read32(ep_bar2 + 0x100000, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::UR);
}

TEST_F(RootComplex, MmioInsideTheWindowButOutsideAnyBarIsUR) {
    program();
    command(rp_bdf, pci::command_bits::memory_space);
    command(ep_bdf, pci::command_bits::memory_space);
    pcie::completion c;
    EXPECT_EQ(mmio_read32(ep_bar0 + 0x2000, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::UR);
}

TEST_F(RootComplex, RciepMmioNeedsOnlyItsOwnMemorySpaceEnable) {
    program();
    pcie::completion c;
    EXPECT_EQ(mmio_read32(rciep_bar0, &c), 0xffffffffu);
    EXPECT_EQ(c, pcie::completion::UR);
    command(rciep_bdf, pci::command_bits::memory_space);
    EXPECT_EQ(mmio_write32(rciep_bar0 + 4, 0xabcd), pcie::completion::SC);
    EXPECT_EQ(mmio_read32(rciep_bar0 + 4, &c), 0xabcdu);
    EXPECT_EQ(c, pcie::completion::SC);
}

TEST_F(RootComplex, MmioNeverGoesUpstream) {
    program();
    command(rp_bdf, pci::command_bits::memory_space);
    command(ep_bdf, pci::command_bits::memory_space);
    mmio_write32(ep_bar0, 1);
    mmio_read32(0xC0200000);  // decoded by nobody
    EXPECT_TRUE(iommu.seen.empty());
}

// ---- requests from devices --------------------------------------------------------

TEST_F(RootComplex, DmaIsNotIssuedWithoutTheEndpointsBusMasterEnable) {
    program();
    command(rp_bdf, pci::command_bits::memory_space | pci::command_bits::bus_master);
    std::uint8_t buf[64] = {};
    const auto r = dma(ep, tlm::TLM_WRITE_COMMAND, far_memory, buf, sizeof buf);
    EXPECT_FALSE(r.issued);
    EXPECT_TRUE(iommu.seen.empty());
    sc_time d = SC_ZERO_TIME;
    EXPECT_FALSE(ep.send_msi(0, d));
    EXPECT_TRUE(iommu.seen.empty());
}

TEST_F(RootComplex, DmaIsUnsupportedWhenThePortsBusMasterEnableIsClear) {
    program();
    command(rp_bdf, pci::command_bits::memory_space);
    command(ep_bdf, pci::command_bits::bus_master);
    std::uint8_t buf[64] = {};
    const auto r = dma(ep, tlm::TLM_READ_COMMAND, far_memory, buf, sizeof buf);
    EXPECT_TRUE(r.issued);
    EXPECT_EQ(r.status, pcie::completion::UR);
    EXPECT_EQ(r.failed_addr, far_memory);
    EXPECT_FALSE(r.iommu_fault);
    EXPECT_TRUE(iommu.seen.empty());
}

TEST_F(RootComplex, DmaReachesTheIommuWithTheCapturedRequesterId) {
    program();
    command(rp_bdf, pci::command_bits::memory_space | pci::command_bits::bus_master);
    command(ep_bdf, pci::command_bits::bus_master);
    std::uint8_t buf[16];
    for (int i = 0; i < 16; ++i) buf[i] = static_cast<std::uint8_t>(i);
    const auto w = dma(ep, tlm::TLM_WRITE_COMMAND, far_memory + 0x40, buf, sizeof buf);
    EXPECT_TRUE(w.issued);
    EXPECT_EQ(w.status, pcie::completion::SC);
    ASSERT_EQ(iommu.seen.size(), 1u);
    EXPECT_EQ(iommu.seen[0].addr, far_memory + 0x40);
    EXPECT_EQ(iommu.seen[0].cmd, tlm::TLM_WRITE_COMMAND);
    EXPECT_EQ(iommu.seen[0].rid, 0x0100u);  // 01:00.0
    EXPECT_EQ(iommu.seen[0].kind, pcie::request_kind::memory);
    EXPECT_FALSE(iommu.seen[0].host);
    EXPECT_EQ(iommu.seen[0].data, std::vector<std::uint8_t>(buf, buf + 16));
    std::uint8_t in[8] = {};
    const auto r = dma(ep, tlm::TLM_READ_COMMAND, far_memory, in, sizeof in);
    EXPECT_EQ(r.status, pcie::completion::SC);
    ASSERT_EQ(iommu.seen.size(), 2u);
    EXPECT_EQ(iommu.seen[1].cmd, tlm::TLM_READ_COMMAND);
    EXPECT_EQ(in[0], 0x5a);
    EXPECT_EQ(in[7], 0x5a);
}

TEST_F(RootComplex, RciepDmaCarriesItsBusZeroRequesterId) {
    program();
    command(rciep_bdf, pci::command_bits::bus_master);
    std::uint8_t buf[4] = {1, 2, 3, 4};
    const auto r = dma(rciep, tlm::TLM_WRITE_COMMAND, far_memory, buf, 4);
    EXPECT_EQ(r.status, pcie::completion::SC);
    ASSERT_EQ(iommu.seen.size(), 1u);
    EXPECT_EQ(iommu.seen[0].rid, (pcie::bdf{0, 2, 0}.rid()));
}

TEST_F(RootComplex, DmaIsSplitAtPageBoundariesAndMaxPayloadSize) {
    program();
    command(rp_bdf, pci::command_bits::bus_master);
    command(ep_bdf, pci::command_bits::bus_master);
    std::vector<std::uint8_t> buf(512, 0xee);
    // MPS resets to 128 bytes: a 512-byte write starting 64 bytes below a page
    // boundary is 64 + 128 + 128 + 128 + 64.
    const auto r = dma(ep, tlm::TLM_WRITE_COMMAND, far_memory + 4096 - 64, buf.data(), buf.size());
    EXPECT_EQ(r.status, pcie::completion::SC);
    ASSERT_EQ(iommu.seen.size(), 5u);
    std::uint64_t expect_addr = far_memory + 4096 - 64;
    const unsigned lens[] = {64, 128, 128, 128, 64};
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(iommu.seen[i].addr, expect_addr) << i;
        EXPECT_EQ(iommu.seen[i].len, lens[i]) << i;
        expect_addr += lens[i];
    }
}

TEST_F(RootComplex, DmaToThePortsOwnWindowIsNotForwardedUpstream) {
    program();
    command(rp_bdf, pci::command_bits::memory_space | pci::command_bits::bus_master);
    command(ep_bdf, pci::command_bits::bus_master);
    std::uint8_t buf[4] = {};
    const auto r = dma(ep, tlm::TLM_READ_COMMAND, ep_bar0 + 0x100, buf, 4);
    EXPECT_EQ(r.status, pcie::completion::UR);
    EXPECT_TRUE(iommu.seen.empty());
}

TEST_F(RootComplex, WritesToTheInterruptWindowAreMarkedMsi) {
    program();
    command(rp_bdf, pci::command_bits::bus_master);
    command(ep_bdf, pci::command_bits::bus_master);
    std::uint8_t vec[4] = {0x41, 0, 0, 0};
    EXPECT_EQ(dma(ep, tlm::TLM_WRITE_COMMAND, 0xFEE00000, vec, 4).status, pcie::completion::SC);
    // A read of the same window is no interrupt; neither is a write elsewhere.
    std::uint8_t in[4];
    dma(ep, tlm::TLM_READ_COMMAND, 0xFEE00000, in, 4);
    dma(ep, tlm::TLM_WRITE_COMMAND, 0xFED00000, vec, 4);
    ASSERT_EQ(iommu.seen.size(), 3u);
    EXPECT_EQ(iommu.seen[0].kind, pcie::request_kind::msi);
    EXPECT_EQ(iommu.seen[0].addr, 0xFEE00000u);
    EXPECT_EQ(iommu.seen[0].rid, 0x0100u);
    EXPECT_EQ(iommu.seen[1].kind, pcie::request_kind::memory);
    EXPECT_EQ(iommu.seen[2].kind, pcie::request_kind::memory);
}

TEST_F(RootComplex, SendMsiUsesTheProgrammedCapability) {
    program();
    command(rp_bdf, pci::command_bits::bus_master);
    command(ep_bdf, pci::command_bits::bus_master);
    const auto cap = ep.config().find_capability(pci::cap_id::msi);
    ASSERT_TRUE(cap.has_value());
    sc_time d = SC_ZERO_TIME;
    EXPECT_FALSE(ep.send_msi(0, d));  // MSI not enabled yet
    EXPECT_TRUE(iommu.seen.empty());
    // Address, data, then enable: the order a driver uses.
    cfg_write(ep_bdf, static_cast<std::uint16_t>(*cap + 4), 4, 0xFEE00000);
    cfg_write(ep_bdf, static_cast<std::uint16_t>(*cap + 8), 4, 0);
    cfg_write(ep_bdf, static_cast<std::uint16_t>(*cap + 12), 2, 0x0033);
    cfg_write(ep_bdf, static_cast<std::uint16_t>(*cap + 2), 2, 0x0001);
    EXPECT_TRUE(ep.send_msi(0, d));
    EXPECT_FALSE(ep.send_msi(1, d));  // only one message enabled
    ASSERT_EQ(iommu.seen.size(), 1u);
    EXPECT_EQ(iommu.seen[0].kind, pcie::request_kind::msi);
    EXPECT_EQ(iommu.seen[0].len, 4u);
    EXPECT_EQ(iommu.seen[0].data[0], 0x33);
}

// A TLP the device builds itself, bypassing pci_function::dma's splitting.
pcie::completion raw_request(pci::pci_function& f, tlm::tlm_command cmd, std::uint64_t a, unsigned len) {
    std::vector<std::uint8_t> data(len);
    pcie::pcie_ext ext;
    ext.requester_id = f.bdf().rid();
    tlm::tlm_generic_payload gp;
    prepare(gp, cmd, a, data.data(), len);
    gp.set_extension(&ext);
    sc_time d = SC_ZERO_TIME;
    f.pcie_out->b_transport(gp, d);
    gp.clear_extension(&ext);
    return ext.status;
}

TEST_F(RootComplex, RequestsCrossingA4KiBBoundaryAreUnsupported) {
    program();
    command(rp_bdf, pci::command_bits::bus_master);
    command(ep_bdf, pci::command_bits::bus_master);
    EXPECT_EQ(raw_request(ep, tlm::TLM_WRITE_COMMAND, far_memory + 4096 - 8, 16), pcie::completion::UR);
    EXPECT_EQ(raw_request(ep, tlm::TLM_READ_COMMAND, far_memory + 4095, 2), pcie::completion::UR);
    EXPECT_TRUE(iommu.seen.empty());
    // Ending exactly at the boundary is fine.
    EXPECT_EQ(raw_request(ep, tlm::TLM_WRITE_COMMAND, far_memory + 4096 - 16, 16), pcie::completion::SC);
    EXPECT_EQ(iommu.seen.size(), 1u);
    // The same from the root bus.
    command(rciep_bdf, pci::command_bits::bus_master);
    EXPECT_EQ(raw_request(rciep, tlm::TLM_READ_COMMAND, far_memory + 4096 - 4, 8), pcie::completion::UR);
    EXPECT_EQ(iommu.seen.size(), 1u);
}

TEST_F(RootComplex, ConfigRequestsFromDevicesAreUnsupported) {
    program();
    command(rciep_bdf, pci::command_bits::bus_master);
    std::uint32_t v = 0;
    pcie::pcie_ext ext;
    ext.kind = pcie::request_kind::config;
    ext.requester_id = rciep.bdf().rid();
    tlm::tlm_generic_payload gp;
    gp.set_command(tlm::TLM_READ_COMMAND);
    gp.set_address(pcie::ecam_offset(rp_bdf, 0));
    gp.set_data_ptr(reinterpret_cast<unsigned char*>(&v));
    gp.set_data_length(4);
    gp.set_streaming_width(4);
    gp.set_extension(&ext);
    sc_time d = SC_ZERO_TIME;
    rciep.pcie_out->b_transport(gp, d);
    gp.clear_extension(&ext);
    EXPECT_EQ(ext.status, pcie::completion::UR);
    EXPECT_TRUE(iommu.seen.empty());
}

// ---- physical origin and forged requester IDs ------------------------------------

TEST_F(RootComplex, DmaCarriesItsPhysicalOriginEvenWithAForgedRequesterId) {
    program();
    command(rp_bdf, pci::command_bits::bus_master);
    command(ep_bdf, pci::command_bits::bus_master);
    std::uint8_t buf[4] = {};
    ASSERT_EQ(dma(ep, tlm::TLM_WRITE_COMMAND, far_memory, buf, 4).status, pcie::completion::SC);
    ep.forge_requester_id(0x0210);  // a malicious device puts any ID in its TLPs
    ASSERT_EQ(dma(ep, tlm::TLM_READ_COMMAND, far_memory, buf, 4).status, pcie::completion::SC);
    ep.forge_requester_id(std::nullopt);
    command(rciep_bdf, pci::command_bits::bus_master);
    ASSERT_EQ(dma(rciep, tlm::TLM_READ_COMMAND, far_memory, buf, 4).status, pcie::completion::SC);
    ASSERT_EQ(iommu.seen.size(), 3u);
    EXPECT_EQ(iommu.seen[0].rid, ep_bdf.rid());
    EXPECT_EQ(iommu.seen[0].origin, &ep);
    EXPECT_EQ(iommu.seen[1].rid, 0x0210u);  // the forged ID travels (no ACS Source Validation on the port)
    EXPECT_EQ(iommu.seen[1].origin, &ep);   // the physical origin does not change
    EXPECT_EQ(iommu.seen[2].origin, &rciep);
}

// ---- inbound: a device's request that comes back from the interconnect --------------

// What the interconnect hands the root complex after the IOMMU: a device's
// (translated) request, with the device's extension.
struct inbound_result {
    pcie::pcie_ext ext;
    tlm::tlm_response_status response;
};

class RootComplexInbound : public RootComplex {
protected:
    inbound_result inbound(tlm::tlm_command cmd, std::uint64_t a, void* data, unsigned len, std::uint16_t rid = 0x0100) {
        inbound_result r;
        r.ext.requester_id = rid;
        r.ext.origin = &ep;
        tlm::tlm_generic_payload gp;
        prepare(gp, cmd, a, data, len);
        gp.set_extension(&r.ext);
        sc_time d = SC_ZERO_TIME;
        host.out->b_transport(gp, d);
        gp.clear_extension(&r.ext);
        r.response = gp.get_response_status();
        return r;
    }
    std::uint64_t stat(const std::string& name) {
        stat_map m;
        rc.stats(m);
        return m.at("rc." + name);
    }
};

TEST_F(RootComplexInbound, DeviceWriteToEcamIsUnsupportedAndChangesNothing) {
    program();
    command(rciep_bdf, pci::command_bits::memory_space | pci::command_bits::bus_master);
    const std::uint64_t config_before = stat("config_requests");
    std::uint16_t zero = 0;
    const auto r = inbound(tlm::TLM_WRITE_COMMAND, ecam(rciep_bdf, cfg::command), &zero, 2);
    EXPECT_EQ(r.ext.status, pcie::completion::UR);
    EXPECT_EQ(r.response, tlm::TLM_ADDRESS_ERROR_RESPONSE);  // no master abort for a device
    EXPECT_FALSE(r.ext.host);                                 // still a device's request
    EXPECT_EQ(r.ext.kind, pcie::request_kind::memory);        // never became a configuration request
    EXPECT_EQ(rciep.config().command(), pci::command_bits::memory_space | pci::command_bits::bus_master);
    EXPECT_EQ(stat("inbound_unsupported"), 1u);
    EXPECT_EQ(stat("config_requests"), config_before);  // no configuration request was made
}

TEST_F(RootComplexInbound, DeviceReadOfNothingStaysUnsupported) {
    program();
    std::uint32_t v = 0x12345678;
    const auto r = inbound(tlm::TLM_READ_COMMAND, 0xC0200000, &v, 4);  // decoded by nobody
    EXPECT_EQ(r.ext.status, pcie::completion::UR);
    EXPECT_EQ(r.response, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(v, 0x12345678u);  // no all-ones master-abort data
    EXPECT_FALSE(r.ext.host);
}

TEST_F(RootComplexInbound, PeerToPeerThroughTheRootComplexStaysDeviceTraffic) {
    program();
    command(rciep_bdf, pci::command_bits::memory_space);
    std::vector<bool> seen_host;
    rciep.set_bar_observer([&](const pci::pci_function&, const tlm::tlm_generic_payload& gp) {
        const auto* x = gp.get_extension<pcie::pcie_ext>();
        seen_host.push_back(x && x->host);
    });
    std::uint32_t v = 0xfeedc0de;
    const auto r = inbound(tlm::TLM_WRITE_COMMAND, rciep_bar0 + 8, &v, 4);
    EXPECT_EQ(r.ext.status, pcie::completion::SC);
    EXPECT_FALSE(r.ext.host);
    ASSERT_EQ(seen_host.size(), 1u);
    EXPECT_FALSE(seen_host[0]);  // the BAR's observer (the checkers) sees a device's request
    EXPECT_EQ(stat("inbound_peer_to_peer"), 1u);
    EXPECT_EQ(mmio_read32(rciep_bar0 + 8), 0xfeedc0deu);
    // A request running past the end of the BAR is not claimed.
    std::uint64_t q = 0;
    EXPECT_EQ(inbound(tlm::TLM_READ_COMMAND, rciep_bar0 + 0x1000 - 4, &q, 8).ext.status, pcie::completion::UR);
}

// A root complex that does not route peer-to-peer: the same request is UR.
TEST(RootComplexWithoutPeerToPeer, DeviceRequestToABarIsUnsupported) {
    pcie::root_complex_params p;
    p.peer_to_peer = false;
    pcie::root_complex rc{"rc", p};
    devices::bar_ram rciep{"rciep", rciep_params()};
    recorder iommu{"iommu"};
    cpu host{"host"};
    rc.attach(rciep);
    rc.iommu_out.bind(iommu.in);
    host.out.bind(rc.host_in);
    sc_start(SC_ZERO_TIME);
    const pcie::bdf f{0, 2, 0};
    std::uint32_t bar = static_cast<std::uint32_t>(rciep_bar0), cmd = pci::command_bits::memory_space;
    ASSERT_EQ(host.access(tlm::TLM_WRITE_COMMAND, p.ecam_base + pcie::ecam_offset(f, cfg::bar0), &bar, 4), pcie::completion::SC);
    ASSERT_EQ(host.access(tlm::TLM_WRITE_COMMAND, p.ecam_base + pcie::ecam_offset(f, cfg::command), &cmd, 2), pcie::completion::SC);
    std::vector<bool> seen;
    rciep.set_bar_observer([&](const pci::pci_function&, const tlm::tlm_generic_payload&) { seen.push_back(true); });
    std::uint32_t v = 0xdeadbeef;
    pcie::pcie_ext ext;
    ext.requester_id = 0x0100;
    tlm::tlm_generic_payload gp;
    prepare(gp, tlm::TLM_WRITE_COMMAND, rciep_bar0, &v, 4);
    gp.set_extension(&ext);
    sc_time d = SC_ZERO_TIME;
    host.out->b_transport(gp, d);
    gp.clear_extension(&ext);
    EXPECT_EQ(ext.status, pcie::completion::UR);
    EXPECT_TRUE(seen.empty());
    // The CPU still reaches the BAR, and what the device wrote is not there.
    std::uint32_t r = 1;
    EXPECT_EQ(host.access(tlm::TLM_READ_COMMAND, rciep_bar0, &r, 4), pcie::completion::SC);
    EXPECT_EQ(r, 0u);
    EXPECT_EQ(seen.size(), 1u);
}

} // namespace
