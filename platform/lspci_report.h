// The isolation verdict on an imported machine (`iotwin import --report`):
// for each IOMMU group of more than one function, which of its functions
// reach each other peer to peer without the IOMMU (platform/peer_reach.h),
// what handing one of them to a VM takes from the host and exposes, and what
// the out-of-tree ACS override would change. Every peer-to-peer claim comes
// with an attack scenario, written beside the report, that shows it in
// simulation: the machine's own hierarchy, the two functions given to two
// guests, and one guest's device reading what the other keeps in its BAR.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "platform/iommu_groups.h"
#include "platform/lspci_text.h"
#include "platform/peer_reach.h"
#include "platform/topology.h"

namespace iotwin::platform::lspci_report {

// One request path between two endpoints of a group.
struct claim {
    int from = -1, to = -1;      // topology indices: the requester, the function whose BAR it names
    unsigned bar = 0;            // the BAR of `to` the attack reads
    peer_path path;
    bool override_splits = false;  // the ACS override puts from and to into different groups
    // A requester ID the DMA of both can carry (a bridge's alias): the IOMMU
    // cannot tell them apart, so no configuration gives them two owners and
    // no attack scenario is written.
    std::optional<std::uint16_t> shared_alias;
    // The functions each guest of the attack holds: the requester or the
    // target with every function whose DMA can carry one of their requester
    // IDs (functions behind one conventional bridge go to one owner).
    std::vector<int> from_side, to_side;
    std::string attack;            // file name of the scenario that shows it ("" when none is written)
    std::string override_attack;   // the same with the override, when it splits them
    // For a path between two groups: the groups, and whether ACS on the
    // ports without it (platform/lspci_report.cpp with_port_acs()) closes it.
    int from_group = -1, to_group = -1;
    bool closed_by_port_acs = false;
};

struct group_verdict {
    int group = 0;
    std::vector<int> endpoints;                   // members that are not bridges, BDF order
    std::vector<int> bridges;                     // members that are
    std::vector<claim> reachable;                 // peer-to-peer paths, requester then target in BDF order
    std::vector<claim> not_reachable;             // the other pairs, with where their request goes
    std::size_t pairs_left_out = 0;               // pairs beyond the limit, not examined one by one
    std::vector<std::vector<int>> with_override;  // the group's members as the override regroups them
    // Root and downstream ports in or above the group without an ACS
    // capability, and what ACS on them (a firmware setting some boards offer)
    // would give: the regrouping and the paths that remain.
    std::vector<int> ports_without_acs;
    std::vector<std::vector<int>> with_port_acs;
    std::size_t paths_with_port_acs = 0;
    // The listing shows IOMMU groups but none for these functions: the
    // machine's IOMMU does not cover them (its firmware tables leave them
    // out), so no pair is judged and no attack written.
    bool no_kernel_group = false;
};

struct verdict {
    std::size_t groups = 0;  // all groups of the machine
    std::vector<group_verdict> shared;  // the groups of more than one function
    // Peer-to-peer paths between endpoints of different groups, requester
    // then target in probe order: Linux's groups claim an isolation the
    // fabric does not give (a switch's downstream port without ACS, for
    // one, gets a group of its own and routes to its siblings).
    std::vector<claim> across;
    std::size_t across_left_out = 0;  // paths beyond max_across, counted
};

// The override the verdict weighs: pcie_acs_override=downstream,multifunction,
// what users boot with to split groups of ports and multi-function devices.
const char* override_option();

// Pairs examined per group, and paths between groups listed; the rest are counted.
constexpr std::size_t max_pairs_per_group = 24;
constexpr std::size_t max_across = 48;

// With the listing, groups whose functions the machine's kernel put in no
// IOMMU group are marked (no_kernel_group) instead of judged.
verdict judge(const topology& t, const group_result& g, const lspci_text::listing* l = nullptr);

struct attack_options {
    std::filesystem::path dir;   // where the scenarios go (created)
    std::string scenario_yaml;   // the imported scenario, whose platform the attacks take
    std::string source;          // the listing's file name, for the scenarios' comments
};

// Writes one scenario per peer-to-peer claim (and one more with the override
// where it splits the pair; for a path between groups, each guest holds a
// whole group), filling in each claim's file names. Throws
// input_error when the directory or a file cannot be written.
void write_attacks(verdict& v, const topology& t, const attack_options& o);

// The report, naming functions by their BDF, IDs and the listing's driver.
void write_text(std::ostream& out, const verdict& v, const topology& t, const group_result& g, const lspci_text::listing& l,
                const std::string& attacks_dir);

} // namespace iotwin::platform::lspci_report
