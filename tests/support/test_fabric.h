// Pieces several model tests build their fabrics from.
#pragma once
#include <cstdint>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/common/payload.h"
#include "models/pci/pci_function.h"
#include "models/pcie/protocol.h"
#include "platform/description.h"

namespace iotwin::test_support {

// The CPU side: plain TLM requests, with a pcie_ext (marked `host`) attached
// so the test can read the completion status the fabric gave.
struct test_cpu : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<test_cpu> out{"out"};
    explicit test_cpu(sc_core::sc_module_name n) : sc_module(n) {}
    pcie::completion access(tlm::tlm_command cmd, std::uint64_t addr, void* data, unsigned len) {
        pcie::pcie_ext ext;
        ext.host = true;  // a CPU's access, with master-abort semantics
        tlm::tlm_generic_payload gp;
        prepare(gp, cmd, addr, data, len);
        gp.set_extension(&ext);
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        out->b_transport(gp, d);
        gp.clear_extension(&ext);
        last_delay = d;
        last_response = gp.get_response_status();
        return ext.status;
    }
    sc_core::sc_time last_delay;
    tlm::tlm_response_status last_response = tlm::TLM_INCOMPLETE_RESPONSE;
};

// A root port at 00:01.0, the parent of the device under test in the
// device models' benches.
inline pci::function_params root_port_params() {
    pci::function_params p;
    p.devfn = 1 << 3;
    p.class_code = 0x060400;
    p.pcie = pci::port_type::root_port;
    p.msi_vectors = 0;
    return p;
}

// A description node at an explicit position.
inline platform::pcie_node make_node(const std::string& id, platform::node_type t, std::uint8_t dev, std::uint8_t fn) {
    platform::pcie_node n;
    n.id = id;
    n.type = t;
    n.dev = dev;
    n.fn = fn;
    n.at_given = true;
    return n;
}

} // namespace iotwin::test_support
