// A PCI-to-PCI bridge function (type-1 header): bus number registers, the
// memory and prefetchable memory windows, and routing between its primary and
// secondary interfaces. Root ports, switch ports, PCIe-to-PCI bridges and
// conventional PCI bridges are bridges in this sense; what lies on the
// secondary side decides how peers reach each other:
//
// - a PCIe link (root port, switch downstream port): the functions of one
//   device; they reach each other inside the device unless their ACS
//   redirects peer-to-peer requests, and only device 0 exists (ARI aside:
//   virtual functions use their own routing IDs);
// - a switch's internal bus (upstream port): the downstream ports; a request
//   from below one of them goes straight to the peer port that decodes it
//   unless the ingress port's ACS P2P Request Redirect (or Egress Control)
//   sends it upstream (Direct Translated P2P lets translated requests through);
// - a conventional PCI bus (PCIe-to-PCI bridge, PCI bridge): shared; any
//   function on it claims a request by address, without a bridge in between.
//
// Requests from below: ACS Source Validation and Translation Blocking on root
// and downstream ports (an ACS Violation: Completer Abort); an address inside the bridge's own windows is not
// forwarded upstream unless ACS Upstream Forwarding is enabled; Bus Master
// Enable gates the upstream direction; a PCIe-to-PCI bridge takes ownership of
// the requests it forwards (requester ID = secondary bus, device 0, function
// 0) and a conventional bridge uses its own ID (PCI-to-PCI Bridge Architecture
// Spec 1.2 section 3.2; PCIe-to-PCI/PCI-X Bridge Spec 1.0 section 2.3;
// PCIe 5.0 sections 6.12 and 7.7.8).
// INTx (PCI-to-PCI Bridge Architecture Spec 1.2 9.1, PCIe 5.0 2.2.8.1): an
// Assert_INTx / Deassert_INTx message from a function on the secondary bus is
// mapped to a wire of this bridge by the device number of its requester
// (INTA of device d becomes wire (d mod 4), and so on); each wire is the
// wired-OR of the functions below that assert it, and the bridge sends a
// message upstream, as its own requester, only when a wire's collapsed state
// changes. Bus Master Enable does not gate messages (PCIe 5.0 7.5.1.1.3).
// Bridge Control's Secondary Bus Reset (bit 6) resets every function below
// (a reset bridge resets its own secondary bus in turn) and drops their INTx.
// I/O space: the I/O Base/Limit window (16-bit decode, 4 KiB granules, PCI-to-
// PCI Bridge 1.2 3.2.5.6), gated by the bridge's I/O Space Enable, routes I/O
// requests down; an unclaimed port is UR (a CPU's read of it: all ones).
// Not modelled: VGA and ISA enables, bridge-control error
// handling, 32-bit I/O decode, INTx of the bridge itself, ACS egress control vectors beyond "block all", completion redirect
// (completions return with their b_transport).
#pragma once
#include <set>
#include <vector>

#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include "models/common/initiator_socket.h"
#include "models/common/multi_target_socket.h"

#include "models/pci/config_routes.h"
#include "models/pci/pci_function.h"
#include "models/pcie/link.h"

namespace iotwin::pci {

struct bridge_params {
    sc_core::sc_time forward_latency = sc_core::sc_time(40, sc_core::SC_NS);
    // A conventional PCI bus below a PCIe-to-PCI or PCI-to-PCI bridge: one
    // bus shared by both directions, `pci_bus_width` bytes per clock.
    sc_core::sc_time pci_bus_clock = sc_core::sc_time(30, sc_core::SC_NS);  // 33 MHz
    std::uint64_t pci_bus_width = 4;                                         // 32-bit
    // Clocks a transaction spends besides its data phases: address phase,
    // the target's DEVSEL# decode and the turnaround.
    std::uint64_t pci_bus_overhead_clocks = 3;
    // A bridge without a PCI Express capability that takes ownership as a
    // PCIe-to-PCI bridge does, with (secondary bus, 00.0): the bridges of
    // Linux's quirk_use_pcie_bridge_dma_alias directly below a PCIe port.
    bool secondary_requester_id = false;
};

class pci_bridge : public pci_function {
public:
    // A bridge may have nothing below it (an empty slot).
    multi_initiator_socket<pci_bridge, pcie::protocol_types, sc_core::SC_ZERO_OR_MORE_BOUND> secondary_out;
    multi_target_socket<pci_bridge, pcie::protocol_types> secondary_in;

    pci_bridge(sc_core::sc_module_name name, const function_params& p, const bridge_params& bp);

    // Binds `child` on the secondary bus; children are routed to in the order attached.
    void attach(pci_function& child);
    // The link between this bridge and the device below it (a root or
    // downstream port; a switch's internal bus and a conventional PCI bus are
    // not links and ignore it).
    void set_secondary_link(const pcie::link_params& lp) { link_ = pcie::link(lp); }
    const pcie::link& secondary_link() const { return link_; }
    // Time a conventional PCI bus below this bridge is held by a transaction of `bytes`.
    sc_core::sc_time pci_bus_time(std::uint64_t bytes) const;
    const std::vector<pci_function*>& children() const { return children_; }

    std::uint8_t secondary_bus() const { return static_cast<std::uint8_t>(cfg_.get(cfg::secondary_bus, 1)); }
    std::uint8_t subordinate_bus() const { return static_cast<std::uint8_t>(cfg_.get(cfg::subordinate_bus, 1)); }
    bool routes_bus(std::uint8_t bus) const override;
    bool claims_memory(std::uint64_t addr) const override;
    bool claims_io(std::uint32_t port) const override;
    // Port inside the I/O window (regardless of I/O Space Enable).
    bool in_io_window(std::uint32_t port) const { return port >= io_.base && port <= io_.limit; }
    // Whether wire `wire` (0 = INTA) is asserted upstream by this bridge.
    bool intx_wire_asserted(unsigned wire) const { return wire < 4 && !intx_sources_[wire].empty(); }
    // Address inside the memory or prefetchable window (regardless of enables).
    bool in_windows(std::uint64_t addr) const;

    void stats(stat_map& out) const override;

protected:
    // DMI: revocations from above reach everything below; a Bus Master Enable
    // clear here revokes every pointer granted through this bridge.
    void dmi_invalidated(sc_dt::uint64 start, sc_dt::uint64 end) override;
    void bus_master_cleared() override;

public:

protected:
    void downstream(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
    // A reset bridge closes its windows as its registers now say, lets its
    // wires go and resets its secondary bus.
    void reset_device() override;

private:
    enum class secondary_kind { pcie_link, switch_bus, pci_bus };
    static secondary_kind kind_of(const function_params& p);
    static bool is_downstream_port(const function_params& p);
    int child_for_config(const pcie::bdf& target, bool& type0) const;
    int child_for_memory(std::uint64_t addr, int except) const;
    // What happens to a request from child `from` whose address a peer on the
    // secondary side decodes.
    struct peer_route {
        // redirected, blocked: by the ingress port's ACS, on a switch's internal bus.
        enum { none, direct, redirected, blocked } how = none;
        int target = -1;
    };
    peer_route peer(int from, const tlm::tlm_generic_payload& gp, const pcie::pcie_ext& ext) const;
    void upstream(int from, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    // A DMI request from below: passed up only for a request upstream()
    // would send to the root complex unchanged (no peer route, no ACS
    // refusal, Bus Master Enable set).
    bool upstream_dmi(int from, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
    void forward_down(int index, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    void refuse(tlm::tlm_generic_payload& gp, pcie::pcie_ext* ext, std::uint64_t& counter, pcie::completion status);
    // The secondary side carries a request from a child toward this bridge
    // (or a peer), and later its completion back: link, shared bus, or nothing
    // (a switch's internal bus).
    void carry_up(const tlm::tlm_generic_payload& gp, pcie::pcie_ext* ext, sc_core::sc_time& delay);
    void carry_completion_down(const tlm::tlm_generic_payload& gp, const pcie::pcie_ext* ext, sc_core::sc_time& delay);
    void decode_windows();
    // INTx and I/O (models/pci/pci_bridge.cpp, below the routing).
    void intx_from_below(tlm::tlm_generic_payload& gp, pcie::pcie_ext& ext, sc_core::sc_time& delay);
    void send_intx_up(unsigned wire, bool asserted, sc_core::sc_time& delay);
    void secondary_bus_reset();
    void drop_intx(sc_core::sc_time& delay);
    void decode_io_window();
    int child_for_io(std::uint32_t port) const;

    const secondary_kind bus_kind_;  // what lies on the secondary side
    const bool downstream_port_;     // a root port or a switch downstream port
    // The windows as the base/limit registers say, decoded whenever one of
    // them is written (routing reads them on every request).
    struct window { std::uint64_t base = 1, limit = 0; };
    window memory_, prefetchable_, io_;
    // The functions below asserting each wire, by their devfn on the secondary bus.
    std::set<std::uint8_t> intx_sources_[4];

    bridge_params bp_;
    pcie::link link_;
    timed_resource pci_bus_;  // the conventional bus below a PCIe-to-PCI or PCI-to-PCI bridge
    std::vector<pci_function*> children_;
    config_routes config_routes_;  // the children by position, VF number and bus range
    std::uint64_t forwarded_up_ = 0, forwarded_down_ = 0, unsupported_ = 0, peer_to_peer_ = 0, acs_blocked_ = 0, acs_redirected_ = 0;
    std::uint64_t intx_received_ = 0, intx_forwarded_ = 0, bus_resets_ = 0, io_forwarded_ = 0;
};

} // namespace iotwin::pci
