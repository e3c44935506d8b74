// Real machines' `lspci -vvnn` listings, with the IOMMU groups their kernels
// formed (tests/data/lspci, provenance in its README): each is read,
// rebuilt, written as a scenario, loaded, grouped by the twin as Linux 6.1
// would, and compared with the kernel's groups. Where they differ, the
// comment says why, from what the listing shows.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "platform/iommu_groups.h"
#include "platform/loader.h"
#include "tests/support/temp_dir.h"
#include "platform/lspci_compare.h"
#include "platform/lspci_hierarchy.h"
#include "platform/lspci_scenario.h"
#include "platform/lspci_text.h"
#include "platform/topology.h"

namespace {

using namespace iotwin::platform;

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
}

// A differing kernel group, keyed by the twin group(s) its functions fell
// into (members joined by spaces, groups by " | "); the value lists every
// kernel group that fell into them, each as its functions joined by spaces.
using splits = std::map<std::string, std::vector<std::string>>;

struct machine {
    lspci_text::listing listing;
    lspci_compare::comparison comparison;
    std::vector<unsigned> same;  // kernel groups the twin formed exactly
    splits differing;
    std::size_t twin_functions = 0;
    // Bridges whose capabilities lspci could not read, by address: the type
    // the hierarchy gave them, and how many port types it inferred from
    // "Kernel driver in use: pcieport" (each said in a comment).
    std::map<std::string, node_type> hidden_bridges;
    std::size_t inferred = 0;

    // The functions of kernel group g, joined by spaces.
    std::string functions_of(unsigned g) const {
        for (const auto& row : comparison.rows)
            if (row.kernel_group == g) return join(row.functions);
        return std::string();
    }
};

void collect_hidden_bridges(const std::vector<lspci_hierarchy::node>& nodes, std::map<std::string, node_type>& out) {
    for (const lspci_hierarchy::node& n : nodes) {
        if (n.function->capabilities_denied && n.function->secondary_bus) out[n.function->address()] = n.type;
        collect_hidden_bridges(n.children, out);
    }
}

machine import(const std::string& name) {
    machine r;
    std::ifstream in(std::string(IOTWIN_SOURCE_DIR) + "/tests/data/lspci/" + name);
    EXPECT_TRUE(in.good()) << name;
    r.listing = lspci_text::parse(in);
    const lspci_hierarchy::machine m = lspci_hierarchy::rebuild(r.listing);
    for (const lspci_hierarchy::root_bus& root : m.roots) collect_hidden_bridges(root.children, r.hidden_bridges);
    for (const lspci_hierarchy::problem& p : m.problems) r.inferred += p.why.rfind("port type inferred from the pcieport driver: ", 0) == 0;
    std::ostringstream yaml;
    lspci_scenario::options o;
    o.source = name;
    lspci_scenario::write(r.listing, m, o, yaml);
    const iotwin::test::temp_dir dir;
    const std::string file = dir.write("scenario.yaml", yaml.str());
    const scenario s = load_scenario(file);
    const topology t = build_topology(s.platform);
    const group_result g = compute_groups(t);
    r.twin_functions = t.functions.size();
    r.comparison = lspci_compare::compare(r.listing, t, g);
    for (const lspci_compare::row& row : r.comparison.rows) {
        if (row.same) {
            r.same.push_back(row.kernel_group);
            continue;
        }
        std::string key;
        for (int tg : row.twin_groups) {
            std::vector<std::string> ids;
            for (int f : g.groups[static_cast<std::size_t>(tg)].members) ids.push_back(t.functions[static_cast<std::size_t>(f)].id);
            key += (key.empty() ? "" : " | ") + join(ids);
        }
        r.differing[key].push_back(join(row.functions));
    }
    return r;
}

std::string skipped_of(const lspci_text::listing& l) {
    std::string s;
    for (const auto& d : l.skipped) s += std::to_string(d.line) + ": " + d.why + "\n";
    return s;
}

// An Intel laptop run as root on Debian 12's 6.1 kernel: every capability
// is in the listing, and the twin forms every group the kernel formed.
TEST(LspciRealMachines, DellXps13WithAThunderboltDockGroupsAsItsKernel) {
    const machine x = import("dell-xps13-9380-cannonpoint-thunderbolt.vvnn.txt");
    EXPECT_TRUE(x.listing.skipped.empty()) << skipped_of(x.listing);
    EXPECT_TRUE(x.listing.notes.empty());
    EXPECT_EQ(x.listing.functions.size(), 32u);
    EXPECT_EQ(x.twin_functions, 31u);  // all but 00:00.0, the root complex's host bridge, which a scenario does not declare

    // 20 kernel groups, all formed by the twin; the kernel's group 1 is
    // 00:00.0, the host bridge a scenario does not declare.
    EXPECT_EQ(x.same, (std::vector<unsigned>{0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}));
    EXPECT_TRUE(x.differing.empty());
    EXPECT_EQ(x.comparison.not_in_twin, (std::vector<std::string>{"0000:00:00.0"}));
    EXPECT_TRUE(x.comparison.without_group.empty());

    // The groups that show the rules at work:
    // Multi-function chipset devices without ACS (PCIe 3.0 6.12.1.2): one group.
    EXPECT_EQ(x.functions_of(12), "0000:00:1f.0 0000:00:1f.3 0000:00:1f.4 0000:00:1f.5");
    // The Thunderbolt controller's downstream ports have no ACS capability:
    // each shares its group with what is below it ...
    EXPECT_EQ(x.functions_of(16), "0000:04:00.0 0000:05:00.0");
    // ... and the dock's downstream ports, which have ACS (SrcValid+
    // TransBlk+ UpstreamFwd+, ReqRedir- CmpltRedir-), cannot isolate what is
    // below them once the path above them is not isolated.
    EXPECT_EQ(x.functions_of(19), "0000:04:04.0 0000:3a:00.0 0000:3b:02.0 0000:3b:04.0 0000:3c:00.0");
}

// The same board model (another machine) listed as root under Proxmox's
// 6.5 kernel, a GPU and an NVMe drive bound to vfio-pci: with every
// capability in the listing the twin forms every group the kernel formed,
// and the groups the non-root listing above could not explain show why.
TEST(LspciRealMachines, GigabyteX570ListedAsRootGroupsAsItsKernel) {
    const machine x = import("gigabyte-x570-aorus-elite-wifi-proxmox-root.vvnn.txt");
    EXPECT_TRUE(x.listing.skipped.empty()) << skipped_of(x.listing);
    EXPECT_EQ(x.listing.functions.size(), 53u);
    EXPECT_EQ(x.twin_functions, 51u);  // all but 00:00.0 and 00:00.2
    EXPECT_EQ(x.comparison.not_in_twin, (std::vector<std::string>{"0000:00:00.0", "0000:00:00.2"}));
    EXPECT_EQ(x.comparison.rows.size(), 35u);
    EXPECT_EQ(x.comparison.differing(), 0u);
    EXPECT_TRUE(x.differing.empty());

    // The chipset switch's downstream ports 1022:57a4 have no ACS
    // capability: what is below shares their group.
    EXPECT_EQ(x.functions_of(21), "0000:03:08.0 0000:09:00.0 0000:09:00.1 0000:09:00.3");
    // The NVIDIA GPU's four functions have no ACS capability: one group.
    EXPECT_EQ(x.functions_of(29), "0000:0c:00.0 0000:0c:00.1 0000:0c:00.2 0000:0c:00.3");
    // The processor's own multi-function endpoints each have an ACS
    // capability that implements nothing ("ACSCap: SrcValid- ... DirectTrans-"):
    // Linux counts a flag the capability does not implement as enabled, so
    // each function is a group of its own.
    EXPECT_EQ(x.functions_of(31), "0000:0e:00.0");
    EXPECT_EQ(x.functions_of(34), "0000:0e:00.4");
}

// An AMD desktop on Debian 12's 6.1 kernel, listed without root.
TEST(LspciRealMachines, GigabyteX570ListedWithoutRootDiffersWhereCapabilitiesAreHidden) {
    const machine x = import("gigabyte-x570-aorus-elite-wifi-matisse.vvnn.txt");
    // One warning for the 29 functions whose capabilities lspci could not read.
    ASSERT_EQ(x.listing.skipped.size(), 1u) << skipped_of(x.listing);
    EXPECT_EQ(x.listing.skipped[0].line, 11);
    EXPECT_NE(x.listing.skipped[0].why.find("29 function(s)"), std::string::npos);
    EXPECT_EQ(x.listing.functions.size(), 47u);
    EXPECT_EQ(x.twin_functions, 45u);  // all but 00:00.0 and 00:00.2, the functions of the root complex's host-bridge device

    // The root complex's host bridge 00:00.0 and its IOMMU function 00:00.2
    // (which the kernel puts in no group) are not in the scenario.
    EXPECT_EQ(x.comparison.not_in_twin, (std::vector<std::string>{"0000:00:00.0", "0000:00:00.2"}));
    EXPECT_TRUE(x.comparison.without_group.empty());

    // The same: the single-function dummy host bridges 00:02.0, 00:04.0 and
    // 00:05.0 (conventional, "Status: Cap-", so nothing was hidden), the FCH's
    // SMBus and LPC functions together (a multi-function device without
    // ACS; pci_quirk_amd_sb_acs lists older southbridge IDs, not 790b/790e),
    // and the data fabric's eight functions 00:18.x together.
    EXPECT_EQ(x.same, (std::vector<unsigned>{2, 5, 6, 12, 13}));
    EXPECT_EQ(x.comparison.differing(), 27u);

    // Every bridge bound to pcieport is a PCI Express port (the port driver
    // binds to nothing else), its type inferred from where it sits: the
    // processor's GPP bridges are Root Ports, the chipset's and the GPU's
    // switches an upstream port with downstream ports below it.
    EXPECT_EQ(x.inferred, 13u);
    const std::map<std::string, node_type> ports = {
        {"0000:00:01.2", node_type::root_port},       {"0000:00:03.1", node_type::root_port},
        {"0000:00:07.1", node_type::root_port},       {"0000:00:08.1", node_type::root_port},
        {"0000:00:08.3", node_type::root_port},       {"0000:01:00.0", node_type::upstream_port},
        {"0000:02:03.0", node_type::downstream_port}, {"0000:02:04.0", node_type::downstream_port},
        {"0000:02:08.0", node_type::downstream_port}, {"0000:02:09.0", node_type::downstream_port},
        {"0000:02:0a.0", node_type::downstream_port}, {"0000:08:00.0", node_type::upstream_port},
        {"0000:09:00.0", node_type::downstream_port},
    };
    EXPECT_EQ(x.hidden_bridges, ports);

    // Every difference comes from "Capabilities: <access denied>": the
    // ports' ACS capability (and the endpoints') is hidden, so the twin has
    // ports without ACS, and a port without ACS shares its group with
    // everything below it (Linux 6.1 pci_device_group(): the path up is not
    // ACS-isolated), while on the machine these ports have ACS (the listing
    // run as root of the same board shows it). The evidence in the listing:
    // "Capabilities: <access denied>" in each record, and the kernel's
    // separate groups for a port and what is below it.
    const splits expected = {
        // Below GPP bridge 00:01.2 (1022:1483, a Root Port with ACS on
        // listings run as root): the X570 chipset's switch (upstream port
        // 01:00.0, downstream ports 02:xx.0). The kernel isolated the root
        // port from its sibling, the dummy host bridge 00:01.0 (Cap-: no
        // ACS, but pci_acs_enabled() of the root port holds, so
        // get_pci_function_alias_group() passes it by), the upstream port, and
        // the downstream ports 02:03.0/02:04.0 from their endpoints (ports
        // with ACS); 02:08.0, 02:09.0 and 02:0a.0 (1022:57a4) share a group
        // with what is below them: 1022:57a4 has no ACS capability (the
        // root listing of the same board shows it), and the three functions
        // of 05:00 share it too.
        {"pci-00-01-0 pci-00-01-2 pci-01-00-0 pci-02-03-0 pci-02-04-0 pci-02-08-0 pci-02-09-0 pci-02-0a-0 pci-03-00-0 pci-04-00-0 "
         "pci-05-00-0 pci-05-00-1 pci-05-00-3 pci-06-00-0 pci-07-00-0",
         {"0000:00:01.0", "0000:00:01.2", "0000:01:00.0", "0000:02:03.0", "0000:02:04.0", "0000:02:08.0 0000:05:00.0 0000:05:00.1 0000:05:00.3",
          "0000:02:09.0 0000:06:00.0", "0000:02:0a.0 0000:07:00.0", "0000:03:00.0", "0000:04:00.0"}},
        // GPP bridge 00:03.1 and the Navi 10 GPU's own switch (08:00.0
        // upstream, 09:00.0 downstream), all isolated by the kernel. The GPU
        // 0a:00.0 and its HDMI audio 0a:00.1 are in groups of their own: a
        // multi-function device whose functions Linux found ACS-isolated,
        // which needs an ACS capability on both (pci_acs_flags_enabled():
        // flags the capability does not implement count as enabled) — hidden
        // behind <access denied> here. No ACS quirk of Linux 6.1 names them.
        {"pci-00-03-0 pci-00-03-1 pci-08-00-0 pci-09-00-0 pci-0a-00-0 pci-0a-00-1",
         {"0000:00:03.0", "0000:00:03.1", "0000:08:00.0", "0000:09:00.0", "0000:0a:00.0", "0000:0a:00.1"}},
        // Internal GPP bridge 00:07.1 (1022:1484) and the dummy function below it.
        {"pci-00-07-0 pci-00-07-1 pci-0b-00-0", {"0000:00:07.0", "0000:00:07.1", "0000:0b:00.0"}},
        // Internal GPP bridges 00:08.1 and 00:08.3 and what is below them:
        // the four functions of 0c:00 (reserved SPP, PSP, USB, HD audio) in
        // four groups. Listed as root (the same functions at 0e:00.x in
        // gigabyte-x570-aorus-elite-wifi-proxmox-root) each has an ACS
        // capability that implements nothing, which Linux counts as enabled.
        {"pci-00-08-0 pci-00-08-1 pci-00-08-3 pci-0c-00-0 pci-0c-00-1 pci-0c-00-3 pci-0c-00-4 pci-0d-00-0",
         {"0000:00:08.0", "0000:00:08.1", "0000:00:08.3", "0000:0c:00.0", "0000:0c:00.1", "0000:0c:00.3", "0000:0c:00.4", "0000:0d:00.0"}},
    };
    EXPECT_EQ(x.differing, expected);
}

// A Xeon E5 v4 on the C610/X99 chipset under Proxmox's 6.8 kernel, listed
// without root.
TEST(LspciRealMachines, AsrockX99ListedWithoutRootDiffersWhereCapabilitiesAreHidden) {
    const machine x = import("asrock-x99-extreme4-c610.vvnn.txt");
    ASSERT_EQ(x.listing.skipped.size(), 1u) << skipped_of(x.listing);
    EXPECT_EQ(x.listing.skipped[0].line, 8);
    EXPECT_NE(x.listing.skipped[0].why.find("34 function(s)"), std::string::npos);
    EXPECT_EQ(x.listing.functions.size(), 88u);
    EXPECT_EQ(x.twin_functions, 88u);  // less 00:00.0, plus the host bridge that opens root bus ff
    EXPECT_EQ(x.comparison.not_in_twin, (std::vector<std::string>{"0000:00:00.0"}));
    EXPECT_TRUE(x.comparison.without_group.empty());

    // The same: single-function chipset devices (00:14.0, 00:19.0, 00:1a.0,
    // 00:1b.0, 00:1d.0), the LPC and SMBus functions together, and the
    // uncore devices whose functions have no capability list at all
    // ("Status: Cap-": conventional, nothing hidden), each device one group.
    EXPECT_EQ(x.same, (std::vector<unsigned>{0, 1, 2, 3, 4, 5, 6, 27, 28, 38, 39, 40, 41, 42}));
    EXPECT_EQ(x.comparison.differing(), 30u);

    // The listing's two bridges are bound to pcieport and sit on the root
    // bus: Root Ports.
    EXPECT_EQ(x.inferred, 2u);
    EXPECT_EQ(x.hidden_bridges, (std::map<std::string, node_type>{{"0000:00:01.0", node_type::root_port}, {"0000:00:03.0", node_type::root_port}}));

    const splits expected = {
        // Root ports 00:01.0 and 00:03.0 (8086:6f02, 6f08: Root Ports with
        // ACS on listings run as root), known as root ports from the
        // pcieport driver but with their ACS hidden: the twin counts them
        // without ACS and puts the NVMe drive, and the GPU with its audio
        // function, in their groups. The GPU's two functions share a group
        // on the machine (a multi-function endpoint without ACS).
        {"pci-00-01-0 pci-01-00-0", {"0000:00:01.0", "0000:01:00.0"}},
        {"pci-00-03-0 pci-02-00-0 pci-02-00-1", {"0000:00:03.0", "0000:02:00.0 0000:02:00.1"}},
        // The functions of one device in groups of their own: Linux found
        // all of them, or all but one, ACS-isolated (get_pci_function_alias_group()
        // joins a function only to a sibling that is not). For Intel
        // functions with a capability list ("Status: Cap+", then
        // "Capabilities: <access denied>") that is a Root Complex Integrated
        // Endpoint: Linux 6.1 counts every Intel RCiEP as ACS-isolated
        // (pci_quirk_rciep_acs, { PCI_VENDOR_ID_INTEL, PCI_ANY_ID } in
        // pci_dev_acs_enabled[]). Without the Express capability the twin
        // sees a multi-function conventional device, one group: the
        // processor's integrated devices 00:05.x, and the chipset's SPSR
        // 00:11.0 with its sSATA controller 00:11.4.
        {"pci-00-05-0 pci-00-05-1 pci-00-05-2 pci-00-05-4", {"0000:00:05.0", "0000:00:05.1", "0000:00:05.2", "0000:00:05.4"}},
        {"pci-00-11-0 pci-00-11-4", {"0000:00:11.0", "0000:00:11.4"}},
        // The same on the uncore's bus ff: in each of devices 13, 14, 16 and
        // 17 the functions with "Status: Cap+" (RCiEPs, the quirk above) are
        // alone, and those with "Status: Cap-" (conventional, never isolated)
        // share one group, which none of the first joined: so every one of
        // them is isolated.
        {"pci-ff-13-0 pci-ff-13-1 pci-ff-13-2 pci-ff-13-3 pci-ff-13-6 pci-ff-13-7",
         {"0000:ff:13.0", "0000:ff:13.1", "0000:ff:13.2", "0000:ff:13.3", "0000:ff:13.6 0000:ff:13.7"}},
        {"pci-ff-14-0 pci-ff-14-1 pci-ff-14-2 pci-ff-14-3 pci-ff-14-4 pci-ff-14-5 pci-ff-14-6 pci-ff-14-7",
         {"0000:ff:14.0", "0000:ff:14.1", "0000:ff:14.2", "0000:ff:14.3", "0000:ff:14.4 0000:ff:14.5 0000:ff:14.6 0000:ff:14.7"}},
        {"pci-ff-16-0 pci-ff-16-1 pci-ff-16-2 pci-ff-16-3 pci-ff-16-6 pci-ff-16-7",
         {"0000:ff:16.0", "0000:ff:16.1", "0000:ff:16.2", "0000:ff:16.3", "0000:ff:16.6 0000:ff:16.7"}},
        {"pci-ff-17-0 pci-ff-17-1 pci-ff-17-2 pci-ff-17-3 pci-ff-17-4 pci-ff-17-5 pci-ff-17-6 pci-ff-17-7",
         {"0000:ff:17.0", "0000:ff:17.1", "0000:ff:17.2", "0000:ff:17.3", "0000:ff:17.4 0000:ff:17.5 0000:ff:17.6 0000:ff:17.7"}},
    };
    EXPECT_EQ(x.differing, expected);
}

// An EPYC 7003 (Milan) server, listed as root on Debian 12's 6.1 kernel: four
// root buses (00, 40, 80, c0), each behind its own AMD IOMMU; an Intel X550
// NIC with SR-IOV; a Radeon Pro W5700 with its audio, USB and serial
// functions behind the GPU's own switch; the BMC's VGA behind a PCIe-to-PCI
// bridge. The twin forms every group the kernel formed.
TEST(LspciRealMachines, EpycServerWithAnSriovNicGroupsAsItsKernel) {
    const std::string name = "asrockrack-romed8-2t-epyc-milan.vvnn.txt";
    const machine x = import(name);
    EXPECT_TRUE(x.listing.skipped.empty()) << skipped_of(x.listing);
    EXPECT_TRUE(x.listing.notes.empty());
    EXPECT_EQ(x.listing.functions.size(), 104u);
    EXPECT_EQ(x.twin_functions, 105u);  // less 00:00.0 and 00:00.2, plus the host bridges that open root buses 40, 80 and c0
    EXPECT_EQ(x.comparison.not_in_twin, (std::vector<std::string>{"0000:00:00.0", "0000:00:00.2"}));
    // The other root complexes' host bridges and IOMMU functions: the kernel
    // gave them no group (the IOMMU does not translate for itself).
    EXPECT_EQ(x.comparison.without_group, (std::vector<std::string>{"0000:40:00.0", "0000:40:00.2", "0000:80:00.0", "0000:80:00.2",
                                                                   "0000:c0:00.0", "0000:c0:00.2"}));
    EXPECT_EQ(x.comparison.rows.size(), 87u);
    EXPECT_EQ(x.comparison.differing(), 0u);
    EXPECT_TRUE(x.differing.empty());

    // The X550's disabled port 0 (8086:10a6, a dummy function) and its port 1,
    // the SR-IOV physical function: each function's ACS capability
    // implements nothing, which Linux counts as every flag enabled, so each
    // is a group of its own.
    EXPECT_EQ(x.functions_of(57), "0000:42:00.0");
    EXPECT_EQ(x.functions_of(58), "0000:42:00.1");
    // The GPU and its HDMI audio function apart, for the same reason.
    EXPECT_EQ(x.functions_of(30), "0000:83:00.0");
    EXPECT_EQ(x.functions_of(31), "0000:83:00.1");
    // The AST1150 bridge to conventional PCI takes over its VGA's requests.
    EXPECT_EQ(x.functions_of(60), "0000:45:00.0 0000:46:00.0");
    // The data fabric's eight functions: one conventional multi-function device.
    EXPECT_EQ(x.functions_of(80), "0000:00:18.0 0000:00:18.1 0000:00:18.2 0000:00:18.3 0000:00:18.4 0000:00:18.5 0000:00:18.6 0000:00:18.7");
}

// The same NIC with VFs enabled: its SR-IOV capability, as listed, places
// them at 42:00.1 + First VF Offset 128, stride 2; each is a group of its own.
TEST(LspciRealMachines, EpycServersSriovNicGivesEachVfAGroup) {
    std::ifstream in(std::string(IOTWIN_SOURCE_DIR) + "/tests/data/lspci/asrockrack-romed8-2t-epyc-milan.vvnn.txt");
    const lspci_text::listing l = lspci_text::parse(in);
    std::ostringstream out;
    lspci_scenario::write(l, lspci_hierarchy::rebuild(l), {}, out);
    std::string yaml = out.str();
    const std::string listed = "sriov: {total_vfs: 64, num_vfs: 0, first_vf_offset: 128, vf_stride: 2, vf_device: 0x1565}";
    const std::size_t at = yaml.find(listed);
    ASSERT_NE(at, std::string::npos) << yaml;
    yaml.replace(at, listed.size(), "sriov: {total_vfs: 64, num_vfs: 4, first_vf_offset: 128, vf_stride: 2, vf_device: 0x1565}");
    const iotwin::test::temp_dir dir;
    const scenario s = load_scenario(dir.write("scenario.yaml", yaml));
    const topology t = build_topology(s.platform);
    const group_result g = compute_groups(t);
    const auto group_of = [&](const std::string& id) { return g.group_of[static_cast<std::size_t>(t.by_id.at(id))]; };
    const std::vector<std::string> bdfs = {"0000:42:10.1", "0000:42:10.3", "0000:42:10.5", "0000:42:10.7"};
    std::set<int> groups = {group_of("pci-42-00-0"), group_of("pci-42-00-1")};
    for (unsigned i = 0; i < 4; ++i) {
        const topo_function& vf = t.at("pci-42-00-1-vf" + std::to_string(i));
        EXPECT_TRUE(vf.is_vf);
        EXPECT_EQ(vf.device, 0x1565);
        EXPECT_EQ(vf.bdf_string(), bdfs[i]);
        groups.insert(group_of(vf.id));
        EXPECT_EQ(g.groups[static_cast<std::size_t>(group_of(vf.id))].members.size(), 1u);
    }
    EXPECT_EQ(groups.size(), 6u);  // two functions and four VFs, six groups
}

// A Xeon E5 v3 desktop (Huanan X99-F8) listed as root under Proxmox's 6.8
// kernel, with a PCIe switch on an add-in card: an Intel PRO/1000 PT Quad
// Port adapter, two 82571EB controllers behind an IDT PES12N3A switch whose
// downstream ports have no ACS. The twin forms every group the kernel formed,
// and its fabric shows what those groups do not: the switch routes a request
// from below one downstream port to the controller below the other.
TEST(LspciRealMachines, X99WithASwitchCardGroupsAsItsKernel) {
    const machine x = import("huanan-x99-f8-idt-switch-nic.vvnn.txt");
    // A warning of lspci's library, which hw-probe captured with the
    // listing, breaks a line of the SAS controller's record: both named.
    ASSERT_EQ(x.listing.skipped.size(), 2u) << skipped_of(x.listing);
    EXPECT_EQ(x.listing.skipped[0].line, 1267);
    EXPECT_EQ(x.listing.skipped[1].line, 1268);
    EXPECT_EQ(x.listing.functions.size(), 96u);
    EXPECT_EQ(x.twin_functions, 96u);  // less 00:00.0, plus the host bridge that opens root bus ff
    EXPECT_EQ(x.comparison.not_in_twin, (std::vector<std::string>{"0000:00:00.0"}));
    EXPECT_TRUE(x.comparison.without_group.empty());
    EXPECT_EQ(x.comparison.rows.size(), 36u);
    EXPECT_EQ(x.comparison.differing(), 0u);
    EXPECT_TRUE(x.differing.empty());

    // The switch's upstream port alone (the root port above has ACS, and a
    // single-function upstream port needs none); each downstream port, which
    // has no ACS capability, with the controller's two functions below it.
    EXPECT_EQ(x.functions_of(30), "0000:01:00.0");
    EXPECT_EQ(x.functions_of(31), "0000:02:02.0 0000:03:00.0 0000:03:00.1");
    EXPECT_EQ(x.functions_of(32), "0000:02:04.0 0000:04:00.0 0000:04:00.1");
}

// A Meteor Lake laptop (Lenovo ThinkBook 14 G7 IML, Debian's 6.11 kernel),
// its listing as it reached a mailing list: the bug report quoted in a
// reply ("> " before every line) and sent quoted-printable ("=3D" for '=',
// long lines broken with a final '='). lspci ran without root.
TEST(LspciRealMachines, LenovoThinkBookPastedFromAMailDiffersWhereCapabilitiesAreHidden) {
    const machine x = import("lenovo-thinkbook14-g7-meteorlake.mail-quoted-printable.txt");
    // What the reader undid, each said once, at the input's own line numbers.
    ASSERT_EQ(x.listing.notes.size(), 2u);
    EXPECT_EQ(x.listing.notes[0].line, 3);  // the first line broken with '='
    EXPECT_NE(x.listing.notes[0].why.find("quoted-printable"), std::string::npos);
    EXPECT_EQ(x.listing.notes[1].line, 1);
    EXPECT_NE(x.listing.notes[1].why.find("quoted 1 deep"), std::string::npos);
    // One warning for the functions whose capabilities lspci could not read,
    // at the first "Capabilities: <access denied>" (line 9 of the mail).
    ASSERT_EQ(x.listing.skipped.size(), 1u) << skipped_of(x.listing);
    EXPECT_EQ(x.listing.skipped[0].line, 9);
    EXPECT_NE(x.listing.skipped[0].why.find("25 function(s)"), std::string::npos);
    EXPECT_EQ(x.listing.functions.size(), 28u);
    EXPECT_EQ(x.twin_functions, 27u);  // all but 00:00.0, the root complex's host bridge
    EXPECT_EQ(x.comparison.not_in_twin, (std::vector<std::string>{"0000:00:00.0"}));
    EXPECT_TRUE(x.comparison.without_group.empty());

    // The same: the integrated endpoints (GPU 00:02.0, 00:04.0, 00:08.0,
    // 00:0a.0, NPU 00:0b.0, 00:16.0), the Thunderbolt 4 root port 00:07.0
    // with nothing below it, and the chipset's multi-function devices
    // (Thunderbolt USB 00:0d.x, USB 00:14.x, serial 00:15.x, 00:1f.x), each
    // one group, as conventional multi-function devices are.
    EXPECT_EQ(x.same, (std::vector<unsigned>{0, 2, 5, 6, 7, 8, 9, 10, 11, 12, 15}));
    EXPECT_EQ(x.comparison.rows.size(), 19u);
    EXPECT_EQ(x.comparison.differing(), 8u);

    // Every bridge is bound to pcieport and sits on the root bus: each is a
    // Root Port (the port driver binds only to PCI Express ports).
    EXPECT_EQ(x.inferred, 5u);
    const std::map<std::string, node_type> ports = {
        {"0000:00:06.0", node_type::root_port}, {"0000:00:06.2", node_type::root_port}, {"0000:00:07.0", node_type::root_port},
        {"0000:00:1c.0", node_type::root_port}, {"0000:00:1c.6", node_type::root_port},
    };
    EXPECT_EQ(x.hidden_bridges, ports);

    // Both differences: two functions of one device that are PCI Express
    // Root Ports, with "Capabilities: <access denied>". The twin has them
    // as root ports whose ACS capability the listing hides, so without ACS:
    // one multi-function device whose functions are not isolated from each
    // other, and each drive below shares its port's group (the path up is
    // not ACS-isolated). The kernel put each root port, and each endpoint
    // below, in a group of its own: the ports have ACS. The Intel root-port ACS
    // quirks (pci_quirk_intel_pch_acs, pci_quirk_intel_spt_pch_acs) match
    // older chipsets' device IDs, not 7eca/7ecb/7e3d/7e3e: it is the ports'
    // own ACS capability, hidden here.
    const splits expected = {
        // Processor root ports 00:06.0 (8086:7eca) and 00:06.2 (8086:7ecb),
        // an NVMe drive below each.
        {"pci-00-06-0 pci-00-06-2 pci-01-00-0 pci-02-00-0", {"0000:00:06.0", "0000:00:06.2", "0000:01:00.0", "0000:02:00.0"}},
        // Chipset root ports 00:1c.0 (8086:7e3d) and 00:1c.6 (8086:7e3e),
        // the Wi-Fi adapter 44:00.0 and the card reader 45:00.0 below them.
        {"pci-00-1c-0 pci-00-1c-6 pci-44-00-0 pci-45-00-0", {"0000:00:1c.0", "0000:00:1c.6", "0000:44:00.0", "0000:45:00.0"}},
    };
    EXPECT_EQ(x.differing, expected);
}

} // namespace
