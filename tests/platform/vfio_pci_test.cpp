// The device file of vfio-pci (models/guest/vfio/pci_device.cpp,
// pci_config.cpp) as a process uses it, on QEMU's edu and on endpoints with
// an I/O BAR, a 64-bit BAR, a ROM and FLR, and two functions behind one
// switch port: device and region information, region reads and writes,
// configuration space as vfio-pci virtualizes it, resets and hot resets,
// each result and errno as Linux 6.1 gives it.
#include <gtest/gtest.h>

#include "tests/support/scenario_run.h"
#include "tests/support/vfio_platform.h"

namespace {

using namespace iotwin;
using test::vstep;

struct run : test::scenario_run {
    using scenario_run::scenario_run;
};

// An endpoint with an I/O BAR, a 64-bit memory BAR, a ROM and FLR at
// 0000:04:00.0, and a two-function device behind a switch's downstream port
// (0000:07:00.0 and .1), all bound to vfio-pci.
const std::string extra =
    "    - { id: rp4, type: root_port, at: \"04.0\", children: [ { id: dev4, type: endpoint, driver: vfio-pci, flr: true, rom: 32KiB,\n"
    "          bars: [ { index: 0, size: 256, type: io }, { index: 2, size: 16KiB, type: mem64 } ] } ] }\n"
    "    - { id: rp5, type: root_port, at: \"05.0\", children: [ { id: up, type: upstream_port, children: [\n"
    "          { id: dp, type: downstream_port, children: [\n"
    "            { id: f0, type: endpoint, at: \"00.0\", driver: vfio-pci, bars: [ { index: 0, size: 4KiB } ] },\n"
    "            { id: f1, type: endpoint, at: \"00.1\", driver: vfio-pci, bars: [ { index: 0, size: 4KiB } ] } ] } ] } ] }\n";

std::string steps(const std::string& s) { return "steps:\n" + s; }

TEST(VfioPci, DeviceInfo) {
    run t(test::vfio_platform() +
          steps(test::vfio_open("qemu") +
                vstep("vfio.device_get_info", "qemu", "fd: $qemud.fd",
                      "errno: 0, flags: [VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_RESET], num_regions: 9, num_irqs: 5, cap_offset: 0") +
                vstep("vfio.device_get_info", "qemu", "fd: $qemud.fd, argsz: 16", "errno: 0, num_regions: 9") +
                vstep("vfio.device_get_info", "qemu", "fd: $qemud.fd, argsz: 15", "ret: -1, errno: EINVAL") +
                vstep("vfio.device_get_info", "qemu", "fd: $qemud.fd, arg: null", "ret: -1, errno: EFAULT") +
                vstep("vfio.ioctl", "qemu", "fd: $qemud.fd, cmd: 0x3b7f", "ret: -1, errno: ENOTTY")));
    t.steps_ok();
}

TEST(VfioPci, RegionInfoOfEdu) {
    run t(test::vfio_platform() +
          steps(test::vfio_open("qemu") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: VFIO_PCI_BAR0_REGION_INDEX",
                      "errno: 0, size: 0x100000, offset: 0, cap_offset: 0, "
                      "flags: [VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE, VFIO_REGION_INFO_FLAG_MMAP]") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: 1", "errno: 0, size: 0, flags: 0, offset: 0x10000000000") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: VFIO_PCI_ROM_REGION_INDEX",
                      "errno: 0, size: 0, flags: 0, offset: 0x60000000000") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: VFIO_PCI_CONFIG_REGION_INDEX",
                      "errno: 0, size: 256, offset: 0x70000000000, flags: [VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE]") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: VFIO_PCI_VGA_REGION_INDEX", "ret: -1, errno: EINVAL") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: 9", "ret: -1, errno: EINVAL") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: 0, argsz: 31", "ret: -1, errno: EINVAL") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: 0, arg: null", "ret: -1, errno: EFAULT")));
    t.steps_ok();
}

TEST(VfioPci, RegionInfoOfIoBar64BitBarAndRom) {
    run t(test::vfio_platform(extra) +
          steps(test::vfio_open("qemu", "dev4", "0000:04:00.0") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: 0",
                      "errno: 0, size: 256, flags: [VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE]") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: 2",
                      "errno: 0, size: 16384, flags: [VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE, VFIO_REGION_INFO_FLAG_MMAP]") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: 3", "errno: 0, size: 0, flags: 0") +
                // The twin's enumerator leaves Expansion ROM BARs unassigned:
                // pci_map_rom finds nothing, the region has size 0.
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: VFIO_PCI_ROM_REGION_INDEX",
                      "errno: 0, size: 0, flags: 0") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: VFIO_PCI_CONFIG_REGION_INDEX", "errno: 0, size: 4096") +
                // An unassigned ROM is no region to read; writes are refused first.
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x60000000000, count: 2", "ret: -1, errno: EINVAL") +
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x60000000000, data: [0, 0]", "ret: -1, errno: EINVAL") +
                // The upper half of the 64-bit BAR is no region of its own.
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x30000000000, count: 4", "ret: -1, errno: EINVAL") +
                // An I/O BAR cannot be mapped; a 64-bit memory BAR can, MAP_SHARED only.
                vstep("vfio.mmap", "qemu", "fd: $qemud.fd, offset: 0, length: 4096, prot: [PROT_READ, PROT_WRITE]", "ret: -1, errno: EINVAL") +
                vstep("vfio.mmap", "qemu", "fd: $qemud.fd, offset: 0x20000000000, length: 16384, prot: [PROT_READ, PROT_WRITE]", "errno: 0") +
                vstep("vfio.mmap", "qemu", "fd: $qemud.fd, offset: 0x20000000000, length: 20480, prot: [PROT_READ, PROT_WRITE]",
                      "ret: -1, errno: EINVAL") +
                vstep("vfio.mmap", "qemu", "fd: $qemud.fd, offset: 0x20000000000, length: 4096, prot: [PROT_READ], flags: MAP_PRIVATE",
                      "ret: -1, errno: EINVAL") +
                vstep("vfio.mmap", "qemu", "fd: $qemud.fd, offset: 0x60000000000, length: 4096, prot: [PROT_READ]", "ret: -1, errno: EINVAL") +
                vstep("vfio.mmap", "qemu", "fd: $qemud.fd, offset: 0x70000000000, length: 4096, prot: [PROT_READ]", "ret: -1, errno: EINVAL")));
    t.steps_ok();
}

TEST(VfioPci, Bar0ReadsAndWritesReachTheDevice) {
    run t(test::vfio_platform() +
          steps(test::vfio_open("qemu") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0, count: 4", "ret: 4, value: 0x010000ed") +
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 4, data: [0x0f, 0, 0, 0]", "ret: 4") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 4, count: 4", "ret: 4, value: 0xfffffff0") +
                // Reads are clipped at the region's end; past it is EINVAL.
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0xffffc, count: 8", "ret: 4") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x100000, count: 4", "ret: -1, errno: EINVAL") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x10000000000, count: 4", "ret: -1, errno: EINVAL") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x80000000000, count: 4", "ret: -1, errno: EINVAL") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x90000000000, count: 4", "ret: -1, errno: EINVAL") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0, count: 0", "ret: 0") +
                // Memory Space Enable cleared through the config region: BAR access is EIO.
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x70000000004, data: [0, 0]", "ret: 2") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0, count: 4", "ret: -1, errno: EIO") +
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x70000000004, data: [2, 0]", "ret: 2") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0, count: 4", "ret: 4, value: 0x010000ed")));
    t.steps_ok();
}

TEST(VfioPci, ConfigSpaceIsVirtualized) {
    run t(test::vfio_platform() +
          steps(test::vfio_open("qemu") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000000, count: 4", "ret: 4, value: 0x11e81234") +
                // BAR0 answers sizing from vconfig; the device's BAR keeps its address.
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000010, count: 4", "ret: 4", "bar") +
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x70000000010, data: [0xff, 0xff, 0xff, 0xff]", "ret: 4") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000010, count: 4", "ret: 4, value: 0xfff00000") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0, count: 4", "ret: 4, value: 0x010000ed") +
                // Absent BARs and the ROM BAR read 0 whatever is written.
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x70000000014, data: [0xff, 0xff, 0xff, 0xff]", "ret: 4") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000014, count: 4", "ret: 4, value: 0") +
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x70000000030, data: [0xff, 0xff, 0xff, 0xff]", "ret: 4") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000030, count: 4", "ret: 4, value: 0") +
                // Vendor and device IDs cannot be written; Interrupt Line is virtual.
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x70000000000, data: [0, 0, 0, 0]", "ret: 4") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000000, count: 4", "ret: 4, value: 0x11e81234") +
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x7000000003c, data: [0xaa]", "ret: 1") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x7000000003c, count: 2", "ret: 2, value: 0x1aa") +
                // The capability chain: MSI at 0x40, the end of the list after it.
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000034, count: 1", "ret: 1, value: 0x40") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000040, count: 2", "ret: 2, value: 0x0005") +
                // The flags' low byte is virtual: Multiple Message Enable is cut
                // to Capable, Enable belongs to SET_IRQS, Capable reads the
                // hardware's, and the rest is what the user wrote (64-bit gone).
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000042, count: 2", "ret: 2, value: 0x80") +
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x70000000042, data: [0x71, 0]", "ret: 2") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000042, count: 2", "ret: 2, value: 0") +
                // The config region ends at 256: past it is EFAULT.
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000100, count: 4", "ret: -1, errno: EFAULT") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x700000000fe, count: 4", "ret: -1, errno: EFAULT") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x700000000fc, count: 4", "ret: 4")));
    t.steps_ok();
}

TEST(VfioPci, PcieCapabilityAndFlrThroughConfig) {
    run t(test::vfio_platform(extra) +
          steps(test::vfio_open("qemu", "dev4", "0000:04:00.0") +
                vstep("vfio.device_get_info", "qemu", "fd: $qemud.fd", "flags: [VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_RESET]") +
                // 64-bit BAR2 sizes over both halves; the I/O BAR keeps its type bit.
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x70000000018, data: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]", "ret: 8") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000018, count: 8", "ret: 8, value: 0xffffffffffffc004") +
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x70000000010, data: [0xff, 0xff, 0xff, 0xff]", "ret: 4") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000010, count: 4", "ret: 4, value: 0xffffff01") +
                // The PCI Express capability first in the chain; Initiate FLR
                // written through the region resets the function and reads 0.
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000034, count: 1", "ret: 1, value: 0x40") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000040, count: 1", "ret: 1, value: 0x10") +
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x70000000048, data: [0x00, 0x80]", "ret: 2") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000048, count: 2", "ret: 2, value: { mask: 0x8000, value: 0 }") +
                vstep("vfio.device_reset", "qemu", "fd: $qemud.fd", "ret: 0, errno: 0")));
    t.steps_ok();
}

TEST(VfioPci, DeviceResetKeepsTheBars) {
    run t(test::vfio_platform() +
          steps(test::vfio_open("qemu") +
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 4, data: [0x0f, 0, 0, 0]", "ret: 4") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 4, count: 4", "ret: 4, value: 0xfffffff0") +
                vstep("vfio.device_reset", "qemu", "fd: $qemud.fd", "ret: 0, errno: 0") +
                // The device's registers are back to reset; its BAR still decodes.
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 4, count: 4", "ret: 4, value: 0") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0, count: 4", "ret: 4, value: 0x010000ed") +
                vstep("vfio.device_reset", "qemu", "fd: 999", "ret: -1, errno: EBADF")));
    t.steps_ok();
}

// A function on a root bus has no bus reset (and no FLR or PM reset): no
// RESET flag, VFIO_DEVICE_RESET is EINVAL, the hot reset ioctls ENODEV.
TEST(VfioPci, RootBusFunctionHasNoReset) {
    run t(test::vfio_platform("    - { id: ie0, type: rciep, at: \"06.0\", driver: vfio-pci, bars: [ { index: 0, size: 4KiB } ] }\n") +
          steps(test::vfio_open("qemu", "ie0", "0000:00:06.0") +
                vstep("vfio.device_get_info", "qemu", "fd: $qemud.fd", "errno: 0, flags: [VFIO_DEVICE_FLAGS_PCI]") +
                vstep("vfio.device_reset", "qemu", "fd: $qemud.fd", "ret: -1, errno: EINVAL") +
                vstep("vfio.device_get_pci_hot_reset_info", "qemu", "fd: $qemud.fd", "ret: -1, errno: ENODEV") +
                vstep("vfio.device_pci_hot_reset", "qemu", "fd: $qemud.fd, group_fds: [ $qemug.fd ]", "ret: -1, errno: ENODEV") +
                vstep("vfio.device_get_region_info", "qemu", "fd: $qemud.fd, index: VFIO_PCI_CONFIG_REGION_INDEX", "errno: 0, size: 4096")));
    t.steps_ok();
}

TEST(VfioPci, HotResetInfoAndHotReset) {
    run t(test::vfio_platform() +
          steps(test::vfio_open("qemu") +
                vstep("vfio.device_get_pci_hot_reset_info", "qemu", "fd: $qemud.fd",
                      "errno: 0, count: 1, devices: [ { group_id: $qemun.group, segment: 0, bus: 1, devfn: 0 } ]") +
                vstep("vfio.device_get_pci_hot_reset_info", "qemu", "fd: $qemud.fd, argsz: 12", "ret: -1, errno: ENOSPC, count: 1") +
                vstep("vfio.device_get_pci_hot_reset_info", "qemu", "fd: $qemud.fd, argsz: 11", "ret: -1, errno: EINVAL") +
                vstep("vfio.device_get_pci_hot_reset_info", "qemu", "fd: $qemud.fd, arg: null", "ret: -1, errno: EFAULT") +
                // The bus reset resets edu's registers (LIVENESS back to 0) and
                // the PCI core restores its BAR and decode.
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 4, data: [0x0f, 0, 0, 0]", "ret: 4") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 4, count: 4", "ret: 4, value: 0xfffffff0") +
                vstep("vfio.device_pci_hot_reset", "qemu", "fd: $qemud.fd, group_fds: [ $qemug.fd ]", "ret: 0, errno: 0") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 4, count: 4", "ret: 4, value: 0") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0, count: 4", "ret: 4, value: 0x010000ed") +
                // Descriptors that are no group, closed ones, bad counts and flags.
                vstep("vfio.device_pci_hot_reset", "qemu", "fd: $qemud.fd, group_fds: [ $qemuc.fd ]", "ret: -1, errno: EINVAL") +
                vstep("vfio.device_pci_hot_reset", "qemu", "fd: $qemud.fd, group_fds: [ 200 ]", "ret: -1, errno: EBADF") +
                vstep("vfio.device_pci_hot_reset", "qemu", "fd: $qemud.fd, group_fds: [ $qemug.fd, $qemug.fd ]", "ret: -1, errno: EINVAL") +
                vstep("vfio.device_pci_hot_reset", "qemu", "fd: $qemud.fd, group_fds: []", "ret: -1, errno: EINVAL") +
                vstep("vfio.device_pci_hot_reset", "qemu", "fd: $qemud.fd, group_fds: [ $qemug.fd ], flags: 1", "ret: -1, errno: EINVAL") +
                vstep("vfio.device_pci_hot_reset", "qemu", "fd: $qemud.fd, group_fds: [ $qemug.fd ], argsz: 11", "ret: -1, errno: EINVAL")));
    t.steps_ok();
}

// Two functions behind one downstream port: a bus reset reaches both, and
// their group's descriptor must be passed.
TEST(VfioPci, HotResetOfTwoFunctionsBehindASwitchPort) {
    run t(test::vfio_platform(extra) +
          steps(test::vfio_open("qemu", "f0", "0000:07:00.0") +
                vstep("pci.iommu_group", "qemu", "device: f1", "errno: 0", "n1") +
                vstep("vfio.device_get_pci_hot_reset_info", "qemu", "fd: $qemud.fd",
                      "errno: 0, count: 2, devices: [ { group_id: $qemun.group, segment: 0, bus: 7, devfn: 0 }, "
                      "{ group_id: $n1.group, segment: 0, bus: 7, devfn: 1 } ]") +
                vstep("vfio.device_get_pci_hot_reset_info", "qemu", "fd: $qemud.fd, argsz: 19", "ret: -1, errno: ENOSPC, count: 2") +
                vstep("vfio.device_pci_hot_reset", "qemu", "fd: $qemud.fd, group_fds: [ $qemug.fd ]", "ret: 0") +
                vstep("vfio.device_pci_hot_reset", "qemu", "fd: $qemud.fd, group_fds: [ $qemug.fd, $qemug.fd, $qemug.fd ]",
                      "ret: -1, errno: EINVAL")));
    t.steps_ok();
}

// Closing the device clears Bus Master; the next open finds the device as the
// PCI core left it.
TEST(VfioPci, CloseClearsBusMaster) {
    run t(test::vfio_platform() +
          steps(test::vfio_open("qemu") +
                vstep("vfio.write", "qemu", "fd: $qemud.fd, offset: 0x70000000004, data: [6, 0]", "ret: 2") +
                vstep("vfio.read", "qemu", "fd: $qemud.fd, offset: 0x70000000004, count: 2", "ret: 2, value: 6") +
                vstep("vfio.close", "qemu", "fd: $qemud.fd", "ret: 0") +
                vstep("vfio.group_get_device_fd", "qemu", "fd: $qemug.fd, name: \"0000:01:00.0\"", "errno: 0", "d2") +
                vstep("vfio.read", "qemu", "fd: $d2.fd, offset: 0x70000000004, count: 2", "ret: 2, value: 2") +
                vstep("vfio.read", "qemu", "fd: $d2.fd, offset: 0, count: 4", "ret: 4, value: 0x010000ed")));
    t.steps_ok();
}

}  // namespace
