// /dev/xen/gntdev through the step vocabulary, both versions: every request,
// its errors as Linux 2.6.38 and today's driver return them, mmap through
// the hypervisor, and the unmap notification. guest1 grants with the
// granting kernel's own writes (gnttab.grant_access); the mapping processes
// are `pvb` in dom0 (PV) and `hvmb` in guest2 (HVM).
#include <gtest/gtest.h>

#include <string>

#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;

struct run : test::scenario_run {
    using scenario_run::scenario_run;
};

// `dom0_drv` / `guest2_drv`: the gntdev settings of the mapping domains.
// Steps 0-3 grant guest1's gfns 0x100 (ref 8, to dom0), 0x101 (ref 9, to
// dom0, read-only), 0x102 (ref 10, to guest2) and open gntdev as pvb ($p) and hvmb ($h).
std::string platform_yaml(const std::string& dom0_drv, const std::string& guest2_drv = "{ version: current }") {
    return "name: t\n"
           "platform: { memory: 2GiB }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 256MiB, drivers: { gntdev: " + dom0_drv + " } }\n"
           "  - { name: guest1, memory: 128MiB }\n"
           "  - { name: guest2, memory: 128MiB, drivers: { gntdev: " + guest2_drv + " } }\n"
           "processes:\n"
           "  - { name: pvb, domain: dom0 }\n"
           "  - { name: hvmb, domain: guest2 }\n"
           "  - { name: app1, domain: guest1 }\n"
           "steps:\n"
           "  - { do: gnttab.grant_access, as: guest1, args: { ref: 8, domid: dom0, frame: 0x100 } }\n"
           "  - { do: gnttab.grant_access, as: guest1, args: { ref: 9, domid: dom0, frame: 0x101, readonly: true } }\n"
           "  - { do: gnttab.grant_access, as: guest1, args: { ref: 10, domid: guest2, frame: 0x102 } }\n"
           "  - { do: gntdev.open, as: pvb, save: p }\n"
           "  - { do: gntdev.open, as: hvmb, save: h }\n";
}
const std::string original = "{ version: original }", current = "{ version: current }";

std::string step(const std::string& op, const std::string& as, const std::string& args, const std::string& expect = "",
                 const std::string& save = "") {
    return "  - { do: " + op + (as.empty() ? "" : ", as: " + as) + ", args: { " + args + " }" +
           (save.empty() ? "" : ", save: " + save) + (expect.empty() ? "" : ", expect: { " + expect + " }") + " }\n";
}
std::string map8(const std::string& save = "m", const std::string& expect = "ret: 0") {
    return step("gntdev.map_grant_ref", "pvb", "fd: $p.fd, refs: [ { domid: guest1, ref: 8 } ]", expect, save);
}

TEST(Gntdev, MapReadWriteBothWaysCurrentPv) {
    run t(platform_yaml(current) +
          step("mem.write", "guest1", "addr: 0x100000, data: \"11 22\"") + map8() +
          step("gntdev.mmap", "pvb", "fd: $p.fd, offset: $m.index, length: 4096, prot: [PROT_READ, PROT_WRITE]", "errno: 0", "va") +
          step("mem.read", "pvb", "addr: $va.addr, len: 2", "data: \"11 22\"") +
          step("mem.write", "pvb", "addr: $va.addr, data: \"33\"") +
          step("mem.read", "guest1", "addr: 0x100000, len: 2", "data: \"33 22\"") +
          // A second mmap of a map a PV VMA holds: EINVAL.
          step("gntdev.mmap", "pvb", "fd: $p.fd, offset: $m.index, length: 4096, prot: [PROT_READ]", "errno: EINVAL") +
          // VM_DONTCOPY: a child of fork does not get it.
          step("proc.fork", "pvb", "name: kid") + step("mem.read", "kid", "addr: $va.addr, len: 1", "errno: EFAULT") +
          step("gntdev.munmap", "pvb", "addr: $va.addr, length: 4096") +
          // The PV map's grants went with the VMA: the granter can end the grant.
          step("gnttab.end_access", "guest1", "ref: 8", "errno: 0"));
    t.steps_ok();
}

TEST(Gntdev, HvmMapperKeepsGrantsUntilLastUser) {
    run t(platform_yaml(current) +
          step("mem.write", "guest1", "addr: 0x102000, data: \"aa\"") +
          step("gntdev.map_grant_ref", "hvmb", "fd: $h.fd, refs: [ { domid: guest1, ref: 10 } ]", "index: 0", "m") +
          step("gntdev.mmap", "hvmb", "fd: $h.fd, offset: 0, length: 4096, prot: [PROT_READ, PROT_WRITE]", "errno: 0", "a") +
          // Auto-translated: the same map in a second VMA, no VM_DONTCOPY.
          step("gntdev.mmap", "hvmb", "fd: $h.fd, offset: 0, length: 4096, prot: [PROT_READ]", "errno: 0", "b") +
          step("mem.read", "hvmb", "addr: $b.addr, len: 1", "data: \"aa\"") +
          step("gntdev.munmap", "hvmb", "addr: $a.addr, length: 4096") +
          step("gntdev.munmap", "hvmb", "addr: $b.addr, length: 4096") +
          // The map list still holds it: the grant stays mapped until unmap_grant_ref.
          step("gnttab.end_access", "guest1", "ref: 10", "errno: EBUSY") +
          step("gntdev.unmap_grant_ref", "hvmb", "fd: $h.fd, index: 0, count: 0", "errno: 0") +
          step("gnttab.end_access", "guest1", "ref: 10", "errno: 0"));
    t.steps_ok();
}

void mapGrantRefErrors(const std::string& v) {
    const bool orig = v == original;
    run t(platform_yaml(orig ? "{ version: original, limit: 4 }" : "{ version: current, limit: 4 }") +
          step("gntdev.map_grant_ref", "pvb", "fd: $p.fd, count: 0", "errno: EINVAL") +
          step("gntdev.map_grant_ref", "pvb", "fd: $p.fd, count: 5", "errno: EINVAL") +
          step("gntdev.map_grant_ref", "pvb", "fd: $p.fd, count: 1, arg: null", "errno: EFAULT") +
          step("gntdev.map_grant_ref", "pvb", "fd: 99, count: 1", "errno: EBADF") +
          step("gntdev.map_grant_ref", "pvb", "fd: $p.fd, count: 3", "ret: 0, index: 0") +
          // 2.6.38 counts every map against the file's limit (ENOMEM); today the limit is per request.
          step("gntdev.map_grant_ref", "pvb", "fd: $p.fd, count: 2", orig ? "errno: ENOMEM" : "ret: 0, index: 12288") +
          step("sim.fail_alloc", "", "count: 1") +
          step("gntdev.map_grant_ref", "pvb", "fd: $p.fd, count: 1", "errno: ENOMEM"));
    t.steps_ok();
}
TEST(Gntdev, MapGrantRefErrorsOriginal) { mapGrantRefErrors(original); }
TEST(Gntdev, MapGrantRefErrorsCurrent) { mapGrantRefErrors(current); }

// 1000 references read from a one-page buffer: today EFAULT; 2.6.38 returns the ENOMEM it had in `err`.
void refsPastTheStructureFault(const std::string& v) {
    run t(platform_yaml(v) + step("gntdev.map_grant_ref", "pvb", "fd: $p.fd, count: 1000, refs: [ { domid: guest1, ref: 8 } ]",
                                  v == original ? "errno: ENOMEM" : "errno: EFAULT"));
    t.steps_ok();
}
TEST(Gntdev, RefsPastTheStructureFaultOriginal) { refsPastTheStructureFault(original); }
TEST(Gntdev, RefsPastTheStructureFaultCurrent) { refsPastTheStructureFault(current); }

void unmapGrantRefErrors(const std::string& v) {
    const bool orig = v == original;
    run t(platform_yaml(v) + map8() +
          step("gntdev.unmap_grant_ref", "pvb", "fd: $p.fd, index: 4096, count: 1", "errno: ENOENT") +
          step("gntdev.unmap_grant_ref", "pvb", "fd: $p.fd, index: 0, count: 2", "errno: ENOENT") +
          step("gntdev.unmap_grant_ref", "pvb", "fd: $p.fd, index: 0, count: 1, arg: null", "errno: EFAULT") +
          step("gntdev.mmap", "pvb", "fd: $p.fd, offset: 0, length: 4096, prot: [PROT_READ, PROT_WRITE]", "errno: 0", "va") +
          // While mmapped: 2.6.38 refuses (EBUSY); today the map leaves the list and the VMA keeps the grant.
          step("gntdev.unmap_grant_ref", "pvb", "fd: $p.fd, index: 0, count: 1", orig ? "errno: EBUSY" : "errno: 0") +
          step("mem.read", "pvb", "addr: $va.addr, len: 1", "errno: 0") +
          step("gntdev.munmap", "pvb", "addr: $va.addr, length: 4096") +
          step("gntdev.unmap_grant_ref", "pvb", "fd: $p.fd, index: 0, count: 1", orig ? "errno: 0" : "errno: ENOENT") +
          step("gnttab.end_access", "guest1", "ref: 8", "errno: 0"));
    t.steps_ok();
}
TEST(Gntdev, UnmapGrantRefErrorsOriginal) { unmapGrantRefErrors(original); }
TEST(Gntdev, UnmapGrantRefErrorsCurrent) { unmapGrantRefErrors(current); }

void getOffsetForVaddr(const std::string& v) {
    const bool orig = v == original;
    run t(platform_yaml(v) +
          step("gntdev.map_grant_ref", "pvb", "fd: $p.fd, refs: [ { domid: guest1, ref: 8 }, { domid: guest1, ref: 8 } ]", "ret: 0", "m") +
          step("gntdev.get_offset_for_vaddr", "pvb", "fd: $p.fd, vaddr: 0x1000", "errno: EINVAL") +
          step("gntdev.mmap", "pvb", "fd: $p.fd, offset: 0, length: 8192, prot: [PROT_READ], flags: [MAP_SHARED, MAP_FIXED], addr: 0x40000000",
               "addr: 0x40000000") +
          step("gntdev.get_offset_for_vaddr", "pvb", "fd: $p.fd, vaddr: 0x40000000", "offset: 0, count: 2") +
          // The mapping's second page: 2.6.38 wants the VMA's start, today any address in it.
          step("gntdev.get_offset_for_vaddr", "pvb", "fd: $p.fd, vaddr: 0x40001000", orig ? "errno: EINVAL" : "offset: 0, count: 2") +
          // An address in anonymous memory.
          step("mem.alloc", "pvb", "size: 4096", "", "buf") +
          step("gntdev.get_offset_for_vaddr", "pvb", "fd: $p.fd, vaddr: $buf.addr", "errno: EINVAL") +
          step("gntdev.get_offset_for_vaddr", "pvb", "fd: $p.fd, vaddr: 0, arg: null", "errno: EFAULT"));
    t.steps_ok();
}
TEST(Gntdev, GetOffsetForVaddrOriginal) { getOffsetForVaddr(original); }
TEST(Gntdev, GetOffsetForVaddrCurrent) { getOffsetForVaddr(current); }

TEST(Gntdev, SetMaxGrantsOnlyInOriginal) {
    run t(platform_yaml("{ version: original, limit: 8 }") +
          step("gntdev.set_max_grants", "pvb", "fd: $p.fd, count: 9", "errno: E2BIG") +
          step("gntdev.set_max_grants", "pvb", "fd: $p.fd, count: 1", "ret: 0") +
          step("gntdev.map_grant_ref", "pvb", "fd: $p.fd, count: 2", "errno: EINVAL") +
          step("gntdev.set_max_grants", "pvb", "fd: $p.fd, count: 1, arg: null", "errno: EFAULT") +
          step("gntdev.set_unmap_notify", "pvb", "fd: $p.fd, index: 0, action: UNMAP_NOTIFY_CLEAR_BYTE", "errno: EINVAL") +
          step("gntdev.grant_copy", "pvb", "fd: $p.fd", "errno: EINVAL") +
          step("gntdev.ioctl", "pvb", "fd: $p.fd, cmd: 0x4799", "errno: EINVAL"));
    t.steps_ok();
}

TEST(Gntdev, SetMaxGrantsGoneInCurrent) {
    run u(platform_yaml(current) + step("gntdev.set_max_grants", "pvb", "fd: $p.fd, count: 1", "errno: ENOTTY") +
          step("gntdev.ioctl", "pvb", "fd: $p.fd, cmd: 0x4799", "errno: ENOTTY"));
    u.steps_ok();
}

void mmapErrors(const std::string& v) {
    const bool orig = v == original;
    run t(platform_yaml(v) + map8() +
          step("gntdev.mmap", "pvb", "fd: $p.fd, offset: 0, length: 4096, prot: [PROT_READ, PROT_WRITE], flags: MAP_PRIVATE", "errno: EINVAL") +
          step("gntdev.mmap", "pvb", "fd: $p.fd, offset: 4096, length: 4096, prot: [PROT_READ]", "errno: EINVAL") +
          step("gntdev.mmap", "pvb", "fd: $p.fd, offset: 0, length: 8192, prot: [PROT_READ]", "errno: EINVAL") +
          // A read-only private mapping is allowed by both.
          step("gntdev.mmap", "pvb", "fd: $p.fd, offset: 0, length: 4096, prot: [PROT_READ], flags: MAP_PRIVATE", "errno: 0", "va") +
          step("gntdev.munmap", "pvb", "addr: $va.addr, length: 4096") +
          // A child sharing the descriptor: 2.6.38 maps only into the opener's address space.
          step("proc.fork", "pvb", "name: kid") +
          step("gntdev.mmap", "kid", "fd: $p.fd, offset: 0, length: 4096, prot: [PROT_READ]", orig ? "errno: EINVAL" : "errno: 0"));
    t.steps_ok();
}
TEST(Gntdev, MmapErrorsOriginal) { mmapErrors(original); }
TEST(Gntdev, MmapErrorsCurrent) { mmapErrors(current); }

TEST(Gntdev, UnmapNotifyErrors) {
    run t(platform_yaml(current) + map8() +
          step("gntdev.set_unmap_notify", "pvb", "fd: $p.fd, index: 0, action: 4", "errno: EINVAL") +
          step("gntdev.set_unmap_notify", "pvb", "fd: $p.fd, index: 0, action: UNMAP_NOTIFY_SEND_EVENT, event_channel_port: 30", "errno: EINVAL") +
          step("gntdev.set_unmap_notify", "pvb", "fd: $p.fd, index: 4096, action: UNMAP_NOTIFY_CLEAR_BYTE", "errno: ENOENT") +
          step("gntdev.set_unmap_notify", "pvb", "fd: $p.fd, index: 0, action: UNMAP_NOTIFY_CLEAR_BYTE, arg: null", "errno: EFAULT") +
          step("gntdev.set_unmap_notify", "pvb", "fd: $p.fd, index: 4095, action: UNMAP_NOTIFY_CLEAR_BYTE", "ret: 0"));
    t.steps_ok();
}

TEST(Gntdev, NotifyOnProcessExitHvm) {
    run t(platform_yaml(current) +
          step("mem.write", "guest1", "addr: 0x102000, data: \"aa bb cc\"") +
          step("xenevtchn.open", "app1", "", "", "ex") +
          step("xenevtchn.bind_unbound_port", "app1", "fd: $ex.fd, remote_domain: guest2", "", "px") +
          step("xenevtchn.open", "hvmb", "", "", "ey") +
          step("xenevtchn.bind_interdomain", "hvmb", "fd: $ey.fd, remote_domain: guest1, remote_port: $px.port", "", "py") +
          step("gntdev.map_grant_ref", "hvmb", "fd: $h.fd, refs: [ { domid: guest1, ref: 10 } ]", "index: 0", "m") +
          step("gntdev.mmap", "hvmb", "fd: $h.fd, offset: 0, length: 4096, prot: [PROT_READ, PROT_WRITE]", "errno: 0", "a") +
          step("gntdev.set_unmap_notify", "hvmb",
               "fd: $h.fd, index: 1, action: [UNMAP_NOTIFY_CLEAR_BYTE, UNMAP_NOTIFY_SEND_EVENT], event_channel_port: $py.port", "ret: 0") +
          step("proc.exit", "hvmb", "") + step("sim.wait", "", "time: 5us") +
          step("mem.read", "guest1", "addr: 0x102000, len: 3", "data: \"aa 00 cc\"") +
          step("xenevtchn.pending", "app1", "fd: $ex.fd", "ports: [ $px.port ]") +
          step("gnttab.end_access", "guest1", "ref: 10", "errno: 0"));
    t.steps_ok();
}

TEST(Gntdev, GrantCopy) {
    run t(platform_yaml(current) +
          step("mem.write", "guest1", "addr: 0x102010, data: \"de ad be ef\"") +
          step("mem.alloc", "hvmb", "size: 8192", "", "buf") +
          step("mem.alloc", "hvmb", "size: 4096, prot: [PROT_READ]", "", "ro") +
          // Grant -> the caller's memory.
          step("gntdev.grant_copy", "hvmb",
               "fd: $h.fd, segments: [ { source: { foreign: { ref: 10, offset: 16, domid: guest1 } }, dest: { virt: $buf.addr } , len: 4, flags: GNTCOPY_source_gref } ]",
               "ret: 0, segments: [ { status: GNTST_okay } ]") +
          step("mem.read", "hvmb", "addr: $buf.addr, len: 4", "data: \"de ad be ef\"") +
          // A bad reference fails its segment only.
          step("gntdev.grant_copy", "hvmb",
               "fd: $h.fd, segments: [ { source: { foreign: { ref: 10, domid: guest1 } }, dest: { virt: $buf.addr }, len: 1, flags: GNTCOPY_source_gref },"
               " { source: { foreign: { ref: 11, domid: guest1 } }, dest: { virt: $buf.addr }, len: 1, flags: GNTCOPY_source_gref } ]",
               "ret: 0, segments: [ { status: GNTST_okay }, { status: { not: GNTST_okay } } ]") +
          step("gntdev.grant_copy", "hvmb", "fd: $h.fd, segments: [ { source: { virt: $buf.addr }, dest: { virt: $buf.addr }, len: 1 } ]",
               "errno: EINVAL") +
          step("gntdev.grant_copy", "hvmb",
               "fd: $h.fd, segments: [ { source: { foreign: { ref: 10, offset: 4095, domid: guest1 } }, dest: { virt: $buf.addr }, len: 2, flags: GNTCOPY_source_gref } ]",
               "errno: EINVAL") +
          step("gntdev.grant_copy", "hvmb",
               "fd: $h.fd, segments: [ { source: { foreign: { ref: 10, domid: guest1 } }, dest: { virt: $ro.addr }, len: 1, flags: GNTCOPY_source_gref } ]",
               "errno: EFAULT") +
          step("gntdev.grant_copy", "hvmb", "fd: $h.fd, count: 1, arg: null", "errno: EFAULT") +
          // The caller's memory -> the grant.
          step("mem.write", "hvmb", "addr: $buf.addr, data: \"01 02\"") +
          step("gntdev.grant_copy", "hvmb",
               "fd: $h.fd, segments: [ { source: { virt: $buf.addr }, dest: { foreign: { ref: 10, offset: 100, domid: guest1 } }, len: 2, flags: GNTCOPY_dest_gref } ]",
               "ret: 0, segments: [ { status: GNTST_okay } ]") +
          step("mem.read", "guest1", "addr: 0x102064, len: 2", "data: \"01 02\""));
    t.steps_ok();
}

}  // namespace
