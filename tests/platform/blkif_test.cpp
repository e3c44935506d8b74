// The split block driver through its steps: connect, data both ways in the
// three modes, the hypercalls each mode costs, and the back end's
// containment of a malicious front end (bogus ring indices, bad segments,
// out-of-range sectors, unknown operations, revoked and foreign grants).
#include <gtest/gtest.h>

#include <string>

#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;

struct run : test::scenario_run {
    using scenario_run::scenario_run;
    const json& result(std::size_t i) const { return report().steps.at(i).result; }
    void steps_ok() const {
        for (const step_outcome& o : report().steps)
            EXPECT_TRUE(o.ok) << "step " << o.index << " " << o.op << ": " << o.message << " result " << o.result.dump();
    }
};

std::string platform_yaml(const std::string& connect_args) {
    return "name: t\n"
           "platform: { memory: 1GiB }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 256MiB }\n"
           "  - { name: guest1, memory: 128MiB }\n"
           "  - { name: guest2, memory: 128MiB }\n"
           "steps:\n"
           "  - { do: blkif.connect, as: guest1, args: { backend: dom0, " + connect_args + " }, save: v }\n";
}

std::string step(const std::string& op, const std::string& args, const std::string& as = "guest1") {
    return "  - { do: " + op + ", as: " + as + ", args: { vbd: $v.vbd" + (args.empty() ? "" : ", " + args) + " } }\n";
}

std::string roundtrip(const std::string& mode) {
    return platform_yaml("mode: " + mode + ", sectors: 64") +
           step("blkif.write", "sector: 3, data: \"de ad be ef\", len: 1024") +   // 1
           step("blkif.read", "sector: 3, len: 1024") +                            // 2
           step("blkif.disk_read", "sector: 4, len: 4") +                          // 3
           step("blkif.read", "sector: 3, len: 1024");                             // 4
}

void check_roundtrip(run& r) {
    r.steps_ok();
    EXPECT_EQ(r.result(0).value("errno", json(0)), json(0)) << r.result(0).dump();
    EXPECT_EQ(r.result(1)["status"], "BLKIF_RSP_OKAY") << r.result(1).dump();
    EXPECT_EQ(r.result(2)["head"], "de ad be ef de ad be ef de ad be ef de ad be ef");
    EXPECT_EQ(r.result(2)["data"].get<std::string>().size(), 1024u * 3 - 1);
    EXPECT_EQ(r.result(3)["data"], "de ad be ef");
}

TEST(Blkif, CopyModeRoundTrip) {
    run r(roundtrip("copy"));
    check_roundtrip(r);
    // The front end's notify, the back end's one GNTTABOP_copy batch and its notify.
    EXPECT_EQ(r.result(2)["hypercalls"], 3);
}

TEST(Blkif, MapModeRoundTrip) {
    run r(roundtrip("map"));
    check_roundtrip(r);
    // Notify, map batch, unmap batch, notify.
    EXPECT_EQ(r.result(2)["hypercalls"], 4);
}

TEST(Blkif, PersistentModeMapsOnceThenNoDataHypercalls) {
    run r(roundtrip("persistent"));
    check_roundtrip(r);
    // The first request mapped the pool's grant; the later ones only notify.
    EXPECT_EQ(r.result(1)["hypercalls"], 3);
    EXPECT_EQ(r.result(2)["hypercalls"], 2);
    EXPECT_EQ(r.result(4)["hypercalls"], 2);
}

TEST(Blkif, PersistentGrantsBeyondTheLimitAreMappedEachTime) {
    run r(platform_yaml("mode: persistent, sectors: 256, max_persistent_grants: 1") +
          step("blkif.run", "op: write, requests: 4, len: 8KiB") +  // 1
          step("blkif.status", ""));                                   // 2
    r.steps_ok();
    EXPECT_EQ(r.result(1)["errors"], 0);
    EXPECT_EQ(r.result(2)["persistent_grants"], 1);
    // Each later request maps and unmaps the grant beyond the limit: 4 hypercalls.
    EXPECT_GT(r.result(1)["hypercalls"].get<std::uint64_t>(), 4u * 2u);
}

TEST(Blkif, ModesOrderedByLatencyForSmallRequests) {
    std::string y = "name: t\nplatform: { memory: 1GiB }\ndomains:\n"
                    "  - { name: dom0, privileged: true, memory: 256MiB }\n"
                    "  - { name: guest1, memory: 128MiB }\nsteps:\n";
    for (const char* m : {"copy", "map", "persistent"}) {
        y += std::string("  - { do: blkif.connect, as: guest1, args: { backend: dom0, mode: ") + m + ", sectors: 256 }, save: " + m + " }\n";
        y += std::string("  - { do: blkif.run, as: guest1, args: { vbd: $") + m + ".vbd, op: read, requests: 20, len: 4KiB } }\n";
    }
    run r(y);
    r.steps_ok();
    const auto mean = [&](std::size_t i) { return r.result(i)["latency_mean_ns"].get<std::uint64_t>(); };
    EXPECT_LT(mean(5), mean(1));  // persistent < copy
    EXPECT_LT(mean(1), mean(3));  // copy < map
}

TEST(Blkif, BogusReqProdHaltsTheRing) {
    run r(platform_yaml("sectors: 64") +
          step("blkif.ring_write", "field: req_prod, value: 1000") +           // 1
          step("blkif.write", "sector: 0, data: \"11\", len: 512, timeout: 100us") +  // 2
          step("blkif.disk_read", "sector: 0, len: 1"));                       // 3
    r.steps_ok();
    EXPECT_EQ(r.result(1)["broken"], true);
    EXPECT_EQ(r.result(1)["refused"], 1);
    EXPECT_EQ(r.result(1)["processed"], 0);
    EXPECT_EQ(r.result(2)["errno"], "ETIMEDOUT");
    EXPECT_EQ(r.result(3)["data"], "00");
}

TEST(Blkif, WithoutTheRingCheckTheBackEndRunsAway) {
    run r(platform_yaml("sectors: 64, check_ring: false") + step("blkif.ring_write", "field: req_prod, value: 100000"));
    r.steps_ok();
    EXPECT_EQ(r.result(1)["broken"], false);
    EXPECT_EQ(r.result(1)["processed"], 4096);
}

std::string as_guest(const std::string& op, const std::string& args) {
    return "  - { do: " + op + ", as: guest1, args: { " + args + " } }\n";
}

TEST(Blkif, BadRequestsAreAnsweredWithErrors) {
    run r(platform_yaml("sectors: 64") +
          step("blkif.request", "operation: 1, nr_segments: 0, id: 1") +                                         // 1
          step("blkif.request", "operation: 1, nr_segments: 12, id: 2") +                                        // 2
          step("blkif.request", "operation: 0, id: 3, segments: [ { gref: 8, first_sect: 5, last_sect: 2 } ]") +  // 3
          step("blkif.request", "operation: 0, id: 4, segments: [ { gref: 8, last_sect: 8 } ]") +                 // 4
          step("blkif.request", "operation: 0, id: 5, sector: 60, segments: [ { gref: 8 } ]") +                  // 5
          step("blkif.request", "operation: 9, id: 6") +                                                          // 6
          as_guest("gnttab.grant_access", "ref: 100, domid: dom0, frame: 0x1000") +                             // 7
          as_guest("gnttab.end_access", "ref: 100") +                                                             // 8
          step("blkif.request", "operation: 1, id: 7, segments: [ { gref: 100 } ]") +                            // 9
          as_guest("gnttab.grant_access", "ref: 101, domid: dom0, frame: 0x7000000") +                          // 10
          step("blkif.request", "operation: 1, id: 8, segments: [ { gref: 101 } ]") +                            // 11
          as_guest("mem.write", "addr: 0x1000000, data: \"5a 5a\"") +                                         // 12
          as_guest("gnttab.grant_access", "ref: 102, domid: dom0, frame: 0x1000") +                             // 13
          step("blkif.request", "operation: 1, id: 9, sector: 8, segments: [ { gref: 102, last_sect: 0 } ]") +   // 14
          step("blkif.disk_read", "sector: 8, len: 2") +                                                          // 15
          step("blkif.status", ""));                                                                             // 16
    r.steps_ok();
    for (std::size_t i : {1, 2, 3, 4, 5, 9, 11}) EXPECT_EQ(r.result(i)["status"], "BLKIF_RSP_ERROR") << i << r.result(i).dump();
    EXPECT_EQ(r.result(6)["status"], "BLKIF_RSP_EOPNOTSUPP");
    EXPECT_NE(r.result(9)["last_error"].get<std::string>().find("GNTST_"), std::string::npos) << r.result(9).dump();
    EXPECT_NE(r.result(11)["last_error"].get<std::string>().find("GNTST_bad_page"), std::string::npos) << r.result(11).dump();
    EXPECT_EQ(r.result(14)["status"], "BLKIF_RSP_OKAY");
    EXPECT_EQ(r.result(15)["data"], "5a 5a");
    EXPECT_EQ(r.result(16)["refused"], 8);
    EXPECT_EQ(r.result(16)["broken"], false);
}

TEST(Blkif, WithoutTheBoundsCheckAReadLeaksAnotherDisk) {
    // guest1's disk is made first (higher in dom0's pool); guest2's back end
    // skips xen_vbd_translate's end check and reads past its own disk.
    run r("name: t\nplatform: { memory: 1GiB }\ndomains:\n"
          "  - { name: dom0, privileged: true, memory: 256MiB }\n"
          "  - { name: guest1, memory: 128MiB }\n  - { name: guest2, memory: 128MiB }\nsteps:\n"
          "  - { do: blkif.connect, as: guest1, args: { backend: dom0, sectors: 64 }, save: a }\n"
          "  - { do: blkif.write, as: guest1, args: { vbd: $a.vbd, sector: 0, data: \"c0 ff ee\", len: 512 } }\n"
          "  - { do: blkif.connect, as: guest2, args: { backend: dom0, sectors: 64, check_bounds: false }, save: b }\n"
          "  - { do: blkif.read, as: guest2, args: { vbd: $b.vbd, sector: 64, len: 4KiB } }\n"
          "  - { do: blkif.connect, as: guest2, args: { backend: dom0, sectors: 64 }, save: c }\n"
          "  - { do: blkif.read, as: guest2, args: { vbd: $c.vbd, sector: 64, len: 4KiB } }\n");
    r.steps_ok();
    EXPECT_EQ(r.result(3)["status"], "BLKIF_RSP_OKAY");
    EXPECT_NE(r.result(3)["data"].get<std::string>().find("c0 ff ee"), std::string::npos) << r.result(3)["head"];
    EXPECT_EQ(r.result(5)["status"], "BLKIF_RSP_ERROR");
}

TEST(Blkif, DisconnectReleasesAndForgetsTheVbd) {
    run r(platform_yaml("mode: persistent, sectors: 64") + step("blkif.write", "sector: 0, data: \"01\", len: 512") +
          step("blkif.disconnect", "") + step("blkif.status", "") +
          "  - { do: blkif.status, as: guest2, args: { vbd: 0 } }\n");
    r.steps_ok();
    EXPECT_EQ(r.result(3)["errno"], "ENODEV");
    EXPECT_EQ(r.result(4)["errno"], "ENODEV");
}

TEST(Blkif, ConnectErrors) {
    run r(platform_yaml("mode: bogus") + "  - { do: blkif.connect, as: guest1, args: { backend: 77 } }\n");
    r.steps_ok();
    EXPECT_EQ(r.result(0)["errno"], "EINVAL");
    EXPECT_EQ(r.result(1)["errno"], "ESRCH");
}

}  // namespace
