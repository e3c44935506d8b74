// Reading a copy of a machine's sysfs PCI tree (/sys/bus/pci/devices and the
// files below it) into the listing the lspci text reader gives
// (platform/lspci_text.h), so that the hierarchy, the scenario writer and the
// comparison take either. Per function it reads:
// - `config`: the configuration space, decoded here (PCI 3.0 6.1, 6.7;
//   PCIe 5.0 7.5.1, 7.5.3, 7.7.8 ACS, 9.3.3 SR-IOV): IDs, class, revision,
//   header type, bus numbers, the capability lists, BAR types;
// - `resource` (Linux drivers/pci/pci-sysfs.c, resource_show): one line
//   "start end flags" per resource, BARs 0..5 first, for the BARs' addresses,
//   types and sizes;
// - the `iommu_group` and `driver` links: only the last component of where
//   they point (the group number, the driver's name), which survives a copy
//   in which they dangle; `kernel/iommu_groups/N/devices/` too, when copied.
//
// A copy is hostile input: every file is read up to a bound, only regular
// files are read, links are followed only inside the copy (an absolute
// /sys/... link is taken relative to the copy's /sys; never to the sysfs of
// the machine that reads it), and every anomaly becomes a diagnostic naming
// its file. Nothing is guessed: a configuration space copied without root
// (64 bytes) gives no capabilities, and the diagnostic says so.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/lspci_text.h"

namespace iotwin::platform::sysfs_tree {

// Bounds on what a copy may hold: the largest configuration space (PCIe's
// extended space), a resource file far beyond the kernel's 17 lines of 57
// characters, and more functions than 256 buses of 256 functions.
constexpr std::size_t max_config = 4096;
constexpr std::size_t max_resource = 64 * 1024;
constexpr std::size_t max_entries = 65536;

// Where the two files of one function came from, for diagnostics.
struct sources {
    std::string config = "config";
    std::string resource = "resource";
};

// Decodes one function: its configuration space as copied (64, 256 or 4096
// bytes; at most max_config) and the text of its `resource` file (nullptr
// when the copy has none: the BARs then come from their registers, without
// sizes). `f` holds the function's address; the rest is filled in. Anomalies
// are appended to `skipped`. False when the configuration space is unusable
// (missing, shorter than the 64-byte header, longer than max_config, or
// reading all ones: no function answered), and `f` is not to be listed.
bool decode(std::string_view config, const std::string* resource, const sources& src, lspci_text::function& f,
            std::vector<lspci_text::diagnostic>& skipped);

// "dddd:bb:dd.f" as Linux names a function's directory (pci_name()), into
// `f`'s domain, bus, device and function; false when the name is not one.
bool parse_address(const std::string& name, lspci_text::function& f);

// Reads the tree under `root`: the devices directory itself (entries named
// dddd:bb:dd.f), or a directory above it holding bus/pci/devices/ (a copy of
// /sys) or sys/bus/pci/devices/ (a copy of /). Functions come sorted by
// domain, bus, device and function; diagnostics name the file (`source`)
// and, for a resource line, its line number. A root that has no devices
// directory gives no function and one diagnostic.
lspci_text::listing read(const std::filesystem::path& root);

} // namespace iotwin::platform::sysfs_tree
