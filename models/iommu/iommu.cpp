#include "models/iommu/iommu.h"

#include <cstring>

#include "models/pcie/protocol.h"
#include "models/common/payload.h"
#include "models/iommu/invalidation_queue.h"

namespace iotwin::iommu {

using namespace sc_core;
using vtd::fault_reason;

namespace {
constexpr std::uint64_t cap_value(unsigned fault_records, unsigned width) {
    // ND=2 (256 domains), SAGAW=the one level count of the width (3-level: bit 1, 4-level: bit 2),
    // MGAW=width - 1, FRO at FRCD_BASE, NFR, PSI, MAMV=9.
    const std::uint64_t sagaw = width == 39 ? 0x2 : 0x4;
    return 2ull | (sagaw << 8) | (std::uint64_t(width - 1) << 16) | (std::uint64_t(vtd::reg::FRCD_BASE / 16) << 24) |
           (1ull << 39) | (std::uint64_t(fault_records - 1) << 40) | (9ull << 48);
}
constexpr std::uint64_t ecap_value(bool qi) {
    // IRO at IOTLB_BASE; C (coherent walks) set; no DT, no IR, PT supported;
    // QI (bit 1) when the unit has the invalidation queue.
    return 1ull | (std::uint64_t(vtd::reg::IOTLB_BASE / 16) << 8) | (1ull << 6) | (qi ? vtd::qi::ECAP_QI : 0);
}
} // namespace

iommu::iommu(sc_module_name name, const iommu_params& p)
    : sc_module(name), in("in"), mem_out("mem_out"), regs("regs"), p_(p), bank_(vtd::reg::SIZE),
      tlb_(static_cast<unsigned>(p.iotlb_entries), static_cast<unsigned>(p.iotlb_ways)),
      ctx_(static_cast<unsigned>(p.context_cache_entries)), recorder_(static_cast<unsigned>(p.fault_records)) {
    in.register_b_transport(this, &iommu::b_transport);
    regs.register_b_transport(this, &iommu::regs_transport);
    in.register_get_direct_mem_ptr(this, &iommu::get_direct_mem_ptr);
    mem_out.register_invalidate_direct_mem_ptr(this, &iommu::memory_dmi_invalidated);
    using namespace vtd::reg;
    bank_.define({"VER_REG", VER, 4, 0x10});
    bank_.define({"CAP_REG", CAP, 8, cap_value(static_cast<unsigned>(p.fault_records), static_cast<unsigned>(p.address_width))});
    bank_.define({"ECAP_REG", ECAP, 8, ecap_value(p.queued_invalidation)});
    bank_.define({"GCMD_REG", GCMD, 4, 0, 0xffffffffu}, [this](std::uint64_t, std::uint64_t v) { on_gcmd(v); });
    bank_.define({"RTADDR_REG", RTADDR, 8, 0, ~std::uint64_t(0xfff)});
    bank_.define({"CCMD_REG", CCMD, 8, 0, ~std::uint64_t(0)}, [this](std::uint64_t, std::uint64_t v) { on_ccmd(v); });
    bank_.define({"FECTL_REG", FECTL, 4, vtd::fectl::IM, vtd::fectl::IM});
    bank_.define({"FEDATA_REG", FEDATA, 4, 0, 0xffff});
    bank_.define({"FEADDR_REG", FEADDR, 4, 0, 0xfffffffc});
    bank_.define({"FEUADDR_REG", FEUADDR, 4, 0, 0xffffffff});
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

void iommu::forward(tlm::tlm_generic_payload& gp, sc_time& delay) {
    mem_out->b_transport(gp, delay);
    // Memory's hint that it grants DMI is not the IOMMU's: b_transport sets
    // it again for the translated pages get_direct_mem_ptr would grant.
    gp.set_dmi_allowed(false);
    if (auto* ext = gp.get_extension<pcie::pcie_ext>(); ext && ext->status == pcie::completion::SC)
        ext->status = pcie::completion_of(gp.get_response_status());
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
    if (!translation_enabled()) {
        ++untranslated_;
        forward(gp, delay);
        return;
    }
    ext->passed_iommu = true;
    const std::uint64_t iova = gp.get_address();
    const bool write = gp.is_write();
    delay += p_.lookup_latency;
    outcome o;
    if (ext->at != pcie::address_type::untranslated) {
        o.ok = false;
        o.reason = fault_reason::translation_type_blocked;
    } else if (pcie::is_msi_address(iova)) {
        // A read of the interrupt window is not an interrupt; VT-d blocks it.
        o.ok = false;
        o.reason = fault_reason::read_not_permitted;
    } else {
        o = translate(ext->requester_id, iova, write, delay);
        check_evictions();
    }
    if (!o.ok) {
        report_fault({ext->requester_id, iova, o.reason, !write}, o.fpd, delay);
        ext->iommu_fault = true;
        ++blocked_;
        pcie::complete(gp, ext, pcie::completion::UR);
        return;
    }
    ++translated_;
    if (o.pass_through) ext->passed_iommu = false;
    gp.set_address(o.t.frame << 12 | (iova & 0xfff));
    forward(gp, delay);
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
}

void iommu::stats(stat_map& out) const {
    const std::string n = basename();
    add_stat(out, n, "iotlb_hits", tlb_.hits());
    add_stat(out, n, "iotlb_misses", tlb_.misses());
    add_stat(out, n, "iotlb_evictions", tlb_.evictions());
    add_stat(out, n, "context_cache_hits", ctx_.hits());
    add_stat(out, n, "context_cache_misses", ctx_.misses());
    add_stat(out, n, "page_walks", walks_);
    add_stat(out, n, "walk_reads", walk_reads_);
    add_stat(out, n, "translated", translated_);
    add_stat(out, n, "untranslated", untranslated_);
    add_stat(out, n, "faults", faults_.size());
    add_stat(out, n, "blocked", blocked_);
    add_stat(out, n, "fault_interrupts", fault_interrupts_);
    add_stat(out, n, "msi_forwarded", msi_forwarded_);
    add_stat(out, n, "device_register_requests", device_register_requests_);
    add_stat(out, n, "context_invalidations", ctx_invalidations_);
    add_stat(out, n, "iotlb_invalidations", iotlb_invalidations_);
    add_stat(out, n, "device_tlb_invalidations", devtlb_invalidations_);
    add_stat(out, n, "interrupt_entry_invalidations", iec_invalidations_);
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
