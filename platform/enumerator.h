// Enumeration as PC firmware and Linux do it, through configuration requests
// in ECAM issued from a CPU: a scan of every bus in device/function order
// that keeps the bus numbers firmware programmed into bridges and numbers the
// others' secondary and subordinate buses as Linux 6.1 does (first pass, then
// second pass of pci_scan_child_bus_extend(): depth-first when firmware
// numbered none), so BDFs are the ones Linux shows; it sizes every BAR with the all-ones protocol, then assigns BARs
// and bridge windows (non-prefetchable below 4 GiB, 64-bit prefetchable above)
// with natural alignment and 1 MiB window granularity, and enables memory
// decoding everywhere and bus mastering on bridges. Endpoints' Bus Master
// Enable stays clear: their drivers set it.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "models/hyp/hypervisor.h"
#include "models/pcie/protocol.h"

namespace iotwin::platform {

struct enumerated_bar {
    unsigned index = 0;
    std::uint64_t base = 0, size = 0;
    bool is64 = false, prefetchable = false;
    bool io = false;  // an I/O BAR: base is a port
};

struct enumerated_function {
    pcie::bdf bdf;
    std::uint16_t vendor = 0, device = 0;
    std::uint32_t class_code = 0;
    bool bridge = false;
    std::uint8_t secondary = 0, subordinate = 0;
    std::vector<enumerated_bar> bars;
    std::uint64_t window_base = 0, window_size = 0, pref_base = 0, pref_size = 0;
    std::uint64_t window_align = 0, pref_align = 0;
    std::uint64_t io_base = 0, io_size = 0, io_align = 0;  // a bridge's I/O window (4 KiB granules)
    int parent = -1;
    std::vector<int> children;

    // The BAR with `index`, or null when the function has none there.
    const enumerated_bar* bar(std::uint64_t index) const {
        for (const enumerated_bar& b : bars)
            if (b.index == index) return &b;
        return nullptr;
    }
};

class enumerator {
public:
    // `root_buses`: the root buses of additional host bridges (from ACPI), scanned after bus 0.
    enumerator(hyp::hypervisor& cpu, std::vector<std::uint8_t> root_buses = {})
        : cpu_(cpu), root_buses_(std::move(root_buses)) {}
    // Scans from bus 0 and assigns resources; returns every function found
    // in scan order, each bus's functions before the buses below its bridges
    // (those firmware numbered first). Bus numbers for
    // SR-IOV virtual functions are reserved after their PF's bus, as Linux's
    // pci_iov_bus_range() does. Throws std::runtime_error when the windows
    // cannot hold the BARs.
    std::vector<enumerated_function> run(sc_core::sc_time& d);
    // pci_enable_sriov(): sets NumVFs and VF Enable on the physical function
    // at `pf` and returns its virtual functions.
    std::vector<enumerated_function> enable_sriov(const pcie::bdf& pf, std::uint16_t num_vfs, sc_core::sc_time& d);

    // pci_ats_init() + pci_ats_page_aligned() + pci_enable_ats(dev, 12)
    // (Linux 6.1 drivers/pci/ats.c): finds the ATS capability, and when it
    // says Page Aligned Request, sets Enable with STU = 0 (4 KiB pages).
    // False when the function has no ATS capability or it is not page aligned.
    bool enable_ats(const pcie::bdf& f, sc_core::sc_time& d);

private:
    struct need { std::uint64_t size = 0, align = 1; };
    std::uint32_t read(const pcie::bdf& f, std::uint16_t reg, unsigned len, sc_core::sc_time& d);
    void write(const pcie::bdf& f, std::uint16_t reg, unsigned len, std::uint32_t v, sc_core::sc_time& d);
    // Scans `bus`, whose bridges may use buses up to `end`; returns the highest bus used.
    unsigned scan_bus(std::uint8_t bus, unsigned end, int parent, sc_core::sc_time& d);
    // Linux's first pass for bridge found_[i]: when its bus numbers are valid,
    // scans below it and raises `max` to its subordinate bus; false when the
    // second pass must number it.
    bool keep_firmware_numbers(int i, unsigned& max, sc_core::sc_time& d);
    int probe(const pcie::bdf& f, int parent, sc_core::sc_time& d);
    std::optional<std::uint16_t> find_ext_cap(const pcie::bdf& f, std::uint16_t id, sc_core::sc_time& d);
    void size_bars(enumerated_function& e, unsigned count, sc_core::sc_time& d);
    std::pair<need, need> size_windows(const std::vector<int>& children);
    void assign(const std::vector<int>& children, std::uint64_t np_base, std::uint64_t pf_base, sc_core::sc_time& d);
    // The I/O space: I/O BARs and bridges' I/O windows (4 KiB granules), from port 0x1000.
    need size_io(const std::vector<int>& children);
    void assign_io(const std::vector<int>& children, std::uint64_t base, sc_core::sc_time& d);

    hyp::hypervisor& cpu_;
    std::vector<std::uint8_t> root_buses_;
    std::vector<enumerated_function> found_;
    std::vector<int> root_;
};

} // namespace iotwin::platform
