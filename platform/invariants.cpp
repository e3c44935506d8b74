#include "platform/invariants.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace iotwin::platform {

const std::vector<std::string>& known_invariants() {
    static const std::vector<std::string> names = {"dma_isolation", "group_isolation", "group_viability", "grant_integrity"};
    return names;
}

isolation_checker::isolation_checker(platform_instance& pi, const std::vector<std::string>& enabled)
    : pi_(pi), groups_(compute_groups(pi.topo)) {
    const auto on = [&](const char* name) { return std::find(enabled.begin(), enabled.end(), name) != enabled.end(); };
    dma_isolation_ = on("dma_isolation");
    group_isolation_ = on("group_isolation");
    group_viability_ = on("group_viability");
    grant_integrity_ = on("grant_integrity");
    const topology& t = pi_.topo;
    for (std::size_t i = 0; i < t.functions.size(); ++i) function_of_rid_[t.functions[i].bdf.rid()] = static_cast<int>(i);
    // Requests a bridge takes ownership of carry its alias: they belong to its group.
    for (std::size_t i = 0; i < t.functions.size(); ++i)
        for (std::uint16_t rid : t.dma_aliases(static_cast<int>(i))) function_of_rid_.emplace(rid, static_cast<int>(i));
    for (const auto& f : pi_.functions)
        if (const auto it = t.by_id.find(f->basename()); it != t.by_id.end()) {
            index_of_.emplace(f.get(), it->second);
            origin_index_.emplace(f.get(), it->second);
        }
    if (dma_isolation_ || grant_integrity_)
        memory_observer_ = pi_.memory->add_observer([this](const tlm::tlm_generic_payload& gp) {
            observe_grant_vcpu(gp);
            observe_memory(gp);
        });
    if (dma_isolation_ || group_isolation_)
        for (auto& f : pi_.functions)
            f->set_bar_observer([this](const pci::pci_function& target, const tlm::tlm_generic_payload& gp) { observe_bar(target, gp); });
}

// The platform outlives the checker (a VFIO device's teardown still writes
// memory): nothing may call back into it once it is gone.
isolation_checker::~isolation_checker() {
    if (memory_observer_) pi_.memory->remove_observer(*memory_observer_);
    if (dma_isolation_ || group_isolation_)
        for (auto& f : pi_.functions) f->set_bar_observer(nullptr);
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

// The domain a requester ID is assigned to; a function of the platform that
// nobody was given belongs to the first privileged domain. An ID no function
// has belongs to nobody.
std::optional<hyp::domid_t> isolation_checker::domain_of_requester(std::uint16_t rid) const {
    const hyp::hypervisor& h = *pi_.hypervisor;
    if (auto d = h.device_owner(rid)) return d;
    if (!function_of_rid_.count(rid)) return std::nullopt;
    for (const hyp::domain& d : h.domains())
        if (d.privileged) return d.id;
    return std::nullopt;
}

isolation_checker::attribution isolation_checker::attribute(const pcie::pcie_ext& ext) const {
    attribution a;
    const topology& t = pi_.topo;
    if (const auto o = ext.origin ? origin_index_.find(ext.origin) : origin_index_.end(); o != origin_index_.end()) {
        a.function = o->second;
        const auto legit = t.dma_aliases(a.function);
        a.forged = std::find(legit.begin(), legit.end(), ext.requester_id) == legit.end();
        a.domain = domain_of_requester(t.functions[a.function].bdf.rid());
        a.name = t.functions[a.function].id;
        if (a.forged)
            if (const auto c = function_of_rid_.find(ext.requester_id); c != function_of_rid_.end()) a.carried = t.functions[c->second].id;
        return a;
    }
    if (const auto it = function_of_rid_.find(ext.requester_id); it != function_of_rid_.end()) {
        a.function = it->second;
        a.domain = domain_of_requester(ext.requester_id);
        a.name = t.functions[a.function].id;
        return a;
    }
    a.name = "unknown requester ID " + pcie::bdf::from_rid(ext.requester_id).str();
    return a;
}

std::string isolation_checker::attribution::describe(std::uint16_t rid) const {
    if (function < 0) return name;
    if (!forged) return name + " (" + pcie::bdf::from_rid(rid).str() + ")";
    return name + " (carrying the forged requester ID " + pcie::bdf::from_rid(rid).str() +
           (carried.empty() ? ", which no function has)" : ", the ID of " + carried + ")");
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

void isolation_checker::observe_grant_vcpu(const tlm::tlm_generic_payload& gp) {
    if (!grant_integrity_) return;
    const auto* tag = gp.get_extension<hyp::vcpu_access_ext>();
    if (!tag || !tag->via_grant) return;
    ++grant_vcpu_accesses_;
    hyp::hypervisor& h = *pi_.hypervisor;
    if (h.grant_tables().host_mapping_allows(tag->domain, tag->handle, gp.get_address(), gp.is_write())) return;
    violation v;
    v.invariant = "grant_integrity";
    v.step = step_;
    v.time = sc_core::sc_time_stamp();
    v.address = gp.get_address();
    v.length = gp.get_data_length();
    v.write = gp.is_write();
    v.device = "vCPU of " + domain_name(tag->domain);
    v.owner = domain_name(h.owner_of(v.address));
    v.expected = "grant mapping handle " + std::to_string(tag->handle) + " in force";
    std::ostringstream m;
    m << "vCPU " << (v.write ? "write" : "read") << " of " << domain_name(tag->domain) << " reached machine address 0x" << std::hex
      << v.address << std::dec << " (a frame of " << v.owner << ") through grant mapping handle " << tag->handle
      << ", which is not in force for that frame" << (v.write ? " or is read-only" : "");
    v.message = m.str();
    violations_.push_back(v);
}

void isolation_checker::observe_memory(const tlm::tlm_generic_payload& gp) {
    const auto* ext = gp.get_extension<pcie::pcie_ext>();
    if (!ext || ext->host) return;  // CPU and IOMMU-walker accesses are not device DMA
    const hyp::hypervisor& h = *pi_.hypervisor;
    const attribution who = attribute(*ext);
    const std::optional<hyp::domid_t> dom = who.domain;
    const std::uint64_t a = gp.get_address(), len = gp.get_data_length();
    for (std::uint64_t frame = a & ~std::uint64_t(4095); frame - (a & ~std::uint64_t(4095)) < len + (a & 4095); frame += 4096) {
        const hyp::domid_t owner = h.owner_of(frame);
        if (dom && owner == *dom) continue;
        // A frame of another domain that the device's domain holds through a
        // grant mapping (the identity IOMMU entry Xen makes for a PV domain).
        auto& gt = pi_.hypervisor->grant_tables();
        if (dom && gt.ever_device_mapped(*dom, frame)) {
            ++grant_device_accesses_;
            if (gt.device_may_reach(*dom, frame, gp.is_write())) continue;
            if (grant_integrity_) {
                violation v = base("grant_integrity", step_, gp, *ext);
                v.device = who.name;
                v.owner = domain_name(owner);
                v.expected = domain_name(*dom) + "'s grant mappings in force";
                std::ostringstream m;
                m << "DMA " << (v.write ? "write" : "read") << " by " << who.describe(v.requester_id) << " reached machine address 0x"
                  << std::hex << a << std::dec << ", a frame of " << v.owner << " that " << domain_name(*dom)
                  << " no longer holds by a grant " << (v.write ? "allowing writes" : "in force");
                v.message = m.str();
                violations_.push_back(v);
            }
        }
        if (!dma_isolation_) continue;
        violation v = base("dma_isolation", step_, gp, *ext);
        v.device = who.name;
        v.forged_requester_id = who.forged;
        v.owner = domain_name(owner);
        v.expected = dom ? domain_name(*dom) : "no domain";
        std::ostringstream m;
        m << "DMA " << (v.write ? "write" : "read") << " by " << who.describe(v.requester_id)
          << " reached machine address 0x" << std::hex << a << std::dec << ", a frame of " << v.owner << "; the device belongs to " << v.expected;
        v.message = m.str();
        violations_.push_back(v);
        return;
    }
}

void isolation_checker::observe_bar(const pci::pci_function& target, const tlm::tlm_generic_payload& gp) {
    const auto* ext = gp.get_extension<pcie::pcie_ext>();
    if (!ext || ext->host) return;  // a CPU's MMIO, not a device's request
    const attribution src = attribute(*ext);
    if (dma_isolation_) {
        const auto from = src.domain;
        const int dst_index = function_index(target);
        const auto to = domain_of_requester(pi_.topo.functions[dst_index].bdf.rid());
        if (!from || from != to) {
            const std::string what = target.basename();
            violation v = base("dma_isolation", step_, gp, *ext);
            v.device = src.name;
            v.forged_requester_id = src.forged;
            v.owner = to ? domain_name(*to) : "no domain";
            v.expected = from ? domain_name(*from) : "no domain";
            std::ostringstream m;
            m << (v.write ? "write" : "read") << " by " << src.describe(v.requester_id) << " reached a BAR of "
              << what << " at 0x" << std::hex << v.address << std::dec
              << (ext->passed_iommu ? "" : " without the IOMMU remapping it (peer-to-peer)")
              << "; " << what << " belongs to " << v.owner << ", the requester to " << v.expected;
            v.message = m.str();
            violations_.push_back(v);
        }
    }
    if (group_isolation_ && !ext->passed_iommu) {
        // A request the IOMMU did not remap (peer-to-peer in the fabric, or
        // across an IOMMU with translation off) between functions of different
        // groups; a request from an unknown function cannot be shown to be in
        // the target's group.
        const int dst = function_index(target);
        if (src.function < 0 || groups_.group_of[src.function] != groups_.group_of[dst]) {
            const std::string what = target.basename();
            const std::string src_group = src.function < 0 ? "no group" : "group " + std::to_string(groups_.group_of[src.function]);
            violation v = base("group_isolation", step_, gp, *ext);
            v.device = src.name;
            v.forged_requester_id = src.forged;
            v.owner = "IOMMU group " + std::to_string(groups_.group_of[dst]);
            v.expected = src.function < 0 ? "no IOMMU group" : "IOMMU " + src_group;
            v.message = src.describe(v.requester_id) + " in " + src_group + " reached " + what + " in group " +
                        std::to_string(groups_.group_of[dst]) +
                        " without the IOMMU remapping it: the groups claim an isolation the fabric does not give";
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
