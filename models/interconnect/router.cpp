#include "models/interconnect/router.h"

#include <cassert>

#include "models/pcie/protocol.h"

namespace iotwin::interconnect {

using namespace sc_core;

router::router(sc_module_name name, const router_params& p) : sc_module(name), in("in"), out("out"), p_(p) {
    in.register_b_transport(this, &router::b_transport);
    in.register_get_direct_mem_ptr(this, &router::get_direct_mem_ptr);
    in.register_transport_dbg(this, &router::transport_dbg);
    out.register_invalidate_direct_mem_ptr(this, &router::invalidate_direct_mem_ptr);
}

void router::map(const address_range& range, int target) {
    for ([[maybe_unused]] const auto& [r, t] : map_)
        assert(range.base + range.size <= r.base || r.base + r.size <= range.base);
    map_.emplace_back(range, target);
}

int router::decode_scan(std::uint64_t addr, std::uint64_t len, bool* host_only) const {
    for (std::size_t i = 0; i < map_.size(); ++i)
        if (map_[i].first.contains(addr, len ? len : 1)) {
            if (host_only) *host_only = map_[i].first.host_only;
            last_ = i;
            return map_[i].second;
        }
    return -1;
}

void router::b_transport(int, tlm::tlm_generic_payload& gp, sc_time& delay) {
    ++requests_;
    bool host_only = false;
    const int t = decode(gp.get_address(), gp.get_data_length(), &host_only);
    if (t >= 0 && !host_only) {  // a range every initiator may reach: the common case
        delay += p_.latency;
        out.b_transport(t, gp, delay);
        return;
    }
    auto* ext = gp.get_extension<pcie::pcie_ext>();
    const bool device = ext && !ext->host;
    if (t < 0) {
        ++decode_errors_;
        if (device) pcie::complete(gp, ext, pcie::completion::UR);
        else gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    if (device && host_only) {
        ++device_refused_;
        pcie::complete(gp, ext, pcie::completion::UR);
        return;
    }
    delay += p_.latency;
    out.b_transport(t, gp, delay);
}

bool router::get_direct_mem_ptr(int, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
    const int t = decode(gp.get_address(), 1);
    if (t < 0) return false;
    for (const auto& [r, target] : map_) {
        if (target != t || !r.contains(gp.get_address(), 1)) continue;
        const bool ok = out[t]->get_direct_mem_ptr(gp, dmi);
        // Never hand out more than the range this router decodes to that target;
        // the pointer moves with the start address.
        if (dmi.get_start_address() < r.base) {
            dmi.set_dmi_ptr(dmi.get_dmi_ptr() + (r.base - dmi.get_start_address()));
            dmi.set_start_address(r.base);
        }
        if (dmi.get_end_address() > r.base + r.size - 1) dmi.set_end_address(r.base + r.size - 1);
        return ok;
    }
    return false;
}

unsigned router::transport_dbg(int, tlm::tlm_generic_payload& gp) {
    const int t = decode(gp.get_address(), gp.get_data_length());
    return t < 0 ? 0 : out[t]->transport_dbg(gp);
}

void router::invalidate_direct_mem_ptr(int, sc_dt::uint64 start, sc_dt::uint64 end) {
    for (unsigned i = 0; i < in.size(); ++i) in[i]->invalidate_direct_mem_ptr(start, end);
}

void router::stats(stat_map& out) const {
    const std::string n = basename();
    add_stat(out, n, "requests", requests_);
    add_stat(out, n, "decode_errors", decode_errors_);
    add_stat(out, n, "device_requests_refused", device_refused_);
}

} // namespace iotwin::interconnect
