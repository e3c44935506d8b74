#include "models/pci/virtual_function.h"

namespace iotwin::pci {

function_params virtual_function::vf_params(function_params p) {
    p.vendor = 0xffff;
    p.device = 0xffff;
    p.multifunction = false;
    p.bars.clear();
    p.sriov.reset();
    return p;
}

virtual_function::virtual_function(sc_core::sc_module_name name, const function_params& p, const pci_function& pf,
                                   unsigned index)
    : pci_function(name, vf_params(p)), pf_(pf), index_(index) {}

} // namespace iotwin::pci
