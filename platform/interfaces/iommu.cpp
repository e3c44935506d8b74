// iommu: the hypervisor maps and unmaps a domain's IO page table (as Xen's
// iommu_map()/iommu_unmap() for a domain with a passed-through device).
#include <cerrno>

#include "platform/builder.h"

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

// A device-TLB invalidation as the host submits it (queued invalidation's
// descriptor 0x3, VT-d 6.5.2.5): the IOMMU sends an ATS Invalidate Request
// to the function and counts its completion.
void op_device_tlb_invalidate(step_context& c) {
    const pci::pci_function& f = c.device_arg("device");
    const std::uint64_t addr = c.integer("addr"), size = c.has("size") ? c.size("size") : 4096;
    // A power of two of at least 4 KiB, naturally aligned (the S-bit encoding).
    if (size < 4096 || (size & (size - 1)) || (addr & (size - 1))) return c.set_errno(EINVAL);
    iommu::iommu& u = *c.pi().iommu;
    const std::uint64_t enc = pcie::ats::encode_range(addr, size);
    const std::uint64_t completions = u.device_tlb_completions();
    u.invalidate_device_tlb(f.bdf().rid(), enc, enc & pcie::ats::S, c.delay);
    // The Invalidation Wait descriptor that follows (Linux 6.1 qi_submit_sync)
    // completes when every device-TLB invalidation is over: completed, or
    // timed out (an Invalidation Time-out Error).
    const sc_core::sc_time now = sc_core::sc_time_stamp() + c.delay;
    const sc_core::sc_time over = u.device_tlb_invalidations_over_at();
    if (over > now) c.delay += over - now;
    const bool completed = u.device_tlb_completions() != completions;
    c.result()["completed"] = completed;
    c.result()["timeouts"] = u.device_tlb_invalidation_timeouts(sc_core::sc_time_stamp() + c.delay);
    c.set_errno(completed ? 0 : ETIMEDOUT);
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
    r.add({"iommu.device_tlb_invalidate", actor::none,
           "the host invalidates a function's device TLB (descriptor 0x3) and waits (an Invalidation Wait descriptor): an ATS Invalidate Request goes to the function, its Invalidate Completion comes back",
           {{"device", t::device, true, "the function (its requester ID)"}, {"addr", t::integer, true, "untranslated address"},
            {"size", t::size, false, "bytes: a power of two, at least 4KiB, addr aligned to it", 0, std::uint64_t(1) << 62, "4KiB"}},
           {{"completed", result_type::boolean, "the function's Invalidate Completion arrived"},
            {"timeouts", result_type::integer, "device-TLB invalidations that timed out so far (Invalidation Time-out Errors)"}}, {}, {},
           "EINVAL: size not a power of two of at least 4KiB, or addr not aligned to it; ETIMEDOUT: no Invalidate Completion "
           "came back within platform.iommu.ats.invalidation_timeout (the step waits that long, as the wait descriptor does)"},
          op_device_tlb_invalidate);
}

} // namespace iotwin::platform::interfaces
