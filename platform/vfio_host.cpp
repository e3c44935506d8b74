#include "platform/vfio_host.h"

#include <algorithm>
#include <cerrno>

#include "platform/builder.h"
#include "platform/ecam.h"
#include "platform/host_drivers.h"

namespace iotwin::platform {

using guest::vfio::pci_dev;

pci_dev vfio_host::make(int index) const {
    const topo_function& f = pi_.topo.functions[static_cast<std::size_t>(index)];
    pci_dev p;
    p.name = f.bdf_string();
    p.id = f.id;
    p.rid = f.bdf.rid();
    p.bridge = f.bridge;
    const auto it = pi_.by_id.find(f.id);
    p.fn = it == pi_.by_id.end() ? nullptr : it->second;
    return p;
}

std::vector<pci_dev> vfio_host::devices() const {
    std::vector<pci_dev> out;
    for (std::size_t i = 0; i < pi_.topo.functions.size(); ++i) out.push_back(make(static_cast<int>(i)));
    std::sort(out.begin(), out.end(), [](const pci_dev& a, const pci_dev& b) { return a.name < b.name; });
    return out;
}

std::optional<pci_dev> vfio_host::device(const std::string& name) const {
    for (std::size_t i = 0; i < pi_.topo.functions.size(); ++i)
        if (pi_.topo.functions[i].bdf_string() == name) return make(static_cast<int>(i));
    return std::nullopt;
}

std::string vfio_host::driver(const std::string& name) const {
    const auto dev = device(name);
    return dev ? drivers_of(pi_, iommu_).driver(dev->id) : std::string("none");
}

int vfio_host::config_read(const pci_dev& dev, std::uint32_t offset, std::uint8_t* data, unsigned len, sc_core::sc_time& d) {
    const pcie::bdf b{static_cast<std::uint8_t>(dev.rid >> 8), static_cast<std::uint8_t>((dev.rid >> 3) & 31),
                      static_cast<std::uint8_t>(dev.rid & 7)};
    return ecam_access(*pi_.hypervisor, tlm::TLM_READ_COMMAND, b, offset, data, len, d) == pcie::completion::SC ? 0 : EIO;
}

int vfio_host::config_write(const pci_dev& dev, std::uint32_t offset, const std::uint8_t* data, unsigned len,
                            sc_core::sc_time& d) {
    const pcie::bdf b{static_cast<std::uint8_t>(dev.rid >> 8), static_cast<std::uint8_t>((dev.rid >> 3) & 31),
                      static_cast<std::uint8_t>(dev.rid & 7)};
    std::uint8_t buf[4] = {};
    std::copy(data, data + std::min(len, 4u), buf);
    return ecam_access(*pi_.hypervisor, tlm::TLM_WRITE_COMMAND, b, offset, buf, len, d) == pcie::completion::SC ? 0 : EIO;
}

int vfio_host::mmio(bool write, std::uint64_t addr, std::uint8_t* data, unsigned len, sc_core::sc_time& d) {
    const auto cmd = write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND;
    return pi_.hypervisor->machine_access(cmd, addr, data, len, d) == pcie::completion::SC ? 0 : EIO;
}

int vfio_host::io_port(bool write, std::uint32_t port, std::uint8_t* data, unsigned len, sc_core::sc_time& d) {
    const auto cmd = write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND;
    return pi_.hypervisor->io_access(cmd, port, data, len, d) == pcie::completion::SC ? 0 : EIO;
}

std::optional<unsigned> vfio_host::iommu_group(const std::string& name) const {
    const auto dev = device(name);
    if (!dev) return std::nullopt;
    const auto g = pi_.iommu_group(dev->id);
    if (!g) return std::nullopt;
    return static_cast<unsigned>(*g);
}

std::vector<pci_dev> vfio_host::group_devices(unsigned group) const {
    std::vector<pci_dev> out;
    for (const pci_dev& p : devices())
        if (iommu_group(p.name) == group) out.push_back(p);
    return out;
}

// --- the IOMMU core's DMA ownership of groups ---
// The state is the driver core's (platform/host_drivers.h): binding a driver
// and claiming a group for VFIO are checked against each other there.
int vfio_host::claim_dma_owner(unsigned group, const void* owner) {
    return drivers_of(pi_, iommu_).claim_dma_owner(static_cast<int>(group), owner);
}

void vfio_host::release_dma_owner(unsigned group, const void* owner) {
    drivers_of(pi_, iommu_).release_dma_owner(static_cast<int>(group), owner);
}

bool vfio_host::dma_owner_claimed(unsigned group) const {
    return drivers_of(pi_, iommu_).dma_owner_claimed(static_cast<int>(group));
}

unsigned vfio_host::address_width() const { return static_cast<unsigned>(pi_.iommu->params().address_width); }

// Intel's IOMMU driver reserves the interrupt window 0xfee00000-0xfeefffff
// (IOAPIC_RANGE_START/END) in every domain; the rest of the aperture is the
// address width's.
std::vector<std::pair<std::uint64_t, std::uint64_t>> vfio_host::iova_ranges(unsigned group) const {
    (void)group;
    const std::uint64_t top = (std::uint64_t(1) << address_width()) - 1;
    return {{0, 0xfedfffff}, {0xfef00000, top}};
}

// platform.iommu.interrupt_remapping: what the IOMMU core reports
// (IOMMU_CAP_INTR_REMAP); MSIs themselves still pass untranslated.
bool vfio_host::interrupt_remapping() const { return pi_.iommu->params().interrupt_remapping; }

// --- resets ---
std::vector<std::string> vfio_host::reset_methods(const pci_dev& dev) const {
    if (!dev.fn) return {};
    return drivers_of(pi_, iommu_).reset_methods(dev.id, *dev.fn);
}

int vfio_host::reset_function(const pci_dev& dev, sc_core::sc_time& d) {
    (void)dev;
    (void)d;
    return ENOTTY;
}

std::vector<pci_dev> vfio_host::bus_reset_scope(const pci_dev& dev) const {
    (void)dev;
    return {};
}

int vfio_host::bus_reset(const pci_dev& dev, sc_core::sc_time& d) {
    (void)dev;
    (void)d;
    return ENOTTY;
}

} // namespace iotwin::platform
