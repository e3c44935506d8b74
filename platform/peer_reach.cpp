#include "platform/peer_reach.h"

namespace iotwin::platform {

namespace {

using kind = peer_path::kind;

// The function on the bus of `x` that is `to` or holds it below: the peer a
// request from x for to's BAR is decoded by on that bus, or -1.
int peer_on_bus_of(const topology& t, int x, int to) {
    const topo_function& fx = t.functions[static_cast<std::size_t>(x)];
    for (int y = to; y >= 0; y = t.functions[static_cast<std::size_t>(y)].parent) {
        const topo_function& fy = t.functions[static_cast<std::size_t>(y)];
        if (fy.parent == fx.parent && fy.bus_key() == fx.bus_key()) return y;
    }
    return -1;
}

// pci_function::reaches_sibling(): functions of one device, neither a
// virtual function nor isolating, and no P2P Request Redirect or Egress
// Control at the source sending the request out to the link instead.
peer_path inside_device(const topology& t, int x, int y, int bridge) {
    const topo_function& fx = t.functions[static_cast<std::size_t>(x)];
    const topo_function& fy = t.functions[static_cast<std::size_t>(y)];
    const std::string where = bridge < 0 ? "the root complex" : "'" + t.functions[static_cast<std::size_t>(bridge)].id + "'";
    if (fx.bdf.dev != fy.bdf.dev)
        return {kind::iommu, bridge, "'" + fx.id + "' and '" + fy.id + "' are different devices: the request goes up to " + where + " and the IOMMU"};
    if (fx.is_vf || fy.is_vf) return {kind::iommu, bridge, "a virtual function has no path inside its device: the request goes up to the IOMMU"};
    if (!fx.internal_p2p || !fy.internal_p2p)
        return {kind::iommu, bridge, "the device keeps its functions apart (internal_p2p false: the ACS quirk's claim): the request goes up to the IOMMU"};
    const std::uint16_t out = fx.acs_ctrl & (acs::RR | acs::EC);
    if (out) return {kind::iommu, bridge, "ACS " + acs::names(out) + " of '" + fx.id + "' sends the request out of the device to the IOMMU"};
    return {kind::inside_device, bridge,
            "'" + fx.id + "' and '" + fy.id + "' are functions of one device and '" + fx.id + "' has no ACS P2P Request Redirect enabled: the request stays inside the device"};
}

// A switch's internal bus: the ingress downstream port's ACS decides
// (PCIe 5.0 6.12.1.2).
peer_path across_switch(const topology& t, int x, int y, int bridge) {
    const topo_function& fx = t.functions[static_cast<std::size_t>(x)];
    const std::string to = "'" + t.functions[static_cast<std::size_t>(y)].id + "'";
    if (fx.acs_ctrl & acs::RR)
        return {kind::iommu, bridge, "ACS P2P Request Redirect of '" + fx.id + "' sends it up through the switch's upstream port to the IOMMU"};
    if (!fx.internal_p2p) return {kind::iommu, bridge, "'" + fx.id + "' redirects peer requests upstream (internal_p2p false): to the IOMMU"};
    if (fx.acs_ctrl & acs::EC) return {kind::blocked, bridge, "ACS Egress Control of '" + fx.id + "' blocks it"};
    return {kind::across_switch, bridge,
            "the switch routes it from '" + fx.id + "' across to " + to + ": '" + fx.id + "' has no ACS P2P Request Redirect enabled"};
}

} // namespace

peer_path peer_reach(const topology& t, int from, int to) {
    int x = from;
    for (;;) {
        const int bridge = t.functions[static_cast<std::size_t>(x)].parent;
        const int y = peer_on_bus_of(t, x, to);
        if (y == x) return {kind::iommu, bridge, "'" + t.functions[static_cast<std::size_t>(to)].id + "' is below the requester"};
        if (y >= 0) {
            // Only this bus can take the request sideways: above it, the
            // target lies below the requester's own side and no peer decodes it.
            if (bridge < 0) return inside_device(t, x, y, bridge);
            const topo_function& b = t.functions[static_cast<std::size_t>(bridge)];
            if (!b.pcie_type || *b.pcie_type == pci::port_type::pcie_to_pci_bridge)
                return {kind::shared_bus, bridge, "'" + t.functions[static_cast<std::size_t>(x)].id + "' and '" + t.functions[static_cast<std::size_t>(y)].id +
                                                      "' share the conventional PCI bus below '" + b.id + "': the target claims the request, nothing in between checks it"};
            if (b.pcie_type && *b.pcie_type == pci::port_type::upstream_port) return across_switch(t, x, y, bridge);
            return inside_device(t, x, y, bridge);
        }
        if (bridge < 0) return {kind::iommu, -1, "the request reaches the root complex, which hands every device request to the IOMMU"};
        x = bridge;
    }
}

} // namespace iotwin::platform
