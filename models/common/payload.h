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

// For a target that honours neither byte enables nor streaming (registers,
// BARs, interrupt messages): the response the TLM-2.0 LRM names for a
// payload that uses them (IEEE 1666-2011 14.14, 14.15), or TLM_OK_RESPONSE.
inline tlm::tlm_response_status refused_payload_features(const tlm::tlm_generic_payload& gp) {
    if (gp.get_byte_enable_ptr()) return tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE;
    if (gp.get_streaming_width() < gp.get_data_length()) return tlm::TLM_BURST_ERROR_RESPONSE;
    return tlm::TLM_OK_RESPONSE;
}

} // namespace iotwin
