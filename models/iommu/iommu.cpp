#include "models/iommu/iommu.h"

#include <cstring>

#include "models/pcie/protocol.h"
#include "models/common/payload.h"

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
constexpr std::uint64_t ecap_value() {
    // IRO at IOTLB_BASE; C (coherent walks) set; no DT, no IR, no QI, PT supported.
    return 1ull | (std::uint64_t(vtd::reg::IOTLB_BASE / 16) << 8) | (1ull << 6);
}
} // namespace

iommu::iommu(sc_module_name name, const iommu_params& p)
    : sc_module(name), in("in"), mem_out("mem_out"), regs("regs"), p_(p), bank_(vtd::reg::SIZE),
      tlb_(static_cast<unsigned>(p.iotlb_entries), static_cast<unsigned>(p.iotlb_ways)),
      ctx_(static_cast<unsigned>(p.context_cache_entries)), recorder_(static_cast<unsigned>(p.fault_records)) {
    in.register_b_transport(this, &iommu::b_transport);
    regs.register_b_transport(this, &iommu::regs_transport);
    using namespace vtd::reg;
    bank_.define({"VER_REG", VER, 4, 0x10});
    bank_.define({"CAP_REG", CAP, 8, cap_value(static_cast<unsigned>(p.fault_records), static_cast<unsigned>(p.address_width))});
    bank_.define({"ECAP_REG", ECAP, 8, ecap_value()});
    bank_.define({"GCMD_REG", GCMD, 4, 0, 0xffffffffu}, [this](std::uint64_t, std::uint64_t v) { on_gcmd(v); });
    bank_.define({"RTADDR_REG", RTADDR, 8, 0, ~std::uint64_t(0xfff)});
    bank_.define({"CCMD_REG", CCMD, 8, 0, ~std::uint64_t(0)}, [this](std::uint64_t, std::uint64_t v) { on_ccmd(v); });
    bank_.define({"FECTL_REG", FECTL, 4, vtd::fectl::IM, vtd::fectl::IM});
    bank_.define({"FEDATA_REG", FEDATA, 4, 0, 0xffff});
    bank_.define({"FEADDR_REG", FEADDR, 4, 0, 0xfffffffc});
    bank_.define({"FEUADDR_REG", FEUADDR, 4, 0, 0xffffffff});
    bank_.define({"IVA_REG", IOTLB_BASE, 8, 0, ~std::uint64_t(0xf80)});
    bank_.define({"IOTLB_REG", IOTLB_BASE + 8, 8, 0, ~std::uint64_t(0)}, [this](std::uint64_t, std::uint64_t v) { on_iotlb(v); });
}

// ---- translation -----------------------------------------------------------

void iommu::forward(tlm::tlm_generic_payload& gp, sc_time& delay) {
    mem_out->b_transport(gp, delay);
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
        ++msi_forwarded_;
        forward(gp, delay);
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
}

iommu::outcome iommu::translate(std::uint16_t sid, std::uint64_t iova, bool write, sc_time& delay) {
    outcome o;
    context c;
    if (const context* cached = ctx_.lookup(sid)) {
        c = *cached;
    } else if (!fetch_context(sid, c, o.reason, delay)) {
        o.ok = false;
        return o;
    } else {
        ctx_.insert(sid, c);
    }
    o.fpd = c.fault_processing_disable;
    if (c.translation_type == vtd::entry::TT_PASS_THROUGH) {
        o.t = {iova >> 12, true, true};
        o.pass_through = true;
        return o;
    }
    if (iova >> p_.address_width) {
        o.ok = false;
        o.reason = fault_reason::address_beyond_mgaw;
        return o;
    }
    const std::uint64_t page = iova >> 12;
    if (const translation* t = tlb_.lookup(c.did, page)) {
        o.t = *t;
    } else if (walk(c, iova, o.t, o.reason, write, delay)) {
        tlb_.insert(c.did, page, o.t);
    } else {
        o.ok = false;
        return o;
    }
    if (write ? !o.t.write : !o.t.read) {
        o.ok = false;
        o.reason = write ? fault_reason::write_not_permitted : fault_reason::read_not_permitted;
    }
    return o;
}

bool iommu::read_qword(std::uint64_t addr, std::uint64_t& v, sc_time& delay) {
    std::uint8_t buf[8];
    tlm::tlm_generic_payload gp;
    prepare(gp, tlm::TLM_READ_COMMAND, addr, buf, 8);
    mem_out->b_transport(gp, delay);
    ++walk_reads_;
    if (!gp.is_response_ok()) return false;
    std::memcpy(&v, buf, 8);
    return true;
}

bool iommu::fetch_context(std::uint16_t sid, context& c, fault_reason& why, sc_time& delay) {
    if (!(gsts_ & vtd::gsts::RTPS)) { why = fault_reason::root_table_invalid; return false; }
    std::uint64_t root_lo, ctx_lo, ctx_hi;
    if (!read_qword(root_table_ + (sid >> 8) * 16, root_lo, delay)) { why = fault_reason::root_table_invalid; return false; }
    if (!(root_lo & vtd::entry::P)) { why = fault_reason::root_not_present; return false; }
    const std::uint64_t ce = (root_lo & vtd::entry::ADDR_MASK) + (sid & 0xff) * 16;
    if (!read_qword(ce, ctx_lo, delay) || !read_qword(ce + 8, ctx_hi, delay)) {
        why = fault_reason::context_invalid;
        return false;
    }
    c.present = ctx_lo & vtd::entry::P;
    c.fault_processing_disable = ctx_lo & vtd::entry::FPD;
    if (!c.present) { why = fault_reason::context_not_present; return false; }
    c.translation_type = (ctx_lo >> vtd::entry::TT_SHIFT) & 3;
    c.slptptr = ctx_lo & vtd::entry::ADDR_MASK;
    c.aw = static_cast<unsigned>(ctx_hi & 7);
    c.did = static_cast<std::uint16_t>((ctx_hi >> 8) & 0xffff);
    const bool tt_ok = c.translation_type == vtd::entry::TT_UNTRANSLATED || c.translation_type == vtd::entry::TT_PASS_THROUGH;
    if (!tt_ok || (c.translation_type == vtd::entry::TT_UNTRANSLATED && c.aw != vtd::aw_for(static_cast<unsigned>(p_.address_width)))) {
        why = fault_reason::context_invalid;
        return false;
    }
    return true;
}

bool iommu::walk(const context& c, std::uint64_t iova, translation& t, fault_reason& why, bool write, sc_time& delay) {
    ++walks_;
    std::uint64_t table = c.slptptr;
    // R and W apply to everything below an entry: the leaf grants only what
    // every level above it grants too (VT-d 3.x 3.7).
    bool read = true, write_ok = true;
    for (int level = static_cast<int>(vtd::levels_for(static_cast<unsigned>(p_.address_width))); level >= 1; --level) {
        const unsigned shift = 12 + 9 * (level - 1);
        const std::uint64_t index = (iova >> shift) & 0x1ff;
        std::uint64_t e;
        occupy(walker_, delay, p_.walk_step_latency);
        if (!read_qword(table + index * 8, e, delay)) { why = fault_reason::paging_entry_access; return false; }
        if (!(e & (vtd::entry::R | vtd::entry::W))) {
            why = write ? fault_reason::write_not_permitted : fault_reason::read_not_permitted;
            return false;
        }
        read = read && (e & vtd::entry::R);
        write_ok = write_ok && (e & vtd::entry::W);
        const bool leaf = level == 1 || ((level == 2 || level == 3) && (e & vtd::entry::PS));
        if (leaf) {
            const std::uint64_t page_mask = (std::uint64_t(1) << shift) - 1;
            const std::uint64_t base = e & vtd::entry::ADDR_MASK & ~page_mask;
            if ((e & vtd::entry::ADDR_MASK) & page_mask) { why = fault_reason::reserved_paging; return false; }
            t.frame = (base | (iova & page_mask)) >> 12;
            t.read = read;
            t.write = write_ok;
            return true;
        }
        if (level == 4 && (e & vtd::entry::PS)) { why = fault_reason::reserved_paging; return false; }
        table = e & vtd::entry::ADDR_MASK;
    }
    why = fault_reason::paging_entry_access;
    return false;
}

void iommu::report_fault(const fault_record& f, bool fpd, sc_time& delay) {
    fault_event ev{f, sc_time_stamp() + delay, false};
    // A fault event is generated only when PPF goes from clear to set (VT-d 7.3.1).
    const bool was_pending = recorder_.pending();
    if (!fpd) ev.logged = recorder_.record(f);
    faults_.push_back(ev);
    const auto fectl = static_cast<std::uint32_t>(bank_.get(vtd::reg::FECTL, 4));
    if (!ev.logged || was_pending || (fectl & vtd::fectl::IP)) return;
    if (fectl & vtd::fectl::IM) {
        bank_.set(vtd::reg::FECTL, 4, fectl | vtd::fectl::IP);  // pending until unmasked
        return;
    }
    // Fault event interrupt: the message software programmed in FEDATA/FEADDR.
    const std::uint64_t addr = bank_.get(vtd::reg::FEADDR, 4) | bank_.get(vtd::reg::FEUADDR, 4) << 32;
    std::uint32_t data = static_cast<std::uint32_t>(bank_.get(vtd::reg::FEDATA, 4));
    tlm::tlm_generic_payload gp;
    prepare(gp, tlm::TLM_WRITE_COMMAND, addr, &data, 4);
    mem_out->b_transport(gp, delay);
    ++fault_interrupts_;
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
    }
    delay += p_.lookup_latency;
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

std::uint64_t iommu::reg_read(std::uint32_t off, unsigned len) const {
    using namespace vtd::reg;
    if (off >= FRCD_BASE && off < FRCD_BASE + 16 * recorder_.size()) {
        const unsigned i = (off - FRCD_BASE) / 16;
        const std::uint64_t q = (off - FRCD_BASE) % 16 < 8 ? recorder_.low(i) : recorder_.high(i);
        return len == 8 ? q : (off % 8 ? q >> 32 : q & 0xffffffffu);
    }
    if (off == FSTS && len == 4) return recorder_.status();
    if (off == GSTS && len == 4) return gsts_;
    return bank_.read(off, len);
}

void iommu::reg_write(std::uint32_t off, unsigned len, std::uint64_t v) {
    using namespace vtd::reg;
    if (off >= FRCD_BASE && off < FRCD_BASE + 16 * recorder_.size()) {
        // F (bit 127) is write-1-to-clear; everything else in a record is read-only.
        const unsigned i = (off - FRCD_BASE) / 16, q = (off - FRCD_BASE) % 16;
        const bool f_written = (q == 8 && len == 8 && (v >> 63)) || (q == 12 && len == 4 && (v >> 31));
        if (f_written) recorder_.clear(i);
        return;
    }
    if (off == FSTS && len == 4) {
        if (v & vtd::fsts::PFO) recorder_.clear_overflow();
        return;
    }
    if (off == FECTL && len == 4) {
        const auto before = static_cast<std::uint32_t>(bank_.get(FECTL, 4));
        bank_.write(off, len, v);
        const auto after = static_cast<std::uint32_t>(bank_.get(FECTL, 4));
        // Unmasking with a pending event clears IP (the interrupt is sent by the
        // next fault; VT-d sends the pending one, which this model counts only).
        if ((before & vtd::fectl::IM) && !(after & vtd::fectl::IM)) bank_.set(FECTL, 4, after & ~vtd::fectl::IP);
        return;
    }
    if (bank_.in_range(off, len)) bank_.write(off, len, v);
}

void iommu::on_gcmd(std::uint64_t value) {
    if (value & vtd::gcmd::SRTP) {
        root_table_ = bank_.get(vtd::reg::RTADDR, 8) & ~std::uint64_t(0xfff);
        gsts_ |= vtd::gsts::RTPS;
    }
    if (value & vtd::gcmd::TE) gsts_ |= vtd::gsts::TES;
    else gsts_ &= ~vtd::gsts::TES;
}

void iommu::on_ccmd(std::uint64_t value) {
    if (!(value & vtd::ccmd::ICC)) return;
    const auto g = static_cast<vtd::invalidation_granularity>((value >> vtd::ccmd::CIRG_SHIFT) & 3);
    const auto did = static_cast<std::uint16_t>(value & 0xffff);
    const auto sid = static_cast<std::uint16_t>((value >> 16) & 0xffff);
    if (g == vtd::invalidation_granularity::domain) ctx_.invalidate_domain(did);
    else if (g == vtd::invalidation_granularity::device_or_page) ctx_.invalidate_device(sid);
    else ctx_.invalidate_all();
    ++ctx_invalidations_;
    // Completed at once: ICC reads back 0, CAIG reports the granularity performed.
    bank_.set(vtd::reg::CCMD, 8, (value & ~vtd::ccmd::ICC & ~(3ull << vtd::ccmd::CAIG_SHIFT)) |
                                     (std::uint64_t(g) << vtd::ccmd::CAIG_SHIFT));
}

void iommu::on_iotlb(std::uint64_t value) {
    if (!(value & vtd::iotlb_cmd::IVT)) return;
    const auto g = static_cast<vtd::invalidation_granularity>((value >> vtd::iotlb_cmd::IIRG_SHIFT) & 3);
    const auto did = static_cast<std::uint16_t>((value >> vtd::iotlb_cmd::DID_SHIFT) & 0xffff);
    const std::uint64_t iva = bank_.get(vtd::reg::IOTLB_BASE, 8);
    if (g == vtd::invalidation_granularity::domain) tlb_.invalidate_domain(did);
    else if (g == vtd::invalidation_granularity::device_or_page) tlb_.invalidate_pages(did, iva >> 12, static_cast<unsigned>(iva & 0x3f));
    else tlb_.invalidate_all();
    ++iotlb_invalidations_;
    bank_.set(vtd::reg::IOTLB_BASE + 8, 8, (value & ~vtd::iotlb_cmd::IVT & ~(3ull << vtd::iotlb_cmd::IAIG_SHIFT)) |
                                               (std::uint64_t(g) << vtd::iotlb_cmd::IAIG_SHIFT));
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
}

} // namespace iotwin::iommu
