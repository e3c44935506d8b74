#include <algorithm>
#include <cerrno>
#include <set>

#include "models/guest/kernel.h"
#include "models/guest/vfio/vfio.h"

namespace iotwin::guest::vfio {

core& core_of(kernel& k) { return k.module_state<core>("vfio"); }

// A group's character device exists while a function of it is bound to
// vfio-pci (vfio_register_group_dev makes the group, the last
// vfio_unregister_group_dev removes it).
std::vector<unsigned> group_numbers(kernel& k) {
    core& c = core_of(k);
    std::set<unsigned> out;
    if (!c.h) return {};
    for (const pci_dev& p : c.h->devices())
        if (c.h->driver(p.name) == "vfio-pci")
            if (const auto g = c.h->iommu_group(p.name)) out.insert(*g);
    return {out.begin(), out.end()};
}

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

} // namespace iotwin::guest::vfio
