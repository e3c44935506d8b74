// The interrupts of a VFIO device file (models/guest/vfio/pci_intrs.cpp) as
// Linux 6.1 has them: VFIO_DEVICE_GET_IRQ_INFO per index,
// VFIO_DEVICE_SET_IRQS's validation, INTx with its automask, mask and unmask
// (also by an eventfd), MSI and MSI-X vectors signalling eventfds, the ERR
// and REQ triggers, loopbacks, conflicts between indexes, and everything
// released at close. The devices raise their interrupts for real (edu's
// IRQ_RAISE register, scripted MSI and MSI-X messages); the host's kernel
// handles them and signals the user's eventfds.
#include <gtest/gtest.h>

#include "tests/support/scenario_run.h"
#include "tests/support/vfio_platform.h"

namespace {

using namespace iotwin;
using test::vstep;

struct run : test::scenario_run {
    using scenario_run::scenario_run;
};

// A PCI Express function (scripted) bound to vfio-pci at 0000:04:00.0 with
// 4 MSI messages and an 8-entry MSI-X table in BAR 2; its script sends, from
// Bus Master Enable on, MSI messages 0 and 1, then MSI-X vectors 0, 1 and 2.
const std::string pcie_dev =
    "    - { id: rp4, type: root_port, at: \"04.0\", children: [ { id: sc0, type: endpoint, model: scripted, driver: vfio-pci,\n"
    "        bars: [ { index: 0, size: 64KiB }, { index: 2, size: 16KiB } ], msi: { vectors: 4 },\n"
    "        msix: { vectors: 8, table_bar: 2, table_offset: 0, pba_bar: 2, pba_offset: 0x2000 },\n"
    "        script: [ { at: 1us, do: msi, vector: 0 }, { at: 2us, do: msi, vector: 1 }, { at: 3us, do: msi, vector: 1 } ] } ] }\n";
const std::string msix_dev =
    "    - { id: rp4, type: root_port, at: \"04.0\", children: [ { id: sc0, type: endpoint, model: scripted, driver: vfio-pci,\n"
    "        bars: [ { index: 0, size: 64KiB }, { index: 2, size: 16KiB } ], msi: { vectors: 4 },\n"
    "        msix: { vectors: 8, table_bar: 2, table_offset: 0, pba_bar: 2, pba_offset: 0x2000 },\n"
    "        script: [ { at: 1us, do: msix, vector: 0 }, { at: 2us, do: msix, vector: 1 }, { at: 3us, do: msix, vector: 2 } ] } ] }\n";

const std::string wait10us = "  - { do: sim.wait, args: { time: 10us } }\n";

std::string irq_info(const std::string& index, const std::string& expect) {
    return vstep("vfio.device_get_irq_info", "qemu", "fd: $qemud.fd, index: " + index, expect);
}

std::string set_irqs(const std::string& args, const std::string& expect) {
    return vstep("vfio.device_set_irqs", "qemu", "fd: $qemud.fd, " + args, expect);
}

std::string efd(const std::string& save) { return vstep("eventfd.create", "qemu", "", "errno: 0", save); }

std::string efd_read(const std::string& e, const std::string& expect) {
    return vstep("eventfd.read", "qemu", "fd: $" + e + ".fd", expect);
}

// edu raises interrupt causes through IRQ_RAISE (0x60) and drops them through IRQ_ACK (0x64).
std::string edu_raise(unsigned cause) {
    return vstep("pci.mmio_write", "dom0", "device: edu0, bar: 0, offset: 0x60, value: " + std::to_string(cause));
}
std::string edu_ack(unsigned cause) {
    return vstep("pci.mmio_write", "dom0", "device: edu0, bar: 0, offset: 0x64, value: " + std::to_string(cause));
}

const std::string intx_trigger = "flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], index: VFIO_PCI_INTX_IRQ_INDEX";

// edu is conventional PCI with INTA and one MSI message, no MSI-X: 6.1's
// vfio_pci_ioctl_get_irq_info and vfio_pci_get_irq_count.
TEST(VfioIrqs, IrqInfoOfEdu) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") +
          irq_info("VFIO_PCI_INTX_IRQ_INDEX", "flags: [VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_MASKABLE, VFIO_IRQ_INFO_AUTOMASKED], count: 1") +
          irq_info("VFIO_PCI_MSI_IRQ_INDEX", "flags: [VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_NORESIZE], count: 1") +
          irq_info("VFIO_PCI_MSIX_IRQ_INDEX", "flags: [VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_NORESIZE], count: 0") +
          irq_info("VFIO_PCI_ERR_IRQ_INDEX", "ret: -1, errno: EINVAL") +  // not PCI Express
          irq_info("VFIO_PCI_REQ_IRQ_INDEX", "flags: [VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_NORESIZE], count: 1") +
          irq_info("5", "errno: EINVAL") +
          vstep("vfio.device_get_irq_info", "qemu", "fd: $qemud.fd, index: 0, argsz: 15", "errno: EINVAL") +
          vstep("vfio.device_get_irq_info", "qemu", "fd: $qemud.fd, index: 0, argsz: 16", "errno: 0") +
          vstep("vfio.device_get_irq_info", "qemu", "fd: $qemud.fd, index: 0, arg: null", "errno: EFAULT") +
          vstep("vfio.device_get_irq_info", "qemu", "fd: $qemuc.fd, index: 0", "errno: ENOTTY"));  // the container's number space
    t.steps_ok();
}

TEST(VfioIrqs, IrqInfoOfAPcieFunction) {
    run t(test::vfio_platform(pcie_dev) + "steps:\n" + test::vfio_open("qemu", "sc0", "0000:04:00.0") +
          irq_info("VFIO_PCI_MSI_IRQ_INDEX", "count: 4") +
          irq_info("VFIO_PCI_MSIX_IRQ_INDEX", "flags: [VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_NORESIZE], count: 8") +
          irq_info("VFIO_PCI_ERR_IRQ_INDEX", "flags: [VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_NORESIZE], count: 1"));
    t.steps_ok();
}

// vfio_set_irqs_validate_and_prepare, then vfio_pci_set_irqs_ioctl's dispatch.
TEST(VfioIrqs, SetIrqsValidation) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") + efd("e") +
          vstep("file.open", "qemu", "path: /dev/null", "errno: 0", "nf") +
          set_irqs(intx_trigger + ", data: [$e.fd], argsz: 19", "errno: EINVAL") +
          set_irqs(intx_trigger + ", data: [$e.fd], argsz: 23", "errno: EINVAL") +  // no room for the s32
          set_irqs("flags: 0x40, index: 0, count: 1", "errno: EINVAL") +             // an unknown flag
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_ACTION_TRIGGER], index: 0, count: 1", "errno: EINVAL") +
          set_irqs("flags: [VFIO_IRQ_SET_ACTION_TRIGGER], index: 0, count: 1", "errno: EINVAL") +  // no data type
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE], index: 0, count: 1", "errno: ENOTTY") +      // no action
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_UNMASK], index: 0, count: 1", "errno: ENOTTY") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], index: 5, count: 1", "errno: EINVAL") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], index: 0, start: 1, count: 0", "errno: EINVAL") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], index: 0, count: 2", "errno: EINVAL") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], index: 0, start: 0xffffffff, count: 1", "errno: EINVAL") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], index: VFIO_PCI_MSIX_IRQ_INDEX, count: 0", "errno: EINVAL") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], index: VFIO_PCI_ERR_IRQ_INDEX, data: [$e.fd]", "errno: EINVAL") +
          set_irqs(intx_trigger + ", data: [99]", "errno: EBADF") +
          set_irqs(intx_trigger + ", data: [$nf.fd]", "errno: EINVAL") +
          set_irqs(intx_trigger + ", data: [$e.fd], arg: null", "errno: EFAULT") +
          // The failed enables left nothing behind: INTx can be enabled now.
          set_irqs(intx_trigger + ", data: [$e.fd]", "errno: 0, ret: 0"));
    t.steps_ok();
}

// INTx: the interrupt signals the eventfd and is masked (DisINTx) until the
// user unmasks it; an unmask that finds the interrupt pending signals again.
TEST(VfioIrqs, IntxIsAutomaskedUntilUnmasked) {
    const std::string unmask = "flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_UNMASK], index: 0, count: 1";
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") + efd("e") +
          set_irqs(intx_trigger + ", data: [$e.fd]", "errno: 0") +
          efd_read("e", "errno: EAGAIN") +
          edu_raise(1) + efd_read("e", "value: 1") +
          // Command.Interrupt Disable is set by the handler; Interrupt Status shows the cause.
          vstep("pci.config_read", "dom0", "device: edu0, offset: 4, size: 4", "value: { mask: 0x00080400, value: 0x00080400 }") +
          edu_raise(2) + efd_read("e", "errno: EAGAIN") +   // masked: not signalled
          set_irqs(unmask, "errno: 0") + efd_read("e", "value: 1") +  // still pending: signalled, still masked
          edu_ack(3) + set_irqs(unmask, "errno: 0") + efd_read("e", "errno: EAGAIN") +
          vstep("pci.config_read", "dom0", "device: edu0, offset: 4, size: 2", "value: { mask: 0x400, value: 0 }") +
          edu_raise(4) + efd_read("e", "value: 1") + edu_ack(4) +
          // MASK by the user, then an interrupt: nothing until unmasked.
          set_irqs("flags: [VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_ACTION_UNMASK], index: 0, data: [true]", "errno: 0") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_ACTION_MASK], index: 0, data: [true]", "errno: 0") +
          edu_raise(8) + efd_read("e", "errno: EAGAIN") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_ACTION_UNMASK], index: 0, data: [false]", "errno: 0") +
          efd_read("e", "errno: EAGAIN") +
          set_irqs(unmask, "errno: 0") + efd_read("e", "value: 1") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_MASK], index: 0, data: [$e.fd]", "errno: ENOTTY"));
    t.steps_ok();
}

// The irqfd-style unmask: a write to the unmask eventfd unmasks INTx.
TEST(VfioIrqs, IntxUnmaskByEventfd) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") + efd("e") + efd("u") + efd("u2") +
          set_irqs(intx_trigger + ", data: [$e.fd]", "errno: 0") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_UNMASK], index: 0, data: [$u.fd]", "errno: 0") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_UNMASK], index: 0, data: [$u2.fd]", "errno: EBUSY") +
          edu_raise(1) + efd_read("e", "value: 1") + edu_ack(1) +
          edu_raise(2) + efd_read("e", "errno: EAGAIN") + edu_ack(2) +
          vstep("eventfd.write", "qemu", "fd: $u.fd, value: 1", "errno: 0") +
          efd_read("u", "errno: EAGAIN") +  // virqfd consumed it
          edu_raise(4) + efd_read("e", "value: 1") + edu_ack(4) +
          // -1 removes it: a write no longer unmasks.
          set_irqs("flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_UNMASK], index: 0, data: [-1]", "errno: 0") +
          vstep("eventfd.write", "qemu", "fd: $u.fd, value: 1", "errno: 0") + efd_read("u", "value: 1") +
          edu_raise(8) + efd_read("e", "errno: EAGAIN"));
    t.steps_ok();
}

// Loopbacks (DATA_NONE / DATA_BOOL triggers), disable with count 0, and 6.1's
// quirk: a -1 eventfd enables INTx with no trigger.
TEST(VfioIrqs, IntxLoopbackDisableAndConflicts) {
    const std::string none = "flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], index: ";
    const std::string msi = "flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], index: VFIO_PCI_MSI_IRQ_INDEX, data: [$e.fd]";
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") + efd("e") +
          set_irqs(none + "0, count: 1", "errno: EINVAL") +  // loopback before INTx is enabled
          set_irqs(intx_trigger + ", data: [$e.fd]", "errno: 0") +
          set_irqs(none + "0, count: 1", "errno: 0") + efd_read("e", "value: 1") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_ACTION_TRIGGER], index: 0, data: [false]", "errno: 0") +
          efd_read("e", "errno: EAGAIN") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_ACTION_TRIGGER], index: 0, data: [true]", "errno: 0") +
          efd_read("e", "value: 1") +
          set_irqs(msi, "errno: EINVAL") +  // INTx in use
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_MASK], index: VFIO_PCI_MSI_IRQ_INDEX, count: 1", "errno: ENOTTY") +
          set_irqs(none + "0, count: 0", "errno: 0") +  // disable
          edu_raise(1) + efd_read("e", "errno: EAGAIN") + edu_ack(1) +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_UNMASK], index: 0, count: 1", "errno: EINVAL") +
          set_irqs(intx_trigger + ", data: [-1]", "errno: 0") +  // enabled, no trigger
          set_irqs(msi, "errno: EINVAL") +
          set_irqs(none + "0, count: 0", "errno: 0") +
          set_irqs(msi, "errno: 0") +
          set_irqs(intx_trigger + ", data: [$e.fd]", "errno: EINVAL") +  // MSI in use
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_MASK], index: 0, count: 1", "errno: EINVAL"));
    t.steps_ok();
}

// edu's factorial completion by MSI: the vector the kernel programmed is
// handled by the host and signals the eventfd.
TEST(VfioIrqs, EduMsiSignalsTheEventfd) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") + efd("e") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], index: VFIO_PCI_MSI_IRQ_INDEX, data: [$e.fd]", "errno: 0") +
          // MSI Enable with the host's message: with interrupt remapping on (the
          // default), the remappable format naming IRTE 0 (handle 0, SHV).
          vstep("pci.config_read", "dom0", "device: edu0, offset: 0x42, size: 2", "value: { mask: 0x71, value: 0x01 }") +
          vstep("pci.config_read", "dom0", "device: edu0, offset: 0x44, size: 4", "value: 0xfee00018") +
          vstep("pci.set_master", "dom0", "device: edu0", "errno: 0") +
          vstep("pci.mmio_write", "dom0", "device: edu0, bar: 0, offset: 0x20, value: 0x80") +
          vstep("pci.mmio_write", "dom0", "device: edu0, bar: 0, offset: 0x08, value: 5") +
          wait10us + efd_read("e", "value: 1") +
          vstep("pci.mmio_read", "dom0", "device: edu0, bar: 0, offset: 0x08", "value: 120") +
          edu_raise(2) + efd_read("e", "value: 1") +
          // Loopbacks.
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], index: 1, count: 1", "errno: 0") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_ACTION_TRIGGER], index: 1, data: [true]", "errno: 0") +
          efd_read("e", "value: 2") +
          // -1: the vector stays enabled, unsignalled.
          set_irqs("flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], index: 1, data: [-1]", "errno: 0") +
          edu_raise(4) + efd_read("e", "errno: EAGAIN") +
          // Disabled: MSI Enable clear, INTx allowed again.
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], index: 1, count: 0", "errno: 0") +
          vstep("pci.config_read", "dom0", "device: edu0, offset: 0x42, size: 2", "value: { mask: 0x1, value: 0 }") +
          vstep("pci.config_read", "dom0", "device: edu0, offset: 4, size: 2", "value: { mask: 0x400, value: 0 }"));
    t.steps_ok();
}

// Two MSI messages of a function that has four: one eventfd each.
TEST(VfioIrqs, MsiWithTwoVectors) {
    run t(test::vfio_platform(pcie_dev) + "steps:\n" + test::vfio_open("qemu", "sc0", "0000:04:00.0") + efd("a") + efd("b") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], index: VFIO_PCI_MSI_IRQ_INDEX, data: [$a.fd, $b.fd]", "errno: 0") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], index: VFIO_PCI_MSI_IRQ_INDEX, start: 2, data: [$a.fd]", "errno: EINVAL") +
          vstep("pci.set_master", "dom0", "device: sc0", "errno: 0") + wait10us +
          efd_read("a", "value: 1") + efd_read("b", "value: 2"));
    t.steps_ok();
}

// MSI-X: a vector without a trigger stays masked (its message pending in the PBA).
TEST(VfioIrqs, MsixVectors) {
    run t(test::vfio_platform(msix_dev) + "steps:\n" + test::vfio_open("qemu", "sc0", "0000:04:00.0") + efd("a") + efd("c") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], index: VFIO_PCI_MSIX_IRQ_INDEX, data: [$a.fd, -1, $c.fd]", "errno: 0") +
          vstep("pci.config_read", "dom0", "device: sc0, offset: 4, size: 2", "value: { mask: 0x400, value: 0x400 }") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], index: VFIO_PCI_MSI_IRQ_INDEX, data: [$a.fd]", "errno: EINVAL") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_UNMASK], index: VFIO_PCI_MSIX_IRQ_INDEX, count: 1", "errno: ENOTTY") +
          vstep("pci.set_master", "dom0", "device: sc0", "errno: 0") + wait10us +
          efd_read("a", "value: 1") + efd_read("c", "value: 1") +
          // Vector 1's message waits in the PBA (bit 1 of the PBA at 0x2000 in BAR 2).
          vstep("pci.mmio_read", "dom0", "device: sc0, bar: 2, offset: 0x2000", "value: 2") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_ACTION_TRIGGER], index: 2, start: 1, data: [true, true]", "errno: 0") +
          efd_read("c", "value: 1") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], index: 2, start: 2, count: 2", "errno: EINVAL") +
          set_irqs("flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], index: 2, count: 0", "errno: 0") +
          vstep("pci.config_read", "dom0", "device: sc0, offset: 4, size: 2", "value: { mask: 0x400, value: 0 }"));
    t.steps_ok();
}

// ERR (a PCIe function) and REQ: one eventfd each, loopbacks, release.
TEST(VfioIrqs, ErrAndReqTriggers) {
    const std::string req = "index: VFIO_PCI_REQ_IRQ_INDEX, flags: ";
    run t(test::vfio_platform(pcie_dev) + "steps:\n" + test::vfio_open("qemu", "sc0", "0000:04:00.0") + efd("e") + efd("r") +
          set_irqs("index: VFIO_PCI_ERR_IRQ_INDEX, flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], data: [$e.fd]", "errno: 0") +
          set_irqs("index: VFIO_PCI_ERR_IRQ_INDEX, flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], count: 1", "errno: 0") +
          set_irqs("index: VFIO_PCI_ERR_IRQ_INDEX, flags: [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_MASK], count: 1", "errno: ENOTTY") +
          efd_read("e", "value: 1") +
          set_irqs(req + "[VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], count: 1", "errno: EINVAL") +  // nothing set
          set_irqs(req + "[VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_ACTION_TRIGGER], data: [true]", "errno: 0") +       // nothing set: fine
          set_irqs(req + "[VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], data: [$r.fd]", "errno: 0") +
          set_irqs(req + "[VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_ACTION_TRIGGER], data: [true]", "errno: 0") +
          set_irqs(req + "[VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], count: 1", "errno: 0") +
          efd_read("r", "value: 2") +
          set_irqs(req + "[VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], data: [-2]", "errno: 0") +  // neither -1 nor a descriptor: kept
          set_irqs(req + "[VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], count: 1", "errno: 0") + efd_read("r", "value: 1") +
          set_irqs(req + "[VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_ACTION_TRIGGER], count: 0", "errno: EINVAL") +
          set_irqs(req + "[VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], count: 0", "errno: 0") +  // released
          set_irqs(req + "[VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_ACTION_TRIGGER], count: 1", "errno: EINVAL"));
    t.steps_ok();
}

// Closing the device turns every interrupt off and drops the eventfds.
TEST(VfioIrqs, CloseDisablesEverything) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") + efd("e") +
          set_irqs(intx_trigger + ", data: [$e.fd]", "errno: 0") +
          vstep("vfio.close", "qemu", "fd: $qemud.fd", "errno: 0") +
          edu_raise(1) + efd_read("e", "errno: EAGAIN") + edu_ack(1) +
          // A new open starts with nothing enabled: MSI can be enabled.
          vstep("vfio.group_get_device_fd", "qemu", "fd: $qemug.fd, name: \"0000:01:00.0\"", "errno: 0", "d2") +
          vstep("vfio.device_set_irqs", "qemu",
                "fd: $d2.fd, flags: [VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER], index: VFIO_PCI_MSI_IRQ_INDEX, data: [$e.fd]",
                "errno: 0"));
    t.steps_ok();
}

}  // namespace
