#include "models/mem/memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace iotwin::mem {

using namespace sc_core;

memory::memory(sc_module_name name, const memory_params& p)
    : sc_module(name), socket("socket"), p_(p), ns_per_byte_(1.0 / p.bandwidth),
      channels_(static_cast<std::size_t>(p.channels ? p.channels : 1)) {
    void* m = mmap(nullptr, p_.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) throw std::runtime_error("cannot reserve " + std::to_string(p_.size) + " bytes of machine memory");
    data_ = static_cast<std::uint8_t*>(m);
    if (p_.regions.empty()) p_.regions.push_back({0, p_.size});
    const auto pow2 = [](std::uint64_t x) { return x && (x & (x - 1)) == 0; };
    block_pow2_ = pow2(p_.interleave);
    if (block_pow2_) block_shift_ = static_cast<unsigned>(__builtin_ctzll(p_.interleave));
    if (pow2(channels_.size())) channel_mask_ = channels_.size() - 1;
    else channel_magic_ = ~std::uint64_t(0) / channels_.size() + 1;
    socket.register_b_transport(this, &memory::b_transport);
    socket.register_get_direct_mem_ptr(this, &memory::get_direct_mem_ptr);
    socket.register_transport_dbg(this, &memory::transport_dbg);
}

memory::~memory() { munmap(data_, p_.size); }

// Inline: every request decodes its address (the RAM below and above the hole are two regions).
inline std::int64_t memory::offset_of(std::uint64_t addr, std::uint64_t len) const {
    std::uint64_t array_base = 0;
    for (const auto& r : p_.regions) {
        if (addr >= r.base && len <= r.size && addr - r.base <= r.size - len)
            return static_cast<std::int64_t>(array_base + (addr - r.base));
        array_base += r.size;
    }
    return -1;
}

// Inline: every request takes these (defined before their one caller).
inline sc_time memory::transfer_time(std::uint64_t bytes) {
    // Streams repeat one size: convert it once.
    if (bytes != last_bytes_) {
        last_bytes_ = bytes;
        last_time_ = ns_(static_cast<double>(bytes) * ns_per_byte_);
    }
    return last_time_;
}

inline std::uint64_t memory::block_offset(std::uint64_t a) const { return block_pow2_ ? a & (p_.interleave - 1) : a % p_.interleave; }
inline std::size_t memory::channel_of(std::uint64_t a) const {
    const std::uint64_t b = block_pow2_ ? a >> block_shift_ : a / p_.interleave;
    if (!channel_magic_) return static_cast<std::size_t>(b & channel_mask_);
    // b mod channels by multiplication (Lemire, Kaser and Kurz, "Faster
    // remainder by direct computation", 2019): exact for 32-bit dividends.
    if (b >> 32) return static_cast<std::size_t>(b % channels_.size());
    __extension__ using u128 = unsigned __int128;
    const std::uint64_t low = channel_magic_ * b;
    return static_cast<std::size_t>((static_cast<u128>(low) * channels_.size()) >> 64);
}

// Each interleave block of [addr, addr + len) moves on its own channel, from
// `delay` on; the access is done when the last of them is.
inline void memory::transfer(std::uint64_t addr, std::uint64_t len, sc_time& delay) {
    const sc_time now = sim_now(), start = now + delay;
    const std::uint64_t block = p_.interleave;
    // A TLP's payload rarely crosses a block: one channel, no loop.
    if (block_offset(addr) + len <= block) {
        delay = channels_[channel_of(addr)].occupy(start, transfer_time(len), now) - now;
        return;
    }
    sc_time end = start;
    for (std::uint64_t a = addr; a < addr + len;) {
        const std::uint64_t n = std::min(addr + len - a, block - block_offset(a));
        timed_resource& ch = channels_[channel_of(a)];
        end = std::max(end, ch.occupy(start, transfer_time(n), now));
        a += n;
    }
    delay = end - now;
}

// Byte enables and streaming width honoured as the LRM defines them (IEEE
// 1666-2011 14.14, 14.15); the common case is one memcpy.
inline void memory::copy(tlm::tlm_generic_payload& gp, std::uint64_t off, bool read) {
    std::uint8_t* d = gp.get_data_ptr();
    const unsigned len = gp.get_data_length(), width = gp.get_streaming_width();
    const unsigned char* be = gp.get_byte_enable_ptr();
    if (!be && width >= len) {
        if (read) std::memcpy(d, data_ + off, len);
        else std::memcpy(data_ + off, d, len);
        return;
    }
    const unsigned be_len = gp.get_byte_enable_length();
    for (unsigned i = 0; i < len; ++i) {
        if (be && be[i % be_len] != TLM_BYTE_ENABLED) continue;
        std::uint8_t* m = data_ + off + i % width;
        if (read) d[i] = *m;
        else *m = d[i];
    }
}

void memory::b_transport(tlm::tlm_generic_payload& gp, sc_time& delay) {
    const std::uint64_t a = gp.get_address();
    const unsigned len = gp.get_data_length();
    const unsigned width = gp.get_streaming_width();
    if (width == 0 || (gp.get_byte_enable_ptr() && gp.get_byte_enable_length() == 0)) {
        ++errors_;
        gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);  // a malformed payload (IEEE 1666-2011 14.13, 14.14)
        return;
    }
    // Streaming: the address range is the streaming width, data beats repeat over it.
    const std::int64_t off = offset_of(a, std::min(len, width));
    if (off < 0) {
        ++errors_;
        gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    for (const observer& o : observers_)
        if (o) o(gp);
    if (gp.is_read()) {
        copy(gp, static_cast<std::uint64_t>(off), true);
        delay += p_.read_latency;
        ++reads_;
        bytes_read_ += len;
    } else if (gp.is_write()) {
        copy(gp, static_cast<std::uint64_t>(off), false);
        delay += p_.write_latency;
        ++writes_;
        bytes_written_ += len;
    }
    transfer(a, std::min(len, width), delay);
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
