// Enumeration as firmware does it, on a tree with two root ports (an endpoint
// below one, a PCIe-to-PCI bridge with two conventional devices below the
// other) and a multifunction RCiEP at 1f.0/1f.3: bus numbers, BDFs, bridge
// registers, BAR placement inside the windows, and MMIO to every BAR after;
// then bus numbers firmware programmed, kept as Linux keeps them, and invalid
// ones renumbered.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "platform/address_map.h"
#include "platform/ecam.h"
#include "platform/boot.h"
#include "platform/builder.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;
using namespace sc_core;
namespace cfg = pci::cfg;
namespace am = address_map;

constexpr std::uint64_t KiB = 1ull << 10, MiB = 1ull << 20, GiB = 1ull << 30;

pcie_node node(const std::string& id, node_type t, std::vector<pci::bar_desc> bars = {}) {
    pcie_node n;
    n.id = id;
    n.type = t;
    n.bars = std::move(bars);
    return n;
}

pcie_node at(pcie_node n, std::uint8_t dev, std::uint8_t fn) {
    n.dev = dev;
    n.fn = fn;
    n.at_given = true;
    return n;
}

// Positions as the loader would resolve them: root ports 00.0 and 01.0, the
// RCiEP's functions at 1f.0 and 1f.3, devices 0 and 1 on the PCI bus.
scenario tree() {
    scenario s;
    s.name = "enumeration";
    s.platform.memory = 1 * GiB;
    pcie_node rp1 = at(node("rp1", node_type::root_port), 0, 0);
    rp1.children.push_back(node("ep", node_type::endpoint,
                                {{0, 16 * KiB, pci::bar_type::mem32, false}, {2, 256 * MiB, pci::bar_type::mem64, true}}));
    pcie_node rp2 = at(node("rp2", node_type::root_port), 1, 0);
    pcie_node br = node("br", node_type::pcie_pci_bridge);
    br.children.push_back(at(node("pci_a", node_type::pci_device,
                                  {{0, 4 * KiB, pci::bar_type::mem32, false}, {1, 1 * MiB, pci::bar_type::mem32, false}}), 0, 0));
    br.children.push_back(at(node("pci_b", node_type::pci_device,
                                  {{0, 64 * KiB, pci::bar_type::mem32, false}, {2, 8 * MiB, pci::bar_type::mem64, true}}), 1, 0));
    rp2.children.push_back(br);
    s.platform.pcie = {rp1, rp2,
                       at(node("lpc", node_type::rciep, {{0, 4 * KiB, pci::bar_type::mem32, false}}), 0x1f, 0),
                       at(node("smbus", node_type::rciep,
                               {{0, 256, pci::bar_type::mem32, false}, {2, 2 * MiB, pci::bar_type::mem64, true}}), 0x1f, 3)};
    domain_desc dom0;
    dom0.name = "dom0";
    dom0.privileged = true;
    dom0.memory = 256 * MiB;
    s.domains = {dom0};
    return s;
}

struct booted {
    scenario s;
    std::unique_ptr<platform_instance> pi = build_platform(s);
    std::map<std::string, enumerated_function> e;

    explicit booted(scenario s_ = tree()) : s(std::move(s_)) {
        sc_start(SC_ZERO_TIME);
        sc_time d = SC_ZERO_TIME;
        e = boot_platform(s, *pi, d);
    }
    std::uint32_t cfg_read(const pcie::bdf& f, std::uint16_t reg, unsigned len) {
        std::uint32_t v = 0;
        sc_time d = SC_ZERO_TIME;
        ecam_access(*pi->hypervisor, tlm::TLM_READ_COMMAND, f, reg, &v, len, d);
        return len == 4 ? v : v & ((1u << (8 * len)) - 1);
    }
    pcie::completion mmio(tlm::tlm_command cmd, std::uint64_t a, std::uint32_t& v) {
        sc_time d = SC_ZERO_TIME;
        return pi->hypervisor->machine_access(cmd, a, reinterpret_cast<std::uint8_t*>(&v), 4, d);
    }
};

const enumerated_bar& bar(const enumerated_function& f, unsigned index) {
    for (const auto& b : f.bars)
        if (b.index == index) return b;
    throw std::runtime_error("no BAR " + std::to_string(index));
}

TEST(Enumerator, BdfsAreDepthFirstInDeviceFunctionOrder) {
    booted b;
    const std::map<std::string, pcie::bdf> expect = {
        {"rp1", {0, 0, 0}}, {"ep", {1, 0, 0}},       {"rp2", {0, 1, 0}},   {"br", {2, 0, 0}},
        {"pci_a", {3, 0, 0}}, {"pci_b", {3, 1, 0}}, {"lpc", {0, 0x1f, 0}}, {"smbus", {0, 0x1f, 3}},
    };
    ASSERT_EQ(b.e.size(), expect.size());
    for (const auto& [id, bdf] : expect) {
        EXPECT_EQ(b.e.at(id).bdf.str(), bdf.str()) << id;
        // The function itself agrees (it captured its bus from configuration writes).
        EXPECT_EQ(b.pi->by_id.at(id)->bdf().str(), bdf.str()) << id;
    }
    EXPECT_EQ(b.pi->id_of(pcie::bdf{3, 1, 0}.rid()), "pci_b");
}

TEST(Enumerator, RunReturnsFunctionsInLinuxProbeOrder) {
    // The enumerator on its own, after the hypervisor's IOMMU setup as boot does it.
    scenario s = tree();
    auto pi = build_platform(s);
    sc_start(SC_ZERO_TIME);
    sc_time d = SC_ZERO_TIME;
    ASSERT_EQ(pi->hypervisor->init(d), 0);
    const auto found = enumerator(*pi->hypervisor).run(d);
    std::vector<std::string> order;
    for (const auto& f : found) order.push_back(f.bdf.str());
    // Linux's probe order: every function of a bus, then the buses below its bridges.
    EXPECT_EQ(order, (std::vector<std::string>{"0000:00:00.0", "0000:00:01.0", "0000:00:1f.0", "0000:00:1f.3",
                                               "0000:01:00.0", "0000:02:00.0", "0000:03:00.0", "0000:03:01.0"}));
    ASSERT_EQ(found.size(), 8u);
    EXPECT_EQ(found[1].parent, -1);
    EXPECT_EQ(found[4].parent, 0);
    EXPECT_EQ(found[5].parent, 1);
    EXPECT_EQ(found[6].parent, 5);
    EXPECT_EQ(found[7].parent, 5);
    EXPECT_EQ(found[2].parent, -1);
    EXPECT_EQ(found[5].children, (std::vector<int>{6, 7}));
    EXPECT_EQ(found[0].vendor, 0x1b36);
    EXPECT_EQ(found[0].device, 0x000c);
    EXPECT_EQ(found[0].class_code, 0x060400u);
    EXPECT_TRUE(found[0].bridge);
    EXPECT_FALSE(found[4].bridge);
}

TEST(Enumerator, SecondaryAndSubordinateBuses) {
    booted b;
    struct expect_t { const char* id; std::uint8_t primary, secondary, subordinate; };
    for (const expect_t& x : {expect_t{"rp1", 0, 1, 1}, expect_t{"rp2", 0, 2, 3}, expect_t{"br", 2, 3, 3}}) {
        const auto& f = b.e.at(x.id);
        EXPECT_TRUE(f.bridge) << x.id;
        EXPECT_EQ(f.secondary, x.secondary) << x.id;
        EXPECT_EQ(f.subordinate, x.subordinate) << x.id;
        // What the bridge's registers say, read back by configuration reads.
        EXPECT_EQ(b.cfg_read(f.bdf, cfg::primary_bus, 1), x.primary) << x.id;
        EXPECT_EQ(b.cfg_read(f.bdf, cfg::secondary_bus, 1), x.secondary) << x.id;
        EXPECT_EQ(b.cfg_read(f.bdf, cfg::subordinate_bus, 1), x.subordinate) << x.id;
    }
    EXPECT_FALSE(b.e.at("ep").bridge);
}

TEST(Enumerator, MultifunctionRciepIsFoundWhole) {
    booted b;
    EXPECT_EQ(b.cfg_read({0, 0x1f, 0}, cfg::header_type, 1), 0x80u);
    EXPECT_EQ(b.cfg_read({0, 0x1f, 3}, cfg::header_type, 1), 0x80u);
    EXPECT_EQ(b.cfg_read({0, 0x1f, 1}, cfg::vendor_id, 2), 0xffffu);  // absent functions read all ones
    EXPECT_EQ(b.cfg_read({0, 0, 0}, cfg::header_type, 1), 0x01u);    // a single-function port
}

TEST(Enumerator, BarSizesAndRegistersMatch) {
    booted b;
    const auto& ep = b.e.at("ep");
    ASSERT_EQ(ep.bars.size(), 2u);
    EXPECT_EQ(bar(ep, 0).size, 16 * KiB);
    EXPECT_FALSE(bar(ep, 0).is64);
    EXPECT_EQ(bar(ep, 2).size, 256 * MiB);
    EXPECT_TRUE(bar(ep, 2).is64);
    EXPECT_TRUE(bar(ep, 2).prefetchable);
    EXPECT_EQ(bar(b.e.at("smbus"), 0).size, 256u);
    for (const auto& [id, f] : b.e)
        for (const auto& x : f.bars) {
            const std::uint16_t reg = static_cast<std::uint16_t>(cfg::bar0 + 4 * x.index);
            std::uint64_t programmed = b.cfg_read(f.bdf, reg, 4) & ~0xfull;
            if (x.is64) programmed |= std::uint64_t(b.cfg_read(f.bdf, reg + 4, 4)) << 32;
            EXPECT_EQ(programmed, x.base) << id << " BAR" << x.index;
            EXPECT_NE(x.base, 0u) << id << " BAR" << x.index;
        }
}

TEST(Enumerator, BarsAreNaturallyAlignedAndDoNotOverlap) {
    booted b;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    for (const auto& [id, f] : b.e)
        for (const auto& x : f.bars) {
            EXPECT_EQ(x.base % x.size, 0u) << id << " BAR" << x.index;
            ranges.emplace_back(x.base, x.base + x.size);
        }
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i) EXPECT_LE(ranges[i - 1].second, ranges[i].first);
}

// The bridge window (non-prefetchable or prefetchable) a BAR must sit in.
bool inside(std::uint64_t base, std::uint64_t size, std::uint64_t wbase, std::uint64_t wsize) {
    return wsize && base >= wbase && base + size <= wbase + wsize;
}

TEST(Enumerator, BarsSitInsideTheirBridgesWindows) {
    booted b;
    const std::map<std::string, std::string> parent = {{"ep", "rp1"}, {"pci_a", "br"}, {"pci_b", "br"}};
    for (const auto& [child, bridge] : parent) {
        const auto& w = b.e.at(bridge);
        for (const auto& x : b.e.at(child).bars) {
            if (x.is64 && x.prefetchable) {
                EXPECT_TRUE(inside(x.base, x.size, w.pref_base, w.pref_size)) << child << " BAR" << x.index;
            } else {
                EXPECT_TRUE(inside(x.base, x.size, w.window_base, w.window_size)) << child << " BAR" << x.index;
            }
        }
    }
    // The PCI bridge's windows sit inside the root port's.
    const auto& rp2 = b.e.at("rp2");
    const auto& br = b.e.at("br");
    EXPECT_TRUE(inside(br.window_base, br.window_size, rp2.window_base, rp2.window_size));
    EXPECT_TRUE(inside(br.pref_base, br.pref_size, rp2.pref_base, rp2.pref_size));
    // Windows are 1 MiB granular and aligned.
    for (const char* id : {"rp1", "rp2", "br"}) {
        const auto& f = b.e.at(id);
        EXPECT_EQ(f.window_base % MiB, 0u) << id;
        EXPECT_EQ(f.window_size % MiB, 0u) << id;
        EXPECT_EQ(f.pref_base % MiB, 0u) << id;
        EXPECT_EQ(f.pref_size % MiB, 0u) << id;
    }
}

TEST(Enumerator, WindowRegistersDescribeTheAssignedWindows) {
    booted b;
    for (const char* id : {"rp1", "rp2", "br"}) {
        const auto& f = b.e.at(id);
        ASSERT_GT(f.window_size, 0u) << id;
        const std::uint64_t mb = std::uint64_t(b.cfg_read(f.bdf, cfg::memory_base, 2) & 0xfff0) << 16;
        const std::uint64_t ml = (std::uint64_t(b.cfg_read(f.bdf, cfg::memory_limit, 2) & 0xfff0) << 16) | 0xfffff;
        EXPECT_EQ(mb, f.window_base) << id;
        EXPECT_EQ(ml, f.window_base + f.window_size - 1) << id;
        ASSERT_GT(f.pref_size, 0u) << id;
        const std::uint64_t pb = std::uint64_t(b.cfg_read(f.bdf, cfg::pref_base, 2) & 0xfff0) << 16 |
                                 std::uint64_t(b.cfg_read(f.bdf, cfg::pref_base_upper, 4)) << 32;
        const std::uint64_t pl = (std::uint64_t(b.cfg_read(f.bdf, cfg::pref_limit, 2) & 0xfff0) << 16 | 0xfffff) |
                                 std::uint64_t(b.cfg_read(f.bdf, cfg::pref_limit_upper, 4)) << 32;
        EXPECT_EQ(pb, f.pref_base) << id;
        EXPECT_EQ(pl, f.pref_base + f.pref_size - 1) << id;
    }
}

TEST(Enumerator, Prefetchable64BitBarsLandAbove4GiB) {
    booted b;
    for (const auto& [id, f] : b.e)
        for (const auto& x : f.bars) {
            if (x.is64 && x.prefetchable) {
                EXPECT_GE(x.base, am::mmio64_base) << id << " BAR" << x.index;
                EXPECT_LE(x.base + x.size, am::mmio64_base + am::mmio64_size) << id << " BAR" << x.index;
            } else {
                EXPECT_GE(x.base, am::mmio32_base) << id << " BAR" << x.index;
                EXPECT_LE(x.base + x.size, am::mmio32_base + am::mmio32_size) << id << " BAR" << x.index;
            }
        }
    EXPECT_GE(b.e.at("rp1").pref_base, 4 * GiB);
    EXPECT_GE(b.e.at("br").pref_base, 4 * GiB);
    EXPECT_LT(b.e.at("rp1").window_base + b.e.at("rp1").window_size, 4 * GiB);
}

TEST(Enumerator, DecodingIsOnAndOnlyBridgesAreMasters) {
    booted b;
    for (const auto& [id, f] : b.e) {
        const auto cmd = b.cfg_read(f.bdf, cfg::command, 2);
        EXPECT_TRUE(cmd & pci::command_bits::memory_space) << id;
        EXPECT_EQ(bool(cmd & pci::command_bits::bus_master), f.bridge) << id;
    }
}

TEST(Enumerator, MmioReachesEveryBar) {
    booted b;
    std::uint32_t tag = 0x1000;
    for (const auto& [id, f] : b.e)
        for (const auto& x : f.bars)
            for (const std::uint64_t a : {x.base, x.base + x.size - 4}) {
                std::uint32_t v = ++tag;
                EXPECT_EQ(b.mmio(tlm::TLM_WRITE_COMMAND, a, v), pcie::completion::SC) << id << " @" << std::hex << a;
                std::uint32_t r = 0;
                EXPECT_EQ(b.mmio(tlm::TLM_READ_COMMAND, a, r), pcie::completion::SC) << id << " @" << std::hex << a;
                EXPECT_EQ(r, tag) << id << " @" << std::hex << a;
            }
}

TEST(Enumerator, EveryFunctionStaysWithTheHardwareDomain) {
    booted b;
    const auto dom0 = b.pi->hypervisor->find("dom0")->id;
    for (const char* id : {"ep", "pci_a", "pci_b", "lpc", "smbus"})
        EXPECT_EQ(b.pi->hypervisor->device_owner(b.e.at(id).bdf.rid()), dom0) << id;
    for (const char* id : {"rp1", "rp2", "br"})
        EXPECT_FALSE(b.pi->hypervisor->device_owner(b.e.at(id).bdf.rid()).has_value()) << id;
}

// ---- bus numbers firmware programmed -----------------------------------------------------------

// The tree with firmware's numbers on rp1 (bus 9) and on the bridge below
// rp2 (0x20..0x21); rp2 has none, and Linux's second pass gives it the bus
// after the highest in use.
scenario numbered_tree() {
    scenario s = tree();
    s.platform.pcie[0].secondary = 9;
    s.platform.pcie[0].subordinate = 9;
    pcie_node& br = s.platform.pcie[1].children[0];
    br.secondary = 0x20;
    br.subordinate = 0x21;
    return s;
}

TEST(Enumerator, KeepsTheBusNumbersFirmwareProgrammed) {
    booted b(numbered_tree());  // boot_platform checks every BDF against the topology's
    struct expect_t { const char* id; std::uint8_t primary, secondary, subordinate; };
    for (const expect_t& x : {expect_t{"rp1", 0, 9, 9}, expect_t{"rp2", 0, 0x0a, 0x21}, expect_t{"br", 0x0a, 0x20, 0x21}}) {
        const auto& f = b.e.at(x.id);
        EXPECT_EQ(f.secondary, x.secondary) << x.id;
        EXPECT_EQ(f.subordinate, x.subordinate) << x.id;
        EXPECT_EQ(b.cfg_read(f.bdf, cfg::primary_bus, 1), x.primary) << x.id;
        EXPECT_EQ(b.cfg_read(f.bdf, cfg::secondary_bus, 1), x.secondary) << x.id;
        EXPECT_EQ(b.cfg_read(f.bdf, cfg::subordinate_bus, 1), x.subordinate) << x.id;
        EXPECT_EQ(f.secondary, b.pi->topo.at(x.id).secondary) << x.id;
        EXPECT_EQ(f.subordinate, b.pi->topo.at(x.id).subordinate) << x.id;
    }
    EXPECT_EQ(b.e.at("ep").bdf.str(), "0000:09:00.0");
    EXPECT_EQ(b.e.at("br").bdf.str(), "0000:0a:00.0");
    EXPECT_EQ(b.e.at("pci_b").bdf.str(), "0000:20:01.0");
    EXPECT_EQ(b.pi->by_id.at("pci_b")->bdf().str(), "0000:20:01.0");
    // Resources are assigned below them as below any bridge.
    const auto& pb = b.e.at("pci_b");
    std::uint32_t v = 0x5a5a;
    EXPECT_EQ(b.mmio(tlm::TLM_WRITE_COMMAND, bar(pb, 0).base, v), pcie::completion::SC);
}

TEST(Enumerator, AResetBridgeForgetsItsFirmwareNumbers) {
    booted b(numbered_tree());
    const pcie::bdf br = b.e.at("br").bdf;
    ASSERT_EQ(b.cfg_read(br, cfg::secondary_bus, 1), 0x20u);
    // Secondary Bus Reset on rp2: the bridge below returns to its reset values, 0.
    std::uint32_t ctl = 1u << 6;
    sc_time d = SC_ZERO_TIME;
    ecam_access(*b.pi->hypervisor, tlm::TLM_WRITE_COMMAND, b.e.at("rp2").bdf, cfg::bridge_control, &ctl, 2, d);
    EXPECT_EQ(b.cfg_read(br, cfg::primary_bus, 4) & 0xffffffu, 0u);
}

TEST(Enumerator, RenumbersInvalidFirmwareNumbersAsLinuxDoes) {
    // The enumerator on its own, with bus numbers written into the root
    // ports before it runs, as firmware would have left them.
    scenario s = tree();
    auto pi = build_platform(s);
    sc_start(SC_ZERO_TIME);
    sc_time d = SC_ZERO_TIME;
    ASSERT_EQ(pi->hypervisor->init(d), 0);
    const auto program = [&](const pcie::bdf& f, std::uint32_t primary, std::uint32_t secondary, std::uint32_t subordinate) {
        std::uint32_t v = primary | secondary << 8 | subordinate << 16;
        ecam_access(*pi->hypervisor, tlm::TLM_WRITE_COMMAND, f, cfg::primary_bus, &v, 4, d);
    };
    program({0, 0, 0}, 0, 7, 7);  // rp1: valid, kept
    program({0, 1, 0}, 0, 0, 5);  // rp2: secondary not above bus 0, renumbered
    const auto found = enumerator(*pi->hypervisor).run(d);
    std::map<std::string, const enumerated_function*> at;
    for (const auto& f : found) at[f.bdf.str()] = &f;
    ASSERT_TRUE(at.count("0000:00:00.0") && at.count("0000:00:01.0"));
    EXPECT_EQ(at["0000:00:00.0"]->secondary, 7);
    EXPECT_EQ(at["0000:00:01.0"]->secondary, 8);
    EXPECT_EQ(at["0000:00:01.0"]->subordinate, 9);
    EXPECT_TRUE(at.count("0000:07:00.0"));  // ep
    EXPECT_TRUE(at.count("0000:08:00.0"));  // br
    EXPECT_TRUE(at.count("0000:09:01.0"));  // pci_b
    // Linux's scan order: rp1's bus (kept in the first pass) before rp2's.
    std::vector<std::string> order;
    for (const auto& f : found) order.push_back(f.bdf.str());
    EXPECT_EQ(order, (std::vector<std::string>{"0000:00:00.0", "0000:00:01.0", "0000:00:1f.0", "0000:00:1f.3", "0000:07:00.0",
                                               "0000:08:00.0", "0000:09:00.0", "0000:09:01.0"}));
}

} // namespace
