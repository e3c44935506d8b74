#include "models/hyp/vtd_driver.h"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "models/iommu/vtd.h"

namespace iotwin::hyp {

using namespace sc_core;

std::uint64_t frame_pool::alloc() {
    if (!free_.empty()) {
        const std::uint64_t f = free_.back();
        free_.pop_back();
        ++used_;
        return f;
    }
    if (next_ + vtd::page_size > end_) return 0;
    const std::uint64_t f = next_;
    next_ += vtd::page_size;
    ++used_;
    return f;
}

std::uint64_t frame_pool::available() const { return free_.size() + (end_ - next_) / vtd::page_size; }

std::uint64_t vtd_driver::read64(std::uint64_t a, sc_time& d) {
    std::uint64_t v = 0;
    bus_.access(tlm::TLM_READ_COMMAND, a, &v, 8, d);
    return v;
}

void vtd_driver::write64(std::uint64_t a, std::uint64_t v, sc_time& d) { bus_.access(tlm::TLM_WRITE_COMMAND, a, &v, 8, d); }
void vtd_driver::write_reg32(std::uint32_t off, std::uint32_t v, sc_time& d) { bus_.access(tlm::TLM_WRITE_COMMAND, regs_ + off, &v, 4, d); }
void vtd_driver::write_reg64(std::uint32_t off, std::uint64_t v, sc_time& d) { bus_.access(tlm::TLM_WRITE_COMMAND, regs_ + off, &v, 8, d); }

std::uint64_t vtd_driver::zeroed_frame(sc_time& d) {
    const std::uint64_t f = pool_.alloc();
    if (!f) return 0;
    std::vector<std::uint8_t> zero(vtd::page_size, 0);
    bus_.access(tlm::TLM_WRITE_COMMAND, f, zero.data(), static_cast<unsigned>(zero.size()), d);
    return f;
}

int vtd_driver::init(bool translate, std::uint64_t fault_msi_addr, std::uint32_t fault_msi_data, sc_time& d) {
    // The superpage sizes the unit takes: CAP.SLLPS (Linux 6.1 iommu.c
    // domain_update_iommu_superpage() reads cap_super_page_val()).
    std::uint64_t cap = 0;
    bus_.access(tlm::TLM_READ_COMMAND, regs_ + vtd::reg::CAP, &cap, 8, d);
    sllps_ = (cap >> vtd::cap::SLLPS_SHIFT) & 3;
    root_ = zeroed_frame(d);
    if (!root_) return ENOMEM;
    // Scalable mode: TTM = 01 in RTADDR (Linux 6.1 iommu_set_root_entry, DMA_RTADDR_SMT).
    write_reg64(vtd::reg::RTADDR, root_ | (scalable_ ? vtd::sm::TTM_SCALABLE << vtd::sm::TTM_SHIFT : 0), d);
    write_reg32(vtd::reg::GCMD, gcmd_ | vtd::gcmd::SRTP, d);
    write_reg32(vtd::reg::FEDATA, fault_msi_data, d);
    write_reg32(vtd::reg::FEADDR, static_cast<std::uint32_t>(fault_msi_addr), d);
    write_reg32(vtd::reg::FEUADDR, static_cast<std::uint32_t>(fault_msi_addr >> 32), d);
    write_reg32(vtd::reg::FECTL, 0, d);  // unmask fault events
    if (const int e = setup_invalidation(d)) return e;
    // Global context-cache and IOTLB invalidation before enabling translation.
    flush_context(1, 0, 0, d);
    flush_iotlb(1, 0, 0, 0, d);
    if (translate) {
        gcmd_ |= vtd::gcmd::TE;
        write_reg32(vtd::reg::GCMD, gcmd_, d);
    }
    return 0;
}

std::uint64_t vtd_driver::new_table(sc_time& d, bool unmanaged) {
    const std::uint64_t t = zeroed_frame(d);
    if (t) ++tables_;
    // First-level tables are 4-level x86 tables: a 39-bit unit keeps second-level ones
    // (Linux 6.1 domain_setup_first_level refuses a 3-level AGAW).
    const bool fl = width_ == 48 && (kind_ == table_kind::first_level || (kind_ == table_kind::automatic && !unmanaged));
    if (t && scalable_ && fl) first_level_tables_.insert(t);
    return t;
}

int vtd_driver::attach(std::uint16_t sid, std::uint16_t did, std::uint64_t pgd, sc_time& d) {
    attached_did_[sid] = did;  // whose translations its device TLB may hold
    if (scalable_) return attach_scalable(sid, did, pgd, d);
    const std::uint64_t re = root_ + (sid >> 8) * 16;
    std::uint64_t ctp = read64(re, d);
    if (!(ctp & vtd::entry::P)) {
        const std::uint64_t t = zeroed_frame(d);
        if (!t) return ENOMEM;
        ctp = t | vtd::entry::P;
        write64(re, ctp, d);
    }
    const std::uint64_t ce = (ctp & vtd::entry::ADDR_MASK) + (sid & 0xff) * 16;
    const iommu_mode m = mode(did);
    if (m == iommu_mode::blocked) {
        // Not present: the low quadword (with P) first, then the rest.
        write64(ce, 0, d);
        write64(ce + 8, 0, d);
    } else {
        // ATS enabled for the function: TT = 01b (Linux 6.1 domain_context_mapping_one, info->ats_supported).
        const std::uint64_t tt = device_tlb_.count(sid) ? vtd::entry::TT_DEVICE_TLB : vtd::entry::TT_UNTRANSLATED;
        // High quadword first, then the low one with P: the IOMMU never sees a half-written entry.
        // Pass-through (TT = 10b) ignores SLPTPTR; AW stays the unit's (Linux 6.1
        // domain_context_mapping_one() sets it for every translation type).
        write64(ce + 8, vtd::aw_for(width_) | std::uint64_t(did) << 8, d);
        const std::uint64_t low = m == iommu_mode::passthrough
                                      ? vtd::entry::TT_PASS_THROUGH << vtd::entry::TT_SHIFT | vtd::entry::P
                                      : pgd | tt << vtd::entry::TT_SHIFT | vtd::entry::P;
        write64(ce, low, d);
    }
    // Device-selective context-cache invalidation, then a domain-selective IOTLB flush.
    flush_context(3, did, sid, d);
    flush_iotlb(2, did, 0, 0, d);
    return 0;
}

iommu_mode vtd_driver::mode(std::uint16_t did) const {
    const auto it = modes_.find(did);
    return it == modes_.end() ? iommu_mode::translated : it->second;
}

bool vtd_driver::supports_order(unsigned order) const {
    return order == 0 || (order == 9 && (sllps_ & vtd::cap::SLLPS_2M)) || (order == 18 && (sllps_ & vtd::cap::SLLPS_1G));
}

namespace {
bool present(std::uint64_t e) { return e & (vtd::entry::R | vtd::entry::W); }
unsigned shift_of(int level) { return 12 + 9 * static_cast<unsigned>(level - 1); }
} // namespace

std::uint64_t vtd_driver::slot_at(std::uint64_t pgd, std::uint64_t iova, int level, bool create, int& at_level, sc_time& d) {
    at_level = level;
    // The top level indexes bits 47:39 (38:30 for 3 levels); higher bits
    // would be dropped and the IOVA would alias a low one.
    if (!iova_in_range(iova)) return 0;
    std::uint64_t table = pgd;
    for (int l = static_cast<int>(vtd::levels_for(width_)); l > level; --l) {
        const std::uint64_t slot = table + ((iova >> shift_of(l)) & 0x1ff) * 8;
        std::uint64_t e = read64(slot, d);
        if (present(e) && (e & vtd::entry::PS)) {
            at_level = l;  // a superpage maps iova above the level asked for
            return slot;
        }
        if (!present(e)) {
            if (!create) return 0;
            const std::uint64_t t = zeroed_frame(d);
            if (!t) return 0;
            ++tables_;
            // Non-leaf entries grant R and W; the leaf decides.
            e = table_entry(pgd, t);
            write64(slot, e, d);
        }
        table = e & vtd::entry::ADDR_MASK;
    }
    return table + ((iova >> shift_of(level)) & 0x1ff) * 8;
}

int vtd_driver::map(std::uint64_t pgd, std::uint64_t iova, std::uint64_t maddr, unsigned order, bool read, bool write,
                    sc_time& d) {
    if (!iova_in_range(iova) || !supports_order(order)) return EINVAL;
    const std::uint64_t size_mask = (vtd::page_size << order) - 1;
    if ((iova | maddr) & size_mask) return EINVAL;
    const int level = static_cast<int>(order / 9) + 1;
    int at = level;
    const std::uint64_t slot = slot_at(pgd, iova, level, true, at, d);
    if (!slot) return ENOMEM;
    if (at != level) return EEXIST;  // inside a larger page already mapped
    const std::uint64_t e = read64(slot, d);
    if (present(e)) return level > 1 && !(e & vtd::entry::PS) ? EBUSY : EEXIST;
    // PS (bit 7) marks a large page in both the second-level and the first-level format.
    write64(slot, leaf_entry(pgd, maddr, read, write) | (level > 1 ? vtd::entry::PS : 0), d);
    if (level > 1) ++superpages_;
    // Not-present to present needs no invalidation (CAP.CM = 0).
    return 0;
}

int vtd_driver::mapped_level(std::uint64_t pgd, std::uint64_t iova, sc_time& d) {
    int at = 1;
    const std::uint64_t slot = slot_at(pgd, iova, 1, false, at, d);
    return slot && present(read64(slot, d)) ? at : 0;
}

int vtd_driver::map_page(std::uint64_t pgd, std::uint64_t iova, std::uint64_t maddr, bool read, bool write, sc_time& d) {
    if (!iova_in_range(iova)) return EINVAL;
    return map(pgd, iova & ~(vtd::page_size - 1), maddr & ~(vtd::page_size - 1), 0, read, write, d);
}

int vtd_driver::unmap_page(std::uint16_t did, std::uint64_t pgd, std::uint64_t iova, sc_time& d) {
    if (!iova_in_range(iova)) return EINVAL;
    int at = 1;
    const std::uint64_t slot = slot_at(pgd, iova, 1, false, at, d);
    if (!slot || !present(read64(slot, d))) return ENOENT;
    write64(slot, 0, d);
    // The first page of a superpage: a page-selective invalidation drops
    // every IOTLB entry that overlaps it, the superpage's included.
    invalidate_page(did, iova & ~((std::uint64_t(1) << shift_of(at)) - 1), d);
    return 0;
}

void vtd_driver::unmap_range(std::uint16_t did, std::uint64_t pgd, std::uint64_t iova, std::uint64_t size, std::uint64_t& pages,
                             sc_time& d) {
    std::uint64_t lo = 0, hi = 0;
    unmap_range(did, pgd, iova, size, pages, lo, hi, d);
}

void vtd_driver::unmap_range(std::uint16_t did, std::uint64_t pgd, std::uint64_t iova, std::uint64_t size, std::uint64_t& pages,
                             std::uint64_t& lo, std::uint64_t& hi, sc_time& d) {
    lo = ~std::uint64_t(0);
    hi = 0;
    if (size == 0 || !iova_in_range(iova) || !iova_in_range(iova + size - 1) || iova + size < iova) return;
    unmap_level(did, pgd, static_cast<int>(vtd::levels_for(width_)), 0, iova, iova + size - 1, pages, lo, hi, d);
}

void vtd_driver::unmap_level(std::uint16_t did, std::uint64_t table, int level, std::uint64_t base, std::uint64_t first,
                             std::uint64_t last, std::uint64_t& pages, std::uint64_t& lo, std::uint64_t& hi, sc_time& d) {
    const unsigned shift = shift_of(level);
    const std::uint64_t from = (std::max(first, base) - base) >> shift;
    const std::uint64_t to = std::min<std::uint64_t>((last - base) >> shift, 0x1ff);
    for (std::uint64_t i = from; i <= to; ++i) {
        const std::uint64_t slot = table + i * 8;
        const std::uint64_t e = read64(slot, d);
        if (!present(e)) continue;  // nothing mapped below
        const std::uint64_t at = base + (i << shift);
        if (level > 1 && !(e & vtd::entry::PS)) {
            unmap_level(did, e & vtd::entry::ADDR_MASK, level - 1, at, first, last, pages, lo, hi, d);
            continue;
        }
        // A leaf: a 4 KiB page, or a superpage unmapped whole even when the
        // range covers part of it.
        write64(slot, 0, d);
        invalidate_page(did, at, d);
        pages += std::uint64_t(1) << (shift - 12);
        lo = std::min(lo, at);
        hi = std::max(hi, at + ((std::uint64_t(1) << shift) - 1));
    }
}

} // namespace iotwin::hyp
