#include "models/pcie/protocol.h"

#include <cstdio>

namespace iotwin::pcie {

std::string bdf::str() const {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0000:%02x:%02x.%x", bus, dev, fn);
    return buf;
}

const char* to_string(completion c) {
    switch (c) {
    case completion::SC: return "SC";
    case completion::UR: return "UR";
    case completion::CRS: return "CRS";
    case completion::CA: return "CA";
    }
    return "?";
}

void complete(tlm::tlm_generic_payload& gp, pcie_ext* ext, completion c) {
    if (ext) ext->status = c;
    gp.set_response_status(c == completion::SC ? tlm::TLM_OK_RESPONSE
                           : c == completion::UR ? tlm::TLM_ADDRESS_ERROR_RESPONSE
                                                 : tlm::TLM_GENERIC_ERROR_RESPONSE);
}

completion completion_of(tlm::tlm_response_status s) {
    switch (s) {
    case tlm::TLM_OK_RESPONSE: return completion::SC;
    case tlm::TLM_ADDRESS_ERROR_RESPONSE:
    case tlm::TLM_COMMAND_ERROR_RESPONSE:
    case tlm::TLM_INCOMPLETE_RESPONSE: return completion::UR;
    default: return completion::CA;
    }
}

} // namespace iotwin::pcie
