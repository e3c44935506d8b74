// The driver's invalidations of the IOMMU's caches, programmed as Linux 6.1's
// intel-iommu programs them: through the invalidation queue when the unit
// reports ECAP.QI (drivers/iommu/intel/dmar.c: dmar_enable_qi,
// qi_submit_sync, qi_flush_context, qi_flush_iotlb), else through CCMD and
// IOTLB_REG, polled until the hardware clears ICC/IVT (iommu.c:
// __iommu_flush_context, __iommu_flush_iotlb). Every call returns once the
// hardware has reported the invalidation complete.
#include "models/hyp/vtd_driver.h"

#include <algorithm>
#include <cerrno>

#include "models/iommu/invalidation_queue.h"
#include "models/iommu/vtd.h"

namespace iotwin::hyp {

using namespace sc_core;

namespace {
// Linux 6.1 drivers/iommu/intel/iommu.h: QI_LENGTH 256 descriptors (one
// 4 KiB page of 128-bit descriptors, IQA.QS = 0) and the status values
// (enum { QI_FREE, QI_IN_USE, QI_DONE, QI_ABORT }).
constexpr unsigned qi_length = 256;
constexpr std::uint32_t qi_in_use = 1, qi_done = 2;
// Polls before the driver gives up on a status that never arrives (the
// model completes the queue within the IQT write, so one read suffices).
constexpr unsigned max_polls = 4;
} // namespace

std::uint64_t vtd_driver::read_reg64(std::uint32_t off, sc_time& d) {
    std::uint64_t v = 0;
    bus_.access(tlm::TLM_READ_COMMAND, regs_ + off, &v, 8, d);
    return v;
}

std::uint32_t vtd_driver::read_reg32(std::uint32_t off, sc_time& d) {
    std::uint32_t v = 0;
    bus_.access(tlm::TLM_READ_COMMAND, regs_ + off, &v, 4, d);
    return v;
}

int vtd_driver::setup_invalidation(sc_time& d) {
    const std::uint64_t cap = read_reg64(vtd::reg::CAP, d);
    psi_ = cap >> 39 & 1;                          // CAP.PSI
    mamv_ = static_cast<unsigned>(cap >> 48 & 0x3f);  // CAP.MAMV
    const std::uint64_t ecap = read_reg64(vtd::reg::ECAP, d);
    if (!(ecap & vtd::qi::ECAP_QI)) return 0;  // register-based invalidation
    queue_ = zeroed_frame(d);
    status_ = zeroed_frame(d);
    if (!queue_ || !status_) return ENOMEM;
    // __dmar_enable_qi: IQT = 0, IQA = the queue with QS = 0, then GCMD.QIE.
    free_head_ = 0;
    write_reg64(vtd::reg::IQT, 0, d);
    write_reg64(vtd::reg::IQA, queue_, d);
    gcmd_ |= vtd::qi::GCMD_QIE;
    write_reg32(vtd::reg::GCMD, gcmd_, d);
    qi_ = read_reg32(vtd::reg::GSTS, d) & vtd::qi::GSTS_QIES;
    if (!qi_) gcmd_ &= ~vtd::qi::GCMD_QIE;
    return 0;
}

int vtd_driver::qi_submit(const std::uint64_t* descs, unsigned count, sc_time& d) {
    const unsigned index = free_head_;
    for (unsigned i = 0; i < count; ++i) {
        const std::uint64_t slot = queue_ + ((index + i) % qi_length) * vtd::qi::DESCRIPTOR_BYTES;
        write64(slot, descs[2 * i], d);
        write64(slot + 8, descs[2 * i + 1], d);
    }
    const unsigned wait_index = (index + count) % qi_length;
    const std::uint64_t status = status_ + wait_index * 4;
    std::uint32_t in_use = qi_in_use;
    bus_.access(tlm::TLM_WRITE_COMMAND, status, &in_use, 4, d);
    const std::uint64_t wait_lo = std::uint64_t(qi_done) << vtd::qi::WAIT_DATA_SHIFT | vtd::qi::WAIT_SW | vtd::qi::TYPE_WAIT;
    const std::uint64_t wait_slot = queue_ + wait_index * vtd::qi::DESCRIPTOR_BYTES;
    write64(wait_slot, wait_lo, d);
    write64(wait_slot + 8, status, d);
    free_head_ = (index + count + 1) % qi_length;
    write_reg64(vtd::reg::IQT, std::uint64_t(free_head_) << vtd::qi::INDEX_SHIFT, d);
    int result = 0;
    for (unsigned poll = 0; poll < max_polls; ++poll) {
        std::uint32_t s = 0;
        bus_.access(tlm::TLM_READ_COMMAND, status, &s, 4, d);
        if (s == qi_done) return result;
        // qi_check_fault: on IQE, the descriptor at IQH is overwritten with
        // the wait descriptor and IQE cleared, so the queue resumes and the
        // wait completes; the submission fails with -EINVAL.
        if (read_reg32(vtd::reg::FSTS, d) & vtd::qi::FSTS_IQE) {
            const std::uint64_t head = (read_reg64(vtd::reg::IQH, d) & vtd::qi::INDEX_MASK) >> vtd::qi::INDEX_SHIFT;
            const std::uint64_t bad = queue_ + (head % qi_length) * vtd::qi::DESCRIPTOR_BYTES;
            write64(bad, wait_lo, d);
            write64(bad + 8, status, d);
            ++qi_errors_;
            result = EINVAL;
            write_reg32(vtd::reg::FSTS, vtd::qi::FSTS_IQE, d);
        }
    }
    return result ? result : EIO;
}

void vtd_driver::flush_context(unsigned granularity, std::uint16_t did, std::uint16_t sid, sc_time& d) {
    ++invalidations_;
    if (qi_) {
        // qi_flush_context: QI_CC_FM(fm) | QI_CC_SID(sid) | QI_CC_DID(did) | QI_CC_GRAN(type) | QI_CC_TYPE.
        const std::uint64_t desc[2] = {std::uint64_t(sid) << 32 | std::uint64_t(did) << 16 | std::uint64_t(granularity) << 4 |
                                           vtd::qi::TYPE_CC,
                                       0};
        qi_submit(desc, 1, d);
        return;
    }
    write_reg64(vtd::reg::CCMD, vtd::ccmd::ICC | std::uint64_t(granularity & 3) << vtd::ccmd::CIRG_SHIFT | std::uint64_t(sid) << 16 | did,
                d);
    for (unsigned poll = 0; poll < max_polls && (read_reg64(vtd::reg::CCMD, d) & vtd::ccmd::ICC); ++poll) {
    }
}

void vtd_driver::flush_iotlb(unsigned granularity, std::uint16_t did, std::uint64_t addr, unsigned am, sc_time& d) {
    ++invalidations_;
    if (qi_ && scalable_ && granularity != 1 && first_level_dids_.count(did)) {
        // A first-level domain in scalable mode: qi_flush_piotlb, the
        // PASID-based-IOTLB descriptor for RID_PASID (QI_GRAN_NONG_PASID for
        // the domain, QI_GRAN_PSI_PASID for a range; IH clear).
        const std::uint64_t desc[2] = {std::uint64_t(vtd::sm::RID_PASID) << vtd::qi::PASID_SHIFT | std::uint64_t(did) << 16 |
                                           std::uint64_t(granularity & 3) << 4 | vtd::qi::TYPE_PIOTLB,
                                       granularity == 3 ? (addr & ~std::uint64_t(0xfff)) | (am & 0x3f) : 0};
        qi_submit(desc, 1, d);
        if (granularity == 2) flush_device_tlbs(did, 0, 52, d);
        else flush_device_tlbs(did, addr, am, d);
        return;
    }
    if (qi_) {
        // qi_flush_iotlb: QI_IOTLB_IH | QI_IOTLB_AM (high); QI_IOTLB_DID |
        // QI_IOTLB_DR | QI_IOTLB_DW | QI_IOTLB_GRAN | QI_IOTLB_TYPE (low), with
        // DR and DW set when CAP reports draining (this unit does not).
        const std::uint64_t desc[2] = {std::uint64_t(did) << 16 | std::uint64_t(granularity & 3) << 4 | vtd::qi::TYPE_IOTLB,
                                       (addr & ~std::uint64_t(0xfff)) | (am & 0x3f)};
        qi_submit(desc, 1, d);
        if (granularity == 2) flush_device_tlbs(did, 0, 52, d);
        else if (granularity == 3) flush_device_tlbs(did, addr, am, d);
        return;
    }
    if (granularity == 3) write_reg64(vtd::reg::IOTLB_BASE, (addr & ~std::uint64_t(0xfff)) | (am & 0x3f), d);
    write_reg64(vtd::reg::IOTLB_BASE + 8,
                vtd::iotlb_cmd::IVT | std::uint64_t(granularity & 3) << vtd::iotlb_cmd::IIRG_SHIFT |
                    std::uint64_t(did) << vtd::iotlb_cmd::DID_SHIFT,
                d);
    for (unsigned poll = 0; poll < max_polls && (read_reg64(vtd::reg::IOTLB_BASE + 8, d) & vtd::iotlb_cmd::IVT); ++poll) {
    }
}

void vtd_driver::flush_iotlb_range(std::uint16_t did, std::uint64_t first, std::uint64_t last, sc_time& d) {
    // The smallest aligned block of 2^am pages holding [first, last]. Linux
    // 6.1's iommu_flush_iotlb_psi takes am = ilog2(roundup_pow_of_two(pages))
    // at the first page, which misses pages of a range that straddles a
    // block boundary; later kernels align the block (calculate_psi_aligned_address),
    // as here. Beyond CAP.MAMV, or without CAP.PSI, the domain is flushed.
    unsigned am = 0;
    while (am < 52 && (first >> am) != (last >> am)) ++am;
    if (!psi_ || am > mamv_) {
        flush_iotlb(2, did, 0, 0, d);
        return;
    }
    flush_iotlb(3, did, (first >> am << am) << 12, am, d);
}

void vtd_driver::invalidate_page(std::uint16_t did, std::uint64_t iova, sc_time& d) {
    const std::uint64_t page = iova >> 12;
    if (!batching_) {
        flush_iotlb_range(did, page, page, d);
        return;
    }
    if (!batch_.any) {
        batch_ = {true, did, page, page};
        return;
    }
    batch_.first = std::min(batch_.first, page);
    batch_.last = std::max(batch_.last, page);
}

void vtd_driver::flush_iec(bool global, unsigned index, unsigned mask, sc_time& d) {
    if (!qi_) return;
    ++invalidations_;
    // QI_IEC_TYPE | QI_IEC_IIDX(index) | QI_IEC_IM(mask) | QI_IEC_SELECTIVE.
    const std::uint64_t desc[2] = {
        global ? std::uint64_t(vtd::qi::TYPE_IEC)
               : std::uint64_t(index & 0xffff) << 32 | std::uint64_t(mask & 0x1f) << 27 | vtd::qi::IEC_SELECTIVE | vtd::qi::TYPE_IEC,
        0};
    qi_submit(desc, 1, d);
}

void vtd_driver::flush_device_tlbs(std::uint16_t did, std::uint64_t addr, unsigned am, sc_time& d) {
    for (const std::uint16_t sid : device_tlb_) {
        const auto it = attached_did_.find(sid);
        if (it == attached_did_.end() || it->second != did) continue;
        // qi_flush_dev_iotlb: a range of 2^am pages is the address with the
        // bits below its top one set and the S bit (PCIe 5.0 10.2.3.2 size encoding).
        std::uint64_t a = addr & ~std::uint64_t(0xfff);
        if (am) a = (addr | ((std::uint64_t(1) << (11 + am)) - 1)) & ~std::uint64_t(0xfff);
        const std::uint64_t desc[2] = {std::uint64_t(sid) << 32 | vtd::qi::TYPE_DEVTLB, a | (am ? 1 : 0)};
        qi_submit(desc, 1, d);
    }
}

} // namespace iotwin::hyp
