// /dev/xen/gntalloc through the step vocabulary, with the module's state
// (gref_size, gref_list, the deferred list) checked where steps cannot see
// it: both versions, their accounting, fork, the deferred free.
#include <gtest/gtest.h>

#include "models/guest/gntalloc.h"
#include "models/guest/kernel.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;

struct run : test::scenario_run {
    using scenario_run::scenario_run;
    guest::kernel& kern(hyp::domid_t d) { return *pi->guests->kernel_of(d); }
    guest::gntalloc_module& mod(hyp::domid_t d) { return guest::gntalloc::module(kern(d)); }
};

// guest1 (domid 1) runs `original`, guest2 (domid 2) `current`; app1 / app2 are theirs.
std::string platform_yaml(const std::string& limits = "") {
    return "name: t\n"
           "platform: { memory: 1GiB }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 128MiB }\n"
           "  - { name: guest1, memory: 64MiB, drivers: { gntalloc: { version: original" + limits + " } } }\n"
           "  - { name: guest2, memory: 64MiB, drivers: { gntalloc: { version: current" + limits + " } } }\n"
           "processes:\n"
           "  - { name: app1, domain: guest1 }\n"
           "  - { name: app2, domain: guest2 }\n"
           "  - { name: other2, domain: guest2 }\n";
}

TEST(Gntalloc, IoctlNumbersAndLayoutsAreUapis) {
    // _IOC(_IOC_NONE, 'G', nr, size): size << 16 | 'G' << 8 | nr.
    EXPECT_EQ(guest::IOCTL_GNTALLOC_ALLOC_GREF, (24ul << 16) | ('G' << 8) | 5);
    EXPECT_EQ(guest::IOCTL_GNTALLOC_DEALLOC_GREF, (16ul << 16) | ('G' << 8) | 6);
    EXPECT_EQ(guest::IOCTL_GNTALLOC_SET_UNMAP_NOTIFY, (16ul << 16) | ('G' << 8) | 7);
    EXPECT_EQ(guest::gntalloc_gref_ids_offset, 16u);
}

TEST(Gntalloc, AllocAndCloseBalanceBothVersions) {
    run r(platform_yaml() +
          "steps:\n"
          "  - { do: gntalloc.open, as: app1, save: f1 }\n"
          "  - { do: gntalloc.alloc_gref, as: app1, args: { fd: $f1.fd, domid: dom0, count: 3 }, expect: { index: 0 } }\n"
          "  - { do: gntalloc.open, as: app2, save: f2 }\n"
          "  - { do: gntalloc.alloc_gref, as: app2, args: { fd: $f2.fd, domid: dom0, count: 3 }, expect: { gref_ids: [8, 9, 10] } }\n"
          "  - { do: gntalloc.alloc_gref, as: app2, args: { fd: $f2.fd, domid: dom0, count: 1 }, expect: { index: 12288 } }\n");
    r.steps_ok();
    EXPECT_EQ(r.mod(1).gref_size, 3);
    EXPECT_EQ(r.mod(2).gref_size, 4);
    EXPECT_EQ(r.mod(2).gref_list.size(), 4u);
    const auto pages1 = r.kern(1).pages_in_use(), pages2 = r.kern(2).pages_in_use();
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    guest::process* a1 = r.pi->guests->find("app1");
    guest::process* a2 = r.pi->guests->find("app2");
    ASSERT_EQ(a1->close(r.result(0)["fd"].get<long>(), d), 0);
    ASSERT_EQ(a2->close(r.result(2)["fd"].get<long>(), d), 0);
    EXPECT_EQ(r.mod(1).gref_size, 0);
    EXPECT_EQ(r.mod(2).gref_size, 0);
    EXPECT_TRUE(r.mod(1).gref_list.empty());
    EXPECT_TRUE(r.mod(2).gref_list.empty());
    EXPECT_EQ(r.kern(1).pages_in_use(), pages1 - 3);
    EXPECT_EQ(r.kern(2).pages_in_use(), pages2 - 4);
}

TEST(Gntalloc, FailedPageAllocationLowersGrefSizeInBothVersions) {
    // add_grefs's undo: gref_size -= count - i, then __del_gref once more.
    run r(platform_yaml() +
          "steps:\n"
          "  - { do: gntalloc.open, as: app1, save: f1 }\n"
          "  - { do: gntalloc.open, as: app2, save: f2 }\n"
          "  - { do: sim.fail_alloc, args: { count: 1 } }\n"
          "  - { do: gntalloc.alloc_gref, as: app1, args: { fd: $f1.fd, domid: dom0, count: 2 }, expect: { errno: ENOMEM } }\n"
          "  - { do: sim.fail_alloc, args: { count: 1 } }\n"
          "  - { do: gntalloc.alloc_gref, as: app2, args: { fd: $f2.fd, domid: dom0, count: 2 }, expect: { errno: ENOMEM } }\n");
    r.steps_ok();
    EXPECT_EQ(r.mod(1).gref_size, -1);
    EXPECT_EQ(r.mod(2).gref_size, -1);
}

TEST(Gntalloc, CurrentDefersPagesTheRemoteMapsAndFreesThemLater) {
    run r(platform_yaml() +
          "steps:\n"
          "  - { do: gntalloc.open, as: app2, save: f2 }\n"
          "  - { do: gntalloc.alloc_gref, as: app2, args: { fd: $f2.fd, domid: dom0, count: 1 }, save: g }\n"
          "  - do: gnttab.map_grant_ref\n"
          "    as: dom0\n"
          "    args: { host_addr: 0x200000, flags: [GNTMAP_host_map, GNTMAP_readonly], ref: \"$g.gref_ids[0]\", dom: guest2 }\n"
          "    expect: { status: GNTST_okay }\n"
          "    save: h\n"
          "  - { do: gntalloc.close, as: app2, args: { fd: $f2.fd } }\n");
    r.steps_ok();
    ASSERT_EQ(r.mod(2).deferred.size(), 1u);
    EXPECT_EQ(r.mod(2).gref_size, 0);  // no longer counted against `limit`
    EXPECT_TRUE(r.mod(2).gref_list.empty());
    const std::uint64_t gpa = r.mod(2).deferred[0].gpa;
    EXPECT_EQ(r.kern(2).page_refs(gpa), 1);
    // Still mapped: a retry leaves it.
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    guest::gntalloc::retry_deferred(r.kern(2), d);
    EXPECT_EQ(r.mod(2).deferred.size(), 1u);
}

TEST(Gntalloc, CurrentRetriesTheDeferredPageAfterTheRemoteUnmaps) {
    run r(platform_yaml() +
          "steps:\n"
          "  - { do: gntalloc.open, as: app2, save: f2 }\n"
          "  - { do: gntalloc.alloc_gref, as: app2, args: { fd: $f2.fd, domid: dom0, flags: [GNTALLOC_FLAG_WRITABLE], count: 1 }, save: g }\n"
          "  - do: gnttab.map_grant_ref\n"
          "    as: dom0\n"
          "    args: { host_addr: 0x200000, flags: [GNTMAP_host_map], ref: \"$g.gref_ids[0]\", dom: guest2 }\n"
          "    expect: { status: GNTST_okay }\n"
          "    save: h\n"
          "  - { do: gntalloc.close, as: app2, args: { fd: $f2.fd } }\n"
          "  - { do: gnttab.unmap_grant_ref, as: dom0, args: { host_addr: 0x200000, handle: $h.handle }, expect: { status: GNTST_okay } }\n"
          "  - { do: gntalloc.open, as: app2, save: f3 }\n"
          "  - { do: gntalloc.dealloc_gref, as: app2, args: { fd: $f3.fd, index: 0, count: 1 }, expect: { errno: EINVAL } }\n"
          "  - { do: gntalloc.alloc_gref, as: app2, args: { fd: $f3.fd, domid: dom0, count: 1 }, expect: { gref_ids: [8] } }\n");
    r.steps_ok();
    EXPECT_TRUE(r.mod(2).deferred.empty());
}

TEST(Gntalloc, CurrentCloseWalksTheGlobalListAcrossFiles) {
    // Linux 6.x's gntalloc_vma_close steps through gref_list (next_gref),
    // while mmap took its pages from the file's list: a mapping spanning two
    // allocations with another file's gref between them in gref_list drops
    // that other gref's reference instead of its own second page's.
    run r(platform_yaml() +
          "steps:\n"
          "  - { do: gntalloc.open, as: app2, save: a }\n"
          "  - { do: gntalloc.open, as: other2, save: b }\n"
          "  - { do: gntalloc.alloc_gref, as: app2, args: { fd: $a.fd, domid: dom0, count: 1 } }\n"
          "  - { do: gntalloc.alloc_gref, as: other2, args: { fd: $b.fd, domid: dom0, count: 1 } }\n"
          "  - { do: gntalloc.alloc_gref, as: app2, args: { fd: $a.fd, domid: dom0, count: 1 }, expect: { index: 4096 } }\n"
          "  - { do: gntalloc.mmap, as: app2, args: { fd: $a.fd, offset: 0, length: 8192, prot: [PROT_READ, PROT_WRITE] }, save: m }\n"
          "  - { do: gntalloc.munmap, as: app2, args: { addr: $m.addr, length: 8192 } }\n");
    r.steps_ok();
    const auto& l = r.mod(2).gref_list;
    // other2's gref lost its only (file) reference and went; app2's second page keeps the mapping's.
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l.front()->users, 1u);
    EXPECT_EQ(l.back()->users, 2u);
}

TEST(Gntalloc, ForkSharesTheMappingOnlyInCurrent) {
    run r(platform_yaml() +
          "steps:\n"
          "  - { do: gntalloc.open, as: app2, save: f2 }\n"
          "  - { do: gntalloc.alloc_gref, as: app2, args: { fd: $f2.fd, domid: dom0, count: 1 } }\n"
          "  - { do: gntalloc.mmap, as: app2, args: { fd: $f2.fd, length: 4096, prot: [PROT_READ, PROT_WRITE] }, save: m }\n"
          "  - { do: proc.fork, as: app2, args: { name: c2 } }\n"
          "  - { do: gntalloc.munmap, as: app2, args: { addr: $m.addr, length: 4096 } }\n"
          "  - { do: gntalloc.close, as: app2, args: { fd: $f2.fd } }\n");
    r.steps_ok();
    // The child's mapping and descriptor keep the page.
    ASSERT_EQ(r.mod(2).gref_list.size(), 1u);
    EXPECT_EQ(r.mod(2).gref_list.front()->users, 2u);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    r.pi->guests->find("c2")->exit(d);
    EXPECT_TRUE(r.mod(2).gref_list.empty());
    EXPECT_EQ(r.mod(2).gref_size, 0);
}

TEST(Gntalloc, LimitParameterIsAnInt) {
    run r(platform_yaml(", limit: 2") +
          "steps:\n"
          "  - { do: gntalloc.open, as: app1, save: f1 }\n"
          "  - { do: gntalloc.alloc_gref, as: app1, args: { fd: $f1.fd, domid: dom0, count: 3 }, expect: { errno: ENOSPC } }\n"
          "  - { do: gntalloc.alloc_gref, as: app1, args: { fd: $f1.fd, domid: dom0, count: 2 }, expect: { errno: 0 } }\n");
    r.steps_ok();
    EXPECT_EQ(guest::gntalloc::limit(r.kern(1)), 2);
    EXPECT_EQ(guest::gntalloc::limit(r.kern(0)), guest::gntalloc_default_limit);
}

}  // namespace
