// dma_engine: a memory-copy DMA controller behind BAR0, the device that makes
// a function's DMA visible in scenarios. Software programs source, destination,
// length and direction, then writes START; the engine copies with real DMA
// through the fabric (so the IOMMU translates and checks every request), sets
// DONE or ERROR in STATUS and raises MSI vector 0 if IRQ_ENABLE is set.
// Reads are non-posted and overlap up to the function's tags; a failed read
// completion ends the transfer with ERROR. Writes are posted: the engine
// cannot know that the IOMMU blocked one (the fault log and the root port's
// error status show it), so a blocked write still ends in DONE, as on real
// hardware. Clearing Bus Master Enable stops a transfer at its next request
// (ERROR, code 1, BYTES_DONE what went out before).
//
// BAR0 (64 KiB) register map, little-endian:
//   0x00 ID          RO  0x444d4145 ("DMAE")
//   0x08 SRC         RW  64-bit source (IOVA, or buffer offset for DEV_TO_MEM)
//   0x10 DST         RW  64-bit destination (IOVA, or buffer offset for MEM_TO_DEV)
//   0x18 LEN         RW  bytes to copy (1 .. 32 KiB)
//   0x1c DIRECTION   RW  0 MEM_TO_MEM, 1 MEM_TO_DEV, 2 DEV_TO_MEM
//   0x20 CONTROL     RW  bit 0 START (self-clearing), bit 1 IRQ_ENABLE
//   0x24 STATUS      RW1C bit 0 BUSY (RO), bit 1 DONE, bit 2 ERROR
//   0x28 ERROR_ADDR  RO  64-bit address of the read request that failed
//   0x30 ERROR_CODE  RO  0 none, 1 bus master disabled, 2 unsupported request,
//                        3 completer abort, 4 bad length, 5 bad buffer range
//   0x34 BYTES_DONE  RO  bytes moved by the last transfer (written, or read into the buffer)
//   0x8000..0xffff   the engine's 32 KiB buffer, readable and writable by MMIO
#pragma once
#include <array>
#include <map>

#include <systemc>

#include "models/pci/pci_function.h"

namespace iotwin::devices {

struct dma_engine_params {
    sc_core::sc_time register_latency = sc_core::sc_time(10, sc_core::SC_NS);
    sc_core::sc_time start_latency = sc_core::sc_time(50, sc_core::SC_NS);

    template <class V> void visit(V& v) {
        v("register_latency", register_latency, "time", "completion of an MMIO access to a register or the buffer");
        v("start_latency", start_latency, "time", "from a START write to the first DMA request");
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
    static constexpr std::uint32_t BUFFER = 0x8000, BUFFER_SIZE = 0x8000;
    enum direction : std::uint32_t { MEM_TO_MEM = 0, MEM_TO_DEV = 1, DEV_TO_MEM = 2 };
    enum status_bits : std::uint32_t { BUSY = 1, DONE = 2, ERROR = 4 };
    enum error_code : std::uint32_t { NONE = 0, BUS_MASTER_DISABLED = 1, UNSUPPORTED_REQUEST = 2, COMPLETER_ABORT = 3, BAD_LENGTH = 4, BAD_RANGE = 5 };

    SC_HAS_PROCESS(dma_engine);
    dma_engine(sc_core::sc_module_name name, pci::function_params p, const dma_engine_params& dp = {});

    void stats(stat_map& out) const override;

protected:
    pcie::completion bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                std::uint8_t* data, unsigned len, sc_core::sc_time& delay) override;

private:
    void run();
    error_code transfer(sc_core::sc_time& local);
    void finish(error_code e, std::uint64_t bytes);

    dma_engine_params dp_;
    register_bank regs_;
    std::array<std::uint8_t, BUFFER_SIZE> buffer_{};
    sc_core::sc_event start_;
    std::uint64_t transfers_ = 0, failed_ = 0, ignored_starts_ = 0;
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
