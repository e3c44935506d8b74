// Port I/O routing: the CPU's IN/OUT enter the root complex's I/O space,
// which routes a port to the root-bus function whose I/O BAR or bridge I/O
// window claims it; a bridge forwards a port inside its I/O Base/Limit
// window while its I/O Space Enable is set. An unclaimed port is a master
// abort: UR, and a read returns all ones. The fabric:
//
//   00:01.0 rp (root port) -- 01:00.0 dev (I/O BAR0, 32 ports)
//   00:02.0 rc_dev (RCiEP, I/O BAR0, 32 ports)
//
// The devices here decode their I/O BAR with a small register file of their
// own: the function-level I/O decode of device models is pci_function's.
#include <gtest/gtest.h>

#include <cstring>

#include "models/hyp/hypervisor.h"
#include "models/pci/pci_bridge.h"
#include "models/pcie/root_complex.h"
#include "platform/enumerator.h"

#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace sc_core;
using cpu = iotwin::test_support::test_cpu;
namespace cfg = pci::cfg;
namespace cb = pci::command_bits;

constexpr std::uint32_t io_size = 32;

// A function with one I/O BAR of 32 ports backed by bytes.
struct io_device : pci::pci_function {
    std::uint8_t ports[io_size] = {};
    unsigned accesses = 0;

    io_device(sc_module_name n, const pci::function_params& p) : pci_function(n, p) {
        // BAR0 as an I/O BAR (PCI 3.0 6.2.5.1): bit 0 set, bits 31:2 the base.
        cfg_.define({"BAR0_IO", cfg::bar0, 4, 0x1, ~std::uint64_t(io_size - 1) & 0xfffffffcu});
        cfg_.set_wmask(cfg::command, 2, cb::io_space | cb::memory_space | cb::bus_master | cb::interrupt_disable);
    }

protected:
    void downstream(tlm::tlm_generic_payload& gp, sc_time& delay) override {
        auto* ext = gp.get_extension<pcie::pcie_ext>();
        if (!ext || ext->kind != pcie::request_kind::io) return pci_function::downstream(gp, delay);
        const auto port = static_cast<std::uint32_t>(gp.get_address());
        const std::uint32_t base = static_cast<std::uint32_t>(cfg_.get(cfg::bar0, 4) & 0xfffc);
        if (!claims_io(port) || port - base + gp.get_data_length() > io_size) {
            pcie::complete(gp, ext, pcie::completion::UR);
            return;
        }
        ++accesses;
        std::uint8_t* at = ports + (port - base);
        if (gp.is_write()) std::memcpy(at, gp.get_data_ptr(), gp.get_data_length());
        else std::memcpy(gp.get_data_ptr(), at, gp.get_data_length());
        pcie::complete(gp, ext, pcie::completion::SC);
    }
};

// Stands in for the IOMMU: devices issue nothing here.
struct no_iommu : sc_module {
    tlm_utils::simple_target_socket<no_iommu, 32, pcie::protocol_types> in{"in"};
    explicit no_iommu(sc_module_name n) : sc_module(n) { in.register_b_transport(this, &no_iommu::b_transport); }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time&) {
        pcie::complete(gp, gp.get_extension<pcie::pcie_ext>(), pcie::completion::UR);
    }
};

pci::function_params params(std::uint8_t devfn, pci::port_type t) {
    pci::function_params p;
    p.devfn = devfn;
    p.pcie = t;
    p.msi_vectors = 0;
    if (t == pci::port_type::root_port) p.class_code = 0x060400;
    else p.bars = {{0, io_size, pci::bar_type::io, false}};
    return p;
}

class PortIo : public ::testing::Test {
protected:
    pcie::root_complex rc{"rc", pcie::root_complex_params{}};
    pci::pci_bridge rp{"rp", params(1 << 3, pci::port_type::root_port), pci::bridge_params{}};
    io_device dev{"dev", params(0, pci::port_type::endpoint)};
    io_device rc_dev{"rc_dev", params(2 << 3, pci::port_type::rciep)};
    no_iommu iommu{"iommu"};
    cpu host{"host"}, io{"io"};
    const pcie::bdf rp_bdf{0, 1, 0}, dev_bdf{1, 0, 0}, rc_dev_bdf{0, 2, 0};

    PortIo() {
        rc.attach(rp);
        rp.attach(dev);
        rc.attach(rc_dev);
        host.out.bind(rc.host_in);
        io.out.bind(rc.io_in);
        rc.iommu_out.bind(iommu.in);
        sc_start(SC_ZERO_TIME);
        cfg_write(rp_bdf, cfg::primary_bus, 4, 0 | 1 << 8 | 1 << 16);
        // The root port's I/O window: 0x1000..0x1fff; the devices' BARs.
        cfg_write(rp_bdf, cfg::io_base, 1, 0x10);
        cfg_write(rp_bdf, cfg::io_limit, 1, 0x10);
        cfg_write(rp_bdf, cfg::command, 2, cb::io_space);
        cfg_write(dev_bdf, cfg::bar0, 4, 0x1000);
        cfg_write(dev_bdf, cfg::command, 2, cb::io_space);
        cfg_write(rc_dev_bdf, cfg::bar0, 4, 0x2000);
        cfg_write(rc_dev_bdf, cfg::command, 2, cb::io_space);
    }

    std::uint64_t ecam(const pcie::bdf& f, std::uint32_t reg) const {
        return rc.params().ecam_base + pcie::ecam_offset(f, static_cast<std::uint16_t>(reg));
    }
    void cfg_write(const pcie::bdf& f, std::uint32_t reg, unsigned len, std::uint32_t v) {
        ASSERT_EQ(host.access(tlm::TLM_WRITE_COMMAND, ecam(f, reg), &v, len), pcie::completion::SC);
    }
    std::uint32_t cfg_read(const pcie::bdf& f, std::uint32_t reg, unsigned len) {
        std::uint32_t v = 0;
        host.access(tlm::TLM_READ_COMMAND, ecam(f, reg), &v, len);
        return len == 4 ? v : v & ((1u << (8 * len)) - 1);
    }
    pcie::completion in(std::uint32_t port, unsigned len, std::uint32_t& v) {
        v = 0;
        return io.access(tlm::TLM_READ_COMMAND, port, &v, len);
    }
    pcie::completion out(std::uint32_t port, unsigned len, std::uint32_t v) { return io.access(tlm::TLM_WRITE_COMMAND, port, &v, len); }
    std::uint64_t stat(const std::string& key) {
        stat_map s;
        rc.stats(s);
        rp.stats(s);
        return s.at(key);
    }
};

TEST_F(PortIo, InAndOutReachTheBarBehindTheRootPort) {
    EXPECT_EQ(out(0x1004, 4, 0xdeadbeef), pcie::completion::SC);
    EXPECT_EQ(dev.ports[4], 0xef);
    std::uint32_t v;
    EXPECT_EQ(in(0x1006, 2, v), pcie::completion::SC);
    EXPECT_EQ(v, 0xdeadu);
    EXPECT_EQ(in(0x1007, 1, v), pcie::completion::SC);
    EXPECT_EQ(v, 0xdeu);
    EXPECT_EQ(stat("rp.io_forwarded"), 3u);
    EXPECT_EQ(stat("rc.io_requests"), 3u);
}

TEST_F(PortIo, RootBusFunctionDecodesItsOwnBar) {
    EXPECT_EQ(out(0x2000, 1, 0x5a), pcie::completion::SC);
    EXPECT_EQ(rc_dev.ports[0], 0x5a);
    EXPECT_EQ(dev.accesses, 0u);
}

TEST_F(PortIo, UnclaimedPortInsideTheWindowIsMasterAbort) {
    std::uint32_t v;
    EXPECT_EQ(in(0x1100, 4, v), pcie::completion::UR);
    EXPECT_EQ(v, 0xffffffffu);
    EXPECT_EQ(stat("rp.unsupported_requests"), 1u);
    EXPECT_EQ(out(0x1100, 4, 1), pcie::completion::UR);
}

TEST_F(PortIo, PortNobodyDecodesReadsAllOnes) {
    std::uint32_t v;
    EXPECT_EQ(in(0x3000, 2, v), pcie::completion::UR);
    EXPECT_EQ(v, 0xffffu);
    EXPECT_EQ(in(0x0cf8, 4, v), pcie::completion::UR);  // legacy ports are not the fabric's
    EXPECT_EQ(dev.accesses + rc_dev.accesses, 0u);
}

TEST_F(PortIo, BridgeIoSpaceEnableGatesForwarding) {
    cfg_write(rp_bdf, cfg::command, 2, 0);
    std::uint32_t v;
    EXPECT_EQ(in(0x1000, 4, v), pcie::completion::UR);
    EXPECT_EQ(v, 0xffffffffu);
    cfg_write(rp_bdf, cfg::command, 2, cb::io_space);
    EXPECT_EQ(in(0x1000, 4, v), pcie::completion::SC);
}

TEST_F(PortIo, DeviceIoSpaceEnableGatesItsBar) {
    cfg_write(dev_bdf, cfg::command, 2, 0);
    std::uint32_t v;
    EXPECT_EQ(in(0x1000, 4, v), pcie::completion::UR);
    EXPECT_EQ(dev.accesses, 0u);
}

TEST_F(PortIo, MovingTheWindowMovesTheDecode) {
    cfg_write(rp_bdf, cfg::io_base, 1, 0x40);
    cfg_write(rp_bdf, cfg::io_limit, 1, 0x40);  // 0x4000..0x4fff: the BAR at 0x1000 is outside
    std::uint32_t v;
    EXPECT_EQ(in(0x1000, 4, v), pcie::completion::UR);
    cfg_write(dev_bdf, cfg::bar0, 4, 0x4020);
    EXPECT_EQ(in(0x4020, 4, v), pcie::completion::SC);
}

TEST_F(PortIo, WindowRegistersDecodeSixteenBits) {
    cfg_write(rp_bdf, cfg::io_base, 1, 0xff);
    EXPECT_EQ(cfg_read(rp_bdf, cfg::io_base, 1), 0xf0u);  // bits 3:0: 16-bit decode, read-only
    cfg_write(rp_bdf, cfg::io_base_upper, 2, 0xffff);
    cfg_write(rp_bdf, cfg::io_limit_upper, 2, 0xffff);
    EXPECT_EQ(cfg_read(rp_bdf, cfg::io_base_upper, 2), 0u);
    EXPECT_EQ(cfg_read(rp_bdf, cfg::io_limit_upper, 2), 0u);
    // Base above limit: the window is closed.
    std::uint32_t v;
    EXPECT_EQ(in(0x1000, 4, v), pcie::completion::UR);
}

TEST_F(PortIo, BadLengthsAndPortsPastTheSpaceAreMasterAborts) {
    std::uint32_t v;
    EXPECT_EQ(in(0x1000, 3, v), pcie::completion::UR);
    EXPECT_EQ(in(0xffff, 2, v), pcie::completion::UR);
    EXPECT_EQ(in(0x10000, 1, v), pcie::completion::UR);
    std::uint64_t wide = 0;
    EXPECT_EQ(io.access(tlm::TLM_WRITE_COMMAND, 0x1000, &wide, 8), pcie::completion::UR);
    EXPECT_EQ(dev.accesses, 0u);
}

TEST_F(PortIo, AnIoWriteWaitsForItsCompletion) {
    ASSERT_EQ(out(0x1000, 4, 1), pcie::completion::SC);
    // Non-posted (PCIe 5.0 2.4.1): the root complex twice, the port twice.
    EXPECT_GE(io.last_delay, sc_time(2 * 20 + 2 * 40, SC_NS));
}

// Enumeration places the I/O BAR behind the root port in the I/O space from
// port 0x1000, opens the port's I/O window around it, sets I/O Space Enable
// on both, and the CPU's IN/OUT through the hypervisor then reach it.
TEST(PortIoEnumeration, FirmwareAssignsIoBarsAndWindows) {
    pcie::root_complex rc{"rc", pcie::root_complex_params{}};
    pci::pci_bridge rp{"rp", params(1 << 3, pci::port_type::root_port), pci::bridge_params{}};
    io_device dev{"dev", params(0, pci::port_type::endpoint)};
    pci::pci_bridge empty{"empty", params(3 << 3, pci::port_type::root_port), pci::bridge_params{}};
    no_iommu iommu{"iommu"};
    hyp::hypervisor h{"h", hyp::hypervisor_params{}};
    rc.attach(rp);
    rp.attach(dev);
    rc.attach(empty);
    rc.iommu_out.bind(iommu.in);
    h.cpu.bind(rc.host_in);
    h.io.bind(rc.io_in);
    sc_start(SC_ZERO_TIME);
    sc_time d = SC_ZERO_TIME;
    const auto found = platform::enumerator(h).run(d);
    const platform::enumerated_function* e = nullptr;
    const platform::enumerated_function* port = nullptr;
    for (const auto& f : found) {
        if (f.bdf == pcie::bdf{1, 0, 0}) e = &f;
        if (f.bdf == pcie::bdf{0, 1, 0}) port = &f;
    }
    ASSERT_NE(e, nullptr);
    ASSERT_NE(port, nullptr);
    ASSERT_EQ(e->bars.size(), 1u);
    EXPECT_TRUE(e->bars[0].io);
    EXPECT_EQ(e->bars[0].size, io_size);
    EXPECT_EQ(e->bars[0].base, 0x1000u);
    EXPECT_EQ(port->io_base, 0x1000u);
    EXPECT_EQ(port->io_size, 0x1000u);
    EXPECT_EQ(rp.config().get(cfg::io_base, 1), 0x10u);
    EXPECT_EQ(rp.config().get(cfg::io_limit, 1), 0x10u);
    EXPECT_TRUE(rp.config().command() & cb::io_space);
    EXPECT_TRUE(dev.config().command() & cb::io_space);
    // A port without I/O below keeps its window registers and I/O Space Enable clear.
    EXPECT_FALSE(empty.config().command() & cb::io_space);
    std::uint8_t b = 0x42;
    EXPECT_EQ(h.io_access(tlm::TLM_WRITE_COMMAND, 0x1003, &b, 1, d), pcie::completion::SC);
    EXPECT_EQ(dev.ports[3], 0x42);
    std::uint32_t v = 0;
    EXPECT_EQ(h.io_access(tlm::TLM_READ_COMMAND, 0x1020, reinterpret_cast<std::uint8_t*>(&v), 4, d), pcie::completion::UR);
    EXPECT_EQ(v, 0xffffffffu);
}

} // namespace
