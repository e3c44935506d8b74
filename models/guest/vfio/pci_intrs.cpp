// Interrupts of a function bound to vfio-pci, as Linux 6.1 has them:
// VFIO_DEVICE_GET_IRQ_INFO (drivers/vfio/pci/vfio_pci_core.c,
// vfio_pci_ioctl_get_irq_info and vfio_pci_get_irq_count), VFIO_DEVICE_SET_IRQS
// (vfio_pci_ioctl_set_irqs, drivers/vfio/vfio_main.c
// vfio_set_irqs_validate_and_prepare, drivers/vfio/pci/vfio_pci_intrs.c), the
// irqfd-style INTx unmask (drivers/vfio/virqfd.c) and the device request
// (vfio_pci_core_request). The function's MSI and MSI-X registers are
// programmed as the kernel's PCI MSI core does it (drivers/pci/msi/msi.c),
// through configuration space and the MSI-X table in the function's BAR, with
// vectors the hypervisor binds to the host domain; the host kernel's handlers
// signal the user's eventfds. docs/drivers/vfio-irqs.md has the errno table.
#include <cerrno>
#include <cstring>

#include "models/guest/eventfd.h"
#include "models/guest/kernel.h"
#include "models/guest/process.h"
#include "models/guest/vfio/vfio.h"
#include "models/hyp/hypervisor.h"

namespace iotwin::guest::vfio {

namespace {

using sc_core::sc_time;

// Configuration space registers (include/uapi/linux/pci_regs.h).
constexpr std::uint32_t PCI_COMMAND = 0x04, PCI_STATUS = 0x06, PCI_CAPABILITY_LIST = 0x34, PCI_INTERRUPT_PIN = 0x3d;
constexpr std::uint16_t PCI_COMMAND_MEMORY = 0x2, PCI_COMMAND_INTX_DISABLE = 0x400;
constexpr std::uint16_t PCI_STATUS_INTERRUPT = 0x8, PCI_STATUS_CAP_LIST = 0x10;
constexpr std::uint8_t PCI_CAP_ID_MSI = 0x05, PCI_CAP_ID_EXP = 0x10, PCI_CAP_ID_MSIX = 0x11;
constexpr std::uint16_t PCI_MSI_FLAGS_ENABLE = 0x1, PCI_MSI_FLAGS_QMASK = 0xe, PCI_MSI_FLAGS_QSIZE = 0x70,
                        PCI_MSI_FLAGS_64BIT = 0x80, PCI_MSI_FLAGS_MASKBIT = 0x100;
constexpr std::uint16_t PCI_MSIX_FLAGS_QSIZE = 0x7ff, PCI_MSIX_FLAGS_MASKALL = 0x4000, PCI_MSIX_FLAGS_ENABLE = 0x8000;
constexpr std::uint32_t PCI_MSIX_ENTRY_SIZE = 16, PCI_MSIX_ENTRY_CTRL_MASKBIT = 1;

// struct vfio_irq_info / vfio_irq_set: offsetofend(..., count).
constexpr std::uint32_t irq_info_minsz = 16, irq_set_minsz = 20;

std::uint32_t cfg_read(device& dev, std::uint32_t off, unsigned len, sc_time& d) {
    std::uint8_t b[4] = {0xff, 0xff, 0xff, 0xff};
    if (core_of(dev.k).h->config_read(dev.dev, off, b, len, d)) return len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
    std::uint32_t v = 0;
    for (unsigned i = 0; i < len; ++i) v |= std::uint32_t(b[i]) << (8 * i);
    return v;
}

void cfg_write(device& dev, std::uint32_t off, std::uint32_t v, unsigned len, sc_time& d) {
    std::uint8_t b[4];
    for (unsigned i = 0; i < 4; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
    core_of(dev.k).h->config_write(dev.dev, off, b, len, d);
}

// pci_find_capability: the offset of a capability in the list, 0 when absent.
std::uint32_t find_cap(device& dev, std::uint8_t id, sc_time& d) {
    if (!(cfg_read(dev, PCI_STATUS, 2, d) & PCI_STATUS_CAP_LIST)) return 0;
    std::uint32_t pos = cfg_read(dev, PCI_CAPABILITY_LIST, 1, d) & ~3u;
    for (unsigned ttl = 48; pos >= 0x40 && ttl; --ttl) {
        const std::uint32_t hdr = cfg_read(dev, pos, 2, d);
        if ((hdr & 0xff) == 0xff) break;
        if ((hdr & 0xff) == id) return pos;
        pos = (hdr >> 8) & ~3u;
    }
    return 0;
}

// pci_intx(): Command.Interrupt Disable cleared (enable) or set, written only when it changes.
void pci_intx(device& dev, bool enable, sc_time& d) {
    const std::uint32_t cmd = cfg_read(dev, PCI_COMMAND, 2, d);
    const std::uint32_t want = enable ? cmd & ~std::uint32_t(PCI_COMMAND_INTX_DISABLE) : cmd | PCI_COMMAND_INTX_DISABLE;
    if (want != cmd) cfg_write(dev, PCI_COMMAND, want, 2, d);
}

// pci_check_and_set_intx_mask(): masking succeeds when the function's
// Interrupt Status is set (it raised the interrupt), unmasking when it is
// clear (nothing pending); either then writes Interrupt Disable.
bool pci_check_and_set_intx_mask(device& dev, bool mask, sc_time& d) {
    const std::uint32_t dw = cfg_read(dev, PCI_COMMAND, 4, d);
    const bool pending = (dw >> 16) & PCI_STATUS_INTERRUPT;
    if (mask != pending) return false;
    const std::uint32_t orig = dw & 0xffff;
    std::uint32_t cmd = orig & ~std::uint32_t(PCI_COMMAND_INTX_DISABLE);
    if (mask) cmd |= PCI_COMMAND_INTX_DISABLE;
    if (cmd != orig) cfg_write(dev, PCI_COMMAND, cmd, 2, d);
    return true;
}

// pci_intx_mask_supported(): whether Interrupt Disable can be toggled (PCI 2.3).
bool pci_intx_mask_supported(device& dev, sc_time& d) {
    const std::uint32_t orig = cfg_read(dev, PCI_COMMAND, 2, d);
    cfg_write(dev, PCI_COMMAND, orig ^ PCI_COMMAND_INTX_DISABLE, 2, d);
    const std::uint32_t now = cfg_read(dev, PCI_COMMAND, 2, d);
    if ((now ^ orig) & ~std::uint32_t(PCI_COMMAND_INTX_DISABLE)) return false;  // other bits moved: a broken device
    if (!((now ^ orig) & PCI_COMMAND_INTX_DISABLE)) return false;
    cfg_write(dev, PCI_COMMAND, orig, 2, d);
    return true;
}

} // namespace

// One interrupt of the index in use (struct vfio_pci_irq_ctx).
struct irq_ctx {
    std::shared_ptr<eventfd> trigger;
    std::shared_ptr<eventfd> unmask;  // the virqfd of VFIO_IRQ_SET_ACTION_UNMASK | DATA_EVENTFD (INTx)
    bool masked = false;
    std::uint8_t vector = 0;           // MSI / MSI-X: the host vector of this message
};

struct irq_state {
    explicit irq_state(device& d) : dev(&d), hyp(&d.k.hyp()) {}
    ~irq_state();
    irq_state(const irq_state&) = delete;
    irq_state& operator=(const irq_state&) = delete;
    device* dev;  // the owner (irq_state lives in dev.irqs)
    hyp::hypervisor* hyp;
    unsigned irq_type = VFIO_PCI_NUM_IRQS;  // the index in use; VFIO_PCI_NUM_IRQS: none
    std::vector<irq_ctx> ctx;
    bool pci_2_3 = false;        // Interrupt Disable works (vfio_pci_core_enable's pci_intx_mask_supported)
    bool virq_disabled = false;  // the user's virtual Command.Interrupt Disable
    unsigned msi_qmax = 0;       // log2 of the MSI vectors enabled
    std::optional<unsigned> gsi;  // pdev->irq: the GSI the INTx line reaches
    bool gsi_bound = false;       // request_irq of the INTx handler
    // MSI / MSI-X as the PCI core set them up.
    std::uint8_t msi_base = 0;    // MSI: the first vector of the block
    unsigned msi_block = 0;       // MSI: vectors bound (a power of two)
    std::vector<std::uint8_t> msix_vectors;
    std::uint64_t msix_table = 0; // MSI-X: machine address of the table
    std::shared_ptr<eventfd> err_trigger, req_trigger;
    bool is_intx() const { return irq_type == VFIO_PCI_INTX_IRQ_INDEX; }
    bool is_none() const { return irq_type == VFIO_PCI_NUM_IRQS; }
};

namespace {

irq_state& state_of(device& dev, sc_time& d) {
    if (!dev.irqs) {
        dev.irqs = std::make_shared<irq_state>(dev);
        // vfio_pci_core_enable: vdev->pci_2_3 = pci_intx_mask_supported(pdev).
        dev.irqs->pci_2_3 = pci_intx_mask_supported(dev, d);
        dev.irqs->gsi = dev.k.hyp().intx_gsi(dev.dev.rid);
    }
    return *dev.irqs;
}

// eventfd_ctx_fdget(): -EBADF for no such descriptor, -EINVAL for a file that is not an eventfd.
long eventfd_get(process& p, std::int32_t fd, std::shared_ptr<eventfd>& out) {
    const file_ref f = fd < 0 ? nullptr : p.lookup(fd);
    if (!f) return -EBADF;
    out = std::dynamic_pointer_cast<eventfd>(f);
    return out ? 0 : -EINVAL;
}

// ---- INTx ----

// vfio_send_intx_eventfd. Linux 6.1 signals ctx[0].trigger without checking
// it: a loopback with no trigger set dereferences NULL there; the model does nothing.
void send_intx_eventfd(irq_state& s) {
    if (s.is_intx() && !s.virq_disabled && !s.ctx.empty() && s.ctx[0].trigger) s.ctx[0].trigger->signal(1);
}

// vfio_pci_intx_mask.
void intx_mask(irq_state& s, sc_time& d) {
    device& dev = *s.dev;
    if (!s.is_intx()) {
        if (s.pci_2_3) pci_intx(dev, false, d);
    } else if (!s.ctx[0].masked) {
        if (s.pci_2_3) pci_intx(dev, false, d);
        else if (s.gsi) dev.k.disable_gsi(*s.gsi);
        s.ctx[0].masked = true;
    }
}

// vfio_pci_intx_unmask_handler: 1 when an interrupt is pending at the unmask
// (the line stays masked and the user is signalled instead).
int intx_unmask_handler(irq_state& s, sc_time& d) {
    device& dev = *s.dev;
    int ret = 0;
    if (!s.is_intx()) {
        if (s.pci_2_3) pci_intx(dev, true, d);
    } else if (s.ctx[0].masked && !s.virq_disabled) {
        if (s.pci_2_3) {
            if (!pci_check_and_set_intx_mask(dev, false, d)) ret = 1;
        } else if (s.gsi) {
            dev.k.enable_gsi(*s.gsi, d);
        }
        s.ctx[0].masked = ret > 0;
    }
    return ret;
}

void intx_unmask(irq_state& s, sc_time& d) {
    if (intx_unmask_handler(s, d) > 0) send_intx_eventfd(s);
}

// vfio_intx_handler.
bool intx_handler(irq_state& s, sc_time& d) {
    bool handled = false;
    if (!s.pci_2_3) {
        if (s.gsi) s.dev->k.disable_gsi(*s.gsi);
        s.ctx[0].masked = true;
        handled = true;
    } else if (!s.ctx[0].masked && pci_check_and_set_intx_mask(*s.dev, true, d)) {  // the line may be shared
        s.ctx[0].masked = true;
        handled = true;
    }
    if (handled) send_intx_eventfd(s);
    return handled;
}

// vfio_intx_enable.
long intx_enable(irq_state& s, sc_time& d) {
    if (!s.is_none()) return -EINVAL;
    if (!s.gsi) return -ENODEV;  // !pdev->irq
    if (s.dev->k.kmalloc_fails()) return -ENOMEM;
    s.ctx.assign(1, irq_ctx{});
    // A virtually disabled interrupt starts masked; DisINTx follows it.
    s.ctx[0].masked = s.virq_disabled;
    if (s.pci_2_3) pci_intx(*s.dev, !s.ctx[0].masked, d);
    s.irq_type = VFIO_PCI_INTX_IRQ_INDEX;
    return 0;
}

// vfio_intx_set_signal: free_irq of the old trigger, request_irq with the new one.
long intx_set_signal(irq_state& s, process* p, std::int32_t fd, sc_time& d) {
    device& dev = *s.dev;
    if (s.ctx[0].trigger) {
        if (s.gsi_bound) dev.k.unbind_gsi(*s.gsi, &s);
        s.gsi_bound = false;
        s.ctx[0].trigger.reset();
    }
    if (fd < 0) return 0;  // disable only
    if (dev.k.kmalloc_fails()) return -ENOMEM;  // the kasprintf'ed name
    std::shared_ptr<eventfd> trigger;
    if (const long e = eventfd_get(*p, fd, trigger)) return e;
    s.ctx[0].trigger = trigger;
    irq_state* sp = &s;
    const std::weak_ptr<irq_state> alive = dev.irqs;
    dev.k.bind_gsi(*s.gsi, &s, [sp, alive](sc_time& t) { return !alive.expired() && intx_handler(*sp, t); }, d);
    s.gsi_bound = true;
    // INTx disable sticks across the new handler; a disabled line does not.
    if (!s.pci_2_3 && s.ctx[0].masked) dev.k.disable_gsi(*s.gsi);
    return 0;
}

void virqfd_disable(irq_ctx& c, const void* key) {
    if (c.unmask) c.unmask->remove_waiter(key);
    c.unmask.reset();
}

// vfio_intx_disable.
void intx_disable(irq_state& s, sc_time& d) {
    virqfd_disable(s.ctx[0], &s);
    intx_set_signal(s, nullptr, -1, d);
    // A line the model disabled for a non-PCI-2.3 function is shut down with its handler.
    s.irq_type = VFIO_PCI_NUM_IRQS;
    s.ctx.clear();
}

// ---- MSI / MSI-X ----

// The machine address of BAR `bir` as the host assigned it.
std::uint64_t bar_address(device& dev, unsigned bir, sc_time& d) {
    const std::uint32_t lo = cfg_read(dev, 0x10 + 4 * bir, 4, d);
    std::uint64_t a = lo & ~std::uint64_t(0xf);
    if ((lo & 0x6) == 0x4 && bir < 5) a |= std::uint64_t(cfg_read(dev, 0x10 + 4 * (bir + 1), 4, d)) << 32;
    return a;
}

void mmio_write32(device& dev, std::uint64_t addr, std::uint32_t v, sc_time& d) {
    std::uint8_t b[4];
    std::memcpy(b, &v, 4);
    core_of(dev.k).h->mmio(true, addr, b, 4, d);
}

// vfio_pci_memory_lock_and_enable / _unlock_and_restore: Memory Space on
// while the kernel touches the MSI-X table.
std::uint32_t memory_enable(device& dev, sc_time& d) {
    const std::uint32_t cmd = cfg_read(dev, PCI_COMMAND, 2, d);
    if (!(cmd & PCI_COMMAND_MEMORY)) cfg_write(dev, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY, 2, d);
    return cmd;
}
void memory_restore(device& dev, std::uint32_t cmd, sc_time& d) {
    if (!(cmd & PCI_COMMAND_MEMORY)) cfg_write(dev, PCI_COMMAND, cmd, 2, d);
}

// The MSI capability's register offsets (drivers/pci/msi: msi_mask_reg and friends).
struct msi_regs {
    std::uint32_t cap = 0, data = 0, mask = 0;
    bool is64 = false, maskbit = false;
};
msi_regs msi_layout(device& dev, std::uint32_t cap, sc_time& d) {
    msi_regs r;
    r.cap = cap;
    const std::uint32_t ctrl = cfg_read(dev, cap + 2, 2, d);
    r.is64 = ctrl & PCI_MSI_FLAGS_64BIT;
    r.maskbit = ctrl & PCI_MSI_FLAGS_MASKBIT;
    r.data = cap + (r.is64 ? 0xc : 0x8);
    r.mask = cap + (r.is64 ? 0x10 : 0xc);
    return r;
}

// The mask bit of an MSI vector (with per-vector masking) or an MSI-X entry:
// request_irq's startup unmasks it, free_irq's shutdown masks it.
void vector_mask(irq_state& s, unsigned vector, bool mask, sc_time& d) {
    device& dev = *s.dev;
    if (s.irq_type == VFIO_PCI_MSIX_IRQ_INDEX) {
        const std::uint32_t cmd = memory_enable(dev, d);
        mmio_write32(dev, s.msix_table + vector * PCI_MSIX_ENTRY_SIZE + 12, mask ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0, d);
        memory_restore(dev, cmd, d);
        return;
    }
    const std::uint32_t cap = find_cap(dev, PCI_CAP_ID_MSI, d);
    if (!cap) return;
    const msi_regs r = msi_layout(dev, cap, d);
    if (!r.maskbit) return;
    std::uint32_t m = cfg_read(dev, r.mask, 4, d);
    m = mask ? m | (1u << vector) : m & ~(1u << vector);
    cfg_write(dev, r.mask, m, 4, d);
}

// pci_write_msi_msg for an MSI-X entry: address and data of its vector.
void msix_write_msg(irq_state& s, unsigned vector, sc_time& d) {
    device& dev = *s.dev;
    // The message the hypervisor gave the vector (remappable format with interrupt remapping on).
    const auto m = dev.k.hyp().msi_message(s.msix_vectors[vector]);
    const std::uint64_t addr = m ? m->address : hyp::hypervisor::msi_address(static_cast<std::uint8_t>(dev.k.domid()));
    const std::uint32_t data = m ? m->data : s.msix_vectors[vector];
    const std::uint64_t e = s.msix_table + vector * PCI_MSIX_ENTRY_SIZE;
    const std::uint32_t cmd = memory_enable(dev, d);
    mmio_write32(dev, e, static_cast<std::uint32_t>(addr), d);
    mmio_write32(dev, e + 4, static_cast<std::uint32_t>(addr >> 32), d);
    mmio_write32(dev, e + 8, data, d);
    memory_restore(dev, cmd, d);
}

unsigned roundup_pow2(unsigned n) {
    unsigned p = 1;
    while (p < n) p <<= 1;
    return p;
}

unsigned ilog2(unsigned n) {
    unsigned l = 0;
    while (n > 1) n >>= 1, ++l;
    return l;
}

// pci_alloc_irq_vectors(pdev, 1, nvec, PCI_IRQ_MSI or PCI_IRQ_MSIX): the
// vectors allocated (all of them), or a negative errno.
long alloc_irq_vectors(irq_state& s, unsigned nvec, bool msix, sc_time& d) {
    device& dev = *s.dev;
    hyp::hypervisor& h = dev.k.hyp();
    const hyp::domid_t dom = dev.k.domid();
    if (nvec < 1) return -ERANGE;  // __pci_enable_msi(x)_range: maxvec < minvec (an eventfd block of count 0)
    if (!msix) {
        // __pci_enable_msi_range -> msi_capability_init.
        const std::uint32_t cap = find_cap(dev, PCI_CAP_ID_MSI, d);
        if (!cap) return -EINVAL;
        const msi_regs r = msi_layout(dev, cap, d);
        std::uint32_t ctrl = cfg_read(dev, cap + 2, 2, d);
        const unsigned avail = 1u << ((ctrl & PCI_MSI_FLAGS_QMASK) >> 1);
        if (nvec > avail) nvec = avail;
        const unsigned block = roundup_pow2(nvec);
        const auto b = h.bind_msi(dom, block, dev.dev.rid);
        if (!b) return -ENOSPC;
        s.msi_base = b->vector;
        s.msi_block = block;
        cfg_write(dev, cap + 2, ctrl & ~std::uint32_t(PCI_MSI_FLAGS_ENABLE), 2, d);
        // Every vector masked until its handler is requested.
        if (r.maskbit) cfg_write(dev, r.mask, block >= 32 ? 0xffffffffu : (1u << block) - 1, 4, d);
        cfg_write(dev, cap + 4, static_cast<std::uint32_t>(b->address), 4, d);
        if (r.is64) cfg_write(dev, cap + 8, static_cast<std::uint32_t>(b->address >> 32), 4, d);
        cfg_write(dev, r.data, b->data, 2, d);
        ctrl = (ctrl & ~std::uint32_t(PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE)) | (ilog2(block) << 4);
        cfg_write(dev, cap + 2, ctrl, 2, d);
        pci_intx(dev, false, d);  // pci_intx_for_msi(dev, 0)
        cfg_write(dev, cap + 2, ctrl | PCI_MSI_FLAGS_ENABLE, 2, d);
        return nvec;
    }
    // __pci_enable_msix_range -> msix_capability_init.
    const std::uint32_t cap = find_cap(dev, PCI_CAP_ID_MSIX, d);
    if (!cap) return -EINVAL;
    std::uint32_t ctrl = cfg_read(dev, cap + 2, 2, d);
    const unsigned tsize = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
    if (nvec > tsize) nvec = tsize;
    // msix_map_region: the table's BAR as the kernel assigned it; none mapped is ENOMEM.
    const std::uint32_t table = cfg_read(dev, cap + 4, 4, d);
    const std::uint64_t bar = bar_address(dev, table & 7, d);
    if (!bar) return -ENOMEM;
    std::vector<std::uint8_t> vs;
    for (unsigned i = 0; i < nvec; ++i) {
        const auto b = h.bind_msi(dom, 1, dev.dev.rid);
        if (!b) {
            for (std::uint8_t v : vs) h.unbind_msi(v);
            return -ENOSPC;
        }
        vs.push_back(b->vector);
    }
    s.msix_table = bar + (table & ~7u);
    s.msix_vectors = vs;
    // Enabled with the function masked while the table is set up.
    ctrl |= PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE;
    cfg_write(dev, cap + 2, ctrl, 2, d);
    const std::uint32_t cmd = memory_enable(dev, d);
    for (unsigned i = 0; i < tsize; ++i)  // msix_mask_all
        mmio_write32(dev, s.msix_table + i * PCI_MSIX_ENTRY_SIZE + 12, PCI_MSIX_ENTRY_CTRL_MASKBIT, d);
    memory_restore(dev, cmd, d);
    s.irq_type = VFIO_PCI_MSIX_IRQ_INDEX;  // for msix_write_msg's table; set again by the caller
    for (unsigned i = 0; i < nvec; ++i) msix_write_msg(s, i, d);
    pci_intx(dev, false, d);  // pci_intx_for_msi(dev, 0)
    cfg_write(dev, cap + 2, ctrl & ~std::uint32_t(PCI_MSIX_FLAGS_MASKALL), 2, d);
    return nvec;
}

// pci_free_irq_vectors: MSI or MSI-X off, Interrupt Disable cleared again,
// the vectors freed.
void free_irq_vectors(irq_state& s, bool msix, sc_time& d) {
    device& dev = *s.dev;
    hyp::hypervisor& h = dev.k.hyp();
    if (!msix) {
        if (const std::uint32_t cap = find_cap(dev, PCI_CAP_ID_MSI, d)) {
            const msi_regs r = msi_layout(dev, cap, d);
            const std::uint32_t ctrl = cfg_read(dev, cap + 2, 2, d);
            cfg_write(dev, cap + 2, ctrl & ~std::uint32_t(PCI_MSI_FLAGS_ENABLE), 2, d);
            pci_intx(dev, true, d);  // pci_intx_for_msi(dev, 1)
            // pci_msi_shutdown returns the function with its vectors unmasked.
            if (r.maskbit) cfg_write(dev, r.mask, 0, 4, d);
        }
        for (unsigned i = 0; i < s.msi_block; ++i) h.unbind_msi(static_cast<std::uint8_t>(s.msi_base + i));
        s.msi_block = 0;
        return;
    }
    if (const std::uint32_t cap = find_cap(dev, PCI_CAP_ID_MSIX, d)) {
        const std::uint32_t cmd = memory_enable(dev, d);
        for (unsigned i = 0; i < s.msix_vectors.size(); ++i)
            mmio_write32(dev, s.msix_table + i * PCI_MSIX_ENTRY_SIZE + 12, PCI_MSIX_ENTRY_CTRL_MASKBIT, d);
        memory_restore(dev, cmd, d);
        const std::uint32_t ctrl = cfg_read(dev, cap + 2, 2, d);
        cfg_write(dev, cap + 2, ctrl & ~std::uint32_t(PCI_MSIX_FLAGS_ENABLE), 2, d);
        pci_intx(dev, true, d);
    }
    for (std::uint8_t v : s.msix_vectors) h.unbind_msi(v);
    s.msix_vectors.clear();
}

// vfio_msi_enable: a positive count when fewer vectors than asked could be
// allocated (6.1 returns it to the user as the ioctl's value).
long msi_enable(irq_state& s, unsigned nvec, bool msix, sc_time& d) {
    if (!s.is_none()) return -EINVAL;
    if (s.dev->k.kmalloc_fails()) return -ENOMEM;
    const long got = alloc_irq_vectors(s, nvec, msix, d);
    if (got < static_cast<long>(nvec)) {
        if (got > 0) free_irq_vectors(s, msix, d);
        s.irq_type = VFIO_PCI_NUM_IRQS;
        return got;
    }
    s.ctx.assign(nvec, irq_ctx{});
    for (unsigned i = 0; i < nvec; ++i) s.ctx[i].vector = msix ? s.msix_vectors[i] : static_cast<std::uint8_t>(s.msi_base + i);
    s.irq_type = msix ? VFIO_PCI_MSIX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX;
    if (!msix) s.msi_qmax = ilog2(roundup_pow2(nvec));  // fls(nvec * 2 - 1) - 1
    return 0;
}

// vfio_msi_set_vector_signal.
long msi_set_vector_signal(irq_state& s, process* p, unsigned vector, std::int32_t fd, bool msix, sc_time& d) {
    device& dev = *s.dev;
    if (vector >= s.ctx.size()) return -EINVAL;
    irq_ctx& c = s.ctx[vector];
    if (c.trigger) {
        dev.k.unbind_vector(c.vector);  // free_irq: the vector masked again
        vector_mask(s, vector, true, d);
        c.trigger.reset();
    }
    if (fd < 0) return 0;
    if (dev.k.kmalloc_fails()) return -ENOMEM;  // the kasprintf'ed name
    std::shared_ptr<eventfd> trigger;
    if (const long e = eventfd_get(*p, fd, trigger)) return e;
    // The MSI-X table may have been cleared behind the kernel's back (a
    // reset): the cached message is written again before the handler.
    if (msix) msix_write_msg(s, vector, d);
    dev.k.bind_vector(c.vector, [trigger](sc_time&) { trigger->signal(1); });  // vfio_msihandler
    vector_mask(s, vector, false, d);
    c.trigger = trigger;
    return 0;
}

// vfio_msi_set_block: on a failure the vectors set so far are released again.
long msi_set_block(irq_state& s, process* p, unsigned start, unsigned count, const std::int32_t* fds, bool msix, sc_time& d) {
    if (start >= s.ctx.size() || start + count > s.ctx.size()) return -EINVAL;
    long ret = 0;
    unsigned j = start;
    for (unsigned i = 0; i < count && !ret; ++i, ++j) ret = msi_set_vector_signal(s, p, j, fds ? fds[i] : -1, msix, d);
    if (ret)
        for (unsigned k = j; k-- > start;) msi_set_vector_signal(s, p, k, -1, msix, d);
    return ret;
}

// vfio_msi_disable.
void msi_disable(irq_state& s, bool msix, sc_time& d) {
    for (irq_ctx& c : s.ctx) virqfd_disable(c, &s);
    msi_set_block(s, nullptr, 0, static_cast<unsigned>(s.ctx.size()), nullptr, msix, d);
    free_irq_vectors(s, msix, d);
    s.irq_type = VFIO_PCI_NUM_IRQS;
    s.ctx.clear();
}

// ---- VFIO_DEVICE_SET_IRQS, per index and action ----

struct set_args {
    process* p;
    unsigned index, start, count;
    std::uint32_t flags;
    const std::uint8_t* data;  // count elements of the data type (null for DATA_NONE)
};

std::int32_t fd_at(const set_args& a, unsigned i) {
    std::int32_t fd;
    std::memcpy(&fd, a.data + 4 * i, 4);
    return fd;
}

long set_intx_unmask(irq_state& s, const set_args& a, sc_time& d) {
    if (!s.is_intx() || a.start != 0 || a.count != 1) return -EINVAL;
    if (a.flags & VFIO_IRQ_SET_DATA_NONE) {
        intx_unmask(s, d);
    } else if (a.flags & VFIO_IRQ_SET_DATA_BOOL) {
        if (a.data[0]) intx_unmask(s, d);
    } else if (a.flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        const std::int32_t fd = fd_at(a, 0);
        if (fd >= 0) {
            // vfio_virqfd_enable: the eventfd, then EBUSY when one is set already.
            if (s.dev->k.kmalloc_fails()) return -ENOMEM;
            std::shared_ptr<eventfd> e;
            if (const long r = eventfd_get(*a.p, fd, e)) return r;
            if (s.ctx[0].unmask) return -EBUSY;
            s.ctx[0].unmask = e;
            irq_state* sp = &s;
            const std::weak_ptr<irq_state> alive = s.dev->irqs;
            // virqfd_wakeup: the counter is consumed, the unmask handler runs
            // and, when it finds an interrupt pending, the trigger is signalled.
            e->add_waiter(&s, [sp, alive, e](sc_time& t) {
                if (alive.expired()) return;
                e->take();
                if (sp->is_intx() && intx_unmask_handler(*sp, t) > 0) send_intx_eventfd(*sp);
            });
            // An event already pending is handled as if it had just come (without consuming it).
            if (e->count() && intx_unmask_handler(s, d) > 0) send_intx_eventfd(s);
            return 0;
        }
        virqfd_disable(s.ctx[0], &s);
    }
    return 0;
}

long set_intx_mask(irq_state& s, const set_args& a, sc_time& d) {
    if (!s.is_intx() || a.start != 0 || a.count != 1) return -EINVAL;
    if (a.flags & VFIO_IRQ_SET_DATA_NONE) {
        intx_mask(s, d);
    } else if (a.flags & VFIO_IRQ_SET_DATA_BOOL) {
        if (a.data[0]) intx_mask(s, d);
    } else if (a.flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        return -ENOTTY;  // "XXX implement me" in 6.1
    }
    return 0;
}

long set_intx_trigger(irq_state& s, const set_args& a, sc_time& d) {
    if (s.is_intx() && !a.count && (a.flags & VFIO_IRQ_SET_DATA_NONE)) {
        intx_disable(s, d);
        return 0;
    }
    if (!(s.is_intx() || s.is_none()) || a.start != 0 || a.count != 1) return -EINVAL;
    if (a.flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        const std::int32_t fd = fd_at(a, 0);
        if (s.is_intx()) return intx_set_signal(s, a.p, fd, d);
        if (const long r = intx_enable(s, d)) return r;
        const long r = intx_set_signal(s, a.p, fd, d);
        if (r) intx_disable(s, d);
        return r;
    }
    if (!s.is_intx()) return -EINVAL;
    if (a.flags & VFIO_IRQ_SET_DATA_NONE) {
        send_intx_eventfd(s);
    } else if (a.flags & VFIO_IRQ_SET_DATA_BOOL) {
        if (a.data[0]) send_intx_eventfd(s);
    }
    return 0;
}

long set_msi_trigger(irq_state& s, const set_args& a, sc_time& d) {
    const bool msix = a.index == VFIO_PCI_MSIX_IRQ_INDEX;
    if (s.irq_type == a.index && !a.count && (a.flags & VFIO_IRQ_SET_DATA_NONE)) {
        msi_disable(s, msix, d);
        return 0;
    }
    if (!(s.irq_type == a.index || s.is_none())) return -EINVAL;
    if (a.flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        std::vector<std::int32_t> fds(a.count);
        for (unsigned i = 0; i < a.count; ++i) fds[i] = fd_at(a, i);
        if (s.irq_type == a.index) return msi_set_block(s, a.p, a.start, a.count, fds.data(), msix, d);
        if (const long r = msi_enable(s, a.start + a.count, msix, d)) return r;
        const long r = msi_set_block(s, a.p, a.start, a.count, fds.data(), msix, d);
        if (r) msi_disable(s, msix, d);
        return r;
    }
    if (s.irq_type != a.index || a.start + a.count > s.ctx.size()) return -EINVAL;
    for (unsigned i = a.start; i < a.start + a.count; ++i) {
        if (!s.ctx[i].trigger) continue;
        if (a.flags & VFIO_IRQ_SET_DATA_NONE) s.ctx[i].trigger->signal(1);
        else if ((a.flags & VFIO_IRQ_SET_DATA_BOOL) && a.data[i - a.start]) s.ctx[i].trigger->signal(1);
    }
    return 0;
}

// vfio_pci_set_ctx_trigger_single (ERR and REQ).
long set_ctx_trigger_single(std::shared_ptr<eventfd>& ctx, const set_args& a) {
    if (a.flags & VFIO_IRQ_SET_DATA_NONE) {
        if (ctx) {
            if (a.count) ctx->signal(1);
            else ctx.reset();
            return 0;
        }
    } else if (a.flags & VFIO_IRQ_SET_DATA_BOOL) {
        if (!a.count) return -EINVAL;
        if (a.data[0] && ctx) ctx->signal(1);
        return 0;
    } else if (a.flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        if (!a.count) return -EINVAL;
        const std::int32_t fd = fd_at(a, 0);
        if (fd == -1) {
            ctx.reset();
        } else if (fd >= 0) {
            std::shared_ptr<eventfd> e;
            if (const long r = eventfd_get(*a.p, fd, e)) return r;
            ctx = e;
        }
        return 0;
    }
    // DATA_NONE with nothing set falls through to here in 6.1.
    return -EINVAL;
}

// vfio_pci_get_irq_count.
unsigned irq_count(device& dev, unsigned index, sc_time& d) {
    switch (index) {
    case VFIO_PCI_INTX_IRQ_INDEX:
        // CONFIG_VFIO_PCI_INTX; no nointx quirk; a VF has no INTx (its pin reads 0).
        return cfg_read(dev, PCI_INTERRUPT_PIN, 1, d) ? 1 : 0;
    case VFIO_PCI_MSI_IRQ_INDEX:
        if (const std::uint32_t cap = find_cap(dev, PCI_CAP_ID_MSI, d))
            return 1u << ((cfg_read(dev, cap + 2, 2, d) & PCI_MSI_FLAGS_QMASK) >> 1);
        return 0;
    case VFIO_PCI_MSIX_IRQ_INDEX:
        if (const std::uint32_t cap = find_cap(dev, PCI_CAP_ID_MSIX, d))
            return (cfg_read(dev, cap + 2, 2, d) & PCI_MSIX_FLAGS_QSIZE) + 1;
        return 0;
    case VFIO_PCI_ERR_IRQ_INDEX: return find_cap(dev, PCI_CAP_ID_EXP, d) ? 1 : 0;  // pci_is_pcie
    case VFIO_PCI_REQ_IRQ_INDEX: return 1;
    default: return 0;
    }
}

} // namespace

irq_state::~irq_state() {
    // What outlives the device's state: the user's eventfds (their waiters
    // go) and the hypervisor's vectors (freed). The kernel's own bindings
    // are dropped by irqs_disable; a device state that goes without it (the
    // kernel itself going away) leaves handlers that check it is alive.
    for (irq_ctx& c : ctx)
        if (c.unmask) c.unmask->remove_waiter(this);
    for (unsigned i = 0; i < msi_block; ++i) hyp->unbind_msi(static_cast<std::uint8_t>(msi_base + i));
    for (std::uint8_t v : msix_vectors) hyp->unbind_msi(v);
}

long get_irq_info(device& dev, process& p, std::uint64_t arg, sc_time& d) {
    std::uint32_t info[4];
    if (p.copy_from_user(info, arg, irq_info_minsz, d)) return -EFAULT;
    const std::uint32_t argsz = info[0], index = info[2];
    if (argsz < irq_info_minsz || index >= VFIO_PCI_NUM_IRQS) return -EINVAL;
    if (index == VFIO_PCI_ERR_IRQ_INDEX && !find_cap(dev, PCI_CAP_ID_EXP, d)) return -EINVAL;  // not pci_is_pcie
    info[1] = VFIO_IRQ_INFO_EVENTFD;
    info[3] = irq_count(dev, index, d);
    if (index == VFIO_PCI_INTX_IRQ_INDEX) info[1] |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
    else info[1] |= VFIO_IRQ_INFO_NORESIZE;  // MSI-X too: dynamic MSI-X came in 6.5
    return p.copy_to_user(arg, info, irq_info_minsz, d) ? -EFAULT : 0;
}

long set_irqs(device& dev, process& p, std::uint64_t arg, sc_time& d) {
    std::uint32_t hdr[5];
    if (p.copy_from_user(hdr, arg, irq_set_minsz, d)) return -EFAULT;
    const std::uint32_t argsz = hdr[0], flags = hdr[1], index = hdr[2], start = hdr[3], count = hdr[4];
    const unsigned max = irq_count(dev, index, d);
    // vfio_set_irqs_validate_and_prepare.
    if (argsz < irq_set_minsz || index >= VFIO_PCI_NUM_IRQS || count >= 0xffffffffu - start ||
        (flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)))
        return -EINVAL;
    if (start >= max || start + count > max) return -EINVAL;
    std::uint64_t size = 0;
    switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_NONE: size = 0; break;
    case VFIO_IRQ_SET_DATA_BOOL: size = 1; break;
    case VFIO_IRQ_SET_DATA_EVENTFD: size = 4; break;
    default: return -EINVAL;
    }
    std::vector<std::uint8_t> data;
    if (size) {
        if (argsz - irq_set_minsz < count * size) return -EINVAL;
        // memdup_user of the data after the header.
        if (count) {
            if (dev.k.kmalloc_fails()) return -ENOMEM;
            data.resize(count * size);
            if (p.copy_from_user(data.data(), arg + irq_set_minsz, data.size(), d)) return -EFAULT;
        }
    }
    irq_state& s = state_of(dev, d);
    const set_args a{&p, index, start, count, flags, data.empty() ? nullptr : data.data()};
    // vfio_pci_set_irqs_ioctl: no handler for the index and action is ENOTTY.
    const std::uint32_t action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
    switch (index) {
    case VFIO_PCI_INTX_IRQ_INDEX:
        if (action == VFIO_IRQ_SET_ACTION_MASK) return set_intx_mask(s, a, d);
        if (action == VFIO_IRQ_SET_ACTION_UNMASK) return set_intx_unmask(s, a, d);
        if (action == VFIO_IRQ_SET_ACTION_TRIGGER) return set_intx_trigger(s, a, d);
        return -ENOTTY;
    case VFIO_PCI_MSI_IRQ_INDEX:
    case VFIO_PCI_MSIX_IRQ_INDEX:
        // MASK and UNMASK: "XXX Need masking support exported" (no handler).
        if (action == VFIO_IRQ_SET_ACTION_TRIGGER) return set_msi_trigger(s, a, d);
        return -ENOTTY;
    case VFIO_PCI_ERR_IRQ_INDEX:
        if (action == VFIO_IRQ_SET_ACTION_TRIGGER && find_cap(dev, PCI_CAP_ID_EXP, d)) {
            if (a.start != 0 || a.count > 1) return -EINVAL;
            return set_ctx_trigger_single(s.err_trigger, a);
        }
        return -ENOTTY;
    case VFIO_PCI_REQ_IRQ_INDEX:
        if (action == VFIO_IRQ_SET_ACTION_TRIGGER) {
            if (a.start != 0 || a.count > 1) return -EINVAL;
            return set_ctx_trigger_single(s.req_trigger, a);
        }
        return -ENOTTY;
    default:
        return -ENOTTY;
    }
}

void irqs_disable(device& dev, sc_time& d) {
    if (dev.irqs) {
        irq_state& s = *dev.irqs;
        // vfio_pci_core_disable: SET_IRQS(DATA_NONE | TRIGGER, irq_type, 0, 0).
        if (s.is_intx()) intx_disable(s, d);
        else if (s.irq_type == VFIO_PCI_MSI_IRQ_INDEX) msi_disable(s, false, d);
        else if (s.irq_type == VFIO_PCI_MSIX_IRQ_INDEX) msi_disable(s, true, d);
        // vfio_pci_core_close_device: the ERR and REQ triggers are put.
        s.err_trigger.reset();
        s.req_trigger.reset();
    }
    dev.irqs.reset();
}

void request_release(device& dev, unsigned count) {
    // vfio_pci_core_request: the REQ eventfd, when the user set one; without
    // it the release waits for the user (6.1 only logs).
    (void)count;
    if (dev.irqs && dev.irqs->req_trigger) dev.irqs->req_trigger->signal(1);
}

void intx_virtual_disable(device& dev, bool disable, sc_time& d) {
    irq_state& s = state_of(dev, d);
    if (disable && !s.virq_disabled) {
        s.virq_disabled = true;
        intx_mask(s, d);
    } else if (!disable && s.virq_disabled) {
        s.virq_disabled = false;
        intx_unmask(s, d);
    }
}

unsigned msi_qmax(const device& dev) { return dev.irqs ? dev.irqs->msi_qmax : 0; }

unsigned irq_index_in_use(const device& dev) { return dev.irqs ? dev.irqs->irq_type : VFIO_PCI_NUM_IRQS; }

} // namespace iotwin::guest::vfio
