// The system interconnect between CPUs, the IOMMU's output and the targets
// (memory, the root complex's ECAM and MMIO windows, the IOMMU registers, the
// interrupt window). It decodes from an address map the platform builds; an
// address no target claims is an address error, never a silent drop.
// Addresses are passed on unchanged (targets decode absolute addresses).
// A range may be host-only (ECAM, the IOMMU's registers): a device's request
// (one carrying a pcie_ext a CPU did not issue) to it, or to no range at all,
// completes with Unsupported Request and reaches no target. This is the
// inbound decode of the root complex for the ranges outside its windows.
// DMI requests are forwarded to the target that decodes the address, and
// invalidations from any target go to every initiator.
#pragma once
#include <string>
#include <vector>

#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include "models/common/initiator_socket.h"
#include "models/common/multi_target_socket.h"

#include "models/common/params.h"
#include "models/common/stats.h"

namespace iotwin::interconnect {

struct router_params {
    sc_core::sc_time latency = sc_core::sc_time(5, sc_core::SC_NS);
    template <class V> void visit(V& v) { v("latency", latency, "time", "system interconnect traversal per request"); }
};

struct address_range {
    std::string name;
    std::uint64_t base = 0;
    std::uint64_t size = 0;
    bool host_only = false;  // CPUs only: a device's request gets UR
    bool contains(std::uint64_t a, std::uint64_t len) const { return a >= base && len <= size && a - base <= size - len; }
};

class router : public sc_core::sc_module {
public:
    multi_target_socket<router> in;
    multi_initiator_socket<router> out;

    router(sc_core::sc_module_name name, const router_params& p);

    // Maps `range` to the target bound to out[target]. Ranges must not overlap.
    void map(const address_range& range, int target);
    const std::vector<std::pair<address_range, int>>& address_map() const { return map_; }
    void stats(stat_map& out) const;

private:
    void b_transport(int from, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    bool get_direct_mem_ptr(int from, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
    unsigned transport_dbg(int from, tlm::tlm_generic_payload& gp);
    void invalidate_direct_mem_ptr(int target, sc_dt::uint64 start, sc_dt::uint64 end);
    // Requests come in streams: the range decoded last is tried first, inline.
    int decode(std::uint64_t addr, std::uint64_t len, bool* host_only = nullptr) const {
        if (last_ < map_.size() && map_[last_].first.contains(addr, len ? len : 1)) {
            if (host_only) *host_only = map_[last_].first.host_only;
            return map_[last_].second;
        }
        return decode_scan(addr, len, host_only);
    }
    int decode_scan(std::uint64_t addr, std::uint64_t len, bool* host_only) const;

    router_params p_;
    std::vector<std::pair<address_range, int>> map_;
    mutable std::size_t last_ = 0;  // the entry decode() matched last
    std::uint64_t requests_ = 0, decode_errors_ = 0, device_refused_ = 0;
};

} // namespace iotwin::interconnect
