// Where a function's memory request for another function's BAR goes in the
// fabric, worked out from the topology without simulating. The rules are
// the fabric's own (models/pci/pci_bridge.cpp peer(), models/pcie/
// root_complex.cpp, pci_function::reaches_sibling()): a request climbs from
// its function until a bus holds the target below another of its functions;
// there it goes straight to that peer or on towards the root complex, where
// the IOMMU translates every request a device makes.
//
// The importer's verdict (platform/lspci_report.h) states its claims with
// this; the attack scenarios it writes check each one in simulation.
#pragma once
#include <string>

#include "platform/topology.h"

namespace iotwin::platform {

struct peer_path {
    enum class kind {
        iommu,          // up to the root complex: the IOMMU translates it
        inside_device,  // functions of one device reach each other inside it
        shared_bus,     // a conventional PCI bus: the target claims it, nobody in between
        across_switch,  // a switch routes it from one downstream port to another
        blocked,        // ACS Egress Control of the ingress port refuses it
    };
    kind how = kind::iommu;
    int bridge = -1;  // the bridge whose secondary side decided (-1: a root bus)
    std::string why;  // one clause: where it goes and because of which register or rule
    bool peer_to_peer() const { return how == kind::inside_device || how == kind::shared_bus || how == kind::across_switch; }
};

// An untranslated memory request of function `from` for an address in a
// BAR of function `to` (indices into t.functions; `from` != `to`).
peer_path peer_reach(const topology& t, int from, int to);

} // namespace iotwin::platform
