// Prepares a generic payload for one request, as every initiator in the
// models does: command, address, data, a single streaming beat, no byte
// enables, response pending.
#pragma once
#include <cstdint>

#include <tlm>

namespace iotwin {

inline void prepare(tlm::tlm_generic_payload& gp, tlm::tlm_command cmd, std::uint64_t addr, void* data, unsigned len) {
    gp.set_command(cmd);
    gp.set_address(addr);
    gp.set_data_ptr(static_cast<unsigned char*>(data));
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
}

} // namespace iotwin
