// evtchn: HYPERVISOR_event_channel_op as a domain's kernel issues it
// (contract: ../shared/spec/interfaces.md, "evtchn"). Each step fills the
// EVTCHNOP_* structure of xen/include/public/event_channel.h, issues the
// hypercall on the actor's vCPU over the CPU's socket, and reports `rc` /
// `errno` and the structure's OUT fields. Domain fields take names, domids
// or DOMID_SELF.
#include <cerrno>
#include <string>

#include "models/hyp/event_channel.h"
#include "platform/interfaces/hypercall.h"
#include "platform/interfaces/interfaces.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

namespace {

using t = arg_type;
namespace h = hyp;

// The step's fields as one batch_op (for its readers' messages and DOMID_SELF).
batch_op fields(step_context& c) { return batch_op{c.args(), "args"}; }

std::uint32_t u32(step_context& c, const char* f, std::optional<std::uint64_t> def = std::nullopt) {
    return static_cast<std::uint32_t>(fields(c).integer(f, 0xffffffffu, def));
}

h::domid_t dom(step_context& c, const char* f, std::optional<h::domid_t> def = std::nullopt) {
    return fields(c).domain(c, f, def);
}

long run(step_context& c, unsigned cmd, void* s) { return issue(c, h::HYPERVISOR_event_channel_op, cmd, s, 1, 1); }

void put_domain(step_context& c, const char* key, h::domid_t id) {
    c.result()[key] = id;
    const h::domain* d = c.hyp().find(id);
    if (d) c.result()[std::string(key) == "remote_dom" ? "remote_domain" : "domain"] = d->name;
}

void op_alloc_unbound(step_context& c) {
    h::evtchn_alloc_unbound a;
    a.dom = dom(c, "dom", h::DOMID_SELF);
    a.remote_dom = dom(c, "remote_dom");
    if (run(c, h::EVTCHNOP_alloc_unbound, &a) == 0) c.result()["port"] = a.port;
}

void op_bind_interdomain(step_context& c) {
    h::evtchn_bind_interdomain b;
    b.remote_dom = dom(c, "remote_dom");
    b.remote_port = u32(c, "remote_port");
    if (run(c, h::EVTCHNOP_bind_interdomain, &b) == 0) c.result()["local_port"] = b.local_port;
}

void op_bind_virq(step_context& c) {
    h::evtchn_bind_virq b;
    b.virq = u32(c, "virq");
    b.vcpu = u32(c, "vcpu", 0);
    if (run(c, h::EVTCHNOP_bind_virq, &b) == 0) c.result()["port"] = b.port;
}

void op_bind_ipi(step_context& c) {
    h::evtchn_bind_ipi b;
    b.vcpu = u32(c, "vcpu", 0);
    if (run(c, h::EVTCHNOP_bind_ipi, &b) == 0) c.result()["port"] = b.port;
}

void op_bind_vcpu(step_context& c) {
    h::evtchn_bind_vcpu b;
    b.port = u32(c, "port");
    b.vcpu = u32(c, "vcpu");
    run(c, h::EVTCHNOP_bind_vcpu, &b);
}

// The operations whose structure is a port alone (evtchn_send, _close, _unmask).
template <class S, unsigned cmd> void op_on_port(step_context& c) {
    S s;
    s.port = u32(c, "port");
    run(c, cmd, &s);
}

void op_status(step_context& c) {
    h::evtchn_status s;
    s.dom = dom(c, "dom", h::DOMID_SELF);
    s.port = u32(c, "port");
    if (run(c, h::EVTCHNOP_status, &s) != 0) return;
    c.result()["status"] = h::evtchnstat_name(s.status);
    c.result()["vcpu"] = s.vcpu;
    switch (s.status) {
    case h::EVTCHNSTAT_unbound:
        // u.unbound.dom: the domain allowed to bind it.
        c.result()["dom"] = s.u.unbound.dom;
        put_domain(c, "remote_dom", s.u.unbound.dom);
        break;
    case h::EVTCHNSTAT_interdomain:
        c.result()["dom"] = s.u.interdomain.dom;
        c.result()["port"] = s.u.interdomain.port;
        put_domain(c, "remote_dom", s.u.interdomain.dom);
        c.result()["remote_port"] = s.u.interdomain.port;
        break;
    case h::EVTCHNSTAT_pirq: c.result()["pirq"] = s.u.pirq; break;
    case h::EVTCHNSTAT_virq: c.result()["virq"] = s.u.virq; break;
    default: break;
    }
}

void op_event_channel_op(step_context& c) {
    // Any cmd, its structure zeroed: what the named forms cannot express.
    h::evtchn_alloc_unbound alloc;
    h::evtchn_bind_interdomain interdomain;
    h::evtchn_bind_virq virq;
    h::evtchn_bind_ipi ipi;
    h::evtchn_status status;
    h::evtchn_bind_vcpu vcpu;
    h::evtchn_close close;
    h::evtchn_send send;
    h::evtchn_unmask unmask;
    std::uint64_t other[8] = {};
    const unsigned cmd = static_cast<unsigned>(fields(c).integer("cmd", 0xffffffffu));
    void* arg = other;
    switch (cmd) {
    case h::EVTCHNOP_alloc_unbound: arg = &alloc; break;
    case h::EVTCHNOP_bind_interdomain: arg = &interdomain; break;
    case h::EVTCHNOP_bind_virq: arg = &virq; break;
    case h::EVTCHNOP_bind_ipi: arg = &ipi; break;
    case h::EVTCHNOP_status: arg = &status; break;
    case h::EVTCHNOP_bind_vcpu: arg = &vcpu; break;
    case h::EVTCHNOP_close: arg = &close; break;
    case h::EVTCHNOP_send: arg = &send; break;
    case h::EVTCHNOP_unmask: arg = &unmask; break;
    default: break;
    }
    issue(c, h::HYPERVISOR_event_channel_op, cmd, c.boolean("null_arg", false) ? nullptr : arg, 1, 1);
}

const char* errnos_common = "EFAULT: a NULL argument";

} // namespace

void register_evtchn(op_registry& r) {
    const arg_spec port{"port", t::integer, true, "event-channel port", 0, 0xffffffffu};
    const arg_spec dom_self{"dom", t::domain, false, "the domain (a name, a domid, or DOMID_SELF)", 0, 0xffff, "DOMID_SELF"};
    const arg_spec vcpu{"vcpu", t::integer, false, "the vCPU to notify (each domain has vCPU 0 only)", 0, 0xffffffffu, "0"};
    const result_spec rc{"rc", result_type::text, "the hypercall's return value: 0 or a negative errno name"};

    r.add({"evtchn.alloc_unbound", actor::domain,
           "EVTCHNOP_alloc_unbound: a new port of `dom` that `remote_dom` may bind (evtchn_alloc_unbound)",
           {dom_self, {"remote_dom", t::domain, true, "the domain allowed to bind it (a name, a domid, or DOMID_SELF)", 0, 0xffff}},
           {rc, {"port", result_type::integer, "the new port"}},
           {}, {},
           "ESRCH: no domain `dom`; EPERM: `dom` is another domain and the caller is not privileged; ENOSPC: no free port "
           "below the limit; EINVAL: `dom` is dying; ENOMEM: a new bucket of ports could not be allocated"},
          op_alloc_unbound);
    r.add({"evtchn.bind_interdomain", actor::domain,
           "EVTCHNOP_bind_interdomain: binds a new local port to `remote_port` of `remote_dom`, which must be unbound for the caller; the new port is raised",
           {{"remote_dom", t::domain, true, "the remote domain (a name, a domid, or DOMID_SELF)", 0, 0xffff},
            {"remote_port", t::integer, true, "the remote domain's unbound port", 0, 0xffffffffu}},
           {rc, {"local_port", result_type::integer, "the new local port"}},
           {}, {},
           "ESRCH: no such remote domain; EINVAL: the remote port is invalid, not unbound, or unbound for another domain; ENOSPC: no free local port"},
          op_bind_interdomain);
    r.add({"evtchn.bind_virq", actor::domain, "EVTCHNOP_bind_virq: a port for a virtual IRQ on a vCPU",
           {{"virq", t::integer, true, "VIRQ_* number: VIRQ_TIMER 0, VIRQ_DEBUG 1, VIRQ_CONSOLE 2, VIRQ_DOM_EXC 3, VIRQ_TBUF 4, VIRQ_DEBUGGER 6, VIRQ_XENOPROF 7, VIRQ_CON_RING 8, VIRQ_PCPU_STATE 9, VIRQ_MEM_EVENT 10, VIRQ_ARGO 11, VIRQ_ENOMEM 12, VIRQ_XENPMU 13, VIRQ_ARCH_0..7 16..23", 0, 0xffffffffu}, vcpu},
           {rc, {"port", result_type::integer, "the new port"}},
           {}, {},
           "EINVAL: virq beyond NR_VIRQS (24), or a global VIRQ on a vCPU other than 0; ENOENT: no such vCPU; EEXIST: the VIRQ is already bound on that vCPU; ENOSPC: no free port"},
          op_bind_virq);
    r.add({"evtchn.bind_ipi", actor::domain, "EVTCHNOP_bind_ipi: a port for interprocessor events to a vCPU", {vcpu},
           {rc, {"port", result_type::integer, "the new port"}}, {}, {}, "ENOENT: no such vCPU; ENOSPC: no free port"},
          op_bind_ipi);
    r.add({"evtchn.bind_vcpu", actor::domain, "EVTCHNOP_bind_vcpu: the vCPU a port notifies",
           {port, {"vcpu", t::integer, true, "the vCPU", 0, 0xffffffffu}}, {rc}, {}, {},
           "ENOENT: no such vCPU; EINVAL: invalid port, or a per-vCPU VIRQ, an IPI or a closed port"},
          op_bind_vcpu);
    r.add({"evtchn.send", actor::domain,
           "EVTCHNOP_send: raises the remote end of an interdomain port (or the caller's own IPI port); the upcall shows in `delivered`",
           {port}, {rc}, {}, {},
           "EINVAL: invalid port, or a port that is closed or bound to a VIRQ (a send on an unbound port is dropped, rc 0)"},
          (op_on_port<h::evtchn_send, h::EVTCHNOP_send>));
    r.add({"evtchn.close", actor::domain, "EVTCHNOP_close: frees a port; the remote end of an interdomain port becomes unbound",
           {port}, {rc}, {}, {}, "EINVAL: invalid port, or a port already closed (or port 0, reserved)"},
          (op_on_port<h::evtchn_close, h::EVTCHNOP_close>));
    r.add({"evtchn.status", actor::domain, "EVTCHNOP_status: a port's state (evtchn_status)",
           {dom_self, port},
           {rc,
            {"vcpu", result_type::integer, "the vCPU the port notifies"},
            {"dom", result_type::integer, "unbound: the domain that may bind it; interdomain: the remote domain (domids)"},
            {"remote_dom", result_type::integer, "the same domid as `dom`"},
            {"remote_domain", result_type::text, "the name of that domain, when it exists"},
            {"port", result_type::integer, "interdomain: the remote port"},
            {"remote_port", result_type::integer, "the same as `port`"},
            {"virq", result_type::integer, "virq: the VIRQ"},
            {"pirq", result_type::integer, "pirq: the PIRQ"}},
           {}, {},
           "status: EVTCHNSTAT_closed, _unbound, _interdomain, _pirq, _virq or _ipi. ESRCH: no such domain; EINVAL: port beyond the "
           "domain's valid ports; EPERM: another domain's port and the caller is not privileged"},
          op_status);
    r.add({"evtchn.unmask", actor::domain,
           "EVTCHNOP_unmask: clears a port's mask bit; a port that became pending while masked raises its upcall now",
           {port}, {rc}, {}, {}, "EINVAL: port beyond the domain's valid ports"},
          (op_on_port<h::evtchn_unmask, h::EVTCHNOP_unmask>));
    r.add({"evtchn.event_channel_op", actor::domain,
           "HYPERVISOR_event_channel_op with any `cmd` and a zeroed argument (or a NULL one with `null_arg: true`), for what the named forms cannot express",
           {{"cmd", t::integer, true, "EVTCHNOP_* number", 0, 0xffffffffu},
            {"null_arg", t::boolean, false, "true: pass a NULL argument", 0, 1, "false"}},
           {rc}, {}, {}, std::string("ENOSYS: an unknown or unmodelled cmd (FIFO ABI, bind_pirq, reset); ") + errnos_common},
          op_event_channel_op);
}

} // namespace iotwin::platform::interfaces
