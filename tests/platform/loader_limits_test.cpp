// Hostile input: files too large to commit (or made to measure) are written to
// a temporary directory; each must be refused with a positioned input_error
// (exit 2), never crash, hang or exhaust memory. Also the helpers of
// platform/limits.h and the bounded IOMMU unmap of a huge range.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "platform/builder.h"
#include "platform/limits.h"
#include "platform/loader.h"
#include "platform/runner.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace iotwin::platform;

class LoaderLimits : public ::testing::Test {
protected:
    iotwin::test::temp_dir temp;

    // The message of the input_error loading `text` raises ("" when none).
    std::string error(const std::string& text, const std::vector<std::string>& overrides = {}) {
        const std::string file = temp.write("s.yaml", text);
        try {
            load_scenario(file, overrides);
        } catch (const input_error& e) {
            std::string m = e.what();
            if (m.rfind(file, 0) == 0) m = "FILE" + m.substr(file.size());
            return m;
        }
        return "";
    }
};

const std::string head = "name: x\nplatform: { pcie: [] }\n";

std::string repeat(const std::string& s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

TEST(Excerpt, EscapesAndCuts) {
    EXPECT_EQ(excerpt("plain"), "plain");
    EXPECT_EQ(excerpt(std::string("a\x01\n\x7f\xff", 5)), "a\\x01\\x0a\\x7f\\xff");
    EXPECT_EQ(excerpt("back\\slash"), "back\\\\slash");
    EXPECT_EQ(excerpt(std::string(100, 'z')), std::string(40, 'z') + "...");
    EXPECT_EQ(excerpt(std::string(40, 'z')), std::string(40, 'z'));
}

TEST_F(LoaderLimits, FileLargerThanTheLimitIsRefusedBeforeParsing) {
    const std::string text = head + "description: " + std::string(limits::max_file_bytes, 'a') + "\n";
    EXPECT_EQ(error(text), "FILE:1:1: the file is " + std::to_string(text.size()) +
                               " bytes; a scenario may have at most 4194304 (4MiB)");
}

TEST_F(LoaderLimits, DirectoryIsNoFile) {
    try {
        load_scenario(temp.path());
        FAIL() << "no error";
    } catch (const input_error& e) {
        EXPECT_EQ(std::string(e.what()), temp.path() + ": is a directory");
    }
}

TEST_F(LoaderLimits, DescriptionLongerThanTheLimit) {
    EXPECT_EQ(error(head + "description: " + std::string(5000, 'd') + "\n"),
              "FILE:3:14: a value of 5000 characters ('" + std::string(40, 'd') + "...'); at most 4096");
}

TEST_F(LoaderLimits, ListLongerThanTheLimit) {
    EXPECT_EQ(error(head + "extra: [" + repeat("0,", limits::max_list_length + 1) + "]\n"),
              "FILE:3:8: a list of 1048577 entries; at most 1048576");
}

TEST_F(LoaderLimits, TooManySteps) {
    // The step count is checked before the steps are read.
    std::string text = "name: x\nplatform: { pcie: [] }\nsteps:\n";
    text += repeat("  - { do: sim.wait, args: { time: 1ns } }\n", limits::max_steps + 1);
    EXPECT_EQ(error(text), "FILE:4:3: steps has 10001 entries; a scenario may have at most 10000");
}

TEST_F(LoaderLimits, TooManyDomains) {
    std::string text = "name: x\nplatform: { memory: 1TiB, pcie: [] }\ndomains:\n";
    for (int i = 0; i < 65; ++i) text += "  - { name: d" + std::to_string(i) + ", memory: 1MiB }\n";
    EXPECT_EQ(error(text), "FILE:4:3: domains has 65 entries; a scenario may have at most 64");
}

TEST_F(LoaderLimits, TooManyProcesses) {
    std::string text = "name: x\nplatform: { pcie: [] }\ndomains: [{ name: d, memory: 1MiB }]\nprocesses:\n";
    for (int i = 0; i < 257; ++i) text += "  - { name: p" + std::to_string(i) + ", domain: d }\n";
    EXPECT_EQ(error(text), "FILE:5:3: processes has 257 entries; a scenario may have at most 256");
}

TEST_F(LoaderLimits, TooManyFunctions) {
    // 4097 functions: 17 levels would be too deep, so PCI devices behind bridges, 32 per bus.
    std::string text = "name: x\nplatform:\n  pcie:\n";
    int n = 0;
    for (int b = 0; b < 130; ++b) {
        text += "    - { id: br" + std::to_string(b) + ", type: pci_bridge, children: [";
        ++n;
        for (int d = 0; d < 32; ++d) text += (d ? ", " : "") + std::string("{ id: f") + std::to_string(n++) + ", type: pci_device }";
        text += "] }\n";
        if (b == 29) break;  // bus 0 has 31 free device numbers
    }
    // 3200 VFs and 31 functions on bus 0 are read first, then the bridges' children.
    text += "    - { id: pf, type: rciep, sriov: { total_vfs: 3200 } }\n";
    EXPECT_EQ(error(text), "FILE:31:80: more than 4096 PCI functions (virtual functions included)");
}

TEST_F(LoaderLimits, SetValueThatIsNotYaml) {
    EXPECT_EQ(error(head, {"platform.iommu=[1,"}),
              "--set: platform.iommu: '[1,' is not a YAML list or map: end of sequence flow not found");
}

TEST_F(LoaderLimits, SetPathLimits) {
    EXPECT_EQ(error(head, {repeat("a.", 20) + "b=1"}), "--set: " + repeat("a.", 20) + "b: the key has 21 parts; at most 16");
    EXPECT_EQ(error(head, {std::string(300, 'k') + "=1"}).substr(0, 7 + 80), "--set: " + std::string(80, 'k'));
    EXPECT_EQ(error(head, {"=1"}), "--set: =1: must be KEY=VALUE with KEY a dotted path");
    EXPECT_EQ(error(head, {"platform.iommu.iotlb.entries=" + std::string(5000, '9')}),
              "--set: platform.iommu.iotlb.entries: the value is 5000 characters; at most 4096");
}

TEST_F(LoaderLimits, ErrorInASetValueNamesTheSet) {
    EXPECT_EQ(error(head, {"platform.iommu.iotlb.entries=65537"}),
              "--set: platform.iommu.iotlb.entries: platform.iommu.iotlb.entries must be 1..65536 entries");
    EXPECT_EQ(error(head, {"platform.iommu.bogus=1"}),
              "--set: platform.iommu.bogus: unknown key 'bogus' in platform.iommu");
}

TEST_F(LoaderLimits, SetAliasesCannotExpandWithoutBound) {
    std::string v = "[&a [x,x,x,x,x,x,x,x,x,x]";
    for (char c = 'b'; c <= 'i'; ++c) {
        v += ", &" + std::string(1, c) + " [" + repeat("*" + std::string(1, c - 1) + ",", 9) + "*" + std::string(1, c - 1) + "]";
    }
    v += "]";
    const std::string e = error(head, {"extra=" + v});
    EXPECT_EQ(e, "--set: extra: the document expands to more than 4194304 nodes (anchors and aliases count once per use)");
}

TEST_F(LoaderLimits, MissingKeyOfAMapMadeByTheLoaderPointsAtTheStep) {
    const std::string text = head + "domains: [{ name: d, memory: 1MiB }]\nsteps:\n  - do: mem.read\n    as: d\n";
    EXPECT_EQ(error(text).substr(0, 15), "FILE:5:5: mem.r");
}

TEST_F(LoaderLimits, HugeTimesNeverWrap) {
    for (const char* t : {"1e30s", "18446744073709551616ps", "inf", "nan s", "-1ns"}) {
        const std::string e = error("name: x\nplatform:\n  simulation: { settle_limit: " + std::string(t) + " }\n");
        EXPECT_EQ(e.substr(0, 9), "FILE:3:31") << t << ": " << e;
    }
    EXPECT_NO_THROW(parse_time("10s", {}));
    EXPECT_THROW(parse_time("10.001s", {}), input_error);
}

TEST_F(LoaderLimits, DeeplyNestedFlowIsAParseErrorNotACrash) {
    const std::string e = error("name: " + std::string(100000, '[') + "\n");
    EXPECT_EQ(e.substr(0, 7), "FILE:2:") << e;  // yaml-cpp gives up at the line end
}

TEST_F(LoaderLimits, DeeplyNestedBlockMapsAreRefused) {
    std::string text = head + "extra:\n";
    for (int i = 0; i < 40; ++i) text += std::string(2 * (i + 1), ' ') + "k:\n";
    EXPECT_EQ(error(text).substr(error(text).find(": ") + 2), "nested deeper than 32 levels");
}

// An unmap of the whole 48-bit IOVA space reads only the tables that exist.
TEST(HugeUnmap, IsBoundedByWhatIsMapped) {
    iotwin::test::temp_dir temp;
    const std::string file = temp.write("unmap.yaml", R"(name: huge-unmap
platform:
  memory: 2GiB
  pcie:
    - id: rp1
      type: root_port
      children: [{ id: nic0, type: endpoint, model: dma_engine }]
domains:
  - { name: dom0, privileged: true, memory: 512MiB }
  - { name: guest1, memory: 256MiB, devices: [nic0] }
steps:
  - do: iommu.map
    args: { domain: guest1, iova: 0x0, address: 0x3000, size: 8KiB }
    expect: { errno: 0 }
  - do: iommu.map
    args: { domain: guest1, iova: 0x800000000000, address: 0xf000000, size: 64MiB }
    expect: { errno: EFAULT }
  - do: iommu.unmap
    args: { domain: guest1, iova: 0x0, size: 0x1000000000000 }
    expect: { errno: 0, unmapped: 8192 }
)");
    const scenario s = load_scenario(file);
    auto pi = build_platform(s);
    runner r("runner", s, *pi);
    sc_core::sc_start();
    ASSERT_FALSE(r.error());
    EXPECT_TRUE(r.report().pass);
    // A hang (a walk over every page of the 48-bit space) fails by the test's ctest timeout.
}

} // namespace
