// A non-virtual way into the fabric's own target sockets. An initiator
// socket that finds one of these behind its binding (initiator_socket.h)
// calls the target module through a plain function pointer: no vtable, no
// virtual-base adjustment, no thunk. Targets of any other kind are called
// through their TLM interface as usual.
#pragma once
#include <systemc>
#include <tlm>

namespace iotwin {

template <class TYPES>
class direct_transport {
public:
    using payload = typename TYPES::tlm_payload_type;
    void b_transport_direct(payload& gp, sc_core::sc_time& t) { call_(this, gp, t); }

protected:
    using call = void (*)(direct_transport*, payload&, sc_core::sc_time&);
    explicit direct_transport(call c) : call_(c) {}
    ~direct_transport() = default;

private:
    call call_;
};

} // namespace iotwin
