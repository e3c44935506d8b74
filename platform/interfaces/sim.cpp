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
}

} // namespace iotwin::platform::interfaces
