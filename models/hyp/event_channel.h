// Xen's event channels, 2-level ABI (xen/include/public/event_channel.h,
// xen/common/event_channel.c, xen/common/event_2l.c).
//
// Per domain: a port table that grows in buckets as Xen's does (ports valid
// up to the last allocated bucket), port states as evtchn_status reports
// them, the VIRQ bindings of its vCPU, and the shared-info page: a frame the
// hypervisor allocates at domain creation and shares into the domain at
// shared_info_gfn(). The pending and mask bitmaps and vCPU 0's
// evtchn_upcall_pending / evtchn_upcall_mask / evtchn_pending_sel live there
// at x86's offsets; the hypervisor reads and writes them through the bus
// (read_machine / write_machine), so the guest sees and may change them.
//
// Not modelled: the FIFO ABI (EVTCHNOP_init_control / expand_array /
// set_priority give ENOSYS), PIRQ binding (bind_pirq gives ENOSYS: no
// physdev PIRQ mapping exists), Xen-attached channels, pollers (SCHEDOP_poll),
// more than one vCPU per domain, XSM beyond the dummy policy.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <systemc>

#include "models/common/stats.h"
#include "models/hyp/hypercall.h"

namespace iotwin::hyp {

class hypervisor;
struct domain;

using evtchn_port_t = std::uint32_t;

// EVTCHNOP_* (xen/include/public/event_channel.h).
constexpr unsigned EVTCHNOP_bind_interdomain = 0, EVTCHNOP_bind_virq = 1, EVTCHNOP_bind_pirq = 2, EVTCHNOP_close = 3,
                   EVTCHNOP_send = 4, EVTCHNOP_status = 5, EVTCHNOP_alloc_unbound = 6, EVTCHNOP_bind_ipi = 7,
                   EVTCHNOP_bind_vcpu = 8, EVTCHNOP_unmask = 9, EVTCHNOP_reset = 10, EVTCHNOP_init_control = 11,
                   EVTCHNOP_expand_array = 12, EVTCHNOP_set_priority = 13, EVTCHNOP_reset_cont = 14;

// EVTCHNSTAT_* (evtchn_status.status).
constexpr std::uint32_t EVTCHNSTAT_closed = 0, EVTCHNSTAT_unbound = 1, EVTCHNSTAT_interdomain = 2, EVTCHNSTAT_pirq = 3,
                        EVTCHNSTAT_virq = 4, EVTCHNSTAT_ipi = 5;
const char* evtchnstat_name(std::uint32_t status);

// VIRQ_* (xen/include/public/xen.h); VIRQ_ARCH_0..7 are 16..23 (x86: VIRQ_MCA = VIRQ_ARCH_0).
constexpr std::uint32_t VIRQ_TIMER = 0, VIRQ_DEBUG = 1, VIRQ_CONSOLE = 2, VIRQ_DOM_EXC = 3, VIRQ_TBUF = 4,
                        VIRQ_DEBUGGER = 6, VIRQ_XENOPROF = 7, VIRQ_CON_RING = 8, VIRQ_PCPU_STATE = 9,
                        VIRQ_MEM_EVENT = 10, VIRQ_ARGO = 11, VIRQ_ENOMEM = 12, VIRQ_XENPMU = 13, VIRQ_ARCH_0 = 16,
                        NR_VIRQS = 24;
// Whether a VIRQ is global (bound on vCPU 0 only) rather than per vCPU (event_channel.c, virq_is_global).
bool virq_is_global(std::uint32_t virq);

// The argument structures, field for field.
struct evtchn_alloc_unbound {
    domid_t dom = 0, remote_dom = 0;  // IN
    evtchn_port_t port = 0;           // OUT
};
struct evtchn_bind_interdomain {
    domid_t remote_dom = 0;           // IN
    evtchn_port_t remote_port = 0;    // IN
    evtchn_port_t local_port = 0;     // OUT
};
struct evtchn_bind_virq {
    std::uint32_t virq = 0, vcpu = 0;  // IN
    evtchn_port_t port = 0;            // OUT
};
struct evtchn_bind_ipi {
    std::uint32_t vcpu = 0;  // IN
    evtchn_port_t port = 0;  // OUT
};
struct evtchn_close {
    evtchn_port_t port = 0;
};
struct evtchn_send {
    evtchn_port_t port = 0;
};
struct evtchn_status {
    domid_t dom = 0;                  // IN
    evtchn_port_t port = 0;           // IN
    std::uint32_t status = 0;         // OUT: EVTCHNSTAT_*
    std::uint32_t vcpu = 0;           // OUT: the vCPU the channel notifies
    union {
        struct { domid_t dom; } unbound;
        struct { domid_t dom; evtchn_port_t port; } interdomain;
        std::uint32_t pirq;
        std::uint32_t virq;
    } u{};
};
struct evtchn_bind_vcpu {
    evtchn_port_t port = 0;
    std::uint32_t vcpu = 0;
};
struct evtchn_unmask {
    evtchn_port_t port = 0;
};

// The x86 shared-info page (xen/include/public/xen.h, struct shared_info and
// struct vcpu_info with arch-x86/xen-x86_64.h's arch_vcpu_info: 64 bytes per
// vCPU, XEN_LEGACY_MAX_VCPUS = 32), for a 64-bit guest (xen_ulong_t = 8 bytes).
namespace shared_info_layout {
constexpr std::uint64_t vcpu_info_size = 64;
constexpr std::uint64_t evtchn_upcall_pending = 0;  // uint8_t, in vcpu_info
constexpr std::uint64_t evtchn_upcall_mask = 1;     // uint8_t, in vcpu_info
constexpr std::uint64_t evtchn_pending_sel = 8;     // xen_ulong_t, in vcpu_info
constexpr std::uint64_t evtchn_pending = 32 * vcpu_info_size;  // 2048: xen_ulong_t[64]
constexpr std::uint64_t evtchn_mask = evtchn_pending + 64 * 8;  // 2560: xen_ulong_t[64]
constexpr unsigned bits_per_word = 64;
// The 2-level limit for a 64-bit guest: 64 words of 64 bits.
constexpr unsigned nr_channels = bits_per_word * bits_per_word;
}  // namespace shared_info_layout

struct evtchn_timing {
    sc_core::sc_time op = sc_core::sc_time(60, sc_core::SC_NS);  // per EVTCHNOP_*
    // From vcpu_mark_events_pending to the upcall running on the target vCPU
    // (the kick and the virtual interrupt's injection).
    sc_core::sc_time upcall = sc_core::sc_time(2, sc_core::SC_US);
};

// A port's state (struct evtchn's ECS_*).
enum class ecs { free, reserved, unbound, interdomain, pirq, virq, ipi };

struct evtchn {
    ecs state = ecs::free;
    std::uint32_t notify_vcpu_id = 0;
    domid_t remote_domid = 0;        // unbound: who may bind it
    domid_t remote_dom = 0;          // interdomain
    evtchn_port_t remote_port = 0;   // interdomain
    std::uint32_t virq = 0;          // virq
    std::uint32_t pirq = 0;          // pirq
};

class event_channels {
public:
    // Xen's EVTCHNS_PER_BUCKET: PAGE_SIZE / next_power_of_2(sizeof(struct
    // evtchn)), a 64-byte struct evtchn on x86-64.
    static constexpr unsigned evtchns_per_bucket = 64;

    event_channels(hypervisor& h, const evtchn_timing& t) : h_(h), t_(t) {}

    // 0 or a positive errno (ENOMEM when the shared-info frame or the first
    // bucket cannot be allocated).
    int domain_created(domain& d, sc_core::sc_time& t);
    // evtchn_destroy: every port closed (remote ends become unbound), then
    // VIRQ_DOM_EXC to the hardware domain, as domain_kill does.
    void domain_destroyed(domain& d, sc_core::sc_time& t);
    // HYPERVISOR_event_channel_op: 0 or -errno.
    long event_channel_op(hypercall& hc, sc_core::sc_time& d);
    void stats(stat_map& out, const std::string& prefix) const;

    // A virtual IRQ raised by the hypervisor: a per-vCPU VIRQ on vCPU
    // `vcpu` of `dom` (send_guest_vcpu_virq), a global one to its handler
    // (send_guest_global_virq). Nothing happens when it is not bound.
    void send_virq(domid_t dom, std::uint32_t virq, sc_core::sc_time& d);

    // Inspection (tests, docs): a port's state, or none beyond the valid ports.
    const evtchn* port(domid_t dom, evtchn_port_t p) const;
    // The machine address of a domain's shared-info page (0 when it has none).
    std::uint64_t shared_info(domid_t dom) const;
    // The highest port a domain may allocate (Xen's max_evtchn_port; the
    // 2-level limit by default).
    void set_max_port(domid_t dom, evtchn_port_t max);
    std::uint64_t upcalls() const { return upcalls_; }

private:
    struct domain_state {
        std::vector<evtchn> ports;  // valid_evtchns entries
        evtchn_port_t max_evtchn_port = shared_info_layout::nr_channels - 1;
        std::uint64_t shared_info = 0;  // machine address
        std::array<evtchn_port_t, NR_VIRQS> virq_to_evtchn{};
        bool dying = false;
    };

    domain_state* state(domid_t dom);
    bool port_is_valid(const domain_state& s, evtchn_port_t p) const { return p < s.ports.size(); }
    int allocate_port(domain_state& s, evtchn_port_t port);  // evtchn_allocate_port
    int get_free_port(domain_state& s);                      // a port or -errno
    void free_port(domid_t dom, domain_state& s, evtchn_port_t port, sc_core::sc_time& d);  // evtchn_free

    long alloc_unbound(domid_t caller, evtchn_alloc_unbound& a, sc_core::sc_time& d);
    long bind_interdomain(domid_t caller, evtchn_bind_interdomain& b, sc_core::sc_time& d);
    long bind_virq(domid_t caller, evtchn_bind_virq& b);
    long bind_ipi(domid_t caller, evtchn_bind_ipi& b);
    long close(domid_t dom, evtchn_port_t port, sc_core::sc_time& d);
    long send(domid_t caller, evtchn_port_t port, sc_core::sc_time& d);
    long status(domid_t caller, evtchn_status& s);
    long bind_vcpu(domid_t caller, const evtchn_bind_vcpu& b);
    long unmask(domid_t caller, evtchn_port_t port, sc_core::sc_time& d);

    // The 2-level ABI on the shared-info page (event_2l.c).
    void set_pending(domid_t dom, evtchn_port_t port, sc_core::sc_time& d);
    void clear_pending(domid_t dom, evtchn_port_t port, sc_core::sc_time& d);
    void unmask_2l(domid_t dom, evtchn_port_t port, sc_core::sc_time& d);
    // Atomic bit operations on the page, as guest_test_and_set_bit and
    // friends: the read and the write happen with no simulated wait between.
    bool test_bit(std::uint64_t maddr, unsigned bit, sc_core::sc_time& d);
    bool test_and_set_bit(std::uint64_t maddr, unsigned bit, sc_core::sc_time& d);
    bool test_and_clear_bit(std::uint64_t maddr, unsigned bit, sc_core::sc_time& d);
    // vcpu_mark_events_pending: sets evtchn_upcall_pending; if it was clear
    // and evtchn_upcall_mask is clear, the upcall reaches the vCPU after the
    // upcall latency.
    void mark_events_pending(domid_t dom, sc_core::sc_time& d);

    hypervisor& h_;
    evtchn_timing t_;
    std::map<domid_t, domain_state> doms_;
    std::uint64_t ops_ = 0, sends_ = 0, upcalls_ = 0, masked_upcalls_ = 0, errors_ = 0;
};

} // namespace iotwin::hyp
