// The device file of a function bound to vfio-pci (Linux 6.1,
// drivers/vfio/pci/vfio_pci_core.c and vfio_pci_rdwr.c): the first open
// and last close (vfio_pci_core_enable / _disable), the ioctls of the
// device (vfio_pci_core_ioctl: GET_INFO, GET_REGION_INFO, RESET,
// GET_PCI_HOT_RESET_INFO, PCI_HOT_RESET; the interrupt ones are
// pci_intrs.cpp's), read/write of the regions at index << 40
// (vfio_pci_rw) and mmap of the BARs (vfio_pci_core_mmap).
// Configuration space virtualization: pci_config.cpp.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "models/guest/kernel.h"
#include "models/guest/process.h"
#include "models/guest/vfio/pci_private.h"
#include "models/pci/pci_function.h"

namespace iotwin::guest::vfio {

namespace {

constexpr std::uint64_t page_size = 4096;
constexpr std::uint64_t offset_mask = (std::uint64_t(1) << VFIO_PCI_OFFSET_SHIFT) - 1;
constexpr std::uint16_t CMD_MASTER = 0x4, CMD_INTX_DISABLE = 0x400, CMD_IO = 0x1, CMD_MEMORY = 0x2;
constexpr std::uint32_t ROM_ENABLE = 0x1;
// struct vfio_region_info_cap_type header ids (VFIO_REGION_INFO_CAP_*).
constexpr std::uint16_t VFIO_REGION_INFO_CAP_MSIX_MAPPABLE = 3;
// pci_dev->class >> 8 of a VGA controller (vfio_pci_is_vga).
constexpr std::uint32_t PCI_CLASS_DISPLAY_VGA = 0x0300;

host& host_of(device& dev) { return *core_of(dev.k).h; }

std::uint16_t hw_command(device& dev, sc_core::sc_time& d) {
    std::uint8_t b[2] = {};
    host_of(dev).config_read(dev.dev, pci::cfg::command, b, 2, d);
    return static_cast<std::uint16_t>(b[0] | b[1] << 8);
}

void set_hw_command(device& dev, std::uint16_t v, sc_core::sc_time& d) {
    const std::uint8_t b[2] = {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8)};
    host_of(dev).config_write(dev.dev, pci::cfg::command, b, 2, d);
}

std::uint32_t le32(const std::uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | std::uint32_t(p[3]) << 24; }
void put32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put64(std::uint8_t* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// The function's resources as the PCI core assigned them (pci_dev->resource).
void read_resources(device& dev, pci_state& s) {
    const pci::pci_function* fn = dev.dev.fn;
    if (!fn) return;
    for (const pci::bar_desc& b : fn->params().bars) {
        if (b.index >= 6) continue;
        pci_resource& r = s.res[b.index];
        r.size = b.size;
        r.io = b.type == pci::bar_type::io;
        r.start = fn->bar_base(b);
    }
    if (fn->params().rom_size) {
        s.res[6].size = fn->params().rom_size;
        s.res[6].start = fn->config().rom_base();
    }
}

// vfio_pci_probe_mmaps: memory BARs of a page or more, or page-aligned ones.
void probe_mmaps(pci_state& s) {
    for (unsigned i = 0; i < 6; ++i) {
        pci_resource& r = s.res[i];
        r.mmap = r.size && !r.io && (r.size >= page_size || !(r.start & (page_size - 1)));
    }
}

// The devices of the dev_set (vfio_assign_device_set): vfio-pci functions
// sharing the bus when no slot reset exists (the twin has no hotplug slots),
// the device alone on a root bus.
std::vector<std::shared_ptr<device>> dev_set(device& dev) {
    std::vector<std::shared_ptr<device>> out;
    const bool root = host_of(dev).bus_reset_scope(dev.dev).empty();
    for (const auto& [name, other] : core_of(dev.k).devices) {
        if (!other) continue;
        if (other.get() == &dev || (!root && (other->dev.rid >> 8) == (dev.dev.rid >> 8) && !host_of(dev).bus_reset_scope(other->dev).empty()))
            out.push_back(other);
    }
    return out;
}

// vfio_pci_dev_set_resettable: a bus reset exists, and every function it
// reaches is a device of the set.
bool dev_set_resettable(device& dev, const std::vector<std::shared_ptr<device>>& set) {
    const auto scope = host_of(dev).bus_reset_scope(dev.dev);
    if (scope.empty()) return false;
    for (const pci_dev& f : scope)
        if (std::none_of(set.begin(), set.end(), [&](const auto& x) { return x->dev.name == f.name; })) return false;
    return true;
}

// vfio_pci_dev_set_try_reset: at the last close of a device, when nothing
// else of its set is open and one needs a reset.
void dev_set_try_reset(device& dev, sc_core::sc_time& d) {
    const auto set = dev_set(dev);
    bool needs = false;
    for (const auto& x : set) {
        if (x.get() != &dev && x->open_count > 0) return;
        if (x->pci && x->pci->needs_reset) needs = true;
    }
    if (!needs || !dev_set_resettable(dev, set)) return;
    if (host_of(dev).bus_reset(dev.dev, d)) return;
    for (const auto& x : set)
        if (x->pci) x->pci->needs_reset = false;
}

long get_info(device& dev, process& p, std::uint64_t arg, sc_core::sc_time& d) {
    // minsz: through num_irqs; argsz of 20 or more also gets cap_offset
    // (capsz = offsetofend(struct vfio_iommu_type1_info, cap_offset), as 6.1 has it).
    std::uint8_t info[20] = {};
    unsigned minsz = 16;
    if (p.copy_from_user(info, arg, minsz, d)) return -EFAULT;
    const std::uint32_t argsz = le32(info);
    if (argsz < minsz) return -EINVAL;
    if (argsz >= 20) {
        minsz = 20;
        put32(info + 16, 0);
    }
    std::uint32_t flags = VFIO_DEVICE_FLAGS_PCI;
    if (dev.pci->reset_works) flags |= VFIO_DEVICE_FLAGS_RESET;
    put32(info + 4, flags);
    put32(info + 8, VFIO_PCI_NUM_REGIONS);  // no device-specific regions (IGD, NVLink) on the twin's functions
    put32(info + 12, VFIO_PCI_NUM_IRQS);
    return p.copy_to_user(arg, info, minsz, d) ? -EFAULT : 0;
}

long get_region_info(device& dev, process& p, std::uint64_t arg, sc_core::sc_time& d) {
    constexpr unsigned minsz = 32;  // offsetofend(struct vfio_region_info, offset)
    std::uint8_t info[minsz] = {};
    if (p.copy_from_user(info, arg, minsz, d)) return -EFAULT;
    std::uint32_t argsz = le32(info);
    if (argsz < minsz) return -EINVAL;
    const std::uint32_t index = le32(info + 8);
    pci_state& s = *dev.pci;
    std::uint32_t flags = 0, cap_offset = le32(info + 12);
    std::uint64_t size = 0;
    bool msix_cap = false;
    switch (index) {
    case VFIO_PCI_CONFIG_REGION_INDEX:
        size = s.cfg_size;
        flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
        break;
    case VFIO_PCI_BAR0_REGION_INDEX: case VFIO_PCI_BAR1_REGION_INDEX: case VFIO_PCI_BAR2_REGION_INDEX:
    case VFIO_PCI_BAR3_REGION_INDEX: case VFIO_PCI_BAR4_REGION_INDEX: case VFIO_PCI_BAR5_REGION_INDEX:
        size = s.res[index].size;
        if (!size) break;
        flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
        if (s.res[index].mmap) {
            flags |= VFIO_REGION_INFO_FLAG_MMAP;
            // The MSI-X table's BAR stays mappable (VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, since 4.16).
            if (static_cast<int>(index) == s.msix_bar) msix_cap = true;
        }
        break;
    case VFIO_PCI_ROM_REGION_INDEX: {
        // The BAR's size, READ once pci_map_rom finds the ROM (with memory
        // decode enabled for the check, vfio_pci_memory_lock_and_enable).
        size = s.res[6].size;
        if (!size) break;
        const std::uint16_t cmd = hw_command(dev, d);
        if (!(cmd & CMD_MEMORY)) set_hw_command(dev, cmd | CMD_MEMORY, d);
        std::uint8_t b[4] = {};
        host& h = host_of(dev);
        h.config_read(dev.dev, pci::cfg::rom, b, 4, d);
        const std::uint32_t rom_bar = le32(b);
        put32(b, rom_bar | ROM_ENABLE);
        h.config_write(dev.dev, pci::cfg::rom, b, 4, d);
        std::uint8_t sig[2] = {};
        const bool ok = h.mmio(false, s.res[6].start, sig, 2, d) == 0 && sig[0] == 0x55 && sig[1] == 0xaa;
        put32(b, rom_bar);
        h.config_write(dev.dev, pci::cfg::rom, b, 4, d);
        set_hw_command(dev, cmd, d);
        if (ok) flags = VFIO_REGION_INFO_FLAG_READ;
        else size = 0;
        break;
    }
    case VFIO_PCI_VGA_REGION_INDEX:
        if (!s.has_vga) return -EINVAL;
        size = 0xc0000;
        flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
        break;
    default:
        return -EINVAL;  // index >= VFIO_PCI_NUM_REGIONS + vdev->num_regions
    }
    if (msix_cap) {
        // struct vfio_info_cap_header { id, version 1, next 0 } after the structure.
        flags |= VFIO_REGION_INFO_FLAG_CAPS;
        constexpr unsigned capsz = 8;
        if (argsz < minsz + capsz) {
            argsz = minsz + capsz;
            cap_offset = 0;
        } else {
            std::uint8_t cap[capsz] = {static_cast<std::uint8_t>(VFIO_REGION_INFO_CAP_MSIX_MAPPABLE), 0, 1, 0, 0, 0, 0, 0};
            if (p.copy_to_user(arg + minsz, cap, capsz, d)) return -EFAULT;
            cap_offset = minsz;
        }
    }
    put32(info, argsz);
    put32(info + 4, flags);
    put32(info + 12, cap_offset);
    put64(info + 16, size);
    put64(info + 24, vfio_pci_index_to_offset(index));
    return p.copy_to_user(arg, info, minsz, d) ? -EFAULT : 0;
}

long hot_reset_info(device& dev, process& p, std::uint64_t arg, sc_core::sc_time& d) {
    constexpr unsigned minsz = hot_reset_header_size;  // offsetofend(struct vfio_pci_hot_reset_info, count)
    std::uint8_t hdr[minsz] = {};
    if (p.copy_from_user(hdr, arg, minsz, d)) return -EFAULT;
    const std::uint32_t argsz = le32(hdr);
    if (argsz < minsz) return -EINVAL;
    put32(hdr + 4, 0);
    host& h = host_of(dev);
    // No slot reset (no hotplug slots); pci_probe_reset_bus fails on a root bus.
    const auto scope = h.bus_reset_scope(dev.dev);
    if (scope.empty()) return -ENODEV;
    long ret = 0;
    std::vector<std::uint8_t> devices;
    std::uint32_t count = 0;
    if (argsz < minsz + scope.size() * dependent_device_size) {
        ret = -ENOSPC;
        count = static_cast<std::uint32_t>(scope.size());
    } else {
        if (dev.k.kmalloc_fails()) return -ENOMEM;
        for (const pci_dev& f : scope) {
            const auto g = h.iommu_group(f.name);
            if (!g) return -EPERM;  // vfio_pci_fill_devs: "Cannot reset non-isolated devices"
            std::uint8_t e[dependent_device_size] = {};
            put32(e, *g);
            e[4] = 0, e[5] = 0;  // segment (the twin's functions are in segment 0)
            e[6] = static_cast<std::uint8_t>(f.rid >> 8);
            e[7] = static_cast<std::uint8_t>(f.rid);
            devices.insert(devices.end(), e, e + sizeof e);
            ++count;
        }
    }
    put32(hdr + 8, count);
    if (p.copy_to_user(arg, hdr, minsz, d)) ret = -EFAULT;
    if (!ret && !devices.empty() && p.copy_to_user(arg + minsz, devices.data(), devices.size(), d)) ret = -EFAULT;
    return ret;
}

long hot_reset(device& dev, process& p, std::uint64_t arg, sc_core::sc_time& d) {
    constexpr unsigned minsz = hot_reset_header_size;  // offsetofend(struct vfio_pci_hot_reset, count)
    std::uint8_t hdr[minsz] = {};
    if (p.copy_from_user(hdr, arg, minsz, d)) return -EFAULT;
    if (le32(hdr) < minsz || le32(hdr + 4)) return -EINVAL;
    host& h = host_of(dev);
    const auto scope = h.bus_reset_scope(dev.dev);
    if (scope.empty()) return -ENODEV;
    const std::uint32_t count = le32(hdr + 8);
    // "Somewhere between 1 and count is OK": one group per affected function at most.
    if (!count || count > scope.size()) return -EINVAL;
    if (dev.k.kmalloc_fails()) return -ENOMEM;
    std::vector<std::uint8_t> fds(std::size_t(count) * 4);
    if (p.copy_from_user(fds.data(), arg + minsz, fds.size(), d)) return -EFAULT;
    std::vector<std::shared_ptr<group>> groups;
    for (std::uint32_t i = 0; i < count; ++i) {
        const auto fd = static_cast<std::int32_t>(le32(&fds[std::size_t(i) * 4]));
        const file_ref f = p.lookup(fd);
        if (!f) return -EBADF;
        const auto gf = std::dynamic_pointer_cast<group_file>(f);
        if (!gf) return -EINVAL;  // vfio_file_is_group
        groups.push_back(gf->g);
    }
    // vfio_pci_dev_set_hot_reset.
    const auto set = dev_set(dev);
    if (!dev_set_resettable(dev, set)) return -EINVAL;
    for (const auto& x : set)
        if (std::none_of(groups.begin(), groups.end(), [&](const auto& g) { return g && g->id == x->group_id; }))
            return -EINVAL;  // vfio_dev_in_groups: every device of the set must be in a group passed
    const int e = h.bus_reset(dev.dev, d);
    return e ? -e : 0;
}

// vfio_pci_bar_rw and do_io_rw: BARs and the ROM, 4, 2 or 1 bytes at a
// time as alignment allows; the MSI-X table reads all ones and drops writes.
long bar_rw(device& dev, process& p, std::uint64_t buf, std::uint64_t count, std::uint64_t pos, bool write, sc_core::sc_time& d) {
    pci_state& s = *dev.pci;
    const unsigned bar = static_cast<unsigned>(pos >> VFIO_PCI_OFFSET_SHIFT);
    std::uint64_t off = pos & offset_mask;
    const pci_resource& r = s.res[bar];
    if (!r.start || !r.size) return -EINVAL;
    if (off >= r.size) return -EINVAL;
    count = std::min(count, r.size - off);
    host& h = host_of(dev);
    std::uint64_t x_start = 0, x_end = 0;
    std::uint32_t rom_bar = 0;
    if (bar == VFIO_PCI_ROM_REGION_INDEX) {
        // pci_map_rom: enables the ROM's decode; it must hold a ROM image.
        std::uint8_t b[4] = {};
        h.config_read(dev.dev, pci::cfg::rom, b, 4, d);
        rom_bar = le32(b);
        put32(b, rom_bar | ROM_ENABLE);
        h.config_write(dev.dev, pci::cfg::rom, b, 4, d);
        std::uint8_t sig[2] = {};
        if (!memory_enabled(dev, s) || h.mmio(false, r.start, sig, 2, d) || sig[0] != 0x55 || sig[1] != 0xaa) {
            put32(b, rom_bar);
            h.config_write(dev.dev, pci::cfg::rom, b, 4, d);
            return -ENOMEM;
        }
        x_start = x_end = r.size;  // the ROM image fills its BAR on the twin
    }
    if (static_cast<int>(bar) == s.msix_bar) {
        x_start = s.msix_offset;
        x_end = s.msix_offset + s.msix_size;
    }
    const bool test_mem = !r.io;
    long done = 0, ret = 0;
    while (count) {
        std::uint64_t fillable = 0;
        if (off < x_start) fillable = std::min(count, x_start - off);
        else if (off >= x_end) fillable = count;
        unsigned n = 0;
        if (fillable >= 4 && !(off % 4)) n = 4;
        else if (fillable >= 2 && !(off % 2)) n = 2;
        else if (fillable) n = 1;
        std::uint64_t filled = n;
        if (n) {
            // vfio_pci_ioread/iowrite: memory BARs only while decode is enabled.
            if (test_mem && !memory_enabled(dev, s)) {
                ret = -EIO;
                break;
            }
            std::uint8_t b[4] = {};
            if (write && p.copy_from_user(b, buf, n, d)) {
                ret = -EFAULT;
                break;
            }
            const int e = r.io ? h.io_port(write, static_cast<std::uint32_t>(r.start + off), b, n, d)
                               : h.mmio(write, r.start + off, b, n, d);
            // A load the device does not complete reads all ones, as on a CPU.
            if (e && !write) std::memset(b, 0xff, n);
            if (!write && p.copy_to_user(buf, b, n, d)) {
                ret = -EFAULT;
                break;
            }
        } else {
            filled = std::min(count, x_end - off);
            if (!write) {
                std::vector<std::uint8_t> ones(filled, 0xff);
                if (p.copy_to_user(buf, ones.data(), filled, d)) {
                    ret = -EFAULT;
                    break;
                }
            }
        }
        count -= filled;
        done += static_cast<long>(filled);
        off += filled;
        buf += filled;
    }
    if (bar == VFIO_PCI_ROM_REGION_INDEX) {
        std::uint8_t b[4] = {};
        put32(b, rom_bar);
        h.config_write(dev.dev, pci::cfg::rom, b, 4, d);  // pci_unmap_rom
    }
    return ret ? ret : done;
}

// vfio_pci_rw.
long region_rw(device& dev, process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, bool write, sc_core::sc_time& d) {
    if (!len) return 0;
    const std::uint64_t index = pos >> VFIO_PCI_OFFSET_SHIFT;
    if (index >= VFIO_PCI_NUM_REGIONS) return -EINVAL;
    if (!dev.pci) return -EINVAL;
    long r = 0;
    switch (index) {
    case VFIO_PCI_CONFIG_REGION_INDEX:
        r = config_rw(dev, *dev.pci, p, buf, len, pos & offset_mask, write, d);
        break;
    case VFIO_PCI_ROM_REGION_INDEX:
        r = write ? -EINVAL : bar_rw(dev, p, buf, len, pos, false, d);
        break;
    case VFIO_PCI_VGA_REGION_INDEX:
        // vfio_pci_vga_rw: legacy VGA ranges of a VGA device; none of the
        // twin's functions decodes them.
        r = -EINVAL;
        break;
    default:
        r = bar_rw(dev, p, buf, len, pos, write, d);
        break;
    }
    if (r > 0) pos += static_cast<std::uint64_t>(r);
    return r;
}

} // namespace

int try_reset_function(device& dev, sc_core::sc_time& d) {
    return host_of(dev).reset_function(dev.dev, d);
}

long pci_enable(device& dev, sc_core::sc_time& d) {
    if (!core_of(dev.k).h) return -ENODEV;
    if (dev.k.kmalloc_fails()) return -ENOMEM;
    auto s = std::make_shared<pci_state>();
    // needs_reset lives in the device (struct vfio_pci_core_device) across opens.
    if (dev.pci) s->needs_reset = dev.pci->needs_reset;
    host& h = host_of(dev);
    // "Don't allow our initial saved state to include busmaster", then
    // pci_enable_device (the decodes its resources need).
    std::uint16_t cmd = hw_command(dev, d) & static_cast<std::uint16_t>(~CMD_MASTER);
    read_resources(dev, *s);
    for (unsigned i = 0; i < 7; ++i)
        if (s->res[i].size) cmd |= s->res[i].io ? CMD_IO : CMD_MEMORY;
    set_hw_command(dev, cmd, d);
    // pci_try_reset_function: whether a reset works decides VFIO_DEVICE_RESET.
    s->reset_works = h.reset_function(dev.dev, d) == 0;
    // pci_intx_mask_supported: INTx Disable left clear for the user.
    cmd = hw_command(dev, d);
    if (cmd & CMD_INTX_DISABLE) set_hw_command(dev, cmd & static_cast<std::uint16_t>(~CMD_INTX_DISABLE), d);
    const pci::pci_function* fn = dev.dev.fn;
    s->cfg_size = fn && fn->config().find_capability(pci::cap_id::pcie) ? 4096 : 256;
    if (const long e = config_init(dev, *s, d)) return e;
    if (fn) {
        if (const auto x = fn->params().msix; x && x->vectors) {
            s->msix_bar = static_cast<int>(x->table_bar);
            s->msix_offset = x->table_offset;
            s->msix_size = x->vectors * 16;
        }
        s->has_vga = (fn->params().class_code >> 8) == PCI_CLASS_DISPLAY_VGA;
    }
    probe_mmaps(*s);  // vfio_pci_core_finish_enable
    dev.pci = s;
    return 0;
}

void pci_disable(device& dev, sc_core::sc_time& d) {
    if (!dev.pci || !core_of(dev.k).h) {
        irqs_disable(dev, d);
        return;
    }
    host& h = host_of(dev);
    // Stop the device from further DMA, then every interrupt off.
    set_hw_command(dev, hw_command(dev, d) & static_cast<std::uint16_t>(~CMD_MASTER), d);
    irqs_disable(dev, d);
    pci_state& s = *dev.pci;
    s.needs_reset = true;
    // INTx and MSI off during the reset, the reset, and the state saved at
    // enable written back (pci_restore_state): the BARs the PCI core assigned,
    // the decodes, Bus Master as it was then (clear).
    set_hw_command(dev, CMD_INTX_DISABLE, d);
    if (s.reset_works && h.reset_function(dev.dev, d) == 0) s.needs_reset = false;
    for (unsigned i = 0; i < 6; ++i) {
        std::uint8_t b[4] = {};
        put32(b, s.rbar[i]);
        h.config_write(dev.dev, pci::cfg::bar0 + 4 * i, b, 4, d);
    }
    std::uint8_t b[4] = {};
    put32(b, s.rbar[6]);
    h.config_write(dev.dev, pci::cfg::rom, b, 4, d);
    std::uint16_t cmd = 0;
    for (unsigned i = 0; i < 7; ++i)
        if (s.res[i].size) cmd |= s.res[i].io ? CMD_IO : CMD_MEMORY;
    set_hw_command(dev, cmd, d);
    // The set's bus reset when nothing else of it is open (and one needs it).
    dev_set_try_reset(dev, d);
}

long device_file::ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) {
    if (!dev->pci || !dev->open_count) return -ENODEV;
    switch (cmd) {
    case VFIO_DEVICE_GET_INFO:
        return get_info(*dev, p, arg, d);
    case VFIO_DEVICE_GET_REGION_INFO:
        return get_region_info(*dev, p, arg, d);
    case VFIO_DEVICE_GET_IRQ_INFO:
        return get_irq_info(*dev, p, arg, d);
    case VFIO_DEVICE_SET_IRQS:
        return set_irqs(*dev, p, arg, d);
    case VFIO_DEVICE_RESET:
        // vfio_pci_ioctl_reset: EINVAL unless a reset worked at enable.
        if (!dev->pci->reset_works) return -EINVAL;
        if (const int e = try_reset_function(*dev, d)) return -e;
        return 0;
    case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
        return hot_reset_info(*dev, p, arg, d);
    case VFIO_DEVICE_PCI_HOT_RESET:
        return hot_reset(*dev, p, arg, d);
    default:
        return -ENOTTY;
    }
}

long device_file::read(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d) {
    return region_rw(*dev, p, buf, len, pos, false, d);
}

long device_file::write(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d) {
    return region_rw(*dev, p, buf, len, pos, true, d);
}

// vfio_pci_core_mmap. The VMA is set up over the BAR's pages (vm_pgoff the
// BAR's frame) but no page is made present: the twin's process memory is
// guest-physical RAM of the domain and cannot hold MMIO, so an access
// through the mapping faults (EFAULT), where Linux would reach the BAR.
long device_file::mmap(process& p, vma& v, sc_core::sc_time& d) {
    (void)p, (void)d;
    if (!dev->pci) return -EINVAL;
    const pci_state& s = *dev->pci;
    constexpr unsigned shift = VFIO_PCI_OFFSET_SHIFT - 12;
    const std::uint64_t index = v.pgoff >> shift;
    if (index >= VFIO_PCI_NUM_REGIONS) return -EINVAL;
    if (v.end < v.start) return -EINVAL;
    if (!v.shared) return -EINVAL;
    if (index >= VFIO_PCI_ROM_REGION_INDEX) return -EINVAL;
    const pci_resource& r = s.res[index];
    if (!r.mmap) return -EINVAL;
    const std::uint64_t phys_len = (r.size + page_size - 1) & ~(page_size - 1);
    const std::uint64_t pgoff = v.pgoff & ((std::uint64_t(1) << shift) - 1);
    if ((pgoff << 12) + v.length() > phys_len) return -EINVAL;
    v.pgoff = (r.start >> 12) + pgoff;
    return 0;
}

void device_file::release(sc_core::sc_time& d) {
    if (--dev->open_count == 0) pci_disable(*dev, d);
    put_group_file(*this, d);
}

} // namespace iotwin::guest::vfio
