// The IOMMU in scalable mode, driven through its sockets: the test writes
// scalable-mode root and context entries, PASID directories and tables and
// first- or second-level tables into memory (VT-d 3.x 9.2-9.7, the formats
// of vtd.h) and checks what requests with and without PASID reach, the
// scalable-mode fault reasons, A/D updates, the PASID-tagged IOTLB and the
// PASID-based invalidations.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <tlm_utils/simple_initiator_socket.h>

#include "models/common/payload.h"
#include "models/interconnect/router.h"
#include "models/iommu/invalidation_queue.h"
#include "models/iommu/iommu.h"
#include "models/iommu/vtd.h"
#include "models/mem/memory.h"
#include "models/pcie/protocol.h"

namespace iotwin::iommu {
namespace {

using namespace sc_core;
using vtd::fault_reason;
namespace reg = vtd::reg;
namespace sm = vtd::sm;

constexpr std::uint64_t MiB = 1ull << 20;
constexpr std::uint64_t ram_size = 64 * MiB;
constexpr std::uint64_t data_a = 32 * MiB, data_b = 40 * MiB;
constexpr std::uint16_t sid = 0x0100;     // 01:00.0: devfn 0, lower context table
constexpr std::uint16_t sid_hi = 0x0188;  // 01:11.0: devfn 0x88, upper context table
constexpr std::uint16_t did = 3;
constexpr std::uint64_t iova = 3ull << 39 | 5ull << 30 | 7ull << 21 | 9ull << 12;
constexpr std::uint64_t fl_table = sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A;

template <class Protocol> struct initiator_on : sc_module {
    tlm_utils::simple_initiator_socket<initiator_on, 32, Protocol> socket{"socket"};
    explicit initiator_on(sc_module_name n) : sc_module(n) {}
    tlm::tlm_response_status access(tlm::tlm_command cmd, std::uint64_t addr, void* data, unsigned len, pcie::pcie_ext* ext = nullptr) {
        tlm::tlm_generic_payload gp;
        prepare(gp, cmd, addr, data, len);
        if (ext) gp.set_extension(ext);
        sc_time d;
        socket->b_transport(gp, d);
        if (ext) gp.clear_extension(ext);
        return gp.get_response_status();
    }
};

iommu_params scalable_params() {
    iommu_params p;
    p.scalable = true;
    return p;
}

class scalable_test : public testing::Test {
protected:
    std::unique_ptr<mem::memory> ram;
    std::unique_ptr<interconnect::router> bus;
    std::unique_ptr<iommu> mmu;
    std::unique_ptr<initiator_on<pcie::protocol_types>> dev;
    std::unique_ptr<initiator_on<tlm::tlm_base_protocol_types>> cpu;
    std::uint64_t next_ = 1 * MiB;
    std::uint64_t root_ = 0, dir_ = 0;

    explicit scalable_test(const iommu_params& p = scalable_params()) {
        mem::memory_params mp;
        mp.size = ram_size;
        ram = std::make_unique<mem::memory>("ram", mp);
        bus = std::make_unique<interconnect::router>("bus", interconnect::router_params{});
        mmu = std::make_unique<iommu>("iommu", p);
        dev = std::make_unique<initiator_on<pcie::protocol_types>>("dev");
        cpu = std::make_unique<initiator_on<tlm::tlm_base_protocol_types>>("cpu");
        dev->socket.bind(mmu->in);
        cpu->socket.bind(mmu->regs);
        mmu->mem_out.bind(bus->in);
        bus->out.bind(ram->socket);
        bus->map({"ram", 0, ram_size}, 0);
        sc_start(SC_ZERO_TIME);
    }

    void poke64(std::uint64_t a, std::uint64_t v) { ASSERT_TRUE(ram->poke(a, reinterpret_cast<std::uint8_t*>(&v), 8)); }
    std::uint64_t peek64(std::uint64_t a) {
        std::uint64_t v = 0;
        EXPECT_TRUE(ram->peek(a, reinterpret_cast<std::uint8_t*>(&v), 8));
        return v;
    }
    std::uint32_t peek32(std::uint64_t a) {
        std::uint32_t v = 0;
        EXPECT_TRUE(ram->peek(a, reinterpret_cast<std::uint8_t*>(&v), 4));
        return v;
    }
    void write_reg32(std::uint32_t off, std::uint32_t v) { ASSERT_EQ(cpu->access(tlm::TLM_WRITE_COMMAND, off, &v, 4), tlm::TLM_OK_RESPONSE); }
    void write_reg64(std::uint32_t off, std::uint64_t v) { ASSERT_EQ(cpu->access(tlm::TLM_WRITE_COMMAND, off, &v, 8), tlm::TLM_OK_RESPONSE); }
    std::uint64_t read_reg64(std::uint32_t off) {
        std::uint64_t v = 0;
        EXPECT_EQ(cpu->access(tlm::TLM_READ_COMMAND, off, &v, 8), tlm::TLM_OK_RESPONSE);
        return v;
    }
    std::uint64_t alloc() {
        const std::uint64_t t = next_;
        next_ += vtd::page_size;
        return t;
    }

    // Scalable-mode root table (TTM 01) latched, translation on.
    void enable(std::uint64_t ttm = sm::TTM_SCALABLE) {
        root_ = alloc();
        write_reg64(reg::RTADDR, root_ | ttm << sm::TTM_SHIFT);
        write_reg32(reg::GCMD, vtd::gcmd::SRTP);
        write_reg32(reg::GCMD, vtd::gcmd::TE);
    }
    // The context entry of `s`: a PASID directory of 2^(pdts+7) entries, `lo_flags` (P, PASIDE...).
    std::uint64_t context(std::uint16_t s, std::uint64_t lo_flags = sm::CTX_P | sm::CTX_PASIDE, unsigned pdts = 0,
                          std::uint32_t rid_pasid = sm::RID_PASID) {
        const std::uint64_t re = root_ + (s >> 8) * 16 + ((s & 0x80) ? 8 : 0);
        std::uint64_t ctp = peek64(re);
        if (!(ctp & sm::ROOT_PRESENT)) {
            ctp = alloc() | sm::ROOT_PRESENT;
            poke64(re, ctp);
        }
        dir_ = alloc();
        const std::uint64_t ce = (ctp & vtd::entry::ADDR_MASK) + (s & 0x7f) * sm::CONTEXT_SIZE;
        poke64(ce + 8, rid_pasid);
        poke64(ce, dir_ | std::uint64_t(pdts) << sm::CTX_PDTS_SHIFT | lo_flags);
        return ce;
    }
    // The PASID table entry of `pasid` in the current directory.
    std::uint64_t pasid_entry_at(std::uint32_t pasid) {
        const std::uint64_t pde_at = dir_ + (pasid >> 6) * 8;
        std::uint64_t pde = peek64(pde_at);
        if (!(pde & sm::PDE_P)) {
            pde = alloc() | sm::PDE_P;
            poke64(pde_at, pde);
        }
        return (pde & vtd::entry::ADDR_MASK) + (pasid & 0x3f) * sm::PASID_ENTRY_SIZE;
    }
    void first_level_pasid(std::uint32_t pasid, std::uint64_t pgd, std::uint16_t d = did, std::uint64_t q2_extra = 0) {
        const std::uint64_t pe = pasid_entry_at(pasid);
        poke64(pe + 16, pgd | q2_extra);
        poke64(pe + 8, d);
        poke64(pe, vtd::entry::AW_48BIT << sm::PE_AW_SHIFT | sm::PGTT_FIRST_LEVEL << sm::PE_PGTT_SHIFT | sm::PE_P);
    }
    void pasid_pgtt(std::uint32_t pasid, std::uint64_t pgtt, std::uint64_t slptr = 0, std::uint16_t d = did) {
        const std::uint64_t pe = pasid_entry_at(pasid);
        poke64(pe + 8, d);
        poke64(pe, slptr | vtd::entry::AW_48BIT << sm::PE_AW_SHIFT | pgtt << sm::PE_PGTT_SHIFT | sm::PE_P);
    }
    // A first-level mapping of `va` with a leaf at `level` (1: 4 KiB, 2: 2 MiB, 3: 1 GiB).
    std::uint64_t map_fl(std::uint64_t pgd, std::uint64_t va, std::uint64_t maddr, std::uint64_t leaf_flags, int level = 1,
                         std::uint64_t table_flags = fl_table) {
        std::uint64_t table = pgd;
        for (int l = 4; l > level; --l) {
            const std::uint64_t slot = table + ((va >> (12 + 9 * (l - 1))) & 0x1ff) * 8;
            std::uint64_t e = peek64(slot);
            if (!(e & sm::FL_P)) {
                e = alloc() | table_flags;
                poke64(slot, e);
            }
            table = e & vtd::entry::ADDR_MASK;
        }
        const std::uint64_t slot = table + ((va >> (12 + 9 * (level - 1))) & 0x1ff) * 8;
        poke64(slot, maddr | leaf_flags | (level > 1 ? sm::FL_PS : 0));
        return slot;
    }
    std::uint64_t map_sl(std::uint64_t pgd, std::uint64_t va, std::uint64_t maddr, std::uint64_t flags) {
        std::uint64_t table = pgd;
        for (int l = 4; l > 1; --l) {
            const std::uint64_t slot = table + ((va >> (12 + 9 * (l - 1))) & 0x1ff) * 8;
            std::uint64_t e = peek64(slot);
            if (!(e & (vtd::entry::R | vtd::entry::W))) {
                e = alloc() | vtd::entry::R | vtd::entry::W;
                poke64(slot, e);
            }
            table = e & vtd::entry::ADDR_MASK;
        }
        const std::uint64_t slot = table + ((va >> 12) & 0x1ff) * 8;
        poke64(slot, maddr | flags);
        return slot;
    }

    struct result { tlm::tlm_response_status status; pcie::pcie_ext ext; bool ok() const { return status == tlm::TLM_OK_RESPONSE; } };
    static pcie::pcie_ext ext_of(std::uint16_t rid, std::optional<std::uint32_t> pasid) {
        pcie::pcie_ext e;
        e.kind = pcie::request_kind::memory;
        e.requester_id = rid;
        e.pasid = pasid;
        return e;
    }
    result write(std::uint64_t a, std::uint32_t v, std::optional<std::uint32_t> pasid = std::nullopt, std::uint16_t rid = sid) {
        pcie::pcie_ext e = ext_of(rid, pasid);
        const auto st = dev->access(tlm::TLM_WRITE_COMMAND, a, &v, 4, &e);
        return {st, e};
    }
    result read(std::uint64_t a, std::uint32_t& v, std::optional<std::uint32_t> pasid = std::nullopt, std::uint16_t rid = sid) {
        pcie::pcie_ext e = ext_of(rid, pasid);
        const auto st = dev->access(tlm::TLM_READ_COMMAND, a, &v, 4, &e);
        return {st, e};
    }
    fault_reason last_reason() {
        EXPECT_FALSE(mmu->faults().empty());
        return mmu->faults().empty() ? fault_reason{} : mmu->faults().back().record.reason;
    }
    std::uint64_t stat(const char* name) {
        stat_map m;
        mmu->stats(m);
        return m.at(std::string("iommu.") + name);
    }
    static void expect_blocked(const result& r) {
        EXPECT_FALSE(r.ok());
        EXPECT_EQ(r.ext.status, pcie::completion::UR);
        EXPECT_TRUE(r.ext.iommu_fault);
    }
    // The usual set-up: `sid` with PASID-enabled context, RID_PASID on first-level tables.
    std::uint64_t pgd_ = 0;
    void setup_first_level() {
        enable();
        context(sid);
        pgd_ = alloc();
        first_level_pasid(sm::RID_PASID, pgd_);
    }
};

class legacy_unit_test : public scalable_test {
protected:
    legacy_unit_test() : scalable_test(iommu_params{}) {}
};

class no_1g_test : public scalable_test {
protected:
    static iommu_params params() {
        iommu_params p = scalable_params();
        p.first_level_1g = false;
        return p;
    }
    no_1g_test() : scalable_test(params()) {}
};

// ---- capabilities ------------------------------------------------------------

TEST_F(scalable_test, CapabilitiesReportScalableModeWithFirstAndSecondLevel) {
    const std::uint64_t ecap = read_reg64(reg::ECAP), cap = read_reg64(reg::CAP);
    EXPECT_TRUE(ecap >> vtd::ecap_bit::SMTS & 1);
    EXPECT_TRUE(ecap >> vtd::ecap_bit::FLTS & 1);
    EXPECT_TRUE(ecap >> vtd::ecap_bit::SLTS & 1);
    EXPECT_TRUE(ecap >> vtd::ecap_bit::PASID & 1);
    EXPECT_EQ(ecap >> vtd::ecap_bit::PSS & 0x1f, 19u);  // 20-bit PASIDs
    EXPECT_TRUE(cap >> vtd::cap_bit::FL1GP & 1);
    EXPECT_FALSE(cap >> vtd::cap_bit::FL5LP & 1);
    // TTM is writable on a scalable-mode unit.
    write_reg64(reg::RTADDR, 0x5000 | sm::TTM_SCALABLE << sm::TTM_SHIFT);
    EXPECT_EQ(read_reg64(reg::RTADDR), 0x5000 | sm::TTM_SCALABLE << sm::TTM_SHIFT);
}

TEST_F(legacy_unit_test, LegacyUnitReportsNoScalableModeAndIgnoresTtm) {
    const std::uint64_t ecap = read_reg64(reg::ECAP), cap = read_reg64(reg::CAP);
    EXPECT_FALSE(ecap >> vtd::ecap_bit::SMTS & 1);
    EXPECT_FALSE(ecap >> vtd::ecap_bit::FLTS & 1);
    EXPECT_FALSE(ecap >> vtd::ecap_bit::PASID & 1);
    EXPECT_FALSE(cap >> vtd::cap_bit::FL1GP & 1);
    write_reg64(reg::RTADDR, 0x5000 | sm::TTM_SCALABLE << sm::TTM_SHIFT);
    EXPECT_EQ(read_reg64(reg::RTADDR), 0x5000u);
}

// ---- first-level translation --------------------------------------------------------

TEST_F(scalable_test, RequestWithoutPasidUsesRidPasidFirstLevelTables) {
    setup_first_level();
    map_fl(pgd_, iova, data_a, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    ASSERT_TRUE(write(iova + 0x44, 0xfeedf00d).ok());
    EXPECT_EQ(peek32(data_a + 0x44), 0xfeedf00du);
    std::uint32_t v = 0;
    ASSERT_TRUE(read(iova + 0x44, v).ok());
    EXPECT_EQ(v, 0xfeedf00du);
    EXPECT_EQ(stat("first_level_walks"), 1u);  // the second request hit the IOTLB
    EXPECT_EQ(stat("iotlb_hits"), 1u);
}

TEST_F(scalable_test, RidPasidComesFromTheContextEntry) {
    enable();
    context(sid, sm::CTX_P, 0, 9);
    pgd_ = alloc();
    first_level_pasid(9, pgd_);
    map_fl(pgd_, iova, data_b, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    ASSERT_TRUE(write(iova, 0x99).ok());
    EXPECT_EQ(peek32(data_b), 0x99u);
}

TEST_F(scalable_test, UpperContextTableServesDevfn128AndAbove) {
    enable();
    context(sid_hi);
    pgd_ = alloc();
    first_level_pasid(sm::RID_PASID, pgd_);
    map_fl(pgd_, iova, data_b, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    ASSERT_TRUE(write(iova, 0x1234, std::nullopt, sid_hi).ok());
    EXPECT_EQ(peek32(data_b), 0x1234u);
    // 01:00.0 has no context entry (the lower table was never made).
    expect_blocked(write(iova, 1));
    EXPECT_EQ(last_reason(), fault_reason::sm_root_not_present);
}

TEST_F(scalable_test, RequestWithPasidUsesThatPasidsEntry) {
    setup_first_level();
    map_fl(pgd_, iova, data_a, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    const std::uint64_t other = alloc();
    first_level_pasid(70, other, 4);  // second PASID table (PASID bits 19:6 = 1)
    map_fl(other, iova, data_b, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    ASSERT_TRUE(write(iova, 0xaaaa).ok());
    ASSERT_TRUE(write(iova, 0xbbbb, 70).ok());
    EXPECT_EQ(peek32(data_a), 0xaaaau);
    EXPECT_EQ(peek32(data_b), 0xbbbbu);
}

TEST_F(scalable_test, PasidWithoutEntryFaultsWithTheScalableModeReasons) {
    setup_first_level();
    map_fl(pgd_, iova, data_a, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    expect_blocked(write(iova, 1, 5));  // same PASID table as RID_PASID, entry absent
    EXPECT_EQ(last_reason(), fault_reason::sm_pasid_entry_not_present);
    expect_blocked(write(iova, 1, 64 * 3));  // directory entry absent
    EXPECT_EQ(last_reason(), fault_reason::sm_pasid_dir_not_present);
    expect_blocked(write(iova, 1, 128 * 64));  // beyond the 128-entry directory (PDTS 0)
    EXPECT_EQ(last_reason(), fault_reason::sm_pasid_too_large);
    EXPECT_EQ(peek32(data_a), 0u);
    // The record carries the PASID (PV, PASID value) and Linux logs it.
    const auto& f = mmu->faults().front().record;
    ASSERT_TRUE(f.pasid.has_value());
    EXPECT_EQ(*f.pasid, 5u);
    EXPECT_EQ(dmar_log_line(f), "DMAR: [DMA Write PASID 0x5] Request device [01:00.0] fault addr 0x" +
                                    [] { char b[32]; std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(iova)); return std::string(b); }() +
                                    " [fault reason 0x59] SM: Present bit in PASID Table Entry is clear");
    const std::uint32_t fro = static_cast<std::uint32_t>((read_reg64(reg::CAP) >> 24) & 0x3ff) * 16;
    const std::uint64_t hi = read_reg64(fro + 8);
    EXPECT_TRUE(hi >> 31 & 1);                 // PV
    EXPECT_EQ(hi >> 40 & 0xfffff, 5u);         // PASID value
    EXPECT_EQ(hi >> 32 & 0xff, 0x59u);         // reason
}

TEST_F(scalable_test, PasidEnableClearBlocksRequestsWithPasid) {
    enable();
    context(sid, sm::CTX_P);
    pgd_ = alloc();
    first_level_pasid(sm::RID_PASID, pgd_);
    map_fl(pgd_, iova, data_a, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    expect_blocked(write(iova, 1, 0));
    EXPECT_EQ(last_reason(), fault_reason::sm_pasid_disabled);
    EXPECT_TRUE(write(iova, 2).ok());
}

TEST_F(scalable_test, FirstLevelPermissionsAreEnforced) {
    setup_first_level();
    map_fl(pgd_, iova, data_a, sm::FL_P | sm::FL_US | sm::FL_A);  // read-only
    std::uint32_t v = 0;
    EXPECT_TRUE(read(iova, v).ok());
    expect_blocked(write(iova, 1));
    EXPECT_EQ(last_reason(), fault_reason::sm_write_not_permitted);
    EXPECT_EQ(peek32(data_a), 0u);
    // R/W clear in a directory entry denies writes below it even with a writable leaf.
    map_fl(pgd_, iova + (1ull << 39), data_b, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D, 1,
           sm::FL_P | sm::FL_US | sm::FL_A);
    expect_blocked(write(iova + (1ull << 39), 1));
    EXPECT_EQ(last_reason(), fault_reason::sm_write_not_permitted);
    // U/S clear: the request is a user-privilege one.
    map_fl(pgd_, iova + 0x1000, data_b, sm::FL_P | sm::FL_RW | sm::FL_A | sm::FL_D);
    expect_blocked(read(iova + 0x1000, v));
    EXPECT_EQ(last_reason(), fault_reason::sm_user_not_permitted);
    // Not present.
    expect_blocked(read(iova + 0x2000, v));
    EXPECT_EQ(last_reason(), fault_reason::sm_fl_not_present);
    // Not canonical: bit 47 set, bits 63:48 clear.
    expect_blocked(read(1ull << 47, v));
    EXPECT_EQ(last_reason(), fault_reason::sm_not_canonical);
}

TEST_F(scalable_test, UnitSetsAccessedAndDirtyFlags) {
    setup_first_level();
    const std::uint64_t leaf = map_fl(pgd_, iova, data_a, sm::FL_P | sm::FL_RW | sm::FL_US, 1, sm::FL_P | sm::FL_RW | sm::FL_US);
    std::uint32_t v = 0;
    ASSERT_TRUE(read(iova, v).ok());
    EXPECT_TRUE(peek64(leaf) & sm::FL_A);
    EXPECT_FALSE(peek64(leaf) & sm::FL_D);
    EXPECT_TRUE(peek64(pgd_ + ((iova >> 39) & 0x1ff) * 8) & sm::FL_A);
    // The clean writable translation was not cached: the write walks again and sets D.
    ASSERT_TRUE(write(iova, 7).ok());
    EXPECT_TRUE(peek64(leaf) & sm::FL_D);
    EXPECT_EQ(stat("first_level_walks"), 2u);
    EXPECT_GE(stat("ad_updates"), 5u);  // A in four entries, then D in the leaf
}

TEST_F(scalable_test, FirstLevelSuperpages) {
    setup_first_level();
    const std::uint64_t va2m = 1ull << 30 | 3ull << 21, va1g = 2ull << 30;
    map_fl(pgd_, va2m, data_a & ~((2 * MiB) - 1), sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D, 2);
    map_fl(pgd_, va1g, 0, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D, 3);
    ASSERT_TRUE(write(va2m + 0x12344, 0x22).ok());
    EXPECT_EQ(peek32((data_a & ~((2 * MiB) - 1)) + 0x12344), 0x22u);
    ASSERT_TRUE(write(va1g + data_b + 8, 0x33).ok());  // 1 GiB page at machine 0
    EXPECT_EQ(peek32(data_b + 8), 0x33u);
    // A 2 MiB frame with bits 20:13 set is a reserved-bit fault.
    map_fl(pgd_, va2m + (2 * MiB), data_a | 0x2000, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D, 2);
    std::uint32_t v = 0;
    expect_blocked(read(va2m + (2 * MiB), v));
    EXPECT_EQ(last_reason(), fault_reason::sm_fl_reserved);
}

TEST_F(no_1g_test, OneGigabytePageIsReservedWithoutFl1gp) {
    setup_first_level();
    EXPECT_FALSE(read_reg64(reg::CAP) >> vtd::cap_bit::FL1GP & 1);
    map_fl(pgd_, 2ull << 30, 0, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D, 3);
    std::uint32_t v = 0;
    expect_blocked(read((2ull << 30) + data_b, v));
    EXPECT_EQ(last_reason(), fault_reason::sm_fl_reserved);
}

// ---- other PASID-granular translation types ---------------------------------------

TEST_F(scalable_test, SecondLevelPassThroughAndNestedEntries) {
    enable();
    context(sid);
    const std::uint64_t slpt = alloc();
    pasid_pgtt(sm::RID_PASID, sm::PGTT_SECOND_LEVEL, slpt);
    map_sl(slpt, iova, data_a, vtd::entry::R);
    std::uint32_t v = 0;
    EXPECT_TRUE(read(iova, v).ok());
    expect_blocked(write(iova, 1));
    EXPECT_EQ(last_reason(), fault_reason::sm_write_not_permitted);
    expect_blocked(read(iova + 0x1000, v));
    EXPECT_EQ(last_reason(), fault_reason::sm_sl_not_present);
    expect_blocked(read(1ull << 48, v));
    EXPECT_EQ(last_reason(), fault_reason::sm_beyond_max);

    pasid_pgtt(1, sm::PGTT_PASS_THROUGH);
    ASSERT_TRUE(write(data_b + 4, 0x77, 1).ok());
    EXPECT_EQ(peek32(data_b + 4), 0x77u);

    pasid_pgtt(2, sm::PGTT_NESTED, slpt);
    expect_blocked(write(iova, 1, 2));
    EXPECT_EQ(last_reason(), fault_reason::sm_pasid_entry_invalid);
    // A first-level entry asking for 5-level paging (FLPM 01) is invalid: CAP.FL5LP is clear.
    first_level_pasid(3, alloc(), did, 1ull << sm::PE_FLPM_SHIFT);
    expect_blocked(write(iova, 1, 3));
    EXPECT_EQ(last_reason(), fault_reason::sm_pasid_entry_invalid);
}

TEST_F(scalable_test, ReservedTtmAndLegacyRootTables) {
    enable(2);
    context(sid);
    std::uint32_t v = 0;
    expect_blocked(read(iova, v));
    EXPECT_EQ(last_reason(), fault_reason::sm_root_table_invalid);
}

TEST_F(legacy_unit_test, RequestWithPasidThroughLegacyTablesIsBlocked) {
    const std::uint64_t root = alloc();
    write_reg64(reg::RTADDR, root);
    write_reg32(reg::GCMD, vtd::gcmd::SRTP);
    write_reg32(reg::GCMD, vtd::gcmd::TE);
    std::uint32_t v = 0;
    expect_blocked(read(iova, v, 1));
    EXPECT_EQ(last_reason(), fault_reason::sm_ttm0_request_with_pasid);
}

// ---- caches and invalidation ---------------------------------------------------------

TEST_F(scalable_test, IotlbIsTaggedByPasidAndPasidInvalidationIsSelective) {
    setup_first_level();
    const std::uint64_t other = alloc();
    first_level_pasid(1, other);  // same domain, another PASID
    const std::uint64_t leaf0 = map_fl(pgd_, iova, data_a, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    const std::uint64_t leaf1 = map_fl(other, iova, data_b, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    ASSERT_TRUE(write(iova, 1).ok());
    ASSERT_TRUE(write(iova, 2, 1).ok());
    EXPECT_EQ(peek32(data_a), 1u);
    EXPECT_EQ(peek32(data_b), 2u);
    // Both leaves removed from memory: the cached translations still serve (stale).
    poke64(leaf0, 0);
    poke64(leaf1, 0);
    ASSERT_TRUE(write(iova, 3).ok());
    ASSERT_TRUE(write(iova, 4, 1).ok());
    // Page-selective-within-PASID invalidation of PASID 1 only.
    EXPECT_TRUE(mmu->invalidate_pasid_iotlb(did, 1, 3, iova, 0, false));
    ASSERT_TRUE(write(iova, 5).ok());   // PASID 0: still cached
    expect_blocked(write(iova, 6, 1));  // PASID 1: walks, finds nothing
    EXPECT_EQ(last_reason(), fault_reason::sm_fl_not_present);
    EXPECT_EQ(peek32(data_a), 5u);
    EXPECT_EQ(peek32(data_b), 4u);
    // PASID-selective (all pages) for PASID 0.
    EXPECT_TRUE(mmu->invalidate_pasid_iotlb(did, sm::RID_PASID, 2, 0, 0, false));
    expect_blocked(write(iova, 7));
    EXPECT_EQ(stat("pasid_iotlb_invalidations"), 2u);
    // Reserved granularities invalidate nothing.
    EXPECT_FALSE(mmu->invalidate_pasid_iotlb(did, 0, 0, 0, 0, false));
    EXPECT_FALSE(mmu->invalidate_pasid_iotlb(did, 0, 1, 0, 0, false));
}

TEST_F(scalable_test, PasidCacheHoldsEntriesUntilInvalidated) {
    setup_first_level();
    map_fl(pgd_, iova, data_a, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    ASSERT_TRUE(write(iova, 1).ok());
    EXPECT_EQ(stat("pasid_cache_misses"), 1u);
    // Software clears the PASID entry's P: the cached entry still serves.
    const std::uint64_t pe = pasid_entry_at(sm::RID_PASID);
    poke64(pe, 0);
    EXPECT_TRUE(mmu->invalidate_pasid_iotlb(did, sm::RID_PASID, 2, 0, 0, false));
    ASSERT_TRUE(write(iova, 2).ok());
    EXPECT_EQ(stat("pasid_cache_hits"), 1u);
    // Another domain's PASID-cache invalidation leaves it; this domain's drops it.
    EXPECT_TRUE(mmu->invalidate_pasid_cache(did + 1, sm::RID_PASID, 1));
    EXPECT_TRUE(mmu->invalidate_pasid_iotlb(did, sm::RID_PASID, 2, 0, 0, false));
    ASSERT_TRUE(write(iova, 3).ok());
    EXPECT_TRUE(mmu->invalidate_pasid_cache(did, sm::RID_PASID, 1));
    expect_blocked(write(iova, 4));
    EXPECT_EQ(last_reason(), fault_reason::sm_pasid_entry_not_present);
    EXPECT_FALSE(mmu->invalidate_pasid_cache(did, 0, 2));
    EXPECT_EQ(stat("pasid_cache_invalidations"), 2u);
}

// ---- PASID-based descriptors through the invalidation queue -----------------

class queued_scalable_test : public scalable_test {
protected:
    explicit queued_scalable_test(const iommu_params& p = scalable_params()) : scalable_test(p) {}
    std::uint64_t queue_ = 0;
    unsigned tail_ = 0;
    std::uint32_t read_reg32(std::uint32_t off) {
        std::uint32_t v = 0;
        EXPECT_EQ(cpu->access(tlm::TLM_READ_COMMAND, off, &v, 4), tlm::TLM_OK_RESPONSE);
        return v;
    }
    // The queue (one page, 256 descriptors) after the root table, translation kept on (GCMD is level-sensitive).
    void enable_queue() {
        queue_ = alloc();
        write_reg64(vtd::reg::IQT, 0);
        write_reg64(vtd::reg::IQA, queue_);
        write_reg32(reg::GCMD, vtd::gcmd::TE | vtd::qi::GCMD_QIE);
        ASSERT_TRUE(read_reg32(reg::GSTS) & vtd::qi::GSTS_QIES);
    }
    void submit(std::uint64_t lo, std::uint64_t hi) {
        poke64(queue_ + tail_ * 16, lo);
        poke64(queue_ + tail_ * 16 + 8, hi);
        ++tail_;
        write_reg64(vtd::reg::IQT, std::uint64_t(tail_) << 4);
    }
    static std::uint64_t pasid_desc(unsigned type, unsigned g, std::uint16_t d, std::uint32_t pasid) {
        return std::uint64_t(pasid) << vtd::qi::PASID_SHIFT | std::uint64_t(d) << 16 | std::uint64_t(g) << 4 | type;
    }
    bool queue_error() { return read_reg32(reg::FSTS) & vtd::qi::FSTS_IQE; }
};

TEST_F(queued_scalable_test, PasidBasedIotlbDescriptorDropsThePasidsTranslations) {
    setup_first_level();
    enable_queue();
    const std::uint64_t leaf = map_fl(pgd_, iova, data_a, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    ASSERT_TRUE(write(iova, 1).ok());
    poke64(leaf, 0);
    ASSERT_TRUE(write(iova, 2).ok());  // stale: served from the IOTLB
    // Another PASID's page-selective invalidation leaves it.
    submit(pasid_desc(vtd::qi::TYPE_PIOTLB, 3, did, 5), iova);
    ASSERT_FALSE(queue_error());
    ASSERT_TRUE(write(iova, 3).ok());
    // RID_PASID's page-selective invalidation (QI_GRAN_PSI_PASID) drops it.
    submit(pasid_desc(vtd::qi::TYPE_PIOTLB, 3, did, sm::RID_PASID), iova);
    ASSERT_FALSE(queue_error());
    expect_blocked(write(iova, 4));
    EXPECT_EQ(last_reason(), fault_reason::sm_fl_not_present);
    EXPECT_EQ(peek32(data_a), 3u);
    EXPECT_EQ(stat("pasid_iotlb_invalidations"), 2u);
}

TEST_F(queued_scalable_test, PasidCacheDescriptorDropsTheCachedPasidEntry) {
    setup_first_level();
    enable_queue();
    map_fl(pgd_, iova, data_a, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    ASSERT_TRUE(write(iova, 1).ok());
    poke64(pasid_entry_at(sm::RID_PASID), 0);
    // Intel_pasid_tear_down_entry's order: PASID cache (PASID-selective), then the PASID's translations.
    submit(pasid_desc(vtd::qi::TYPE_PC, 1, did, sm::RID_PASID), 0);
    submit(pasid_desc(vtd::qi::TYPE_PIOTLB, 2, did, sm::RID_PASID), 0);
    ASSERT_FALSE(queue_error());
    expect_blocked(write(iova, 2));
    EXPECT_EQ(last_reason(), fault_reason::sm_pasid_entry_not_present);
    EXPECT_EQ(stat("pasid_cache_invalidations"), 1u);
}

TEST_F(queued_scalable_test, ReservedPasidDescriptorFieldsAreQueueErrors) {
    setup_first_level();
    enable_queue();
    // Granularity 1 of a PASID-based-IOTLB descriptor is reserved.
    submit(pasid_desc(vtd::qi::TYPE_PIOTLB, 1, did, 0), 0);
    EXPECT_TRUE(queue_error());
    EXPECT_EQ(read_reg64(vtd::reg::IQH), 0u);  // the head stays at the bad descriptor
    // Clearing IQE alone fetches the same descriptor again (VT-d 6.5.2.10):
    // software first puts a valid one in its place, as Linux's qi_check_fault does.
    write_reg32(reg::FSTS, vtd::qi::FSTS_IQE);
    EXPECT_TRUE(queue_error());
    poke64(queue_, pasid_desc(vtd::qi::TYPE_PC, 1, did, sm::RID_PASID));
    write_reg32(reg::FSTS, vtd::qi::FSTS_IQE);
    EXPECT_FALSE(queue_error());
    EXPECT_EQ(read_reg64(vtd::reg::IQH), 1u << vtd::qi::INDEX_SHIFT);
    EXPECT_EQ(stat("pasid_cache_invalidations"), 1u);
}

class queued_legacy_unit_test : public queued_scalable_test {
protected:
    queued_legacy_unit_test() : queued_scalable_test(iommu_params{}) {}
};

TEST_F(queued_legacy_unit_test, PasidDescriptorsAreInvalidWithoutScalableMode) {
    enable(sm::TTM_LEGACY);
    enable_queue();
    submit(pasid_desc(vtd::qi::TYPE_PIOTLB, 2, did, 0), 0);
    EXPECT_TRUE(queue_error());
    EXPECT_EQ(read_reg64(vtd::reg::IQH), 0u);
}

TEST_F(scalable_test, ContextCacheInvalidationDropsTheDevicesPasidEntries) {
    setup_first_level();
    map_fl(pgd_, iova, data_a, sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_D);
    ASSERT_TRUE(write(iova, 1).ok());
    poke64(pasid_entry_at(sm::RID_PASID), 0);
    // Device-selective context-cache invalidation (CCMD), then a domain IOTLB flush.
    write_reg64(reg::CCMD, vtd::ccmd::ICC | 3ull << vtd::ccmd::CIRG_SHIFT | std::uint64_t(sid) << 16 | did);
    write_reg64(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 2ull << vtd::iotlb_cmd::IIRG_SHIFT |
                                         std::uint64_t(did) << vtd::iotlb_cmd::DID_SHIFT);
    expect_blocked(write(iova, 2));
    EXPECT_EQ(last_reason(), fault_reason::sm_pasid_entry_not_present);
    EXPECT_EQ(peek32(data_a), 1u);
}

} // namespace
} // namespace iotwin::iommu
