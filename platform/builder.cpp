#include "platform/builder.h"

#include <algorithm>
#include <unordered_map>

#include "models/devices/device_list.h"
#include "models/pci/pci_bridge.h"
#include "models/pci/virtual_function.h"
#include "platform/address_map.h"

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
    p.msi_vectors = is_bridge(n.type) ? 0 : 1;
    p.multifunction = f.header_multifunction;
    if (f.has_acs) p.acs = pci::function_params::acs_regs{f.acs_cap, f.acs_ctrl};
    if (n.sriov)
        p.sriov = pci::function_params::sriov_regs{static_cast<std::uint16_t>(n.sriov->total_vfs), static_cast<std::uint16_t>(n.sriov->first_vf_offset),
                                                   static_cast<std::uint16_t>(n.sriov->vf_stride),
                                                   n.sriov->vf_device ? n.sriov->vf_device : f.device};
    p.internal_p2p = f.internal_p2p;
    return p;
}

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
            if (const auto vfs = vfs_of_.find(&n); vfs != vfs_of_.end())
                for (const topo_function* vf : vfs->second) {
                    auto m = std::make_unique<pci::virtual_function>(vf->id.c_str(), function_params_of(*vf, s_.platform.fabric), *f, vf->vf_index);
                    add(vf->id, std::move(m), *vf, parent, root_bus);
                }
            if (auto* bridge = dynamic_cast<pci::pci_bridge*>(f)) functions(n.children, bridge, 0);
            if (n.type == node_type::host_bridge) functions(n.children, nullptr, *n.root_bus);
        }
    }

private:
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

} // namespace

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
        if (f->bdf().rid() == rid) return f->basename();
    return "";
}

void platform_instance::stats(stat_map& out) const {
    interconnect->stats(out);
    memory->stats(out);
    root_complex->stats(out);
    iommu->stats(out);
    msi->stats(out);
    hypervisor->stats(out);
    for (const auto& f : functions) f->stats(out);
}

std::unique_ptr<platform_instance> build_platform(const scenario& s) {
    namespace am = address_map;
    const platform_desc& d = s.platform;
    auto pi = std::make_unique<platform_instance>();
    pi->topo = build_topology(d);
    pi->drivers = std::make_unique<host_drivers>(pi->topo, d.iommu_enabled);
    mem::memory_params mp = d.dram;
    mp.size = d.memory;
    for (auto [base, size] : am::ram_regions(d.memory)) mp.regions.push_back({base, size});
    pcie::root_complex_params rcp = d.fabric.root_complex;
    rcp.ecam_base = am::ecam_base;
    hyp::hypervisor_params hp;
    hp.ram = am::ram_regions(d.memory);
    hp.iommu_regs = am::iommu_regs_base;
    hp.iommu_translate = d.iommu_enabled;

    pi->interconnect = std::make_unique<interconnect::router>("interconnect", d.fabric.interconnect);
    pi->memory = std::make_unique<mem::memory>("memory", mp);
    pi->root_complex = std::make_unique<pcie::root_complex>("root_complex", rcp);
    pi->iommu = std::make_unique<iommu::iommu>("iommu", d.iommu);
    pi->msi = std::make_unique<intc::msi_controller>("msi", d.fabric.msi_latency);
    pi->hypervisor = std::make_unique<hyp::hypervisor>("hypervisor", hp);

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
    hyp::hypervisor* h = pi->hypervisor.get();
    pi->msi->set_sink([h](const intc::interrupt_message& m) { h->deliver(m); });

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
