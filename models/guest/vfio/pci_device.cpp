// The device file of a function bound to vfio-pci (drivers/vfio/pci/vfio_pci_core.c).
#include <cerrno>

#include "models/guest/kernel.h"
#include "models/guest/process.h"
#include "models/guest/vfio/vfio.h"

namespace iotwin::guest::vfio {

struct pci_state {};

long pci_enable(device& dev, sc_core::sc_time& d) {
    (void)d;
    dev.pci = std::make_shared<pci_state>();
    return 0;
}

void pci_disable(device& dev, sc_core::sc_time& d) {
    irqs_disable(dev, d);
    dev.pci.reset();
}

long device_file::ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) {
    switch (cmd) {
    case VFIO_DEVICE_GET_INFO: {
        std::uint32_t info[6] = {};
        if (p.copy_from_user(info, arg, 16, d)) return -EFAULT;
        info[1] = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
        info[2] = VFIO_PCI_NUM_REGIONS;
        info[3] = VFIO_PCI_NUM_IRQS;
        return p.copy_to_user(arg, info, 16, d) ? -EFAULT : 0;
    }
    case VFIO_DEVICE_GET_IRQ_INFO:
        return get_irq_info(*dev, p, arg, d);
    case VFIO_DEVICE_SET_IRQS:
        return set_irqs(*dev, p, arg, d);
    default:
        return -ENOTTY;
    }
}

long device_file::read(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d) {
    (void)p, (void)buf, (void)len, (void)pos, (void)d;
    return -EINVAL;
}

long device_file::write(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d) {
    (void)p, (void)buf, (void)len, (void)pos, (void)d;
    return -EINVAL;
}

long device_file::mmap(process& p, vma& v, sc_core::sc_time& d) {
    (void)p, (void)v, (void)d;
    return -EINVAL;
}

void device_file::release(sc_core::sc_time& d) {
    if (--dev->open_count == 0) pci_disable(*dev, d);
    put_group_file(*this, d);
}

} // namespace iotwin::guest::vfio
