#include "platform/vfio_host.h"

#include <algorithm>
#include <cerrno>

#include "platform/builder.h"
#include "platform/ecam.h"
#include "platform/host_drivers.h"
#include "models/pci/pci_function.h"

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

// What the PCI core saves before a reset and writes back after it
// (pci_save_state / pci_restore_state): the header's 16 dwords, written back
// from the last (pci_restore_config_space), the PCI Express control
// registers (pci_restore_pcie_state) and the MSI capability the kernel
// programmed (pci_restore_msi_state).
struct vfio_host::saved_state {
    pci_dev dev;
    std::uint32_t header[16] = {};
    std::optional<std::uint32_t> pcie, msi;
    std::uint16_t devctl = 0, lnkctl = 0, devctl2 = 0, msi_ctrl = 0;
    std::vector<std::uint32_t> msi_regs;  // from the capability's offset 4
};

namespace {

std::uint32_t rd(vfio_host& h, const pci_dev& dev, std::uint32_t off, unsigned len, sc_core::sc_time& d) {
    std::uint8_t b[4] = {};
    h.config_read(dev, off, b, len, d);
    std::uint32_t v = 0;
    for (unsigned i = 0; i < len; ++i) v |= std::uint32_t(b[i]) << (8 * i);
    return v;
}

void wr(vfio_host& h, const pci_dev& dev, std::uint32_t off, std::uint32_t v, unsigned len, sc_core::sc_time& d) {
    std::uint8_t b[4] = {};
    for (unsigned i = 0; i < len; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
    h.config_write(dev, off, b, len, d);
}

constexpr std::uint16_t CMD_INTX_DISABLE = 0x400;
constexpr std::uint16_t BRIDGE_CTL_BUS_RESET = 0x40;
constexpr std::uint16_t PM_STATE = 0x3, PM_D3HOT = 0x3;
constexpr std::uint16_t EXP_DEVCTL_BCR_FLR = 0x8000;

} // namespace

vfio_host::saved_state vfio_host::save_and_disable(const pci_dev& dev, sc_core::sc_time& d) {
    saved_state s;
    s.dev = dev;
    for (std::uint32_t i = 0; i < 16; ++i) s.header[i] = rd(*this, dev, 4 * i, 4, d);
    if (dev.fn) {
        s.pcie = dev.fn->config().find_capability(pci::cap_id::pcie);
        s.msi = dev.fn->config().find_capability(pci::cap_id::msi);
    }
    if (s.pcie) {
        s.devctl = static_cast<std::uint16_t>(rd(*this, dev, *s.pcie + 8, 2, d));
        s.lnkctl = static_cast<std::uint16_t>(rd(*this, dev, *s.pcie + 0x10, 2, d));
        s.devctl2 = static_cast<std::uint16_t>(rd(*this, dev, *s.pcie + 0x28, 2, d));
    }
    if (s.msi) {
        s.msi_ctrl = static_cast<std::uint16_t>(rd(*this, dev, *s.msi + 2, 2, d));
        const unsigned words = (s.msi_ctrl & 0x80 ? 3 : 2) + (s.msi_ctrl & 0x100 ? 2 : 0);
        for (unsigned i = 0; i < words; ++i) s.msi_regs.push_back(rd(*this, dev, *s.msi + 4 + 4 * i, 4, d));
    }
    // pci_dev_save_and_disable: INTx, memory, I/O and bus mastering off.
    wr(*this, dev, pci::cfg::command, CMD_INTX_DISABLE, 2, d);
    return s;
}

void vfio_host::restore(const saved_state& s, sc_core::sc_time& d) {
    const pci_dev& dev = s.dev;
    if (s.pcie) {
        wr(*this, dev, *s.pcie + 8, s.devctl & ~EXP_DEVCTL_BCR_FLR, 2, d);
        wr(*this, dev, *s.pcie + 0x10, s.lnkctl, 2, d);
        wr(*this, dev, *s.pcie + 0x28, s.devctl2, 2, d);
    }
    for (int i = 15; i >= 0; --i) {
        const std::uint32_t off = 4 * static_cast<std::uint32_t>(i);
        if (rd(*this, dev, off, 4, d) != s.header[i]) wr(*this, dev, off, s.header[i], 4, d);
    }
    if (s.msi) {
        for (std::size_t i = 0; i < s.msi_regs.size(); ++i) wr(*this, dev, *s.msi + 4 + 4 * static_cast<std::uint32_t>(i), s.msi_regs[i], 4, d);
        wr(*this, dev, *s.msi + 2, s.msi_ctrl, 2, d);
    }
}

std::optional<pci_dev> vfio_host::parent_bridge(const pci_dev& dev) const {
    for (std::size_t i = 0; i < pi_.topo.functions.size(); ++i) {
        const topo_function& f = pi_.topo.functions[i];
        if (f.bdf_string() != dev.name) continue;
        if (f.on_root_bus || f.parent < 0 || f.is_vf) return std::nullopt;
        return make(f.parent);
    }
    return std::nullopt;
}

// pci_bridge_secondary_bus_reset: Secondary Bus Reset set, then cleared.
void vfio_host::secondary_bus_reset(const pci_dev& bridge, sc_core::sc_time& d) {
    const std::uint32_t ctl = rd(*this, bridge, pci::cfg::bridge_control, 2, d);
    wr(*this, bridge, pci::cfg::bridge_control, ctl | BRIDGE_CTL_BUS_RESET, 2, d);
    wr(*this, bridge, pci::cfg::bridge_control, ctl & ~std::uint32_t(BRIDGE_CTL_BUS_RESET), 2, d);
}

// pci_try_reset_function (Linux 6.1 drivers/pci/pci.c): the state saved,
// the function's reset methods tried in order (__pci_reset_function_locked:
// a method's error other than ENOTTY ends the walk), the state written back.
int vfio_host::reset_function(const pci_dev& dev, sc_core::sc_time& d) {
    const auto methods = reset_methods(dev);
    if (methods.empty() || !dev.fn) return ENOTTY;
    const saved_state s = save_and_disable(dev, d);
    int rc = ENOTTY;
    for (const std::string& m : methods) {
        if (m == "flr" || m == "device_specific") {
            // pcie_flr: Initiate FLR.
            if (const auto px = dev.fn->config().find_capability(pci::cap_id::pcie)) {
                wr(*this, dev, *px + 8, rd(*this, dev, *px + 8, 2, d) | EXP_DEVCTL_BCR_FLR, 2, d);
                rc = 0;
            }
        } else if (m == "pm") {
            // pci_pm_reset: only from D0 (EINVAL); D3hot then D0, No_Soft_Reset clear.
            const auto pm = dev.fn->config().find_capability(pci::cap_id::power_management);
            if (!pm) continue;
            const std::uint32_t csr = rd(*this, dev, *pm + 4, 2, d);
            if (csr & PM_STATE) {
                rc = EINVAL;
            } else {
                wr(*this, dev, *pm + 4, (csr & ~std::uint32_t(PM_STATE)) | PM_D3HOT, 2, d);
                wr(*this, dev, *pm + 4, csr & ~std::uint32_t(PM_STATE), 2, d);
                rc = 0;
            }
        } else if (m == "bus") {
            // pci_parent_bus_reset: the function must be alone on its bus now.
            const auto bridge = parent_bridge(dev);
            if (!bridge || dev.bridge) continue;
            bool alone = true;
            for (const pci_dev& o : devices())
                if (o.name != dev.name && (o.rid >> 8) == (dev.rid >> 8)) alone = false;
            if (!alone) continue;
            secondary_bus_reset(*bridge, d);
            rc = 0;
        }
        if (rc != ENOTTY) break;
    }
    restore(s, d);
    return rc;
}

// pci_walk_bus of dev->bus: every function on the bus and below it.
std::vector<pci_dev> vfio_host::bus_reset_scope(const pci_dev& dev) const {
    const auto bridge = parent_bridge(dev);
    if (!bridge) return {};
    std::uint8_t secondary = 0, subordinate = 0;
    for (const topo_function& f : pi_.topo.functions)
        if (f.bdf_string() == bridge->name) secondary = f.secondary, subordinate = f.subordinate;
    std::vector<pci_dev> out;
    for (const pci_dev& p : devices()) {
        const unsigned bus = p.rid >> 8;
        if (bus >= secondary && bus <= subordinate && secondary) out.push_back(p);
    }
    return out;
}

// pci_reset_bus: every function below saved and disabled, the bridge's
// Secondary Bus Reset, every function's state written back.
int vfio_host::bus_reset(const pci_dev& dev, sc_core::sc_time& d) {
    const auto bridge = parent_bridge(dev);
    if (!bridge) return ENOTTY;
    std::vector<saved_state> saved;
    for (const pci_dev& p : bus_reset_scope(dev)) saved.push_back(save_and_disable(p, d));
    secondary_bus_reset(*bridge, d);
    for (const saved_state& s : saved) restore(s, d);
    return 0;
}

} // namespace iotwin::platform
