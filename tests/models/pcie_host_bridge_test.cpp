// The root complex's host bridge at 00:00.0, on a root complex with a root
// port beside it, reached through ECAM as firmware and lspci reach it: its
// IDs and class, a type-0 header without BARs, capabilities or interrupt pin,
// and no memory decoding whatever software enables.
#include <gtest/gtest.h>

#include <tlm_utils/simple_target_socket.h>

#include "models/pci/config_space.h"
#include "models/pci/pci_bridge.h"
#include "models/pcie/host_bridge.h"
#include "models/pcie/root_complex.h"

#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace sc_core;
namespace cfg = pci::cfg;

// Stands in for the IOMMU (the root complex's upstream side must be bound).
struct sink : sc_module {
    tlm_utils::simple_target_socket<sink, 32, pcie::protocol_types> in{"in"};
    explicit sink(sc_module_name n) : sc_module(n) { in.register_b_transport(this, &sink::b_transport); }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time&) { pcie::complete(gp, gp.get_extension<pcie::pcie_ext>(), pcie::completion::SC); }
};

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

class HostBridge : public ::testing::Test {
protected:
    pcie::root_complex rc{"rc", pcie::root_complex_params{}};
    pcie::host_bridge hb{"host_bridge"};
    pci::pci_bridge rp{"rp", port_params(), pci::bridge_params{}};
    sink iommu{"iommu"};
    test_support::test_cpu host{"host"};
    const pcie::bdf at{0, 0, 0};

    HostBridge() {
        rc.attach(hb, 0);
        rc.attach(rp, 0);
        rc.iommu_out.bind(iommu.in);
        host.out.bind(rc.host_in);
        sc_start(SC_ZERO_TIME);
    }
    std::uint64_t ecam(const pcie::bdf& f, std::uint16_t reg) const { return rc.params().ecam_base + pcie::ecam_offset(f, reg); }
    std::uint32_t read(std::uint16_t reg, unsigned len, pcie::completion* c = nullptr) {
        std::uint32_t v = 0;
        const auto st = host.access(tlm::TLM_READ_COMMAND, ecam(at, reg), &v, len);
        if (c) *c = st;
        return len == 4 ? v : v & ((1u << (8 * len)) - 1);
    }
    pcie::completion write(std::uint16_t reg, unsigned len, std::uint32_t v) {
        return host.access(tlm::TLM_WRITE_COMMAND, ecam(at, reg), &v, len);
    }
};

TEST_F(HostBridge, AnswersAtDevice0OfBus0WithItsIdsAndClass) {
    pcie::completion c = pcie::completion::UR;
    EXPECT_EQ(read(cfg::vendor_id, 4, &c), 0x29c08086u);
    EXPECT_EQ(c, pcie::completion::SC);
    EXPECT_EQ(read(cfg::revision, 4) >> 8, 0x060000u);
    EXPECT_EQ(read(cfg::header_type, 1), 0x00u);  // type 0, single function
    // The port beside it still answers at its own position.
    std::uint32_t v = 0;
    EXPECT_EQ(host.access(tlm::TLM_READ_COMMAND, ecam({0, 1, 0}, cfg::vendor_id), &v, 4), pcie::completion::SC);
    EXPECT_EQ(v, 0x000c1b36u);
    // Function 1 of device 0 is not there.
    EXPECT_EQ(host.access(tlm::TLM_READ_COMMAND, ecam({0, 0, 1}, cfg::vendor_id), &v, 4), pcie::completion::UR);
}

TEST_F(HostBridge, HasNoBarsCapabilitiesOrInterruptPin) {
    for (unsigned i = 0; i < 6; ++i) {
        ASSERT_EQ(write(static_cast<std::uint16_t>(cfg::bar0 + 4 * i), 4, 0xffffffffu), pcie::completion::SC);
        EXPECT_EQ(read(static_cast<std::uint16_t>(cfg::bar0 + 4 * i), 4), 0u) << "BAR" << i;
    }
    EXPECT_EQ(read(cfg::status, 2) & 0x10, 0u);  // no capability list
    EXPECT_EQ(read(cfg::cap_ptr, 1), 0u);
    EXPECT_EQ(read(cfg::interrupt_pin, 1), 0u);
}

TEST_F(HostBridge, ClaimsNoMemoryWithMemorySpaceEnabled) {
    ASSERT_EQ(write(cfg::command, 2, pci::command_bits::memory_space), pcie::completion::SC);
    EXPECT_EQ(read(cfg::command, 2) & pci::command_bits::memory_space, pci::command_bits::memory_space);
    std::uint32_t v = 0;
    for (std::uint64_t a : {std::uint64_t(0), std::uint64_t(0xC0000000), std::uint64_t(0x20000000000)})
        EXPECT_EQ(host.access(tlm::TLM_READ_COMMAND, a, &v, 4), pcie::completion::UR) << std::hex << a;
}

} // namespace
