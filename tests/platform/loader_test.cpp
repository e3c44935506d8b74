// load_scenario on small files written to a temporary directory: values with
// units, --set overrides, the errors a user sees (with the right FILE:LINE:COL)
// and how the PCIe tree's positions are resolved.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "platform/loader.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;
using sc_core::sc_time;

class Loader : public ::testing::Test {
protected:
    test::temp_dir temp;
    const std::string& dir = temp.path();

    std::string write(const std::string& name, const std::string& text) { return temp.write(name, text); }
    scenario load(const std::string& text, const std::vector<std::string>& overrides = {}) {
        return load_scenario(write("s.yaml", text), overrides);
    }
    // The error load() raises; fails the test when there is none.
    input_error error(const std::string& text, const std::vector<std::string>& overrides = {}) {
        try {
            load(text, overrides);
        } catch (const input_error& e) {
            return e;
        }
        ADD_FAILURE() << "no input_error for:\n" << text;
        return input_error({}, "none");
    }
};

// Line and column (1-based) of the first occurrence of `needle` in `text`:
// where the loader must point for the token that starts there.
std::pair<int, int> where_in(const std::string& text, const std::string& needle) {
    const auto at = text.find(needle);
    EXPECT_NE(at, std::string::npos) << needle;
    int line = 1, col = 1;
    for (std::size_t i = 0; i < at; ++i) {
        if (text[i] == '\n') { ++line; col = 1; }
        else ++col;
    }
    return {line, col};
}

const std::string base = R"(name: loader-test
platform:
  memory: 2GiB
  pcie:
    - id: rp1
      type: root_port
      children:
        - id: ep0
          type: endpoint
          model: dma_engine
          bars: [ { index: 0, size: 64KiB, type: mem64 } ]
domains:
  - name: dom0
    privileged: true
    memory: 256MiB
  - name: guest1
    memory: 64MiB
    devices: [ep0]
)";

const pcie_node& child(const scenario& s, std::size_t i, std::size_t j) { return s.platform.pcie.at(i).children.at(j); }

// ---- values -----------------------------------------------------------------------

TEST_F(Loader, LoadsTheBasicScenario) {
    const scenario s = load(base);
    EXPECT_EQ(s.name, "loader-test");
    EXPECT_EQ(s.platform.memory, 2ull << 30);
    ASSERT_EQ(s.platform.pcie.size(), 1u);
    EXPECT_EQ(s.platform.pcie[0].type, node_type::root_port);
    EXPECT_EQ(child(s, 0, 0).id, "ep0");
    EXPECT_EQ(child(s, 0, 0).model, "dma_engine");
    ASSERT_EQ(s.domains.size(), 2u);
    EXPECT_TRUE(s.domains[0].privileged);
    EXPECT_EQ(s.domains[1].devices.at(0).first, "ep0");
    EXPECT_EQ(s.file, dir + "/s.yaml");
}

TEST_F(Loader, Sizes) {
    const scenario s = load(R"(name: sizes
platform:
  memory: 0x80000000
  pcie:
    - id: rp1
      type: root_port
      children:
        - id: ep0
          type: endpoint
          bars:
            - { index: 0, size: 4KiB }
            - { index: 1, size: 0x2000 }
            - { index: 2, size: 16GiB, type: mem64, prefetchable: true }
            - { index: 4, size: 256 }
domains:
  - name: dom0
    memory: 256MiB
  - name: guest1
    memory: 1048576
)");
    EXPECT_EQ(s.platform.memory, 2ull << 30);
    const auto& bars = child(s, 0, 0).bars;
    ASSERT_EQ(bars.size(), 4u);
    EXPECT_EQ(bars[0].size, 4096u);
    EXPECT_EQ(bars[1].size, 0x2000u);
    EXPECT_EQ(bars[2].size, 16ull << 30);
    EXPECT_EQ(bars[2].type, pci::bar_type::mem64);
    EXPECT_TRUE(bars[2].prefetchable);
    EXPECT_EQ(bars[3].size, 256u);
    EXPECT_EQ(s.domains[0].memory, 256ull << 20);
    EXPECT_EQ(s.domains[1].memory, 1ull << 20);
}

TEST_F(Loader, ParseSizeAndIntegerDirectly) {
    const source_pos p{"f", 1, 1};
    EXPECT_EQ(parse_size("4KiB", p), 4096u);
    EXPECT_EQ(parse_size("256MiB", p), 256ull << 20);
    EXPECT_EQ(parse_size("1TiB", p), 1ull << 40);
    EXPECT_EQ(parse_size("0x1000", p), 4096u);
    EXPECT_EQ(parse_size("0x10KiB", p), 16ull << 10);
    EXPECT_EQ(parse_size("64B", p), 64u);
    EXPECT_EQ(parse_size("100", p), 100u);
    EXPECT_THROW(parse_size("4KB", p), input_error);
    EXPECT_THROW(parse_size("KiB", p), input_error);
    EXPECT_THROW(parse_size("-4KiB", p), input_error);
    EXPECT_THROW(parse_size("4.5KiB", p), input_error);
    EXPECT_THROW(parse_size("17179869184TiB", p), input_error);  // overflows 64 bits
    EXPECT_EQ(parse_integer("0xFEE00000", p), 0xFEE00000u);
    EXPECT_EQ(parse_integer("0Xff", p), 0xffu);
    EXPECT_EQ(parse_integer("42", p), 42u);
    EXPECT_THROW(parse_integer("0x", p), input_error);
    EXPECT_THROW(parse_integer("0xg", p), input_error);
    EXPECT_THROW(parse_integer("12abc", p), input_error);
    EXPECT_THROW(parse_integer("-1", p), input_error);
    EXPECT_THROW(parse_integer("99999999999999999999999", p), input_error);
    // Not numbers either, though strtoull would take them after "0x".
    EXPECT_THROW(parse_integer("0x-1", p), input_error);
    EXPECT_THROW(parse_integer("0x+10", p), input_error);
    EXPECT_THROW(parse_integer("0x 10", p), input_error);
}

TEST_F(Loader, Times) {
    const scenario s = load(R"(name: times
platform:
  fabric: { port_latency: 10ns, root_complex_latency: 1.5us }
  simulation: { quantum: 250ps, settle_limit: 2ms }
  pcie: []
)");
    EXPECT_EQ(s.platform.fabric.port.forward_latency, sc_time(10, sc_core::SC_NS));
    EXPECT_EQ(s.platform.fabric.root_complex.latency, sc_time(1500, sc_core::SC_NS));
    EXPECT_EQ(s.platform.simulation.quantum, sc_time(250, sc_core::SC_PS));
    EXPECT_EQ(s.platform.simulation.settle_limit, sc_time(2, sc_core::SC_MS));
    const source_pos p{"f", 1, 1};
    EXPECT_EQ(parse_time("1s", p), sc_time(1, sc_core::SC_SEC));
    EXPECT_EQ(parse_time("0ns", p), sc_core::SC_ZERO_TIME);
    EXPECT_THROW(parse_time("10", p), input_error);
    EXPECT_THROW(parse_time("ns", p), input_error);
    EXPECT_THROW(parse_time("-5ns", p), input_error);
    EXPECT_THROW(parse_time("10 parsecs", p), input_error);
    EXPECT_THROW(parse_time("10xs", p), input_error);
}

TEST_F(Loader, HexIdentities) {
    const scenario s = load(R"(name: ids
platform:
  pcie:
    - id: rp1
      type: root_port
      vendor: 0x8086
      device: 0x7c10
      children:
        - id: nic
          type: endpoint
          vendor: 0x8086
          device: 0x10D3
          class: 0x020000
)");
    EXPECT_EQ(s.platform.pcie[0].vendor, 0x8086);
    EXPECT_EQ(s.platform.pcie[0].device, 0x7c10);
    EXPECT_FALSE(s.platform.pcie[0].class_code.has_value());
    EXPECT_EQ(child(s, 0, 0).device, 0x10d3);
    EXPECT_EQ(child(s, 0, 0).class_code, 0x020000u);
    const input_error e = error(R"(name: ids
platform:
  pcie:
    - id: rp1
      type: root_port
      vendor: 0x18086
)");
    EXPECT_NE(std::string(e.what()).find("16 bits"), std::string::npos) << e.what();
}

// ---- --set -----------------------------------------------------------------------

TEST_F(Loader, SetReplacesAValue) {
    const scenario s = load(base, {"platform.memory=4GiB", "domains.1.memory=128MiB"});
    EXPECT_EQ(s.platform.memory, 4ull << 30);
    EXPECT_EQ(s.domains[1].memory, 128ull << 20);
    EXPECT_EQ(s.domains[0].memory, 256ull << 20);
}

TEST_F(Loader, SetAddsMissingKeys) {
    const scenario s = load(base, {"platform.iommu.iotlb.entries=128", "platform.iommu.enabled=false", "seed=7"});
    EXPECT_EQ(s.platform.iommu.iotlb_entries, 128u);
    EXPECT_FALSE(s.platform.iommu_enabled);
    EXPECT_EQ(s.seed, 7u);
}

TEST_F(Loader, SetIndexesListsAtAnyDepth) {
    const scenario s = load(base, {"platform.pcie.0.children.0.model=bar_ram", "platform.pcie.0.children.0.bars.0.size=8KiB"});
    EXPECT_EQ(child(s, 0, 0).model, "bar_ram");
    EXPECT_EQ(child(s, 0, 0).bars.at(0).size, 8192u);
}

TEST_F(Loader, SetWithAFlowValue) {
    const scenario s = load(base, {"domains.0.devices=[ep0]", "domains.1.devices=[]"});
    ASSERT_EQ(s.domains[0].devices.size(), 1u);
    EXPECT_EQ(s.domains[0].devices[0].first, "ep0");
    EXPECT_TRUE(s.domains[1].devices.empty());
}

TEST_F(Loader, SetWithABadIndexIsAnError) {
    const input_error e = error(base, {"domains.5.memory=1MiB"});
    EXPECT_EQ(e.where.line, 0);
    EXPECT_NE(std::string(e.what()).find("'5' is not an index"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("0..1"), std::string::npos) << e.what();
    const input_error f = error(base, {"domains.x.memory=1MiB"});
    EXPECT_NE(std::string(f.what()).find("not an index"), std::string::npos) << f.what();
    EXPECT_THROW(load(base, {"platform.pcie.3=x"}), input_error);
}

TEST_F(Loader, SetWithoutEqualsOrIntoAScalarIsAnError) {
    EXPECT_THROW(load(base, {"platform.memory"}), input_error);
    EXPECT_THROW(load(base, {"=3"}), input_error);
    EXPECT_THROW(load(base, {"name.sub=3"}), input_error);
    EXPECT_THROW(load(base, {"platform..memory=3"}), input_error);
}

TEST_F(Loader, SetValuesAreValidatedLikeFileValues) {
    const input_error e = error(base, {"platform.memory=lots"});
    EXPECT_EQ(e.where.str(), "--set");  // not a line of the file: the user typed it
    EXPECT_NE(std::string(e.what()).find("'lots' is not a size"), std::string::npos) << e.what();
    const input_error k = error(base, {"platform.iommu.iotlb.entriez=8"});
    EXPECT_NE(std::string(k.what()).find("did you mean 'iotlb.entries'"), std::string::npos) << k.what();
}

// ---- unknown keys ---------------------------------------------------------------------

TEST_F(Loader, UnknownKeysNameTheNearestValidKey) {
    const std::string text = R"(name: x
platform:
  memory: 1GiB
  memroy: 2GiB
  pcie: []
)";
    const input_error e = error(text);
    EXPECT_NE(std::string(e.what()).find("unknown key 'memroy' in platform (did you mean 'memory'?)"), std::string::npos) << e.what();
    const auto [line, col] = where_in(text, "memroy");
    EXPECT_EQ(e.where.line, line);
    EXPECT_EQ(e.where.col, col);
    EXPECT_EQ(e.where.file, dir + "/s.yaml");
    EXPECT_EQ(std::string(e.what()).rfind(dir + "/s.yaml:4:3: ", 0), 0u) << e.what();
}

TEST_F(Loader, UnknownKeysInNestedPlaces) {
    const std::string fn = R"(name: x
platform:
  pcie:
    - id: rp1
      type: root_port
      childern: []
)";
    const input_error e = error(fn);
    EXPECT_NE(std::string(e.what()).find("did you mean 'children'"), std::string::npos) << e.what();
    EXPECT_EQ(std::make_pair(e.where.line, e.where.col), where_in(fn, "childern"));
    const std::string param = R"(name: x
platform:
  iommu:
    iotlb: { entries: 64, wayz: 4 }
  pcie: []
)";
    const input_error p = error(param);
    EXPECT_NE(std::string(p.what()).find("unknown key 'iotlb.wayz'"), std::string::npos) << p.what();
    EXPECT_NE(std::string(p.what()).find("did you mean 'iotlb.ways'"), std::string::npos) << p.what();
    EXPECT_EQ(std::make_pair(p.where.line, p.where.col), where_in(param, "wayz"));
    // Nothing close: no suggestion.
    const input_error far = error("name: x\nplatform: { pcie: [] }\nzzzzzzzzzz: 1\n");
    EXPECT_EQ(std::string(far.what()).find("did you mean"), std::string::npos) << far.what();
}

TEST_F(Loader, NearestIsByEditDistance) {
    EXPECT_EQ(nearest("memroy", {"memory", "iommu", "pcie"}), "memory");
    EXPECT_EQ(nearest("pcei", {"memory", "iommu", "pcie"}), "pcie");
    EXPECT_EQ(nearest("xyzzy", {"memory", "iommu", "pcie"}), "");
}

// ---- error positions ------------------------------------------------------------------

TEST_F(Loader, ErrorPositionsPointAtTheOffendingValue) {
    const std::string bad_size = R"(name: x
platform:
  pcie:
    - id: rp1
      type: root_port
      children:
        - id: ep0
          type: endpoint
          bars: [ { index: 0, size: 3KiB } ]
)";
    const input_error e = error(bad_size);
    EXPECT_EQ(std::make_pair(e.where.line, e.where.col), where_in(bad_size, "3KiB"));
    EXPECT_NE(std::string(e.what()).find("power of two"), std::string::npos) << e.what();

    const std::string bad_time = "name: x\nplatform:\n  simulation:\n    quantum: fast\n  pcie: []\n";
    const input_error t = error(bad_time);
    EXPECT_EQ(std::make_pair(t.where.line, t.where.col), where_in(bad_time, "fast"));

    const std::string bad_ref = R"(name: x
platform:
  pcie:
    - id: rp1
      type: root_port
      children:
        - { id: ep0, type: endpoint }
domains:
  - name: guest1
    memory: 64MiB
    devices: [rp1, ep0]
)";
    const input_error r = error(bad_ref);
    EXPECT_EQ(std::make_pair(r.where.line, r.where.col), where_in(bad_ref, "rp1, ep0"));
    EXPECT_NE(std::string(r.what()).find("only endpoints"), std::string::npos) << r.what();
}

TEST_F(Loader, YamlSyntaxErrorsCarryAPosition) {
    const input_error e = error("name: x\nplatform:\n  pcie: [\n");
    EXPECT_GT(e.where.line, 0);
    EXPECT_EQ(e.where.file, dir + "/s.yaml");
}

TEST_F(Loader, MissingAndEmptyFiles) {
    try {
        load_scenario(dir + "/nope.yaml");
        ADD_FAILURE() << "no error for a missing file";
    } catch (const input_error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot read"), std::string::npos);
    }
    const input_error e = error("");
    EXPECT_EQ(e.where.line, 1);
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos);
}

// ---- the PCIe tree --------------------------------------------------------------------------

TEST_F(Loader, DeviceNumbersInOrderOfAppearanceWhenAtIsMissing) {
    const scenario s = load(R"(name: order
platform:
  pcie:
    - { id: a, type: root_port }
    - { id: b, type: root_port, at: "01.0" }
    - { id: c, type: root_port }
    - { id: d, type: root_port }
    - { id: e, type: root_port, at: "1f.0" }
)");
    const auto& p = s.platform.pcie;
    ASSERT_EQ(p.size(), 5u);
    // Explicit positions are taken first; the rest fill the lowest free numbers
    // in order, from 1 on bus 0 (00:00.0 is the root complex's host bridge).
    EXPECT_EQ(p[0].dev, 2);
    EXPECT_EQ(p[1].dev, 1);
    EXPECT_EQ(p[2].dev, 3);
    EXPECT_EQ(p[3].dev, 4);
    EXPECT_EQ(p[4].dev, 31);
    for (const auto& n : p) EXPECT_EQ(n.fn, 0) << n.id;
    EXPECT_FALSE(p[0].at_given);
    EXPECT_TRUE(p[1].at_given);
    // The order of the description is kept.
    EXPECT_EQ(p[0].id, "a");
    EXPECT_EQ(p[4].id, "e");
}

TEST_F(Loader, ExplicitPositionLaterInTheListIsStillReserved) {
    const scenario s = load(R"(name: order
platform:
  pcie:
    - { id: a, type: root_port }
    - { id: b, type: root_port }
    - { id: c, type: root_port, at: "01.0" }
)");
    EXPECT_EQ(s.platform.pcie[0].dev, 2);
    EXPECT_EQ(s.platform.pcie[1].dev, 3);
    EXPECT_EQ(s.platform.pcie[2].dev, 1);
}

TEST_F(Loader, FunctionsOfOneDeviceKeepTheirPositionAndMultifunctionIsLeftToTheBuilder) {
    const scenario s = load(R"(name: mf
platform:
  pcie:
    - { id: lpc, type: rciep, at: "1f.0" }
    - { id: smbus, type: rciep, at: "1f.3" }
    - { id: rp1, type: root_port }
)");
    const auto& p = s.platform.pcie;
    EXPECT_EQ(p[0].dev, 0x1f);
    EXPECT_EQ(p[0].fn, 0);
    EXPECT_EQ(p[1].dev, 0x1f);
    EXPECT_EQ(p[1].fn, 3);
    EXPECT_EQ(p[2].dev, 1);
    EXPECT_EQ(p[2].fn, 0);
    // The loader says nothing about the header's multifunction bit unless told.
    for (const auto& n : p) EXPECT_FALSE(n.multifunction.has_value()) << n.id;
    const scenario t = load(R"(name: mf
platform:
  pcie:
    - { id: lpc, type: rciep, at: "1f.0", multifunction: false }
)");
    EXPECT_EQ(t.platform.pcie[0].multifunction, false);
}

TEST_F(Loader, PositionErrors) {
    const std::string same = R"(name: x
platform:
  pcie:
    - { id: a, type: rciep, at: "02.0" }
    - { id: b, type: rciep, at: "02.0" }
)";
    const input_error e = error(same);
    EXPECT_NE(std::string(e.what()).find("same position"), std::string::npos) << e.what();
    EXPECT_EQ(e.where.line, 5);
    const input_error f = error(R"(name: x
platform:
  pcie:
    - { id: a, type: rciep, at: "02.3" }
)");
    EXPECT_NE(std::string(f.what()).find("no function 0"), std::string::npos) << f.what();
    const input_error g = error(R"(name: x
platform:
  pcie:
    - id: rp1
      type: root_port
      children:
        - { id: ep0, type: endpoint, at: "01.0" }
)");
    EXPECT_NE(std::string(g.what()).find("only device 0"), std::string::npos) << g.what();
    EXPECT_THROW(load("name: x\nplatform:\n  pcie:\n    - { id: a, type: rciep, at: \"20.0\" }\n"), input_error);
    EXPECT_THROW(load("name: x\nplatform:\n  pcie:\n    - { id: a, type: rciep, at: \"1.8\" }\n"), input_error);
}

TEST_F(Loader, SriovVirtualFunctionIdsAreReserved) {
    const std::string pf = R"(name: sriov
platform:
  pcie:
    - id: rp1
      type: root_port
      children:
        - id: nic
          type: endpoint
          sriov: { total_vfs: 4, num_vfs: 2 }
domains:
  - name: guest1
    memory: 64MiB
    devices: [nic-vf1]
)";
    const scenario s = load(pf);
    ASSERT_TRUE(child(s, 0, 0).sriov.has_value());
    EXPECT_EQ(child(s, 0, 0).sriov->total_vfs, 4u);
    EXPECT_EQ(child(s, 0, 0).sriov->num_vfs, 2u);
    EXPECT_EQ(s.domains[0].devices[0].first, "nic-vf1");
    // Only the enabled VFs have ids.
    std::string beyond = pf;
    beyond.replace(beyond.find("nic-vf1"), 7, "nic-vf2");
    EXPECT_THROW(load(beyond), input_error);
    // A function may not take a VF's id, whichever comes first.
    const std::string clash_after = R"(name: sriov
platform:
  pcie:
    - id: rp1
      type: root_port
      children:
        - { id: nic, type: endpoint, sriov: { total_vfs: 2 } }
    - { id: nic-vf0, type: rciep }
)";
    const input_error a = error(clash_after);
    EXPECT_NE(std::string(a.what()).find("nic-vf0"), std::string::npos) << a.what();
    EXPECT_GT(a.where.line, 0);
    const std::string clash_before = R"(name: sriov
platform:
  pcie:
    - { id: nic-vf1, type: rciep }
    - id: rp1
      type: root_port
      children:
        - { id: nic, type: endpoint, sriov: { total_vfs: 2 } }
)";
    const input_error b = error(clash_before);
    EXPECT_NE(std::string(b.what()).find("nic-vf1"), std::string::npos) << b.what();
}

TEST_F(Loader, PlacementRules) {
    const scenario s = load(R"(name: x
platform:
  pcie:
    - id: r
      type: root_port
      children:
        - id: br
          type: pcie_pci_bridge
          children:
            - { id: a, type: pci_device }
            - { id: b, type: pci_device }
)");
    const auto& br = child(s, 0, 0);
    EXPECT_EQ(br.children.at(0).dev, 0);
    EXPECT_EQ(br.children.at(1).dev, 1);  // a conventional bus has many devices
    EXPECT_TRUE(s.warnings.empty());       // a tree physical hardware builds
    // A bridge to PCI without a PCI Express capability below a root port
    // (ASMedia ASM1083) exists in silicon too.
    EXPECT_TRUE(load(R"(name: x
platform:
  pcie:
    - id: r
      type: root_port
      children:
        - id: asm1083
          type: pci_bridge
          vendor: 0x1b21
          device: 0x1080
          children:
            - { id: card, type: pci_device }
)").warnings.empty());
}

// Every tree Linux enumerates is valid; where physical hardware cannot build
// it (virtual platforms do), the loader warns once, at the function.
TEST_F(Loader, TreesLinuxEnumeratesAreAcceptedWithAWarning) {
    const std::vector<std::pair<std::string, std::string>> trees = {
        // QEMU's e1000 or edu on a pcie-root-port.
        {"conventional function below a root port", R"(
    - id: r
      type: root_port
      children:
        - { id: f, type: pci_device, at: "00.0" }
)"},
        {"conventional function below a downstream port", R"(
    - id: r
      type: root_port
      children:
        - id: u
          type: upstream_port
          children:
            - id: d
              type: downstream_port
              children:
                - { id: f, type: pci_device }
)"},
        {"conventional bridge on a switch's internal bus", R"(
    - id: r
      type: root_port
      children:
        - id: u
          type: upstream_port
          children:
            - id: f
              type: pci_bridge
              children:
                - { id: card, type: pci_device }
)"},
        // QEMU's pcie-pci-bridge on pcie.0.
        {"PCIe-to-PCI bridge on the root bus", R"(
    - id: f
      type: pcie_pci_bridge
      children:
        - { id: card, type: pci_device, at: "01.0" }
)"},
        {"PCIe-to-PCI bridge behind a PCI bridge", R"(
    - id: p
      type: pci_bridge
      children:
        - { id: f, type: pcie_pci_bridge }
)"},
        {"PCIe endpoint behind a PCIe-to-PCI bridge", R"(
    - id: r
      type: root_port
      children:
        - id: p
          type: pcie_pci_bridge
          children:
            - { id: f, type: endpoint, at: "03.0" }
)"},
        {"PCIe endpoint on the root bus", R"(
    - { id: f, type: endpoint }
)"},
        {"endpoint on a switch's internal bus", R"(
    - id: r
      type: root_port
      children:
        - id: u
          type: upstream_port
          children:
            - { id: f, type: endpoint, at: "04.0" }
)"},
        {"root port below a root port", R"(
    - id: r
      type: root_port
      children:
        - { id: f, type: root_port }
)"},
        {"upstream port on the root bus", R"(
    - id: f
      type: upstream_port
      children:
        - { id: d, type: downstream_port }
)"},
    };
    for (const auto& [what, tree] : trees) {
        SCOPED_TRACE(what);
        const std::string text = "name: x\nplatform:\n  pcie:" + tree;
        scenario s;
        try {
            s = load(text);
        } catch (const input_error& e) {
            ADD_FAILURE() << "refused: " << e.what();
            continue;
        }
        ASSERT_EQ(s.warnings.size(), 1u);
        const input_warning& w = s.warnings[0];
        EXPECT_NE(w.what.find("'f'"), std::string::npos) << w.what;
        EXPECT_NE(w.what.find("Linux enumerates it all the same"), std::string::npos) << w.what;
        // At the function: where its mapping starts ("id" of "- id: f", "{" of "- { id: f").
        const bool flow = text.find("{ id: f") != std::string::npos;
        const auto [line, col] = where_in(text, flow ? "{ id: f" : "id: f");
        EXPECT_EQ(w.where.line, line) << w.str();
        EXPECT_EQ(w.where.col, col) << w.str();
        EXPECT_EQ(w.str().rfind(dir, 0), 0u) << w.str();
        EXPECT_NE(w.str().find(":" + std::to_string(line) + ":" + std::to_string(col) + ": warning: "), std::string::npos) << w.str();
    }
}

TEST_F(Loader, TreesLinuxWouldNotSeeAsWrittenStayErrors) {
    struct bad_tree { std::string tree, message; int line; };
    const std::vector<bad_tree> trees = {
        // Only device 0 is scanned below a PCI Express downstream port (only_one_child()).
        {R"(
    - id: r
      type: root_port
      children:
        - { id: f, type: pci_device, at: "01.0" }
)", "only device 0", 7},
        {R"(
    - id: r
      type: root_port
      children:
        - { id: f, type: downstream_port }
)", "downstream port outside a switch", 7},
        {R"(
    - id: f
      type: downstream_port
)", "downstream port outside a switch", 4},
        // set_pcie_port_type() makes it a downstream port.
        {R"(
    - id: r
      type: root_port
      children:
        - id: u
          type: upstream_port
          children:
            - { id: f, type: upstream_port }
)", "write downstream_port", 10},
        {R"(
    - id: r
      type: root_port
      children:
        - { id: f, type: host_bridge, root_bus: 0x40 }
)", "host bridges sit on bus 0", 7},
        {R"(
    - id: f
      type: pci_device
      children:
        - { id: g, type: pci_device }
)", "cannot have children", 7},
    };
    for (const bad_tree& b : trees) {
        SCOPED_TRACE(b.tree);
        const input_error e = error("name: x\nplatform:\n  pcie:" + b.tree);
        EXPECT_NE(std::string(e.what()).find(b.message), std::string::npos) << e.what();
        EXPECT_EQ(e.where.line, b.line) << e.what();
    }
}

TEST_F(Loader, AcsOnAConventionalFunctionIsIgnoredWithAWarning) {
    const std::string text = R"(name: x
platform:
  pcie:
    - id: p
      type: pci_device
      at: "03.0"
      acs: [SV, RR, CR, UF]
)";
    const scenario s = load(text);
    ASSERT_EQ(s.warnings.size(), 1u);
    EXPECT_NE(s.warnings[0].what.find("no ACS capability"), std::string::npos) << s.warnings[0].what;
    const auto [line, col] = where_in(text, "[SV");
    EXPECT_EQ(s.warnings[0].where.line, line);
    EXPECT_EQ(s.warnings[0].where.col, col);
    // A PCIe function's ACS capability is no news.
    EXPECT_TRUE(load("name: x\nplatform:\n  pcie:\n    - { id: r, type: root_port, acs: [SV] }\n").warnings.empty());
}

TEST_F(Loader, DomainMemoryMustFit) {
    const input_error e = error(base, {"domains.1.memory=2GiB"});
    EXPECT_NE(std::string(e.what()).find("the domains need"), std::string::npos) << e.what();
}

} // namespace
