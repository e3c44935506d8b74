// A PCI Express root port: a bridge function on a root bus with one link below
// it, so only device 0 exists on its secondary bus (PCIe 5.0 section 7.3.1;
// ARI is not modelled).
#pragma once
#include "models/pci/pci_bridge.h"

namespace iotwin::pcie {

class root_port : public pci::pci_bridge {
public:
    root_port(sc_core::sc_module_name name, const pci::function_params& p, const pci::bridge_params& bp)
        : pci_bridge(name, p, bp) {}

protected:
    bool secondary_device_allowed(std::uint8_t dev) const override { return dev == 0; }
};

} // namespace iotwin::pcie
