// The device-specific ACS and DMA-alias quirks of Linux 6.1
// (drivers/pci/quirks.c: pci_dev_acs_enabled[], the DMA-alias fixups), as data
// matched on vendor and device ID. docs/research/linux-6.1-iommu-groups.md
// section 9 lists the sources; docs/iommu-groups.md documents the table.
#pragma once
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/pci/config_space.h"

namespace iotwin::platform {

// What a quirk needs to know about the function it is asked about.
struct quirk_subject {
    std::uint16_t vendor = 0, device = 0;
    std::optional<pci::port_type> pcie_type;  // PCI Express capability port type, none for conventional PCI
    bool multifunction = false;
    bool on_root_bus = false;
    std::uint8_t fn = 0;
    bool has_acs_cap = false;
    std::uint16_t acs_cap = 0, acs_ctrl = 0;
};

// pci_dev_specific_acs_enabled(): the first matching quirk that answers
// decides whether the ACS flags `flags` count as enabled; nullopt when no
// quirk answers (the standard rules apply). `name` receives the quirk's name.
std::optional<bool> quirk_acs_enabled(const quirk_subject& s, std::uint16_t flags, std::string* name = nullptr);

// The names of every entry of the table that matches the IDs, in table order,
// whether or not it answers for the function (pci_quirk_amd_sb_acs matches
// and stays silent without an AMD IOMMU).
std::vector<std::string> acs_quirks_matching(std::uint16_t vendor, std::uint16_t device);

// DMA-alias quirks applied at header fixup time.
struct alias_quirk {
    std::bitset<256> dma_alias_devfns;  // same-bus devfns the function also uses (dma_alias_mask)
    bool pcie_bridge_alias = false;      // PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS
    bool xlate_root = false;             // PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT
    std::string name;                    // the quirk's function name, "" when none
};
alias_quirk quirk_dma_alias(const quirk_subject& s, std::uint8_t devfn);

} // namespace iotwin::platform
