// Rebuilding a machine's PCI hierarchy from its lspci listing: functions
// hang below the bridge that opens their bus, buses no bridge opens are root
// buses (per domain), scenario types follow the port type or the class, and
// virtual functions the listing shows are folded into their PF. What cannot
// be placed as the listing says is reported with its line.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "platform/lspci_hierarchy.h"

namespace {

using namespace iotwin::platform;
using lspci_hierarchy::node;

lspci_text::listing read_data(const std::string& name) {
    std::ifstream in(std::string(IOTWIN_SOURCE_DIR) + "/tests/data/lspci/" + name);
    EXPECT_TRUE(in.good()) << name;
    return lspci_text::parse(in);
}

const node* child(const std::vector<node>& v, unsigned bus, unsigned dev, unsigned fn) {
    for (const node& n : v)
        if (n.function->bus == bus && n.function->dev == dev && n.function->fn == fn) return &n;
    return nullptr;
}

std::string problems_of(const lspci_hierarchy::machine& m) {
    std::string s;
    for (const auto& p : m.problems) s += std::to_string(p.line) + ": " + p.why + "\n";
    return s;
}

TEST(LspciHierarchy, ADesktopsSwitchAndGpuSitWhereItsBusNumbersSay) {
    const auto l = read_data("asus-p6t6-x58.vvvnn.txt");
    const auto m = lspci_hierarchy::rebuild(l);
    EXPECT_TRUE(m.problems.empty()) << problems_of(m);
    ASSERT_EQ(m.roots.size(), 2u);  // bus 00 and the uncore's bus ff
    EXPECT_EQ(m.roots[0].bus, 0x00);
    EXPECT_EQ(m.roots[1].bus, 0xff);
    const auto& bus0 = m.roots[0].children;
    EXPECT_EQ(child(bus0, 0, 0, 0)->type, node_type::rciep);  // a host-bridge function, whatever port type it claims

    const node* rp3 = child(bus0, 0, 3, 0);
    ASSERT_NE(rp3, nullptr);
    EXPECT_EQ(rp3->type, node_type::root_port);
    ASSERT_EQ(rp3->children.size(), 1u);
    const node& up = rp3->children[0];
    EXPECT_EQ(up.type, node_type::upstream_port);
    ASSERT_EQ(up.children.size(), 2u);
    EXPECT_EQ(up.children[0].type, node_type::downstream_port);
    ASSERT_EQ(up.children[0].children.size(), 1u);
    EXPECT_EQ(up.children[0].children[0].function->bus, 0x04);
    EXPECT_TRUE(up.children[1].children.empty());

    const node* rp7 = child(bus0, 0, 7, 0);
    ASSERT_NE(rp7, nullptr);
    ASSERT_EQ(rp7->children.size(), 2u);  // the GPU and its audio function
    EXPECT_EQ(rp7->children[0].type, node_type::endpoint);
    EXPECT_EQ(rp7->children[1].function->fn, 1);

    // Out-of-order secondary buses still find their root ports.
    EXPECT_EQ(child(bus0, 0, 0x1c, 1)->children.at(0).function->bus, 0x08);
    EXPECT_EQ(child(bus0, 0, 0x1c, 2)->children.at(0).function->bus, 0x07);
    EXPECT_EQ(child(bus0, 0, 0x1e, 0)->type, node_type::pci_bridge);
    EXPECT_EQ(child(bus0, 0, 0x1f, 2)->type, node_type::pci_device);  // chipset SATA: no Express capability
    EXPECT_EQ(child(bus0, 0, 0x14, 0)->type, node_type::rciep);
}

TEST(LspciHierarchy, ALaptopsCardBusAndAServersFiveDomains) {
    const auto laptop_listing = read_data("fujitsu-lifebook-p8010-ich8m.vvvnn.txt");
    const auto laptop = lspci_hierarchy::rebuild(laptop_listing);
    EXPECT_TRUE(laptop.problems.empty()) << problems_of(laptop);
    ASSERT_EQ(laptop.roots.size(), 1u);
    const node* pci = child(laptop.roots[0].children, 0, 0x1e, 0);
    ASSERT_NE(pci, nullptr);
    ASSERT_EQ(pci->children.size(), 3u);  // the CardBus bridge and two more functions of its device
    EXPECT_EQ(pci->children[0].children.size(), 1u);

    const auto server_listing = read_data("ibm-pcix-five-domains.vvvnn.txt");
    const auto server = lspci_hierarchy::rebuild(server_listing);
    EXPECT_TRUE(server.problems.empty()) << problems_of(server);
    ASSERT_EQ(server.roots.size(), 5u);
    for (unsigned d = 0; d < 5; ++d) EXPECT_EQ(server.roots[d].domain, d);
    const node* b = child(server.roots[1].children, 0, 2, 6);
    ASSERT_NE(b, nullptr);
    ASSERT_EQ(b->children.size(), 1u);
    ASSERT_EQ(b->children[0].children.size(), 1u);
    EXPECT_EQ(b->children[0].children[0].function->bus, 0x62);
}

TEST(LspciHierarchy, ListedVirtualFunctionsFoldIntoTheirPf) {
    std::istringstream in(
        "3a:00.0 PCI bridge [0604]: Intel Corporation Device [8086:2030] (rev 04) (prog-if 00 [Normal decode])\n"
        "\tBus: primary=3a, secondary=3b, subordinate=3b, sec-latency=0\n"
        "\tCapabilities: [60] Express (v2) Root Port (Slot-), MSI 00\n"
        "\n"
        "3b:00.0 Ethernet controller [0200]: Intel Corporation Ethernet Controller X710 [8086:1572] (rev 02)\n"
        "\tCapabilities: [a0] Express (v2) Endpoint, MSI 00\n"
        "\tCapabilities: [160 v1] Single Root I/O Virtualization (SR-IOV)\n"
        "\t\tInitial VFs: 64, Total VFs: 64, Number of VFs: 3, Function Dependency Link: 00\n"
        "\t\tVF offset: 16, stride: 1, Device ID: 154c\n"
        "\n"
        "3b:02.0 Ethernet controller [0200]: Intel Corporation Ethernet Virtual Function 700 Series [8086:154c] (rev 02)\n"
        "\n"
        "3b:02.1 Ethernet controller [0200]: Intel Corporation Ethernet Virtual Function 700 Series [8086:154c] (rev 02)\n"
        "\n"
        "3b:02.2 Ethernet controller [0200]: Intel Corporation Ethernet Controller X710 [8086:1572] (rev 02)\n"
        "\n"
        "3c:00.0 Non-Volatile memory controller [0108]: Samsung Electronics Co Ltd Device [144d:a808]\n");
    const auto l = lspci_text::parse(in);
    ASSERT_TRUE(l.skipped.empty());
    const auto m = lspci_hierarchy::rebuild(l);
    ASSERT_EQ(m.roots.size(), 2u);  // bus 3a, and bus 3c that no bridge of this listing opens
    const node& rp = m.roots[0].children.at(0);
    ASSERT_EQ(rp.children.size(), 2u);  // the PF and the function with the wrong device ID
    EXPECT_EQ(rp.children[0].vfs_listed, 2u);
    EXPECT_EQ(rp.children[1].function->fn, 2);
    ASSERT_EQ(m.problems.size(), 1u) << problems_of(m);
    EXPECT_EQ(m.problems[0].line, 15);
}

} // namespace
