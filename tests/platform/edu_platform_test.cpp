// edu in a described platform: the identity the model fixes reaches the
// static topology (`iotwin groups`) and the simulated configuration space
// (`iotwin lspci`), and a description that contradicts it is refused.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "platform/builder.h"
#include "platform/loader.h"
#include "platform/lspci.h"
#include "platform/topology.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;
using namespace sc_core;

const char* const platform_with_edu = R"(name: edu
platform:
  pcie:
    - id: rp1
      type: root_port
      at: "01.0"
      children:
        - { id: edu0, type: endpoint, model: edu }
    - id: rp2
      type: root_port
      at: "02.0"
      children:
        - { id: ep2, type: endpoint, model: dma_engine }
)";

scenario load(const std::string& yaml) {
    const test::temp_dir dir;
    return load_scenario(dir.write("edu_platform_test.yaml", yaml));
}

TEST(EduPlatform, TopologyTakesTheModelsIdentity) {
    const topology t = build_topology(load(platform_with_edu).platform);
    const topo_function& edu = t.at("edu0");
    EXPECT_EQ(edu.vendor, 0x1234);
    EXPECT_EQ(edu.device, 0x11e8);
    EXPECT_EQ(edu.class_code, 0x00ff00u);
    EXPECT_FALSE(edu.pcie_type.has_value());  // conventional PCI, as QEMU's edu
    // A model without an identity keeps the defaults of its type.
    const topo_function& other = t.at("ep2");
    EXPECT_EQ(other.vendor, 0x1b36);
    EXPECT_EQ(other.device, 0x00f0);
    EXPECT_TRUE(other.pcie_type.has_value());
}

TEST(EduPlatform, LspciShowsTheDevice) {
    const scenario s = load(platform_with_edu);
    std::ostringstream os;
    lspci(os, s, {false, 0});
    // As lspci shows QEMU's edu (1234 is not in pci.ids).
    EXPECT_NE(os.str().find("\n01:00.0 Unclassified device [00ff]: Device 1234:11e8 (rev 10)\n"), std::string::npos) << os.str();
}

TEST(EduPlatform, DescriptionMayNotChangeWhatTheModelFixes) {
    const std::string base = "name: edu\nplatform:\n  pcie:\n    - id: rp1\n      type: root_port\n      children:\n"
                             "        - id: edu0\n          type: endpoint\n          model: edu\n";
    for (const char* extra : {"          device: 0x1111\n", "          class: 0x020000\n",
                              "          bars: [ { index: 0, size: 4KiB } ]\n"}) {
        SCOPED_TRACE(extra);
        try {
            load(base + extra);
            ADD_FAILURE() << "accepted";
        } catch (const std::exception& e) {
            EXPECT_NE(std::string(e.what()).find("'edu0' is of model edu, whose "), std::string::npos) << e.what();
        }
    }
    EXPECT_NO_THROW(load(base + "          params: { dma_delay: 150ms, dma_mask: 0xffffffffffffffff }\n"));
}

} // namespace
