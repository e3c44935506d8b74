// Xen's event channels (xen/include/public/event_channel.h, xen/common/event_channel.c).
#pragma once
#include <cstdint>
#include <string>

#include <systemc>

#include "models/common/stats.h"
#include "models/hyp/hypercall.h"

namespace iotwin::hyp {

class hypervisor;
struct domain;

struct evtchn_timing {
    sc_core::sc_time op = sc_core::sc_time(60, sc_core::SC_NS);  // per EVTCHNOP_*
};

class event_channels {
public:
    event_channels(hypervisor& h, const evtchn_timing& t) : h_(h), t_(t) {}

    int domain_created(domain& d, sc_core::sc_time& t);
    void domain_destroyed(domain& d, sc_core::sc_time& t);
    // HYPERVISOR_event_channel_op: 0 or -errno.
    long event_channel_op(hypercall& hc, sc_core::sc_time& d);
    void stats(stat_map& out, const std::string& prefix) const;

private:
    hypervisor& h_;
    evtchn_timing t_;
};

} // namespace iotwin::hyp
