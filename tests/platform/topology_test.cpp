// The static numbering (platform::build_topology) against the simulated one:
// for every bundled scenario, the BDF each function captured from the
// firmware's configuration writes after build_platform + boot_platform must
// be the BDF the topology computed as Linux would. SystemC elaborates once
// per process, so each file is one instance of a value-parameterized test
// (gtest_discover_tests runs each instance as its own process); the list is
// explicit, and a separate test checks that it names every file there is.
//
// Also the bus numbers firmware programmed (`secondary`, `subordinate`) and
// their errors; unit tests of the ACS and DMA-alias quirk tables (platform/quirks.h),
// of topology::dma_aliases, and of the groups (platform/iommu_groups.h) of
// trees that only virtual platforms build.
#include <gtest/gtest.h>

#include <algorithm>

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
#include "platform/iommu_groups.h"
#include "platform/loader.h"
#include "platform/quirks.h"
#include "platform/topology.h"

#include "tests/support/temp_dir.h"
#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;
using namespace sc_core;
namespace fs = std::filesystem;

const char* const scenario_dirs[] = {"scenarios/topologies", "scenarios/examples", "scenarios/security", "scenarios/timing"};

// Relative to IOTWIN_SOURCE_DIR.
const std::vector<std::string> scenario_files = {
    "scenarios/examples/iommu-superpages.yaml",
    "scenarios/examples/gntalloc-gntdev-seed-sequence.yaml",
    "scenarios/examples/evtchn-between-processes.yaml",
    "scenarios/examples/blkif-roundtrip.yaml",
    "scenarios/examples/vfio-group-ownership.yaml",
    "scenarios/security/blkif-malicious-grants.yaml",
    "scenarios/security/blkif-malicious-requests.yaml",
    "scenarios/security/blkif-malicious-ring-index.yaml",
    "scenarios/security/blkif-unchecked-bounds-leak.yaml",
    "scenarios/timing/blkif-modes.yaml",
    "scenarios/examples/gnttab-table-setup-and-query.yaml",
    "scenarios/examples/gnttab-transfer-pv-to-hvm.yaml",
    "scenarios/examples/gnttab-version-switch-keeps-reserved.yaml",
    "scenarios/examples/lguest-console.yaml",
    "scenarios/examples/vfio-edu-end-to-end.yaml",
    "scenarios/security/vfio-two-vms-switch-with-acs.yaml",
    "scenarios/security/vfio-two-vms-switch-without-acs.yaml",
    "scenarios/security/vfio-two-vms-switch-acs-override.yaml",
    "scenarios/security/lguest-bad-hypercall.yaml",
    "scenarios/security/lguest-guest-crash.yaml",
    "scenarios/security/lguest-guest-past-pfnlimit.yaml",
    "scenarios/topologies/acs-capability-and-control.yaml",
    "scenarios/topologies/dma-alias-quirk-marvell.yaml",
    "scenarios/topologies/empty-slots.yaml",
    "scenarios/topologies/firmware-bus-numbers.yaml",
    "scenarios/topologies/intel-pch-root-ports-quirk.yaml",
    "scenarios/topologies/multifunction-endpoint-with-acs.yaml",
    "scenarios/topologies/multifunction-endpoint-without-acs.yaml",
    "scenarios/topologies/multifunction-pci-device-below-root-port.yaml",
    "scenarios/topologies/nested-switches.yaml",
    "scenarios/topologies/pci-bridge-alias-quirk-asmedia.yaml",
    "scenarios/topologies/pci-bridge-below-root-port.yaml",
    "scenarios/topologies/pci-bridge-on-root-bus.yaml",
    "scenarios/topologies/pci-device-below-downstream-port.yaml",
    "scenarios/topologies/pci-device-below-root-port.yaml",
    "scenarios/topologies/pcie-pci-bridge-on-root-bus.yaml",
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
    "scenarios/examples/bus-master-cleared-mid-transfer.yaml",
    "scenarios/examples/bus-master-disabled-blocks-dma.yaml",
    "scenarios/examples/completion-msi-reaches-domain.yaml",
    "scenarios/examples/dma-into-mapped-page.yaml",
    "scenarios/examples/dma-scatter-gather.yaml",
    "scenarios/examples/dma-to-unmapped-iova-faults.yaml",
    "scenarios/examples/iommu-scalable-first-level.yaml",
    "scenarios/examples/intx-through-switch-reaches-domain.yaml",
    "scenarios/examples/edu-dma-through-iommu.yaml",
    "scenarios/examples/vfio-type1-edu-dma.yaml",
    "scenarios/examples/edu-intx.yaml",
    "scenarios/examples/vfio-edu-interrupts.yaml",
    "scenarios/examples/flr-aborts-dma.yaml",
    "scenarios/examples/iommu-disabled-dma-escapes.yaml",
    "scenarios/examples/ats-translation-and-invalidation.yaml",
    "scenarios/examples/iommu-unmap-beyond-width-is-einval.yaml",
    "scenarios/examples/sriov-vfs-at-run-time.yaml",
    "scenarios/examples/rebind-to-vfio-pci.yaml",
    "scenarios/examples/nic-rx-throughput.yaml",
    "scenarios/examples/nic-msix-per-queue.yaml",
    "scenarios/examples/nic-tx.yaml",
    "scenarios/examples/scripted-buggy-device.yaml",
    "scenarios/examples/write-to-read-only-mapping-faults.yaml",
    "scenarios/examples/evtchn-interdomain-ping-pong.yaml",
    "scenarios/examples/evtchn-masking-and-errors.yaml",
    "scenarios/examples/gntdev-x-grants-y-maps.yaml",
    "scenarios/security/dma-to-ecam.yaml",
    "scenarios/security/gntdev-failed-mmap-leaks-grants.yaml",
    "scenarios/security/dma-to-iommu-registers-iommu-on.yaml",
    "scenarios/security/dma-to-iommu-registers.yaml",
    "scenarios/security/dma-to-peer-bar-through-root-complex-iommu.yaml",
    "scenarios/security/dma-to-peer-bar-through-root-complex-no-p2p.yaml",
    "scenarios/security/dma-to-peer-bar-through-root-complex.yaml",
    "scenarios/security/guest-disables-acs-pciback.yaml",
    "scenarios/security/guest-disables-acs-permissive.yaml",
    "scenarios/security/forged-requester-id-sibling-function.yaml",
    "scenarios/security/forged-requester-id-source-validation.yaml",
    "scenarios/security/ats-translated-request-any-frame.yaml",
    "scenarios/security/ats-translated-request-blocked.yaml",
    "scenarios/security/forged-requester-id.yaml",
    "scenarios/security/deferred-invalidation-stale-window.yaml",
    "scenarios/security/deferred-invalidation-stale-window-strict.yaml",
    "scenarios/security/p2p-multifunction-split-group.yaml",
    "scenarios/security/p2p-multifunction-with-acs.yaml",
    "scenarios/security/p2p-switch-with-acs.yaml",
    "scenarios/security/p2p-switch-without-acs.yaml",
    "scenarios/security/scripted-forged-id-no-source-validation.yaml",
    "scenarios/security/scripted-forged-id-source-validation.yaml",
    "scenarios/security/scripted-forged-msi.yaml",
    "scenarios/security/msi-injection-no-interrupt-remapping.yaml",
    "scenarios/security/msi-injection-interrupt-remapping.yaml",
    "scenarios/security/msi-compat-format-pass-through.yaml",
    "scenarios/security/scripted-p2p-write-with-acs.yaml",
    "scenarios/security/scripted-p2p-write-without-acs.yaml",
    "scenarios/security/scripted-translated-request.yaml",
    // grant tables: mapping, copying, destruction
    "scenarios/examples/gnttab-copy-v1.yaml",
    "scenarios/examples/gnttab-map-host-v1.yaml",
    "scenarios/examples/gnttab-map-readonly-v2.yaml",
    "scenarios/security/gnttab-destroy-with-grants-mapped.yaml",
    "scenarios/security/gnttab-device-map-pv.yaml",
    "scenarios/examples/gntalloc-errors.yaml",
    "scenarios/examples/gntalloc-unmap-notify.yaml",
    "scenarios/security/gntalloc-original-deferred-limit.yaml",
    "scenarios/security/gntalloc-original-grant-ref-leak.yaml",
    "scenarios/security/gntalloc-original-multipage-mmap-leak.yaml",
    "scenarios/security/gntalloc-original-partial-munmap-uaf.yaml",
    "scenarios/security/gntalloc-original-signed-gref-check.yaml",
    "scenarios/timing/iotlb-reach-256kib.yaml",
    "scenarios/timing/iotlb-reach-64mib.yaml",
    "scenarios/timing/iotlb-reach-no-iommu.yaml",
    "scenarios/timing/two-engines-one-link.yaml",
    "scenarios/timing/two-engines-two-root-ports.yaml",
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
    // A scenario of domains alone (grant tables, event channels) has no PCI
    // functions whose numbering could differ.
    if (s.platform.pcie.empty()) GTEST_SKIP() << file << " has no platform.pcie";
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

    // The builder made one module per function of the topology, plus one per
    // VF software may enable later (not present at boot).
    const auto present = std::count_if(pi->functions.begin(), pi->functions.end(), [](const auto& f) { return f->present(); });
    ASSERT_EQ(static_cast<std::size_t>(present), topo.functions.size());
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

TEST(Quirks, JMicronJmb388AliasesFunctionOne) {
    const alias_quirk q = quirk_dma_alias(subject(0x197b, 0x2393, port::endpoint), 0x00);
    EXPECT_EQ(q.name, "quirk_dma_func1_alias");
    EXPECT_EQ(q.dma_alias_devfns.count(), 1u);
    EXPECT_TRUE(q.dma_alias_devfns.test(0x01));
    // The JMB36x SATA controllers are not listed.
    EXPECT_TRUE(quirk_dma_alias(subject(0x197b, 0x2363, port::endpoint), 0x00).dma_alias_devfns.none());
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

// ---- trees only virtual platforms build: aliases and groups -------------------------------------

// The groups as sets of ids, whatever their numbers.
std::set<std::set<std::string>> partition(const topology& t, const group_result& g) {
    std::set<std::set<std::string>> out;
    for (const iommu_group& grp : g.groups) {
        std::set<std::string> ids;
        for (int m : grp.members) ids.insert(t.functions[m].id);
        out.insert(ids);
    }
    return out;
}

const iommu_group& group_of(const topology& t, const group_result& g, const std::string& id) {
    return g.groups.at(g.group_of.at(t.by_id.at(id)));
}

pcie_node with_acs(pcie_node n) {
    n.has_acs = true;
    n.acs = {"SV", "RR", "CR", "UF"};
    return n;
}

TEST(VirtualTopology, ConventionalFunctionBelowARootPortIsGroupedByThePort) {
    platform_desc p;
    pcie_node rp1 = with_acs(node("rp1", node_type::root_port, 1, 0));
    rp1.children = {node("e1000", node_type::pci_device, 0, 0)};
    pcie_node rp2 = node("rp2", node_type::root_port, 2, 0);
    rp2.children = {node("edu", node_type::pci_device, 0, 0)};
    p.pcie = {rp1, rp2};
    const topology t = build_topology(p);
    EXPECT_EQ(t.at("e1000").bdf.str(), "0000:01:00.0");
    EXPECT_FALSE(t.at("e1000").pcie_type.has_value());
    // Root ports take no ownership: the function's own requester ID only.
    EXPECT_EQ(t.dma_aliases(t.by_id.at("e1000")), (std::vector<std::uint16_t>{0x0100}));
    const group_result g = compute_groups(t);
    EXPECT_EQ(partition(t, g), (std::set<std::set<std::string>>{{"rp1"}, {"e1000"}, {"rp2", "edu"}}));
    EXPECT_NE(group_of(t, g, "edu").reason.find("'rp2' has no ACS capability"), std::string::npos) << group_of(t, g, "edu").reason;
}

TEST(VirtualTopology, ConventionalMultifunctionDeviceIsOneGroupEvenWithAcsAbove) {
    platform_desc p;
    pcie_node rp = with_acs(node("rp1", node_type::root_port, 1, 0));
    // An `acs` on a conventional function is ignored: Linux finds no ACS capability there.
    rp.children = {with_acs(node("f0", node_type::pci_device, 0, 0)), with_acs(node("f1", node_type::pci_device, 0, 1))};
    p.pcie = {rp};
    const topology t = build_topology(p);
    EXPECT_TRUE(t.at("f0").multifunction);
    EXPECT_FALSE(t.at("f0").has_acs);
    std::string why;
    EXPECT_FALSE(linux_acs_enabled(t, t.by_id.at("f0"), &why));
    EXPECT_EQ(why, "'f0' is conventional PCI");
    const group_result g = compute_groups(t);
    EXPECT_EQ(partition(t, g), (std::set<std::set<std::string>>{{"rp1"}, {"f0", "f1"}}));
    EXPECT_NE(group_of(t, g, "f1").reason.find("conventional PCI functions are never ACS-isolated"), std::string::npos)
        << group_of(t, g, "f1").reason;

    // The same device as PCIe endpoints with ACS: a group per function.
    platform_desc q;
    pcie_node rq = with_acs(node("rp1", node_type::root_port, 1, 0));
    rq.children = {with_acs(node("f0", node_type::endpoint, 0, 0)), with_acs(node("f1", node_type::endpoint, 0, 1))};
    q.pcie = {rq};
    const topology u = build_topology(q);
    EXPECT_EQ(partition(u, compute_groups(u)), (std::set<std::set<std::string>>{{"rp1"}, {"f0"}, {"f1"}}));
}

TEST(VirtualTopology, ConventionalFunctionBelowASwitchDownstreamPort) {
    platform_desc p;
    pcie_node rp = with_acs(node("rp1", node_type::root_port, 1, 0));
    pcie_node usp = node("usp", node_type::upstream_port, 0, 0);
    pcie_node dsp0 = with_acs(node("dsp0", node_type::downstream_port, 0, 0));
    dsp0.children = {node("a", node_type::pci_device, 0, 0)};
    pcie_node dsp1 = node("dsp1", node_type::downstream_port, 1, 0);
    dsp1.children = {node("b", node_type::pci_device, 0, 0)};
    usp.children = {dsp0, dsp1};
    rp.children = {usp};
    p.pcie = {rp};
    const topology t = build_topology(p);
    EXPECT_EQ(t.at("a").bdf.str(), "0000:03:00.0");
    EXPECT_EQ(t.at("b").bdf.str(), "0000:04:00.0");
    EXPECT_EQ(t.dma_aliases(t.by_id.at("b")), (std::vector<std::uint16_t>{0x0400}));
    const group_result g = compute_groups(t);
    EXPECT_EQ(partition(t, g), (std::set<std::set<std::string>>{{"rp1"}, {"usp"}, {"dsp0"}, {"a"}, {"dsp1", "b"}}));
}

TEST(VirtualTopology, PcieToPciBridgeOnTheRootBus) {
    platform_desc p;
    pcie_node br = node("pcie-pci", node_type::pcie_pci_bridge, 3, 0);
    br.children = {node("e1000", node_type::pci_device, 1, 0), node("edu", node_type::pci_device, 2, 0)};
    p.pcie = {br};
    const topology t = build_topology(p);
    EXPECT_EQ(t.at("pcie-pci").bdf.str(), "0000:00:03.0");
    EXPECT_TRUE(t.at("pcie-pci").on_root_bus);
    EXPECT_EQ(t.at("edu").bdf.str(), "0000:01:02.0");
    // The bridge's alias is (secondary bus, 00.0).
    EXPECT_EQ(t.dma_aliases(t.by_id.at("edu")), (std::vector<std::uint16_t>{0x0110, 0x0100}));
    const group_result g = compute_groups(t);
    EXPECT_EQ(partition(t, g), (std::set<std::set<std::string>>{{"pcie-pci", "e1000", "edu"}}));
    EXPECT_NE(group_of(t, g, "edu").reason.find("behind 'pcie-pci'"), std::string::npos) << group_of(t, g, "edu").reason;
}

TEST(VirtualTopology, ConventionalBridgeBelowRootPorts) {
    platform_desc p;
    pcie_node rp1 = with_acs(node("rp1", node_type::root_port, 1, 0));
    pcie_node br1 = node("br1", node_type::pci_bridge, 0, 0);
    br1.children = {node("a", node_type::pci_device, 1, 0)};
    rp1.children = {br1};
    pcie_node rp2 = node("rp2", node_type::root_port, 2, 0);
    pcie_node br2 = node("br2", node_type::pci_bridge, 0, 0);
    br2.children = {node("b", node_type::pci_device, 1, 0)};
    rp2.children = {br2};
    p.pcie = {rp1, rp2};
    const topology t = build_topology(p);
    // A conventional bridge forwards with its own requester ID.
    EXPECT_EQ(t.dma_aliases(t.by_id.at("a")), (std::vector<std::uint16_t>{0x0208, 0x0100}));
    const group_result g = compute_groups(t);
    EXPECT_EQ(partition(t, g), (std::set<std::set<std::string>>{{"rp1"}, {"br1", "a"}, {"rp2", "br2", "b"}}));
}

TEST(Topology, DmaAliasesBehindAnAsmediaBridgeBelowARootPort) {
    platform_desc p;
    pcie_node rp = with_acs(node("rp1", node_type::root_port, 1, 0));
    pcie_node asm1083 = node("asm1083", node_type::pci_bridge, 0, 0);
    asm1083.vendor = 0x1b21;
    asm1083.device = 0x1080;
    asm1083.children = {node("card", node_type::pci_device, 1, 0)};
    rp.children = {asm1083};
    p.pcie = {rp};
    const topology t = build_topology(p);
    EXPECT_TRUE(t.at("asm1083").pcie_bridge_alias);
    EXPECT_EQ(t.at("asm1083").alias_quirk, "quirk_use_pcie_bridge_dma_alias");
    // Its secondary bus with devfn 0, as a PCIe-to-PCI bridge would use.
    EXPECT_EQ(t.dma_aliases(t.by_id.at("card")), (std::vector<std::uint16_t>{0x0208, 0x0200}));
    // On a root bus the quirk does not apply: its own ID.
    platform_desc q;
    pcie_node on_root = node("asm1083", node_type::pci_bridge, 3, 0);
    on_root.vendor = 0x1b21;
    on_root.device = 0x1080;
    on_root.children = {node("card", node_type::pci_device, 1, 0)};
    q.pcie = {on_root};
    const topology u = build_topology(q);
    EXPECT_FALSE(u.at("asm1083").pcie_bridge_alias);
    EXPECT_EQ(u.dma_aliases(u.by_id.at("card")), (std::vector<std::uint16_t>{0x0108, 0x0018}));
}

TEST(VirtualTopology, PcieEndpointBehindAPcieToPciBridgeJoinsTheBridge) {
    platform_desc p;
    pcie_node rp = with_acs(node("rp1", node_type::root_port, 1, 0));
    pcie_node br = node("p2p", node_type::pcie_pci_bridge, 0, 0);
    br.children = {node("ep", node_type::endpoint, 1, 0), node("card", node_type::pci_device, 2, 0)};
    rp.children = {br};
    p.pcie = {rp};
    const topology t = build_topology(p);
    const group_result g = compute_groups(t);
    EXPECT_EQ(partition(t, g), (std::set<std::set<std::string>>{{"rp1"}, {"p2p", "ep", "card"}}));
}

// ---- bus numbers firmware programmed ------------------------------------------------------------

// The topology of a scenario written as YAML; "FILE" stands for its path in errors.
struct from_yaml {
    iotwin::test::temp_dir dir;
    std::string file;
    explicit from_yaml(const std::string& pcie) : file(dir.write("s.yaml", "name: x\nplatform:\n  pcie:\n" + pcie)) {}
    topology build() const { return build_topology(load_scenario(file).platform); }
    // The error loading and numbering gives, with the file's path as FILE.
    std::string error() const {
        try {
            build();
        } catch (const input_error& e) {
            std::string m = e.what();
            if (const auto at = m.find(file); at != std::string::npos) m.replace(at, file.size(), "FILE");
            return m;
        }
        return "no error";
    }
};

std::string bus_range(const topology& t, const std::string& id) {
    return std::to_string(t.at(id).secondary) + ".." + std::to_string(t.at(id).subordinate);
}

TEST(FirmwareBusNumbers, KeptOutOfDepthFirstOrderWithGapsAndTheRestNumberedAfter) {
    const topology t = build_topology(load_scenario(path_of("scenarios/topologies/firmware-bus-numbers.yaml")).platform);
    EXPECT_EQ(bus_range(t, "rp1c0"), "9..9");
    EXPECT_EQ(bus_range(t, "rp1c1"), "8..8");
    EXPECT_EQ(bus_range(t, "rp1c4"), "20..27");
    EXPECT_EQ(bus_range(t, "usp"), "21..27");
    // Only a secondary bus: the subordinate is the highest bus below.
    EXPECT_EQ(bus_range(t, "dsp0"), "22..22");
    // Linux's second pass inside usp's range: the highest bus in use + 1.
    EXPECT_EQ(bus_range(t, "dsp1"), "23..23");
    EXPECT_EQ(bus_range(t, "rp1d0"), "48..49");
    // On bus 0, after every range firmware programmed (1d.0's ends at 0x31).
    EXPECT_EQ(bus_range(t, "rp01"), "50..50");
    EXPECT_EQ(t.at("nic09").bdf_string(), "0000:09:00.0");
    EXPECT_EQ(t.at("nic08").bdf_string(), "0000:08:00.0");
    EXPECT_EQ(t.at("ep16").bdf_string(), "0000:16:00.0");
    EXPECT_EQ(t.at("ep17").bdf_string(), "0000:17:00.0");
    EXPECT_EQ(t.at("ep32").bdf_string(), "0000:32:00.0");
    EXPECT_EQ(t.at("pf30-vf1").bdf_string(), "0000:30:02.0");
    // Probe order stays each bus's functions, then the buses below its bridges by device.
    std::vector<std::string> order;
    for (const topo_function& f : t.functions)
        if (!f.is_vf) order.push_back(f.id);
    EXPECT_EQ(order, (std::vector<std::string>{"rp01", "rp1c0", "rp1c1", "rp1c4", "rp1d0", "ep32", "nic09", "nic08", "usp", "dsp0",
                                               "dsp1", "ep16", "ep17", "pf30"}));
}

TEST(FirmwareBusNumbers, WithoutAnyTheNumberingIsDepthFirstAsBefore) {
    const from_yaml y(R"(    - { id: rp1, type: root_port, children: [ { id: usp, type: upstream_port, children: [
          { id: d0, type: downstream_port, at: "00.0", children: [ { id: e0, type: endpoint } ] },
          { id: d1, type: downstream_port, at: "01.0" } ] } ] }
    - { id: rp2, type: root_port, children: [ { id: e2, type: endpoint } ] }
)");
    const topology t = y.build();
    EXPECT_EQ(bus_range(t, "rp1"), "1..4");
    EXPECT_EQ(bus_range(t, "usp"), "2..4");
    EXPECT_EQ(bus_range(t, "d0"), "3..3");
    EXPECT_EQ(bus_range(t, "d1"), "4..4");
    EXPECT_EQ(bus_range(t, "rp2"), "5..5");
}

TEST(FirmwareBusNumbers, BelowAnUnnumberedBridge) {
    // rp1 is Linux's (bus 1, up to 255); the bridge below it keeps 0x40, and rp2 follows it.
    const from_yaml y(R"(    - { id: rp1, type: root_port, children: [ { id: br, type: pcie_pci_bridge, secondary: 0x40, subordinate: 0x41 } ] }
    - { id: rp2, type: root_port }
)");
    const topology t = y.build();
    EXPECT_EQ(bus_range(t, "rp1"), "1..65");
    EXPECT_EQ(bus_range(t, "br"), "64..65");
    EXPECT_EQ(bus_range(t, "rp2"), "66..66");
}

TEST(FirmwareBusNumbers, HexAndDecimalAlike) {
    const from_yaml y("    - { id: rp1, type: root_port, secondary: 0x10, subordinate: 17 }\n");
    EXPECT_EQ(bus_range(y.build(), "rp1"), "16..17");
}

TEST(FirmwareBusNumbers, SecondaryNotAboveItsBus) {
    const from_yaml y(R"(    - { id: rp1, type: root_port, secondary: 4, subordinate: 8, children: [ { id: br, type: pci_bridge, secondary: 4 } ] }
)");
    EXPECT_EQ(y.error(), "FILE:4:116: secondary bus 4 of 'br' is not above bus 4, where it sits "
                         "(Linux would find the bridge misconfigured and renumber it)");
    const from_yaml zero("    - { id: rp1, type: root_port, secondary: 0 }\n");
    EXPECT_EQ(zero.error(), "FILE:4:46: secondary bus 0 of 'rp1' is not above bus 0, where it sits "
                            "(Linux would find the bridge misconfigured and renumber it)");
}

TEST(FirmwareBusNumbers, SubordinateBelowSecondary) {
    const from_yaml y("    - { id: rp1, type: root_port, secondary: 5, subordinate: 4 }\n");
    EXPECT_EQ(y.error(), "FILE:4:62: subordinate 4 of 'rp1' is below its secondary bus 5 "
                         "(Linux would find the bridge misconfigured and renumber it)");
}

TEST(FirmwareBusNumbers, SubordinateWithoutSecondary) {
    const from_yaml y("    - { id: rp1, type: root_port, subordinate: 4 }\n");
    EXPECT_EQ(y.error(), "FILE:4:48: subordinate without secondary on 'rp1': firmware programs both, or Linux numbers the bridge");
}

TEST(FirmwareBusNumbers, OutsideTheParentsRange) {
    const from_yaml y(R"(    - { id: rp1, type: root_port, secondary: 4, subordinate: 5, children: [ { id: br, type: pci_bridge, secondary: 5, subordinate: 6 } ] }
)");
    EXPECT_EQ(y.error(), "FILE:4:132: buses 5..6 of 'br': outside the range of 'rp1' (buses 4..5)");
}

TEST(FirmwareBusNumbers, OverlappingASibling) {
    const from_yaml y(R"(    - { id: rp1, type: root_port, secondary: 4, subordinate: 6 }
    - { id: rp2, type: root_port, secondary: 6, subordinate: 7 }
)");
    EXPECT_EQ(y.error(), "FILE:5:46: buses 6..7 of 'rp2' and buses 4..6 of 'rp1' overlap");
}

TEST(FirmwareBusNumbers, ASecondaryOnlyBridgeGrowingIntoASibling) {
    // rp1 takes 8 alone; rp2 (0x06, no subordinate) holds an unnumbered
    // bridge, which Linux's second pass gives bus 7, then 8 below it.
    const from_yaml y(R"(    - { id: rp1, type: root_port, secondary: 8, subordinate: 8 }
    - { id: rp2, type: root_port, secondary: 6, children: [ { id: br, type: pcie_pci_bridge, children: [ { id: br2, type: pci_bridge, at: "01.0" }, { id: br3, type: pci_bridge, at: "02.0" } ] } ] }
)");
    EXPECT_EQ(y.error(), "FILE:5:46: buses 6..9 of 'rp2' and bus 8 of 'rp1' overlap");
}

TEST(FirmwareBusNumbers, InUseByVirtualFunctions) {
    // The PF at 00:02.0 has VFs up to bus 1 (routing ID 0x0010 + 0x100 + ...).
    const from_yaml y(R"(    - { id: pf, type: rciep, at: "02.0", sriov: { total_vfs: 2, first_vf_offset: 0x100 } }
    - { id: rp1, type: root_port, secondary: 1, subordinate: 1 }
)");
    EXPECT_EQ(y.error(), "FILE:5:46: bus 1 of 'rp1': the virtual functions of 'pf' need bus 1 (pci_iov_bus_range())");
}

TEST(FirmwareBusNumbers, VirtualFunctionsBeyondTheBridgesRange) {
    const from_yaml y(R"(    - { id: rp1, type: root_port, secondary: 4, subordinate: 4, children: [
          { id: pf, type: endpoint, sriov: { total_vfs: 2, first_vf_offset: 0x100 } } ] }
)");
    EXPECT_EQ(y.error(), "FILE:5:11: the virtual functions of 'pf' need buses up to 5, beyond the range of 'rp1' (bus 4)");
}

TEST(FirmwareBusNumbers, NoBusLeftInsideTheRange) {
    const from_yaml y(R"(    - { id: rp1, type: root_port, secondary: 4, subordinate: 4, children: [ { id: br, type: pcie_pci_bridge } ] }
)");
    EXPECT_EQ(y.error(), "FILE:4:77: no bus number left for the secondary bus of 'br' within the range of 'rp1' (bus 4)");
}

TEST(FirmwareBusNumbers, ARootBusInsideARange) {
    const from_yaml y(R"(    - { id: rp1, type: root_port, secondary: 0x40, subordinate: 0x90 }
    - { id: hb, type: host_bridge, root_bus: 0x80 }
)");
    EXPECT_EQ(y.error(), "FILE:5:7: root_bus 128 of 'hb' is already used: buses up to 144 of segment 0 are taken");
}

TEST(FirmwareBusNumbers, OnlyOnBridges) {
    const from_yaml ep("    - { id: ep, type: rciep, secondary: 1 }\n");
    EXPECT_EQ(ep.error(), "FILE:4:41: secondary belongs to a bridge (root_port, upstream_port, downstream_port, pcie_pci_bridge, "
                          "pci_bridge); 'ep' is of type rciep");
    const from_yaml hb("    - { id: hb, type: host_bridge, root_bus: 0x80, subordinate: 0x81 }\n");
    EXPECT_EQ(hb.error(), "FILE:4:65: subordinate belongs to a bridge (root_port, upstream_port, downstream_port, pcie_pci_bridge, "
                          "pci_bridge); 'hb' is of type host_bridge (its bus is root_bus)");
    const from_yaml big("    - { id: rp1, type: root_port, secondary: 256 }\n");
    EXPECT_EQ(big.error(), "FILE:4:46: secondary must be a bus number, 0..255");
}

TEST(SegmentRootBus, BusZeroOfAnotherSegment) {
    const from_yaml y(R"(    - { id: rp1, type: root_port }
    - { id: hb1, type: host_bridge, segment: 1, root_bus: 0, children: [
          { id: br, type: pci_bridge, at: "02.0", secondary: 0x21, subordinate: 0x30, children: [ { id: nic, type: pci_device, at: "01.0" } ] },
          { id: br2, type: pci_bridge, at: "02.2" } ] }
    - { id: hb2, type: host_bridge, segment: 2, root_bus: 0 }
)");
    const topology t = y.build();
    EXPECT_EQ(t.at("br").bdf_string(), "0001:00:02.0");
    EXPECT_EQ(t.at("nic").bdf_string(), "0001:21:01.0");
    // Linux's second pass in segment 1: after 0x30.
    EXPECT_EQ(bus_range(t, "br2"), "49..49");
    EXPECT_EQ(t.at("rp1").bdf_string(), "0000:00:01.0");
    EXPECT_EQ(bus_range(t, "rp1"), "1..1");
}

TEST(SegmentRootBus, BusZeroOfSegmentZeroOrTwiceInOneSegment) {
    const from_yaml own("    - { id: hb, type: host_bridge, root_bus: 0 }\n");
    EXPECT_EQ(own.error(), "FILE:4:46: root_bus 0 of segment 0 is the root complex's own bus; give another bus, or a segment");
    const from_yaml twice(R"(    - { id: hb1, type: host_bridge, segment: 1, root_bus: 0 }
    - { id: hb2, type: host_bridge, segment: 1, root_bus: 0 }
)");
    EXPECT_EQ(twice.error(), "FILE:5:7: root_bus 0 of 'hb2' is already used: buses up to 0 of segment 1 are taken");
}

} // namespace
