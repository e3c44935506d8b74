// The physical CPU that runs the domains' vCPUs, as far as the hypervisor
// sees it: a vCPU's hypercall (VMCALL for HVM, SYSCALL from a PV kernel) is
// a TLM transaction to the hypervisor's `hypercalls` socket. The cost of the
// switch into the hypervisor and back is the hypervisor's (docs/timing.md).
#pragma once
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/hyp/hypercall.h"

namespace iotwin::cpu {

class cpu : public sc_core::sc_module {
public:
    tlm_utils::simple_initiator_socket<cpu> hypercall;

    explicit cpu(sc_core::sc_module_name name) : sc_module(name), hypercall("hypercall") {}

    // Issues `hc` on `caller`'s vCPU at the time `d` after now; returns hc.rc.
    long call(hyp::hypercall& hc, sc_core::sc_time& d);

    std::uint64_t hypercalls() const { return hypercalls_; }

private:
    std::uint64_t hypercalls_ = 0;
};

} // namespace iotwin::cpu
