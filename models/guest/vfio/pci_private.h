// What pci_device.cpp and pci_config.cpp share of a vfio-pci device: struct
// pci_state, the part of Linux 6.1's struct vfio_pci_core_device that exists
// between the first open (vfio_pci_core_enable) and the last close
// (vfio_pci_core_disable): the BARs as the PCI core found them, the reset
// state, and the virtualized configuration space (vconfig with its
// per-byte permission bits, vfio_pci_config.c).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "models/guest/vfio/vfio.h"

namespace iotwin::guest::vfio {

// One resource of the function (pci_dev->resource[i]): BAR0..5 and the ROM (6).
struct pci_resource {
    std::uint64_t start = 0, size = 0;  // 0 size: absent (or the upper half of a 64-bit BAR)
    bool io = false;                    // IORESOURCE_IO
    bool mmap = false;                  // vdev->bar_mmap_supported (vfio_pci_probe_mmaps)
};

struct pci_state {
    unsigned cfg_size = 256;                 // pdev->cfg_size
    std::array<pci_resource, 7> res;         // BAR0..5, ROM
    std::array<std::uint32_t, 7> rbar = {};  // vdev->rbar: the BARs as enable found them (vfio_bar_restore)
    bool reset_works = false;
    bool needs_reset = false;
    bool has_vga = false;
    bool virq_disabled = false;  // the user's INTx Disable (vdev->virq_disabled)
    int msix_bar = -1;           // 0xFF in the kernel: no MSI-X
    std::uint32_t msix_offset = 0, msix_size = 0;
    unsigned msi_qmax = 0;       // vdev->msi_qmax: Multiple Message Capable, log2

    // vfio_pci_config.c's state: vconfig, the owner of each byte
    // (pci_config_map) and the permission bits that apply to it.
    static constexpr std::uint16_t unassigned = 0xffff, basic = 0;  // PCI_CAP_ID_INVALID, PCI_CAP_ID_BASIC
    static constexpr std::uint16_t ecap = 0x100;                    // ext capability ids are ecap + id
    std::vector<std::uint8_t> vconfig;
    std::vector<std::uint16_t> map;       // capability id owning each byte
    std::vector<std::uint32_t> cap_start;  // offset of the capability owning each byte
    std::vector<std::uint8_t> virt, write; // per byte: bits read from vconfig, bits the user may write
};

// vfio_config_init: vconfig from the hardware, permissions, the capability
// chain as exposed (pci_config.cpp). 0 or -errno.
long config_init(device& dev, pci_state& s, sc_core::sc_time& d);
// vfio_pci_config_rw: `count` bytes at `pos` of the config region. Bytes done, or -errno.
long config_rw(device& dev, pci_state& s, process& p, std::uint64_t buf, std::uint64_t count, std::uint64_t pos, bool write,
               sc_core::sc_time& d);
// __vfio_pci_memory_enabled: Memory Space Enable as the user set it, and not in D3hot.
bool memory_enabled(device& dev, const pci_state& s);
// pci_try_reset_function, and what vfio does around it.
int try_reset_function(device& dev, sc_core::sc_time& d);

} // namespace iotwin::guest::vfio
