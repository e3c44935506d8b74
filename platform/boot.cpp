#include "platform/boot.h"

#include <algorithm>
#include <stdexcept>

#include "models/common/errno_names.h"
#include "models/guest/kernel.h"
#include "models/guest/vfio/vfio.h"
#include "platform/address_map.h"

namespace iotwin::platform {

namespace {

// Every domain's kernel, with the drivers it selected, and the scenario's processes.
void boot_guests(const scenario& s, platform_instance& pi) {
    hyp::hypervisor& h = *pi.hypervisor;
    pi.guests = std::make_unique<guest::os>(h, *pi.cpu);
    pi.vfio = std::make_unique<vfio_host>(pi, s.platform.iommu_enabled);
    guest::os* g = pi.guests.get();
    h.upcall_handler = [g](hyp::domid_t dom, const sc_core::sc_time& when) { g->upcall(dom, when); };
    for (const domain_desc& dd : s.domains) {
        std::map<std::string, guest::driver_config> drivers;
        for (const auto& [name, ds] : dd.drivers)
            drivers[name] = {ds.original ? guest::driver_version::original : guest::driver_version::current, ds.limit};
        guest::kernel& k = g->add_kernel(h.find(dd.name)->id, drivers);
        // VFIO runs in the host: the privileged domains' kernels.
        if (dd.privileged) guest::vfio::core_of(k).h = pi.vfio.get();
        // vfio_iommu_type1's module parameters.
        if (const auto it = dd.drivers.find("vfio_iommu_type1"); it != dd.drivers.end()) {
            guest::vfio::type1_params& tp = guest::vfio::core_of(k).type1;
            if (it->second.dma_entry_limit) tp.dma_entry_limit = static_cast<std::uint32_t>(*it->second.dma_entry_limit);
            if (it->second.allow_unsafe_interrupts) tp.allow_unsafe_interrupts = *it->second.allow_unsafe_interrupts;
        }
    }
    for (const process_desc& p : s.processes) {
        guest::rlimits lim{p.memlock, p.nofile};
        std::set<guest::capability> caps;
        if (p.capabilities) {
            for (const std::string& c : *p.capabilities) caps.insert(*guest::capability_named(c));
        } else {
            for (unsigned c = 0; c < 64; ++c) caps.insert(static_cast<guest::capability>(c));  // every capability
        }
        g->spawn(h.find(p.domain)->id, p.name, lim, caps);
    }
}

// ATS, enabled as Linux 6.1 enables it: intel_iommu_probe_device() finds a
// device ATS-capable when the unit reports ECAP.DT, pci_ats_supported() (an
// ATS capability, and the device not untrusted) and dmar_ats_supported() (the
// firmware's ATSR covers its root port: every port here); then
// iommu_enable_pci_caps() enables ATS only if pci_ats_page_aligned() and
// pci_enable_ats() sets Enable with STU = 0 (VTD_PAGE_SHIFT, 4 KiB); and
// domain_context_mapping_one() writes TT=01b (CONTEXT_TT_DEV_IOTLB) for it.
// A device is untrusted when a port above it is external-facing
// (drivers/pci/probe.c, set_pcie_untrusted()).
void enable_ats(const scenario& s, platform_instance& pi, enumerator& en, sc_core::sc_time& d) {
    if (!s.platform.iommu_enabled || !s.platform.iommu.device_tlb) return;
    for (const topo_function& f : pi.topo.functions) {
        if (f.is_vf || !f.node || !f.node->ats) continue;
        bool untrusted = false;
        for (int p = f.parent; p >= 0; p = pi.topo.functions[p].parent)
            untrusted = untrusted || (pi.topo.functions[p].node && pi.topo.functions[p].node->external_facing);
        if (untrusted || !en.enable_ats(pi.by_id.at(f.id)->bdf(), d)) continue;
        for (std::uint16_t rid : pi.topo.dma_aliases(pi.topo.by_id.at(f.id))) pi.hypervisor->set_device_tlb(rid, true);
    }
}

}  // namespace

std::map<std::string, enumerated_function> boot_platform(const scenario& s, platform_instance& pi, sc_core::sc_time& d) {
    hyp::hypervisor& h = *pi.hypervisor;
    if (h.init(d)) throw input_error(s.platform.pos, "the hypervisor's heap cannot hold the IOMMU root table");
    enumerator en(h, pi.topo.root_buses);
    std::vector<enumerated_function> found;
    try {
        found = en.run(d);
    } catch (const std::runtime_error& e) {
        throw input_error(s.platform.pos, e.what());
    }
    // The PF drivers enable their virtual functions (pci_enable_sriov()).
    for (const topo_function& f : pi.topo.functions) {
        if (f.is_vf || !f.node->sriov || !f.node->sriov->num_vfs) continue;
        const auto vfs = en.enable_sriov(pi.by_id.at(f.id)->bdf(), static_cast<std::uint16_t>(f.node->sriov->num_vfs), d);
        found.insert(found.end(), vfs.begin(), vfs.end());
    }
    // The simulated firmware and the static numbering must agree on every BDF.
    for (const topo_function& tf : pi.topo.functions)
        if (tf.segment == 0 && pi.by_id.at(tf.id)->bdf() != tf.bdf)
            throw std::logic_error("enumeration gives '" + tf.id + "' " + pi.by_id.at(tf.id)->bdf().str() + ", the topology " + tf.bdf_string());
    std::map<std::string, enumerated_function> by_id;
    for (const auto& f : pi.functions) {
        if (!f->present()) continue;  // a VF software has not enabled (yet)
        const auto it = std::find_if(found.begin(), found.end(), [&](const enumerated_function& e) { return e.bdf == f->bdf(); });
        // Every function the builder made must be reachable by configuration requests.
        sc_assert(it != found.end());
        by_id[f->basename()] = *it;
    }
    for (const domain_desc& dd : s.domains) {
        hyp::domain_config c;
        c.name = dd.name;
        c.privileged = dd.privileged;
        c.memory = dd.memory;
        c.type = dd.type == domain_kind::pv ? hyp::domain_type::pv : hyp::domain_type::hvm;
        c.grant_version = static_cast<unsigned>(dd.grant_table.version);
        c.max_grant_version = static_cast<unsigned>(dd.grant_table.max_version);
        c.max_grant_frames = static_cast<unsigned>(dd.grant_table.max_frames);
        c.max_maptrack_frames = static_cast<unsigned>(dd.grant_table.max_maptrack_frames);
        c.iommu = dd.iommu == domain_iommu::blocked       ? hyp::iommu_mode::blocked
                  : dd.iommu == domain_iommu::passthrough ? hyp::iommu_mode::passthrough
                                                          : hyp::iommu_mode::translated;
        c.iommu_invalidation = dd.iommu_deferred ? hyp::invalidation_mode::deferred : hyp::invalidation_mode::strict;
        const int id = h.create_domain(c, d);
        if (id < 0)
            throw input_error(dd.pos, "domain '" + dd.name + "': cannot allocate " + std::to_string(dd.memory >> 20) + "MiB (" + errno_name(-id) + ")");
    }
    enable_ats(s, pi, en, d);
    // Where a function's MSIs cannot carry its own requester ID (behind a
    // bridge that takes ownership), the host's IRTEs verify what they carry.
    // (The host's IRTEs name requester IDs of segment 0, the one its IOMMU serves.)
    for (std::size_t i = 0; i < pi.topo.functions.size(); ++i) {
        if (pi.topo.functions[i].segment != 0) continue;
        const auto src = pi.topo.msi_source_of(static_cast<int>(i));
        const std::uint16_t rid = pi.topo.functions[i].bdf.rid();
        if (src.bus_range || src.sid != rid) h.set_msi_source(rid, src.bus_range, src.sid);
    }
    // A device gets context entries for every requester ID its DMA can carry
    // (its own and the aliases bridges above it give it), as Linux and Xen do.
    auto assign = [&](const std::string& dev, const domain_desc& dd, const source_pos& pos) {
        const hyp::domid_t dom = h.find(dd.name)->id;
        for (std::uint16_t rid : pi.topo.dma_aliases(pi.topo.by_id.at(dev))) {
            const auto owner = h.device_owner(rid);
            if (owner && *owner != dom)
                throw input_error(pos, "cannot give '" + dev + "' to '" + dd.name + "': its DMA can carry requester ID " +
                                           pcie::bdf::from_rid(rid).str() + ", which '" + h.find(*owner)->name +
                                           "' already holds (devices behind one PCI bridge must go to one domain)");
            if (const int e = h.assign_device(dom, rid, d))
                throw input_error(pos, "cannot pass '" + dev + "' through to '" + dd.name + "' (" + errno_name(e) + ")");
        }
    };
    for (const domain_desc& dd : s.domains)
        for (const auto& [dev, pos] : dd.devices) assign(dev, dd, pos);
    boot_guests(s, pi);
    const auto hw = std::find_if(s.domains.begin(), s.domains.end(), [](const domain_desc& x) { return x.privileged; });
    if (hw == s.domains.end()) return by_id;
    for (const topo_function& f : pi.topo.functions) {
        if (f.bridge || h.device_owner(f.bdf.rid())) continue;
        assign(f.id, *hw, hw->pos);
    }
    return by_id;
}

} // namespace iotwin::platform
