// Where a configuration request goes among the functions attached to one bus
// (a bridge's secondary bus, or a root bus): to the function at the target's
// device and function number when the request is for this bus (Type 0), to a
// virtual function whose routing ID its physical function's SR-IOV registers
// give, or to the bridge whose bus range holds the target bus (Type 1). The
// functions are indexed by position and the virtual functions by physical
// function and number, so a request costs the same however many functions
// share the bus (a PF can have thousands of VFs). A plain class: the bridge
// and root complex models own one per bus and keep the routing decisions.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "models/pcie/protocol.h"

namespace iotwin::pci {

class pci_function;

class config_routes {
public:
    config_routes() { by_devfn_.fill(-1); }
    // Adds child number `index` of the bus owner (children in attach order).
    void add(const pci_function& f, int index);
    // The child a request for `target`, seen on a bus numbered `bus`, goes to;
    // -1 for none. `type0`: whether it is addressed to that child itself.
    // `device0_only`: below a PCI Express link only device 0 answers, and
    // virtual functions (which need ARI, not modelled as a register).
    int route(const pcie::bdf& target, std::uint8_t bus, bool device0_only, bool& type0) const;

private:
    struct child { const pci_function* f = nullptr; int index = -1; };
    struct vf_set { const pci_function* pf = nullptr; std::vector<child> by_number; };
    std::array<int, 256> by_devfn_;  // devfn -> entry of functions_, the first attached there
    std::vector<child> functions_;   // the children that are not virtual functions
    std::vector<vf_set> vfs_;        // virtual functions by physical function and VF number
    std::vector<child> bridges_;     // children that route buses below them, in attach order
};

} // namespace iotwin::pci
