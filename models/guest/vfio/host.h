// What VFIO uses of the rest of the host kernel: the PCI core (functions,
// their configuration space and BARs as the CPU reaches them, resets), the
// driver core (which driver a function is bound to) and the IOMMU core
// (groups and their DMA ownership). The platform implements it
// (platform/vfio_host.cpp) over the topology, the host driver bindings and
// the hypervisor; the VFIO model never sees the platform itself.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>

namespace iotwin::pci { class pci_function; }

namespace iotwin::guest::vfio {

// A PCI function as the host kernel knows it (struct pci_dev).
struct pci_dev {
    std::string name;        // dev_name(): "0000:01:00.0"
    std::string id;          // the function's id in the scenario (platform.pcie)
    std::uint16_t rid = 0;   // requester ID: bus << 8 | devfn
    bool bridge = false;     // a type-1 header
    pci::pci_function* fn = nullptr;  // the function's model (its registers are reached through config_*/mmio)
};

class host {
public:
    virtual ~host() = default;

    // --- PCI and driver core ---
    // Every function, in BDF order; the one with dev_name `name` (none if absent).
    virtual std::vector<pci_dev> devices() const = 0;
    virtual std::optional<pci_dev> device(const std::string& name) const = 0;
    // The host driver a function is bound to ("vfio-pci", "pci-stub", "none", "e1000", ...).
    virtual std::string driver(const std::string& name) const = 0;
    // Configuration space as the host CPU reaches it (ECAM): 1, 2 or 4 bytes; 0 or EIO.
    virtual int config_read(const pci_dev& dev, std::uint32_t offset, std::uint8_t* data, unsigned len,
                            sc_core::sc_time& d) = 0;
    virtual int config_write(const pci_dev& dev, std::uint32_t offset, const std::uint8_t* data, unsigned len,
                             sc_core::sc_time& d) = 0;
    // A CPU load or store at a machine (MMIO) address, or an I/O port when `io`: 0, or EIO when the completion is not SC.
    virtual int mmio(bool write, std::uint64_t addr, std::uint8_t* data, unsigned len, sc_core::sc_time& d) = 0;
    virtual int io_port(bool write, std::uint32_t port, std::uint8_t* data, unsigned len, sc_core::sc_time& d) = 0;
    // /sys/bus/pci/devices/BDF/reset_method: Linux 6.1's method names, in order (empty: none).
    virtual std::vector<std::string> reset_methods(const pci_dev& dev) const = 0;
    // pci_reset_function(): the first method that works; 0, or ENOTTY when none does.
    virtual int reset_function(const pci_dev& dev, sc_core::sc_time& d) = 0;
    // The functions a secondary bus reset for `dev` reaches (pci_bus_reset /
    // pci_slot_reset scope: everything below the bridge above it), in BDF
    // order; empty when no bus reset is possible (a function on a root bus).
    virtual std::vector<pci_dev> bus_reset_scope(const pci_dev& dev) const = 0;
    // Resets that bus (Secondary Bus Reset in the bridge above `dev`): 0 or an errno.
    virtual int bus_reset(const pci_dev& dev, sc_core::sc_time& d) = 0;

    // --- IOMMU core ---
    // The IOMMU group of a function (none without an IOMMU) and the functions in a group, in BDF order.
    virtual std::optional<unsigned> iommu_group(const std::string& name) const = 0;
    virtual std::vector<pci_dev> group_devices(unsigned group) const = 0;
    // iommu_group_claim_dma_owner / iommu_group_release_dma_owner, and
    // iommu_group_dma_owner_claimed: a group with a function bound to a driver
    // that uses the kernel's DMA API (not vfio-pci or pci-stub) is in use by
    // the kernel; binding such a driver to a function of a claimed group fails.
    virtual int claim_dma_owner(unsigned group, const void* owner) = 0;
    virtual void release_dma_owner(unsigned group, const void* owner) = 0;
    virtual bool dma_owner_claimed(unsigned group) const = 0;
    // The IOMMU's address width in bits (platform.iommu.address_width) and
    // the IOVA ranges a domain can map (the aperture less reserved regions
    // such as the MSI window), as [start, end] inclusive.
    virtual unsigned address_width() const = 0;
    virtual std::vector<std::pair<std::uint64_t, std::uint64_t>> iova_ranges(unsigned group) const = 0;
    // Whether the platform remaps interrupts (IRQ remapping: type1's
    // allow_unsafe_interrupts is needed without it).
    virtual bool interrupt_remapping() const = 0;
};

} // namespace iotwin::guest::vfio
