// The grant table itself through the step vocabulary: setup_table,
// query_size, get_version, set_version (reserved entries, status frames),
// get_status_frames, swap_grant_ref, dump_table, transfer, and the granting
// guest's side (grant_access, end_access, grant_transfer, end_transfer,
// entry, set_entry), each success and each error as Xen and Linux give it.
#include <gtest/gtest.h>

#include <cerrno>

#include "models/guest/gnttab_guest.h"
#include "models/hyp/hypervisor.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;
namespace g = hyp::gnttab;

struct run : test::scenario_run {
    using scenario_run::scenario_run;
    hyp::hypervisor& hyp() { return *pi->hypervisor; }
};

// dom0: PV, privileged (domid 0). pv1: PV (1), 64 MiB, table of at most 4
// frames. hvm1: HVM (2), 64 MiB (its special region starts at gfn 16384).
// v1only: HVM (3), max_version 1.
std::string platform_yaml(const std::string& hvm_grant = "{ max_frames: 4 }") {
    return "name: t\n"
           "platform:\n"
           "  memory: 1GiB\n"
           "  pcie:\n"
           "    - { id: rp1, type: root_port, children: [ { id: nic0, type: endpoint, model: dma_engine } ] }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 128MiB }\n"
           "  - { name: pv1, type: pv, memory: 64MiB, grant_table: { max_frames: 4 } }\n"
           "  - { name: hvm1, type: hvm, memory: 64MiB, grant_table: " + hvm_grant + " }\n"
           "  - { name: v1only, type: hvm, memory: 64MiB, grant_table: { max_version: 1 } }\n"
           "steps:\n";
}

std::string step(const std::string& op, const std::string& as, const std::string& args, const std::string& expect = "") {
    return "  - { do: " + op + (as.empty() ? "" : ", as: " + as) + ", args: { " + args + " }" +
           (expect.empty() ? "" : ", expect: { " + expect + " }") + " }\n";
}

TEST(GnttabTable, SetupTableGrowsAndListsFrames) {
    run t(platform_yaml() +
          step("gnttab.query_size", "hvm1", "dom: DOMID_SELF", "rc: 0, status: GNTST_okay, nr_frames: 1, max_nr_frames: 4") +
          step("gnttab.setup_table", "hvm1", "dom: DOMID_SELF, nr_frames: 3", "status: GNTST_okay, frame_list: [16384, 16385, 16386]") +
          step("gnttab.query_size", "hvm1", "", "nr_frames: 3") +
          step("gnttab.setup_table", "hvm1", "nr_frames: 5", "rc: 0, status: GNTST_general_error") +
          step("gnttab.setup_table", "hvm1", "nr_frames: 1", "status: GNTST_okay, frame_list: [16384]") +   // never shrinks
          step("gnttab.query_size", "hvm1", "", "nr_frames: 3") +
          step("gnttab.setup_table", "pv1", "nr_frames: 2", "status: GNTST_okay") +                          // 6: machine frames
          step("gnttab.setup_table", "pv1", "dom: hvm1, nr_frames: 1", "status: GNTST_permission_denied") +
          step("gnttab.query_size", "pv1", "dom: hvm1", "status: GNTST_permission_denied") +
          step("gnttab.setup_table", "dom0", "dom: hvm1, nr_frames: 4", "status: GNTST_okay") +
          step("gnttab.query_size", "dom0", "dom: hvm1", "status: GNTST_okay, nr_frames: 4") +
          step("gnttab.setup_table", "dom0", "dom: 999, nr_frames: 1", "status: GNTST_bad_domain") +
          step("gnttab.query_size", "dom0", "dom: 999", "status: GNTST_bad_domain") +
          step("sim.fail_alloc", "", "count: 1") +
          step("gnttab.setup_table", "pv1", "nr_frames: 3", "status: GNTST_general_error") +
          step("gnttab.query_size", "pv1", "", "nr_frames: 2") +
          step("gnttab.setup_table", "pv1", "nr_frames: 3", "status: GNTST_okay") +
          step("gnttab.dump_table", "pv1", "dom: DOMID_SELF", "rc: -ENOSYS"));
    t.steps_ok();
    // A PV domain is given machine frames: the table's own.
    const g::table* pv = t.hyp().grant_tables().find(1);
    ASSERT_NE(pv, nullptr);
    ASSERT_EQ(t.result(6)["frame_list"].size(), 2u);
    EXPECT_EQ(t.result(6)["frame_list"][0].get<std::uint64_t>(), pv->frames[0] / 4096);
    EXPECT_EQ(t.result(6)["frame_list"][1].get<std::uint64_t>(), pv->frames[1] / 4096);
    EXPECT_EQ(pv->frames.size(), 3u);
    // Every frame is the domain's in the ledger and shared into its space.
    const hyp::domain* d = t.hyp().find(1);
    for (unsigned i = 0; i < pv->frames.size(); ++i) {
        EXPECT_EQ(t.hyp().owner_of(pv->frames[i]), 1);
        EXPECT_EQ(d->shared.at(d->grant_frame_gfn(i)), pv->frames[i]);
    }
}

TEST(GnttabTable, RawCountsAreChecked) {
    run t(platform_yaml() +
          step("gnttab.setup_table", "hvm1", "ops: [ { nr_frames: 1 }, { nr_frames: 1 } ]", "rc: -EINVAL") +
          step("gnttab.query_size", "hvm1", "ops: [ { dom: DOMID_SELF }, { dom: DOMID_SELF } ]", "rc: -EINVAL") +
          step("gnttab.get_status_frames", "hvm1", "ops: [ { nr_frames: 0 }, { nr_frames: 0 } ]", "rc: -EINVAL"));
    t.steps_ok();
}

TEST(GnttabTable, VersionsAndStatusFrames) {
    run t(platform_yaml() +
          step("gnttab.get_version", "hvm1", "dom: DOMID_SELF", "rc: 0, version: 1") +
          step("gnttab.get_status_frames", "hvm1", "nr_frames: 1", "status: GNTST_general_error") +  // v1: none
          step("gnttab.get_status_frames", "hvm1", "nr_frames: 0", "status: GNTST_okay, frame_list: []") +
          step("gnttab.set_version", "hvm1", "version: 3", "rc: -EINVAL, version: 1") +
          step("gnttab.set_version", "hvm1", "version: 0", "rc: -EINVAL, version: 1") +
          step("gnttab.set_version", "hvm1", "version: 1", "rc: 0, version: 1") +
          step("gnttab.set_version", "hvm1", "version: 2", "rc: 0, version: 2") +
          step("gnttab.get_version", "hvm1", "", "version: 2") +
          step("gnttab.get_status_frames", "hvm1", "nr_frames: 1", "status: GNTST_okay, frame_list: [16388]") +
          step("gnttab.get_status_frames", "hvm1", "nr_frames: 2", "status: GNTST_general_error") +
          step("gnttab.setup_table", "hvm1", "nr_frames: 4", "status: GNTST_okay") +
          step("gnttab.get_status_frames", "hvm1", "nr_frames: 1", "status: GNTST_okay") +  // 4 v2 frames: 1024 entries, one status frame
          step("gnttab.set_version", "v1only", "version: 2", "rc: -ENOSYS, version: 1") +
          step("gnttab.get_version", "pv1", "dom: hvm1", "rc: -EPERM") +
          step("gnttab.get_version", "dom0", "dom: hvm1", "rc: 0, version: 2") +
          step("gnttab.get_version", "dom0", "dom: 999", "rc: -ESRCH") +
          step("gnttab.get_status_frames", "pv1", "dom: hvm1, nr_frames: 1", "status: GNTST_permission_denied") +
          step("gnttab.get_status_frames", "dom0", "dom: 999, nr_frames: 1", "status: GNTST_bad_domain") +
          step("gnttab.set_version", "hvm1", "version: 1", "rc: 0, version: 1") +
          step("gnttab.get_status_frames", "hvm1", "nr_frames: 1", "status: GNTST_general_error"));
    t.steps_ok();
    // v2 -> v1 gave the status frame back: not shared, not owned.
    const hyp::domain* d = t.hyp().find(2);
    EXPECT_EQ(d->shared.count(d->status_frame_gfn(0)), 0u);
    EXPECT_TRUE(t.hyp().grant_tables().find(2)->status_frames.empty());
}

TEST(GnttabTable, VersionTwoAtBootAndAllocationFailure) {
    run t(platform_yaml("{ version: 2, max_frames: 4 }") +
          step("gnttab.get_version", "hvm1", "", "version: 2") +
          step("gnttab.get_status_frames", "hvm1", "nr_frames: 1", "status: GNTST_okay, frame_list: [16388]") +
          step("sim.fail_alloc", "", "count: 1") +
          step("gnttab.set_version", "pv1", "version: 2", "rc: -ENOMEM, version: 1") +
          step("gnttab.set_version", "pv1", "version: 2", "rc: 0, version: 2"));
    t.steps_ok();
}

TEST(GnttabTable, ReservedEntriesSurviveASwitch) {
    run t(platform_yaml() +
          step("gnttab.grant_access", "hvm1", "ref: 1, domid: dom0, frame: 0x10, readonly: true") +
          step("gnttab.grant_access", "hvm1", "ref: 7, domid: pv1, frame: 0x11") +
          step("gnttab.grant_access", "hvm1", "ref: 8, domid: pv1, frame: 0x12") +
          step("gnttab.set_version", "hvm1", "version: 2", "rc: 0") +
          step("gnttab.entry", "hvm1", "ref: 1", "flags: 5, domid: 0, frame: 16, entry_status: 0") +
          step("gnttab.entry", "hvm1", "ref: 7", "flag_names: [GTF_permit_access], domid: 1, frame: 17") +
          step("gnttab.entry", "hvm1", "ref: 8", "flags: 0, domid: 0, frame: 0") +   // cleared
          // A reserved transitive grant cannot be expressed in v1.
          step("gnttab.grant_access_transitive", "hvm1", "ref: 2, domid: dom0, trans_domid: pv1, trans_gref: 9", "errno: 0") +
          step("gnttab.set_version", "hvm1", "version: 1", "rc: -ERANGE, version: 2") +
          step("gnttab.set_entry", "hvm1", "ref: 2, flags: 0") +
          // A frame beyond 32 bits neither.
          step("gnttab.set_entry", "hvm1", "ref: 3, domid: 0, frame: 0x100000000, flags: [GTF_permit_access]") +
          step("gnttab.set_version", "hvm1", "version: 1", "rc: -ERANGE") +
          step("gnttab.set_entry", "hvm1", "ref: 3, flags: 0") +
          // A sub-page reserved grant becomes invalid; its status word folds into v1's flags.
          step("gnttab.grant_access_subpage", "hvm1", "ref: 4, domid: dom0, frame: 0x13, page_off: 16, length: 32") +
          step("mem.write", "hvm1", "addr: 0x4004002, data: \"08 00\"") +   // status word of ref 1: GTF_reading
          step("gnttab.set_version", "hvm1", "version: 1", "rc: 0, version: 1") +
          step("gnttab.entry", "hvm1", "ref: 1", "flag_names: [GTF_permit_access, GTF_readonly, GTF_reading], frame: 16") +
          step("gnttab.entry", "hvm1", "ref: 7", "flags: 1, domid: 1, frame: 17") +
          step("gnttab.entry", "hvm1", "ref: 4", "flags: 0x101, domid: 0, frame: 19"));
    t.steps_ok();
}

TEST(GnttabTable, SetVersionRefusesWhileGrantsAreInUse) {
    run t(platform_yaml() + step("gnttab.get_version", "hvm1", "", "version: 1"));
    t.steps_ok();
    g::grant_tables& gt = t.hyp().grant_tables();
    g::table* tab = gt.find(2);
    ASSERT_NE(tab, nullptr);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    // A pin on a reserved entry (xenstore's, mapped by the toolstack) is allowed.
    tab->active[1].pin = g::GNTPIN_hstw_inc;
    g::set_version v{2};
    EXPECT_EQ(gt.set_version(2, &v, 1, d), 0);
    EXPECT_EQ(v.version, 2u);
    // A pin past them is not.
    tab->active[100].pin = g::GNTPIN_hstr_inc;
    v.version = 1;
    EXPECT_EQ(gt.set_version(2, &v, 1, d), -EBUSY);
    EXPECT_EQ(v.version, 2u);
    EXPECT_EQ(tab->version, 2u);
    // swap_grant_ref: an entry in use is GNTST_eagain.
    g::swap_grant_ref s{100, 101, 0};
    EXPECT_EQ(gt.swap_grant_ref(2, &s, 1, d), 0);
    EXPECT_EQ(s.status, g::GNTST_eagain);
    tab->active[100].pin = 0;
    v.version = 1;
    EXPECT_EQ(gt.set_version(2, &v, 1, d), 0);
    EXPECT_EQ(tab->version, 1u);
    EXPECT_GT(d, sc_core::SC_ZERO_TIME);
}

TEST(GnttabTable, SwapGrantRef) {
    run t(platform_yaml() +
          step("gnttab.grant_access", "hvm1", "ref: 10, domid: dom0, frame: 0x20") +
          step("gnttab.grant_access", "hvm1", "ref: 11, domid: pv1, frame: 0x21, readonly: true") +
          step("gnttab.swap_grant_ref", "hvm1", "ref_a: 10, ref_b: 11", "rc: 0, status: GNTST_okay") +
          step("gnttab.entry", "hvm1", "ref: 10", "flags: 5, domid: 1, frame: 0x21") +
          step("gnttab.entry", "hvm1", "ref: 11", "flags: 1, domid: 0, frame: 0x20") +
          step("gnttab.swap_grant_ref", "hvm1", "ops: [ { ref_a: 10, ref_b: 512 }, { ref_a: 512, ref_b: 0 }, { ref_a: 3, ref_b: 3 } ]",
               "rc: 0, ops: [ { status: GNTST_bad_gntref }, { status: GNTST_bad_gntref }, { status: GNTST_okay } ]") +
          step("gnttab.set_version", "hvm1", "version: 2", "rc: 0") +
          step("gnttab.grant_access", "hvm1", "ref: 20, domid: dom0, frame: 0x30") +
          step("mem.write", "hvm1", "addr: 0x4004028, data: \"10 00\"") +   // status of ref 20: GTF_writing
          step("gnttab.swap_grant_ref", "hvm1", "ref_a: 20, ref_b: 21", "status: GNTST_okay") +
          step("gnttab.entry", "hvm1", "ref: 21", "flags: 1, frame: 0x30, entry_status: 16") +
          step("gnttab.entry", "hvm1", "ref: 20", "flags: 0, entry_status: 0") +
          step("gnttab.swap_grant_ref", "hvm1", "ref_a: 256, ref_b: 0", "status: GNTST_bad_gntref"));  // v2: 256 a frame
    t.steps_ok();
}

TEST(GnttabTable, GuestSideGrantsAndEndsAccess) {
    run t(platform_yaml() +
          // pv1 writes its machine frame (pfn_to_mfn); hvm1 the guest frame.
          step("gnttab.grant_access", "pv1", "ref: 9, domid: dom0, frame: 5", "errno: 0") +
          step("gnttab.entry", "pv1", "ref: 9", "flags: 1, domid: 0") +   // 1
          step("sim.p2m", "", "domain: pv1, gfn: 5") +                    // 2
          step("gnttab.grant_access", "hvm1", "ref: 9, domid: dom0, frame: 5", "errno: 0") +
          step("gnttab.entry", "hvm1", "ref: 9", "flags: 1, flag_names: [GTF_permit_access], domid: 0, frame: 5") +
          step("gnttab.end_access", "hvm1", "ref: 9", "errno: 0") +
          step("gnttab.entry", "hvm1", "ref: 9", "flags: 0, domid: 0, frame: 5") +
          // In use (the hypervisor's GTF_reading / GTF_writing): EBUSY, the entry kept.
          step("gnttab.grant_access", "hvm1", "ref: 9, domid: dom0, frame: 5") +
          step("gnttab.set_entry", "hvm1", "ref: 9, flags: [GTF_permit_access, GTF_writing]") +
          step("gnttab.end_access", "hvm1", "ref: 9", "errno: EBUSY") +
          step("gnttab.entry", "hvm1", "ref: 9", "flag_names: [GTF_permit_access, GTF_writing]") +
          // Errors of the guest side.
          step("gnttab.grant_access", "hvm1", "ref: 512, domid: dom0, frame: 5", "errno: EINVAL") +
          step("gnttab.entry", "hvm1", "ref: 4096", "errno: EINVAL") +
          step("gnttab.grant_access_subpage", "hvm1", "ref: 3, domid: dom0, frame: 5, page_off: 0, length: 8", "errno: EOPNOTSUPP") +
          step("gnttab.grant_access_transitive", "hvm1", "ref: 3, domid: dom0, trans_domid: pv1, trans_gref: 1", "errno: EOPNOTSUPP") +
          // v2: the flags are cleared even when the status word says busy.
          step("gnttab.set_version", "hvm1", "version: 2", "rc: 0") +
          step("gnttab.grant_access_subpage", "hvm1", "ref: 30, domid: dom0, frame: 6, page_off: 100, length: 200, readonly: true") +
          step("gnttab.entry", "hvm1", "ref: 30", "flag_names: [GTF_permit_access, GTF_readonly, GTF_sub_page], frame: 6, page_off: 100, length: 200") +
          step("mem.write", "hvm1", "addr: 0x400403c, data: \"08 00\"") +   // status of ref 30: GTF_reading
          step("gnttab.end_access", "hvm1", "ref: 30", "errno: EBUSY") +
          step("gnttab.entry", "hvm1", "ref: 30", "flags: 0, entry_status: 8") +
          step("gnttab.grant_access_transitive", "hvm1", "ref: 31, domid: dom0, trans_domid: pv1, trans_gref: 77") +
          step("gnttab.entry", "hvm1", "ref: 31", "flags: 3, trans_domid: 1, trans_gref: 77") +
          step("gnttab.end_access", "hvm1", "ref: 31", "errno: 0") +
          step("gnttab.grant_access", "hvm1", "ref: 256, domid: dom0, frame: 5", "errno: EINVAL"));  // v2: 256 entries a frame
    t.steps_ok();
    EXPECT_EQ(t.result(1)["frame"].get<std::uint64_t>(), t.result(2)["mfn"].get<std::uint64_t>());
    EXPECT_NE(t.result(1)["frame"].get<std::uint64_t>(), 5u);
}

TEST(GnttabTable, TransferPvToHvm) {
    run t(platform_yaml() +
          step("mem.write", "pv1", "addr: 0x5000, data: \"de ad be ef\"") +
          "  - { do: sim.p2m, args: { domain: pv1, gfn: 5 }, save: p }\n" +                                                    // 1
          step("gnttab.grant_transfer", "hvm1", "ref: 5, domid: pv1, frame: 0x100", "errno: 0") +
          step("gnttab.entry", "hvm1", "ref: 5", "flag_names: [GTF_accept_transfer], domid: 1, frame: 0x100") +
          "  - { do: gnttab.transfer, as: pv1, args: { mfn: $p.mfn, domid: hvm1, ref: 5 }, expect: { rc: 0, status: GNTST_okay } }\n" +
          step("gnttab.entry", "hvm1", "ref: 5",
               "flag_names: [GTF_accept_transfer, GTF_transfer_committed, GTF_transfer_completed], frame: 0x100") +
          step("gnttab.end_transfer", "hvm1", "ref: 5", "errno: 0, frame: 0x100") +
          step("mem.read", "hvm1", "addr: 0x100000, len: 4", "data: \"de ad be ef\"") +
          step("mem.read", "pv1", "addr: 0x5000, len: 4", "errno: EFAULT") +
          // The frame is not the caller's any more.
          "  - { do: gnttab.transfer, as: pv1, args: { mfn: $p.mfn, domid: hvm1, ref: 5 }, expect: { status: GNTST_bad_page } }\n" +
          // An HVM caller cannot give pages away (steal_page: EOPNOTSUPP).
          step("gnttab.transfer", "hvm1", "mfn: 0x10, domid: pv1, ref: 1", "status: GNTST_general_error") +
          step("gnttab.transfer", "hvm1", "mfn: 0x7ffffff, domid: pv1, ref: 1", "status: GNTST_bad_page") +
          // Nothing transferred: end_transfer reclaims the entry, frame 0.
          step("gnttab.grant_transfer", "hvm1", "ref: 6, domid: pv1, frame: 0x101") +
          step("gnttab.end_transfer", "hvm1", "ref: 6", "errno: 0, frame: 0") +
          step("gnttab.entry", "hvm1", "ref: 6", "flags: 0") +
          // Ref 6 accepts nothing now: the page is stolen, then lost.
          "  - { do: sim.p2m, args: { domain: pv1, gfn: 6 }, save: q }\n" +                                                    // 15
          "  - { do: gnttab.transfer, as: pv1, args: { mfn: $q.mfn, domid: hvm1, ref: 6 }, expect: { status: GNTST_general_error } }\n" +
          step("mem.read", "pv1", "addr: 0x6000, len: 4", "errno: EFAULT") +
          // Bad domain, after the steal as well.
          "  - { do: sim.p2m, args: { domain: pv1, gfn: 7 }, save: r }\n" +                                                    // 18
          "  - { do: gnttab.transfer, as: pv1, args: { mfn: $r.mfn, domid: 999, ref: 6 }, expect: { status: GNTST_bad_domain } }\n" +
          // A frame that is not the caller's at all.
          step("gnttab.transfer", "pv1", "mfn: 0, domid: hvm1, ref: 5", "status: GNTST_bad_page") +
          // A guest forging committed: the entry must say exactly GTF_accept_transfer.
          step("gnttab.set_entry", "hvm1", "ref: 12, domid: 1, frame: 0x102, flags: [GTF_accept_transfer, GTF_transfer_committed]") +
          "  - { do: sim.p2m, args: { domain: pv1, gfn: 8 }, save: s }\n" +                                                    // 22
          "  - { do: gnttab.transfer, as: pv1, args: { mfn: $s.mfn, domid: hvm1, ref: 12 }, expect: { status: GNTST_general_error } }\n" +
          step("gnttab.end_transfer", "hvm1", "ref: 12", "errno: ETIMEDOUT") +
          // A PV receiver gets the machine frame written back.
          step("gnttab.grant_transfer", "dom0", "ref: 9, domid: pv1, frame: 0x300") +
          "  - { do: sim.p2m, args: { domain: pv1, gfn: 9 }, save: u }\n" +                                                    // 26
          "  - { do: gnttab.transfer, as: pv1, args: { mfn: $u.mfn, domid: dom0, ref: 9 }, expect: { status: GNTST_okay } }\n" +
          step("gnttab.end_transfer", "dom0", "ref: 9", "errno: 0") +                                     // 28
          // A reference beyond the receiver's table.
          "  - { do: sim.p2m, args: { domain: pv1, gfn: 10 }, save: v }\n" +
          "  - { do: gnttab.transfer, as: pv1, args: { mfn: $v.mfn, domid: hvm1, ref: 512 }, expect: { status: GNTST_general_error } }\n");
    t.steps_ok();
    EXPECT_EQ(t.result(28)["frame"].get<std::uint64_t>(), t.result(26)["mfn"].get<std::uint64_t>());
    const std::uint64_t given = t.result(1)["mfn"].get<std::uint64_t>() * 4096;
    EXPECT_EQ(t.hyp().owner_of(given), 2);
    // A page lost on a failed transfer went back to the heap.
    EXPECT_EQ(t.hyp().owner_of(t.result(15)["mfn"].get<std::uint64_t>() * 4096), hyp::DOMID_INVALID);
}

TEST(GnttabTable, TransferToADyingDomainLosesThePage) {
    run t(platform_yaml() + step("gnttab.grant_transfer", "hvm1", "ref: 5, domid: pv1, frame: 0x100", "errno: 0"));
    t.steps_ok();
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    ASSERT_EQ(t.hyp().destroy_domain(0, 2, d), 0);
    const hyp::domain* pv = t.hyp().find(1);
    const std::uint64_t maddr = *pv->to_machine(0x5000, 4096);
    g::transfer op{maddr / 4096, 2, 5, 0};
    EXPECT_EQ(t.hyp().grant_tables().transfer(1, &op, 1, d), 0);
    EXPECT_EQ(op.status, g::GNTST_general_error);
    EXPECT_EQ(t.hyp().owner_of(maddr), hyp::DOMID_INVALID);
    EXPECT_FALSE(pv->to_machine(0x5000, 4096).has_value());
}

} // namespace

namespace {

// A receiver has room for its memory plus 256 pages (libxl's
// LIBXL_MAXMEM_CONSTANT); the next transfer finds no headroom, and the page
// is lost to the giver.
TEST(GnttabTable, TransferStopsAtTheReceiversHeadroom) {
    run t(platform_yaml("{ max_frames: 4 }") + step("gnttab.get_version", "hvm1", "", "version: 1"));
    t.steps_ok();
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    guest::gnttab_guest taker(t.hyp(), 2);
    const hyp::domain* pv = t.hyp().find(1);
    const std::uint64_t first = *pv->to_machine(0x100 * 4096ull, 4096);
    for (std::uint32_t i = 0; i < 257; ++i) {
        ASSERT_EQ(taker.grant_transfer(10 + i, 1, 0x1000 + i, d), 0);
        const std::uint64_t maddr = *pv->to_machine((0x100 + i) * 4096ull, 4096);
        g::transfer op{maddr / 4096, 2, 10 + i, 0};
        ASSERT_EQ(t.hyp().grant_tables().transfer(1, &op, 1, d), 0);
        EXPECT_EQ(op.status, i < 256 ? g::GNTST_okay : g::GNTST_general_error) << i;
        EXPECT_EQ(t.hyp().owner_of(maddr), i < 256 ? hyp::domid_t(2) : hyp::DOMID_INVALID) << i;
    }
    // What arrived is in the receiver's P2M at the frames its entries named.
    const hyp::domain* hvm = t.hyp().find(2);
    EXPECT_EQ(hvm->to_machine(0x1000 * 4096ull, 4096), std::optional<std::uint64_t>(first));
    EXPECT_FALSE(pv->to_machine(0x100 * 4096ull, 4096).has_value());
    std::uint64_t frame = 0;
    EXPECT_EQ(taker.end_transfer(10, frame, d), 0);
    EXPECT_EQ(frame, 0x1000u);
}

// A guest that fills its table with garbage: every operation on it gives
// Xen's status, and nothing outside the guest's own entries changes.
TEST(GnttabTable, GarbageInTheTableIsHarmless) {
    std::string garbage;
    for (int i = 0; i < 16; ++i) garbage += (garbage.empty() ? "" : " ") + std::string(i % 2 ? "ff" : "a5");
    run t(platform_yaml() +
          step("gnttab.set_version", "hvm1", "version: 2", "rc: 0") +
          step("mem.write", "hvm1", "addr: 0x4000000, data: \"" + garbage + "\"") +      // entry 0: garbage
          step("mem.write", "hvm1", "addr: 0x4000010, data: \"" + garbage + "\"") +      // entry 1
          step("mem.write", "hvm1", "addr: 0x4000100, data: \"" + garbage + "\"") +      // entry 16
          step("gnttab.entry", "hvm1", "ref: 0", "flags: 0xffa5") +
          step("gnttab.swap_grant_ref", "hvm1", "ref_a: 0, ref_b: 16", "status: GNTST_okay") +
          step("gnttab.transfer", "dom0", "mfn: 0x1, domid: hvm1, ref: 16", "status: GNTST_bad_page") +
          // Reserved entries v1 cannot hold (a permit_access type, a frame above 32 bits): -ERANGE, nothing changed.
          step("gnttab.set_version", "hvm1", "version: 1", "rc: -ERANGE, version: 2") +
          step("gnttab.entry", "hvm1", "ref: 1", "flags: 0xffa5, domid: 0xffa5") +
          // Of another type, garbage in a reserved entry just becomes invalid.
          step("gnttab.set_entry", "hvm1", "ref: 0, flags: 0xffa6") +
          step("gnttab.set_entry", "hvm1", "ref: 1, flags: 0") +
          step("gnttab.set_version", "hvm1", "version: 1", "rc: 0, version: 1") +
          step("gnttab.entry", "hvm1", "ref: 0", "flags: 0, domid: 0, frame: 0") +
          step("gnttab.entry", "hvm1", "ref: 16", "flags: 0, domid: 0, frame: 0") +
          step("gnttab.query_size", "hvm1", "", "status: GNTST_okay, nr_frames: 1"));
    t.steps_ok();
}

// A page the giver's devices reach through its IO page table cannot change
// hands: it would stay reachable by those devices after the transfer.
TEST(GnttabTransfer, PageMappedForDmaIsRefusedUntilUnmapped) {
    run t(platform_yaml() +
          step("gnttab.grant_transfer", "hvm1", "ref: 8, domid: pv1") +
          "  - { do: sim.p2m, args: { domain: pv1, gfn: 0x100 }, save: page }\n" +
          step("iommu.map", "", "domain: pv1, iova: 0x100000, address: 0x100000, size: 4KiB") +
          step("gnttab.transfer", "pv1", "mfn: $page.mfn, domid: hvm1, ref: 8", "rc: 0, status: GNTST_bad_page") +
          step("sim.p2m", "", "domain: pv1, gfn: 0x100", "mfn: $page.mfn") +  // still the giver's
          step("iommu.unmap", "", "domain: pv1, iova: 0x100000, size: 4KiB") +
          step("gnttab.transfer", "pv1", "mfn: $page.mfn, domid: hvm1, ref: 8", "rc: 0, status: GNTST_okay"));
    t.steps_ok();
}

} // namespace
