// The host's interrupt remapping setup, after Linux 6.1
// drivers/iommu/intel/irq_remapping.c: intel_setup_irq_remapping allocates
// the table, iommu_set_irq_remapping programs IRTA (address, size S, EIME
// clear: xAPIC) and latches it with GCMD.SIRTP, iommu_enable_irq_remapping
// sets GCMD.IRE and leaves CFI clear ("Block compatibility-format MSIs")
// unless the platform passes them (platform.iommu.ir.compat_pass_through).
// Every GCMD write carries the enables already on (as Linux keeps
// iommu->gcmd), so setting one does not clear another.
//
// As Linux, remapping needs the invalidation queue (intel_setup_irq_remapping
// enables it first), the interrupt entry cache is invalidated globally after
// SIRTP (qi_global_iec) and for the entry after every IRTE change
// (modify_irte's qi_flush_iec).
//
// Departure: the table has 256 entries (one 4 KiB frame, S = 7) where Linux
// allocates INTR_REMAP_TABLE_ENTRIES (65536).
#include "models/hyp/hypervisor.h"

#include <vector>

#include "models/iommu/invalidation_queue.h"
#include "models/iommu/vtd.h"

namespace iotwin::hyp {

using namespace sc_core;

namespace {
constexpr unsigned irt_size_field = 7;  // IRTA.S: 2^(S+1) = 256 entries of 16 bytes, one frame
constexpr std::uint32_t kept_enables = vtd::gsts::TES | vtd::qi::GSTS_QIES | vtd::gsts::IRES | vtd::gsts::CFIS;
} // namespace

int hypervisor::init_interrupt_remapping(sc_time& d) {
    if (!p_.interrupt_remapping) return 0;
    if (!(iommu_read64(vtd::reg::ECAP, d) & vtd::ecap::IR)) return 0;
    // Without queued invalidation the interrupt entry cache cannot be invalidated: Linux leaves remapping off.
    if (!vtd_.queued()) return 0;
    const std::uint64_t table = pool_.alloc();
    if (!table) return ENOMEM;
    const std::vector<std::uint8_t> zero(vtd::page_size, 0);
    access(tlm::TLM_WRITE_COMMAND, table, const_cast<std::uint8_t*>(zero.data()), static_cast<unsigned>(zero.size()), d);
    iommu_write64(vtd::reg::IRTA, table | irt_size_field, d);
    std::uint32_t sts = iommu_read32(vtd::reg::GSTS, d);
    iommu_write32(vtd::reg::GCMD, (sts & kept_enables) | vtd::gcmd::SIRTP, d);
    sts = iommu_read32(vtd::reg::GSTS, d);
    if (!(sts & vtd::gsts::IRTPS)) return EIO;
    vtd_.flush_iec(true, 0, 0, d);
    std::uint32_t cmd = (sts & kept_enables & ~vtd::gsts::CFIS) | vtd::gcmd::IRE;
    if (p_.ir_compat_pass_through) cmd |= vtd::gcmd::CFI;
    iommu_write32(vtd::reg::GCMD, cmd, d);
    if (!(iommu_read32(vtd::reg::GSTS, d) & vtd::gsts::IRES)) return EIO;
    ir_table_ = table;
    irte_used_.assign(std::size_t(2) << irt_size_field, false);
    return 0;
}

void hypervisor::write_irte(unsigned index, std::uint64_t lo, std::uint64_t hi) {
    // modify_irte: the CPU writes the 128-bit entry; bind_msi is untimed, as is this store.
    sc_time d = SC_ZERO_TIME;
    const std::uint64_t e[2] = {lo, hi};
    write_machine(ir_table_ + std::uint64_t(index) * 16, e, 16, d);
    vtd_.flush_iec(false, index, 0, d);
}

} // namespace iotwin::hyp
