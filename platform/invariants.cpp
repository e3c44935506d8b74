#include "platform/invariants.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace iotwin::platform {

const std::vector<std::string>& known_invariants() {
    static const std::vector<std::string> names = {"dma_isolation", "group_isolation", "group_viability"};
    return names;
}

isolation_checker::isolation_checker(platform_instance& pi, const std::vector<std::string>& enabled)
    : pi_(pi), groups_(compute_groups(pi.topo)) {
    const auto on = [&](const char* name) { return std::find(enabled.begin(), enabled.end(), name) != enabled.end(); };
    dma_isolation_ = on("dma_isolation");
    group_isolation_ = on("group_isolation");
    group_viability_ = on("group_viability");
    const topology& t = pi_.topo;
    for (std::size_t i = 0; i < t.functions.size(); ++i) function_of_rid_[t.functions[i].bdf.rid()] = static_cast<int>(i);
    // Requests a bridge takes ownership of carry its alias: they belong to its group.
    for (std::size_t i = 0; i < t.functions.size(); ++i)
        for (std::uint16_t rid : t.dma_aliases(static_cast<int>(i))) function_of_rid_.emplace(rid, static_cast<int>(i));
    for (const auto& f : pi_.functions)
        if (const auto it = t.by_id.find(f->basename()); it != t.by_id.end()) index_of_.emplace(f.get(), it->second);
    if (dma_isolation_) pi_.memory->add_observer([this](const tlm::tlm_generic_payload& gp) { observe_memory(gp); });
    if (dma_isolation_ || group_isolation_)
        for (auto& f : pi_.functions)
            f->set_bar_observer([this](const pci::pci_function& target, const tlm::tlm_generic_payload& gp) { observe_bar(target, gp); });
}

// The topology index of a module: by its name, as the builder named it.
int isolation_checker::function_index(const pci::pci_function& f) const {
    const auto it = index_of_.find(&f);
    return it != index_of_.end() ? it->second : pi_.topo.by_id.at(f.basename());
}

std::string isolation_checker::domain_name(hyp::domid_t id) const {
    if (id == hyp::DOMID_XEN) return "the hypervisor (DOMID_XEN)";
    if (id == hyp::DOMID_INVALID) return "nobody (free memory)";
    if (const hyp::domain* d = pi_.hypervisor->find(id)) return d->name;
    return "domain " + std::to_string(id);
}

std::optional<hyp::domid_t> isolation_checker::domain_of_requester(std::uint16_t rid) const {
    const hyp::hypervisor& h = *pi_.hypervisor;
    if (auto d = h.device_owner(rid)) return d;
    for (const hyp::domain& d : h.domains())
        if (d.privileged) return d.id;
    return std::nullopt;
}

std::string isolation_checker::requester_name(std::uint16_t rid) const {
    auto it = function_of_rid_.find(rid);
    return it != function_of_rid_.end() ? pi_.topo.functions[it->second].id : pcie::bdf::from_rid(rid).str();
}

namespace {
violation base(const char* invariant, std::size_t step, const tlm::tlm_generic_payload& gp, const pcie::pcie_ext& ext) {
    violation v;
    v.invariant = invariant;
    v.step = step;
    v.time = sc_core::sc_time_stamp();
    v.requester_id = ext.requester_id;
    v.address = gp.get_address();
    v.length = gp.get_data_length();
    v.write = gp.is_write();
    return v;
}
} // namespace

void isolation_checker::observe_memory(const tlm::tlm_generic_payload& gp) {
    const auto* ext = gp.get_extension<pcie::pcie_ext>();
    if (!ext || ext->host) return;  // CPU and IOMMU-walker accesses are not device DMA
    const hyp::hypervisor& h = *pi_.hypervisor;
    const std::optional<hyp::domid_t> dom = domain_of_requester(ext->requester_id);
    const std::uint64_t a = gp.get_address(), len = gp.get_data_length();
    for (std::uint64_t frame = a & ~std::uint64_t(4095); frame < a + len; frame += 4096) {
        const hyp::domid_t owner = h.owner_of(frame);
        if (dom && owner == *dom) continue;
        violation v = base("dma_isolation", step_, gp, *ext);
        v.device = requester_name(ext->requester_id);
        v.owner = domain_name(owner);
        v.expected = dom ? domain_name(*dom) : "no domain";
        std::ostringstream m;
        m << "DMA " << (v.write ? "write" : "read") << " by " << v.device << " (" << pcie::bdf::from_rid(v.requester_id).str()
          << ") reached machine address 0x" << std::hex << a << std::dec << ", a frame of " << v.owner << "; the device belongs to " << v.expected;
        v.message = m.str();
        violations_.push_back(v);
        return;
    }
}

void isolation_checker::observe_bar(const pci::pci_function& target, const tlm::tlm_generic_payload& gp) {
    const auto* ext = gp.get_extension<pcie::pcie_ext>();
    if (!ext || ext->host) return;  // a CPU's MMIO, not a device's request
    if (dma_isolation_) {
        const auto from = domain_of_requester(ext->requester_id);
        const auto to = domain_of_requester(target.bdf().rid());
        if (from != to) {
            const std::string who = requester_name(ext->requester_id), what = target.basename();
            violation v = base("dma_isolation", step_, gp, *ext);
            v.device = who;
            v.owner = to ? domain_name(*to) : "no domain";
            v.expected = from ? domain_name(*from) : "no domain";
            std::ostringstream m;
            m << (v.write ? "write" : "read") << " by " << who << " (" << pcie::bdf::from_rid(v.requester_id).str() << ") reached a BAR of "
              << what << " at 0x" << std::hex << v.address << std::dec << (ext->passed_iommu ? "" : " peer-to-peer, without the IOMMU")
              << "; " << what << " belongs to " << v.owner << ", the requester to " << v.expected;
            v.message = m.str();
            violations_.push_back(v);
        }
    }
    if (group_isolation_ && !ext->passed_iommu) {
        auto src = function_of_rid_.find(ext->requester_id);
        const int dst = function_index(target);
        if (src != function_of_rid_.end() && groups_.group_of[src->second] != groups_.group_of[dst]) {
            const std::string who = requester_name(ext->requester_id), what = target.basename();
            violation v = base("group_isolation", step_, gp, *ext);
            v.device = who;
            v.owner = "IOMMU group " + std::to_string(groups_.group_of[dst]);
            v.expected = "IOMMU group " + std::to_string(groups_.group_of[src->second]);
            v.message = who + " (group " + std::to_string(groups_.group_of[src->second]) + ") reached " + what + " (group " +
                        std::to_string(groups_.group_of[dst]) + ") peer-to-peer, without the IOMMU: the groups claim an isolation the fabric does not give";
            violations_.push_back(v);
        }
    }
}

void isolation_checker::check_assignment() {
    if (!group_viability_) return;
    const topology& t = pi_.topo;
    for (const iommu_group& g : groups_.groups) {
        std::map<hyp::domid_t, std::vector<std::string>> holders;
        for (int m : g.members) {
            if (t.functions[m].bridge) continue;  // bridges stay with the host, as VFIO allows
            if (const auto d = domain_of_requester(t.functions[m].bdf.rid())) holders[*d].push_back(t.functions[m].id);
        }
        if (holders.size() < 2) continue;
        violation v;
        v.invariant = "group_viability";
        v.step = violation::boot;
        v.time = sc_core::sc_time_stamp();
        std::ostringstream m;
        m << "IOMMU group " << g.id << " is split across domains:";
        bool first = true;
        for (const auto& [dom, ids] : holders) {
            m << (first ? " " : "; ") << domain_name(dom) << " holds";
            for (const auto& id : ids) m << " " << id;
            first = false;
        }
        if (!g.reason.empty()) m << " (the group exists because " << g.reason << ")";
        v.device = holders.begin()->second.front();
        v.owner = domain_name(std::next(holders.begin())->first);
        v.expected = domain_name(holders.begin()->first);
        v.message = m.str();
        violations_.push_back(v);
    }
}

} // namespace iotwin::platform
