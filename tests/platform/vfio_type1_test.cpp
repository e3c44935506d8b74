// The VFIO container and its type1 IOMMU backend (models/guest/vfio/
// container.cpp, type1.cpp), driven as a host process drives them, with
// the edu devices' DMA through the IO page table type1 programs.
#include <gtest/gtest.h>

#include "tests/support/scenario_run.h"
#include "tests/support/vfio_platform.h"

namespace {

using namespace iotwin;
using test::vstep;

struct run : test::scenario_run {
    using scenario_run::scenario_run;
};

// edu's DMA timer is 100 ms: every step waits for it.
std::string platform(const std::string& dom0_extra = "", const std::string& process_extra = "",
                     const std::string& iommu = "", const std::string& more = "") {
    std::string y = test::vfio_platform("", dom0_extra, process_extra);
    y.replace(y.find("  memory: 2GiB\n"), 15,
              "  memory: 2GiB\n  simulation: { settle_limit: 200ms }\n" + (iommu.empty() ? "" : "  iommu: { " + iommu + " }\n") + more);
    return y;
}

// One edu DMA programmed by dom0 through BAR0: src, dst, count, then the
// command (1: RAM -> edu, 3: edu -> RAM), with what the command step expects.
std::string edu_dma(const std::string& dev, std::uint64_t src, std::uint64_t dst, std::uint64_t cmd, const std::string& expect) {
    auto w = [&](unsigned off, std::uint64_t v, const std::string& e) {
        return vstep("pci.mmio_write", "dom0",
                     "device: " + dev + ", bar: 0, offset: " + std::to_string(off) + ", size: 8, value: " + std::to_string(v), e);
    };
    return w(0x80, src, "") + w(0x88, dst, "") + w(0x90, 4, "") + w(0x98, cmd, expect);
}

const std::string rw = "flags: [VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE]";

std::string map(const std::string& p, const std::string& vaddr, const std::string& iova, const std::string& size,
                const std::string& expect, const std::string& flags = rw) {
    return vstep("vfio.iommu_map_dma", p, "fd: $" + p + "c.fd, vaddr: " + vaddr + ", iova: " + iova + ", size: " + size + ", " + flags,
                 expect);
}

TEST(VfioType1, ContainerExtensionsAndSetIommu) {
    run t(platform() + "steps:\n" +
          vstep("vfio.open_container", "qemu", "", "errno: 0", "c") +
          vstep("vfio.get_api_version", "qemu", "fd: $c.fd", "ret: 0") +
          // Without a backend: type1's answers with no IOMMU.
          vstep("vfio.check_extension", "qemu", "fd: $c.fd, extension: VFIO_TYPE1_IOMMU", "ret: 1") +
          vstep("vfio.check_extension", "qemu", "fd: $c.fd, extension: VFIO_TYPE1v2_IOMMU", "ret: 1") +
          vstep("vfio.check_extension", "qemu", "fd: $c.fd, extension: VFIO_TYPE1_NESTING_IOMMU", "ret: 1") +
          vstep("vfio.check_extension", "qemu", "fd: $c.fd, extension: VFIO_UNMAP_ALL", "ret: 1") +
          vstep("vfio.check_extension", "qemu", "fd: $c.fd, extension: VFIO_UPDATE_VADDR", "ret: 1") +
          vstep("vfio.check_extension", "qemu", "fd: $c.fd, extension: VFIO_DMA_CC_IOMMU", "ret: 0") +
          vstep("vfio.check_extension", "qemu", "fd: $c.fd, extension: VFIO_NOIOMMU_IOMMU", "ret: 0") +
          vstep("vfio.check_extension", "qemu", "fd: $c.fd, extension: VFIO_SPAPR_TCE_IOMMU", "ret: 0") +
          vstep("vfio.check_extension", "qemu", "fd: $c.fd, extension: 1234", "ret: 0") +
          // No group: EINVAL whatever the type.
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: VFIO_TYPE1v2_IOMMU", "ret: -1, errno: EINVAL") +
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: 77", "ret: -1, errno: EINVAL") +
          // Unknown ioctls without a backend, and type1's own before one is set.
          vstep("vfio.ioctl", "qemu", "fd: $c.fd, cmd: 0x3b7f", "ret: -1, errno: EINVAL") +
          vstep("vfio.iommu_get_info", "qemu", "fd: $c.fd", "ret: -1, errno: EINVAL") +
          vstep("pci.iommu_group", "qemu", "device: edu0", "errno: 0", "n") +
          vstep("vfio.open_group", "qemu", "group: $n.group", "errno: 0", "g") +
          vstep("vfio.group_set_container", "qemu", "fd: $g.fd, container: $c.fd", "errno: 0") +
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: VFIO_DMA_CC_IOMMU", "ret: -1, errno: ENODEV") +
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: VFIO_NOIOMMU_IOMMU", "ret: -1, errno: ENODEV") +
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: 1234", "ret: -1, errno: ENODEV") +
          // Supported as an extension, refused by type1's open.
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: VFIO_UNMAP_ALL", "ret: -1, errno: EINVAL") +
          // Nesting: intel-iommu cannot enable it.
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: VFIO_TYPE1_NESTING_IOMMU", "ret: -1, errno: EINVAL") +
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: VFIO_TYPE1v2_IOMMU", "ret: 0") +
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: VFIO_TYPE1v2_IOMMU", "ret: -1, errno: EINVAL") +
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: VFIO_TYPE1_IOMMU", "ret: -1, errno: EINVAL") +
          // With a backend: its answers (no snoop control: DMA_CC 0), ENOTTY for the unknown.
          vstep("vfio.check_extension", "qemu", "fd: $c.fd, extension: VFIO_DMA_CC_IOMMU", "ret: 0") +
          vstep("vfio.check_extension", "qemu", "fd: $c.fd, extension: VFIO_TYPE1_IOMMU", "ret: 1") +
          vstep("vfio.check_extension", "qemu", "fd: $c.fd, extension: 99", "ret: 0") +
          vstep("vfio.ioctl", "qemu", "fd: $c.fd, cmd: 0x3b7f", "ret: -1, errno: ENOTTY") +
          vstep("vfio.get_api_version", "qemu", "fd: $c.fd", "ret: 0"));
    t.steps_ok();
}

TEST(VfioType1, GetInfoReportsTheCapabilityChain) {
    run t(platform() + "steps:\n" + test::vfio_open("qemu") +
          vstep("vfio.iommu_get_info", "qemu", "fd: $qemuc.fd",
                "argsz: 116, flags: [VFIO_IOMMU_INFO_PGSIZES, VFIO_IOMMU_INFO_CAPS], iova_pgsizes: 0x40201000, cap_offset: 24") +
          // argsz too small for the chain: the size needed, no capability copied.
          vstep("vfio.iommu_get_info", "qemu", "fd: $qemuc.fd, argsz: 24", "argsz: 116, cap_offset: 0, caps: []") +
          vstep("vfio.iommu_get_info", "qemu", "fd: $qemuc.fd, argsz: 20", "argsz: 116, cap_offset: 0") +
          // Below capsz the kernel copies 16 bytes: cap_offset stays what the caller had.
          vstep("vfio.iommu_get_info", "qemu", "fd: $qemuc.fd, argsz: 16", "argsz: 116, iova_pgsizes: 0x40201000") +
          vstep("vfio.iommu_get_info", "qemu", "fd: $qemuc.fd, argsz: 15", "ret: -1, errno: EINVAL") +
          vstep("vfio.iommu_get_info", "qemu", "fd: $qemuc.fd, arg: null", "ret: -1, errno: EFAULT"));
    t.steps_ok();
    const auto& caps = t.result(6)["caps"];
    ASSERT_EQ(caps.size(), 3u) << caps.dump();
    EXPECT_EQ(caps[0]["id"], 2);
    EXPECT_EQ(caps[0]["version"], 1);
    EXPECT_EQ(caps[0]["flags"], 0);
    EXPECT_EQ(caps[0]["pgsize_bitmap"], 4096);
    EXPECT_EQ(caps[0]["max_dirty_bitmap_size"], 0x10000000);
    EXPECT_EQ(caps[1]["id"], 3);
    EXPECT_EQ(caps[1]["avail"], 65535);
    EXPECT_EQ(caps[2]["id"], 1);
    EXPECT_EQ(caps[2]["nr_iovas"], 2);
    EXPECT_EQ(caps[2]["iova_ranges"][0]["start"], 0);
    EXPECT_EQ(caps[2]["iova_ranges"][0]["end"], 0xfedfffffull);
    EXPECT_EQ(caps[2]["iova_ranges"][1]["start"], 0xfef00000ull);
    EXPECT_EQ(caps[2]["iova_ranges"][1]["end"], 0xffffffffffffull);
}

TEST(VfioType1, AddressWidth39EndsTheRangesAndRefusesBeyond) {
    run t(platform("", "", "address_width: 39") + "steps:\n" + test::vfio_open("qemu") +
          vstep("mem.alloc", "qemu", "size: 4096", "errno: 0", "buf") +
          vstep("vfio.iommu_get_info", "qemu", "fd: $qemuc.fd", "argsz: 116") +
          map("qemu", "$buf.addr", "0x8000000000", "4KiB", "ret: -1, errno: EINVAL") +
          map("qemu", "$buf.addr", "0x7ffffff000", "4KiB", "errno: 0"));
    t.steps_ok();
    EXPECT_EQ(t.result(7)["caps"][2]["iova_ranges"][1]["end"], 0x7fffffffffull);
}

TEST(VfioType1, MapDmaChecksEachArgument) {
    run t(platform() + "steps:\n" + test::vfio_open("qemu") +
          vstep("mem.alloc", "qemu", "size: 16384", "errno: 0", "buf") +
          vstep("mem.alloc", "qemu", "size: 4096, prot: [PROT_READ]", "errno: 0", "ro") +
          vstep("mem.alloc", "qemu", "size: 4096, prot: [PROT_NONE]", "errno: 0", "none") +
          vstep("vfio.iommu_map_dma", "qemu", "fd: $qemuc.fd, argsz: 31, vaddr: $buf.addr, iova: 0x100000, size: 4KiB, " + rw,
                "ret: -1, errno: EINVAL") +
          map("qemu", "$buf.addr", "0x100000", "4KiB", "ret: -1, errno: EINVAL", "flags: 8") +
          map("qemu", "$buf.addr", "0x100000", "4KiB", "ret: -1, errno: EINVAL", "flags: 0") +
          map("qemu", "$buf.addr", "0x100000", "4KiB", "ret: -1, errno: EINVAL",
              "flags: [VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_VADDR]") +
          map("qemu", "$buf.addr", "0x100000", "0", "ret: -1, errno: EINVAL") +
          map("qemu", "$buf.addr", "0x100800", "4KiB", "ret: -1, errno: EINVAL") +
          map("qemu", "$buf.addr+8", "0x100000", "4KiB", "ret: -1, errno: EINVAL") +
          map("qemu", "$buf.addr", "0x100000", "2KiB", "ret: -1, errno: EINVAL") +
          map("qemu", "$buf.addr", "0xfffffffffffff000", "8KiB", "ret: -1, errno: EINVAL") +
          map("qemu", "0xfffffffffffff000", "0x100000", "8KiB", "ret: -1, errno: EINVAL") +
          // Reserved: the interrupt window; beyond the 48-bit aperture.
          map("qemu", "$buf.addr", "0xfee00000", "4KiB", "ret: -1, errno: EINVAL") +
          map("qemu", "$buf.addr", "0xfedff000", "8KiB", "ret: -1, errno: EINVAL") +
          map("qemu", "$buf.addr", "0x1000000000000", "4KiB", "ret: -1, errno: EINVAL") +
          // Not mapped, PROT_NONE, read-only for a device-writable mapping: EFAULT.
          map("qemu", "0x10000", "0x100000", "4KiB", "ret: -1, errno: EFAULT") +
          map("qemu", "$none.addr", "0x100000", "4KiB", "ret: -1, errno: EFAULT", "flags: [VFIO_DMA_MAP_FLAG_READ]") +
          map("qemu", "$ro.addr", "0x100000", "4KiB", "ret: -1, errno: EFAULT") +
          map("qemu", "$ro.addr", "0x100000", "4KiB", "errno: 0", "flags: [VFIO_DMA_MAP_FLAG_READ]") +
          // Overlap: EEXIST; adjacent: a mapping of its own.
          map("qemu", "$buf.addr", "0x100000", "4KiB", "ret: -1, errno: EEXIST") +
          map("qemu", "$buf.addr", "0xff000", "8KiB", "ret: -1, errno: EEXIST") +
          map("qemu", "$buf.addr", "0x101000", "4KiB", "errno: 0") +
          map("qemu", "$buf.addr", "0xff000", "4KiB", "errno: 0") +
          vstep("vfio.iommu_get_info", "qemu", "fd: $qemuc.fd", "errno: 0") +
          vstep("vfio.iommu_map_dma", "qemu", "fd: $qemuc.fd, vaddr: $buf.addr, iova: 0x200000, size: 4KiB, arg: null",
                "ret: -1, errno: EFAULT") +
          // VFIO_DMA_MAP_FLAG_VADDR with nothing to update: ENOENT; one not invalidated: EINVAL.
          map("qemu", "$buf.addr", "0x300000", "4KiB", "ret: -1, errno: ENOENT", "flags: [VFIO_DMA_MAP_FLAG_VADDR]") +
          map("qemu", "$buf.addr", "0x100000", "4KiB", "ret: -1, errno: EINVAL", "flags: [VFIO_DMA_MAP_FLAG_VADDR]"));
    t.steps_ok();
    EXPECT_EQ(t.result(30)["caps"][1]["avail"], 65535 - 3);
}

// A pin that fails midway (the range runs past the buffer) leaves nothing
// mapped, pinned or counted.
TEST(VfioType1, FailedPinIsRolledBack) {
    run t(platform("", ", rlimits: { memlock: 16KiB }, capabilities: []") + "steps:\n" + test::vfio_open("qemu") +
          vstep("mem.alloc", "qemu", "size: 8192", "errno: 0", "buf") +
          map("qemu", "$buf.addr", "0x100000", "16KiB", "ret: -1, errno: EFAULT") +
          vstep("vfio.iommu_get_info", "qemu", "fd: $qemuc.fd", "errno: 0") +
          map("qemu", "$buf.addr", "0x100000", "8KiB", "errno: 0") +
          vstep("mem.alloc", "qemu", "size: 8192", "errno: 0", "buf2") +
          map("qemu", "$buf2.addr", "0x200000", "8KiB", "errno: 0") +
          map("qemu", "$buf2.addr", "0x300000", "4KiB", "ret: -1, errno: ENOMEM"));
    t.steps_ok();
    EXPECT_EQ(t.result(8)["caps"][1]["avail"], 65535);
}

TEST(VfioType1, MemlockCountsPinnedPagesUnlessCapIpcLock) {
    run t(platform("", ", rlimits: { memlock: 8KiB }, capabilities: []") + "steps:\n" + test::vfio_open("qemu") +
          vstep("mem.alloc", "qemu", "size: 16384", "errno: 0", "buf") +
          map("qemu", "$buf.addr", "0x100000", "8KiB", "errno: 0") +
          map("qemu", "$buf.addr+8192", "0x102000", "4KiB", "ret: -1, errno: ENOMEM") +
          // Unmapping returns the pages to the limit.
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 8KiB", "size: 8192") +
          map("qemu", "$buf.addr", "0x100000", "8KiB", "errno: 0"));
    t.steps_ok();
}

TEST(VfioType1, CapIpcLockIsExemptFromMemlock) {
    run u(platform("", ", rlimits: { memlock: 8KiB }, capabilities: [CAP_IPC_LOCK]") + "steps:\n" + test::vfio_open("qemu") +
          vstep("mem.alloc", "qemu", "size: 16384", "errno: 0", "buf") + map("qemu", "$buf.addr", "0x100000", "16KiB", "errno: 0"));
    u.steps_ok();
}

// Allocation failures (sim.fail_alloc): the backend, the vfio_dma, the
// capability buffer: ENOMEM, nothing left behind.
TEST(VfioType1, AllocationFailuresAreEnomem) {
    const std::string fail = "  - { do: sim.fail_alloc, args: { count: 1 } }\n";
    run t(platform() + "steps:\n" +
          vstep("pci.iommu_group", "qemu", "device: edu0", "errno: 0", "n") +
          vstep("vfio.open_container", "qemu", "", "errno: 0", "c") +
          vstep("vfio.open_group", "qemu", "group: $n.group", "errno: 0", "g") +
          vstep("vfio.group_set_container", "qemu", "fd: $g.fd, container: $c.fd", "errno: 0") + fail +
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: VFIO_TYPE1v2_IOMMU", "ret: -1, errno: ENOMEM") +
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: VFIO_TYPE1v2_IOMMU", "errno: 0") +
          vstep("mem.alloc", "qemu", "size: 4096", "errno: 0", "buf") + fail +
          vstep("vfio.iommu_map_dma", "qemu", "fd: $c.fd, vaddr: $buf.addr, iova: 0x100000, size: 4KiB, " + rw, "ret: -1, errno: ENOMEM") +
          vstep("vfio.iommu_map_dma", "qemu", "fd: $c.fd, vaddr: $buf.addr, iova: 0x100000, size: 4KiB, " + rw, "errno: 0") + fail +
          vstep("vfio.iommu_get_info", "qemu", "fd: $c.fd", "ret: -1, errno: ENOMEM") +
          vstep("vfio.iommu_get_info", "qemu", "fd: $c.fd", "argsz: 116"));
    t.steps_ok();
    EXPECT_EQ(t.result(13)["caps"][1]["avail"], 65534);
}

TEST(VfioType1, DmaEntryLimitAndDmaAvail) {
    run t(platform(", drivers: { vfio_iommu_type1: { dma_entry_limit: 2 } }") + "steps:\n" + test::vfio_open("qemu") +
          vstep("mem.alloc", "qemu", "size: 16384", "errno: 0", "buf") +
          vstep("vfio.iommu_get_info", "qemu", "fd: $qemuc.fd", "errno: 0") +
          map("qemu", "$buf.addr", "0x100000", "4KiB", "errno: 0") +
          vstep("vfio.iommu_get_info", "qemu", "fd: $qemuc.fd", "errno: 0") +
          map("qemu", "$buf.addr", "0x101000", "4KiB", "errno: 0") +
          map("qemu", "$buf.addr", "0x102000", "4KiB", "ret: -1, errno: ENOSPC") +
          // EEXIST is checked before the limit.
          map("qemu", "$buf.addr", "0x100000", "4KiB", "ret: -1, errno: EEXIST") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 4KiB", "size: 4096") +
          map("qemu", "$buf.addr", "0x102000", "4KiB", "errno: 0"));
    t.steps_ok();
    EXPECT_EQ(t.result(7)["caps"][1]["avail"], 2);
    EXPECT_EQ(t.result(9)["caps"][1]["avail"], 1);
}

TEST(VfioType1, UnmapRulesV2) {
    run t(platform() + "steps:\n" + test::vfio_open("qemu") +
          vstep("mem.alloc", "qemu", "size: 16384", "errno: 0", "buf") +
          map("qemu", "$buf.addr", "0x100000", "8KiB", "errno: 0") +
          map("qemu", "$buf.addr", "0x102000", "8KiB", "errno: 0") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, argsz: 23, iova: 0x100000, size: 8KiB", "ret: -1, errno: EINVAL") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 8KiB, flags: 8", "ret: -1, errno: EINVAL") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100800, size: 8KiB", "ret: -1, errno: EINVAL") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 0", "ret: -1, errno: EINVAL") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 2KiB", "ret: -1, errno: EINVAL") +
          // Bisecting a mapping: at its start or its end.
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x101000, size: 4KiB", "ret: -1, errno: EINVAL") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 12KiB", "ret: -1, errno: EINVAL") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 4KiB, flags: [VFIO_DMA_UNMAP_FLAG_ALL]",
                "ret: -1, errno: EINVAL") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, flags: [VFIO_DMA_UNMAP_FLAG_ALL, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP]",
                "ret: -1, errno: EINVAL") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 8KiB, arg: null", "ret: -1, errno: EFAULT") +
          // Nothing there: success, 0 bytes.
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x400000, size: 1MiB", "ret: 0, size: 0") +
          // Both mappings, whole.
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x0, size: 16MiB", "ret: 0, size: 16384") +
          map("qemu", "$buf.addr", "0x100000", "8KiB", "errno: 0") +
          map("qemu", "$buf.addr", "0x800000", "8KiB", "errno: 0") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, flags: [VFIO_DMA_UNMAP_FLAG_ALL]", "ret: 0, size: 16384") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, flags: [VFIO_DMA_UNMAP_FLAG_ALL]", "ret: 0, size: 0"));
    t.steps_ok();
}

// Type1 v1: a range starting inside a mapping unmaps nothing and succeeds;
// one covering a mapping's first page unmaps all of it.
TEST(VfioType1, UnmapRulesV1) {
    run t(platform() + "steps:\n" + test::vfio_open("qemu", "edu0", "0000:01:00.0", "VFIO_TYPE1_IOMMU") +
          vstep("mem.alloc", "qemu", "size: 16384", "errno: 0", "buf") +
          map("qemu", "$buf.addr", "0x100000", "8KiB", "errno: 0") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x101000, size: 4KiB", "ret: 0, size: 0") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 4KiB", "ret: 0, size: 8192") +
          map("qemu", "$buf.addr", "0x100000", "8KiB", "errno: 0"));
    t.steps_ok();
}

// VFIO_DMA_UNMAP_FLAG_VADDR invalidates the user address; MAP with
// VFIO_DMA_MAP_FLAG_VADDR gives a new one, for the same range only.
TEST(VfioType1, UpdateVaddr) {
    run t(platform() + "steps:\n" + test::vfio_open("qemu") +
          vstep("mem.alloc", "qemu", "size: 8192", "errno: 0", "buf") +
          map("qemu", "$buf.addr", "0x100000", "8KiB", "errno: 0") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 8KiB, flags: [VFIO_DMA_UNMAP_FLAG_VADDR]",
                "ret: 0, size: 8192") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 8KiB, flags: [VFIO_DMA_UNMAP_FLAG_VADDR]",
                "ret: -1, errno: EINVAL") +
          map("qemu", "$buf.addr", "0x100000", "4KiB", "ret: -1, errno: EINVAL", "flags: [VFIO_DMA_MAP_FLAG_VADDR]") +
          map("qemu", "$buf.addr", "0x100000", "8KiB", "errno: 0", "flags: [VFIO_DMA_MAP_FLAG_VADDR]") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 8KiB", "ret: 0, size: 8192"));
    t.steps_ok();
}

TEST(VfioType1, NoInterruptRemappingNeedsAllowUnsafeInterrupts) {
    run t(platform("", "", "interrupt_remapping: false") + "steps:\n" +
          vstep("pci.iommu_group", "qemu", "device: edu0", "errno: 0", "n") +
          vstep("vfio.open_container", "qemu", "", "errno: 0", "c") +
          vstep("vfio.open_group", "qemu", "group: $n.group", "errno: 0", "g") +
          vstep("vfio.group_set_container", "qemu", "fd: $g.fd, container: $c.fd", "errno: 0") +
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: VFIO_TYPE1v2_IOMMU", "ret: -1, errno: EPERM") +
          // Rolled back: the container is unset and may try again.
          vstep("vfio.set_iommu", "qemu", "fd: $c.fd, type: VFIO_TYPE1v2_IOMMU", "ret: -1, errno: EPERM") +
          vstep("vfio.group_get_status", "qemu", "fd: $g.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_FLAGS_CONTAINER_SET]"));
    t.steps_ok();
}

TEST(VfioType1, AllowUnsafeInterruptsAcceptsTheGroup) {
    run u(platform(", drivers: { vfio_iommu_type1: { allow_unsafe_interrupts: true } }", "", "interrupt_remapping: false") +
          "steps:\n" + test::vfio_open("qemu"));
    u.steps_ok();
}

// edu0's DMA reaches the pinned page at its IOVA, in both directions; the
// page stays pinned after the process unmaps it; after VFIO_IOMMU_UNMAP_DMA
// the DMA faults and memory is unchanged.
TEST(VfioType1, DeviceDmaThroughTheContainer) {
    run t(platform() + "steps:\n" + test::vfio_open("qemu") +
          vstep("mem.alloc", "qemu", "size: 4096", "errno: 0", "buf") +
          vstep("mem.write", "qemu", "addr: $buf.addr, data: \"01 23 45 67\"", "errno: 0") +
          map("qemu", "$buf.addr", "0x100000", "4KiB", "errno: 0") +
          vstep("pci.set_master", "dom0", "device: edu0", "errno: 0") +
          edu_dma("edu0", 0x100000, 0x40000, 1, "fault: false") +
          edu_dma("edu0", 0x40000, 0x100800, 3, "fault: false") +
          vstep("mem.read", "qemu", "addr: $buf.addr+0x800, len: 4", "data: \"01 23 45 67\"") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 4KiB", "size: 4096") +
          edu_dma("edu0", 0x40000, 0x100100, 3, "fault: true") +
          vstep("mem.read", "qemu", "addr: $buf.addr+0x100, len: 4", "data: \"00 00 00 00\""));
    t.steps_ok();
    // The fault is the VT-d's: a write through a not-present entry, at the IOVA, by edu0 (01:00.0).
    const auto& faults = t.report().faults;
    ASSERT_EQ(faults.size(), 1u);
    EXPECT_EQ(faults[0].record.address & ~0xfffull, 0x100000u);
    EXPECT_FALSE(faults[0].record.read);
    EXPECT_EQ(faults[0].record.sid, 0x0100);
    EXPECT_EQ(faults[0].record.reason, vtd::fault_reason::write_not_permitted);
}

TEST(VfioType1, ReadOnlyMappingRefusesDeviceWrites) {
    run t(platform() + "steps:\n" + test::vfio_open("qemu") +
          vstep("mem.alloc", "qemu", "size: 4096", "errno: 0", "buf") +
          vstep("mem.write", "qemu", "addr: $buf.addr, data: \"aa bb cc dd\"", "errno: 0") +
          map("qemu", "$buf.addr", "0x100000", "4KiB", "errno: 0", "flags: [VFIO_DMA_MAP_FLAG_READ]") +
          vstep("pci.set_master", "dom0", "device: edu0", "errno: 0") +
          edu_dma("edu0", 0x100000, 0x40000, 1, "fault: false") +
          edu_dma("edu0", 0x40000, 0x100800, 3, "fault: true") +
          vstep("mem.read", "qemu", "addr: $buf.addr+0x800, len: 4", "data: \"00 00 00 00\""));
    t.steps_ok();
    // A present entry without W: VT-d reason 5h, at the read-only IOVA.
    const auto& faults = t.report().faults;
    ASSERT_EQ(faults.size(), 1u);
    EXPECT_EQ(faults[0].record.address & ~0xfffull, 0x100000u);
    EXPECT_EQ(faults[0].record.reason, vtd::fault_reason::write_not_permitted);
}

// The page stays the process's, pinned and mapped, after munmap; the DMA still lands in it.
TEST(VfioType1, PinnedPageOutlivesTheProcessMapping) {
    run t(platform() + "steps:\n" + test::vfio_open("qemu") +
          vstep("mem.alloc", "qemu", "size: 4096", "errno: 0", "buf") +
          vstep("mem.alloc", "qemu", "size: 4096", "errno: 0", "out") +
          vstep("mem.write", "qemu", "addr: $buf.addr, data: \"5a 5a 5a 5a\"", "errno: 0") +
          map("qemu", "$buf.addr", "0x100000", "4KiB", "errno: 0") +
          map("qemu", "$out.addr", "0x200000", "4KiB", "errno: 0") +
          vstep("vfio.munmap", "qemu", "addr: $buf.addr, length: 4096", "errno: 0") +
          // Other allocations do not get the pinned page.
          vstep("mem.alloc", "qemu", "size: 4096", "errno: 0", "other") +
          vstep("mem.fill", "qemu", "addr: $other.addr, len: 4096, byte: 0xee", "errno: 0") +
          vstep("pci.set_master", "dom0", "device: edu0", "errno: 0") +
          edu_dma("edu0", 0x100000, 0x40000, 1, "fault: false") +
          edu_dma("edu0", 0x40000, 0x200000, 3, "fault: false") +
          vstep("mem.read", "qemu", "addr: $out.addr, len: 4", "data: \"5a 5a 5a 5a\"") +
          vstep("vfio.iommu_unmap_dma", "qemu", "fd: $qemuc.fd, iova: 0x100000, size: 4KiB", "size: 4096"));
    t.steps_ok();
}

// Two groups in one container share the IO page table; two containers are isolated.
TEST(VfioType1, SecondGroupSharesTheDomain) {
    run t(platform() + "steps:\n" + test::vfio_open("qemu") +
          vstep("pci.iommu_group", "qemu", "device: edu1", "errno: 0", "n1") +
          vstep("vfio.open_group", "qemu", "group: $n1.group", "errno: 0", "g1") +
          vstep("vfio.group_set_container", "qemu", "fd: $g1.fd, container: $qemuc.fd", "errno: 0") +
          vstep("mem.alloc", "qemu", "size: 4096", "errno: 0", "buf") +
          vstep("mem.write", "qemu", "addr: $buf.addr, data: \"11 22 33 44\"", "errno: 0") +
          map("qemu", "$buf.addr", "0x100000", "4KiB", "errno: 0") +
          vstep("pci.set_master", "dom0", "device: edu1", "errno: 0") +
          edu_dma("edu1", 0x100000, 0x40000, 1, "fault: false") +
          edu_dma("edu1", 0x40000, 0x100800, 3, "fault: false") +
          vstep("mem.read", "qemu", "addr: $buf.addr+0x800, len: 4", "data: \"11 22 33 44\""));
    t.steps_ok();
}

TEST(VfioType1, TwoContainersHaveSeparateIoPageTables) {
    run u(platform() + "steps:\n" + test::vfio_open("qemu") + test::vfio_open("qemu2", "edu1", "0000:02:00.0") +
          vstep("mem.alloc", "qemu", "size: 4096", "errno: 0", "buf") +
          vstep("mem.write", "qemu", "addr: $buf.addr, data: \"11 22 33 44\"", "errno: 0") +
          map("qemu", "$buf.addr", "0x100000", "4KiB", "errno: 0") +
          vstep("pci.set_master", "dom0", "device: edu0", "errno: 0") +
          vstep("pci.set_master", "dom0", "device: edu1", "errno: 0") +
          edu_dma("edu1", 0x100000, 0x40000, 1, "fault: true") +
          edu_dma("edu1", 0x40000, 0x100800, 3, "fault: true") +
          edu_dma("edu0", 0x100000, 0x40000, 1, "fault: false") +
          edu_dma("edu0", 0x40000, 0x100400, 3, "fault: false") +
          vstep("mem.read", "qemu", "addr: $buf.addr+0x400, len: 4", "data: \"11 22 33 44\"") +
          vstep("mem.read", "qemu", "addr: $buf.addr+0x800, len: 4", "data: \"00 00 00 00\""));
    u.steps_ok();
}

// Closing the container leaves it to its groups; the last group's detach
// releases the backend: mappings gone, pages unpinned and uncounted. The
// IOVA lies above dom0's memory, so edu0 back in the host's own table
// faults there too.
TEST(VfioType1, ContainerLivesWhileGroupsAreAttached) {
    // edu's DMA mask (28 bits by default, as QEMU's) widened to reach that IOVA.
    run t(platform("", ", rlimits: { memlock: 4KiB }, capabilities: []", "", "  devices: { edu: { dma_mask: 0xffffffffffffffff } }\n") +
          "steps:\n" + test::vfio_open("qemu") +
          vstep("mem.alloc", "qemu", "size: 4096", "errno: 0", "buf") +
          map("qemu", "$buf.addr", "0x40000000", "4KiB", "errno: 0") +
          vstep("vfio.close", "qemu", "fd: $qemuc.fd", "errno: 0") +
          vstep("vfio.group_get_status", "qemu", "fd: $qemug.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_FLAGS_CONTAINER_SET]") +
          vstep("pci.set_master", "dom0", "device: edu0", "errno: 0") +
          edu_dma("edu0", 0x40000000, 0x40000, 1, "fault: false") +
          vstep("vfio.close", "qemu", "fd: $qemud.fd", "errno: 0") +
          // The group's release detaches it (VFIO_GROUP_UNSET_CONTAINER's
          // path): back in the host's own table, which does not map the IOVA.
          // (The device's close cleared Bus Master: set it again to try.)
          vstep("vfio.close", "qemu", "fd: $qemug.fd", "errno: 0") +
          vstep("pci.set_master", "dom0", "device: edu0", "errno: 0") +
          edu_dma("edu0", 0x40000000, 0x40000, 1, "fault: true") +
          // The lock is back: a new container maps the page again.
          vstep("vfio.open_container", "qemu", "", "errno: 0", "c2") +
          vstep("vfio.open_group", "qemu", "group: $qemun.group", "errno: 0", "g2") +
          vstep("vfio.group_set_container", "qemu", "fd: $g2.fd, container: $c2.fd", "errno: 0") +
          vstep("vfio.set_iommu", "qemu", "fd: $c2.fd, type: VFIO_TYPE1v2_IOMMU", "errno: 0") +
          vstep("vfio.iommu_get_info", "qemu", "fd: $c2.fd", "errno: 0") +
          vstep("vfio.iommu_map_dma", "qemu", "fd: $c2.fd, vaddr: $buf.addr, iova: 0x40000000, size: 4KiB, " + rw, "errno: 0"));
    t.steps_ok();
    EXPECT_EQ(t.result(t.report().steps.size() - 2)["caps"][1]["avail"], 65535);
}

}  // namespace
