// A PCI-to-PCI bridge function (type-1 header): bus number registers, the
// memory and prefetchable memory windows, and routing between its primary and
// secondary interfaces. Root ports and switch ports are bridges in this sense.
//
// Modelled: configuration routing by ID (type 1 -> type 0 on the secondary
// bus, type 1 passed on to the child bridge whose bus range holds the bus);
// memory routing by the windows (Memory Space Enable gates the downstream
// direction, Bus Master Enable the upstream direction, PCI-to-PCI Bridge
// Architecture Spec 1.2 section 3.2.2.3.x); a request from below whose address
// falls inside the bridge's own windows is not forwarded upstream.
// Not modelled: I/O window, VGA and ISA enables, bridge-control error handling.
#pragma once
#include <vector>

#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include "models/pci/pci_function.h"
#include "models/pcie/link.h"

namespace iotwin::pci {

struct bridge_params {
    sc_core::sc_time forward_latency = sc_core::sc_time(40, sc_core::SC_NS);
};

class pci_bridge : public pci_function {
public:
    tlm_utils::multi_passthrough_initiator_socket<pci_bridge> secondary_out;
    tlm_utils::multi_passthrough_target_socket<pci_bridge> secondary_in;

    pci_bridge(sc_core::sc_module_name name, const function_params& p, const bridge_params& bp);

    // Binds `child` on the secondary bus; children are routed to in the order attached.
    void attach(pci_function& child);
    // The link between this bridge and the device below it.
    void set_secondary_link(const pcie::link_params& lp) { link_ = pcie::link(lp); }
    const pcie::link& secondary_link() const { return link_; }
    const std::vector<pci_function*>& children() const { return children_; }

    std::uint8_t secondary_bus() const { return static_cast<std::uint8_t>(cfg_.get(cfg::secondary_bus, 1)); }
    std::uint8_t subordinate_bus() const { return static_cast<std::uint8_t>(cfg_.get(cfg::subordinate_bus, 1)); }
    bool routes_bus(std::uint8_t bus) const override;
    bool claims_memory(std::uint64_t addr) const override;
    // Address inside the memory or prefetchable window (regardless of enables).
    bool in_windows(std::uint64_t addr) const;

    void stats(stat_map& out) const override;

protected:
    void downstream(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
    // Whether a type-0 request may reach device `dev` on the secondary bus (a
    // PCIe downstream port only has device 0 below it).
    virtual bool secondary_device_allowed(std::uint8_t /*dev*/) const { return true; }
    pci_function* child_for_config(const pcie::bdf& target, int* index) const;
    pci_function* child_for_memory(std::uint64_t addr, int except, int* index) const;

    bridge_params bp_;
    pcie::link link_;
    std::vector<pci_function*> children_;
    std::uint64_t forwarded_up_ = 0, forwarded_down_ = 0, unsupported_ = 0;

private:
    void upstream(int from, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    void forward_down(int index, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
};

} // namespace iotwin::pci
