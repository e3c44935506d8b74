// sim: simulator control, the passing of simulated time.
#include <cerrno>

#include "platform/interfaces/interfaces.h"
#include "platform/runner.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

namespace {

void op_sim_wait(step_context& c) {
    c.delay += c.time("time");
    c.set_errno(0);
}

void op_sim_wait_idle(step_context& c) {
    const sc_core::sc_time limit = c.has("timeout") ? c.time("timeout") : c.run().description().platform.simulation.settle_limit;
    c.set_errno(c.run().wait_idle(limit) ? 0 : ETIMEDOUT);
}

void op_sim_p2m(step_context& c) {
    const hyp::domain* d = c.hyp().find(c.domain("domain"));
    if (!d) return c.set_errno(ESRCH);
    const auto t = d->translate(c.integer("gfn") * 4096);
    if (!t) return c.set_errno(ENOENT);
    c.result()["mfn"] = t->maddr / 4096;
    c.result()["writable"] = t->writable;
    if (t->foreign) c.result()["granted_by"] = c.hyp().find(t->foreign->granter) ? c.hyp().find(t->foreign->granter)->name : std::to_string(t->foreign->granter);
    c.set_errno(0);
}

void op_sim_fail_alloc(step_context& c) {
    c.hyp().fail_allocations(static_cast<unsigned>(c.integer("count")));
    c.set_errno(0);
}

} // namespace

void register_sim(op_registry& r) {
    using t = arg_type;
    r.add({"sim.wait", actor::none, "lets simulated time pass (background steps and devices go on meanwhile)",
           {{"time", t::time, true, "simulated time to let pass", 0, op_limits::max_wait_ps}}, {}, {}, {}, ""},
          op_sim_wait);
    r.add({"sim.wait_idle", actor::none, "waits until every background step has ended and the devices are idle",
           {{"timeout", t::time, false, "longest wait", 0, op_limits::max_wait_ps, "platform.simulation.settle_limit"}}, {}, {}, {},
           "ETIMEDOUT: the timeout passed first"},
          op_sim_wait_idle);
    r.add({"sim.p2m", actor::none, "inspects a domain's P2M: the machine frame behind a guest frame (for a PV domain, a pseudo-physical frame)",
           {{"domain", t::domain, true, "the domain"}, {"gfn", t::integer, true, "guest frame number", 0, (1ull << 52) - 1}},
           {{"mfn", result_type::integer, "the machine frame"},
            {"writable", result_type::boolean, "whether the domain's vCPU may write it (false for a read-only grant mapping)"},
            {"granted_by", result_type::text, "for a grant mapped there: the granting domain"}},
           {}, {}, "ESRCH: no such domain; ENOENT: nothing is mapped at that frame"},
          op_sim_p2m);
    r.add({"sim.fail_alloc", actor::none, "makes the next allocations of memory fail: the hypervisor's (grant-table, status and maptrack frames, as when Xen's heap is exhausted) and the guest kernels' (kmalloc, pages: ENOMEM)",
           {{"count", t::integer, true, "how many allocations fail", 0, 1u << 20}}, {}, {}, {}, ""},
          op_sim_fail_alloc);
}

} // namespace iotwin::platform::interfaces
