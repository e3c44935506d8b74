// The root complex's own host bridge: the type-0 function at 00:00.0 that
// PC chipsets show on root bus 0 (class 06h/00h, "Host bridge"). It owns no
// BARs and issues no requests; it answers configuration reads and writes like
// any function, so enumeration and lspci find it, and it takes part in no I/O
// path. Its IDs are those of the Q35 chipset's memory controller hub as QEMU
// presents it (8086:29C0), a host bridge virtualized machines commonly show.
// Not modelled: the chipset registers behind it (PCIEXBAR, SMRAM, PAM), INTx,
// capabilities. Source: PCI Local Bus Specification 3.0 sections 6.1-6.2 and
// appendix D (class 06h, subclass 00h); PCIe Base Specification 5.0 7.2.2.
#pragma once
#include "models/pci/pci_function.h"

namespace iotwin::pcie {

class host_bridge : public pci::pci_function {
public:
    static constexpr std::uint16_t vendor_id = 0x8086, device_id = 0x29c0;
    static constexpr std::uint32_t class_code = 0x060000;

    explicit host_bridge(sc_core::sc_module_name name);

private:
    static pci::function_params params();
};

} // namespace iotwin::pcie
