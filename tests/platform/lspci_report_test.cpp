// The verdict of `iotwin import --report` on a listing: the groups of more
// than one function, the peer-to-peer paths between their endpoints, what
// the ACS override would split, and the attack scenarios written for them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "platform/loader.h"
#include "platform/lspci_report.h"
#include "platform/lspci_scenario.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace iotwin::platform;

// A root port with ACS and a two-function NIC without ACS below it, and a
// root port with ACS and an endpoint of its own.
const char* listing_text =
    "00:01.0 PCI bridge [0604]: Intel Corporation Device [8086:1901] (rev 05) (prog-if 00 [Normal decode])\n"
    "\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0\n"
    "\tCapabilities: [a0] Express (v2) Root Port (Slot+), MSI 00\n"
    "\tCapabilities: [140 v1] Access Control Services\n"
    "\t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-\n"
    "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-\n"
    "\tKernel driver in use: pcieport\n\n"
    "00:02.0 PCI bridge [0604]: Intel Corporation Device [8086:1905] (rev 05) (prog-if 00 [Normal decode])\n"
    "\tBus: primary=00, secondary=02, subordinate=02, sec-latency=0\n"
    "\tCapabilities: [a0] Express (v2) Root Port (Slot+), MSI 00\n"
    "\tCapabilities: [140 v1] Access Control Services\n"
    "\t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-\n"
    "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-\n"
    "\tKernel driver in use: pcieport\n\n"
    "01:00.0 Ethernet controller [0200]: Realtek Semiconductor Co., Ltd. RTL8111/8168/8411 PCI Express Gigabit Ethernet Controller [10ec:8168] (rev 15)\n"
    "\tRegion 0: Memory at 91000000 (32-bit, non-prefetchable) [size=64K]\n"
    "\tCapabilities: [a0] Express (v2) Endpoint, MSI 00\n"
    "\tKernel driver in use: r8169\n\n"
    "01:00.1 Ethernet controller [0200]: Realtek Semiconductor Co., Ltd. RTL8111/8168/8411 PCI Express Gigabit Ethernet Controller [10ec:8168] (rev 15)\n"
    "\tRegion 0: Memory at 91010000 (32-bit, non-prefetchable) [size=64K]\n"
    "\tCapabilities: [a0] Express (v2) Endpoint, MSI 00\n\n"
    "02:00.0 Non-Volatile memory controller [0108]: Samsung Electronics Co Ltd NVMe SSD Controller SM981/PM981/PM983 [144d:a808] (prog-if 02 [NVM Express])\n"
    "\tRegion 0: Memory at 92000000 (64-bit, non-prefetchable) [size=16K]\n"
    "\tCapabilities: [70] Express (v2) Endpoint, MSI 00\n"
    "\tKernel driver in use: nvme\n\n";

std::vector<std::string> names(const std::vector<std::pair<std::string, source_pos>>& v) {
    std::vector<std::string> out;
    for (const auto& [name, pos] : v) out.push_back(name);
    return out;
}

struct imported {
    lspci_text::listing l;
    std::string yaml;
    scenario s;
    topology t;
    group_result g;
};

// A listing read, written as a scenario, loaded, and grouped.
imported import_text(const char* text, const iotwin::test::temp_dir& dir) {
    imported m;
    std::istringstream in(text);
    m.l = lspci_text::parse(in);
    std::ostringstream yaml;
    lspci_scenario::write(m.l, lspci_hierarchy::rebuild(m.l), {}, yaml);
    m.yaml = yaml.str();
    m.s = load_scenario(dir.write("m.yaml", m.yaml));
    m.t = build_topology(m.s.platform);
    m.g = compute_groups(m.t);
    return m;
}

imported import(const iotwin::test::temp_dir& dir) { return import_text(listing_text, dir); }

TEST(LspciReport, TheNicsFunctionsShareAGroupAndReachEachOtherInsideTheDevice) {
    iotwin::test::temp_dir dir;
    const imported m = import(dir);
    const lspci_report::verdict v = lspci_report::judge(m.t, m.g);
    ASSERT_EQ(v.shared.size(), 1u);
    const lspci_report::group_verdict& gv = v.shared[0];
    EXPECT_EQ(gv.endpoints, (std::vector<int>{m.t.by_id.at("pci-01-00-0"), m.t.by_id.at("pci-01-00-1")}));
    EXPECT_TRUE(gv.bridges.empty());
    ASSERT_EQ(gv.reachable.size(), 2u);
    EXPECT_TRUE(gv.not_reachable.empty());
    for (const lspci_report::claim& c : gv.reachable) {
        EXPECT_EQ(c.path.how, peer_path::kind::inside_device);
        EXPECT_TRUE(c.override_splits);  // pcie_acs_override=multifunction claims ACS for both
        EXPECT_FALSE(c.shared_alias);
    }
    EXPECT_EQ(gv.with_override.size(), 2u);
}

TEST(LspciReport, EachClaimGetsAnAttackScenarioThatLoads) {
    iotwin::test::temp_dir dir;
    const imported m = import(dir);
    lspci_report::verdict v = lspci_report::judge(m.t, m.g);
    const std::filesystem::path attacks = std::filesystem::path(dir.path()) / "attacks";
    lspci_report::write_attacks(v, m.t, {attacks, m.yaml, "m.txt"});
    for (const lspci_report::claim& c : v.shared[0].reachable) {
        ASSERT_FALSE(c.attack.empty());
        ASSERT_FALSE(c.override_attack.empty());
        const scenario plain = load_scenario((attacks / c.attack).string());
        EXPECT_EQ(names(plain.expect_violation), (std::vector<std::string>{"dma_isolation", "group_viability"}));
        const scenario overridden = load_scenario((attacks / c.override_attack).string());
        EXPECT_EQ(names(overridden.expect_violation), (std::vector<std::string>{"dma_isolation", "group_isolation"}));
        EXPECT_TRUE(overridden.platform.pcie_acs_override.downstream && overridden.platform.pcie_acs_override.multifunction);
        EXPECT_FALSE(plain.platform.pcie_acs_override.any());
    }
    std::ostringstream text;
    lspci_report::write_text(text, v, m.t, m.g, m.l, "attacks");
    EXPECT_NE(text.str().find("IOMMU group"), std::string::npos);
    EXPECT_NE(text.str().find("attack: attacks/" + v.shared[0].reachable[0].attack), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("0000:01:00.0 from r8169, 0000:01:00.1 from no driver"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("the override's claim does not hold"), std::string::npos) << text.str();
}

// A switch card whose downstream ports have no ACS (an IDT PES12N3A, as in
// tests/data/lspci/huanan-x99-f8-idt-switch-nic.vvnn.txt): Linux gives each
// port a group with what is below it, yet the switch routes a request from
// below one port to a sibling's device. The verdict lists those paths
// between groups, each with an attack where each guest holds a whole group.
TEST(LspciReport, PathsBetweenGroupsAcrossASwitchAreListedWithAttacks) {
    const iotwin::test::temp_dir dir;
    const imported m = import_text(
        "00:01.0 PCI bridge [0604]: Intel Corporation Xeon E7 v3/Xeon E5 v3/Core i7 PCI Express Root Port 1 [8086:2f02] (rev 02) (prog-if 00 [Normal decode])\n"
        "\tBus: primary=00, secondary=01, subordinate=04, sec-latency=0\n"
        "\tCapabilities: [90] Express (v2) Root Port (Slot+), MSI 00\n"
        "\tCapabilities: [110 v1] Access Control Services\n"
        "\t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-\n"
        "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-\n"
        "\tKernel driver in use: pcieport\n\n"
        "01:00.0 PCI bridge [0604]: Microsemi / PMC / IDT PES12N3A 12-lane 3-Port PCI Express Switch [111d:8018] (rev 0e) (prog-if 00 [Normal decode])\n"
        "\tBus: primary=01, secondary=02, subordinate=04, sec-latency=0\n"
        "\tCapabilities: [68] Express (v1) Upstream Port, MSI 00\n\n"
        "02:02.0 PCI bridge [0604]: Microsemi / PMC / IDT PES12N3A 12-lane 3-Port PCI Express Switch [111d:8018] (rev 0e) (prog-if 00 [Normal decode])\n"
        "\tBus: primary=02, secondary=03, subordinate=03, sec-latency=0\n"
        "\tCapabilities: [68] Express (v1) Downstream Port (Slot-), MSI 00\n\n"
        "02:04.0 PCI bridge [0604]: Microsemi / PMC / IDT PES12N3A 12-lane 3-Port PCI Express Switch [111d:8018] (rev 0e) (prog-if 00 [Normal decode])\n"
        "\tBus: primary=02, secondary=04, subordinate=04, sec-latency=0\n"
        "\tCapabilities: [68] Express (v1) Downstream Port (Slot-), MSI 00\n\n"
        "03:00.0 Ethernet controller [0200]: Intel Corporation 82571EB/82571GB Gigabit Ethernet Controller (Copper) [8086:10bc] (rev 06)\n"
        "\tRegion 0: Memory at fb8a0000 (32-bit, non-prefetchable) [size=128K]\n"
        "\tCapabilities: [e0] Express (v1) Endpoint, MSI 00\n\n"
        "04:00.0 Ethernet controller [0200]: Intel Corporation 82571EB/82571GB Gigabit Ethernet Controller (Copper) [8086:10bc] (rev 06)\n"
        "\tRegion 0: Memory at fb6a0000 (32-bit, non-prefetchable) [size=128K]\n"
        "\tCapabilities: [e0] Express (v1) Endpoint, MSI 00\n\n",
        dir);
    const topology& t = m.t;
    const group_result& g = m.g;
    const lspci_text::listing& l = m.l;
    const auto group_of = [&](const std::string& id) { return g.group_of[static_cast<std::size_t>(t.by_id.at(id))]; };
    ASSERT_EQ(group_of("pci-03-00-0"), group_of("pci-02-02-0"));
    ASSERT_NE(group_of("pci-03-00-0"), group_of("pci-04-00-0"));
    lspci_report::verdict v = lspci_report::judge(t, g, &l);
    ASSERT_EQ(v.across.size(), 2u);
    const lspci_report::claim& c = v.across[0];
    EXPECT_EQ(t.functions[static_cast<std::size_t>(c.from)].id, "pci-03-00-0");
    EXPECT_EQ(t.functions[static_cast<std::size_t>(c.to)].id, "pci-04-00-0");
    EXPECT_EQ(c.path.how, peer_path::kind::across_switch);
    EXPECT_TRUE(c.closed_by_port_acs);
    EXPECT_EQ(c.from_group, group_of("pci-03-00-0"));
    EXPECT_EQ(c.to_group, group_of("pci-04-00-0"));
    // Each guest takes a whole group's endpoints; the ports stay with the host.
    EXPECT_EQ(c.from_side, (std::vector<int>{t.by_id.at("pci-03-00-0")}));
    const std::filesystem::path attacks = std::filesystem::path(dir.path()) / "attacks";
    lspci_report::write_attacks(v, t, {attacks, m.yaml, "m.txt"});
    ASSERT_FALSE(v.across[0].attack.empty());
    const scenario attack = load_scenario((attacks / v.across[0].attack).string());
    EXPECT_EQ(names(attack.expect_violation), (std::vector<std::string>{"dma_isolation", "group_isolation"}));
    std::ostringstream text;
    lspci_report::write_text(text, v, t, g, l, "attacks");
    EXPECT_NE(text.str().find("Between IOMMU groups: 2 peer-to-peer paths without the IOMMU"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("the switch routes it from 'pci-02-02-0' across to 'pci-02-04-0'"), std::string::npos) << text.str();
}

// Where the listing shows IOMMU groups, functions it shows none for are
// outside every group of the machine's kernel (firmware left them out of
// the IOMMU's reach): the verdict says so and judges no pair of them.
TEST(LspciReport, FunctionsTheKernelGaveNoGroupAreNotJudged) {
    const iotwin::test::temp_dir dir;
    const imported m = import_text(
        "40:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Starship/Matisse Root Complex [1022:1480]\n"
        "\tRegion 0: Memory at f0000000 (32-bit, non-prefetchable) [size=16K]\n\n"
        "40:00.2 IOMMU [0806]: Advanced Micro Devices, Inc. [AMD] Milan IOMMU [1022:164f] (rev 01)\n"
        "\tRegion 0: Memory at f0004000 (32-bit, non-prefetchable) [size=16K]\n\n"
        "40:01.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Starship/Matisse PCIe Dummy Host Bridge [1022:1482]\n"
        "\tIOMMU group: 3\n\n"
        "40:18.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Milan Data Fabric; Function 0 [1022:1650]\n"
        "\tIOMMU group: 4\n"
        "\tRegion 0: Memory at f0010000 (32-bit, non-prefetchable) [size=16K]\n\n"
        "40:18.1 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Milan Data Fabric; Function 1 [1022:1651]\n"
        "\tIOMMU group: 4\n"
        "\tRegion 0: Memory at f0014000 (32-bit, non-prefetchable) [size=16K]\n\n",
        dir);
    const topology& t = m.t;
    const group_result& g = m.g;
    const lspci_text::listing& l = m.l;
    const lspci_report::verdict v = lspci_report::judge(t, g, &l);
    ASSERT_EQ(v.shared.size(), 2u) << m.yaml;
    // 40:00.0 and 40:00.2, without group lines: marked, nothing judged.
    EXPECT_TRUE(v.shared[0].no_kernel_group);
    EXPECT_EQ(v.shared[0].endpoints.size(), 2u);
    EXPECT_TRUE(v.shared[0].reachable.empty());
    EXPECT_TRUE(v.shared[0].not_reachable.empty());
    // The data fabric's functions, in kernel group 4: judged.
    EXPECT_FALSE(v.shared[1].no_kernel_group);
    EXPECT_EQ(v.shared[1].reachable.size(), 2u);
    std::ostringstream text;
    lspci_report::write_text(text, v, t, g, l, "attacks");
    EXPECT_NE(text.str().find("the machine's kernel gave none of them an IOMMU group"), std::string::npos) << text.str();
    // Without the listing every group is judged.
    EXPECT_FALSE(lspci_report::judge(t, g).shared[0].no_kernel_group);
}

TEST(LspciReport, AnUnwritableDirectoryIsAnError) {
    iotwin::test::temp_dir dir;
    const imported m = import(dir);
    lspci_report::verdict v = lspci_report::judge(m.t, m.g);
    const std::string file = dir.write("not-a-directory", "x");
    EXPECT_THROW(lspci_report::write_attacks(v, m.t, {file, m.yaml, "m.txt"}), input_error);
}

} // namespace
