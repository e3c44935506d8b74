#include "platform/group_probe.h"

#include <set>
#include <sstream>

#include "platform/ecam.h"
#include "platform/boot.h"
#include "platform/builder.h"
#include "platform/iommu_groups.h"

namespace iotwin::platform {

namespace {

struct hit {
    int target;
    bool passed_iommu;
};

std::string who(const topology& t, const group_result& g, int i) {
    return t.functions[i].id + " (" + t.functions[i].bdf_string() + ", group " + std::to_string(g.group_of[i]) + ")";
}

} // namespace

bool verify_groups(const scenario& description, std::ostream& out) {
    // Nobody owns anything: every request that reaches the IOMMU faults.
    scenario s = description;
    s.domains.clear();
    s.processes.clear();
    s.steps.clear();
    s.platform.iommu_enabled = true;
    auto pi = build_platform(s);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    sc_core::sc_time d;
    const auto enumeration = boot_platform(s, *pi, d);
    const topology& t = pi->topo;
    const group_result groups = compute_groups(t);

    std::vector<hit> hits;
    for (auto& f : pi->functions)
        f->set_bar_observer([&](const pci::pci_function& target, const tlm::tlm_generic_payload& gp) {
            const auto* ext = gp.get_extension<pcie::pcie_ext>();
            if (ext && !ext->host) hits.push_back({t.by_id.at(target.basename()), ext->passed_iommu});
        });
    // Every driver enables bus mastering.
    for (const topo_function& f : t.functions) {
        if (f.bridge) continue;
        std::uint16_t cmd = pci::command_bits::memory_space | pci::command_bits::bus_master;
        ecam_access(*pi->hypervisor, tlm::TLM_WRITE_COMMAND, f.bdf, pci::cfg::command, &cmd, 2, d);
    }

    std::size_t probes = 0, paths = 0, disagreements = 0;
    std::ostringstream findings;
    for (std::size_t i = 0; i < t.functions.size(); ++i) {
        if (t.functions[i].bridge) continue;
        pci::pci_function& src = *pi->by_id.at(t.functions[i].id);
        std::uint8_t buf[4];
        // Peer-to-peer: a read of every BAR of every other function.
        std::set<int> reached;
        for (const auto& [id, e] : enumeration) {
            const int j = t.by_id.at(id);
            if (j == static_cast<int>(i)) continue;
            for (const enumerated_bar& b : e.bars) {
                hits.clear();
                src.dma(tlm::TLM_READ_COMMAND, b.base, buf, sizeof buf, d);
                ++probes;
                for (const hit& h : hits)
                    if (h.target == j && !h.passed_iommu) reached.insert(j);
            }
        }
        for (int j : reached) {
            ++paths;
            if (groups.group_of[i] == groups.group_of[j]) continue;
            ++disagreements;
            findings << "  " << who(t, groups, static_cast<int>(i)) << " reaches " << who(t, groups, j)
                     << " peer-to-peer, without the IOMMU\n";
        }
        // Upstream: the requester ID the IOMMU sees must be one the groups expect.
        const std::size_t faults = pi->iommu->faults().size();
        src.dma(tlm::TLM_READ_COMMAND, 0x1000, buf, sizeof buf, d);
        ++probes;
        if (pi->iommu->faults().size() == faults) {
            ++disagreements;
            findings << "  " << who(t, groups, static_cast<int>(i)) << ": DMA to memory was not stopped by the IOMMU\n";
            continue;
        }
        const std::uint16_t seen = pi->iommu->faults().back().record.sid;
        const auto aliases = t.dma_aliases(static_cast<int>(i));
        if (std::find(aliases.begin(), aliases.end(), seen) == aliases.end()) {
            ++disagreements;
            findings << "  " << who(t, groups, static_cast<int>(i)) << ": the IOMMU sees requester ID " << pcie::bdf::from_rid(seen).str()
                     << ", which is not among the aliases Linux expects for it\n";
        }
    }
    out << t.functions.size() << " functions, " << groups.groups.size() << " IOMMU groups, " << probes << " DMA probes, " << paths
        << " peer-to-peer paths that bypass the IOMMU\n";
    out << findings.str();
    out << (disagreements ? std::to_string(disagreements) + " disagreements between the groups and the fabric\n"
                          : "the groups agree with the fabric\n");
    return disagreements == 0;
}

} // namespace iotwin::platform
