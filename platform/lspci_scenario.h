// A scenario (docs/scenario-reference.md) that describes the machine an
// lspci listing came from: `platform.pcie` with every function the listing
// shows, placed as its bus numbers say (platform/lspci_hierarchy.h), with its
// type, position, IDs, class, ACS capability and control, SR-IOV, BARs whose
// sizes the listing gives and the host driver bound where the twin models it.
// What the listing cannot tell, or the scenario cannot say, is written into
// the file as comments that name the listing's line, never guessed.
#pragma once
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "platform/lspci_hierarchy.h"
#include "platform/lspci_text.h"

namespace iotwin::platform::lspci_scenario {

struct options {
    std::string name = "imported";  // the scenario's name ([a-z0-9-]+)
    std::string source;             // the listing's file name, for comments and FILE:LINE
    // platform.pcie_acs_override entries that make the twin group as the
    // machine's kernel did (platform/lspci_compare.h), and why.
    std::vector<std::string> acs_override;
    std::string acs_override_why;
    // Functions (by id) whose listed driver the twin's driver cannot bind
    // (its ID table or probe refuses them), and why: written as comments.
    std::map<std::string, std::string> driver_not_bound;
};

// The id a function of the listing gets in the scenario ("pci-00-1c-1",
// with the domain first when it is not 0: "pci-0001-00-02-6").
std::string id_of(const lspci_text::function& f);

void write(const lspci_text::listing& l, const lspci_hierarchy::machine& m, const options& o, std::ostream& out);

} // namespace iotwin::platform::lspci_scenario
