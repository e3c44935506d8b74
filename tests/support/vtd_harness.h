// A VT-d unit alone on a small fabric for model tests: a device socket on
// `in`, a CPU on `regs`, and `mem_out` reaching RAM and the interrupt window
// (an MSI controller that records what it receives) through a router. The
// tables are built in memory by the test, in the formats of models/iommu/vtd.h.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>

#include "models/common/payload.h"
#include "models/intc/msi_controller.h"
#include "models/interconnect/router.h"
#include "models/iommu/iommu.h"
#include "models/iommu/vtd.h"
#include "models/mem/memory.h"
#include "models/pcie/protocol.h"

namespace iotwin::test {

template <class Protocol>
struct vtd_initiator : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<vtd_initiator, 32, Protocol> socket{"socket"};
    explicit vtd_initiator(sc_core::sc_module_name n) : sc_module(n) {}
    tlm::tlm_response_status access(tlm::tlm_command cmd, std::uint64_t addr, void* data, unsigned len,
                                    pcie::pcie_ext* ext = nullptr) {
        tlm::tlm_generic_payload gp;
        prepare(gp, cmd, addr, data, len);
        if (ext) gp.set_extension(ext);
        sc_core::sc_time d;
        socket->b_transport(gp, d);
        if (ext) gp.clear_extension(ext);
        EXPECT_EQ(gp.get_address(), addr);  // handed back as the device sent it
        return gp.get_response_status();
    }
};

struct vtd_result {
    tlm::tlm_response_status status;
    pcie::pcie_ext ext;
    bool ok() const { return status == tlm::TLM_OK_RESPONSE; }
};

class vtd_harness : public testing::Test {
protected:
    static constexpr std::uint64_t ram_size = 64ull << 20;
    static constexpr std::uint64_t table_area = 1ull << 20;
    static constexpr std::uint64_t data_a = 32ull << 20;
    static constexpr std::uint64_t beyond_ram = 0x80000000;  // decoded by nothing: an access error
    static constexpr std::uint16_t sid = 0x0100;             // 01:00.0
    static constexpr std::uint16_t did = 1;

    std::unique_ptr<mem::memory> ram;
    std::unique_ptr<intc::msi_controller> msi;
    std::unique_ptr<interconnect::router> bus;
    std::unique_ptr<iommu::iommu> mmu;
    std::unique_ptr<vtd_initiator<pcie::protocol_types>> dev;
    std::unique_ptr<vtd_initiator<tlm::tlm_base_protocol_types>> cpu;
    std::vector<intc::interrupt_message> interrupts;
    std::uint64_t mem_writes = 0;
    std::uint64_t next_table_ = table_area;
    std::uint64_t root_ = 0, pgd_ = 0;

    explicit vtd_harness(const iommu::iommu_params& p = {}) {
        using namespace sc_core;
        mem::memory_params mp;
        mp.size = ram_size;
        ram = std::make_unique<mem::memory>("ram", mp);
        msi = std::make_unique<intc::msi_controller>("msi", sc_time(10, SC_NS));
        bus = std::make_unique<interconnect::router>("bus", interconnect::router_params{});
        mmu = std::make_unique<iommu::iommu>("iommu", p);
        dev = std::make_unique<vtd_initiator<pcie::protocol_types>>("dev");
        cpu = std::make_unique<vtd_initiator<tlm::tlm_base_protocol_types>>("cpu");
        dev->socket.bind(mmu->in);
        cpu->socket.bind(mmu->regs);
        mmu->mem_out.bind(bus->in);
        bus->out.bind(ram->socket);
        bus->out.bind(msi->socket);
        bus->map({"ram", 0, ram_size}, 0);
        bus->map({"msi", pcie::msi_window_base, pcie::msi_window_size}, 1);
        msi->set_sink([this](const intc::interrupt_message& m) { interrupts.push_back(m); });
        ram->add_observer([this](const tlm::tlm_generic_payload& gp) { mem_writes += gp.is_write(); });
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
    std::uint32_t read_reg32(std::uint32_t off) {
        std::uint32_t v = 0;
        EXPECT_EQ(cpu->access(tlm::TLM_READ_COMMAND, off, &v, 4), tlm::TLM_OK_RESPONSE);
        return v;
    }
    std::uint64_t read_reg64(std::uint32_t off) {
        std::uint64_t v = 0;
        EXPECT_EQ(cpu->access(tlm::TLM_READ_COMMAND, off, &v, 8), tlm::TLM_OK_RESPONSE);
        return v;
    }
    std::uint32_t frcd(unsigned i) { return static_cast<std::uint32_t>((read_reg64(vtd::reg::CAP) >> 24) & 0x3ff) * 16 + 16 * i; }

    std::uint64_t alloc_table() {
        const std::uint64_t t = next_table_;
        next_table_ += vtd::page_size;
        return t;
    }
    void enable() {
        root_ = alloc_table();
        write_reg64(vtd::reg::RTADDR, root_);
        write_reg32(vtd::reg::GCMD, vtd::gcmd::SRTP);
        write_reg32(vtd::reg::GCMD, vtd::gcmd::TE);
    }
    std::uint64_t root_entry(std::uint16_t s) const { return root_ + (s >> 8) * 16; }
    void attach(std::uint16_t s, std::uint16_t d, std::uint64_t pgd, std::uint64_t extra_lo = 0, std::uint64_t extra_hi = 0) {
        const std::uint64_t re = root_entry(s);
        std::uint64_t ctp = peek64(re);
        if (!(ctp & vtd::entry::P)) {
            ctp = alloc_table() | vtd::entry::P;
            poke64(re, ctp);
        }
        const std::uint64_t ce = (ctp & vtd::entry::ADDR_MASK) + (s & 0xff) * 16;
        poke64(ce + 8, vtd::entry::AW_48BIT | std::uint64_t(d) << 8 | extra_hi);
        poke64(ce, pgd | vtd::entry::TT_UNTRANSLATED << vtd::entry::TT_SHIFT | extra_lo | vtd::entry::P);
    }
    std::uint64_t context_entry(std::uint16_t s) { return (peek64(root_entry(s)) & vtd::entry::ADDR_MASK) + (s & 0xff) * 16; }
    // Maps `iova` to `maddr` with a leaf at `level` (1: 4 KiB, 2: 2 MiB, 3:
    // 1 GiB, with PS), the tables above granting `dir_flags`. Returns the leaf
    // entry's address; `slots` gets each level's entry address (top first).
    std::uint64_t map(std::uint64_t pgd, std::uint64_t iova, std::uint64_t maddr, std::uint64_t flags, int level = 1,
                      std::uint64_t dir_flags = vtd::entry::R | vtd::entry::W, std::vector<std::uint64_t>* slots = nullptr) {
        std::uint64_t table = pgd;
        for (int l = vtd::levels; l > level; --l) {
            const std::uint64_t slot = table + ((iova >> (12 + 9 * (l - 1))) & 0x1ff) * 8;
            if (slots) slots->push_back(slot);
            std::uint64_t e = peek64(slot);
            if (!(e & (vtd::entry::R | vtd::entry::W))) {
                e = alloc_table() | dir_flags;
                poke64(slot, e);
            }
            table = e & vtd::entry::ADDR_MASK;
        }
        const std::uint64_t slot = table + ((iova >> (12 + 9 * (level - 1))) & 0x1ff) * 8;
        if (slots) slots->push_back(slot);
        poke64(slot, maddr | flags | (level > 1 ? vtd::entry::PS : 0));
        return slot;
    }
    std::uint64_t map(std::uint64_t pgd, std::uint64_t iova, std::uint64_t maddr, std::uint64_t flags,
                      std::vector<std::uint64_t>* slots) {
        return map(pgd, iova, maddr, flags, 1, vtd::entry::R | vtd::entry::W, slots);
    }
    void setup_domain(std::uint64_t extra_lo = 0) {
        enable();
        pgd_ = alloc_table();
        attach(sid, did, pgd_, extra_lo);
    }
    static pcie::pcie_ext device_ext(std::uint16_t rid, pcie::request_kind k = pcie::request_kind::memory) {
        pcie::pcie_ext e;
        e.kind = k;
        e.requester_id = rid;
        return e;
    }
    // A 4-byte request of the device, with the extension `e` (what the device puts in its TLP).
    vtd_result dma_write(std::uint64_t iova, std::uint32_t v, pcie::pcie_ext e) {
        const auto st = dev->access(tlm::TLM_WRITE_COMMAND, iova, &v, 4, &e);
        return {st, e};
    }
    vtd_result dma_read(std::uint64_t iova, std::uint32_t& v, pcie::pcie_ext e) {
        const auto st = dev->access(tlm::TLM_READ_COMMAND, iova, &v, 4, &e);
        return {st, e};
    }
    vtd_result dma_write(std::uint64_t iova, std::uint32_t v, std::uint16_t rid = sid) { return dma_write(iova, v, device_ext(rid)); }
    vtd_result dma_read(std::uint64_t iova, std::uint32_t& v, std::uint16_t rid = sid) { return dma_read(iova, v, device_ext(rid)); }
    // An interrupt message as the root complex hands it on (kind msi).
    vtd_result send_msi(std::uint64_t address, std::uint32_t data, std::uint16_t rid = sid) {
        pcie::pcie_ext e = device_ext(rid, pcie::request_kind::msi);
        const auto st = dev->access(tlm::TLM_WRITE_COMMAND, address, &data, 4, &e);
        return {st, e};
    }
    std::uint64_t stat(const char* counter) {
        stat_map m;
        mmu->stats(m);
        return m.at(std::string("iommu.") + counter);
    }
    vtd::fault_reason last_reason() {
        EXPECT_FALSE(mmu->faults().empty());
        return mmu->faults().empty() ? vtd::fault_reason{} : mmu->faults().back().record.reason;
    }
    static void expect_blocked(const vtd_result& r) {
        EXPECT_EQ(r.status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(r.ext.status, pcie::completion::UR);
        EXPECT_TRUE(r.ext.iommu_fault);
    }
};

} // namespace iotwin::test
