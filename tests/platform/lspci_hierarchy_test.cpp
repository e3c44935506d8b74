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
    // The function with the wrong device ID is one of its own, but function 0
    // of its device is a VF, which Linux's scan does not find (a VF reads
    // Vendor ID ffff): it is left out too.
    ASSERT_EQ(rp.children.size(), 1u);
    EXPECT_EQ(rp.children[0].vfs_listed, 2u);
    ASSERT_EQ(m.problems.size(), 2u) << problems_of(m);
    EXPECT_EQ(m.problems[0].line, 15);
    EXPECT_NE(m.problems[0].why.find("its device ID is not the VF Device ID"), std::string::npos);
    EXPECT_EQ(m.problems[1].line, 15);
    EXPECT_NE(m.problems[1].why.find("whose function 0 the listing does not show"), std::string::npos);
}

// lspci without root reads no capabilities; a bridge bound to pcieport is
// still a PCI Express port (portdrv binds to nothing else), and its place
// says which.
TEST(LspciHierarchy, APortBoundToPcieportWithoutCapabilitiesGetsItsTypeFromItsPlace) {
    const std::string denied = "\tCapabilities: <access denied>\n\tKernel driver in use: pcieport\n\n";
    std::istringstream in("00:01.0 PCI bridge [0604]: Root port [1022:1483]\n"                    // 1
                          "\tBus: primary=00, secondary=01, subordinate=03, sec-latency=0\n" +  // 2
                          denied +                                                                // 3-5
                          "01:00.0 PCI bridge [0604]: Switch up [1022:57ad]\n"                    // 6
                          "\tBus: primary=01, secondary=02, subordinate=03, sec-latency=0\n" +
                          denied +                                                                // 8-10
                          "02:04.0 PCI bridge [0604]: Switch down [1022:57a3]\n"                  // 11
                          "\tBus: primary=02, secondary=03, subordinate=03, sec-latency=0\n" +
                          denied +                                                                // 13-15
                          "03:00.0 PCI bridge [0604]: A bridge bound to pcieport below a downstream port's link [1b21:1080]\n"  // 16
                          "\tBus: primary=03, secondary=04, subordinate=04, sec-latency=0\n" +
                          denied +
                          "00:08.0 PCI bridge [0604]: Bridge not bound [1022:1484]\n"  // 21
                          "\tBus: primary=00, secondary=05, subordinate=05, sec-latency=0\n"
                          "\tCapabilities: <access denied>\n");
    const auto l = lspci_text::parse(in);
    ASSERT_EQ(l.skipped.size(), 1u);  // the one warning that capabilities were not readable
    const auto m = lspci_hierarchy::rebuild(l);
    ASSERT_EQ(m.roots.size(), 1u);
    const node* rp = child(m.roots[0].children, 0, 1, 0);
    ASSERT_NE(rp, nullptr);
    EXPECT_EQ(rp->type, node_type::root_port);
    ASSERT_EQ(rp->children.size(), 1u);
    const node& up = rp->children[0];
    EXPECT_EQ(up.type, node_type::upstream_port);
    ASSERT_EQ(up.children.size(), 1u);
    const node& down = up.children[0];
    EXPECT_EQ(down.type, node_type::downstream_port);
    ASSERT_EQ(down.children.size(), 1u);
    EXPECT_EQ(down.children[0].type, node_type::upstream_port);  // what Linux would take a port on a link for
    const node* plain = child(m.roots[0].children, 0, 8, 0);
    ASSERT_NE(plain, nullptr);
    EXPECT_EQ(plain->type, node_type::pci_bridge);  // no driver bound: nothing says it is a port
    ASSERT_EQ(m.problems.size(), 4u) << problems_of(m);
    EXPECT_EQ(m.problems[0].line, 1);
    EXPECT_EQ(m.problems[0].why,
              "port type inferred from the pcieport driver: 0000:00:01.0: capabilities not readable (lspci without root) and Kernel driver in use: "
              "pcieport (the driver binds only to PCI Express ports), on a root bus: imported as a root_port; its ACS, which the listing hides, "
              "stays unknown");
    EXPECT_EQ(m.problems[1].line, 6);
    EXPECT_NE(m.problems[1].why.find("directly below 0000:00:01.0 (a root_port): imported as an upstream_port"), std::string::npos);
    EXPECT_EQ(m.problems[2].line, 11);
    EXPECT_NE(m.problems[2].why.find("directly below 0000:01:00.0 (an upstream_port): imported as a downstream_port"), std::string::npos);
    EXPECT_EQ(m.problems[3].line, 16);
}

} // namespace
