// `iotwin lspci`: the enumerated PCI hierarchy in the layouts of the `lspci`
// command. The platform of a scenario is built and booted (no steps run).
// Which functions exist and where they hang comes from the hierarchy the
// platform already knows (the static topology, which boot has checked
// against the simulated enumeration, plus the root complex's host bridge at
// 00:00.0); whether each is there now and everything shown about it comes
// from configuration reads through ECAM made by the hypervisor's CPU, read
// lazily: only the registers an output needs are read. What Linux's sysfs
// adds to configuration space (a virtual function's vendor and device ID,
// the sizes of BARs) is taken as the kernel knows it: a VF's IDs from its
// PF's registers, BAR sizes from the boot-time enumeration.
//
// Outputs (docs/cli.md): the terse listing; -v and -vv (and -vvv, same as
// -vv) with only the registers the models define; -t and -tv, drawn as lspci
// draws the bus tree. Names come from a small excerpt of the PCI ID database;
// an ID without a name is shown as lspci shows it ("Device 1b36:00f0").
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "models/pcie/protocol.h"
#include "platform/builder.h"
#include "platform/description.h"
#include "platform/enumerator.h"

namespace iotwin::platform {

struct lspci_options {
    bool tree = false;  // -t: the bus tree
    int verbose = 0;    // number of -v: 1 as lspci -v, 2 or more as lspci -vv; with -t, device names (lspci -tv)
};

class config_reader;

// The configuration space of one function as far as it has been read:
// registers are fetched through ECAM the first time they are asked for, one
// aligned dword at a time, and kept. Registers that do not answer (the
// request completes unsuccessfully) read as all ones, as on a PC.
class config_image {
public:
    config_image(config_reader& reader, const pcie::bdf& f) : reader_(&reader), bdf_(f) {}
    std::uint32_t dword(unsigned reg) const;
    std::uint16_t word(unsigned reg) const { return static_cast<std::uint16_t>(dword(reg & ~3u) >> (8 * (reg & 2))); }
    std::uint8_t byte(unsigned reg) const { return static_cast<std::uint8_t>(dword(reg & ~3u) >> (8 * (reg & 3))); }
    std::size_t reads() const { return reads_; }  // ECAM requests made so far

private:
    config_reader* reader_;
    pcie::bdf bdf_;
    mutable std::vector<std::uint32_t> dwords_;  // 64 (the standard space) or 1024 once extended registers are read
    mutable std::vector<bool> fetched_;
    mutable std::size_t reads_ = 0;
};

// One function of the listing.
struct pci_listing_entry {
    std::uint16_t domain = 0;
    pcie::bdf bdf;
    std::string id;                   // the description's id; "" for the root complex's host bridge
    bool is_virtual = false;          // an SR-IOV virtual function
    int parent = -1;                  // the listing index of the bridge above; -1 on a root bus
    std::uint16_t vendor = 0, device = 0;  // the kernel's IDs (a VF's own registers read FFFFh)
    config_image config;
    const std::map<std::string, enumerated_function>* booted = nullptr;

    // What enumeration found for this function (BAR sizes); null if it was not there.
    const enumerated_function* enumerated() const;
};

// Every function that answers now, sorted by domain and routing ID. Holds
// references into the platform and `booted`: use it while both live.
class pci_listing {
public:
    // `booted`: boot_platform's result. `d`: the CPU's annotated time, advanced by every read.
    pci_listing(platform_instance& pi, const std::map<std::string, enumerated_function>& booted, sc_core::sc_time& d);
    ~pci_listing();
    pci_listing(const pci_listing&) = delete;
    pci_listing& operator=(const pci_listing&) = delete;

    const std::vector<pci_listing_entry>& entries() const { return entries_; }
    // ECAM requests made so far, over every function.
    std::size_t config_reads() const;

private:
    std::unique_ptr<config_reader> reader_;
    std::vector<pci_listing_entry> entries_;
};

// Writes `listing` in the layout `o` asks for.
void write_lspci(std::ostream& os, const pci_listing& listing, const lspci_options& o);

// The whole command: builds the platform of `s`, starts elaboration
// (sc_start(SC_ZERO_TIME), so once per process), boots it and writes the
// listing. Throws input_error for descriptions that cannot be built or brought up.
void lspci(std::ostream& os, const scenario& s, const lspci_options& o);

} // namespace iotwin::platform
