// VFIO in a host kernel (Linux 6.1, drivers/vfio): the container
// (/dev/vfio/vfio) with its IOMMU backend, the groups (/dev/vfio/N), and the
// devices bound to vfio-pci, each reached through a device file.
//
// The state lives in the kernel's "vfio" module state (core_of()). A group
// object exists for every IOMMU group while a function of it is bound to
// vfio-pci or a file refers to it; a container lives as long as its file or
// a group attached to it. Files hold shared references, so no object is
// freed under another that still points at it.
//
// Where each part is: container.cpp (the container file, VFIO_SET_IOMMU,
// attach and detach of groups), type1.cpp (the type1 IOMMU backend),
// group.cpp (the group file), pci_device.cpp and pci_config.cpp (the device
// file: regions, configuration space, resets), pci_intrs.cpp (interrupts).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "models/guest/file.h"
#include "models/guest/vfio/host.h"
#include "models/guest/vfio/uapi.h"

namespace iotwin::guest {
class kernel;
class process;
}

namespace iotwin::guest::vfio {

struct container;
struct group;
struct device;
class type1;

// The type1 backend's module parameters (drivers: { vfio_iommu_type1: { ... } }).
struct type1_params {
    std::uint32_t dma_entry_limit = 65535;
    bool allow_unsafe_interrupts = false;
};

// VFIO's module state in one kernel.
struct core {
    host* h = nullptr;  // set by the platform when the kernel's domain may run VFIO (a privileged one)
    type1_params type1;
    std::map<unsigned, std::shared_ptr<group>> groups;          // by IOMMU group number
    std::map<std::string, std::shared_ptr<device>> devices;     // by dev_name, while bound to vfio-pci
    // The reference each open device file holds on its group's file
    // (get_file(group->opened_file) in vfio_device_assign_container), by device file.
    std::map<const file*, file_ref> group_file_refs;
};
core& core_of(kernel& k);

// struct vfio_container
struct container {
    explicit container(kernel& k) : k(k) {}
    kernel& k;
    std::vector<group*> groups;          // attached, in order of attachment
    std::shared_ptr<type1> iommu;        // the backend VFIO_SET_IOMMU chose; null before
    // Attaches a group (VFIO_GROUP_SET_CONTAINER's container side): 0 or -errno.
    long attach_group(group& g, sc_core::sc_time& d);
    // Detaches it (VFIO_GROUP_UNSET_CONTAINER, or the group file's release).
    void detach_group(group& g, sc_core::sc_time& d);
    // VFIO_SET_IOMMU: 0 or -errno.
    long set_iommu(unsigned long type, sc_core::sc_time& d);
};

// struct vfio_group: made when the first function of an IOMMU group binds
// to vfio-pci (vfio_register_group_dev), gone when the last one unbinds
// (vfio_device_remove_group); its /dev/vfio/N exists in between.
struct group {
    group(kernel& k, unsigned id) : k(k), id(id) {}
    kernel& k;
    unsigned id;
    bool opened = false;                     // opened_file: a group is opened once at a time
    std::weak_ptr<file> opened_file;         // that file, for the references device files take on it
    std::shared_ptr<container> owner;        // group->container: the container it is attached to
    // container_users: 1 for the container once set, plus one per open
    // device file (vfio_device_assign_container); UNSET_CONTAINER needs it at 1.
    unsigned container_users = 0;
    // The devices of the group bound to vfio-pci (group->device_list).
    std::vector<std::shared_ptr<device>> devices() const;
};

// struct vfio_pci_core_device: a function bound to vfio-pci.
struct pci_state;  // pci_device.cpp / pci_config.cpp: regions, virtualized config space
struct irq_state;  // pci_intrs.cpp: interrupt index in use, triggers, masks
struct device {
    device(kernel& k, pci_dev dev, unsigned group_id) : k(k), dev(std::move(dev)), group_id(group_id) {}
    kernel& k;
    pci_dev dev;
    unsigned group_id;
    unsigned open_count = 0;             // device files open on it
    std::shared_ptr<pci_state> pci;      // made at first open (vfio_pci_core_enable)
    std::shared_ptr<irq_state> irqs;
};

// --- the files ---
class container_file : public file {
public:
    explicit container_file(kernel& k);
    std::string kind() const override { return "vfio-container"; }
    long ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) override;
    void release(sc_core::sc_time& d) override;
    std::shared_ptr<container> c;
};

class group_file : public file {
public:
    explicit group_file(std::shared_ptr<group> g) : g(std::move(g)) {}
    std::string kind() const override { return "vfio-group"; }
    long ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) override;
    void release(sc_core::sc_time& d) override;
    std::shared_ptr<group> g;
};

class device_file : public file {
public:
    device_file(std::shared_ptr<group> g, std::shared_ptr<device> dev) : g(std::move(g)), dev(std::move(dev)) {}
    std::string kind() const override { return "vfio-device"; }
    long ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) override;
    long read(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d) override;
    long write(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d) override;
    long mmap(process& p, vma& v, sc_core::sc_time& d) override;
    void release(sc_core::sc_time& d) override;
    std::shared_ptr<group> g;  // keeps the group (and through it the container) while the device is open
    std::shared_ptr<device> dev;
};

// open("/dev/vfio/vfio") and open("/dev/vfio/N"): 0 with the file, or -errno.
long open_container(kernel& k, file_ref& out, sc_core::sc_time& d);
long open_group(kernel& k, unsigned id, file_ref& out, sc_core::sc_time& d);
// The /dev/vfio/N that exist now (groups with a function bound to vfio-pci).
std::vector<unsigned> group_numbers(kernel& k);
// A device file's release, after the device's close (vfio_device_fops_release
// then vfio_device_unassign_container): drops its reference on the group's
// file, whose own release may then detach the group from its container.
void put_group_file(device_file& f, sc_core::sc_time& d);
// vfio-pci's remove (vfio_unregister_group_dev, vfio_device_remove_group)
// when the function `name` is unbound from vfio-pci: 0, or -EBUSY where
// Linux 6.1 would block the unbind: while a device file is open (each
// attempt relays a request to the user, request_release()) or while the
// group's file is open and this is its last device.
long unregister_device(kernel& k, const std::string& name, sc_core::sc_time& d);

// The type1 backend (struct vfio_iommu): made by VFIO_SET_IOMMU
// (type1.cpp; Linux 6.1 drivers/vfio/vfio_iommu_type1.c).
class type1 {
public:
    // vfio_iommu_type1_open: `type` is VFIO_SET_IOMMU's argument.
    type1(kernel& k, host& h, unsigned long type, const type1_params& p);
    ~type1();
    // The backend's ->ioctl(NULL, VFIO_CHECK_EXTENSION, arg) and with a backend set.
    static long check_extension(const type1* iommu, unsigned long ext);
    // ->attach_group / ->detach_group: 0 or -errno.
    long attach_group(group& g, sc_core::sc_time& d);
    void detach_group(group& g, sc_core::sc_time& d);
    // ->ioctl for the container's remaining ioctls (CHECK_EXTENSION with an IOMMU set, GET_INFO, MAP_DMA,
    // UNMAP_DMA, DIRTY_PAGES).
    long ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d);
    // ->release: every mapping unmapped and unpinned, the IO space freed.
    void release(sc_core::sc_time& d);
    bool v2() const { return v2_; }
    // The hypervisor's IO space this backend's domain uses (0 before the first group).
    int space() const { return space_; }

private:
    long get_info(process& p, std::uint64_t arg, sc_core::sc_time& d);
    long map_dma(process& p, std::uint64_t arg, sc_core::sc_time& d);
    long unmap_dma(process& p, std::uint64_t arg, sc_core::sc_time& d);
    long dirty_pages(process& p, std::uint64_t arg, sc_core::sc_time& d);
    kernel& k_;
    host& h_;
    bool v2_;
    bool nesting_;
    type1_params p_;
    int space_ = 0;
    std::vector<group*> groups_;
    struct state;
    std::unique_ptr<state> s_;  // the DMA mappings and the rest of type1.cpp's state
};

// --- the device's parts ---
// vfio_pci_core_enable / vfio_pci_core_disable: at the first open and the last close.
long pci_enable(device& dev, sc_core::sc_time& d);
void pci_disable(device& dev, sc_core::sc_time& d);
// Interrupts (pci_intrs.cpp): VFIO_DEVICE_GET_IRQ_INFO and VFIO_DEVICE_SET_IRQS.
long get_irq_info(device& dev, process& p, std::uint64_t arg, sc_core::sc_time& d);
long set_irqs(device& dev, process& p, std::uint64_t arg, sc_core::sc_time& d);
// Every interrupt disabled and every trigger released (the device's close).
void irqs_disable(device& dev, sc_core::sc_time& d);
// vfio_pci_core_request: the host asks the user to release the device
// (an unbind while it is open); signals the REQ eventfd when one is set.
void request_release(device& dev, unsigned count);
// For the virtualized configuration space (vfio_basic_config_write): the
// user's Command.Interrupt Disable masks (true) or unmasks INTx.
void intx_virtual_disable(device& dev, bool disable, sc_core::sc_time& d);
// vdev->msi_qmax (log2 of the MSI vectors enabled: the virtual Multiple
// Message Enable) and vdev->irq_type (VFIO_PCI_NUM_IRQS: none in use).
unsigned msi_qmax(const device& dev);
unsigned irq_index_in_use(const device& dev);

} // namespace iotwin::guest::vfio
