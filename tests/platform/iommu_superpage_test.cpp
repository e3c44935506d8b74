// Superpages, domain types and the IOMMU's cache counters on whole platforms,
// run as `iotwin run` runs them: the hypervisor's iommu.map writes 2 MiB
// leaves where the range allows and the IOTLB holds one entry for them;
// unmapping part of a superpage unmaps all of it; a blocked domain's devices
// reach no memory and fault (context entry not present); a pass-through
// domain's DMA is not translated.
#include <gtest/gtest.h>

#include <string>

#include "models/common/stats.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;

std::string platform_yaml(const std::string& iommu_extra = "", const std::string& guest_extra = "") {
    return "name: superpages\n"
           "seed: 1\n"
           "platform:\n"
           "  memory: 2GiB\n"
           "  iommu: { enabled: true" + iommu_extra + " }\n"
           "  pcie:\n"
           "    - { id: rp1, type: root_port, children: [ { id: dma0, type: endpoint, model: dma_engine } ] }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 512MiB }\n"
           "  - { name: guest1, memory: 256MiB, devices: [dma0]" + guest_extra + " }\n"
           "steps:\n"
           "  - { do: pci.set_master, as: guest1, args: { device: dma0 } }\n";
}

std::uint64_t stat(const test::scenario_run& t, const std::string& name) {
    stat_map m;
    t.pi->stats(m);
    return m.at("iommu." + name);
}

std::string dma_read(const std::string& addr) {
    return "  - { do: device.dma_read, device: dma0, args: { addr: " + addr + ", len: 4 } }\n";
}

TEST(IommuSuperpage, TwoMegabyteMapTakesOneIotlbEntry) {
    std::string y = platform_yaml() + "  - { do: iommu.map, args: { domain: guest1, iova: 0x200000, address: 0x400000, size: 2MiB } }\n";
    for (int i = 0; i < 16; ++i) y += dma_read(std::to_string(0x200000 + i * 0x20000 + 0x10));
    const test::scenario_run t(y);
    t.steps_ok();
    for (std::size_t i = 2; i < 18; ++i) EXPECT_EQ(t.result(i)["fault"], false) << i;
    EXPECT_EQ(stat(t, "iotlb_entries_2m"), 1u);
    EXPECT_EQ(stat(t, "iotlb_entries_4k"), 0u);
    EXPECT_EQ(stat(t, "page_walks"), 1u);
    EXPECT_EQ(stat(t, "iotlb_misses"), 1u);
    EXPECT_EQ(stat(t, "iotlb_hits"), 15u);
}

TEST(IommuSuperpage, WithoutSllpsTheSameMapIsSmallPages) {
    std::string y = platform_yaml(", sllps: 0") +
                    "  - { do: iommu.map, args: { domain: guest1, iova: 0x200000, address: 0x400000, size: 2MiB } }\n";
    for (int i = 0; i < 4; ++i) y += dma_read(std::to_string(0x200000 + i * 0x80000));
    const test::scenario_run t(y);
    t.steps_ok();
    EXPECT_EQ(stat(t, "iotlb_entries_2m"), 0u);
    EXPECT_EQ(stat(t, "iotlb_entries_4k"), 4u);
    EXPECT_EQ(stat(t, "page_walks"), 4u);
}

TEST(IommuSuperpage, MisalignedIovaFallsBackToSmallPages) {
    // IOVA 4 KiB past a 2 MiB boundary: no 2 MiB page fits.
    std::string y = platform_yaml() +
                    "  - { do: iommu.map, args: { domain: guest1, iova: 0x201000, address: 0x400000, size: 2MiB } }\n" +
                    dma_read("0x201000") + dma_read("0x400000");
    const test::scenario_run t(y);
    t.steps_ok();
    EXPECT_EQ(t.result(2)["fault"], false);
    EXPECT_EQ(t.result(3)["fault"], false);
    EXPECT_EQ(stat(t, "iotlb_entries_2m"), 0u);
    EXPECT_EQ(stat(t, "iotlb_entries_4k"), 2u);
}

TEST(IommuSuperpage, FourMegabytesWithASmallHeadAreSuperpagesWhereAligned) {
    // 0x1ff000..0x5ff000: one 4 KiB page, then one 2 MiB page, then 511 pages.
    std::string y = platform_yaml() +
                    "  - { do: iommu.map, args: { domain: guest1, iova: 0x1ff000, address: 0x3ff000, size: 4MiB } }\n" +
                    dma_read("0x1ff000") + dma_read("0x200000") + dma_read("0x3ff000") + dma_read("0x400000") +
                    dma_read("0x5fe000") + dma_read("0x5ff000");
    const test::scenario_run t(y);
    EXPECT_EQ(t.result(1)["errno"], 0);
    for (std::size_t i = 2; i < 7; ++i) EXPECT_EQ(t.result(i)["fault"], false) << i;
    EXPECT_EQ(t.result(7)["fault"], true);
    EXPECT_EQ(stat(t, "iotlb_entries_2m"), 1u);
    EXPECT_EQ(stat(t, "iotlb_entries_4k"), 3u);
}

TEST(IommuSuperpage, UnmappingOnePageOfASuperpageUnmapsItWhole) {
    const std::string y = platform_yaml() +
                          "  - { do: iommu.map, args: { domain: guest1, iova: 0x200000, address: 0x400000, size: 2MiB } }\n" +
                          dma_read("0x300000") +
                          "  - { do: iommu.unmap, args: { domain: guest1, iova: 0x3ff000, size: 4KiB } }\n" +
                          dma_read("0x200000") + dma_read("0x3ff000") +
                          // Mapping the range again works: nothing of the old superpage is left.
                          "  - { do: iommu.map, args: { domain: guest1, iova: 0x200000, address: 0x400000, size: 2MiB } }\n" +
                          dma_read("0x300000");
    const test::scenario_run t(y);
    EXPECT_EQ(t.result(2)["fault"], false);
    EXPECT_EQ(t.result(3)["errno"], 0);
    EXPECT_EQ(t.result(3)["unmapped"], 2u << 20);
    EXPECT_EQ(t.result(4)["fault"], true);
    EXPECT_EQ(t.result(5)["fault"], true);
    EXPECT_EQ(t.result(6)["errno"], 0);
    EXPECT_EQ(t.result(7)["fault"], false);
}

TEST(IommuDomainType, BlockedDomainsDeviceReachesNoMemory) {
    const std::string y = platform_yaml("", ", iommu: blocked") +
                          "  - { do: iommu.map, args: { domain: guest1, iova: 0x200000, address: 0x400000, size: 4KiB } }\n"
                          "  - { do: mem.write, as: guest1, args: { addr: 0x400000, data: \"01 02 03 04\" } }\n" +
                          dma_read("0x200000") +
                          "  - { do: device.dma_write, device: dma0, args: { addr: 0x200000, data: \"aa bb cc dd\" } }\n"
                          "  - { do: mem.read, as: guest1, args: { addr: 0x400000, len: 4 } }\n";
    const test::scenario_run t(y);
    EXPECT_EQ(t.result(3)["fault"], true);
    EXPECT_EQ(t.result(3)["completion"], "UR");
    EXPECT_EQ(t.result(4)["fault"], true);
    EXPECT_EQ(t.result(5)["data"], "01 02 03 04");
    ASSERT_FALSE(t.result(3)["faults"].empty());
    EXPECT_NE(t.result(3)["faults"][0].get<std::string>().find("fault reason 0x02"), std::string::npos) << t.result(3).dump();
    EXPECT_EQ(stat(t, "translated"), 0u);
}

TEST(IommuDomainType, PassThroughDomainsDmaIsNotTranslated) {
    // Nothing is mapped: with pass-through the IOVA is the machine address.
    const std::string y = platform_yaml("", ", iommu: passthrough") +
                          "  - { do: device.dma_write, device: dma0, args: { addr: 0x30000000, data: \"5a 5b 5c 5d\" } }\n" +
                          dma_read("0x30000000");
    const test::scenario_run t(y);
    t.steps_ok();
    EXPECT_EQ(t.result(1)["fault"], false);
    EXPECT_EQ(t.result(2)["fault"], false);
    EXPECT_EQ(t.result(2)["data"], "5a 5b 5c 5d");
    EXPECT_EQ(stat(t, "page_walks"), 0u);
    EXPECT_EQ(stat(t, "faults"), 0u);
}

TEST(IommuDomainType, UnknownDomainTypeIsAnInputError) {
    EXPECT_THROW(test::scenario_run(platform_yaml("", ", iommu: identity")), std::exception);
}

TEST(IommuCaches, ReplacementAndPagingCacheKeysReachTheModel) {
    std::string y = platform_yaml(", iotlb: { entries: 4, ways: 4, replacement: fifo }, paging_cache: { pde_entries: 4 }") +
                    "  - { do: iommu.map, args: { domain: guest1, iova: 0x1000, address: 0x400000, size: 32KiB } }\n";
    for (int i = 0; i < 8; ++i) y += dma_read(std::to_string(0x1000 + i * 0x1000));
    const test::scenario_run t(y);
    t.steps_ok();
    EXPECT_EQ(stat(t, "iotlb_evictions"), 4u);
    // Eight walks of one 2 MiB region: the first reads the PDE, the others hit it.
    EXPECT_EQ(stat(t, "pde_cache_hits"), 7u);
    EXPECT_EQ(stat(t, "page_walks"), 8u);
}

TEST(IommuCaches, BadReplacementNameIsAnInputError) {
    EXPECT_THROW(test::scenario_run(platform_yaml(", iotlb: { replacement: plru }")), std::exception);
}

} // namespace
