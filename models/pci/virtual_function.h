// An SR-IOV virtual function: a function in its own right for routing, DMA,
// interrupts and assignment, whose routing ID follows from its physical
// function (PF routing ID + First VF Offset + n x VF Stride) and which exists
// only while the PF's VF Enable is set and n < NumVFs (PCIe 5.0 9.2, 9.3.3).
// Its Vendor and Device ID registers read FFFFh, as the SR-IOV spec requires.
// Not modelled: VF BARs, VF Memory Space Enable, function-level reset.
#pragma once
#include "models/pci/pci_function.h"

namespace iotwin::pci {

class virtual_function : public pci_function {
public:
    virtual_function(sc_core::sc_module_name name, const function_params& p, const pci_function& pf, unsigned index);

    pcie::bdf bdf() const override { return pcie::bdf::from_rid(pf_.vf_routing_id(index_)); }
    bool decodes_config(const pcie::bdf& target, std::uint8_t) const override { return present() && target == bdf(); }
    bool is_virtual_function() const override { return true; }
    bool present() const override { return pf_.sriov_enabled() && index_ < pf_.num_vfs(); }
    const pci_function& physical_function() const { return pf_; }
    unsigned number() const { return index_; }  // n of VF n, from 0

private:
    static function_params vf_params(function_params p);
    const pci_function& pf_;
    unsigned index_;
};

} // namespace iotwin::pci
