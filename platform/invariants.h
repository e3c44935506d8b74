// Isolation is checked, not assumed: checkers observe every access that
// reaches memory or a BAR and compare it with the hypervisor's ownership
// ledger and with the IOMMU groups Linux computes.
//
// dma_isolation: a device's DMA reaches only machine frames owned by the
//   domain the device is assigned to, and only BARs of functions of that
//   domain (devices nobody was given belong to the first privileged domain,
//   as Xen's hardware domain owns them).
// Attribution: a request belongs to the function that put it on the wire
//   (its physical origin, pcie_ext::origin), not to the requester ID it
//   carries. A requester ID that is neither the origin's own nor one of its
//   DMA aliases is reported as forged; an ID no function has is reported as
//   unknown, never credited to a domain.
// group_isolation: no request travels between functions of different IOMMU
//   groups without passing the IOMMU (peer-to-peer the groups say cannot
//   happen).
// group_viability: no IOMMU group is split across domains by the
//   configuration (checked once, after boot).
// grant_integrity: no access to a frame through a grant that is not in
//   force, or beyond its permission: a vCPU's access through a granted page
//   mapped in its domain (tagged by the hypervisor with the mapping's handle)
//   needs that mapping in force for that frame, writable for a write; a
//   device's DMA to a frame of another domain that its domain once held
//   through a grant mapping needs the identity IOMMU entry of a grant still
//   in force (writable for a write). Grant mappings are whole pages (Xen
//   refuses to map sub-page and transitive grants); the sub-page bounds of
//   copies are the hypervisor's own accesses, checked where it makes them.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <systemc>

#include "platform/builder.h"
#include "platform/iommu_groups.h"

namespace iotwin::platform {

const std::vector<std::string>& known_invariants();

struct violation {
    static constexpr std::size_t boot = std::numeric_limits<std::size_t>::max();
    std::string invariant;
    std::size_t step = 0;       // `boot` when found before the first step
    sc_core::sc_time time;
    std::string device;         // id of the function that issued it (its physical origin), or its requester ID
    std::uint16_t requester_id = 0;  // the requester ID the request carried
    bool forged_requester_id = false;  // not an ID the issuing function's requests may carry
    std::uint64_t address = 0;  // machine address
    std::uint64_t length = 0;
    bool write = false;
    std::string owner;          // who owns what was reached
    std::string expected;       // whose frames the device may reach
    std::string message;
};

class isolation_checker {
public:
    // Checks the invariants named in `enabled`.
    isolation_checker(platform_instance& pi, const std::vector<std::string>& enabled);
    ~isolation_checker();
    isolation_checker(const isolation_checker&) = delete;
    isolation_checker& operator=(const isolation_checker&) = delete;
    void set_step(std::size_t step) { step_ = step; }
    // group_viability: after boot, once domains hold their devices.
    void check_assignment();
    const std::vector<violation>& violations() const { return violations_; }
    // Accesses grant_integrity examined: vCPU accesses through granted pages,
    // and device DMA to frames of other domains their domain holds by grant.
    std::uint64_t grant_vcpu_accesses() const { return grant_vcpu_accesses_; }
    std::uint64_t grant_device_accesses() const { return grant_device_accesses_; }

private:
    std::optional<std::size_t> memory_observer_;
    void observe_memory(const tlm::tlm_generic_payload& gp);
    void observe_grant_vcpu(const tlm::tlm_generic_payload& gp);
    void observe_bar(const pci::pci_function& target, const tlm::tlm_generic_payload& gp);
    // Who issued a request: the topology index of its physical origin (or of
    // the function its requester ID names, without an origin; -1: unknown),
    // that function's domain, and whether the requester ID was forged.
    struct attribution {
        int function = -1;
        std::optional<hyp::domid_t> domain;
        bool forged = false;
        std::string name;  // the function's id, or "unknown requester ID <bdf>"
        std::string carried;  // for a forged ID: the function whose ID it is, or "" when no function has it
        std::string describe(std::uint16_t rid) const;
    };
    attribution attribute(const pcie::pcie_ext& ext) const;
    std::optional<hyp::domid_t> domain_of_requester(std::uint16_t rid) const;
    std::string domain_name(hyp::domid_t id) const;
    int function_index(const pci::pci_function& f) const;

    platform_instance& pi_;
    bool dma_isolation_ = false, group_isolation_ = false, group_viability_ = false, grant_integrity_ = false;  // enabled
    std::uint64_t grant_vcpu_accesses_ = 0, grant_device_accesses_ = 0;
    group_result groups_;
    std::map<std::uint16_t, int> function_of_rid_;  // own and alias requester IDs -> topology index
    std::unordered_map<const pci::pci_function*, int> index_of_;  // module -> topology index (by its name)
    std::unordered_map<const sc_core::sc_object*, int> origin_index_;  // a request's origin -> topology index
    std::size_t step_ = 0;
    std::vector<violation> violations_;
};

} // namespace iotwin::platform
