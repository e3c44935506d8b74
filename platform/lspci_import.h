// The import of a machine (`iotwin import`): the scenario for its listing,
// and, where the listing has the kernel's IOMMU group lines, the kernel's
// groups against the twin's. Where the kernel counted functions without an
// ACS capability as isolated (an ACS quirk newer than Linux 6.1, or the ACS
// override patch), the scenario says so through platform.pcie_acs_override,
// so that `iotwin groups` on it gives the kernel's groups; the comparison
// against Linux 6.1's own rules, with why each group differs, is kept.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "platform/iommu_groups.h"
#include "platform/loader.h"
#include "platform/lspci_compare.h"
#include "platform/lspci_hierarchy.h"
#include "platform/lspci_scenario.h"
#include "platform/lspci_text.h"

namespace iotwin::platform::lspci_import {

// A scenario loaded as `iotwin groups` loads it, and its groups. The
// topology points into the scenario's description, so the three stay
// together at one address.
struct loaded {
    scenario s;
    topology t;
    group_result g;
};

struct result {
    std::string yaml;                      // the scenario, as written
    std::vector<std::string> acs_override;  // the pcie_acs_override entries it carries ([] when none)
    bool has_kernel_groups = false;        // the listing has IOMMU group lines
    std::size_t kernel_groups = 0;         // how many groups the kernel reported
    std::size_t differ_from_6_1 = 0;       // kernel groups Linux 6.1's rules form otherwise
    std::size_t differ_from_scenario = 0;  // kernel groups the written scenario forms otherwise
    std::string comparison;                // --compare's text: the kernel against Linux 6.1, with reasons
    std::shared_ptr<const loaded> scenario;  // `yaml`, loaded
};

// `scratch`: an existing directory where the scenario is written to be loaded.
// Throws input_error when the scenario does not load (a defect of the importer).
result run(const lspci_text::listing& l, const lspci_hierarchy::machine& m, const lspci_scenario::options& o,
           const std::filesystem::path& scratch);

} // namespace iotwin::platform::lspci_import
