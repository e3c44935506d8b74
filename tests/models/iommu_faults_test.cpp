// VT-d fault reporting in the IOMMU model: every fault reason as the VT-d
// specification numbers it (appendix A), the reserved-field checks, the
// fault event interrupt (VT-d 3.x 7.3: IP, IM, unmasking), primary fault
// overflow, CAP.ND, and a blocked request never touching memory. Driven
// through the unit's sockets only.
#include <gtest/gtest.h>

#include "models/iommu/fault_recorder.h"
#include "tests/support/vtd_harness.h"

namespace iotwin::iommu {
namespace {

using vtd::fault_reason;
namespace reg = vtd::reg;
namespace entry = vtd::entry;

class faults_test : public test::vtd_harness {
protected:
    explicit faults_test(const iommu_params& p = {}) : vtd_harness(p) {}
    // A write and a read of `iova` are both blocked with `why`, and neither
    // reaches memory: no write lands, the read returns nothing of RAM.
    void expect_blocked_both_ways(std::uint64_t iova, fault_reason why) {
        const std::uint64_t writes = mem_writes;
        const std::uint64_t before = peek64(data_a);
        expect_blocked(dma_write(iova, 0x11223344));
        EXPECT_EQ(last_reason(), why);
        std::uint32_t v = 0;
        expect_blocked(dma_read(iova, v));
        EXPECT_EQ(last_reason(), why);
        EXPECT_EQ(v, 0u);
        EXPECT_EQ(mem_writes, writes);
        EXPECT_EQ(peek64(data_a), before);
    }
    void unmask(std::uint32_t apic = 3) {
        write_reg32(reg::FEDATA, 0x41);
        write_reg32(reg::FEADDR, 0xFEE00000u | apic << 12);
        write_reg32(reg::FECTL, 0);
    }
};

// ---- the reasons ------------------------------------------------------------------

TEST_F(faults_test, RootEntryReadErrorIsReason8) {
    enable();
    write_reg64(reg::RTADDR, beyond_ram);
    write_reg32(reg::GCMD, vtd::gcmd::SRTP | vtd::gcmd::TE);
    poke64(data_a, 0x5a);
    expect_blocked_both_ways(data_a, fault_reason::root_table_invalid);
}

TEST_F(faults_test, ContextEntryReadErrorIsReason9NotReason3) {
    enable();
    poke64(root_entry(sid), beyond_ram | entry::P);
    expect_blocked_both_ways(data_a, fault_reason::context_table_invalid);
    EXPECT_EQ(static_cast<unsigned>(last_reason()), 0x9u);
}

TEST_F(faults_test, PagingEntryReadErrorIsReason7) {
    setup_domain();
    std::vector<std::uint64_t> slots;
    map(pgd_, 0x5000, data_a, entry::R | entry::W, &slots);
    // The level-3 entry points at a table nothing decodes.
    poke64(slots[1], beyond_ram | entry::R | entry::W);
    expect_blocked_both_ways(0x5000, fault_reason::paging_entry_access);
    EXPECT_EQ(static_cast<unsigned>(last_reason()), 0x7u);
}

TEST_F(faults_test, NotPresentLeafIsAPermissionFaultNotReason7) {
    setup_domain();
    std::uint32_t v = 0;
    expect_blocked(dma_read(0x9000, v));
    EXPECT_EQ(last_reason(), fault_reason::read_not_permitted);
    expect_blocked(dma_write(0x9000, 1));
    EXPECT_EQ(last_reason(), fault_reason::write_not_permitted);
}

TEST_F(faults_test, ReservedBitsInTheRootEntryAreReasonA) {
    setup_domain();
    map(pgd_, 0x5000, data_a, entry::R | entry::W);
    ASSERT_TRUE(dma_write(0x5000, 1).ok());
    const std::uint64_t re = root_entry(sid);
    poke64(re, peek64(re) | 1u << 1);  // bit 1: reserved
    write_reg64(reg::CCMD, vtd::ccmd::ICC | 1ull << vtd::ccmd::CIRG_SHIFT);
    expect_blocked_both_ways(0x5000, fault_reason::reserved_root);
    poke64(re, (peek64(re) & ~std::uint64_t(2)) | 1ull << 50);  // an address bit beyond the 48-bit width
    expect_blocked_both_ways(0x5000, fault_reason::reserved_root);
    poke64(re, peek64(re) & ~(1ull << 50));
    ASSERT_TRUE(dma_write(0x5000, 2).ok());
    // The high quadword is reserved in legacy mode (the upper context-table pointer of scalable mode).
    poke64(re + 8, 1ull << 12 | 1);
    write_reg64(reg::CCMD, vtd::ccmd::ICC | 1ull << vtd::ccmd::CIRG_SHIFT);
    expect_blocked_both_ways(0x5000, fault_reason::reserved_root);
    poke64(re + 8, 0);
    ASSERT_TRUE(dma_write(0x5000, 3).ok());
}

TEST_F(faults_test, ReservedBitsInTheContextEntryAreReasonB) {
    setup_domain();
    map(pgd_, 0x5000, data_a, entry::R | entry::W);
    const std::uint64_t ce = context_entry(sid);
    const std::uint64_t lo = peek64(ce), hi = peek64(ce + 8);
    poke64(ce, lo | 1u << 4);  // low bits 11:4 reserved
    expect_blocked_both_ways(0x5000, fault_reason::reserved_context);
    poke64(ce, lo);
    poke64(ce + 8, hi | 1u << 7);  // high bit 7 reserved
    write_reg64(reg::CCMD, vtd::ccmd::ICC | 1ull << vtd::ccmd::CIRG_SHIFT);
    expect_blocked_both_ways(0x5000, fault_reason::reserved_context);
    poke64(ce + 8, hi | 1ull << 40);  // bits 63:24 reserved
    expect_blocked_both_ways(0x5000, fault_reason::reserved_context);
    poke64(ce + 8, hi);
    ASSERT_TRUE(dma_write(0x5000, 3).ok());
}

TEST_F(faults_test, ReservedBitsInAPagingEntryAreReasonC) {
    setup_domain();
    std::vector<std::uint64_t> slots;
    const std::uint64_t leaf = map(pgd_, 0x5000, data_a, entry::R | entry::W, &slots);
    poke64(leaf, data_a | entry::R | entry::W | 1u << 11);  // bit 11 (SNP) without ECAP.SC
    expect_blocked_both_ways(0x5000, fault_reason::reserved_paging);
    poke64(leaf, data_a | entry::R | entry::W | 1ull << 50);  // address bit beyond the 48-bit width
    expect_blocked_both_ways(0x5000, fault_reason::reserved_paging);
    poke64(leaf, data_a | entry::R | entry::W | 1ull << 62);  // TM without ECAP.DT
    expect_blocked_both_ways(0x5000, fault_reason::reserved_paging);
    // Ignored bits (63, 61:52) are not reserved.
    poke64(leaf, data_a | entry::R | entry::W | 1ull << 63 | 1ull << 55);
    write_reg64(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 1ull << vtd::iotlb_cmd::IIRG_SHIFT);
    ASSERT_TRUE(dma_write(0x5000, 4).ok());
    EXPECT_EQ(peek32(data_a), 4u);
    // A non-leaf entry's reserved bit too.
    poke64(slots[2], peek64(slots[2]) | 1u << 11);
    write_reg64(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 1ull << vtd::iotlb_cmd::IIRG_SHIFT);
    expect_blocked_both_ways(0x5000, fault_reason::reserved_paging);
}

TEST(ReservedFields, AddressBitsFollowTheConfiguredWidth) {
    // With a 39-bit width, bit 40 of a paging entry's address is reserved.
    EXPECT_NE(entry::paging_reserved(39, 12) & 1ull << 40, 0u);
    EXPECT_EQ(entry::paging_reserved(48, 12) & 1ull << 40, 0u);
    EXPECT_NE(entry::paging_reserved(48, 21) & 1ull << 20, 0u);  // 2 MiB leaf: bits 20:12
    EXPECT_EQ(entry::paging_reserved(48, 21) & 1ull << 21, 0u);
    EXPECT_NE(entry::root_reserved_lo(39) & 1ull << 39, 0u);
    EXPECT_EQ(entry::root_reserved_lo(48) & 1ull << 39, 0u);
}

TEST_F(faults_test, TranslationIntoTheInterruptRangeIsReasonE) {
    setup_domain();
    map(pgd_, 0x6000, pcie::msi_window_base, entry::R | entry::W);
    const auto r = dma_write(0x6000, 0x30);
    expect_blocked(r);
    EXPECT_EQ(last_reason(), fault_reason::interrupt_address);
    EXPECT_EQ(static_cast<unsigned>(last_reason()), 0xEu);
    EXPECT_TRUE(interrupts.empty());  // no message was made of it
    std::uint32_t v = 0;
    expect_blocked(dma_read(0x6000, v));
    EXPECT_EQ(last_reason(), fault_reason::interrupt_address);
}

class faults_nd_test : public faults_test {
protected:
    static iommu_params params(std::uint64_t domains) {
        iommu_params p;
        p.domains = domains;
        return p;
    }
    explicit faults_nd_test(std::uint64_t domains = 256) : faults_test(params(domains)) {}
};

TEST_F(faults_test, DefaultCapNdCoversSixteenBitDomainIds) {
    EXPECT_EQ(read_reg64(reg::CAP) & 7, 6u);
    EXPECT_EQ(vtd::cap::domains(read_reg64(reg::CAP)), 65536u);
}

TEST_F(faults_nd_test, ContextDomainIdBeyondCapNdIsReserved) {
    EXPECT_EQ(read_reg64(reg::CAP) & 7, 2u);  // 256 domains
    EXPECT_EQ(vtd::cap::domains(read_reg64(reg::CAP)), 256u);
    enable();
    const std::uint64_t pgd = alloc_table();
    map(pgd, 0x5000, data_a, entry::R | entry::W);
    attach(sid, 256, pgd);
    expect_blocked_both_ways(0x5000, fault_reason::reserved_context);
    attach(sid, 255, pgd);
    write_reg64(reg::CCMD, vtd::ccmd::ICC | 1ull << vtd::ccmd::CIRG_SHIFT);
    ASSERT_TRUE(dma_write(0x5000, 7).ok());
}

class faults_nd16_test : public faults_nd_test {
protected:
    faults_nd16_test() : faults_nd_test(16) {}
};

TEST_F(faults_nd16_test, SixteenDomainsAreNdZero) {
    EXPECT_EQ(read_reg64(reg::CAP) & 7, 0u);
    enable();
    const std::uint64_t pgd = alloc_table();
    map(pgd, 0x5000, data_a, entry::R | entry::W);
    attach(sid, 16, pgd);
    expect_blocked(dma_write(0x5000, 1));
    EXPECT_EQ(last_reason(), fault_reason::reserved_context);
}

// ---- Linux's text -----------------------------------------------------------------

TEST(FaultText, LinuxStrings) {
    EXPECT_STREQ(vtd::describe(fault_reason::paging_entry_access), "Next page table ptr is invalid");
    EXPECT_STREQ(vtd::describe(fault_reason::context_table_invalid), "Context table ptr is invalid");
    EXPECT_STREQ(vtd::describe(fault_reason::ir_source_id_invalid), "Blocked an interrupt request due to source-id verification failure");
    EXPECT_STREQ(linux_fault_reason(0xe), "Unknown");
    fault_record f{0x0100, 0x6123, fault_reason::interrupt_address, false};
    EXPECT_EQ(dmar_log_line(f), "DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0x6000 [fault reason 0x0e] Unknown");
    fault_record ir{0x0208, std::uint64_t(5) << 48, fault_reason::ir_source_id_invalid, false};
    EXPECT_EQ(dmar_log_line(ir),
              "DMAR: [INTR-REMAP] Request device [02:01.0] fault index 0x5 [fault reason 0x26] Blocked an interrupt request due to source-id verification failure");
}

TEST(FaultText, RecordRoundTripsThroughTheRegisters) {
    fault_recorder r(2);
    const fault_record f{0x1234, 0xabcd000, fault_reason::reserved_paging, true};
    ASSERT_TRUE(r.record(f));
    const fault_record back = decode_record(r.low(0), r.high(0));
    EXPECT_EQ(back.sid, f.sid);
    EXPECT_EQ(back.address, f.address);
    EXPECT_EQ(back.reason, f.reason);
    EXPECT_EQ(back.read, f.read);
}

// ---- fault event interrupt ----------------------------------------------------------

TEST_F(faults_test, UnmaskingWithIpSetSendsThePendingInterrupt) {
    setup_domain();
    write_reg32(reg::FEDATA, 0x41);
    write_reg32(reg::FEADDR, 0xFEE03000);
    ASSERT_NE(read_reg32(reg::FECTL) & vtd::fectl::IM, 0u);  // masked out of reset
    expect_blocked(dma_write(0x1000, 1));
    EXPECT_TRUE(interrupts.empty());
    EXPECT_NE(read_reg32(reg::FECTL) & vtd::fectl::IP, 0u);
    write_reg32(reg::FECTL, 0);  // unmask
    ASSERT_EQ(interrupts.size(), 1u);
    EXPECT_EQ(interrupts[0].vector, 0x41);
    EXPECT_EQ(interrupts[0].destination, 3);
    EXPECT_EQ(read_reg32(reg::FECTL) & vtd::fectl::IP, 0u);
    EXPECT_EQ(stat("fault_interrupts"), 1u);
    // Masking and unmasking again sends nothing more: nothing is pending.
    write_reg32(reg::FECTL, vtd::fectl::IM);
    write_reg32(reg::FECTL, 0);
    EXPECT_EQ(interrupts.size(), 1u);
}

TEST_F(faults_test, ServicingThePendingFaultClearsIp) {
    setup_domain();
    write_reg32(reg::FEDATA, 0x41);
    write_reg32(reg::FEADDR, 0xFEE00000);
    expect_blocked(dma_write(0x1000, 1));
    ASSERT_NE(read_reg32(reg::FECTL) & vtd::fectl::IP, 0u);
    // Software clears the record's F bit while the event is masked: PPF clears and so does IP.
    write_reg32(frcd(0) + 12, 0x80000000u);
    EXPECT_EQ(read_reg32(reg::FSTS) & vtd::fsts::PPF, 0u);
    EXPECT_EQ(read_reg32(reg::FECTL) & vtd::fectl::IP, 0u);
    write_reg32(reg::FECTL, 0);
    EXPECT_TRUE(interrupts.empty());
}

TEST_F(faults_test, APendingFaultRaisesNoSecondEventUntilServiced) {
    setup_domain();
    unmask();
    expect_blocked(dma_write(0x1000, 1));
    expect_blocked(dma_write(0x2000, 1));  // PPF already set: no event
    EXPECT_EQ(interrupts.size(), 1u);
    write_reg32(frcd(0) + 12, 0x80000000u);
    write_reg32(frcd(1) + 12, 0x80000000u);
    expect_blocked(dma_write(0x3000, 1));  // PPF set again: a new event
    EXPECT_EQ(interrupts.size(), 2u);
    EXPECT_EQ((read_reg32(reg::FSTS) >> vtd::fsts::FRI_SHIFT) & 0xff, 2u);  // the ring goes on at index 2
}

class overflow_test : public faults_test {
protected:
    static iommu_params params() {
        iommu_params p;
        p.fault_records = 2;
        return p;
    }
    overflow_test() : faults_test(params()) {}
};

TEST_F(overflow_test, OverflowSetsPfoRaisesAnEventAndStopsRecording) {
    setup_domain();
    unmask();
    expect_blocked(dma_write(0x1000, 1));
    expect_blocked(dma_write(0x2000, 1));
    EXPECT_EQ(interrupts.size(), 1u);
    expect_blocked(dma_write(0x3000, 1));  // both registers full: PFO
    EXPECT_NE(read_reg32(reg::FSTS) & vtd::fsts::PFO, 0u);
    EXPECT_FALSE(mmu->faults().back().logged);
    EXPECT_EQ(interrupts.size(), 2u);  // PFO going set is an event of its own
    // A freed register takes nothing while PFO stays set.
    write_reg32(frcd(0) + 12, 0x80000000u);
    expect_blocked(dma_write(0x4000, 1));
    EXPECT_FALSE(mmu->faults().back().logged);
    EXPECT_EQ(read_reg64(frcd(0) + 8) >> 63, 0u);
    // PFO is write-1-to-clear; then recording resumes where the ring stands.
    write_reg32(reg::FSTS, vtd::fsts::PFO);
    EXPECT_EQ(read_reg32(reg::FSTS) & vtd::fsts::PFO, 0u);
    expect_blocked(dma_write(0x5000, 1));
    EXPECT_TRUE(mmu->faults().back().logged);
    EXPECT_EQ(read_reg64(frcd(0)), 0x5000u);
}

TEST_F(faults_test, FaultProcessingDisableRaisesNothing) {
    setup_domain(entry::FPD);
    unmask();
    expect_blocked(dma_write(0x1000, 1));
    EXPECT_FALSE(mmu->faults().back().logged);
    EXPECT_TRUE(interrupts.empty());
    EXPECT_EQ(read_reg32(reg::FSTS), 0u);
}

} // namespace
} // namespace iotwin::iommu
