// /dev/lguest through the step vocabulary: every errno of the seed's write
// and read (lguest_user.c), the registers, the eventfds, the allocations
// initialize() makes and close() gives back, and the scripted guest.
#include <gtest/gtest.h>

#include "models/guest/eventfd.h"
#include "models/guest/kernel.h"
#include "models/guest/lguest.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;

struct run : test::scenario_run {
    using scenario_run::scenario_run;
    guest::kernel& dom0() { return *pi->guests->kernel_of(0); }
};

std::string platform_yaml() {
    return "name: t\n"
           "platform: { memory: 1GiB }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 256MiB }\n"
           "processes:\n"
           "  - { name: launcher, domain: dom0 }\n"
           "steps:\n"
           "  - { do: mem.alloc, as: launcher, args: { size: 64KiB }, save: mem }\n"
           "  - { do: lguest.open, as: launcher, save: lg }\n";
}

std::string step(const std::string& op, const std::string& args, const std::string& expect = "", const std::string& as = "launcher") {
    return "  - { do: " + op + (as.empty() ? "" : ", as: " + as) + ", args: { " + args + " }" +
           (expect.empty() ? "" : ", expect: { " + expect + " }") + " }\n";
}

const std::string init = step("lguest.write", "fd: $lg.fd, req: LHREQ_INITIALIZE, base: $mem.addr, pfnlimit: 16, start: 0x1000", "ret: 24");

TEST(Lguest, WritesBeforeInitializeAreEinval) {
    run t(platform_yaml() +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_IRQ, irq: 1", "errno: EINVAL") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_GETREG, reg: ax", "errno: EINVAL") +
          step("lguest.read", "fd: $lg.fd, len: 8", "errno: EINVAL") +
          step("lguest.guest_notify", "addr: 0x1000", "errno: EINVAL") +
          step("lguest.guest_notify", "addr: 0x1000, fd: 77", "errno: EBADF") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_INITIALIZE, arg: null", "errno: EFAULT") +
          step("lguest.write", "fd: 77, req: LHREQ_INITIALIZE", "errno: EBADF") +
          step("lguest.ioctl", "fd: $lg.fd, cmd: 1", "errno: ENOTTY") +
          step("lguest.mmap", "fd: $lg.fd, length: 4096, prot: [PROT_READ]", "errno: ENODEV"));
    t.steps_ok();
}

TEST(Lguest, InitializeOnceAndTheLengthIsNeverLookedAt) {
    run t(platform_yaml() +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_INITIALIZE, base: $mem.addr, pfnlimit: 16, start: 0x1000, len: 8", "ret: 24") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_INITIALIZE, base: $mem.addr, pfnlimit: 16", "errno: EBUSY") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_INITIALIZE, arg: null", "errno: EFAULT") +  // get_user(req) first
          step("lguest.write", "fd: $lg.fd, req: LHREQ_GETDMA", "errno: EINVAL") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_BREAK", "errno: EINVAL") +
          step("lguest.write", "fd: $lg.fd, req: 7", "errno: EINVAL") +
          // The registers initialize() set up: eip, the guest's kernel segments, eflags.
          step("lguest.write", "fd: $lg.fd, req: LHREQ_GETREG, reg: ip", "ret: 16") + step("lguest.read", "fd: $lg.fd, len: 8", "ret: 8, value: 0x1000") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_GETREG, reg: cs") + step("lguest.read", "fd: $lg.fd, len: 8", "value: 0x61") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_GETREG, reg: ss") + step("lguest.read", "fd: $lg.fd, len: 8", "value: 0x69") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_GETREG, reg: flags") + step("lguest.read", "fd: $lg.fd, len: 1", "ret: 8, value: 0x202"));
    t.steps_ok();
}

TEST(Lguest, InitializeArgumentsPastTheMappingAreEfault) {
    // The request word is the last of the mapping; base, pfnlimit and start are not mapped.
    run t(platform_yaml() + "  - { do: mem.alloc, as: launcher, args: { size: 8KiB }, save: one }\n" +
          step("lguest.munmap", "addr: $one.addr+0x1000, length: 4096", "ret: 0") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_INITIALIZE, arg: $one.addr+0xff8", "errno: EFAULT") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_INITIALIZE, arg: $one.addr+0xff0", "errno: EFAULT") + init);
    t.steps_ok();
}

TEST(Lguest, InitializeAllocatesAndCloseFrees) {
    run t(platform_yaml() + "  - { do: sim.fail_alloc, args: { count: 1 } }\n" +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_INITIALIZE, base: $mem.addr, pfnlimit: 16", "errno: ENOMEM") +
          "  - { do: lguest.guest_state, as: launcher, args: { fd: $lg.fd }, save: before }\n" + init +
          step("lguest.close", "fd: $lg.fd", "ret: 0"));
    t.steps_ok();
    EXPECT_EQ(t.result(4).at("errno"), "EINVAL");  // still no guest after the failure
}

TEST(Lguest, PagesComeBackOnClose) {
    run t(platform_yaml() + init);
    t.steps_ok();
    guest::kernel& k = t.dom0();
    const auto& p = *k.processes().front();
    const auto f = std::dynamic_pointer_cast<guest::lguest_file>(p.lookup(0));
    ASSERT_TRUE(f && f->guest());
    const std::uint64_t regs = f->guest()->cpus[0].regs_page, pgdir = f->guest()->pgdir_page;
    EXPECT_EQ(k.page_refs(regs), 1);
    EXPECT_EQ(k.page_refs(pgdir), 1);
    const std::uint64_t in_use = k.pages_in_use();
    sc_core::sc_time d;
    const_cast<guest::process&>(p).close(0, d);
    EXPECT_EQ(k.pages_in_use(), in_use - 2);
    EXPECT_EQ(k.page_refs(regs), 0);
}

TEST(Lguest, OffsetSelectsTheVcpu) {
    run t(platform_yaml() + init +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_IRQ, irq: 1, offset: 1", "errno: EINVAL") +
          step("lguest.read", "fd: $lg.fd, len: 8, offset: 1", "errno: EINVAL") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_IRQ, irq: 1, offset: 0x100000000", "ret: 0") +  // unsigned int cpu_id
          step("lguest.write", "fd: $lg.fd, req: LHREQ_IRQ, irq: 1, offset: 0x8000000000000000", "errno: EINVAL") +
          step("lguest.read", "fd: $lg.fd, len: 8, offset: 0", "errno: EAGAIN"));
    t.steps_ok();
}

TEST(Lguest, IrqBound) {
    run t(platform_yaml() + init + step("lguest.write", "fd: $lg.fd, req: LHREQ_IRQ, irq: 32", "errno: EINVAL") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_IRQ, irq: 0xffffffffffffffff", "errno: EINVAL") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_IRQ, irq: 31", "ret: 0") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_IRQ, irq: 3", "ret: 0") +
          step("lguest.guest_state", "", "irqs_pending: [3, 31]") +
          step("lguest.read", "fd: $lg.fd, len: 8", "errno: EAGAIN") +
          step("lguest.guest_state", "", "irqs_pending: [31], irqs_taken: [3]") +
          step("lguest.read", "fd: $lg.fd, len: 8", "errno: EAGAIN") +
          step("lguest.guest_state", "", "irqs_pending: [], irqs_taken: [3, 31]"));
    t.steps_ok();
}

TEST(Lguest, EventfdErrors) {
    run t(platform_yaml() + init + "  - { do: eventfd.create, as: launcher, save: ev }\n" +
          "  - { do: file.open, as: launcher, args: { path: /dev/null }, save: nul }\n" +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_EVENTFD, addr: 0, eventfd: $ev.fd", "errno: EINVAL") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_EVENTFD, addr: 0x1000, eventfd: 99", "errno: EBADF") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_EVENTFD, addr: 0x1000, eventfd: 0xffffffff", "errno: EBADF") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_EVENTFD, addr: 0x1000, eventfd: $nul.fd", "errno: EINVAL") +
          "  - { do: sim.fail_alloc, args: { count: 1 } }\n" +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_EVENTFD, addr: 0x1000, eventfd: $ev.fd", "errno: ENOMEM") +
          // The descriptor is an int: the high half of the word is dropped.
          step("lguest.write", "fd: $lg.fd, req: LHREQ_EVENTFD, addr: 0x1000, eventfd: $ev.fd+0x100000000", "ret: 0") +
          // The eventfd context outlives its descriptor.
          step("file.close", "fd: $ev.fd", "ret: 0") + step("lguest.guest_notify", "addr: 0x1000") +
          step("lguest.guest_notify", "addr: 0x2000") + step("lguest.read", "fd: $lg.fd, len: 8", "value: 0x2000") +
          step("lguest.guest_state", "", "eventfds: 1, pending_notify: 0x2000") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_EVENTFD, addr: 0x1000, eventfd: $nul.fd, arg: null", "errno: EFAULT"));
    t.steps_ok();
    // The closed eventfd was signalled once.
    const auto& p = *t.dom0().processes().front();
    const auto f = std::dynamic_pointer_cast<guest::lguest_file>(p.lookup(0));
    ASSERT_TRUE(f && f->guest());
    ASSERT_EQ(f->guest()->eventfds.size(), 1u);
    EXPECT_EQ(f->guest()->eventfds[0].event->count(), 1u);
}

TEST(Lguest, Registers) {
    run t(platform_yaml() + init +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_GETREG, reg: orig_ax", "errno: ENOENT") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_GETREG, reg: 2", "errno: ENOENT") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_GETREG, reg: 68", "errno: ENOENT") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_SETREG, reg: cs, value: 3", "errno: ENOENT") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_SETREG, reg: flags, value: 3", "errno: ENOENT") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_SETREG, reg: si, value: 0xdeadbeef", "ret: 24") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_GETREG, reg: si", "ret: 16") +
          step("lguest.read", "fd: $lg.fd, len: 8", "ret: 8, value: 0xdeadbeef") +
          // A register read once; the next read runs the guest.
          step("lguest.read", "fd: $lg.fd, len: 8", "errno: EAGAIN") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_GETREG, reg: ds") +
          step("lguest.read", "fd: $lg.fd, len: 8, arg: null", "errno: EFAULT") +
          step("lguest.read", "fd: $lg.fd, len: 8", "value: 0x69"));
    t.steps_ok();
}

TEST(Lguest, OnlyTheLauncherReads) {
    run t(platform_yaml() + init + step("proc.fork", "name: child") +
          step("lguest.read", "fd: $lg.fd, len: 8", "errno: EPERM", "child") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_IRQ, irq: 2", "ret: 0", "child") +   // writes have no such check
          step("lguest.guest_notify", "addr: 0x3000", "ret: 0", "child") +
          step("lguest.read", "fd: $lg.fd, len: 8", "value: 0x3000") +
          step("lguest.guest_state", "", "irqs_taken: [2]"));
    t.steps_ok();
}

TEST(Lguest, RestartGivesErestart) {
    run t(platform_yaml() + init + step("lguest.guest_hcall", "hcall: LHCALL_SHUTDOWN, args: { arg1: 0x100, arg2: 2 }") +
          step("lguest.read", "fd: $lg.fd, len: 64") + step("lguest.read", "fd: $lg.fd, len: 64") +
          step("lguest.guest_state", "", "dead: true") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_IRQ, irq: 1", "errno: ENOENT"));
    t.steps_ok();
    for (std::size_t i : {4u, 5u}) {
        EXPECT_EQ(t.result(i).at("ret"), -1);
        const std::string e = t.result(i).at("errno").get<std::string>();
        EXPECT_TRUE(e == "ERESTART" || e == "85") << e;
    }
    EXPECT_FALSE(t.result(6).contains("reason"));
}

TEST(Lguest, DeadReasonIsCutToTheBuffer) {
    run t(platform_yaml() + init + step("lguest.guest_hcall", "hcall: 3") + step("lguest.read", "fd: $lg.fd, len: 8", "errno: ENOENT") +
          step("lguest.read", "fd: $lg.fd, len: 0", "ret: 0") +
          step("lguest.read", "fd: $lg.fd, len: 4", "ret: 4, data: \"42 61 64 20\"") +
          step("lguest.read", "fd: $lg.fd, len: 4096", "ret: 17, reason: \"Bad hypercall 3\\n\""));
    t.steps_ok();
}

TEST(Lguest, NotifyReturnsAndTheNextReadGoesOn) {
    run t(platform_yaml() + init + step("lguest.guest_notify", "addr: 0x1000") + step("lguest.guest_notify", "addr: 0") +
          step("lguest.guest_notify", "addr: 0x2000") +
          step("lguest.read", "fd: $lg.fd, len: 8", "ret: 8, value: 0x1000, data: \"00 10 00 00 00 00 00 00\"") +
          // A notify of 0 is nothing pending: the guest goes on.
          step("lguest.read", "fd: $lg.fd, len: 8", "ret: 8, value: 0x2000") +
          step("lguest.read", "fd: $lg.fd, len: 8", "errno: EAGAIN") +
          step("lguest.guest_state", "", "pending_notify: 0, queued: 0"));
    t.steps_ok();
}

TEST(Lguest, GuestAccessesGoThroughTheLauncher) {
    run t(platform_yaml() + init +
          step("lguest.guest_access", "addr: 0x10, len: 4, write: true, data: \"01 02 03 04\"") +
          step("lguest.guest_access", "addr: 0x10, len: 2") + step("lguest.read", "fd: $lg.fd, len: 8", "errno: EAGAIN") +
          step("mem.read", "addr: $mem.addr+0x10, len: 4", "data: \"01 02 03 04\"") +
          step("lguest.guest_state", "", "last_read: \"01 02\"") +
          // The whole of the region, to its last byte, and not one past.
          step("lguest.guest_access", "addr: 0xffff, len: 1") + step("lguest.read", "fd: $lg.fd, len: 8", "errno: EAGAIN") +
          step("lguest.guest_access", "addr: 0xffff, len: 2") + step("lguest.read", "fd: $lg.fd, len: 8", "errno: ENOENT") +
          step("lguest.read", "fd: $lg.fd, len: 64", "reason: \"bad read address 0xffff len 2\"") +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_GETREG, reg: ax", "errno: ENOENT"));
    t.steps_ok();
}

TEST(Lguest, PfnlimitProductWrapsAsTheHostsArithmetic) {
    // pfnlimit * 4096 wraps to 0: no address passes.
    run t(platform_yaml() +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_INITIALIZE, base: $mem.addr, pfnlimit: 0x10000000000000", "ret: 24") +
          step("lguest.guest_access", "addr: 0, len: 1") + step("lguest.read", "fd: $lg.fd, len: 8", "errno: ENOENT") +
          step("lguest.read", "fd: $lg.fd, len: 64", "reason: \"bad read address 0x0 len 1\""));
    t.steps_ok();
}

TEST(Lguest, ExitOfTheLauncherReleasesTheGuest) {
    run t(platform_yaml() + init + "  - { do: eventfd.create, as: launcher, save: ev }\n" +
          step("lguest.write", "fd: $lg.fd, req: LHREQ_EVENTFD, addr: 0x1000, eventfd: $ev.fd", "ret: 0"));
    t.steps_ok();
    guest::kernel& k = t.dom0();
    auto& p = *k.processes().front();
    const auto f = std::dynamic_pointer_cast<guest::lguest_file>(p.lookup(0));
    ASSERT_TRUE(f && f->guest());
    sc_core::sc_time d;
    p.exit(d);
    EXPECT_EQ(f->guest(), nullptr);
}

}  // namespace
