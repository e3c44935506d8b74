// The table itself: creation and growth, versions, status frames, swap,
// dump and page transfer (xen/common/grant_table.c).
#include "models/hyp/grant_table.h"

#include <cerrno>

#include "models/hyp/hypervisor.h"

namespace iotwin::hyp::gnttab {

using sc_core::sc_time;

// TEMPORARY (mapping work, until the table's own creation is merged): one
// grant frame (and a v2 status frame), shared at grant_frame_gfn(0).
int grant_tables::domain_created(domain& d, unsigned version, unsigned max_version, unsigned max_frames, unsigned max_maptrack_frames,
                                 sc_time&) {
    if (tables_.size() <= d.id) tables_.resize(d.id + 1u);
    table& t = tables_[d.id];
    t.owner = d.id;
    t.version = version == 2 ? 2 : 1;
    t.max_version = max_version;
    t.max_frames = max_frames;
    t.max_maptrack_frames = max_maptrack_frames;
    const auto f = h_.alloc_frame(d.id);
    if (!f) return ENOMEM;
    t.frames.push_back(*f);
    d.shared[d.grant_frame_gfn(0)] = *f;
    if (t.version == 2) {
        const auto s = h_.alloc_frame(d.id);
        if (!s) return ENOMEM;
        t.status_frames.push_back(*s);
        d.shared[d.status_frame_gfn(0)] = *s;
    }
    t.active.resize(t.entries());
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
