#include "models/pci/config_routes.h"

#include <algorithm>

#include "models/pci/pci_bridge.h"
#include "models/pci/virtual_function.h"

namespace iotwin::pci {

void config_routes::add(const pci_function& f, int index) {
    if (const auto* vf = dynamic_cast<const virtual_function*>(&f)) {
        const pci_function* pf = &vf->physical_function();
        auto it = std::find_if(vfs_.begin(), vfs_.end(), [&](const vf_set& s) { return s.pf == pf; });
        if (it == vfs_.end()) it = vfs_.insert(vfs_.end(), vf_set{pf, {}});
        if (it->by_number.size() <= vf->number()) it->by_number.resize(vf->number() + 1);
        if (!it->by_number[vf->number()].f) it->by_number[vf->number()] = {&f, index};
        return;
    }
    if (by_devfn_[f.devfn()] < 0) by_devfn_[f.devfn()] = static_cast<int>(functions_.size());
    functions_.push_back({&f, index});
    if (dynamic_cast<const pci_bridge*>(&f)) bridges_.push_back({&f, index});
}

int config_routes::route(const pcie::bdf& target, std::uint8_t bus, bool device0_only, bool& type0) const {
    if (target.bus == bus && (!device0_only || target.dev == 0)) {
        if (const int i = by_devfn_[target.devfn()]; i >= 0 && functions_[i].f->decodes_config(target, bus)) {
            type0 = true;
            return functions_[i].index;
        }
    }
    // VF n of a PF is at PF + First VF Offset + n x VF Stride (PCIe 5.0 9.3.3.10/11).
    const int rid = target.rid();
    for (const vf_set& s : vfs_) {
        if (!s.pf->sriov_enabled() || s.by_number.empty()) continue;
        const int first = s.pf->vf_routing_id(0), stride = s.pf->vf_routing_id(1) - first;
        if (rid < first) continue;
        std::size_t n = 0;
        if (stride > 0) {
            if ((rid - first) % stride) continue;
            n = static_cast<std::size_t>((rid - first) / stride);
        } else if (rid != first) {
            continue;
        }
        if (n < s.by_number.size() && s.by_number[n].f && s.by_number[n].f->decodes_config(target, bus)) {
            type0 = true;
            return s.by_number[n].index;
        }
    }
    for (const child& b : bridges_)
        if (b.f->routes_bus(target.bus)) {
            type0 = false;
            return b.index;
        }
    return -1;
}

} // namespace iotwin::pci
