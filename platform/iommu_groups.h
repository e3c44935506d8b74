// IOMMU groups computed with Linux 6.1's rules (drivers/iommu/iommu.c
// pci_device_group(), drivers/pci/pci.c pci_acs_enabled() and
// pci_acs_path_enabled(), drivers/pci/search.c pci_for_each_dma_alias(), the
// quirks of drivers/pci/quirks.c), applied in Linux's probe order over the
// topology graph. Every function ends in exactly one group; each group that
// is not a singleton says, in one sentence, why.
#pragma once
#include <string>
#include <vector>

#include "platform/topology.h"

namespace iotwin::platform {

struct iommu_group {
    int id = 0;                 // counted from 0 in order of the groups' lowest BDF
    std::vector<int> members;   // topology function indices, in BDF order
    std::string reason;         // empty for a singleton
};

struct group_result {
    std::vector<iommu_group> groups;  // in id order
    std::vector<int> group_of;        // function index -> group id
};

// Whether Linux 6.1 counts function i as isolated for the ACS flags Linux
// requires (SV, RR, CR, UF); when not, `why` says why.
bool linux_acs_enabled(const topology& t, int i, std::string* why = nullptr);

// Whether the kernel's pcie_acs_override= claims ACS for function f.
bool acs_overridden(const acs_override& o, const topo_function& f);

group_result compute_groups(const topology& t);

} // namespace iotwin::platform
