#include "models/mem/memory.h"

#include <sys/mman.h>

#include <cstring>
#include <stdexcept>

namespace iotwin::mem {

using namespace sc_core;

memory::memory(sc_module_name name, const memory_params& p)
    : sc_module(name), socket("socket"), p_(p), ns_per_byte_(1.0 / p.bandwidth) {
    void* m = mmap(nullptr, p_.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) throw std::runtime_error("cannot reserve " + std::to_string(p_.size) + " bytes of machine memory");
    data_ = static_cast<std::uint8_t*>(m);
    if (p_.regions.empty()) p_.regions.push_back({0, p_.size});
    socket.register_b_transport(this, &memory::b_transport);
    socket.register_get_direct_mem_ptr(this, &memory::get_direct_mem_ptr);
    socket.register_transport_dbg(this, &memory::transport_dbg);
}

memory::~memory() { munmap(data_, p_.size); }

std::int64_t memory::offset_of(std::uint64_t addr, std::uint64_t len) const {
    std::uint64_t array_base = 0;
    for (const auto& r : p_.regions) {
        if (addr >= r.base && len <= r.size && addr - r.base <= r.size - len)
            return static_cast<std::int64_t>(array_base + (addr - r.base));
        array_base += r.size;
    }
    return -1;
}

void memory::b_transport(tlm::tlm_generic_payload& gp, sc_time& delay) {
    const std::uint64_t a = gp.get_address();
    const unsigned len = gp.get_data_length();
    if (gp.get_byte_enable_ptr() || gp.get_streaming_width() < len) {
        ++errors_;
        gp.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        return;
    }
    const std::int64_t off = offset_of(a, len);
    if (off < 0) {
        ++errors_;
        gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    for (const observer& o : observers_) o(gp);
    const sc_time transfer = ns_(len * ns_per_byte_);
    if (gp.is_read()) {
        std::memcpy(gp.get_data_ptr(), data_ + off, len);
        delay += p_.read_latency;
        ++reads_;
        bytes_read_ += len;
    } else if (gp.is_write()) {
        std::memcpy(data_ + off, gp.get_data_ptr(), len);
        delay += p_.write_latency;
        ++writes_;
        bytes_written_ += len;
    }
    occupy(channel_, delay, transfer);
    gp.set_dmi_allowed(true);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

bool memory::get_direct_mem_ptr(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
    std::uint64_t array_base = 0;
    const memory_params::region* hit = nullptr;
    for (const auto& r : p_.regions) {
        if (gp.get_address() >= r.base && gp.get_address() - r.base < r.size) { hit = &r; break; }
        array_base += r.size;
    }
    if (!hit) return false;
    dmi.set_dmi_ptr(data_ + array_base);
    dmi.set_start_address(hit->base);
    dmi.set_end_address(hit->base + hit->size - 1);
    dmi.allow_read_write();
    dmi.set_read_latency(p_.read_latency);
    dmi.set_write_latency(p_.write_latency);
    return true;
}

unsigned memory::transport_dbg(tlm::tlm_generic_payload& gp) {
    const std::int64_t off = offset_of(gp.get_address(), gp.get_data_length());
    if (off < 0) return 0;
    if (gp.is_read()) std::memcpy(gp.get_data_ptr(), data_ + off, gp.get_data_length());
    else if (gp.is_write()) std::memcpy(data_ + off, gp.get_data_ptr(), gp.get_data_length());
    return gp.get_data_length();
}

void memory::invalidate(std::uint64_t start, std::uint64_t end) { socket->invalidate_direct_mem_ptr(start, end); }

bool memory::peek(std::uint64_t addr, std::uint8_t* out, std::uint64_t len) const {
    const std::int64_t off = offset_of(addr, len);
    if (off < 0) return false;
    std::memcpy(out, data_ + off, len);
    return true;
}

bool memory::poke(std::uint64_t addr, const std::uint8_t* in, std::uint64_t len) {
    const std::int64_t off = offset_of(addr, len);
    if (off < 0) return false;
    std::memcpy(data_ + off, in, len);
    return true;
}

void memory::stats(stat_map& out) const {
    const std::string n = basename();
    add_stat(out, n, "reads", reads_);
    add_stat(out, n, "writes", writes_);
    add_stat(out, n, "bytes_read", bytes_read_);
    add_stat(out, n, "bytes_written", bytes_written_);
    add_stat(out, n, "errors", errors_);
}

} // namespace iotwin::mem
