// The PCI hierarchy of a description as Linux sees it after boot, computed
// statically (without simulating): every function with the BDF Linux gives
// it (bridges keep the bus numbers firmware programmed; the others are
// numbered as Linux's second pass does, depth-first when no bridge has
// any), its PCI Express port type, its ACS
// capability and control as Linux leaves them, its DMA-alias quirks, the
// SR-IOV virtual functions, all in Linux's probe order, on a Boost.Graph
// whose edges go from a bridge to each function on its secondary bus. The
// simulated firmware enumeration (platform/enumerator.cpp) must and does
// produce the same BDFs; tests compare the two.
#pragma once
#include <bitset>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "models/pci/config_space.h"
#include "models/pci/pci_function.h"
#include "models/pcie/protocol.h"
#include "platform/description.h"
#include "platform/quirks.h"

namespace iotwin::platform {

// ACS Capability and Control register bits (PCIe 5.0 7.7.8), pci::acs_bits.
namespace acs {
using namespace pci::acs_bits;
// What Linux's pci_std_enable_acs() turns on of what a function implements.
constexpr std::uint16_t linux_default = SV | RR | CR | UF;
// The flags of `flags` that a function with ACS capability `cap` and control
// `ctrl` does not enable, as pci_acs_flags_enabled() counts them: flags the
// capability does not implement count as enabled, except EC.
constexpr std::uint16_t not_enabled(std::uint16_t flags, std::uint16_t cap, std::uint16_t ctrl) {
    return static_cast<std::uint16_t>(flags & (cap | EC) & ~ctrl);
}
const std::vector<std::string>& known_names();  // "SV", "TB", ... in bit order
std::uint16_t bits(const std::vector<std::string>& names);
std::string names(std::uint16_t bits);  // "SV RR CR UF"
} // namespace acs

struct topo_function {
    std::string id;
    node_type type = node_type::endpoint;
    const pcie_node* node = nullptr;  // for a virtual function, its physical function's node
    std::uint16_t segment = 0;
    pcie::bdf bdf;
    std::uint16_t vendor = 0, device = 0;
    std::uint32_t class_code = 0;
    std::optional<pci::port_type> pcie_type;  // none: conventional PCI
    bool header_multifunction = false;      // header type bit 7
    bool multifunction = false;             // Linux's flag: the header bit, or function > 0
    bool has_acs = false;
    std::uint16_t acs_cap = 0, acs_ctrl = 0;
    bool is_vf = false;
    int pf = -1;                            // index of the physical function of a VF
    unsigned vf_index = 0;                  // n of VF n
    int parent = -1;                        // the bridge above (bus->self); -1 on a root bus
    bool on_root_bus = false;
    bool bridge = false;
    std::uint8_t secondary = 0, subordinate = 0;
    std::bitset<256> dma_alias;             // same-bus devfns from DMA-alias quirks
    bool pcie_bridge_alias = false, xlate_root = false;
    std::string alias_quirk;
    bool internal_p2p = true;               // see pcie_node::internal_p2p

    std::string bdf_string() const;         // "0000:01:00.0"
    // What the quirks of platform/quirks.h are asked about this function.
    quirk_subject subject() const {
        return {vendor, device, pcie_type, multifunction, on_root_bus, bdf.fn, has_acs, acs_cap, acs_ctrl};
    }
    // Whether this bridge takes ownership of the requests from below it, so
    // that they carry its alias: a conventional PCI bridge, or a bridge
    // between PCI Express and PCI (pci_for_each_dma_alias()).
    bool takes_ownership() const {
        return !pcie_type || *pcie_type == pci::port_type::pcie_to_pci_bridge || *pcie_type == pci::port_type::pci_to_pcie_bridge;
    }
    std::uint32_t bus_key() const { return std::uint32_t(segment) << 8 | bdf.bus; }
};

using topo_graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;

struct topology {
    std::vector<topo_function> functions;  // Linux probe order
    topo_graph graph;                      // vertex i is functions[i]
    std::map<std::string, int> by_id;
    std::map<std::uint32_t, std::vector<int>> by_bus;  // (segment, bus) -> functions, probe order
    std::vector<std::uint8_t> root_buses;  // root_bus of every host_bridge (besides bus 0), description order
    acs_override override;                 // the kernel's pcie_acs_override= (platform.pcie_acs_override)

    const topo_function& at(const std::string& id) const { return functions[by_id.at(id)]; }
    // Requester IDs the IOMMU may see for DMA from function i (pci_for_each_dma_alias order).
    std::vector<std::uint16_t> dma_aliases(int i) const;
    // pci_for_each_dma_alias's calls for function i: the device each alias
    // belongs to (the function or a bridge above it) and the alias.
    std::vector<std::pair<int, std::uint16_t>> dma_alias_calls(int i) const;
    // How an IRTE for function i's MSIs verifies their source, as Linux 6.1's
    // set_msi_sid decides from those calls: SVT 1 with the requester ID to
    // match (the function's own, or a bridge's alias on another bus), or
    // SVT 2 with a bus range (start bus in SID 15:8, end bus in 7:0), where
    // only the bus can be known (behind a PCIe-to-PCI bridge).
    struct msi_source { bool bus_range = false; std::uint16_t sid = 0; };
    msi_source msi_source_of(int i) const;
};

// Throws input_error when the hierarchy cannot be numbered (bus numbers run
// out, a root bus collides with buses already used, VF routing IDs collide,
// firmware bus numbers Linux would not keep or that would hide functions).
topology build_topology(const platform_desc& p);

} // namespace iotwin::platform
