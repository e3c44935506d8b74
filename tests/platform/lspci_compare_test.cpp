// The kernel's groups (IOMMU group lines) against the twin's groups of the
// imported scenario: a listing whose kernel grouped as Linux 6.1 does
// compares equal group by group; a listing whose kernel reported other
// groups shows each difference.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "platform/loader.h"
#include "platform/lspci_compare.h"
#include "platform/lspci_scenario.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace iotwin::platform;

// Two root ports with ACS enabled, each with an endpoint; the second's
// endpoint is a two-function device without ACS (and without an ACS quirk:
// Linux 6.1 isolates the functions of some NICs, the I350 among them).
std::string machine(unsigned group_of_01_00_0, unsigned group_of_02_00_1) {
    const std::string acs =
        "\tCapabilities: [220 v1] Access Control Services\n"
        "\t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-\n"
        "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-\n";
    auto port = [&](const char* at, unsigned sec, unsigned group) {
        char buf[512];
        std::snprintf(buf, sizeof buf,
                      "00:%s PCI bridge [0604]: Intel Corporation Device [8086:a110] (rev f0) (prog-if 00 [Normal decode])\n"
                      "\tIOMMU group: %u\n"
                      "\tBus: primary=00, secondary=%02x, subordinate=%02x, sec-latency=0\n"
                      "\tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00\n",
                      at, group, sec, sec);
        return std::string(buf) + acs + "\tKernel driver in use: pcieport\n\n";
    };
    auto ep = [&](const char* bdf, unsigned group) {
        char buf[512];
        std::snprintf(buf, sizeof buf,
                      "%s Ethernet controller [0200]: Realtek Semiconductor Co., Ltd. RTL8111/8168/8411 PCI Express Gigabit Ethernet Controller [10ec:8168] (rev 15)\n"
                      "\tIOMMU group: %u\n"
                      "\tRegion 0: Memory at 91000000 (32-bit, non-prefetchable) [size=1M]\n"
                      "\tCapabilities: [a0] Express (v2) Endpoint, MSI 00\n"
                      "\tKernel driver in use: r8169\n\n",
                      bdf, group);
        return std::string(buf);
    };
    return port("01.0", 1, 1) + port("02.0", 2, 2) + ep("01:00.0", group_of_01_00_0) + ep("02:00.0", 4) + ep("02:00.1", group_of_02_00_1);
}

lspci_compare::comparison compare_text(const std::string& text, std::size_t skipped = 0) {
    std::istringstream in(text);
    const auto l = lspci_text::parse(in);
    EXPECT_EQ(l.skipped.size(), skipped);
    std::ostringstream yaml;
    lspci_scenario::write(l, lspci_hierarchy::rebuild(l), {}, yaml);
    const iotwin::test::temp_dir dir;
    const std::string file = dir.write("scenario.yaml", yaml.str());
    const scenario s = load_scenario(file);
    const topology t = build_topology(s.platform);
    return lspci_compare::compare(l, t, compute_groups(t));
}

TEST(LspciCompare, AKernelThatGroupedAsLinuxDoesComparesEqual) {
    const auto c = compare_text(machine(3, 4));
    ASSERT_EQ(c.rows.size(), 4u);
    EXPECT_EQ(c.differing(), 0u);
    EXPECT_EQ(c.rows[3].functions, (std::vector<std::string>{"0000:02:00.0", "0000:02:00.1"}));
    EXPECT_TRUE(c.without_group.empty());
    EXPECT_TRUE(c.not_in_twin.empty());
}

TEST(LspciCompare, OtherKernelGroupsShowAsDifferences) {
    // This kernel put 01:00.0 with its root port and split the two functions.
    const auto c = compare_text(machine(1, 5));
    EXPECT_EQ(c.differing(), 3u);  // group 1 (port + endpoint), group 4 and group 5 (one function each)
    EXPECT_TRUE(c.rows[0].kernel_group == 1 && !c.rows[0].same);
    EXPECT_EQ(c.rows[0].twin_groups.size(), 2u);
    EXPECT_TRUE(c.rows[1].same);  // group 2: the second root port alone, as the twin has it
}

} // namespace

namespace {

// Why a group differs, from what the listing shows.
std::string reasons_of(const lspci_compare::row& r) {
    std::string s;
    for (const std::string& w : r.reasons) s += w + "\n";
    return s;
}

TEST(LspciCompare, AKernelThatSplitAMultiFunctionDeviceWithoutAcsPointsAtAQuirkOrTheOverride) {
    const auto c = compare_text(machine(3, 5));
    ASSERT_EQ(c.rows.size(), 5u);
    const lspci_compare::row& r = c.rows[3];  // kernel group 4: 02:00.0 alone
    ASSERT_FALSE(r.same);
    const std::string why = reasons_of(r);
    EXPECT_NE(why.find("0000:02:00.0 and 0000:02:00.1 [10ec:8168] have no ACS capability"), std::string::npos) << why;
    EXPECT_NE(why.find("an ACS quirk for 10ec:8168 newer than Linux 6.1"), std::string::npos) << why;
    EXPECT_NE(why.find("pcie_acs_override=multifunction or id:10ec:8168"), std::string::npos) << why;
    EXPECT_TRUE(c.rows[0].reasons.empty());  // the rows that are the same need no reason
}

TEST(LspciCompare, AKernelThatJoinedMoreNamesTheQuirkTheTwinApplies) {
    // 01:00.0 in its root port's group: the twin isolates the port, a
    // Sunrise Point PCH root port (8086:a110), by the 6.1 quirk.
    const auto c = compare_text(machine(1, 4));
    const std::string why = reasons_of(c.rows[0]);
    EXPECT_NE(why.find("the twin isolates 0000:00:01.0 [8086:a110] by pci_quirk_intel_spt_pch_acs"), std::string::npos) << why;
}

TEST(LspciCompare, CapabilitiesLspciCouldNotReadAreMissingInformation) {
    std::string text = machine(3, 5);
    // lspci without root: no capability of the second function's device.
    const std::string express = "\tCapabilities: [a0] Express (v2) Endpoint, MSI 00\n\tKernel driver in use: r8169\n\n";
    const auto last = text.rfind(express);
    ASSERT_NE(last, std::string::npos);
    text.replace(last, express.size(), "\tCapabilities: <access denied>\n\tKernel driver in use: r8169\n\n");
    const auto c = compare_text(text, 1);
    const std::string why = reasons_of(c.rows[4]);  // kernel group 5: 02:00.1
    EXPECT_NE(why.find("missing information: lspci could not read the capabilities of 0000:02:00.1 [10ec:8168]"), std::string::npos) << why;
}

TEST(LspciCompare, OnAnAmdMachineJoinedGroupsPointAtTheIvrsTable) {
    // An AMD host bridge at 00:00.0, and a kernel that joined the endpoint
    // below the first root port with the second root port's device.
    const std::string host =
        "00:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Starship/Matisse Root Complex [1022:1480]\n"
        "\tIOMMU group: 0\n\n";
    const auto c = compare_text(host + machine(3, 3));
    ASSERT_FALSE(c.rows.empty());
    bool found = false;
    for (const lspci_compare::row& r : c.rows)
        if (r.kernel_group == 3) {
            EXPECT_FALSE(r.same);
            found = reasons_of(r).find("AMD IOMMU") != std::string::npos;
        }
    EXPECT_TRUE(found);
    EXPECT_EQ(c.not_in_twin, (std::vector<std::string>{"0000:00:00.0"}));
}

} // namespace

#include "platform/lspci_import.h"

namespace {

lspci_import::result import_text(const std::string& text) {
    std::istringstream in(text);
    const auto l = lspci_text::parse(in);
    const auto m = lspci_hierarchy::rebuild(l);
    iotwin::test::temp_dir dir;
    return lspci_import::run(l, m, {}, dir.path());
}

TEST(LspciImport, TheScenarioGroupsAsTheKernelDidWhereItIsolatedFunctionsWithoutAcs) {
    const lspci_import::result r = import_text(machine(3, 5));
    EXPECT_TRUE(r.has_kernel_groups);
    EXPECT_EQ(r.kernel_groups, 5u);
    EXPECT_EQ(r.differ_from_6_1, 2u);  // groups 4 and 5: Linux 6.1 joins the two functions
    EXPECT_EQ(r.acs_override, (std::vector<std::string>{"id:10ec:8168"}));
    EXPECT_EQ(r.differ_from_scenario, 0u);
    EXPECT_NE(r.yaml.find("pcie_acs_override: [id:10ec:8168]"), std::string::npos) << r.yaml;
    EXPECT_NE(r.comparison.find("5 kernel groups, 2 differ"), std::string::npos) << r.comparison;
}

TEST(LspciImport, AKernelThatGroupedAsLinuxDoesLeavesTheScenarioAlone) {
    const lspci_import::result r = import_text(machine(3, 4));
    EXPECT_EQ(r.differ_from_6_1, 0u);
    EXPECT_TRUE(r.acs_override.empty());
    EXPECT_EQ(r.yaml.find("pcie_acs_override"), std::string::npos);
}

TEST(LspciImport, AnOverrideThatDoesNotBringTheTwinCloserIsNotWritten) {
    // The kernel joined 01:00.0 with its port: no override explains that.
    const lspci_import::result r = import_text(machine(1, 4));
    EXPECT_GT(r.differ_from_6_1, 0u);
    EXPECT_TRUE(r.acs_override.empty());
    EXPECT_EQ(r.differ_from_scenario, r.differ_from_6_1);
}

} // namespace

namespace {

TEST(LspciCompare, AQuirkNewerThanLinux61IsNamedWithItsRelease) {
    // The same machine with Wangxun NICs (8088:1001): Linux 6.3 isolates
    // their functions (pci_quirk_wangxun_nic_acs), 6.1 does not.
    std::string text = machine(3, 5);
    for (auto at = text.find("[10ec:8168]"); at != std::string::npos; at = text.find("[10ec:8168]", at)) text.replace(at, 11, "[8088:1001]");
    const auto c = compare_text(text);
    const std::string why = reasons_of(c.rows[3]);
    EXPECT_NE(why.find("0000:02:00.0 and 0000:02:00.1 [8088:1001] are covered by pci_quirk_wangxun_nic_acs, an ACS quirk of Linux 6.3"),
              std::string::npos)
        << why;
}

} // namespace

namespace {

TEST(LspciImport, ADriverTheTwinCannotBindThereIsLeftToTheBootTimeChoice) {
    // An Intel I211 (8086:1539) bound to igb: the twin's igb table does not
    // list it, so `driver: igb` would fail the boot.
    const std::string text =
        "00:01.0 PCI bridge [0604]: Intel Corporation Device [8086:1901] (rev 05) (prog-if 00 [Normal decode])\n"
        "\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0\n"
        "\tCapabilities: [a0] Express (v2) Root Port (Slot+), MSI 00\n"
        "\tKernel driver in use: pcieport\n\n"
        "01:00.0 Ethernet controller [0200]: Intel Corporation I211 Gigabit Network Connection [8086:1539] (rev 03)\n"
        "\tRegion 0: Memory at 91000000 (32-bit, non-prefetchable) [size=128K]\n"
        "\tCapabilities: [a0] Express (v2) Endpoint, MSI 00\n"
        "\tKernel driver in use: igb\n\n";
    const lspci_import::result r = import_text(text);
    EXPECT_EQ(r.yaml.find("driver: igb"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("driver: pcieport"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("# Kernel driver in use: igb, which the twin's igb does not bind here (igb does not claim pci-01-00-0 (8086:1539)"),
              std::string::npos)
        << r.yaml;
}

} // namespace
