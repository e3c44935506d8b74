// The host kernel's PCI, driver and IOMMU cores as VFIO sees them
// (models/guest/vfio/host.h), over the platform: the topology as Linux
// numbers it, the host driver bindings, the IOMMU groups, and the
// hypervisor's CPU for configuration and MMIO accesses.
#pragma once
#include <memory>

#include "models/guest/vfio/host.h"

namespace iotwin::platform {

struct platform_instance;

class vfio_host : public guest::vfio::host {
public:
    vfio_host(platform_instance& pi, bool iommu_enabled) : pi_(pi), iommu_(iommu_enabled) {}

    std::vector<guest::vfio::pci_dev> devices() const override;
    std::optional<guest::vfio::pci_dev> device(const std::string& name) const override;
    std::string driver(const std::string& name) const override;
    int config_read(const guest::vfio::pci_dev& dev, std::uint32_t offset, std::uint8_t* data, unsigned len,
                    sc_core::sc_time& d) override;
    int config_write(const guest::vfio::pci_dev& dev, std::uint32_t offset, const std::uint8_t* data, unsigned len,
                     sc_core::sc_time& d) override;
    int mmio(bool write, std::uint64_t addr, std::uint8_t* data, unsigned len, sc_core::sc_time& d) override;
    int io_port(bool write, std::uint32_t port, std::uint8_t* data, unsigned len, sc_core::sc_time& d) override;
    std::vector<std::string> reset_methods(const guest::vfio::pci_dev& dev) const override;
    int reset_function(const guest::vfio::pci_dev& dev, sc_core::sc_time& d) override;
    std::vector<guest::vfio::pci_dev> bus_reset_scope(const guest::vfio::pci_dev& dev) const override;
    int bus_reset(const guest::vfio::pci_dev& dev, sc_core::sc_time& d) override;

    std::optional<unsigned> iommu_group(const std::string& name) const override;
    std::vector<guest::vfio::pci_dev> group_devices(unsigned group) const override;
    int claim_dma_owner(unsigned group, const void* owner) override;
    void release_dma_owner(unsigned group, const void* owner) override;
    bool dma_owner_claimed(unsigned group) const override;
    unsigned address_width() const override;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> iova_ranges(unsigned group) const override;
    bool interrupt_remapping() const override;

private:
    guest::vfio::pci_dev make(int index) const;
    // Resets (pci_try_reset_function, pci_reset_bus) and the state the PCI core keeps around them.
    struct saved_state;
    saved_state save_and_disable(const guest::vfio::pci_dev& dev, sc_core::sc_time& d);
    void restore(const saved_state& s, sc_core::sc_time& d);
    std::optional<guest::vfio::pci_dev> parent_bridge(const guest::vfio::pci_dev& dev) const;
    void secondary_bus_reset(const guest::vfio::pci_dev& bridge, sc_core::sc_time& d);
    platform_instance& pi_;
    bool iommu_;
};

} // namespace iotwin::platform
