// Initiator sockets whose blocking transport takes the shortest path to the
// target. tlm_fw_transport_if inherits b_transport from a virtual base, so
// `socket->b_transport(...)` loads the port's interface, its vtable, the
// virtual base's offset and the base's vtable before it can jump: a chain of
// dependent loads that the target's first use of `this` waits for, on every
// crossing. These sockets take the base pointer once (at the first transport,
// when binding is complete) and call through it: the vtable and the function
// are all that is left. Everything else is tlm_utils' socket, unchanged.
#pragma once
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/simple_initiator_socket.h>

namespace iotwin {

template <class MODULE, class TYPES = tlm::tlm_base_protocol_types>
class initiator_socket : public tlm_utils::simple_initiator_socket<MODULE, 32, TYPES> {
    using base = tlm_utils::simple_initiator_socket<MODULE, 32, TYPES>;
    using payload = typename TYPES::tlm_payload_type;
    using blocking_if = tlm::tlm_blocking_transport_if<payload>;

public:
    explicit initiator_socket(const char* name) : base(name) {}

    // The bound target's b_transport.
    void b_transport(payload& gp, sc_core::sc_time& t) {
        if (!target_) target_ = base::operator->();
        target_->b_transport(gp, t);
    }

private:
    blocking_if* target_ = nullptr;
};

template <class MODULE, class TYPES = tlm::tlm_base_protocol_types, sc_core::sc_port_policy POL = sc_core::SC_ONE_OR_MORE_BOUND>
class multi_initiator_socket : public tlm_utils::multi_passthrough_initiator_socket<MODULE, 32, TYPES, 0, POL> {
    using base = tlm_utils::multi_passthrough_initiator_socket<MODULE, 32, TYPES, 0, POL>;
    using payload = typename TYPES::tlm_payload_type;
    using blocking_if = tlm::tlm_blocking_transport_if<payload>;

public:
    explicit multi_initiator_socket(const char* name) : base(name) {}

    // The b_transport of the target bound at index `i`.
    void b_transport(int i, payload& gp, sc_core::sc_time& t) {
        const auto at = static_cast<std::size_t>(i);
        if (at >= targets_.size()) resolve(at);
        targets_[at]->b_transport(gp, t);
    }

private:
    void resolve(std::size_t at) {
        targets_.clear();
        for (unsigned k = 0; k < base::size(); ++k) targets_.push_back((*this)[static_cast<int>(k)]);
        if (at >= targets_.size())
            SC_REPORT_FATAL("iotwin/initiator_socket", (std::string(base::name()) + ": no target bound at index " + std::to_string(at)).c_str());
    }
    std::vector<blocking_if*> targets_;
};

} // namespace iotwin
