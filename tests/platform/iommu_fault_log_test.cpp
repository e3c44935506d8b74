// The host's DMAR fault handler on a whole platform: every faulting DMA
// interrupts the hypervisor, whose handler (Linux 6.1 dmar_fault()) reads
// and clears each fault recording register, so the log never stays full:
// the ninth fault and every later one are logged and interrupt too. With
// Linux's printk ratelimit modelled, records past the burst are cleared
// without being logged.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "models/common/stats.h"
#include "models/hyp/hypervisor.h"
#include "models/iommu/iommu.h"
#include "tests/support/scenario_run.h"

namespace {

using iotwin::test::scenario_run;

std::string platform_yaml(const std::string& iommu_extra) {
    return "name: fault-log\nseed: 1\nplatform:\n  memory: 2GiB\n"
           "  iommu: { fault_records: 8" + iommu_extra + " }\n"
           "  pcie:\n"
           "    - { id: rp1, type: root_port, children: [ { id: nic0, type: endpoint, model: dma_engine } ] }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 512MiB }\n"
           "  - { name: guest1, memory: 256MiB, devices: [nic0] }\n"
           "steps:\n"
           "  - { do: pci.set_master, as: guest1, args: { device: nic0 } }\n";
}

// `n` posted writes to unmapped IOVAs 0x100000, 0x101000, ...: one fault each.
std::string faulting_writes(unsigned n) {
    std::string s;
    for (unsigned i = 0; i < n; ++i)
        s += "  - { do: device.dma_write, device: nic0, args: { addr: " + std::to_string(0x100000 + i * 0x1000) +
             ", data: \"01 02 03 04\" } }\n";
    return s;
}

std::uint64_t stat(const scenario_run& t, const std::string& key) {
    iotwin::stat_map m;
    t.pi->hypervisor->stats(m);
    t.pi->iommu->stats(m);
    return m.at(key);
}

std::string expected_line(unsigned i) {
    char addr[32];
    std::snprintf(addr, sizeof addr, "0x%x", 0x100000 + i * 0x1000);
    return std::string("DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr ") + addr +
           " [fault reason 0x05] PTE Write access is not set";
}

TEST(IommuFaultLog, TwentyFaultsTwentyLogLinesAndInterrupts) {
    scenario_run t(platform_yaml("") + faulting_writes(20));
    t.steps_ok();
    for (unsigned i = 0; i < 20; ++i) {
        const auto& r = t.result(1 + i);
        EXPECT_EQ(r.at("fault"), true) << i;
        ASSERT_TRUE(r.contains("faults")) << "fault " << i << " was not logged: " << r.dump();
        ASSERT_EQ(r.at("faults").size(), 1u) << i;
        EXPECT_EQ(r.at("faults")[0].get<std::string>().find("Request device [01:00.0] fault addr"), 27u) << r.dump();
    }
    EXPECT_EQ(stat(t, "iommu.faults"), 20u);
    EXPECT_EQ(stat(t, "iommu.fault_interrupts"), 20u);
    EXPECT_EQ(stat(t, "hypervisor.iommu_fault_interrupts"), 20u);
    EXPECT_EQ(stat(t, "hypervisor.dmar_fault_runs"), 20u);
    EXPECT_EQ(stat(t, "hypervisor.dmar_faults_logged"), 20u);
    ASSERT_EQ(t.pi->hypervisor->dmar_log().size(), 20u);
    for (unsigned i = 0; i < 20; ++i) EXPECT_EQ(t.pi->hypervisor->dmar_log()[i].address, 0x100000u + i * 0x1000) << i;
}

TEST(IommuFaultLog, LinesAreWhatTheHandlerReadFromTheRegisters) {
    scenario_run t(platform_yaml("") + faulting_writes(10));
    t.steps_ok();
    // The ninth and tenth too: the handler cleared the ring as it went.
    for (unsigned i = 0; i < 10; ++i) {
        const auto& f = t.result(1 + i).at("faults");
        ASSERT_EQ(f.size(), 1u);
        const std::string line = f[0].get<std::string>();
        EXPECT_EQ(line, expected_line(i));
        EXPECT_NE(line.find("[fault reason 0x05] PTE Write access is not set"), std::string::npos) << line;
    }
}

TEST(IommuFaultLog, LinuxRatelimitDropsRecordsPastTheBurst) {
    // 10 messages per 5 s: each interrupt spends one on "DRHD: handling fault
    // status reg", one on its record and one on the check that ends the scan,
    // so the fourth interrupt's record is cleared unlogged.
    scenario_run t(platform_yaml(", fault_log: { ratelimit: true }") + faulting_writes(20));
    t.steps_ok();
    EXPECT_EQ(stat(t, "iommu.fault_interrupts"), 20u);
    EXPECT_EQ(stat(t, "hypervisor.dmar_faults_logged"), 3u);
    EXPECT_EQ(stat(t, "hypervisor.dmar_faults_ratelimited"), 17u);
    EXPECT_TRUE(t.result(3).contains("faults"));
    EXPECT_FALSE(t.result(4).contains("faults"));
    EXPECT_EQ(t.result(4).at("fault"), true);  // blocked all the same
}

} // namespace
