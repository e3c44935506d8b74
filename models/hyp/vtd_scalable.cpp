// The driver's scalable-mode tables, programmed as Linux 6.1 programs them
// (drivers/iommu/intel/iommu.c domain_context_mapping_one, iommu_context_addr,
// pfn_to_dma_pte, __domain_mapping; pasid.c intel_pasid_alloc_table,
// intel_pasid_setup_first_level / _second_level): scalable-mode root entries
// with lower and upper context-table pointers, one 256-bit context entry per
// function pointing at the function's PASID directory, and the PASID table
// entry of RID_PASID (PASID_RID2PASID = 0) that requests without PASID use.
// Through the queue, a PASID entry torn down is invalidated with the
// PASID-cache (0x7) and PASID-based-IOTLB (0x6) descriptors as Linux 6.1
// sends them, and a first-level domain's unmaps flush with 0x6
// (qi_flush_piotlb); without the queue, the registers' context-cache and
// IOTLB invalidations stand in (Linux runs scalable mode with the queue only).
#include "models/hyp/vtd_driver.h"

#include <cerrno>

#include "models/iommu/invalidation_queue.h"
#include "models/iommu/vtd.h"

namespace iotwin::hyp {

using namespace sc_core;
namespace sm = vtd::sm;

std::uint64_t vtd_driver::table_entry(std::uint64_t pgd, std::uint64_t next) const {
    // Linux 6.1 pfn_to_dma_pte: READ | WRITE, and for first-level tables
    // XD | US | ACCESS (READ is the x86 Present bit, WRITE its R/W bit).
    if (first_level(pgd)) return next | sm::FL_P | sm::FL_RW | sm::FL_US | sm::FL_A | sm::FL_XD;
    return next | vtd::entry::R | vtd::entry::W;
}

std::uint64_t vtd_driver::leaf_entry(std::uint64_t pgd, std::uint64_t maddr, bool read, bool write) const {
    const std::uint64_t frame = maddr & vtd::entry::ADDR_MASK;
    // Linux 6.1 __domain_mapping: first-level leaves get PRESENT | XD | US |
    // ACCESS, and DIRTY when writable, so the unit never has to set A or D.
    // x86 entries cannot be write-only: present means readable.
    if (first_level(pgd))
        return frame | sm::FL_P | sm::FL_US | sm::FL_A | sm::FL_XD | (write ? sm::FL_RW | sm::FL_D : 0);
    return frame | (read ? vtd::entry::R : 0) | (write ? vtd::entry::W : 0);
}

int vtd_driver::attach_scalable(std::uint16_t sid, std::uint16_t did, std::uint64_t pgd, sc_time& d) {
    // Scalable-mode root entry: the low quadword serves devfn 0-127, the high
    // one devfn 128-255 (Linux iommu_context_addr); 32-byte context entries.
    const std::uint64_t re = root_ + (sid >> 8) * 16 + ((sid & 0x80) ? 8 : 0);
    std::uint64_t ctp = read64(re, d);
    if (!(ctp & sm::ROOT_PRESENT)) {
        const std::uint64_t t = zeroed_frame(d);
        if (!t) return ENOMEM;
        ctp = t | sm::ROOT_PRESENT;
        write64(re, ctp, d);
    }
    const std::uint64_t ce = (ctp & vtd::entry::ADDR_MASK) + (sid & 0x7f) * sm::CONTEXT_SIZE;

    // The function's PASID directory: one page (intel_pasid_alloc_table).
    std::uint64_t dir = 0;
    if (const auto it = pasid_dirs_.find(sid); it != pasid_dirs_.end()) {
        dir = it->second;
    } else {
        dir = zeroed_frame(d);
        if (!dir) return ENOMEM;
        pasid_dirs_[sid] = dir;
    }
    const std::uint64_t pde_at = dir + std::uint64_t(sm::RID_PASID >> sm::PASID_PDE_SHIFT) * 8;
    std::uint64_t pde = read64(pde_at, d);
    if (!(pde & sm::PDE_P)) {
        const std::uint64_t t = zeroed_frame(d);
        if (!t) return ENOMEM;
        pde = t | sm::PDE_P;
        write64(pde_at, pde, d);
    }
    const std::uint64_t pe = (pde & vtd::entry::ADDR_MASK) +
                             std::uint64_t(sm::RID_PASID & ((1u << sm::PASID_PDE_SHIFT) - 1)) * sm::PASID_ENTRY_SIZE;
    // A present entry is torn down first (intel_pasid_tear_down_entry): P
    // clear before any other field changes, so the unit never walks a mix.
    const std::uint64_t old = read64(pe, d);
    if (old & sm::PE_P) {
        write64(pe, old & ~sm::PE_P, d);
        flush_pasid_entry(static_cast<std::uint16_t>(read64(pe + 8, d) & 0xffff), (old >> sm::PE_PGTT_SHIFT) & 7, d);
    }
    for (unsigned q = 1; q < sm::PASID_ENTRY_SIZE / 8; ++q) write64(pe + 8 * q, 0, d);
    const iommu_mode m = mode(did);
    const bool fl = first_level(pgd) && m == iommu_mode::translated;
    if (fl) first_level_dids_.insert(did);
    else first_level_dids_.erase(did);
    // First level: FLPTPTR, FLPM 00 (4-level), SRE clear (requests without
    // PASID are user requests). Second level: SLPTPTR. DID in qword 1; PWSNP
    // stays clear (ECAP.SMPWC clear). AW = the unit's AGAW, for both.
    if (fl) write64(pe + 16, pgd, d);
    write64(pe + 8, did, d);
    // A blocked domain leaves the entry not present (every request of the
    // function faults); a pass-through one has PGTT 100b and no table.
    const std::uint64_t pgtt = m == iommu_mode::passthrough ? sm::PGTT_PASS_THROUGH
                               : fl                         ? sm::PGTT_FIRST_LEVEL
                                                            : sm::PGTT_SECOND_LEVEL;
    const std::uint64_t slptr = m == iommu_mode::translated && !fl ? pgd : 0;
    if (m != iommu_mode::blocked)
        write64(pe, slptr | vtd::aw_for(width_) << sm::PE_AW_SHIFT | pgtt << sm::PE_PGTT_SHIFT | sm::PE_P, d);

    // The context entry: PASID directory, PDTS, RID_PASID; PASIDE set so that
    // requests with PASID are looked up (an absent PASID then faults on its
    // directory or table entry). Present last.
    if (!(read64(ce, d) & sm::CTX_P)) {
        write64(ce + 8, sm::RID_PASID, d);
        write64(ce + 16, 0, d);
        write64(ce + 24, 0, d);
        write64(ce, dir | std::uint64_t(sm::DIRECTORY_PDTS) << sm::CTX_PDTS_SHIFT | sm::CTX_PASIDE | sm::CTX_P, d);
    }
    // Device-selective context-cache invalidation (the unit drops the PASID
    // entries it cached for `sid` with it), then a domain-selective IOTLB flush.
    flush_context(3, did, sid, d);
    flush_iotlb(2, did, 0, 0, d);
    return 0;
}

void vtd_driver::flush_pasid_entry(std::uint16_t did, std::uint64_t pgtt, sc_time& d) {
    if (!qi_) return;  // the context-cache invalidation after the new entry drops it
    // pasid_cache_invalidation_with_pasid: QI_PC_DID | QI_PC_PASID | QI_PC_GRAN(QI_PC_PASID_SEL) | QI_PC_TYPE.
    const std::uint64_t pc[2] = {std::uint64_t(sm::RID_PASID) << vtd::qi::PASID_SHIFT | std::uint64_t(did) << 16 | 1u << 4 |
                                     vtd::qi::TYPE_PC,
                                 0};
    qi_submit(pc, 1, d);
    ++invalidations_;
    if (pgtt == sm::PGTT_FIRST_LEVEL || pgtt == sm::PGTT_PASS_THROUGH) {
        // qi_flush_piotlb(did, pasid, 0, -1): every translation of the PASID (QI_GRAN_NONG_PASID).
        const std::uint64_t piotlb[2] = {std::uint64_t(sm::RID_PASID) << vtd::qi::PASID_SHIFT | std::uint64_t(did) << 16 |
                                             2u << 4 | vtd::qi::TYPE_PIOTLB,
                                         0};
        qi_submit(piotlb, 1, d);
        ++invalidations_;
    } else {
        flush_iotlb(2, did, 0, 0, d);
    }
}

} // namespace iotwin::hyp
