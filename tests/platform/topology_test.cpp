// The static numbering (platform::build_topology) against the simulated one:
// for every bundled scenario, the BDF each function captured from the
// firmware's configuration writes after build_platform + boot_platform must
// be the BDF the topology computed as Linux would. SystemC elaborates once
// per process, so each file is one instance of a value-parameterized test
// (gtest_discover_tests runs each instance as its own process); the list is
// explicit, and a separate test checks that it names every file there is.
//
// Also unit tests of the ACS and DMA-alias quirk tables (platform/quirks.h)
// and of topology::dma_aliases.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "platform/boot.h"
#include "platform/builder.h"
#include "platform/loader.h"
#include "platform/quirks.h"
#include "platform/topology.h"

#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;
using namespace sc_core;
namespace fs = std::filesystem;

const char* const scenario_dirs[] = {"scenarios/topologies", "scenarios/examples", "scenarios/security"};

// Relative to IOTWIN_SOURCE_DIR.
const std::vector<std::string> scenario_files = {
    "scenarios/topologies/acs-capability-and-control.yaml",
    "scenarios/topologies/dma-alias-quirk-marvell.yaml",
    "scenarios/topologies/empty-slots.yaml",
    "scenarios/topologies/intel-pch-root-ports-quirk.yaml",
    "scenarios/topologies/multifunction-endpoint-with-acs.yaml",
    "scenarios/topologies/multifunction-endpoint-without-acs.yaml",
    "scenarios/topologies/nested-switches.yaml",
    "scenarios/topologies/pci-bridge-on-root-bus.yaml",
    "scenarios/topologies/pcie-to-pci-bridge.yaml",
    "scenarios/topologies/quirk-claim-not-honoured.yaml",
    "scenarios/topologies/rciep-intel-quirk.yaml",
    "scenarios/topologies/root-bus-multifunction-pch.yaml",
    "scenarios/topologies/root-port-without-acs-switch-with-acs.yaml",
    "scenarios/topologies/second-root-bus.yaml",
    "scenarios/topologies/sriov-vfs.yaml",
    "scenarios/topologies/switch-with-acs.yaml",
    "scenarios/topologies/switch-without-acs.yaml",
    "scenarios/topologies/zhaoxin-downstream-port.yaml",
    "scenarios/examples/bus-master-disabled-blocks-dma.yaml",
    "scenarios/examples/completion-msi-reaches-domain.yaml",
    "scenarios/examples/dma-into-mapped-page.yaml",
    "scenarios/examples/dma-to-unmapped-iova-faults.yaml",
    "scenarios/examples/iommu-disabled-dma-escapes.yaml",
    "scenarios/examples/iommu-unmap-beyond-width-is-einval.yaml",
    "scenarios/examples/write-to-read-only-mapping-faults.yaml",
    "scenarios/security/dma-to-ecam.yaml",
    "scenarios/security/dma-to-iommu-registers-iommu-on.yaml",
    "scenarios/security/dma-to-iommu-registers.yaml",
    "scenarios/security/dma-to-peer-bar-through-root-complex-iommu.yaml",
    "scenarios/security/dma-to-peer-bar-through-root-complex-no-p2p.yaml",
    "scenarios/security/dma-to-peer-bar-through-root-complex.yaml",
    "scenarios/security/forged-requester-id-source-validation.yaml",
    "scenarios/security/forged-requester-id.yaml",
    "scenarios/security/p2p-multifunction-split-group.yaml",
    "scenarios/security/p2p-multifunction-with-acs.yaml",
    "scenarios/security/p2p-switch-with-acs.yaml",
    "scenarios/security/p2p-switch-without-acs.yaml",
};

std::string path_of(const std::string& rel) { return std::string(IOTWIN_SOURCE_DIR) + "/" + rel; }

// "scenarios/topologies/sriov-vfs.yaml" -> "topologies_sriov_vfs"
std::string test_name(const testing::TestParamInfo<std::string>& info) {
    std::string n = info.param;
    n = n.substr(n.find('/') + 1);
    n = n.substr(0, n.rfind(".yaml"));
    for (char& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return n;
}

// ---- simulated enumeration == static numbering -------------------------------------------

class ScenarioTopology : public testing::TestWithParam<std::string> {};

TEST_P(ScenarioTopology, SimulatedBdfsMatchTheStaticNumbering) {
    const std::string file = path_of(GetParam());
    ASSERT_TRUE(fs::is_regular_file(file)) << file << " is missing";
    scenario s;
    try {
        s = load_scenario(file);
    } catch (const std::exception& e) {
        FAIL() << "cannot load " << file << ": " << e.what();
    }
    // The static numbering, on its own.
    topology topo;
    try {
        topo = build_topology(s.platform);
    } catch (const std::exception& e) {
        FAIL() << "build_topology: " << e.what();
    }
    ASSERT_FALSE(topo.functions.empty());

    std::unique_ptr<platform_instance> pi;
    try {
        pi = build_platform(s);
    } catch (const std::exception& e) {
        FAIL() << "build_platform: " << e.what();
    }
    sc_start(SC_ZERO_TIME);  // multi-passthrough sockets bind at elaboration
    sc_time d = SC_ZERO_TIME;
    std::map<std::string, enumerated_function> found;
    try {
        found = boot_platform(s, *pi, d);
    } catch (const std::logic_error& e) {
        FAIL() << "the simulated enumeration disagrees with the static numbering: " << e.what();
    } catch (const std::exception& e) {
        FAIL() << "boot_platform: " << e.what();
    }

    // The builder made one module per function of the topology.
    ASSERT_EQ(pi->functions.size(), topo.functions.size());
    ASSERT_EQ(pi->topo.functions.size(), topo.functions.size());
    for (const topo_function& tf : topo.functions) {
        SCOPED_TRACE(tf.id);
        EXPECT_EQ(tf.segment, 0u);  // only segment 0 is simulated
        const auto it = pi->by_id.find(tf.id);
        ASSERT_NE(it, pi->by_id.end()) << "no module for " << tf.id;
        EXPECT_EQ(it->second->bdf().str(), tf.bdf.str())
            << "'" << tf.id << "': the function captured " << it->second->bdf().str() << ", the static numbering gives "
            << tf.bdf_string();
        // What the enumerator itself reported for it.
        const auto e = found.find(tf.id);
        ASSERT_NE(e, found.end()) << "the enumeration did not report " << tf.id;
        EXPECT_EQ(e->second.bdf.str(), tf.bdf.str());
        if (tf.bridge) {
            EXPECT_EQ(e->second.secondary, tf.secondary);
            EXPECT_EQ(e->second.subordinate, tf.subordinate);
        }
        // The platform's own copy of the topology is the same numbering.
        EXPECT_EQ(pi->topo.at(tf.id).bdf.str(), tf.bdf.str());
    }
}

INSTANTIATE_TEST_SUITE_P(Bundled, ScenarioTopology, testing::ValuesIn(scenario_files), test_name);

// A scenario added to one of the directories without a line above would go untested.
TEST(ScenarioTopologyList, NamesEveryScenarioFile) {
    std::set<std::string> on_disk;
    for (const char* dir : scenario_dirs) {
        const fs::path p = path_of(dir);
        ASSERT_TRUE(fs::is_directory(p)) << p;
        for (const auto& entry : fs::directory_iterator(p))
            if (entry.is_regular_file() && entry.path().extension() == ".yaml")
                on_disk.insert(std::string(dir) + "/" + entry.path().filename().string());
    }
    const std::set<std::string> listed(scenario_files.begin(), scenario_files.end());
    for (const std::string& f : on_disk) EXPECT_TRUE(listed.count(f)) << f << " is not in scenario_files";
    for (const std::string& f : listed) EXPECT_TRUE(on_disk.count(f)) << f << " is listed but missing";
}

// ---- ACS quirks ------------------------------------------------------------------------------

constexpr std::uint16_t SV = acs::SV, TB = acs::TB, RR = acs::RR, CR = acs::CR, UF = acs::UF, EC = acs::EC, DT = acs::DT;

// The port types by the names these tests use.
namespace port {
constexpr pci::port_type endpoint = pci::port_type::endpoint, rc_endpoint = pci::port_type::rciep, root_port = pci::port_type::root_port,
                         upstream = pci::port_type::upstream_port, downstream = pci::port_type::downstream_port;
}

quirk_subject subject(std::uint16_t vendor, std::uint16_t device, std::optional<pci::port_type> type) {
    quirk_subject s;
    s.vendor = vendor;
    s.device = device;
    s.pcie_type = type;
    return s;
}

TEST(Quirks, IntelI219IsAnIsolatedMultifunctionEndpoint) {
    quirk_subject s = subject(0x8086, 0x15b7, port::rc_endpoint);
    s.multifunction = true;
    s.on_root_bus = true;
    s.fn = 6;
    std::string name;
    const auto r = quirk_acs_enabled(s, acs::linux_default, &name);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(*r);
    EXPECT_EQ(name, "pci_quirk_mf_endpoint_acs");
    // pci_quirk_mf_endpoint_acs claims SV TB RR CR UF DT, not EC.
    EXPECT_EQ(quirk_acs_enabled(s, SV | TB | RR | CR | UF | DT), std::optional<bool>(true));
    EXPECT_EQ(quirk_acs_enabled(s, RR | EC), std::optional<bool>(false));
    // The same as a plain endpoint: the quirk is matched by ID, not by port type.
    EXPECT_EQ(quirk_acs_enabled(subject(0x8086, 0x15b7, port::endpoint), acs::linux_default), std::optional<bool>(true));
}

TEST(Quirks, IntelPchRootPortIsIsolated) {
    std::string name;
    const auto r = quirk_acs_enabled(subject(0x8086, 0x8c10, port::root_port), acs::linux_default, &name);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(*r);
    EXPECT_EQ(name, "pci_quirk_intel_pch_acs");
    // The quirk covers SV RR CR UF only.
    EXPECT_EQ(quirk_acs_enabled(subject(0x8086, 0x8c10, port::root_port), SV | TB), std::optional<bool>(false));
    // A listed device ID that is no root port is not covered.
    EXPECT_FALSE(quirk_acs_enabled(subject(0x8086, 0x8c10, port::endpoint), acs::linux_default).has_value());
}

TEST(Quirks, UnlistedIntelRootPortHasNoQuirk) {
    std::string name = "untouched";
    // 8086:7ab8 (Alder Lake PCH) is in none of the PCH lists.
    EXPECT_FALSE(quirk_acs_enabled(subject(0x8086, 0x7ab8, port::root_port), acs::linux_default, &name).has_value());
    EXPECT_EQ(name, "untouched");
    // Neither is one just outside a listed range.
    EXPECT_FALSE(quirk_acs_enabled(subject(0x8086, 0x8c20, port::root_port), acs::linux_default).has_value());
}

TEST(Quirks, ZhaoxinListedDownstreamPortIsIsolated) {
    std::string name;
    const auto r = quirk_acs_enabled(subject(0x1d17, 0x0721, port::downstream), acs::linux_default, &name);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(*r);
    EXPECT_EQ(name, "pci_quirk_zhaoxin_pcie_ports_acs");
    EXPECT_EQ(quirk_acs_enabled(subject(0x1d17, 0x0710, port::downstream), acs::linux_default), std::optional<bool>(true));
    EXPECT_EQ(quirk_acs_enabled(subject(0x1d17, 0x0732, port::root_port), acs::linux_default), std::optional<bool>(true));
}

TEST(Quirks, ZhaoxinUnlistedDownstreamPortIsDeclaredNotIsolated) {
    std::string name;
    // Not in the lists: the quirk answers "not enabled", whatever the port's own ACS says.
    const auto r = quirk_acs_enabled(subject(0x1d17, 0x0761, port::downstream), acs::linux_default, &name);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(*r);
    EXPECT_EQ(name, "pci_quirk_zhaoxin_pcie_ports_acs");
    EXPECT_EQ(quirk_acs_enabled(subject(0x1d17, 0x0722, port::downstream), acs::linux_default), std::optional<bool>(false));
    // The quirk is for root and downstream ports only.
    EXPECT_FALSE(quirk_acs_enabled(subject(0x1d17, 0x0761, port::upstream), acs::linux_default).has_value());
    EXPECT_FALSE(quirk_acs_enabled(subject(0x1d17, 0x0761, port::endpoint), acs::linux_default).has_value());
}

TEST(Quirks, IntelRciepIsIsolated) {
    quirk_subject s = subject(0x8086, 0x2021, port::rc_endpoint);
    s.on_root_bus = true;
    std::string name;
    const auto r = quirk_acs_enabled(s, acs::linux_default, &name);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(*r);
    EXPECT_EQ(name, "pci_quirk_rciep_acs");
    EXPECT_EQ(quirk_acs_enabled(s, EC), std::optional<bool>(false));
    // An Intel function that is no RCiEP and not listed: no quirk.
    EXPECT_FALSE(quirk_acs_enabled(subject(0x8086, 0x2021, port::endpoint), acs::linux_default).has_value());
    // Another vendor's RCiEP: no quirk.
    EXPECT_FALSE(quirk_acs_enabled(subject(0x19e5, 0xa222, port::rc_endpoint), acs::linux_default).has_value());
}

// ---- DMA-alias quirks ----------------------------------------------------------------------

TEST(Quirks, MarvellFunctionZeroAliasesFunctionOne) {
    const quirk_subject s = subject(0x1b4b, 0x9230, port::endpoint);
    const alias_quirk q = quirk_dma_alias(s, 0x00);  // 00.0
    EXPECT_EQ(q.name, "quirk_dma_func1_alias");
    EXPECT_EQ(q.dma_alias_devfns.count(), 1u);
    EXPECT_TRUE(q.dma_alias_devfns.test(0x01));  // 00.1
    EXPECT_FALSE(q.pcie_bridge_alias);
    EXPECT_FALSE(q.xlate_root);
    // Same slot, whatever it is.
    const alias_quirk q5 = quirk_dma_alias(s, 5 << 3);
    EXPECT_EQ(q5.dma_alias_devfns.count(), 1u);
    EXPECT_TRUE(q5.dma_alias_devfns.test(5 << 3 | 1));
    // Function 1 itself has no alias.
    const alias_quirk q1 = quirk_dma_alias(s, 0x01);
    EXPECT_TRUE(q1.dma_alias_devfns.none());
    EXPECT_EQ(q1.name, "");
    // Another vendor's SATA controller: none.
    EXPECT_TRUE(quirk_dma_alias(subject(0x1b21, 0x0612, port::endpoint), 0x00).dma_alias_devfns.none());
}

// ---- topology::dma_aliases ----------------------------------------------------------------------

const auto node = iotwin::test_support::make_node;

TEST(Topology, DmaAliasesBehindAPcieToPciBridge) {
    platform_desc p;
    pcie_node rp = node("rp1", node_type::root_port, 1, 0);
    rp.has_acs = true;
    rp.acs = {"SV", "RR", "CR", "UF"};
    pcie_node br = node("p2p", node_type::pcie_pci_bridge, 0, 0);
    br.children = {node("nic", node_type::pci_device, 1, 0), node("sound", node_type::pci_device, 2, 0)};
    rp.children.push_back(br);
    p.pcie = {rp};
    const topology t = build_topology(p);
    EXPECT_EQ(t.at("rp1").bdf.str(), "0000:00:01.0");
    EXPECT_EQ(t.at("p2p").bdf.str(), "0000:01:00.0");
    EXPECT_EQ(t.at("p2p").secondary, 2u);
    EXPECT_EQ(t.at("nic").bdf.str(), "0000:02:01.0");
    // Its own requester ID, then the bridge's alias (secondary bus, 00.0); the root port adds none.
    EXPECT_EQ(t.dma_aliases(t.by_id.at("nic")), (std::vector<std::uint16_t>{0x0208, 0x0200}));
    EXPECT_EQ(t.dma_aliases(t.by_id.at("sound")), (std::vector<std::uint16_t>{0x0210, 0x0200}));
    // The bridge and the root port are PCIe functions: their own IDs only.
    EXPECT_EQ(t.dma_aliases(t.by_id.at("p2p")), (std::vector<std::uint16_t>{0x0100}));
    EXPECT_EQ(t.dma_aliases(t.by_id.at("rp1")), (std::vector<std::uint16_t>{0x0008}));
}

TEST(Topology, DmaAliasesBehindAConventionalBridgeOnTheRootBus) {
    platform_desc p;
    pcie_node br = node("pcib", node_type::pci_bridge, 3, 0);
    br.children = {node("card", node_type::pci_device, 4, 0)};
    p.pcie = {br};
    const topology t = build_topology(p);
    EXPECT_EQ(t.at("card").bdf.str(), "0000:01:04.0");
    // A conventional bridge forwards with its own ID.
    EXPECT_EQ(t.dma_aliases(t.by_id.at("card")), (std::vector<std::uint16_t>{0x0120, 0x0018}));
}

TEST(Topology, DmaAliasesOfAMarvellFunctionZero) {
    platform_desc p;
    pcie_node rp = node("rp1", node_type::root_port, 1, 0);
    pcie_node sata = node("sata", node_type::endpoint, 0, 0);
    sata.vendor = 0x1b4b;
    sata.device = 0x9230;
    rp.children = {sata};
    p.pcie = {rp};
    const topology t = build_topology(p);
    EXPECT_EQ(t.at("sata").alias_quirk, "quirk_dma_func1_alias");
    EXPECT_EQ(t.dma_aliases(t.by_id.at("sata")), (std::vector<std::uint16_t>{0x0100, 0x0101}));
}

} // namespace
