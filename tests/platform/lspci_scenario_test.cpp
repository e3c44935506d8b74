// The scenario written from a real machine's lspci listing loads as the
// machine's hierarchy: every function the listing shows (bar the root
// complex's own host bridge) is a function of the scenario, at the position
// and with the type, IDs and ACS bits the listing gives; what could not be
// imported is said in comments.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "platform/loader.h"
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
    const std::string file = testing::TempDir() + "/" + name + ".yaml";
    std::ofstream(file) << out.str();
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

TEST(LspciScenario, ALaptopLoadsAndAServersOtherDomainsAreSaidNotImported) {
    const imported laptop = import_data("fujitsu-lifebook-p8010-ich8m.vvvnn.txt");
    EXPECT_EQ(count(laptop.s.platform.pcie), 21u);  // 22 functions less the host bridge
    const imported server = import_data("ibm-pcix-five-domains.vvvnn.txt");
    EXPECT_NE(server.yaml.find("domain 0001, root bus 00"), std::string::npos);
    EXPECT_NE(find(server.s.platform.pcie, "pci-00-03-0"), nullptr);  // domain 0 keeps the short id
}

} // namespace
