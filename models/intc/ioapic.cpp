#include "models/intc/ioapic.h"

namespace iotwin::intc {

using namespace sc_core;

ioapic::ioapic(sc_module_name name, sc_time latency)
    : sc_module(name), latency_(latency), sources_(pins), remote_irr_(pins, false) {}

void ioapic::set_line(unsigned gsi, std::uint32_t source, bool level, sc_time& delay) {
    if (gsi >= pins) {
        ++out_of_range_;
        return;
    }
    const bool was = asserted(gsi);
    if (level) sources_[gsi].insert(source);
    else sources_[gsi].erase(source);
    if (!was && asserted(gsi) && !remote_irr_[gsi]) deliver(gsi, delay);
}

void ioapic::eoi(unsigned gsi, sc_time& delay) {
    if (gsi >= pins || !remote_irr_[gsi]) {
        ++spurious_eoi_;
        return;
    }
    remote_irr_[gsi] = false;
    if (asserted(gsi)) {
        ++redelivered_;
        deliver(gsi, delay);
    }
}

void ioapic::deliver(unsigned gsi, sc_time& delay) {
    remote_irr_[gsi] = true;
    ++delivered_;
    delay += latency_;
    if (sink_) sink_(gsi, sc_time_stamp() + delay);
}

void ioapic::stats(stat_map& out) const {
    const std::string n = basename();
    add_stat(out, n, "delivered", delivered_);
    add_stat(out, n, "redelivered", redelivered_);
    add_stat(out, n, "out_of_range", out_of_range_);
    add_stat(out, n, "spurious_eoi", spurious_eoi_);
}

} // namespace iotwin::intc
