#include "platform/boot.h"

#include <algorithm>

#include "models/common/errno_names.h"
#include "platform/address_map.h"

namespace iotwin::platform {

std::map<std::string, enumerated_function> boot_platform(const scenario& s, platform_instance& pi, sc_core::sc_time& d) {
    hyp::hypervisor& h = *pi.hypervisor;
    if (h.init(d)) throw input_error(s.platform.pos, "the hypervisor's heap cannot hold the IOMMU root table");
    std::vector<enumerated_function> found;
    try {
        found = enumerator(h, address_map::ecam_base).run(d);
    } catch (const std::runtime_error& e) {
        throw input_error(s.platform.pos, e.what());
    }
    std::map<std::string, enumerated_function> by_id;
    for (const auto& f : pi.functions) {
        const auto it = std::find_if(found.begin(), found.end(), [&](const enumerated_function& e) { return e.bdf == f->bdf(); });
        // Every function the builder made must be reachable by configuration requests.
        sc_assert(it != found.end());
        by_id[f->basename()] = *it;
    }
    for (const domain_desc& dd : s.domains) {
        const int id = h.create_domain(dd.name, dd.privileged, dd.memory, d);
        if (id < 0)
            throw input_error(dd.pos, "domain '" + dd.name + "': cannot allocate " + std::to_string(dd.memory >> 20) + "MiB (" + errno_name(-id) + ")");
    }
    for (const domain_desc& dd : s.domains)
        for (const auto& [dev, pos] : dd.devices) {
            const int e = h.assign_device(h.find(dd.name)->id, pi.by_id.at(dev)->bdf().rid(), d);
            if (e) throw input_error(pos, "cannot pass '" + dev + "' through to '" + dd.name + "' (" + errno_name(e) + ")");
        }
    const auto hw = std::find_if(s.domains.begin(), s.domains.end(), [](const domain_desc& x) { return x.privileged; });
    if (hw == s.domains.end()) return by_id;
    for (const auto& f : pi.functions) {
        if (dynamic_cast<const pci::pci_bridge*>(f.get()) || h.device_owner(f->bdf().rid())) continue;
        if (const int e = h.assign_device(h.find(hw->name)->id, f->bdf().rid(), d))
            throw input_error(hw->pos, "cannot give '" + std::string(f->basename()) + "' to '" + hw->name + "' (" + errno_name(e) + ")");
    }
    return by_id;
}

} // namespace iotwin::platform
