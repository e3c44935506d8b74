#include "models/hyp/event_channel.h"

#include <cerrno>

namespace iotwin::hyp {

int event_channels::domain_created(domain&, sc_core::sc_time&) { return 0; }
void event_channels::domain_destroyed(domain&, sc_core::sc_time&) {}
long event_channels::event_channel_op(hypercall&, sc_core::sc_time&) { return -ENOSYS; }
void event_channels::stats(stat_map&, const std::string&) const {}

} // namespace iotwin::hyp
