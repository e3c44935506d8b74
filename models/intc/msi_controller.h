// The interrupt message receiver of x86 local APICs: memory writes to
// 0xFEE0_0000..0xFEEF_FFFF are interrupt messages. Compatibility format only:
// Destination ID in address bits 19:12, vector in data bits 7:0 (Intel SDM
// vol. 3A, 10.11.1 and 10.11.2). Vectors 0..15 are illegal and are counted as
// APIC errors ("Received Illegal Vector"), not delivered.
// Interrupt remapping, when the IOMMU does it, happens before this block.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "models/common/stats.h"

namespace iotwin::intc {

struct interrupt_message {
    std::uint8_t destination = 0;   // APIC ID
    std::uint8_t vector = 0;
    std::uint16_t requester_id = 0; // who wrote it, when it came from a device
    bool from_device = false;
    sc_core::sc_time time;
};

class msi_controller : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<msi_controller> socket;
    using sink = std::function<void(const interrupt_message&)>;

    msi_controller(sc_core::sc_module_name name, sc_core::sc_time latency);
    void set_sink(sink s) { sink_ = std::move(s); }
    void stats(stat_map& out) const;

private:
    void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    sc_core::sc_time latency_;
    sink sink_;
    std::uint64_t delivered_ = 0, illegal_vector_ = 0, malformed_ = 0;
};

} // namespace iotwin::intc
