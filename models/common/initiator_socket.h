// Initiator sockets whose blocking transport takes the shortest path to the
// target. tlm_fw_transport_if inherits b_transport from a virtual base, so
// `socket->b_transport(...)` loads the port's interface, its vtable, the
// virtual base's offset and the base's vtable before it can jump, and the
// target's virtual thunk loads once more: a chain of dependent loads that the
// target's first use of `this` waits for, on every crossing. These sockets
// resolve the target once (at the first transport, when binding is
// complete): one of the fabric's own target sockets is called through a
// plain function pointer (direct_transport.h), any other target through its
// blocking interface's base pointer. Everything else is tlm_utils' socket.
#pragma once
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/common/direct_transport.h"

namespace iotwin {

namespace detail {
// A resolved binding: the direct way in when the target offers one.
template <class TYPES>
class resolved_target {
public:
    using payload = typename TYPES::tlm_payload_type;
    resolved_target() = default;
    explicit resolved_target(tlm::tlm_fw_transport_if<TYPES>* fw)
        : direct_(dynamic_cast<direct_transport<TYPES>*>(fw)), blocking_(fw) {}
    bool bound() const { return blocking_ != nullptr; }
    void b_transport(payload& gp, sc_core::sc_time& t) {
        if (direct_) direct_->b_transport_direct(gp, t);
        else blocking_->b_transport(gp, t);
    }

private:
    direct_transport<TYPES>* direct_ = nullptr;
    tlm::tlm_blocking_transport_if<payload>* blocking_ = nullptr;
};
} // namespace detail

template <class MODULE, class TYPES = tlm::tlm_base_protocol_types>
class initiator_socket : public tlm_utils::simple_initiator_socket<MODULE, 32, TYPES> {
    using base = tlm_utils::simple_initiator_socket<MODULE, 32, TYPES>;
    using payload = typename TYPES::tlm_payload_type;

public:
    explicit initiator_socket(const char* name) : base(name) {}

    // The bound target's b_transport.
    void b_transport(payload& gp, sc_core::sc_time& t) {
        if (!target_.bound()) target_ = detail::resolved_target<TYPES>(base::operator->());
        target_.b_transport(gp, t);
    }

private:
    detail::resolved_target<TYPES> target_;
};

template <class MODULE, class TYPES = tlm::tlm_base_protocol_types, sc_core::sc_port_policy POL = sc_core::SC_ONE_OR_MORE_BOUND>
class multi_initiator_socket : public tlm_utils::multi_passthrough_initiator_socket<MODULE, 32, TYPES, 0, POL> {
    using base = tlm_utils::multi_passthrough_initiator_socket<MODULE, 32, TYPES, 0, POL>;
    using payload = typename TYPES::tlm_payload_type;

public:
    explicit multi_initiator_socket(const char* name) : base(name) {}

    // The b_transport of the target bound at index `i`.
    void b_transport(int i, payload& gp, sc_core::sc_time& t) {
        const auto at = static_cast<std::size_t>(i);
        if (at >= targets_.size() && !resolve(at)) {
            gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
            return;
        }
        targets_[at].b_transport(gp, t);
    }

private:
    // Takes every binding's target; false (an error) when none is bound at `at`.
    bool resolve(std::size_t at) {
        targets_.clear();
        for (unsigned k = 0; k < base::size(); ++k) targets_.emplace_back((*this)[static_cast<int>(k)]);
        if (at < targets_.size()) return true;
        SC_REPORT_ERROR("iotwin/initiator_socket", (std::string(base::name()) + ": no target bound at index " + std::to_string(at)).c_str());
        return false;
    }
    std::vector<detail::resolved_target<TYPES>> targets_;
};

} // namespace iotwin
