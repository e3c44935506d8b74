// scripted behind a root port: its script runs once the driver sets Bus
// Master Enable; the memory target (where the IOMMU would be) sees what the
// device put on the wire (requester ID, Address Type, origin), and the
// device's result records are read by MMIO, as a debugging port.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "models/devices/scripted.h"
#include "models/pci/pci_bridge.h"
#include "models/pcie/root_complex.h"

#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace sc_core;
using cpu = iotwin::test_support::test_cpu;
namespace cfg = pci::cfg;
using scripted = devices::scripted;
using action = devices::script_action;

struct memory_target : sc_module {
    static constexpr std::uint64_t size = 1 << 20;
    static constexpr std::uint64_t ur_page = 0x80000;
    struct seen {
        std::uint64_t addr; unsigned len; bool write; std::uint16_t rid; pcie::address_type at;
        const sc_object* origin; pcie::request_kind kind; sc_time when;
    };
    tlm_utils::simple_target_socket<memory_target, 32, pcie::protocol_types> in{"in"};
    std::vector<std::uint8_t> ram = std::vector<std::uint8_t>(size);
    std::vector<seen> requests;

    explicit memory_target(sc_module_name n) : sc_module(n) { in.register_b_transport(this, &memory_target::b_transport); }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time& d) {
        auto* ext = gp.get_extension<pcie::pcie_ext>();
        const std::uint64_t a = gp.get_address();
        const unsigned len = gp.get_data_length();
        requests.push_back({a, len, gp.is_write(), ext->requester_id, ext->at, ext->origin, ext->kind, sc_time_stamp() + d});
        d += sc_time(80, SC_NS);
        // As the IOMMU does: a translated request from a device without Device-TLB is blocked.
        if (ext->at != pcie::address_type::untranslated || (a & ~0xfffull) == ur_page || a + len > size) {
            pcie::complete(gp, ext, pcie::completion::UR);
            return;
        }
        if (ext->kind == pcie::request_kind::msi) { pcie::complete(gp, ext, pcie::completion::SC); return; }
        if (gp.is_read()) std::memcpy(gp.get_data_ptr(), ram.data() + a, len);
        else std::memcpy(ram.data() + a, gp.get_data_ptr(), len);
        pcie::complete(gp, ext, pcie::completion::SC);
    }
};

constexpr std::uint64_t bar0 = 0xC0000000;

pci::function_params dev_fn() {
    pci::function_params p;
    p.pcie = pci::port_type::endpoint;
    return p;
}

struct bench {
    pcie::root_complex rc{"rc", pcie::root_complex_params{}};
    pci::pci_bridge rp{"rp", iotwin::test_support::root_port_params(), pci::bridge_params{}};
    scripted dev;
    memory_target mem{"mem"};
    cpu host{"host"};
    const pcie::bdf port{0, 1, 0}, ep{1, 0, 0};

    explicit bench(std::vector<action> script, pci::function_params fn = dev_fn()) : dev("evil", fn, params(std::move(script))) {
        rc.attach(rp);
        rp.attach(dev);
        rc.iommu_out.bind(mem.in);
        host.out.bind(rc.host_in);
        sc_start(SC_ZERO_TIME);
        cfg_write(port, cfg::primary_bus, 4, 0x00010100);
        cfg_write(port, cfg::memory_base, 2, 0xc000);
        cfg_write(port, cfg::memory_limit, 2, 0xc000);
        cfg_write(port, cfg::pref_base, 2, 0xfff0);
        cfg_write(port, cfg::pref_limit, 2, 0x0000);
        cfg_write(port, cfg::command, 2, pci::command_bits::memory_space | pci::command_bits::bus_master);
        cfg_write(ep, cfg::bar0, 4, static_cast<std::uint32_t>(bar0));
        cfg_write(ep, cfg::command, 2, pci::command_bits::memory_space);
    }
    static devices::scripted_params params(std::vector<action> s) {
        devices::scripted_params sp;
        sp.script = std::move(s);
        return sp;
    }
    pcie::completion cfg_write(const pcie::bdf& f, std::uint16_t reg, unsigned len, std::uint32_t v) {
        return host.access(tlm::TLM_WRITE_COMMAND, rc.params().ecam_base + pcie::ecam_offset(f, reg), &v, len);
    }
    void set_master() { cfg_write(ep, cfg::command, 2, pci::command_bits::memory_space | pci::command_bits::bus_master); }
    std::uint64_t reg(std::uint32_t off, unsigned len = 4, pcie::completion* c = nullptr) {
        std::uint64_t v = 0;
        const auto st = host.access(tlm::TLM_READ_COMMAND, bar0 + off, &v, len);
        if (c) *c = st;
        return v;
    }
    std::uint64_t record(std::size_t i, std::uint32_t field, unsigned len = 4) {
        return reg(scripted::RECORDS + static_cast<std::uint32_t>(i) * scripted::RECORD_SIZE + field, len);
    }
};

action write_at(double us, std::uint64_t addr, std::vector<std::uint8_t> data) {
    action a;
    a.what = action::kind::dma_write;
    a.at = sc_time(us, SC_US);
    a.address = addr;
    a.data = std::move(data);
    a.raw = true;
    return a;
}

action read_at(double us, std::uint64_t addr, std::uint64_t len) {
    action a;
    a.what = action::kind::dma_read;
    a.at = sc_time(us, SC_US);
    a.address = addr;
    a.len = len;
    a.raw = true;
    return a;
}

TEST(Scripted, NothingHappensBeforeBusMasterEnable) {
    bench b({write_at(1, 0x1000, {1, 2, 3, 4})});
    EXPECT_EQ(b.reg(scripted::ID), scripted::ID_VALUE);
    EXPECT_EQ(b.reg(scripted::ACTIONS), 1u);
    sc_start(50, SC_US);
    EXPECT_TRUE(b.mem.requests.empty());
    EXPECT_EQ(b.reg(scripted::DONE), 0u);
    EXPECT_EQ(b.record(0, scripted::R_STATE), static_cast<std::uint64_t>(scripted::PENDING));
}

TEST(Scripted, ActionsRunAtTheirTimesAfterBusMasterEnable) {
    bench b({write_at(1, 0x1000, {1, 2, 3, 4}), read_at(5, 0x1000, 4)});
    sc_start(3, SC_US);
    b.set_master();
    const sc_time t0 = sc_time_stamp();
    sc_start(20, SC_US);
    ASSERT_EQ(b.mem.requests.size(), 2u);
    EXPECT_GE(b.mem.requests[0].when - t0, sc_time(1, SC_US));
    EXPECT_LT(b.mem.requests[0].when - t0, sc_time(2, SC_US));
    EXPECT_GE(b.mem.requests[1].when - t0, sc_time(5, SC_US));
    EXPECT_EQ(b.mem.requests[0].origin, &b.dev);
    EXPECT_EQ(b.mem.requests[0].rid, 0x0100);
    EXPECT_EQ(b.mem.ram[0x1003], 4u);
    EXPECT_EQ(b.reg(scripted::DONE), 2u);
    EXPECT_EQ(b.reg(scripted::FAILED), 0u);
    EXPECT_EQ(b.record(0, scripted::R_STATE), static_cast<std::uint64_t>(scripted::ISSUED));
    EXPECT_EQ(b.record(0, scripted::R_BYTES), 4u);
    EXPECT_EQ(b.record(1, scripted::R_DATA, 8), 0x04030201u);
}

TEST(Scripted, ForgedRequesterIdKeepsTheRealOrigin) {
    action a = read_at(1, 0x1000, 8);
    a.requester_id = 0x0200;
    bench b({a, read_at(2, 0x1000, 8)});
    b.set_master();
    sc_start(20, SC_US);
    ASSERT_EQ(b.mem.requests.size(), 2u);
    EXPECT_EQ(b.mem.requests[0].rid, 0x0200);
    EXPECT_EQ(b.mem.requests[0].origin, &b.dev);
    EXPECT_EQ(b.mem.requests[1].rid, 0x0100);  // the forgery lasts one action
}

TEST(Scripted, TranslatedRequestCarriesItsAddressTypeAndFails) {
    action a = read_at(1, 0x1000, 8);
    a.address_type = pcie::address_type::translated;
    action w = write_at(2, 0x2000, std::vector<std::uint8_t>(300, 0x5a));
    w.address_type = pcie::address_type::translated;
    bench b({a, w});
    b.set_master();
    sc_start(20, SC_US);
    ASSERT_GE(b.mem.requests.size(), 2u);
    EXPECT_EQ(b.mem.requests[0].at, pcie::address_type::translated);
    EXPECT_EQ(b.record(0, scripted::R_STATE), static_cast<std::uint64_t>(scripted::ERROR));
    EXPECT_EQ(b.record(0, scripted::R_COMPLETION), 1u);  // UR
    // The write: split at Max Payload Size (128 B), every TLP translated; posted, so issued.
    ASSERT_EQ(b.mem.requests.size(), 1u + 3u);
    for (std::size_t i = 1; i < b.mem.requests.size(); ++i) {
        EXPECT_EQ(b.mem.requests[i].at, pcie::address_type::translated);
        EXPECT_LE(b.mem.requests[i].len, 128u);
    }
    EXPECT_EQ(b.record(1, scripted::R_STATE), static_cast<std::uint64_t>(scripted::ISSUED));
    EXPECT_EQ(b.record(1, scripted::R_BYTES), 300u);
    EXPECT_EQ(b.mem.ram[0x2000], 0u);
}

TEST(Scripted, ReadThatFailsRecordsCompletionAndBytes) {
    bench b({read_at(1, memory_target::ur_page - 16, 32)});
    std::memset(b.mem.ram.data() + memory_target::ur_page - 16, 0x77, 16);
    b.set_master();
    sc_start(20, SC_US);
    EXPECT_EQ(b.record(0, scripted::R_STATE), static_cast<std::uint64_t>(scripted::ERROR));
    EXPECT_EQ(b.record(0, scripted::R_COMPLETION), 1u);
    EXPECT_EQ(b.record(0, scripted::R_BYTES), 16u);
    EXPECT_EQ(b.record(0, scripted::R_DATA, 8), 0x7777777777777777u);
    EXPECT_EQ(b.reg(scripted::FAILED), 1u);
}

TEST(Scripted, RawMessageIsAWriteIntoTheInterruptWindow) {
    action m;
    m.what = action::kind::msi;
    m.at = sc_time(1, SC_US);
    m.raw = true;
    m.address = 0xFEE01000;
    m.msi_data = 0x4041;
    m.requester_id = 0x0300;
    bench b({m});
    b.set_master();
    sc_start(20, SC_US);
    ASSERT_EQ(b.mem.requests.size(), 1u);
    EXPECT_EQ(b.mem.requests[0].kind, pcie::request_kind::msi);
    EXPECT_EQ(b.mem.requests[0].addr, 0xFEE01000u);
    EXPECT_EQ(b.mem.requests[0].rid, 0x0300);
    EXPECT_EQ(b.record(0, scripted::R_STATE), static_cast<std::uint64_t>(scripted::ISSUED));
}

TEST(Scripted, OwnMsiNeedsTheCapabilityEnabled) {
    action m;
    m.what = action::kind::msi;
    m.at = sc_time(1, SC_US);
    bench b({m});
    b.set_master();
    sc_start(20, SC_US);
    EXPECT_TRUE(b.mem.requests.empty());
    EXPECT_EQ(b.record(0, scripted::R_STATE), static_cast<std::uint64_t>(scripted::NOT_ISSUED));
}

action msix_at(double us, unsigned vector) {
    action a;
    a.what = action::kind::msix;
    a.at = sc_time(us, SC_US);
    a.vector = vector;
    return a;
}

// `do: msix` of the function's own capability: refused while MSI-X is
// disabled; sent from the vector's table entry when enabled and unmasked;
// held as the vector's Pending bit while masked and sent on unmask (PCIe 5.0
// 7.7.2.9-10).
TEST(Scripted, OwnMsixFollowsTheTableAndItsMask) {
    pci::function_params fn = dev_fn();
    fn.bars.push_back({1, 0x1000, pci::bar_type::mem32, false});
    fn.msix = pci::function_params::msix_regs{2, 1, 0, 1, 0x800};
    bench b({msix_at(1, 1), msix_at(4, 1), msix_at(5, 0)}, fn);
    constexpr std::uint32_t bar1 = 0xC0010000;
    b.cfg_write(b.ep, cfg::bar0 + 4, 4, bar1);
    const auto cap = b.dev.config().find_capability(pci::cap_id::msix);
    ASSERT_TRUE(cap.has_value());
    auto mmio_write = [&](std::uint64_t off, std::uint32_t v) { return b.host.access(tlm::TLM_WRITE_COMMAND, bar1 + off, &v, 4); };
    auto mmio_read = [&](std::uint64_t off) {
        std::uint32_t v = 0;
        b.host.access(tlm::TLM_READ_COMMAND, bar1 + off, &v, 4);
        return v;
    };
    // Entry 0 programmed but left masked (its reset state), entry 1 unmasked.
    ASSERT_EQ(mmio_write(0x00, 0xFEE01000), pcie::completion::SC);
    mmio_write(0x08, 0x50);
    mmio_write(0x10, 0xFEE02000);
    mmio_write(0x18, 0x51);
    mmio_write(0x1c, 0);
    b.set_master();
    sc_start(2, SC_US);
    EXPECT_TRUE(b.mem.requests.empty());  // MSI-X not enabled yet
    EXPECT_EQ(b.record(0, scripted::R_STATE), static_cast<std::uint64_t>(scripted::NOT_ISSUED));
    b.cfg_write(b.ep, static_cast<std::uint16_t>(*cap + 2), 2, 0x8000);  // MSI-X Enable
    sc_start(10, SC_US);
    ASSERT_EQ(b.mem.requests.size(), 1u);
    EXPECT_EQ(b.mem.requests[0].kind, pcie::request_kind::msi);
    EXPECT_EQ(b.mem.requests[0].addr, 0xFEE02000u);
    EXPECT_EQ(b.record(1, scripted::R_STATE), static_cast<std::uint64_t>(scripted::ISSUED));
    EXPECT_EQ(b.record(2, scripted::R_STATE), static_cast<std::uint64_t>(scripted::NOT_ISSUED));
    EXPECT_EQ(mmio_read(0x800), 1u);  // vector 0 pending
    mmio_write(0x0c, 0);              // unmask it: the message goes out
    sc_start(1, SC_US);
    ASSERT_EQ(b.mem.requests.size(), 2u);
    EXPECT_EQ(b.mem.requests[1].addr, 0xFEE01000u);
    EXPECT_EQ(mmio_read(0x800), 0u);
}

TEST(Scripted, ClearingBusMasterStopsTheScript) {
    bench b({write_at(1, 0x1000, {1}), write_at(10, 0x1000, {2})});
    b.set_master();
    sc_start(5, SC_US);
    b.cfg_write(b.ep, cfg::command, 2, pci::command_bits::memory_space);
    sc_start(20, SC_US);
    EXPECT_EQ(b.mem.requests.size(), 1u);
    EXPECT_EQ(b.record(1, scripted::R_STATE), static_cast<std::uint64_t>(scripted::NOT_ISSUED));
    EXPECT_EQ(b.mem.ram[0x1000], 1u);
}

TEST(Scripted, ResultRegistersAreReadOnlyAndBadAccessesAbort) {
    bench b({});
    pcie::completion c;
    b.reg(scripted::ID, 2, &c);
    EXPECT_EQ(c, pcie::completion::CA);
    b.reg(scripted::ID + 1, 4, &c);
    EXPECT_EQ(c, pcie::completion::CA);
    std::uint32_t v = 0;
    EXPECT_EQ(b.host.access(tlm::TLM_WRITE_COMMAND, bar0 + scripted::ID, &v, 4), pcie::completion::SC);
    EXPECT_EQ(b.reg(scripted::ID), scripted::ID_VALUE);
    EXPECT_EQ(b.reg(0xfff8, 8, &c), 0u);  // past the records
    EXPECT_EQ(c, pcie::completion::SC);
}

} // namespace
