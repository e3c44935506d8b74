// The DMI fast path on a booted platform: a function's stream() takes a
// pointer to a translated page through root port, root complex and IOMMU,
// and loses it before every unmap, invalidation, domain change and Bus
// Master Enable clear completes (in deferred mode, when the flush runs).
// Each TEST builds one platform (SystemC elaborates once per process).
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "platform/address_map.h"
#include "platform/boot.h"
#include "platform/builder.h"
#include "platform/loader.h"
#include "tests/support/temp_dir.h"

namespace iotwin {
namespace {

using namespace sc_core;

std::string platform_yaml(const std::string& mode, bool iommu = true) {
    return std::string("name: dmi\nseed: 1\nplatform:\n  memory: 2GiB\n") + (iommu ? "" : "  iommu: { enabled: false }\n") +
           "  pcie:\n    - id: rp1\n      type: root_port\n      children:\n        - { id: nic0, type: endpoint, model: dma_engine }\n"
           "domains:\n  - { name: dom0, privileged: true, memory: 512MiB }\n"
           "  - { name: guest1, memory: 64MiB, iommu_invalidation: " + mode + ", devices: [nic0] }\nsteps: []\n";
}

struct dmi_platform {
    test::temp_dir dir;
    platform::scenario s;
    std::unique_ptr<platform::platform_instance> pi;
    pci::pci_function* ep = nullptr;
    pci::pci_function* port = nullptr;
    hyp::domid_t guest = 0;
    sc_time d;

    explicit dmi_platform(const std::string& mode, bool iommu = true) {
        s = platform::load_scenario(dir.write("s.yaml", platform_yaml(mode, iommu)));
        pi = platform::build_platform(s);
        sc_start(SC_ZERO_TIME);
        platform::boot_platform(s, *pi, d);
        ep = pi->by_id.at("nic0");
        port = pi->by_id.at("rp1");
        guest = pi->hypervisor->find("guest1")->id;
        set_master(*ep, true);
    }
    void set_master(pci::pci_function& f, bool on) {
        std::uint16_t cmd = pci::command_bits::memory_space | (on ? pci::command_bits::bus_master : 0);
        pi->hypervisor->machine_access(tlm::TLM_WRITE_COMMAND,
                                       platform::address_map::ecam_base + pcie::ecam_offset(f.bdf(), pci::cfg::command),
                                       reinterpret_cast<std::uint8_t*>(&cmd), 2, d);
    }
    // guest1's page `gpa` written by the guest (through the hypervisor).
    void fill(std::uint64_t gpa, std::uint32_t v) {
        const std::uint64_t m = *pi->hypervisor->find(guest)->to_machine(gpa, 4);
        pi->hypervisor->write_machine(m, &v, 4, d);
    }
    int map(std::uint64_t iova, std::uint64_t gpa) { return pi->hypervisor->iommu_map(guest, iova, gpa, 4096, true, true, d); }
    int unmap(std::uint64_t iova) {
        std::uint64_t n = 0;
        return pi->hypervisor->iommu_unmap(guest, iova, 4096, n, d);
    }
    // A 4-byte read by the streaming path, and by the TLP path for reference.
    bool stream_read(std::uint64_t iova, std::uint32_t& v) {
        v = 0;
        const auto r = ep->stream(tlm::TLM_READ_COMMAND, iova, reinterpret_cast<std::uint8_t*>(&v), 4, d);
        return r.issued && r.status == pcie::completion::SC && r.bytes == 4;
    }
    bool tlp_read(std::uint64_t iova, std::uint32_t& v) {
        v = 0;
        const auto r = ep->dma(tlm::TLM_READ_COMMAND, iova, reinterpret_cast<std::uint8_t*>(&v), 4, d);
        return r.issued && r.status == pcie::completion::SC && r.bytes == 4;
    }
    // Lets simulated time pass (the flush queue's timer runs in it).
    void run_for(const sc_time& t) {
        sc_start(d + t);
        d = SC_ZERO_TIME;
    }
    std::uint64_t iommu_stat(const char* name) const {
        stat_map m;
        pi->iommu->stats(m);
        return m.at(std::string("iommu.") + name);
    }
};

TEST(Dmi, StreamTakesAPointerToTheTranslatedPageOnly) {
    dmi_platform p("strict");
    p.fill(0x3000, 0x11223344);
    ASSERT_EQ(p.map(0x0, 0x3000), 0);
    std::uint32_t v = 0;
    ASSERT_TRUE(p.stream_read(0x10, v));
    EXPECT_TRUE(p.ep->has_dmi_pointer(0x0));
    EXPECT_FALSE(p.ep->has_dmi_pointer(0x1000)) << "page-granular";
    ASSERT_TRUE(p.stream_read(0x0, v));
    EXPECT_EQ(v, 0x11223344u);
    EXPECT_GE(p.ep->dmi_accesses(), 2u);
    // A write through the pointer lands in the guest's page.
    std::uint32_t w = 0xa5a5a5a5;
    ASSERT_TRUE(p.ep->stream(tlm::TLM_WRITE_COMMAND, 0x8, reinterpret_cast<std::uint8_t*>(&w), 4, p.d).issued);
    std::uint32_t back = 0;
    p.pi->hypervisor->read_machine(*p.pi->hypervisor->find(p.guest)->to_machine(0x3008, 4), &back, 4, p.d);
    EXPECT_EQ(back, 0xa5a5a5a5u);
}

TEST(Dmi, ReadOnlyMappingGrantsNoWrite) {
    dmi_platform p("strict");
    ASSERT_EQ(p.pi->hypervisor->iommu_map(p.guest, 0x0, 0x3000, 4096, true, false, p.d), 0);
    std::uint32_t v = 0;
    ASSERT_TRUE(p.stream_read(0x0, v));
    EXPECT_TRUE(p.ep->has_dmi_pointer(0x0));
    std::uint32_t w = 1;
    const auto before = p.ep->dmi_accesses();
    p.ep->stream(tlm::TLM_WRITE_COMMAND, 0x0, reinterpret_cast<std::uint8_t*>(&w), 4, p.d);
    EXPECT_EQ(p.ep->dmi_accesses(), before) << "the write went the TLP way";
    EXPECT_FALSE(p.pi->iommu->faults().empty()) << "and faulted there";
}

TEST(Dmi, StrictUnmapRevokesBeforeItReturns) {
    dmi_platform p("strict");
    ASSERT_EQ(p.map(0x0, 0x3000), 0);
    std::uint32_t v = 0;
    ASSERT_TRUE(p.stream_read(0x0, v));
    ASSERT_TRUE(p.ep->has_dmi_pointer(0x0));
    ASSERT_EQ(p.unmap(0x0), 0);
    EXPECT_FALSE(p.ep->has_dmi_pointer(0x0));
    EXPECT_FALSE(p.stream_read(0x0, v));
    EXPECT_GE(p.iommu_stat("dmi_revoked"), 1u);
}

TEST(Dmi, BusMasterClearRevokes) {
    dmi_platform p("strict");
    ASSERT_EQ(p.map(0x0, 0x3000), 0);
    std::uint32_t v = 0;
    ASSERT_TRUE(p.stream_read(0x0, v));
    p.set_master(*p.ep, false);
    EXPECT_FALSE(p.ep->has_dmi_pointer(0x0));
    EXPECT_FALSE(p.stream_read(0x0, v));
    p.set_master(*p.ep, true);
    EXPECT_TRUE(p.stream_read(0x0, v));
}

TEST(Dmi, PortBusMasterClearRevokesBelowIt) {
    dmi_platform p("strict");
    ASSERT_EQ(p.map(0x0, 0x3000), 0);
    std::uint32_t v = 0;
    ASSERT_TRUE(p.stream_read(0x0, v));
    ASSERT_TRUE(p.ep->has_dmi_pointer(0x0));
    // The root port stops forwarding requests upstream.
    std::uint16_t cmd = pci::command_bits::memory_space;
    p.pi->hypervisor->machine_access(tlm::TLM_WRITE_COMMAND,
                                     platform::address_map::ecam_base + pcie::ecam_offset(p.port->bdf(), pci::cfg::command),
                                     reinterpret_cast<std::uint8_t*>(&cmd), 2, p.d);
    EXPECT_FALSE(p.ep->has_dmi_pointer(0x0));
    EXPECT_FALSE(p.stream_read(0x0, v)) << "the port refuses the TLP, and grants no new pointer";
    EXPECT_FALSE(p.ep->has_dmi_pointer(0x0));
}

TEST(Dmi, NoPointerWithoutTranslation) {
    dmi_platform p("strict", false);
    std::uint32_t v = 0;
    const std::uint64_t m = *p.pi->hypervisor->find(p.guest)->to_machine(0x3000, 4);
    EXPECT_TRUE(p.stream_read(m, v)) << "untranslated DMA works, by TLPs";
    EXPECT_EQ(p.ep->dmi_pointers(), 0u);
    EXPECT_EQ(p.ep->dmi_accesses(), 0u);
}

TEST(Dmi, DeferredRevocationFollowsTheFlushNotTheUnmap) {
    dmi_platform p("deferred");
    p.fill(0x3000, 1);
    ASSERT_EQ(p.map(0x0, 0x3000), 0);
    std::uint32_t v = 0;
    ASSERT_TRUE(p.stream_read(0x0, v));
    ASSERT_EQ(p.unmap(0x0), 0);
    EXPECT_TRUE(p.ep->has_dmi_pointer(0x0)) << "the stale window: the IOTLB still holds the page, so may the device";
    p.fill(0x3000, 2);
    ASSERT_TRUE(p.stream_read(0x0, v));
    EXPECT_EQ(v, 2u);
    ASSERT_TRUE(p.tlp_read(0x0, v)) << "the TLP path sees the same stale window";
    p.run_for(sc_time(11, SC_MS));
    EXPECT_FALSE(p.ep->has_dmi_pointer(0x0)) << "the flush revoked it";
    EXPECT_FALSE(p.stream_read(0x0, v));
    EXPECT_FALSE(p.tlp_read(0x0, v));
}

// Random maps, unmaps, flushes, Bus Master Enable toggles and reads over 24
// pages: every streamed read must give what the TLP path through the IOTLB
// gives (strict: exactly what is mapped), so no access ever used a pointer
// the IOMMU had revoked.
void stress(const std::string& mode) {
    dmi_platform p(mode);
    std::mt19937 rng(12345);
    constexpr unsigned pages = 24;
    std::map<unsigned, std::uint64_t> mapped;  // IOVA page -> gpa
    std::uint32_t stamp = 100;
    std::uint64_t checks = 0;
    for (unsigned round = 0; round < 1500; ++round) {
        const unsigned pg = rng() % pages;
        const std::uint64_t iova = std::uint64_t(pg) << 12;
        switch (rng() % 8) {
        case 0:
        case 1:
            if (!mapped.count(pg)) {
                const std::uint64_t gpa = 0x100000 + (std::uint64_t(rng() % 64) << 12);
                if (p.map(iova, gpa) == 0) mapped[pg] = gpa;
            }
            break;
        case 2:
            if (mapped.count(pg)) {
                ASSERT_EQ(p.unmap(iova), 0);
                p.fill(mapped[pg], ++stamp);  // the freed page reused at once
                mapped.erase(pg);
            }
            break;
        case 3:
            if (rng() % 4 == 0) {
                p.set_master(*p.ep, false);
                std::uint32_t v = 0;
                EXPECT_FALSE(p.stream_read(iova, v));
                EXPECT_EQ(p.ep->dmi_pointers(), 0u);
                p.set_master(*p.ep, true);
            } else if (mode == "deferred" && rng() % 2) {
                p.run_for(sc_time(11, SC_MS));
            }
            break;
        default: {
            if (mapped.count(pg)) p.fill(mapped[pg], ++stamp);
            std::uint32_t by_stream = 0, by_tlp = 0;
            const bool s_ok = p.stream_read(iova, by_stream);
            const bool t_ok = p.tlp_read(iova, by_tlp);
            ASSERT_EQ(s_ok, t_ok) << "round " << round << " page " << pg;
            if (s_ok) {
                ASSERT_EQ(by_stream, by_tlp) << "round " << round << " page " << pg;
            }
            if (mode == "strict") {
                ASSERT_EQ(s_ok, mapped.count(pg) == 1) << "round " << round << " page " << pg;
            }
            if (mode == "strict" && s_ok) {
                ASSERT_EQ(by_stream, stamp) << "round " << round;
            }
            ++checks;
        }
        }
    }
    EXPECT_GT(checks, 500u);
    EXPECT_GT(p.ep->dmi_accesses(), 100u) << "the fast path was exercised";
    EXPECT_GT(p.iommu_stat("dmi_revoked"), 10u) << "and revoked";
}

TEST(Dmi, StressStrictNoAccessThroughARevokedPointer) { stress("strict"); }
TEST(Dmi, StressDeferredNoAccessThroughARevokedPointer) { stress("deferred"); }

} // namespace
} // namespace iotwin
