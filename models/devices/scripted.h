// scripted: a malicious or buggy device. It performs, at given simulated
// times, a list of actions that the scenario writes: DMA reads and writes to
// any address (or to another function's BAR: peer-to-peer), raw interrupt
// messages (any address and data), MSI and MSI-X messages from its own
// capability, with any Address Type (untranslated, translation request, or
// claimed-translated) and any requester ID it chooses to put on the wire.
// What each action got back (issued or not, completion status, bytes, the
// data read) is readable in its BAR0 and in its stats, as a debugging port of
// a real attack card would show it; the origin of every request stays the
// function's own port, so the isolation checkers name the real device.
//
// The script starts when software first sets Bus Master Enable in the
// function's Command register: action times are measured from then (a device
// masters the bus once its driver enabled it; before, this model issues
// nothing, and an action due while Bus Master Enable is clear is not issued).
//
// BAR0 (64 KiB) register map, little-endian, 4- or 8-byte aligned accesses:
//   0x00 ID         RO 0x53435250 ("SCRP")
//   0x04 ACTIONS    RO actions in the script
//   0x08 DONE       RO actions carried out so far (issued or not)
//   0x0c FAILED     RO actions not issued or completed with UR/CA
//   0x1000 + 32 * i: the record of action i (i < 1024)
//     +0x00 STATE      0 pending, 1 issued (posted, or completed SC), 2 not issued
//                      (Bus Master Enable clear, MSI/MSI-X off, an unassigned
//                      target BAR), 3 completed with an error
//     +0x04 COMPLETION of a read: 0 SC, 1 UR, 2 CRS, 3 CA
//     +0x08 BYTES      bytes issued (writes) or completed (reads)
//     +0x10 DATA       the first 8 bytes read
//     +0x18 DIGEST     64-bit FNV-1a of every byte read
// Sources: PCIe Base Spec 5.0 2.2.4.1 (the AT field), 2.2.6.2 (requester ID),
// 6.12 (ACS).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <systemc>

#include "models/pci/pci_function.h"

namespace iotwin::devices {

// One action of a script, as the loader read it (models never see YAML).
struct script_action {
    enum class kind { dma_write, dma_read, msi, msix };
    kind what = kind::dma_write;
    sc_core::sc_time at;            // after Bus Master Enable was first set
    // Target of a DMA or raw message: a bus address, or a BAR of another
    // function (`target` names it) plus an offset, resolved when the action runs.
    std::uint64_t address = 0;
    std::string target;
    unsigned target_bar = 0;
    std::vector<std::uint8_t> data; // dma_write: the bytes, or else
    std::uint64_t fill_len = 0;     // dma_write: fill_len bytes of fill_byte (made when the action runs)
    std::uint8_t fill_byte = 0;
    std::uint64_t len = 0;          // dma_read: bytes
    // msi / msix: a raw message (`raw`: address and 32-bit data as a memory
    // write), else message `vector` of the function's own capability.
    bool raw = false;
    std::uint32_t msi_data = 0;
    unsigned vector = 0;
    std::optional<std::uint16_t> requester_id;  // forged, when given
    pcie::address_type address_type = pcie::address_type::untranslated;
};

struct scripted_params {
    sc_core::sc_time register_latency = sc_core::sc_time(10, sc_core::SC_NS);
    // Not a parameter: the function's `script:` (platform/loader.cpp fills it).
    std::vector<script_action> script;

    // Whether the function answers an ATS Invalidate Request with its
    // Invalidate Completion (false: a device that never does, which leaves
    // the IOMMU waiting until its time-out).
    bool ats_invalidation_completion = true;

    template <class V> void visit(V& v) {
        v("register_latency", register_latency, "time", "completion of an MMIO access to the result registers");
        v("ats_invalidation_completion", ats_invalidation_completion, "",
          "the function answers an ATS Invalidate Request with its Invalidate Completion (false: it never does)");
    }
};

class scripted : public pci::pci_function {
public:
    static constexpr std::uint32_t ID = 0x00, ACTIONS = 0x04, DONE = 0x08, FAILED = 0x0c;
    static constexpr std::uint32_t RECORDS = 0x1000, RECORD_SIZE = 32;
    static constexpr std::uint32_t R_STATE = 0x00, R_COMPLETION = 0x04, R_BYTES = 0x08, R_DATA = 0x10, R_DIGEST = 0x18;
    static constexpr std::uint32_t ID_VALUE = 0x53435250;  // "SCRP"
    static constexpr std::size_t MAX_ACTIONS = 1024;
    enum state : std::uint32_t { PENDING = 0, ISSUED = 1, NOT_ISSUED = 2, ERROR = 3 };

    SC_HAS_PROCESS(scripted);
    scripted(sc_core::sc_module_name name, pci::function_params p, const scripted_params& sp = {});

    void stats(stat_map& out) const override;

protected:
    pcie::completion bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                std::uint8_t* data, unsigned len, sc_core::sc_time& delay) override;
    void downstream(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
    bool ats_completes_invalidations() const override { return sp_.ats_invalidation_completion; }

private:
    struct outcome {
        state st = PENDING;
        pcie::completion completion = pcie::completion::SC;
        std::uint64_t bytes = 0;
        std::vector<std::uint8_t> read;
    };
    void run();
    outcome perform(const script_action& a, sc_core::sc_time& local);
    std::optional<std::uint64_t> resolve(const script_action& a) const;
    outcome issue(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data, std::uint64_t len,
                  const script_action& a, sc_core::sc_time& local);
    void record(std::size_t i, const outcome& o);

    scripted_params sp_;
    std::vector<std::uint8_t> regs_;
    bool started_ = false;
    sc_core::sc_event start_;
    std::uint64_t done_ = 0, failed_ = 0, forged_ = 0, translated_ = 0;
    // The payload of requests with an Address Type other than untranslated
    // (pci_function::dma() issues untranslated ones).
    tlm::tlm_generic_payload gp_;  // owns its pcie_ext
};

} // namespace iotwin::devices
