// ATS on whole platforms built from scenarios: when the host enables a
// function's ATS (Linux 6.1's rules), what a Translation Request gets back,
// the translated requests the IOMMU passes or blocks, ACS Translation
// Blocking, and device-TLB invalidation with its completion or time-out.
#include <gtest/gtest.h>

#include <string>

#include "models/iommu/vtd.h"
#include "models/pci/ats.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;

// guest1's nic0 (ATS as `ats`) below rp1 (`rp1` extra keys), guest2's nic1
// below rp2; `iommu` extra keys of platform.iommu.
std::string platform_yaml(const std::string& ats = "true", const std::string& rp1 = "", const std::string& iommu = "",
                          const std::string& model = "dma_engine") {
    return "name: t\nseed: 1\nplatform:\n"
           "  memory: 2GiB\n"
           "  iommu: { enabled: true" + (iommu.empty() ? "" : ", " + iommu) + " }\n"
           "  pcie:\n"
           "    - { id: rp1, type: root_port" + (rp1.empty() ? "" : ", " + rp1) + ",\n"
           "        children: [ { id: nic0, type: endpoint, model: " + model + (ats.empty() ? "" : ", ats: " + ats) + " } ] }\n"
           "    - { id: rp2, type: root_port, children: [ { id: nic1, type: endpoint, model: dma_engine } ] }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 512MiB }\n"
           "  - { name: guest1, memory: 256MiB, devices: [nic0] }\n"
           "  - { name: guest2, memory: 256MiB, devices: [nic1] }\n";
}

const std::string map_and_master =
    "  - { do: mem.write, as: guest1, args: { addr: 0x5000, data: \"61 62 63 64\" } }\n"
    "  - { do: sim.p2m, args: { domain: guest1, gfn: 5 }, save: page }\n"
    "  - { do: iommu.map, args: { domain: guest1, iova: 0x40000, address: 0x5000, size: 4KiB } }\n"
    "  - { do: pci.set_master, as: guest1, args: { device: nic0 } }\n";

struct run : test::scenario_run {
    using scenario_run::scenario_run;
    pci::pci_function& nic0() const { return *pi->by_id.at("nic0"); }
    std::uint64_t stat(const std::string& name) const {
        stat_map m;
        pi->iommu->stats(m);
        nic0().stats(m);
        const auto it = m.find(name);
        return it == m.end() ? ~std::uint64_t(0) : it->second;
    }
    std::size_t faults_with(vtd::fault_reason r) const {
        std::size_t n = 0;
        for (const auto& f : pi->iommu->faults()) n += f.record.reason == r;
        return n;
    }
};

TEST(AtsPlatform, HostEnablesAtsOfATrustedDeviceAndTranslates) {
    run t(platform_yaml() + "steps:\n" + map_and_master +
          "  - { do: device.ats_translate, device: nic0, args: { addr: 0x40000 } }\n"
          "  - { do: device.dma_read, device: nic0, args: { addr: 0x40000, len: 4, address_type: atc } }\n"
          "  - { do: device.dma_read, device: nic0, args: { addr: 0x40000, len: 4, address_type: atc } }\n");
    t.steps_ok();
    EXPECT_TRUE(t.nic0().ats_enabled());
    const auto& tr = t.result(4);
    EXPECT_EQ(tr["errno"], 0);
    EXPECT_EQ(tr["translated"], t.result(1)["mfn"].get<std::uint64_t>() << 12);
    EXPECT_EQ(tr["read"], true);
    EXPECT_EQ(tr["write"], true);
    EXPECT_EQ(t.result(5)["data"], "61 62 63 64");
    EXPECT_EQ(t.result(6)["data"], "61 62 63 64");
    // One Translation Request: the ATC served both reads, the IOMMU passed them untranslated.
    EXPECT_EQ(t.stat("iommu.ats_translation_requests"), 1u);
    EXPECT_EQ(t.stat("iommu.ats_translated_passed"), 2u);
    EXPECT_EQ(t.stat("nic0.atc_hits"), 2u);
    EXPECT_TRUE(t.pi->iommu->faults().empty());
}

TEST(AtsPlatform, NoAtsBelowAnExternalFacingPort) {
    run t(platform_yaml("true", "external_facing: true") + "steps:\n" + map_and_master +
          "  - { do: device.ats_translate, device: nic0, args: { addr: 0x40000 } }\n"
          "  - { do: device.dma_read, device: nic0, args: { addr: 0x40000, len: 8, address_type: translation_request } }\n");
    EXPECT_FALSE(t.nic0().ats_enabled());
    EXPECT_EQ(t.result(4)["errno"], "EIO");
    EXPECT_EQ(t.result(4)["issued"], false);
    // Sent anyway: TT=00b blocks it with fault reason 0xD.
    EXPECT_EQ(t.result(5)["completion"], "UR");
    EXPECT_EQ(t.faults_with(vtd::fault_reason::translation_type_blocked), 1u);
}

TEST(AtsPlatform, NoAtsWithoutEcapDt) {
    run t(platform_yaml("true", "", "device_tlb: false") + "steps:\n" + map_and_master +
          "  - { do: device.dma_read, device: nic0, args: { addr: 0x40000, len: 4, address_type: translated } }\n");
    EXPECT_FALSE(t.nic0().ats_enabled());
    EXPECT_EQ(t.result(4)["completion"], "UR");
    EXPECT_EQ(t.faults_with(vtd::fault_reason::translation_type_blocked), 1u);
}

TEST(AtsPlatform, NoAtsWithoutPageAlignedRequest) {
    run t(platform_yaml("{ page_aligned: false }") + "steps:\n" + map_and_master);
    EXPECT_FALSE(t.nic0().ats_enabled());
    ASSERT_TRUE(t.nic0().ats_capability());
}

TEST(AtsPlatform, CapabilityRegistersAsSpecified) {
    run t(platform_yaml("{ queue_depth: 5, page_aligned: true }") + "steps:\n" + map_and_master);
    const auto cap = *t.nic0().ats_capability();
    const auto& cfg = t.nic0().config();
    EXPECT_EQ(cfg.get(cap, 4) & 0xffff, 0x000fu);  // extended capability ID
    EXPECT_EQ(cfg.get(cap + pci::ats_reg::capability, 2), 0x25u);
    EXPECT_EQ(cfg.get(cap + pci::ats_reg::control, 2), std::uint64_t(pci::ats_reg::CTRL_ENABLE));  // STU 0: 4 KiB
}

TEST(AtsPlatform, TranslationOfAnUnmappedPageGrantsNothingAndRecordsNoFault) {
    run t(platform_yaml() + "steps:\n" + map_and_master +
          "  - { do: device.ats_translate, device: nic0, args: { addr: 0x80000 } }\n"
          "  - { do: device.dma_write, device: nic0, args: { addr: 0x80000, data: \"01\", address_type: atc } }\n");
    EXPECT_EQ(t.result(4)["errno"], 0);
    EXPECT_EQ(t.result(4)["completion"], "SC");
    EXPECT_EQ(t.result(4)["read"], false);
    EXPECT_EQ(t.result(4)["write"], false);
    EXPECT_EQ(t.result(5)["errno"], "EIO");
    EXPECT_TRUE(t.pi->iommu->faults().empty());
    EXPECT_EQ(t.stat("nic0.ats_denied"), 1u);
}

TEST(AtsPlatform, ReadOnlyMappingTranslatesWithoutWrite) {
    run t(platform_yaml() + "steps:\n" +
          "  - { do: iommu.map, args: { domain: guest1, iova: 0x40000, address: 0x5000, size: 4KiB, write: false } }\n"
          "  - { do: pci.set_master, as: guest1, args: { device: nic0 } }\n"
          "  - { do: device.ats_translate, device: nic0, args: { addr: 0x40000 } }\n"
          "  - { do: device.dma_write, device: nic0, args: { addr: 0x40000, data: \"01\", address_type: atc } }\n");
    EXPECT_EQ(t.result(2)["read"], true);
    EXPECT_EQ(t.result(2)["write"], false);
    EXPECT_EQ(t.result(3)["errno"], "EIO");
}

TEST(AtsPlatform, TranslationBlockingRefusesTranslationRequestsToo) {
    run t(platform_yaml("true", "acs: [SV, TB, RR, CR, UF], acs_ctrl: [SV, TB, RR, CR, UF]") + "steps:\n" + map_and_master +
          "  - { do: device.ats_translate, device: nic0, args: { addr: 0x40000 } }\n"
          "  - { do: device.dma_read, device: nic0, args: { addr: 0x40000, len: 4, address_type: atc } }\n"
          "  - { do: device.dma_read, device: nic0, args: { addr: 0x40000, len: 4 } }\n");
    EXPECT_EQ(t.result(4)["completion"], "CA");
    EXPECT_EQ(t.result(5)["errno"], "EIO");
    // Untranslated requests are not Translation Blocking's business.
    EXPECT_EQ(t.result(6)["data"], "61 62 63 64");
    EXPECT_TRUE(t.pi->iommu->faults().empty());
}

TEST(AtsPlatform, DeviceTlbInvalidationDropsTheEntryAndCompletes) {
    run t(platform_yaml() + "steps:\n" + map_and_master +
          "  - { do: device.ats_translate, device: nic0, args: { addr: 0x40000 } }\n"
          "  - { do: iommu.unmap, args: { domain: guest1, iova: 0x40000, size: 4KiB } }\n"
          "  - { do: device.dma_read, device: nic0, args: { addr: 0x40000, len: 4, address_type: atc } }\n"
          "  - { do: iommu.device_tlb_invalidate, args: { device: nic0, addr: 0x40000, size: 8KiB } }\n"
          "  - { do: device.dma_read, device: nic0, args: { addr: 0x40000, len: 4, address_type: atc } }\n");
    // The unmap's IOTLB flush is followed by the domain's device-TLB
    // invalidations (Linux 6.1 iommu_flush_dev_iotlb): no stale ATC entry.
    EXPECT_EQ(t.result(6)["errno"], "EIO");
    EXPECT_EQ(t.result(7)["errno"], 0);
    EXPECT_EQ(t.result(7)["completed"], true);
    EXPECT_EQ(t.result(7)["timeouts"], 0);
    EXPECT_EQ(t.result(8)["errno"], "EIO");
    // One at attach (the domain-selective flush), one for the unmap, the step's own.
    EXPECT_EQ(t.stat("iommu.device_tlb_invalidations"), 3u);
    EXPECT_EQ(t.stat("iommu.device_tlb_completions"), 3u);
    EXPECT_EQ(t.stat("nic0.ats_invalidations"), 3u);
    EXPECT_EQ(t.pi->iommu->device_tlb_invalidations_pending(sc_core::sc_time_stamp()), 0u);
}

TEST(AtsPlatform, InvalidationRangeOutsideTheEntryKeepsIt) {
    run t(platform_yaml() + "steps:\n" + map_and_master +
          "  - { do: device.ats_translate, device: nic0, args: { addr: 0x40000 } }\n"
          "  - { do: iommu.device_tlb_invalidate, args: { device: nic0, addr: 0x42000, size: 8KiB } }\n"
          "  - { do: device.dma_read, device: nic0, args: { addr: 0x40000, len: 4, address_type: atc } }\n"
          "  - { do: iommu.device_tlb_invalidate, args: { device: nic0, addr: 0x41000, size: 8KiB } }\n");
    EXPECT_EQ(t.result(6)["data"], "61 62 63 64");
    EXPECT_EQ(t.result(7)["errno"], "EINVAL");  // not aligned to its size
    EXPECT_EQ(t.stat("nic0.ats_translation_requests"), 1u);
}

TEST(AtsPlatform, DeviceThatNeverCompletesLeavesTheInvalidationPendingUntilTimeOut) {
    std::string y = platform_yaml("true", "", "ats: { invalidation_timeout: 10us }", "scripted");
    // A scripted function that never returns its Invalidate Completion.
    y.insert(y.find("  pcie:\n"), "  devices: { scripted: { ats_invalidation_completion: false } }\n");
    run t(y + "steps:\n" + map_and_master +
          "  - { do: device.ats_translate, device: nic0, args: { addr: 0x40000 } }\n"
          "  - { do: iommu.device_tlb_invalidate, args: { device: nic0, addr: 0x40000 } }\n");
    // The step waited, as the wait descriptor does, until the time-out.
    EXPECT_EQ(t.result(5)["errno"], "ETIMEDOUT");
    EXPECT_EQ(t.result(5)["completed"], false);
    // The attach-time invalidation (the domain-selective flush) timed out too.
    EXPECT_EQ(t.result(5)["timeouts"], 2);
    const iommu::iommu& u = *t.pi->iommu;
    const sc_core::sc_time over = u.device_tlb_invalidations_over_at();
    const sc_core::sc_time sent = over - sc_core::sc_time(10, sc_core::SC_US);
    EXPECT_EQ(u.device_tlb_invalidations_pending(sent + sc_core::sc_time(5, sc_core::SC_US)), 1u);
    EXPECT_EQ(u.device_tlb_invalidation_timeouts(sent + sc_core::sc_time(5, sc_core::SC_US)), 1u);
    EXPECT_EQ(u.device_tlb_invalidations_pending(over), 0u);
    EXPECT_EQ(u.device_tlb_invalidation_timeouts(over), 2u);
    EXPECT_EQ(t.stat("iommu.device_tlb_completions"), 0u);
    // The ATC did drop the entry: only the completion is missing.
    EXPECT_EQ(t.nic0().atc().size(), 0u);
}

// The checkers see a translated request that bypassed the walk: a read of
// another domain's frame is a dma_isolation violation.
TEST(AtsPlatform, CheckersSeeTranslatedRequestsThatBypassTheWalk) {
    run t(platform_yaml() + "steps:\n" +
          "  - { do: mem.write, as: guest2, args: { addr: 0x2000, data: \"73 65 63\" } }\n"
          "  - { do: sim.p2m, args: { domain: guest2, gfn: 2 }, save: v }\n"
          "  - { do: pci.set_master, as: guest1, args: { device: nic0 } }\n"
          "  - { do: device.dma_read, device: nic0, args: { addr: \"$v.mfn<<12\", len: 3, address_type: translated } }\n"
          "invariants: [dma_isolation]\nexpect_violation: [dma_isolation]\n");
    EXPECT_EQ(t.result(3)["data"], "73 65 63");
    ASSERT_FALSE(t.report().violations.empty());
    EXPECT_EQ(t.report().violations[0].invariant, "dma_isolation");
    EXPECT_EQ(t.report().violations[0].device, "nic0");
    EXPECT_EQ(t.report().violations[0].owner, "guest2");
    EXPECT_TRUE(t.report().pass);
}

// A Function Level Reset clears ATS Enable and with it the ATC.
TEST(AtsPlatform, ResetClearsTheAtc) {
    run t(platform_yaml() + "steps:\n" + map_and_master +
          "  - { do: device.ats_translate, device: nic0, args: { addr: 0x40000 } }\n");
    EXPECT_EQ(t.nic0().atc().size(), 1u);
    t.nic0().function_level_reset();
    EXPECT_EQ(t.nic0().atc().size(), 0u);
    EXPECT_FALSE(t.nic0().ats_enabled());
}

} // namespace
