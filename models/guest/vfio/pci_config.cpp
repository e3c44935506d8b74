// The configuration space of a vfio-pci device as its user sees it
// (Linux 6.1, drivers/vfio/pci/vfio_pci_config.c). Every byte belongs to
// the standard header, a capability, or nothing ("unassigned"); the owner
// decides how an access is done:
//  - unassigned bytes (and the bytes of hidden capabilities) are raw: reads
//    and writes reach the hardware (unassigned_perms: vfio_raw_config_read /
//    _write, "we have to trust the hardware isolation");
//  - elsewhere each byte has `virt` bits, read from and written to vconfig,
//    and `write` bits the user may change; a read merges the hardware's
//    non-virtual bits with vconfig's (vfio_default_config_read), a write
//    stores the virtual writable bits in vconfig and read-modify-writes the
//    non-virtual writable bits in the hardware (vfio_default_config_write);
//  - capabilities without a permission table are read directly and ignore
//    writes (cap_perms default: vfio_direct_config_read), with the
//    capability header read from vconfig so the chain is the exposed one.
// The header's BARs and ROM BAR, Interrupt Line and Pin, Capabilities
// Pointer and INTx Disable are virtual (init_pci_cap_basic_perm); BAR reads
// give the sizing answer (vfio_bar_fixup). Memory and I/O Space Enable go to
// the hardware and are mirrored in vconfig (vfio_basic_config_write), which
// gates BAR access (__vfio_pci_memory_enabled).
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "models/guest/kernel.h"
#include "models/guest/process.h"
#include "models/guest/vfio/pci_private.h"
#include "models/pci/pci_function.h"

namespace iotwin::guest::vfio {

namespace {

namespace c = pci::cfg;
constexpr std::uint16_t CMD_IO = 0x1, CMD_MEMORY = 0x2, CMD_INTX_DISABLE = 0x400;
constexpr std::uint16_t STATUS_CAP_LIST = 0x10;
constexpr std::uint32_t ROM_ENABLE = 0x1;
// Capability IDs (include/uapi/linux/pci_regs.h) and the lengths vfio gives
// them (pci_cap_length; 0xff: computed from the capability, 0: hidden).
constexpr std::uint8_t CAP_PM = 0x01, CAP_MSI = 0x05, CAP_EXP = 0x10, CAP_ID_MAX = 0x14;
constexpr std::uint8_t cap_length[CAP_ID_MAX + 1] = {
    64,    // basic
    8,     // PM: PCI_PM_SIZEOF
    8,     // AGP: PCI_AGP_SIZEOF
    8,     // VPD: PCI_CAP_VPD_SIZEOF
    0,     // Slot ID
    0xff,  // MSI: 10, 14, 20 or 24
    0,     // CompactPCI hot swap
    0xff,  // PCI-X
    0xff,  // HyperTransport
    0xff,  // vendor specific
    0,     // debug port
    0,     // CompactPCI central resource control
    0,     // hot-plug controller
    0,     // bridge subsystem vendor
    0,     // AGP 8x
    0,     // secure device
    0xff,  // PCI Express: by version
    12,    // MSI-X: PCI_CAP_MSIX_SIZEOF
    0xff,  // SATA
    6,     // Advanced Features: PCI_CAP_AF_SIZEOF
    0,     // Enhanced Allocation
};
// PCI Express capability registers.
constexpr std::uint32_t EXP_FLAGS = 2, EXP_DEVCAP = 4, EXP_DEVCTL = 8, EXP_DEVCTL2 = 0x28;
constexpr std::uint16_t DEVCTL_PAYLOAD = 0x00e0, DEVCTL_PHANTOM = 0x0200, DEVCTL_READRQ = 0x7000, DEVCTL_BCR_FLR = 0x8000;
constexpr std::uint16_t DEVCTL2_ARI = 0x0020;
constexpr std::uint32_t DEVCAP_FLR = 1u << 28;
// PCI_CAP_EXP_ENDPOINT_SIZEOF_V1 / _V2 (v1 / v2 endpoints without link end there).
constexpr std::uint32_t EXP_SIZEOF_V1 = 20, EXP_SIZEOF_V2 = 44;
// MSI.
constexpr std::uint32_t MSI_FLAGS = 2, MSI_ADDRESS_LO = 4, MSI_ADDRESS_HI = 8;
constexpr std::uint16_t MSI_ENABLE = 0x1, MSI_QMASK = 0xe, MSI_QSIZE = 0x70, MSI_64BIT = 0x80, MSI_MASKBIT = 0x100;
// PM.
constexpr std::uint32_t PM_CTRL = 4;
constexpr std::uint32_t PM_STATE_MASK = 0x3;
// Extended capabilities: ACS length by its vector size, SR-IOV PCI_EXT_CAP_SRIOV_SIZEOF.
constexpr std::uint16_t ECAP_ACS = 0x0d, ECAP_SRIOV = 0x10;

host& host_of(device& dev) { return *core_of(dev.k).h; }

std::uint32_t hw_read(device& dev, std::uint32_t off, unsigned len, sc_core::sc_time& d, int* err = nullptr) {
    std::uint8_t b[4] = {};
    const int e = host_of(dev).config_read(dev.dev, off, b, len, d);
    if (err) *err = e;
    if (e) return 0;
    std::uint32_t v = 0;
    for (unsigned i = 0; i < len; ++i) v |= std::uint32_t(b[i]) << (8 * i);
    return v;
}

int hw_write(device& dev, std::uint32_t off, std::uint32_t v, unsigned len, sc_core::sc_time& d) {
    std::uint8_t b[4] = {};
    for (unsigned i = 0; i < len; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
    return host_of(dev).config_write(dev.dev, off, b, len, d);
}

std::uint32_t vget(const pci_state& s, std::uint32_t off, unsigned len) {
    std::uint32_t v = 0;
    for (unsigned i = 0; i < len && off + i < s.vconfig.size(); ++i) v |= std::uint32_t(s.vconfig[off + i]) << (8 * i);
    return v;
}

void vset(pci_state& s, std::uint32_t off, std::uint32_t v, unsigned len) {
    for (unsigned i = 0; i < len && off + i < s.vconfig.size(); ++i) s.vconfig[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// p_setb / p_setw / p_setd: permission bits of `len` bytes at `off`.
void perm(pci_state& s, std::uint32_t off, unsigned len, std::uint32_t virt, std::uint32_t write) {
    for (unsigned i = 0; i < len && off + i < s.virt.size(); ++i) {
        s.virt[off + i] = static_cast<std::uint8_t>(virt >> (8 * i));
        s.write[off + i] = static_cast<std::uint8_t>(write >> (8 * i));
    }
}

void own(pci_state& s, std::uint32_t start, std::uint32_t len, std::uint16_t id) {
    for (std::uint32_t i = start; i < start + len && i < s.map.size(); ++i) {
        s.map[i] = id;
        s.cap_start[i] = start;
    }
}

// init_pci_cap_basic_perm.
void basic_perms(pci_state& s) {
    perm(s, c::vendor_id, 2, 0xffff, 0);
    perm(s, c::device_id, 2, 0xffff, 0);
    perm(s, c::command, 2, CMD_INTX_DISABLE, 0xffff);
    perm(s, c::status, 2, STATUS_CAP_LIST, 0);
    perm(s, c::cache_line, 1, 0, 0xff);
    perm(s, c::latency_timer, 1, 0, 0xff);
    perm(s, c::bist, 1, 0, 0xff);
    for (std::uint32_t b = 0; b < 6; ++b) perm(s, c::bar0 + 4 * b, 4, 0xffffffffu, 0xffffffffu);
    perm(s, c::rom, 4, 0xffffffffu, 0xffffffffu);
    perm(s, c::cap_ptr, 1, 0xff, 0);
    perm(s, c::interrupt_line, 1, 0xff, 0xff);
    perm(s, c::interrupt_pin, 1, 0xff, 0);
}

// The length vfio gives a capability it keeps (vfio_cap_len for the computed ones).
std::uint32_t cap_len(device& dev, pci_state& s, std::uint8_t id, std::uint32_t pos, sc_core::sc_time& d) {
    if (id > CAP_ID_MAX) return 0;
    if (cap_length[id] != 0xff) return cap_length[id];
    switch (id) {
    case CAP_MSI: {
        const auto flags = static_cast<std::uint16_t>(hw_read(dev, pos + MSI_FLAGS, 2, d));
        s.msi_qmax = (flags & MSI_QMASK) >> 1;
        return 10u + ((flags & MSI_64BIT) ? 4u : 0u) + ((flags & MSI_MASKBIT) ? 10u : 0u);
    }
    case CAP_EXP: {
        const auto flags = static_cast<std::uint16_t>(hw_read(dev, pos + EXP_FLAGS, 2, d));
        return (flags & 0xf) == 1 ? EXP_SIZEOF_V1 : EXP_SIZEOF_V2;
    }
    default:
        // PCI-X, HyperTransport, vendor specific, SATA: none of the twin's
        // functions has them; vfio reads their length from the capability.
        return 0;
    }
}

// A kept capability's permissions (init_pci_cap_*_perm); the header's ID
// and Next bytes always come from vconfig.
void cap_perms(device& dev, pci_state& s, std::uint8_t id, std::uint32_t pos, sc_core::sc_time& d) {
    perm(s, pos, 2, 0xffff, 0);
    switch (id) {
    case CAP_PM:
        // The power state is changed by vfio itself (vfio_pm_config_write), the rest reaches the hardware.
        perm(s, pos + PM_CTRL, 4, 0, ~PM_STATE_MASK);
        break;
    case CAP_MSI: {
        // init_pci_cap_msi_perm: flags' low byte, address and data virtual
        // (vfio programs the real ones); mask and pending bits to the hardware.
        const auto flags = static_cast<std::uint16_t>(hw_read(dev, pos + MSI_FLAGS, 2, d));
        perm(s, pos + MSI_FLAGS, 1, 0xff, 0xff);
        perm(s, pos + MSI_ADDRESS_LO, 4, 0xffffffffu, 0xffffffffu);
        const std::uint32_t data = (flags & MSI_64BIT) ? 12 : 8;
        if (flags & MSI_64BIT) perm(s, pos + MSI_ADDRESS_HI, 4, 0xffffffffu, 0xffffffffu);
        perm(s, pos + data, 2, 0xffff, 0xffff);
        if (flags & MSI_MASKBIT) {
            perm(s, pos + data + 4, 4, 0, 0xffffffffu);
            perm(s, pos + data + 8, 4, 0, 0xffffffffu);
        }
        break;
    }
    case CAP_EXP:
        // init_pci_cap_exp_perm: Device Control writable except Phantom
        // Functions; FLR, Max_Payload_Size and Max_Read_Request_Size virtual
        // (vfio_exp_config_write acts on them); Device Control 2 except ARI.
        perm(s, pos + EXP_DEVCTL, 2, DEVCTL_BCR_FLR | DEVCTL_PAYLOAD | DEVCTL_READRQ, static_cast<std::uint16_t>(~DEVCTL_PHANTOM));
        perm(s, pos + EXP_DEVCTL2, 2, 0, static_cast<std::uint16_t>(~DEVCTL2_ARI));
        break;
    default:
        break;  // read directly, writes ignored
    }
}

// vfio_cap_init: walks the list, keeps the capabilities vfio knows, hides
// the others by linking around them in vconfig; with none kept, the
// Capabilities List bit of Status reads clear.
void cap_init(device& dev, pci_state& s, sc_core::sc_time& d) {
    const auto status = static_cast<std::uint16_t>(hw_read(dev, c::status, 2, d));
    if (!(status & STATUS_CAP_LIST)) return;
    std::uint32_t prev = c::cap_ptr;
    std::uint32_t pos = hw_read(dev, c::cap_ptr, 1, d);
    unsigned loops = (0x100 - 0x40) / 4, caps = 0;
    while (pos && loops--) {
        const std::uint32_t hdr = hw_read(dev, pos, 2, d);
        const auto id = static_cast<std::uint8_t>(hdr);
        const std::uint32_t next = (hdr >> 8) & 0xff;
        // ID 0 is a NULL capability: hidden.
        const std::uint32_t len = id ? cap_len(dev, s, id, pos, d) : 0;
        if (!len) {
            vset(s, prev, next, 1);  // *prev = next
            pos = next;
            continue;
        }
        own(s, pos, std::min<std::uint32_t>(len, 0x100 - pos), id);
        cap_perms(dev, s, id, pos, d);
        prev = pos + 1;
        pos = next;
        ++caps;
    }
    if (!caps) vset(s, c::status, vget(s, c::status, 2) & ~std::uint32_t(STATUS_CAP_LIST), 2);
}

// vfio_ecap_init, with the lengths of the extended capabilities the twin's
// functions have (pci_ext_cap_length: SR-IOV PCI_EXT_CAP_SRIOV_SIZEOF,
// ACS from its egress vector, vfio_ext_cap_len); a capability of unknown
// length is skipped, or, first in the chain, kept as a placeholder whose ID
// reads 0. Only with extended configuration space present (extended_caps:
// the dword at 0x100 is not 0).
void ecap_init(device& dev, pci_state& s, sc_core::sc_time& d) {
    if (!hw_read(dev, 0x100, 4, d)) return;
    std::uint32_t epos = 0x100;
    std::optional<std::uint32_t> prev;
    unsigned loops = (s.cfg_size - 0x100) / 4, ecaps = 0;
    while (loops-- && epos >= 0x100 && epos + 4 <= s.cfg_size) {
        const std::uint32_t hdr = hw_read(dev, epos, 4, d);
        const std::uint16_t id = hdr & 0xffff;
        std::uint32_t len = 0;
        bool hidden = false;
        if (id == ECAP_SRIOV) {
            len = 0x40;
        } else if (id == ECAP_ACS) {
            len = 8;
            if (hw_read(dev, epos + 4, 1, d) & 0x20) {  // PCI_ACS_EC: the egress control vector follows
                const std::uint32_t bits = hw_read(dev, epos + 5, 1, d);
                len = 8 + (bits ? (bits + 31) / 32 * 32 : 256) / 8;
            }
        }
        if (!len) {
            if (prev) {
                epos = hdr >> 20;
                vset(s, *prev, (vget(s, *prev, 4) & ~(0xffcu << 20)) | (epos << 20), 4);
                continue;
            }
            len = 4;
            hidden = true;
        }
        own(s, epos, std::min<std::uint32_t>(len, s.cfg_size - epos), static_cast<std::uint16_t>(pci_state::ecap + id));
        perm(s, epos, 4, 0xffffffffu, 0);
        if (hidden) vset(s, epos, vget(s, epos, 4) & (0xffcu << 20), 4);
        else ++ecaps;
        prev = epos;
        epos = hdr >> 20;
    }
    if (!ecaps) vset(s, 0x100, 0, 4);
}

// vfio_bar_fixup: the virtual BARs answer sizing as the real ones would.
void bar_fixup(pci_state& s) {
    for (unsigned i = 0; i < 6; ++i) {
        const std::uint32_t off = c::bar0 + 4 * i;
        const pci_resource& r = s.res[i];
        std::uint32_t v = vget(s, off, 4);
        if (!r.size) {
            // The upper half of a 64-bit BAR takes its mask from the lower.
            if (i > 0 && s.res[i - 1].size && (s.rbar[i - 1] & 0x7) == 0x4) {
                v &= static_cast<std::uint32_t>(~(s.res[i - 1].size - 1) >> 32);
            } else {
                v = 0;
            }
        } else {
            v = (v & static_cast<std::uint32_t>(~(r.size - 1))) | (s.rbar[i] & (r.io ? 0x3u : 0xfu));
        }
        vset(s, off, v, 4);
    }
    const pci_resource& rom = s.res[6];
    std::uint32_t v = vget(s, c::rom, 4);
    v = rom.size ? v & (static_cast<std::uint32_t>(~(rom.size - 1)) | ROM_ENABLE) : 0;
    vset(s, c::rom, v, 4);
}

bool is_bar(std::uint32_t off) { return (off >= c::bar0 && off < c::bar0 + 24) || (off >= c::rom && off < c::rom + 4); }

// vfio_bar_restore: a reset behind vfio's back left the hardware BARs
// cleared; the addresses the PCI core assigned go back.
void bar_restore(device& dev, pci_state& s, sc_core::sc_time& d) {
    for (unsigned i = 0; i < 6; ++i) hw_write(dev, c::bar0 + 4 * i, s.rbar[i], 4, d);
    hw_write(dev, c::rom, s.rbar[6], 4, d);
}

bool need_bar_restore(device& dev, pci_state& s, sc_core::sc_time& d) {
    for (unsigned i = 0; i < 6; ++i)
        if (s.res[i].size && hw_read(dev, c::bar0 + 4 * i, 4, d) != s.rbar[i]) return true;
    return false;
}

// vfio_default_config_read on `n` bytes at `pos`.
long default_read(device& dev, pci_state& s, std::uint32_t pos, unsigned n, std::uint32_t& val, sc_core::sc_time& d) {
    std::uint32_t virt = 0;
    for (unsigned i = 0; i < n; ++i) virt |= std::uint32_t(s.virt[pos + i]) << (8 * i);
    val = vget(s, pos, n);
    const std::uint32_t all = n == 4 ? 0xffffffffu : (1u << (8 * n)) - 1;
    if (virt != all) {
        int e = 0;
        const std::uint32_t phys = hw_read(dev, pos, n, d, &e);
        if (e) return -e;
        val = (phys & ~virt) | (val & virt);
    }
    return n;
}

// vfio_default_config_write.
long default_write(device& dev, pci_state& s, std::uint32_t pos, unsigned n, std::uint32_t val, sc_core::sc_time& d) {
    std::uint32_t virt = 0, write = 0;
    for (unsigned i = 0; i < n; ++i) {
        virt |= std::uint32_t(s.virt[pos + i]) << (8 * i);
        write |= std::uint32_t(s.write[pos + i]) << (8 * i);
    }
    if (!write) return n;
    if (write & virt) vset(s, pos, (vget(s, pos, n) & ~(write & virt)) | (val & write & virt), n);
    if (write & ~virt) {
        int e = 0;
        std::uint32_t phys = hw_read(dev, pos, n, d, &e);
        if (e) return -e;
        phys = (phys & ~(write & ~virt)) | (val & write & ~virt);
        if (const int w = hw_write(dev, pos, phys, n, d)) return -w;
    }
    return n;
}

// vfio_basic_config_write: the command register's enables, then the default write.
long basic_write(device& dev, pci_state& s, std::uint32_t pos, unsigned n, std::uint32_t val, sc_core::sc_time& d) {
    const bool command = pos == c::command;
    if (command) {
        int e = 0;
        const auto phys = static_cast<std::uint16_t>(hw_read(dev, c::command, 2, d, &e));
        if (e) return -e;
        const auto virt_cmd = static_cast<std::uint16_t>(vget(s, c::command, 2));
        const auto new_cmd = static_cast<std::uint16_t>(val);
        const bool new_mem = new_cmd & CMD_MEMORY, virt_mem = virt_cmd & CMD_MEMORY, phys_mem = phys & CMD_MEMORY;
        const bool new_io = new_cmd & CMD_IO, virt_io = virt_cmd & CMD_IO, phys_io = phys & CMD_IO;
        if ((new_mem && virt_mem && !phys_mem) || (new_io && virt_io && !phys_io) || need_bar_restore(dev, s, d))
            bar_restore(dev, s, d);
    }
    const long r = default_write(dev, s, pos, n, val, d);
    if (r < 0) return r;
    if (command) {
        // The enables are remembered in vconfig for the test above and for
        // __vfio_pci_memory_enabled.
        const auto v = static_cast<std::uint16_t>(vget(s, c::command, 2));
        vset(s, c::command, (v & ~(CMD_MEMORY | CMD_IO)) | (val & (CMD_MEMORY | CMD_IO)), 2);
    }
    if (pos <= c::command + 1 && pos + n > c::command) {
        // Emulated INTx Disable (vdev->virq_disabled): the interrupt side
        // masks or unmasks INTx as it changes (pci_intrs.cpp).
        s.virq_disabled = vget(s, c::command, 2) & CMD_INTX_DISABLE;
        intx_virtual_disable(dev, s.virq_disabled, d);
    }
    return r;
}

// vfio_exp_config_write: FLR and MRRS.
long exp_write(device& dev, pci_state& s, std::uint32_t cap, std::uint32_t pos, unsigned n, std::uint32_t val, sc_core::sc_time& d) {
    const std::uint32_t ctl = cap + EXP_DEVCTL;
    const std::uint32_t readrq = vget(s, ctl, 2) & DEVCTL_READRQ;
    const long r = default_write(dev, s, pos, n, val, d);
    if (r < 0) return r;
    std::uint32_t v = vget(s, ctl, 2);
    if (v & DEVCTL_BCR_FLR) {
        // The bit always reads 0; a function with FLR is reset (pci_try_reset_function).
        v &= ~std::uint32_t(DEVCTL_BCR_FLR);
        vset(s, ctl, v, 2);
        int e = 0;
        const std::uint32_t devcap = hw_read(dev, cap + EXP_DEVCAP, 4, d, &e);
        if (!e && (devcap & DEVCAP_FLR)) try_reset_function(dev, d);
    }
    if (readrq != (v & DEVCTL_READRQ)) {
        // MRRS reaches the hardware, no lower than the physical MPS (pcie_set_readrq).
        const std::uint32_t phys = hw_read(dev, ctl, 2, d);
        const std::uint32_t mps = (phys & DEVCTL_PAYLOAD) >> 5;
        const std::uint32_t rq = std::max((v & DEVCTL_READRQ) >> 12, mps);
        hw_write(dev, ctl, (phys & ~std::uint32_t(DEVCTL_READRQ)) | (rq << 12), 2, d);
    }
    return r;
}

// vfio_msi_config_write: the queue size is bounded by the capability's, and
// the enable bit belongs to VFIO_DEVICE_SET_IRQS.
long msi_write(device& dev, pci_state& s, std::uint32_t cap, std::uint32_t pos, unsigned n, std::uint32_t val, sc_core::sc_time& d) {
    const long r = default_write(dev, s, pos, n, val, d);
    if (r < 0) return r;
    if (pos <= cap + MSI_FLAGS && pos + n >= cap + MSI_FLAGS) {
        auto flags = static_cast<std::uint16_t>(vget(s, cap + MSI_FLAGS, 2));
        // "MSI is enabled via ioctl": kept only while MSI is the index in use,
        // which shows in the hardware's enable that the ioctl set.
        if (!dev.dev.fn || !dev.dev.fn->msi_enabled()) flags &= static_cast<std::uint16_t>(~MSI_ENABLE);
        if (((flags & MSI_QSIZE) >> 4) > s.msi_qmax)
            flags = static_cast<std::uint16_t>((flags & ~MSI_QSIZE) | (s.msi_qmax << 4));
        vset(s, cap + MSI_FLAGS, flags, 2);
        if (const int e = hw_write(dev, cap + MSI_FLAGS, flags, 2, d)) return -e;
    }
    return r;
}

// vfio_pm_config_write: the power state the user writes is set by vfio.
long pm_write(device& dev, pci_state& s, std::uint32_t cap, std::uint32_t pos, unsigned n, std::uint32_t val, sc_core::sc_time& d) {
    const long r = default_write(dev, s, pos, n, val, d);
    if (r < 0) return r;
    if (pos == cap + PM_CTRL) {
        const std::uint32_t state = val & PM_STATE_MASK;
        if (state == 0 || state == 3) {  // D1/D2: the twin's functions support neither (pci_set_power_state refuses)
            const std::uint32_t pmcsr = hw_read(dev, cap + PM_CTRL, 2, d);
            hw_write(dev, cap + PM_CTRL, (pmcsr & ~PM_STATE_MASK & ~0x8000u) | state, 2, d);
        }
    }
    return r;
}

// vfio_config_do_rw: one access of 4, 2 or 1 bytes as alignment allows.
long do_rw(device& dev, pci_state& s, process& p, std::uint64_t buf, std::uint64_t count, std::uint32_t pos, bool write,
           sc_core::sc_time& d) {
    unsigned n = 1;
    if (count >= 4 && !(pos % 4)) n = 4;
    else if (count >= 2 && !(pos % 2)) n = 2;
    std::uint32_t val = 0;
    const std::uint16_t id = s.map[pos];
    if (write) {
        std::uint8_t b[4] = {};
        if (p.copy_from_user(b, buf, n, d)) return -EFAULT;
        for (unsigned i = 0; i < n; ++i) val |= std::uint32_t(b[i]) << (8 * i);
        if (id == pci_state::unassigned) {
            if (const int e = hw_write(dev, pos, val, n, d)) return -e;
            return n;
        }
        const std::uint32_t cap = s.cap_start[pos];
        if (id == pci_state::basic) return basic_write(dev, s, pos, n, val, d);
        if (id == CAP_EXP) return exp_write(dev, s, cap, pos, n, val, d);
        if (id == CAP_MSI) return msi_write(dev, s, cap, pos, n, val, d);
        if (id == CAP_PM) return pm_write(dev, s, cap, pos, n, val, d);
        return default_write(dev, s, pos, n, val, d);
    }
    if (id == pci_state::unassigned) {
        int e = 0;
        val = hw_read(dev, pos, n, d, &e);
        if (e) return -e;
    } else {
        if (id == pci_state::basic && is_bar(pos)) bar_fixup(s);
        const long r = default_read(dev, s, pos, n, val, d);
        if (r < 0) return r;
        if (id == CAP_MSI) {
            // vfio_msi_config_read: Multiple Message Capable is the hardware's.
            const std::uint32_t flags = s.cap_start[pos] + MSI_FLAGS;
            if (pos <= flags && pos + n > flags) {
                const unsigned sh = 8 * (flags - pos);
                val = (val & ~(std::uint32_t(MSI_QMASK) << sh)) | (std::uint32_t(s.msi_qmax << 1) << sh);
            }
        }
    }
    std::uint8_t b[4] = {};
    for (unsigned i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(val >> (8 * i));
    if (p.copy_to_user(buf, b, n, d)) return -EFAULT;
    return n;
}

} // namespace

long config_init(device& dev, pci_state& s, sc_core::sc_time& d) {
    s.vconfig.assign(s.cfg_size, 0);
    s.map.assign(s.cfg_size, pci_state::unassigned);
    s.cap_start.assign(s.cfg_size, 0);
    s.virt.assign(s.cfg_size, 0);
    s.write.assign(s.cfg_size, 0);
    // vfio_fill_vconfig_bytes: the whole space as the hardware has it.
    for (std::uint32_t off = 0; off < s.cfg_size; off += 4) {
        int e = 0;
        const std::uint32_t v = hw_read(dev, off, 4, d, &e);
        if (e) return -e;
        vset(s, off, v, 4);
    }
    for (unsigned i = 0; i < 6; ++i) s.rbar[i] = vget(s, c::bar0 + 4 * i, 4);
    s.rbar[6] = vget(s, c::rom, 4);
    own(s, 0, 64, pci_state::basic);
    basic_perms(s);
    cap_init(dev, s, d);
    if (s.cfg_size > 0x100) ecap_init(dev, s, d);
    return 0;
}

long config_rw(device& dev, pci_state& s, process& p, std::uint64_t buf, std::uint64_t count, std::uint64_t pos, bool write,
               sc_core::sc_time& d) {
    // vfio_config_do_rw's bounds: the access must lie inside cfg_size.
    if (pos >= s.cfg_size || pos + count > s.cfg_size) return -EFAULT;
    long done = 0;
    while (count) {
        const long r = do_rw(dev, s, p, buf, count, static_cast<std::uint32_t>(pos), write, d);
        if (r < 0) return r;
        count -= static_cast<std::uint64_t>(r);
        done += r;
        buf += static_cast<std::uint64_t>(r);
        pos += static_cast<std::uint64_t>(r);
    }
    return done;
}

bool memory_enabled(device& dev, const pci_state& s) {
    if (dev.dev.fn && dev.dev.fn->in_d3hot()) return false;
    return vget(s, c::command, 2) & CMD_MEMORY;
}

} // namespace iotwin::guest::vfio
