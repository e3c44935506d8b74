// The Xen block interface shared by blkfront and blkback: the request and
// response layouts of xen/include/public/io/blkif.h (Linux's
// include/xen/interface/io/blkif.h) and the shared ring of io/ring.h, as a
// 64-bit guest lays them out in the granted ring page.
//
// Both ends reach the page only by loads and stores through their own
// memory path (kernel::access); the structures below are the values each
// end holds privately after copying an entry in or before copying it out,
// and encode/decode give their exact bytes.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

#include <systemc>

namespace iotwin::guest::blkif {

// BLKIF_OP_* (blkif.h).
enum : std::uint8_t {
    BLKIF_OP_READ = 0,
    BLKIF_OP_WRITE = 1,
    BLKIF_OP_WRITE_BARRIER = 2,
    BLKIF_OP_FLUSH_DISKCACHE = 3,
    BLKIF_OP_DISCARD = 5,
    BLKIF_OP_INDIRECT = 6,
};

// BLKIF_RSP_* (blkif.h).
enum : std::int16_t {
    BLKIF_RSP_EOPNOTSUPP = -2,
    BLKIF_RSP_ERROR = -1,
    BLKIF_RSP_OKAY = 0,
};
const char* rsp_name(std::int16_t status);  // "BLKIF_RSP_OKAY"; "" when unknown

constexpr unsigned BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
constexpr std::uint64_t sector_size = 512;
constexpr std::uint64_t page_size = 4096;
constexpr unsigned sectors_per_page = page_size / sector_size;  // XEN_PAGE_SIZE >> 9

// struct blkif_request_segment: gref u32, first_sect u8, last_sect u8, 2 bytes of padding.
struct segment {
    std::uint32_t gref = 0;
    std::uint8_t first_sect = 0, last_sect = 0;
};

// struct blkif_request (the read/write form, packed as blkif.h has it for
// x86_64): operation u8, nr_segments u8, handle u16, _pad1 u32 (so that id
// is at offset 8), id u64, sector_number u64, seg[11] of 8 bytes: 112 bytes.
struct request {
    std::uint8_t operation = 0;
    std::uint8_t nr_segments = 0;
    std::uint16_t handle = 0;
    std::uint64_t id = 0;
    std::uint64_t sector_number = 0;
    std::array<segment, BLKIF_MAX_SEGMENTS_PER_REQUEST> seg{};
};
constexpr std::uint64_t request_size = 112;

// struct blkif_response: id u64, operation u8, (pad), status i16, (pad): 16 bytes.
struct response {
    std::uint64_t id = 0;
    std::uint8_t operation = 0;
    std::int16_t status = 0;
};
constexpr std::uint64_t response_size = 16;

// The shared ring (DEFINE_RING_TYPES in io/ring.h): four indices, 48 bytes
// of padding, then the entries, each the size of the union of a request
// and a response; __RING_SIZE rounds the count down to a power of two:
// (4096 - 64) / 112 = 36 -> 32 (BLK_RING_SIZE for one page).
namespace sring {
constexpr std::uint64_t req_prod = 0;
constexpr std::uint64_t req_event = 4;
constexpr std::uint64_t rsp_prod = 8;
constexpr std::uint64_t rsp_event = 12;
constexpr std::uint64_t entries = 64;
constexpr std::uint64_t entry_size = request_size;
constexpr std::uint32_t ring_size = 32;
constexpr std::uint64_t entry(std::uint32_t idx) { return entries + (idx & (ring_size - 1)) * entry_size; }
}  // namespace sring
static_assert(sring::entries + sring::ring_size * sring::entry_size <= page_size, "the ring fits its page");
static_assert(sring::entries + 2 * sring::ring_size * sring::entry_size > page_size, "32 is the largest power of two that fits");

inline void put_le(std::uint8_t* p, std::uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint64_t get_le(const std::uint8_t* p, unsigned n) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= std::uint64_t(p[i]) << (8 * i);
    return v;
}

inline std::array<std::uint8_t, request_size> encode(const request& r) {
    std::array<std::uint8_t, request_size> b{};
    b[0] = r.operation;
    b[1] = r.nr_segments;
    put_le(&b[2], r.handle, 2);
    put_le(&b[8], r.id, 8);
    put_le(&b[16], r.sector_number, 8);
    for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; ++i) {
        put_le(&b[24 + 8 * i], r.seg[i].gref, 4);
        b[28 + 8 * i] = r.seg[i].first_sect;
        b[29 + 8 * i] = r.seg[i].last_sect;
    }
    return b;
}

inline request decode_request(const std::uint8_t* b) {
    request r;
    r.operation = b[0];
    r.nr_segments = b[1];
    r.handle = static_cast<std::uint16_t>(get_le(&b[2], 2));
    r.id = get_le(&b[8], 8);
    r.sector_number = get_le(&b[16], 8);
    for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; ++i) {
        r.seg[i].gref = static_cast<std::uint32_t>(get_le(&b[24 + 8 * i], 4));
        r.seg[i].first_sect = b[28 + 8 * i];
        r.seg[i].last_sect = b[29 + 8 * i];
    }
    return r;
}

inline std::array<std::uint8_t, response_size> encode(const response& r) {
    std::array<std::uint8_t, response_size> b{};
    put_le(&b[0], r.id, 8);
    b[8] = r.operation;
    put_le(&b[10], static_cast<std::uint16_t>(r.status), 2);
    return b;
}

inline response decode_response(const std::uint8_t* b) {
    response r;
    r.id = get_le(&b[0], 8);
    r.operation = b[8];
    r.status = static_cast<std::int16_t>(static_cast<std::uint16_t>(get_le(&b[10], 2)));
    return r;
}

// Data movement of the back end (a scenario parameter).
enum class mode { copy, map, persistent };

// One end's event-channel port as its kernel handler sees it: the handler
// only rings (it runs inside the hypercall that raised the event); the end's
// work runs later in the step, after waiting on `event()` until `rung()`.
class doorbell {
public:
    doorbell() : event_(std::make_unique<sc_core::sc_event>()) {}
    ~doorbell() { *alive_ = false; }
    doorbell(const doorbell&) = delete;
    doorbell& operator=(const doorbell&) = delete;

    // Rings on every event the kernel's upcall finds for `port` (a handler
    // outliving the doorbell does nothing).
    template <class Kernel> void bind(Kernel& k, std::uint32_t port) {
        std::weak_ptr<bool> alive = alive_;
        k.bind_port(port, [this, alive](std::uint32_t, const sc_core::sc_time&) {
            if (const auto a = alive.lock(); !a || !*a) return;
            rung_ = true;
            event_->notify(sc_core::SC_ZERO_TIME);
        });
    }
    const bool& rung() const { return rung_; }
    void clear() { rung_ = false; }
    sc_core::sc_event& event() { return *event_; }

private:
    bool rung_ = false;
    std::unique_ptr<sc_core::sc_event> event_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace iotwin::guest::blkif
