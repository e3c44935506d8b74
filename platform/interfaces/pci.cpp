// pci: what a domain's kernel does to a function it owns: configuration and
// MMIO accesses, the sysfs resource file, pci_set_master(), pci_enable_msi(),
// pci_alloc_irq_vectors(PCI_IRQ_MSIX).
#include <algorithm>
#include <cerrno>

#include "platform/ecam.h"
#include "platform/runner.h"
#include "platform/enumerator.h"
#include "platform/host_drivers.h"
#include "platform/interfaces/interfaces.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

namespace {

constexpr std::uint64_t u32_max = 0xffffffff;

// The function named by `device`; err = ENODEV when the domain neither owns
// it nor is privileged (Xen's pciback hands a guest only its own functions).
pci::pci_function& owned_device(step_context& c, const hyp::domain& dom, int& err) {
    pci::pci_function& f = c.device_arg("device");
    const auto owner = c.hyp().device_owner(f.bdf().rid());
    err = (owner ? *owner == dom.id : dom.privileged) ? 0 : ENODEV;
    return f;
}

bool config_args_ok(std::uint64_t off, std::uint64_t size) {
    return (size == 1 || size == 2 || size == 4) && off < 4096 && off % size == 0;
}

std::uint64_t config_read(step_context& c, const pci::pci_function& f, std::uint64_t reg, unsigned len) {
    std::uint64_t v = 0;
    ecam_access(c.hyp(), tlm::TLM_READ_COMMAND, f.bdf(), static_cast<std::uint32_t>(reg), &v, len, c.delay);
    return v;
}

void config_write(step_context& c, const pci::pci_function& f, std::uint64_t reg, unsigned len, std::uint64_t v) {
    ecam_access(c.hyp(), tlm::TLM_WRITE_COMMAND, f.bdf(), static_cast<std::uint32_t>(reg), &v, len, c.delay);
}

bool fits(std::uint64_t value, std::uint64_t size) { return size >= 8 || !(value >> (8 * size)); }

void op_config_read(step_context& c) {
    int err;
    pci::pci_function& f = owned_device(c, c.actor(), err);
    const std::uint64_t off = c.integer("offset"), size = c.integer("size", 4);
    if (!err && !config_args_ok(off, size)) err = EINVAL;
    c.set_errno(err);
    if (!err) c.result()["value"] = config_read(c, f, off, static_cast<unsigned>(size));
}

// Whether the acting domain's configuration writes reach its functions as
// written: the privileged domain's do, a guest's only with a permissive backend.
bool writes_unfiltered(step_context& c, const hyp::domain& dom) {
    if (dom.privileged) return true;
    for (const domain_desc& d : c.run().description().domains)
        if (d.name == dom.name) return d.pci_permissive;
    return false;
}

// A guest's configuration write as Xen's pciback (not permissive) lets it
// reach the function: of the Command register, I/O and Memory Space Enable
// can be set (pci_enable_device()), Bus Master Enable and Memory Write and
// Invalidate set and cleared; every other write is dropped (BARs, the ROM BAR
// and Interrupt Line are virtualized, the rest is read-only), and the guest
// is told it succeeded. So a guest cannot move its BARs, turn off ACS in its
// function, or rewrite its capabilities.
void guest_config_write(step_context& c, const pci::pci_function& f, std::uint64_t off, std::uint64_t size, std::uint64_t value) {
    const std::uint64_t cmd = pci::cfg::command;
    if (off + size <= cmd || off >= cmd + 2) return;
    const std::uint64_t old = config_read(c, f, cmd, 2);
    std::uint64_t written = old;
    for (std::uint64_t b = std::max(off, cmd); b < std::min(off + size, cmd + 2); ++b) {
        const std::uint64_t byte = (value >> (8 * (b - off))) & 0xff;
        written = (written & ~(0xffull << (8 * (b - cmd)))) | byte << (8 * (b - cmd));
    }
    namespace bits = pci::command_bits;
    constexpr std::uint64_t enable_only = bits::io_space | bits::memory_space;
    constexpr std::uint64_t guest_controls = bits::bus_master | 1u << 4;  // BME, MWI
    const std::uint64_t next = ((old | (written & enable_only)) & ~guest_controls) | (written & guest_controls);
    if (next != old) config_write(c, f, cmd, 2, next);
}

void op_config_write(step_context& c) {
    int err;
    const hyp::domain& dom = c.actor();
    pci::pci_function& f = owned_device(c, dom, err);
    const std::uint64_t off = c.integer("offset"), size = c.integer("size", 4), value = c.integer("value");
    if (!err && (!config_args_ok(off, size) || !fits(value, size))) err = EINVAL;
    if (!err && writes_unfiltered(c, dom)) config_write(c, f, off, static_cast<unsigned>(size), value);
    else if (!err) guest_config_write(c, f, off, size, value);
    c.set_errno(err);
}

// The MMIO address of (bar, offset) as the kernel knows it from enumeration.
std::optional<std::uint64_t> mmio_address(step_context& c, const pci::pci_function& f, std::uint64_t bar, std::uint64_t off,
                                          std::uint64_t size) {
    const enumerated_function* e = c.enumerated(f.basename());
    if (!e || (size != 1 && size != 2 && size != 4 && size != 8) || off % size) return std::nullopt;
    const enumerated_bar* b = e->bar(bar);
    if (!b || b->io || off >= b->size || size > b->size - off) return std::nullopt;  // an I/O BAR is reached by pci.io_*
    return b->base + off;
}

void mmio(step_context& c, tlm::tlm_command cmd) {
    int err;
    pci::pci_function& f = owned_device(c, c.actor(), err);
    const std::uint64_t size = c.integer("size", 4);
    const auto addr = mmio_address(c, f, c.integer("bar"), c.integer("offset"), size);
    std::uint64_t value = cmd == tlm::TLM_WRITE_COMMAND ? c.integer("value") : 0;
    if (!err && (!addr || !fits(value, size))) err = EINVAL;
    c.set_errno(err);
    if (err) return;
    const pcie::completion st = c.hyp().machine_access(cmd, *addr, reinterpret_cast<std::uint8_t*>(&value), static_cast<unsigned>(size), c.delay);
    if (cmd == tlm::TLM_READ_COMMAND) c.result()["value"] = value;
    c.result()["completion"] = pcie::to_string(st);
    c.bus_error |= st != pcie::completion::SC;
}

void op_mmio_read(step_context& c) { mmio(c, tlm::TLM_READ_COMMAND); }
void op_mmio_write(step_context& c) { mmio(c, tlm::TLM_WRITE_COMMAND); }

// The `resource` file of the function in sysfs: where a BAR sits, as the
// kernel assigned it.
void op_resource(step_context& c) {
    int err;
    const hyp::domain& dom = c.actor();
    pci::pci_function& f = owned_device(c, dom, err);
    if (dom.privileged) err = 0;  // the hardware domain sees every function in sysfs
    const enumerated_function* e = c.enumerated(f.basename());
    const enumerated_bar* b = e ? e->bar(c.integer("bar")) : nullptr;
    if (!err && !b) err = EINVAL;
    c.set_errno(err);
    if (err) return;
    c.result()["start"] = b->base;
    c.result()["end"] = b->base + b->size - 1;
    c.result()["size"] = b->size;
}

void op_set_master(step_context& c) {
    int err;
    pci::pci_function& f = owned_device(c, c.actor(), err);
    if (!err) config_write(c, f, pci::cfg::command, 2, config_read(c, f, pci::cfg::command, 2) | pci::command_bits::bus_master);
    c.set_errno(err);
}

// The offset of capability `id` in the function's list, 0 if none: the
// kernel walks the list in configuration space, bounded as Linux's
// (PCI_FIND_CAP_TTL): a device may link its list into a loop.
std::uint64_t find_capability(step_context& c, const pci::pci_function& f, std::uint64_t id) {
    int ttl = 48;
    for (std::uint64_t p = config_read(c, f, pci::cfg::cap_ptr, 1) & ~3u; p >= 0x40 && ttl--; p = config_read(c, f, p + 1, 1) & ~3u)
        if (config_read(c, f, p, 1) == id) return p;
    return 0;
}

// Linux's pci_enable_msi(): the kernel finds the MSI capability, and the
// hypervisor binds a vector to the domain.
void op_enable_msi(step_context& c) {
    int err;
    const hyp::domain& dom = c.actor();
    pci::pci_function& f = owned_device(c, dom, err);
    const std::uint64_t cap = err ? 0 : find_capability(c, f, pci::cap_id::msi);
    if (!err && !cap) err = EINVAL;
    const auto binding = err ? std::nullopt : c.hyp().bind_msi(dom.id, 1, f.bdf().rid());
    if (!err && !binding) err = ENOSPC;
    c.set_errno(err);
    if (err) return;
    // PCI 3.0 6.8.1: with 64 bit Address Capable (Message Control bit 7) the
    // Message Upper Address is at +8 and Message Data at +12; without it,
    // Message Data follows the 32-bit address at +8.
    const std::uint64_t ctrl = config_read(c, f, cap + 2, 2);
    config_write(c, f, cap + 4, 4, binding->address & 0xffffffff);
    if (ctrl & 0x80) {
        config_write(c, f, cap + 8, 4, binding->address >> 32);
        config_write(c, f, cap + 12, 2, binding->data);
    } else {
        config_write(c, f, cap + 8, 2, binding->data);
    }
    config_write(c, f, cap + 2, 2, (ctrl & ~0x70u) | 1);
    // As Linux's struct msi_msg.
    c.result()["vector"] = binding->vector;
    c.result()["address_lo"] = binding->address & 0xffffffff;
    c.result()["address_hi"] = binding->address >> 32;
    c.result()["data"] = binding->data;
}

// Linux's pci_alloc_irq_vectors(dev, 1, vectors, PCI_IRQ_MSIX)
// (drivers/pci/msi/msi.c, 6.1): __pci_enable_msix_range() refuses a function
// whose MSI or MSI-X is already enabled (EINVAL) and asks for no more vectors
// than the Table Size; msix_capability_init() sets MSI-X Enable with Function
// Mask, programs each table entry (Message Address, Upper Address, Data,
// Vector Control unmasked) by MMIO stores to the BAR holding the table,
// disables INTx (pci_intx_for_msi()) and clears Function Mask. The hypervisor
// binds one vector per entry to the domain. The stores go the way
// pci.mmio_write's do: without Memory Space Enable they complete UR, the
// entries keep their reset state (masked), and the step reports the fault.
void op_enable_msix(step_context& c) {
    int err;
    const hyp::domain& dom = c.actor();
    pci::pci_function& f = owned_device(c, dom, err);
    const std::uint64_t cap = err ? 0 : find_capability(c, f, pci::cap_id::msix);
    const std::uint64_t msi = err ? 0 : find_capability(c, f, pci::cap_id::msi);
    if (!err && (!cap || (msi && (config_read(c, f, msi + 2, 2) & 1)) || (config_read(c, f, cap + 2, 2) & 0x8000))) err = EINVAL;
    const enumerated_function* e = c.enumerated(f.basename());
    const std::uint64_t table = err ? 0 : config_read(c, f, cap + 4, 4);
    const enumerated_bar* b = err || !e ? nullptr : e->bar(table & 7);
    const std::uint64_t table_size = err ? 0 : (config_read(c, f, cap + 2, 2) & 0x7ff) + 1;
    if (!err && (!b || b->io)) err = EINVAL;  // a Table BIR naming no memory BAR: Linux's msix_map_region() fails
    const std::uint64_t n = err ? 0 : std::min(c.has("vectors") ? c.integer("vectors") : table_size, table_size);
    std::vector<hyp::hypervisor::msi_binding> bound;
    for (std::uint64_t i = 0; i < n; ++i) {
        const auto binding = c.hyp().bind_msi(dom.id, 1, f.bdf().rid());
        if (!binding) {
            err = ENOSPC;
            break;
        }
        bound.push_back(*binding);
    }
    c.set_errno(err);
    if (err) return;
    const std::uint64_t ctrl = config_read(c, f, cap + 2, 2);
    config_write(c, f, cap + 2, 2, ctrl | 0xc000);  // MSI-X Enable, Function Mask
    pcie::completion worst = pcie::completion::SC;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (std::uint64_t i = 0; i < n; ++i) {
        const auto& v = bound[i];
        const std::uint32_t entry[4] = {static_cast<std::uint32_t>(v.address), static_cast<std::uint32_t>(v.address >> 32), v.data, 0};
        for (unsigned dw = 0; dw < 4; ++dw) {
            std::uint32_t value = entry[dw];
            const std::uint64_t addr = b->base + (table & ~7ull) + i * 16 + dw * 4;
            const pcie::completion st = c.hyp().machine_access(tlm::TLM_WRITE_COMMAND, addr, reinterpret_cast<std::uint8_t*>(&value), 4, c.delay);
            if (st != pcie::completion::SC) worst = st;
        }
        list.push_back({{"entry", i}, {"vector", v.vector}, {"address_lo", v.address & 0xffffffff}, {"address_hi", v.address >> 32}, {"data", v.data}});
    }
    config_write(c, f, pci::cfg::command, 2, config_read(c, f, pci::cfg::command, 2) | pci::command_bits::interrupt_disable);
    config_write(c, f, cap + 2, 2, (ctrl & ~0x4000ull) | 0x8000);
    c.result()["vectors"] = list;
    c.result()["completion"] = pcie::to_string(worst);
    c.bus_error |= worst != pcie::completion::SC;
}

// --- port I/O and INTx EOI ---

// The port of (bar, offset) as the kernel knows it from enumeration: an I/O BAR only.
std::optional<std::uint32_t> io_port(step_context& c, const pci::pci_function& f, std::uint64_t bar, std::uint64_t off, std::uint64_t size) {
    const enumerated_function* e = c.enumerated(f.basename());
    if (!e || (size != 1 && size != 2 && size != 4) || off % size) return std::nullopt;
    const enumerated_bar* b = e->bar(bar);
    if (!b || !b->io || off >= b->size || size > b->size - off) return std::nullopt;
    return static_cast<std::uint32_t>(b->base + off);
}

// inb/inw/inl and outb/outw/outl on an I/O BAR's ports, as a driver does
// after pci_iomap(): the range is the owning domain's only (Xen gives a
// guest the I/O ports of its devices' BARs, as it gives their MMIO).
void port_io(step_context& c, tlm::tlm_command cmd) {
    int err;
    pci::pci_function& f = owned_device(c, c.actor(), err);
    const std::uint64_t size = c.integer("size", 4);
    const auto port = io_port(c, f, c.integer("bar"), c.integer("offset"), size);
    std::uint64_t value = cmd == tlm::TLM_WRITE_COMMAND ? c.integer("value") : 0;
    if (!err && (!port || !fits(value, size))) err = EINVAL;
    c.set_errno(err);
    if (err) return;
    const pcie::completion st = c.hyp().io_access(cmd, *port, reinterpret_cast<std::uint8_t*>(&value), static_cast<unsigned>(size), c.delay);
    if (cmd == tlm::TLM_READ_COMMAND) c.result()["value"] = value;
    c.result()["completion"] = pcie::to_string(st);
    c.bus_error |= st != pcie::completion::SC;
}

void op_io_read(step_context& c) { port_io(c, tlm::TLM_READ_COMMAND); }
void op_io_write(step_context& c) { port_io(c, tlm::TLM_WRITE_COMMAND); }

// PHYSDEVOP_eoi: the domain acknowledges a physical IRQ it received (a GSI
// of a function's INTx); a level-triggered line still asserted fires again.
void op_physdev_eoi(step_context& c) {
    const int e = c.hyp().eoi_pirq(c.actor().id, static_cast<std::uint32_t>(c.integer("irq")), c.delay);
    if (e) c.result()["rc"] = "-" + errno_json(e).get<std::string>();
    else c.result()["rc"] = 0;
    c.set_errno(e);
}

// --- end port I/O and INTx EOI ---

// Whether the PF's host driver has .sriov_configure (platform/host_drivers.h).
bool bound_driver_configures_sriov(step_context& c, const pci::pci_function& f) {
    const host_driver* d = find_host_driver(drivers_of(c.pi(), c.run().description().platform.iommu_enabled).driver(f.basename()));
    return d && d->sriov_configure;
}

// Linux 6.1's sriov_numvfs attribute (drivers/pci/iov.c): a write is
// sriov_numvfs_store(), without `num_vfs` it is the read (the VFs enabled).
// The store: ERANGE above TotalVFs; nothing to do when the value is the
// current one; ENOENT without a bound driver that has sriov_configure; 0 disables; EBUSY when VFs are
// enabled and a different nonzero count is asked. The driver's
// sriov_configure() is pci_enable_sriov() / pci_disable_sriov(): NumVFs, then
// VF Enable and VF Memory Space Enable, then msleep(100) (sriov_enable());
// clearing them, ssleep(1), then NumVFs = 0 (sriov_disable()).
void op_sriov_numvfs(step_context& c) {
    const hyp::domain& dom = c.actor();
    pci::pci_function& f = c.device_arg("device");
    // The file is in the privileged domain's sysfs; a PF without SR-IOV has none.
    int err = !dom.privileged ? EACCES : !f.config().find_ext_capability(pci::ext_cap_id::sriov) || f.is_virtual_function() ? ENOENT : 0;
    const std::uint16_t enabled = f.sriov_enabled() ? f.num_vfs() : 0;
    if (!err && c.has("num_vfs")) {
        const std::uint64_t n = c.integer("num_vfs");
        const std::uint32_t cap = *f.config().find_ext_capability(pci::ext_cap_id::sriov);
        if (n > f.total_vfs()) {
            err = ERANGE;
        } else if (n == enabled) {
        } else if (!bound_driver_configures_sriov(c, f)) {
            err = ENOENT;  // "no driver bound to device" / the driver has no sriov_configure
        } else if (n == 0) {
            const std::uint64_t ctrl = config_read(c, f, cap + pci::sriov_reg::control, 2);
            config_write(c, f, cap + pci::sriov_reg::control, 2, ctrl & ~std::uint64_t(pci::sriov_reg::vf_enable | pci::sriov_reg::vf_mse));
            c.delay += sc_core::sc_time(1, sc_core::SC_SEC);
            config_write(c, f, cap + pci::sriov_reg::num_vfs, 2, 0);
        } else if (enabled) {
            err = EBUSY;
        } else {
            config_write(c, f, cap + pci::sriov_reg::num_vfs, 2, n);
            const std::uint64_t ctrl = config_read(c, f, cap + pci::sriov_reg::control, 2);
            config_write(c, f, cap + pci::sriov_reg::control, 2, ctrl | pci::sriov_reg::vf_enable | pci::sriov_reg::vf_mse);
            c.delay += sc_core::sc_time(100, sc_core::SC_MS);
        }
    }
    c.set_errno(err);
    if (!err) c.result()["num_vfs"] = f.sriov_enabled() ? f.num_vfs() : 0;
}

arg_spec device_arg() { return {"device", arg_type::device, true, "function id (platform.pcie)"}; }
arg_spec bar_arg() { return {"bar", arg_type::integer, true, "BAR index (EINVAL when the function has no such BAR)", 0, u32_max}; }

} // namespace

void register_pci(op_registry& r) {
    using t = arg_type;
    using rt = result_type;
    const std::string ownership = "ENODEV: the domain neither owns the function nor is privileged";
    r.add({"pci.config_read", actor::domain, "reads configuration space of a function the domain owns",
           {device_arg(), {"offset", t::integer, true, "register offset (EINVAL beyond 4095 or unaligned)", 0, u32_max},
            {"size", t::integer, false, "bytes: 1, 2 or 4 (EINVAL otherwise)", 0, u32_max, "4"}},
           {{"value", rt::integer, "the register's value"}}, {}, {},
           ownership + "; EINVAL: bad offset or size"},
          op_config_read);
    r.add({"pci.config_write", actor::domain, "writes configuration space of a function the domain owns",
           {device_arg(), {"offset", t::integer, true, "register offset (EINVAL beyond 4095 or unaligned)", 0, u32_max},
            {"size", t::integer, false, "bytes: 1, 2 or 4 (EINVAL otherwise)", 0, u32_max, "4"},
            {"value", t::integer, true, "value to write (EINVAL when wider than size)", 0, u32_max}},
           {}, {}, {},
           ownership + "; EINVAL: bad offset, size or value. A guest's write reaches the function only where Xen's pciback "
                       "lets it (Command: I/O and Memory Space Enable set, Bus Master Enable and MWI); others are dropped with errno 0, "
                       "unless the domain has pci_permissive"},
          op_config_write);
    r.add({"pci.mmio_read", actor::domain, "loads from a BAR of a function the domain owns",
           {device_arg(), bar_arg(), {"offset", t::integer, true, "offset in the BAR"},
            {"size", t::integer, false, "bytes: 1, 2, 4 or 8 (EINVAL otherwise)", 0, u32_max, "4"}},
           {{"value", rt::integer, "what was read (all ones after UR)"}, {"completion", rt::completion, "PCIe completion status"}},
           {}, {}, ownership + "; EINVAL: no such memory BAR, or the access leaves it or is unaligned"},
          op_mmio_read);
    r.add({"pci.mmio_write", actor::domain, "stores to a BAR of a function the domain owns",
           {device_arg(), bar_arg(), {"offset", t::integer, true, "offset in the BAR"},
            {"size", t::integer, false, "bytes: 1, 2, 4 or 8 (EINVAL otherwise)", 0, u32_max, "4"},
            {"value", t::integer, true, "value to store (EINVAL when wider than size)"}},
           {{"completion", rt::completion, "PCIe completion status"}}, {}, {},
           ownership + "; EINVAL: no such memory BAR, or the access leaves it or is unaligned"},
          op_mmio_write);
    r.add({"pci.resource", actor::domain, "where a BAR sits (the function's sysfs resource file; a privileged domain sees every function)",
           {device_arg(), bar_arg()},
           {{"start", rt::integer, "first bus address"}, {"end", rt::integer, "last bus address"}, {"size", rt::integer, "bytes"}},
           {}, {}, ownership + "; EINVAL: no such BAR"},
          op_resource);
    r.add({"pci.set_master", actor::domain, "Linux pci_set_master(): sets Bus Master Enable in the command register",
           {device_arg()}, {}, {}, {}, ownership},
          op_set_master);
    r.add({"pci.enable_msi", actor::domain,
           "Linux pci_enable_msi(): finds the MSI capability, binds a vector to the domain, programs and enables it",
           {device_arg()},
           {{"vector", rt::integer, "the bound vector"}, {"address_lo", rt::integer, "message address, low 32 bits (struct msi_msg)"},
            {"address_hi", rt::integer, "message address, high 32 bits"}, {"data", rt::integer, "message data"}},
           {}, {}, ownership + "; EINVAL: no MSI capability; ENOSPC: no vector left"},
          op_enable_msi);
    r.add({"pci.enable_msix", actor::domain,
           "Linux pci_alloc_irq_vectors(PCI_IRQ_MSIX): finds the MSI-X capability, binds a vector per table entry to the domain, "
           "programs and unmasks the entries by MMIO stores to the table, disables INTx and enables MSI-X",
           {device_arg(), {"vectors", t::integer, false, "entries to set up from entry 0 (not given, or more than the Table Size: the Table Size)", 1, 2048}},
           {{"vectors", rt::errors, "per entry: entry, vector, address_lo, address_hi, data (struct msi_msg)"},
            {"completion", rt::completion, "the worst completion of the table stores (UR without Memory Space Enable)"}},
           {}, {}, ownership + "; EINVAL: no MSI-X capability, MSI or MSI-X already enabled, or the table in no memory BAR; ENOSPC: no vector left "
                               "(the vectors bound before stay bound)"},
          op_enable_msix);
    // --- port I/O and INTx EOI ---
    r.add({"pci.io_read", actor::domain, "IN from an I/O BAR of a function the domain owns (inb/inw/inl)",
           {device_arg(), bar_arg(), {"offset", t::integer, true, "offset in the BAR"},
            {"size", t::integer, false, "bytes: 1, 2 or 4 (EINVAL otherwise)", 0, u32_max, "4"}},
           {{"value", rt::integer, "what was read (all ones after UR: a master abort)"}, {"completion", rt::completion, "PCIe completion status"}},
           {}, {}, ownership + "; EINVAL: no such I/O BAR, or the access leaves it or is unaligned"},
          op_io_read);
    r.add({"pci.io_write", actor::domain, "OUT to an I/O BAR of a function the domain owns (outb/outw/outl)",
           {device_arg(), bar_arg(), {"offset", t::integer, true, "offset in the BAR"},
            {"size", t::integer, false, "bytes: 1, 2 or 4 (EINVAL otherwise)", 0, u32_max, "4"},
            {"value", t::integer, true, "value to write (EINVAL when wider than size)", 0, u32_max}},
           {{"completion", rt::completion, "PCIe completion status (I/O writes are non-posted)"}}, {}, {},
           ownership + "; EINVAL: no such I/O BAR, or the access leaves it or is unaligned"},
          op_io_write);
    r.add({"physdev.eoi", actor::domain,
           "PHYSDEVOP_eoi: the domain ends the interrupt of a physical IRQ (the GSI of a function's INTx; pirq = GSI); "
           "once every domain it went to has ended it, the line fires again if still asserted",
           {{"irq", t::integer, true, "the IRQ (GSI 0..23)", 0, u32_max}},
           {{"rc", rt::text, "0, or -EINVAL"}}, {}, {}, "EINVAL: irq beyond the I/O APIC's 24 GSIs"},
          op_physdev_eoi);
    // --- end port I/O and INTx EOI ---
    r.add({"pci.sriov_numvfs", actor::domain,
           "Linux's /sys/bus/pci/devices/<PF>/sriov_numvfs: with num_vfs, enables that many VFs or disables them (0); without, reads how many are enabled",
           {device_arg(), {"num_vfs", t::integer, false, "VFs to enable (ERANGE above TotalVFs); absent: read", 0, u32_max}},
           {{"num_vfs", rt::integer, "the VFs enabled afterwards"}}, {}, {},
           "EACCES: the domain is not privileged; ENOENT: the function is not an SR-IOV physical function, or its host driver is none or has no sriov_configure (virtio-pci, nvme, igb, ixgbe and vfio-pci have one); ERANGE: more than TotalVFs; "
           "EBUSY: VFs are enabled and a different nonzero count is asked (write 0 first)"},
          op_sriov_numvfs);
}

} // namespace iotwin::platform::interfaces
