// Interrupt remapping: what becomes of an interrupt message a device sends
// (VT-d 3.x chapter 5, 9.10; registers 11.4.4, 11.4.5, 11.4.12).
//
// With GSTS.IRES clear a message passes as it is (compatibility format, no
// isolation: any device may name any vector and destination). With IRES set:
// a remappable-format message (address bit 4) is looked up by its handle
// (plus the subhandle when SHV) in the table IRTA gives; the entry's vector
// and destination replace what the device wrote, after the entry's source-ID
// check. A compatibility-format message is blocked (fault 0x25) unless
// GSTS.CFIS. A blocked message never reaches the interrupt controller: it is
// recorded in the primary fault log (FI bits 63:48 = the index) unless the
// entry's FPD suppresses it, and completed with Unsupported Request.
// The interrupt entry cache (`ir.entry_cache` entries) holds valid IRTEs
// once read: software that changes an entry must invalidate it (queued
// descriptor 0x4, global or index-selective), or the unit goes on using the
// old one (VT-d 3.x 6.5.2.7).
#include "models/iommu/interrupt_remap.h"

#include <cstring>

#include "models/iommu/iommu.h"

namespace iotwin::iommu {

using namespace sc_core;
using vtd::fault_reason;

irte irte::decode(std::uint64_t lo, std::uint64_t hi) {
    irte e;
    e.present = lo & vtd::irte::P;
    e.fpd = lo & vtd::irte::FPD;
    e.logical = lo & vtd::irte::DM;
    e.redirection_hint = lo & vtd::irte::RH;
    e.level = lo & vtd::irte::TM;
    e.delivery_mode = static_cast<unsigned>((lo >> vtd::irte::DLM_SHIFT) & 7);
    e.vector = static_cast<std::uint8_t>(lo >> vtd::irte::VECTOR_SHIFT);
    e.destination = static_cast<std::uint8_t>(lo >> (vtd::irte::DST_SHIFT + 8));
    e.sid = static_cast<std::uint16_t>(hi & 0xffff);
    e.sq = static_cast<unsigned>((hi >> vtd::irte::SQ_SHIFT) & 3);
    e.svt = static_cast<vtd::irte::svt>((hi >> vtd::irte::SVT_SHIFT) & 3);
    return e;
}

std::uint64_t irte::lo() const {
    return (present ? vtd::irte::P : 0) | (fpd ? vtd::irte::FPD : 0) | (logical ? vtd::irte::DM : 0) |
           (redirection_hint ? vtd::irte::RH : 0) | (level ? vtd::irte::TM : 0) |
           std::uint64_t(delivery_mode & 7) << vtd::irte::DLM_SHIFT | std::uint64_t(vector) << vtd::irte::VECTOR_SHIFT |
           std::uint64_t(destination) << (vtd::irte::DST_SHIFT + 8);
}

std::uint64_t irte::hi() const {
    return sid | std::uint64_t(sq & 3) << vtd::irte::SQ_SHIFT | std::uint64_t(static_cast<unsigned>(svt) & 3) << vtd::irte::SVT_SHIFT;
}

bool irte_reserved(std::uint64_t lo, std::uint64_t hi) {
    return (lo & (vtd::irte::reserved_lo_xapic | vtd::irte::IM)) || (hi & vtd::irte::reserved_hi) ||
           ((hi >> vtd::irte::SVT_SHIFT) & 3) == 3;
}

bool irte_source_ok(const irte& e, std::uint16_t requester) {
    switch (e.svt) {
    case vtd::irte::svt::none: return true;
    case vtd::irte::svt::requester_id: {
        // SQ: 0 all 16 bits; 1 ignore function bit 2; 2 ignore bits 2:1; 3 ignore bits 2:0.
        static constexpr std::uint16_t ignore[] = {0, 0x4, 0x6, 0x7};
        const std::uint16_t mask = static_cast<std::uint16_t>(~ignore[e.sq & 3]);
        return (requester & mask) == (e.sid & mask);
    }
    case vtd::irte::svt::bus_range: {
        const unsigned bus = requester >> 8;
        return bus >= (e.sid >> 8) && bus <= (e.sid & 0xffu);
    }
    case vtd::irte::svt::reserved: break;
    }
    return false;
}

void iommu::block_interrupt(tlm::tlm_generic_payload& gp, pcie::pcie_ext& ext, fault_reason why, std::uint32_t index,
                            bool fpd, sc_time& delay) {
    report_fault({ext.requester_id, std::uint64_t(index) << 48, why, false}, fpd, delay);
    ext.iommu_fault = true;
    ++msi_blocked_;
    ++blocked_;
    pcie::complete(gp, &ext, pcie::completion::UR);
}

void iommu::remap_interrupt(tlm::tlm_generic_payload& gp, pcie::pcie_ext& ext, sc_time& delay) {
    if (!interrupt_remapping_enabled()) {
        ++msi_forwarded_;
        forward(gp, ext, delay);
        return;
    }
    const std::uint64_t a = gp.get_address();
    // Only a DWORD write is an interrupt request; anything else goes on to
    // the interrupt controller, which answers it as malformed.
    if (gp.get_data_length() != 4 || !gp.get_data_ptr() || gp.get_byte_enable_ptr()) {
        forward(gp, ext, delay);
        return;
    }
    std::uint32_t data;
    std::memcpy(&data, gp.get_data_ptr(), 4);
    if (!(a & vtd::msi::REMAPPABLE)) {
        if (gsts_ & vtd::gsts::CFIS) {
            ++msi_compat_passed_;
            forward(gp, ext, delay);
            return;
        }
        block_interrupt(gp, ext, fault_reason::ir_compatibility_blocked, 0, false, delay);
        return;
    }
    // Remappable format (VT-d 3.x 5.1.5.2): handle, plus the subhandle in data 15:0 with SHV.
    std::uint32_t index = vtd::msi::handle(a);
    if (a & vtd::msi::SHV) {
        if (data >> 16) {  // data bits 31:16 are reserved with SHV
            block_interrupt(gp, ext, fault_reason::ir_request_reserved, index, false, delay);
            return;
        }
        index = (index + (data & 0xffff)) & 0xffff;
    }
    const std::uint64_t entries = std::uint64_t(2) << (irta_ & vtd::irta::S_MASK);
    if (!(gsts_ & vtd::gsts::IRTPS) || index >= entries) {
        block_interrupt(gp, ext, fault_reason::ir_index_beyond_size, index, false, delay);
        return;
    }
    std::uint64_t lo = 0, hi = 0;
    delay += p_.lookup_latency;
    if (const irte_words* cached = iec_.lookup(index)) {
        lo = cached->lo;
        hi = cached->hi;
    } else {
        const std::uint64_t at = (irta_ & vtd::irta::ADDR_MASK) + std::uint64_t(index) * 16;
        if (!read_qword(at, lo, delay) || !read_qword(at + 8, hi, delay)) {
            block_interrupt(gp, ext, fault_reason::ir_table_access, index, false, delay);
            return;
        }
        // Only a valid entry is cached: one not present or with reserved bits is read again.
        if ((lo & vtd::irte::P) && !irte_reserved(lo, hi)) iec_.insert(index, {lo, hi});
    }
    const irte e = irte::decode(lo, hi);
    // FPD suppresses the recording of 0x22, 0x24 and 0x26, which need the entry (VT-d 3.x 9.10).
    if (!e.present) { block_interrupt(gp, ext, fault_reason::ir_entry_not_present, index, e.fpd, delay); return; }
    if (irte_reserved(lo, hi)) { block_interrupt(gp, ext, fault_reason::ir_entry_reserved, index, e.fpd, delay); return; }
    if (!irte_source_ok(e, ext.requester_id)) {
        block_interrupt(gp, ext, fault_reason::ir_source_id_invalid, index, e.fpd, delay);
        return;
    }
    // The remapped message in compatibility format (Intel SDM vol. 3A 10.11):
    // destination in address 19:12, RH bit 3, DM bit 2; vector, delivery and trigger mode in the data.
    const std::uint64_t out_addr = pcie::msi_window_base | std::uint64_t(e.destination) << 12 |
                                   (e.redirection_hint ? 1u << 3 : 0u) | (e.logical ? 1u << 2 : 0u);
    std::uint32_t out_data = e.vector | e.delivery_mode << 8 | (e.level ? 1u << 15 : 0u);
    unsigned char* const device_data = gp.get_data_ptr();
    gp.set_address(out_addr);
    gp.set_data_ptr(reinterpret_cast<unsigned char*>(&out_data));
    ++msi_remapped_;
    forward(gp, ext, delay);
    gp.set_data_ptr(device_data);
    gp.set_address(a);
}

void iommu::invalidate_interrupt_entries(bool global, unsigned index, unsigned index_mask) {
    // Index-selective: the 2^IM entries of the naturally aligned block holding `index` (VT-d 3.x 6.5.2.7).
    const unsigned shift = index_mask & 0x1f;
    if (global) iec_.invalidate_all();
    else iec_.drop_if([&](std::uint32_t i, const irte_words&) { return (i >> shift) == (index >> shift); });
    ++iec_invalidations_;
}

} // namespace iotwin::iommu
