// pcie_bench: a DMA benchmark device after pcie-bench (Neugebauer et al.,
// "Understanding PCIe performance for end host networking", SIGCOMM 2018,
// §4): it issues COUNT transfers of XFER bytes (DMA reads, or writes) at
// offsets drawn at random, uniformly and aligned to the transfer size, within
// a window of WINDOW_SIZE bytes at bus address WINDOW, keeping as many reads
// outstanding as its function has tags (pcie-bench's NFP and NetFPGA
// implementations likewise keep many DMAs in flight and measure the
// throughput of the stream). WARMUP transfers run first and are not measured
// (pcie-bench warms the caches it studies before it measures). Offsets come
// from SEED by splitmix64, so a run is reproducible.
//
// It measures from the issue of the first measured transfer to the last
// completion (reads) or departure (writes): ELAPSED_PS and BYTES give the
// throughput. The run starts when software writes CONTROL.START (the step
// waits for it) and ends with STATUS.DONE, or STATUS.ERROR when a transfer
// failed (ERRORS counts them) or the configuration is invalid.
//
// BAR0 (4 KiB) register map, little-endian, aligned 4- or 8-byte accesses:
//   0x00 ID          RO 0x50434942 ("BICP" as bytes: PCIe-bench)
//   0x08 WINDOW      RW bus address of the window (IOVA behind an IOMMU)
//   0x10 WINDOW_SIZE RW bytes (a multiple of XFER, at least XFER)
//   0x18 XFER        RW bytes per transfer, 1..4096
//   0x1c COUNT       RW measured transfers
//   0x20 WARMUP      RW transfers before the measurement
//   0x24 CONTROL     RW START (1, self-clearing), WRITE (2: DMA writes)
//   0x28 STATUS      RO/W1C BUSY (1), DONE (2), ERROR (4)
//   0x2c ERRORS      RO transfers that failed (UR/CA, or not issued)
//   0x30 SEED        RW
//   0x38 ELAPSED_PS  RO picoseconds of the measurement
//   0x40 BYTES       RO bytes of the measured transfers that succeeded
#pragma once
#include <array>
#include <cstdint>

#include <systemc>

#include "models/common/register_bank.h"
#include "models/pci/pci_function.h"

namespace iotwin::devices {

struct pcie_bench_params {
    sc_core::sc_time register_latency = sc_core::sc_time(10, sc_core::SC_NS);
    sc_core::sc_time start_latency = sc_core::sc_time(50, sc_core::SC_NS);

    template <class V> void visit(V& v) {
        v("register_latency", register_latency, "time", "completion of an MMIO access to a register");
        v("start_latency", start_latency, "time", "from a START write to the first DMA request");
    }
};

class pcie_bench : public pci::pci_function {
public:
    static constexpr std::uint32_t ID = 0x00, WINDOW = 0x08, WINDOW_SIZE = 0x10, XFER = 0x18, COUNT = 0x1c, WARMUP = 0x20;
    static constexpr std::uint32_t CONTROL = 0x24, STATUS = 0x28, ERRORS = 0x2c, SEED = 0x30, ELAPSED_PS = 0x38, BYTES = 0x40;
    static constexpr std::uint32_t ID_VALUE = 0x50434942;
    static constexpr std::uint32_t MAX_XFER = 4096;
    enum control_bits : std::uint32_t { START = 1, WRITE = 2 };
    enum status_bits : std::uint32_t { BUSY = 1, DONE = 2, ERROR = 4 };

    SC_HAS_PROCESS(pcie_bench);
    pcie_bench(sc_core::sc_module_name name, pci::function_params p, const pcie_bench_params& bp = {});

    void stats(stat_map& out) const override;

protected:
    pcie::completion bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                std::uint8_t* data, unsigned len, sc_core::sc_time& delay) override;
    void reset_device() override;

private:
    void run();
    // Runs the configured benchmark; false on an invalid configuration.
    bool bench(std::uint64_t epoch);

    pcie_bench_params bp_;
    register_bank regs_;
    std::array<std::uint8_t, MAX_XFER> buffer_{};
    sc_core::sc_event start_;
    bool pending_ = false;
    sc_core::sc_time start_at_;
    std::uint64_t epoch_ = 0;
    std::uint64_t runs_ = 0, transfers_ = 0, failed_ = 0, ignored_starts_ = 0;
};

} // namespace iotwin::devices
