// edu: QEMU's educational PCI device (hw/misc/edu.c, docs/specs/edu.rst),
// at register level, so that a driver written for QEMU's edu runs unchanged.
//
// Identity (fixed, as QEMU's class_init sets it): 1234:11e8, revision 0x10,
// class 0x00ff00 (PCI_CLASS_OTHERS), subsystem 1af4:1100 (QEMU's default),
// conventional PCI (no PCI Express capability), Interrupt Pin INTA#, one MSI
// capability at 0x40 with 1 vector and a 64-bit address, no per-vector
// masking (msi_init(pdev, 0, 1, true, false)). BAR0: 1 MiB, 32-bit,
// non-prefetchable memory.
//
// BAR0 register map, little-endian (docs/devices/edu.md):
//   0x00 IDENT        RO  0x010000ed (version 1.0)
//   0x04 LIVENESS     RW  reads the bitwise NOT of the last value written
//   0x08 FACTORIAL    RW  a write starts n! (mod 2^32) unless one is computing
//   0x20 STATUS       RW  0x01 computing (RO), 0x80 raise 0x001 after factorial
//   0x24 IRQ_STATUS   RO  interrupt causes raised and not acknowledged
//   0x60 IRQ_RAISE    WO  ORs the value into IRQ_STATUS and raises the interrupt
//   0x64 IRQ_ACK      WO  clears the value's bits; INTx falls when none is left
//   0x80 DMA_SRC      RW  64-bit; ignored while a transfer runs
//   0x88 DMA_DST      RW  64-bit; ignored while a transfer runs
//   0x90 DMA_CNT      RW  64-bit; ignored while a transfer runs
//   0x98 DMA_CMD      RW  0x1 start, 0x2 direction (0 RAM->edu, 1 edu->RAM),
//                         0x4 raise 0x100 when done; a write without 0x1 is ignored
// Accesses: 4 bytes below 0x80, 4 or 8 bytes from 0x80, naturally aligned
// (QEMU's MemoryRegionOps .valid: 4..8, not unaligned). An access of another
// size or unaligned reads 0 and writes nothing (QEMU's memory core rejects it;
// x86 sees the unassigned value 0). A valid access to no register (including
// the DMA buffer's device address 0x40000, which is not MMIO) reads all ones
// and writes nothing (edu_mmio_read's initial ~0).
//
// The DMA engine copies between guest memory and its 4 KiB buffer, whose
// device-side addresses are 0x40000..0x40fff, by real DMA (the IOMMU
// translates and checks every request), `dma_delay` after the start (QEMU's
// 100 ms timer). The RAM-side address is masked with `dma_mask` (QEMU's
// edu_clamp_addr, 28 bits by default). Differences from QEMU (a transfer out
// of the buffer is refused, a blocked read leaves the buffer unchanged, the
// registers reset): docs/fidelity.md.
#pragma once
#include <array>
#include <cstdint>

#include <systemc>

#include "models/common/register_bank.h"
#include "models/devices/model_traits.h"
#include "models/pci/pci_function.h"

namespace iotwin::devices {

struct edu_params {
    // QEMU arms its DMA timer 100 ms (QEMU_CLOCK_VIRTUAL) after the start.
    sc_core::sc_time dma_delay = sc_core::sc_time(100, sc_core::SC_MS);
    // QEMU computes on a host thread with no virtual-time cost; the twin
    // gives the result after a fixed time, so a driver must poll STATUS.
    sc_core::sc_time factorial_latency = sc_core::sc_time(1, sc_core::SC_US);
    sc_core::sc_time register_latency = sc_core::sc_time(10, sc_core::SC_NS);
    // QEMU's `dma_mask` property: (1 << 28) - 1.
    std::uint64_t dma_mask = (std::uint64_t(1) << 28) - 1;

    template <class V> void visit(V& v) {
        v("dma_delay", dma_delay, "time", "from a DMA start (DMA_CMD bit 0) to the transfer (QEMU's 100 ms timer)");
        v("factorial_latency", factorial_latency, "time", "from a FACTORIAL write to its result and interrupt");
        v("register_latency", register_latency, "time", "completion of an MMIO access to BAR0");
        v("dma_mask", dma_mask, "mask", "address bits the DMA engine drives (QEMU's dma_mask, 28 bits)");
    }
};

class edu : public pci::pci_function {
public:
    static constexpr std::uint32_t IDENT = 0x00, LIVENESS = 0x04, FACTORIAL = 0x08, STATUS = 0x20, IRQ_STATUS = 0x24;
    static constexpr std::uint32_t IRQ_RAISE = 0x60, IRQ_ACK = 0x64;
    static constexpr std::uint32_t DMA_SRC = 0x80, DMA_DST = 0x88, DMA_CNT = 0x90, DMA_CMD = 0x98;
    static constexpr std::uint32_t IDENT_VALUE = 0x010000ed;
    static constexpr std::uint32_t STATUS_COMPUTING = 0x01, STATUS_IRQFACT = 0x80;
    static constexpr std::uint32_t FACT_IRQ = 0x001, DMA_IRQ = 0x100;
    static constexpr std::uint64_t CMD_RUN = 0x1, CMD_TO_RAM = 0x2, CMD_IRQ = 0x4;
    static constexpr std::uint64_t BUFFER = 0x40000, BUFFER_SIZE = 4096;
    static constexpr std::uint64_t BAR0_SIZE = 1 << 20;

    // What QEMU's edu_class_init and pci_edu_realize fix: a description may
    // not give other IDs, BARs or a PCI Express capability.
    static constexpr model_identity identity{0x1234, 0x11e8, 0x00ff00, 0x10, 0x1af4, 0x1100, true, true};

    SC_HAS_PROCESS(edu);
    edu(sc_core::sc_module_name name, pci::function_params p, const edu_params& ep = {});

    void stats(stat_map& out) const override;

protected:
    pcie::completion bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                std::uint8_t* data, unsigned len, sc_core::sc_time& delay) override;
    void reset_device() override;

private:
    std::uint64_t read_register(std::uint32_t offset, unsigned len) const;
    void write_register(std::uint32_t offset, unsigned len, std::uint64_t value);
    void raise_irq(std::uint32_t causes);
    void lower_irq(std::uint32_t causes);
    void factorial_done();
    void dma_thread();
    void irq_thread();
    // Whether the buffer-side range [addr, addr + count) lies in the buffer.
    static bool in_buffer(std::uint64_t addr, std::uint64_t count);

    edu_params ep_;
    register_bank regs_;
    std::array<std::uint8_t, BUFFER_SIZE> buffer_{};
    sc_core::sc_event factorial_event_, dma_event_, irq_event_;
    unsigned msi_pending_ = 0;   // MSI messages raised and not yet sent
    bool intx_wanted_ = false;   // the level INTx should have
    std::uint64_t generation_ = 0;  // bumped by reset: work started before it is dropped
    std::uint64_t transfers_ = 0, refused_transfers_ = 0, blocked_transfers_ = 0, factorials_ = 0;
    std::uint64_t bad_accesses_ = 0;
};

} // namespace iotwin::devices
