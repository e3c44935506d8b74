// domctl: the toolstack's domain control, as a privileged domain issues it
// over the hypercall socket (HYPERVISOR_domctl).
#include "models/hyp/hypercall.h"
#include "platform/interfaces/hypercall.h"
#include "platform/interfaces/interfaces.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

namespace {

void op_destroydomain(step_context& c) {
    hyp::domctl_destroydomain a;
    a.domain = c.domain("domain");
    issue(c, hyp::HYPERVISOR_domctl, hyp::XEN_DOMCTL_destroydomain, &a, 1, 1);
}

} // namespace

void register_domctl(op_registry& r) {
    r.add({"domctl.destroydomain", actor::domain,
           "XEN_DOMCTL_destroydomain: tears a domain down in Xen's order (event channels, devices, its grant mappings, its memory)",
           {{"domain", arg_type::domain, true, "the domain to destroy"}},
           {{"rc", result_type::text, "the hypercall's return value"}}, {}, {},
           "-EPERM: the caller is not privileged; -ESRCH: no such domain; -EINVAL: the caller itself"},
          op_destroydomain);
}

} // namespace iotwin::platform::interfaces
