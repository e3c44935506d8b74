// Platform bring-up, as firmware and the hypervisor do it before any guest
// runs: the IOMMU's root table and fault interrupt, enumeration of the PCI
// hierarchy, the domains and their memory, and device assignment (functions
// nobody was given stay with the first privileged domain, as Xen's hardware
// domain keeps them). Runs on the caller's timeline; no wait().
#pragma once
#include <map>
#include <string>

#include "platform/builder.h"
#include "platform/enumerator.h"

namespace iotwin::platform {

// Returns the enumeration by function id. Throws input_error when the
// description cannot be brought up (memory, windows).
std::map<std::string, enumerated_function> boot_platform(const scenario& s, platform_instance& pi, sc_core::sc_time& d);

} // namespace iotwin::platform
