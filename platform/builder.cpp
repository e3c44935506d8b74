#include "platform/builder.h"

#include "models/devices/dma_engine.h"
#include "models/pcie/root_port.h"
#include "platform/address_map.h"

namespace iotwin::platform {

namespace {

// Identity of each node type when the description gives none: QEMU's IDs for
// bridges and ports (so that no quirk applies), iotwin's own for its devices.
struct identity { std::uint16_t vendor, device; std::uint32_t class_code; std::optional<pci::port_type> port; };

identity default_identity(const pcie_node& n) {
    using t = node_type;
    using pt = pci::port_type;
    switch (n.type) {
    case t::root_port: return {0x1b36, 0x000c, 0x060400, pt::root_port};
    case t::upstream_port: return {0x104c, 0x8232, 0x060400, pt::upstream_port};
    case t::downstream_port: return {0x104c, 0x8233, 0x060400, pt::downstream_port};
    case t::pcie_pci_bridge: return {0x1b36, 0x000e, 0x060400, pt::pcie_to_pci_bridge};
    case t::pci_bridge: return {0x1b36, 0x0001, 0x060400, std::nullopt};
    case t::host_bridge: return {0x8086, 0x29c0, 0x060000, std::nullopt};
    case t::rciep: return {0x1b36, 0x00f0, 0x088000, pt::rciep};
    case t::endpoint: return {0x1b36, 0x00f0, 0x088000, pt::endpoint};
    case t::pci_device: return {0x1b36, 0x00f1, 0x088000, std::nullopt};
    }
    return {};
}

pci::function_params function_params_of(const pcie_node& n, const std::vector<pcie_node>& siblings, const fabric_params& f) {
    const identity id = default_identity(n);
    pci::function_params p;
    p.devfn = static_cast<std::uint8_t>(n.dev << 3 | n.fn);
    p.vendor = n.vendor.value_or(id.vendor);
    p.device = n.device.value_or(id.device);
    p.class_code = n.class_code.value_or(id.class_code);
    p.pcie = id.port;
    p.link = n.link.value_or(f.link);
    p.link.tlp_overhead = f.link.tlp_overhead;
    p.bars = n.bars;
    p.msi_vectors = is_bridge(n.type) ? 0 : 1;
    int same_device = 0;
    for (const pcie_node& s : siblings) same_device += s.dev == n.dev;
    p.multifunction = n.multifunction.value_or(same_device > 1);
    return p;
}

class assembler {
public:
    assembler(const scenario& s, platform_instance& pi) : s_(s), pi_(pi) {}

    void functions(const std::vector<pcie_node>& nodes, pci::pci_bridge* parent) {
        for (const pcie_node& n : nodes) {
            if (n.type == node_type::host_bridge)
                throw input_error(n.pos, "host_bridge '" + n.id + "': additional root buses are not simulated by this version");
            if (n.sriov)
                throw input_error(n.pos, "'" + n.id + "': SR-IOV virtual functions are not simulated by this version");
            const pci::function_params p = function_params_of(n, nodes, s_.platform.fabric);
            std::unique_ptr<pci::pci_function> f = create(n, p);
            pci::pci_function* raw = f.get();
            pi_.by_id[n.id] = raw;
            pi_.node_of[raw] = &n;
            pi_.functions.push_back(std::move(f));
            if (parent) {
                parent->attach(*raw);
                pcie::link_params lp = parent->params().link;
                lp.gen = std::min(lp.gen, raw->params().link.gen);
                lp.width = std::min(lp.width, raw->params().link.width);
                parent->set_secondary_link(lp);
            } else {
                pi_.root_complex->attach(*raw);
            }
            if (auto* bridge = dynamic_cast<pci::pci_bridge*>(raw)) functions(n.children, bridge);
        }
    }

private:
    std::unique_ptr<pci::pci_function> create(const pcie_node& n, const pci::function_params& p) {
        const char* name = n.id.c_str();
        switch (n.type) {
        case node_type::root_port:
        case node_type::downstream_port:
            return std::make_unique<pcie::root_port>(name, p, s_.platform.fabric.port);
        case node_type::upstream_port:
        case node_type::pcie_pci_bridge:
        case node_type::pci_bridge:
            return std::make_unique<pci::pci_bridge>(name, p, s_.platform.fabric.port);
        default: {
            const auto& models = device_models();
            return models.at(n.model.empty() ? "bar_ram" : n.model)(name, p, s_.platform.devices);
        }
        }
    }

    const scenario& s_;
    platform_instance& pi_;
};

} // namespace

const std::map<std::string, device_factory>& device_models() {
    static const std::map<std::string, device_factory> registry = {
        {"dma_engine", [](const char* n, const pci::function_params& p, const device_params& d) {
             return std::make_unique<devices::dma_engine>(n, p, d.dma_engine);
         }},
        {"bar_ram", [](const char* n, const pci::function_params& p, const device_params& d) {
             return std::make_unique<devices::bar_ram>(n, p, d.bar_ram);
         }},
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
    bus.map({"ecam", am::ecam_base, am::ecam_size}, 1);
    bus.map({"mmio64", am::mmio64_base, am::mmio64_size}, 1);
    bus.map({"iommu", am::iommu_regs_base, am::iommu_regs_size}, 2);
    bus.map({"msi", am::msi_base, am::msi_size}, 3);
    pi->root_complex->iommu_out.bind(pi->iommu->in);
    hyp::hypervisor* h = pi->hypervisor.get();
    pi->msi->set_sink([h](const intc::interrupt_message& m) { h->deliver(m); });

    assembler(s, *pi).functions(d.pcie, nullptr);
    return pi;
}

} // namespace iotwin::platform
