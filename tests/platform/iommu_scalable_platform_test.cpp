// Scalable mode through scenario text: the same DMA scenario passes in legacy
// mode and in scalable mode (first-level and second-level tables); in scalable
// mode a request with the PASID of another process is blocked with the
// scalable-mode reason, and first-level read/write permissions hold.
#include <gtest/gtest.h>

#include <string>

#include "models/common/stats.h"
#include "models/iommu/vtd.h"
#include "tests/support/scenario_run.h"

namespace iotwin {
namespace {

// `iommu`: the platform.iommu mapping; the steps map one writable and one
// read-only page, then the device writes and reads through them.
std::string scenario(const std::string& iommu, const std::string& extra_steps = "") {
    return R"(name: scalable
seed: 1
platform:
  memory: 2GiB
  iommu: )" + iommu + R"(
  pcie:
    - id: rp1
      type: root_port
      children:
        - id: dev0
          type: endpoint
          model: dma_engine
domains:
  - name: dom0
    privileged: true
    memory: 512MiB
  - name: guest1
    memory: 256MiB
    devices: [dev0]
steps:
  - do: iommu.map
    args: { domain: guest1, iova: 0x10000, address: 0x10000, size: 4KiB }
  - do: iommu.map
    args: { domain: guest1, iova: 0x20000, address: 0x20000, size: 4KiB, write: false }
  - do: mem.write
    as: guest1
    args: { addr: 0x20000, data: "55 66 77 88" }
  - do: pci.set_master
    as: guest1
    args: { device: dev0 }
  - do: device.dma_write
    device: dev0
    args: { addr: 0x10000, data: "11 22 33 44" }
  - do: mem.read
    as: guest1
    args: { addr: 0x10000, len: 4 }
  - do: device.dma_read
    device: dev0
    args: { addr: 0x20000, len: 4 }
  - do: device.dma_write
    device: dev0
    args: { addr: 0x20000, data: "de ad be ef" }
  - do: mem.read
    as: guest1
    args: { addr: 0x20000, len: 4 }
)" + extra_steps;
}

// Steps 0-8 of scenario(): what every mode must agree on.
void expect_same_dma(const test::scenario_run& t, unsigned write_fault_reason) {
    for (int i : {0, 1, 2, 3, 4, 5, 6, 8}) EXPECT_TRUE(t.report().steps.at(i).ok) << "step " << i;
    EXPECT_EQ(t.result(4)["fault"], false);
    EXPECT_EQ(t.result(5)["data"], "11 22 33 44");
    EXPECT_EQ(t.result(6)["fault"], false);
    EXPECT_EQ(t.result(6)["data"], "55 66 77 88");
    EXPECT_EQ(t.result(7)["fault"], true);
    EXPECT_EQ(t.result(8)["data"], "55 66 77 88");
    ASSERT_FALSE(t.pi->iommu->faults().empty());
    EXPECT_EQ(static_cast<unsigned>(t.pi->iommu->faults().back().record.reason), write_fault_reason);
}

std::uint64_t iommu_stat(const test::scenario_run& t, const std::string& name) {
    stat_map m;
    t.pi->iommu->stats(m);
    const auto it = m.find("iommu." + name);
    return it == m.end() ? ~0ull : static_cast<std::uint64_t>(it->second);
}

TEST(iommu_scalable_platform, LegacyModeDma) {
    const test::scenario_run t(scenario("{ mode: legacy }"));
    expect_same_dma(t, 0x05);
    EXPECT_EQ(iommu_stat(t, "first_level_walks"), ~0ull);  // no scalable-mode counters in legacy mode
}

TEST(iommu_scalable_platform, ScalableFirstLevelDmaAsLegacy) {
    const test::scenario_run t(scenario("{ mode: scalable }"));
    expect_same_dma(t, static_cast<unsigned>(vtd::fault_reason::sm_write_not_permitted));
    // Linux 6.1's default for a kernel-managed domain: first-level tables.
    EXPECT_GT(iommu_stat(t, "first_level_walks"), 0u);
    EXPECT_GT(iommu_stat(t, "pasid_cache_misses"), 0u);
    // The driver presets A and D as Linux does: the unit never writes an entry.
    EXPECT_EQ(iommu_stat(t, "ad_updates"), 0u);
}

TEST(iommu_scalable_platform, ScalableSecondLevelDmaAsLegacy) {
    const test::scenario_run t(scenario("{ mode: scalable, table: second_level }"));
    expect_same_dma(t, static_cast<unsigned>(vtd::fault_reason::sm_write_not_permitted));
    EXPECT_EQ(iommu_stat(t, "first_level_walks"), 0u);
    EXPECT_GT(iommu_stat(t, "page_walks"), 0u);
}

// After the DMA, the writable page is unmapped and the device tries again.
const char* const unmap_then_dma = R"(  - do: iommu.unmap
    args: { domain: guest1, iova: 0x10000, size: 4KiB }
  - do: device.dma_read
    device: dev0
    args: { addr: 0x10000, len: 4 }
)";

TEST(iommu_scalable_platform, FirstLevelUnmapFlushesWithPasidBasedIotlbInvalidation) {
    const test::scenario_run t(scenario("{ mode: scalable }", unmap_then_dma));
    EXPECT_TRUE(t.report().steps.at(9).ok);
    EXPECT_EQ(t.result(10)["fault"], true);  // the translation the DMA cached is gone
    // Linux 6.1 flushes a first-level domain with qi_flush_piotlb (descriptor 0x6).
    EXPECT_GT(iommu_stat(t, "pasid_iotlb_invalidations"), 0u);
}

TEST(iommu_scalable_platform, SecondLevelUnmapFlushesWithTheIotlbDescriptor) {
    const test::scenario_run t(scenario("{ mode: scalable, table: second_level }", unmap_then_dma));
    EXPECT_EQ(t.result(10)["fault"], true);
    EXPECT_EQ(iommu_stat(t, "pasid_iotlb_invalidations"), 0u);
}

TEST(iommu_scalable_platform, PasidOfAnotherProcessFaultsAndNeverReachesMemory) {
    const test::scenario_run t(scenario("{ mode: scalable }", R"(  - do: device.dma_write
    device: dev0
    args: { addr: 0x10000, data: "de ad be ef", pasid: 7 }
  - do: device.dma_read
    device: dev0
    args: { addr: 0x10000, len: 4, pasid: 7 }
  - do: mem.read
    as: guest1
    args: { addr: 0x10000, len: 4 }
)"));
    EXPECT_EQ(t.result(9)["fault"], true);
    const auto& faults = t.result(9)["faults"];
    ASSERT_EQ(faults.size(), 1u);
    EXPECT_NE(faults[0].get<std::string>().find("PASID 0x7] "), std::string::npos);
    EXPECT_NE(faults[0].get<std::string>().find("[fault reason 0x59]"), std::string::npos);
    EXPECT_EQ(t.result(10)["fault"], true);
    EXPECT_EQ(t.result(10)["completion"], "UR");
    EXPECT_EQ(t.result(11)["data"], "11 22 33 44");
}

TEST(iommu_scalable_platform, LegacyRootTableBlocksRequestsWithPasid) {
    const test::scenario_run t(scenario("{ mode: legacy }", R"(  - do: device.dma_read
    device: dev0
    args: { addr: 0x10000, len: 4, pasid: 1 }
)"));
    EXPECT_EQ(t.result(9)["fault"], true);
    EXPECT_EQ(static_cast<unsigned>(t.pi->iommu->faults().back().record.reason),
              static_cast<unsigned>(vtd::fault_reason::sm_ttm0_request_with_pasid));
}

TEST(iommu_scalable_platform, TableKindNeedsScalableMode) {
    EXPECT_ANY_THROW(test::scenario_run t(scenario("{ mode: legacy, table: first_level }")));
    EXPECT_ANY_THROW(test::scenario_run t(scenario("{ mode: scalable, address_width: 39, table: first_level }")));
    EXPECT_ANY_THROW(test::scenario_run t(scenario("{ mode: nested }")));
}

} // namespace
} // namespace iotwin
