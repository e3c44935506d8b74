// A domain's guest kernel: its page allocator, its processes, its open
// files, the hypercalls it makes on its vCPU, and its event-channel upcall
// handler. The drivers of models/guest/ (gntalloc, gntdev, /dev/xen/evtchn,
// eventfd, lguest, the split block driver) run inside one.
//
// `os` holds every domain's kernel and finds processes by name.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <systemc>

#include "models/guest/process.h"
#include "models/hyp/hypercall.h"

namespace iotwin::cpu { class cpu; }
namespace iotwin::hyp { class hypervisor; struct domain; struct interrupt_delivery; }

namespace iotwin::guest {

// A driver's version, as a domain selects it (`drivers: { gntalloc: { version } }`).
enum class driver_version { original, current };

// What the kernel's own work costs (docs/timing.md).
struct kernel_timing {
    // A system call's entry and exit (SYSCALL, the kernel's entry code, SYSRET).
    sc_core::sc_time syscall = sc_core::sc_time(100, sc_core::SC_NS);
};

// Module parameters and the version of one driver in one domain.
struct driver_config {
    driver_version version = driver_version::current;
    std::optional<std::uint64_t> limit;  // the `limit` module parameter; none: the driver's default
};

class kernel {
public:
    kernel(hyp::hypervisor& h, cpu::cpu& c, hyp::domid_t dom, std::map<std::string, driver_config> drivers);

    hyp::domid_t domid() const { return dom_; }
    hyp::hypervisor& hyp() { return h_; }
    const kernel_timing& timing() const { return t_; }
    const hyp::domain& domain() const;
    // The domain's setting for a driver ("gntalloc", "gntdev"); defaults when it set none.
    driver_config driver(const std::string& name) const;
    // Per-driver state shared by all the files of a driver in this kernel
    // (a module's globals, such as gntalloc's gref list): made on first use.
    template <class T> T& module_state(const std::string& driver) {
        auto& p = modules_[driver];
        if (!p) p = std::make_shared<T>();
        return *std::static_pointer_cast<T>(p);
    }

    // --- pages ---
    // A page of the domain's RAM (alloc_page(GFP_KERNEL | __GFP_ZERO)),
    // zeroed, with one reference; none when memory is exhausted or an
    // allocation failure was injected (sim.fail_alloc), unless !may_fail.
    std::optional<std::uint64_t> alloc_page(sc_core::sc_time& d, bool may_fail = true);
    // kmalloc / kzalloc: whether this allocation fails (an injected failure, sim.fail_alloc).
    bool kmalloc_fails();
    void get_page(std::uint64_t gpa);
    // Drops a reference; the page is free when the last goes.
    void put_page(std::uint64_t gpa);
    long page_refs(std::uint64_t gpa) const;
    std::uint64_t pages_in_use() const { return refs_.size(); }
    // Guest-physical space with no RAM behind it, above the domain's special
    // region (Linux's unpopulated-alloc / ballooned pages): where grants are
    // mapped (GNTMAP_host_map) for gntdev and the back ends.
    std::optional<std::uint64_t> alloc_unpopulated(sc_core::sc_time& d);
    void free_unpopulated(std::uint64_t gpa);

    // Loads and stores of the kernel itself (guest-physical): 0 or a positive errno.
    int access(bool write, std::uint64_t gpa, void* data, std::uint64_t len, sc_core::sc_time& d);

    // --- hypercalls on the domain's vCPU, over the CPU's socket ---
    long hypercall(unsigned nr, unsigned cmd, void* arg, std::uint32_t count, sc_core::sc_time& d);
    // Grant references for the drivers (gnttab_alloc_grant_references): the
    // lowest reference past the reserved ones that the kernel has not handed
    // out and whose entry is free (GTF_invalid), growing the table with
    // GNTTABOP_setup_table when it is full (gnttab_expand); -ENOSPC when it
    // cannot grow. Entries themselves are written with guest::gnttab_guest.
    long claim_grant_ref(sc_core::sc_time& d);
    void release_grant_ref(std::uint32_t ref) { grant_refs_used_.erase(ref); }

    // --- processes and files ---
    process& spawn(const std::string& name, rlimits lim, std::set<capability> caps);
    void fget(const file_ref& f) { ++f->refs; }
    void fput(const file_ref& f, sc_core::sc_time& d);
    const std::vector<std::unique_ptr<process>>& processes() const { return procs_; }

    // --- event channels ---
    // An event-channel port of this domain bound to a kernel handler (bind_evtchn_to_irqhandler):
    // the handler runs when an upcall finds the port pending and unmasked.
    using port_handler = std::function<void(std::uint32_t port, const sc_core::sc_time& when)>;
    void bind_port(std::uint32_t port, port_handler h) { handlers_[port] = std::move(h); }
    void unbind_port(std::uint32_t port) { handlers_.erase(port); }
    bool port_bound(std::uint32_t port) const { return handlers_.count(port) > 0; }
    // The upcall handler (xen_evtchn_do_upcall): reads the pending and mask
    // words of the shared-info page, clears each pending bit it handles and
    // calls the port's handler. Ports with no handler stay pending.
    void upcall(const sc_core::sc_time& when);
    // EVTCHNOP_send / close / unmask from the kernel (0 or -errno).
    long evtchn_send(std::uint32_t port, sc_core::sc_time& d);
    long evtchn_close(std::uint32_t port, sc_core::sc_time& d);
    long evtchn_unmask(std::uint32_t port, sc_core::sc_time& d);
    long evtchn_mask(std::uint32_t port, sc_core::sc_time& d);  // sets the mask bit in the shared-info page

    // --- interrupts of the domain's own devices (request_irq in a privileged domain: VFIO) ---
    // A handler runs at the delivery, with `d` the local time offset from
    // sc_time_stamp() at which it runs (it adds what its accesses cost). It
    // may touch memory and configuration space and signal eventfds.
    // MSI: a vector from hypervisor::bind_msi bound to one handler.
    using msi_handler = std::function<void(sc_core::sc_time& d)>;
    void bind_vector(std::uint8_t vector, msi_handler h) { vectors_[vector] = std::move(h); }
    void unbind_vector(std::uint8_t vector) { vectors_.erase(vector); }
    bool vector_bound(std::uint8_t vector) const { return vectors_.count(vector) > 0; }
    // INTx: handlers of a GSI (IRQF_SHARED), each returning whether its device
    // raised the interrupt (IRQ_HANDLED). The kernel EOIs the GSI
    // (PHYSDEVOP_eoi) after running them, unless the line is disabled
    // (disable_irq_nosync), in which case the EOI waits for enable_gsi.
    // The first handler of a GSI unmasks the line: an interrupt raised before
    // (still in flight for the domain) is EOIed then, and comes again while
    // its line is asserted. A GSI whose handlers all answer IRQ_NONE while it
    // keeps coming back is disabled ("nobody cared").
    using gsi_handler = std::function<bool(sc_core::sc_time& d)>;
    void bind_gsi(unsigned gsi, const void* owner, gsi_handler h, sc_core::sc_time& d);
    void unbind_gsi(unsigned gsi, const void* owner);
    void disable_gsi(unsigned gsi);                       // disable_irq_nosync
    void enable_gsi(unsigned gsi, sc_core::sc_time& d);  // enable_irq
    // The hypervisor delivered an interrupt to this domain (hypervisor::irq_handler).
    void irq(const hyp::interrupt_delivery& r);
    std::uint64_t spurious_irqs() const { return spurious_irqs_; }

private:
    hyp::hypervisor& h_;
    cpu::cpu& cpu_;
    hyp::domid_t dom_;
    kernel_timing t_;
    std::map<std::string, driver_config> drivers_;
    std::map<std::string, std::shared_ptr<void>> modules_;
    std::map<std::uint64_t, long> refs_;  // kernel pages in use: gpa -> references
    std::set<std::uint64_t> free_pages_;  // freed pages, reused lowest first
    std::uint64_t next_page_ = 0;         // the pool grows down from the top of RAM to `pool_floor_`
    std::uint64_t pool_floor_ = 0;
    std::set<std::uint64_t> unpop_free_;
    std::uint64_t unpop_next_ = 0;
    std::set<std::uint32_t> grant_refs_used_;
    std::map<std::uint32_t, port_handler> handlers_;
    std::map<std::uint8_t, msi_handler> vectors_;
    struct gsi_line {
        std::vector<std::pair<const void*, gsi_handler>> handlers;  // in order of request_irq
        unsigned disabled = 0;   // disable_irq depth
        bool eoi_owed = false;   // an EOI deferred while disabled
        bool running = false;    // its handlers are running (a nested delivery is an EOI's redelivery)
    };
    std::map<unsigned, gsi_line> gsis_;
    std::uint64_t spurious_irqs_ = 0;
    void eoi_gsi(unsigned gsi, sc_core::sc_time& d);
    std::vector<std::unique_ptr<process>> procs_;
    int next_pid_ = 100;
};

// Every domain's guest kernel, and the processes by name.
class os {
public:
    // Routes the hypervisor's interrupts for the domains' own devices (irq_handler) to their kernels.
    os(hyp::hypervisor& h, cpu::cpu& c);
    ~os();
    os(const os&) = delete;
    os& operator=(const os&) = delete;

    // Made at boot for each domain (and on first use for domains made later).
    kernel& add_kernel(hyp::domid_t dom, std::map<std::string, driver_config> drivers = {});
    kernel* kernel_of(hyp::domid_t dom);
    process* find(const std::string& name);
    process& spawn(hyp::domid_t dom, const std::string& name, rlimits lim, std::set<capability> caps);
    // fork() with the child registered under `child` (ESRCH-free: the caller checks names).
    process* fork(process& parent, const std::string& child, sc_core::sc_time& d);
    // Routes the hypervisor's event-channel upcalls to the kernels.
    void upcall(hyp::domid_t dom, const sc_core::sc_time& when);

private:
    hyp::hypervisor& h_;
    cpu::cpu& cpu_;
    std::map<hyp::domid_t, std::unique_ptr<kernel>> kernels_;
    std::map<std::string, process*> by_name_;
};

} // namespace iotwin::guest
