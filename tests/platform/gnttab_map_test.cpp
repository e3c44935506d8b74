// Mapping and copying grants through the public interface (scenario steps):
// maptrack handles and their limits, allocation failures, mapping one's own
// grant, a guest changing its entry while it is mapped, what the
// grant_integrity checker observes and reports, and what the operations cost.
#include <gtest/gtest.h>

#include <string>

#include "platform/invariants.h"
#include "platform/loader.h"
#include "platform/runner.h"
#include "tests/support/scenario_run.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;

// guest1 (HVM) grants frame 0x100 to guest2 with v1 entry 8 (written through its memory).
std::string yaml(const std::string& guest2_extra, const std::string& steps, const std::string& invariants = "[dma_isolation]") {
    return "name: t\nseed: 1\nplatform: { memory: 2GiB }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 512MiB }\n"
           "  - { name: guest1, memory: 256MiB }\n"
           "  - { name: guest2, memory: 256MiB" + guest2_extra + " }\n"
           "steps:\n"
           "  - { do: mem.write, as: guest1, args: { addr: 0x10000040, data: \"01 00 02 00 00 01 00 00\" } }\n" +
           steps + "invariants: " + invariants + "\n";
}

std::string map_at(std::uint64_t host_addr, const std::string& as = "guest2", const std::string& dom = "guest1", int ref = 8) {
    return "  - { do: gnttab.map_grant_ref, as: " + as + ", args: { host_addr: " + std::to_string(host_addr) +
           ", flags: [GNTMAP_host_map], ref: " + std::to_string(ref) + ", dom: " + dom + " } }\n";
}

const auto& result(const test::scenario_run& r, std::size_t i) { return r.report().steps.at(i).result; }

TEST(GnttabMap, HandlesComeFromTheFreeListInXensOrder) {
    // Three maps (handles 0, 1, 2), unmap handle 0, map again: a freed handle
    // goes to the tail of the free list, so the next map gets 3, not 0.
    std::string s;
    for (int i = 0; i < 3; ++i) s += map_at(0x200000 + i * 0x1000);
    s += "  - { do: gnttab.unmap_grant_ref, as: guest2, args: { host_addr: 0x200000, handle: 0 } }\n";
    s += map_at(0x200000);
    test::scenario_run r(yaml("", s));
    for (std::size_t i = 1; i <= 3; ++i) {
        EXPECT_EQ(result(r, i)["status"], "GNTST_okay");
        EXPECT_EQ(result(r, i)["handle"], i - 1);
    }
    EXPECT_EQ(result(r, 4)["status"], "GNTST_okay");
    EXPECT_EQ(result(r, 5)["handle"], 3);
}

TEST(GnttabMap, MaptrackLimitIsXensOneFrameLessTheSentinel) {
    // One maptrack frame holds 256 handles; one always stays in the free
    // list, so the 256th map fails with GNTST_no_space (map_grant_ref
    // of current Xen), and the earlier mappings are intact.
    // Entry 9 as well: a pin counter holds at most 128 mappings of one entry.
    std::string s = "  - { do: mem.write, as: guest1, args: { addr: 0x10000048, data: \"01 00 02 00 01 01 00 00\" } }\n"
                    "  - { do: gnttab.map_grant_ref, as: guest2, args: { ops: [";
    for (int i = 0; i < 256; ++i)
        s += std::string(i ? ", " : "") + "{ host_addr: " + std::to_string(0x200000 + i * 0x1000) +
             ", flags: [GNTMAP_host_map, GNTMAP_readonly], ref: " + (i < 128 ? "8" : "9") + ", dom: guest1 }";
    s += "] } }\n" + map_at(0x400000);
    test::scenario_run r(yaml(", grant_table: { max_maptrack_frames: 1 }", s));
    const auto& ops = result(r, 2)["ops"];
    ASSERT_EQ(ops.size(), 256u);
    EXPECT_EQ(ops[127]["status"], "GNTST_okay");
    EXPECT_EQ(ops[254]["status"], "GNTST_okay");
    EXPECT_EQ(ops[254]["handle"], 254);
    EXPECT_EQ(ops[255]["status"], "GNTST_no_space");
    EXPECT_EQ(result(r, 2)["rc"], 0);
    EXPECT_EQ(result(r, 3)["status"], "GNTST_no_space");
}

TEST(GnttabMap, APinCounterAboutToOverflowRefusesTheMap) {
    // map_grant_ref refuses a map when a pin counter has its top bit set
    // (0x80808080): 128 host mappings of one entry, the 129th fails.
    std::string s = "  - { do: gnttab.map_grant_ref, as: guest2, args: { ops: [";
    for (int i = 0; i < 129; ++i)
        s += std::string(i ? ", " : "") + "{ host_addr: " + std::to_string(0x200000 + i * 0x1000) +
             ", flags: [GNTMAP_host_map, GNTMAP_readonly], ref: 8, dom: guest1 }";
    s += "] } }\n";
    test::scenario_run r(yaml("", s));
    EXPECT_EQ(result(r, 1)["ops"][127]["status"], "GNTST_okay");
    EXPECT_EQ(result(r, 1)["ops"][128]["status"], "GNTST_general_error");
}

TEST(GnttabMap, MaptrackFrameAllocationFailureIsNoDeviceSpace) {
    test::scenario_run r(yaml("", "  - { do: sim.fail_alloc, args: { count: 1 } }\n" + map_at(0x200000) + map_at(0x200000)));
    EXPECT_EQ(result(r, 2)["status"], "GNTST_no_space");
    EXPECT_EQ(result(r, 3)["status"], "GNTST_okay");  // the next allocation succeeds
    // Nothing of the failed attempt stayed: the entry is pinned once.
}

TEST(GnttabMap, MappingOnesOwnGrantWorks) {
    // guest1 grants frame 0x100 to itself (domid 1) and maps it at 0x300000.
    test::scenario_run r(yaml("",
                              "  - { do: mem.write, as: guest1, args: { addr: 0x10000048, data: \"01 00 01 00 00 01 00 00\" } }\n"
                              "  - { do: mem.write, as: guest1, args: { addr: 0x100000, data: \"5a\" } }\n" +
                                  map_at(0x300000, "guest1", "guest1", 9) +
                                  "  - { do: mem.read, as: guest1, args: { addr: 0x300000, len: 1 } }\n"));
    EXPECT_EQ(result(r, 3)["status"], "GNTST_okay");
    EXPECT_EQ(result(r, 4)["data"], "5a");
}

TEST(GnttabMap, AGuestRewritingItsEntryWhileMappedCannotHijackTheMapping) {
    // guest2 maps entry 8. guest1 then rewrites the entry to grant dom0 a
    // different frame. The active entry stays pinned to guest2 and its frame:
    // dom0's map fails, guest2 still reaches the original frame, and the
    // unmap's atomic clear of GTF_reading | GTF_writing leaves the guest's own
    // fields as it wrote them.
    test::scenario_run r(yaml("", map_at(0x200000) +
                                      "  - { do: mem.write, as: guest1, args: { addr: 0x10000040, data: \"19 00 00 00 05 01 00 00\" } }\n" +
                                      map_at(0x300000, "dom0") +
                                      "  - { do: mem.write, as: guest1, args: { addr: 0x100000, data: \"77\" } }\n"
                                      "  - { do: mem.read, as: guest2, args: { addr: 0x200000, len: 1 } }\n"
                                      "  - { do: gnttab.unmap_grant_ref, as: guest2, args: { host_addr: 0x200000, handle: 0 } }\n"
                                      "  - { do: mem.read, as: guest1, args: { addr: 0x10000040, len: 8 } }\n" + map_at(0x300000, "dom0")));
    EXPECT_EQ(result(r, 1)["status"], "GNTST_okay");
    EXPECT_EQ(result(r, 3)["status"], "GNTST_general_error");
    EXPECT_EQ(result(r, 5)["data"], "77");
    EXPECT_EQ(result(r, 6)["status"], "GNTST_okay");
    EXPECT_EQ(result(r, 7)["data"], "01 00 00 00 05 01 00 00");
    // Now the rewritten entry is in force: dom0 gets frame 0x105.
    EXPECT_EQ(result(r, 8)["status"], "GNTST_okay");
}

TEST(GnttabMap, AnUnstableEntryFailsCleanly) {
    // An entry whose domid is not the mapper's fails with
    // GNTST_general_error, and the hypervisor left the entry as it was.
    test::scenario_run r(yaml("", "  - { do: mem.write, as: guest1, args: { addr: 0x10000040, data: \"01 00 03 00 00 01 00 00\" } }\n" +
                                      map_at(0x200000) + "  - { do: mem.read, as: guest1, args: { addr: 0x10000040, len: 8 } }\n"));
    EXPECT_EQ(result(r, 2)["status"], "GNTST_general_error");
    EXPECT_EQ(result(r, 3)["data"], "01 00 03 00 00 01 00 00");
}

TEST(GnttabMap, AFrameTheGranterDoesNotHaveIsBadPage) {
    // An HVM granter's frame is a guest frame: one beyond its memory is GNTST_bad_page.
    test::scenario_run r(yaml("", "  - { do: mem.write, as: guest1, args: { addr: 0x10000040, data: \"01 00 02 00 00 00 10 00\" } }\n" +
                                      map_at(0x200000) + "  - { do: mem.read, as: guest1, args: { addr: 0x10000040, len: 2 } }\n"));
    EXPECT_EQ(result(r, 2)["status"], "GNTST_bad_page");
    EXPECT_EQ(result(r, 3)["data"], "01 00");  // GTF_reading / GTF_writing cleared again
}

TEST(GnttabMap, MapAndUnmapCostSimulatedTime) {
    test::scenario_run r(yaml("", map_at(0x200000) + "  - { do: gnttab.unmap_grant_ref, as: guest2, args: { host_addr: 0x200000, handle: 0 } }\n"));
    const auto& st = r.report().steps;
    // Hypercall entry + exit (500 ns) + the operation (50 ns) + one P2M entry (40 ns) + the entry's accesses.
    EXPECT_GT(st[1].end - st[1].start, sc_core::sc_time(590, sc_core::SC_NS));
    EXPECT_GT(st[2].end - st[2].start, sc_core::sc_time(590, sc_core::SC_NS));
}

TEST(GnttabMap, UnmapAndReplaceRefusesNewAddrForHvm) {
    test::scenario_run r(yaml("", map_at(0x200000) +
                                      "  - { do: gnttab.unmap_and_replace, as: guest2, args: { host_addr: 0x200000, new_addr: 0x300000, handle: 0 } }\n"
                                      "  - { do: gnttab.unmap_and_replace, as: guest2, args: { host_addr: 0x200000, handle: 0 } }\n"));
    EXPECT_EQ(result(r, 2)["status"], "GNTST_general_error");
    EXPECT_EQ(result(r, 3)["status"], "GNTST_okay");
}

// grant_integrity observes vCPU accesses through granted pages, and reports
// one through a mapping that is not in force (a model broken on purpose: a
// foreign page planted in the P2M with no grant behind it).
TEST(GrantIntegrity, SeesVcpuAccessesAndReportsOneWithoutAGrant) {
    test::temp_dir dir;
    scenario s = load_scenario(dir.write("s.yaml", yaml("", map_at(0x200000) + "  - { do: sim.wait, args: { time: 1ms } }\n"
                                                                "  - { do: mem.read, as: guest2, args: { addr: 0x200000, len: 4 } }\n"
                                                                "  - { do: mem.write, as: guest2, args: { addr: 0x200000, data: \"01\" } }\n"
                                                                "  - { do: mem.read, as: guest2, args: { addr: 0x400000, len: 4 } }\n",
                                                        "[grant_integrity]")));
    auto pi = build_platform(s);
    isolation_checker checker(*pi, {"grant_integrity"});
    runner r("runner", s, *pi);
    sc_core::sc_start(sc_core::sc_time(500, sc_core::SC_US));  // booted; the sim.wait step runs
    // The planted page: guest2's gfn 0x400 shows guest1's frame through handle 7, which maps nothing.
    hyp::domain* g2 = pi->hypervisor->find("guest2");
    hyp::domain* g1 = pi->hypervisor->find("guest1");
    ASSERT_TRUE(g1 && g2);
    g2->foreign[0x400] = hyp::foreign_page{*g1->to_machine(0x101000, 4096), false, g1->id, 9, 7};
    sc_core::sc_start();
    ASSERT_FALSE(r.error());
    EXPECT_EQ(checker.grant_vcpu_accesses(), 3u);
    ASSERT_EQ(checker.violations().size(), 1u);
    EXPECT_EQ(checker.violations()[0].invariant, "grant_integrity");
    EXPECT_NE(checker.violations()[0].message.find("handle 7"), std::string::npos) << checker.violations()[0].message;
}

} // namespace
