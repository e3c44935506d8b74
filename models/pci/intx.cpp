// Legacy INTx of a PCI function: the line level, Interrupt Status and the
// Assert_INTx / Deassert_INTx messages upstream.
#include "models/pci/pci_function.h"

namespace iotwin::pci {

void pci_function::set_intx(bool asserted) { intx_level_ = asserted; }

} // namespace iotwin::pci
