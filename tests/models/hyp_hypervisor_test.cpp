// The hypervisor and its VT-d driver on a whole platform (build_platform +
// boot_platform): domain memory, the ownership ledger, guest accesses, the IO
// page table through iommu_map/unmap as a device's DMA sees it, device
// assignment and interrupt routing.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "platform/address_map.h"
#include "platform/boot.h"
#include "platform/builder.h"

namespace {

using namespace iotwin;
using namespace sc_core;
using hyp::domid_t;

constexpr std::uint64_t MiB = 1ull << 20, GiB = 1ull << 30;
constexpr std::uint64_t heap_base = 0x100000, heap_end = 16 * MiB;  // hypervisor_params defaults

platform::domain_desc domain(const std::string& name, std::uint64_t memory, bool privileged = false,
                             std::vector<std::string> devices = {}) {
    platform::domain_desc d;
    d.name = name;
    d.memory = memory;
    d.privileged = privileged;
    for (auto& dev : devices) d.devices.emplace_back(dev, platform::source_pos{});
    return d;
}

// rp1 (root port) -> ep0 (bar_ram endpoint); dom0 privileged, guest1 owns ep0.
struct twin {
    platform::scenario s;
    std::unique_ptr<platform::platform_instance> pi;
    hyp::hypervisor* h = nullptr;
    pci::pci_function* ep = nullptr;

    explicit twin(std::uint64_t memory = 1 * GiB,
                  std::vector<platform::domain_desc> domains = {domain("dom0", 256 * MiB, true),
                                                                domain("guest1", 64 * MiB, false, {"ep0"})}) {
        s.name = "hyp-test";
        s.platform.memory = memory;
        platform::pcie_node rp;
        rp.id = "rp1";
        rp.type = platform::node_type::root_port;
        platform::pcie_node e;
        e.id = "ep0";
        e.type = platform::node_type::endpoint;
        e.model = "bar_ram";
        e.bars = {{0, 0x1000, pci::bar_type::mem32, false}};
        rp.children.push_back(e);
        s.platform.pcie.push_back(rp);
        s.domains = std::move(domains);
        // The MSI tests here look at compatibility-format messages; interrupt
        // remapping has tests of its own (tests/platform/interrupt_remapping_test.cpp).
        s.platform.iommu.interrupt_remapping = false;
        pi = platform::build_platform(s);
        h = pi->hypervisor.get();
        ep = pi->by_id.at("ep0");
        sc_start(SC_ZERO_TIME);
        sc_time d = SC_ZERO_TIME;
        platform::boot_platform(s, *pi, d);
    }

    domid_t id(const std::string& name) { return h->find(name)->id; }
    void cfg_write(pci::pci_function& f, std::uint16_t reg, unsigned len, std::uint32_t v) {
        sc_time d = SC_ZERO_TIME;
        ASSERT_EQ(h->machine_access(tlm::TLM_WRITE_COMMAND, platform::address_map::ecam_base + pcie::ecam_offset(f.bdf(), reg),
                                    reinterpret_cast<std::uint8_t*>(&v), len, d),
                  pcie::completion::SC);
    }
    std::uint32_t cfg_read(pci::pci_function& f, std::uint16_t reg, unsigned len) {
        std::uint32_t v = 0;
        sc_time d = SC_ZERO_TIME;
        h->machine_access(tlm::TLM_READ_COMMAND, platform::address_map::ecam_base + pcie::ecam_offset(f.bdf(), reg),
                          reinterpret_cast<std::uint8_t*>(&v), len, d);
        return v;
    }
    void set_master() { cfg_write(*ep, pci::cfg::command, 2, cfg_read(*ep, pci::cfg::command, 2) | pci::command_bits::bus_master); }
    pci::pci_function::dma_result dma(tlm::tlm_command cmd, std::uint64_t iova, std::uint8_t* data, std::uint64_t len) {
        sc_time d = SC_ZERO_TIME;
        return ep->dma(cmd, iova, data, len, d);
    }
    int map(domid_t dom, std::uint64_t iova, std::uint64_t gpa, std::uint64_t size, bool r = true, bool w = true) {
        sc_time d = SC_ZERO_TIME;
        return h->iommu_map(dom, iova, gpa, size, r, w, d);
    }
    int unmap(domid_t dom, std::uint64_t iova, std::uint64_t size, std::uint64_t& unmapped) {
        sc_time d = SC_ZERO_TIME;
        return h->iommu_unmap(dom, iova, size, unmapped, d);
    }
    int create(const std::string& name, std::uint64_t memory) {
        sc_time d = SC_ZERO_TIME;
        return h->create_domain(name, false, memory, d);
    }
    int guest(domid_t dom, tlm::tlm_command cmd, std::uint64_t gpa, std::uint8_t* data, unsigned len) {
        sc_time d = SC_ZERO_TIME;
        return h->guest_access(dom, cmd, gpa, data, len, d);
    }
    std::uint64_t stat(const std::string& name) {
        stat_map m;
        h->stats(m);
        return m.at("hypervisor." + name);
    }
    // Whether the device reaches IOVA `iova` (one 8-byte read).
    bool dma_reaches(std::uint64_t iova) {
        std::uint8_t b[8];
        const auto r = dma(tlm::TLM_READ_COMMAND, iova, b, 8);
        return r.issued && r.status == pcie::completion::SC;
    }
};

std::uint64_t total(const hyp::domain& d) {
    std::uint64_t t = 0;
    for (const auto& e : d.p2m) t += e.size;
    return t;
}

// ---- domain memory ------------------------------------------------------------

TEST(Hypervisor, DomainsGetContiguousAlignedExtentsAboveTheHeap) {
    twin t;
    const hyp::domain& dom0 = *t.h->find("dom0");
    const hyp::domain& g = *t.h->find("guest1");
    EXPECT_EQ(dom0.id, 0u);
    EXPECT_TRUE(dom0.privileged);
    EXPECT_EQ(g.id, 1u);
    EXPECT_EQ(total(dom0), 256 * MiB);
    EXPECT_EQ(total(g), 64 * MiB);
    for (const auto* d : {&dom0, &g}) {
        std::uint64_t gpa = 0;
        for (const auto& e : d->p2m) {
            EXPECT_EQ(e.gpa, gpa) << d->name;  // guest-physical memory starts at 0, no holes
            EXPECT_EQ(e.maddr % (2 * MiB), 0u) << d->name;
            EXPECT_GE(e.maddr, heap_end) << d->name;  // never the hypervisor's image or heap
            gpa += e.size;
        }
    }
    // No machine frame belongs to both.
    const auto& a = dom0.p2m.front();
    const auto& b = g.p2m.front();
    EXPECT_TRUE(a.maddr + a.size <= b.maddr || b.maddr + b.size <= a.maddr);
    EXPECT_EQ(dom0.to_machine(0x1234, 4), a.maddr + 0x1234);
    EXPECT_FALSE(dom0.to_machine(256 * MiB - 2, 4).has_value());  // runs past the end
}

TEST(Hypervisor, AllocationsStart2MiBAligned) {
    twin t;
    // 1 MiB + 4 KiB: the next domain still starts on a 2 MiB boundary.
    const int a = t.create("odd", MiB + 4096);
    ASSERT_GE(a, 0);
    const int b = t.create("next", 2 * MiB);
    ASSERT_GE(b, 0);
    const auto& odd = *t.h->find(static_cast<domid_t>(a));
    const auto& next = *t.h->find(static_cast<domid_t>(b));
    ASSERT_EQ(odd.p2m.size(), 1u);
    ASSERT_EQ(next.p2m.size(), 1u);
    EXPECT_EQ(odd.p2m[0].size, MiB + 4096);
    EXPECT_EQ(next.p2m[0].maddr % (2 * MiB), 0u);
    EXPECT_EQ(next.p2m[0].maddr, odd.p2m[0].maddr + 2 * MiB);
    // The tail of the 2 MiB block stays free.
    EXPECT_EQ(t.h->owner_of(odd.p2m[0].maddr + MiB + 4096), hyp::DOMID_INVALID);
    EXPECT_EQ(t.h->owner_of(odd.p2m[0].maddr + MiB), static_cast<domid_t>(a));
}

TEST(Hypervisor, CreateDomainRejectsBadSizesAndDuplicateNames) {
    twin t;
    EXPECT_EQ(t.create("zero", 0), -EINVAL);
    EXPECT_EQ(t.create("unaligned", 4096 + 1), -EINVAL);
    EXPECT_EQ(t.create("guest1", 4096), -EEXIST);
    EXPECT_EQ(t.h->domains().size(), 2u);
}

TEST(Hypervisor, RamAbove4GiBWhenMemoryExceeds3GiB) {
    twin t(4 * GiB, {domain("dom0", 256 * MiB, true)});
    // Low RAM ends at 3 GiB: 3 GiB - 16 MiB (heap) - 256 MiB (dom0) remain there.
    const std::uint64_t low_free = 3 * GiB - heap_end - 256 * MiB;
    const int id = t.create("big", low_free + 64 * MiB);
    ASSERT_GE(id, 0);
    const auto& big = *t.h->find(static_cast<domid_t>(id));
    ASSERT_EQ(big.p2m.size(), 2u);
    EXPECT_EQ(big.p2m[0].size, low_free);
    EXPECT_EQ(big.p2m[0].maddr + big.p2m[0].size, platform::address_map::low_ram_limit);
    EXPECT_EQ(big.p2m[1].maddr, platform::address_map::high_ram_base);
    EXPECT_EQ(big.p2m[1].gpa, low_free);
    EXPECT_EQ(big.p2m[1].size, 64 * MiB);
    // Nothing is ever placed in the MMIO hole.
    EXPECT_EQ(t.h->owner_of(3 * GiB), hyp::DOMID_INVALID);
    EXPECT_EQ(t.h->owner_of(4 * GiB), static_cast<domid_t>(id));
    // A guest access to the high part lands in high machine memory.
    std::uint8_t v[4] = {1, 2, 3, 4};
    EXPECT_EQ(t.guest(static_cast<domid_t>(id), tlm::TLM_WRITE_COMMAND, low_free + 0x10, v, 4), 0);
    std::uint8_t back[4] = {};
    ASSERT_TRUE(t.pi->memory->peek(4 * GiB + 0x10, back, 4));
    EXPECT_EQ(std::memcmp(back, v, 4), 0);
    // An access that straddles the two extents is split by page and still works.
    std::uint8_t span[8] = {9, 8, 7, 6, 5, 4, 3, 2};
    EXPECT_EQ(t.guest(static_cast<domid_t>(id), tlm::TLM_WRITE_COMMAND, low_free - 4, span, 8), 0);
    std::uint8_t lo[4], hi[4];
    t.pi->memory->peek(3 * GiB - 4, lo, 4);
    t.pi->memory->peek(4 * GiB, hi, 4);
    EXPECT_EQ(std::memcmp(lo, span, 4), 0);
    EXPECT_EQ(std::memcmp(hi, span + 4, 4), 0);
}

TEST(Hypervisor, EnomemWhenRamIsExhaustedAndNothingIsLeaked) {
    twin t;  // 1 GiB: 16 MiB hypervisor, 256 MiB dom0, 64 MiB guest1
    // Each domain's first grant-table frame comes from the top of RAM, so the
    // top 2 MiB can no longer hold a domain's (2 MiB-aligned) memory.
    const std::uint64_t free = 1 * GiB - heap_end - 256 * MiB - 64 * MiB - 2 * MiB;
    EXPECT_EQ(t.create("too-big", free + 2 * MiB), -ENOMEM);
    EXPECT_EQ(t.h->domains().size(), 2u);
    // The failed attempt claimed nothing: all of it can still be had.
    const int id = t.create("rest", free);
    ASSERT_GE(id, 0);
    EXPECT_EQ(total(*t.h->find(static_cast<domid_t>(id))), free);
    EXPECT_EQ(t.create("one-more", 2 * MiB), -ENOMEM);
    EXPECT_EQ(t.h->owner_of(1 * GiB - 2 * MiB - 4096), static_cast<domid_t>(id));
    // The top page is one of dom0's frames (its first grant-table frame).
    EXPECT_EQ(t.h->owner_of(1 * GiB - 4096), t.id("dom0"));
}

TEST(Hypervisor, HeapExhaustionFailsCleanly) {
    // The IOMMU tables come from the hypervisor's 15 MiB heap. Mapping one page
    // every 2 MiB of IOVA costs a fresh last-level table each time, until none is left.
    twin t;
    const domid_t g = t.id("guest1");
    t.set_master();
    std::uint64_t k = 0;
    int err = 0;
    for (; k < 5000 && !(err = t.map(g, k * 2 * MiB, 0, 4096)); ++k) {}
    ASSERT_EQ(err, ENOMEM);
    ASSERT_GT(k, 1000u);
    // A map whose first page fits in an existing table and whose second needs a
    // new one fails as a whole.
    EXPECT_EQ(t.map(g, k * 2 * MiB - 4096, 0x1000, 2 * 4096), ENOMEM);
    EXPECT_FALSE(t.dma_reaches(k * 2 * MiB - 4096));
    EXPECT_TRUE(t.dma_reaches((k - 1) * 2 * MiB));
    // A domain needs a top-level table too: without one it is not created, and
    // the memory it would have had stays free (not claimed for a domain ID that
    // the next successful domain would reuse).
    const auto& guest = *t.h->find("guest1");
    const std::uint64_t next_free = guest.p2m[0].maddr + guest.p2m[0].size;
    EXPECT_EQ(t.create("late", 2 * MiB), -ENOMEM);
    EXPECT_EQ(t.h->domains().size(), 2u);
    EXPECT_EQ(t.h->owner_of(next_free), hyp::DOMID_INVALID);
}

// ---- ownership ledger and guest accesses ---------------------------------------------

TEST(Hypervisor, OwnershipLedger) {
    twin t;
    const auto& dom0 = *t.h->find("dom0");
    const auto& g = *t.h->find("guest1");
    EXPECT_EQ(t.h->owner_of(heap_base), hyp::DOMID_XEN);
    EXPECT_EQ(t.h->owner_of(heap_end - 1), hyp::DOMID_XEN);
    EXPECT_EQ(t.h->owner_of(dom0.p2m[0].maddr), dom0.id);
    EXPECT_EQ(t.h->owner_of(dom0.p2m[0].maddr + dom0.p2m[0].size - 1), dom0.id);
    EXPECT_EQ(t.h->owner_of(g.p2m[0].maddr), g.id);
    EXPECT_EQ(t.h->owner_of(g.p2m[0].maddr + g.p2m[0].size - 1), g.id);
    const std::uint64_t end = g.p2m[0].maddr + g.p2m[0].size;  // the highest allocation
    EXPECT_EQ(t.h->owner_of(end), hyp::DOMID_INVALID);
    // Grant-table frames and shared-info pages: from the top of RAM, each its domain's.
    for (const auto* d : {&dom0, &g}) {
        for (std::uint64_t f : t.h->grant_tables().find(d->id)->frames) EXPECT_EQ(t.h->owner_of(f), d->id);
        EXPECT_EQ(t.h->owner_of(d->translate(d->shared_info_gfn() * 4096)->maddr), d->id);
    }
    EXPECT_EQ(t.h->owner_of(1 * GiB - 1), dom0.id);
    EXPECT_EQ(t.h->owner_of(platform::address_map::mmio32_base), hyp::DOMID_INVALID);
}

TEST(Hypervisor, GuestAccessGoesThroughTheP2m) {
    twin t;
    const auto& g = *t.h->find("guest1");
    std::uint8_t out[6] = {'g', 'u', 'e', 's', 't', '1'};
    EXPECT_EQ(t.guest(g.id, tlm::TLM_WRITE_COMMAND, 0x5000, out, 6), 0);
    std::uint8_t m[6] = {};
    ASSERT_TRUE(t.pi->memory->peek(g.p2m[0].maddr + 0x5000, m, 6));
    EXPECT_EQ(std::memcmp(m, out, 6), 0);
    std::uint8_t in[6] = {};
    EXPECT_EQ(t.guest(g.id, tlm::TLM_READ_COMMAND, 0x5000, in, 6), 0);
    EXPECT_EQ(std::memcmp(in, out, 6), 0);
    // dom0's gpa 0x5000 is different memory.
    std::uint8_t d0[6] = {};
    EXPECT_EQ(t.guest(t.id("dom0"), tlm::TLM_READ_COMMAND, 0x5000, d0, 6), 0);
    EXPECT_NE(std::memcmp(d0, out, 6), 0);
}

TEST(Hypervisor, GuestAccessOutsideTheDomainIsEfault) {
    twin t;
    const domid_t g = t.id("guest1");
    std::uint8_t b[8] = {};
    // Above RAM (64 MiB) the domain has its first grant-table frame, then nothing.
    EXPECT_EQ(t.guest(g, tlm::TLM_READ_COMMAND, 64 * MiB, b, 4), 0);
    EXPECT_EQ(t.guest(g, tlm::TLM_READ_COMMAND, 64 * MiB + 4096, b, 4), EFAULT);
    EXPECT_EQ(t.guest(g, tlm::TLM_WRITE_COMMAND, 64 * MiB + 4096 - 4, b, 8), EFAULT);  // straddles the end
    EXPECT_EQ(t.guest(g, tlm::TLM_READ_COMMAND, 64 * MiB - 8, b, 8), 0);
    EXPECT_EQ(t.guest(g, tlm::TLM_READ_COMMAND, ~std::uint64_t(0) - 2, b, 4), EFAULT);
    EXPECT_EQ(t.guest(42, tlm::TLM_READ_COMMAND, 0, b, 4), EFAULT);  // no such domain
}

// ---- the IO page table ------------------------------------------------------------------

TEST(Hypervisor, IommuMapLetsTheDeviceReachGuestMemory) {
    twin t;
    const auto& g = *t.h->find("guest1");
    t.set_master();
    EXPECT_FALSE(t.dma_reaches(0x100000));  // nothing mapped yet
    ASSERT_EQ(t.map(g.id, 0x100000, 0x200000, 2 * 4096), 0);
    std::uint8_t data[8] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};
    const auto r = t.dma(tlm::TLM_WRITE_COMMAND, 0x101000 + 0x40, data, 8);
    EXPECT_EQ(r.status, pcie::completion::SC);
    EXPECT_FALSE(r.iommu_fault);
    std::uint8_t in[8] = {};
    EXPECT_EQ(t.guest(g.id, tlm::TLM_READ_COMMAND, 0x201040, in, 8), 0);
    EXPECT_EQ(std::memcmp(in, data, 8), 0);
    EXPECT_FALSE(t.dma_reaches(0x102000));  // one page past the mapping
}

TEST(Hypervisor, IommuMapEinval) {
    twin t;
    const domid_t g = t.id("guest1");
    EXPECT_EQ(t.map(g, 0x1001, 0x2000, 4096), EINVAL);       // IOVA not page aligned
    EXPECT_EQ(t.map(g, 0x1000, 0x2800, 4096), EINVAL);       // address not page aligned
    EXPECT_EQ(t.map(g, 0x1000, 0x2000, 4096 + 512), EINVAL); // size not a page multiple
    EXPECT_EQ(t.map(g, 0x1000, 0x2000, 0), EINVAL);
    EXPECT_EQ(t.map(g, 0x1000, 0x2000, 4096, false, false), EINVAL);
    EXPECT_EQ(t.map(g, 1ull << 48, 0x2000, 4096), EINVAL);   // beyond the 48-bit address width
    EXPECT_EQ(t.map(77, 0x1000, 0x2000, 4096), ESRCH);
    // None of these mapped anything.
    t.set_master();
    EXPECT_FALSE(t.dma_reaches(0x1000));
}

TEST(Hypervisor, IommuMapEfaultForMemoryTheDomainDoesNotOwn) {
    twin t;
    const domid_t g = t.id("guest1");
    EXPECT_EQ(t.map(g, 0x1000, 64 * MiB, 4096), EFAULT);
    EXPECT_EQ(t.map(g, 0x1000, 64 * MiB - 4096, 2 * 4096), EFAULT);  // the second page is not the guest's
    t.set_master();
    EXPECT_FALSE(t.dma_reaches(0x1000));  // the first page was not mapped either
    EXPECT_EQ(t.map(g, 0x1000, 64 * MiB - 4096, 4096), 0);
    EXPECT_TRUE(t.dma_reaches(0x1000));
}

TEST(Hypervisor, IommuMapEexistLeavesNothingHalfMapped) {
    twin t;
    const domid_t g = t.id("guest1");
    t.set_master();
    ASSERT_EQ(t.map(g, 0x10000 + 2 * 4096, 0x40000, 4096), 0);
    // Pages 0 and 1 are free, page 2 is taken, page 3 would be free.
    EXPECT_EQ(t.map(g, 0x10000, 0x80000, 4 * 4096), EEXIST);
    EXPECT_FALSE(t.dma_reaches(0x10000));
    EXPECT_FALSE(t.dma_reaches(0x11000));
    EXPECT_FALSE(t.dma_reaches(0x13000));
    // The existing mapping is untouched: still to gpa 0x40000, not 0x82000.
    std::uint8_t mark[4] = {0x11, 0x22, 0x33, 0x44};
    ASSERT_EQ(t.guest(g, tlm::TLM_WRITE_COMMAND, 0x40000, mark, 4), 0);
    std::uint8_t in[4] = {};
    EXPECT_EQ(t.dma(tlm::TLM_READ_COMMAND, 0x12000, in, 4).status, pcie::completion::SC);
    EXPECT_EQ(std::memcmp(in, mark, 4), 0);
    // And the pages the failed call touched can be mapped afresh.
    EXPECT_EQ(t.map(g, 0x10000, 0x80000, 2 * 4096), 0);
    EXPECT_TRUE(t.dma_reaches(0x11000));
}

TEST(Hypervisor, ReadOnlyMappingBlocksDeviceWrites) {
    twin t;
    const domid_t g = t.id("guest1");
    t.set_master();
    ASSERT_EQ(t.map(g, 0x3000, 0x3000, 4096, true, false), 0);
    std::uint8_t b[4] = {1, 2, 3, 4};
    EXPECT_EQ(t.dma(tlm::TLM_READ_COMMAND, 0x3000, b, 4).status, pcie::completion::SC);
    const auto w = t.dma(tlm::TLM_WRITE_COMMAND, 0x3000, b, 4);
    // Posted: nothing returns to the device; the IOMMU blocked it all the same.
    EXPECT_TRUE(w.posted);
    EXPECT_EQ(w.status, pcie::completion::SC);
    EXPECT_TRUE(w.iommu_fault);
}

TEST(Hypervisor, IommuUnmapReturnsTheSizeAndTheNextDmaFaults) {
    twin t;
    const domid_t g = t.id("guest1");
    t.set_master();
    ASSERT_EQ(t.map(g, 0x200000, 0x300000, 4 * 4096), 0);
    // Warm the IOTLB: a stale entry is what strict invalidation must remove.
    ASSERT_TRUE(t.dma_reaches(0x201000));
    ASSERT_TRUE(t.dma_reaches(0x201000));
    std::uint64_t unmapped = 1;
    EXPECT_EQ(t.unmap(g, 0x201000, 2 * 4096, unmapped), 0);
    EXPECT_EQ(unmapped, 2 * 4096u);
    std::uint8_t b[8];
    const auto r = t.dma(tlm::TLM_READ_COMMAND, 0x201000, b, 8);
    EXPECT_EQ(r.status, pcie::completion::UR);
    EXPECT_TRUE(r.iommu_fault);
    EXPECT_FALSE(t.dma_reaches(0x202000));
    // The pages around it stay mapped.
    EXPECT_TRUE(t.dma_reaches(0x200000));
    EXPECT_TRUE(t.dma_reaches(0x203000));
    // Unmapping what is not mapped unmaps nothing; partially mapped ranges count only the mapped part.
    EXPECT_EQ(t.unmap(g, 0x201000, 4096, unmapped), 0);
    EXPECT_EQ(unmapped, 0u);
    EXPECT_EQ(t.unmap(g, 0x202000, 3 * 4096, unmapped), 0);
    EXPECT_EQ(unmapped, 4096u);
    EXPECT_FALSE(t.dma_reaches(0x203000));
    EXPECT_EQ(t.unmap(g, 0x200001, 4096, unmapped), EINVAL);
    EXPECT_EQ(t.unmap(g, 0x200000, 0, unmapped), EINVAL);
}

TEST(Hypervisor, IommuFaultsInterruptTheHypervisor) {
    twin t;
    t.set_master();
    EXPECT_FALSE(t.dma_reaches(0x7000));
    ASSERT_FALSE(t.h->deliveries().empty());
    EXPECT_EQ(t.h->deliveries().back().domain, hyp::DOMID_XEN);
    EXPECT_EQ(t.stat("iommu_fault_interrupts"), 1u);
}

// ---- devices and interrupts ------------------------------------------------------------

TEST(Hypervisor, AssignDevice) {
    twin t;
    const std::uint16_t rid = t.ep->bdf().rid();
    EXPECT_EQ(t.h->device_owner(rid), t.id("guest1"));
    sc_time d = SC_ZERO_TIME;
    EXPECT_EQ(t.h->assign_device(t.id("dom0"), rid, d), EBUSY);
    EXPECT_EQ(t.h->device_owner(rid), t.id("guest1"));
    EXPECT_EQ(t.h->assign_device(t.id("guest1"), rid, d), 0);  // again to its owner: nothing changes
    EXPECT_EQ(t.h->find("guest1")->devices.size(), 1u);
    EXPECT_EQ(t.h->assign_device(99, rid, d), ESRCH);
    // The root port is nobody's device.
    EXPECT_FALSE(t.h->device_owner(t.pi->by_id.at("rp1")->bdf().rid()).has_value());
}

TEST(Hypervisor, UnassignedDevicesStayWithTheHardwareDomain) {
    twin t(1 * GiB, {domain("dom0", 256 * MiB, true), domain("guest1", 64 * MiB)});
    EXPECT_EQ(t.h->device_owner(t.ep->bdf().rid()), t.id("dom0"));
    // So the device translates through dom0's IO page table.
    t.set_master();
    ASSERT_EQ(t.map(t.id("dom0"), 0x5000, 0x5000, 4096), 0);
    EXPECT_TRUE(t.dma_reaches(0x5000));
    ASSERT_EQ(t.map(t.id("guest1"), 0x6000, 0x6000, 4096), 0);
    EXPECT_FALSE(t.dma_reaches(0x6000));
}

TEST(Hypervisor, BindMsiGivesEachDomainItsOwnVectors) {
    twin t;
    const auto a = t.h->bind_msi(t.id("guest1"));
    const auto b = t.h->bind_msi(t.id("dom0"));
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->vector, b->vector);
    EXPECT_GE(a->vector, 0x20);  // above the exception vectors
    // The destination is the domain's vCPU: APIC ID = domid, in address bits 19:12.
    EXPECT_EQ(a->address, 0xFEE00000u | std::uint64_t(t.id("guest1")) << 12);
    EXPECT_EQ(b->address, 0xFEE00000u);
    EXPECT_EQ(a->data & 0xff, a->vector);
    EXPECT_FALSE(t.h->bind_msi(123).has_value());
    intc::interrupt_message m;
    m.vector = a->vector;
    m.destination = static_cast<std::uint8_t>(t.id("guest1"));
    m.requester_id = 0x0100;
    m.from_device = true;
    t.h->deliver(m);
    m.vector = b->vector;
    m.destination = static_cast<std::uint8_t>(t.id("dom0"));
    t.h->deliver(m);
    ASSERT_EQ(t.h->deliveries().size(), 2u);
    EXPECT_EQ(t.h->deliveries()[0].domain, t.id("guest1"));
    EXPECT_EQ(t.h->deliveries()[0].vector, a->vector);
    EXPECT_EQ(t.h->deliveries()[0].requester_id, 0x0100u);
    EXPECT_TRUE(t.h->deliveries()[0].from_device);
    EXPECT_EQ(t.h->deliveries()[1].domain, t.id("dom0"));
}

TEST(Hypervisor, UnboundVectorsAreCountedNotDelivered) {
    twin t;
    EXPECT_EQ(t.stat("unbound_interrupts"), 0u);
    intc::interrupt_message m;
    m.vector = 0xe0;
    t.h->deliver(m);
    t.h->deliver(m);
    EXPECT_TRUE(t.h->deliveries().empty());
    EXPECT_EQ(t.stat("unbound_interrupts"), 2u);
}

TEST(Hypervisor, DeviceMsiReachesTheBoundDomain) {
    twin t;
    t.set_master();
    const auto bind = t.h->bind_msi(t.id("guest1"));
    ASSERT_TRUE(bind);
    const auto cap = t.ep->config().find_capability(pci::cap_id::msi);
    ASSERT_TRUE(cap);
    const auto c = static_cast<std::uint16_t>(*cap);
    t.cfg_write(*t.ep, c + 4, 4, static_cast<std::uint32_t>(bind->address));
    t.cfg_write(*t.ep, c + 8, 4, static_cast<std::uint32_t>(bind->address >> 32));
    t.cfg_write(*t.ep, c + 12, 2, bind->data);
    t.cfg_write(*t.ep, c + 2, 2, 1);
    sc_time d = SC_ZERO_TIME;
    // No IOMMU mapping is needed: interrupt messages are not remapped as DMA.
    EXPECT_TRUE(t.ep->send_msi(0, d));
    ASSERT_EQ(t.h->deliveries().size(), 1u);
    EXPECT_EQ(t.h->deliveries()[0].domain, t.id("guest1"));
    EXPECT_EQ(t.h->deliveries()[0].vector, bind->vector);
    EXPECT_EQ(t.h->deliveries()[0].requester_id, t.ep->bdf().rid());
    EXPECT_TRUE(t.h->deliveries()[0].from_device);
    // A vector nobody bound, from the same device: counted, not delivered.
    t.cfg_write(*t.ep, c + 12, 2, 0xe5);
    EXPECT_TRUE(t.ep->send_msi(0, d));
    EXPECT_EQ(t.h->deliveries().size(), 1u);
    EXPECT_EQ(t.stat("unbound_interrupts"), 1u);
}

// An MSI that names the vector bound to guest1 but another vCPU as its
// destination reaches a CPU where nothing is bound: reported, not delivered.
TEST(Hypervisor, MsiToAnotherVcpuIsMisdirectedNotDelivered) {
    twin t;
    const auto a = t.h->bind_msi(t.id("guest1"));
    ASSERT_TRUE(a);
    intc::interrupt_message m;
    m.vector = a->vector;
    m.destination = static_cast<std::uint8_t>(t.id("dom0"));
    m.from_device = true;
    t.h->deliver(m);
    EXPECT_TRUE(t.h->deliveries().empty());
    ASSERT_EQ(t.h->misdirected().size(), 1u);
    EXPECT_EQ(t.h->misdirected()[0].domain, t.id("guest1"));
    EXPECT_EQ(t.h->misdirected()[0].destination, t.id("dom0"));
    EXPECT_EQ(t.stat("misdirected_interrupts"), 1u);
    // Through the fabric: the device programmed with dom0's APIC ID and guest1's vector.
    t.set_master();
    const auto cap = t.ep->config().find_capability(pci::cap_id::msi);
    ASSERT_TRUE(cap);
    const auto c = static_cast<std::uint16_t>(*cap);
    t.cfg_write(*t.ep, c + 4, 4, static_cast<std::uint32_t>(hyp::hypervisor::msi_address(0)));
    t.cfg_write(*t.ep, c + 12, 2, a->data);
    t.cfg_write(*t.ep, c + 2, 2, 1);
    sc_time d = SC_ZERO_TIME;
    t.ep->send_msi(0, d);
    EXPECT_TRUE(t.h->deliveries().empty());
    EXPECT_EQ(t.h->misdirected().size(), 2u);
    // With guest1's own destination it arrives.
    t.cfg_write(*t.ep, c + 4, 4, static_cast<std::uint32_t>(a->address));
    t.ep->send_msi(0, d);
    ASSERT_EQ(t.h->deliveries().size(), 1u);
    EXPECT_EQ(t.h->deliveries()[0].domain, t.id("guest1"));
}

// IOVA space: an unmap beyond the 48-bit width is refused like a map; it must
// not remove IOVA 0's mapping (the tables index bits 47:12 only) nor leave
// its IOTLB entry stale.
TEST(Hypervisor, IommuUnmapBeyondTheWidthIsEinvalAndAliasesNothing) {
    twin t;
    const domid_t g = t.id("guest1");
    t.set_master();
    std::uint8_t secret[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ASSERT_EQ(t.guest(g, tlm::TLM_WRITE_COMMAND, 0x3000, secret, 8), 0);
    ASSERT_EQ(t.map(g, 0x0, 0x3000, 4096), 0);
    ASSERT_TRUE(t.dma_reaches(0x0));  // the translation is in the IOTLB now
    std::uint64_t unmapped = 1;
    EXPECT_EQ(t.unmap(g, 1ull << 48, 4096, unmapped), EINVAL);
    EXPECT_EQ(unmapped, 0u);
    EXPECT_EQ(t.unmap(g, ~std::uint64_t(0xfff), 2 * 4096, unmapped), EINVAL);  // wraps past 2^64 to IOVA 0
    EXPECT_EQ(unmapped, 0u);
    EXPECT_EQ(t.unmap(g, (1ull << 48) - 4096, 2 * 4096, unmapped), EINVAL);    // runs past the width
    EXPECT_EQ(t.map(g, ~std::uint64_t(0xfff), 0x3000, 2 * 4096), EINVAL);
    // IOVA 0 is still mapped, and the device still reads what it maps.
    std::uint8_t b[8] = {};
    const auto r = t.dma(tlm::TLM_READ_COMMAND, 0x0, b, 8);
    ASSERT_EQ(r.status, pcie::completion::SC);
    EXPECT_EQ(std::memcmp(b, secret, 8), 0);
    // Unmapping it for real removes it, and the next DMA faults.
    EXPECT_EQ(t.unmap(g, 0x0, 4096, unmapped), 0);
    EXPECT_EQ(unmapped, 4096u);
    EXPECT_FALSE(t.dma_reaches(0x0));
}

// The VT-d driver itself refuses IOVAs its tables cannot hold, whoever calls it.
TEST(Hypervisor, VtdDriverRefusesIovasBeyondTheWidth) {
    twin t;
    const domid_t g = t.id("guest1");
    const hyp::domain& x = *t.h->find(g);
    ASSERT_EQ(t.map(g, 0x0, 0x3000, 4096), 0);
    hyp::frame_pool pool(0x800000, 0x10000);  // inside the hypervisor's heap, above what boot used
    hyp::vtd_driver drv(*t.h, platform::address_map::iommu_regs_base, pool);
    sc_time d = SC_ZERO_TIME;
    EXPECT_EQ(drv.unmap_page(x.iommu_did, x.iommu_pgd, 1ull << 48, d), EINVAL);
    EXPECT_EQ(drv.map_page(x.iommu_pgd, 1ull << 48, 0x3000, true, true, d), EINVAL);
    EXPECT_EQ(pool.used(), 0u);  // no table was made for it
    t.set_master();
    EXPECT_TRUE(t.dma_reaches(0x0));
}

// Guest-physical space: an access that runs past the domain, or wraps past
// 2^64 onto guest-physical 0, is EFAULT and touches nothing.
TEST(Hypervisor, GuestAccessWrappingPastTheTopIsEfault) {
    twin t;
    const domid_t g = t.id("guest1");
    std::uint8_t zero[8] = {}, b[8];
    ASSERT_EQ(t.guest(g, tlm::TLM_WRITE_COMMAND, 0x0, zero, 8), 0);
    std::uint8_t data[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    EXPECT_EQ(t.guest(g, tlm::TLM_WRITE_COMMAND, ~std::uint64_t(3), data, 8), EFAULT);
    EXPECT_EQ(t.guest(g, tlm::TLM_WRITE_COMMAND, ~std::uint64_t(0xfff), data, 8), EFAULT);
    // Past the domain's end (RAM, then its one grant-table frame).
    EXPECT_EQ(t.guest(g, tlm::TLM_WRITE_COMMAND, 64 * MiB + 4096 - 4, data, 8), EFAULT);
    EXPECT_EQ(t.guest(g, tlm::TLM_READ_COMMAND, 64 * MiB + 4096, b, 1), EFAULT);
    ASSERT_EQ(t.guest(g, tlm::TLM_READ_COMMAND, 0x0, b, 8), 0);
    EXPECT_EQ(std::memcmp(b, zero, 8), 0);
}

// Machine space: a CPU access beyond RAM (in the hole, or past its end) is an
// address error from the interconnect and memory; it never wraps into RAM.
TEST(Hypervisor, MachineAccessBeyondRamIsAnAddressError) {
    twin t;  // 1 GiB of RAM at 0
    std::uint64_t v = 0x1122334455667788;
    sc_time d = SC_ZERO_TIME;
    EXPECT_FALSE(t.h->access(tlm::TLM_WRITE_COMMAND, 1 * GiB, &v, 8, d));
    EXPECT_FALSE(t.h->access(tlm::TLM_WRITE_COMMAND, 1 * GiB - 4, &v, 8, d));
    EXPECT_FALSE(t.h->access(tlm::TLM_WRITE_COMMAND, ~std::uint64_t(3), &v, 8, d));
    std::uint64_t r = 0;
    ASSERT_TRUE(t.h->access(tlm::TLM_READ_COMMAND, 1 * GiB - 8, &r, 8, d));
    EXPECT_EQ(r, 0u);
    ASSERT_TRUE(t.h->access(tlm::TLM_READ_COMMAND, 0x0, &r, 8, d));
    EXPECT_NE(r, v);
}

// ---- INTx ----------------------------------------------------------------------------

// The GSI ep0's INTA reaches: the root port's device number on bus 0 picks it.
unsigned ep0_gsi(twin& t) { return pcie::root_complex::intx_gsi(static_cast<std::uint8_t>(t.pi->by_id.at("rp1")->devfn() >> 3), 0); }

TEST(HypervisorIntx, ReachesTheOwningDomainOnly) {
    twin t;
    const std::size_t before = t.h->deliveries().size();
    t.ep->set_intx(true);
    ASSERT_EQ(t.h->deliveries().size(), before + 1);
    const hyp::interrupt_delivery& r = t.h->deliveries().back();
    EXPECT_EQ(r.domain, t.id("guest1"));
    EXPECT_TRUE(r.intx);
    EXPECT_EQ(r.gsi, ep0_gsi(t));
    EXPECT_EQ(r.pin, 1u);
    EXPECT_EQ(r.requester_id, t.ep->bdf().rid());
    EXPECT_TRUE(t.h->misdirected().empty());
}

TEST(HypervisorIntx, EoiOfTheDomainItWentToFiresAgainWhileAsserted) {
    twin t;
    const unsigned gsi = ep0_gsi(t);
    sc_time d = SC_ZERO_TIME;
    t.ep->set_intx(true);
    const std::size_t n = t.h->deliveries().size();
    EXPECT_EQ(t.h->eoi_pirq(t.id("dom0"), gsi, d), 0);  // not in flight for dom0: nothing
    EXPECT_EQ(t.h->deliveries().size(), n);
    EXPECT_EQ(t.h->eoi_pirq(t.id("guest1"), gsi, d), 0);
    EXPECT_EQ(t.h->deliveries().size(), n + 1);
    t.ep->set_intx(false);
    EXPECT_EQ(t.h->eoi_pirq(t.id("guest1"), gsi, d), 0);
    EXPECT_EQ(t.h->deliveries().size(), n + 1);
    EXPECT_EQ(t.h->eoi_pirq(t.id("guest1"), 24, d), EINVAL);
}

TEST(HypervisorIntx, NoDeliveryWhileInterruptDisableHoldsTheLine) {
    twin t;
    const std::size_t n = t.h->deliveries().size();
    t.cfg_write(*t.ep, pci::cfg::command, 2, pci::command_bits::interrupt_disable);
    t.ep->set_intx(true);
    EXPECT_EQ(t.h->deliveries().size(), n);
    t.cfg_write(*t.ep, pci::cfg::command, 2, 0);
    EXPECT_EQ(t.h->deliveries().size(), n + 1);
}

} // namespace
