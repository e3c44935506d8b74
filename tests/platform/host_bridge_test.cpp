// The root complex's host bridge in a built platform: the builder attaches it
// at 00:00.0 and keeps it apart from the description's functions (so the
// topology, groups, domains and checkers never see it); firmware enumeration
// finds it first on bus 0 and gives it nothing; a description made in code
// that puts a function of its own at device 0 of bus 0 gets no host bridge.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "platform/builder.h"
#include "platform/ecam.h"
#include "platform/enumerator.h"
#include "platform/loader.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;
using namespace sc_core;

scenario load() {
    const test::temp_dir dir;
    return load_scenario(dir.write("host_bridge_test.yaml", R"(name: host-bridge
platform:
  pcie:
    - id: rp1
      type: root_port
      children:
        - { id: nic, type: endpoint, bars: [ { index: 0, size: 64KiB, type: mem32 } ] }
)"));
}

TEST(HostBridgeInPlatform, AttachedAt0000ApartFromTheDescriptionsFunctions) {
    const scenario s = load();
    auto pi = build_platform(s);
    ASSERT_NE(pi->host_bridge, nullptr);
    EXPECT_EQ(pi->host_bridge->bdf().str(), "0000:00:00.0");
    EXPECT_EQ(pi->functions.size(), pi->topo.functions.size());
    EXPECT_TRUE(std::none_of(pi->functions.begin(), pi->functions.end(),
                             [&](const auto& f) { return f.get() == pi->host_bridge.get(); }));
    EXPECT_EQ(pi->by_id.count("host_bridge"), 0u);
    stat_map stats;
    pi->stats(stats);
    EXPECT_TRUE(std::none_of(stats.begin(), stats.end(), [](const auto& kv) { return kv.first.rfind("host_bridge.", 0) == 0; }));
}

TEST(HostBridgeInPlatform, EnumerationFindsItFirstAndGivesItNothing) {
    const scenario s = load();
    auto pi = build_platform(s);
    sc_start(SC_ZERO_TIME);
    sc_time d = SC_ZERO_TIME;
    ASSERT_EQ(pi->hypervisor->init(d), 0);
    const auto found = enumerator(*pi->hypervisor, pi->topo.root_buses).run(d);
    ASSERT_EQ(found.size(), pi->topo.functions.size() + 1);
    const enumerated_function& hb = found.front();
    EXPECT_EQ(hb.bdf.str(), "0000:00:00.0");
    EXPECT_EQ(hb.vendor, 0x8086);
    EXPECT_EQ(hb.device, 0x29c0);
    EXPECT_EQ(hb.class_code, 0x060000u);
    EXPECT_FALSE(hb.bridge);
    EXPECT_TRUE(hb.bars.empty());
    std::uint32_t cmd = 0;
    ASSERT_EQ(ecam_access(*pi->hypervisor, tlm::TLM_READ_COMMAND, hb.bdf, pci::cfg::command, &cmd, 2, d), pcie::completion::SC);
    EXPECT_EQ(cmd & (pci::command_bits::memory_space | pci::command_bits::bus_master), 0u);
    // The root port after it numbers its bus 1 as before.
    EXPECT_EQ(found[1].bdf.str(), "0000:00:01.0");
    EXPECT_EQ(found[1].secondary, 1u);
}

TEST(HostBridgeInPlatform, NoneWhenADescriptionMadeInCodeTakesDevice0) {
    scenario s;
    s.name = "device0";
    s.platform.memory = 1ull << 30;
    s.platform.pcie.push_back(test_support::make_node("rp0", node_type::root_port, 0, 0));
    auto pi = build_platform(s);
    EXPECT_EQ(pi->host_bridge, nullptr);
    EXPECT_EQ(pi->by_id.at("rp0")->devfn(), 0u);
}

} // namespace
