// Where a function's request for a peer's BAR goes, worked out from the
// topology (platform/peer_reach.h): inside a multi-function device, across a
// switch, on a conventional bus, or up to the IOMMU, with the ACS bits that
// decide. The attack scenarios of `iotwin import --report` check the same
// claims in simulation (tests/support/expect_report.cmake).
#include <gtest/gtest.h>

#include <string>

#include "platform/loader.h"
#include "platform/peer_reach.h"
#include "platform/topology.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace iotwin::platform;
using kind = peer_path::kind;

// rp1: a switch; dsp0 without ACS, dsp1 with `dsp1_acs` enabled.
// rp2: a two-function endpoint, function 0 with `f0_acs` enabled.
// rp3: a PCIe-to-PCI bridge with two conventional devices.
// rp4 and rp5: two root ports, one endpoint each.
struct machine {
    scenario s;
    topology t;
    int at(const std::string& id) const { return t.by_id.at(id); }
    peer_path reach(const std::string& from, const std::string& to) const { return peer_reach(t, at(from), at(to)); }
};

machine load(const std::string& dsp1_acs, const std::string& f0_acs) {
    iotwin::test::temp_dir dir;
    const std::string yaml =
        "name: t\n"
        "platform:\n"
        "  pcie:\n"
        "    - id: rp1\n"
        "      type: root_port\n"
        "      at: \"01.0\"\n"
        "      children:\n"
        "        - id: usp\n"
        "          type: upstream_port\n"
        "          children:\n"
        "            - { id: dsp0, type: downstream_port, at: \"00.0\", children: [ { id: a, type: endpoint } ] }\n"
        "            - { id: dsp1, type: downstream_port, at: \"01.0\", acs: [SV, RR, CR, UF, EC], acs_ctrl: [" + dsp1_acs + "], children: [ { id: b, type: endpoint } ] }\n"
        "    - id: rp2\n"
        "      type: root_port\n"
        "      at: \"02.0\"\n"
        "      children:\n"
        "        - { id: f0, type: endpoint, at: \"00.0\", acs: [SV, RR, CR, UF, EC], acs_ctrl: [" + f0_acs + "] }\n"
        "        - { id: f1, type: endpoint, at: \"00.1\" }\n"
        "    - id: rp3\n"
        "      type: root_port\n"
        "      at: \"03.0\"\n"
        "      children:\n"
        "        - { id: br, type: pcie_pci_bridge, children: [ { id: c0, type: pci_device, at: \"01.0\" }, { id: c1, type: pci_device, at: \"02.0\" } ] }\n"
        "    - { id: rp4, type: root_port, at: \"04.0\", children: [ { id: e4, type: endpoint } ] }\n"
        "    - { id: rp5, type: root_port, at: \"05.0\", children: [ { id: e5, type: endpoint } ] }\n";
    machine m{load_scenario(dir.write("s.yaml", yaml)), {}};
    m.t = build_topology(m.s.platform);
    return m;
}

TEST(PeerReach, ASwitchRoutesAcrossWithoutRequestRedirect) {
    const machine m = load("", "");
    const peer_path p = m.reach("a", "b");
    EXPECT_EQ(p.how, kind::across_switch);
    EXPECT_EQ(p.bridge, m.at("usp"));
    EXPECT_TRUE(p.peer_to_peer());
    EXPECT_NE(p.why.find("'dsp0' has no ACS P2P Request Redirect"), std::string::npos) << p.why;
}

TEST(PeerReach, TheIngressPortsRequestRedirectSendsItToTheIommu) {
    const machine m = load("RR", "");
    EXPECT_EQ(m.reach("b", "a").how, kind::iommu);  // b enters through dsp1, which redirects
    EXPECT_EQ(m.reach("a", "b").how, kind::across_switch);  // a enters through dsp0, which does not
}

TEST(PeerReach, EgressControlBlocksIt) {
    const machine m = load("EC", "");
    const peer_path p = m.reach("b", "a");
    EXPECT_EQ(p.how, kind::blocked);
    EXPECT_FALSE(p.peer_to_peer());
}

TEST(PeerReach, FunctionsOfOneDeviceReachEachOtherInsideItUnlessTheSourceRedirects) {
    const machine m = load("", "RR");
    EXPECT_EQ(m.reach("f1", "f0").how, kind::inside_device);
    const peer_path p = m.reach("f0", "f1");
    EXPECT_EQ(p.how, kind::iommu);
    EXPECT_NE(p.why.find("ACS RR of 'f0'"), std::string::npos) << p.why;
}

TEST(PeerReach, AConventionalBusLetsTheTargetClaimIt) {
    const machine m = load("", "");
    const peer_path p = m.reach("c0", "c1");
    EXPECT_EQ(p.how, kind::shared_bus);
    EXPECT_EQ(p.bridge, m.at("br"));
}

TEST(PeerReach, RequestsBetweenRootPortsOfDifferentDevicesGoToTheIommu) {
    const machine m = load("", "");
    EXPECT_EQ(m.reach("e4", "e5").how, kind::iommu);
    EXPECT_EQ(m.reach("a", "e4").how, kind::iommu);   // out of the switch, up to the root complex
    EXPECT_EQ(m.reach("c0", "f1").how, kind::iommu);  // behind a bridge, to another root port's device
}

} // namespace
