// The table itself: creation and growth, versions, status frames, swap,
// dump and page transfer (xen/common/grant_table.c).
#include "models/hyp/grant_table.h"

#include <cerrno>

#include "models/hyp/hypervisor.h"

namespace iotwin::hyp::gnttab {

using sc_core::sc_time;

int grant_tables::domain_created(domain& d, unsigned, unsigned, unsigned, unsigned, sc_time&) {
    if (tables_.size() <= d.id) tables_.resize(d.id + 1u);
    tables_[d.id].owner = d.id;
    return 0;
}
long grant_tables::setup_table(domid_t, gnttab::setup_table*, unsigned, sc_time&) { return -ENOSYS; }
long grant_tables::dump_table(domid_t, gnttab::dump_table*, unsigned, sc_time&) { return -ENOSYS; }
long grant_tables::transfer(domid_t, gnttab::transfer*, unsigned, sc_time&) { return -ENOSYS; }
long grant_tables::query_size(domid_t, gnttab::query_size*, unsigned, sc_time&) { return -ENOSYS; }
long grant_tables::set_version(domid_t, gnttab::set_version*, unsigned, sc_time&) { return -ENOSYS; }
long grant_tables::get_status_frames(domid_t, gnttab::get_status_frames*, unsigned, sc_time&) { return -ENOSYS; }
long grant_tables::get_version(domid_t, gnttab::get_version*, unsigned, sc_time&) { return -ENOSYS; }
long grant_tables::swap_grant_ref(domid_t, gnttab::swap_grant_ref*, unsigned, sc_time&) { return -ENOSYS; }
void grant_tables::stats(stat_map&, const std::string&) const {}

} // namespace iotwin::hyp::gnttab
