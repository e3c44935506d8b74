// pci_bridge routing and ACS through real sockets, on a platform built and
// booted from a description made in code (platform::build_platform +
// boot_platform: bus numbers, BARs and windows as firmware programs them, the
// IOMMU on with empty IO page tables, every function with dom0). The fabric:
//
//   00:01.0 rp1 (root port, ACS: all seven bits implemented)
//     01:00.0 usp (switch upstream port)
//       02:00.0 dsp0 (downstream port, ACS all) -- 03:00.0 ep0
//       02:01.0 dsp1 (downstream port, ACS all) -- 04:00.0 ep1
//   00:02.0 rp2 (root port, ACS all)
//     05:00.0 br (PCIe-to-PCI bridge) -- 06:01.0 pci_a, 06:02.0 pci_b (conventional)
//   00:03.0 pcib (conventional PCI bridge on the root bus) -- 07:00.0 pci_c
//   00:04.0 rp3 (root port, ACS all) -- 08:00.0 mf0, 08:00.1 mf1 (one device, ACS all)
//   00:05.0 rp4 (root port, ACS all) -- 09:00.0 pf (SR-IOV: VFs at 09:10.0, 09:10.2)
//   00:1f.0 rc0, 00:1f.1 rc1 (a multi-function RCiEP, ACS all)
//
// ACS Control starts as Linux leaves it (SV RR CR UF where implemented); each
// test writes the control bits it is about through ECAM, as software would.
// Requests are issued with pci_function::dma, or built by hand (spoofed
// requester IDs, translated addresses) and sent into the function's pcie_out.
// Where a request ended is read from its pcie_ext (status, passed_iommu,
// iommu_fault), the IOMMU's fault events, the target's BAR observer and the
// bridges' counters.
//
// An ACS Violation (SV, TB, EC) completes with Completer Abort; a request a
// bridge does not route (no UF, Bus Master Enable clear) with Unsupported Request.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/common/payload.h"
#include "models/pci/virtual_function.h"
#include "platform/address_map.h"
#include "platform/boot.h"
#include "platform/builder.h"

#include "tests/support/test_fabric.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;
using namespace sc_core;
namespace cfg = pci::cfg;
namespace am = address_map;
using pci::acs_bits::SV;
using pci::acs_bits::TB;
using pci::acs_bits::RR;
using pci::acs_bits::CR;
using pci::acs_bits::UF;
using pci::acs_bits::EC;
using pci::acs_bits::DT;

constexpr std::uint64_t KiB = 1ull << 10, MiB = 1ull << 20, GiB = 1ull << 30;
constexpr std::uint16_t linux_default = SV | RR | CR | UF;
// A RAM address no IO page table maps (every domain's table starts empty).
constexpr std::uint64_t ram = 0x200000;

// ---- the fabric ------------------------------------------------------------------

const auto node = iotwin::test_support::make_node;

pcie_node with_acs(pcie_node n) {
    n.has_acs = true;
    n.acs = {"SV", "TB", "RR", "CR", "UF", "EC", "DT"};
    return n;
}

pcie_node ram_function(const std::string& id, node_type t, std::uint8_t dev, std::uint8_t fn) {
    pcie_node n = node(id, t, dev, fn);
    n.model = "bar_ram";
    n.bars = {{0, 16 * KiB, pci::bar_type::mem32, false}};
    return n;
}

scenario fabric() {
    scenario s;
    s.name = "pci-bridge-test";
    s.platform.memory = 1 * GiB;

    pcie_node rp1 = with_acs(node("rp1", node_type::root_port, 1, 0));
    pcie_node usp = node("usp", node_type::upstream_port, 0, 0);
    pcie_node dsp0 = with_acs(node("dsp0", node_type::downstream_port, 0, 0));
    dsp0.children.push_back(ram_function("ep0", node_type::endpoint, 0, 0));
    pcie_node dsp1 = with_acs(node("dsp1", node_type::downstream_port, 1, 0));
    dsp1.children.push_back(ram_function("ep1", node_type::endpoint, 0, 0));
    usp.children = {dsp0, dsp1};
    rp1.children.push_back(usp);

    pcie_node rp2 = with_acs(node("rp2", node_type::root_port, 2, 0));
    pcie_node br = node("br", node_type::pcie_pci_bridge, 0, 0);
    br.children = {ram_function("pci_a", node_type::pci_device, 1, 0), ram_function("pci_b", node_type::pci_device, 2, 0)};
    rp2.children.push_back(br);

    pcie_node pcib = node("pcib", node_type::pci_bridge, 3, 0);
    pcib.children.push_back(ram_function("pci_c", node_type::pci_device, 0, 0));

    pcie_node rp3 = with_acs(node("rp3", node_type::root_port, 4, 0));
    rp3.children = {with_acs(ram_function("mf0", node_type::endpoint, 0, 0)),
                    with_acs(ram_function("mf1", node_type::endpoint, 0, 1))};

    pcie_node rp4 = with_acs(node("rp4", node_type::root_port, 5, 0));
    pcie_node pf = ram_function("pf", node_type::endpoint, 0, 0);
    sriov_spec sv;
    sv.total_vfs = 4;
    sv.num_vfs = 2;
    sv.first_vf_offset = 0x80;
    sv.vf_stride = 2;
    sv.vf_device = 0x10ed;
    pf.sriov = sv;
    rp4.children.push_back(pf);

    s.platform.pcie = {rp1, rp2, pcib, rp3, rp4, with_acs(ram_function("rc0", node_type::rciep, 0x1f, 0)),
                       with_acs(ram_function("rc1", node_type::rciep, 0x1f, 1))};
    domain_desc dom0;
    dom0.name = "dom0";
    dom0.privileged = true;
    dom0.memory = 256 * MiB;
    s.domains = {dom0};
    return s;
}

pcie_node* find_node(std::vector<pcie_node>& nodes, const std::string& id) {
    for (pcie_node& n : nodes) {
        if (n.id == id) return &n;
        if (pcie_node* c = find_node(n.children, id)) return c;
    }
    return nullptr;
}

// What became of one request.
struct outcome {
    pcie::completion status = pcie::completion::SC;
    bool passed_iommu = false;
    bool iommu_fault = false;
    bool operator==(const outcome& o) const {
        return status == o.status && passed_iommu == o.passed_iommu && iommu_fault == o.iommu_fault;
    }
};

std::ostream& operator<<(std::ostream& os, const outcome& o) {
    return os << "{" << pcie::to_string(o.status) << ", passed_iommu=" << o.passed_iommu << ", iommu_fault=" << o.iommu_fault << "}";
}

// Every memory request a function's BARs completed.
struct bar_log {
    struct hit {
        std::uint16_t rid;
        bool host, passed_iommu;
        pcie::address_type at;
        std::uint64_t addr;
    };
    std::vector<hit> hits;
    void watch(pci::pci_function& f) {
        f.set_bar_observer([this](const pci::pci_function&, const tlm::tlm_generic_payload& gp) {
            const auto* x = gp.get_extension<pcie::pcie_ext>();
            ASSERT_NE(x, nullptr);
            hits.push_back({x->requester_id, x->host, x->passed_iommu, x->at, gp.get_address()});
        });
    }
    // Requests from devices (not CPU MMIO).
    std::size_t from_devices() const {
        std::size_t n = 0;
        for (const hit& h : hits) n += !h.host;
        return n;
    }
};

struct twin {
    scenario s;
    std::unique_ptr<platform_instance> pi;
    std::map<std::string, enumerated_function> e;
    stat_map at_boot;  // the counters after boot (enumeration probes absent functions: URs)

    explicit twin(scenario sc = fabric()) : s(std::move(sc)), pi(build_platform(s)) {
        // Multi-passthrough sockets resolve their bindings at elaboration.
        sc_start(SC_ZERO_TIME);
        sc_time d = SC_ZERO_TIME;
        e = boot_platform(s, *pi, d);
        pi->stats(at_boot);
    }

    pci::pci_function& fn(const std::string& id) const { return *pi->by_id.at(id); }
    pcie::bdf bdf(const std::string& id) const { return fn(id).bdf(); }
    std::uint16_t rid(const std::string& id) const { return bdf(id).rid(); }

    pcie::completion cfg_write(const pcie::bdf& f, std::uint32_t reg, unsigned len, std::uint32_t v) {
        sc_time d = SC_ZERO_TIME;
        return pi->hypervisor->machine_access(tlm::TLM_WRITE_COMMAND, am::ecam_base + pcie::ecam_offset(f, static_cast<std::uint16_t>(reg)),
                                              reinterpret_cast<std::uint8_t*>(&v), len, d);
    }
    std::uint32_t cfg_read(const pcie::bdf& f, std::uint32_t reg, unsigned len, pcie::completion* c = nullptr) {
        std::uint32_t v = 0;
        sc_time d = SC_ZERO_TIME;
        const auto st = pi->hypervisor->machine_access(tlm::TLM_READ_COMMAND, am::ecam_base + pcie::ecam_offset(f, static_cast<std::uint16_t>(reg)),
                                                       reinterpret_cast<std::uint8_t*>(&v), len, d);
        if (c) *c = st;
        return len == 4 ? v : v & ((1u << (8 * len)) - 1);
    }
    // Writes ACS Control of `id` through ECAM; returns what reads back.
    std::uint16_t acs(const std::string& id, std::uint16_t bits) {
        const auto cap = fn(id).config().find_ext_capability(pci::ext_cap_id::acs);
        EXPECT_TRUE(cap.has_value()) << id;
        if (!cap) return 0;
        EXPECT_EQ(cfg_write(bdf(id), *cap + 6, 2, bits), pcie::completion::SC) << id;
        const auto v = static_cast<std::uint16_t>(cfg_read(bdf(id), *cap + 6, 2));
        EXPECT_EQ(v, bits) << id << ": ACS Control does not hold what was written";
        EXPECT_EQ(fn(id).acs_control(), bits) << id;
        return v;
    }
    void command(const std::string& id, std::uint16_t bits) {
        EXPECT_EQ(cfg_write(bdf(id), cfg::command, 2, bits), pcie::completion::SC) << id;
        EXPECT_EQ(fn(id).config().command(), bits) << id;
    }
    // What a driver does: decoding on, bus mastering on.
    void master(const std::string& id) { command(id, pci::command_bits::memory_space | pci::command_bits::bus_master); }

    std::uint64_t bar0(const std::string& id) const {
        for (const auto& b : e.at(id).bars)
            if (b.index == 0) return b.base;
        ADD_FAILURE() << id << " has no BAR0";
        return 0;
    }
    std::uint64_t mmio_read64(std::uint64_t a) {
        std::uint64_t v = 0;
        sc_time d = SC_ZERO_TIME;
        EXPECT_EQ(pi->hypervisor->machine_access(tlm::TLM_READ_COMMAND, a, reinterpret_cast<std::uint8_t*>(&v), 8, d), pcie::completion::SC);
        return v;
    }
    pcie::completion mmio_write64(std::uint64_t a, std::uint64_t v) {
        sc_time d = SC_ZERO_TIME;
        return pi->hypervisor->machine_access(tlm::TLM_WRITE_COMMAND, a, reinterpret_cast<std::uint8_t*>(&v), 8, d);
    }

    pci::pci_function::dma_result dma(const std::string& id, tlm::tlm_command cmd, std::uint64_t a, std::uint64_t value = 0x1122334455667788) {
        std::uint8_t buf[8];
        std::memcpy(buf, &value, 8);
        sc_time d = SC_ZERO_TIME;
        return fn(id).dma(cmd, a, buf, sizeof buf, d);
    }
    // A request the function builds itself: any requester ID, any address type.
    outcome request(const std::string& from, tlm::tlm_command cmd, std::uint64_t a, std::uint16_t rid,
                    pcie::address_type at = pcie::address_type::untranslated, std::uint64_t value = 0xa5a5a5a5a5a5a5a5) {
        std::uint8_t buf[8];
        std::memcpy(buf, &value, 8);
        pcie::pcie_ext ext;
        ext.requester_id = rid;
        ext.at = at;
        tlm::tlm_generic_payload gp;
        prepare(gp, cmd, a, buf, sizeof buf);
        gp.set_extension(&ext);
        sc_time d = SC_ZERO_TIME;
        fn(from).pcie_out->b_transport(gp, d);
        gp.clear_extension(&ext);
        EXPECT_EQ(gp.is_response_ok(), ext.status == pcie::completion::SC);
        return {ext.status, ext.passed_iommu, ext.iommu_fault};
    }
    outcome write(const std::string& from, std::uint64_t a, pcie::address_type at = pcie::address_type::untranslated) {
        return request(from, tlm::TLM_WRITE_COMMAND, a, rid(from), at);
    }

    // How much counter `name` grew since boot.
    std::uint64_t stat(const std::string& name) const {
        stat_map m;
        pi->stats(m);
        const auto it = m.find(name);
        EXPECT_NE(it, m.end()) << name;
        return it == m.end() ? 0 : it->second - at_boot.at(name);
    }
    std::size_t faults() const { return pi->iommu->faults().size(); }
    std::uint16_t last_fault_sid() const {
        EXPECT_FALSE(pi->iommu->faults().empty());
        return pi->iommu->faults().empty() ? 0xffff : pi->iommu->faults().back().record.sid;
    }
    void map_dom0(std::uint64_t iova, std::uint64_t size) {
        sc_time d = SC_ZERO_TIME;
        ASSERT_EQ(pi->hypervisor->iommu_map(pi->hypervisor->find("dom0")->id, iova, iova, size, true, true, d), 0);
    }
};

const outcome ur_at_fabric{pcie::completion::UR, false, false};      // refused before the IOMMU
const outcome acs_violation{pcie::completion::CA, false, false};     // an ACS Violation at a port
const outcome iommu_fault{pcie::completion::UR, true, true};         // reached the IOMMU, blocked there
const outcome delivered_direct{pcie::completion::SC, false, false};  // completed without the IOMMU

// ---- the fabric is what the tests assume --------------------------------------------

TEST(PciBridge, FabricIsNumberedAsDescribed) {
    twin t;
    const std::map<std::string, pcie::bdf> expect = {
        {"rp1", {0, 1, 0}},   {"usp", {1, 0, 0}},   {"dsp0", {2, 0, 0}},   {"ep0", {3, 0, 0}},   {"dsp1", {2, 1, 0}},
        {"ep1", {4, 0, 0}},   {"rp2", {0, 2, 0}},   {"br", {5, 0, 0}},     {"pci_a", {6, 1, 0}}, {"pci_b", {6, 2, 0}},
        {"pcib", {0, 3, 0}},  {"pci_c", {7, 0, 0}}, {"rp3", {0, 4, 0}},    {"mf0", {8, 0, 0}},   {"mf1", {8, 0, 1}},
        {"rp4", {0, 5, 0}},   {"pf", {9, 0, 0}},    {"pf-vf0", {9, 0x10, 0}}, {"pf-vf1", {9, 0x10, 2}},
        {"rc0", {0, 0x1f, 0}}, {"rc1", {0, 0x1f, 1}},
    };
    for (const auto& [id, b] : expect) EXPECT_EQ(t.bdf(id).str(), b.str()) << id;
    EXPECT_EQ(t.fn("rp1").acs_control(), linux_default);
    EXPECT_EQ(t.faults(), 0u);
}

// ---- Source Validation ----------------------------------------------------------------

TEST(PciBridge, SourceValidationAtADownstreamPortRefusesARequesterIdNotBelowIt) {
    twin t;
    t.acs("rp1", 0);
    t.acs("dsp0", SV);
    // ep0 (03:00.0) claims to be ep1 (04:00.0): bus 4 is not below dsp0.
    EXPECT_EQ(t.request("ep0", tlm::TLM_WRITE_COMMAND, ram, t.rid("ep1")), acs_violation);
    EXPECT_EQ(t.request("ep0", tlm::TLM_READ_COMMAND, ram, t.rid("ep1")), acs_violation);
    EXPECT_EQ(t.stat("dsp0.acs_blocked"), 2u);
    EXPECT_EQ(t.faults(), 0u);
    // Its own requester ID passes and reaches the IOMMU (which has no mapping).
    EXPECT_EQ(t.write("ep0", ram), iommu_fault);
    EXPECT_EQ(t.last_fault_sid(), t.rid("ep0"));
    // Without SV the spoofed ID goes through, to the IOMMU, under ep1's name.
    t.acs("dsp0", 0);
    EXPECT_EQ(t.request("ep0", tlm::TLM_WRITE_COMMAND, ram, t.rid("ep1")), iommu_fault);
    EXPECT_EQ(t.last_fault_sid(), t.rid("ep1"));
    EXPECT_EQ(t.stat("dsp0.acs_blocked"), 2u);
}

TEST(PciBridge, SourceValidationAtARootPortRefusesARequesterIdNotBelowIt) {
    twin t;
    t.acs("dsp0", 0);
    t.acs("rp1", SV);
    const std::uint16_t rc0 = t.rid("rc0");  // 00:1f.0: bus 0 is not below rp1
    EXPECT_EQ(t.request("ep0", tlm::TLM_WRITE_COMMAND, ram, rc0), acs_violation);
    EXPECT_EQ(t.stat("rp1.acs_blocked"), 1u);
    EXPECT_EQ(t.faults(), 0u);
    // Bus 4 (ep1) is below rp1: the root port cannot tell the spoof.
    EXPECT_EQ(t.request("ep0", tlm::TLM_WRITE_COMMAND, ram, t.rid("ep1")), iommu_fault);
    EXPECT_EQ(t.last_fault_sid(), t.rid("ep1"));
    t.acs("rp1", 0);
    EXPECT_EQ(t.request("ep0", tlm::TLM_WRITE_COMMAND, ram, rc0), iommu_fault);
    EXPECT_EQ(t.last_fault_sid(), rc0);
    EXPECT_EQ(t.stat("rp1.acs_blocked"), 1u);
}

// ---- Translation Blocking -----------------------------------------------------------------

TEST(PciBridge, TranslationBlockingAtADownstreamPortRefusesTranslatedRequests) {
    twin t;
    t.acs("rp1", 0);
    t.acs("dsp0", TB);
    EXPECT_EQ(t.write("ep0", ram, pcie::address_type::translated), acs_violation);
    EXPECT_EQ(t.stat("dsp0.acs_blocked"), 1u);
    EXPECT_EQ(t.faults(), 0u);
    // Untranslated requests are not TB's business.
    EXPECT_EQ(t.write("ep0", ram), iommu_fault);
    // Without TB the translated request reaches the IOMMU, which blocks it (no ATS).
    t.acs("dsp0", 0);
    EXPECT_EQ(t.write("ep0", ram, pcie::address_type::translated), iommu_fault);
    EXPECT_EQ(t.pi->iommu->faults().back().record.reason, vtd::fault_reason::translation_type_blocked);
    EXPECT_EQ(t.stat("dsp0.acs_blocked"), 1u);
}

TEST(PciBridge, TranslationBlockingAtARootPortRefusesTranslatedRequests) {
    twin t;
    t.acs("dsp0", 0);
    t.acs("rp1", TB);
    EXPECT_EQ(t.write("ep0", ram, pcie::address_type::translated), acs_violation);
    EXPECT_EQ(t.stat("rp1.acs_blocked"), 1u);
    EXPECT_EQ(t.faults(), 0u);
    t.acs("rp1", 0);
    EXPECT_EQ(t.write("ep0", ram, pcie::address_type::translated), iommu_fault);
}

// ---- P2P Request Redirect on a switch downstream port --------------------------------------

TEST(PciBridge, WithoutRequestRedirectPeerRequestsCrossTheSwitchDirectly) {
    twin t;
    t.acs("dsp0", 0);
    t.master("ep0");
    bar_log ep1;
    ep1.watch(t.fn("ep1"));
    const std::uint64_t target = t.bar0("ep1") + 0x100;
    const auto r = t.dma("ep0", tlm::TLM_WRITE_COMMAND, target, 0x5345435245543432);
    EXPECT_TRUE(r.issued);
    EXPECT_EQ(r.status, pcie::completion::SC);
    EXPECT_FALSE(r.iommu_fault);
    ASSERT_EQ(ep1.from_devices(), 1u);
    EXPECT_FALSE(ep1.hits[0].passed_iommu);
    EXPECT_EQ(ep1.hits[0].rid, t.rid("ep0"));
    EXPECT_EQ(ep1.hits[0].addr, target);
    EXPECT_EQ(t.faults(), 0u);
    EXPECT_EQ(t.stat("usp.peer_to_peer"), 1u);
    EXPECT_EQ(t.stat("rp1.forwarded_up"), 0u);
    EXPECT_EQ(t.stat("root_complex.upstream_requests"), 0u);
    // The data is in ep1's BAR; a read takes it back the same way.
    EXPECT_EQ(t.mmio_read64(target), 0x5345435245543432u);
    EXPECT_EQ(t.write("ep0", target + 8), delivered_direct);
}

TEST(PciBridge, RequestRedirectSendsPeerRequestsUpToTheIommu) {
    twin t;
    t.acs("rp1", linux_default);  // with UF
    t.acs("dsp0", RR);
    t.master("ep0");
    bar_log ep1;
    ep1.watch(t.fn("ep1"));
    const std::uint64_t target = t.bar0("ep1") + 0x100;
    EXPECT_EQ(t.write("ep0", target), iommu_fault);  // nothing maps that IOVA for dom0
    EXPECT_EQ(t.last_fault_sid(), t.rid("ep0"));
    EXPECT_EQ(t.pi->iommu->faults().back().record.address & ~0xfffull, target & ~0xfffull);
    const auto r = t.dma("ep0", tlm::TLM_READ_COMMAND, target);
    EXPECT_TRUE(r.issued);
    EXPECT_EQ(r.status, pcie::completion::UR);
    EXPECT_TRUE(r.iommu_fault);
    EXPECT_EQ(ep1.from_devices(), 0u);
    EXPECT_EQ(t.stat("usp.acs_redirected"), 2u);
    EXPECT_EQ(t.stat("usp.peer_to_peer"), 0u);
    EXPECT_EQ(t.mmio_read64(target), 0u);  // never written
}

// ---- Upstream Forwarding ------------------------------------------------------------------

TEST(PciBridge, RedirectedRequestLeavesTheRootPortOnlyWithUpstreamForwarding) {
    twin t;
    t.acs("dsp0", RR);
    t.acs("rp1", SV | RR | CR);  // no UF
    bar_log ep1;
    ep1.watch(t.fn("ep1"));
    const std::uint64_t target = t.bar0("ep1");
    EXPECT_EQ(t.write("ep0", target), ur_at_fabric);
    EXPECT_EQ(t.stat("rp1.unsupported_requests"), 1u);
    EXPECT_EQ(t.stat("root_complex.upstream_requests"), 0u);
    EXPECT_EQ(t.faults(), 0u);
    t.acs("rp1", SV | RR | CR | UF);
    EXPECT_EQ(t.write("ep0", target), iommu_fault);
    EXPECT_EQ(t.stat("root_complex.upstream_requests"), 1u);
    EXPECT_EQ(ep1.from_devices(), 0u);
    // UF only matters for addresses inside the port's window: DMA to RAM passes either way.
    t.acs("rp1", 0);
    EXPECT_EQ(t.write("ep0", ram), iommu_fault);
}

// ---- Egress Control ---------------------------------------------------------------------

TEST(PciBridge, EgressControlWithoutRedirectBlocksPeerRequests) {
    twin t;
    t.acs("dsp0", EC);
    t.master("ep0");
    bar_log ep1;
    ep1.watch(t.fn("ep1"));
    const std::uint64_t target = t.bar0("ep1");
    EXPECT_EQ(t.write("ep0", target), acs_violation);
    const auto r = t.dma("ep0", tlm::TLM_READ_COMMAND, target);
    EXPECT_EQ(r.status, pcie::completion::CA);
    EXPECT_FALSE(r.iommu_fault);
    EXPECT_EQ(ep1.from_devices(), 0u);
    EXPECT_EQ(t.mmio_read64(target), 0u);
    EXPECT_EQ(t.stat("usp.acs_blocked"), 2u);
    EXPECT_EQ(t.stat("root_complex.upstream_requests"), 0u);
    EXPECT_EQ(t.faults(), 0u);
    // Requests to memory are no peer requests: EC leaves them alone.
    EXPECT_EQ(t.write("ep0", ram), iommu_fault);
    // With RR as well, the blocked request is redirected instead.
    t.acs("dsp0", EC | RR);
    EXPECT_EQ(t.write("ep0", target), iommu_fault);
    EXPECT_EQ(ep1.from_devices(), 0u);
}

// ---- Direct Translated P2P ---------------------------------------------------------------

TEST(PciBridge, DirectTranslatedSendsTranslatedPeerRequestsStraightAcross) {
    twin t;
    t.acs("dsp0", RR | DT);
    bar_log ep1;
    ep1.watch(t.fn("ep1"));
    const std::uint64_t target = t.bar0("ep1") + 0x40;
    EXPECT_EQ(t.write("ep0", target, pcie::address_type::translated), delivered_direct);
    ASSERT_EQ(ep1.from_devices(), 1u);
    EXPECT_EQ(ep1.hits[0].at, pcie::address_type::translated);
    EXPECT_FALSE(ep1.hits[0].passed_iommu);
    EXPECT_EQ(t.mmio_read64(target), 0xa5a5a5a5a5a5a5a5u);
    // Untranslated peer requests are still redirected.
    EXPECT_EQ(t.write("ep0", target + 8), iommu_fault);
    // Without DT the translated request is redirected too (and the IOMMU blocks it: no ATS).
    t.acs("dsp0", RR);
    EXPECT_EQ(t.write("ep0", target, pcie::address_type::translated), iommu_fault);
    EXPECT_EQ(t.pi->iommu->faults().back().record.reason, vtd::fault_reason::translation_type_blocked);
    // DT also lets translated requests past Egress Control.
    t.acs("dsp0", EC | DT);
    EXPECT_EQ(t.write("ep0", target, pcie::address_type::translated), delivered_direct);
    EXPECT_EQ(t.write("ep0", target), acs_violation);
    EXPECT_EQ(ep1.from_devices(), 2u);
}

// ---- Completion Redirect --------------------------------------------------------------------

// CR redirects peer-to-peer *completions* upstream. This model has no
// completion TLPs: a request's completion returns with its b_transport, along
// the path the request took, so CR can have no observable effect. Setting it
// on the ports changes nothing below.
TEST(PciBridge, CompletionRedirectChangesNothing) {
    twin t;
    t.master("ep0");
    t.map_dom0(ram, 4096);
    bar_log ep1;
    ep1.watch(t.fn("ep1"));
    const std::uint64_t peer = t.bar0("ep1");
    // One round of requests under several ACS settings; for each request, what
    // became of it, whether the peer saw it and whether the IOMMU faulted.
    struct step {
        outcome o;
        std::size_t peer_hits, faults;
        bool operator==(const step& x) const { return o == x.o && peer_hits == x.peer_hits && faults == x.faults; }
    };
    auto run = [&](std::uint16_t cr) {
        std::vector<step> out;
        auto record = [&](const outcome& o, std::size_t hits0, std::size_t faults0) {
            out.push_back({o, ep1.from_devices() - hits0, t.faults() - faults0});
        };
        for (const std::uint16_t dsp0 : {std::uint16_t(0), RR, SV, EC, std::uint16_t(RR | DT)}) {
            t.acs("dsp0", static_cast<std::uint16_t>(dsp0 | cr));
            t.acs("rp1", static_cast<std::uint16_t>(SV | RR | UF | cr));
            std::size_t h = ep1.from_devices(), f = t.faults();
            const auto w = t.dma("ep0", tlm::TLM_WRITE_COMMAND, ram + 8, 0x0123456789abcdef);
            record({w.status, false, w.iommu_fault}, h, f);
            std::uint8_t back[8] = {};
            sc_time d = SC_ZERO_TIME;
            h = ep1.from_devices(), f = t.faults();
            const auto rd = t.fn("ep0").dma(tlm::TLM_READ_COMMAND, ram + 8, back, 8, d);
            record({rd.status, false, rd.iommu_fault}, h, f);
            std::uint64_t v;
            std::memcpy(&v, back, 8);
            EXPECT_EQ(v, 0x0123456789abcdefu);
            h = ep1.from_devices(), f = t.faults();
            record(t.write("ep0", peer), h, f);
            h = ep1.from_devices(), f = t.faults();
            record(t.request("ep0", tlm::TLM_READ_COMMAND, peer, t.rid("ep0")), h, f);
            h = ep1.from_devices(), f = t.faults();
            record(t.write("ep0", peer, pcie::address_type::translated), h, f);
            h = ep1.from_devices(), f = t.faults();
            record(t.request("ep0", tlm::TLM_WRITE_COMMAND, ram, t.rid("ep1")), h, f);
        }
        return out;
    };
    const std::vector<step> without = run(0);
    const std::vector<step> with = run(CR);
    EXPECT_EQ(t.fn("dsp0").acs_control() & CR, CR);  // CR really is set
    EXPECT_EQ(t.fn("rp1").acs_control() & CR, CR);
    ASSERT_EQ(with.size(), without.size());
    std::size_t peer_hits = 0, faults = 0;
    for (std::size_t i = 0; i < with.size(); ++i) {
        EXPECT_TRUE(with[i] == without[i]) << "request " << i << ": with CR " << with[i].o << " (peer " << with[i].peer_hits
                                           << ", faults " << with[i].faults << "), without " << without[i].o << " (peer "
                                           << without[i].peer_hits << ", faults " << without[i].faults << ")";
        peer_hits += without[i].peer_hits;
        faults += without[i].faults;
    }
    // The rounds did exercise both the direct peer path and the IOMMU.
    EXPECT_GT(peer_hits, 0u);
    EXPECT_GT(faults, 0u);
}

// ---- Bus Master Enable on ports -----------------------------------------------------------------

TEST(PciBridge, DownstreamPortWithoutBusMasterEnableRefusesUpstreamRequests) {
    twin t;
    t.master("ep0");
    t.acs("dsp0", 0);
    t.command("dsp0", pci::command_bits::memory_space);
    bar_log ep1;
    ep1.watch(t.fn("ep1"));
    const auto r = t.dma("ep0", tlm::TLM_WRITE_COMMAND, ram);
    EXPECT_TRUE(r.issued);
    EXPECT_TRUE(r.posted);  // nothing returns: the port logs the Unsupported Request
    EXPECT_EQ(r.status, pcie::completion::SC);
    EXPECT_FALSE(r.iommu_fault);
    // A peer request enters the switch through dsp0's downstream side too.
    EXPECT_EQ(t.write("ep0", t.bar0("ep1")), ur_at_fabric);
    EXPECT_EQ(ep1.from_devices(), 0u);
    EXPECT_EQ(t.stat("dsp0.unsupported_requests"), 2u);
    EXPECT_EQ(t.stat("dsp0.errors_logged"), 2u);
    EXPECT_EQ(t.faults(), 0u);
    // BME gates only the upstream direction: MMIO to ep0 still works.
    EXPECT_EQ(t.mmio_write64(t.bar0("ep0"), 42), pcie::completion::SC);
    EXPECT_EQ(t.mmio_read64(t.bar0("ep0")), 42u);
    t.master("dsp0");
    EXPECT_EQ(t.write("ep0", ram), iommu_fault);
}

TEST(PciBridge, RootPortWithoutBusMasterEnableRefusesUpstreamRequests) {
    twin t;
    t.master("ep0");
    t.command("rp1", pci::command_bits::memory_space);
    const auto r = t.dma("ep0", tlm::TLM_READ_COMMAND, ram);
    EXPECT_TRUE(r.issued);
    EXPECT_EQ(r.status, pcie::completion::UR);
    EXPECT_FALSE(r.iommu_fault);
    EXPECT_EQ(t.stat("rp1.unsupported_requests"), 1u);
    EXPECT_EQ(t.stat("root_complex.upstream_requests"), 0u);
    EXPECT_EQ(t.faults(), 0u);
    t.master("rp1");
    EXPECT_EQ(t.write("ep0", ram), iommu_fault);
}

TEST(PciBridge, UpstreamPortBusMasterEnableDoesNotGatePeerRequestsInsideTheSwitch) {
    twin t;
    t.master("ep0");
    t.acs("dsp0", 0);
    t.command("usp", pci::command_bits::memory_space);
    bar_log ep1;
    ep1.watch(t.fn("ep1"));
    EXPECT_EQ(t.write("ep0", t.bar0("ep1")), delivered_direct);
    EXPECT_EQ(ep1.from_devices(), 1u);
    EXPECT_EQ(t.write("ep0", ram), ur_at_fabric);
    EXPECT_EQ(t.stat("usp.unsupported_requests"), 1u);
}

// ---- conventional PCI ------------------------------------------------------------------------

TEST(PciBridge, FunctionsOnAConventionalBusReachEachOtherDirectly) {
    twin t;
    t.master("pci_a");
    bar_log pci_b;
    pci_b.watch(t.fn("pci_b"));
    const std::uint64_t target = t.bar0("pci_b") + 0x80;
    const auto r = t.dma("pci_a", tlm::TLM_WRITE_COMMAND, target, 0x0bad0bad0bad0badull);
    EXPECT_EQ(r.status, pcie::completion::SC);
    EXPECT_FALSE(r.iommu_fault);
    ASSERT_EQ(pci_b.from_devices(), 1u);
    EXPECT_FALSE(pci_b.hits[0].passed_iommu);
    EXPECT_EQ(pci_b.hits[0].rid, t.rid("pci_a"));  // on the shared bus nobody took ownership
    EXPECT_EQ(t.mmio_read64(target), 0x0bad0bad0bad0badull);
    EXPECT_EQ(t.stat("br.forwarded_up"), 0u);
    EXPECT_EQ(t.stat("root_complex.upstream_requests"), 0u);
    EXPECT_EQ(t.faults(), 0u);
}

TEST(PciBridge, PcieToPciBridgeTakesOwnershipOfUpstreamRequests) {
    twin t;
    const std::uint16_t alias = static_cast<std::uint16_t>(t.e.at("br").secondary << 8);  // (secondary bus, 00.0)
    EXPECT_EQ(alias, 0x0600);
    for (const char* id : {"pci_a", "pci_b"}) {
        t.master(id);
        const std::size_t before = t.faults();
        const auto r = t.dma(id, tlm::TLM_WRITE_COMMAND, ram);
        EXPECT_TRUE(r.posted) << id;
        EXPECT_TRUE(r.iommu_fault) << id;
        ASSERT_EQ(t.faults(), before + 1) << id;
        EXPECT_EQ(t.last_fault_sid(), alias) << id;
        // The static topology (Linux's pci_for_each_dma_alias) ends with the same ID.
        EXPECT_EQ(t.pi->topo.dma_aliases(t.pi->topo.by_id.at(id)).back(), alias) << id;
    }
    // The function keeps its own requester ID on its side of the bridge.
    EXPECT_EQ(t.rid("pci_a"), (pcie::bdf{6, 1, 0}.rid()));
    // Boot gave the alias a context entry: once dom0 maps the page, the DMA succeeds.
    t.map_dom0(ram, 4096);
    const auto ok = t.dma("pci_a", tlm::TLM_WRITE_COMMAND, ram);
    EXPECT_EQ(ok.status, pcie::completion::SC);
    EXPECT_FALSE(ok.iommu_fault);
}

TEST(PciBridge, ConventionalPciBridgeUsesItsOwnRequesterId) {
    twin t;
    t.master("pci_c");
    const auto r = t.dma("pci_c", tlm::TLM_READ_COMMAND, ram);
    EXPECT_EQ(r.status, pcie::completion::UR);
    EXPECT_TRUE(r.iommu_fault);
    EXPECT_EQ(t.last_fault_sid(), t.rid("pcib"));
    EXPECT_EQ(t.rid("pcib"), (pcie::bdf{0, 3, 0}.rid()));
    EXPECT_EQ(t.pi->topo.dma_aliases(t.pi->topo.by_id.at("pci_c")).back(), t.rid("pcib"));
}

// ---- multi-function devices ----------------------------------------------------------------

TEST(PciBridge, FunctionsOfOneDeviceReachEachOtherInsideItWithoutRequestRedirect) {
    twin t;
    t.acs("mf0", 0);
    t.acs("mf1", 0);
    t.acs("rp3", linux_default);
    t.master("mf0");
    bar_log mf1;
    mf1.watch(t.fn("mf1"));
    const std::uint64_t target = t.bar0("mf1") + 0x20;
    const auto r = t.dma("mf0", tlm::TLM_WRITE_COMMAND, target, 0x77);
    EXPECT_EQ(r.status, pcie::completion::SC);
    ASSERT_EQ(mf1.from_devices(), 1u);
    EXPECT_FALSE(mf1.hits[0].passed_iommu);
    EXPECT_EQ(t.mmio_read64(target), 0x77u);
    EXPECT_EQ(t.stat("rp3.forwarded_up"), 0u);
    EXPECT_EQ(t.faults(), 0u);
    // The target's own RR does not matter: ACS acts on the requests a function sends.
    t.acs("mf1", RR);
    EXPECT_EQ(t.write("mf0", target), delivered_direct);
    EXPECT_EQ(mf1.from_devices(), 2u);
}

TEST(PciBridge, RequestRedirectOnTheSourceFunctionSendsItOutToThePort) {
    twin t;
    t.acs("mf0", RR);
    t.acs("mf1", 0);
    t.acs("rp3", SV | RR | CR);  // no UF: the root port refuses the redirected request
    bar_log mf1;
    mf1.watch(t.fn("mf1"));
    const std::uint64_t target = t.bar0("mf1");
    EXPECT_EQ(t.write("mf0", target), ur_at_fabric);
    EXPECT_EQ(t.stat("rp3.unsupported_requests"), 1u);
    EXPECT_EQ(mf1.from_devices(), 0u);
    EXPECT_EQ(t.faults(), 0u);
    t.acs("rp3", SV | RR | CR | UF);
    EXPECT_EQ(t.write("mf0", target), iommu_fault);
    EXPECT_EQ(t.last_fault_sid(), t.rid("mf0"));
    EXPECT_EQ(mf1.from_devices(), 0u);
    // mf1 has no RR: its requests to mf0 stay inside.
    EXPECT_EQ(t.write("mf1", t.bar0("mf0")), delivered_direct);
}

TEST(PciBridge, NoInternalPeerToPeerOnTheSourceStopsInternalDelivery) {
    scenario s = fabric();
    find_node(s.platform.pcie, "mf0")->internal_p2p = false;
    twin t(s);
    ASSERT_FALSE(t.fn("mf0").params().internal_p2p);
    t.acs("mf0", 0);
    t.acs("mf1", 0);
    t.acs("rp3", linux_default);
    bar_log mf1;
    mf1.watch(t.fn("mf1"));
    EXPECT_EQ(t.write("mf0", t.bar0("mf1")), iommu_fault);
    EXPECT_EQ(mf1.from_devices(), 0u);
    t.acs("rp3", SV | RR | CR);
    EXPECT_EQ(t.write("mf0", t.bar0("mf1")), ur_at_fabric);
    EXPECT_EQ(mf1.from_devices(), 0u);
}

TEST(PciBridge, NoInternalPeerToPeerOnTheTargetStopsInternalDelivery) {
    scenario s = fabric();
    find_node(s.platform.pcie, "mf1")->internal_p2p = false;
    twin t(s);
    ASSERT_FALSE(t.fn("mf1").params().internal_p2p);
    t.acs("mf0", 0);
    t.acs("mf1", 0);
    t.acs("rp3", linux_default);
    bar_log mf0, mf1;
    mf0.watch(t.fn("mf0"));
    mf1.watch(t.fn("mf1"));
    EXPECT_EQ(t.write("mf0", t.bar0("mf1")), iommu_fault);
    EXPECT_EQ(t.write("mf1", t.bar0("mf0")), iommu_fault);
    EXPECT_EQ(mf0.from_devices(), 0u);
    EXPECT_EQ(mf1.from_devices(), 0u);
}

TEST(PciBridge, RootBusMultifunctionDeviceFollowsItsAcsToo) {
    twin t;
    t.acs("rc0", 0);
    t.acs("rc1", 0);
    bar_log rc1;
    rc1.watch(t.fn("rc1"));
    EXPECT_EQ(t.write("rc0", t.bar0("rc1")), delivered_direct);
    ASSERT_EQ(rc1.from_devices(), 1u);
    EXPECT_FALSE(rc1.hits[0].passed_iommu);
    EXPECT_EQ(t.stat("root_complex.peer_to_peer"), 1u);
    t.acs("rc0", RR);
    EXPECT_EQ(t.write("rc0", t.bar0("rc1")), iommu_fault);
    EXPECT_EQ(rc1.from_devices(), 1u);
}

// ---- virtual functions ------------------------------------------------------------------------

TEST(PciBridge, ConfigRequestsReachAVirtualFunctionOnlyWhileEnabled) {
    twin t;
    const pcie::bdf pf = t.bdf("pf"), vf0{9, 0x10, 0}, vf1{9, 0x10, 2}, vf2{9, 0x10, 4};
    const auto sriov = t.fn("pf").config().find_ext_capability(pci::ext_cap_id::sriov);
    ASSERT_TRUE(sriov.has_value());
    const std::uint32_t control = *sriov + 0x08, num_vfs = *sriov + 0x10;
    ASSERT_EQ(t.cfg_read(pf, num_vfs, 2), 2u);  // what boot's pci_enable_sriov() set
    pcie::completion c;
    // A VF answers, with Vendor ID FFFFh as SR-IOV requires.
    EXPECT_EQ(t.cfg_read(vf0, cfg::vendor_id, 2, &c), 0xffffu);
    EXPECT_EQ(c, pcie::completion::SC);
    EXPECT_EQ(t.cfg_read(vf1, cfg::vendor_id, 2, &c), 0xffffu);
    EXPECT_EQ(c, pcie::completion::SC);
    t.cfg_read(vf2, cfg::vendor_id, 2, &c);
    EXPECT_EQ(c, pcie::completion::UR);
    // VF Enable clear: no VF exists.
    ASSERT_EQ(t.cfg_write(pf, control, 2, 0x8), pcie::completion::SC);
    t.cfg_read(vf0, cfg::vendor_id, 2, &c);
    EXPECT_EQ(c, pcie::completion::UR);
    t.cfg_read(vf1, cfg::vendor_id, 2, &c);
    EXPECT_EQ(c, pcie::completion::UR);
    EXPECT_EQ(t.cfg_write(vf0, cfg::command, 2, pci::command_bits::bus_master), pcie::completion::UR);
    EXPECT_EQ(t.fn("pf-vf0").config().command(), 0u);
    // NumVFs 1: VF 0 only.
    ASSERT_EQ(t.cfg_write(pf, num_vfs, 2, 1), pcie::completion::SC);
    ASSERT_EQ(t.cfg_write(pf, control, 2, 0x9), pcie::completion::SC);
    t.cfg_read(vf0, cfg::vendor_id, 2, &c);
    EXPECT_EQ(c, pcie::completion::SC);
    t.cfg_read(vf1, cfg::vendor_id, 2, &c);
    EXPECT_EQ(c, pcie::completion::UR);
    EXPECT_EQ(t.cfg_write(vf1, cfg::command, 2, pci::command_bits::bus_master), pcie::completion::UR);
    EXPECT_EQ(t.fn("pf-vf1").config().command(), 0u);
    EXPECT_EQ(t.cfg_write(vf0, cfg::command, 2, pci::command_bits::bus_master), pcie::completion::SC);
    EXPECT_EQ(t.fn("pf-vf0").config().command(), pci::command_bits::bus_master);
    // The PF itself is unaffected throughout.
    EXPECT_EQ(t.cfg_read(pf, cfg::vendor_id, 2, &c), 0x1b36u);
    EXPECT_EQ(c, pcie::completion::SC);
}

TEST(PciBridge, VirtualFunctionDmaCarriesTheVfRoutingId) {
    twin t;
    const std::uint16_t pf = t.rid("pf");
    for (unsigned n = 0; n < 2; ++n) {
        const std::string id = "pf-vf" + std::to_string(n);
        const std::uint16_t expect = static_cast<std::uint16_t>(pf + 0x80 + n * 2);
        EXPECT_EQ(t.rid(id), expect) << id;
        EXPECT_EQ(t.fn("pf").vf_routing_id(n), expect) << id;
        EXPECT_EQ(t.pi->topo.at(id).bdf.rid(), expect) << id;
        ASSERT_EQ(t.cfg_write(t.bdf(id), cfg::command, 2, pci::command_bits::bus_master), pcie::completion::SC) << id;
        const std::size_t before = t.faults();
        const auto r = t.dma(id, tlm::TLM_WRITE_COMMAND, ram);
        EXPECT_TRUE(r.issued) << id;
        EXPECT_TRUE(r.iommu_fault) << id;
        ASSERT_EQ(t.faults(), before + 1) << id;
        EXPECT_EQ(t.last_fault_sid(), expect) << id;
    }
    // A disabled VF issues nothing.
    const auto sriov = t.fn("pf").config().find_ext_capability(pci::ext_cap_id::sriov);
    ASSERT_TRUE(sriov.has_value());
    ASSERT_EQ(t.cfg_write(t.bdf("pf"), *sriov + 0x08, 2, 0x8), pcie::completion::SC);
    const std::size_t before = t.faults();
    EXPECT_FALSE(t.dma("pf-vf0", tlm::TLM_WRITE_COMMAND, ram).issued);
    EXPECT_EQ(t.faults(), before);
}

} // namespace
