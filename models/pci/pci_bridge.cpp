#include "models/pci/pci_bridge.h"
#include "models/common/payload.h"

namespace iotwin::pci {

using namespace sc_core;

pci_bridge::pci_bridge(sc_module_name name, const function_params& p, const bridge_params& bp)
    : pci_function(name, p), secondary_out("secondary_out"), secondary_in("secondary_in"), bus_kind_(kind_of(p)),
      downstream_port_(is_downstream_port(p)), bp_(bp) {
    secondary_in.register_b_transport(this, &pci_bridge::upstream);
    secondary_in.register_get_direct_mem_ptr(this, &pci_bridge::upstream_dmi);
    // Re-decode the windows whenever software writes one of their registers
    // (memory base at 0x20 through prefetchable limit upper 32 bits at 0x2c).
    cfg_.set_hooks(cfg::memory_base, cfg::pref_limit_upper + 4 - cfg::memory_base,
                   [this](std::uint64_t, std::uint64_t) { decode_windows(); });
    decode_windows();
    // The I/O window, 16-bit decode (I/O Base/Limit bits 3:0 = 0: the upper
    // 16-bit registers are read-only zero; PCI-to-PCI Bridge 1.2 3.2.5.6).
    cfg_.define({"IO_BASE", cfg::io_base, 1, 0, 0xf0}, [this](std::uint64_t, std::uint64_t) { decode_io_window(); });
    cfg_.define({"IO_LIMIT", cfg::io_limit, 1, 0, 0xf0}, [this](std::uint64_t, std::uint64_t) { decode_io_window(); });
    cfg_.define({"IO_BASE_UPPER16", cfg::io_base_upper, 2, 0});
    cfg_.define({"IO_LIMIT_UPPER16", cfg::io_limit_upper, 2, 0});
    decode_io_window();
    // I/O Space Enable gates the window's forwarding.
    namespace cb = command_bits;
    cfg_.set_wmask(cfg::command, 2, cb::io_space | cb::memory_space | cb::bus_master | cb::parity_error_response | cb::serr |
                                        cb::interrupt_disable);
    if (p.firmware_buses) {
        cfg_.set(cfg::primary_bus, 1, p.firmware_buses->primary);
        cfg_.set(cfg::secondary_bus, 1, p.firmware_buses->secondary);
        cfg_.set(cfg::subordinate_bus, 1, p.firmware_buses->subordinate);
    }
    // Secondary Bus Reset on its rising edge.
    cfg_.set_hooks(cfg::bridge_control, 2, [this](std::uint64_t old, std::uint64_t now) {
        constexpr std::uint64_t sbr = 1u << 6;
        if ((now & sbr) && !(old & sbr)) secondary_bus_reset();
    });
}

void pci_bridge::attach(pci_function& child) {
    child.pcie_out.bind(secondary_in);
    secondary_out.bind(child.pcie_in);
    config_routes_.add(child, static_cast<int>(children_.size()));
    children_.push_back(&child);
}

pci_bridge::secondary_kind pci_bridge::kind_of(const function_params& p) {
    if (!p.pcie || *p.pcie == port_type::pcie_to_pci_bridge) return secondary_kind::pci_bus;
    if (*p.pcie == port_type::upstream_port) return secondary_kind::switch_bus;
    return secondary_kind::pcie_link;
}

bool pci_bridge::is_downstream_port(const function_params& p) {
    return p.pcie && (*p.pcie == port_type::root_port || *p.pcie == port_type::downstream_port);
}

bool pci_bridge::routes_bus(std::uint8_t bus) const {
    return bus >= secondary_bus() && bus <= subordinate_bus() && secondary_bus() != 0;
}

void pci_bridge::decode_windows() {
    memory_ = {(cfg_.get(cfg::memory_base, 2) & 0xfff0) << 16, ((cfg_.get(cfg::memory_limit, 2) & 0xfff0) << 16) | 0xfffff};
    prefetchable_ = {(cfg_.get(cfg::pref_base, 2) & 0xfff0) << 16 | cfg_.get(cfg::pref_base_upper, 4) << 32,
                     ((cfg_.get(cfg::pref_limit, 2) & 0xfff0) << 16 | 0xfffff) | cfg_.get(cfg::pref_limit_upper, 4) << 32};
}

bool pci_bridge::in_windows(std::uint64_t addr) const {
    // A window whose base is above its limit is closed.
    return (addr >= memory_.base && addr <= memory_.limit) || (addr >= prefetchable_.base && addr <= prefetchable_.limit);
}

bool pci_bridge::claims_memory(std::uint64_t addr) const {
    return pci_function::claims_memory(addr) || (cfg_.memory_enabled() && in_windows(addr));
}

int pci_bridge::child_for_config(const pcie::bdf& target, bool& type0) const {
    // Below a PCIe port only device 0 answers, unless it is a virtual function (ARI).
    return config_routes_.route(target, secondary_bus(), bus_kind_ == secondary_kind::pcie_link, type0);
}

int pci_bridge::child_for_memory(std::uint64_t addr, int except) const {
    for (std::size_t i = 0; i < children_.size(); ++i)
        if (static_cast<int>(i) != except && children_[i]->claims_memory(addr)) return static_cast<int>(i);
    return -1;
}

// An ACS Violation is completed with Completer Abort; a request the bridge
// does not route, with Unsupported Request.
void pci_bridge::refuse(tlm::tlm_generic_payload& gp, pcie::pcie_ext* ext, std::uint64_t& counter,
                        pcie::completion status) {
    ++counter;
    pcie::complete(gp, ext, status);
    // A posted request gets no completion: the refusal shows only in this port's status.
    if (pcie::is_posted(gp, ext)) log_error({status, ext ? ext->requester_id : std::uint16_t(0), gp.get_address(), true});
}

sc_time pci_bridge::pci_bus_time(std::uint64_t bytes) const {
    const std::uint64_t data_clocks = (bytes + bp_.pci_bus_width - 1) / bp_.pci_bus_width;
    return bp_.pci_bus_clock * static_cast<double>(bp_.pci_bus_overhead_clocks + data_clocks);
}

void pci_bridge::forward_down(int index, tlm::tlm_generic_payload& gp, sc_time& delay) {
    auto* ext = gp.get_extension<pcie::pcie_ext>();
    const std::uint64_t payload = gp.is_write() ? gp.get_data_length() : 0;
    delay += bp_.forward_latency;
    if (bus_kind_ == secondary_kind::pcie_link) link_.send_down(delay, payload);
    else if (bus_kind_ == secondary_kind::pci_bus) occupy(pci_bus_, delay, pci_bus_time(payload));
    secondary_out.b_transport(index, gp, delay);
    if (!pcie::is_posted(gp, ext)) {
        // The completion travels back up the same way, and through this bridge.
        const std::uint64_t data = gp.is_read() ? gp.get_data_length() : 0;
        const std::uint64_t split = ext ? ext->completion_split : 64;
        if (bus_kind_ == secondary_kind::pcie_link) link_.complete_up(delay, gp.get_address(), data, split);
        else if (bus_kind_ == secondary_kind::pci_bus) occupy(pci_bus_, delay, pci_bus_time(data));
        delay += bp_.forward_latency;
    }
    ++forwarded_down_;
}

inline void pci_bridge::carry_up(const tlm::tlm_generic_payload& gp, pcie::pcie_ext* ext, sc_time& delay) {
    const std::uint64_t payload = gp.is_write() ? gp.get_data_length() : 0;
    if (bus_kind_ == secondary_kind::pcie_link) link_.send_up(delay, payload);
    else if (bus_kind_ == secondary_kind::pci_bus) occupy(pci_bus_, delay, pci_bus_time(payload));
    // The request has left its issuer's link or bus: the issuer may send the next.
    if (ext && bus_kind_ != secondary_kind::switch_bus) pcie::mark_egress(*ext, delay);
}

inline void pci_bridge::carry_completion_down(const tlm::tlm_generic_payload& gp, const pcie::pcie_ext* ext, sc_time& delay) {
    if (pcie::is_posted(gp, ext)) return;
    const std::uint64_t data = gp.is_read() ? gp.get_data_length() : 0;
    if (bus_kind_ == secondary_kind::pcie_link) link_.complete_down(delay, gp.get_address(), data, ext ? ext->completion_split : 64);
    else if (bus_kind_ == secondary_kind::pci_bus) occupy(pci_bus_, delay, pci_bus_time(data));
}

void pci_bridge::downstream(tlm::tlm_generic_payload& gp, sc_time& delay) {
    auto* ext = gp.get_extension<pcie::pcie_ext>();
    if (ext && ext->kind == pcie::request_kind::config) {
        if (ext->config_type0) { config_access(gp, ext); return; }
        const pcie::bdf target = pcie::ecam_bdf(gp.get_address());
        bool type0 = false;
        const int index = routes_bus(target.bus) ? child_for_config(target, type0) : -1;
        if (index < 0) { refuse(gp, ext, unsupported_, pcie::completion::UR); return; }
        ext->config_type0 = type0;  // Type 1 becomes Type 0 on the bus the target sits on
        forward_down(index, gp, delay);
        return;
    }
    if (ext && ext->kind == pcie::request_kind::io) {
        const auto port = static_cast<std::uint32_t>(gp.get_address());
        if (pci_function::claims_io(port)) { pci_function::downstream(gp, delay); return; }
        const int index = (cfg_.command() & command_bits::io_space) && in_io_window(port) ? child_for_io(port) : -1;
        if (index < 0) { refuse(gp, ext, unsupported_, pcie::completion::UR); return; }
        ++io_forwarded_;
        forward_down(index, gp, delay);
        return;
    }
    if (bar_at(gp.get_address())) { pci_function::downstream(gp, delay); return; }
    const int index = cfg_.memory_enabled() && in_windows(gp.get_address()) ? child_for_memory(gp.get_address(), -1) : -1;
    if (index < 0) { refuse(gp, ext, unsupported_, pcie::completion::UR); return; }
    forward_down(index, gp, delay);
}

pci_bridge::peer_route pci_bridge::peer(int from, const tlm::tlm_generic_payload& gp, const pcie::pcie_ext& ext) const {
    // A Translation Request is for the Translation Agent in the root complex,
    // whatever address it names (PCIe 5.0 10.1): no peer takes it.
    if (ext.at == pcie::address_type::translation_request) return {};
    if (children_.size() < 2) return {};  // no peer below (a root port's one device)
    const int target = child_for_memory(gp.get_address(), from);
    if (target < 0) return {};
    const pci_function& src = *children_[from];
    switch (bus_kind_) {
    case secondary_kind::pci_bus:
        return {peer_route::direct, target};  // a shared bus: the target claims it, nobody in between
    case secondary_kind::pcie_link:
        // Functions of one device: inside the device, or out on the link,
        // where this port sees it as any request no peer took.
        if (src.reaches_sibling(*children_[target])) return {peer_route::direct, target};
        return {};
    case secondary_kind::switch_bus: {
        // The ingress downstream port's ACS decides (PCIe 5.0 6.12.1.2).
        const std::uint16_t ctl = src.acs_control();
        const bool translated = ext.at == pcie::address_type::translated;
        if ((ctl & acs_bits::DT) && translated) return {peer_route::direct, target};
        if ((ctl & acs_bits::RR) || !src.params().internal_p2p) return {peer_route::redirected, target};
        if (ctl & acs_bits::EC) return {peer_route::blocked, target};
        return {peer_route::direct, target};
    }
    }
    return {};
}

bool pci_bridge::upstream_dmi(int from, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
    const auto* ext = gp.get_extension<pcie::pcie_ext>();
    if (!ext || ext->kind != pcie::request_kind::memory || ext->at != pcie::address_type::untranslated) return false;
    if (!present() || !cfg_.bus_master() || in_windows(gp.get_address())) return false;
    if (peer(from, gp, *ext).how != peer_route::none) return false;
    if (downstream_port_ && (acs_control() & acs_bits::SV) && !routes_bus(pcie::bdf::from_rid(ext->requester_id).bus)) return false;
    return pcie_out->get_direct_mem_ptr(gp, dmi);
}

void pci_bridge::dmi_invalidated(sc_dt::uint64 start, sc_dt::uint64 end) {
    pci_function::dmi_invalidated(start, end);
    for (std::size_t i = 0; i < children_.size(); ++i) secondary_in[static_cast<int>(i)]->invalidate_direct_mem_ptr(start, end);
}

void pci_bridge::bus_master_cleared() {
    pci_function::bus_master_cleared();
    dmi_invalidated(0, ~sc_dt::uint64(0));
}

void pci_bridge::upstream(int from, tlm::tlm_generic_payload& gp, sc_time& delay) {
    auto* ext = gp.get_extension<pcie::pcie_ext>();
    const std::uint64_t addr = gp.get_address();
    if (ext && ext->kind == pcie::request_kind::message) { intx_from_below(gp, *ext, delay); return; }
    // Devices' I/O requests (peer-to-peer I/O) are not routed.
    if (!ext || ext->kind == pcie::request_kind::config || ext->kind == pcie::request_kind::io) {
        carry_up(gp, ext, delay);
        refuse(gp, ext, unsupported_, pcie::completion::UR);
        return;
    }
    const peer_route route = peer(from, gp, *ext);
    // Functions of one device reach each other inside it; everything else
    // crosses the secondary side before this bridge decides about it.
    if (route.how == peer_route::direct && bus_kind_ == secondary_kind::pcie_link) pcie::mark_egress(*ext, delay);
    else carry_up(gp, ext, delay);
    if (route.how == peer_route::blocked) { refuse(gp, ext, acs_blocked_, pcie::completion::CA); return; }
    if (route.how == peer_route::direct) {
        // Peer-to-peer below this bridge: it never reaches the root complex or
        // the IOMMU. On a shared bus or inside a device the target claims it
        // directly; across a switch it passes the switch's internal bus.
        ++peer_to_peer_;
        if (bus_kind_ == secondary_kind::switch_bus) {
            delay += bp_.forward_latency;
            secondary_out.b_transport(route.target, gp, delay);
            if (!pcie::is_posted(gp, ext)) delay += bp_.forward_latency;
            return;
        }
        secondary_out.b_transport(route.target, gp, delay);
        if (bus_kind_ == secondary_kind::pci_bus && !pcie::is_posted(gp, ext)) occupy(pci_bus_, delay, pci_bus_time(gp.is_read() ? gp.get_data_length() : 0));
        return;
    }
    const std::uint16_t ctl = acs_control();
    if (downstream_port_) {
        const pcie::bdf rid = pcie::bdf::from_rid(ext->requester_id);
        // Source Validation: the requester must sit below this port.
        if ((ctl & acs_bits::SV) && !routes_bus(rid.bus)) { refuse(gp, ext, acs_blocked_, pcie::completion::CA); return; }
        // Translation Blocking (PCIe 5.0 6.12.1.1): every upstream memory
        // request whose AT field is not the default 00b (translation requests
        // and translated requests alike) is an ACS Violation.
        if ((ctl & acs_bits::TB) && ext->at != pcie::address_type::untranslated) { refuse(gp, ext, acs_blocked_, pcie::completion::CA); return; }
    }
    // A downstream port's P2P Request Redirect sends the request out of the
    // switch through the upstream port, whatever its address.
    if (route.how == peer_route::redirected) {
        ++acs_redirected_;
    } else if (in_windows(addr)) {
        // Addressed below this bridge, and no peer took it: a root or
        // downstream port forwards it to the root complex only with ACS
        // Upstream Forwarding (a request redirected by a component below).
        if (!downstream_port_ || !(ctl & acs_bits::UF)) { refuse(gp, ext, unsupported_, pcie::completion::UR); return; }
    }
    if (!cfg_.bus_master()) { refuse(gp, ext, unsupported_, pcie::completion::UR); return; }
    // A bridge to conventional PCI takes ownership of the requests it forwards.
    const std::uint16_t original = ext->requester_id;
    if (bus_kind_ == secondary_kind::pci_bus)
        ext->requester_id = p_.pcie || bp_.secondary_requester_id ? static_cast<std::uint16_t>(secondary_bus() << 8) : bdf().rid();
    delay += bp_.forward_latency;
    pcie_out.b_transport(gp, delay);
    ext->requester_id = original;
    ++forwarded_up_;
    if (pcie::is_posted(gp, ext)) {
        // Nothing returns to the requester; the root port logs what became of it above.
        if (ext->status != pcie::completion::SC && p_.pcie == port_type::root_port)
            log_error({ext->status, original, addr, true});
        return;
    }
    delay += bp_.forward_latency;
    carry_completion_down(gp, ext, delay);
}

// --- INTx and I/O space ---

void pci_bridge::intx_from_below(tlm::tlm_generic_payload& gp, pcie::pcie_ext& ext, sc_time& delay) {
    // A message TLP crosses a PCIe link; on a conventional PCI bus INTx are
    // wires and on a switch's internal bus nothing is carried.
    if (bus_kind_ == secondary_kind::pcie_link) carry_up(gp, &ext, delay);
    else pcie::mark_egress(ext, delay);
    if (!pcie::message::is_intx(ext.message_code)) { refuse(gp, &ext, unsupported_, pcie::completion::UR); return; }
    pcie::complete(gp, &ext, pcie::completion::SC);
    ++intx_received_;
    // The swizzle: the requester's device number on the secondary bus rotates its wire.
    const pcie::bdf src = pcie::bdf::from_rid(ext.requester_id);
    const unsigned wire = (pcie::message::intx_wire(ext.message_code) + src.dev) % 4;
    std::set<std::uint8_t>& sources = intx_sources_[wire];
    const bool was = !sources.empty();
    if (pcie::message::is_assert(ext.message_code)) sources.insert(src.devfn());
    else sources.erase(src.devfn());
    if (was != !sources.empty()) send_intx_up(wire, !was, delay);
}

void pci_bridge::send_intx_up(unsigned wire, bool asserted, sc_time& delay) {
    tlm::tlm_generic_payload gp;
    pcie::pcie_ext ext;
    ext.kind = pcie::request_kind::message;
    ext.message_code = static_cast<std::uint8_t>((asserted ? pcie::message::assert_inta : pcie::message::deassert_inta) + wire);
    ext.requester_id = bdf().rid();
    ext.origin = this;
    std::uint8_t none = 0;
    prepare(gp, tlm::TLM_WRITE_COMMAND, 0, &none, 0);
    gp.set_extension(&ext);
    delay += bp_.forward_latency;
    pcie_out.b_transport(gp, delay);
    gp.clear_extension(&ext);
    ++intx_forwarded_;
}

void pci_bridge::drop_intx(sc_time& delay) {
    for (unsigned w = 0; w < 4; ++w) {
        if (intx_sources_[w].empty()) continue;
        intx_sources_[w].clear();
        send_intx_up(w, false, delay);
    }
}

void pci_bridge::secondary_bus_reset() {
    ++bus_resets_;
    // Every function below sees a conventional reset: its state returns to
    // reset values, its DMA stops and its line goes low.
    for (pci_function* c : children_) {
        c->function_level_reset();
        c->set_intx(false);
    }
    sc_time d = SC_ZERO_TIME;
    drop_intx(d);
}

void pci_bridge::reset_device() {
    decode_windows();
    decode_io_window();
    secondary_bus_reset();
}

void pci_bridge::decode_io_window() {
    io_ = {(cfg_.get(cfg::io_base, 1) & 0xf0) << 8, ((cfg_.get(cfg::io_limit, 1) & 0xf0) << 8) | 0xfff};
}

bool pci_bridge::claims_io(std::uint32_t port) const {
    return pci_function::claims_io(port) || ((cfg_.command() & command_bits::io_space) && in_io_window(port));
}

int pci_bridge::child_for_io(std::uint32_t port) const {
    for (std::size_t i = 0; i < children_.size(); ++i)
        if (children_[i]->claims_io(port)) return static_cast<int>(i);
    return -1;
}

void pci_bridge::stats(stat_map& out) const {
    pci_function::stats(out);
    const std::string n = basename();
    add_stat(out, n, "forwarded_up", forwarded_up_);
    add_stat(out, n, "forwarded_down", forwarded_down_);
    add_stat(out, n, "unsupported_requests", unsupported_);
    add_stat(out, n, "peer_to_peer", peer_to_peer_);
    add_stat(out, n, "acs_blocked", acs_blocked_);
    add_stat(out, n, "acs_redirected", acs_redirected_);
    add_stat(out, n, "intx_received", intx_received_);
    add_stat(out, n, "intx_forwarded", intx_forwarded_);
    add_stat(out, n, "secondary_bus_resets", bus_resets_);
    add_stat(out, n, "io_forwarded", io_forwarded_);
}

} // namespace iotwin::pci
