// The IOMMU groups a machine's kernel reported (the `IOMMU group` lines of
// its lspci listing) beside the groups the twin computes for the scenario
// the importer wrote for that listing (platform/lspci_scenario.h), matched
// function by function through the ids the importer gave them.
#pragma once
#include <cstdint>
#include <optional>
#include <utility>
#include <ostream>
#include <string>
#include <vector>

#include "platform/iommu_groups.h"
#include "platform/lspci_text.h"
#include "platform/topology.h"

namespace iotwin::platform::lspci_compare {

// Why the twin groups a machine differently from its kernel: explained from
// the evidence in its listing, each difference with the rule or the missing
// information behind it (docs/import.md, "--compare").
//
// One group of the kernel's and the twin groups its functions fell into.
struct row {
    unsigned kernel_group = 0;
    std::vector<std::string> functions;  // the listing's BDFs, in listing order
    std::vector<int> twin_groups;        // twin group ids of those functions, ascending, without repeats
    bool same = false;                   // the twin has exactly these functions in one group
    // Why it differs, one sentence each, from what the listing shows: a
    // quirk newer than Linux 6.1, the ACS override patch, an AMD IOMMU,
    // capabilities lspci could not read, a function the kernel left out.
    std::vector<std::string> reasons;
    // vendor:device of PCI Express functions without an ACS capability in the
    // listing (none, or not readable) that the kernel must have counted as
    // isolated: a newer quirk, the override patch, or ACS lspci could not show.
    std::vector<std::pair<std::uint16_t, std::uint16_t>> kernel_isolated;
};

struct comparison {
    std::vector<row> rows;                       // by kernel group number
    std::vector<std::string> without_group;      // functions the listing gives no IOMMU group
    std::vector<std::string> not_in_twin;        // functions the scenario does not have (not imported)
    std::size_t differing() const;
};

// `id:vvvv:dddd` entries for platform.pcie_acs_override that make the twin
// count as isolated what the kernel did (every row's kernel_isolated), sorted.
std::vector<std::string> override_ids(const comparison& c);

comparison compare(const lspci_text::listing& l, const topology& t, const group_result& g);
void write_text(std::ostream& out, const comparison& c, const topology& t, const group_result& g);

} // namespace iotwin::platform::lspci_compare
