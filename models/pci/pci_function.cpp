#include "models/pci/pci_function.h"
#include "models/common/payload.h"
#include "models/common/ns_time.h"


#include <algorithm>
#include <cstring>

namespace iotwin::pci {

using namespace sc_core;

namespace {
// MSI capability (PCIe 5.0 7.7.1): the layout with a 64-bit address; a 32-bit
// one has no Upper Address and everything after it 4 bytes earlier.
constexpr std::uint32_t msi_ctrl = 2, msi_addr_lo = 4, msi_addr_hi = 8, msi_data = 12, msi_mask = 16, msi_pending = 20;
constexpr std::uint16_t msi_enable = 1 << 0, msi_64bit = 1 << 7, msi_pvm = 1 << 8;
// MSI-X capability (PCIe 5.0 7.7.2) and its table entries (7.7.2.5-7.7.2.9).
constexpr std::uint32_t msix_ctrl = 2, msix_table = 4, msix_pba = 8;
constexpr std::uint16_t msix_enable = 1 << 15, msix_function_mask = 1 << 14;
constexpr std::uint32_t msix_entry_size = 16, msix_vector_masked = 1;
unsigned log2u(unsigned v) { unsigned l = 0; while ((1u << l) < v) ++l; return l; }
} // namespace

pci_function::pci_function(sc_module_name name, const function_params& p)
    : sc_module(name), pcie_in("pcie_in"), pcie_out("pcie_out"), p_(p), read_slots_(p.read_tags), posted_slots_(p.posted_credits),
      request_(std::make_unique<tlm::tlm_generic_payload>()) {
    request_ext_ = new pcie::pcie_ext;
    request_->set_extension(request_ext_);  // owned by the payload from now on
    pcie_in.register_b_transport(this, &pci_function::b_transport);
    pcie_out.register_invalidate_direct_mem_ptr(this, &pci_function::dmi_invalidated);
    const bool bridge = p.pcie && (*p.pcie == port_type::root_port || *p.pcie == port_type::upstream_port ||
                                   *p.pcie == port_type::downstream_port || *p.pcie == port_type::pcie_to_pci_bridge);
    const bool type1 = bridge || (p.class_code >> 8) == 0x0604;
    if (type1) cfg_.define_type1(p.vendor, p.device, p.class_code, p.multifunction);
    else cfg_.define_type0(p.vendor, p.device, p.class_code, p.multifunction, p.interrupt_pin);
    // Latency Timer does not apply to PCI Express: hardwired to 0 (PCIe 5.0 7.5.1.1.8).
    if (!type1 && p.pcie) cfg_.set_wmask(cfg::latency_timer, 1, 0);
    for (const bar_desc& b : p.bars) cfg_.define_bar(b);
    if (!type1 && p.rom_size) cfg_.define_rom(p.rom_size);
    if (p.power_management) define_pm();
    if (p.pcie) define_pcie();
    if (p.msi_vectors) define_msi();
    if (p.msix && p.msix->vectors) define_msix();
    if (p.acs) define_acs();
    if (p.ats) define_ats();
    if (p.sriov) define_sriov();
}

sc_time& pci_function::local_time() {
    static thread_local sc_time scratch;
    if (now_) return *now_;
    scratch = SC_ZERO_TIME;
    return scratch;
}

void pci_function::define_pm() {
    // PCI PM 1.2: PMC version 011b (1.2), no D1/D2, no PME; PMCSR PowerState
    // RW (D0 or D3hot: a write of D1/D2 is discarded, 7.1.3 / 5.4), No_Soft_Reset
    // RO, PME_Status RW1C (never set: no PME).
    pm_cap_ = cfg_.add_capability(cap_id::power_management, 8);
    const std::uint32_t c = *pm_cap_;
    cfg_.define({"PM_CAPABILITIES", c + pm_reg::pmc, 2, 0x3});
    cfg_.define({"PM_CONTROL_STATUS", c + pm_reg::pmcsr, 2, p_.no_soft_reset ? pm_reg::pmcsr_no_soft_reset : 0u, pm_reg::pmcsr_state, pm_reg::pmcsr_pme_status},
                [this, c](std::uint64_t old_v, std::uint64_t new_v) {
                    const auto from = static_cast<std::uint16_t>(old_v & pm_reg::pmcsr_state), to = static_cast<std::uint16_t>(new_v & pm_reg::pmcsr_state);
                    if (to != pm_reg::d0 && to != pm_reg::d3hot) {  // unsupported state: the data is discarded, no state change
                        cfg_.set(c + pm_reg::pmcsr, 2, (new_v & ~std::uint64_t(pm_reg::pmcsr_state)) | from);
                        return;
                    }
                    // D3hot -> D0 without No_Soft_Reset: an internal reset to
                    // D0uninitialized, the function's state as after FLR (PM 1.2 5.4.1, 5.6.1).
                    if (from == pm_reg::d3hot && to == pm_reg::d0 && !p_.no_soft_reset) function_level_reset();
                });
    cfg_.define({"PM_BRIDGE_SUPPORT_EXT", c + 6, 1, 0});
    cfg_.define({"PM_DATA", c + 7, 1, 0});
}


void pci_function::define_acs() {
    // Egress Control Vector Size 0 (one bit) when EC is implemented.
    const bool ec = p_.acs->cap & acs_bits::EC;
    acs_cap_ = cfg_.add_ext_capability(ext_cap_id::acs, 1, ec ? 12 : 8);
    const std::uint32_t c = *acs_cap_;
    cfg_.define({"ACS_CAPABILITY", c + acs_reg::capability, 2, p_.acs->cap});
    cfg_.define({"ACS_CONTROL", c + acs_reg::control, 2, std::uint64_t(p_.acs->ctrl & p_.acs->cap), p_.acs->cap});
    if (ec) cfg_.define({"ACS_EGRESS_CONTROL_VECTOR", c + acs_reg::egress_control_vector, 4, 0, 0x1});
}

void pci_function::define_sriov() {
    // SR-IOV Extended Capability (PCIe 5.0 9.3.3).
    sriov_cap_ = cfg_.add_ext_capability(ext_cap_id::sriov, 1, 0x40);
    const std::uint32_t c = *sriov_cap_;
    const auto& sv = *p_.sriov;
    // Control: VF Enable, Migration, Int, VF MSE, ARI Capable Hierarchy.
    constexpr std::uint16_t control_mask = sriov_reg::vf_enable | sriov_reg::vf_migration_enable |
                                           sriov_reg::vf_migration_interrupt | sriov_reg::vf_mse | sriov_reg::ari_hierarchy;
    cfg_.define({"SRIOV_CAPABILITIES", c + sriov_reg::capabilities, 4, 0});
    cfg_.define({"SRIOV_CONTROL", c + sriov_reg::control, 2, 0, control_mask},
                [this](std::uint64_t o, std::uint64_t n) { sriov_control_written(static_cast<std::uint16_t>(o), static_cast<std::uint16_t>(n)); });
    cfg_.define({"SRIOV_STATUS", c + sriov_reg::status, 2, 0});
    cfg_.define({"SRIOV_INITIAL_VFS", c + sriov_reg::initial_vfs, 2, sv.total_vfs});
    cfg_.define({"SRIOV_TOTAL_VFS", c + sriov_reg::total_vfs, 2, sv.total_vfs});
    // NumVFs: RW while VF Enable is clear, RO while it is set (the spec
    // leaves a change then undefined; sriov_control_written() closes it). A
    // value above TotalVFs is discarded (9.3.3.7: undefined; Linux never writes one).
    cfg_.define({"SRIOV_NUM_VFS", c + sriov_reg::num_vfs, 2, 0, 0xffff}, [this, c](std::uint64_t o, std::uint64_t n) {
        if (n > p_.sriov->total_vfs) cfg_.set(c + sriov_reg::num_vfs, 2, o);
    });
    cfg_.define({"SRIOV_FIRST_VF_OFFSET", c + sriov_reg::first_vf_offset, 2, sv.first_vf_offset});
    cfg_.define({"SRIOV_VF_STRIDE", c + sriov_reg::vf_stride, 2, sv.vf_stride});
    cfg_.define({"SRIOV_VF_DEVICE_ID", c + sriov_reg::vf_device_id, 2, sv.vf_device});
    cfg_.define({"SRIOV_SUPPORTED_PAGE_SIZES", c + sriov_reg::supported_page_sizes, 4, 0x553});
    // System Page Size: one of the supported sizes (a bit of 0x553); a value
    // with no supported bit, or several, is discarded (9.3.3.13 leaves it undefined).
    cfg_.define({"SRIOV_SYSTEM_PAGE_SIZE", c + sriov_reg::system_page_size, 4, 0x1, 0x553}, [this, c](std::uint64_t o, std::uint64_t n) {
        if (n == 0 || (n & (n - 1))) cfg_.set(c + sriov_reg::system_page_size, 4, o);
        vf_bars_resize();
    });
    for (const bar_desc& b : sv.vf_bars) cfg_.define_bar(b, c + sriov_reg::vf_bar0 + 4 * b.index);
    vf_bars_resize();
}

std::uint16_t pci_function::total_vfs() const {
    return sriov_cap_ ? static_cast<std::uint16_t>(cfg_.get(*sriov_cap_ + sriov_reg::total_vfs, 2)) : 0;
}

std::optional<bar_desc> pci_function::vf_bar(unsigned index) const {
    if (!sriov_cap_) return std::nullopt;
    for (bar_desc b : p_.sriov->vf_bars)
        if (b.index == index) {
            // A VF BAR's granularity is System Page Size (PCIe 5.0 9.3.3.13-14).
            const std::uint64_t page = cfg_.get(*sriov_cap_ + sriov_reg::system_page_size, 4) << 12;
            b.size = std::max(b.size, page);
            return b;
        }
    return std::nullopt;
}

std::uint64_t pci_function::vf_bar_base(const bar_desc& b) const {
    return cfg_.bar_base(b, *sriov_cap_ + sriov_reg::vf_bar0 + 4 * b.index);
}

bool pci_function::vf_memory_enabled() const {
    return sriov_cap_ && (cfg_.get(*sriov_cap_ + sriov_reg::control, 2) & sriov_reg::vf_mse);
}

void pci_function::vf_bars_resize() {
    for (const bar_desc& b : p_.sriov->vf_bars) cfg_.resize_bar(*vf_bar(b.index), *sriov_cap_ + sriov_reg::vf_bar0 + 4 * b.index);
}

void pci_function::sriov_control_written(std::uint16_t old_ctrl, std::uint16_t new_ctrl) {
    const std::uint32_t c = *sriov_cap_;
    const bool was = old_ctrl & sriov_reg::vf_enable, is = new_ctrl & sriov_reg::vf_enable;
    cfg_.set_wmask(c + sriov_reg::num_vfs, 2, is ? 0 : 0xffff);
    if (was != is && sriov_observer_) sriov_observer_(*this, is, num_vfs());
}

std::uint16_t pci_function::acs_control() const {
    return acs_cap_ ? static_cast<std::uint16_t>(cfg_.get(*acs_cap_ + acs_reg::control, 2)) : 0;
}

bool pci_function::reaches_sibling(const pci_function& other) const {
    if (&other == this || is_virtual_function() || other.is_virtual_function()) return false;
    // A function that isolates (a quirk's claim honoured) neither sends nor takes internal peer traffic.
    if ((other.devfn() >> 3) != (devfn() >> 3) || !p_.internal_p2p || !other.params().internal_p2p) return false;
    // P2P Request Redirect (or Egress Control) sends the request to the link instead.
    return !(acs_control() & (acs_bits::RR | acs_bits::EC));
}

bool pci_function::sriov_enabled() const {
    return sriov_cap_ && (cfg_.get(*sriov_cap_ + sriov_reg::control, 2) & sriov_reg::vf_enable);
}

std::uint16_t pci_function::num_vfs() const {
    return sriov_cap_ ? static_cast<std::uint16_t>(cfg_.get(*sriov_cap_ + sriov_reg::num_vfs, 2)) : 0;
}

std::uint16_t pci_function::vf_routing_id(unsigned n) const {
    const std::uint32_t c = *sriov_cap_;
    const auto offset = static_cast<std::uint32_t>(cfg_.get(c + sriov_reg::first_vf_offset, 2));
    const auto stride = static_cast<std::uint32_t>(cfg_.get(c + sriov_reg::vf_stride, 2));
    return static_cast<std::uint16_t>(pci::vf_routing_id(bdf().rid(), offset, stride, n));
}

void pci_function::define_pcie() {
    pcie_cap_ = cfg_.add_capability(cap_id::pcie, 0x3c);
    const std::uint32_t c = *pcie_cap_;
    cfg_.define({"PCIE_CAPABILITIES", c + px_reg::caps, 2, 0x2u | std::uint32_t(*p_.pcie) << 4});
    // Device Capabilities: Max_Payload_Size Supported 256 B; Function Level
    // Reset Capability (bit 28) when the function implements FLR.
    const bool flr = p_.flr;
    cfg_.define({"DEVICE_CAPABILITIES", c + px_reg::devcap, 4, 0x1u | (flr ? px_reg::devcap_flr : 0u)});
    // Device Control: error reporting enables (3:0), Relaxed Ordering (4), MPS
    // (7:5, reset 128 B), Extended Tag (8), Enable No Snoop (11), MRRS (14:12,
    // reset 512 B); bit 15, Initiate FLR, always reads 0 and starts an FLR when
    // the capability is there (PCIe 5.0 7.5.3.4); without it the bit is RsvdP.
    cfg_.define({"DEVICE_CONTROL", c + px_reg::devctl, 2, 0x2u << 12, 0x79ffu | (flr ? px_reg::devctl_initiate_flr : 0u)},
                [this, c](std::uint64_t, std::uint64_t n) {
                    if (!(n & px_reg::devctl_initiate_flr)) return;
                    cfg_.set(c + px_reg::devctl, 2, n & ~std::uint64_t(px_reg::devctl_initiate_flr));
                    function_level_reset();
                });
    // Device Status: Correctable / Non-Fatal / Fatal Error and Unsupported
    // Request Detected are RW1C; AUX Power and Transactions Pending RO 0.
    cfg_.define({"DEVICE_STATUS", c + px_reg::devsta, 2, 0, 0, 0x000f});
    cfg_.define({"LINK_CAPABILITIES", c + px_reg::lnkcap, 4, std::uint32_t(p_.link.gen) | std::uint32_t(p_.link.width) << 4});
    cfg_.define({"LINK_CONTROL", c + px_reg::lnkctl, 2, 0, 0x0fff});
    cfg_.define({"LINK_STATUS", c + px_reg::lnksta, 2, std::uint32_t(p_.link.gen) | std::uint32_t(p_.link.width) << 4});
    // Device Capabilities 2: Completion Timeout Disable Supported (bit 4);
    // Device Control 2: Completion Timeout Disable RW, the rest RsvdP here.
    cfg_.define({"DEVICE_CAPABILITIES_2", c + px_reg::devcap2, 4, 0x10});
    cfg_.define({"DEVICE_CONTROL_2", c + px_reg::devctl2, 2, 0, 0x10});
}

std::uint32_t pci_function::msi_off(std::uint32_t reg) const {
    return *msi_cap_ + (reg > msi_addr_lo && !p_.msi_64bit ? reg - 4 : reg);
}

void pci_function::define_msi() {
    // Sizes: 32-bit 10 bytes, 64-bit 14, with per-vector masking 20 / 24 (PCIe 5.0 7.7.1).
    const std::uint32_t size = (p_.msi_64bit ? 14u : 10u) + (p_.msi_per_vector_mask ? 10u : 0u);
    msi_cap_ = cfg_.add_capability(cap_id::msi, size);
    const std::uint32_t c = *msi_cap_;
    const std::uint16_t mmc = static_cast<std::uint16_t>(log2u(p_.msi_vectors) << 1);
    const std::uint16_t caps = static_cast<std::uint16_t>((p_.msi_64bit ? msi_64bit : 0) | (p_.msi_per_vector_mask ? msi_pvm : 0) | mmc);
    cfg_.define({"MSI_MESSAGE_CONTROL", c + msi_ctrl, 2, caps, msi_enable | 0x70u});
    cfg_.define({"MSI_MESSAGE_ADDRESS", c + msi_addr_lo, 4, 0, 0xfffffffcu});
    if (p_.msi_64bit) cfg_.define({"MSI_MESSAGE_UPPER_ADDRESS", c + msi_addr_hi, 4, 0, 0xffffffffu});
    cfg_.define({"MSI_MESSAGE_DATA", msi_off(msi_data), 2, 0, 0xffff});
    if (!p_.msi_per_vector_mask) return;
    // Mask Bits: one RW bit per vector the function is capable of, the rest
    // RsvdP; Pending Bits RO (7.7.1.7-8). Unmasking a pending vector sends it.
    const std::uint32_t vectors = p_.msi_vectors >= 32 ? 0xffffffffu : (1u << p_.msi_vectors) - 1;
    cfg_.define({"MSI_MASK_BITS", msi_off(msi_mask), 4, 0, vectors}, [this](std::uint64_t o, std::uint64_t n) {
        msi_unmasked(static_cast<std::uint32_t>(o), static_cast<std::uint32_t>(n));
    });
    cfg_.define({"MSI_PENDING_BITS", msi_off(msi_pending), 4, 0});
}

void pci_function::msi_unmasked(std::uint32_t old_mask, std::uint32_t new_mask) {
    const std::uint32_t released = old_mask & ~new_mask & msi_pending_;
    for (unsigned v = 0; v < 32; ++v)
        if (released >> v & 1) {
            msi_pending_ &= ~(1u << v);
            cfg_.set(msi_off(msi_pending), 4, msi_pending_);
            send_msi(v, local_time());
        }
}

void pci_function::define_msix() {
    const auto& x = *p_.msix;
    msix_cap_ = cfg_.add_capability(cap_id::msix, 12);
    const std::uint32_t c = *msix_cap_;
    // Message Control: Table Size (N-1) RO, Function Mask and MSI-X Enable RW;
    // Table and PBA Offset/BIR RO (PCIe 5.0 7.7.2.2-4).
    cfg_.define({"MSIX_MESSAGE_CONTROL", c + msix_ctrl, 2, x.vectors - 1, msix_enable | msix_function_mask},
                [this](std::uint64_t, std::uint64_t) { msix_release_pending(); });
    cfg_.define({"MSIX_TABLE_OFFSET_BIR", c + msix_table, 4, x.table_offset | x.table_bar});
    cfg_.define({"MSIX_PBA_OFFSET_BIR", c + msix_pba, 4, x.pba_offset | x.pba_bar});
    msix_table_.assign(std::size_t(x.vectors) * 4, 0);
    for (unsigned v = 0; v < x.vectors; ++v) msix_table_[v * 4 + 3] = msix_vector_masked;  // reset: masked (7.7.2.9)
    msix_pending_.assign(x.vectors, false);
}

bool pci_function::msix_masked(unsigned vector) const {
    return (cfg_.get(*msix_cap_ + msix_ctrl, 2) & msix_function_mask) || (msix_table_[vector * 4 + 3] & msix_vector_masked);
}

void pci_function::msix_release_pending() {
    if (!msix_enabled()) return;
    for (unsigned v = 0; v < msix_pending_.size(); ++v)
        if (msix_pending_[v] && !msix_masked(v)) {
            msix_pending_[v] = false;
            deliver_msix(v, local_time());
        }
}

// An access to the MSI-X table or PBA. Software must use aligned DWORD or
// QWORD accesses (PCIe 5.0 7.7.2, "otherwise the result is undefined"): any
// other is refused with Completer Abort and changes nothing. The PBA is RO:
// writes complete and are discarded.
pcie::completion pci_function::msix_access(bool table, tlm::tlm_command cmd, std::uint64_t offset, std::uint8_t* data, unsigned len) {
    if ((len != 4 && len != 8) || (offset & (len - 1))) return pcie::completion::CA;
    const bool write = cmd == tlm::TLM_WRITE_COMMAND;
    for (unsigned i = 0; i < len; i += 4) {
        const std::uint64_t dw = (offset + i) / 4;
        std::uint32_t v = 0;
        if (write) {
            std::memcpy(&v, data + i, 4);
            if (!table) continue;
            // Vector Control: only bit 0 (Mask) is writable, the rest RsvdP.
            if (dw % 4 == 3) v = (msix_table_[dw] & ~msix_vector_masked) | (v & msix_vector_masked);
            else if (dw % 4 == 0) v &= ~3u;  // Message Address: DWORD aligned, bits 1:0 RO 0
            msix_table_[dw] = v;
        } else {
            if (table) {
                v = msix_table_[dw];
            } else {
                for (unsigned b = 0; b < 32; ++b) {
                    const std::uint64_t vec = dw * 32 + b;
                    if (vec < msix_pending_.size() && msix_pending_[vec]) v |= 1u << b;
                }
            }
            std::memcpy(data + i, &v, 4);
        }
    }
    if (write && table) msix_release_pending();
    return pcie::completion::SC;
}



std::optional<bar_desc> pci_function::bar_at(std::uint64_t addr) const {
    if (!cfg_.memory_enabled()) return std::nullopt;
    for (const bar_desc& b : p_.bars) {
        if (b.type == bar_type::io) continue;
        const std::uint64_t base = cfg_.bar_base(b);
        // An unassigned BAR (base 0) decodes nothing.
        if (base != 0 && addr >= base && addr - base < b.size) return b;
    }
    return std::nullopt;
}

std::optional<bar_desc> pci_function::io_bar_at(std::uint32_t port) const {
    if (!cfg_.io_enabled()) return std::nullopt;
    for (const bar_desc& b : p_.bars) {
        if (b.type != bar_type::io) continue;
        const std::uint64_t base = cfg_.bar_base(b);
        if (base != 0 && port >= base && port - base < b.size) return b;
    }
    return std::nullopt;
}

bool pci_function::rom_claims(std::uint64_t addr) const {
    if (!p_.rom_size || cfg_.type1() || !cfg_.memory_enabled() || !cfg_.rom_enabled()) return false;
    const std::uint64_t base = cfg_.rom_base();
    return base != 0 && addr >= base && addr - base < p_.rom_size;
}

bool pci_function::claims_memory(std::uint64_t addr) const { return bar_at(addr).has_value() || rom_claims(addr); }

void pci_function::config_access(tlm::tlm_generic_payload& gp, pcie::pcie_ext* ext) {
    const std::uint16_t reg = pcie::ecam_reg(gp.get_address());
    const unsigned len = gp.get_data_length();
    if ((len != 1 && len != 2 && len != 4) || (reg & (len - 1)) != 0) {
        pcie::complete(gp, ext, pcie::completion::CA);  // malformed configuration request
        return;
    }
    std::uint8_t* d = gp.get_data_ptr();
    if (gp.is_write()) {
        if (!is_virtual_function()) bus_ = pcie::ecam_bdf(gp.get_address()).bus;  // ID capture on type-0 writes
        std::uint64_t v = 0;
        for (unsigned i = 0; i < len; ++i) v |= std::uint64_t(d[i]) << (8 * i);
        const bool was_master = cfg_.bus_master();
        cfg_.write(reg, len, v);
        if (was_master && !cfg_.bus_master()) bus_master_cleared();
        // A bridge's routing (windows, ACS, bus numbers) decided the pointers
        // granted through it: any configuration write to it revokes them.
        else if (cfg_.type1()) dmi_invalidated(0, ~sc_dt::uint64(0));
        intx_update();  // Interrupt Disable, MSI/MSI-X Enable or a reset may change the INTx line
    } else {
        const std::uint64_t v = cfg_.read(reg, len);
        for (unsigned i = 0; i < len; ++i) d[i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
    pcie::complete(gp, ext, pcie::completion::SC);
}

void pci_function::downstream(tlm::tlm_generic_payload& gp, sc_time& delay) {
    auto* ext = gp.get_extension<pcie::pcie_ext>();
    // Byte enables and streaming are not TLPs this function completes:
    // refused with the status the LRM names, and the completion that agrees.
    if (const tlm::tlm_response_status refused = refused_payload_features(gp); refused != tlm::TLM_OK_RESPONSE) {
        gp.set_response_status(refused);
        if (ext) ext->status = pcie::completion_of(refused);
        return;
    }
    // Read completions leave split at the Read Completion Boundary (64 bytes: Link Control RCB clear).
    if (ext) ext->completion_split = 64;
    // Register writes that release a pending interrupt send it at the caller's time.
    struct now_guard {
        sc_time*& slot; sc_time* saved;
        ~now_guard() { slot = saved; }
    } guard{now_, now_};
    now_ = &delay;
    if (ext && ext->kind == pcie::request_kind::config) {
        config_access(gp, ext);
        return;
    }
    const std::uint64_t addr = gp.get_address();
    const unsigned len = gp.get_data_length();
    // In D3hot a function answers only configuration requests (PCI PM 1.2 5.3.1.4): UR.
    if (in_d3hot()) {
        pcie::complete(gp, ext, pcie::completion::UR);
        return;
    }
    if (ext && ext->kind == pcie::request_kind::io) {
        const auto bar = addr <= 0xffffffffu ? io_bar_at(static_cast<std::uint32_t>(addr)) : std::nullopt;
        const std::uint64_t off = bar ? addr - cfg_.bar_base(*bar) : 0;
        if (!bar || off + len > bar->size) {
            pcie::complete(gp, ext, pcie::completion::UR);
            return;
        }
        pcie::complete(gp, ext, bar_access(*bar, gp.get_command(), off, gp.get_data_ptr(), len, delay));
        return;
    }
    const auto bar = bar_at(addr);
    if (!bar) {
        if (rom_claims(addr) && addr - cfg_.rom_base() + len <= p_.rom_size) {
            // The ROM image: the 55AAh signature, its length in 512-byte units,
            // zeros after (PCI Firmware 3.0 5.1). Writes are discarded.
            if (gp.is_read()) {
                const std::uint64_t off = addr - cfg_.rom_base();
                for (unsigned i = 0; i < len; ++i) {
                    const std::uint64_t o = off + i;
                    gp.get_data_ptr()[i] = o == 0 ? 0x55 : o == 1 ? 0xaa
                                         : o == 2 ? static_cast<std::uint8_t>(std::min<std::uint64_t>(p_.rom_size / 512, 0xff)) : 0;
                }
            }
            pcie::complete(gp, ext, pcie::completion::SC);
        } else {
            pcie::complete(gp, ext, pcie::completion::UR);
        }
        return;
    }
    const std::uint64_t off = addr - bar_base(*bar);
    if (off + len > bar->size) {
        pcie::complete(gp, ext, pcie::completion::UR);
        return;
    }
    pcie::completion st;
    const auto in = [&](unsigned bir, std::uint64_t from, std::uint64_t size) {
        return bar->index == bir && off + len > from && off < from + size;
    };
    if (msix_cap_ && in(p_.msix->table_bar, p_.msix->table_offset, std::uint64_t(p_.msix->vectors) * msix_entry_size)) {
        const std::uint64_t o = off - p_.msix->table_offset;
        st = off < p_.msix->table_offset || o + len > std::uint64_t(p_.msix->vectors) * msix_entry_size
                 ? pcie::completion::CA : msix_access(true, gp.get_command(), o, gp.get_data_ptr(), len);
    } else if (msix_cap_ && in(p_.msix->pba_bar, p_.msix->pba_offset, (p_.msix->vectors + 63) / 64 * 8)) {
        const std::uint64_t o = off - p_.msix->pba_offset;
        st = off < p_.msix->pba_offset || o + len > (p_.msix->vectors + 63) / 64 * 8
                 ? pcie::completion::CA : msix_access(false, gp.get_command(), o, gp.get_data_ptr(), len);
    } else {
        st = bar_access(*bar, gp.get_command(), off, gp.get_data_ptr(), len, delay);
    }
    pcie::complete(gp, ext, st);
    if (bar_observer_) bar_observer_(*this, gp);
}

pcie::completion pci_function::bar_access(const bar_desc&, tlm::tlm_command, std::uint64_t, std::uint8_t*, unsigned,
                                          sc_time&) {
    return pcie::completion::UR;
}

namespace {
// Whether the caller may wait: DMA is issued from threads (device engines,
// the scenario runner); a method or the elaboration phase cannot synchronise.
bool in_thread() {
    return sc_get_curr_simcontext()->get_curr_proc_info()->kind == SC_THREAD_PROC_;
}
} // namespace

pci_function::dma_result pci_function::dma(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data,
                                           std::uint64_t len, sc_time& delay) {
    dma_result r;
    const bool write = cmd == tlm::TLM_WRITE_COMMAND;
    r.posted = write;
    if (!present() || !cfg_.bus_master() || in_d3hot()) {
        ++bme_blocked_;
        return r;  // a well-behaved function issues nothing without Bus Master Enable (nor in D3hot)
    }
    // A Function Level Reset during the transfer aborts it: nothing leaves after it (PCIe 5.0 6.6.2).
    const std::uint64_t epoch = resets_;
    const std::uint64_t chunk_max = write ? max_payload() : max_read_request();
    // A virtual function's routing ID comes from its PF's registers: read it once.
    const std::uint16_t rid = bdf().rid();
    // Tags (reads) or posted credits (writes) of the function, shared by every
    // stream it issues: a slot frees when its request has completed (read) or
    // arrived (write). Times are absolute simulated times.
    request_slots& slots = write ? posted_slots_ : read_slots_;
    const bool may_wait = in_thread();
    sc_time issue = sim_now() + delay;  // when the next TLP may go out
    sc_time done = issue;
    // One payload per function, reused: building a generic payload allocates.
    tlm::tlm_generic_payload& gp = *request_;
    pcie::pcie_ext& ext = *request_ext_;
    for (std::uint64_t off = 0; off < len;) {
        if (off && (!present() || !cfg_.bus_master() || in_d3hot() || resets_ != epoch)) {
            ++bme_blocked_;
            r.stopped = true;
            break;
        }
        const std::uint64_t a = addr + off;
        const std::uint64_t to_page = 4096 - (a & 4095);
        const auto n = static_cast<unsigned>(std::min({len - off, chunk_max, to_page}));
        sc_time& slot = slots.next();
        if (slot > issue) issue = slot;
        // Temporal decoupling: the quantum keeper decides when the issuing
        // thread has run far enough ahead of the others to wait for them.
        if (may_wait) {
            quantum_keeper_.set(issue - sim_now());
            if (quantum_keeper_.need_sync()) {
                quantum_keeper_.sync();
                // Checked again when the TLP is about to leave, after the wait:
                // software may have cleared Bus Master Enable, disabled the VF,
                // put the function in D3hot or reset it meanwhile.
                if (!present() || !cfg_.bus_master() || in_d3hot() || resets_ != epoch) {
                    ++bme_blocked_;
                    r.stopped = true;
                    break;
                }
            }
        }
        ext = pcie::pcie_ext{};
        ext.requester_id = forged_requester_id_.value_or(rid);  // what a malicious device puts in its TLPs
        ext.pasid = pasid_;
        ext.at = dma_at_;
        ext.origin = this;
        prepare(gp, cmd, a, data + off, n);
        const sc_time sent_at = sim_now();
        sc_time d = issue - sent_at;
        pcie_out.b_transport(gp, d);
        // A target may wait inside b_transport (a blocking one may): take the time afresh only then.
        const sc_time now = may_wait ? sim_now() : sent_at;
        slot = now + d;
        ++dma_requests_;
        r.issued = true;
        if (ext.iommu_fault) r.iommu_fault = true;
        // The next TLP may follow once this one has left the function's link.
        issue = ext.egress_set ? std::max(issue, now + ext.egress) : issue;
        const bool ok = ext.status == pcie::completion::SC && gp.is_response_ok();
        if (!ok) ++dma_errors_;
        if (write) {
            done = issue;
        } else {
            done = std::max(done, now + d);
            if (!ok) {
                r.status = ext.status == pcie::completion::SC ? pcie::completion::UR : ext.status;
                r.failed_addr = a;
                break;
            }
        }
        dma_bytes_ += n;
        r.bytes += n;
        off += n;
    }
    delay = done - sim_now();
    r.next_issue = issue;
    return r;
}

// ---- the DMI fast path ----------------------------------------------------------

namespace {
constexpr std::size_t dmi_cache_size = 64;
// The copy of a DMI access, through libc's memcpy: inline, GCC expands a copy
// whose length it can bound (a page here) into `rep movsq`, whose start-up
// costs several times a 64-byte copy.
[[gnu::noinline]] void dmi_copy(void* to, const void* from, std::size_t n) { std::memcpy(to, from, n); }
bool dmi_covers(const tlm::tlm_dmi& d, std::uint64_t a, std::uint64_t n, bool write) {
    return a >= d.get_start_address() && a + n - 1 <= d.get_end_address() && (write ? d.is_write_allowed() : d.is_read_allowed());
}
} // namespace

void pci_function::dmi_invalidated(sc_dt::uint64 start, sc_dt::uint64 end) {
    const std::size_t before = dmi_cache_.size();
    dmi_cache_.erase(std::remove_if(dmi_cache_.begin(), dmi_cache_.end(),
                                    [&](const tlm::tlm_dmi& d) { return d.get_start_address() <= end && start <= d.get_end_address(); }),
                     dmi_cache_.end());
    dmi_revocations_ += before - dmi_cache_.size();
    dmi_next_ = 0;
}

void pci_function::bus_master_cleared() {
    dmi_revocations_ += dmi_cache_.size();
    dmi_cache_.clear();
    dmi_next_ = 0;
}

bool pci_function::has_dmi_pointer(std::uint64_t addr) const {
    return std::any_of(dmi_cache_.begin(), dmi_cache_.end(),
                       [&](const tlm::tlm_dmi& d) { return addr >= d.get_start_address() && addr <= d.get_end_address(); });
}

pci_function::dma_result pci_function::stream(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data, std::uint64_t len,
                                              sc_time& delay) {
    const bool write = cmd == tlm::TLM_WRITE_COMMAND;
    dma_result r;
    r.posted = write;
    if (len == 0 || addr + len < addr) return dma(cmd, addr, data, len, delay);
    for (std::uint64_t off = 0; off < len;) {
        const std::uint64_t a = addr + off;
        const std::uint64_t n = std::min<std::uint64_t>(len - off, 4096 - (a & 4095));
        // The same gate as every TLP of dma(): nothing leaves without Bus Master Enable.
        if (!present() || !cfg_.bus_master() || in_d3hot()) {
            bus_master_cleared();
            const dma_result rest = dma(cmd, a, data + off, len - off, delay);
            r.issued |= rest.issued;
            r.stopped = rest.stopped || off;
            r.status = rest.status;
            r.iommu_fault |= rest.iommu_fault;
            r.failed_addr = rest.failed_addr;
            r.bytes += rest.bytes;
            return r;
        }
        const tlm::tlm_dmi* hit = nullptr;
        for (const tlm::tlm_dmi& d : dmi_cache_)
            if (dmi_covers(d, a, n, write)) { hit = &d; break; }
        if (!hit) {
            // Ask the fabric for a pointer to this page, as the requester dma() would send.
            tlm::tlm_generic_payload& gp = *request_;
            pcie::pcie_ext& ext = *request_ext_;
            ext = pcie::pcie_ext{};
            ext.requester_id = forged_requester_id_.value_or(bdf().rid());
            ext.origin = this;
            prepare(gp, cmd, a, data + off, static_cast<unsigned>(n));
            tlm::tlm_dmi d;
            if (pcie_out->get_direct_mem_ptr(gp, d) && dmi_covers(d, a, n, write)) {
                ++dmi_grants_;
                if (dmi_cache_.size() < dmi_cache_size) {
                    dmi_cache_.push_back(d);
                    hit = &dmi_cache_.back();
                } else {
                    dmi_cache_[dmi_next_] = d;
                    hit = &dmi_cache_[dmi_next_];
                    dmi_next_ = (dmi_next_ + 1) % dmi_cache_size;
                }
            }
        }
        if (!hit) {
            // No pointer: the TLP path, with its checks and faults.
            const dma_result part = dma(cmd, a, data + off, n, delay);
            r.issued |= part.issued;
            r.iommu_fault |= part.iommu_fault;
            r.bytes += part.bytes;
            if (part.stopped || (!write && part.status != pcie::completion::SC)) {
                r.stopped = part.stopped;
                r.status = part.status;
                r.failed_addr = part.failed_addr;
                return r;
            }
            off += n;
            continue;
        }
        unsigned char* p = hit->get_dmi_ptr() + (a - hit->get_start_address());
        if (write) dmi_copy(p, data + off, n);
        else dmi_copy(data + off, p, n);
        delay += write ? hit->get_write_latency() : hit->get_read_latency();
        ++dmi_accesses_;
        r.issued = true;
        r.bytes += n;
        dma_bytes_ += n;
        off += n;
    }
    return r;
}

void pci_function::log_error(const logged_error& e) {
    ++errors_logged_;
    if (pcie_cap_) {
        // Device Status: Non-Fatal Error Detected (bit 1), Unsupported Request Detected (bit 3).
        const std::uint64_t bits = e.status == pcie::completion::UR ? 0x8 : 0x2;
        cfg_.set(*pcie_cap_ + px_reg::devsta, 2, cfg_.get(*pcie_cap_ + px_reg::devsta, 2) | bits);
    }
    if (error_observer_) error_observer_(*this, e);
}

bool pci_function::send_msi(unsigned vector, sc_time& delay) {
    if (!msi_cap_) return false;
    const std::uint32_t c = *msi_cap_;
    const auto ctrl = static_cast<std::uint16_t>(cfg_.get(c + msi_ctrl, 2));
    const unsigned enabled = 1u << ((ctrl >> 4) & 7);
    if (!(ctrl & msi_enable) || vector >= enabled) return false;
    // Per-vector masking: a masked vector's message is held, its Pending bit set (PCIe 5.0 7.7.1.7-8).
    if (p_.msi_per_vector_mask && (cfg_.get(msi_off(msi_mask), 4) >> vector & 1)) {
        msi_pending_ |= 1u << vector;
        cfg_.set(msi_off(msi_pending), 4, msi_pending_);
        return false;
    }
    const std::uint64_t addr = cfg_.get(c + msi_addr_lo, 4) | (p_.msi_64bit ? cfg_.get(c + msi_addr_hi, 4) << 32 : 0);
    // Multiple messages: the function modifies the low bits of the data (PCIe 5.0 7.7.1.5).
    const auto data = static_cast<std::uint32_t>((cfg_.get(msi_off(msi_data), 2) & ~(enabled - 1)) | vector);
    std::uint8_t bytes[4] = {static_cast<std::uint8_t>(data), static_cast<std::uint8_t>(data >> 8), 0, 0};
    const dma_result r = dma(tlm::TLM_WRITE_COMMAND, addr, bytes, 4, delay);
    if (r.issued) ++msi_sent_;
    return r.issued && r.status == pcie::completion::SC;
}

void pci_function::stats(stat_map& out) const {
    const std::string n = basename();
    add_stat(out, n, "dma_requests", dma_requests_);
    add_stat(out, n, "dma_bytes", dma_bytes_);
    add_stat(out, n, "dma_errors", dma_errors_);
    add_stat(out, n, "msi_sent", msi_sent_);
    add_stat(out, n, "bus_master_blocked", bme_blocked_);
    add_stat(out, n, "errors_logged", errors_logged_);
    if (ats_cap_) {
        add_stat(out, n, "ats_translation_requests", ats_translation_requests_);
        add_stat(out, n, "ats_denied", ats_denied_);
        add_stat(out, n, "ats_invalidations", ats_invalidations_received_);
        add_stat(out, n, "atc_hits", atc_.hits());
        add_stat(out, n, "atc_misses", atc_.misses());
    }
}

} // namespace iotwin::pci


namespace iotwin::pci {

bool pci_function::msi_enabled() const {
    return msi_cap_ && (cfg_.get(*msi_cap_ + msi_ctrl, 2) & msi_enable);
}

bool pci_function::msix_enabled() const {
    return msix_cap_ && (cfg_.get(*msix_cap_ + msix_ctrl, 2) & msix_enable);
}

bool pci_function::intx_allowed() const {
    return !msi_enabled() && !msix_enabled() && !(cfg_.command() & command_bits::interrupt_disable);
}

bool pci_function::send_msix(unsigned vector, sc_time& delay) {
    if (!msix_enabled() || vector >= msix_pending_.size()) return false;
    // Masked (Function Mask or the entry's Mask bit): the PBA bit holds the
    // message until software unmasks it (PCIe 5.0 7.7.2.2, 7.7.2.10).
    if (msix_masked(vector)) {
        msix_pending_[vector] = true;
        return false;
    }
    return deliver_msix(vector, delay);
}

bool pci_function::deliver_msix(unsigned vector, sc_time& delay) {
    const std::uint64_t addr = msix_table_[vector * 4] | std::uint64_t(msix_table_[vector * 4 + 1]) << 32;
    const std::uint32_t data = msix_table_[vector * 4 + 2];
    std::uint8_t bytes[4] = {static_cast<std::uint8_t>(data), static_cast<std::uint8_t>(data >> 8),
                             static_cast<std::uint8_t>(data >> 16), static_cast<std::uint8_t>(data >> 24)};
    const dma_result r = dma(tlm::TLM_WRITE_COMMAND, addr, bytes, 4, delay);
    if (r.issued) ++msi_sent_;
    return r.issued && r.status == pcie::completion::SC;
}

bool pci_function::send_interrupt(unsigned vector, sc_time& delay) {
    if (msix_enabled()) return send_msix(vector, delay);
    if (msi_enabled()) return send_msi(vector, delay);
    return false;
}

std::uint8_t pci_function::interrupt_pin() const { return static_cast<std::uint8_t>(cfg_.get(cfg::interrupt_pin, 1)); }

void pci_function::after_config_reset() {
    bus_master_cleared();  // the reset cleared Bus Master Enable
    if (sriov_cap_) {
        cfg_.set_wmask(*sriov_cap_ + sriov_reg::num_vfs, 2, 0xffff);
        vf_bars_resize();
    }
}

void pci_function::function_level_reset() {
    ++resets_;  // a dma() in progress stops before its next TLP
    const bool had_vfs = sriov_enabled();
    // Configuration space returns to its reset values, except what the
    // function keeps across FLR (PCIe 5.0 6.6.2): the captured bus number
    // (not a register here), sticky bits (none modelled), and the Interrupt
    // Line that software programmed.
    const auto line = cfg_.get(cfg::interrupt_line, 1);
    cfg_.reset();
    cfg_.set(cfg::interrupt_line, 1, line);
    after_config_reset();
    msi_pending_ = 0;
    atc_.clear();  // ATS Enable is clear again: cached translations are void
    if (msix_cap_) {
        for (std::size_t v = 0; v < msix_pending_.size(); ++v) {
            msix_table_[v * 4] = msix_table_[v * 4 + 1] = msix_table_[v * 4 + 2] = 0;
            msix_table_[v * 4 + 3] = msix_vector_masked;
            msix_pending_[v] = false;
        }
    }
    set_intx(false);
    // A PF's reset clears VF Enable (SR-IOV Control is not sticky): its VFs are gone.
    if (had_vfs && sriov_observer_) sriov_observer_(*this, false, num_vfs());
    reset_device();
}

} // namespace iotwin::pci
