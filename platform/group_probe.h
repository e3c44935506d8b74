// The dynamic check of IOMMU groups: the platform is built and booted with
// DMA remapping on and no domain owning anything, so every request that
// reaches the IOMMU faults. Every function then tries a DMA read of every
// other function's BARs and a DMA read of memory. A BAR that answers was
// reached peer-to-peer, without the IOMMU: the two functions must be in one
// IOMMU group. Every requester ID the IOMMU records must be one the groups
// expect for that function (its own or an alias of a bridge above it).
#pragma once
#include <ostream>

#include "platform/description.h"

namespace iotwin::platform {

// Writes the findings; returns true when the fabric agrees with the groups.
bool verify_groups(const scenario& s, std::ostream& out);

} // namespace iotwin::platform
