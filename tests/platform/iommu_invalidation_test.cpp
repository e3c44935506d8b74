// The hypervisor's VT-d driver invalidating as Linux 6.1 does, on a booted
// platform: through the invalidation queue when the IOMMU has one, through
// the registers when it does not (platform.iommu.queued_invalidation: false);
// one page-selective invalidation per unmapped range, domain-selective beyond
// CAP.MAMV; strict domains invalidate inside the unmap, deferred ones batch
// in the flush queue (256 entries, 10 ms). Each TEST builds one platform.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "platform/boot.h"
#include "platform/builder.h"
#include "platform/loader.h"
#include "tests/support/scenario_run.h"
#include "tests/support/temp_dir.h"

namespace iotwin {
namespace {

using namespace sc_core;

std::string yaml(const std::string& mode, bool qi) {
    return std::string("name: inv\nseed: 1\nplatform:\n  memory: 2GiB\n  iommu: { queued_invalidation: ") + (qi ? "true" : "false") +
           " }\n  pcie:\n    - id: rp1\n      type: root_port\n      children:\n        - { id: nic0, type: endpoint, model: dma_engine }\n"
           "domains:\n  - { name: dom0, privileged: true, memory: 512MiB }\n"
           "  - { name: guest1, memory: 64MiB, iommu_invalidation: " + mode + ", devices: [nic0] }\nsteps: []\n";
}

struct booted {
    test::temp_dir dir;
    platform::scenario s;
    std::unique_ptr<platform::platform_instance> pi;
    hyp::domid_t guest = 0;
    sc_time d;
    booted(const std::string& mode, bool qi = true) {
        s = platform::load_scenario(dir.write("s.yaml", yaml(mode, qi)));
        pi = platform::build_platform(s);
        sc_start(SC_ZERO_TIME);
        platform::boot_platform(s, *pi, d);
        guest = pi->hypervisor->find("guest1")->id;
    }
    std::uint64_t stat(const std::string& name) const {
        stat_map m;
        pi->iommu->stats(m);
        pi->hypervisor->stats(m);
        return m.at(name);
    }
    int map(std::uint64_t iova, std::uint64_t size) { return pi->hypervisor->iommu_map(guest, iova, 0x100000, size, true, true, d); }
    sc_time unmap(std::uint64_t iova, std::uint64_t size) {
        std::uint64_t n = 0;
        const sc_time before = d;
        EXPECT_EQ(pi->hypervisor->iommu_unmap(guest, iova, size, n, d), 0);
        EXPECT_EQ(n, size);
        return d - before;
    }
};

TEST(IommuInvalidation, DriverUsesTheQueueWhenTheUnitHasOne) {
    booted b("strict");
    EXPECT_TRUE(b.pi->hypervisor->vtd().queued());
    const auto desc0 = b.stat("iommu.queued_descriptors"), waits0 = b.stat("iommu.invalidation_waits");
    EXPECT_GT(waits0, 0u) << "boot's global invalidations went through the queue";
    ASSERT_EQ(b.map(0x0, 4096), 0);
    b.unmap(0x0, 4096);
    EXPECT_EQ(b.stat("iommu.queued_descriptors"), desc0 + 2) << "one IOTLB descriptor and its wait descriptor";
    EXPECT_EQ(b.stat("iommu.invalidation_waits"), waits0 + 1);
    EXPECT_EQ(b.stat("iommu.register_invalidations_ignored"), 0u);
    EXPECT_EQ(b.stat("iommu.invalidation_queue_errors"), 0u);
}

TEST(IommuInvalidation, RegistersWithoutQueuedInvalidation) {
    booted b("strict", false);
    EXPECT_FALSE(b.pi->hypervisor->vtd().queued());
    const auto inv0 = b.stat("iommu.iotlb_invalidations");
    ASSERT_EQ(b.map(0x0, 4096), 0);
    b.unmap(0x0, 4096);
    EXPECT_EQ(b.stat("iommu.iotlb_invalidations"), inv0 + 1);
    EXPECT_EQ(b.stat("iommu.queued_descriptors"), 0u);
}

TEST(IommuInvalidation, OneInvalidationPerUnmappedRange) {
    booted b("strict");
    ASSERT_EQ(b.map(0x0, 64 * 4096), 0);
    const auto inv0 = b.stat("iommu.iotlb_invalidations");
    b.unmap(0x0, 16 * 4096);  // page-selective, AM = 4
    EXPECT_EQ(b.stat("iommu.iotlb_invalidations"), inv0 + 1);
    ASSERT_EQ(b.map(0x10000000, 1024 * 4096), 0);
    b.unmap(0x10000000, 1024 * 4096);  // AM 10 > MAMV 9: domain-selective
    EXPECT_EQ(b.stat("iommu.iotlb_invalidations"), inv0 + 2);
}

TEST(IommuInvalidation, StrictUnmapWaitsForTheInvalidation) {
    booted b("strict");
    ASSERT_EQ(b.map(0x0, 4096), 0);
    const sc_time cost = b.unmap(0x0, 4096);
    EXPECT_GE(cost, b.pi->iommu->params().invalidation_latency) << "the unmap returned after the IOMMU's work";
    EXPECT_EQ(b.stat("hypervisor.iommu_deferred_unmaps"), 0u);
}

TEST(IommuInvalidation, DeferredFlushesWhenTheQueueIsFull) {
    booted b("deferred");
    ASSERT_EQ(b.map(0x0, 300 * 4096), 0);
    const auto inv0 = b.stat("iommu.iotlb_invalidations");
    sc_time cost;
    for (unsigned i = 0; i < 256; ++i) cost += b.unmap(std::uint64_t(i) << 12, 4096);
    EXPECT_EQ(b.stat("iommu.iotlb_invalidations"), inv0) << "256 entries wait in the queue";
    EXPECT_EQ(b.stat("hypervisor.iommu_deferred_unmaps"), 256u);
    EXPECT_LT(cost / 256, b.pi->iommu->params().invalidation_latency) << "a deferred unmap does not wait for the IOMMU";
    b.unmap(256 << 12, 4096);
    EXPECT_EQ(b.stat("hypervisor.iommu_flush_queue_flushes"), 1u) << "the 257th found the queue full";
    EXPECT_EQ(b.stat("iommu.iotlb_invalidations"), inv0 + 1) << "one domain-selective invalidation for all of them";
}

TEST(IommuInvalidation, DeferredTimerFlushesAfterTenMilliseconds) {
    booted b("deferred");
    ASSERT_EQ(b.map(0x0, 4096), 0);
    const auto inv0 = b.stat("iommu.iotlb_invalidations");
    b.unmap(0x0, 4096);
    sc_start(b.d + sc_time(9, SC_MS));
    b.d = SC_ZERO_TIME;
    EXPECT_EQ(b.stat("iommu.iotlb_invalidations"), inv0);
    sc_start(sc_time(2, SC_MS));
    EXPECT_EQ(b.stat("iommu.iotlb_invalidations"), inv0 + 1);
    EXPECT_EQ(b.stat("hypervisor.iommu_flush_queue_flushes"), 1u);
}

TEST(IommuInvalidation, BadModeIsRejected) {
    test::temp_dir dir;
    std::string y = yaml("lazy", true);
    EXPECT_THROW(platform::load_scenario(dir.write("s.yaml", y)), std::exception);
}

} // namespace
} // namespace iotwin
