// VFIO's module state and the lifetime of its groups and devices (Linux 6.1,
// drivers/vfio/vfio_main.c: vfio_register_group_dev, vfio_unregister_group_dev,
// vfio_group_find_or_alloc, vfio_device_remove_group).
#include <algorithm>
#include <cerrno>
#include <set>

#include "models/guest/kernel.h"
#include "models/guest/vfio/vfio.h"

namespace iotwin::guest::vfio {

core& core_of(kernel& k) { return k.module_state<core>("vfio"); }

// A group's character device exists while a function of it is bound to
// vfio-pci: vfio-pci's probe registers the device (vfio_register_group_dev,
// which makes the group and its /dev/vfio/N on the first), and its remove
// unregisters it (the last one takes the node away: cdev_device_del in
// vfio_device_remove_group).
std::vector<unsigned> group_numbers(kernel& k) {
    core& c = core_of(k);
    std::set<unsigned> out;
    if (!c.h) return {};
    for (const pci_dev& p : c.h->devices())
        if (c.h->driver(p.name) == "vfio-pci")
            if (const auto g = c.h->iommu_group(p.name)) out.insert(*g);
    return {out.begin(), out.end()};
}

// group->device_list: the functions of the group bound to vfio-pci, each
// with its vfio_device, made when it is first looked at and kept until
// vfio-pci lets it go (unregister_device).
std::vector<std::shared_ptr<device>> group::devices() const {
    core& c = core_of(k);
    std::vector<std::shared_ptr<device>> out;
    if (!c.h) return out;
    for (const pci_dev& p : c.h->group_devices(id)) {
        if (c.h->driver(p.name) != "vfio-pci") continue;
        auto& dev = c.devices[p.name];
        if (!dev) dev = std::make_shared<device>(k, p, id);
        out.push_back(dev);
    }
    return out;
}

// vfio_unregister_group_dev() drops the registration reference and waits
// for the device files to go, calling ->request (vfio_pci_core_request)
// every ten seconds meanwhile; then vfio_device_remove_group() removes the
// group's node when this was its last device and waits until the group's
// file is closed. The twin cannot block a step: it refuses the unbind with
// EBUSY instead, after relaying one request, and the user may retry once it
// has closed the files (docs/drivers/vfio-group.md).
long unregister_device(kernel& k, const std::string& name, sc_core::sc_time& d) {
    (void)d;
    core& c = core_of(k);
    if (!c.h) return 0;
    const auto it = c.devices.find(name);
    if (it != c.devices.end() && it->second->open_count > 0) {
        request_release(*it->second, 0);
        return -EBUSY;
    }
    const auto gid = c.h->iommu_group(name);
    bool last = true;
    if (gid)
        for (const pci_dev& p : c.h->group_devices(*gid))
            if (p.name != name && c.h->driver(p.name) == "vfio-pci") last = false;
    const auto g = gid ? c.groups.find(*gid) : c.groups.end();
    if (last && g != c.groups.end() && g->second->opened) return -EBUSY;
    if (it != c.devices.end()) c.devices.erase(it);
    // The last device gone frees the group: a later bind makes a new one.
    if (last && g != c.groups.end()) c.groups.erase(g);
    return 0;
}

} // namespace iotwin::guest::vfio
