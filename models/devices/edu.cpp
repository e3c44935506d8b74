#include "models/devices/edu.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace iotwin::devices {

using namespace sc_core;

namespace {
// The function as QEMU's edu_class_init and pci_edu_realize make it: its IDs,
// conventional PCI, INTA#, MSI with one 64-bit vector and no per-vector
// masking, BAR0 of 1 MiB (pci_register_bar with PCI_BASE_ADDRESS_SPACE_MEMORY:
// 32-bit, non-prefetchable). The loader refuses descriptions that say
// otherwise, so this only completes what the builder passes.
pci::function_params as_edu(pci::function_params p) {
    constexpr model_identity id = edu::identity;
    p.vendor = id.vendor;
    p.device = id.device;
    p.class_code = id.class_code;
    p.pcie.reset();
    p.bars = {{0, edu::BAR0_SIZE, pci::bar_type::mem32, false}};
    p.msi_vectors = 1;
    p.msi_64bit = true;
    p.msi_per_vector_mask = false;
    p.msix.reset();
    p.interrupt_pin = 1;
    p.flr = false;
    p.power_management = false;
    p.rom_size = 0;
    p.acs.reset();
    p.sriov.reset();
    return p;
}

// n! modulo 2^32, as QEMU's 32-bit loop computes it; from 34! on the product
// holds 2^32 (34! has 32 factors of two), so it is 0 without looping 4e9 times.
std::uint32_t factorial32(std::uint32_t n) {
    if (n >= 34) return 0;
    std::uint32_t r = 1;
    for (std::uint32_t i = 2; i <= n; ++i) r *= i;
    return r;
}
} // namespace

edu::edu(sc_module_name name, pci::function_params p, const edu_params& ep)
    : pci_function(name, as_edu(std::move(p))), ep_(ep), regs_(0x100) {
    // Revision and subsystem IDs are not function_params: QEMU's revision
    // 0x10 and its default subsystem (pci_set_default_subsystem_id: 1af4:1100).
    cfg_.define({"REVISION_ID", pci::cfg::revision, 1, identity.revision});
    cfg_.define({"SUBSYSTEM_VENDOR_ID", pci::cfg::subsystem_vendor, 2, identity.subsystem_vendor});
    cfg_.define({"SUBSYSTEM_ID", pci::cfg::subsystem_id, 2, identity.subsystem_id});

    // Storage of the registers; write_register() decodes which accesses reach
    // them (QEMU decodes by exact offset), the hooks carry the behaviour.
    constexpr std::uint64_t all32 = 0xffffffffu, all64 = ~std::uint64_t(0);
    regs_.define({"IDENT", IDENT, 4, IDENT_VALUE});
    regs_.define({"LIVENESS", LIVENESS, 4, 0, all32}, [this](std::uint64_t, std::uint64_t v) {
        regs_.set(LIVENESS, 4, ~v & 0xffffffffu);  // edu->addr4 = ~val
    });
    regs_.define({"FACTORIAL", FACTORIAL, 4, 0, all32}, [this](std::uint64_t old, std::uint64_t) {
        if (regs_.get(STATUS, 4) & STATUS_COMPUTING) {
            regs_.set(FACTORIAL, 4, old);  // ignored while one is computing
            return;
        }
        regs_.set(STATUS, 4, regs_.get(STATUS, 4) | STATUS_COMPUTING);
        factorial_event_.notify(ep_.factorial_latency);
    });
    regs_.define({"STATUS", STATUS, 4, 0, STATUS_IRQFACT});
    regs_.define({"IRQ_STATUS", IRQ_STATUS, 4, 0});
    regs_.define({"IRQ_RAISE", IRQ_RAISE, 4, 0, all32}, [this](std::uint64_t, std::uint64_t v) {
        regs_.set(IRQ_RAISE, 4, 0);
        raise_irq(static_cast<std::uint32_t>(v));
    });
    regs_.define({"IRQ_ACK", IRQ_ACK, 4, 0, all32}, [this](std::uint64_t, std::uint64_t v) {
        regs_.set(IRQ_ACK, 4, 0);
        lower_irq(static_cast<std::uint32_t>(v));
    });
    regs_.define({"DMA_SRC", DMA_SRC, 8, 0, all64});
    regs_.define({"DMA_DST", DMA_DST, 8, 0, all64});
    regs_.define({"DMA_CNT", DMA_CNT, 8, 0, all64});
    regs_.define({"DMA_CMD", DMA_CMD, 8, 0, all64}, [this](std::uint64_t, std::uint64_t) {
        dma_event_.notify(ep_.dma_delay);  // QEMU: timer_mod(now + 100 ms)
    });

    SC_METHOD(factorial_done);
    sensitive << factorial_event_;
    dont_initialize();
    SC_THREAD(dma_thread);
    SC_THREAD(irq_thread);
}

pcie::completion edu::bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                 std::uint8_t* data, unsigned len, sc_time& delay) {
    if (bar.index != 0) return pcie::completion::UR;
    delay += ep_.register_latency;
    const bool read = cmd == tlm::TLM_READ_COMMAND;
    // QEMU's memory core (memory_region_access_valid) refuses what .valid
    // forbids: sizes other than 4 and 8, and unaligned accesses. The refused
    // access reads as unassigned memory (0) on x86 and writes nothing.
    if ((len != 4 && len != 8) || (offset & (len - 1))) {
        ++bad_accesses_;
        if (read) std::memset(data, 0, len);
        return pcie::completion::SC;
    }
    const auto off = static_cast<std::uint32_t>(offset);
    if (read) {
        const std::uint64_t v = read_register(off, len);
        std::memcpy(data, &v, len);
    } else {
        std::uint64_t v = 0;
        std::memcpy(&v, data, len);
        write_register(off, len, v);
    }
    return pcie::completion::SC;
}

// edu_mmio_read: ~0 unless the access is of the size its range takes and
// starts at a readable register; a 4-byte read of a 64-bit DMA register
// returns its low half.
std::uint64_t edu::read_register(std::uint32_t offset, unsigned len) const {
    const std::uint64_t ones = len == 8 ? ~std::uint64_t(0) : 0xffffffffu;
    if (offset < 0x80 && len != 4) return ones;
    switch (offset) {
    case IDENT: case LIVENESS: case FACTORIAL: case STATUS: case IRQ_STATUS:
        return regs_.read(offset, 4);
    case DMA_SRC: case DMA_DST: case DMA_CNT: case DMA_CMD:
        return regs_.read(offset, 8) & ones;
    default:
        return ones;
    }
}

// edu_mmio_write: a write of the wrong size for its range, to a read-only
// register or to no register is ignored; a 4-byte write of a 64-bit DMA
// register sets it to the zero-extended value; DMA registers do not change
// while a transfer runs, and DMA_CMD only takes a write that starts one.
void edu::write_register(std::uint32_t offset, unsigned len, std::uint64_t value) {
    if (offset < 0x80 && len != 4) return;
    switch (offset) {
    case LIVENESS: case FACTORIAL: case STATUS: case IRQ_RAISE: case IRQ_ACK:
        regs_.write(offset, 4, value);
        return;
    case DMA_SRC: case DMA_DST: case DMA_CNT: case DMA_CMD: {
        if (regs_.get(DMA_CMD, 8) & CMD_RUN) return;
        if (offset == DMA_CMD && !(value & CMD_RUN)) return;
        regs_.write(offset, 8, value);
        return;
    }
    default:
        return;
    }
}

// edu_raise_irq: MSI vector 0 while MSI is enabled, else INTx asserted; a
// raise while causes are pending signals again (another MSI).
void edu::raise_irq(std::uint32_t causes) {
    const std::uint32_t st = static_cast<std::uint32_t>(regs_.get(IRQ_STATUS, 4)) | causes;
    regs_.set(IRQ_STATUS, 4, st);
    if (!st) return;
    if (msi_enabled()) ++msi_pending_;
    else intx_wanted_ = true;
    irq_event_.notify(SC_ZERO_TIME);
}

// edu_lower_irq: INTx falls only when no cause is left and MSI is disabled.
void edu::lower_irq(std::uint32_t causes) {
    const std::uint32_t st = static_cast<std::uint32_t>(regs_.get(IRQ_STATUS, 4)) & ~causes;
    regs_.set(IRQ_STATUS, 4, st);
    if (!st && !msi_enabled()) {
        intx_wanted_ = false;
        irq_event_.notify(SC_ZERO_TIME);
    }
}

// Interrupts leave from this thread, not from inside the MMIO access that
// raised them: the message is a request of its own on the fabric.
void edu::irq_thread() {
    for (;;) {
        wait(irq_event_);
        while (msi_pending_) {
            --msi_pending_;
            sc_time d = SC_ZERO_TIME;
            send_msi(0, d);  // Bus Master Enable off: nothing leaves (QEMU's bus-master address space is disabled)
        }
        if (intx_wanted_ != intx_asserted()) set_intx(intx_wanted_);
    }
}

void edu::factorial_done() {
    // A reset meanwhile cleared COMPUTING: that computation is gone.
    if (!(regs_.get(STATUS, 4) & STATUS_COMPUTING)) return;
    const auto n = static_cast<std::uint32_t>(regs_.get(FACTORIAL, 4));
    regs_.set(FACTORIAL, 4, factorial32(n));
    regs_.set(STATUS, 4, regs_.get(STATUS, 4) & ~std::uint64_t(STATUS_COMPUTING));
    ++factorials_;
    // IRQFACT is read when the computation ends, as QEMU's thread does.
    if (regs_.get(STATUS, 4) & STATUS_IRQFACT) raise_irq(FACT_IRQ);
}

bool edu::in_buffer(std::uint64_t addr, std::uint64_t count) {
    // Written so that nothing wraps: addr - BUFFER only once addr >= BUFFER.
    return addr >= BUFFER && addr - BUFFER <= BUFFER_SIZE && count <= BUFFER_SIZE - (addr - BUFFER);
}

// edu_dma_timer, with the bounds QEMU checks but does not enforce: a transfer
// whose buffer side runs outside 0x40000..0x40fff moves nothing. Either way
// the command completes (RUN clears, 0x100 is raised if asked): edu has no
// error register, and a driver polling RUN must not hang.
void edu::dma_thread() {
    for (;;) {
        wait(dma_event_);
        const std::uint64_t gen = generation_;
        const std::uint64_t cmd = regs_.get(DMA_CMD, 8);
        if (!(cmd & CMD_RUN)) continue;
        const bool to_ram = cmd & CMD_TO_RAM;
        const std::uint64_t src = regs_.get(DMA_SRC, 8), dst = regs_.get(DMA_DST, 8), cnt = regs_.get(DMA_CNT, 8);
        const std::uint64_t dev_addr = to_ram ? src : dst;
        const std::uint64_t ram_addr = (to_ram ? dst : src) & ep_.dma_mask;
        sc_time local = SC_ZERO_TIME;
        if (!in_buffer(dev_addr, cnt)) {
            ++refused_transfers_;
        } else if (cnt) {
            std::uint8_t* b = buffer_.data() + (dev_addr - BUFFER);
            if (to_ram) {
                const dma_result r = dma(tlm::TLM_WRITE_COMMAND, ram_addr, b, cnt, local);
                if (!r.issued || r.stopped || r.iommu_fault) ++blocked_transfers_;
            } else {
                // Staged: bytes of a read that failed never reach the buffer.
                std::vector<std::uint8_t> staging(cnt);
                const dma_result r = dma(tlm::TLM_READ_COMMAND, ram_addr, staging.data(), cnt, local);
                if (gen == generation_) std::memcpy(b, staging.data(), std::min<std::uint64_t>(r.bytes, cnt));
                if (!r.issued || r.stopped || r.status != pcie::completion::SC) ++blocked_transfers_;
            }
        }
        wait(local);
        if (gen != generation_) continue;  // reset meanwhile: the registers are already at reset values
        ++transfers_;
        regs_.set(DMA_CMD, 8, cmd & ~CMD_RUN);
        if (cmd & CMD_IRQ) raise_irq(DMA_IRQ);
    }
}

// QEMU's edu has no reset handler: its registers keep their values across a
// bus reset. The twin returns them to their power-on values (all zero, the
// buffer too), drops a pending factorial or DMA and lowers INTx
// (docs/fidelity.md).
void edu::reset_device() {
    ++generation_;
    regs_.reset();
    buffer_.fill(0);
    factorial_event_.cancel();
    dma_event_.cancel();
    msi_pending_ = 0;
    intx_wanted_ = false;
    irq_event_.notify(SC_ZERO_TIME);
}

void edu::stats(stat_map& out) const {
    pci_function::stats(out);
    const std::string n = basename();
    add_stat(out, n, "dma_transfers", transfers_);
    add_stat(out, n, "refused_transfers", refused_transfers_);
    add_stat(out, n, "blocked_transfers", blocked_transfers_);
    add_stat(out, n, "factorials", factorials_);
    add_stat(out, n, "bad_accesses", bad_accesses_);
}

} // namespace iotwin::devices
