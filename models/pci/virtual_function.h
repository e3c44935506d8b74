// An SR-IOV virtual function: a function in its own right for routing, DMA,
// interrupts and assignment, whose routing ID follows from its physical
// function (PF routing ID + First VF Offset + n x VF Stride) and which exists
// only while the PF's VF Enable is set and n < NumVFs (PCIe 5.0 9.2, 9.3.3).
// Its Vendor and Device ID registers read FFFFh, as the SR-IOV spec requires,
// and its Interrupt Pin 0 (VFs have no INTx, 9.5.1.12).
// Its BARs are the PF's VF BARs: BAR i of VF n at VF BARi + n x size, decoded
// while the PF's VF Memory Space Enable is set (9.3.3.3.4, 9.3.3.14); behind
// them is plain memory (zero at creation, kept while the VF is disabled).
// Not modelled: a device model behind VF BARs, MSI-X in a VF.
#pragma once
#include <array>
#include <map>

#include "models/pci/pci_function.h"

namespace iotwin::pci {

class virtual_function : public pci_function {
public:
    virtual_function(sc_core::sc_module_name name, const function_params& p, const pci_function& pf, unsigned index);

    pcie::bdf bdf() const override { return pcie::bdf::from_rid(pf_.vf_routing_id(index_)); }
    bool decodes_config(const pcie::bdf& target, std::uint8_t) const override { return present() && target == bdf(); }
    bool is_virtual_function() const override { return true; }
    bool present() const override { return pf_.sriov_enabled() && index_ < pf_.num_vfs(); }
    std::optional<bar_desc> bar_at(std::uint64_t addr) const override;
    std::uint64_t bar_base(const bar_desc& b) const override;
    const pci_function& physical_function() const { return pf_; }
    unsigned number() const { return index_; }  // n of VF n, from 0

protected:
    pcie::completion bar_access(const bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset, std::uint8_t* data,
                                unsigned len, sc_core::sc_time& delay) override;

private:
    static function_params vf_params(function_params p);
    const pci_function& pf_;
    unsigned index_;
    // Sparse backing store of the BARs: (BAR index, 4 KiB page) -> bytes.
    std::map<std::pair<unsigned, std::uint64_t>, std::array<std::uint8_t, 4096>> pages_;
};

} // namespace iotwin::pci
