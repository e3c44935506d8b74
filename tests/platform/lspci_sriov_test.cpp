// An SR-IOV NIC imported from lspci text: an Intel 82576 (pciutils' dump of
// real hardware, tests/data/sysfs/README.md) with one of its eight VFs
// enabled. Its SR-IOV capability becomes the scenario's `sriov`, the VF
// appears at PF + First VF Offset, and Linux 6.1 gives PF and VF groups of
// their own (the 82576's multi-function ACS quirk, and a VF never shares).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "platform/iommu_groups.h"
#include "platform/loader.h"
#include "platform/lspci_hierarchy.h"
#include "platform/lspci_scenario.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace iotwin::platform;

TEST(LspciSriov, TheNicsVfsComeFromItsSriovCapability) {
    std::ifstream in(std::string(IOTWIN_SOURCE_DIR) + "/tests/data/sysfs/intel-82576-sriov.vvvnn.txt");
    const lspci_text::listing l = lspci_text::parse(in);
    EXPECT_TRUE(l.skipped.empty());
    ASSERT_EQ(l.functions.size(), 1u);
    ASSERT_TRUE(l.functions[0].sriov);
    std::ostringstream yaml;
    lspci_scenario::write(l, lspci_hierarchy::rebuild(l), {}, yaml);
    iotwin::test::temp_dir dir;
    const scenario s = load_scenario(dir.write("nic.yaml", yaml.str()));
    const topology t = build_topology(s.platform);
    const topo_function& pf = t.at("pci-01-00-0");
    ASSERT_TRUE(pf.node && pf.node->sriov);
    EXPECT_EQ(pf.node->sriov->total_vfs, 8u);
    EXPECT_EQ(pf.node->sriov->num_vfs, 1u);
    const topo_function& vf = t.at("pci-01-00-0-vf0");
    EXPECT_TRUE(vf.is_vf);
    EXPECT_EQ(vf.device, 0x10ca);
    // Routing ID 01:00.0 + First VF Offset 384 = 02:10.0.
    EXPECT_EQ(vf.bdf_string(), "0000:02:10.0");
    const group_result g = compute_groups(t);
    EXPECT_NE(g.group_of[static_cast<std::size_t>(t.by_id.at("pci-01-00-0"))], g.group_of[static_cast<std::size_t>(t.by_id.at("pci-01-00-0-vf0"))]);
}

} // namespace
