// Mapping and copying grants: map_grant_ref, unmap_grant_ref,
// unmap_and_replace, copy, and releasing a dying domain's mappings
// (xen/common/grant_table.c).
#include "models/hyp/grant_table.h"

#include <cerrno>

#include "models/hyp/hypervisor.h"

namespace iotwin::hyp::gnttab {

using sc_core::sc_time;

void grant_tables::domain_destroyed(domain&, sc_time&) {}
long grant_tables::map_grant_ref(domid_t, gnttab::map_grant_ref*, unsigned, sc_time&) { return -ENOSYS; }
long grant_tables::unmap_grant_ref(domid_t, gnttab::unmap_grant_ref*, unsigned, sc_time&) { return -ENOSYS; }
long grant_tables::unmap_and_replace(domid_t, gnttab::unmap_and_replace*, unsigned, sc_time&) { return -ENOSYS; }
long grant_tables::copy(domid_t, gnttab::copy*, unsigned, sc_time&) { return -ENOSYS; }
const mapping* grant_tables::mapping_of(domid_t, std::uint64_t) const { return nullptr; }

} // namespace iotwin::hyp::gnttab
