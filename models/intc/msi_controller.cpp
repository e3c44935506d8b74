#include "models/intc/msi_controller.h"

#include "models/common/payload.h"
#include "models/pcie/protocol.h"

namespace iotwin::intc {

using namespace sc_core;

msi_controller::msi_controller(sc_module_name name, sc_time latency)
    : sc_module(name), socket("socket"), latency_(latency) {
    socket.register_b_transport(this, &msi_controller::b_transport);
}

void msi_controller::b_transport(tlm::tlm_generic_payload& gp, sc_time& delay) {
    const std::uint64_t a = gp.get_address();
    const unsigned len = gp.get_data_length();
    if (const tlm::tlm_response_status refused = refused_payload_features(gp); refused != tlm::TLM_OK_RESPONSE) {
        ++malformed_;
        gp.set_response_status(refused);
        return;
    }
    // Only DWORD writes are interrupt messages; anything else in the window is an error.
    if (!gp.is_write() || len != 4 || (a & 3) || !pcie::is_msi_address(a)) {
        ++malformed_;
        gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    const std::uint8_t* d = gp.get_data_ptr();
    interrupt_message m;
    m.destination = static_cast<std::uint8_t>((a >> 12) & 0xff);
    m.vector = d[0];
    if (const auto* ext = gp.get_extension<pcie::pcie_ext>(); ext && !ext->host) {
        m.requester_id = ext->requester_id;
        m.from_device = true;
    }
    delay += latency_;
    m.time = sc_time_stamp() + delay;
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
    if (m.vector < 16) {
        ++illegal_vector_;
        return;
    }
    ++delivered_;
    if (sink_) sink_(m);
}

void msi_controller::stats(stat_map& out) const {
    const std::string n = basename();
    add_stat(out, n, "delivered", delivered_);
    add_stat(out, n, "illegal_vector", illegal_vector_);
    add_stat(out, n, "malformed", malformed_);
}

} // namespace iotwin::intc
