#include "models/pci/pci_function.h"
#include "models/common/payload.h"


#include <algorithm>

namespace iotwin::pci {

using namespace sc_core;

namespace {
// MSI capability layout with a 64-bit address (PCIe 5.0 7.7.1).
constexpr std::uint32_t msi_ctrl = 2, msi_addr_lo = 4, msi_addr_hi = 8, msi_data = 12;
constexpr std::uint16_t msi_enable = 1 << 0, msi_64bit = 1 << 7;
// PCI Express capability layout (PCIe 5.0 7.5.3).
constexpr std::uint32_t px_caps = 2, px_devcap = 4, px_devctl = 8, px_devsta = 10;
constexpr std::uint32_t px_lnkcap = 12, px_lnkctl = 16, px_lnksta = 18;

unsigned log2u(unsigned v) { unsigned l = 0; while ((1u << l) < v) ++l; return l; }
} // namespace

pci_function::pci_function(sc_module_name name, const function_params& p)
    : sc_module(name), pcie_in("pcie_in"), pcie_out("pcie_out"), p_(p), read_slots_(p.read_tags), posted_slots_(p.posted_credits),
      request_(std::make_unique<tlm::tlm_generic_payload>()) {
    request_->set_extension(new pcie::pcie_ext);  // owned by the payload from now on
    pcie_in.register_b_transport(this, &pci_function::b_transport);
    const bool bridge = p.pcie && (*p.pcie == port_type::root_port || *p.pcie == port_type::upstream_port ||
                                   *p.pcie == port_type::downstream_port || *p.pcie == port_type::pcie_to_pci_bridge);
    if (bridge || (p.class_code >> 8) == 0x0604) cfg_.define_type1(p.vendor, p.device, p.class_code, p.multifunction);
    else cfg_.define_type0(p.vendor, p.device, p.class_code, p.multifunction);
    for (const bar_desc& b : p.bars) cfg_.define_bar(b);
    if (p.pcie) define_pcie();
    if (p.msi_vectors) define_msi();
    if (p.acs) define_acs();
    if (p.sriov) define_sriov();
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
    // SR-IOV Extended Capability (PCIe 5.0 9.3.3); VF BARs are not modelled.
    sriov_cap_ = cfg_.add_ext_capability(ext_cap_id::sriov, 1, 0x40);
    const std::uint32_t c = *sriov_cap_;
    const auto& sv = *p_.sriov;
    // Control: VF Enable, Migration, Int, VF MSE, ARI Capable Hierarchy.
    constexpr std::uint16_t control_mask = sriov_reg::vf_enable | sriov_reg::vf_migration_enable |
                                           sriov_reg::vf_migration_interrupt | sriov_reg::vf_mse | sriov_reg::ari_hierarchy;
    cfg_.define({"SRIOV_CAPABILITIES", c + sriov_reg::capabilities, 4, 0});
    cfg_.define({"SRIOV_CONTROL", c + sriov_reg::control, 2, 0, control_mask});
    cfg_.define({"SRIOV_STATUS", c + sriov_reg::status, 2, 0});
    cfg_.define({"SRIOV_INITIAL_VFS", c + sriov_reg::initial_vfs, 2, sv.total_vfs});
    cfg_.define({"SRIOV_TOTAL_VFS", c + sriov_reg::total_vfs, 2, sv.total_vfs});
    cfg_.define({"SRIOV_NUM_VFS", c + sriov_reg::num_vfs, 2, 0, 0xffff});
    cfg_.define({"SRIOV_FIRST_VF_OFFSET", c + sriov_reg::first_vf_offset, 2, sv.first_vf_offset});
    cfg_.define({"SRIOV_VF_STRIDE", c + sriov_reg::vf_stride, 2, sv.vf_stride});
    cfg_.define({"SRIOV_VF_DEVICE_ID", c + sriov_reg::vf_device_id, 2, sv.vf_device});
    cfg_.define({"SRIOV_SUPPORTED_PAGE_SIZES", c + sriov_reg::supported_page_sizes, 4, 0x553});
    cfg_.define({"SRIOV_SYSTEM_PAGE_SIZE", c + sriov_reg::system_page_size, 4, 0x1, 0xffffffff});
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
    cfg_.define({"PCIE_CAPABILITIES", c + px_caps, 2, 0x2u | std::uint32_t(*p_.pcie) << 4});
    cfg_.define({"DEVICE_CAPABILITIES", c + px_devcap, 4, 0x1});  // Max_Payload_Size Supported: 256 B
    // Device Control: MPS (7:5) reset 128 B, MRRS (14:12) reset 512 B.
    cfg_.define({"DEVICE_CONTROL", c + px_devctl, 2, 0x2u << 12, 0x70ffu | 0x7000u});
    cfg_.define({"DEVICE_STATUS", c + px_devsta, 2, 0, 0, 0x000f});
    cfg_.define({"LINK_CAPABILITIES", c + px_lnkcap, 4, std::uint32_t(p_.link.gen) | std::uint32_t(p_.link.width) << 4});
    cfg_.define({"LINK_CONTROL", c + px_lnkctl, 2, 0, 0x0fff});
    cfg_.define({"LINK_STATUS", c + px_lnksta, 2, std::uint32_t(p_.link.gen) | std::uint32_t(p_.link.width) << 4});
}

void pci_function::define_msi() {
    msi_cap_ = cfg_.add_capability(cap_id::msi, 14);
    const std::uint32_t c = *msi_cap_;
    const std::uint16_t mmc = static_cast<std::uint16_t>(log2u(p_.msi_vectors) << 1);
    cfg_.define({"MSI_MESSAGE_CONTROL", c + msi_ctrl, 2, std::uint64_t(msi_64bit | mmc), msi_enable | 0x70u});
    cfg_.define({"MSI_MESSAGE_ADDRESS", c + msi_addr_lo, 4, 0, 0xfffffffcu});
    cfg_.define({"MSI_MESSAGE_UPPER_ADDRESS", c + msi_addr_hi, 4, 0, 0xffffffffu});
    cfg_.define({"MSI_MESSAGE_DATA", c + msi_data, 2, 0, 0xffff});
}

std::uint32_t pci_function::max_payload() const {
    if (!pcie_cap_) return 128;
    return 128u << ((cfg_.get(*pcie_cap_ + px_devctl, 2) >> 5) & 7);
}

std::uint32_t pci_function::max_read_request() const {
    if (!pcie_cap_) return 512;
    return 128u << ((cfg_.get(*pcie_cap_ + px_devctl, 2) >> 12) & 7);
}

std::optional<bar_desc> pci_function::bar_at(std::uint64_t addr) const {
    if (!cfg_.memory_enabled()) return std::nullopt;
    for (const bar_desc& b : p_.bars) {
        const std::uint64_t base = cfg_.bar_base(b);
        // An unassigned BAR (base 0) decodes nothing.
        if (base != 0 && addr >= base && addr - base < b.size) return b;
    }
    return std::nullopt;
}

bool pci_function::claims_memory(std::uint64_t addr) const { return bar_at(addr).has_value(); }

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
        cfg_.write(reg, len, v);
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
    if (ext && ext->kind == pcie::request_kind::config) {
        config_access(gp, ext);
        return;
    }
    const auto bar = bar_at(gp.get_address());
    if (!bar) {
        pcie::complete(gp, ext, pcie::completion::UR);
        return;
    }
    const std::uint64_t off = gp.get_address() - cfg_.bar_base(*bar);
    if (off + gp.get_data_length() > bar->size) {
        pcie::complete(gp, ext, pcie::completion::UR);
        return;
    }
    pcie::complete(gp, ext, bar_access(*bar, gp.get_command(), off, gp.get_data_ptr(), gp.get_data_length(), delay));
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
    if (!present() || !cfg_.bus_master()) {
        ++bme_blocked_;
        return r;  // a well-behaved function issues nothing without Bus Master Enable
    }
    const std::uint64_t chunk_max = write ? max_payload() : max_read_request();
    // A virtual function's routing ID comes from its PF's registers: read it once.
    const std::uint16_t rid = bdf().rid();
    // Tags (reads) or posted credits (writes) of the function, shared by every
    // stream it issues: a slot frees when its request has completed (read) or
    // arrived (write). Times are absolute simulated times.
    request_slots& slots = write ? posted_slots_ : read_slots_;
    const bool may_wait = in_thread();
    sc_time issue = sc_time_stamp() + delay;  // when the next TLP may go out
    sc_time done = issue;
    // One payload per function, reused: building a generic payload allocates.
    tlm::tlm_generic_payload& gp = *request_;
    pcie::pcie_ext& ext = *gp.get_extension<pcie::pcie_ext>();
    for (std::uint64_t off = 0; off < len;) {
        if (off && (!present() || !cfg_.bus_master())) {
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
            quantum_keeper_.set(issue - sc_time_stamp());
            if (quantum_keeper_.need_sync()) quantum_keeper_.sync();
        }
        ext = pcie::pcie_ext{};
        ext.requester_id = forged_requester_id_.value_or(rid);  // what a malicious device puts in its TLPs
        ext.origin = this;
        prepare(gp, cmd, a, data + off, n);
        const sc_time sent_at = sc_time_stamp();
        sc_time d = issue - sent_at;
        pcie_out->b_transport(gp, d);
        // A target may wait inside b_transport (a blocking one may): take the time afresh only then.
        const sc_time now = may_wait ? sc_time_stamp() : sent_at;
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
    delay = done - sc_time_stamp();
    return r;
}

void pci_function::log_error(const logged_error& e) {
    ++errors_logged_;
    if (pcie_cap_) {
        // Device Status: Non-Fatal Error Detected (bit 1), Unsupported Request Detected (bit 3).
        const std::uint64_t bits = e.status == pcie::completion::UR ? 0x8 : 0x2;
        cfg_.set(*pcie_cap_ + px_devsta, 2, cfg_.get(*pcie_cap_ + px_devsta, 2) | bits);
    }
    if (error_observer_) error_observer_(*this, e);
}

bool pci_function::send_msi(unsigned vector, sc_time& delay) {
    if (!msi_cap_) return false;
    const std::uint32_t c = *msi_cap_;
    const auto ctrl = static_cast<std::uint16_t>(cfg_.get(c + msi_ctrl, 2));
    const unsigned enabled = 1u << ((ctrl >> 4) & 7);
    if (!(ctrl & msi_enable) || vector >= enabled) return false;
    const std::uint64_t addr = cfg_.get(c + msi_addr_lo, 4) | cfg_.get(c + msi_addr_hi, 4) << 32;
    // Multiple messages: the function modifies the low bits of the data (PCIe 5.0 7.7.1.5).
    const auto data = static_cast<std::uint32_t>((cfg_.get(c + msi_data, 2) & ~(enabled - 1)) | vector);
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
}

} // namespace iotwin::pci

namespace iotwin::pci {

bool pci_function::msi_enabled() const {
    return msi_cap_ && (cfg_.get(*msi_cap_ + msi_ctrl, 2) & msi_enable);
}

bool pci_function::msix_enabled() const { return false; }

bool pci_function::send_msix(unsigned, sc_time&) { return false; }

bool pci_function::send_interrupt(unsigned vector, sc_time& delay) {
    if (msix_enabled()) return send_msix(vector, delay);
    if (msi_enabled()) return send_msi(vector, delay);
    return false;
}

std::uint8_t pci_function::interrupt_pin() const { return static_cast<std::uint8_t>(cfg_.get(cfg::interrupt_pin, 1)); }

void pci_function::function_level_reset() {
    ++resets_;
    reset_device();
}

} // namespace iotwin::pci
