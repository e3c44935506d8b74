// The scenario written from a real machine's lspci listing loads as the
// machine's hierarchy: every function the listing shows (bar the root
// complex's own host bridge) is a function of the scenario, at the position
// and with the type, IDs and ACS bits the listing gives; what could not be
// imported is said in comments.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "platform/loader.h"
#include "tests/support/temp_dir.h"
#include "platform/lspci_scenario.h"
#include "platform/topology.h"

namespace {

using namespace iotwin::platform;

struct imported {
    std::string yaml;
    scenario s;
};

imported import_data(const std::string& name) {
    std::ifstream in(std::string(IOTWIN_SOURCE_DIR) + "/tests/data/lspci/" + name);
    EXPECT_TRUE(in.good()) << name;
    const auto l = lspci_text::parse(in);
    const auto m = lspci_hierarchy::rebuild(l);
    std::ostringstream out;
    lspci_scenario::options o;
    o.name = "imported";
    o.source = name;
    lspci_scenario::write(l, m, o, out);
    const iotwin::test::temp_dir dir;
    const std::string file = dir.write("scenario.yaml", out.str());
    return {out.str(), load_scenario(file)};
}

const pcie_node* find(const std::vector<pcie_node>& nodes, const std::string& id) {
    for (const pcie_node& n : nodes) {
        if (n.id == id) return &n;
        if (const pcie_node* c = find(n.children, id)) return c;
    }
    return nullptr;
}

std::size_t count(const std::vector<pcie_node>& nodes) {
    std::size_t k = 0;
    for (const pcie_node& n : nodes) k += 1 + count(n.children);
    return k;
}

TEST(LspciScenario, ADesktopLoadsAsItsHierarchy) {
    const imported x = import_data("asus-p6t6-x58.vvvnn.txt");
    const auto& pcie = x.s.platform.pcie;
    // 53 functions, less 00:00.0, plus the host bridge that opens root bus ff.
    EXPECT_EQ(count(pcie), 53u);
    const pcie_node* rp = find(pcie, "pci-00-03-0");
    ASSERT_NE(rp, nullptr);
    EXPECT_EQ(rp->type, node_type::root_port);
    EXPECT_EQ(rp->vendor, 0x8086);
    EXPECT_EQ(rp->device, 0x340a);
    EXPECT_TRUE(rp->has_acs);
    EXPECT_EQ(rp->acs, (std::vector<std::string>{"SV", "TB", "RR", "CR", "UF"}));
    // Listed without IOMMU groups, its ACS Control is the firmware's: the
    // scenario leaves it to Linux's default, as a kernel with an IOMMU sets it.
    EXPECT_FALSE(rp->acs_ctrl.has_value());
    EXPECT_NE(x.yaml.find("ACS Control as listed is the firmware's"), std::string::npos);
    ASSERT_EQ(rp->children.size(), 1u);
    EXPECT_EQ(rp->children[0].type, node_type::upstream_port);
    const pcie_node* audio = find(pcie, "pci-06-00-1");
    ASSERT_NE(audio, nullptr);
    EXPECT_EQ(audio->class_code, 0x040300u);
    const pcie_node* uncore = find(pcie, "root-0000-ff");
    ASSERT_NE(uncore, nullptr);
    EXPECT_EQ(uncore->type, node_type::host_bridge);
    EXPECT_EQ(uncore->root_bus, 0xff);
    EXPECT_NE(x.yaml.find("the root complex's host bridge, which the twin has"), std::string::npos);
    EXPECT_NE(x.yaml.find("without a size in the listing"), std::string::npos);
}

TEST(LspciScenario, ALaptopLoadsAndAServersOtherDomainsToo) {
    const imported laptop = import_data("fujitsu-lifebook-p8010-ich8m.vvvnn.txt");
    EXPECT_EQ(count(laptop.s.platform.pcie), 21u);  // 22 functions less the host bridge
    const imported server = import_data("ibm-pcix-five-domains.vvvnn.txt");
    EXPECT_NE(find(server.s.platform.pcie, "pci-00-03-0"), nullptr);  // domain 0 keeps the short id
    // Root bus 00 of domain 0001 is opened by a host bridge of segment 1.
    const pcie_node* root1 = find(server.s.platform.pcie, "root-0001-00");
    ASSERT_NE(root1, nullptr);
    EXPECT_EQ(root1->type, node_type::host_bridge);
    EXPECT_EQ(root1->segment, 1u);
    EXPECT_EQ(root1->root_bus, 0);
    EXPECT_NE(find(root1->children, "pci-0001-00-02-0"), nullptr);
    EXPECT_EQ(server.yaml.find("not imported"), std::string::npos) << server.yaml;
}

// ---- the machine's own bus numbers -------------------------------------------------------------

// Every function the listing shows has, in the scenario's topology, the
// address it had on the machine (a VF under its PF's id), and every bridge
// the bus numbers its `Bus:` line gives; the root complex's own 00:00.x
// aside, which the twin has.
void expect_the_machines_addresses(const std::string& name, std::size_t functions) {
    SCOPED_TRACE(name);
    std::ifstream in(std::string(IOTWIN_SOURCE_DIR) + "/tests/data/lspci/" + name);
    const auto l = lspci_text::parse(in);
    const imported x = import_data(name);
    const topology t = build_topology(x.s.platform);
    std::map<std::string, const topo_function*> by_address;
    for (const topo_function& f : t.functions) by_address[f.bdf_string()] = &f;
    std::size_t checked = 0;
    for (const lspci_text::function& f : l.functions) {
        if (f.domain.value_or(0) == 0 && f.bus == 0 && f.dev == 0) continue;
        const auto it = by_address.find(f.address());
        ASSERT_NE(it, by_address.end()) << f.address() << " is not in the imported scenario";
        const topo_function& tf = *it->second;
        if (!tf.is_vf) {
            EXPECT_EQ(tf.id, lspci_scenario::id_of(f));
        }
        if (tf.bridge) {
            ASSERT_TRUE(f.secondary_bus && f.subordinate_bus) << f.address();
            EXPECT_EQ(tf.secondary, *f.secondary_bus) << f.address();
            EXPECT_EQ(tf.subordinate, *f.subordinate_bus) << f.address();
        }
        ++checked;
    }
    EXPECT_EQ(checked, functions);
}

TEST(LspciScenario, ADesktopKeepsItsBusNumbers) {
    // The ICH10 root ports 1c.0, 1c.1, 1c.2 open buses 09, 08 and 07.
    expect_the_machines_addresses("asus-p6t6-x58.vvvnn.txt", 52);
    const imported x = import_data("asus-p6t6-x58.vvvnn.txt");
    const topology t = build_topology(x.s.platform);
    EXPECT_EQ(t.at("pci-00-1c-0").secondary, 0x09);
    EXPECT_EQ(t.at("pci-00-1c-2").secondary, 0x07);
    EXPECT_EQ(t.at("pci-07-00-0").bdf_string(), "0000:07:00.0");
}

TEST(LspciScenario, ALaptopKeepsItsHotplugGaps) {
    // 1c.0 holds 04..07 and 1c.4 14..1b, the CardBus bridge below 1e.0 1d..20.
    expect_the_machines_addresses("fujitsu-lifebook-p8010-ich8m.vvvnn.txt", 21);
    const imported x = import_data("fujitsu-lifebook-p8010-ich8m.vvvnn.txt");
    const topology t = build_topology(x.s.platform);
    EXPECT_EQ(t.at("pci-00-1c-4").secondary, 0x14);
    EXPECT_EQ(t.at("pci-00-1c-4").subordinate, 0x1b);
    EXPECT_EQ(t.at("pci-14-00-0").bdf_string(), "0000:14:00.0");
}

TEST(LspciScenario, AServerKeepsItsFiveDomains) {
    expect_the_machines_addresses("ibm-pcix-five-domains.vvvnn.txt", 31);
    const imported x = import_data("ibm-pcix-five-domains.vvvnn.txt");
    const topology t = build_topology(x.s.platform);
    EXPECT_EQ(t.at("pci-0001-62-00-0").bdf_string(), "0001:62:00.0");
    EXPECT_EQ(t.at("pci-0004-01-01-0").bdf_string(), "0004:01:01.0");
}

TEST(LspciScenario, BusNumbersTheTwinCannotKeepAreLeftToLinux) {
    // Two bridges on bus 0 claiming overlapping ranges (a damaged listing):
    // the second keeps no numbers, and a comment says why.
    const std::string listing =
        "00:01.0 PCI bridge [0604]: Intel Corporation Bridge [8086:0001]\n"
        "\tBus: primary=00, secondary=01, subordinate=03, sec-latency=0\n"
        "\n"
        "00:02.0 PCI bridge [0604]: Intel Corporation Bridge [8086:0001]\n"
        "\tBus: primary=00, secondary=02, subordinate=02, sec-latency=0\n"
        "\n"
        "00:03.0 PCI bridge [0604]: Intel Corporation Bridge [8086:0001]\n"
        "\tBus: primary=00, secondary=05, subordinate=05, sec-latency=0\n";
    std::istringstream in(listing);
    const auto l = lspci_text::parse(in);
    const auto m = lspci_hierarchy::rebuild(l);
    std::ostringstream out;
    lspci_scenario::write(l, m, {}, out);
    EXPECT_NE(out.str().find("bus numbers 02-02 left out: they overlap a sibling's (01-03)"), std::string::npos) << out.str();
    const iotwin::test::temp_dir dir;
    const std::string file = dir.write("scenario.yaml", out.str());
    const topology t = build_topology(load_scenario(file).platform);
    EXPECT_EQ(t.at("pci-00-01-0").secondary, 1);
    EXPECT_EQ(t.at("pci-00-03-0").secondary, 5);
    // Linux's second pass: the highest bus in use (05) + 1.
    EXPECT_EQ(t.at("pci-00-02-0").secondary, 6);
}

// Listings the fuzzer found whose scenario the loader refused
// (tests/fuzz/regressions-lspci): each now loads, and the comment says what
// was imported differently from the record, or not at all, and why.
namespace regressions {

imported import_text(const std::string& text) {
    std::istringstream in(text);
    const auto l = lspci_text::parse(in);
    const auto m = lspci_hierarchy::rebuild(l);
    std::ostringstream out;
    lspci_scenario::options o;
    o.source = "pasted.txt";
    lspci_scenario::write(l, m, o, out);
    const iotwin::test::temp_dir dir;
    const std::string file = dir.write("scenario.yaml", out.str());
    return {out.str(), load_scenario(file)};
}

bool has(const std::string& yaml, const std::string& text) { return yaml.find(text) != std::string::npos; }

TEST(LspciScenarioRegressions, ARootPortWithoutBusLineIsAnIntegratedFunction) {
    const imported x = import_text("00:02.0 VGA compatible controller [0300]: Some GPU [8086:2a02]\n"
                                   "\tCapabilities: [90] Express (v2) Root Port (Slot-), MSI 00\n");
    const pcie_node* gpu = find(x.s.platform.pcie, "pci-00-02-0");
    ASSERT_NE(gpu, nullptr) << x.yaml;
    EXPECT_EQ(gpu->type, node_type::rciep);
    EXPECT_EQ(gpu->class_code, 0x030000u);
    EXPECT_TRUE(has(x.yaml, "pasted.txt:1: 0000:00:02.0: a PCI Express Root Port without a Bus: line (a type 0 header, class 0x030000): "
                            "imported as an rciep, since the header decides"))
        << x.yaml;
}

TEST(LspciScenarioRegressions, ControlCharactersOfANameAreEscapedInItsComment) {
    static const char text[] = "00:1b.0 Audio device [0403]: Intel\0Corp\x1b [8086:284b]\n";
    const imported x = import_text(std::string(text, sizeof text - 1));
    ASSERT_NE(find(x.s.platform.pcie, "pci-00-1b-0"), nullptr) << x.yaml;
    EXPECT_TRUE(has(x.yaml, "Audio device: Intel\\x00Corp\\x1b")) << x.yaml;
    EXPECT_FALSE(has(x.yaml, std::string(1, '\0')));
}

TEST(LspciScenarioRegressions, AFunctionWhoseDeviceHasNoFunction0IsLeftOut) {
    const imported x = import_text("00:1d.7 USB controller [0c03]: Intel EHCI [8086:283a] (prog-if 20)\n\n"
                                   "00:1c.0 PCI bridge [0604]: Intel [8086:283f]\n"
                                   "\tBus: primary=00, secondary=02, subordinate=02, sec-latency=0\n\n"
                                   "00:1c.1 PCI bridge [0604]: Intel [8086:2841]\n"
                                   "\tBus: primary=00, secondary=03, subordinate=03, sec-latency=0\n\n"
                                   "00:1e.2 PCI bridge [0604]: Intel [8086:2848]\n"
                                   "\tBus: primary=00, secondary=04, subordinate=04, sec-latency=0\n\n"
                                   "04:00.0 Ethernet controller [0200]: NIC [10ec:8168]\n");
    EXPECT_EQ(find(x.s.platform.pcie, "pci-00-1d-7"), nullptr) << x.yaml;
    EXPECT_EQ(find(x.s.platform.pcie, "pci-00-1e-2"), nullptr);
    EXPECT_EQ(find(x.s.platform.pcie, "pci-04-00-0"), nullptr);
    ASSERT_NE(find(x.s.platform.pcie, "pci-00-1c-1"), nullptr);
    EXPECT_TRUE(has(x.yaml, "pasted.txt:1: 0000:00:1d.7 is function 7 of a device whose function 0 the listing does not show: "
                            "Linux finds the other functions of a device only through its function 0 (pci_scan_slot()), so it is not imported"))
        << x.yaml;
    EXPECT_TRUE(has(x.yaml, "pasted.txt:12: 0000:04:00.0 lies below 0000:00:1e.2, which is not imported: not imported either")) << x.yaml;
}

TEST(LspciScenarioRegressions, ABridgeClassWithoutBusLineIsClass0AsLinuxHasIt) {
    const imported x = import_text("00:1c.0 PCI bridge [0604]: Intel root port [8086:283f]\n");
    const pcie_node* f = find(x.s.platform.pcie, "pci-00-1c-0");
    ASSERT_NE(f, nullptr) << x.yaml;
    EXPECT_EQ(f->type, node_type::pci_device);
    EXPECT_EQ(f->class_code, 0u);
    EXPECT_TRUE(has(x.yaml, "pasted.txt:1: 0000:00:1c.0: class 0x060400 (a PCI-to-PCI bridge) without a Bus: line")) << x.yaml;
    EXPECT_TRUE(has(x.yaml, "Linux ignores that class there (\"doesn't match header type\")")) << x.yaml;
}

TEST(LspciScenarioRegressions, AnEndpointWithABusLineIsABridgeAsItsHeaderSays) {
    const imported x = import_text("00:1b.0 Audio device [0403]: Intel [8086:284b]\n"
                                   "\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0\n"
                                   "\tCapabilities: [70] Express (v1) Root Complex Integrated Endpoint, MSI 00\n\n"
                                   "01:00.0 Ethernet controller [0200]: NIC [10ec:8168]\n");
    const pcie_node* b = find(x.s.platform.pcie, "pci-00-1b-0");
    ASSERT_NE(b, nullptr) << x.yaml;
    EXPECT_EQ(b->type, node_type::pci_bridge);
    ASSERT_EQ(b->children.size(), 1u);
    EXPECT_EQ(b->children[0].id, "pci-01-00-0");
    EXPECT_TRUE(has(x.yaml, "pasted.txt:1: 0000:00:1b.0: a type 1 (bridge) header, as its Bus: line shows, with a PCI Express capability of type "
                            "Root Complex Integrated Endpoint: imported as a pci_bridge"))
        << x.yaml;
    EXPECT_TRUE(has(x.yaml, "class 0x040300 left out: a pci_bridge is class 0x0604xx here")) << x.yaml;
}

TEST(LspciScenarioRegressions, AFunctionListedTwiceKeepsItsFirstRecord) {
    const imported x = import_text("00:19.0 Ethernet controller [0200]: Intel 82566MM [8086:1049]\n\n"
                                   "00:19.0 Ethernet controller [0200]: Intel 82566MM [8086:104a]\n");
    const pcie_node* f = find(x.s.platform.pcie, "pci-00-19-0");
    ASSERT_NE(f, nullptr) << x.yaml;
    EXPECT_EQ(f->device, 0x1049u);
    EXPECT_EQ(count(x.s.platform.pcie), 1u);
    EXPECT_TRUE(has(x.yaml, "pasted.txt:3: 0000:00:19.0 is listed again (first at line 1): this record is not imported, the first one is")) << x.yaml;
}

TEST(LspciScenarioRegressions, SwitchPortsWhereTheirTypeCannotBeAreTypedAsLinuxTakesThem) {
    const imported x = import_text("00:1c.0 PCI bridge [0604]: Port [8086:283f]\n"                                  // 1
                                   "\tBus: primary=00, secondary=01, subordinate=02, sec-latency=0\n"
                                   "\tCapabilities: [40] Express (v1) Downstream Port (Slot+), MSI 00\n\n"
                                   "01:00.0 PCI bridge [0604]: Port [10b5:8747]\n"                                  // 5
                                   "\tBus: primary=01, secondary=02, subordinate=02, sec-latency=0\n"
                                   "\tCapabilities: [40] Express (v1) Downstream Port (Slot+), MSI 00\n\n"
                                   "02:00.0 PCI bridge [0604]: Port [10b5:8747]\n"                                  // 9
                                   "\tBus: primary=02, secondary=03, subordinate=03, sec-latency=0\n"
                                   "\tCapabilities: [40] Express (v1) Upstream Port, MSI 00\n");
    ASSERT_NE(find(x.s.platform.pcie, "pci-00-1c-0"), nullptr) << x.yaml;
    EXPECT_EQ(find(x.s.platform.pcie, "pci-00-1c-0")->type, node_type::root_port);
    EXPECT_EQ(find(x.s.platform.pcie, "pci-01-00-0")->type, node_type::upstream_port);
    EXPECT_EQ(find(x.s.platform.pcie, "pci-02-00-0")->type, node_type::downstream_port);
    EXPECT_TRUE(has(x.yaml, "pasted.txt:1: 0000:00:1c.0: a Downstream Port with no switch's upstream port above it in the listing (on a root bus), "
                            "which a scenario cannot declare: imported as a root_port"))
        << x.yaml;
    EXPECT_TRUE(has(x.yaml, "pasted.txt:5: 0000:01:00.0: Linux takes a Downstream Port below a root_port for an Upstream Port (set_pcie_port_type()): "
                            "imported as an upstream_port"))
        << x.yaml;
    EXPECT_TRUE(has(x.yaml, "pasted.txt:9: 0000:02:00.0: Linux takes an Upstream Port below an upstream_port for a Downstream Port")) << x.yaml;
}

TEST(LspciScenarioRegressions, AnSriovCapabilityOfABridgeIsLeftOut) {
    const imported x = import_text("00:1c.0 PCI bridge [0604]: Port [8086:283f]\n"
                                   "\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0\n"
                                   "\tCapabilities: [40] Express (v1) Root Port (Slot+), MSI 00\n"
                                   "\tCapabilities: [160 v1] Single Root I/O Virtualization (SR-IOV)\n"
                                   "\t\tInitial VFs: 4, Total VFs: 4, Number of VFs: 0, Function Dependency Link: 00\n"
                                   "\t\tVF offset: 1, stride: 1, Device ID: 154c\n");
    ASSERT_NE(find(x.s.platform.pcie, "pci-00-1c-0"), nullptr) << x.yaml;
    EXPECT_TRUE(has(x.yaml, "SR-IOV capability left out: a root_port is no physical function here")) << x.yaml;
}

TEST(LspciScenarioRegressions, ABridgeKeepsItsBusNumbersOnlyIfEverythingBelowItDoes) {
    const imported x = import_text("00:1c.0 PCI bridge [0604]: Intel root port [8086:9dbc]\n"
                                   "\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0\n"
                                   "\tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00\n\n"
                                   "01:00.0 PCI bridge [0604]: A bridge [8086:15d3]\n"
                                   "\tBus: primary=01, secondary=01, subordinate=01, sec-latency=0\n"
                                   "\tCapabilities: [c0] Express (v2) Upstream Port, MSI 00\n");
    const pcie_node* rp = find(x.s.platform.pcie, "pci-00-1c-0");
    ASSERT_NE(rp, nullptr) << x.yaml;
    EXPECT_FALSE(rp->secondary.has_value());
    EXPECT_TRUE(has(x.yaml, "bus numbers 01-01 left out: those of 0000:01:00.0 below it cannot be kept (they open nothing below its bus); "
                            "the twin numbers this bridge as Linux would"))
        << x.yaml;
}

TEST(LspciScenarioRegressions, ARootBusTheRootBusesBeforeItTookGetsTheNextFreeNumber) {
    const imported x = import_text("00:1c.0 PCI bridge [0604]: Intel root port [8086:9dbc]\n"
                                   "\tBus: primary=00, secondary=05, subordinate=0e, sec-latency=0\n"
                                   "\tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00\n\n"
                                   "02:00.0 PCI bridge [0604]: Switch up, its root port cut from the listing [1022:57ad]\n"
                                   "\tBus: primary=02, secondary=03, subordinate=04, sec-latency=0\n"
                                   "\tCapabilities: [c0] Express (v2) Upstream Port, MSI 00\n");
    const pcie_node* root = find(x.s.platform.pcie, "root-0000-02");
    ASSERT_NE(root, nullptr) << x.yaml;
    EXPECT_EQ(root->root_bus, 0x0f);
    ASSERT_EQ(root->children.size(), 1u);
    EXPECT_FALSE(root->children[0].secondary.has_value());
    EXPECT_TRUE(has(x.yaml, "declared as bus 0f: the twin's buses up to 0e of this domain are taken by the root buses before it; "
                            "Linux numbers the bridges below it"))
        << x.yaml;
}

TEST(LspciScenarioRegressions, ADeviceOtherThan0BelowAPortIsLeftOut) {
    const imported x = import_text("00:01.0 PCI bridge [0604]: GPP bridge [1022:1483]\n"
                                   "\tBus: primary=00, secondary=01, subordinate=02, sec-latency=0\n"
                                   "\tCapabilities: [58] Express (v2) Root Port (Slot+), MSI 00\n\n"
                                   "01:0a.0 PCI bridge [0604]: Switch up [1022:57ad]\n"
                                   "\tBus: primary=01, secondary=02, subordinate=02, sec-latency=0\n"
                                   "\tCapabilities: [c0] Express (v2) Upstream Port, MSI 00\n\n"
                                   "02:00.0 Ethernet controller [0200]: NIC [10ec:8168]\n");
    ASSERT_NE(find(x.s.platform.pcie, "pci-00-01-0"), nullptr) << x.yaml;
    EXPECT_EQ(find(x.s.platform.pcie, "pci-01-0a-0"), nullptr);
    EXPECT_EQ(find(x.s.platform.pcie, "pci-02-00-0"), nullptr);
    EXPECT_TRUE(has(x.yaml, "pasted.txt:5: 0000:01:0a.0 is device 0a on the link below 0000:00:01.0 (a root_port), where Linux scans device 0 only "
                            "(only_one_child()): not imported"))
        << x.yaml;
    EXPECT_TRUE(has(x.yaml, "pasted.txt:9: 0000:02:00.0 lies below 0000:01:0a.0, which is not imported: not imported either")) << x.yaml;
}

// A function listed without a Region line has no BAR on the machine; the
// twin's default BAR0 for a function described without `bars` would give it
// one an attack could read.
TEST(LspciScenarioRegressions, AFunctionListedWithoutRegionsHasNoBar) {
    const imported x = import_text("00:18.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Milan Data Fabric; Function 0 [1022:1650]\n"
                                   "\tControl: I/O- Mem- BusMaster- SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR- FastB2B- DisINTx-\n\n"
                                   "00:19.0 Ethernet controller [0200]: Intel Corporation Device [8086:15b8]\n"
                                   "\tRegion 0: Memory at a0000000 (32-bit, non-prefetchable) [size=128K]\n");
    const pcie_node* fabric = find(x.s.platform.pcie, "pci-00-18-0");
    ASSERT_NE(fabric, nullptr) << x.yaml;
    EXPECT_TRUE(fabric->bars_given);
    EXPECT_TRUE(fabric->bars.empty());
    const pcie_node* nic = find(x.s.platform.pcie, "pci-00-19-0");
    ASSERT_NE(nic, nullptr);
    ASSERT_EQ(nic->bars.size(), 1u);
    EXPECT_EQ(nic->bars[0].size, 0x20000u);
}

TEST(LspciScenarioRegressions, BarsTheScenarioCannotDeclareAreLeftOut) {
    const imported x = import_text("00:02.0 VGA compatible controller [0300]: GPU [8086:3ea0]\n"
                                   "\tRegion 0: Memory at a0000000 (64-bit, non-prefetchable) [size=16M]\n"
                                   "\tRegion 1: Memory at b0000000 (32-bit, non-prefetchable) [size=256M]\n"
                                   "\tRegion 2: Memory at c0000000 (32-bit, non-prefetchable) [size=12K]\n"
                                   "\tRegion 4: I/O ports at 3000 [size=64]\n");
    const pcie_node* gpu = find(x.s.platform.pcie, "pci-00-02-0");
    ASSERT_NE(gpu, nullptr) << x.yaml;
    ASSERT_EQ(gpu->bars.size(), 2u);
    EXPECT_EQ(gpu->bars[0].index, 0u);
    EXPECT_EQ(gpu->bars[1].index, 4u);
    EXPECT_TRUE(has(x.yaml, "Region 1 left out: it overlaps another BAR")) << x.yaml;
    EXPECT_TRUE(has(x.yaml, "Region 2 left out: a memory BAR's size is a power of two of at least 16 bytes")) << x.yaml;
}

TEST(LspciScenarioRegressions, AFunctionPlacedFromAnotherBusCannotTakeAPositionOfTheBridgesOwnBus) {
    const imported x = import_text("00:1c.0 PCI bridge [0604]: Bridge [8086:244e]\n"
                                   "\tBus: primary=00, secondary=0a, subordinate=0b, sec-latency=0\n\n"
                                   "0b:00.0 Ethernet controller [0200]: NIC on a bus no listed bridge opens [10ec:8168]\n\n"
                                   "0a:00.0 Ethernet controller [0200]: NIC [8086:1539]\n");
    ASSERT_NE(find(x.s.platform.pcie, "pci-0a-00-0"), nullptr) << x.yaml;
    EXPECT_EQ(find(x.s.platform.pcie, "pci-0b-00-0"), nullptr);
    EXPECT_TRUE(has(x.yaml, "pasted.txt:4: 0000:0b:00.0 would sit below 0000:00:1c.0 at the position of 0000:0a:00.0: not imported")) << x.yaml;
}

TEST(LspciScenarioRegressions, ARootBusWithNoNumberLeftForItsBridgesIsLeftOut) {
    const imported x = import_text("00:1c.0 PCI bridge [0604]: Bridge [8086:244e]\n"
                                   "\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0\n\n"
                                   "ff:06.0 PCI bridge [0604]: Bridge on the last bus [8086:6f68]\n"
                                   "\tBus: primary=ff, secondary=00, subordinate=00, sec-latency=0\n");
    ASSERT_NE(find(x.s.platform.pcie, "pci-00-1c-0"), nullptr) << x.yaml;
    EXPECT_EQ(find(x.s.platform.pcie, "root-0000-ff"), nullptr);
    EXPECT_TRUE(has(x.yaml, "root bus 0000:ff left out: the buses before it and the 1 bridge(s) below it need numbers past ff")) << x.yaml;
    EXPECT_TRUE(has(x.yaml, "pasted.txt:4: 0000:ff:06.0 Bridge on the last bus: its root bus 0000:ff is left out: not imported")) << x.yaml;
}

} // namespace regressions

} // namespace
