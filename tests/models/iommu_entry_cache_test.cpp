// The interrupt entry cache of the VT-d model: a valid IRTE, once read for a
// message, serves the next messages of its index until an interrupt entry
// cache invalidation (queued descriptor 0x4, VT-d 3.x 6.5.2.7) drops it:
// index-selective for the 2^IM entries of the aligned block holding the
// index, or global. Software that changes an entry without invalidating it
// leaves the unit delivering the old vector.
#include <gtest/gtest.h>

#include "models/iommu/interrupt_remap.h"
#include "models/iommu/invalidation_queue.h"
#include "tests/support/vtd_harness.h"

namespace iotwin::iommu {
namespace {

namespace reg = vtd::reg;
namespace qi = vtd::qi;

class entry_cache_test : public test::vtd_harness {
protected:
    std::uint64_t table_ = 0, queue_ = 0;
    unsigned tail_ = 0;

    // Translation, interrupt remapping (a 256-entry table) and the queue on;
    // GCMD is level-sensitive, so every write keeps the enables already set.
    void enable_remapping() {
        enable();
        table_ = alloc_table();
        queue_ = alloc_table();
        write_reg64(reg::IRTA, table_ | 7);
        write_reg32(reg::GCMD, vtd::gcmd::TE | vtd::gcmd::SIRTP);
        write_reg64(reg::IQT, 0);
        write_reg64(reg::IQA, queue_);
        write_reg32(reg::GCMD, vtd::gcmd::TE | vtd::gcmd::IRE | qi::GCMD_QIE);
        ASSERT_TRUE(read_reg32(reg::GSTS) & vtd::gsts::IRES);
    }
    void write_irte(unsigned index, std::uint8_t vector) {
        irte e;
        e.present = true;
        e.vector = vector;
        e.destination = 1;
        poke64(table_ + index * 16, e.lo());
        poke64(table_ + index * 16 + 8, e.hi());
    }
    // The vector the interrupt controller received for a remappable message of `index`.
    int deliver(unsigned index) {
        const std::size_t before = interrupts.size();
        const auto r = send_msi(vtd::msi::address(static_cast<std::uint16_t>(index), false), 0);
        if (!r.ok() || interrupts.size() != before + 1) return -1;
        return interrupts.back().vector;
    }
    // Descriptor 0x4: index-selective (2^mask entries at `index`) or global.
    void invalidate(bool global, unsigned index = 0, unsigned mask = 0) {
        const std::uint64_t lo = global ? qi::TYPE_IEC
                                        : std::uint64_t(index) << 32 | std::uint64_t(mask) << 27 | qi::IEC_SELECTIVE | qi::TYPE_IEC;
        poke64(queue_ + tail_ * 16, lo);
        poke64(queue_ + tail_ * 16 + 8, 0);
        ++tail_;
        write_reg64(reg::IQT, std::uint64_t(tail_) << qi::INDEX_SHIFT);
        ASSERT_FALSE(read_reg32(reg::FSTS) & qi::FSTS_IQE);
    }
};

TEST_F(entry_cache_test, ChangedEntryIsUsedOnlyAfterItsInvalidation) {
    enable_remapping();
    write_irte(4, 0x40);
    write_irte(5, 0x41);
    EXPECT_EQ(deliver(4), 0x40);
    EXPECT_EQ(deliver(5), 0x41);
    EXPECT_EQ(stat("interrupt_entry_cache_misses"), 2u);
    // Software rewrites both entries without telling the unit: the old vectors go on.
    write_irte(4, 0x50);
    write_irte(5, 0x51);
    EXPECT_EQ(deliver(4), 0x40);
    EXPECT_EQ(deliver(5), 0x41);
    EXPECT_EQ(stat("interrupt_entry_cache_hits"), 2u);
    // Index-selective, IM = 0: entry 4 only.
    invalidate(false, 4, 0);
    EXPECT_EQ(deliver(4), 0x50);
    EXPECT_EQ(deliver(5), 0x41);
    // IM = 1 from index 4: the aligned block 4-5.
    write_irte(4, 0x60);
    invalidate(false, 4, 1);
    EXPECT_EQ(deliver(4), 0x60);
    EXPECT_EQ(deliver(5), 0x51);
}

TEST_F(entry_cache_test, GlobalInvalidationDropsEveryEntryAndSirtpDropsNone) {
    enable_remapping();
    write_irte(7, 0x70);
    EXPECT_EQ(deliver(7), 0x70);
    write_irte(7, 0x71);
    // SIRTP again with the same table: the cache is kept (software invalidates after it).
    write_reg32(reg::GCMD, vtd::gcmd::TE | vtd::gcmd::IRE | qi::GCMD_QIE | vtd::gcmd::SIRTP);
    EXPECT_EQ(deliver(7), 0x70);
    invalidate(true);
    EXPECT_EQ(deliver(7), 0x71);
}

TEST_F(entry_cache_test, AnEntryNotPresentIsNotCached) {
    enable_remapping();
    EXPECT_EQ(deliver(9), -1);  // fault 0x22
    EXPECT_EQ(last_reason(), vtd::fault_reason::ir_entry_not_present);
    write_irte(9, 0x90);
    EXPECT_EQ(deliver(9), 0x90);  // read again: no invalidation needed for a new entry
}

} // namespace
} // namespace iotwin::iommu
