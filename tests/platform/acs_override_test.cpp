// platform.pcie_acs_override (the kernel's pcie_acs_override= of the ACS
// override patch): which functions it claims ACS for, how Linux's groups
// split with it, and that a real ACS capability or quirk still decides.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "platform/iommu_groups.h"
#include "platform/loader.h"
#include "platform/topology.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace iotwin::platform;

// A switch below a root port, an edu behind each downstream port, and a
// two-function endpoint behind a second root port; no ACS anywhere unless
// `acs_on_dsp1`.
topology load(const std::string& override_yaml, bool acs_on_dsp1 = false) {
    iotwin::test::temp_dir dir;
    const std::string yaml =
        "name: t\n"
        "platform:\n" + override_yaml +
        "  pcie:\n"
        "    - id: rp1\n"
        "      type: root_port\n"
        "      at: \"01.0\"\n"
        "      children:\n"
        "        - id: usp\n"
        "          type: upstream_port\n"
        "          children:\n"
        "            - { id: dsp0, type: downstream_port, at: \"00.0\", children: [ { id: a, type: endpoint } ] }\n"
        "            - { id: dsp1, type: downstream_port, at: \"01.0\"" + std::string(acs_on_dsp1 ? ", acs: [SV], acs_ctrl: []" : "") +
        ", children: [ { id: b, type: endpoint } ] }\n"
        "    - { id: rp2, type: root_port, at: \"02.0\", acs: [SV, RR, CR, UF], children: [ { id: f0, type: endpoint, at: \"00.0\", vendor: 0x8086, device: 0x1234 }, { id: f1, type: endpoint, at: \"00.1\" } ] }\n"
        "domains:\n"
        "  - { name: dom0, privileged: true, memory: 256MiB }\n";
    return build_topology(load_scenario(dir.write("s.yaml", yaml)).platform);
}

std::set<std::set<std::string>> partition(const topology& t) {
    const group_result g = compute_groups(t);
    std::set<std::set<std::string>> out;
    for (const iommu_group& grp : g.groups) {
        std::set<std::string> ids;
        for (int m : grp.members) ids.insert(t.functions[m].id);
        out.insert(ids);
    }
    return out;
}

TEST(AcsOverride, WithoutItTheSwitchIsOneGroup) {
    const topology t = load("");
    EXPECT_EQ(partition(t), (std::set<std::set<std::string>>{{"rp1", "usp", "dsp0", "dsp1", "a", "b"}, {"rp2"}, {"f0", "f1"}}));
}

TEST(AcsOverride, DownstreamSplitsThePortsButNotTheMultifunctionDevice) {
    const topology t = load("  pcie_acs_override: downstream\n");
    EXPECT_TRUE(acs_overridden(t.override, t.at("rp1")));
    EXPECT_TRUE(acs_overridden(t.override, t.at("dsp0")));
    EXPECT_FALSE(acs_overridden(t.override, t.at("f0")));
    EXPECT_FALSE(acs_overridden(t.override, t.at("usp")));  // not multi-function: ACS does not apply to it anyway
    EXPECT_EQ(partition(t), (std::set<std::set<std::string>>{{"rp1"}, {"usp"}, {"dsp0"}, {"dsp1"}, {"a"}, {"b"}, {"rp2"}, {"f0", "f1"}}));
}

TEST(AcsOverride, MultifunctionAndListedIdsSplitTheEndpointFunctions) {
    const topology both = load("  pcie_acs_override: [downstream, multifunction]\n");
    EXPECT_EQ(partition(both), (std::set<std::set<std::string>>{{"rp1"}, {"usp"}, {"dsp0"}, {"dsp1"}, {"a"}, {"b"}, {"rp2"}, {"f0"}, {"f1"}}));
    // id:8086:1234 names f0 only: f1 still has no ACS and joins f0's group.
    const topology ids = load("  pcie_acs_override: \"id:8086:1234\"\n");
    EXPECT_TRUE(acs_overridden(ids.override, ids.at("f0")));
    EXPECT_FALSE(acs_overridden(ids.override, ids.at("f1")));
    EXPECT_FALSE(acs_overridden(ids.override, ids.at("dsp0")));
}

// A port with an ACS capability is never overridden: its control bits decide.
TEST(AcsOverride, AnAcsCapabilityWithControlsOffStillDecides) {
    const topology t = load("  pcie_acs_override: downstream\n", true);
    EXPECT_FALSE(acs_overridden(t.override, t.at("dsp1")));
    std::string why;
    EXPECT_FALSE(linux_acs_enabled(t, t.by_id.at("dsp1"), &why));
    EXPECT_TRUE(linux_acs_enabled(t, t.by_id.at("dsp0")));
    const auto p = partition(t);
    EXPECT_TRUE(p.count({"dsp1", "b"})) << "b joins dsp1, whose ACS is off";
}

} // namespace
