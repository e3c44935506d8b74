// Assembles a platform from its description: creates one module per block,
// binds the sockets, and maps the address ranges on the interconnect. PCI
// functions are created through a registry of device models, by name.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "models/cpu/cpu.h"
#include "models/guest/kernel.h"
#include "models/hyp/hypervisor.h"
#include "models/intc/ioapic.h"
#include "models/intc/msi_controller.h"
#include "models/interconnect/router.h"
#include "models/iommu/iommu.h"
#include "models/mem/memory.h"
#include "models/pci/pci_bridge.h"
#include "models/pcie/host_bridge.h"
#include "models/pcie/root_complex.h"
#include "platform/description.h"
#include "platform/iommu_groups.h"
#include "platform/host_drivers.h"
#include "platform/topology.h"
#include "platform/vfio_host.h"

namespace iotwin::platform {

// Creates the module of one endpoint-like function from its parameters.
using device_factory = std::function<std::unique_ptr<pci::pci_function>(const char* name, const pci::function_params&,
                                                                         const device_params&)>;
// The registry of device models ("dma_engine", "bar_ram", ...).
const std::map<std::string, device_factory>& device_models();

struct platform_instance {
    topology topo;  // the hierarchy as Linux numbers it (IDs, ACS, aliases, VFs)
    std::unique_ptr<interconnect::router> interconnect;
    std::unique_ptr<mem::memory> memory;
    std::unique_ptr<pcie::root_complex> root_complex;
    std::unique_ptr<iommu::iommu> iommu;
    std::unique_ptr<intc::msi_controller> msi;
    std::unique_ptr<intc::ioapic> ioapic;  // INTx: GSIs from the root complex's INTx routing
    std::unique_ptr<hyp::hypervisor> hypervisor;
    std::unique_ptr<cpu::cpu> cpu;  // runs the domains' vCPUs; their hypercalls go to the hypervisor
    // The root complex's own host bridge at 00:00.0: a function in configuration
    // space, not a node of the description or the topology (null only when a
    // description made in code puts a function of its own at bus 0, device 0).
    std::unique_ptr<pcie::host_bridge> host_bridge;
    std::vector<std::unique_ptr<pci::pci_function>> functions;  // the description's, in tree order
    std::map<std::string, pci::pci_function*> by_id;
    std::map<const pci::pci_function*, const pcie_node*> node_of;
    // The host kernel's driver bindings (platform/host_drivers.h).
    std::unique_ptr<host_drivers> drivers;
    // The domains' guest kernels and their processes (models/guest/kernel.h), made at boot.
    std::unique_ptr<guest::os> guests;
    // What VFIO in the privileged domains' kernels sees of the host (platform/vfio_host.h).
    std::unique_ptr<vfio_host> vfio;

    // VFs enabled at run time (beyond the boot set), ever, and the IOMMU
    // group each one enabled now is in (docs/architecture.md, SR-IOV).
    std::set<std::string> run_time_vfs;
    std::map<std::string, int> run_time_groups;
    // The IOMMU group of a function as Linux shows it now; none for a VF not enabled.
    std::optional<int> iommu_group(const std::string& id) const;
    group_result boot_groups() const;  // compute_groups(topo), computed once

    std::string id_of(std::uint16_t rid) const;  // "" for an unknown requester
    void stats(stat_map& out) const;

private:
    mutable std::shared_ptr<group_result> boot_groups_;
};

// The host kernel's driver bindings of a platform, made on first use for a
// platform assembled in code rather than by build_platform().
host_drivers& drivers_of(platform_instance& pi, bool iommu_enabled);

// Throws input_error for descriptions the model cannot build.
std::unique_ptr<platform_instance> build_platform(const scenario& s);

} // namespace iotwin::platform
