// iommu: the hypervisor maps and unmaps a domain's IO page table (as Xen's
// iommu_map()/iommu_unmap() for a domain with a passed-through device).
#include <cerrno>

#include "platform/interfaces/interfaces.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

namespace {

void op_iommu_map(step_context& c) {
    c.set_errno(c.hyp().iommu_map(c.domain("domain"), c.integer("iova"), c.integer("address"), c.size("size"),
                                  c.boolean("read", true), c.boolean("write", true), c.delay));
}

void op_iommu_unmap(step_context& c) {
    std::uint64_t unmapped = 0;
    c.set_errno(c.hyp().iommu_unmap(c.domain("domain"), c.integer("iova"), c.size("size"), unmapped, c.delay));
    c.result()["unmapped"] = unmapped;
}

arg_spec domain_arg() { return {"domain", arg_type::domain, true, "domain name, or domid (ESRCH when it names no domain)", 0, 0xffff}; }

} // namespace

void register_iommu(op_registry& r) {
    using t = arg_type;
    const std::string range = "EINVAL: misaligned, empty, beyond the 48-bit IOVA width or running past 2^64";
    r.add({"iommu.map", actor::none, "the hypervisor maps guest memory into the domain's IO page table",
           {domain_arg(), {"iova", t::integer, true, "IO virtual address (4KiB aligned)"},
            {"address", t::integer, true, "guest-physical address of the domain (4KiB aligned)"},
            {"size", t::size, true, "bytes (a multiple of 4KiB)", 0, op_limits::max_map},
            {"read", t::boolean, false, "the device may read", 0, 1, "true"},
            {"write", t::boolean, false, "the device may write", 0, 1, "true"}},
           {}, {}, {},
           "ESRCH: no such domain; " + range + ", or neither read nor write; EFAULT: memory the domain does not own; "
           "EEXIST: an IOVA already mapped (nothing of the call stays mapped)"},
          op_iommu_map);
    r.add({"iommu.unmap", actor::none, "the hypervisor unmaps and invalidates the IOTLB (strict)",
           {domain_arg(), {"iova", t::integer, true, "IO virtual address"},
            {"size", t::size, true, "bytes (a multiple of 4KiB)"}},
           {{"unmapped", result_type::integer, "bytes that were mapped and are not any more"}}, {}, {},
           "ESRCH: no such domain; " + range},
          op_iommu_unmap);
}

} // namespace iotwin::platform::interfaces
