// A hypercall as it travels from a vCPU to the hypervisor over TLM: the
// generic payload's data is one `hypercall` (address = the hypercall's entry
// in Xen's hypercall page, number * 32). The argument structures live in the
// caller's memory; the twin passes them as host objects and charges their
// copy to and from the guest (docs/timing.md).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace iotwin::hyp {

using domid_t = std::uint16_t;

// Xen's reserved domain IDs by name (xen/include/public/xen.h), as steps may write them.
inline const std::pair<const char*, domid_t> reserved_domids[] = {
    {"DOMID_SELF", 0x7ff0}, {"DOMID_IO", 0x7ff1}, {"DOMID_XEN", 0x7ff2}, {"DOMID_COW", 0x7ff3}, {"DOMID_INVALID", 0x7ff4}};
inline std::optional<domid_t> reserved_domid(const std::string& name) {
    for (const auto& [n, id] : reserved_domids)
        if (name == n) return id;
    return std::nullopt;
}

// Hypercall numbers (xen/include/public/xen.h).
constexpr unsigned HYPERVISOR_grant_table_op = 20;
constexpr unsigned HYPERVISOR_event_channel_op = 32;
constexpr unsigned HYPERVISOR_physdev_op = 33;
constexpr unsigned HYPERVISOR_domctl = 36;

// XEN_DOMCTL_destroydomain (xen/include/public/domctl.h).
constexpr unsigned XEN_DOMCTL_destroydomain = 2;
struct domctl_destroydomain {
    domid_t domain = 0;
};

struct hypercall {
    domid_t caller = 0;     // the domain whose vCPU issued it (Xen's `current`)
    unsigned nr = 0;        // HYPERVISOR_*
    unsigned cmd = 0;       // first argument: the sub-operation
    void* arg = nullptr;    // second: the argument structure(s); nullptr is a NULL guest handle
    std::uint32_t count = 0;  // third: how many structures (batched operations)
    // How many structures really are readable at `arg` (a count beyond it
    // makes the hypervisor's copy from the guest fail: -EFAULT).
    std::uint32_t readable = 0;
    long rc = 0;            // the hypercall's return value (0 or -errno; > 0 for some ops)
};

} // namespace iotwin::hyp
