#include "platform/builder.h"

#include <algorithm>
#include <array>
#include <functional>
#include <set>
#include <unordered_map>

#include "models/devices/device_list.h"
#include "models/pci/pci_bridge.h"
#include "models/pci/virtual_function.h"
#include "platform/address_map.h"
#include "platform/iommu_groups.h"

namespace iotwin::platform {

namespace {

pci::function_params function_params_of(const topo_function& f, const fabric_params& fabric) {
    const pcie_node& n = *f.node;
    pci::function_params p;
    p.devfn = f.bdf.devfn();
    p.vendor = f.vendor;
    p.device = f.device;
    p.class_code = f.class_code;
    p.pcie = f.pcie_type;
    p.link = n.link.value_or(fabric.link);
    p.link.tlp_overhead = fabric.link.tlp_overhead;
    p.link.completion_overhead = fabric.link.completion_overhead;
    p.read_tags = fabric.read_tags;
    p.posted_credits = fabric.posted_credits;
    p.bars = n.bars;
    // A bar_ram function without `bars` gets BAR0 (16 KiB, 32-bit) to be
    // addressed by; `bars: []` means none. Other models add what they need.
    if (!n.bars_given && n.bars.empty() && !is_bridge(n.type) && n.type != node_type::host_bridge && !f.is_vf &&
        (n.model.empty() || n.model == "bar_ram"))
        p.bars.push_back({0, 0x4000, pci::bar_type::mem32, false});
    const msi_spec msi = n.msi.value_or(msi_spec{});
    p.msi_vectors = is_bridge(n.type) ? 0 : msi.vectors;
    p.msi_64bit = msi.address_64bit;
    p.msi_per_vector_mask = msi.per_vector_mask;
    p.msix = n.msix;
    // Interrupt Pin: INTA unless the description says otherwise (a type-0 function).
    p.interrupt_pin = n.interrupt_pin.value_or(is_bridge(n.type) || n.type == node_type::host_bridge ? 0 : 1);
    p.power_management = n.power_management;
    p.no_soft_reset = n.no_soft_reset;
    p.flr = n.flr;
    p.rom_size = n.rom_size;
    p.multifunction = f.header_multifunction;
    if (f.has_acs) p.acs = pci::function_params::acs_regs{f.acs_cap, f.acs_ctrl};
    p.ats = n.ats;
    if (n.sriov)
        p.sriov = pci::function_params::sriov_regs{static_cast<std::uint16_t>(n.sriov->total_vfs), static_cast<std::uint16_t>(n.sriov->first_vf_offset),
                                                   static_cast<std::uint16_t>(n.sriov->vf_stride),
                                                   n.sriov->vf_device ? n.sriov->vf_device : f.device, n.sriov->vf_bars};
    p.internal_p2p = f.internal_p2p;
    // Firmware programmed this bridge's bus numbers; the enumerator keeps them.
    if (f.bridge && n.secondary) p.firmware_buses = pci::function_params::bus_numbers{f.bdf.bus, f.secondary, f.subordinate};
    return p;
}

void vfs_changed(platform_instance& pi, const platform_desc& desc, pci::pci_function& pf, bool enabled);

class assembler {
public:
    assembler(const scenario& s, platform_instance& pi) : s_(s), pi_(pi) {
        for (const topo_function& f : pi_.topo.functions)
            if (f.is_vf) vfs_of_[f.node].push_back(&f);
    }

    // Creates the functions of `nodes` and binds them below `parent`, or on
    // root bus `root_bus` of the root complex when there is no parent.
    void functions(const std::vector<pcie_node>& nodes, pci::pci_bridge* parent, std::uint8_t root_bus) {
        for (const pcie_node& n : nodes) {
            if (n.type == node_type::host_bridge && n.segment != 0)
                throw input_error(n.pos, "host_bridge '" + n.id + "': segment " + std::to_string(n.segment) +
                                             " is computed by 'iotwin groups' but not simulated (one ECAM window, segment 0)");
            const topo_function& tf = pi_.topo.at(n.id);
            pci::pci_function* f = add(n.id, create(n, tf, function_params_of(tf, s_.platform.fabric)), tf, parent, root_bus);
            if (n.sriov) virtual_functions(n, tf, *f, parent, root_bus);
            if (auto* bridge = dynamic_cast<pci::pci_bridge*>(f)) functions(n.children, bridge, 0);
            if (n.type == node_type::host_bridge) functions(n.children, nullptr, *n.root_bus);
        }
    }

private:
    // A module for every VF the PF can enable (TotalVFs): the boot set
    // (num_vfs) as the topology numbers it, the rest present only once
    // software enables them (virtual_function::present()).
    void virtual_functions(const pcie_node& n, const topo_function& pf_tf, pci::pci_function& pf, pci::pci_bridge* parent,
                           std::uint8_t root_bus) {
        const auto boot = vfs_of_.find(&n);
        for (unsigned v = 0; v < n.sriov->total_vfs; ++v) {
            topo_function later;
            const topo_function* vf = nullptr;
            if (boot != vfs_of_.end() && v < boot->second.size()) {
                vf = boot->second[v];
            } else {
                later = pf_tf;
                later.id = n.id + "-vf" + std::to_string(v);
                later.is_vf = true;
                later.vf_index = v;
                vf = &later;
            }
            auto m = std::make_unique<pci::virtual_function>(vf->id.c_str(), function_params_of(*vf, s_.platform.fabric), pf, vf->vf_index);
            add(vf->id, std::move(m), *vf, parent, root_bus);
        }
        pf.set_sriov_observer([pi = &pi_, desc = std::make_shared<const platform_desc>(s_.platform)](pci::pci_function& f, bool enabled, std::uint16_t) {
            vfs_changed(*pi, *desc, f, enabled);
        });
    }

    pci::pci_function* add(const std::string& id, std::unique_ptr<pci::pci_function> f, const topo_function& tf,
                           pci::pci_bridge* parent, std::uint8_t root_bus) {
        pci::pci_function* raw = f.get();
        pi_.by_id[id] = raw;
        pi_.node_of[raw] = tf.node;
        pi_.functions.push_back(std::move(f));
        if (parent) {
            parent->attach(*raw);
            pcie::link_params lp = parent->params().link;
            lp.gen = std::min(lp.gen, raw->params().link.gen);
            lp.width = std::min(lp.width, raw->params().link.width);
            parent->set_secondary_link(lp);
        } else {
            pi_.root_complex->attach(*raw, root_bus);
        }
        return raw;
    }

    std::unique_ptr<pci::pci_function> create(const pcie_node& n, const topo_function& tf, const pci::function_params& p) {
        const char* name = n.id.c_str();
        if (tf.bridge) {
            pci::bridge_params bp = s_.platform.fabric.port;
            bp.secondary_requester_id = tf.pcie_bridge_alias;
            return std::make_unique<pci::pci_bridge>(name, p, bp);
        }
        if (n.type == node_type::host_bridge) return std::make_unique<pci::pci_function>(name, p);
        return device_models().at(n.model.empty() ? "bar_ram" : n.model)(name, p, n.params ? *n.params : s_.platform.devices);
    }

    const scenario& s_;
    platform_instance& pi_;
    std::unordered_map<const pcie_node*, std::vector<const topo_function*>> vfs_of_;  // a PF's node -> its VFs, in probe order
};

// VF Enable changed on a PF (configuration writes of the privileged domain:
// pci.sriov_numvfs or pci.config_write). As Linux 6.1 and Xen do on
// pci_enable_sriov(): each new VF is added to an IOMMU group
// (iommu_probe_device() -> pci_device_group()) and Xen is told about it
// (PHYSDEVOP_pci_device_add), which gives it to the hardware domain with its
// context entries. Disabling removes the VFs from their groups; a group left
// empty frees its id (ida_free()).
void vfs_changed(platform_instance& pi, const platform_desc& desc, pci::pci_function& pf, bool enabled) {
    const std::string pf_id = pf.basename();
    std::vector<std::string> vfs;
    for (const auto& [id, g] : pi.run_time_groups)
        if (id.rfind(pf_id + "-vf", 0) == 0) vfs.push_back(id);
    for (const std::string& id : vfs) {
        pi.run_time_groups.erase(id);
        if (pi.drivers) pi.drivers->remove_function(id);
    }
    if (!enabled) return;
    // The groups Linux would form with this PF's NumVFs enabled: the topology
    // of the description with that many VFs (pci_device_group()'s rules).
    platform_desc with = desc;
    const std::uint16_t num = pf.num_vfs();
    bool found = false;
    const std::function<void(std::vector<pcie_node>&)> set_num = [&](std::vector<pcie_node>& nodes) {
        for (pcie_node& n : nodes) {
            if (n.id == pf_id && n.sriov) n.sriov->num_vfs = num, found = true;
            set_num(n.children);
        }
    };
    set_num(with.pcie);
    if (!found) return;
    topology t;
    try {
        t = build_topology(with);
    } catch (const input_error&) {
        return;  // routing IDs past bus 255 or colliding: Linux refuses such VFs (virtfn_add_bus())
    }
    const group_result now = compute_groups(t);
    const group_result boot = pi.boot_groups();
    std::set<int> used;
    for (const iommu_group& g : boot.groups) used.insert(g.id);
    for (const auto& [id, g] : pi.run_time_groups) used.insert(g);
    hyp::hypervisor& h = *pi.hypervisor;
    const hyp::domain* hw = nullptr;
    for (const hyp::domain& dom : h.domains())
        if (dom.privileged && !hw) hw = &dom;
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    for (unsigned v = 0; v < num; ++v) {
        const std::string id = pf_id + "-vf" + std::to_string(v);
        if (pi.topo.by_id.count(id)) continue;  // a VF of the boot set keeps its group
        const auto it = t.by_id.find(id);
        if (it == t.by_id.end()) continue;
        int group = -1;
        // A member already probed (boot or run time) gives its group.
        for (int m : now.groups[now.group_of[it->second]].members) {
            const std::string& mid = t.functions[m].id;
            if (mid == id) continue;
            if (const auto b = pi.topo.by_id.find(mid); b != pi.topo.by_id.end()) group = boot.group_of[b->second];
            else if (const auto r = pi.run_time_groups.find(mid); r != pi.run_time_groups.end()) group = r->second;
            if (group >= 0) break;
        }
        if (group < 0) {
            group = 0;
            while (used.count(group)) ++group;  // ida_alloc(): the lowest free id
            used.insert(group);
        }
        pi.run_time_groups[id] = group;
        pi.run_time_vfs.insert(id);
        if (pi.drivers) pi.drivers->add_function(t.functions[it->second]);
        const std::uint16_t rid = pi.by_id.at(id)->bdf().rid();
        if (hw && !h.device_owner(rid)) h.assign_device(hw->id, rid, d);
    }
}

} // namespace

group_result platform_instance::boot_groups() const {
    if (!boot_groups_) boot_groups_ = std::make_shared<group_result>(compute_groups(topo));
    return *boot_groups_;
}

std::optional<int> platform_instance::iommu_group(const std::string& id) const {
    if (const auto it = topo.by_id.find(id); it != topo.by_id.end()) return boot_groups().group_of[it->second];
    if (const auto it = run_time_groups.find(id); it != run_time_groups.end()) return it->second;
    return std::nullopt;
}

const std::map<std::string, device_factory>& device_models() {
    static const std::map<std::string, device_factory> registry = {
#define IOTWIN_DEVICE_FACTORY(name, cls, params)                                                  \
    {#name, [](const char* n, const pci::function_params& p, const device_params& d) {              \
         return std::unique_ptr<pci::pci_function>(std::make_unique<cls>(n, p, d.name));           \
     }},
        IOTWIN_DEVICE_MODELS(IOTWIN_DEVICE_FACTORY)
#undef IOTWIN_DEVICE_FACTORY
    };
    return registry;
}

std::string platform_instance::id_of(std::uint16_t rid) const {
    for (const auto& f : functions)
        if (f->present() && f->bdf().rid() == rid) return f->basename();  // a VF not enabled has no ID on the bus
    return "";
}

void platform_instance::stats(stat_map& out) const {
    interconnect->stats(out);
    memory->stats(out);
    root_complex->stats(out);
    iommu->stats(out);
    msi->stats(out);
    ioapic->stats(out);
    hypervisor->stats(out);
    if (cpu) add_stat(out, cpu->basename(), "hypercalls", cpu->hypercalls());
    // Functions of the description: those Linux numbered at boot, and VFs
    // once they have been enabled (a VF never enabled has nothing to report).
    for (const auto& f : functions)
        if (!f->is_virtual_function() || topo.by_id.count(f->basename()) || run_time_vfs.count(f->basename())) f->stats(out);
}

namespace {
// The functions whose INTx line reaches `gsi`: each root-bus function's wires
// by the root complex's routing, each bridge's secondary bus swizzled by
// device number (PCI-to-PCI Bridge 1.2 9.1), as Linux's pci_swizzle and the
// ACPI _PRT resolve a function's IRQ.
void intx_sources(const pci::pci_function& f, const std::array<unsigned, 4>& gsi_of_wire, unsigned gsi,
                  std::vector<hyp::intx_source>& out) {
    const std::uint8_t pin = f.interrupt_pin();
    if (pin >= 1 && pin <= 4 && !f.is_virtual_function() && gsi_of_wire[pin - 1] == gsi)
        out.push_back({f.bdf().rid(), pin, f.intx_signalled()});
    const auto* bridge = dynamic_cast<const pci::pci_bridge*>(&f);
    if (!bridge) return;
    for (const pci::pci_function* c : bridge->children()) {
        std::array<unsigned, 4> below{};
        for (unsigned w = 0; w < 4; ++w) below[w] = gsi_of_wire[(w + (c->devfn() >> 3)) % 4];
        intx_sources(*c, below, gsi, out);
    }
}
} // namespace

host_drivers& drivers_of(platform_instance& pi, bool iommu_enabled) {
    if (!pi.drivers)
        pi.drivers = std::make_unique<host_drivers>(pi.topo, iommu_enabled, [p = &pi](const std::string& id) { return p->iommu_group(id); });
    return *pi.drivers;
}

std::unique_ptr<platform_instance> build_platform(const scenario& s) {
    namespace am = address_map;
    const platform_desc& d = s.platform;
    auto pi = std::make_unique<platform_instance>();
    pi->topo = build_topology(d);
    drivers_of(*pi, d.iommu_enabled);
    mem::memory_params mp = d.dram;
    mp.size = d.memory;
    for (auto [base, size] : am::ram_regions(d.memory)) mp.regions.push_back({base, size});
    pcie::root_complex_params rcp = d.fabric.root_complex;
    rcp.ecam_base = am::ecam_base;
    hyp::hypervisor_params hp;
    hp.ram = am::ram_regions(d.memory);
    hp.iommu_regs = am::iommu_regs_base;
    hp.iommu_translate = d.iommu_enabled;
    hp.iommu_address_width = static_cast<unsigned>(d.iommu.address_width);
    hp.iommu_scalable = d.iommu.scalable;
    hp.iommu_table = d.iommu_table == 1   ? hyp::vtd_driver::table_kind::first_level
                     : d.iommu_table == 2 ? hyp::vtd_driver::table_kind::second_level
                                          : hyp::vtd_driver::table_kind::automatic;
    hp.interrupt_remapping = d.iommu.interrupt_remapping;
    hp.ir_source_validation = d.iommu.ir_source_validation;
    hp.ir_compat_pass_through = d.iommu.ir_compat_pass_through;
    hp.fault_log_ratelimit = d.iommu.fault_log_ratelimit;

    pi->interconnect = std::make_unique<interconnect::router>("interconnect", d.fabric.interconnect);
    pi->memory = std::make_unique<mem::memory>("memory", mp);
    pi->root_complex = std::make_unique<pcie::root_complex>("root_complex", rcp);
    pi->iommu = std::make_unique<iommu::iommu>("iommu", d.iommu);
    pi->msi = std::make_unique<intc::msi_controller>("msi", d.fabric.msi_latency);
    pi->hypervisor = std::make_unique<hyp::hypervisor>("hypervisor", hp);
    pi->cpu = std::make_unique<cpu::cpu>("cpu");
    pi->cpu->hypercall.bind(pi->hypervisor->hypercalls);

    auto& bus = *pi->interconnect;
    pi->hypervisor->cpu.bind(bus.in);
    pi->iommu->mem_out.bind(bus.in);
    bus.out.bind(pi->memory->socket);
    bus.out.bind(pi->root_complex->host_in);
    bus.out.bind(pi->iommu->regs);
    bus.out.bind(pi->msi->socket);
    int ram = 0;
    for (auto [base, size] : am::ram_regions(d.memory)) bus.map({"ram" + std::to_string(ram++), base, size}, 0);
    bus.map({"mmio32", am::mmio32_base, am::mmio32_size}, 1);
    // ECAM and the IOMMU's registers are the host's: devices get UR there.
    bus.map({"ecam", am::ecam_base, am::ecam_size, true}, 1);
    bus.map({"mmio64", am::mmio64_base, am::mmio64_size}, 1);
    bus.map({"iommu", am::iommu_regs_base, am::iommu_regs_size, true}, 2);
    bus.map({"msi", am::msi_base, am::msi_size}, 3);
    pi->root_complex->iommu_out.bind(pi->iommu->in);
    // ATS Invalidate Requests are ID-routed messages (PCIe 5.0 10.3.1): they
    // reach the function by its routing ID, and the function's Invalidate
    // Completion comes back; each crosses the root complex. A routing ID
    // no function answers to gets no completion.
    platform_instance* self = pi.get();
    pi->iommu->set_device_tlb_port([self, latency = rcp.latency](std::uint16_t sid, std::uint64_t addr, bool size, sc_core::sc_time& t) {
        for (const auto& f : self->functions)
            if (f->present() && f->bdf().rid() == sid) {
                t += latency;
                const bool completed = f->ats_invalidate(addr, size, t);
                t += latency;
                return completed;
            }
        return false;
    });
    hyp::hypervisor* h = pi->hypervisor.get();
    pi->msi->set_sink([h](const intc::interrupt_message& m) { h->deliver(m); });
    // INTx: root complex -> I/O APIC -> hypervisor, and the EOI back; port I/O from the CPUs.
    pi->ioapic = std::make_unique<intc::ioapic>("ioapic", d.fabric.msi_latency);
    intc::ioapic* apic = pi->ioapic.get();
    pcie::root_complex* rc = pi->root_complex.get();
    rc->set_intx_sink([apic](unsigned gsi, std::uint32_t input, bool level, sc_core::sc_time& t) { apic->set_line(gsi, input, level, t); });
    apic->set_sink([h](unsigned gsi, const sc_core::sc_time& when) { h->deliver_intx(gsi, when); });
    h->set_gsi_eoi([apic](unsigned gsi, sc_core::sc_time& t) { apic->eoi(gsi, t); });
    h->set_intx_resolver([rc](unsigned gsi) {
        std::vector<hyp::intx_source> out;
        for (const pci::pci_function* f : rc->root_functions()) {
            std::array<unsigned, 4> wires{};
            for (unsigned w = 0; w < 4; ++w) wires[w] = pcie::root_complex::intx_gsi(static_cast<std::uint8_t>(f->devfn() >> 3), w);
            intx_sources(*f, wires, gsi, out);
        }
        return out;
    });
    h->io.bind(rc->io_in);

    // 00:00.0 is the root complex's host bridge (the loader keeps device 0 of bus 0 free for it).
    const bool device0_taken = std::any_of(d.pcie.begin(), d.pcie.end(), [](const pcie_node& n) { return n.dev == 0; });
    if (!device0_taken) {
        pi->host_bridge = std::make_unique<pcie::host_bridge>("host_bridge");
        pi->root_complex->attach(*pi->host_bridge, 0);
    }
    assembler(s, *pi).functions(d.pcie, nullptr, 0);
    return pi;
}

} // namespace iotwin::platform
