#include "models/pcie/host_bridge.h"

namespace iotwin::pcie {

pci::function_params host_bridge::params() {
    pci::function_params p;
    p.devfn = 0;
    p.vendor = vendor_id;
    p.device = device_id;
    p.class_code = class_code;
    p.msi_vectors = 0;  // no interrupts of its own
    return p;           // conventional PCI: no PCI Express capability, no BARs
}

host_bridge::host_bridge(sc_core::sc_module_name name) : pci_function(name, params()) {
    // No capability list and no INTx pin: the type-0 defaults announce both.
    cfg_.define({"STATUS", pci::cfg::status, 2, 0, 0, 0xf900});
    cfg_.define({"INTERRUPT_PIN", pci::cfg::interrupt_pin, 1, 0});
}

} // namespace iotwin::pcie
