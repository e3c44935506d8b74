// The isolation checkers on whole platforms built from scenarios (loaded from
// YAML, built, booted and run by the runner as `iotwin run` does): every path
// a device's request can take to memory or a BAR is seen, attributed to the
// function that put it on the wire, and an unknown or forged requester ID is
// reported as such, never credited to dom0.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include <tlm_utils/simple_initiator_socket.h>

#include "models/common/payload.h"
#include "platform/boot.h"
#include "platform/builder.h"
#include "platform/invariants.h"
#include "platform/loader.h"
#include "platform/runner.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;

// Two root ports: guest1's NIC below rp1 (ACS as `rp1_acs`), guest2's NIC and
// dom0's disk controller below rp2's... each below a root port of its own.
std::string platform_yaml(bool iommu, bool p2p, const std::string& rp1_acs = "") {
    return "platform:\n"
           "  memory: 2GiB\n"
           "  iommu: { enabled: " + std::string(iommu ? "true" : "false") + " }\n"
           "  fabric: { root_complex: { peer_to_peer: " + (p2p ? "true" : "false") + " } }\n"
           "  pcie:\n"
           "    - { id: rp1, type: root_port" + (rp1_acs.empty() ? "" : ", acs: " + rp1_acs) + ",\n"
           "        children: [ { id: nic0, type: endpoint, model: dma_engine } ] }\n"
           "    - { id: rp2, type: root_port, children: [ { id: nic1, type: endpoint, model: dma_engine } ] }\n"
           "    - { id: rp3, type: root_port, children: [ { id: disk0, type: endpoint, model: bar_ram } ] }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 512MiB }\n"
           "  - { name: guest1, memory: 256MiB, devices: [nic0] }\n"
           "  - { name: guest2, memory: 256MiB, devices: [nic1] }\n";
}

struct run : test::scenario_run {
    using scenario_run::scenario_run;
    std::vector<violation> of(const std::string& invariant) const {
        std::vector<violation> v;
        for (const violation& x : report().violations)
            if (x.invariant == invariant) v.push_back(x);
        return v;
    }
    void steps_ok() const {
        for (const step_outcome& o : report().steps) EXPECT_TRUE(o.ok) << "step " << o.index << " " << o.op << ": " << o.message;
    }
};

const std::string set_master =
    "  - { do: pci.set_master, as: guest1, args: { device: nic0 } }\n";

// A forged requester ID that no function has, with DMA remapping off: the
// write lands in dom0's memory. Attributed to nic0 (guest1) and reported as
// forged; before, an unknown ID was credited to dom0 and nothing was reported.
TEST(Invariants, UnknownForgedRequesterIdIsNotCreditedToDom0) {
    run t(std::string("name: t\n") + platform_yaml(false, true) + "steps:\n" + set_master +
          "  - { do: device.dma_write, device: nic0, args: { addr: 0x1000000, data: \"66 6f 6f\", requester_id: 0x7700 } }\n"
          "invariants: [dma_isolation]\nexpect_violation: [dma_isolation]\n");
    t.steps_ok();
    const auto v = t.of("dma_isolation");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].device, "nic0");
    EXPECT_TRUE(v[0].forged_requester_id);
    EXPECT_EQ(v[0].requester_id, 0x7700u);
    EXPECT_EQ(v[0].owner, "dom0");
    EXPECT_EQ(v[0].expected, "guest1");
    EXPECT_NE(v[0].message.find("forged requester ID 0000:77:00.0"), std::string::npos) << v[0].message;
    EXPECT_TRUE(t.report().pass);
}

// A forged ID of another domain's device: the IOMMU translates with guest2's
// context (as hardware would); the checker attributes the read to nic0.
TEST(Invariants, ForgedRequesterIdIsAttributedToThePhysicalOrigin) {
    run t(std::string("name: t\n") + platform_yaml(true, true) + "steps:\n" +
          "  - { do: mem.write, as: guest2, args: { addr: 0x2000, data: \"73 65 63\" } }\n"
          "  - { do: iommu.map, args: { domain: guest2, iova: 0x0, address: 0x2000, size: 4KiB } }\n" + set_master +
          "  - { do: device.dma_read, device: nic0, args: { addr: 0x0, len: 3, requester_id: 0x0200 }, expect: { data: \"73 65 63\" } }\n"
          "invariants: [dma_isolation]\nexpect_violation: [dma_isolation]\n");
    t.steps_ok();
    const auto v = t.of("dma_isolation");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].device, "nic0");
    EXPECT_TRUE(v[0].forged_requester_id);
    EXPECT_EQ(v[0].requester_id, 0x0200u);
    EXPECT_EQ(v[0].owner, "guest2");
    EXPECT_EQ(v[0].expected, "guest1");
}

// The same forged request below a root port with ACS Source Validation: refused there.
TEST(Invariants, SourceValidationStopsTheForgedRequesterId) {
    run t(std::string("name: t\n") + platform_yaml(true, true, "[SV, RR, CR, UF]") + "steps:\n" +
          "  - { do: iommu.map, args: { domain: guest2, iova: 0x0, address: 0x2000, size: 4KiB } }\n" + set_master +
          "  - { do: device.dma_read, device: nic0, args: { addr: 0x0, len: 3, requester_id: 0x0200 }, expect: { completion: CA } }\n"
          "invariants: [dma_isolation]\n");
    t.steps_ok();
    EXPECT_TRUE(t.of("dma_isolation").empty());
    EXPECT_TRUE(t.pi->iommu->faults().empty());  // it never reached the IOMMU
}

// A request with the device's own ID is not forged, and is attributed the same way.
TEST(Invariants, OwnRequesterIdIsNotReportedAsForged) {
    run t(std::string("name: t\n") + platform_yaml(false, true) + "steps:\n" + set_master +
          "  - { do: device.dma_write, device: nic0, args: { addr: 0x1000000, data: \"66\" } }\n"
          "invariants: [dma_isolation]\nexpect_violation: [dma_isolation]\n");
    const auto v = t.of("dma_isolation");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].device, "nic0");
    EXPECT_FALSE(v[0].forged_requester_id);
    EXPECT_EQ(v[0].message.find("forged"), std::string::npos) << v[0].message;
}

// Peer-to-peer through the root complex, DMA remapping off: the write to
// dom0's BAR is seen by both dma_isolation and group_isolation.
TEST(Invariants, PeerToPeerThroughTheRootComplexIsSeen) {
    run t(std::string("name: t\n") + platform_yaml(false, true) + "steps:\n" +
          "  - { do: pci.resource, as: dom0, args: { device: disk0, bar: 0 }, save: bar }\n" + set_master +
          "  - { do: device.dma_write, device: nic0, args: { addr: $bar.start, data: \"01 02 03 04\" } }\n"
          "  - { do: pci.mmio_read, as: dom0, args: { device: disk0, bar: 0, offset: 0 }, expect: { value: 0x04030201 } }\n"
          "invariants: [dma_isolation, group_isolation]\nexpect_violation: [dma_isolation, group_isolation]\n");
    t.steps_ok();
    const auto d = t.of("dma_isolation");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].device, "nic0");
    EXPECT_EQ(d[0].owner, "dom0");
    EXPECT_EQ(d[0].expected, "guest1");
    const auto g = t.of("group_isolation");
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g[0].device, "nic0");
    EXPECT_NE(g[0].message.find("without the IOMMU remapping it"), std::string::npos) << g[0].message;
    stat_map m;
    t.pi->stats(m);
    EXPECT_EQ(m.at("root_complex.inbound_peer_to_peer"), 1u);
}

// A forged requester ID on the peer-to-peer path: still attributed to nic0.
TEST(Invariants, ForgedRequesterIdOnThePeerToPeerPathIsSeen) {
    run t(std::string("name: t\n") + platform_yaml(false, true) + "steps:\n" +
          "  - { do: pci.resource, as: dom0, args: { device: disk0, bar: 0 }, save: bar }\n" + set_master +
          "  - { do: device.dma_write, device: nic0, args: { addr: $bar.start, data: \"01\", requester_id: 0x0300 } }\n"
          "invariants: [dma_isolation, group_isolation]\nexpect_violation: [dma_isolation, group_isolation]\n");
    const auto d = t.of("dma_isolation");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].device, "nic0");
    EXPECT_TRUE(d[0].forged_requester_id);  // disk0's own ID: dom0's, but not nic0's to use
    EXPECT_EQ(d[0].expected, "guest1");
    const auto g = t.of("group_isolation");
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g[0].device, "nic0");
}

// Without peer-to-peer in the root complex the same write is UR: nothing to see.
TEST(Invariants, RootComplexWithoutPeerToPeerRefusesTheWrite) {
    run t(std::string("name: t\n") + platform_yaml(false, false) + "steps:\n" +
          "  - { do: pci.resource, as: dom0, args: { device: disk0, bar: 0 }, save: bar }\n" + set_master +
          "  - { do: device.dma_write, device: nic0, args: { addr: $bar.start, data: \"01 02 03 04\" } }\n"
          "  - { do: pci.mmio_read, as: dom0, args: { device: disk0, bar: 0, offset: 0 }, expect: { value: 0 } }\n"
          "invariants: [dma_isolation, group_isolation]\n");
    t.steps_ok();
    EXPECT_TRUE(t.report().violations.empty());
    EXPECT_TRUE(t.report().pass);
}

// Host-only ranges: a device's writes to ECAM and to the IOMMU's registers
// change nothing, with DMA remapping off.
TEST(Invariants, DeviceWritesToHostOnlyRangesChangeNothing) {
    run t(std::string("name: t\n") + platform_yaml(false, true) + "steps:\n" + set_master +
          "  - { do: device.dma_write, device: nic0, args: { addr: 0xE0300004, data: \"00 00\" } }\n"       // disk0 (03:00.0) Command
          "  - { do: device.dma_write, device: nic0, args: { addr: 0xFED90018, data: \"00 00 00 80\" } }\n"  // GCMD.TE
          "  - { do: pci.config_read, as: dom0, args: { device: disk0, offset: 4, size: 2 }, expect: { value: 2 } }\n"
          "invariants: [dma_isolation]\n");
    t.steps_ok();
    EXPECT_FALSE(t.pi->iommu->translation_enabled());
    stat_map m;
    t.pi->stats(m);
    EXPECT_EQ(m.at("interconnect.device_requests_refused"), 2u);
}

// A request without a physical origin (a model that does not set it) is
// attributed by its requester ID; an ID no function has belongs to no
// domain, and reaching anyone's memory with it is reported, naming the ID.
struct bus_master : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<bus_master> out{"out"};
    explicit bus_master(sc_core::sc_module_name n) : sc_module(n) {}
    void write(std::uint64_t addr, std::uint16_t rid) {
        pcie::pcie_ext ext;
        ext.requester_id = rid;
        std::uint32_t v = 0x41414141;
        tlm::tlm_generic_payload gp;
        prepare(gp, tlm::TLM_WRITE_COMMAND, addr, &v, 4);
        gp.set_extension(&ext);
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        out->b_transport(gp, d);
        gp.clear_extension(&ext);
    }
};

TEST(Invariants, UnknownRequesterIdWithoutOriginIsReportedAsUnknown) {
    test::temp_dir dir;
    const scenario s = load_scenario(dir.write("s.yaml", std::string("name: t\n") + platform_yaml(false, true)));
    auto pi = build_platform(s);
    bus_master dev("dev");
    dev.out.bind(pi->interconnect->in);
    isolation_checker checker(*pi, {"dma_isolation"});
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    boot_platform(s, *pi, d);
    const std::uint64_t dom0_frame = pi->hypervisor->find("dom0")->p2m.front().maddr;
    dev.write(dom0_frame, 0x7700);
    ASSERT_EQ(checker.violations().size(), 1u);
    const violation& v = checker.violations()[0];
    EXPECT_EQ(v.device, "unknown requester ID 0000:77:00.0");
    EXPECT_EQ(v.expected, "no domain");  // not dom0
    EXPECT_EQ(v.owner, "dom0");
    // nic0's own ID without an origin: attributed to nic0's domain, guest1.
    dev.write(dom0_frame, pi->by_id.at("nic0")->bdf().rid());
    ASSERT_EQ(checker.violations().size(), 2u);
    EXPECT_EQ(checker.violations()[1].device, "nic0");
    EXPECT_EQ(checker.violations()[1].expected, "guest1");
    // disk0 (nobody's, so dom0's) writing dom0's memory is no violation.
    dev.write(dom0_frame, pi->by_id.at("disk0")->bdf().rid());
    EXPECT_EQ(checker.violations().size(), 2u);
}

} // namespace
