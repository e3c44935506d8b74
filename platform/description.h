// The description of a scenario as plain data: what the loader produces from a
// YAML file and what the builder and the runner consume. Steps keep their
// argument and expectation nodes for the step interpreter; nothing else here
// knows about YAML.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "models/devices/device_list.h"
#include "models/interconnect/router.h"
#include "models/iommu/iommu.h"
#include "models/mem/memory.h"
#include "models/pci/config_space.h"
#include "models/pci/pci_bridge.h"
#include "models/pcie/link.h"
#include "models/pcie/root_complex.h"

namespace iotwin::platform {

// Where something was written: FILE:LINE:COL (1-based), or a --set override
// (no file; `set_key` names the KEY of --set KEY=VALUE when known).
struct source_pos {
    source_pos() = default;
    source_pos(std::string file_, int line_ = 0, int col_ = 0, std::string set_key_ = {})
        : file(std::move(file_)), line(line_), col(col_), set_key(std::move(set_key_)) {}
    std::string file;
    int line = 0;
    int col = 0;
    std::string set_key;
    std::string str() const;
};

// Bad input: the message is "FILE:LINE:COL: what is wrong", or
// "--set: KEY: what is wrong"; exit status 2.
class input_error : public std::runtime_error {
public:
    input_error(const source_pos& pos, const std::string& what)
        : std::runtime_error(pos.str() + ": " + (pos.set_key.empty() ? "" : pos.set_key + ": ") + what), where(pos) {}
    source_pos where;
};

// Input that is valid but unusual: a tree physical hardware cannot build yet
// Linux enumerates (as virtual platforms build them), or a key Linux ignores.
// Printed as "FILE:LINE:COL: warning: what"; the run goes on.
struct input_warning {
    source_pos where;
    std::string what;
    std::string str() const { return where.str() + ": warning: " + what; }
};

enum class node_type { rciep, root_port, upstream_port, downstream_port, endpoint, pcie_pci_bridge, pci_bridge, host_bridge, pci_device };
const char* to_string(node_type t);
bool is_bridge(node_type t);

// Parameters of the device models, by model name (models/devices/device_list.h).
struct device_params {
#define IOTWIN_DEVICE_PARAMS_MEMBER(name, cls, params) params name;
    IOTWIN_DEVICE_MODELS(IOTWIN_DEVICE_PARAMS_MEMBER)
#undef IOTWIN_DEVICE_PARAMS_MEMBER
    template <class V> void visit(V& v) {
#define IOTWIN_DEVICE_PARAMS_VISIT(name, cls, params) nested(v, #name ".", name);
        IOTWIN_DEVICE_MODELS(IOTWIN_DEVICE_PARAMS_VISIT)
#undef IOTWIN_DEVICE_PARAMS_VISIT
    }

private:
    template <class V, class P> static void nested(V& v, const std::string& prefix, P& p) {
        auto prefixed = [&](const char* name, auto& field, const char* unit, const char* description) {
            const std::string full = prefix + name;
            v(full.c_str(), field, unit, description);
        };
        p.visit(prefixed);
    }
};

struct sriov_spec {
    std::uint64_t total_vfs = 0, num_vfs = 0, first_vf_offset = 1, vf_stride = 1;
    std::uint16_t vf_device = 0;
    std::vector<pci::bar_desc> vf_bars;  // `vf_bars`: each VF's BARs (memory BARs)
};

// The MSI capability of a function (`msi:`).
struct msi_spec {
    unsigned vectors = 1;          // 0: no MSI capability; 1, 2, 4, 8, 16 or 32
    bool address_64bit = true;
    bool per_vector_mask = false;
};

struct pcie_node {
    std::string id;
    node_type type = node_type::endpoint;
    std::uint8_t dev = 0, fn = 0;       // resolved position on the parent bus
    bool at_given = false;
    bool has_acs = false;               // an ACS extended capability (the `acs` key is present)
    std::vector<std::string> acs;       // ACS capability bits implemented
    std::optional<std::vector<std::string>> acs_ctrl;
    // ATS extended capability (`ats`): Invalidate Queue Depth and Page Aligned Request.
    std::optional<pci::function_params::ats_regs> ats;
    // A root or downstream port the firmware marks external-facing (ACPI
    // ExternalFacingPort): Linux 6.1 marks every device below it untrusted
    // (drivers/pci/probe.c set_pcie_untrusted) and never enables its ATS.
    bool external_facing = false;
    std::optional<std::uint16_t> vendor, device;
    std::optional<std::uint32_t> class_code;
    std::optional<pcie::link_params> link;
    std::string model;                  // device model behind an endpoint
    // The model's parameters for this function (`params:`): platform.devices
    // with this function's overrides; none: platform.devices as they are.
    std::optional<device_params> params;
    std::vector<pci::bar_desc> bars;
    bool bars_given = false;            // `bars` is present (`bars: []`: no BARs at all)
    std::uint64_t rom_size = 0;         // `rom`: Expansion ROM size; 0: none
    std::optional<msi_spec> msi;        // none: 1 vector, 64-bit, no masking (bridges: no MSI)
    std::optional<pci::function_params::msix_regs> msix;
    std::optional<std::uint8_t> interrupt_pin;  // 0 none, 1..4 INTA..INTD; none: INTA for a type-0 function
    bool power_management = false;
    bool no_soft_reset = true;
    bool flr = false;
    std::optional<sriov_spec> sriov;
    std::optional<bool> multifunction;
    std::optional<std::uint8_t> root_bus;
    std::uint16_t segment = 0;          // PCI segment (domain) a host_bridge opens its root bus in
    // The bus numbers firmware programmed into a bridge (`secondary`,
    // `subordinate`), which Linux keeps (pci_scan_bridge_extend(), first
    // pass); none: Linux numbers the bridge in its second pass. Without
    // `subordinate`, the highest bus below the bridge.
    std::optional<std::uint8_t> secondary, subordinate;
    source_pos secondary_pos, subordinate_pos;
    // Whether peer-to-peer requests from this function go straight to a peer
    // when its ACS does not redirect them (functions of one device inside it,
    // a switch port across the switch). Default: yes, unless an ACS quirk of
    // Linux declares the function isolated, in which case the model honours
    // the quirk; `true` models a quirk that claims an isolation the hardware
    // does not give.
    std::optional<bool> internal_p2p;
    // The host driver bound at boot (`driver`: none, vfio-pci, pci-stub or a
    // driver of platform/host_drivers.h); absent: the one Linux would pick.
    std::optional<std::string> driver;
    source_pos driver_pos;
    std::vector<pcie_node> children;
    source_pos pos;
};

// Fabric timing that is not a single model's parameter.
struct fabric_params {
    pcie::root_complex_params root_complex;
    pci::bridge_params port;
    interconnect::router_params interconnect;
    pcie::link_params link;  // default link of every PCIe port (gen, width) and the TLP overhead
    sc_core::sc_time msi_latency = sc_core::sc_time(20, sc_core::SC_NS);
    std::uint64_t read_tags = 32;
    std::uint64_t posted_credits = 32;

    template <class V> void visit(V& v) {
        v("root_complex_latency", root_complex.latency, "time", "root complex traversal, each direction");
        v("root_complex.peer_to_peer", root_complex.peer_to_peer, "",
          "a device's request to another function's BAR is routed back down by the root complex (true) or answered with UR (false)");
        v("port_latency", port.forward_latency, "time", "forwarding latency of a root or switch port, each direction");
        v("interconnect_latency", interconnect.latency, "time", "system interconnect traversal per request");
        v("msi_latency", msi_latency, "time", "interrupt message delivery from the interconnect to the local APIC");
        v("link.gen", link.gen, "", "default PCIe generation of a link (1..5)");
        v("link.width", link.width, "lanes", "default PCIe link width");
        v("link.tlp_overhead", link.tlp_overhead, "bytes", "bytes a request TLP (4-DW header) adds on the wire besides its payload");
        v("link.completion_overhead", link.completion_overhead, "bytes", "bytes a completion TLP (3-DW header) adds on the wire besides its payload");
        v("root_complex.read_completion_boundary", root_complex.read_completion_boundary, "bytes", "the root complex splits read completions at this boundary (64 or 128)");
        v("read_tags", read_tags, "requests", "read requests a function may have outstanding (tags)");
        v("posted_credits", posted_credits, "requests", "posted requests (writes, MSIs) a function may have in flight (flow-control credits)");
        v("pci_bus.clock", port.pci_bus_clock, "time", "clock period of a conventional PCI bus below a bridge");
        v("pci_bus.width", port.pci_bus_width, "bytes", "data bytes a conventional PCI bus moves per clock");
        v("pci_bus.overhead_clocks", port.pci_bus_overhead_clocks, "clocks", "clocks a PCI transaction spends besides data (address, decode, turnaround)");
    }
};

struct simulation_params {
    sc_core::sc_time quantum = sc_core::sc_time(1, sc_core::SC_US);
    sc_core::sc_time settle_limit = sc_core::sc_time(10, sc_core::SC_MS);
    template <class V> void visit(V& v) {
        v("quantum", quantum, "time", "global quantum of temporal decoupling");
        v("settle_limit", settle_limit, "time", "longest a step waits for device activity it started to finish");
    }
};

// The pcie_acs_override= kernel parameter of the out-of-tree ACS override
// patch that distributions carry for device assignment (pcie_acs_overrides(),
// the last entry of pci_dev_acs_enabled[]): PCIe functions without an ACS
// capability are claimed to have ACS, so Linux splits their IOMMU groups;
// the fabric still routes peer-to-peer as before.
struct acs_override {
    bool downstream = false;     // root and downstream ports
    bool multifunction = false;  // functions of multi-function endpoints and upstream ports
    std::vector<std::pair<std::uint16_t, std::uint16_t>> ids;  // id:vvvv:dddd: any port type of that vendor:device
    bool any() const { return downstream || multifunction || !ids.empty(); }
};

struct platform_desc {
    std::uint64_t memory = 4ull << 30;
    bool iommu_enabled = true;
    iommu::iommu_params iommu;
    // platform.iommu.table (scalable mode): 0 automatic, 1 first_level, 2 second_level.
    unsigned iommu_table = 0;
    mem::memory_params dram;
    fabric_params fabric;
    simulation_params simulation;
    device_params devices;
    std::vector<pcie_node> pcie;
    acs_override pcie_acs_override;
    source_pos pos;
};

// Xen's per-domain grant-table limits (xen/common/grant_table.c: the
// max_grant_frames, max_maptrack_frames and max_grant_version of
// XEN_DOMCTL_createdomain, whose defaults are opt_max_grant_frames = 64,
// opt_max_maptrack_frames = 1024 and opt_gnttab_max_version = 2).
struct grant_table_spec {
    std::uint64_t version = 1;       // what the guest's kernel selects at boot
    std::uint64_t max_version = 2;
    std::uint64_t max_frames = 64;
    std::uint64_t max_maptrack_frames = 1024;
};

// PV: the guest manages machine frames itself; HVM: translated, the guest
// sees guest frames through the P2M (Xen's paging_mode_translate()).
enum class domain_kind { pv, hvm };
// How the IOMMU treats a domain's devices (domains[].iommu; docs/iommu/translation.md).
enum class domain_iommu { translated, passthrough, blocked };

// A guest kernel driver's version and module parameters in one domain
// (`drivers: { gntalloc: { version: original, limit: 1024 } }`).
struct driver_spec {
    bool original = false;               // version: original | current (the default)
    std::optional<std::uint64_t> limit;  // the `limit` module parameter
    // vfio_iommu_type1's module parameters (dma_entry_limit, allow_unsafe_interrupts).
    std::optional<std::uint64_t> dma_entry_limit;
    std::optional<bool> allow_unsafe_interrupts;
    source_pos pos;
};

struct domain_desc {
    std::string name;
    bool privileged = false;
    // Xen's pciback lets a guest's configuration writes reach its functions
    // only where it handles them (Command bits, virtualized BARs); with
    // `permissive` (xen-pciback.permissive) every write goes through.
    bool pci_permissive = false;
    // iommu_invalidation: strict (the default: every unmap invalidates the
    // IOTLB before it returns) | deferred (Linux's flush queue, iommu.strict=0).
    bool iommu_deferred = false;
    std::uint64_t memory = 0;
    // Default: PV for the first privileged domain (dom0), HVM for the others.
    domain_kind type = domain_kind::hvm;
    domain_iommu iommu = domain_iommu::translated;
    grant_table_spec grant_table;
    std::map<std::string, driver_spec> drivers;  // by driver name (gntalloc, gntdev)
    std::vector<std::pair<std::string, source_pos>> devices;
    source_pos pos;
};

struct process_desc {
    std::string name;
    std::string domain;
    // RLIMIT_MEMLOCK (bytes) and RLIMIT_NOFILE; none: unlimited.
    std::optional<std::uint64_t> memlock, nofile;
    // CAP_* names; none given: every capability.
    std::optional<std::vector<std::string>> capabilities;
    source_pos pos;
};

struct step_desc {
    std::size_t index = 0;
    std::string op;
    std::string as;       // domain or process, when the operation has an actor
    std::string device;   // for device-originated operations
    YAML::Node args;      // a map (possibly empty)
    YAML::Node expect;    // a map (possibly empty)
    std::string save;
    // Whether the runner goes on at once, leaving the step to run beside the
    // following ones (it ends when its operation and the activity it started do).
    bool background = false;
    source_pos pos;
};

struct scenario {
    std::string file;
    std::string name;
    std::string description;
    std::uint64_t seed = 1;
    platform_desc platform;
    std::vector<domain_desc> domains;
    std::vector<process_desc> processes;
    std::vector<step_desc> steps;
    std::vector<std::pair<std::string, source_pos>> invariants;
    std::vector<std::pair<std::string, source_pos>> expect_violation;
    bool invariants_given = false;
    std::vector<input_warning> warnings;  // in the order the loader found them
};

// Visits every pcie node depth-first, parents before children.
template <class F> void for_each_node(const std::vector<pcie_node>& nodes, F&& f, const pcie_node* parent = nullptr) {
    for (const pcie_node& n : nodes) {
        f(n, parent);
        for_each_node(n.children, f, &n);
    }
}

} // namespace iotwin::platform
