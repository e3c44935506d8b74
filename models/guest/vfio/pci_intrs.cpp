// Interrupts of a function bound to vfio-pci (drivers/vfio/pci/vfio_pci_intrs.c).
#include <cerrno>

#include "models/guest/process.h"
#include "models/guest/vfio/vfio.h"

namespace iotwin::guest::vfio {

struct irq_state {};

long get_irq_info(device& dev, process& p, std::uint64_t arg, sc_core::sc_time& d) {
    (void)dev, (void)p, (void)arg, (void)d;
    return -ENOTTY;
}

long set_irqs(device& dev, process& p, std::uint64_t arg, sc_core::sc_time& d) {
    (void)dev, (void)p, (void)arg, (void)d;
    return -ENOTTY;
}

void irqs_disable(device& dev, sc_core::sc_time& d) {
    (void)d;
    dev.irqs.reset();
}

} // namespace iotwin::guest::vfio
