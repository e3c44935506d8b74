// The IOMMU's invalidation queue (VT-d 6.5.2) driven through its sockets:
// software's MMIO on `regs`, descriptors and status writes in RAM reached
// through `mem_out`, devices' requests on `in`. Each test builds the queue and
// the translation tables in memory in the VT-d formats.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>

#include "models/common/payload.h"
#include "models/intc/msi_controller.h"
#include "models/interconnect/router.h"
#include "models/iommu/invalidation_queue.h"
#include "models/iommu/iommu.h"
#include "models/iommu/vtd.h"
#include "models/mem/memory.h"
#include "models/pcie/protocol.h"

namespace iotwin::iommu {
namespace {

using namespace sc_core;
namespace reg = vtd::reg;
namespace entry = vtd::entry;
namespace qi = vtd::qi;

constexpr std::uint64_t MiB = 1ull << 20;
constexpr std::uint64_t ram_size = 64 * MiB;
constexpr std::uint64_t queue_base = 8 * MiB;
constexpr std::uint64_t status_base = 9 * MiB;
constexpr std::uint64_t data_a = 32 * MiB;
constexpr std::uint16_t sid = 0x0100;
constexpr std::uint16_t did = 1;
constexpr std::uint64_t iova = 0x5000;

template <class Protocol>
struct initiator_on : sc_module {
    tlm_utils::simple_initiator_socket<initiator_on, 32, Protocol> socket{"socket"};
    explicit initiator_on(sc_module_name n) : sc_module(n) {}
    tlm::tlm_response_status access(tlm::tlm_command cmd, std::uint64_t addr, void* data, unsigned len, sc_time& d,
                                    pcie::pcie_ext* ext = nullptr) {
        tlm::tlm_generic_payload gp;
        prepare(gp, cmd, addr, data, len);
        if (ext) gp.set_extension(ext);
        socket->b_transport(gp, d);
        if (ext) gp.clear_extension(ext);
        return gp.get_response_status();
    }
};

class invalidation_queue_test : public testing::Test {
protected:
    std::unique_ptr<mem::memory> ram;
    std::unique_ptr<intc::msi_controller> msi;
    std::unique_ptr<interconnect::router> bus;
    std::unique_ptr<iommu> mmu;
    std::unique_ptr<initiator_on<pcie::protocol_types>> dev;
    std::unique_ptr<initiator_on<tlm::tlm_base_protocol_types>> cpu;
    std::vector<intc::interrupt_message> interrupts;
    std::uint64_t next_table_ = 1 * MiB, root_ = 0, pgd_ = 0;
    unsigned tail_ = 0;
    sc_time last_write_delay_;

    explicit invalidation_queue_test(iommu_params p = {}) {
        mem::memory_params mp;
        mp.size = ram_size;
        ram = std::make_unique<mem::memory>("ram", mp);
        msi = std::make_unique<intc::msi_controller>("msi", sc_time(10, SC_NS));
        bus = std::make_unique<interconnect::router>("bus", interconnect::router_params{});
        mmu = std::make_unique<iommu>("iommu", p);
        dev = std::make_unique<initiator_on<pcie::protocol_types>>("dev");
        cpu = std::make_unique<initiator_on<tlm::tlm_base_protocol_types>>("cpu");
        dev->socket.bind(mmu->in);
        cpu->socket.bind(mmu->regs);
        mmu->mem_out.bind(bus->in);
        bus->out.bind(ram->socket);
        bus->out.bind(msi->socket);
        bus->map({"ram", 0, ram_size}, 0);
        bus->map({"msi", pcie::msi_window_base, pcie::msi_window_size}, 1);
        msi->set_sink([this](const intc::interrupt_message& m) { interrupts.push_back(m); });
        sc_start(SC_ZERO_TIME);
    }

    void poke64(std::uint64_t a, std::uint64_t v) {
        std::uint8_t b[8];
        std::memcpy(b, &v, 8);
        ASSERT_TRUE(ram->poke(a, b, 8));
    }
    std::uint64_t peek64(std::uint64_t a) {
        std::uint8_t b[8] = {};
        EXPECT_TRUE(ram->peek(a, b, 8));
        std::uint64_t v = 0;
        std::memcpy(&v, b, 8);
        return v;
    }
    std::uint32_t peek32(std::uint64_t a) { return static_cast<std::uint32_t>(peek64(a)); }

    void write_reg(std::uint32_t off, std::uint64_t v, unsigned len) {
        sc_time d;
        ASSERT_EQ(cpu->access(tlm::TLM_WRITE_COMMAND, off, &v, len, d), tlm::TLM_OK_RESPONSE);
        last_write_delay_ = d;
    }
    std::uint64_t read_reg(std::uint32_t off, unsigned len) {
        std::uint64_t v = 0;
        sc_time d;
        EXPECT_EQ(cpu->access(tlm::TLM_READ_COMMAND, off, &v, len, d), tlm::TLM_OK_RESPONSE);
        return v;
    }
    std::uint64_t alloc_table() {
        const std::uint64_t t = next_table_;
        next_table_ += 4096;
        return t;
    }
    // Translation on with `sid` in domain `did`, and `iova` mapped to data_a.
    void setup(std::uint32_t gcmd_extra = 0) {
        root_ = alloc_table();
        write_reg(reg::RTADDR, root_, 8);
        write_reg(reg::GCMD, vtd::gcmd::SRTP | gcmd_extra, 4);
        write_reg(reg::GCMD, vtd::gcmd::TE | gcmd_extra, 4);
        const std::uint64_t ctp = alloc_table();
        poke64(root_ + (sid >> 8) * 16, ctp | entry::P);
        pgd_ = alloc_table();
        poke64(ctp + (sid & 0xff) * 16 + 8, entry::AW_48BIT | std::uint64_t(did) << 8);
        poke64(ctp + (sid & 0xff) * 16, pgd_ | entry::P);
        std::uint64_t table = pgd_;
        for (int l = 4; l > 1; --l) {
            const std::uint64_t t = alloc_table();
            poke64(table + ((iova >> (12 + 9 * (l - 1))) & 0x1ff) * 8, t | entry::R | entry::W);
            table = t;
        }
        leaf_ = table + ((iova >> 12) & 0x1ff) * 8;
        poke64(leaf_, data_a | entry::R | entry::W);
    }
    std::uint64_t leaf_ = 0;
    // The queue at queue_base (QS = 0: 256 descriptors), enabled.
    void enable_queue() {
        write_reg(reg::IQT, 0, 8);
        write_reg(reg::IQA, queue_base, 8);
        write_reg(reg::GCMD, vtd::gcmd::TE | qi::GCMD_QIE, 4);
        tail_ = 0;
    }
    void put(std::uint64_t lo, std::uint64_t hi) {
        poke64(queue_base + tail_ * 16, lo);
        poke64(queue_base + tail_ * 16 + 8, hi);
        tail_ = (tail_ + 1) % 256;
    }
    void submit() { write_reg(reg::IQT, std::uint64_t(tail_) << 4, 8); }
    static std::uint64_t wait_desc(std::uint32_t data, std::uint64_t extra = qi::WAIT_SW) {
        return std::uint64_t(data) << 32 | extra | qi::TYPE_WAIT;
    }
    static std::uint64_t iotlb_desc(unsigned g, std::uint16_t d) { return std::uint64_t(d) << 16 | std::uint64_t(g) << 4 | qi::TYPE_IOTLB; }

    bool dma_read(std::uint32_t& v) {
        pcie::pcie_ext e;
        e.kind = pcie::request_kind::memory;
        e.requester_id = sid;
        sc_time d;
        return dev->access(tlm::TLM_READ_COMMAND, iova, &v, 4, d, &e) == tlm::TLM_OK_RESPONSE;
    }
    std::uint64_t stat(const char* counter) {
        stat_map m;
        mmu->stats(m);
        return m.at(std::string("iommu.") + counter);
    }
};

TEST_F(invalidation_queue_test, EcapReportsQueuedInvalidationAndQieSetsQies) {
    EXPECT_TRUE(read_reg(reg::ECAP, 8) & qi::ECAP_QI);
    setup();
    EXPECT_FALSE(read_reg(reg::GSTS, 4) & qi::GSTS_QIES);
    enable_queue();
    EXPECT_TRUE(read_reg(reg::GSTS, 4) & qi::GSTS_QIES);
    EXPECT_TRUE(read_reg(reg::GSTS, 4) & vtd::gsts::TES);
    EXPECT_EQ(read_reg(reg::IQH, 8), 0u);
    // IQH is the hardware's: software cannot move it.
    write_reg(reg::IQH, 0x40, 8);
    EXPECT_EQ(read_reg(reg::IQH, 8), 0u);
}

TEST_F(invalidation_queue_test, PageSelectiveDescriptorDropsTheStaleTranslationAndWaitWritesStatus) {
    setup();
    enable_queue();
    std::uint32_t v = 0;
    ASSERT_TRUE(dma_read(v));  // the translation is now in the IOTLB
    poke64(leaf_, 0);          // software unmaps the page
    ASSERT_TRUE(dma_read(v)) << "the IOTLB still holds the translation: the stale window before invalidation";
    put(iotlb_desc(3, did), iova);  // page-selective, AM = 0
    put(wait_desc(2), status_base);
    submit();
    EXPECT_EQ(peek32(status_base), 2u) << "the wait descriptor wrote its status data";
    EXPECT_EQ(read_reg(reg::IQH, 8), 2u << 4) << "the head moved past both descriptors";
    EXPECT_FALSE(dma_read(v)) << "after the invalidation the walk finds the entry gone";
    EXPECT_EQ(stat("queued_descriptors"), 2u);
    EXPECT_EQ(stat("invalidation_waits"), 1u);
}

TEST_F(invalidation_queue_test, PageSelectiveWithAddressMaskSparesPagesOutsideTheBlock) {
    setup();
    enable_queue();
    std::uint32_t v = 0;
    ASSERT_TRUE(dma_read(v));
    poke64(leaf_, 0);
    // AM = 2 covers pages 0x8-0xb; iova is page 5: outside.
    put(iotlb_desc(3, did), 0x8000 | 2);
    put(wait_desc(2), status_base);
    submit();
    EXPECT_TRUE(dma_read(v)) << "a block that does not hold the page leaves it cached";
    put(iotlb_desc(3, did), 0x4000 | 2);  // pages 4-7
    put(wait_desc(2), status_base + 4);
    submit();
    EXPECT_FALSE(dma_read(v));
}

TEST_F(invalidation_queue_test, DomainSelectiveSparesOtherDomains) {
    setup();
    enable_queue();
    std::uint32_t v = 0;
    ASSERT_TRUE(dma_read(v));
    poke64(leaf_, 0);
    put(iotlb_desc(2, did + 1), 0);
    put(wait_desc(2), status_base);
    submit();
    EXPECT_TRUE(dma_read(v)) << "another domain's invalidation leaves this one's translation";
    put(iotlb_desc(2, did), 0);
    put(wait_desc(2), status_base);
    submit();
    EXPECT_FALSE(dma_read(v));
}

TEST_F(invalidation_queue_test, ContextDescriptorDropsTheCachedContext) {
    setup();
    enable_queue();
    std::uint32_t v = 0;
    ASSERT_TRUE(dma_read(v));
    // Detach: the context entry is cleared; cached, it would keep translating.
    const std::uint64_t ctp = peek64(root_ + (sid >> 8) * 16) & entry::ADDR_MASK;
    poke64(ctp + (sid & 0xff) * 16, 0);
    put(std::uint64_t(sid) << 32 | std::uint64_t(did) << 16 | 3ull << 4 | qi::TYPE_CC, 0);  // device-selective
    put(iotlb_desc(2, did), 0);
    put(wait_desc(2), status_base);
    submit();
    EXPECT_FALSE(dma_read(v));
    EXPECT_EQ(mmu->faults().back().record.reason, vtd::fault_reason::context_not_present);
}

TEST_F(invalidation_queue_test, InvalidDescriptorSetsIqeStopsTheQueueAndRaisesTheFaultEvent) {
    setup();
    write_reg(reg::FEADDR, pcie::msi_window_base, 4);
    write_reg(reg::FEDATA, 0x41, 4);
    write_reg(reg::FECTL, 0, 4);
    enable_queue();
    put(iotlb_desc(2, did) | 1ull << 40, 0);  // a reserved bit set
    put(wait_desc(2), status_base);
    submit();
    EXPECT_TRUE(read_reg(reg::FSTS, 4) & qi::FSTS_IQE);
    EXPECT_EQ(read_reg(reg::IQH, 8), 0u) << "IQH points at the invalid descriptor";
    EXPECT_EQ(peek32(status_base), 0u) << "nothing after it ran";
    ASSERT_EQ(interrupts.size(), 1u);
    EXPECT_EQ(interrupts[0].vector, 0x41u);
    // Software replaces the descriptor and clears IQE: the queue resumes.
    poke64(queue_base, iotlb_desc(2, did));
    poke64(queue_base + 8, 0);
    write_reg(reg::FSTS, qi::FSTS_IQE, 4);
    EXPECT_FALSE(read_reg(reg::FSTS, 4) & qi::FSTS_IQE);
    EXPECT_EQ(peek32(status_base), 2u);
    EXPECT_EQ(read_reg(reg::IQH, 8), 2u << 4);
    EXPECT_EQ(stat("invalidation_queue_errors"), 1u);
}

TEST_F(invalidation_queue_test, UnknownDescriptorTypesAreInvalid) {
    setup();
    enable_queue();
    for (const std::uint64_t type : {0ull, 6ull, 7ull, 0xfull}) {
        write_reg(reg::FSTS, qi::FSTS_IQE, 4);
        tail_ = static_cast<unsigned>((read_reg(reg::IQH, 8) >> 4) % 256);
        put(type, 0);
        submit();
        EXPECT_TRUE(read_reg(reg::FSTS, 4) & qi::FSTS_IQE) << "type " << type;
        // Skip it: overwrite with a harmless wait descriptor.
        const std::uint64_t head = read_reg(reg::IQH, 8) >> 4;
        poke64(queue_base + head * 16, wait_desc(0, 0));
        poke64(queue_base + head * 16 + 8, 0);
    }
}

TEST_F(invalidation_queue_test, WaitWithInterruptFlagSetsIwcAndSendsTheCompletionEvent) {
    setup();
    enable_queue();
    write_reg(reg::IEADDR, pcie::msi_window_base, 4);
    write_reg(reg::IEDATA, 0x52, 4);
    // Masked (the reset state): IWC and IP set, no message.
    put(wait_desc(0, qi::WAIT_IF), 0);
    submit();
    EXPECT_EQ(read_reg(reg::ICS, 4) & qi::ICS_IWC, qi::ICS_IWC);
    EXPECT_TRUE(read_reg(reg::IECTL, 4) & qi::IECTL_IP);
    EXPECT_TRUE(interrupts.empty());
    // Unmasking sends the pending message and clears IP.
    write_reg(reg::IECTL, 0, 4);
    ASSERT_EQ(interrupts.size(), 1u);
    EXPECT_EQ(interrupts[0].vector, 0x52u);
    EXPECT_FALSE(read_reg(reg::IECTL, 4) & qi::IECTL_IP);
    // IWC is write-1-to-clear.
    write_reg(reg::ICS, qi::ICS_IWC, 4);
    EXPECT_EQ(read_reg(reg::ICS, 4), 0u);
    put(wait_desc(0, qi::WAIT_IF), 0);
    submit();
    EXPECT_EQ(interrupts.size(), 2u) << "unmasked: the message goes at once";
}

TEST_F(invalidation_queue_test, RegisterInvalidationIsIgnoredWhileTheQueueIsEnabled) {
    setup();
    enable_queue();
    std::uint32_t v = 0;
    ASSERT_TRUE(dma_read(v));
    poke64(leaf_, 0);
    write_reg(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 1ull << vtd::iotlb_cmd::IIRG_SHIFT, 8);
    EXPECT_FALSE(read_reg(reg::IOTLB_BASE + 8, 8) & vtd::iotlb_cmd::IVT);
    EXPECT_TRUE(dma_read(v)) << "the register command was not carried out";
    EXPECT_EQ(stat("register_invalidations_ignored"), 1u);
}

TEST_F(invalidation_queue_test, DescriptorFetchesAndStatusWriteAreTimed) {
    setup();
    enable_queue();
    put(iotlb_desc(1, 0), 0);
    put(wait_desc(2), status_base);
    submit();
    const sc_time with_two = last_write_delay_;
    put(wait_desc(2), status_base);
    submit();
    const sc_time with_wait = last_write_delay_;
    EXPECT_GT(with_two, with_wait + mmu->params().invalidation_latency - sc_time(1, SC_PS))
        << "an invalidation descriptor costs the hardware's latency besides its fetch";
    EXPECT_GT(with_wait, mmu->params().lookup_latency) << "the fetch and the status write take memory time";
}

TEST_F(invalidation_queue_test, TailBeyondTheQueueIsAnError) {
    setup();
    enable_queue();
    write_reg(reg::IQT, 0x7fff0, 8);  // index 0x7fff, beyond 256 entries
    EXPECT_TRUE(read_reg(reg::FSTS, 4) & qi::FSTS_IQE);
    EXPECT_EQ(read_reg(reg::IQH, 8), 0u);
}

class no_queue_test : public invalidation_queue_test {
protected:
    static iommu_params without_qi() {
        iommu_params p;
        p.queued_invalidation = false;
        return p;
    }
    no_queue_test() : invalidation_queue_test(without_qi()) {}
};

TEST_F(no_queue_test, WithoutQiTheQueueCannotBeEnabled) {
    EXPECT_FALSE(read_reg(reg::ECAP, 8) & qi::ECAP_QI);
    setup();
    enable_queue();
    EXPECT_FALSE(read_reg(reg::GSTS, 4) & qi::GSTS_QIES);
    std::uint32_t v = 0;
    ASSERT_TRUE(dma_read(v));
    poke64(leaf_, 0);
    write_reg(reg::IOTLB_BASE + 8, vtd::iotlb_cmd::IVT | 1ull << vtd::iotlb_cmd::IIRG_SHIFT, 8);
    EXPECT_FALSE(dma_read(v)) << "register-based invalidation works";
}

} // namespace
} // namespace iotwin::iommu
