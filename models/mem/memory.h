// Machine memory: a TLM target over a flat array of the platform's size. The
// array is reserved with mmap(MAP_NORESERVE), so a 64 GiB machine costs only the
// pages a scenario touches. Grants DMI (read and write) for the whole array and
// revokes it through invalidate() whenever permission changes upstream.
//
// Timing: a fixed access latency per direction plus the transfer time on the
// channels the access touches (addresses interleave across them), each at the
// configured bandwidth; each channel is a timed resource, so concurrent
// requesters queue on the channels they share.
// Every b_transport is shown to the observers, which is how the isolation
// checkers see each access that reaches memory.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <systemc>
#include <tlm>

#include "models/common/ns_time.h"
#include "models/common/params.h"
#include "models/common/stats.h"
#include "models/common/target_socket.h"
#include "models/common/timed_resource.h"

namespace iotwin::mem {

struct memory_params {
    std::uint64_t size = 4ull << 30;
    // Where the array appears in the machine address space: on a PC, RAM below
    // the 32-bit MMIO hole and the rest above 4 GiB. Empty: one region at 0.
    struct region { std::uint64_t base, size; };
    std::vector<region> regions;
    sc_core::sc_time read_latency = sc_core::sc_time(80, sc_core::SC_NS);
    sc_core::sc_time write_latency = sc_core::sc_time(40, sc_core::SC_NS);
    double bandwidth = 21.3;  // GB/s, each channel
    // Channels, interleaved by address: consecutive `interleave`-byte blocks
    // go to consecutive channels, so a long access uses several at once.
    std::uint64_t channels = 6;
    std::uint64_t interleave = 256;

    template <class V> void visit(V& v) {
        v("read_latency", read_latency, "time", "idle DRAM load-to-use latency of a read");
        v("write_latency", write_latency, "time", "latency until a posted write is accepted by the memory controller");
        v("bandwidth", bandwidth, "GB/s", "peak bandwidth of one channel");
        v("channels", channels, "channels", "memory channels every requester shares, interleaved by address");
        v("interleave", interleave, "bytes", "bytes of consecutive addresses on one channel before the next");
    }
};

class memory : public sc_core::sc_module {
public:
    target_socket<memory> socket;

    // Sees every access that arrives through b_transport (not DMI).
    using observer = std::function<void(const tlm::tlm_generic_payload&)>;

    memory(sc_core::sc_module_name name, const memory_params& p);
    ~memory() override;
    memory(const memory&) = delete;
    memory& operator=(const memory&) = delete;

    // Returns the handle remove_observer() takes.
    std::size_t add_observer(observer o) {
        observers_.push_back(std::move(o));
        return observers_.size() - 1;
    }
    // An observer that goes away before the memory: it sees nothing more.
    void remove_observer(std::size_t handle) {
        if (handle < observers_.size()) observers_[handle] = nullptr;
    }
    // Revokes every DMI pointer handed out for [start, end].
    void invalidate(std::uint64_t start, std::uint64_t end);

    // Untimed access for loaders and checkers (the debug transport's behaviour).
    bool peek(std::uint64_t addr, std::uint8_t* out, std::uint64_t len) const;
    bool poke(std::uint64_t addr, const std::uint8_t* in, std::uint64_t len);
    std::uint64_t size() const { return p_.size; }
    void stats(stat_map& out) const;

private:
    void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    bool get_direct_mem_ptr(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
    unsigned transport_dbg(tlm::tlm_generic_payload& gp);
    void copy(tlm::tlm_generic_payload& gp, std::uint64_t off, bool read);
    void transfer(std::uint64_t addr, std::uint64_t len, sc_core::sc_time& delay);
    sc_core::sc_time transfer_time(std::uint64_t bytes);
    std::uint64_t block_offset(std::uint64_t a) const;
    std::size_t channel_of(std::uint64_t a) const;
    // Offset into the array of [addr, addr+len), or -1 when not all of it is RAM.
    std::int64_t offset_of(std::uint64_t addr, std::uint64_t len) const;

    memory_params p_;
    std::uint8_t* data_ = nullptr;
    double ns_per_byte_;
    ns_time ns_;
    std::vector<timed_resource> channels_;
    // Interleave decoding without a division per access (a 64-bit divide
    // costs as much as the rest of the memory's work): the interleave is a
    // power of two on every controller (the loader requires it), the channel
    // count often is not (six on a two-socket Xeon).
    bool block_pow2_ = false;           // interleave a power of two
    unsigned block_shift_ = 0;          // log2(interleave) when block_pow2_
    std::uint64_t channel_mask_ = 0;    // channels - 1 when the count is a power of two
    std::uint64_t channel_magic_ = 0;   // ceil(2^64 / channels) otherwise (exact modulo of 32-bit block numbers)
    std::uint64_t last_bytes_ = 0;          // the last transfer size converted, and its time
    sc_core::sc_time last_time_ = sc_core::SC_ZERO_TIME;
    std::vector<observer> observers_;
    std::uint64_t reads_ = 0, writes_ = 0, bytes_read_ = 0, bytes_written_ = 0, errors_ = 0;
};

} // namespace iotwin::mem
