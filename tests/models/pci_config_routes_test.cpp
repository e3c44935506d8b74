// Configuration routing below a root port that holds a PF with SR-IOV and its
// virtual functions (First VF Offset 1, VF Stride 2), through ECAM on a root
// complex: a VF answers at PF + offset + n x stride exactly while VF Enable is
// set and n < NumVFs, the routing IDs between VFs do not answer, the last of
// 300 VFs answers as the first does, and Type 1 requests still reach the
// bus behind the port.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <tlm_utils/simple_target_socket.h>

#include "models/pci/config_space.h"
#include "models/pci/pci_bridge.h"
#include "models/pci/virtual_function.h"
#include "models/pcie/root_complex.h"

#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace sc_core;
namespace cfg = pci::cfg;
namespace sriov_reg = pci::sriov_reg;

struct sink : sc_module {
    tlm_utils::simple_target_socket<sink, 32, pcie::protocol_types> in{"in"};
    explicit sink(sc_module_name n) : sc_module(n) { in.register_b_transport(this, &sink::b_transport); }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time&) { pcie::complete(gp, gp.get_extension<pcie::pcie_ext>(), pcie::completion::SC); }
};

constexpr unsigned total_vfs = 300;

pci::function_params port_params() {
    pci::function_params p;
    p.devfn = 1 << 3;  // 00:01.0
    p.class_code = 0x060400;
    p.pcie = pci::port_type::root_port;
    p.msi_vectors = 0;
    return p;
}

pci::function_params pf_params() {
    pci::function_params p;
    p.devfn = 0;
    p.vendor = 0x8086;
    p.device = 0x1592;
    p.pcie = pci::port_type::endpoint;
    p.sriov = pci::function_params::sriov_regs{total_vfs, 1, 2, 0x1889};
    return p;
}

class ConfigRoutes : public ::testing::Test {
protected:
    pcie::root_complex rc{"rc", pcie::root_complex_params{}};
    pci::pci_bridge rp{"rp", port_params(), pci::bridge_params{}};
    pci::pci_function pf{"pf", pf_params()};
    std::vector<std::unique_ptr<pci::virtual_function>> vfs;
    sink iommu{"iommu"};
    test_support::test_cpu host{"host"};
    unsigned sriov = 0;

    ConfigRoutes() {
        rc.attach(rp, 0);
        rp.attach(pf);
        for (unsigned n = 0; n < total_vfs; ++n) {
            vfs.push_back(std::make_unique<pci::virtual_function>(("vf" + std::to_string(n)).c_str(), pf_params(), pf, n));
            rp.attach(*vfs.back());
        }
        rc.iommu_out.bind(iommu.in);
        host.out.bind(rc.host_in);
        sc_start(SC_ZERO_TIME);
        sriov = *pf.config().find_ext_capability(pci::ext_cap_id::sriov);
        // Firmware: bus 1 behind the port (and the VFs' buses); the PF captures bus 1.
        EXPECT_EQ(write({0, 1, 0}, cfg::primary_bus, 4, 0x00030100u), pcie::completion::SC);
        EXPECT_EQ(write({1, 0, 0}, cfg::command, 2, 0), pcie::completion::SC);
    }
    std::uint64_t ecam(const pcie::bdf& f, std::uint16_t reg) const { return rc.params().ecam_base + pcie::ecam_offset(f, reg); }
    pcie::completion read(const pcie::bdf& f, std::uint16_t reg, std::uint32_t& v) {
        v = 0;
        return host.access(tlm::TLM_READ_COMMAND, ecam(f, reg), &v, 4);
    }
    pcie::completion write(const pcie::bdf& f, std::uint16_t reg, unsigned len, std::uint32_t v) {
        return host.access(tlm::TLM_WRITE_COMMAND, ecam(f, reg), &v, len);
    }
    bool answers(std::uint16_t rid) {
        std::uint32_t v;
        return read(pcie::bdf::from_rid(rid), cfg::vendor_id, v) == pcie::completion::SC;
    }
    void enable(unsigned num) {
        ASSERT_EQ(write({1, 0, 0}, static_cast<std::uint16_t>(sriov + sriov_reg::num_vfs), 2, num), pcie::completion::SC);
        ASSERT_EQ(write({1, 0, 0}, static_cast<std::uint16_t>(sriov + sriov_reg::control), 2, sriov_reg::vf_enable),
                  pcie::completion::SC);
    }
};

TEST_F(ConfigRoutes, VirtualFunctionsAnswerOnlyWhileEnabled) {
    const std::uint16_t first = 0x0101;  // 01:00.0 + 1
    EXPECT_TRUE(answers(0x0100));
    EXPECT_FALSE(answers(first));
    enable(4);
    for (unsigned n = 0; n < 4; ++n) EXPECT_TRUE(answers(static_cast<std::uint16_t>(first + 2 * n))) << n;
    for (unsigned n = 0; n < 4; ++n) EXPECT_FALSE(answers(static_cast<std::uint16_t>(first + 2 * n + 1))) << n;
    EXPECT_FALSE(answers(first + 2 * 4));  // VF 4: beyond NumVFs
    std::uint32_t v;
    ASSERT_EQ(read(pcie::bdf::from_rid(first + 2), cfg::vendor_id, v), pcie::completion::SC);
    EXPECT_EQ(v, 0xffffffffu);  // a VF's Vendor and Device ID registers
    ASSERT_EQ(write({1, 0, 0}, static_cast<std::uint16_t>(sriov + sriov_reg::control), 2, 0), pcie::completion::SC);
    EXPECT_FALSE(answers(first));
}

TEST_F(ConfigRoutes, TheLastOfManyVirtualFunctionsAnswersAtItsRoutingId) {
    enable(total_vfs);
    const std::uint16_t last = static_cast<std::uint16_t>(0x0101 + 2 * (total_vfs - 1));  // 03:02.7
    EXPECT_TRUE(answers(last));
    EXPECT_FALSE(answers(static_cast<std::uint16_t>(last + 2)));
    // Configuration writes reach the VF it addresses and no other.
    ASSERT_EQ(write(pcie::bdf::from_rid(last), cfg::command, 2, pci::command_bits::bus_master), pcie::completion::SC);
    EXPECT_TRUE(vfs.back()->config().bus_master());
    EXPECT_FALSE(vfs[total_vfs - 2]->config().bus_master());
}

TEST_F(ConfigRoutes, OnlyDevice0AnswersBelowThePortAndOtherBusesAreUnsupported) {
    std::uint32_t v;
    EXPECT_EQ(read({1, 1, 0}, cfg::vendor_id, v), pcie::completion::UR);
    EXPECT_EQ(read({4, 0, 0}, cfg::vendor_id, v), pcie::completion::UR);  // outside the port's buses
}

} // namespace
