// The ATS capability of a function, its Address Translation Cache, the
// Translation Requests it sends and the Invalidate Requests it answers
// (PCIe 5.0 chapter 10, 7.8.3).
#include "models/pci/ats.h"

#include <algorithm>
#include <cstring>

#include "models/common/payload.h"
#include "models/pci/pci_function.h"

namespace iotwin::pci {

using namespace sc_core;

std::optional<atc_entry> address_translation_cache::lookup(std::uint64_t addr) {
    for (const atc_entry& e : entries_)
        if (addr - e.untranslated < e.size) {
            ++hits_;
            return e;
        }
    ++misses_;
    return std::nullopt;
}

void address_translation_cache::insert(const atc_entry& e) {
    invalidate(e.untranslated, e.size);  // one entry per range
    if (entries_.size() >= capacity_) {
        entries_.pop_front();
        ++evictions_;
    }
    entries_.push_back(e);
}

unsigned address_translation_cache::invalidate(std::uint64_t addr, std::uint64_t size) {
    unsigned n = 0;
    // size 0: the whole address space (an Invalidate Request with every bit set).
    const std::uint64_t last = size ? addr + (size - 1) : ~std::uint64_t(0);
    for (auto it = entries_.begin(); it != entries_.end();) {
        const std::uint64_t e_last = it->untranslated + (it->size - 1);
        if (it->untranslated <= last && addr <= e_last) {
            it = entries_.erase(it);
            ++n;
        } else {
            ++it;
        }
    }
    return n;
}

// ---- the function's side ------------------------------------------------------

void pci_function::define_ats() {
    // ATS Extended Capability (PCIe 5.0 7.8.3): Invalidate Queue Depth
    // (0 means 32), Page Aligned Request; control: STU and Enable are RW.
    ats_cap_ = cfg_.add_ext_capability(ext_cap_id::ats, 1, 8);
    const std::uint32_t c = *ats_cap_;
    const std::uint16_t cap = static_cast<std::uint16_t>((p_.ats->invalidate_queue_depth & ats_reg::CAP_QUEUE_DEPTH) |
                                                         (p_.ats->page_aligned ? ats_reg::CAP_PAGE_ALIGNED : 0));
    cfg_.define({"ATS_CAPABILITY", c + ats_reg::capability, 2, cap});
    // Clearing Enable makes the cached translations void (10.5.1.3: the ATC
    // must not be used while ATS is disabled); a function starts again empty.
    cfg_.define({"ATS_CONTROL", c + ats_reg::control, 2, 0, ats_reg::CTRL_ENABLE | ats_reg::CTRL_STU},
                [this](std::uint64_t old_v, std::uint64_t new_v) {
                    if ((old_v & ats_reg::CTRL_ENABLE) && !(new_v & ats_reg::CTRL_ENABLE)) atc_.clear();
                });
}

bool pci_function::ats_enabled() const {
    return ats_cap_ && (cfg_.get(*ats_cap_ + ats_reg::control, 2) & ats_reg::CTRL_ENABLE);
}

pci_function::ats_result pci_function::ats_translate(std::uint64_t addr, sc_time& delay) {
    ats_result r;
    if (!ats_enabled() || !present() || !cfg_.bus_master() || in_d3hot()) return r;
    // A Translation Request is a memory read with AT = 01b of the
    // untranslated address; its completion carries one data entry per
    // translation (8 bytes each; one requested here).
    // A payload of its own: the function's DMA payload may be in flight in
    // another thread (an engine's transfer) while this one is asked.
    std::uint8_t data[8] = {};
    tlm::tlm_generic_payload gp;
    pcie::pcie_ext ext;
    ext.requester_id = forged_requester_id_.value_or(bdf().rid());
    ext.at = pcie::address_type::translation_request;
    ext.origin = this;
    gp.set_extension(&ext);
    prepare(gp, tlm::TLM_READ_COMMAND, addr & pcie::ats::ADDRESS_MASK, data, 8);
    pcie_out.b_transport(gp, delay);
    gp.clear_extension(&ext);
    ++ats_translation_requests_;
    r.issued = true;
    r.status = ext.status == pcie::completion::SC && !gp.is_response_ok() ? pcie::completion::UR : ext.status;
    if (r.status != pcie::completion::SC) return r;
    std::uint64_t v;
    std::memcpy(&v, data, 8);
    const std::uint64_t size = pcie::ats::range_size(v, v & pcie::ats::S);
    r.entry.size = size ? size : 4096;
    r.entry.untranslated = addr & ~(r.entry.size - 1);
    r.entry.translated = v & pcie::ats::ADDRESS_MASK & ~(r.entry.size - 1);
    r.entry.read = v & pcie::ats::R;
    r.entry.write = v & pcie::ats::W;
    // A completion granting nothing is not cached: the next access asks again.
    if (r.entry.read || r.entry.write) atc_.insert(r.entry);
    return r;
}

pci_function::dma_result pci_function::dma_with_atc(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data,
                                                    std::uint64_t len, sc_time& delay) {
    dma_result total;
    const bool write = cmd == tlm::TLM_WRITE_COMMAND;
    total.posted = write;
    for (std::uint64_t off = 0; off < len;) {
        const std::uint64_t a = addr + off;
        const std::uint64_t n = std::min(len - off, 4096 - (a & 4095));
        std::optional<atc_entry> e = atc_.lookup(a);
        if (!e) {
            const ats_result t = ats_translate(a, delay);
            if (!t.issued || t.status != pcie::completion::SC) {
                total.issued = total.issued || t.issued;
                total.status = t.issued ? t.status : pcie::completion::SC;
                total.stopped = !t.issued;
                total.posted = false;  // a write that never went out
                total.failed_addr = a;
                break;
            }
            e = t.entry;
        }
        if (write ? !e->write : !e->read) {
            // The translation grants no such access: the function does not
            // issue the request (10.2.3: R/W say what it may do).
            ++ats_denied_;
            total.status = pcie::completion::UR;
            total.failed_addr = a;
            if (write) total.posted = false;
            break;
        }
        dma_at_ = pcie::address_type::translated;
        const dma_result r = dma(cmd, e->translated + (a - e->untranslated), data + off, n, delay);
        dma_at_ = pcie::address_type::untranslated;
        total.issued = total.issued || r.issued;
        total.bytes += r.bytes;
        total.iommu_fault = total.iommu_fault || r.iommu_fault;
        if (!r.issued || r.stopped || (!r.posted && r.status != pcie::completion::SC)) {
            total.stopped = r.stopped || !r.issued;
            total.status = r.status;
            total.failed_addr = a;
            break;
        }
        off += n;
    }
    return total;
}

bool pci_function::ats_invalidate(std::uint64_t addr, bool size_bit, sc_time& delay) {
    (void)delay;
    ++ats_invalidations_received_;
    const std::uint64_t size = pcie::ats::range_size(addr, size_bit);
    const std::uint64_t base = size ? (addr & ~(size - 1)) : 0;
    atc_.invalidate(base, size);
    return ats_completes_invalidations();
}

} // namespace iotwin::pci
