// gnttab: mapping and copying grants (GNTTABOP_map_grant_ref,
// unmap_grant_ref, unmap_and_replace, copy), batched as the hypercall is.
#include "platform/interfaces/gnttab_structs.h"
#include "platform/interfaces/interfaces.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

namespace {
namespace gs = gnttab_structs;
namespace g = hyp::gnttab;

const char* batch_errnos =
    "rc: 0 (per-operation results in status), -EFAULT (the batch is not readable), -EINVAL (a bad count)";

std::vector<result_spec> status_results() {
    return {{"ops", result_type::structure, "per-operation results, for `ops: [...]`"},
            {"rc", result_type::text, "the hypercall's return value"}};
}
} // namespace

void register_gnttab_map(op_registry& r) {
    std::vector<result_spec> map_results = status_results();
    map_results.insert(map_results.begin(), {{"handle", result_type::integer, "the maptrack handle (for unmap)"},
                                                 {"dev_bus_addr", result_type::integer, "the frame's machine address: where the caller's devices reach it"}});
    r.add({"gnttab.map_grant_ref", actor::domain,
           "GNTTABOP_map_grant_ref: maps granted frames at host_addr (GNTMAP_host_map) and for the caller's devices (GNTMAP_device_map, PV only)",
           gs::batch_args<g::map_grant_ref>("struct gnttab_map_grant_ref"), map_results, {}, {}, batch_errnos},
          [](step_context& c) { gs::run_batch<g::map_grant_ref>(c, g::GNTTABOP_map_grant_ref); });
    r.add({"gnttab.unmap_grant_ref", actor::domain,
           "GNTTABOP_unmap_grant_ref: removes the host part (host_addr), the device part (dev_bus_addr) or both of a mapping",
           gs::batch_args<g::unmap_grant_ref>("struct gnttab_unmap_grant_ref"), status_results(), {}, {}, batch_errnos},
          [](step_context& c) { gs::run_batch<g::unmap_grant_ref>(c, g::GNTTABOP_unmap_grant_ref); });
    r.add({"gnttab.unmap_and_replace", actor::domain,
           "GNTTABOP_unmap_and_replace: removes a host mapping, putting the one at new_addr in its place (PV; HVM refuses new_addr)",
           gs::batch_args<g::unmap_and_replace>("struct gnttab_unmap_and_replace"), status_results(), {}, {}, batch_errnos},
          [](step_context& c) { gs::run_batch<g::unmap_and_replace>(c, g::GNTTABOP_unmap_and_replace); });
    r.add({"gnttab.copy", actor::domain,
           "GNTTABOP_copy: the hypervisor copies len bytes between frames named by grant reference or (own) frame number",
           gs::batch_args<g::copy>("struct gnttab_copy"), status_results(), {}, {}, batch_errnos},
          [](step_context& c) { gs::run_batch<g::copy>(c, g::GNTTABOP_copy); });
}

} // namespace iotwin::platform::interfaces
