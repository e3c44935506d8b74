// Interrupt remapping on a whole platform: the host sets it up as Linux 6.1
// does (IRTA, SIRTP, IRE, CFI clear), binds an IRTE per MSI with source-ID
// validation of the device's requester ID, and programs the device with the
// remappable format; the IOMMU looks every message up in the table in memory
// and blocks what does not match, recording the VT-d reason in the fault log.
#include <gtest/gtest.h>

#include <string>

#include "models/common/stats.h"
#include "models/hyp/hypervisor.h"
#include "models/iommu/interrupt_remap.h"
#include "models/iommu/iommu.h"
#include "models/iommu/vtd.h"
#include "tests/support/scenario_run.h"

namespace {

using iotwin::test::scenario_run;
namespace vtd = iotwin::vtd;

std::string platform_yaml(const std::string& iommu) {
    return "name: ir\nseed: 1\nplatform:\n  memory: 2GiB\n"
           "  iommu: { " + iommu + " }\n"
           "  pcie:\n"
           "    - { id: rp1, type: root_port, children: [ { id: evil, type: endpoint, model: scripted } ] }\n"
           "    - { id: rp2, type: root_port, children: [ { id: victim, type: endpoint, model: dma_engine } ] }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 512MiB }\n"
           "  - { name: guest1, memory: 256MiB, devices: [evil] }\n"
           "  - { name: guest2, memory: 256MiB, devices: [victim] }\n"
           "steps:\n"
           "  - { do: pci.enable_msi, as: guest2, args: { device: victim }, save: msi }\n"
           "  - { do: pci.set_master, as: guest1, args: { device: evil } }\n"
           "  - { do: pci.set_master, as: guest2, args: { device: victim } }\n";
}

std::uint64_t stat(const scenario_run& t, const std::string& key) {
    iotwin::stat_map m;
    t.pi->hypervisor->stats(m);
    t.pi->iommu->stats(m);
    return m.at(key);
}

std::string msi_step(const std::string& device, const std::string& args) {
    return "  - { do: device.msi, device: " + device + (args.empty() ? "" : ", args: { " + args + " }") + " }\n";
}

TEST(InterruptRemapping, HostEnablesItAndProgramsRemappableMessages) {
    scenario_run t(platform_yaml("interrupt_remapping: true") + msi_step("victim", ""));
    t.steps_ok();
    EXPECT_TRUE(t.pi->iommu->interrupt_remapping_enabled());
    EXPECT_TRUE(t.pi->hypervisor->interrupt_remapping());
    // Handle 0 with SHV, data = subhandle 0 (VT-d 5.1.5.2).
    EXPECT_EQ(t.result(0).at("address_lo"), vtd::msi::address(0, true));
    EXPECT_EQ(t.result(0).at("address_lo"), 0xFEE00018u);
    EXPECT_EQ(t.result(0).at("data"), 0u);
    EXPECT_EQ(t.result(3).at("delivered"), iotwin::platform::json::array({"guest2"}));
    EXPECT_EQ(stat(t, "iommu.msi_remapped"), 1u);
    EXPECT_EQ(stat(t, "hypervisor.irtes_allocated"), 1u);
    EXPECT_EQ(stat(t, "iommu.faults"), 0u);
}

TEST(InterruptRemapping, ForeignSourceIsBlockedWithReason26) {
    scenario_run t(platform_yaml("interrupt_remapping: true") +
                   msi_step("evil", "address: $msi.address_lo, data: $msi.data"));
    t.steps_ok();
    EXPECT_EQ(t.result(3).at("delivered"), iotwin::platform::json::array({"hypervisor"}));  // the fault event only
    EXPECT_EQ(t.result(3).at("fault"), true);
    ASSERT_EQ(t.pi->iommu->faults().size(), 1u);
    EXPECT_EQ(t.pi->iommu->faults()[0].record.reason, vtd::fault_reason::ir_source_id_invalid);
    EXPECT_EQ(stat(t, "iommu.msi_blocked"), 1u);
    EXPECT_EQ(stat(t, "iommu.msi_remapped"), 0u);
}

TEST(InterruptRemapping, WithoutSourceValidationAnyDeviceMayUseTheEntry) {
    scenario_run t(platform_yaml("interrupt_remapping: true, ir: { source_validation: false }") +
                   msi_step("evil", "address: $msi.address_lo, data: $msi.data"));
    t.steps_ok();
    EXPECT_EQ(t.result(3).at("delivered"), iotwin::platform::json::array({"guest2"}));
    EXPECT_EQ(stat(t, "iommu.msi_remapped"), 1u);
}

TEST(InterruptRemapping, IndexBeyondTheTableIsReason21AndAnEmptyEntryReason22) {
    // The host's table has 256 entries (IRTA.S = 7).
    scenario_run t(platform_yaml("interrupt_remapping: true") +
                   msi_step("victim", "address: " + std::to_string(vtd::msi::address(300, false)) + ", data: 0") +
                   msi_step("victim", "address: " + std::to_string(vtd::msi::address(7, false)) + ", data: 0") +
                   msi_step("victim", "address: " + std::to_string(vtd::msi::address(0, true)) + ", data: 0x10000"));
    t.steps_ok();
    ASSERT_EQ(t.pi->iommu->faults().size(), 3u);
    EXPECT_EQ(t.pi->iommu->faults()[0].record.reason, vtd::fault_reason::ir_index_beyond_size);
    EXPECT_EQ(t.pi->iommu->faults()[0].record.address >> 48, 300u);
    EXPECT_EQ(t.pi->iommu->faults()[1].record.reason, vtd::fault_reason::ir_entry_not_present);
    EXPECT_EQ(t.pi->iommu->faults()[2].record.reason, vtd::fault_reason::ir_request_reserved);  // data 31:16 with SHV
    EXPECT_EQ(t.result(3).at("faults")[0],
              "DMAR: [INTR-REMAP] Request device [02:00.0] fault index 0x12c [fault reason 0x21] Interrupt index exceeded the interrupt-remapping table size");
    EXPECT_EQ(t.result(3).at("delivered"), iotwin::platform::json::array({"hypervisor"}));  // the fault event only
}

TEST(InterruptRemapping, CompatibilityFormatIsBlockedUnlessPassedThrough) {
    {
        scenario_run t(platform_yaml("interrupt_remapping: true") + msi_step("victim", "address: 0xFEE02000, data: 0x30"));
        t.steps_ok();
        EXPECT_EQ(t.result(3).at("delivered"), iotwin::platform::json::array({"hypervisor"}));  // the fault event only
        ASSERT_EQ(t.pi->iommu->faults().size(), 1u);
        EXPECT_EQ(t.pi->iommu->faults()[0].record.reason, vtd::fault_reason::ir_compatibility_blocked);
    }
}

TEST(InterruptRemapping, CompatibilityPassThrough) {
    scenario_run t(platform_yaml("interrupt_remapping: true, ir: { compat_pass_through: true }") +
                   msi_step("victim", "address: 0xFEE02000, data: 0x30"));
    t.steps_ok();
    EXPECT_EQ(t.result(3).at("delivered"), iotwin::platform::json::array({"guest2"}));
    EXPECT_EQ(stat(t, "iommu.msi_compat_passed"), 1u);
}

TEST(InterruptRemapping, OffLeavesMessagesAsTheyAre) {
    scenario_run t(platform_yaml("interrupt_remapping: false") + msi_step("evil", "address: 0xFEE02000, data: 0x30"));
    t.steps_ok();
    EXPECT_FALSE(t.pi->iommu->interrupt_remapping_enabled());
    EXPECT_EQ(t.result(0).at("address_lo"), 0xFEE02000u);
    EXPECT_EQ(t.result(3).at("delivered"), iotwin::platform::json::array({"guest2"}));
    EXPECT_EQ(stat(t, "iommu.msi_forwarded"), 1u);
}

// The IRTE bind_msi wrote: present, the vector and the domain's APIC ID,
// SVT = 1 / SQ = 0 / SID = the function's requester ID (Linux's set_msi_sid).
TEST(InterruptRemapping, TheEntryVerifiesTheRequesterId) {
    scenario_run t(platform_yaml("interrupt_remapping: true"));
    t.steps_ok();
    sc_core::sc_time d;
    const std::uint64_t irta = [&] {
        std::uint64_t v = 0;
        t.pi->hypervisor->access(tlm::TLM_READ_COMMAND, 0xFED90000 + vtd::reg::IRTA, &v, 8, d);
        return v;
    }();
    EXPECT_EQ(irta & vtd::irta::S_MASK, 7u);
    EXPECT_EQ(irta & vtd::irta::EIME, 0u);
    std::uint64_t e[2] = {0, 0};
    ASSERT_EQ(t.pi->hypervisor->read_machine(irta & vtd::irta::ADDR_MASK, e, 16, d), 0);
    const auto x = iotwin::iommu::irte::decode(e[0], e[1]);
    EXPECT_TRUE(x.present);
    EXPECT_EQ(x.vector, 0x30);
    EXPECT_EQ(x.destination, 2);
    EXPECT_EQ(x.svt, vtd::irte::svt::requester_id);
    EXPECT_EQ(x.sq, 0u);
    EXPECT_EQ(x.sid, 0x0200);
    EXPECT_FALSE(iotwin::iommu::irte_reserved(e[0], e[1]));
}

// The interrupt entry cache: the unit keeps a valid IRTE once read, so
// software must invalidate it after every change (the host does: globally
// after SIRTP, for the entry after each bind, as Linux's qi_flush_iec). An
// entry changed behind the unit's back keeps working until then.
std::uint64_t irte_address(const scenario_run& t) {
    sc_core::sc_time d;
    std::uint64_t irta = 0;
    t.pi->hypervisor->access(tlm::TLM_READ_COMMAND, 0xFED90000 + vtd::reg::IRTA, &irta, 8, d);
    return irta & vtd::irta::ADDR_MASK;
}

// The victim's first MSI after its entry was cleared in memory, without an invalidation.
bool remapped_after_clearing_the_entry(const scenario_run& t) {
    sc_core::sc_time d;
    const std::uint64_t zero[2] = {0, 0};
    EXPECT_EQ(t.pi->hypervisor->write_machine(irte_address(t), zero, 16, d), 0);
    const std::uint64_t before = stat(t, "iommu.msi_remapped");
    t.pi->by_id.at("victim")->send_msi(0, d);
    return stat(t, "iommu.msi_remapped") == before + 1;
}

TEST(InterruptRemapping, TheEntryCacheHoldsAnEntryUntilItIsInvalidated) {
    scenario_run t(platform_yaml("interrupt_remapping: true") + msi_step("victim", "") + msi_step("victim", ""));
    t.steps_ok();
    EXPECT_EQ(stat(t, "iommu.interrupt_entry_cache_misses"), 1u);
    EXPECT_EQ(stat(t, "iommu.interrupt_entry_cache_hits"), 1u);
    // Global after SIRTP, then the bound entry's.
    EXPECT_EQ(stat(t, "iommu.interrupt_entry_invalidations"), 2u);
    EXPECT_TRUE(remapped_after_clearing_the_entry(t));  // stale, from the cache
}

TEST(InterruptRemapping, WithoutTheEntryCacheEveryMessageReadsItsEntry) {
    scenario_run t(platform_yaml("interrupt_remapping: true, ir: { entry_cache: 0 }") + msi_step("victim", "") +
                   msi_step("victim", ""));
    t.steps_ok();
    EXPECT_EQ(stat(t, "iommu.interrupt_entry_cache_hits"), 0u);
    EXPECT_FALSE(remapped_after_clearing_the_entry(t));
    ASSERT_FALSE(t.pi->iommu->faults().empty());
    EXPECT_EQ(t.pi->iommu->faults().back().record.reason, vtd::fault_reason::ir_entry_not_present);
}

TEST(InterruptRemapping, NeedsQueuedInvalidationAsLinuxDoes) {
    scenario_run t(platform_yaml("interrupt_remapping: true, queued_invalidation: false"));
    t.steps_ok();
    EXPECT_FALSE(t.pi->hypervisor->interrupt_remapping());
    EXPECT_FALSE(t.pi->iommu->interrupt_remapping_enabled());
}

// A conventional device behind a PCIe-to-PCI bridge: its MSIs carry the
// bridge's alias (secondary bus, 00.0), so the host's IRTE can only verify
// the bus (Linux 6.1 set_msi_sid: SVT 2, start bus = the alias's, end bus =
// the device's). Its own message is delivered; a device elsewhere naming the
// same entry is blocked (26h).
TEST(InterruptRemapping, BehindAPcieToPciBridgeTheEntryVerifiesTheBus) {
    const std::string yaml = "name: ir-bridge\nseed: 1\nplatform:\n  memory: 2GiB\n"
                             "  iommu: { interrupt_remapping: true }\n"
                             "  pcie:\n"
                             "    - { id: rp1, type: root_port, children: [ { id: evil, type: endpoint, model: scripted } ] }\n"
                             "    - { id: rp2, type: root_port, children: [ { id: br, type: pcie_pci_bridge, children: [\n"
                             "        { id: legacy, type: pci_device, at: \"01.0\", model: dma_engine } ] } ] }\n"
                             "domains:\n"
                             "  - { name: dom0, privileged: true, memory: 512MiB }\n"
                             "  - { name: guest1, memory: 256MiB, devices: [evil] }\n"
                             "  - { name: guest2, memory: 256MiB, devices: [legacy] }\n"
                             "steps:\n"
                             "  - { do: pci.enable_msi, as: guest2, args: { device: legacy }, save: msi }\n"
                             "  - { do: pci.set_master, as: guest2, args: { device: legacy } }\n"
                             "  - { do: pci.set_master, as: guest1, args: { device: evil } }\n"
                             "  - { do: device.msi, device: legacy }\n"
                             "  - { do: device.msi, device: evil, args: { address: $msi.address_lo, data: $msi.data } }\n";
    scenario_run t(yaml);
    EXPECT_EQ(t.result(3).at("delivered"), iotwin::platform::json::array({"guest2"}));
    EXPECT_EQ(t.result(4).at("delivered"), iotwin::platform::json::array({"hypervisor"}));  // the fault event only
    EXPECT_EQ(t.result(4).at("fault"), true);
    ASSERT_FALSE(t.pi->iommu->faults().empty());
    EXPECT_EQ(t.pi->iommu->faults().back().record.reason, vtd::fault_reason::ir_source_id_invalid);
    sc_core::sc_time d;
    std::uint64_t e[2] = {0, 0};
    ASSERT_EQ(t.pi->hypervisor->read_machine(irte_address(t), e, 16, d), 0);
    const auto x = iotwin::iommu::irte::decode(e[0], e[1]);
    const std::uint8_t secondary = t.pi->by_id.at("legacy")->bdf().bus;
    EXPECT_EQ(x.svt, vtd::irte::svt::bus_range);
    EXPECT_EQ(x.sid, secondary << 8 | secondary);
}

TEST(IrteSourceCheck, SqAndBusRange) {
    iotwin::iommu::irte e;
    e.svt = vtd::irte::svt::requester_id;
    e.sid = 0x0108;  // 01:01.0
    EXPECT_TRUE(iotwin::iommu::irte_source_ok(e, 0x0108));
    EXPECT_FALSE(iotwin::iommu::irte_source_ok(e, 0x0109));
    e.sq = 3;  // ignore the function number
    EXPECT_TRUE(iotwin::iommu::irte_source_ok(e, 0x010f));
    EXPECT_FALSE(iotwin::iommu::irte_source_ok(e, 0x0110));
    e.svt = vtd::irte::svt::bus_range;
    e.sid = 0x0204;  // buses 2..4
    EXPECT_TRUE(iotwin::iommu::irte_source_ok(e, 0x0300));
    EXPECT_FALSE(iotwin::iommu::irte_source_ok(e, 0x0500));
    e.svt = vtd::irte::svt::none;
    EXPECT_TRUE(iotwin::iommu::irte_source_ok(e, 0xffff));
    EXPECT_TRUE(iotwin::iommu::irte_reserved(vtd::irte::P | vtd::irte::IM, 0));
    EXPECT_TRUE(iotwin::iommu::irte_reserved(vtd::irte::P, 3ull << vtd::irte::SVT_SHIFT));
}

} // namespace
