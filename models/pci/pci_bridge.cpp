#include "models/pci/pci_bridge.h"

namespace iotwin::pci {

using namespace sc_core;

pci_bridge::pci_bridge(sc_module_name name, const function_params& p, const bridge_params& bp)
    : pci_function(name, p), secondary_out("secondary_out"), secondary_in("secondary_in"), bp_(bp) {
    secondary_in.register_b_transport(this, &pci_bridge::upstream);
}

void pci_bridge::attach(pci_function& child) {
    child.pcie_out.bind(secondary_in);
    secondary_out.bind(child.pcie_in);
    children_.push_back(&child);
}

bool pci_bridge::routes_bus(std::uint8_t bus) const {
    return bus >= secondary_bus() && bus <= subordinate_bus() && secondary_bus() != 0;
}

bool pci_bridge::in_windows(std::uint64_t addr) const {
    const std::uint64_t mb = (cfg_.get(cfg::memory_base, 2) & 0xfff0) << 16;
    const std::uint64_t ml = ((cfg_.get(cfg::memory_limit, 2) & 0xfff0) << 16) | 0xfffff;
    if (mb <= ml && addr >= mb && addr <= ml) return true;
    const std::uint64_t pb = (cfg_.get(cfg::pref_base, 2) & 0xfff0) << 16 | cfg_.get(cfg::pref_base_upper, 4) << 32;
    const std::uint64_t pl = ((cfg_.get(cfg::pref_limit, 2) & 0xfff0) << 16 | 0xfffff) | cfg_.get(cfg::pref_limit_upper, 4) << 32;
    return pb <= pl && addr >= pb && addr <= pl;
}

bool pci_bridge::claims_memory(std::uint64_t addr) const {
    return pci_function::claims_memory(addr) || (cfg_.memory_enabled() && in_windows(addr));
}

pci_function* pci_bridge::child_for_config(const pcie::bdf& target, int* index) const {
    for (std::size_t i = 0; i < children_.size(); ++i) {
        pci_function* c = children_[i];
        const bool hit = target.bus == secondary_bus() ? c->devfn() == target.devfn() : c->routes_bus(target.bus);
        if (hit) { *index = static_cast<int>(i); return c; }
    }
    return nullptr;
}

pci_function* pci_bridge::child_for_memory(std::uint64_t addr, int except, int* index) const {
    for (std::size_t i = 0; i < children_.size(); ++i)
        if (static_cast<int>(i) != except && children_[i]->claims_memory(addr)) {
            *index = static_cast<int>(i);
            return children_[i];
        }
    return nullptr;
}

void pci_bridge::forward_down(int index, tlm::tlm_generic_payload& gp, sc_time& delay) {
    const std::uint64_t payload = gp.is_write() ? gp.get_data_length() : 0;
    delay += bp_.forward_latency;
    link_.send_down(delay, payload);
    secondary_out[index]->b_transport(gp, delay);
    if (gp.is_read()) link_.send_up(delay, gp.get_data_length());  // the completion with data
    ++forwarded_down_;
}

void pci_bridge::downstream(tlm::tlm_generic_payload& gp, sc_time& delay) {
    auto* ext = gp.get_extension<pcie::pcie_ext>();
    if (ext && ext->kind == pcie::request_kind::config) {
        const pcie::bdf target = pcie::ecam_bdf(gp.get_address());
        if (ext->config_type0) { config_access(gp, ext); return; }
        int index = -1;
        const bool type0 = target.bus == secondary_bus();
        if ((!type0 || secondary_device_allowed(target.dev)) && routes_bus(target.bus) &&
            child_for_config(target, &index)) {
            ext->config_type0 = type0;  // Type 1 becomes Type 0 on the secondary bus
            forward_down(index, gp, delay);
            return;
        }
        ++unsupported_;
        pcie::complete(gp, ext, pcie::completion::UR);
        return;
    }
    if (bar_at(gp.get_address())) { pci_function::downstream(gp, delay); return; }
    int index = -1;
    if (cfg_.memory_enabled() && in_windows(gp.get_address()) && child_for_memory(gp.get_address(), -1, &index)) {
        forward_down(index, gp, delay);
        return;
    }
    ++unsupported_;
    pcie::complete(gp, ext, pcie::completion::UR);
}

void pci_bridge::upstream(int from, tlm::tlm_generic_payload& gp, sc_time& delay) {
    auto* ext = gp.get_extension<pcie::pcie_ext>();
    const std::uint64_t addr = gp.get_address();
    // Requests from below: configuration requests never travel upstream, and an
    // address that this bridge decodes as its own secondary side is not passed up.
    if ((ext && ext->kind == pcie::request_kind::config) || in_windows(addr) || !cfg_.bus_master()) {
        ++unsupported_;
        pcie::complete(gp, ext, pcie::completion::UR);
        return;
    }
    (void)from;
    link_.send_up(delay, gp.is_write() ? gp.get_data_length() : 0);
    delay += bp_.forward_latency;
    pcie_out->b_transport(gp, delay);
    if (gp.is_read()) link_.send_down(delay, gp.get_data_length());
    ++forwarded_up_;
}

void pci_bridge::stats(stat_map& out) const {
    pci_function::stats(out);
    const std::string n = basename();
    add_stat(out, n, "forwarded_up", forwarded_up_);
    add_stat(out, n, "forwarded_down", forwarded_down_);
    add_stat(out, n, "unsupported_requests", unsupported_);
}

} // namespace iotwin::pci
