#include "models/iommu/iommu.h"

#include <cstring>

#include "models/pcie/protocol.h"
#include "models/common/payload.h"
#include "models/iommu/invalidation_queue.h"

namespace iotwin::iommu {

using namespace sc_core;
using vtd::fault_reason;

namespace {
// CAP.ND for a count of domain IDs 2^(4 + 2*ND) (VT-d 3.x 11.4.2).
constexpr std::uint64_t nd_for(std::uint64_t domains) {
    std::uint64_t nd = 0;
    while (nd < 6 && (std::uint64_t(1) << (4 + 2 * nd)) < domains) ++nd;
    return nd;
}
constexpr std::uint64_t cap_value(unsigned fault_records, unsigned width, std::uint64_t domains, unsigned sllps, bool scalable,
                                  bool fl1gp) {
    // ND (platform.iommu.domains), SAGAW=the one level count of the width (3-level: bit 1, 4-level: bit 2),
    // MGAW=width - 1, FRO at FRCD_BASE, SLLPS (bits 37:34: bit 34 2 MiB, bit 35 1 GiB; VT-d 3.x
    // 11.4.2; Linux 6.1 include/linux/intel-iommu.h cap_super_page_val), NFR, PSI, MAMV=9.
    const std::uint64_t sagaw = width == 39 ? 0x2 : 0x4;
    return (nd_for(domains) << vtd::cap::ND_SHIFT) | (sagaw << 8) | (std::uint64_t(width - 1) << 16) |
           (std::uint64_t(vtd::reg::FRCD_BASE / 16) << 24) | (std::uint64_t(sllps & 3) << vtd::cap::SLLPS_SHIFT) | (1ull << 39) |
           (std::uint64_t(fault_records - 1) << 40) | (9ull << 48) |
           // Scalable mode: FL1GP when 1 GiB first-level pages are honoured; FL5LP clear (4-level first-level tables only).
           (std::uint64_t(scalable && fl1gp) << vtd::cap_bit::FL1GP);
}

iotlb_config tlb_config(const iommu_params& p) {
    iotlb_config c;
    c.entries = static_cast<unsigned>(p.iotlb_entries);
    c.ways = static_cast<unsigned>(p.iotlb_ways);
    c.policy = p.iotlb_replacement;
    c.seed = p.iotlb_seed;
    c.superpage_entries = static_cast<unsigned>(p.iotlb_superpage_entries);
    c.superpage_ways = static_cast<unsigned>(p.iotlb_superpage_ways);
    return c;
}
constexpr std::uint64_t ecap_value(bool scalable, bool interrupt_remapping, bool device_tlb, bool qi) {
    // IRO at IOTLB_BASE; C (coherent walks) set; PT supported; IR as configured
    // (xAPIC only: EIM clear, so IRTA.EIME is reserved).
    // Scalable mode: SMTS, FLTS, SLTS, PASID with PSS = 19 (20-bit PASIDs); no NEST, no SRS, no SMPWC.
    const std::uint64_t sm = (1ull << vtd::ecap_bit::SMTS) | (1ull << vtd::ecap_bit::FLTS) | (1ull << vtd::ecap_bit::SLTS) |
                             (1ull << vtd::ecap_bit::PASID) | (19ull << vtd::ecap_bit::PSS);
    return 1ull | (std::uint64_t(vtd::reg::IOTLB_BASE / 16) << 8) | (1ull << vtd::ecap_bit::PT) | (scalable ? sm : 0) |
           (interrupt_remapping ? vtd::ecap::IR : 0) |
           // DT (bit 2, Linux 6.1 ecap_dev_iotlb_support) as configured.
           (device_tlb ? 1ull << 2 : 0) |
           // QI (bit 1) when the unit has the invalidation queue.
           (qi ? vtd::qi::ECAP_QI : 0);
}
} // namespace

iommu::iommu(sc_module_name name, const iommu_params& p)
    : sc_module(name), in("in"), mem_out("mem_out"), regs("regs"), p_(p), bank_(vtd::reg::SIZE),
      tlb_(tlb_config(p)),
      psc_({static_cast<unsigned>(p.pde_cache_entries), static_cast<unsigned>(p.pdpe_cache_entries),
            static_cast<unsigned>(p.pml4_cache_entries)}),
      ctx_(static_cast<unsigned>(p.context_cache_entries)), recorder_(static_cast<unsigned>(p.fault_records)),
      sm_ctx_(static_cast<unsigned>(p.context_cache_entries)), pasid_cache_(static_cast<unsigned>(p.pasid_cache_entries)),
      walk_pool_(static_cast<unsigned>(p.pending_misses), static_cast<unsigned>(p.walkers)) {
    iec_ = lru_cache<std::uint32_t, irte_words>(static_cast<unsigned>(p.ir_entry_cache));
    in.register_b_transport(this, &iommu::b_transport);
    regs.register_b_transport(this, &iommu::regs_transport);
    in.register_get_direct_mem_ptr(this, &iommu::get_direct_mem_ptr);
    mem_out.register_invalidate_direct_mem_ptr(this, &iommu::memory_dmi_invalidated);
    using namespace vtd::reg;
    bank_.define({"VER_REG", VER, 4, 0x10});
    bank_.define({"CAP_REG", CAP, 8, cap_value(static_cast<unsigned>(p.fault_records), static_cast<unsigned>(p.address_width),
                                                 p.domains, static_cast<unsigned>(p.sllps), p.scalable, p.first_level_1g)});
    bank_.define({"ECAP_REG", ECAP, 8, ecap_value(p.scalable, p.interrupt_remapping, p.device_tlb, p.queued_invalidation)});
    bank_.define({"GCMD_REG", GCMD, 4, 0, 0xffffffffu}, [this](std::uint64_t, std::uint64_t v) { on_gcmd(v); });
    // TTM (bits 11:10) is writable only on a unit that reports SMTS (VT-d 3.x 11.4.5).
    bank_.define({"RTADDR_REG", RTADDR, 8, 0, ~std::uint64_t(0xfff) | (p.scalable ? vtd::sm::TTM_MASK : 0)});
    bank_.define({"CCMD_REG", CCMD, 8, 0, ~std::uint64_t(0)}, [this](std::uint64_t, std::uint64_t v) { on_ccmd(v); });
    bank_.define({"FECTL_REG", FECTL, 4, vtd::fectl::IM, vtd::fectl::IM});
    bank_.define({"FEDATA_REG", FEDATA, 4, 0, 0xffff});
    bank_.define({"FEADDR_REG", FEADDR, 4, 0, 0xfffffffc});
    bank_.define({"FEUADDR_REG", FEUADDR, 4, 0, 0xffffffff});
    // IRTA: address 63:12, EIME 11 (reserved without ECAP.EIM), S 3:0 (VT-d 3.x 11.4.12).
    bank_.define({"IRTA_REG", IRTA, 8, 0, vtd::irta::ADDR_MASK | vtd::irta::S_MASK});
    bank_.define({"IVA_REG", IOTLB_BASE, 8, 0, ~std::uint64_t(0xf80)});
    bank_.define({"IOTLB_REG", IOTLB_BASE + 8, 8, 0, ~std::uint64_t(0)}, [this](std::uint64_t, std::uint64_t v) { on_iotlb(v); });
    // Queued invalidation (VT-d 10.4.22-10.4.26): IQH is read-only to
    // software; IQA takes 128-bit descriptors only (DW reads 0: no scalable mode).
    bank_.define({"IQH_REG", IQH, 8, 0, 0});
    bank_.define({"IQT_REG", IQT, 8, 0, vtd::qi::INDEX_MASK});
    bank_.define({"IQA_REG", IQA, 8, 0, ~std::uint64_t(0xfff) | vtd::qi::IQA_QS_MASK});
    bank_.define({"ICS_REG", ICS, 4, 0, 0, vtd::qi::ICS_IWC});
    bank_.define({"IECTL_REG", IECTL, 4, vtd::qi::IECTL_IM, vtd::qi::IECTL_IM});
    bank_.define({"IEDATA_REG", IEDATA, 4, 0, 0xffff});
    bank_.define({"IEADDR_REG", IEADDR, 4, 0, 0xfffffffc});
    bank_.define({"IEUADDR_REG", IEUADDR, 4, 0, 0xffffffff});
}

// ---- translation -----------------------------------------------------------

void iommu::forward(tlm::tlm_generic_payload& gp, pcie::pcie_ext& ext, sc_time& delay) {
    mem_out.b_transport(gp, delay);
    // Memory's hint that it grants DMI is not the IOMMU's: b_transport sets
    // it again for the translated pages get_direct_mem_ptr would grant.
    gp.set_dmi_allowed(false);
    if (ext.status == pcie::completion::SC && !gp.is_response_ok()) ext.status = pcie::completion_of(gp.get_response_status());
}

void iommu::b_transport(tlm::tlm_generic_payload& gp, sc_time& delay) {
    auto* ext = gp.get_extension<pcie::pcie_ext>();
    if (!ext) {
        pcie::complete(gp, nullptr, pcie::completion::UR);
        return;
    }
    if (ext->kind == pcie::request_kind::msi) {
        remap_interrupt(gp, *ext, delay);
        return;
    }
    // passed_iommu: the request was checked against its requester's tables
    // (remapped or blocked). With translation off, or through a pass-through
    // context, it crossed the IOMMU without being isolated by it.
    if (ext->at != pcie::address_type::untranslated) {
        ats_request(gp, *ext, delay);
        return;
    }
    if (!translation_enabled()) {
        ++untranslated_;
        forward(gp, *ext, delay);
        return;
    }
    ext->passed_iommu = true;
    const std::uint64_t iova = gp.get_address();
    const bool write = gp.is_write();
    delay += p_.lookup_latency;
    outcome o;
    if (pcie::is_msi_address(iova)) {
        // A read of the interrupt window is not an interrupt; VT-d blocks it.
        o.ok = false;
        o.reason = fault_reason::read_not_permitted;
    } else if (root_ttm_ != vtd::sm::TTM_LEGACY) {
        o = translate_scalable(ext->requester_id, ext->pasid, iova, write, delay);
    } else if (ext->pasid) {
        // A legacy-mode root table has no PASID-granular entries (VT-d 3.x 7.1.3).
        o.ok = false;
        o.reason = fault_reason::sm_ttm0_request_with_pasid;
    } else {
        o = translate(ext->requester_id, iova, write, delay);
    }
    // A translation whose output falls in the interrupt address range is
    // blocked (fault 0xE, VT-d 3.x 3.14 and appendix A): DMA may never reach
    // the interrupt window through a mapping.
    if (o.ok && !o.pass_through) {
        const std::uint64_t out = o.t.frame << 12 | (iova & 0xfff);
        const std::uint64_t last = out + (gp.get_data_length() ? gp.get_data_length() - 1 : 0);
        if (last >= pcie::msi_window_base && out < pcie::msi_window_base + pcie::msi_window_size) {
            o.ok = false;
            o.reason = fault_reason::interrupt_address;
        }
    }
    if (!o.ok) {
        report_fault({ext->requester_id, iova, o.reason, !write, ext->pasid}, o.fpd, delay);
        ext->iommu_fault = true;
        ++blocked_;
        pcie::complete(gp, ext, pcie::completion::UR);
        return;
    }
    ++translated_;
    if (o.pass_through) ext->passed_iommu = false;
    gp.set_address(o.t.frame << 12 | (iova & 0xfff));
    forward(gp, *ext, delay);
    gp.set_address(iova);
    if (!o.pass_through && gp.is_response_ok()) gp.set_dmi_allowed(true);
}

// ---- registers ---------------------------------------------------------------

void iommu::regs_transport(tlm::tlm_generic_payload& gp, sc_time& delay) {
    // The registers belong to the host: a device's request (one that carries
    // a PCIe extension a CPU did not issue) is Unsupported and changes nothing,
    // whatever route brought it here.
    if (auto* ext = gp.get_extension<pcie::pcie_ext>(); ext && !ext->host) {
        ++device_register_requests_;
        pcie::complete(gp, ext, pcie::completion::UR);
        return;
    }
    if (const tlm::tlm_response_status refused = refused_payload_features(gp); refused != tlm::TLM_OK_RESPONSE) {
        gp.set_response_status(refused);
        return;
    }
    const std::uint64_t base_off = gp.get_address() & (vtd::reg::SIZE - 1);
    const auto off = static_cast<std::uint32_t>(base_off);
    const unsigned len = gp.get_data_length();
    // Registers are accessed as aligned DWORDs or QWORDs (VT-d 10.2).
    if ((len != 4 && len != 8) || (off & (len - 1))) {
        gp.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        return;
    }
    std::uint64_t v = 0;
    if (gp.is_read()) {
        v = reg_read(off, len);
        std::memcpy(gp.get_data_ptr(), &v, len);
    } else {
        std::memcpy(&v, gp.get_data_ptr(), len);
        reg_write(off, len, v);
        after_register_write(off, delay);
    }
    delay += p_.lookup_latency;
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

std::uint64_t iommu::reg_read(std::uint32_t off, unsigned len) const {
    std::uint64_t v = 0;
    if (fault_reg_read(off, len, v)) return off == vtd::reg::FSTS ? v | qi_fsts_ : v;
    if (off == vtd::reg::GSTS && len == 4) return gsts_;
    return bank_.read(off, len);
}

void iommu::reg_write(std::uint32_t off, unsigned len, std::uint64_t v) {
    // FSTS.IQE is write-1-to-clear (VT-d 10.4.9); clearing it lets the queue resume.
    if (off == vtd::reg::FSTS && len == 4 && (v & vtd::qi::FSTS_IQE)) qi_fsts_ &= ~vtd::qi::FSTS_IQE;
    if (fault_reg_write(off, len, v)) return;
    if (bank_.in_range(off, len)) bank_.write(off, len, v);
}

void iommu::on_gcmd(std::uint64_t value) {
    if (value & vtd::gcmd::SRTP) {
        root_table_ = bank_.get(vtd::reg::RTADDR, 8) & ~std::uint64_t(0xfff);
        root_ttm_ = (bank_.get(vtd::reg::RTADDR, 8) & vtd::sm::TTM_MASK) >> vtd::sm::TTM_SHIFT;
        gsts_ |= vtd::gsts::RTPS;
    }
    // Turning translation on or off changes every device's view of memory.
    if (bool(value & vtd::gcmd::TE) != translation_enabled()) revoke_all_dmi();
    if (value & vtd::gcmd::TE) gsts_ |= vtd::gsts::TES;
    else gsts_ &= ~vtd::gsts::TES;
    // QIE (VT-d 10.4.4): enabling starts the queue at IQH = 0; disabling
    // stops it (the model resets IQH then too). Ignored without ECAP.QI.
    const bool qie = (value & vtd::qi::GCMD_QIE) && p_.queued_invalidation;
    if (qie != bool(gsts_ & vtd::qi::GSTS_QIES)) {
        bank_.set(vtd::reg::IQH, 8, 0);
        gsts_ = qie ? gsts_ | vtd::qi::GSTS_QIES : gsts_ & ~vtd::qi::GSTS_QIES;
    }
    // Interrupt remapping (VT-d 3.x 11.4.4): only with ECAP.IR; IRE and CFI are
    // levels like TE (software writes every enable it keeps), SIRTP a one-shot.
    if (!p_.interrupt_remapping) return;
    if (value & vtd::gcmd::SIRTP) {
        irta_ = bank_.get(vtd::reg::IRTA, 8);
        gsts_ |= vtd::gsts::IRTPS;
        // The interrupt entry cache keeps what it holds: software follows SIRTP
        // with a global invalidation (VT-d 3.x 10.4.4), as Linux's qi_global_iec.
    }
    if (value & vtd::gcmd::IRE) gsts_ |= vtd::gsts::IRES;
    else gsts_ &= ~vtd::gsts::IRES;
    if (value & vtd::gcmd::CFI) gsts_ |= vtd::gsts::CFIS;
    else gsts_ &= ~vtd::gsts::CFIS;
}

void iommu::stats(stat_map& out) const {
    const std::string n = basename();
    add_stat(out, n, "iotlb_hits", tlb_.hits());
    add_stat(out, n, "iotlb_misses", tlb_.misses());
    add_stat(out, n, "iotlb_evictions", tlb_.evictions());
    add_stat(out, n, "context_cache_hits", ctx_.hits());
    add_stat(out, n, "iotlb_entries_4k", tlb_.valid_entries(order_4k));
    add_stat(out, n, "iotlb_entries_2m", tlb_.valid_entries(order_2m));
    add_stat(out, n, "iotlb_entries_1g", tlb_.valid_entries(order_1g));
    add_stat(out, n, "context_cache_misses", ctx_.misses());
    add_stat(out, n, "context_cache_evictions", ctx_.evictions());
    static const char* const psc_names[] = {"pde_cache", "pdpe_cache", "pml4_cache"};
    for (int level = 2; level <= 4; ++level) {
        const auto& c = psc_.at(level);
        const std::string pre = psc_names[level - 2];
        add_stat(out, n, (pre + "_hits").c_str(), c.hits);
        add_stat(out, n, (pre + "_misses").c_str(), c.misses);
        add_stat(out, n, (pre + "_evictions").c_str(), c.evictions);
    }
    add_stat(out, n, "page_walks", walks_);
    add_stat(out, n, "walk_reads", walk_reads_);
    add_stat(out, n, "walks_queued", walk_pool_.queued());
    add_stat(out, n, "walk_queue_ps", walk_pool_.queue_ps());
    add_stat(out, n, "walk_queue_max_ps", walk_pool_.max_queue_ps());
    add_stat(out, n, "walker_busy_ps", walk_pool_.walker_busy_ps());
    add_stat(out, n, "translated", translated_);
    add_stat(out, n, "untranslated", untranslated_);
    add_stat(out, n, "faults", faults_.size());
    add_stat(out, n, "blocked", blocked_);
    add_stat(out, n, "fault_interrupts", fault_interrupts_);
    add_stat(out, n, "msi_forwarded", msi_forwarded_);
    add_stat(out, n, "msi_remapped", msi_remapped_);
    add_stat(out, n, "msi_compat_passed", msi_compat_passed_);
    add_stat(out, n, "msi_blocked", msi_blocked_);
    add_stat(out, n, "interrupt_entry_invalidations", iec_invalidations_);
    add_stat(out, n, "interrupt_entry_cache_hits", iec_.hits());
    add_stat(out, n, "interrupt_entry_cache_misses", iec_.misses());
    add_stat(out, n, "device_register_requests", device_register_requests_);
    add_stat(out, n, "context_invalidations", ctx_invalidations_);
    add_stat(out, n, "iotlb_invalidations", iotlb_invalidations_);
    if (p_.scalable) sm_stats(out);
    add_stat(out, n, "ats_translation_requests", translation_requests_);
    add_stat(out, n, "ats_translated_passed", translated_passed_);
    add_stat(out, n, "device_tlb_invalidations", dtlb_sent_);
    add_stat(out, n, "device_tlb_completions", dtlb_completed_);
    add_stat(out, n, "queued_descriptors", qi_descriptors_);
    add_stat(out, n, "invalidation_waits", qi_waits_);
    add_stat(out, n, "invalidation_queue_errors", qi_errors_);
    add_stat(out, n, "invalidation_events", invalidation_events_);
    add_stat(out, n, "register_invalidations_ignored", register_invalidations_ignored_);
    add_stat(out, n, "dmi_granted", dmi_granted_);
    add_stat(out, n, "dmi_refused", dmi_refused_);
    add_stat(out, n, "dmi_revoked", dmi_revoked_);
}

} // namespace iotwin::iommu
