// The root complex: the host bridge between the CPUs' address space and the
// PCI hierarchy. It owns root bus 0 (and any further root buses), decodes the
// ECAM window into configuration requests (PCIe 5.0 section 7.2.2) and its MMIO
// windows into memory requests to the functions below, and passes requests from
// devices to the IOMMU, marking writes to the interrupt window as MSIs.
//
// Requests from devices that cross a 4 KiB boundary are Malformed TLPs (PCIe
// 5.0 section 2.2.7) and are answered with UR. A CPU read that ends in UR
// returns all ones, as on PC hardware. Functions of one root-bus device reach
// each other inside the device unless their ACS redirects; every other
// request from a device goes to the IOMMU.
//
// Inbound decode: after the IOMMU, a device's (translated) request that the
// interconnect decodes to one of the root complex's windows comes back to
// host_in carrying the device's pcie_ext. It stays device traffic: its
// extension is never marked `host`, it never becomes a configuration request
// (ECAM is host-only: UR) and a UR stays a UR (master abort is for CPUs).
// A request to another function's BAR or bridge window is peer-to-peer
// through the root complex, forwarded only when `peer_to_peer` allows it, as
// root complexes differ (Linux's p2pdma allows it on a list of host bridges
// only); otherwise UR.
//
// INTx: an Assert_INTx / Deassert_INTx message from a root-bus function
// drives a GSI of the I/O APIC by a fixed routing table, as an ACPI _PRT
// states it. The table is QEMU q35's default (hw/isa/lpc_ich9.c,
// ich9_cc_init and ich9_pirq_to_gsi): INTA..INTD of root-bus device d go to
// PIRQ[E..H] rotated by d, and PIRQ E..H are GSIs 20..23 in APIC mode, so
// GSI = 20 + ((d + wire) mod 4). (QEMU's chipset devices 25..31 have their
// own DxxIR registers; here every device number follows the rule.)
// I/O space: the CPU's port I/O (64 KiB) arrives on io_in and is routed to
// the root-bus function whose I/O BAR or bridge I/O window claims the port;
// an unclaimed port is a master abort (reads return all ones).
#pragma once
#include <functional>
#include <vector>

#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include "models/common/initiator_socket.h"
#include "models/common/multi_target_socket.h"
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/common/params.h"
#include "models/common/stats.h"
#include "models/pci/config_routes.h"
#include "models/pci/pci_function.h"

namespace iotwin::pcie {

struct root_complex_params {
    std::uint64_t ecam_base = 0xE0000000;   // 256 MiB: buses 0..255
    sc_core::sc_time latency = sc_core::sc_time(20, sc_core::SC_NS);
    // Read completions for devices leave split at this boundary (the Root
    // Complex's Read Completion Boundary, PCIe 5.0 2.3.1.1: 64 or 128 bytes).
    std::uint64_t read_completion_boundary = 64;
    // Whether a device's request to another function's MMIO is routed back
    // down to it (peer-to-peer through the root complex) or answered with UR.
    bool peer_to_peer = true;

    template <class V> void visit(V& v) {
        v("latency", latency, "time", "root complex traversal, each direction (host bridge and upstream queueing)");
        v("peer_to_peer", peer_to_peer, "", "route a device's request to another function's BAR back down (true) or answer it with UR (false)");
    }
};

class root_complex : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<root_complex> host_in;            // CPU accesses: ECAM and MMIO
    tlm_utils::simple_target_socket_optional<root_complex> io_in;     // CPU port I/O: address = port
    // To and from the root-bus functions (there may be none).
    multi_initiator_socket<root_complex, protocol_types, sc_core::SC_ZERO_OR_MORE_BOUND> down_out;
    multi_target_socket<root_complex, protocol_types> down_in;
    initiator_socket<root_complex, protocol_types> iommu_out;      // device requests, to the IOMMU

    root_complex(sc_core::sc_module_name name, const root_complex_params& p);

    // Binds `f` on root bus `root_bus` (0, or one an additional host bridge opens).
    void attach(pci::pci_function& f, std::uint8_t root_bus = 0);
    const std::vector<pci::pci_function*>& root_functions() const { return children_; }
    const root_complex_params& params() const { return p_; }

    // The GSI that wire `wire` (0 = INTA) of root-bus device `dev` drives.
    static unsigned intx_gsi(std::uint8_t dev, unsigned wire) { return 20 + (dev + wire) % 4; }
    // Receives INTx line changes: the GSI, the input (one per root-bus
    // function and wire), the level, the local time of the change.
    using intx_sink = std::function<void(unsigned gsi, std::uint32_t input, bool level, sc_core::sc_time& delay)>;
    void set_intx_sink(intx_sink s) { intx_sink_ = std::move(s); }
    void stats(stat_map& out) const;

private:
    void host_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    void io_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    void intx_message(int from, tlm::tlm_generic_payload& gp, pcie_ext& ext, sc_core::sc_time& delay);
    int route_io(std::uint32_t port) const;
    void device_transport(int from, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    // DMI: a device's request for a pointer goes up to the IOMMU when its
    // request would (no sibling function claims it, not an interrupt
    // message); the IOMMU's revocations go down to every root-bus function.
    bool device_dmi(int from, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
    void iommu_dmi_invalidated(sc_dt::uint64 start, sc_dt::uint64 end);
    // A device's request that came back from the interconnect (after the IOMMU).
    void inbound_transport(tlm::tlm_generic_payload& gp, pcie_ext& ext, sc_core::sc_time& delay);
    int route_config(const bdf& target, bool& type0) const;
    int route_memory(std::uint64_t addr, int except) const;

    root_complex_params p_;
    std::vector<pci::pci_function*> children_;
    std::vector<std::uint8_t> root_bus_;  // the root bus of each child
    std::vector<std::vector<int>> same_device_;  // each child's other functions of its device
    std::vector<std::pair<std::uint8_t, pci::config_routes>> routes_;  // per root bus, in the order first attached
    std::uint64_t config_requests_ = 0, mmio_requests_ = 0, upstream_requests_ = 0, msi_requests_ = 0, unsupported_ = 0, peer_to_peer_ = 0;
    std::uint64_t inbound_peer_to_peer_ = 0, inbound_unsupported_ = 0;
    std::uint64_t intx_messages_ = 0, io_requests_ = 0;
    intx_sink intx_sink_;
};

} // namespace iotwin::pcie
