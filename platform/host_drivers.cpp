#include "platform/host_drivers.h"

#include <algorithm>
#include <cerrno>

#include "models/pci/pci_function.h"
#include "platform/description.h"

namespace iotwin::platform {

namespace {

pci_id dev(std::uint32_t vendor, std::uint32_t device) { return {vendor, device, 0, 0, false}; }

// The static ID tables, a subset of each driver's in Linux 6.1 (the IDs the
// twin's scenarios use and the devices QEMU emulates), in registration order.
std::vector<host_driver> make_table() {
    std::vector<host_driver> t;
    // drivers/pci/pcie/portdrv.c: class PCI-to-PCI bridge; its probe refuses
    // what is not a Root Port or a switch port (-ENODEV).
    // driver_managed_dma since Linux 5.19 ("PCI: portdrv: Set driver_managed_dma"):
    // a port bound to it does not make its group unusable for VFIO.
    t.push_back({"pcieport", {{pci_id::any_id, pci_id::any_id, 0x060400, 0xffffff, false},
                              {pci_id::any_id, pci_id::any_id, 0x060401, 0xffffff, false}}, true, false, true});
    // drivers/virtio/virtio_pci_common.c: any Red Hat / Qumranet device; its
    // probe takes only device IDs 0x1000..0x107f (-ENODEV otherwise).
    t.push_back({"virtio-pci", {dev(0x1af4, pci_id::any_id)}, true, true});
    // drivers/nvme/host/pci.c: class NVM Express.
    t.push_back({"nvme", {{pci_id::any_id, pci_id::any_id, 0x010802, 0xffffff, false}}, true, true});
    // drivers/net/ethernet/intel: e1000 (82540EM is QEMU's e1000), e1000e
    // (82574L, QEMU's e1000e), igb and igbvf (82576 and its VF), ixgbe and
    // ixgbevf (82599 and its VF).
    t.push_back({"e1000", {dev(0x8086, 0x1000), dev(0x8086, 0x1001), dev(0x8086, 0x1004), dev(0x8086, 0x100e), dev(0x8086, 0x100f)}, true});
    t.push_back({"e1000e", {dev(0x8086, 0x10d3)}, true});
    t.push_back({"igb", {dev(0x8086, 0x10c9), dev(0x8086, 0x1533)}, true, true});
    t.push_back({"igbvf", {dev(0x8086, 0x10ca)}, true});
    t.push_back({"ixgbe", {dev(0x8086, 0x10fb)}, true, true});
    t.push_back({"ixgbevf", {dev(0x8086, 0x10ed)}, true});
    // Drivers with .sriov_configure (the last field) in 6.1: virtio-pci
    // (virtio_pci_sriov_configure), nvme (pci_sriov_configure_simple), igb,
    // ixgbe and vfio-pci (vfio_pci_sriov_configure); the others have none.
    // drivers/pci/pci-stub.c: no static table; its ids= parameter is empty
    // by default, so it binds only through driver_override. No remove
    // callback: unbinding it leaves the command register as it is.
    // driver_managed_dma (drivers/pci/pci-stub.c, 5.19 on).
    t.push_back({"pci-stub", {}, false, false, true});
    // drivers/vfio/pci/vfio_pci.c: PCI_DRIVER_OVERRIDE_DEVICE_VFIO(any, any).
    // It disables the device when its last user closes it (pci_clear_master
    // in vfio_pci_core_disable), so a device it leaves has Bus Master clear.
    // driver_managed_dma: VFIO claims the group itself (VFIO_GROUP_SET_CONTAINER).
    t.push_back({"vfio-pci", {{pci_id::any_id, pci_id::any_id, 0, 0, true}}, true, true, true});
    return t;
}

bool id_matches(const pci_id& id, const topo_function& f) {
    return (id.vendor == pci_id::any_id || id.vendor == f.vendor) && (id.device == pci_id::any_id || id.device == f.device) &&
           ((f.class_code ^ id.class_code) & id.class_mask) == 0;
}

} // namespace

const std::vector<host_driver>& host_driver_table() {
    static const std::vector<host_driver> t = make_table();
    return t;
}

const host_driver* find_host_driver(const std::string& name) {
    for (const host_driver& d : host_driver_table())
        if (d.name == name) return &d;
    return nullptr;
}

std::vector<std::string> host_driver_names() {
    std::vector<std::string> n{"none"};
    for (const host_driver& d : host_driver_table()) n.push_back(d.name);
    return n;
}

host_drivers::host_drivers(const topology& t, bool iommu_enabled, group_lookup group_of)
    : t_(t), iommu_(iommu_enabled), group_of_(std::move(group_of)) {
    for (const topo_function& f : t.functions) {
        state_[f.id];
        const bool own_key = !f.is_vf && f.node && f.node->driver;
        if (!own_key) {
            attach(f.id);
            continue;
        }
        const std::string& name = *f.node->driver;
        if (name == "none") continue;
        const host_driver* d = find_host_driver(name);
        const bool by_override = name == "vfio-pci" || name == "pci-stub";  // as vfio-pci.ids= / driverctl arrange it
        if (!by_override && !matches(*d, f, std::nullopt))
            throw input_error(f.node->driver_pos, name + " does not claim " + f.id + " (" + pci_id_string(f.vendor, f.device) +
                                                      "); bind it at run time with pci.driver_override and pci.drivers_probe");
        if (const int e = probe(*d, f))
            throw input_error(f.node->driver_pos, "the probe of " + name + " fails on " + f.id + " with " +
                                                      (e == EINVAL ? std::string("EINVAL") : std::string("ENODEV")) +
                                                      (name == "vfio-pci" ? (f.bridge ? " (a bridge)" : " (no IOMMU group)") : ""));
        state_[f.id].driver = name;
    }
}

std::string pci_id_string(std::uint16_t vendor, std::uint16_t device) {
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (int i = 12; i >= 0; i -= 4) s += hex[(vendor >> i) & 15];
    s += ':';
    for (int i = 12; i >= 0; i -= 4) s += hex[(device >> i) & 15];
    return s;
}

namespace {
const std::string unbound = "none";
const std::optional<std::string> no_override;
} // namespace

// A function not on the bus (a VF never enabled) has no driver and no override.
const std::string& host_drivers::driver(const std::string& id) const {
    const auto it = state_.find(id);
    return it == state_.end() ? unbound : it->second.driver;
}
const std::optional<std::string>& host_drivers::driver_override(const std::string& id) const {
    const auto it = state_.find(id);
    return it == state_.end() ? no_override : it->second.override;
}

const topo_function& host_drivers::function(const std::string& id) const {
    if (const auto it = t_.by_id.find(id); it != t_.by_id.end()) return t_.functions[it->second];
    return later_.at(id);
}

void host_drivers::add_function(topo_function f) {
    f.node = nullptr;  // the node belongs to a description that does not outlive the call
    const std::string id = f.id;
    later_[id] = std::move(f);
    state_[id] = binding{};
    attach(id);
}

void host_drivers::remove_function(const std::string& id) {
    if (t_.by_id.count(id)) return;  // the boot set stays on the bus (its state is the topology's)
    state_.erase(id);
    later_.erase(id);
}

// pci_match_device(): driver_override names the only driver that may match,
// and then matches it whatever its table says; else the dynamic IDs (none:
// new_id is not modelled) and the static table, whose override-only entries
// need driver_override.
bool host_drivers::matches(const host_driver& d, const topo_function& f, const std::optional<std::string>& override) const {
    if (override && *override != d.name) return false;
    for (const pci_id& id : d.ids)
        if (id_matches(id, f) && (!id.override_only || override)) return true;
    return override.has_value();
}

int host_drivers::probe(const host_driver& d, const topo_function& f) const {
    if (d.name == "pcieport") {
        const bool port = f.pcie_type && (*f.pcie_type == pci::port_type::root_port || *f.pcie_type == pci::port_type::upstream_port ||
                                          *f.pcie_type == pci::port_type::downstream_port);
        return port ? 0 : ENODEV;
    }
    if (d.name == "virtio-pci") return f.device >= 0x1000 && f.device <= 0x107f ? 0 : ENODEV;
    // vfio_pci_core_register_device(): a type-0 header only; __vfio_register_dev():
    // a device without an IOMMU group is refused (no vfio noiommu mode here).
    if (d.name == "vfio-pci") return f.bridge || !iommu_group(f.id) ? EINVAL : 0;
    return 0;
}

// device_attach() through __device_attach_driver(): drivers in order; a
// probe that fails lets the next driver try (really_probe() returns probe
// errors positive), but an error before the probe, such as dma_configure's
// -EBUSY, is negative and ends the walk (drivers/base/dd.c, 6.1).
int host_drivers::attach(const std::string& id) {
    binding& b = state_.at(id);
    const topo_function& f = function(id);
    for (const host_driver& d : host_driver_table()) {
        if (!matches(d, f, b.override)) continue;
        if (const int e = dma_configure(d, f)) return -e;
        if (probe(d, f) == 0) {
            b.driver = d.name;
            return 0;
        }
    }
    return 0;
}

// pci_dma_configure() (drivers/pci/pci-driver.c, 6.1) runs from really_probe()
// before the driver's probe: unless the driver sets driver_managed_dma it
// calls iommu_device_use_default_domain(), which fails with -EBUSY when
// owner_cnt is not zero and the group has a user owner (drivers/iommu/iommu.c).
// Another DMA-API driver in the group only adds to owner_cnt.
int host_drivers::dma_configure(const host_driver& d, const topo_function& f) const {
    if (d.driver_managed_dma) return 0;
    const auto g = iommu_group(f.id);
    return g && dma_owner_.count(*g) ? EBUSY : 0;
}

unsigned host_drivers::kernel_dma_users(int group) const {
    unsigned n = 0;
    for (const auto& [id, b] : state_) {
        if (b.driver == "none") continue;
        const host_driver* d = find_host_driver(b.driver);
        if (d && !d->driver_managed_dma && iommu_group(id) == group) ++n;
    }
    return n;
}

// iommu_group_claim_dma_owner() (drivers/iommu/iommu.c, 6.1): -EPERM when
// owner_cnt is not zero, whether a kernel driver or another user owns it.
int host_drivers::claim_dma_owner(int group, const void* owner) {
    if (dma_owner_.count(group) || kernel_dma_users(group) > 0) return EPERM;
    dma_owner_[group] = owner;
    return 0;
}

// iommu_group_release_dma_owner(): owner_cnt back to zero, the default domain restored.
void host_drivers::release_dma_owner(int group, const void* owner) {
    const auto it = dma_owner_.find(group);
    if (it != dma_owner_.end() && it->second == owner) dma_owner_.erase(it);
}

bool host_drivers::dma_owner_claimed(int group) const { return dma_owner_.count(group) || kernel_dma_users(group) > 0; }

// bind_store(): bus_find_device_by_name() (-ENODEV), driver_match_device()
// (-ENODEV), device_driver_attach(): -EBUSY when bound, dma_configure's
// -EBUSY (a DMA-API driver on a function of a group VFIO claimed), the probe's error.
int host_drivers::bind(const std::string& id, const std::string& driver, bool present) {
    const host_driver* d = find_host_driver(driver);
    if (!d) return ENOENT;  // no /sys/bus/pci/drivers/<driver>/bind
    if (!present || !state_.count(id)) return ENODEV;
    binding& b = state_.at(id);
    const topo_function& f = function(id);
    if (!matches(*d, f, b.override)) return ENODEV;
    if (b.driver != "none") return EBUSY;
    if (const int e = dma_configure(*d, f)) return e;
    if (const int e = probe(*d, f)) return e;
    b.driver = d->name;
    return 0;
}

// unbind_store(): -ENODEV unless the device is bound to this driver.
int host_drivers::unbind(const std::string& id, const std::string& driver, bool present, bool& disable) {
    disable = false;
    const std::string& current = this->driver(id);
    const std::string& name = driver.empty() ? current : driver;
    const host_driver* d = find_host_driver(name);
    if (!d) return ENOENT;  // no such driver directory, or no `driver` link to follow
    if (!present || current != name) return ENODEV;
    binding& b = state_.at(id);
    b.driver = "none";
    disable = d->disables_on_remove;
    return 0;
}

// driver_set_override(): -EINVAL from a page's length on; an empty string or
// one that starts with a newline clears it; otherwise up to the first newline
// is kept, whatever it names ("none" is a name like another).
int host_drivers::set_driver_override(const std::string& id, const std::string& value) {
    if (value.size() >= 4096 - 1) return EINVAL;
    const std::string s = value.substr(0, value.find('\0'));
    const std::string name = s.substr(0, s.find('\n'));
    if (!state_.count(id)) return ENOENT;  // no such device directory
    binding& b = state_.at(id);
    if (name.empty()) b.override.reset();
    else b.override = name;
    return 0;
}

// drivers_probe_store(): -ENODEV for an unknown device; else
// bus_rescan_devices_helper(): device_attach() when unbound, and success
// whether or not a driver bound, unless device_attach() returned a negative
// error (dma_configure's -EBUSY), which drivers_probe_store() turns into
// -EINVAL (drivers/base/bus.c, 6.1: `err = -EINVAL` unless the helper returns 0).
int host_drivers::drivers_probe(const std::string& id, bool present) {
    if (!present || !state_.count(id)) return ENODEV;
    if (state_.at(id).driver == "none" && attach(id) < 0) return EINVAL;
    return 0;
}

std::optional<int> host_drivers::iommu_group(const std::string& id) const {
    if (!iommu_) return std::nullopt;
    return group_of_(id);
}

// pci_init_reset_methods() runs from pci_init_capabilities(), while the
// function is added, before it joins its bus's device list. Of Linux 6.1's
// methods (device_specific, acpi, flr, af_flr, pm, bus):
//  - device_specific: the quirk table pci_dev_reset_methods; of the IDs the
//    twin knows, the 82599 VF (8086:10ed), whose probe is FLR's;
//  - acpi (_RST) and af_flr (conventional PCI Advanced Features): never, the
//    twin has no ACPI methods and no AF capability;
//  - flr: Device Capabilities bit 28 (pcie_reset_flr);
//  - pm: a Power Management capability with No_Soft_Reset clear (pci_pm_reset);
//  - bus: pci_parent_bus_reset(): not on a root bus (nor on a VF's virtual
//    bus, which has no bridge), and no function added to its bus before it
//    (so the first function of a bus has it, later ones not; a bridge too,
//    whose subordinate bus does not exist yet). No slot reset (no hotplug).
std::vector<std::string> host_drivers::reset_methods(const std::string& id, const pci::pci_function& fn) const {
    const topo_function& f = function(id);
    const pci::config_space& c = fn.config();
    bool flr = false, pm = false;
    if (const auto pcie = c.find_capability(pci::cap_id::pcie)) flr = (c.get(*pcie + 4, 4) >> 28) & 1;
    if (const auto pmc = c.find_capability(pci::cap_id::power_management)) pm = !((c.get(*pmc + 4, 2) >> 3) & 1);
    bool first_on_bus = false;
    if (const auto b = t_.by_id.find(id); b != t_.by_id.end() && !f.is_vf) {
        const std::vector<int>& bus = t_.by_bus.at(f.bus_key());
        first_on_bus = !bus.empty() && bus.front() == b->second;
    }
    std::vector<std::string> m;
    if (f.vendor == 0x8086 && f.device == 0x10ed && flr) m.push_back("device_specific");
    if (flr) m.push_back("flr");
    if (pm) m.push_back("pm");
    if (!f.on_root_bus && f.parent >= 0 && !f.is_vf && first_on_bus) m.push_back("bus");
    return m;
}

} // namespace iotwin::platform
