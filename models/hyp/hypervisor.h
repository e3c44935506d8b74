// The hypervisor as far as the I/O path needs it today: domains with their
// memory (a P2M of machine extents), the ownership ledger of machine frames,
// device assignment and IOMMU mappings (through the VT-d driver), interrupt
// routing of MSI vectors to domains, and the CPU accesses domains make
// (guest-physical memory through the P2M, configuration space and MMIO).
// Grant tables, event channels and the hypercall socket build on this.
//
// Every operation runs on the calling vCPU's timeline: it takes the caller's
// annotated delay and adds the cost of the CPU accesses it makes.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/common/stats.h"
#include "models/hyp/vtd_driver.h"
#include "models/intc/msi_controller.h"
#include "models/pcie/protocol.h"

namespace iotwin::hyp {

using domid_t = std::uint16_t;
// Xen's special domain IDs (xen/include/public/xen.h).
constexpr domid_t DOMID_IO = 0x7ff1, DOMID_XEN = 0x7ff2, DOMID_INVALID = 0x7ff4;

struct extent {
    std::uint64_t gpa, maddr, size;
};

struct domain {
    domid_t id = 0;
    std::string name;
    bool privileged = false;
    std::uint64_t memory = 0;
    std::vector<extent> p2m;         // guest-physical -> machine, in gpa order
    std::uint16_t iommu_did = 0;     // VT-d domain ID
    std::uint64_t iommu_pgd = 0;     // machine address of its IO page table
    std::vector<std::uint16_t> devices;  // requester IDs assigned to it
    std::optional<std::uint64_t> to_machine(std::uint64_t gpa, std::uint64_t len) const;
    // Whether all of [gpa, gpa + len) is the domain's memory (it may span extents).
    bool covers(std::uint64_t gpa, std::uint64_t len) const;
};

struct interrupt_delivery {
    domid_t domain;
    std::uint8_t vector;
    std::uint16_t requester_id;
    bool from_device;
    sc_core::sc_time time;
    std::uint8_t destination = 0;  // APIC ID the message named
    // A legacy INTx interrupt (vector 0): the GSI that fired and the
    // Interrupt Pin (1..4) of the function `requester_id` behind it.
    bool intx = false;
    std::uint8_t gsi = 0;
    std::uint8_t pin = 0;
};

// A function whose INTx line reaches a GSI, and whether it asserts it now.
struct intx_source {
    std::uint16_t requester_id;
    std::uint8_t pin;
    bool asserted;
};

struct hypervisor_params {
    std::uint64_t heap_base = 0x100000;        // machine frames for IOMMU tables
    std::uint64_t heap_size = 15ull << 20;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ram;  // (base, size) of machine RAM
    std::uint64_t iommu_regs = 0xFED90000;
    bool iommu_translate = true;
};

class hypervisor : public sc_core::sc_module, public bus_port {
public:
    tlm_utils::simple_initiator_socket<hypervisor> cpu;
    // The CPUs' port I/O space (IN/OUT); a platform without I/O routing leaves it unbound.
    tlm_utils::simple_initiator_socket_optional<hypervisor> io;

    hypervisor(sc_core::sc_module_name name, const hypervisor_params& p);

    // Called once the platform is bound (before any domain activity).
    int init(sc_core::sc_time& d);

    // Allocates `memory` bytes of machine RAM; returns the new domain's ID or an errno (negative).
    int create_domain(const std::string& name, bool privileged, std::uint64_t memory, sc_core::sc_time& d);
    domain* find(const std::string& name);
    domain* find(domid_t id);
    const std::vector<domain>& domains() const { return domains_; }

    // A vCPU of `dom` loads or stores guest-physical memory: 0 or EFAULT.
    int guest_access(domid_t dom, tlm::tlm_command cmd, std::uint64_t gpa, std::uint8_t* data, unsigned len,
                     sc_core::sc_time& d);
    // A CPU access to a machine address (MMIO, ECAM). Returns the PCIe completion.
    pcie::completion machine_access(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data, unsigned len,
                                    sc_core::sc_time& d);

    // A CPU's IN/OUT to `port` (1, 2 or 4 bytes). Returns the PCIe completion;
    // a read that nobody claimed returns all ones.
    pcie::completion io_access(tlm::tlm_command cmd, std::uint32_t port, std::uint8_t* data, unsigned len, sc_core::sc_time& d);

    // Device assignment and the domain's IO page table. Errnos as VFIO type1 gives them.
    int assign_device(domid_t dom, std::uint16_t sid, sc_core::sc_time& d);
    std::optional<domid_t> device_owner(std::uint16_t sid) const;
    int iommu_map(domid_t dom, std::uint64_t iova, std::uint64_t gpa, std::uint64_t size, bool read, bool write,
                  sc_core::sc_time& d);
    int iommu_unmap(domid_t dom, std::uint64_t iova, std::uint64_t size, std::uint64_t& unmapped, sc_core::sc_time& d);

    // The ownership ledger: who owns the machine frame at `maddr`.
    domid_t owner_of(std::uint64_t maddr) const;

    // Interrupts: binds a new physical vector to `dom` (on its vCPU, APIC ID =
    // domid); the MSI address/data to program. None when vectors run out or
    // the domid does not fit an 8-bit APIC ID.
    static std::uint64_t msi_address(std::uint8_t apic_id);
    struct msi_binding { std::uint64_t address; std::uint32_t data; std::uint8_t vector; };
    std::optional<msi_binding> bind_msi(domid_t dom);
    void deliver(const intc::interrupt_message& m);
    const std::vector<interrupt_delivery>& deliveries() const { return deliveries_; }
    // Messages whose vector is bound but whose destination is not the vCPU it
    // is bound on: not delivered (`domain` is the vector's domain).
    const std::vector<interrupt_delivery>& misdirected() const { return misdirected_; }

    // INTx (physical IRQs of GSIs, as Xen binds a passed-through device's
    // GSI to the domain it is assigned to). The platform says which
    // functions' lines reach a GSI and whether each asserts it now.
    using intx_resolver = std::function<std::vector<intx_source>(unsigned gsi)>;
    void set_intx_resolver(intx_resolver r) { intx_resolver_ = std::move(r); }
    // The interrupt controller's end of interrupt for a GSI.
    using gsi_eoi = std::function<void(unsigned gsi, sc_core::sc_time& d)>;
    void set_gsi_eoi(gsi_eoi e) { gsi_eoi_ = std::move(e); }
    // GSI `gsi` fired (the I/O APIC delivered it at `when`): every domain
    // owning a function on it receives the interrupt, as Xen sends a shared
    // IRQ to each guest bound to it; a domain none of whose functions
    // asserts the line got it misdirected. Each must EOI it before the GSI
    // can fire again.
    void deliver_intx(unsigned gsi, const sc_core::sc_time& when);
    // PHYSDEVOP_eoi by `dom` for `irq` (the GSI: pirq = GSI): 0, or EINVAL
    // for an IRQ beyond the controller's. An EOI of an IRQ not in flight for
    // the domain does nothing, as in Xen.
    int eoi_pirq(domid_t dom, std::uint32_t irq, sc_core::sc_time& d);

    bool access(tlm::tlm_command cmd, std::uint64_t addr, void* data, unsigned len, sc_core::sc_time& delay) override;
    void stats(stat_map& out) const;

private:
    hypervisor_params p_;
    frame_pool pool_;
    vtd_driver vtd_;
    std::vector<domain> domains_;
    std::map<std::uint64_t, std::pair<std::uint64_t, domid_t>> ledger_;  // start -> (end, owner)
    std::vector<std::pair<std::uint64_t, std::uint64_t>> free_ram_;      // (base, size), address order
    std::map<std::uint8_t, domid_t> vectors_;                            // physical vector -> domain
    std::uint8_t next_vector_ = 0x30;
    std::uint8_t fault_vector_ = 0xf1;
    std::vector<interrupt_delivery> deliveries_, misdirected_;
    intx_resolver intx_resolver_;
    gsi_eoi gsi_eoi_;
    std::map<unsigned, std::set<domid_t>> intx_in_flight_;  // GSI -> domains that have not EOIed it
    std::uint64_t intx_interrupts_ = 0, intx_unbound_ = 0;
    std::uint64_t unbound_interrupts_ = 0, misdirected_interrupts_ = 0, iommu_fault_interrupts_ = 0, mapped_pages_ = 0, unmapped_pages_ = 0;
};

} // namespace iotwin::hyp
