#include "platform/invariants.h"

#include <sstream>

namespace iotwin::platform {

isolation_checker::isolation_checker(platform_instance& pi, bool enabled) : pi_(pi) {
    if (enabled) pi_.memory->add_observer([this](const tlm::tlm_generic_payload& gp) { observe(gp); });
}

std::string isolation_checker::domain_name(hyp::domid_t id) const {
    if (id == hyp::DOMID_XEN) return "the hypervisor (DOMID_XEN)";
    if (id == hyp::DOMID_INVALID) return "nobody (free memory)";
    if (const hyp::domain* d = pi_.hypervisor->find(id)) return d->name;
    return "domain " + std::to_string(id);
}

void isolation_checker::observe(const tlm::tlm_generic_payload& gp) {
    const auto* ext = gp.get_extension<pcie::pcie_ext>();
    if (!ext || ext->host) return;  // CPU and IOMMU-walker accesses are not device DMA
    hyp::hypervisor& h = *pi_.hypervisor;
    std::optional<hyp::domid_t> dom = h.device_owner(ext->requester_id);
    if (!dom)
        for (const hyp::domain& d : h.domains())
            if (d.privileged) { dom = d.id; break; }
    const std::uint64_t a = gp.get_address(), len = gp.get_data_length();
    for (std::uint64_t frame = a & ~std::uint64_t(4095); frame < a + len; frame += 4096) {
        const hyp::domid_t owner = h.owner_of(frame);
        if (dom && owner == *dom) continue;
        violation v;
        v.invariant = "dma_isolation";
        v.step = step_;
        v.time = sc_core::sc_time_stamp();
        v.requester_id = ext->requester_id;
        v.device = pi_.id_of(ext->requester_id);
        if (v.device.empty()) v.device = pcie::bdf::from_rid(ext->requester_id).str();
        v.address = a;
        v.length = len;
        v.write = gp.is_write();
        v.owner = domain_name(owner);
        v.expected = dom ? domain_name(*dom) : "no domain";
        std::ostringstream m;
        m << "DMA " << (v.write ? "write" : "read") << " by " << v.device << " (" << pcie::bdf::from_rid(v.requester_id).str()
          << ") reached machine address 0x" << std::hex << a << std::dec << ", a frame of " << v.owner << "; the device belongs to "
          << v.expected;
        v.message = m.str();
        violations_.push_back(v);
        return;
    }
}

} // namespace iotwin::platform
