// Processes of the guest kernels through the step vocabulary: address
// spaces (mem.alloc, mem.read / mem.write at virtual addresses, munmap),
// descriptors (RLIMIT_NOFILE, bad and closed descriptors), fork (shared
// descriptors, copied private memory), exit, eventfd, and /dev/xen/evtchn
// between two domains, each result as Linux gives it.
#include <gtest/gtest.h>

#include "models/guest/kernel.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;

struct run : test::scenario_run {
    using scenario_run::scenario_run;
    guest::process& proc(const std::string& name) { return *pi->guests->find(name); }
};

std::string platform_yaml(const std::string& procs =
                              "  - { name: app, domain: guest1 }\n"
                              "  - { name: back, domain: dom0 }\n") {
    return "name: t\n"
           "platform: { memory: 1GiB }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 128MiB }\n"
           "  - { name: guest1, memory: 64MiB }\n"
           "processes:\n" + procs + "steps:\n";
}

std::string step(const std::string& op, const std::string& as, const std::string& args, const std::string& expect = "",
                 const std::string& save = "") {
    return "  - { do: " + op + ", as: " + as + ", args: { " + args + " }" + (expect.empty() ? "" : ", expect: { " + expect + " }") +
           (save.empty() ? "" : ", save: " + save) + " }\n";
}

TEST(GuestKernel, AnonymousMemoryIsReachedThroughTheProcessPageTables) {
    run r(platform_yaml() +
          step("mem.alloc", "app", "size: 12KiB", "", "buf") +
          step("mem.write", "app", "addr: $buf.addr+4094, data: \"01 02 03 04\"") +  // across a page boundary
          step("mem.read", "app", "addr: $buf.addr+4094, len: 4", "data: \"01 02 03 04\"") +
          step("mem.read", "app", "addr: 0x1000, len: 1", "errno: EFAULT") +
          step("mem.alloc", "app", "size: 4KiB, prot: [PROT_READ]", "", "ro") +
          step("mem.write", "app", "addr: $ro.addr, data: \"ff\"", "errno: EFAULT") +
          step("mem.read", "app", "addr: $ro.addr, len: 1", "data: \"00\""));
    r.steps_ok();
    // The process's page is a page of guest1's RAM: the same bytes as a domain.
    const std::uint64_t va = r.result(0)["addr"].get<std::uint64_t>();
    const auto gpa = r.proc("app").user_gpa(va + 4094);
    ASSERT_TRUE(gpa);
    EXPECT_LT(*gpa, 64ull << 20);
}

TEST(GuestKernel, AWriteThatFaultsOnItsSecondPageChangesNothing) {
    run r(platform_yaml() +
          step("mem.alloc", "app", "size: 4KiB", "", "buf") +
          step("mem.write", "app", "addr: $buf.addr+4095, data: \"aa bb\"", "errno: EFAULT") +
          step("mem.read", "app", "addr: $buf.addr+4095, len: 1", "data: \"00\""));
    r.steps_ok();
}

TEST(GuestKernel, MunmapRemovesPagesAndSplitsTheMapping) {
    run r(platform_yaml() +
          step("mem.alloc", "app", "size: 12KiB", "", "buf") +
          step("xenevtchn.munmap", "app", "addr: $buf.addr+4096, length: 4096", "ret: 0") +
          step("mem.read", "app", "addr: $buf.addr+4096, len: 1", "errno: EFAULT") +
          step("mem.read", "app", "addr: $buf.addr, len: 1", "errno: 0") +
          step("mem.read", "app", "addr: $buf.addr+8192, len: 1", "errno: 0") +
          step("xenevtchn.munmap", "app", "addr: $buf.addr+1, length: 4096", "errno: EINVAL") +
          step("xenevtchn.munmap", "app", "addr: $buf.addr, length: 0", "errno: EINVAL"));
    r.steps_ok();
    EXPECT_EQ(r.proc("app").vmas().size(), 2u);  // the two ends of the buffer
}

TEST(GuestKernel, ForkSharesDescriptorsAndCopiesPrivateMemory) {
    run r(platform_yaml() +
          step("mem.alloc", "app", "size: 4KiB", "", "buf") +
          step("mem.write", "app", "addr: $buf.addr, data: \"11\"") +
          step("eventfd.create", "app", "", "", "ev") +
          step("proc.fork", "app", "name: kid") +
          step("mem.write", "kid", "addr: $buf.addr, data: \"22\"") +
          step("mem.read", "app", "addr: $buf.addr, len: 1", "data: \"11\"") +
          step("eventfd.write", "kid", "fd: $ev.fd, value: 5") +
          step("eventfd.read", "app", "fd: $ev.fd", "value: 5") +
          step("file.close", "app", "fd: $ev.fd", "ret: 0") +
          step("eventfd.write", "kid", "fd: $ev.fd, value: 1", "ret: 8") +  // the child's descriptor still holds the file
          step("eventfd.read", "app", "fd: $ev.fd", "errno: EBADF"));
    r.steps_ok();
}

TEST(GuestKernel, DescriptorsAreBoundedByRlimitNofile) {
    run r(platform_yaml("  - { name: app, domain: guest1, rlimits: { nofile: 2 } }\n") +
          step("file.open", "app", "path: /dev/null", "fd: 0") +
          step("eventfd.create", "app", "", "fd: 1") +
          step("xenevtchn.open", "app", "", "errno: EMFILE, ret: -1") +
          step("file.open", "app", "path: /dev/nothing", "errno: ENOENT") +
          step("file.close", "app", "fd: 0", "ret: 0") +
          step("file.close", "app", "fd: 0", "errno: EBADF") +
          step("file.close", "app", "fd: 4294967295", "errno: EBADF") +
          step("xenevtchn.open", "app", "", "fd: 0"));
    r.steps_ok();
}

TEST(GuestKernel, LockedMemoryCountsAgainstMemlockUnlessCapIpcLock) {
    run r(platform_yaml("  - { name: app, domain: guest1, rlimits: { memlock: 8KiB }, capabilities: [] }\n"
                        "  - { name: root, domain: guest1, rlimits: { memlock: 8KiB } }\n") +
          step("mem.alloc", "app", "size: 4KiB"));
    guest::process& app = r.proc("app");
    guest::process& root = r.proc("root");
    EXPECT_FALSE(app.capable(guest::capability::CAP_IPC_LOCK));
    EXPECT_EQ(app.account_locked(2), 0);
    EXPECT_EQ(app.account_locked(1), ENOMEM);
    EXPECT_EQ(app.locked_pages(), 2u);
    EXPECT_EQ(app.account_locked(-2), 0);
    EXPECT_EQ(app.account_locked(2), 0);
    EXPECT_TRUE(root.capable(guest::capability::CAP_IPC_LOCK));  // every capability unless it says
    EXPECT_EQ(root.account_locked(100), 0);
}

TEST(GuestKernel, EventfdFollowsEventfd2) {
    run r(platform_yaml() +
          step("eventfd.create", "app", "initval: 2, flags: 1", "", "sem") +  // EFD_SEMAPHORE
          step("eventfd.read", "app", "fd: $sem.fd", "value: 1") +
          step("eventfd.read", "app", "fd: $sem.fd", "value: 1") +
          step("eventfd.read", "app", "fd: $sem.fd", "errno: EAGAIN") +
          step("eventfd.create", "app", "flags: 8", "errno: EINVAL") +
          step("eventfd.write", "app", "fd: $sem.fd, value: 0xffffffffffffffff", "errno: EINVAL") +
          step("eventfd.write", "app", "fd: $sem.fd, value: 0xfffffffffffffffe", "ret: 8") +
          step("eventfd.write", "app", "fd: $sem.fd, value: 1", "errno: EAGAIN") +
          step("eventfd.write", "app", "fd: $sem.fd, value: 1, arg: null", "errno: EFAULT") +
          step("file.open", "app", "path: /dev/null", "", "devnull") +
          step("eventfd.read", "app", "fd: $devnull.fd", "ret: 0"));
    r.steps_ok();
}

TEST(GuestKernel, EvtchnDeliversPortsToTheFileThatBoundThem) {
    run r(platform_yaml() +
          step("xenevtchn.open", "app", "", "", "e1") +
          step("xenevtchn.bind_unbound_port", "app", "fd: $e1.fd, remote_domain: dom0", "", "p1") +
          step("xenevtchn.open", "back", "", "", "e0") +
          step("xenevtchn.bind_interdomain", "back", "fd: $e0.fd, remote_domain: guest1, remote_port: $p1.port", "", "p0") +
          step("xenevtchn.pending", "app", "fd: $e1.fd", "errno: EAGAIN") +
          step("xenevtchn.notify", "back", "fd: $e0.fd, port: $p0.port", "ret: 0") +
          "  - { do: sim.wait, args: { time: 5us } }\n" +
          step("xenevtchn.pending", "app", "fd: $e1.fd", "ports: [ $p1.port ]") +
          // Fired ports stay disabled until written back: a second event is held.
          step("xenevtchn.notify", "back", "fd: $e0.fd, port: $p0.port") +
          "  - { do: sim.wait, args: { time: 5us } }\n" +
          step("xenevtchn.pending", "app", "fd: $e1.fd", "errno: EAGAIN") +
          step("xenevtchn.unmask", "app", "fd: $e1.fd, port: $p1.port", "ret: 4") +
          "  - { do: sim.wait, args: { time: 5us } }\n" +
          step("xenevtchn.pending", "app", "fd: $e1.fd", "ports: [ $p1.port ]") +
          // Ports not bound by this file, and bad arguments.
          step("xenevtchn.notify", "app", "fd: $e1.fd, port: 4095", "errno: ENOTCONN") +
          step("xenevtchn.notify", "app", "fd: $e1.fd, port: 4096", "errno: EINVAL") +
          step("xenevtchn.unbind", "app", "fd: $e1.fd, port: 4096", "errno: EINVAL") +
          step("xenevtchn.notify", "app", "fd: $e1.fd, port: 1, arg: null", "errno: EFAULT") +
          step("xenevtchn.notify", "app", "fd: 99, port: 1", "errno: EBADF") +
          step("xenevtchn.ioctl", "app", "fd: $e1.fd, cmd: 0x4507", "errno: ENOSYS") +
          step("xenevtchn.bind_interdomain", "app", "fd: $e1.fd, remote_domain: dom0, remote_port: 999", "errno: EINVAL"));
    r.steps_ok();
}

TEST(GuestKernel, RestrictDomidLimitsLaterBinds) {
    run r(platform_yaml() +
          step("xenevtchn.open", "back", "", "", "e0") +
          step("xenevtchn.restrict_domid", "back", "fd: $e0.fd, domid: 0", "errno: EINVAL") +
          step("xenevtchn.restrict_domid", "back", "fd: $e0.fd, domid: guest1", "ret: 0") +
          step("xenevtchn.restrict_domid", "back", "fd: $e0.fd, domid: guest1", "errno: EACCES") +
          step("xenevtchn.bind_unbound_port", "back", "fd: $e0.fd, remote_domain: guest1", "errno: EACCES") +
          step("xenevtchn.bind_virq", "back", "fd: $e0.fd, virq: 0", "errno: EACCES") +
          step("xenevtchn.bind_interdomain", "back", "fd: $e0.fd, remote_domain: dom0, remote_port: 1", "errno: EACCES"));
    r.steps_ok();
}

TEST(GuestKernel, ClosingTheLastDescriptorClosesItsPorts) {
    run r(platform_yaml() +
          step("xenevtchn.open", "app", "", "", "e1") +
          step("xenevtchn.bind_unbound_port", "app", "fd: $e1.fd, remote_domain: dom0", "", "p1") +
          step("proc.fork", "app", "name: kid") +
          step("xenevtchn.close", "app", "fd: $e1.fd", "ret: 0") +
          "  - { do: evtchn.status, as: guest1, args: { dom: DOMID_SELF, port: $p1.port }, expect: { status: EVTCHNSTAT_unbound } }\n" +
          step("proc.exit", "kid", "") +
          "  - { do: evtchn.status, as: guest1, args: { dom: DOMID_SELF, port: $p1.port }, expect: { status: EVTCHNSTAT_closed } }\n");
    r.steps_ok();
}

TEST(GuestKernel, InjectedAllocationFailuresReachTheKernel) {
    run r(platform_yaml() +
          "  - { do: sim.fail_alloc, args: { count: 1 } }\n" +
          step("xenevtchn.open", "app", "", "errno: ENOMEM") +
          "  - { do: sim.fail_alloc, args: { count: 1 } }\n" +
          step("mem.alloc", "app", "size: 4KiB", "errno: ENOMEM") +
          step("mem.alloc", "app", "size: 4KiB", "errno: 0"));
    r.steps_ok();
}

TEST(GuestKernel, ProcessStepsAreRefusedAsADomainAtLoadTime) {
    EXPECT_THROW(run(platform_yaml() + step("xenevtchn.open", "guest1", "")), input_error);
    EXPECT_THROW(run(platform_yaml() + step("proc.fork", "app", "name: back")), input_error);
}

}  // namespace
