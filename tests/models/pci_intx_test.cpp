// Legacy INTx end to end on a fabric built by hand, driven as software and a
// device would: the device drives its line (set_intx), software programs
// configuration space through ECAM, and the I/O APIC's deliveries are
// observed. The fabric:
//
//   00:00.0 host bridge (no Interrupt Pin)
//   00:01.0 rp (root port)
//     01:00.0 usp (switch upstream port)
//       02:00.0 dsp0 -- 03:00.0 ep0                 INTA -> rp INTA -> GSI 21
//       02:01.0 dsp1 -- 04:00.0 ep1a, 04:00.1 ep1b  INTA -> rp INTB -> GSI 22
//   00:03.0 pcib (conventional PCI bridge)
//     05:01.0 pci_a                                 INTA -> pcib INTB -> GSI 20
//     05:02.0 pci_b                                 INTA -> pcib INTC -> GSI 21
//
// GSI = 20 + ((root-bus device + wire) mod 4) (the root complex's table).
#include <gtest/gtest.h>

#include <vector>

#include "models/intc/ioapic.h"
#include "models/pci/pci_bridge.h"
#include "models/pci/virtual_function.h"
#include "models/pcie/host_bridge.h"
#include "models/pcie/root_complex.h"

#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace sc_core;
using cpu = iotwin::test_support::test_cpu;
namespace cfg = pci::cfg;

// Stands in for the IOMMU: no device request of these tests should reach it.
struct sink : sc_module {
    tlm_utils::simple_target_socket<sink, 32, pcie::protocol_types> in{"in"};
    unsigned seen = 0;
    explicit sink(sc_module_name n) : sc_module(n) { in.register_b_transport(this, &sink::b_transport); }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time&) {
        ++seen;
        pcie::complete(gp, gp.get_extension<pcie::pcie_ext>(), pcie::completion::SC);
    }
};

pci::function_params bridge(std::uint8_t devfn, std::optional<pci::port_type> t) {
    pci::function_params p;
    p.devfn = devfn;
    p.class_code = 0x060400;
    p.pcie = t;
    p.msi_vectors = 0;
    return p;
}

pci::function_params endpoint(std::uint8_t devfn, std::optional<pci::port_type> t = pci::port_type::endpoint) {
    pci::function_params p;
    p.devfn = devfn;
    p.pcie = t;
    p.interrupt_pin = 1;  // INTA#
    return p;
}

struct fired {
    unsigned gsi;
    sc_time when;
};

class Intx : public ::testing::Test {
protected:
    pcie::root_complex rc{"rc", pcie::root_complex_params{}};
    pcie::host_bridge hb{"hb"};
    pci::pci_bridge rp{"rp", bridge(1 << 3, pci::port_type::root_port), pci::bridge_params{}};
    pci::pci_bridge usp{"usp", bridge(0, pci::port_type::upstream_port), pci::bridge_params{}};
    pci::pci_bridge dsp0{"dsp0", bridge(0, pci::port_type::downstream_port), pci::bridge_params{}};
    pci::pci_bridge dsp1{"dsp1", bridge(1 << 3, pci::port_type::downstream_port), pci::bridge_params{}};
    pci::pci_function ep0{"ep0", endpoint(0)};
    pci::pci_function ep1a{"ep1a", endpoint(0)};
    pci::pci_function ep1b{"ep1b", endpoint(1)};
    pci::pci_bridge pcib{"pcib", bridge(3 << 3, std::nullopt), pci::bridge_params{}};
    pci::pci_function pci_a{"pci_a", endpoint(1 << 3, std::nullopt)};
    pci::pci_function pci_b{"pci_b", endpoint(2 << 3, std::nullopt)};
    intc::ioapic apic{"apic", sc_time(30, SC_NS)};
    sink iommu{"iommu"};
    cpu host{"host"};
    std::vector<fired> log;

    const pcie::bdf ep0_bdf{3, 0, 0}, ep1a_bdf{4, 0, 0}, ep1b_bdf{4, 0, 1}, dsp1_bdf{2, 1, 0}, pci_a_bdf{5, 1, 0};

    Intx() {
        rc.attach(hb);
        rc.attach(rp);
        rp.attach(usp);
        usp.attach(dsp0);
        usp.attach(dsp1);
        dsp0.attach(ep0);
        dsp1.attach(ep1a);
        dsp1.attach(ep1b);
        rc.attach(pcib);
        pcib.attach(pci_a);
        pcib.attach(pci_b);
        rc.iommu_out.bind(iommu.in);
        host.out.bind(rc.host_in);
        rc.set_intx_sink([this](unsigned gsi, std::uint32_t input, bool level, sc_time& d) { apic.set_line(gsi, input, level, d); });
        apic.set_sink([this](unsigned gsi, const sc_time& when) { log.push_back({gsi, when}); });
        sc_start(SC_ZERO_TIME);
        // Bus numbers as firmware assigns them (primary, secondary, subordinate).
        cfg_write({0, 1, 0}, cfg::primary_bus, 4, 0 | 1 << 8 | 4 << 16);
        cfg_write({1, 0, 0}, cfg::primary_bus, 4, 1 | 2 << 8 | 4 << 16);
        cfg_write({2, 0, 0}, cfg::primary_bus, 4, 2 | 3 << 8 | 3 << 16);
        cfg_write(dsp1_bdf, cfg::primary_bus, 4, 2 | 4 << 8 | 4 << 16);
        cfg_write({0, 3, 0}, cfg::primary_bus, 4, 0 | 5 << 8 | 5 << 16);
        // Endpoints capture their bus numbers from a first configuration write.
        for (const pcie::bdf& f : {ep0_bdf, ep1a_bdf, ep1b_bdf, pci_a_bdf, pcie::bdf{5, 2, 0}}) cfg_write(f, cfg::command, 2, 0);
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
    // The function's capability `id`, found by walking the list as a driver does.
    std::uint32_t find_cap(const pcie::bdf& f, std::uint8_t id) {
        for (std::uint32_t p = cfg_read(f, cfg::cap_ptr, 1); p; p = cfg_read(f, p + 1, 1))
            if (cfg_read(f, p, 1) == id) return p;
        return 0;
    }
    std::uint64_t stat(const pci::pci_function& f, const std::string& counter) {
        stat_map s;
        f.stats(s);
        return s.at(std::string(f.basename()) + "." + counter);
    }
};

TEST_F(Intx, AssertThroughSwitchIsSwizzledToItsGsi) {
    ep1a.set_intx(true);
    ASSERT_EQ(log.size(), 1u);
    // INTA of device 0 below dsp1 (device 1 on the switch's bus) is INTB above
    // the switch; INTB of root-bus device 1 is GSI 20 + (1 + 1) mod 4.
    EXPECT_EQ(log[0].gsi, 22u);
    EXPECT_TRUE(rp.intx_wire_asserted(1));
    EXPECT_FALSE(rp.intx_wire_asserted(0));
    EXPECT_TRUE(usp.intx_wire_asserted(1));
    EXPECT_TRUE(dsp1.intx_wire_asserted(0));
    // docs/timing.md: two Gen3 x8 links carry the header-only message (26
    // bytes, 3.30 ns each), three ports forward it (40 ns each), then the root
    // complex (20 ns) and the I/O APIC (30 ns here).
    EXPECT_NEAR(log[0].when.to_seconds() * 1e9, 2 * 26 / 7.877 + 3 * 40 + 20 + 30, 0.01);

    ep0.set_intx(true);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[1].gsi, 21u);
}

TEST_F(Intx, DeassertLowersTheLineAndNothingIsDelivered) {
    ep0.set_intx(true);
    ep0.set_intx(false);
    EXPECT_FALSE(apic.asserted(21));
    EXPECT_FALSE(rp.intx_wire_asserted(0));
    EXPECT_EQ(log.size(), 1u);
    sc_time d = SC_ZERO_TIME;
    apic.eoi(21, d);  // the line went low before the EOI: no second delivery
    EXPECT_EQ(log.size(), 1u);
    // Setting the same level again sends nothing.
    ep0.set_intx(false);
    EXPECT_EQ(stat(dsp0, "intx_received"), 2u);
}

TEST_F(Intx, TwoFunctionsOnOneWireAreWiredOr) {
    ep1a.set_intx(true);
    ep1b.set_intx(true);
    EXPECT_EQ(log.size(), 1u);
    // The second assertion changes no wire: dsp1 forwards nothing more.
    EXPECT_EQ(stat(dsp1, "intx_received"), 2u);
    EXPECT_EQ(stat(dsp1, "intx_forwarded"), 1u);
    ep1a.set_intx(false);
    EXPECT_TRUE(apic.asserted(22));
    EXPECT_TRUE(dsp1.intx_wire_asserted(0));
    ep1b.set_intx(false);
    EXPECT_FALSE(apic.asserted(22));
    EXPECT_EQ(stat(dsp1, "intx_forwarded"), 2u);
    EXPECT_EQ(stat(rp, "intx_forwarded"), 2u);
}

TEST_F(Intx, ConventionalPciBusSwizzlesByDeviceNumber) {
    pci_a.set_intx(true);  // device 1: INTB of pcib, root-bus device 3 -> GSI 20
    pci_b.set_intx(true);  // device 2: INTC of pcib -> GSI 21
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[0].gsi, 20u);
    EXPECT_EQ(log[1].gsi, 21u);
    EXPECT_TRUE(pcib.intx_wire_asserted(1));
    EXPECT_TRUE(pcib.intx_wire_asserted(2));
}

TEST_F(Intx, InterruptStatusShowsTheLevelWhateverInterruptDisableSays) {
    EXPECT_EQ(cfg_read(ep0_bdf, cfg::status, 2) & 0x8, 0u);
    cfg_write(ep0_bdf, cfg::command, 2, pci::command_bits::interrupt_disable);
    ep0.set_intx(true);
    EXPECT_EQ(cfg_read(ep0_bdf, cfg::status, 2) & 0x8, 0x8u);
    EXPECT_TRUE(log.empty());
    EXPECT_FALSE(ep0.intx_signalled());
    ep0.set_intx(false);
    EXPECT_EQ(cfg_read(ep0_bdf, cfg::status, 2) & 0x8, 0u);
    // Software cannot write it.
    ep0.set_intx(true);
    cfg_write(ep0_bdf, cfg::status, 2, 0x8);
    EXPECT_EQ(cfg_read(ep0_bdf, cfg::status, 2) & 0x8, 0x8u);
}

TEST_F(Intx, TogglingInterruptDisableWhileAssertedDeassertsAndReasserts) {
    ep0.set_intx(true);
    ASSERT_EQ(log.size(), 1u);
    cfg_write(ep0_bdf, cfg::command, 2, pci::command_bits::interrupt_disable);
    EXPECT_FALSE(apic.asserted(21));
    EXPECT_FALSE(ep0.intx_signalled());
    sc_time d = SC_ZERO_TIME;
    apic.eoi(21, d);
    cfg_write(ep0_bdf, cfg::command, 2, 0);
    EXPECT_TRUE(apic.asserted(21));
    EXPECT_EQ(log.size(), 2u);
    // A write that leaves the bit as it was sends nothing.
    cfg_write(ep0_bdf, cfg::command, 2, 0);
    EXPECT_EQ(stat(dsp0, "intx_received"), 3u);
}

TEST_F(Intx, MsiEnableHoldsTheLineLow) {
    const std::uint32_t msi = find_cap(ep0_bdf, pci::cap_id::msi);
    ASSERT_NE(msi, 0u);
    ep0.set_intx(true);
    ASSERT_TRUE(apic.asserted(21));
    cfg_write(ep0_bdf, msi + 2, 2, 1);  // MSI Enable
    EXPECT_FALSE(apic.asserted(21));
    cfg_write(ep0_bdf, msi + 2, 2, 0);
    EXPECT_TRUE(apic.asserted(21));
}

TEST_F(Intx, BusMasterEnableDoesNotGateMessages) {
    // No function or bridge here has Bus Master Enable set.
    EXPECT_EQ(cfg_read({0, 1, 0}, cfg::command, 2) & pci::command_bits::bus_master, 0u);
    ep1a.set_intx(true);
    EXPECT_EQ(log.size(), 1u);
    EXPECT_EQ(iommu.seen, 0u);
}

TEST_F(Intx, LevelTriggeredRedeliveryAfterEoi) {
    ep1a.set_intx(true);
    sc_time d = SC_ZERO_TIME;
    apic.eoi(22, d);
    EXPECT_EQ(log.size(), 2u);  // still asserted: delivered again
    ep1a.set_intx(false);
    apic.eoi(22, d);
    EXPECT_EQ(log.size(), 2u);
}

TEST_F(Intx, FunctionWithoutPinNeverSends) {
    EXPECT_EQ(cfg_read({0, 0, 0}, cfg::interrupt_pin, 1), 0u);
    hb.set_intx(true);
    EXPECT_TRUE(log.empty());
    EXPECT_FALSE(hb.intx_signalled());
    EXPECT_EQ(cfg_read({0, 0, 0}, cfg::status, 2) & 0x8, 0u);
}

TEST(IntxVirtualFunction, NeverSendsAndShowsNoStatus) {
    // An SR-IOV VF has no INTx (PCIe 5.0 9.3.4.1.13: its Interrupt Pin is 0).
    pcie::root_complex rc{"rc", pcie::root_complex_params{}};
    pci::function_params pp = endpoint(3 << 3, pci::port_type::rciep);
    pp.sriov = pci::function_params::sriov_regs{2, 1, 1, 0x10ed};
    pci::pci_function pf{"pf", pp};
    pci::virtual_function vf{"vf", endpoint(3 << 3 | 1, pci::port_type::rciep), pf, 0};
    sink iommu{"iommu"};
    cpu host{"host"};
    rc.attach(pf);
    rc.attach(vf);
    rc.iommu_out.bind(iommu.in);
    host.out.bind(rc.host_in);
    unsigned lines = 0;
    rc.set_intx_sink([&](unsigned, std::uint32_t, bool, sc_time&) { ++lines; });
    sc_start(SC_ZERO_TIME);
    vf.set_intx(true);
    EXPECT_EQ(lines, 0u);
    EXPECT_FALSE(vf.intx_signalled());
    EXPECT_EQ(vf.config().get(cfg::status, 2) & 0x8, 0u);
    pf.set_intx(true);  // the PF's own line works
    EXPECT_EQ(lines, 1u);
}

TEST_F(Intx, SecondaryBusResetDropsTheLinesBelow) {
    ep1a.set_intx(true);
    ep1b.set_intx(true);
    ASSERT_TRUE(apic.asserted(22));
    cfg_write(dsp1_bdf, cfg::bridge_control, 2, 1 << 6);  // Secondary Bus Reset
    EXPECT_FALSE(apic.asserted(22));
    EXPECT_FALSE(ep1a.intx_asserted());
    EXPECT_EQ(cfg_read(ep1a_bdf, cfg::status, 2) & 0x8, 0u);
    EXPECT_EQ(ep1a.reset_count(), 1u);
    EXPECT_EQ(ep1b.reset_count(), 1u);
    EXPECT_EQ(ep0.reset_count(), 0u);
    EXPECT_EQ(stat(dsp1, "secondary_bus_resets"), 1u);
    // Holding the bit set does not reset again; the line can rise afterwards.
    cfg_write(dsp1_bdf, cfg::bridge_control, 2, 1 << 6);
    cfg_write(dsp1_bdf, cfg::bridge_control, 2, 0);
    EXPECT_EQ(ep1a.reset_count(), 1u);
    sc_time d = SC_ZERO_TIME;
    apic.eoi(22, d);
    ep1a.set_intx(true);
    EXPECT_TRUE(apic.asserted(22));
}

TEST_F(Intx, ResetOfASwitchPortResetsEverythingBelowIt) {
    ep1a.set_intx(true);
    ep0.set_intx(true);
    cfg_write({0, 1, 0}, cfg::bridge_control, 2, 1 << 6);  // the root port's secondary bus: the switch
    EXPECT_EQ(ep0.reset_count(), 1u);
    EXPECT_EQ(ep1a.reset_count(), 1u);
    EXPECT_FALSE(apic.asserted(21));
    EXPECT_FALSE(apic.asserted(22));
}

TEST_F(Intx, MessageOtherThanIntxIsUnsupported) {
    tlm::tlm_generic_payload gp;
    pcie::pcie_ext ext;
    ext.kind = pcie::request_kind::message;
    ext.message_code = 0x7e;  // Vendor_Defined Type 0
    std::uint8_t none = 0;
    prepare(gp, tlm::TLM_WRITE_COMMAND, 0, &none, 0);
    gp.set_extension(&ext);
    sc_time d = SC_ZERO_TIME;
    ep0.pcie_out->b_transport(gp, d);
    gp.clear_extension(&ext);
    EXPECT_EQ(ext.status, pcie::completion::UR);
    EXPECT_TRUE(log.empty());
}

} // namespace
