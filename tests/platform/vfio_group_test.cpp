// The VFIO group file (/dev/vfio/N) as a host process uses it, and how host
// driver binding and VFIO's claim on a group's DMA decide each other, as
// Linux 6.1 does it (models/guest/vfio/group.cpp, platform/host_drivers.cpp;
// docs/drivers/vfio-group.md).
#include <gtest/gtest.h>

#include "models/guest/kernel.h"
#include "models/guest/vfio/vfio.h"
#include "models/hyp/hypervisor.h"
#include "tests/support/scenario_run.h"
#include "tests/support/vfio_platform.h"

namespace {

using namespace iotwin;
using test::vstep;

struct run : test::scenario_run {
    using scenario_run::scenario_run;
};

// A root port without ACS holding a multi-function device: two edu functions
// bound to vfio-pci and an e1000-like function left unbound. The port and its
// three functions are one IOMMU group (no ACS anywhere on the path).
const std::string multifunction =
    "    - { id: rp4, type: root_port, at: \"04.0\", children: [\n"
    "        { id: eduA, type: endpoint, model: edu, at: \"00.0\", driver: vfio-pci },\n"
    "        { id: eduB, type: endpoint, model: edu, at: \"00.1\", driver: vfio-pci },\n"
    "        { id: nicB, type: endpoint, model: dma_engine, at: \"00.2\", vendor: 0x8086, device: 0x100e, driver: none } ] }\n";

std::string q(const std::string& op, const std::string& args, const std::string& expect = "", const std::string& save = "") {
    return vstep(op, "qemu", args, expect, save);
}

// The group of eduA (saved as `mf`), its file (`mg`) and a container (`mc`).
std::string open_multifunction_group() {
    return q("pci.iommu_group", "device: eduA", "errno: 0", "mf") + q("vfio.open_container", "", "errno: 0", "mc") +
           q("vfio.open_group", "group: $mf.group", "errno: 0", "mg");
}

TEST(VfioGroup, NodesExistForGroupsWithAVfioPciFunctionAndOpenOnceAtATime) {
    run t(test::vfio_platform() + "steps:\n" + q("pci.iommu_group", "device: nic0", "errno: 0", "nic") +
          q("vfio.open_group", "group: $nic.group", "ret: -1, errno: ENOENT") +  // e1000's group: no /dev/vfio/N
          q("vfio.open_group", "group: 4000", "ret: -1, errno: ENOENT") +
          q("pci.iommu_group", "device: edu0", "errno: 0", "e0") + q("vfio.open_group", "group: $e0.group", "errno: 0", "g") +
          q("vfio.open_group", "group: $e0.group", "ret: -1, errno: EBUSY") +
          vstep("vfio.open_group", "qemu2", "group: $e0.group", "ret: -1, errno: EBUSY") +
          q("vfio.close", "fd: $g.fd", "errno: 0") +
          vstep("vfio.open_group", "qemu2", "group: $e0.group", "errno: 0"));
    t.steps_ok();
}

TEST(VfioGroup, GetStatusChecksArgszAndReportsViabilityAndContainer) {
    run t(test::vfio_platform() + "steps:\n" + q("pci.iommu_group", "device: edu0", "errno: 0", "e0") +
          q("vfio.open_container", "", "errno: 0", "c") + q("vfio.open_group", "group: $e0.group", "errno: 0", "g") +
          q("vfio.group_get_status", "fd: $g.fd", "errno: 0, flags: [VFIO_GROUP_FLAGS_VIABLE]") +
          q("vfio.group_get_status", "fd: $g.fd, argsz: 7", "ret: -1, errno: EINVAL") +
          q("vfio.group_get_status", "fd: $g.fd, argsz: 0xffffffff", "errno: 0, flags: [VFIO_GROUP_FLAGS_VIABLE]") +
          q("vfio.group_get_status", "fd: $g.fd, arg: null", "ret: -1, errno: EFAULT") +
          q("vfio.group_set_container", "fd: $g.fd, container: $c.fd", "errno: 0") +
          q("vfio.group_get_status", "fd: $g.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_FLAGS_CONTAINER_SET]") +
          q("vfio.group_unset_container", "fd: $g.fd", "errno: 0") +
          q("vfio.group_get_status", "fd: $g.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE]") +
          q("vfio.group_unset_container", "fd: $g.fd", "ret: -1, errno: EINVAL"));
    t.steps_ok();
}

TEST(VfioGroup, SetContainerRefusesBadDescriptorsAndDescriptorsOfTheWrongKind) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") +
          q("pci.iommu_group", "device: edu1", "errno: 0", "e1") + q("vfio.open_group", "group: $e1.group", "errno: 0", "g1") +
          q("file.open", "path: /dev/null", "errno: 0", "devnull") + q("eventfd.create", "", "errno: 0", "ev") +
          q("vfio.open_container", "", "errno: 0", "c2") + q("vfio.close", "fd: $c2.fd", "errno: 0") +
          q("vfio.group_set_container", "fd: $g1.fd, container: 0, arg: null", "ret: -1, errno: EFAULT") +
          q("vfio.group_set_container", "fd: $g1.fd, container: 0xffffffff", "ret: -1, errno: EBADF") +
          q("vfio.group_set_container", "fd: $g1.fd, container: 900", "ret: -1, errno: EBADF") +
          q("vfio.group_set_container", "fd: $g1.fd, container: $c2.fd", "ret: -1, errno: EBADF") +  // closed
          q("vfio.group_set_container", "fd: $g1.fd, container: $devnull.fd", "ret: -1, errno: EINVAL") +
          q("vfio.group_set_container", "fd: $g1.fd, container: $ev.fd", "ret: -1, errno: EINVAL") +
          q("vfio.group_set_container", "fd: $g1.fd, container: $qemug.fd", "ret: -1, errno: EINVAL") +
          q("vfio.group_set_container", "fd: $g1.fd, container: $g1.fd", "ret: -1, errno: EINVAL") +
          q("vfio.group_set_container", "fd: $g1.fd, container: $qemud.fd", "ret: -1, errno: EINVAL") +
          // In a container already: the same one or another.
          q("vfio.group_set_container", "fd: $qemug.fd, container: $qemuc.fd", "ret: -1, errno: EINVAL") +
          q("vfio.open_container", "", "errno: 0", "c3") +
          q("vfio.group_set_container", "fd: $qemug.fd, container: $c3.fd", "ret: -1, errno: EINVAL") +
          // A second group joins the first one's container.
          q("vfio.group_set_container", "fd: $g1.fd, container: $qemuc.fd", "errno: 0") +
          q("vfio.group_get_device_fd", "fd: $g1.fd, name: \"0000:02:00.0\"", "errno: 0"));
    t.steps_ok();
}

TEST(VfioGroup, GetDeviceFdParsesTheNameBeforeItChecksTheContainer) {
    const std::string long_name(4096, 'a'), longest_name(4095, 'a');
    run t(test::vfio_platform() + "steps:\n" + q("pci.iommu_group", "device: edu0", "errno: 0", "e0") +
          q("vfio.open_container", "", "errno: 0", "c") + q("vfio.open_group", "group: $e0.group", "errno: 0", "g") +
          // No container yet: a name of no device is ENODEV, a good one EINVAL.
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:09:00.0\"", "ret: -1, errno: ENODEV") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0\"", "ret: -1, errno: EINVAL") +
          q("vfio.group_set_container", "fd: $g.fd, container: $c.fd", "errno: 0") +
          // A container without an IOMMU model: still EINVAL.
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0\"", "ret: -1, errno: EINVAL") +
          q("vfio.set_iommu", "fd: $c.fd, type: VFIO_TYPE1v2_IOMMU", "errno: 0") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0\", arg: null", "ret: -1, errno: EFAULT") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"" + long_name + "\"", "ret: -1, errno: EINVAL") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"" + longest_name + "\"", "ret: -1, errno: ENODEV") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0x\"", "ret: -1, errno: ENODEV") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0 foo\"", "ret: -1, errno: EINVAL") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0 vf_token=12\"", "ret: -1, errno: EINVAL") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0 vf_token=bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3\"",
            "ret: -1, errno: EINVAL") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:02:00.0\"", "ret: -1, errno: ENODEV") +  // another group's
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:03:00.0\"", "ret: -1, errno: ENODEV") +  // e1000's
          // Trailing spaces after the name still name the device.
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0  \"", "errno: 0") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0\"", "errno: 0") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0\", arg: 0x10", "ret: -1, errno: EFAULT"));
    t.steps_ok();
}

// The first open of a device enables it, the last close disables it; Linux
// 6.1 lets one device be opened any number of times (open_count), and each
// device file counts as a user of the group's container.
guest::vfio::core& vfio_of(run& t) {
    guest::kernel* k = t.pi->guests->kernel_of(t.pi->hypervisor->find("dom0")->id);
    EXPECT_NE(k, nullptr);
    return guest::vfio::core_of(*k);
}

TEST(VfioGroup, OneDeviceOpenedTwiceStaysEnabledWhileOneFileIsOpen) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") +
          q("vfio.group_get_device_fd", "fd: $qemug.fd, name: \"0000:01:00.0\"", "errno: 0", "d2") +
          q("vfio.group_get_device_fd", "fd: $qemug.fd, name: \"0000:01:00.0\"", "errno: 0", "d3") +
          q("vfio.close", "fd: $d3.fd", "errno: 0"));
    t.steps_ok();
    guest::vfio::core& c = vfio_of(t);
    ASSERT_EQ(c.devices.count("0000:01:00.0"), 1u);
    const auto dev = c.devices.at("0000:01:00.0");
    EXPECT_EQ(dev->open_count, 2u);
    EXPECT_NE(dev->pci, nullptr);
    ASSERT_EQ(c.groups.size(), 1u);
    EXPECT_EQ(c.groups.begin()->second->container_users, 3u);  // the container and two device files
}

TEST(VfioGroup, TheLastCloseDisablesTheDevice) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") +
          q("vfio.group_get_device_fd", "fd: $qemug.fd, name: \"0000:01:00.0\"", "errno: 0", "d2") +
          q("vfio.close", "fd: $d2.fd", "errno: 0") + q("vfio.close", "fd: $qemud.fd", "errno: 0"));
    t.steps_ok();
    guest::vfio::core& c = vfio_of(t);
    ASSERT_EQ(c.devices.count("0000:01:00.0"), 1u);
    const auto dev = c.devices.at("0000:01:00.0");
    EXPECT_EQ(dev->open_count, 0u);
    // vfio_pci_core_disable ran: Bus Master is clear again.
    EXPECT_EQ(t.pi->by_id.at("edu0")->config().get(pci::cfg::command, 2) & pci::command_bits::bus_master, 0u);
    ASSERT_EQ(c.groups.size(), 1u);
    EXPECT_EQ(c.groups.begin()->second->container_users, 1u);
    EXPECT_TRUE(c.group_file_refs.empty());
}

TEST(VfioGroup, UnsetContainerWaitsForTheDeviceFilesAndClosingTheGroupWaitsToo) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") +
          q("vfio.group_unset_container", "fd: $qemug.fd", "ret: -1, errno: EBUSY") +
          // The device file holds the group's file: closing the group's
          // descriptor releases nothing, the node stays busy.
          q("vfio.close", "fd: $qemug.fd", "errno: 0") + q("vfio.open_group", "group: $qemun.group", "ret: -1, errno: EBUSY") +
          q("vfio.device_get_info", "fd: $qemud.fd", "errno: 0") +
          // The last device file closed releases the group, which leaves its container.
          q("vfio.close", "fd: $qemud.fd", "errno: 0") + q("vfio.open_group", "group: $qemun.group", "errno: 0", "g") +
          q("vfio.group_get_status", "fd: $g.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE]") +
          q("vfio.group_set_container", "fd: $g.fd, container: $qemuc.fd", "errno: 0") +
          // The container lost its IOMMU with its last group: it needs one again.
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0\"", "ret: -1, errno: EINVAL") +
          q("vfio.set_iommu", "fd: $qemuc.fd, type: VFIO_TYPE1v2_IOMMU", "errno: 0") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0\"", "errno: 0", "d") +
          q("vfio.close", "fd: $d.fd", "errno: 0") + q("vfio.group_unset_container", "fd: $g.fd", "errno: 0"));
    t.steps_ok();
}

// Group ioctls on other VFIO files and the other way round, and unknown requests.
TEST(VfioGroup, EachFileAnswersOnlyItsOwnRequests) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") +
          q("vfio.open_container", "", "errno: 0", "bare") +
          q("vfio.group_get_status", "fd: $bare.fd", "ret: -1, errno: EINVAL") +   // a container without IOMMU
          q("vfio.group_get_status", "fd: $qemuc.fd", "ret: -1, errno: ENOTTY") +  // type1's ioctl
          q("vfio.group_get_status", "fd: $qemud.fd", "ret: -1, errno: ENOTTY") +  // the device's
          q("vfio.group_unset_container", "fd: $qemud.fd", "ret: -1, errno: ENOTTY") +
          q("vfio.get_api_version", "fd: $qemug.fd", "ret: -1, errno: ENOTTY") +
          q("vfio.check_extension", "fd: $qemug.fd, extension: VFIO_TYPE1v2_IOMMU", "ret: -1, errno: ENOTTY") +
          q("vfio.set_iommu", "fd: $qemug.fd, type: VFIO_TYPE1v2_IOMMU", "ret: -1, errno: ENOTTY") +
          q("vfio.device_get_info", "fd: $qemug.fd", "ret: -1, errno: ENOTTY") +
          q("vfio.ioctl", "fd: $qemug.fd, cmd: 0x3b6f", "ret: -1, errno: ENOTTY") +
          q("vfio.ioctl", "fd: $qemug.fd, cmd: 0", "ret: -1, errno: ENOTTY") +
          q("vfio.group_get_status", "fd: 300", "ret: -1, errno: EBADF"));
    t.steps_ok();
}

TEST(VfioGroup, GetDeviceFdRunsOutOfMemoryAndDescriptors) {
    run t(test::vfio_platform("", "", ", rlimits: { nofile: 3 }") + "steps:\n" + q("pci.iommu_group", "device: edu0", "errno: 0", "e0") +
          q("vfio.open_container", "", "errno: 0", "c") + q("vfio.open_group", "group: $e0.group", "errno: 0", "g") +
          q("vfio.group_set_container", "fd: $g.fd, container: $c.fd", "errno: 0") +
          q("vfio.set_iommu", "fd: $c.fd, type: VFIO_TYPE1v2_IOMMU", "errno: 0") +
          "  - { do: sim.fail_alloc, args: { count: 1 } }\n" +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0\"", "ret: -1, errno: ENOMEM") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0\"", "errno: 0, fd: 2") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:01:00.0\"", "ret: -1, errno: EMFILE") +
          q("vfio.group_get_device_fd", "fd: $g.fd, name: \"0000:09:00.0\"", "ret: -1, errno: ENODEV"));
    t.steps_ok();
}

// A group of a root port and a multi-function device: the port is bound to
// pcieport and two functions to vfio-pci, which all leave the group viable.
TEST(VfioGroup, ABridgeAndTwoEndpointsShareAGroup) {
    run t(test::vfio_platform(multifunction) + "steps:\n" + open_multifunction_group() +
          q("pci.iommu_group", "device: eduB", "errno: 0, group: $mf.group") +
          q("pci.iommu_group", "device: rp4", "errno: 0, group: $mf.group") +
          q("pci.driver", "device: rp4", "driver: pcieport") +
          q("vfio.group_get_status", "fd: $mg.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE]") +
          q("vfio.group_set_container", "fd: $mg.fd, container: $mc.fd", "errno: 0") +
          q("vfio.set_iommu", "fd: $mc.fd, type: VFIO_TYPE1v2_IOMMU", "errno: 0") +
          q("vfio.group_get_device_fd", "fd: $mg.fd, name: \"0000:04:00.0\"", "errno: 0", "a") +
          q("vfio.group_get_device_fd", "fd: $mg.fd, name: \"0000:04:00.1\"", "errno: 0", "b") +
          q("vfio.group_get_device_fd", "fd: $mg.fd, name: \"0000:04:00.2\"", "ret: -1, errno: ENODEV") +  // not vfio-pci
          q("vfio.group_get_device_fd", "fd: $mg.fd, name: \"0000:00:04.0\"", "ret: -1, errno: ENODEV") +  // the port
          q("vfio.group_unset_container", "fd: $mg.fd", "ret: -1, errno: EBUSY") + q("vfio.close", "fd: $a.fd", "errno: 0") +
          q("vfio.group_unset_container", "fd: $mg.fd", "ret: -1, errno: EBUSY") + q("vfio.close", "fd: $b.fd", "errno: 0") +
          q("vfio.group_unset_container", "fd: $mg.fd", "errno: 0"));
    t.steps_ok();
}

// A DMA-API driver bound while VFIO does not hold the group makes it
// non-viable; VFIO's claim then fails with iommu_group_claim_dma_owner's EPERM.
TEST(VfioGroup, AHostDriverInTheGroupMakesItNonViable) {
    run t(test::vfio_platform(multifunction) + "steps:\n" + open_multifunction_group() +
          vstep("pci.bind", "dom0", "device: nicB, driver: e1000", "errno: 0") +
          q("vfio.group_get_status", "fd: $mg.fd", "errno: 0, flags: 0") +
          q("vfio.group_set_container", "fd: $mg.fd, container: $mc.fd", "ret: -1, errno: EPERM") +
          q("vfio.group_get_status", "fd: $mg.fd", "errno: 0, flags: 0") +
          q("vfio.group_get_device_fd", "fd: $mg.fd, name: \"0000:04:00.0\"", "ret: -1, errno: EINVAL") +
          vstep("pci.unbind", "dom0", "device: nicB", "errno: 0") +
          q("vfio.group_get_status", "fd: $mg.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE]") +
          // pci-stub manages no DMA: the group stays viable with it.
          vstep("pci.driver_override", "dom0", "device: nicB, driver: pci-stub", "errno: 0") +
          vstep("pci.drivers_probe", "dom0", "device: nicB", "errno: 0") + q("pci.driver", "device: nicB", "driver: pci-stub") +
          q("vfio.group_get_status", "fd: $mg.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE]") +
          q("vfio.group_set_container", "fd: $mg.fd, container: $mc.fd", "errno: 0"));
    t.steps_ok();
}

// Once VFIO holds the group, a DMA-API driver cannot bind to any function of
// it (iommu_device_use_default_domain: EBUSY; drivers_probe turns it into
// EINVAL); vfio-pci and pci-stub can.
TEST(VfioGroup, AClaimedGroupRefusesDmaApiDrivers) {
    run t(test::vfio_platform(multifunction) + "steps:\n" + open_multifunction_group() +
          q("vfio.group_set_container", "fd: $mg.fd, container: $mc.fd", "errno: 0") +
          vstep("pci.bind", "dom0", "device: nicB, driver: e1000", "errno: EBUSY") +
          q("pci.driver", "device: nicB", "driver: none") +
          vstep("pci.drivers_probe", "dom0", "device: nicB", "errno: EINVAL") +
          q("pci.driver", "device: nicB", "driver: none") +
          q("vfio.group_get_status", "fd: $mg.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_FLAGS_CONTAINER_SET]") +
          // vfio-pci binds, and its device joins the group's devices.
          vstep("pci.driver_override", "dom0", "device: nicB, driver: vfio-pci", "errno: 0") +
          vstep("pci.bind", "dom0", "device: nicB, driver: vfio-pci", "errno: 0") +
          q("vfio.set_iommu", "fd: $mc.fd, type: VFIO_TYPE1v2_IOMMU", "errno: 0") +
          q("vfio.group_get_device_fd", "fd: $mg.fd, name: \"0000:04:00.2\"", "errno: 0", "n") +
          q("vfio.close", "fd: $n.fd", "errno: 0") +
          // Unclaimed again, the kernel may use the group.
          q("vfio.group_unset_container", "fd: $mg.fd", "errno: 0") +
          vstep("pci.unbind", "dom0", "device: nicB", "errno: 0") +
          vstep("pci.driver_override", "dom0", "device: nicB, driver: \"\"", "errno: 0") +
          vstep("pci.bind", "dom0", "device: nicB, driver: e1000", "errno: 0") +
          q("vfio.group_get_status", "fd: $mg.fd", "flags: 0"));
    t.steps_ok();
}

// Unbinding vfio-pci from a device in use: Linux 6.1 blocks the write until
// the user releases the device; the twin refuses it with EBUSY.
TEST(VfioGroup, UnbindingVfioPciWaitsForTheUser) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") +
          vstep("pci.unbind", "dom0", "device: edu0", "errno: EBUSY") + q("pci.driver", "device: edu0", "driver: vfio-pci") +
          q("vfio.device_get_info", "fd: $qemud.fd", "errno: 0") + q("vfio.close", "fd: $qemud.fd", "errno: 0") +
          // The group's file is still open and this is its last device.
          vstep("pci.unbind", "dom0", "device: edu0", "errno: EBUSY") + q("vfio.close", "fd: $qemug.fd", "errno: 0") +
          vstep("pci.unbind", "dom0", "device: edu0", "errno: 0") + q("pci.driver", "device: edu0", "driver: none") +
          q("vfio.open_group", "group: $qemun.group", "ret: -1, errno: ENOENT") +
          // Bound again, the group is a new one, free to use.
          vstep("pci.driver_override", "dom0", "device: edu0, driver: vfio-pci", "errno: 0") +
          vstep("pci.drivers_probe", "dom0", "device: edu0", "errno: 0") +
          q("vfio.open_group", "group: $qemun.group", "errno: 0", "g") +
          q("vfio.group_get_status", "fd: $g.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE]") +
          q("vfio.group_set_container", "fd: $g.fd, container: $qemuc.fd", "errno: 0"));
    t.steps_ok();
}

// A group that loses one of its devices keeps the others; the one gone is no
// longer found by name.
TEST(VfioGroup, AGroupWhoseDeviceWentAway) {
    run t(test::vfio_platform(multifunction) + "steps:\n" + open_multifunction_group() +
          q("vfio.group_set_container", "fd: $mg.fd, container: $mc.fd", "errno: 0") +
          q("vfio.set_iommu", "fd: $mc.fd, type: VFIO_TYPE1v2_IOMMU", "errno: 0") +
          vstep("pci.unbind", "dom0", "device: eduB", "errno: 0") +
          q("vfio.group_get_device_fd", "fd: $mg.fd, name: \"0000:04:00.1\"", "ret: -1, errno: ENODEV") +
          q("vfio.group_get_device_fd", "fd: $mg.fd, name: \"0000:04:00.0\"", "errno: 0") +
          q("vfio.group_get_status", "fd: $mg.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_FLAGS_CONTAINER_SET]") +
          // The function left unbound cannot take a DMA-API driver meanwhile.
          vstep("pci.driver_override", "dom0", "device: eduB, driver: e1000", "errno: 0") +
          vstep("pci.bind", "dom0", "device: eduB, driver: e1000", "errno: EBUSY"));
    t.steps_ok();
}

// Closing the container while a group is attached keeps the container alive
// through the group; the group file's release detaches it.
TEST(VfioGroup, ClosingTheContainerFirstKeepsTheGroupAttached) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") + q("vfio.close", "fd: $qemuc.fd", "errno: 0") +
          q("vfio.group_get_status", "fd: $qemug.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_FLAGS_CONTAINER_SET]") +
          q("vfio.device_get_info", "fd: $qemud.fd", "errno: 0") + q("vfio.close", "fd: $qemud.fd", "errno: 0") +
          q("vfio.close", "fd: $qemug.fd", "errno: 0") + vstep("pci.unbind", "dom0", "device: edu0", "errno: 0"));
    t.steps_ok();
}

}  // namespace
