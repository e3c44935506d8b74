// Upcalls reach the vCPU after a latency: a dynamic process waits for it.
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "models/hyp/event_channel.h"

#include <cerrno>
#include <cstring>

#include "models/hyp/hypervisor.h"

namespace iotwin::hyp {

using sc_core::sc_time;
namespace sil = shared_info_layout;

const char* evtchnstat_name(std::uint32_t status) {
    switch (status) {
    case EVTCHNSTAT_closed: return "EVTCHNSTAT_closed";
    case EVTCHNSTAT_unbound: return "EVTCHNSTAT_unbound";
    case EVTCHNSTAT_interdomain: return "EVTCHNSTAT_interdomain";
    case EVTCHNSTAT_pirq: return "EVTCHNSTAT_pirq";
    case EVTCHNSTAT_virq: return "EVTCHNSTAT_virq";
    case EVTCHNSTAT_ipi: return "EVTCHNSTAT_ipi";
    }
    return "";
}

bool virq_is_global(std::uint32_t virq) {
    // event_channel.c, virq_is_global: TIMER, DEBUG, XENOPROF and XENPMU are
    // per vCPU; x86's arch_virq_is_global makes the arch VIRQs global.
    switch (virq) {
    case VIRQ_TIMER:
    case VIRQ_DEBUG:
    case VIRQ_XENOPROF:
    case VIRQ_XENPMU: return false;
    default: return true;
    }
}

namespace {

// Xen's dummy XSM policy for XSM_TARGET (xsm/dummy.h, xsm_default_action):
// a domain acts on itself, the control domain on any.
bool xsm_target(const hypervisor& h, domid_t src, domid_t target) {
    if (src == target) return true;
    for (const domain& d : h.domains())
        if (d.id == src) return d.privileged;
    return false;
}

} // namespace

event_channels::domain_state* event_channels::state(domid_t dom) {
    auto it = doms_.find(dom);
    return it == doms_.end() ? nullptr : &it->second;
}

const evtchn* event_channels::port(domid_t dom, evtchn_port_t p) const {
    auto it = doms_.find(dom);
    if (it == doms_.end() || p >= it->second.ports.size()) return nullptr;
    return &it->second.ports[p];
}

std::uint64_t event_channels::shared_info(domid_t dom) const {
    auto it = doms_.find(dom);
    return it == doms_.end() ? 0 : it->second.shared_info;
}

void event_channels::set_max_port(domid_t dom, evtchn_port_t max) {
    if (domain_state* s = state(dom)) s->max_evtchn_port = max;
}

int event_channels::domain_created(domain& d, sc_time& t) {
    // The shared-info page (arch_domain_create's alloc_xenheap_page, cleared).
    const auto frame = h_.alloc_frame(d.id);
    if (!frame) return ENOMEM;
    static const std::uint8_t zero[4096] = {};
    h_.write_machine(*frame, zero, sizeof zero, t);
    d.shared[d.shared_info_gfn()] = *frame;
    domain_state& s = doms_[d.id];
    s.shared_info = *frame;
    // evtchn_init: the first bucket, with port 0 reserved.
    s.ports.assign(evtchns_per_bucket, evtchn{});
    s.ports[0].state = ecs::reserved;
    return 0;
}

void event_channels::domain_destroyed(domain& d, sc_time& t) {
    domain_state* s = state(d.id);
    if (!s) return;
    s->dying = true;
    // evtchn_destroy: every port closed, from the last valid one down to 1.
    for (evtchn_port_t i = static_cast<evtchn_port_t>(s->ports.size()); --i;) close(d.id, i, t);
    // domain_kill sends VIRQ_DOM_EXC once the domain is dead
    // (xen/common/domain.c); its handler is the hardware domain.
    for (const domain& x : h_.domains())
        if (x.privileged && !x.dying) {
            send_virq(x.id, VIRQ_DOM_EXC, t);
            break;
        }
}

// ---- ports ---------------------------------------------------------------------------------------

int event_channels::allocate_port(domain_state& s, evtchn_port_t port) {
    // evtchn_allocate_port.
    if (port > s.max_evtchn_port || port >= sil::nr_channels) return -ENOSPC;
    if (port_is_valid(s, port)) return s.ports[port].state != ecs::free ? -EBUSY : 0;
    // A new bucket (xzalloc_array): ENOMEM when the hypervisor's heap fails.
    while (port >= s.ports.size()) {
        if (h_.allocation_fails()) return -ENOMEM;
        s.ports.resize(s.ports.size() + evtchns_per_bucket);
    }
    return 0;
}

int event_channels::get_free_port(domain_state& s) {
    // get_free_port: EINVAL once the domain is dying; the first port that
    // allocates, skipping busy ones.
    if (s.dying) return -EINVAL;
    for (evtchn_port_t port = 0; port <= s.max_evtchn_port; ++port) {
        const int rc = allocate_port(s, port);
        if (rc == 0) return static_cast<int>(port);
        if (rc != -EBUSY) return rc;
    }
    return -ENOSPC;
}

void event_channels::free_port(domid_t dom, domain_state& s, evtchn_port_t port, sc_time& d) {
    // evtchn_free: the pending bit is cleared so that a re-bind starts clean;
    // the channel goes back to vCPU 0.
    clear_pending(dom, port, d);
    s.ports[port] = evtchn{};
}

// ---- operations ----------------------------------------------------------------------------------

long event_channels::alloc_unbound(domid_t caller, evtchn_alloc_unbound& a, sc_time& d) {
    const domid_t dom = a.dom == DOMID_SELF ? caller : a.dom;
    domain_state* s = state(dom);
    if (!s) return -ESRCH;
    const int port = get_free_port(*s);
    if (port < 0) return port;
    // The XSM check comes after the port is found (the port stays free).
    if (!xsm_target(h_, caller, dom)) return -EPERM;
    evtchn& chn = s->ports[static_cast<evtchn_port_t>(port)];
    chn.state = ecs::unbound;
    chn.remote_domid = a.remote_dom == DOMID_SELF ? caller : a.remote_dom;  // not checked: any domid may be named
    a.port = static_cast<evtchn_port_t>(port);
    (void)d;
    return 0;
}

long event_channels::bind_interdomain(domid_t caller, evtchn_bind_interdomain& b, sc_time& d) {
    const domid_t rdom = b.remote_dom == DOMID_SELF ? caller : b.remote_dom;
    domain_state* rs = state(rdom);
    if (!rs) return -ESRCH;
    domain_state* ls = state(caller);
    if (!ls) return -ESRCH;
    const int lport = get_free_port(*ls);
    if (lport < 0) return lport;
    if (!port_is_valid(*rs, b.remote_port)) return -EINVAL;
    evtchn& rchn = rs->ports[b.remote_port];
    if (rchn.state != ecs::unbound || rchn.remote_domid != caller) return -EINVAL;
    evtchn& lchn = ls->ports[static_cast<evtchn_port_t>(lport)];
    lchn.state = ecs::interdomain;
    lchn.remote_dom = rdom;
    lchn.remote_port = b.remote_port;
    rchn.state = ecs::interdomain;
    rchn.remote_dom = caller;
    rchn.remote_port = static_cast<evtchn_port_t>(lport);
    // Notifications sent to the unbound remote port were dropped: Xen
    // conservatively raises the new local port.
    set_pending(caller, static_cast<evtchn_port_t>(lport), d);
    b.local_port = static_cast<evtchn_port_t>(lport);
    return 0;
}

long event_channels::bind_virq(domid_t caller, evtchn_bind_virq& b) {
    // The guest's values are ints in Xen: a virq of 2^31 or more is negative.
    if (b.virq >= NR_VIRQS) return -EINVAL;
    if (virq_is_global(b.virq) && b.vcpu != 0) return -EINVAL;
    // domain_vcpu: one vCPU per domain.
    if (b.vcpu != 0) return -ENOENT;
    domain_state* s = state(caller);
    if (!s) return -ESRCH;
    if (s->virq_to_evtchn[b.virq]) return -EEXIST;
    const int port = get_free_port(*s);
    if (port < 0) return port;
    evtchn& chn = s->ports[static_cast<evtchn_port_t>(port)];
    chn.state = ecs::virq;
    chn.notify_vcpu_id = b.vcpu;
    chn.virq = b.virq;
    b.port = static_cast<evtchn_port_t>(port);
    s->virq_to_evtchn[b.virq] = b.port;
    return 0;
}

long event_channels::bind_ipi(domid_t caller, evtchn_bind_ipi& b) {
    if (b.vcpu != 0) return -ENOENT;
    domain_state* s = state(caller);
    if (!s) return -ESRCH;
    const int port = get_free_port(*s);
    if (port < 0) return port;
    evtchn& chn = s->ports[static_cast<evtchn_port_t>(port)];
    chn.state = ecs::ipi;
    chn.notify_vcpu_id = b.vcpu;
    b.port = static_cast<evtchn_port_t>(port);
    return 0;
}

long event_channels::close(domid_t dom, evtchn_port_t port, sc_time& d) {
    domain_state* s = state(dom);
    if (!s || !port_is_valid(*s, port)) return -EINVAL;
    evtchn& chn = s->ports[port];
    switch (chn.state) {
    case ecs::free:
    case ecs::reserved: return -EINVAL;
    case ecs::unbound:
    case ecs::ipi:
    case ecs::pirq: break;
    case ecs::virq:
        if (s->virq_to_evtchn[chn.virq] == port) s->virq_to_evtchn[chn.virq] = 0;
        break;
    case ecs::interdomain: {
        // The remote end goes back to unbound, bindable again by this domain.
        const domid_t rdom = chn.remote_dom;
        const evtchn_port_t rport = chn.remote_port;
        free_port(dom, *s, port, d);
        domain_state* rs = state(rdom);
        if (rs && port_is_valid(*rs, rport) && rs->ports[rport].state == ecs::interdomain) {
            evtchn& rchn = rs->ports[rport];
            rchn.state = ecs::unbound;
            rchn.remote_domid = dom;
            rchn.remote_dom = 0;
            rchn.remote_port = 0;
        }
        return 0;
    }
    }
    free_port(dom, *s, port, d);
    return 0;
}

long event_channels::send(domid_t caller, evtchn_port_t port, sc_time& d) {
    domain_state* s = state(caller);
    if (!s || !port_is_valid(*s, port)) return -EINVAL;
    const evtchn& chn = s->ports[port];
    switch (chn.state) {
    case ecs::interdomain:
        ++sends_;
        set_pending(chn.remote_dom, chn.remote_port, d);
        return 0;
    case ecs::ipi:
        ++sends_;
        set_pending(caller, port, d);
        return 0;
    case ecs::unbound: return 0;  // silently dropped
    default: return -EINVAL;
    }
}

long event_channels::status(domid_t caller, evtchn_status& st) {
    const domid_t dom = st.dom == DOMID_SELF ? caller : st.dom;
    domain_state* s = state(dom);
    if (!s) return -ESRCH;
    if (!port_is_valid(*s, st.port)) return -EINVAL;
    if (!xsm_target(h_, caller, dom)) return -EPERM;
    const evtchn& chn = s->ports[st.port];
    switch (chn.state) {
    case ecs::free:
    case ecs::reserved: st.status = EVTCHNSTAT_closed; break;
    case ecs::unbound:
        st.status = EVTCHNSTAT_unbound;
        st.u.unbound.dom = chn.remote_domid;
        break;
    case ecs::interdomain:
        st.status = EVTCHNSTAT_interdomain;
        st.u.interdomain.dom = chn.remote_dom;
        st.u.interdomain.port = chn.remote_port;
        break;
    case ecs::pirq:
        st.status = EVTCHNSTAT_pirq;
        st.u.pirq = chn.pirq;
        break;
    case ecs::virq:
        st.status = EVTCHNSTAT_virq;
        st.u.virq = chn.virq;
        break;
    case ecs::ipi: st.status = EVTCHNSTAT_ipi; break;
    }
    st.vcpu = chn.notify_vcpu_id;
    return 0;
}

long event_channels::bind_vcpu(domid_t caller, const evtchn_bind_vcpu& b) {
    if (b.vcpu != 0) return -ENOENT;
    domain_state* s = state(caller);
    if (!s || !port_is_valid(*s, b.port)) return -EINVAL;
    evtchn& chn = s->ports[b.port];
    switch (chn.state) {
    case ecs::virq:
        if (!virq_is_global(chn.virq)) return -EINVAL;
        chn.notify_vcpu_id = b.vcpu;
        return 0;
    case ecs::unbound:
    case ecs::interdomain:
    case ecs::pirq: chn.notify_vcpu_id = b.vcpu; return 0;
    default: return -EINVAL;
    }
}

long event_channels::unmask(domid_t caller, evtchn_port_t port, sc_time& d) {
    domain_state* s = state(caller);
    if (!s || !port_is_valid(*s, port)) return -EINVAL;
    // evtchn_port_unmask acts on usable channels only (state beyond reserved).
    const ecs st = s->ports[port].state;
    if (st != ecs::free && st != ecs::reserved) unmask_2l(caller, port, d);
    return 0;
}

void event_channels::send_virq(domid_t dom, std::uint32_t virq, sc_time& d) {
    domain_state* s = state(dom);
    if (!s || virq >= NR_VIRQS) return;
    const evtchn_port_t port = s->virq_to_evtchn[virq];
    if (!port || !port_is_valid(*s, port)) return;
    set_pending(dom, port, d);
}

// ---- the 2-level ABI ------------------------------------------------------------------------------

bool event_channels::test_bit(std::uint64_t maddr, unsigned bit, sc_time& d) {
    std::uint8_t w[8] = {};
    h_.read_machine(maddr + (bit / 64) * 8, w, 8, d);
    std::uint64_t v = 0;
    std::memcpy(&v, w, 8);
    return (v >> (bit % 64)) & 1;
}

bool event_channels::test_and_set_bit(std::uint64_t maddr, unsigned bit, sc_time& d) {
    const std::uint64_t at = maddr + (bit / 64) * 8;
    std::uint64_t v = 0;
    h_.read_machine(at, &v, 8, d);
    const std::uint64_t m = std::uint64_t(1) << (bit % 64);
    if (v & m) return true;
    v |= m;
    h_.write_machine(at, &v, 8, d);
    return false;
}

bool event_channels::test_and_clear_bit(std::uint64_t maddr, unsigned bit, sc_time& d) {
    const std::uint64_t at = maddr + (bit / 64) * 8;
    std::uint64_t v = 0;
    h_.read_machine(at, &v, 8, d);
    const std::uint64_t m = std::uint64_t(1) << (bit % 64);
    if (!(v & m)) return false;
    v &= ~m;
    h_.write_machine(at, &v, 8, d);
    return true;
}

void event_channels::set_pending(domid_t dom, evtchn_port_t port, sc_time& d) {
    // evtchn_2l_set_pending, in its order: pending, then (unless masked)
    // the selector bit, then the upcall.
    domain_state* s = state(dom);
    if (!s || !s->shared_info || port >= sil::nr_channels) return;
    const std::uint64_t si = s->shared_info;
    if (test_and_set_bit(si + sil::evtchn_pending, port, d)) return;
    if (!test_bit(si + sil::evtchn_mask, port, d) &&
        !test_and_set_bit(si + sil::evtchn_pending_sel, port / sil::bits_per_word, d))
        mark_events_pending(dom, d);
}

void event_channels::clear_pending(domid_t dom, evtchn_port_t port, sc_time& d) {
    domain_state* s = state(dom);
    if (!s || !s->shared_info || port >= sil::nr_channels) return;
    test_and_clear_bit(s->shared_info + sil::evtchn_pending, port, d);
}

void event_channels::unmask_2l(domid_t dom, evtchn_port_t port, sc_time& d) {
    // evtchn_2l_unmask: a port that was masked while pending raises the
    // upcall it held back.
    domain_state* s = state(dom);
    if (!s || !s->shared_info || port >= sil::nr_channels) return;
    const std::uint64_t si = s->shared_info;
    if (test_and_clear_bit(si + sil::evtchn_mask, port, d) && test_bit(si + sil::evtchn_pending, port, d) &&
        !test_and_set_bit(si + sil::evtchn_pending_sel, port / sil::bits_per_word, d))
        mark_events_pending(dom, d);
}

void event_channels::mark_events_pending(domid_t dom, sc_time& d) {
    domain_state* s = state(dom);
    const std::uint64_t si = s->shared_info;
    // vcpu_mark_events_pending: nothing more while one is already pending.
    if (test_and_set_bit(si + sil::evtchn_upcall_pending, 0, d)) return;
    std::uint8_t mask = 0;
    h_.read_machine(si + sil::evtchn_upcall_mask, &mask, 1, d);
    if (mask) {
        // The guest has events disabled; it looks at evtchn_upcall_pending
        // itself when it enables them again.
        ++masked_upcalls_;
        return;
    }
    ++upcalls_;
    const sc_time arrival = sc_core::sc_time_stamp() + d + t_.upcall;
    if (!sc_core::sc_is_running()) {
        h_.deliver_upcall(dom, 0, arrival);
        return;
    }
    sc_core::sc_spawn_options opts;
    sc_core::sc_spawn(
        [this, dom, arrival] {
            sc_core::wait(arrival - sc_core::sc_time_stamp());
            const domain* x = h_.find(dom);
            if (x && !x->dying) h_.deliver_upcall(dom, 0, sc_core::sc_time_stamp());
        },
        sc_core::sc_gen_unique_name("evtchn_upcall"), &opts);
}

// ---- the hypercall -------------------------------------------------------------------------------

namespace {

// copy_from_guest of one structure: EFAULT for a NULL or unreadable handle.
template <class S> S* guest_arg(hypercall& hc) { return hc.arg && hc.readable >= 1 ? static_cast<S*>(hc.arg) : nullptr; }

} // namespace

long event_channels::event_channel_op(hypercall& hc, sc_time& d) {
    ++ops_;
    d += t_.op;
    const domid_t me = hc.caller;
    long rc = -ENOSYS;
    switch (hc.cmd) {
    case EVTCHNOP_alloc_unbound:
        if (auto* a = guest_arg<evtchn_alloc_unbound>(hc)) rc = alloc_unbound(me, *a, d);
        else rc = -EFAULT;
        break;
    case EVTCHNOP_bind_interdomain:
        if (auto* a = guest_arg<evtchn_bind_interdomain>(hc)) rc = bind_interdomain(me, *a, d);
        else rc = -EFAULT;
        break;
    case EVTCHNOP_bind_virq:
        if (auto* a = guest_arg<evtchn_bind_virq>(hc)) rc = bind_virq(me, *a);
        else rc = -EFAULT;
        break;
    case EVTCHNOP_bind_ipi:
        if (auto* a = guest_arg<evtchn_bind_ipi>(hc)) rc = bind_ipi(me, *a);
        else rc = -EFAULT;
        break;
    case EVTCHNOP_close:
        if (auto* a = guest_arg<evtchn_close>(hc)) rc = close(me, a->port, d);
        else rc = -EFAULT;
        break;
    case EVTCHNOP_send:
        if (auto* a = guest_arg<evtchn_send>(hc)) rc = send(me, a->port, d);
        else rc = -EFAULT;
        break;
    case EVTCHNOP_status:
        if (auto* a = guest_arg<evtchn_status>(hc)) rc = status(me, *a);
        else rc = -EFAULT;
        break;
    case EVTCHNOP_bind_vcpu:
        if (auto* a = guest_arg<evtchn_bind_vcpu>(hc)) rc = bind_vcpu(me, *a);
        else rc = -EFAULT;
        break;
    case EVTCHNOP_unmask:
        if (auto* a = guest_arg<evtchn_unmask>(hc)) rc = unmask(me, a->port, d);
        else rc = -EFAULT;
        break;
    default: rc = -ENOSYS; break;  // includes the FIFO ABI and PIRQs, not modelled
    }
    if (rc < 0) ++errors_;
    return rc;
}

void event_channels::stats(stat_map& out, const std::string& prefix) const {
    out[prefix + ".evtchn.ops"] = ops_;
    out[prefix + ".evtchn.sends"] = sends_;
    out[prefix + ".evtchn.upcalls"] = upcalls_;
    out[prefix + ".evtchn.masked_upcalls"] = masked_upcalls_;
    out[prefix + ".evtchn.errors"] = errors_;
}

} // namespace iotwin::hyp
