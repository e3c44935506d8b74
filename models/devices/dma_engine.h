// dma_engine: a copy engine behind BAR0 doing real DMA through the fabric (so
// the IOMMU translates and checks every request): one transfer programmed in
// registers, or a chain of scatter-gather descriptors that it fetches from
// memory by DMA; memory to memory, memory to its on-device buffer and back.
// Reports DONE or ERROR (with the failing address and a code) in STATUS and
// raises MSI vector 0. Reads (descriptor fetches, data) are non-posted, so a
// blocked one is seen and ends the transfer; a blocked posted write is not
// (the IOMMU's fault log and the root port's error status show it). Clearing
// Bus Master Enable stops a transfer at its next request; a Function Level
// Reset aborts it and returns every register to its reset value.
// With an ATS capability (`ats:` on its function) that the host enabled, it
// uses ATS for its DMA: translations from its ATC (a Translation Request on a
// miss) and translated requests (models/pci/ats.h).
// Not a real device: its register map and descriptor format are the twin's
// own, documented in docs/devices/dma_engine.md.
#pragma once
#include <array>
#include <map>

#include <systemc>

#include "models/pci/pci_function.h"

namespace iotwin::devices {

struct dma_engine_params {
    sc_core::sc_time register_latency = sc_core::sc_time(10, sc_core::SC_NS);
    sc_core::sc_time start_latency = sc_core::sc_time(50, sc_core::SC_NS);
    std::uint64_t max_descriptors = 1024;

    template <class V> void visit(V& v) {
        v("register_latency", register_latency, "time", "completion of an MMIO access to a register or the buffer");
        v("start_latency", start_latency, "time", "from a START write to the first DMA request");
        v("max_descriptors", max_descriptors, "descriptors",
          "descriptors one scatter-gather chain may hold; a longer (or looping) chain ends in ERROR (DESCRIPTOR_LIMIT)");
    }
};

struct bar_ram_params {
    sc_core::sc_time latency = sc_core::sc_time(10, sc_core::SC_NS);
    template <class V> void visit(V& v) { v("latency", latency, "time", "completion of an MMIO access to BAR memory"); }
};

class dma_engine : public pci::pci_function {
public:
    static constexpr std::uint32_t ID = 0x00, SRC = 0x08, DST = 0x10, LEN = 0x18, DIRECTION = 0x1c;
    static constexpr std::uint32_t CONTROL = 0x20, STATUS = 0x24, ERROR_ADDR = 0x28, ERROR_CODE = 0x30, BYTES_DONE = 0x34;
    static constexpr std::uint32_t DESC_ADDR = 0x38, DESC_COUNT = 0x40, DESC_CURRENT = 0x48;
    static constexpr std::uint32_t BUFFER = 0x8000, BUFFER_SIZE = 0x8000;
    enum direction : std::uint32_t { MEM_TO_MEM = 0, MEM_TO_DEV = 1, DEV_TO_MEM = 2 };
    enum control_bits : std::uint32_t { START = 1, IRQ_ENABLE = 2, SG = 4 };
    enum status_bits : std::uint32_t { BUSY = 1, DONE = 2, ERROR = 4 };
    enum error_code : std::uint32_t {
        NONE = 0, BUS_MASTER_DISABLED = 1, UNSUPPORTED_REQUEST = 2, COMPLETER_ABORT = 3, BAD_LENGTH = 4, BAD_RANGE = 5,
        BAD_DESCRIPTOR = 6, DESCRIPTOR_LIMIT = 7
    };
    // A scatter-gather descriptor in memory: 32 bytes, 32-byte aligned, little-endian.
    static constexpr std::uint32_t DESC_SIZE = 32;
    static constexpr std::uint32_t D_SRC = 0x00, D_DST = 0x08, D_LEN = 0x10, D_FLAGS = 0x14, D_NEXT = 0x18;
    enum descriptor_flags : std::uint32_t { D_DIRECTION = 0x3, D_IRQ = 0x10, D_LAST = 0x20 };

    SC_HAS_PROCESS(dma_engine);
    dma_engine(sc_core::sc_module_name name, pci::function_params p, const dma_engine_params& dp = {});

    void stats(stat_map& out) const override;

protected:
    pcie::completion bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                std::uint8_t* data, unsigned len, sc_core::sc_time& delay) override;
    void reset_device() override;

private:
    struct segment {
        std::uint64_t src = 0, dst = 0, len = 0;
        direction dir = MEM_TO_MEM;
    };
    void run();
    // Runs one segment; adds the bytes it moved to BYTES_DONE.
    error_code transfer(const segment& s, sc_core::sc_time& local);
    error_code chain(sc_core::sc_time& local);
    void finish(error_code e);
    void interrupt();
    bool aborted(std::uint64_t epoch) const { return epoch != epoch_; }

    dma_engine_params dp_;
    register_bank regs_;
    std::array<std::uint8_t, BUFFER_SIZE> buffer_{};
    sc_core::sc_event start_;
    // A START waits for the thread: `pending_` until it runs, not before `start_at_`.
    bool pending_ = false;
    sc_core::sc_time start_at_;
    // Counts resets: a transfer that sees it change was aborted and writes nothing more.
    std::uint64_t epoch_ = 0;
    std::uint64_t transfers_ = 0, failed_ = 0, ignored_starts_ = 0, descriptors_ = 0, aborted_ = 0;
};

// bar_ram: a function whose BARs are plain memory (on-device RAM); the default
// model of an endpoint that names none. Without a `bars` key in its
// description the builder gives it BAR0, 16 KiB, 32-bit (`bars: []`: none).
class bar_ram : public pci::pci_function {
public:
    bar_ram(sc_core::sc_module_name name, const pci::function_params& p, const bar_ram_params& bp = {});

protected:
    pcie::completion bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                std::uint8_t* data, unsigned len, sc_core::sc_time& delay) override;

private:
    bar_ram_params bp_;
    // Sparse: 4 KiB pages keyed by (BAR index, page), allocated on first touch,
    // so a 16 GiB prefetchable BAR costs only what is written.
    std::map<std::pair<unsigned, std::uint64_t>, std::vector<std::uint8_t>> pages_;
};

} // namespace iotwin::devices
