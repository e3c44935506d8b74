// The PCI hierarchy of a machine, rebuilt from what its `lspci -vvv -nn`
// listing says (platform/lspci_text.h): which bus each function sits on, and
// which bridge opens that bus (its secondary bus number; the subordinate
// number bounds what lies below it). A function's scenario type follows from
// its PCI Express port type, or, without the capability, from its class
// (docs/scenario-reference.md, `platform.pcie`); where the port type and the
// header disagree, the header decides (a `Bus:` line: a bridge), and a
// bridge whose capabilities lspci could not read but which pcieport drives
// is the PCI Express port its place says (docs/import.md). A function listed
// twice keeps its first record; one whose device has no function 0 in the
// listing is left out, as Linux would not find it. Virtual functions that the
// listing shows are recognised from their physical function's SR-IOV
// capability (routing ID = PF + VF offset + n × stride, PCIe 5.0 9.3.3.10),
// so the scenario declares them through the PF rather than as functions of
// their own.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "platform/description.h"
#include "platform/lspci_text.h"

namespace iotwin::platform::lspci_hierarchy {

struct node {
    const lspci_text::function* function = nullptr;
    node_type type = node_type::endpoint;
    std::vector<node> children;  // in device/function order
    unsigned vfs_listed = 0;     // virtual functions of this PF that the listing showed
};

// A bus no bridge of the listing opens: the root complex's bus 0, or another
// root bus (a second host bridge, the uncore bus of some Intel processors).
struct root_bus {
    std::uint16_t domain = 0;
    std::uint8_t bus = 0;
    std::vector<node> children;
};

// Something in the listing the hierarchy cannot place or type as it is, or
// leaves out: the listing line, and why. In line order.
struct problem {
    int line = 0;
    std::string why;
};

struct machine {
    std::vector<root_bus> roots;  // by domain, then bus
    std::vector<problem> problems;
};

// The scenario type of a function as its record describes it, the header
// deciding between bridge and function; rebuild() refines it by the
// function's place (a port type inferred from the pcieport driver, a switch
// port Linux retypes) and reports each such change as a problem.
node_type type_of(const lspci_text::function& f);

// The machine's nodes point into `l`, which must outlive it (a temporary
// listing is refused at compile time).
machine rebuild(const lspci_text::listing& l);
machine rebuild(const lspci_text::listing&& l) = delete;

} // namespace iotwin::platform::lspci_hierarchy
