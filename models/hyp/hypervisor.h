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
#include <tlm_utils/simple_target_socket.h>

#include "models/common/stats.h"
#include "models/hyp/event_channel.h"
#include "models/hyp/grant_table.h"
#include "models/hyp/hypercall.h"
#include "models/hyp/flush_queue.h"
#include "models/hyp/vtd_driver.h"
#include "models/intc/msi_controller.h"
#include "models/iommu/fault_recorder.h"
#include "models/pcie/protocol.h"

namespace iotwin::hyp {

// Xen's special domain IDs (xen/include/public/xen.h).
constexpr domid_t DOMID_FIRST_RESERVED = 0x7ff0, DOMID_SELF = 0x7ff0, DOMID_IO = 0x7ff1, DOMID_XEN = 0x7ff2,
                  DOMID_COW = 0x7ff3, DOMID_INVALID = 0x7ff4;

struct extent {
    std::uint64_t gpa, maddr, size;
};

// PV: the guest works with machine frames; HVM: translated, its frame
// numbers are guest frames (Xen's paging_mode_translate()).
enum class domain_type { pv, hvm };

// What a domain is created with (XEN_DOMCTL_createdomain's configuration).
struct domain_config {
    std::string name;
    bool privileged = false;
    std::uint64_t memory = 0;
    domain_type type = domain_type::hvm;
    unsigned grant_version = 1;  // the version the guest's kernel selects at boot
    unsigned max_grant_version = 2;
    unsigned max_grant_frames = 64;
    unsigned max_maptrack_frames = 1024;
    iommu_mode iommu = iommu_mode::translated;  // how the IOMMU treats its devices
    // How unmaps of its IO page tables reach the IOTLB (flush_queue.h).
    invalidation_mode iommu_invalidation = invalidation_mode::strict;
};

// A granted frame mapped at a page of a domain's guest-physical space
// (GNTMAP_host_map): the domain's vCPU accesses there reach `maddr`.
struct foreign_page {
    std::uint64_t maddr = 0;
    bool readonly = false;
    domid_t granter = 0;
    std::uint32_t ref = 0;
    std::uint32_t handle = 0;
};

struct domain {
    domid_t id = 0;
    std::string name;
    bool privileged = false;
    domain_type type = domain_type::hvm;
    bool dying = false;              // XEN_DOMCTL_destroydomain has begun
    std::uint64_t memory = 0;
    std::vector<extent> p2m;         // guest-physical -> machine, in gpa order
    // Frames the hypervisor shares with the domain (grant-table frames, v2
    // status frames, the shared-info page), by guest frame number: they
    // appear above its RAM (`memory / 4096` on, see special_gfn()).
    std::map<std::uint64_t, std::uint64_t> shared;   // gfn -> machine address
    std::map<std::uint64_t, foreign_page> foreign;   // gfn -> granted page mapped there
    unsigned max_grant_frames = 64;  // bounds the special region's layout
    std::uint16_t iommu_did = 0;     // VT-d domain ID
    std::uint64_t iommu_pgd = 0;     // machine address of its IO page table
    std::vector<std::uint16_t> devices;  // requester IDs assigned to it
    invalidation_mode iommu_invalidation = invalidation_mode::strict;
    flush_queue iotlb_fq;            // deferred invalidations (iommu_invalidation: deferred)
    bool released = false;           // destruction finished: nothing of it remains (Xen: the domain is gone)
    std::optional<std::uint64_t> to_machine(std::uint64_t gpa, std::uint64_t len) const;
    // Whether all of [gpa, gpa + len) is the domain's memory (it may span extents).
    bool covers(std::uint64_t gpa, std::uint64_t len) const;
    bool translated() const { return type == domain_type::hvm; }

    // The special region above RAM: grant frame i at special_gfn() + i,
    // status frame i at special_gfn() + max_grant_frames + i, the shared-info
    // page after the last possible status frame.
    std::uint64_t special_gfn() const { return memory / 4096; }
    std::uint64_t grant_frame_gfn(unsigned i) const { return special_gfn() + i; }
    std::uint64_t status_frame_gfn(unsigned i) const { return special_gfn() + max_grant_frames + i; }
    std::uint64_t shared_info_gfn() const { return special_gfn() + max_grant_frames + gnttab::status_frames_for(max_grant_frames); }

    // A vCPU access to the page of `gpa`: where it goes (RAM through the P2M,
    // a shared frame, or a granted frame mapped there) and whether it may write.
    struct page_target {
        std::uint64_t maddr;  // machine address of `gpa` itself
        bool writable;
        const foreign_page* foreign;  // when it goes through a grant mapping
    };
    std::optional<page_target> translate(std::uint64_t gpa) const;
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
    // An event-channel upcall (models/hyp/event_channel.h) on vCPU `vcpu`.
    bool upcall = false;
    unsigned vcpu = 0;
};

// A function whose INTx line reaches a GSI, and whether it asserts it now.
struct intx_source {
    std::uint16_t requester_id;
    std::uint8_t pin;
    bool asserted;
};

struct hypervisor_timing {
    // A hypercall's switch into the hypervisor and back (VMCALL exit and entry).
    sc_core::sc_time hypercall_entry = sc_core::sc_time(300, sc_core::SC_NS);
    sc_core::sc_time hypercall_exit = sc_core::sc_time(200, sc_core::SC_NS);
    gnttab::grant_timing gnttab;
    evtchn_timing evtchn;
};

struct hypervisor_params {
    std::uint64_t heap_base = 0x100000;        // machine frames for IOMMU tables
    std::uint64_t heap_size = 15ull << 20;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ram;  // (base, size) of machine RAM
    std::uint64_t iommu_regs = 0xFED90000;
    bool iommu_translate = true;
    unsigned iommu_address_width = 48;  // platform.iommu.address_width: IOVAs at or above 2^width are refused
    bool iommu_scalable = false;        // platform.iommu.mode: scalable
    vtd_driver::table_kind iommu_table = vtd_driver::table_kind::automatic;  // platform.iommu.table
    // Interrupt remapping as the host sets it up (platform.iommu.interrupt_remapping
    // and ir.*): used only when the unit reports ECAP.IR.
    bool interrupt_remapping = false;
    bool ir_source_validation = true;
    bool ir_compat_pass_through = false;
    // dmar_fault()'s printk ratelimit (platform.iommu.fault_log.ratelimit).
    bool fault_log_ratelimit = false;
    hypervisor_timing timing;
};


// -- domain destruction and grant mappings --
// What a vCPU access carries to memory, so that the grant_integrity checker
// can attribute it: the domain whose vCPU made it and, when it went through
// a granted page mapped in the domain (GNTMAP_host_map), the mapping's handle.
struct vcpu_access_ext : tlm::tlm_extension<vcpu_access_ext> {
    domid_t domain = 0;
    bool via_grant = false;
    std::uint32_t handle = 0;
    tlm::tlm_extension_base* clone() const override { return new vcpu_access_ext(*this); }
    void copy_from(const tlm::tlm_extension_base& o) override { *this = static_cast<const vcpu_access_ext&>(o); }
};

class hypervisor : public sc_core::sc_module, public bus_port {
public:
    tlm_utils::simple_initiator_socket<hypervisor> cpu;
    // Hypercalls from the vCPUs (models/cpu/cpu.h).
    tlm_utils::simple_target_socket_optional<hypervisor> hypercalls;
    // The CPUs' port I/O space (IN/OUT); a platform without I/O routing leaves it unbound.
    tlm_utils::simple_initiator_socket_optional<hypervisor> io;

    hypervisor(sc_core::sc_module_name name, const hypervisor_params& p);

    // Called once the platform is bound (before any domain activity).
    int init(sc_core::sc_time& d);

    // Allocates `memory` bytes of machine RAM; returns the new domain's ID or an errno (negative).
    int create_domain(const domain_config& c, sc_core::sc_time& d);
    int create_domain(const std::string& name, bool privileged, std::uint64_t memory, sc_core::sc_time& d);
    // XEN_DOMCTL_destroydomain by `caller`: 0 or -errno.
    long destroy_domain(domid_t caller, domid_t victim, sc_core::sc_time& d);
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

    // The host enabled ATS for requester `sid`: its context entries say TT=01b (device-TLBs).
    void set_device_tlb(std::uint16_t sid, bool on) { vtd_.set_device_tlb(sid, on); }
    // Device assignment and the domain's IO page table. Errnos as VFIO type1 gives them.
    int assign_device(domid_t dom, std::uint16_t sid, sc_core::sc_time& d);
    std::optional<domid_t> device_owner(std::uint16_t sid) const;
    int iommu_map(domid_t dom, std::uint64_t iova, std::uint64_t gpa, std::uint64_t size, bool read, bool write,
                  sc_core::sc_time& d);
    int iommu_unmap(domid_t dom, std::uint64_t iova, std::uint64_t size, std::uint64_t& unmapped, sc_core::sc_time& d);
    // Flushes a deferred domain's flush queue now (what its timer does):
    // one domain-selective IOTLB invalidation. ESRCH for an unknown domain.
    int iommu_flush(domid_t dom, sc_core::sc_time& d);
    const vtd_driver& vtd() const { return vtd_; }

    // IO address spaces a privileged domain's kernel makes for its own users
    // (VFIO type1 containers, as Linux's iommu_domain_alloc): an IO page
    // table and a VT-d domain ID of their own, filled with frames of the
    // owning domain, to which devices of that domain are attached instead
    // of the domain's own table. The devices stay the domain's in the
    // ownership ledger (device_owner), so the isolation checkers attribute
    // their DMA to it. Errnos as iommu_map's; ESRCH for an unknown space.
    // Returns the space's number (> 0), or a negative errno (ESRCH: no such
    // domain; EPERM: not privileged; ENOMEM: no frame for the table).
    int create_io_space(domid_t owner, sc_core::sc_time& d);
    // Detaches what is still attached (back to the owner's table) and unmaps everything.
    int destroy_io_space(int space, sc_core::sc_time& d);
    // Points requester `sid` at the space (EPERM: the device is not the owner's).
    int io_space_attach(int space, std::uint16_t sid, sc_core::sc_time& d);
    // Points it back at the owner's own table (ENOENT: it was not attached).
    int io_space_detach(int space, std::uint16_t sid, sc_core::sc_time& d);
    // `gpa` is the owner's guest-physical address.
    int io_space_map(int space, std::uint64_t iova, std::uint64_t gpa, std::uint64_t size, bool read, bool write,
                     sc_core::sc_time& d);
    int io_space_unmap(int space, std::uint64_t iova, std::uint64_t size, std::uint64_t& unmapped, sc_core::sc_time& d);
    // The devices attached to a space (empty for an unknown one).
    std::vector<std::uint16_t> io_space_devices(int space) const;

    // Whether a domain's IO page table maps the machine frame at `maddr`
    // through iommu_map (a device may reach it): such a frame cannot change
    // hands (GNTTABOP_transfer refuses it, as steal_page() refuses a page
    // with references beyond its allocation).
    bool io_mapped(std::uint64_t maddr) const { return io_refs_.count(maddr & ~std::uint64_t(4095)) > 0; }

    // The ownership ledger: who owns the machine frame at `maddr`.
    domid_t owner_of(std::uint64_t maddr) const;
    // Gives the frame at `maddr` (page-aligned) to `owner` in the ledger.
    void set_owner(std::uint64_t maddr, domid_t owner);

    // Machine frames from free RAM (grant-table, status, maptrack and
    // shared-info frames): the frame's address, owned by `owner`, or none
    // when RAM is exhausted or a failure was injected (sim.fail_alloc).
    std::optional<std::uint64_t> alloc_frame(domid_t owner);
    void free_frame(std::uint64_t maddr);
    // The next `n` allocations of hypervisor memory fail (as Xen's
    // alloc_xenheap_page / xzalloc returning NULL).
    void fail_allocations(unsigned n) { fail_allocs_ = n; }
    // Whether an allocation should fail now (consumes one injected failure).
    bool allocation_fails();

    // Loads and stores of machine memory by the hypervisor itself.
    int read_machine(std::uint64_t maddr, void* data, unsigned len, sc_core::sc_time& d);
    int write_machine(std::uint64_t maddr, const void* data, unsigned len, sc_core::sc_time& d);

    gnttab::grant_tables& grant_tables() { return gnttab_; }
    event_channels& evtchn() { return evtchn_; }
    const hypervisor_timing& timing() const { return p_.timing; }

    // Interrupts: binds a new physical vector to `dom` (on its vCPU, APIC ID =
    // domid); the MSI address/data to program. None when vectors run out or
    // the domid does not fit an 8-bit APIC ID.
    static std::uint64_t msi_address(std::uint8_t apic_id);
    struct msi_binding { std::uint64_t address; std::uint32_t data; std::uint8_t vector; };
    // `count` (a power of two up to 32) binds a block of vectors aligned to it
    // for a multiple-message MSI function: `vector` is the first. Vectors are
    // handed out lowest free first. With interrupt remapping on, each vector
    // gets an IRTE (vtd_irq_remap.cpp) and the message to program is in
    // remappable format; `source_id` is the function that will send it, which
    // the IRTE verifies (as Linux's set_msi_sid); none: no verification.
    std::optional<msi_binding> bind_msi(domid_t dom, unsigned count = 1, std::optional<std::uint16_t> source_id = std::nullopt);
    // How the IRTEs of the function with requester ID `rid` verify the source
    // of its MSIs, where it is not its own requester ID (Linux's set_msi_sid
    // for a function behind a bridge that takes ownership of its requests):
    // a bus range (SVT 2, `sid` = start bus << 8 | end bus) or another
    // requester ID (SVT 1). The platform tells it at boot from the topology.
    void set_msi_source(std::uint16_t rid, bool bus_range, std::uint16_t sid) { msi_sources_[rid] = {bus_range, sid}; }
    // Frees a vector bind_msi gave (pci_free_irq_vectors), and its IRTE.
    // Nothing for a vector not bound to a domain.
    void unbind_msi(std::uint8_t vector);
    // The message (address, data) to program for a bound vector: the one
    // bind_msi gave for it (for vector n of a block: the block's address, and
    // its data + n). None for a vector not bound to a domain.
    std::optional<msi_binding> msi_message(std::uint8_t vector) const;
    bool interrupt_remapping() const { return ir_table_ != 0; }
    // The faults the host's DMAR fault handler read from the IOMMU's fault
    // recording registers and logged, in order (vtd_fault.cpp).
    const std::vector<iommu::fault_record>& dmar_log() const { return dmar_log_; }
    void deliver(const intc::interrupt_message& m);
    // The interrupts a domain's kernel handles itself (a privileged domain's
    // drivers, such as VFIO): called for each MSI delivered to a domain and
    // for each GSI raised to a domain (`intx`, also when the domain's own
    // functions do not assert it: the domain still has to EOI it). As with
    // upcall_handler, the handler may touch memory and configuration space
    // and signal eventfds; for a GSI it may call eoi_pirq.
    std::function<void(const interrupt_delivery&)> irq_handler;
    // The GSI a function's INTx line reaches (its pdev->irq), none without a pin or routing.
    std::optional<unsigned> intx_gsi(std::uint16_t requester_id) const;
    const std::vector<interrupt_delivery>& deliveries() const { return deliveries_; }
    // Event channels: an upcall reached vCPU `vcpu` of `dom` at `when`
    // (HYPERVISOR_CALLBACK_VECTOR, 0xf3, for the record).
    void deliver_upcall(domid_t dom, unsigned vcpu, const sc_core::sc_time& when);
    // The domains' kernels (models/guest/kernel.h) handle their upcalls here.
    // The handler runs inside the hypercall that raised the event: it may
    // touch memory, not issue hypercalls.
    std::function<void(domid_t, const sc_core::sc_time&)> upcall_handler;
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

    // -- domain destruction and grant mappings --
    // The identity (dfn = mfn) IOMMU entry a PV domain's grant mapping makes
    // for its devices, read-only or read-write; replaced when it exists.
    int iommu_map_frame(domid_t dom, std::uint64_t maddr, bool write, sc_core::sc_time& d);
    // Removes it, with its IOTLB invalidation.
    int iommu_unmap_frame(domid_t dom, std::uint64_t maddr, sc_core::sc_time& d);
    // Returns a page-aligned range of machine RAM to the free pool.
    void free_range(std::uint64_t maddr, std::uint64_t size);

private:
    void b_transport_hypercall(tlm::tlm_generic_payload& gp, sc_core::sc_time& d);

    // -- the VT-d fault handler and interrupt remapping (vtd_fault.cpp, vtd_irq_remap.cpp) --
    std::uint32_t iommu_read32(std::uint32_t off, sc_core::sc_time& d);
    std::uint64_t iommu_read64(std::uint32_t off, sc_core::sc_time& d);
    void iommu_write32(std::uint32_t off, std::uint32_t v, sc_core::sc_time& d);
    void iommu_write64(std::uint32_t off, std::uint64_t v, sc_core::sc_time& d);
    // The fault interrupt arrived: dmar_fault() runs on the hypervisor's CPU.
    void fault_interrupt(const sc_core::sc_time& when);
    void dmar_fault(sc_core::sc_time& d);
    bool printk_ratelimit();
    int init_interrupt_remapping(sc_core::sc_time& d);
    void write_irte(unsigned index, std::uint64_t lo, std::uint64_t hi);
    std::vector<iommu::fault_record> dmar_log_;
    std::uint64_t dmar_fault_runs_ = 0, dmar_ratelimited_ = 0, dmar_status_lines_ = 0;
    sc_core::sc_time ratelimit_begin_;
    unsigned ratelimit_printed_ = 0;
    bool ratelimit_started_ = false;
    std::uint32_t iommu_domains_ = 1u << 16;   // CAP.ND as read at init
    std::uint64_t ir_table_ = 0;               // the interrupt remapping table (machine address), 0: off
    std::vector<bool> irte_used_;
    std::map<std::uint8_t, std::pair<std::uint16_t, std::uint8_t>> vector_irte_;  // vector -> (IRTE index, message number in its block)
    std::map<std::uint16_t, std::pair<bool, std::uint16_t>> msi_sources_;  // set_msi_source: rid -> (bus range, SID)
    std::map<std::uint8_t, msi_binding> vector_message_;  // vector -> the message bind_msi gave its block

    hypervisor_params p_;
    frame_pool pool_;
    vtd_driver vtd_;
    std::vector<domain> domains_;
    gnttab::grant_tables gnttab_;
    event_channels evtchn_;
    unsigned fail_allocs_ = 0;
    // What iommu_map mapped: (domain, IOVA page) -> machine frame, and per
    // machine frame how many IOVAs map it.
    // Tables are tagged by their owner: a domain's own by its domid, an IO
    // space by io_space_tag + its number.
    static constexpr std::uint32_t io_space_tag = 0x10000;
    std::map<std::pair<std::uint32_t, std::uint64_t>, std::uint64_t> io_shadow_;
    std::map<std::uint64_t, unsigned> io_refs_;
    void io_unmapped(std::uint32_t tag, std::uint64_t iova, std::uint64_t size);
    // The checks and page-by-page mapping iommu_map and io_space_map share.
    int map_io(std::uint32_t tag, std::uint16_t did, std::uint64_t pgd, const domain& x, std::uint64_t iova,
               std::uint64_t gpa, std::uint64_t size, bool read, bool write, sc_core::sc_time& d);
    int unmap_io(std::uint32_t tag, std::uint16_t did, std::uint64_t pgd, std::uint64_t iova, std::uint64_t size,
                 std::uint64_t& unmapped, sc_core::sc_time& d);
    struct io_space {
        domid_t owner = 0;
        std::uint16_t did = 0;
        std::uint64_t pgd = 0;
        std::vector<std::uint16_t> devices;
    };
    std::map<int, io_space> io_spaces_;
    int next_io_space_ = 1;
    std::uint64_t hypercalls_ = 0;
    std::map<std::uint64_t, std::pair<std::uint64_t, domid_t>> ledger_;  // start -> (end, owner)
    std::vector<std::pair<std::uint64_t, std::uint64_t>> free_ram_;      // (base, size), address order
    std::map<std::uint8_t, domid_t> vectors_;                            // physical vector -> domain
    std::uint8_t fault_vector_ = 0xf1;
    std::vector<interrupt_delivery> deliveries_, misdirected_;
    intx_resolver intx_resolver_;
    gsi_eoi gsi_eoi_;
    std::map<unsigned, std::set<domid_t>> intx_in_flight_;  // GSI -> domains that have not EOIed it
    std::uint64_t intx_interrupts_ = 0, intx_unbound_ = 0;
    // Queues a deferred unmap's invalidation (flush_queue.h).
    void defer_invalidation(domain& x, sc_core::sc_time& d);
    void flush_deferred(domain& x, sc_core::sc_time& d);
    std::uint64_t fq_flushes_ = 0, fq_queued_ = 0;
    std::uint64_t unbound_interrupts_ = 0, misdirected_interrupts_ = 0, iommu_fault_interrupts_ = 0, mapped_pages_ = 0, unmapped_pages_ = 0;
    std::uint64_t irtes_allocated_ = 0;
};

} // namespace iotwin::hyp
