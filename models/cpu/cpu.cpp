#include "models/cpu/cpu.h"

#include <cerrno>

namespace iotwin::cpu {

long cpu::call(hyp::hypercall& hc, sc_core::sc_time& d) {
    tlm::tlm_generic_payload gp;
    gp.set_command(tlm::TLM_WRITE_COMMAND);
    gp.set_address(std::uint64_t(hc.nr) * 32);  // the entry in the hypercall page
    gp.set_data_ptr(reinterpret_cast<unsigned char*>(&hc));
    gp.set_data_length(sizeof hc);
    gp.set_streaming_width(sizeof hc);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    ++hypercalls_;
    hypercall->b_transport(gp, d);
    // A hypercall number the hypervisor does not implement: -ENOSYS, as Xen answers.
    if (!gp.is_response_ok()) hc.rc = -ENOSYS;
    return hc.rc;
}

} // namespace iotwin::cpu
