// Isolation is checked, not assumed: checkers observe every access that
// reaches memory and compare it with the hypervisor's ownership ledger.
//
// dma_isolation: a device's DMA may only reach machine frames owned by the
// domain the device is assigned to (devices nobody was given belong to the
// first privileged domain, as Xen's hardware domain owns them).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <systemc>

#include "platform/builder.h"

namespace iotwin::platform {

struct violation {
    std::string invariant;
    std::size_t step = 0;
    sc_core::sc_time time;
    std::string device;       // id of the requester, or its requester ID
    std::uint16_t requester_id = 0;
    std::uint64_t address = 0;  // machine address
    std::uint64_t length = 0;
    bool write = false;
    std::string owner;        // who owns the frame
    std::string expected;     // whose frames the device may reach
    std::string message;
};

class isolation_checker {
public:
    isolation_checker(platform_instance& pi, bool enabled);
    void set_step(std::size_t step) { step_ = step; }
    const std::vector<violation>& violations() const { return violations_; }

private:
    void observe(const tlm::tlm_generic_payload& gp);
    std::string domain_name(hyp::domid_t id) const;

    platform_instance& pi_;
    std::size_t step_ = 0;
    std::vector<violation> violations_;
};

} // namespace iotwin::platform
