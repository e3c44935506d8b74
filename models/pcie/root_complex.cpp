#include "models/pcie/root_complex.h"

#include <algorithm>
#include <cstring>

namespace iotwin::pcie {

using namespace sc_core;

root_complex::root_complex(sc_module_name name, const root_complex_params& p)
    : sc_module(name), host_in("host_in"), io_in("io_in"), down_out("down_out"), down_in("down_in"), iommu_out("iommu_out"), p_(p) {
    host_in.register_b_transport(this, &root_complex::host_transport);
    io_in.register_b_transport(this, &root_complex::io_transport);
    down_in.register_b_transport(this, &root_complex::device_transport);
    down_in.register_get_direct_mem_ptr(this, &root_complex::device_dmi);
    iommu_out.register_invalidate_direct_mem_ptr(this, &root_complex::iommu_dmi_invalidated);
}

bool root_complex::device_dmi(int from, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
    const auto* ext = gp.get_extension<pcie_ext>();
    const std::uint64_t a = gp.get_address();
    if (!ext || ext->kind != request_kind::memory || is_msi_address(a)) return false;
    for (int peer : same_device_[from])
        if (children_[peer]->claims_memory(a)) return false;
    if (!iommu_out->get_direct_mem_ptr(gp, dmi)) return false;
    // The root complex is crossed each way by a read, once by a write.
    dmi.set_read_latency(dmi.get_read_latency() + 2 * p_.latency);
    dmi.set_write_latency(dmi.get_write_latency() + p_.latency);
    return true;
}

void root_complex::iommu_dmi_invalidated(sc_dt::uint64 start, sc_dt::uint64 end) {
    for (std::size_t i = 0; i < children_.size(); ++i) down_in[static_cast<int>(i)]->invalidate_direct_mem_ptr(start, end);
}

void root_complex::attach(pci::pci_function& f, std::uint8_t root_bus) {
    f.pcie_out.bind(down_in);
    down_out.bind(f.pcie_in);
    const int me = static_cast<int>(children_.size());
    same_device_.emplace_back();
    for (int i = 0; i < me; ++i)
        if (root_bus_[i] == root_bus && (children_[i]->devfn() >> 3) == (f.devfn() >> 3)) {
            same_device_[i].push_back(me);
            same_device_[me].push_back(i);
        }
    auto r = std::find_if(routes_.begin(), routes_.end(), [&](const auto& x) { return x.first == root_bus; });
    if (r == routes_.end()) r = routes_.insert(routes_.end(), {root_bus, pci::config_routes()});
    r->second.add(f, me);
    children_.push_back(&f);
    root_bus_.push_back(root_bus);
}

int root_complex::route_config(const bdf& target, bool& type0) const {
    for (const auto& [bus, routes] : routes_)
        if (const int i = routes.route(target, bus, false, type0); i >= 0) return i;
    return -1;
}

int root_complex::route_memory(std::uint64_t addr, int except) const {
    for (std::size_t i = 0; i < children_.size(); ++i)
        if (static_cast<int>(i) != except && children_[i]->claims_memory(addr)) return static_cast<int>(i);
    return -1;
}

int root_complex::route_io(std::uint32_t port) const {
    for (std::size_t i = 0; i < children_.size(); ++i)
        if (children_[i]->claims_io(port)) return static_cast<int>(i);
    return -1;
}

void root_complex::io_transport(tlm::tlm_generic_payload& gp, sc_time& delay) {
    auto* ext = gp.get_extension<pcie_ext>();
    pcie_ext local;
    if (!ext) { ext = &local; gp.set_extension(ext); }
    ext->host = true;
    ext->kind = request_kind::io;
    ++io_requests_;
    const std::uint64_t port = gp.get_address();
    const unsigned len = gp.get_data_length();
    delay += p_.latency;
    // x86 port I/O: 64 KiB of ports, accesses of 1, 2 or 4 bytes.
    const bool ok = (len == 1 || len == 2 || len == 4) && port < 0x10000 && port + len <= 0x10000;
    const int index = ok ? route_io(static_cast<std::uint32_t>(port)) : -1;
    if (index >= 0) down_out.b_transport(index, gp, delay);
    else complete(gp, ext, completion::UR);
    // I/O writes are non-posted: the completion crosses the root complex again.
    delay += p_.latency;
    if (ext->status != completion::SC) {
        ++unsupported_;
        // Master abort: a read returns all ones, a write is dropped.
        if (gp.is_read()) std::memset(gp.get_data_ptr(), 0xff, len);
        complete(gp, ext, ext->status);
    }
    if (ext == &local) gp.clear_extension(&local);
}

void root_complex::intx_message(int from, tlm::tlm_generic_payload& gp, pcie_ext& ext, sc_time& delay) {
    if (!message::is_intx(ext.message_code)) {
        ++unsupported_;
        complete(gp, &ext, completion::UR);
        return;
    }
    ++intx_messages_;
    complete(gp, &ext, completion::SC);
    delay += p_.latency;
    // The input is the root-bus function's wire: its position on its root bus.
    const pci::pci_function& f = *children_[from];
    const unsigned wire = message::intx_wire(ext.message_code);
    const std::uint32_t input = (std::uint32_t(root_bus_[from]) << 8 | f.devfn()) << 2 | wire;
    if (intx_sink_) intx_sink_(intx_gsi(static_cast<std::uint8_t>(f.devfn() >> 3), wire), input, message::is_assert(ext.message_code), delay);
}

void root_complex::host_transport(tlm::tlm_generic_payload& gp, sc_time& delay) {
    auto* ext = gp.get_extension<pcie_ext>();
    if (ext && !ext->host) {
        inbound_transport(gp, *ext, delay);
        return;
    }
    // A CPU access gets the PCIe attributes here unless its issuer attached them.
    pcie_ext local;
    if (!ext) { ext = &local; gp.set_extension(ext); }
    ext->host = true;
    const std::uint64_t addr = gp.get_address();
    const bool config = addr >= p_.ecam_base && addr < p_.ecam_base + (256u << 20);
    int index;
    delay += p_.latency;
    if (config) {
        ++config_requests_;
        const std::uint64_t off = addr - p_.ecam_base;
        ext->kind = request_kind::config;
        index = route_config(ecam_bdf(off), ext->config_type0);
        gp.set_address(off);
    } else {
        ++mmio_requests_;
        ext->kind = request_kind::memory;
        index = route_memory(addr, -1);
    }
    // A CPU's memory write is posted: the core goes on once the root complex
    // has taken it (the first hop marks that), a read or a configuration
    // request waits for its completion, which crosses the root complex again.
    if (is_posted(gp, ext)) mark_egress(*ext, delay);
    if (index >= 0) {
        down_out.b_transport(index, gp, delay);
    } else {
        complete(gp, ext, completion::UR);
    }
    if (!is_posted(gp, ext)) delay += p_.latency;
    gp.set_address(addr);
    if (ext->status != completion::SC) {
        ++unsupported_;
        // Master abort on a PC: reads return all ones, writes are dropped. The
        // response says what the fabric answered (TLM and PCIe status agree);
        // the CPU's load does not fault on it.
        if (gp.is_read()) std::memset(gp.get_data_ptr(), 0xff, gp.get_data_length());
        complete(gp, ext, ext->status);
    }
    if (ext == &local) gp.clear_extension(&local);
}

void root_complex::inbound_transport(tlm::tlm_generic_payload& gp, pcie_ext& ext, sc_time& delay) {
    const std::uint64_t addr = gp.get_address();
    const std::uint64_t len = gp.get_data_length();
    const bool config = addr >= p_.ecam_base && addr - p_.ecam_base < (256u << 20);
    delay += p_.latency;
    int index = -1;
    // ECAM is the host's: a device's write there is no configuration request.
    // A peer is reached only when the platform routes peer-to-peer here, and
    // only with a request that stays inside the BAR it starts in.
    if (!config && ext.kind == request_kind::memory && p_.peer_to_peer && len != 0) {
        index = route_memory(addr, -1);
        if (index >= 0 && !children_[index]->claims_memory(addr + len - 1)) index = -1;
    }
    if (index < 0) {
        ++inbound_unsupported_;
        complete(gp, &ext, completion::UR);
        return;
    }
    ++inbound_peer_to_peer_;
    down_out.b_transport(index, gp, delay);
    delay += p_.latency;
}

void root_complex::device_transport(int from, tlm::tlm_generic_payload& gp, sc_time& delay) {
    auto* ext = gp.get_extension<pcie_ext>();
    const std::uint64_t a = gp.get_address();
    const std::uint64_t len = gp.get_data_length();
    ++upstream_requests_;
    if (ext && ext->kind == request_kind::message) { intx_message(from, gp, *ext, delay); return; }
    if (!ext || ext->kind == request_kind::config || ext->kind == request_kind::io || len == 0 || (a & ~std::uint64_t(4095)) != ((a + len - 1) & ~std::uint64_t(4095))) {
        ++unsupported_;
        complete(gp, ext, completion::UR);
        return;
    }
    // Another function of the same root-bus device, reached inside the device.
    for (int peer : same_device_[from])
        if (children_[peer]->claims_memory(a) && children_[from]->reaches_sibling(*children_[peer])) {
            ++peer_to_peer_;
            down_out.b_transport(peer, gp, delay);
            return;
        }
    if (gp.is_write() && is_msi_address(a)) {
        ext->kind = request_kind::msi;
        ++msi_requests_;
    }
    delay += p_.latency;
    if (gp.is_read()) ext->completion_split = static_cast<std::uint32_t>(p_.read_completion_boundary);
    iommu_out.b_transport(gp, delay);
    // A read's completion crosses the root complex again; a posted write has none.
    if (!is_posted(gp, ext)) delay += p_.latency;
}

void root_complex::stats(stat_map& out) const {
    const std::string n = basename();
    add_stat(out, n, "config_requests", config_requests_);
    add_stat(out, n, "mmio_requests", mmio_requests_);
    add_stat(out, n, "upstream_requests", upstream_requests_);
    add_stat(out, n, "msi_requests", msi_requests_);
    add_stat(out, n, "unsupported_requests", unsupported_);
    add_stat(out, n, "peer_to_peer", peer_to_peer_);
    add_stat(out, n, "inbound_peer_to_peer", inbound_peer_to_peer_);
    add_stat(out, n, "inbound_unsupported", inbound_unsupported_);
    add_stat(out, n, "intx_messages", intx_messages_);
    add_stat(out, n, "io_requests", io_requests_);
}

} // namespace iotwin::pcie
