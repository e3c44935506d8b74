// Translation and its caches, driven through the IOMMU's sockets: superpage
// walks (CAP.SLLPS), superpage IOTLB entries, the paging-structure caches
// and their invalidation (IH), the context-cache function mask.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>

#include "models/intc/msi_controller.h"
#include "models/interconnect/router.h"
#include "models/iommu/iommu.h"
#include "models/iommu/vtd.h"
#include "models/mem/memory.h"
#include "models/pcie/protocol.h"
#include "tests/support/vtd_harness.h"
#include "models/common/payload.h"

namespace iotwin::iommu {
namespace {

using namespace sc_core;
using vtd::fault_reason;
namespace reg = vtd::reg;
namespace entry = vtd::entry;

constexpr std::uint64_t MiB = 1ull << 20;
constexpr std::uint64_t data_b = 40 * MiB;

// An IOVA with a different, non-zero index at each of the four levels, so a
// walker using a wrong shift or table lands somewhere else.
constexpr std::uint64_t iova_4l = 3ull << 39 | 5ull << 30 | 7ull << 21 | 9ull << 12;

// What a device sees of one request.
using dma_result = test::vtd_result;

iommu_params default_params() { return {}; }

// A VT-d unit on a small fabric (tests/support/vtd_harness.h).
class translation_test : public test::vtd_harness {
protected:
    explicit translation_test(const iommu_params& p = default_params()) : vtd_harness(p) {}
};

constexpr std::uint64_t two_mib = 2 * MiB;
// An IOVA whose 2 MiB page is data_a's.
constexpr std::uint64_t iova_2m = 3ull << 39 | 5ull << 30 | 7ull << 21;

TEST_F(translation_test, CapAdvertisesTheSuperpageSizesItHonours) {
    EXPECT_EQ((read_reg64(reg::CAP) >> 34) & 0xf, 3u);  // 2 MiB and 1 GiB
}

TEST_F(translation_test, TwoMegabytePageTakesOneIotlbEntryForEveryPageInIt) {
    setup_domain();
    map(pgd_, iova_2m, data_a, entry::R | entry::W, 2);
    for (std::uint64_t off = 0; off < two_mib; off += 64 * 4096) {
        ASSERT_TRUE(dma_write(iova_2m + off + 8, static_cast<std::uint32_t>(off >> 12) | 0x1000000u).ok()) << off;
        EXPECT_EQ(peek32(data_a + off + 8), static_cast<std::uint32_t>(off >> 12) | 0x1000000u);
    }
    EXPECT_EQ(stat("page_walks"), 1u);
    EXPECT_EQ(stat("walk_reads"), 4u + 3u);  // root and context entry (two quadwords each); levels 4, 3 and the PS leaf at 2
    EXPECT_EQ(mmu->tlb().valid_entries(), 1u);
    EXPECT_EQ(stat("iotlb_entries_2m"), 1u);
    EXPECT_EQ(stat("iotlb_hits"), 7u);
    // Across the end of the page: the next 2 MiB is not mapped.
    expect_blocked(dma_write(iova_2m + two_mib, 1));
}

TEST_F(translation_test, OneGigabytePageTranslatesItsLastByte) {
    setup_domain();
    const std::uint64_t iova = 2ull << 39 | 4ull << 30;
    map(pgd_, iova, 0, entry::R | entry::W, 3);  // machine 0..1 GiB: RAM is the first 64 MiB
    ASSERT_TRUE(dma_write(iova + data_b + 0x10, 0xabcd).ok());
    EXPECT_EQ(peek32(data_b + 0x10), 0xabcdu);
    ASSERT_TRUE(dma_write(iova + data_a, 0x1234).ok());
    EXPECT_EQ(peek32(data_a), 0x1234u);
    EXPECT_EQ(stat("iotlb_entries_1g"), 1u);
    EXPECT_EQ(stat("walk_reads"), 4u + 2u);  // context; levels 4 and the PS leaf at 3
}

TEST_F(translation_test, SuperpageLeafWithMisalignedAddressIsReserved) {
    setup_domain();
    map(pgd_, iova_2m, data_a + 4096, entry::R | entry::W, 2);
    expect_blocked(dma_write(iova_2m, 1));
    EXPECT_EQ(last_reason(), fault_reason::reserved_paging);
}

class no_1g_test : public translation_test {
protected:
    static iommu_params params() {
        iommu_params p;
        p.sllps = vtd::cap::SLLPS_2M;
        return p;
    }
    no_1g_test() : translation_test(params()) {}
};

TEST_F(no_1g_test, PsAtALevelSllpsDoesNotAdvertiseFaultsAsReserved) {
    EXPECT_EQ((read_reg64(reg::CAP) >> 34) & 0xf, 1u);
    setup_domain();
    const std::uint64_t iova = 2ull << 39 | 4ull << 30;
    map(pgd_, iova, 0, entry::R | entry::W, 3);
    std::uint32_t v = 0;
    expect_blocked(dma_read(iova + data_a, v));
    EXPECT_EQ(last_reason(), fault_reason::reserved_paging);
    EXPECT_EQ(peek32(data_a), 0u);
    // 2 MiB pages still work.
    map(pgd_, iova_2m, data_a, entry::R | entry::W, 2);
    EXPECT_TRUE(dma_write(iova_2m, 5).ok());
}

class no_superpage_test : public translation_test {
protected:
    static iommu_params params() {
        iommu_params p;
        p.sllps = 0;
        return p;
    }
    no_superpage_test() : translation_test(params()) {}
};

TEST_F(no_superpage_test, PsAtLevelTwoFaultsWhenNoSuperpageIsAdvertised) {
    EXPECT_EQ((read_reg64(reg::CAP) >> 34) & 0xf, 0u);
    setup_domain();
    map(pgd_, iova_2m, data_a, entry::R | entry::W, 2);
    expect_blocked(dma_write(iova_2m, 1));
    EXPECT_EQ(last_reason(), fault_reason::reserved_paging);
    EXPECT_EQ(peek32(data_a), 0u);
}

TEST_F(translation_test, PageSelectiveInvalidationOfOneSmallPageDropsTheSuperpageEntry) {
    setup_domain();
    const std::uint64_t leaf = map(pgd_, iova_2m, data_a, entry::R | entry::W, 2);
    ASSERT_TRUE(dma_write(iova_2m + 0x100000, 1).ok());
    // Software remaps the 2 MiB to data_b: stale until invalidated.
    poke64(leaf, data_b | entry::R | entry::W | entry::PS);
    ASSERT_TRUE(dma_write(iova_2m + 0x100000, 2).ok());
    EXPECT_EQ(peek32(data_a + 0x100000), 2u);
    // AM = 0 at a 4 KiB page in the middle: it overlaps the 2 MiB entry.
    write_reg64(reg::IOTLB_BASE, iova_2m + 0x1ff000);
    write_reg64(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 3ull << vtd::iotlb_cmd::IIRG_SHIFT | std::uint64_t(did) << 32);
    ASSERT_TRUE(dma_write(iova_2m + 0x100000, 3).ok());
    EXPECT_EQ(peek32(data_b + 0x100000), 3u);
    EXPECT_EQ(peek32(data_a + 0x100000), 2u);
}

class psc_test : public translation_test {
protected:
    static iommu_params params() {
        iommu_params p;
        p.pml4_cache_entries = 2;
        p.pdpe_cache_entries = 2;
        p.pde_cache_entries = 2;
        return p;
    }
    psc_test() : translation_test(params()) {}
};

TEST_F(psc_test, PdeCacheHitReadsOnlyTheLeaf) {
    setup_domain();
    map(pgd_, iova_4l, data_a, entry::R | entry::W);
    map(pgd_, iova_4l + 4096, data_b, entry::R | entry::W);
    ASSERT_TRUE(dma_write(iova_4l, 1).ok());
    EXPECT_EQ(stat("walk_reads"), 4u + 4u);  // root and context entry (two quadwords each), four levels
    // The next page in the same 2 MiB: the PDE cache gives its page table.
    ASSERT_TRUE(dma_write(iova_4l + 4096, 2).ok());
    EXPECT_EQ(stat("walk_reads"), 4u + 4u + 1u);
    EXPECT_EQ(peek32(data_b), 2u);
    EXPECT_EQ(stat("pde_cache_hits"), 1u);
    EXPECT_EQ(mmu->paging_caches().valid_entries(2), 1u);
    EXPECT_EQ(mmu->paging_caches().valid_entries(3), 1u);
    EXPECT_EQ(mmu->paging_caches().valid_entries(4), 1u);
}

TEST_F(psc_test, PdpeCacheHitSkipsTwoLevels) {
    setup_domain();
    map(pgd_, iova_4l, data_a, entry::R | entry::W);
    const std::uint64_t other = iova_4l + (1ull << 21);  // another 2 MiB of the same 1 GiB
    map(pgd_, other, data_b, entry::R | entry::W);
    ASSERT_TRUE(dma_write(iova_4l, 1).ok());
    ASSERT_TRUE(dma_write(other, 2).ok());
    EXPECT_EQ(stat("walk_reads"), 4u + 4u + 2u);
    EXPECT_EQ(stat("pdpe_cache_hits"), 1u);
    EXPECT_EQ(stat("pde_cache_misses"), 2u);
}

TEST_F(psc_test, InvalidationHintKeepsPagingStructureEntries) {
    setup_domain();
    map(pgd_, iova_4l, data_a, entry::R | entry::W);
    ASSERT_TRUE(dma_write(iova_4l, 1).ok());
    const auto psi = [&](bool ih) {
        write_reg64(reg::IOTLB_BASE, iova_4l | (ih ? vtd::iotlb_cmd::IVA_IH : 0));
        write_reg64(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 3ull << vtd::iotlb_cmd::IIRG_SHIFT | std::uint64_t(did) << 32);
    };
    psi(true);  // leaf only: the walk starts at the cached PDE
    ASSERT_TRUE(dma_write(iova_4l, 2).ok());
    EXPECT_EQ(stat("walk_reads"), 4u + 4u + 1u);
    psi(false);  // the paging-structure entries covering the page go too
    EXPECT_EQ(mmu->paging_caches().valid_entries(2), 0u);
    EXPECT_EQ(mmu->paging_caches().valid_entries(4), 0u);
    ASSERT_TRUE(dma_write(iova_4l, 3).ok());
    EXPECT_EQ(stat("walk_reads"), 4u + 4u + 1u + 4u);
}

TEST_F(psc_test, StalePdeEntryIsUsedUntilInvalidatedThenDomainInvalidationDropsIt) {
    setup_domain();
    map(pgd_, iova_4l, data_a, entry::R | entry::W);
    ASSERT_TRUE(dma_write(iova_4l, 1).ok());
    // Software points the PDE at another page table without invalidating.
    const std::uint64_t pt = alloc_table();
    poke64(pt + ((iova_4l >> 12) & 0x1ff) * 8, data_b | entry::R | entry::W);
    std::uint64_t table = pgd_;
    for (int l = 4; l > 2; --l) table = peek64(table + ((iova_4l >> (12 + 9 * (l - 1))) & 0x1ff) * 8) & entry::ADDR_MASK;
    poke64(table + ((iova_4l >> 21) & 0x1ff) * 8, pt | entry::R | entry::W);
    // A leaf-only (IH) invalidation: the cached PDE still leads to the old table.
    write_reg64(reg::IOTLB_BASE, iova_4l | vtd::iotlb_cmd::IVA_IH);
    write_reg64(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 3ull << vtd::iotlb_cmd::IIRG_SHIFT | std::uint64_t(did) << 32);
    ASSERT_TRUE(dma_write(iova_4l, 2).ok());
    EXPECT_EQ(peek32(data_a), 2u);
    // Domain-selective: everything of the domain goes.
    write_reg64(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 2ull << vtd::iotlb_cmd::IIRG_SHIFT | std::uint64_t(did) << 32);
    ASSERT_TRUE(dma_write(iova_4l, 3).ok());
    EXPECT_EQ(peek32(data_b), 3u);
    EXPECT_EQ(peek32(data_a), 2u);
}

TEST_F(translation_test, DeviceSelectiveContextInvalidationHonoursTheFunctionMask) {
    enable();
    pgd_ = alloc_table();
    map(pgd_, iova_4l, data_a, entry::R | entry::W);
    // Four functions of device 01:00 in domain 1.
    for (std::uint16_t f = 0; f < 4; ++f) attach(static_cast<std::uint16_t>(sid | f), did, pgd_);
    for (std::uint16_t f = 0; f < 4; ++f) ASSERT_TRUE(dma_write(iova_4l, f, device_ext(static_cast<std::uint16_t>(sid | f))).ok());
    EXPECT_EQ(mmu->contexts().valid_entries(), 4u);
    // Device-selective for function 1 with FM = 1: functions 0 and 1 go.
    const auto ccmd = [&](std::uint16_t s, unsigned fm) {
        write_reg64(reg::CCMD, vtd::ccmd::ICC | 3ull << vtd::ccmd::CIRG_SHIFT | std::uint64_t(fm) << vtd::ccmd::FM_SHIFT |
                                   std::uint64_t(s) << 16 | did);
    };
    ccmd(sid | 1, 1);
    EXPECT_EQ(mmu->contexts().valid_entries(), 2u);
    const std::uint64_t misses = stat("context_cache_misses");
    ASSERT_TRUE(dma_write(iova_4l, 9, device_ext(sid | 2)).ok());
    EXPECT_EQ(stat("context_cache_misses"), misses);  // function 2 was kept
    ASSERT_TRUE(dma_write(iova_4l, 9, device_ext(sid | 0)).ok());
    EXPECT_EQ(stat("context_cache_misses"), misses + 1);
    // FM = 3: all eight functions of the device.
    ccmd(sid | 5, 3);
    EXPECT_EQ(mmu->contexts().valid_entries(), 0u);
    // FM = 0: just the one.
    for (std::uint16_t f = 0; f < 4; ++f) ASSERT_TRUE(dma_write(iova_4l, f, device_ext(static_cast<std::uint16_t>(sid | f))).ok());
    ccmd(sid | 3, 0);
    EXPECT_EQ(mmu->contexts().valid_entries(), 3u);
}

} // namespace
} // namespace iotwin::iommu
