// The step vocabulary as data: every operation's schema, the loader's checks
// of steps against it (before anything runs), references resolved anywhere
// in args and expect, and values the real interface refuses only at run
// time reaching the model.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <regex>
#include <set>
#include <string>

#include "platform/builder.h"
#include "platform/loader.h"
#include "platform/operations.h"
#include "platform/references.h"
#include "platform/runner.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;

const std::string platform_yaml =
    "name: ops\n"
    "platform:\n"
    "  memory: 1GiB\n"
    "  pcie:\n"
    "    - { id: rp1, type: root_port, acs: [SV, RR, CR, UF],\n"
    "        children: [ { id: nic0, type: endpoint, model: dma_engine, bars: [ { index: 0, size: 4KiB } ] } ] }\n"
    "domains:\n"
    "  - { name: dom0, privileged: true, memory: 256MiB }\n"
    "  - { name: guest1, memory: 128MiB, devices: [nic0] }\n";

// The message of the input error `steps` raise, or "" when they load.
std::string load_error(const std::string& steps) {
    test::temp_dir dir;
    const std::string file = dir.write("s.yaml", platform_yaml + "steps:\n" + steps);
    try {
        load_scenario(file);
        return "";
    } catch (const input_error& e) {
        const std::string m = e.what();
        return m.substr(m.find("s.yaml") == std::string::npos ? 0 : m.find("s.yaml"));
    }
}

struct run {
    test::temp_dir dir;
    scenario s;
    std::unique_ptr<platform_instance> pi;
    std::unique_ptr<runner> r;

    explicit run(const std::string& steps) {
        s = load_scenario(dir.write("s.yaml", platform_yaml + "steps:\n" + steps));
        pi = build_platform(s);
        r = std::make_unique<runner>("runner", s, *pi);
        sc_core::sc_start();
        if (r->error()) std::rethrow_exception(r->error());
    }
    const step_outcome& step(std::size_t i) const { return r->report().steps.at(i); }
};

TEST(OperationSchemas, NamesAreInterfaceDotOperationAndUnique) {
    std::set<std::string> seen;
    for (const operation& o : operations().all()) {
        EXPECT_TRUE(std::regex_match(o.spec.name, std::regex("^(pci|mem|device|iommu|sim|physdev|gnttab|evtchn|domctl|proc|file|eventfd|xenevtchn|gntalloc|gntdev|blkif|lguest|vfio)\\.[a-z0-9_]+$"))) << o.spec.name;
        EXPECT_TRUE(seen.insert(o.spec.name).second) << o.spec.name;
        EXPECT_TRUE(o.impl) << o.spec.name;
        for (const arg_spec& a : o.spec.args) {
            EXPECT_LE(a.min, a.max) << o.spec.name << " " << a.name;
            EXPECT_FALSE(a.description.empty()) << o.spec.name << " " << a.name;
            EXPECT_TRUE(!a.required || a.default_value.empty()) << o.spec.name << " " << a.name << ": required with a default";
        }
    }
    EXPECT_GE(seen.size(), 16u);
}

TEST(OperationSchemas, TransferLimitsAreInTheSchema) {
    const op_spec* w = find_operation("mem.write");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->arg("data")->max, 1u << 20);
    EXPECT_EQ(find_operation("device.dma_read")->arg("len")->max, 1u << 20);
    EXPECT_EQ(find_operation("device.dma_write")->arg("requester_id")->max, 0xffffu);
}

TEST(StepChecks, StepWithoutArgsIsBlamedOnTheStepNotOnSet) {
    EXPECT_EQ(load_error("  - do: mem.read\n    as: guest1\n"), "s.yaml:11:5: mem.read needs args.addr (guest-physical (domain) or virtual (process) address, 64-bit)");
}

TEST(StepChecks, OutOfRangeValuesAreRefusedWithTheirPosition) {
    EXPECT_EQ(load_error("  - { do: device.dma_write, device: nic0, args: { addr: 0, data: 'ff', requester_id: 0x10000 } }\n"),
              "s.yaml:11:86: args.requester_id must be 0..0xffff, not '0x10000'");
    EXPECT_EQ(load_error("  - { do: mem.read, as: guest1, args: { addr: 0, len: 2MiB } }\n"),
              "s.yaml:11:55: args.len must be 1B..1MiB, not '2MiB'");
    EXPECT_EQ(load_error("  - { do: sim.wait, args: { time: 11s } }\n"), "s.yaml:11:35: time '11s' is longer than the 10s a scenario may give");
    EXPECT_EQ(load_error("  - { do: device.msi, device: nic0, args: { data: 0x100000000, address: 0xfee00000 } }\n"),
              "s.yaml:11:51: args.data must be 0..0xffffffff, not '0x100000000'");
}

TEST(StepChecks, ALargeWriteIsRefusedBeforeTheRun) {
    std::string data = "[";
    for (unsigned i = 0; i <= 1u << 20; ++i) data += "1,";
    data.back() = ']';
    EXPECT_EQ(load_error("  - { do: mem.write, as: guest1, args: { addr: 0, data: " + data + " } }\n"),
              "s.yaml:11:57: a list of 1048577 entries; at most 1048576");
}

TEST(StepChecks, ArgumentGroupsAreChecked) {
    EXPECT_EQ(load_error("  - { do: device.msi, device: nic0, args: { address: 0xfee00000 } }\n"),
              "s.yaml:11:43: device.msi: args.address and args.data go together");
    EXPECT_EQ(load_error("  - { do: device.msi, device: nic0, args: { vector: 0, address: 0xfee00000, data: 0 } }\n"),
              "s.yaml:11:43: device.msi: args.vector and args.address exclude each other");
}

TEST(StepChecks, ReferencesMustNameAFieldTheSavedOperationReturns) {
    EXPECT_EQ(load_error("  - { do: pci.resource, as: dom0, args: { device: nic0, bar: 0 }, save: r }\n"
                         "  - { do: mem.read, as: dom0, args: { addr: '$r.begin', len: 4 } }\n"),
              "s.yaml:12:45: '$r.begin': pci.resource (saved as 'r') returns no 'begin'");
    EXPECT_EQ(load_error("  - { do: mem.read, as: dom0, args: { addr: '$r.start', len: 4 } }\n"),
              "s.yaml:11:45: '$r.start' refers to 'r', which no earlier step saves");
    EXPECT_EQ(load_error("  - { do: pci.resource, as: dom0, args: { device: nic0, bar: 0 }, save: r }\n"
                         "  - { do: mem.read, as: dom0, args: { addr: '$r.start/2', len: 4 } }\n"),
              "s.yaml:12:45: reference '$r.start/2' must look like $name.field, $name.list[0], $name.field+0x100, "
              "$name.field*4096 or $name.field<<12");
}

TEST(StepChecks, ExpectKeysAreResultFieldsOfTheOperation) {
    EXPECT_EQ(load_error("  - { do: sim.wait, args: { time: 1ns }, expect: { value: 1 } }\n"),
              "s.yaml:11:52: unknown key 'value' in expect of sim.wait; it returns only the common fields");
    EXPECT_EQ(load_error("  - { do: device.dma_read, device: nic0, args: { addr: 0, len: 4 }, expect: { completion: OK } }\n"),
              "s.yaml:11:91: expect.completion must be SC, UR, CRS or CA, not 'OK'");
}

TEST(StepChecks, MessagesQuoteAShortEscapedExcerpt) {
    const std::string m = load_error("  - { do: \"mem.\\x01" + std::string(5000, 'r') + "\", as: guest1 }\n");
    EXPECT_LT(m.size(), 200u) << m;
    EXPECT_NE(m.find("'mem.\\x01rrr"), std::string::npos) << m;
    EXPECT_EQ(m.find('\x01'), std::string::npos);
}

TEST(References, ParseAndEvaluateWithOneOperation) {
    const auto r = parse_reference("$g.list[1].frame<<12");
    ASSERT_TRUE(r);
    nlohmann::ordered_json saved = {{"list", {{{"frame", 1}}, {{"frame", 0x42}}}}};
    EXPECT_EQ(evaluate(*r, saved), 0x42000u);
    EXPECT_EQ(evaluate(*parse_reference("$g.list[0].frame*4096"), saved), 4096u);
    EXPECT_EQ(evaluate(*parse_reference("$g.list[0].frame+0x10"), saved), 0x11u);
    EXPECT_THROW(evaluate(*parse_reference("$g.list[0].frame<<64"), saved), reference_error);
    EXPECT_THROW(evaluate(*parse_reference("$g.list[1].frame*0x1000000000000000"), saved), reference_error);
    EXPECT_THROW(evaluate(*parse_reference("$g.list[2]"), saved), reference_error);
    EXPECT_FALSE(parse_reference("$g.list[x]"));
    EXPECT_FALSE(parse_reference("$g+"));
    EXPECT_FALSE(parse_reference("$"));
}

TEST(StepRuns, ReferencesResolveAtAnyDepthOfArgsAndExpect) {
    const run r("  - { do: pci.config_read, as: guest1, args: { device: nic0, offset: 0, size: 1 }, save: v }\n"
                "  - { do: pci.resource, as: dom0, args: { device: nic0, bar: 0 }, save: bar }\n"
                "  - { do: mem.write, as: guest1, args: { addr: '$bar.size*2', data: ['$v.value', 7] } }\n"
                "  - { do: mem.read, as: guest1, args: { addr: '$bar.size<<1', len: 2 }, expect: { data: ['$v.value', 7] } }\n"
                "  - { do: mem.read, as: guest1, args: { addr: '$bar.end+1', len: 2 }, expect: { errno: EFAULT } }\n");
    for (std::size_t i = 0; i < 5; ++i) EXPECT_TRUE(r.step(i).ok) << i << ": " << r.step(i).message;
    const std::uint64_t v = r.step(0).result["value"].get<std::uint64_t>();
    char want[8];
    std::snprintf(want, sizeof want, "%02llx 07", static_cast<unsigned long long>(v));
    EXPECT_EQ(r.step(3).result["data"], want);
    EXPECT_EQ(r.step(3).expect["data"], "- " + std::to_string(v) + "\n- 7");  // the report shows resolved values
}

TEST(StepRuns, AResolvedValueOutsideItsRangeFailsTheStep) {
    const run r("  - { do: pci.resource, as: dom0, args: { device: nic0, bar: 0 }, save: bar }\n"
                "  - { do: device.dma_write, device: nic0, args: { addr: 0, data: 'ff', requester_id: '$bar.start' } }\n");
    EXPECT_FALSE(r.step(1).ok);
    EXPECT_NE(r.step(1).message.find("args.requester_id must be 0..0xffff"), std::string::npos) << r.step(1).message;
    EXPECT_FALSE(r.step(1).result.contains("issued")) << "the operation must not run";
}

TEST(StepRuns, ADomidWithoutDomainReachesTheModel) {
    const run r("  - { do: iommu.map, args: { domain: 77, iova: 0, address: 0, size: 4KiB }, expect: { errno: ESRCH } }\n"
                "  - { do: iommu.unmap, args: { domain: 1, iova: 0x1000, size: 4KiB }, expect: { errno: 0, unmapped: 0 } }\n");
    EXPECT_TRUE(r.step(0).ok) << r.step(0).message;
    EXPECT_TRUE(r.step(1).ok) << r.step(1).message;
}

TEST(StepRuns, LargeReadsAreCheckedWholeAndKeptShort) {
    std::string zeros = "[";
    for (int i = 0; i < 8192; ++i) zeros += "0,";
    zeros.back() = ']';
    const run r("  - { do: mem.read, as: guest1, args: { addr: 0x10000, len: 8KiB }, expect: { data: " + zeros + " } }\n"
                "  - { do: mem.read, as: guest1, args: { addr: 0x10000, len: 8KiB }, expect: { data: " + zeros.substr(0, zeros.size() - 3) + "] } }\n");
    EXPECT_TRUE(r.step(0).ok) << r.step(0).message;
    EXPECT_FALSE(r.step(1).ok) << "8191 expected bytes must not match 8192 read";
    EXPECT_LT(r.step(1).message.size(), 400u) << "a message quotes only the beginning of long values";
    const std::string kept = r.step(0).result["data"];
    EXPECT_LT(kept.size(), 200u);
    EXPECT_NE(kept.find("... (8192 bytes, fnv1a64 0x"), std::string::npos) << kept;
}

TEST(StepRuns, SimulatedTimeOfARunIsBounded) {
    std::string steps;
    // 8640 waits of 10 s, after the boot: the last ends past one day.
    for (int i = 0; i < 8641; ++i) steps += "  - { do: sim.wait, args: { time: 10s } }\n";
    try {
        run r(steps);
        FAIL() << "the run went past 100 s of simulated time";
    } catch (const input_error& e) {
        EXPECT_NE(std::string(e.what()).find("s.yaml:8650:5: step 8639 (sim.wait) ends at"), std::string::npos) << e.what();
    }
}

} // namespace
