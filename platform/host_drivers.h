// Host driver binding: which driver of the host kernel (the privileged
// domain's Linux) each function is bound to, and the sysfs files that change
// it: a driver's `bind` and `unbind`, a device's `driver_override`, the bus's
// `drivers_probe`; and what sysfs shows of a function: its `driver` link,
// `iommu_group` and `reset_method`.
//
// Follows Linux 6.1: drivers/base/bus.c (bind_store, unbind_store,
// drivers_probe_store), drivers/base/dd.c (device_driver_attach,
// __driver_probe_device: -EBUSY when bound), drivers/pci/pci-driver.c
// (pci_match_device: driver_override first, then dynamic and static IDs;
// vfio-pci's table matches only through driver_override), drivers/base/driver.c
// (driver_set_override), drivers/pci/pci.c (pci_reset_fn_methods,
// pci_init_reset_methods, pci_parent_bus_reset). The drivers are a small
// built-in table (host_driver_table()); they do not drive their devices, but
// their remove paths disable them as the real ones do (pci_disable_device()
// clears Bus Master Enable). VFIO (issue 11) reads driver() to know that a
// function is bound to vfio-pci.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/iommu_groups.h"
#include "platform/topology.h"

namespace iotwin::pci { class pci_function; }

namespace iotwin::platform {

// An entry of a driver's static ID table (struct pci_device_id): vendor and
// device (any_id matches any), class under class_mask.
struct pci_id {
    static constexpr std::uint32_t any_id = 0xffffffff;
    std::uint32_t vendor = any_id, device = any_id;
    std::uint32_t class_code = 0, class_mask = 0;
    bool override_only = false;  // PCI_DRIVER_OVERRIDE_DEVICE_VFIO: matches only with driver_override set
};

struct host_driver {
    std::string name;
    std::vector<pci_id> ids;          // the static table; empty for pci-stub (its ids= parameter is empty)
    bool disables_on_remove = true;   // its remove path calls pci_disable_device() (pci-stub has no remove)
    bool sriov_configure = false;     // has .sriov_configure: sriov_numvfs can enable VFs on its devices
    // struct pci_driver's driver_managed_dma (Linux 5.19 on): the driver does
    // not use the kernel's DMA API, so binding it leaves the IOMMU group's
    // DMA ownership alone (pci_dma_configure() skips
    // iommu_device_use_default_domain()). vfio-pci, pci-stub and pcieport set it.
    bool driver_managed_dma = false;
};

// The host drivers the twin knows, in the order the kernel registers them
// (the order drivers are tried when a device is probed).
const std::vector<host_driver>& host_driver_table();
const host_driver* find_host_driver(const std::string& name);
// "none" and every driver's name: what the `driver` key accepts.
std::vector<std::string> host_driver_names();
std::string pci_id_string(std::uint16_t vendor, std::uint16_t device);  // "8086:100e"

class host_drivers {
public:
    // Binds every function as the kernel does at boot: the function's `driver`
    // key, else the first driver whose probe succeeds. Throws input_error at
    // the key for a binding the kernel could not make.
    // `group_of` gives a function's IOMMU group as Linux shows it now (VFs
    // enabled at run time included: platform_instance::iommu_group()).
    using group_lookup = std::function<std::optional<int>(const std::string&)>;
    host_drivers(const topology& t, bool iommu_enabled, group_lookup group_of);
    // A VF enabled at run time is added to the bus (pci_iov_add_virtfn():
    // probed at once, sriov_drivers_autoprobe being 1) and removed when VF
    // Enable clears (its driver unbound). `f` is its place as the topology
    // of the enabled VFs numbers it.
    void add_function(topo_function f);
    void remove_function(const std::string& id);

    // The driver a function is bound to, "none" when unbound.
    const std::string& driver(const std::string& id) const;
    const std::optional<std::string>& driver_override(const std::string& id) const;

    // The sysfs writes, by root. Each returns 0 or the errno the write fails with.
    // `present`: the function exists now (a VF while VF Enable is set).
    int bind(const std::string& id, const std::string& driver, bool present);
    // Writes `driver`'s unbind file (the current driver's when empty).
    // `disable` tells the caller to clear Bus Master Enable (the driver's remove).
    int unbind(const std::string& id, const std::string& driver, bool present, bool& disable);
    int set_driver_override(const std::string& id, const std::string& value);
    int drivers_probe(const std::string& id, bool present);

    // The IOMMU core's DMA ownership of a group (drivers/iommu/iommu.c, 6.1):
    // owner_cnt counts the functions of the group bound to a driver that
    // uses the kernel's DMA API, plus one while a user owner (VFIO) has
    // claimed the group. iommu_group_claim_dma_owner(): EPERM while
    // owner_cnt is not zero. iommu_group_dma_owner_claimed(): owner_cnt != 0.
    // Binding a DMA-API driver to a function of a claimed group fails with
    // EBUSY (iommu_device_use_default_domain() from pci_dma_configure()).
    int claim_dma_owner(int group, const void* owner);
    void release_dma_owner(int group, const void* owner);
    bool dma_owner_claimed(int group) const;

    // The number /sys/bus/pci/devices/BDF/iommu_group links to; none without an IOMMU.
    std::optional<int> iommu_group(const std::string& id) const;
    // /sys/bus/pci/devices/BDF/reset_method: Linux 6.1's method names in its
    // order; empty when the function has none (the file is then absent).
    std::vector<std::string> reset_methods(const std::string& id, const pci::pci_function& f) const;

private:
    bool matches(const host_driver& d, const topo_function& f, const std::optional<std::string>& override) const;
    // The errno the driver's probe returns for the function (0: it binds).
    int probe(const host_driver& d, const topo_function& f) const;
    // device_attach(): the first matching driver whose probe succeeds; 0, or
    // the negative error that stopped the walk (a bus dma_configure error).
    int attach(const std::string& id);
    // pci_dma_configure() for binding `d` to `f`: 0, or EBUSY when the
    // driver uses the DMA API and the function's group is claimed by a user owner.
    int dma_configure(const host_driver& d, const topo_function& f) const;
    // The functions of the group bound to a DMA-API driver (the kernel's share of owner_cnt).
    unsigned kernel_dma_users(int group) const;

    struct binding {
        std::string driver = "none";
        std::optional<std::string> override;
    };
    const topo_function& function(const std::string& id) const;
    const topology& t_;
    bool iommu_;
    group_lookup group_of_;
    std::map<std::string, topo_function> later_;  // VFs enabled at run time, by id
    std::map<std::string, binding> state_;
    std::map<int, const void*> dma_owner_;  // group -> the user owner that claimed it (iommu_group->owner)
};

} // namespace iotwin::platform
