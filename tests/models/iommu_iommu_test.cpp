// The IOMMU driven only through its sockets, as the platform uses it: devices'
// requests (with their pcie_ext) on `in`, software's MMIO on `regs`, table
// walks, translated requests and fault interrupts on `mem_out`, which reaches
// RAM and the interrupt window through a router. The tables are built in
// memory by the test, in the VT-d formats of vtd.h.
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
class iommu_test : public test::vtd_harness {
protected:
    explicit iommu_test(const iommu_params& p = default_params()) : vtd_harness(p) {}
};

// ---- translation off / on ---------------------------------------------------------

TEST_F(iommu_test, TranslationDisabledPassesDmaUntranslated) {
    EXPECT_FALSE(mmu->translation_enabled());
    EXPECT_EQ(read_reg32(reg::GSTS) & vtd::gsts::TES, 0u);
    const auto r = dma_write(data_a + 0x40, 0xdeadbeef);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.ext.status, pcie::completion::SC);
    EXPECT_FALSE(r.ext.iommu_fault);
    EXPECT_EQ(peek32(data_a + 0x40), 0xdeadbeefu);
    EXPECT_TRUE(mmu->faults().empty());
    EXPECT_EQ(stat("untranslated"), 1u);
}

TEST_F(iommu_test, GcmdSetsAndClearsTranslationEnable) {
    setup_domain();
    EXPECT_TRUE(mmu->translation_enabled());
    EXPECT_EQ(read_reg32(reg::GSTS), vtd::gsts::TES | vtd::gsts::RTPS);
    // With TE set, an unmapped IOVA no longer reaches memory ...
    expect_blocked(dma_write(data_a, 1));
    EXPECT_EQ(peek32(data_a), 0u);
    // ... and clearing TE lets DMA through untranslated again.
    write_reg32(reg::GCMD, 0);
    EXPECT_FALSE(mmu->translation_enabled());
    ASSERT_TRUE(dma_write(data_a, 2).ok());
    EXPECT_EQ(peek32(data_a), 2u);
}

// With translation off a request is not isolated: it is not counted as
// checked against the requester's tables (group_isolation relies on it).
TEST_F(iommu_test, OnlyRequestsCheckedAgainstTheTablesCountAsPassingTheIommu) {
    const auto off = dma_write(data_a, 1);
    ASSERT_TRUE(off.ok());
    EXPECT_FALSE(off.ext.passed_iommu);
    setup_domain();
    const auto blocked = dma_write(data_a, 2);
    EXPECT_TRUE(blocked.ext.iommu_fault);
    EXPECT_TRUE(blocked.ext.passed_iommu);
}

// The register block answers CPUs only: a device's request that reaches it
// (with its pcie_ext) is Unsupported and changes no register.
TEST_F(iommu_test, DeviceRequestToTheRegistersIsUnsupportedAndChangesNothing) {
    setup_domain();
    ASSERT_TRUE(mmu->translation_enabled());
    auto ext = device_ext(sid);
    std::uint32_t v = 0;  // GCMD with TE clear: would turn remapping off
    EXPECT_EQ(cpu->access(tlm::TLM_WRITE_COMMAND, reg::GCMD, &v, 4, &ext), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(ext.status, pcie::completion::UR);
    EXPECT_TRUE(mmu->translation_enabled());
    auto ext2 = device_ext(sid);
    std::uint32_t r = 0x5a5a5a5a;
    EXPECT_EQ(cpu->access(tlm::TLM_READ_COMMAND, reg::GSTS, &r, 4, &ext2), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r, 0x5a5a5a5au);
    EXPECT_EQ(stat("device_register_requests"), 2u);
    // A CPU's access (marked host) still works.
    pcie::pcie_ext host;
    host.host = true;
    EXPECT_EQ(cpu->access(tlm::TLM_READ_COMMAND, reg::GSTS, &r, 4, &host), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r, vtd::gsts::TES | vtd::gsts::RTPS);
}

TEST_F(iommu_test, RegisterAccessWithByteEnablesOrStreamingIsRefusedAsTheLrmSays) {
    setup_domain();
    std::uint32_t v = 0;  // GCMD with TE clear
    unsigned char be[4] = {0xff, 0xff, 0, 0};
    for (int mode = 0; mode < 2; ++mode) {
        tlm::tlm_generic_payload gp;
        prepare(gp, tlm::TLM_WRITE_COMMAND, reg::GCMD, &v, 4);
        if (mode == 0) {
            gp.set_byte_enable_ptr(be);
            gp.set_byte_enable_length(4);
        } else {
            gp.set_streaming_width(2);
        }
        sc_time d;
        cpu->socket->b_transport(gp, d);
        EXPECT_EQ(gp.get_response_status(), mode == 0 ? tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE : tlm::TLM_BURST_ERROR_RESPONSE);
    }
    EXPECT_TRUE(mmu->translation_enabled());  // neither write changed GCMD
}

TEST_F(iommu_test, RequestWithoutPcieExtensionIsRejected) {
    std::uint32_t v = 5;
    EXPECT_EQ(dev->access(tlm::TLM_WRITE_COMMAND, data_a, &v, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(peek32(data_a), 0u);
}

TEST_F(iommu_test, FourLevelWalkLandsOnTheMappedFrame) {
    setup_domain();
    map(pgd_, iova_4l, data_a + 0x5000, entry::R | entry::W);
    const auto w = dma_write(iova_4l + 0x124, 0x600df00d);
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE(w.ext.iommu_fault);
    EXPECT_EQ(peek32(data_a + 0x5124), 0x600df00du);
    // Only the addressed bytes of the frame changed: the page offset was kept.
    EXPECT_EQ(peek32(data_a + 0x5000), 0u);
    EXPECT_EQ(peek32(data_a + 0x5120), 0u);

    std::uint32_t v = 0;
    poke64(data_a + 0x5ff8, 0x1234'5678ull << 32);
    ASSERT_TRUE(dma_read(iova_4l + 0xffc, v).ok());
    EXPECT_EQ(v, 0x12345678u);
    EXPECT_TRUE(mmu->faults().empty());
    EXPECT_EQ(stat("translated"), 2u);
}

TEST_F(iommu_test, DomainsAreIsolatedBySourceId) {
    // Two devices, two domains, the same IOVA: each reaches its own frame.
    setup_domain();
    const std::uint16_t sid2 = 0x0200, did2 = 2;
    const std::uint64_t pgd2 = alloc_table();
    attach(sid2, did2, pgd2);
    map(pgd_, 0x1000, data_a, entry::R | entry::W);
    map(pgd2, 0x1000, data_b, entry::R | entry::W);
    ASSERT_TRUE(dma_write(0x1000, 0xaaaa).ok());
    ASSERT_TRUE(dma_write(0x1000, 0xbbbb, device_ext(sid2)).ok());
    EXPECT_EQ(peek32(data_a), 0xaaaau);
    EXPECT_EQ(peek32(data_b), 0xbbbbu);
}

// ---- faults -------------------------------------------------------------------------

TEST_F(iommu_test, WriteToReadOnlyPageFaultsAndNeverReachesMemory) {
    setup_domain();
    map(pgd_, 0x4000, data_a, entry::R);
    poke64(data_a, 0x1111'1111);
    const std::uint64_t writes_before = mem_writes;

    const auto r = dma_write(0x4008, 0x2222);
    expect_blocked(r);
    EXPECT_EQ(peek64(data_a), 0x1111'1111u);
    EXPECT_EQ(peek32(data_a + 8), 0u);
    EXPECT_EQ(mem_writes, writes_before);  // not even a write elsewhere
    ASSERT_EQ(mmu->faults().size(), 1u);
    const fault_event& f = mmu->faults()[0];
    EXPECT_EQ(f.record.reason, fault_reason::write_not_permitted);
    EXPECT_EQ(f.record.sid, sid);
    EXPECT_EQ(f.record.address, 0x4008u);
    EXPECT_FALSE(f.record.read);
    EXPECT_TRUE(f.logged);
    EXPECT_EQ(stat("blocked"), 1u);

    // Reading the same page is allowed.
    std::uint32_t v = 0;
    ASSERT_TRUE(dma_read(0x4000, v).ok());
    EXPECT_EQ(v, 0x1111'1111u);
}

TEST_F(iommu_test, ReadFromWriteOnlyPageFaults) {
    setup_domain();
    map(pgd_, 0x4000, data_a, entry::W);
    poke64(data_a, 0x77);
    std::uint32_t v = 0xffffffff;
    const auto r = dma_read(0x4000, v);
    expect_blocked(r);
    EXPECT_EQ(v, 0xffffffffu);  // no data returned
    EXPECT_EQ(last_reason(), fault_reason::read_not_permitted);
    EXPECT_TRUE(mmu->faults().back().record.read);
    // Writes are allowed.
    ASSERT_TRUE(dma_write(0x4000, 0x99).ok());
    EXPECT_EQ(peek32(data_a), 0x99u);
}

TEST_F(iommu_test, NonPresentLeafFaultsAsReadOrWriteNotPermitted) {
    setup_domain();
    map(pgd_, 0x4000, data_a, entry::R | entry::W);  // tables exist, the next page is not mapped
    std::uint32_t v = 0;
    expect_blocked(dma_read(0x5000, v));
    EXPECT_EQ(last_reason(), fault_reason::read_not_permitted);
    expect_blocked(dma_write(0x5000, 1));
    EXPECT_EQ(last_reason(), fault_reason::write_not_permitted);
    EXPECT_EQ(peek32(data_a), 0u);
}

TEST_F(iommu_test, NonPresentUpperLevelFaultsTheSameWay) {
    setup_domain();  // empty top-level table
    std::uint32_t v = 0;
    expect_blocked(dma_read(iova_4l, v));
    EXPECT_EQ(last_reason(), fault_reason::read_not_permitted);
    expect_blocked(dma_write(iova_4l, 1));
    EXPECT_EQ(last_reason(), fault_reason::write_not_permitted);
}

// Permissions apply to everything below an entry (VT-d 3.x 3.7): a read-only
// directory makes its whole range read-only even where the leaf grants W.
TEST_F(iommu_test, ReadOnlyDirectoryDeniesWritesBelowIt) {
    setup_domain();
    map(pgd_, 0x4000, data_a, entry::R | entry::W, 1, entry::R);
    expect_blocked(dma_write(0x4000, 0x5555));
    EXPECT_EQ(last_reason(), fault_reason::write_not_permitted);
    EXPECT_EQ(peek32(data_a), 0u);
    std::uint32_t v = 1;
    EXPECT_TRUE(dma_read(0x4000, v).ok());
}

TEST_F(iommu_test, RootEntryNotPresent) {
    enable();  // the root table is all zero
    expect_blocked(dma_write(0x1000, 1));
    EXPECT_EQ(last_reason(), fault_reason::root_not_present);
    EXPECT_EQ(static_cast<int>(last_reason()), 0x1);
}

TEST_F(iommu_test, ContextEntryNotPresent) {
    enable();
    attach(0x0108, did, alloc_table());  // 01:01.0: the root entry of bus 1 is present, 01:00.0's context is not
    expect_blocked(dma_write(0x1000, 1));
    EXPECT_EQ(last_reason(), fault_reason::context_not_present);
    EXPECT_EQ(static_cast<int>(last_reason()), 0x2);
    EXPECT_EQ(mmu->faults().back().record.sid, sid);
}

TEST_F(iommu_test, AddressBeyond48BitsFaults) {
    setup_domain();
    // Map what the low 48 bits would select: the walker must not truncate.
    map(pgd_, 0, data_a, entry::R | entry::W);
    expect_blocked(dma_write(1ull << vtd::mgaw, 0x42));
    EXPECT_EQ(last_reason(), fault_reason::address_beyond_mgaw);
    EXPECT_EQ(static_cast<int>(last_reason()), 0x4);
    EXPECT_EQ(peek32(data_a), 0u);
}

TEST_F(iommu_test, TranslatedRequestsAreBlocked) {
    setup_domain();
    map(pgd_, data_a, data_a, entry::R | entry::W);  // even an identity mapping does not let it through
    pcie::pcie_ext e = device_ext(sid);
    e.at = pcie::address_type::translated;  // ATS: the device claims the address is already translated
    const auto r = dma_write(data_a, 0x42, e);
    expect_blocked(r);
    EXPECT_EQ(last_reason(), fault_reason::translation_type_blocked);
    EXPECT_EQ(static_cast<int>(last_reason()), 0xd);
    EXPECT_EQ(peek32(data_a), 0u);
}

TEST_F(iommu_test, ReadOfTheInterruptWindowIsBlocked) {
    setup_domain();
    std::uint32_t v = 0;
    expect_blocked(dma_read(0xFEE0'0000, v));
    EXPECT_EQ(last_reason(), fault_reason::read_not_permitted);
}

// ---- IOTLB and invalidation -----------------------------------------------------------

TEST_F(iommu_test, SecondAccessToAPageHitsTheIotlb) {
    setup_domain();
    map(pgd_, iova_4l, data_a, entry::R | entry::W);
    ASSERT_TRUE(dma_write(iova_4l, 1).ok());
    EXPECT_EQ(mmu->tlb().misses(), 1u);
    EXPECT_EQ(mmu->tlb().hits(), 0u);
    const std::uint64_t walks = stat("page_walks"), reads = stat("walk_reads");
    EXPECT_EQ(walks, 1u);
    // Root entry and context entry (two quadwords each) and four levels.
    EXPECT_EQ(reads, 8u);

    ASSERT_TRUE(dma_write(iova_4l + 0x10, 2).ok());
    EXPECT_EQ(mmu->tlb().hits(), 1u);
    EXPECT_EQ(stat("iotlb_hits"), 1u);
    EXPECT_EQ(stat("page_walks"), walks);
    EXPECT_EQ(stat("walk_reads"), reads);  // context cached too: no table read at all
    EXPECT_EQ(stat("context_cache_hits"), 1u);
    EXPECT_EQ(peek32(data_a + 0x10), 2u);
}

TEST_F(iommu_test, ChangedMappingStaysStaleUntilPageSelectiveInvalidation) {
    setup_domain();
    const std::uint64_t leaf = map(pgd_, 0x7000, data_a, entry::R | entry::W);
    ASSERT_TRUE(dma_write(0x7000, 1).ok());
    ASSERT_EQ(peek32(data_a), 1u);

    // Software retargets the page without invalidating: the IOTLB keeps the old frame.
    poke64(leaf, data_b | entry::R | entry::W);
    ASSERT_TRUE(dma_write(0x7000, 2).ok());
    EXPECT_EQ(peek32(data_a), 2u);
    EXPECT_EQ(peek32(data_b), 0u);

    // An invalidation of another page, or of this page in another domain, changes nothing.
    write_reg64(reg::IOTLB_BASE, 0x8000);
    write_reg64(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 3ull << vtd::iotlb_cmd::IIRG_SHIFT | std::uint64_t(did) << vtd::iotlb_cmd::DID_SHIFT);
    write_reg64(reg::IOTLB_BASE, 0x7000);
    write_reg64(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 3ull << vtd::iotlb_cmd::IIRG_SHIFT | std::uint64_t(did + 1) << vtd::iotlb_cmd::DID_SHIFT);
    ASSERT_TRUE(dma_write(0x7000, 3).ok());
    EXPECT_EQ(peek32(data_a), 3u);
    EXPECT_EQ(peek32(data_b), 0u);

    // Page-selective invalidation of this page in this domain (AM = 0).
    write_reg64(reg::IOTLB_BASE, 0x7000);
    write_reg64(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 3ull << vtd::iotlb_cmd::IIRG_SHIFT | std::uint64_t(did) << vtd::iotlb_cmd::DID_SHIFT);
    // Done at once: IVT reads back clear, IAIG says page-selective was performed.
    const std::uint64_t cmd = read_reg64(reg::IOTLB_BASE + 8);
    EXPECT_EQ(cmd & vtd::iotlb_cmd::IVT, 0u);
    EXPECT_EQ((cmd >> vtd::iotlb_cmd::IAIG_SHIFT) & 3, 3u);

    ASSERT_TRUE(dma_write(0x7000, 4).ok());
    EXPECT_EQ(peek32(data_b), 4u);
    EXPECT_EQ(peek32(data_a), 3u);
}

TEST_F(iommu_test, PageSelectiveInvalidationHonoursTheAddressMask) {
    setup_domain();
    // Pages 8, 9 and 10; each cached, then all retargeted to data_b.
    std::uint64_t leaf[3];
    for (int i = 0; i < 3; ++i) {
        leaf[i] = map(pgd_, (8 + i) * 0x1000ull, data_a + i * 0x1000ull, entry::R | entry::W);
        ASSERT_TRUE(dma_write((8 + i) * 0x1000ull, 1).ok());
    }
    for (int i = 0; i < 3; ++i) poke64(leaf[i], (data_b + i * 0x1000ull) | entry::R | entry::W);

    // IVA = page 9 with AM = 1: two pages, aligned down, so pages 8 and 9.
    write_reg64(reg::IOTLB_BASE, 0x9000 | 1);
    write_reg64(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 3ull << vtd::iotlb_cmd::IIRG_SHIFT | std::uint64_t(did) << vtd::iotlb_cmd::DID_SHIFT);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(dma_write((8 + i) * 0x1000ull, 2).ok());
    EXPECT_EQ(peek32(data_b + 0x0000), 2u);
    EXPECT_EQ(peek32(data_b + 0x1000), 2u);
    EXPECT_EQ(peek32(data_a + 0x2000), 2u);  // page 10 is outside the mask: still stale
    EXPECT_EQ(peek32(data_b + 0x2000), 0u);
}

TEST_F(iommu_test, DomainSelectiveIotlbInvalidation) {
    setup_domain();
    const std::uint64_t leaf = map(pgd_, 0x3000, data_a, entry::R | entry::W);
    ASSERT_TRUE(dma_write(0x3000, 1).ok());
    poke64(leaf, data_b | entry::R | entry::W);
    write_reg64(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 2ull << vtd::iotlb_cmd::IIRG_SHIFT | std::uint64_t(did) << vtd::iotlb_cmd::DID_SHIFT);
    ASSERT_TRUE(dma_write(0x3000, 2).ok());
    EXPECT_EQ(peek32(data_b), 2u);
    EXPECT_EQ(mmu->tlb().valid_entries(), 1u);
}

TEST_F(iommu_test, ContextChangeNeedsContextCacheInvalidation) {
    setup_domain();
    map(pgd_, 0x2000, data_a, entry::R | entry::W);
    const std::uint16_t did2 = 2;
    const std::uint64_t pgd2 = alloc_table();
    map(pgd2, 0x2000, data_b, entry::R | entry::W);
    ASSERT_TRUE(dma_write(0x2000, 1).ok());
    ASSERT_EQ(peek32(data_a), 1u);

    // Move the device to another domain in memory only: the cached context still rules.
    attach(sid, did2, pgd2);
    ASSERT_TRUE(dma_write(0x2000, 2).ok());
    EXPECT_EQ(peek32(data_a), 2u);
    EXPECT_EQ(peek32(data_b), 0u);

    // A domain-selective invalidation of the new domain does not touch the cached
    // entry (it is still tagged with the old one); a device-selective one does.
    write_reg64(reg::CCMD, vtd::ccmd::ICC | 2ull << vtd::ccmd::CIRG_SHIFT | did2);
    ASSERT_TRUE(dma_write(0x2000, 3).ok());
    EXPECT_EQ(peek32(data_a), 3u);

    write_reg64(reg::CCMD, vtd::ccmd::ICC | 3ull << vtd::ccmd::CIRG_SHIFT | std::uint64_t(sid) << 16);
    const std::uint64_t ccmd = read_reg64(reg::CCMD);
    EXPECT_EQ(ccmd & vtd::ccmd::ICC, 0u);
    EXPECT_EQ((ccmd >> vtd::ccmd::CAIG_SHIFT) & 3, 3u);
    ASSERT_TRUE(dma_write(0x2000, 4).ok());
    EXPECT_EQ(peek32(data_b), 4u);
    EXPECT_EQ(peek32(data_a), 3u);
}

TEST_F(iommu_test, GlobalContextInvalidationMakesARemovedContextFault) {
    setup_domain();
    map(pgd_, 0x2000, data_a, entry::R | entry::W);
    ASSERT_TRUE(dma_write(0x2000, 1).ok());
    poke64(context_entry(sid), 0);  // detach the device
    ASSERT_TRUE(dma_write(0x2000, 2).ok());  // still cached
    write_reg64(reg::CCMD, vtd::ccmd::ICC | 1ull << vtd::ccmd::CIRG_SHIFT);
    expect_blocked(dma_write(0x2000, 3));
    EXPECT_EQ(last_reason(), fault_reason::context_not_present);
    EXPECT_EQ(peek32(data_a), 2u);
}

// ---- superpages ---------------------------------------------------------------------

TEST_F(iommu_test, TwoMegabyteSuperpage) {
    setup_domain();
    const std::uint64_t iova = 1ull << 30 | 1ull << 21;  // PD index 1 under PDPT index 1
    map(pgd_, iova, data_a, entry::R | entry::W, 2);
    ASSERT_TRUE(dma_write(iova + 0x12344, 0xabc).ok());
    ASSERT_TRUE(dma_write(iova + 0x1ff000, 0xdef).ok());
    EXPECT_EQ(peek32(data_a + 0x12344), 0xabcu);
    EXPECT_EQ(peek32(data_a + 0x1ff000), 0xdefu);
    // The walk stops at level 2. First page: root entry and context entry (two
    // quadwords each) and three tables; the second page hits the IOTLB's 2 MiB
    // entry (superpages are cached as superpages).
    EXPECT_EQ(stat("walk_reads"), 4u + 3u);
    EXPECT_EQ(stat("iotlb_hits"), 1u);
}

TEST_F(iommu_test, SuperpageWithAddressBitsBelow2MiBIsReserved) {
    setup_domain();
    const std::uint64_t iova = 1ull << 21;
    map(pgd_, iova, data_a + 0x1000, entry::R | entry::W, 2);  // not 2 MiB-aligned
    expect_blocked(dma_write(iova, 1));
    EXPECT_EQ(last_reason(), fault_reason::reserved_paging);
}

// ---- fault logging through the registers ----------------------------------------------

TEST_F(iommu_test, FaultRecordIsReadableThroughRegisters) {
    setup_domain();
    const std::uint64_t cap = read_reg64(reg::CAP);
    EXPECT_EQ(((cap >> 40) & 0xff) + 1, default_params().fault_records);  // NFR
    EXPECT_EQ(read_reg32(reg::FSTS) & vtd::fsts::PPF, 0u);

    expect_blocked(dma_write(0x0000'1234'5678'9abcull, 1));
    const std::uint32_t fsts = read_reg32(reg::FSTS);
    EXPECT_NE(fsts & vtd::fsts::PPF, 0u);
    EXPECT_EQ(fsts & vtd::fsts::PFO, 0u);
    EXPECT_EQ((fsts >> vtd::fsts::FRI_SHIFT) & 0xff, 0u);

    const std::uint64_t lo = read_reg64(frcd(0)), hi = read_reg64(frcd(0) + 8);
    EXPECT_EQ(lo, 0x0000'1234'5678'9000ull);
    EXPECT_NE(hi & 1ull << 63, 0u);                 // F
    EXPECT_EQ(hi & 1ull << 62, 0u);                 // T: a write
    EXPECT_EQ((hi >> 32) & 0xff, 0x5u);             // write_not_permitted
    EXPECT_EQ(hi & 0xffff, sid);
    // DWORD reads see the halves.
    EXPECT_EQ(read_reg32(frcd(0) + 12), static_cast<std::uint32_t>(hi >> 32));
    EXPECT_EQ(read_reg32(frcd(0) + 8), static_cast<std::uint32_t>(hi));

    // A read fault goes to the next register with T set; FRI still names the first.
    std::uint32_t v;
    expect_blocked(dma_read(0x3000, v));
    const std::uint64_t hi1 = read_reg64(frcd(1) + 8);
    EXPECT_NE(hi1 & 1ull << 63, 0u);
    EXPECT_NE(hi1 & 1ull << 62, 0u);
    EXPECT_EQ((hi1 >> 32) & 0xff, 0x6u);
    EXPECT_EQ((read_reg32(reg::FSTS) >> vtd::fsts::FRI_SHIFT) & 0xff, 0u);

    // Writing 1 to F clears a record; PPF drops when none is left.
    write_reg64(frcd(0) + 8, 1ull << 63);
    EXPECT_EQ(read_reg64(frcd(0) + 8) & 1ull << 63, 0u);
    EXPECT_NE(read_reg32(reg::FSTS) & vtd::fsts::PPF, 0u);
    write_reg32(frcd(1) + 12, 1u << 31);  // the DWORD form of the same write
    EXPECT_EQ(read_reg64(frcd(1) + 8) & 1ull << 63, 0u);
    EXPECT_EQ(read_reg32(reg::FSTS) & vtd::fsts::PPF, 0u);
}

TEST_F(iommu_test, WritingZeroToFKeepsTheRecord) {
    setup_domain();
    expect_blocked(dma_write(0x1000, 1));
    write_reg64(frcd(0) + 8, 0);
    EXPECT_NE(read_reg64(frcd(0) + 8) & 1ull << 63, 0u);
}

iommu_params two_records() {
    iommu_params p;
    p.fault_records = 2;
    return p;
}

class iommu_two_records_test : public iommu_test {
protected:
    iommu_two_records_test() : iommu_test(two_records()) {}
};

TEST_F(iommu_two_records_test, OverflowSetsPfoAndDropsTheFault) {
    setup_domain();
    expect_blocked(dma_write(0x1000, 1));
    expect_blocked(dma_write(0x2000, 1));
    const auto r = dma_write(0x3000, 1);
    expect_blocked(r);  // dropped from the log, but still blocked
    ASSERT_EQ(mmu->faults().size(), 3u);
    EXPECT_TRUE(mmu->faults()[1].logged);
    EXPECT_FALSE(mmu->faults()[2].logged);
    EXPECT_NE(read_reg32(reg::FSTS) & vtd::fsts::PFO, 0u);
    EXPECT_EQ(read_reg64(frcd(0)), 0x1000u);
    EXPECT_EQ(read_reg64(frcd(1)), 0x2000u);
    // PFO is write-1-to-clear.
    write_reg32(reg::FSTS, vtd::fsts::PFO);
    EXPECT_EQ(read_reg32(reg::FSTS) & vtd::fsts::PFO, 0u);
}

// ---- fault event interrupt ------------------------------------------------------------

TEST_F(iommu_test, UnmaskedFaultSendsTheProgrammedMessage) {
    setup_domain();
    write_reg32(reg::FEDATA, 0x0041);
    write_reg32(reg::FEADDR, 0xFEE0'3000);  // destination APIC 3
    write_reg32(reg::FEUADDR, 0);
    write_reg32(reg::FECTL, 0);             // clear IM
    ASSERT_TRUE(interrupts.empty());

    expect_blocked(dma_write(0x1000, 1));
    ASSERT_EQ(interrupts.size(), 1u);
    EXPECT_EQ(interrupts[0].vector, 0x41);
    EXPECT_EQ(interrupts[0].destination, 3);
    EXPECT_FALSE(interrupts[0].from_device);  // the IOMMU's own message, not the device's
    EXPECT_EQ(stat("fault_interrupts"), 1u);
    EXPECT_EQ(read_reg32(reg::FECTL) & vtd::fectl::IP, 0u);
}

TEST_F(iommu_test, MaskedFaultOnlySetsInterruptPending) {
    setup_domain();
    write_reg32(reg::FEDATA, 0x0041);
    write_reg32(reg::FEADDR, 0xFEE0'3000);
    // FECTL.IM is set out of reset.
    ASSERT_NE(read_reg32(reg::FECTL) & vtd::fectl::IM, 0u);
    expect_blocked(dma_write(0x1000, 1));
    EXPECT_TRUE(interrupts.empty());
    EXPECT_NE(read_reg32(reg::FECTL) & vtd::fectl::IP, 0u);
    EXPECT_EQ(stat("fault_interrupts"), 0u);
}

TEST_F(iommu_test, FaultProcessingDisableBlocksWithoutRecording) {
    setup_domain(entry::FPD);
    write_reg32(reg::FEDATA, 0x0041);
    write_reg32(reg::FEADDR, 0xFEE0'0000);
    write_reg32(reg::FECTL, 0);
    poke64(data_a, 0x5a);

    expect_blocked(dma_write(data_a, 1));  // unmapped IOVA
    EXPECT_EQ(peek64(data_a), 0x5au);
    ASSERT_EQ(mmu->faults().size(), 1u);
    EXPECT_FALSE(mmu->faults()[0].logged);
    EXPECT_EQ(read_reg32(reg::FSTS) & vtd::fsts::PPF, 0u);
    EXPECT_EQ(read_reg64(frcd(0) + 8), 0u);
    EXPECT_TRUE(interrupts.empty());
}

// ---- interrupt messages --------------------------------------------------------------

TEST_F(iommu_test, MsiRequestsPassWithoutTranslation) {
    enable();  // no context for the device at all: any DMA of it would fault
    pcie::pcie_ext e = device_ext(sid);
    e.kind = pcie::request_kind::msi;
    const auto r = dma_write(0xFEE0'2000, 0x35, e);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.ext.iommu_fault);
    ASSERT_EQ(interrupts.size(), 1u);
    EXPECT_EQ(interrupts[0].destination, 2);
    EXPECT_EQ(interrupts[0].vector, 0x35);
    EXPECT_TRUE(interrupts[0].from_device);
    EXPECT_EQ(interrupts[0].requester_id, sid);
    EXPECT_TRUE(mmu->faults().empty());
    EXPECT_EQ(stat("msi_forwarded"), 1u);
}

} // namespace
} // namespace iotwin::iommu
