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
    root_ = zeroed_frame(d);
    if (!root_) return ENOMEM;
    write_reg64(vtd::reg::RTADDR, root_, d);
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

std::uint64_t vtd_driver::new_table(sc_time& d) {
    const std::uint64_t t = zeroed_frame(d);
    if (t) ++tables_;
    return t;
}

int vtd_driver::attach(std::uint16_t sid, std::uint16_t did, std::uint64_t pgd, sc_time& d) {
    const std::uint64_t re = root_ + (sid >> 8) * 16;
    std::uint64_t ctp = read64(re, d);
    if (!(ctp & vtd::entry::P)) {
        const std::uint64_t t = zeroed_frame(d);
        if (!t) return ENOMEM;
        ctp = t | vtd::entry::P;
        write64(re, ctp, d);
    }
    const std::uint64_t ce = (ctp & vtd::entry::ADDR_MASK) + (sid & 0xff) * 16;
    // High quadword first, then the low one with P: the IOMMU never sees a half-written entry.
    write64(ce + 8, vtd::aw_for(width_) | std::uint64_t(did) << 8, d);
    write64(ce, pgd | vtd::entry::TT_UNTRANSLATED << vtd::entry::TT_SHIFT | vtd::entry::P, d);
    // Device-selective context-cache invalidation, then a domain-selective IOTLB flush.
    flush_context(3, did, sid, d);
    flush_iotlb(2, did, 0, 0, d);
    return 0;
}

std::uint64_t vtd_driver::leaf_slot(std::uint64_t pgd, std::uint64_t iova, bool create, sc_time& d) {
    // The top level indexes bits 47:39; higher bits would be dropped and the
    // IOVA would alias a low one.
    if (!iova_in_range(iova)) return 0;
    std::uint64_t table = pgd;
    for (int level = static_cast<int>(vtd::levels_for(width_)); level > 1; --level) {
        const std::uint64_t slot = table + ((iova >> (12 + 9 * (level - 1))) & 0x1ff) * 8;
        std::uint64_t e = read64(slot, d);
        if (!(e & (vtd::entry::R | vtd::entry::W))) {
            if (!create) return 0;
            const std::uint64_t t = zeroed_frame(d);
            if (!t) return 0;
            ++tables_;
            // Non-leaf entries grant R and W; the leaf decides.
            e = t | vtd::entry::R | vtd::entry::W;
            write64(slot, e, d);
        }
        table = e & vtd::entry::ADDR_MASK;
    }
    return table + ((iova >> 12) & 0x1ff) * 8;
}

int vtd_driver::map_page(std::uint64_t pgd, std::uint64_t iova, std::uint64_t maddr, bool read, bool write, sc_time& d) {
    if (!iova_in_range(iova)) return EINVAL;
    const std::uint64_t slot = leaf_slot(pgd, iova, true, d);
    if (!slot) return ENOMEM;
    if (read64(slot, d) & (vtd::entry::R | vtd::entry::W)) return EEXIST;
    write64(slot, (maddr & vtd::entry::ADDR_MASK) | (read ? vtd::entry::R : 0) | (write ? vtd::entry::W : 0), d);
    // Not-present to present needs no invalidation (CAP.CM = 0).
    return 0;
}

int vtd_driver::unmap_page(std::uint16_t did, std::uint64_t pgd, std::uint64_t iova, sc_time& d) {
    if (!iova_in_range(iova)) return EINVAL;
    const std::uint64_t slot = leaf_slot(pgd, iova, false, d);
    if (!slot || !(read64(slot, d) & (vtd::entry::R | vtd::entry::W))) return ENOENT;
    write64(slot, 0, d);
    invalidate_page(did, iova, d);
    return 0;
}

void vtd_driver::unmap_range(std::uint16_t did, std::uint64_t pgd, std::uint64_t iova, std::uint64_t size, std::uint64_t& pages,
                             sc_time& d) {
    if (size == 0 || !iova_in_range(iova) || !iova_in_range(iova + size - 1) || iova + size < iova) return;
    unmap_level(did, pgd, static_cast<int>(vtd::levels_for(width_)), 0, iova, iova + size - 1, pages, d);
}

void vtd_driver::unmap_level(std::uint16_t did, std::uint64_t table, int level, std::uint64_t base, std::uint64_t first,
                             std::uint64_t last, std::uint64_t& pages, sc_time& d) {
    const unsigned shift = 12 + 9 * static_cast<unsigned>(level - 1);
    const std::uint64_t from = (std::max(first, base) - base) >> shift;
    const std::uint64_t to = std::min<std::uint64_t>((last - base) >> shift, 0x1ff);
    for (std::uint64_t i = from; i <= to; ++i) {
        const std::uint64_t slot = table + i * 8;
        const std::uint64_t e = read64(slot, d);
        if (!(e & (vtd::entry::R | vtd::entry::W))) continue;  // nothing mapped below
        const std::uint64_t at = base + (i << shift);
        if (level > 1) {
            unmap_level(did, e & vtd::entry::ADDR_MASK, level - 1, at, first, last, pages, d);
            continue;
        }
        write64(slot, 0, d);
        invalidate_page(did, at, d);
        ++pages;
    }
}

} // namespace iotwin::hyp
