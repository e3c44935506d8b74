// `iotwin lspci`: the enumerated PCI hierarchy as lspci shows it. The platform
// of a scenario is built and booted (no steps run); then, as lspci does on
// Linux, every function is found and its configuration space read through
// ECAM by CPU accesses of the hypervisor: each root bus and every bridge's
// secondary bus are scanned device by device, and the virtual functions of
// every physical function whose VF Enable is set are added from its SR-IOV
// capability. What Linux's sysfs adds to the configuration space (a VF's
// vendor and device ID, the sizes of BARs and bridge windows) comes from the
// boot-time enumeration, as the kernel knows it from its own enumeration.
//
// The rendering follows pciutils as of 3.9 (the Debian 12 / Linux 6.1 era):
// lspci.c's terse listing and -vv (Control/Status, regions, bridge bus
// numbers and windows), ls-caps.c and ls-ecaps.c for the PCI Express, MSI,
// MSI-X, ACS, ARI and SR-IOV capabilities, ls-tree.c for -t / -tv. Names
// come from a small excerpt of the PCI ID database (the vendors and devices
// of the bundled scenarios and iotwin's defaults, every class); anything else
// is shown as lspci shows an ID it has no name for ("Device 1b36:00f0").
#pragma once
#include <cstdint>
#include <map>
#include <optional>
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
    int verbose = 0;    // -v count: any gives lspci -vv; with -t, the device names (lspci -tv)
};

// One function as lspci sees it.
struct lspci_function {
    std::uint16_t domain = 0;
    pcie::bdf bdf;
    // The kernel's view (sysfs): IDs (a VF's Vendor and Device ID registers read FFFFh),
    // and, for a function it enumerated, the BARs it sized and the windows it gave a bridge.
    std::uint16_t vendor = 0, device = 0;
    std::optional<enumerated_function> kernel;
    // Configuration space as read through ECAM: 256 bytes, 4096 for a PCI Express function.
    std::vector<std::uint8_t> config;
};

// Finds every function of a booted platform and reads its configuration
// space, scanning bus 0 and the root buses of additional host bridges (what
// ACPI tells Linux). `booted`: boot_platform's result. Sorted by address.
std::vector<lspci_function> read_pci_functions(platform_instance& pi, const std::map<std::string, enumerated_function>& booted,
                                               sc_core::sc_time& d);

// Writes the listing of `functions` (sorted by address) as lspci does with `o`.
void write_lspci(std::ostream& os, const std::vector<lspci_function>& functions, const lspci_options& o);

// The whole command: builds the platform of `s`, starts elaboration
// (sc_start(SC_ZERO_TIME), so once per process), boots it, reads every
// function and writes the listing. Throws input_error for descriptions that
// cannot be built or brought up.
void lspci(std::ostream& os, const scenario& s, const lspci_options& o);

} // namespace iotwin::platform
