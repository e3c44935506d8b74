// Machine memory through its TLM socket: data, timing, address decoding of
// the regions, byte enables, DMI and its invalidation, observers, peek/poke.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>

#include "models/mem/memory.h"

namespace iotwin::mem {
namespace {

using namespace sc_core;

constexpr std::uint64_t MiB = 1ull << 20;
constexpr std::uint64_t high_base = 0x1'0000'0000;  // second region, above a "32-bit hole"

struct initiator : sc_module {
    tlm_utils::simple_initiator_socket<initiator> socket{"socket"};
    std::vector<std::pair<std::uint64_t, std::uint64_t>> invalidated;

    explicit initiator(sc_module_name n) : sc_module(n) {
        socket.register_invalidate_direct_mem_ptr(this, &initiator::invalidate_direct_mem_ptr);
    }
    void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) { invalidated.emplace_back(start, end); }

    tlm::tlm_response_status access(tlm::tlm_command cmd, std::uint64_t addr, void* data, unsigned len, sc_time& delay,
                                    unsigned char* byte_enable = nullptr) {
        tlm::tlm_generic_payload gp;
        gp.set_command(cmd);
        gp.set_address(addr);
        gp.set_data_ptr(static_cast<unsigned char*>(data));
        gp.set_data_length(len);
        gp.set_streaming_width(len);
        if (byte_enable) {
            gp.set_byte_enable_ptr(byte_enable);
            gp.set_byte_enable_length(len);
        }
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        socket->b_transport(gp, delay);
        return gp.get_response_status();
    }
    tlm::tlm_response_status write64(std::uint64_t addr, std::uint64_t v) {
        sc_time d;
        return access(tlm::TLM_WRITE_COMMAND, addr, &v, 8, d);
    }
    tlm::tlm_response_status read64(std::uint64_t addr, std::uint64_t& v) {
        sc_time d;
        return access(tlm::TLM_READ_COMMAND, addr, &v, 8, d);
    }
    bool dmi(std::uint64_t addr, tlm::tlm_dmi& out) {
        tlm::tlm_generic_payload gp;
        gp.set_address(addr);
        gp.set_command(tlm::TLM_READ_COMMAND);
        return socket->get_direct_mem_ptr(gp, out);
    }
};

memory_params small(std::vector<memory_params::region> regions = {}) {
    memory_params p;
    p.size = 64 * MiB;
    p.regions = std::move(regions);
    p.read_latency = sc_time(80, SC_NS);
    p.write_latency = sc_time(40, SC_NS);
    p.bandwidth = 1.0;  // 1 byte per ns: transfer times are whole nanoseconds
    p.channels = 1;
    return p;
}

class memory_test : public testing::Test {
protected:
    std::unique_ptr<initiator> cpu;
    std::unique_ptr<memory> mem;

    void build(const memory_params& p) {
        cpu = std::make_unique<initiator>("cpu");
        mem = std::make_unique<memory>("mem", p);
        cpu->socket.bind(mem->socket);
        sc_start(SC_ZERO_TIME);
    }
    // Most tests: one 64 MiB region at 0.
    void SetUp() override { build(small()); }
};

// Two regions with a hole between them, as a PC has below 4 GiB.
class memory_regions_test : public memory_test {
protected:
    void SetUp() override { build(small({{0, 32 * MiB}, {high_base, 32 * MiB}})); }
};

TEST_F(memory_test, ReadAfterWrite) {
    ASSERT_EQ(cpu->write64(0x1000, 0x0123'4567'89ab'cdefull), tlm::TLM_OK_RESPONSE);
    std::uint64_t v = 0;
    ASSERT_EQ(cpu->read64(0x1000, v), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(v, 0x0123'4567'89ab'cdefull);
    // Byte-granular: a 1-byte read in the middle sees the little-endian byte.
    std::uint8_t b = 0;
    sc_time d;
    ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, 0x1002, &b, 1, d), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(b, 0xab);
    // Untouched memory reads as zero.
    ASSERT_EQ(cpu->read64(0x2000, v), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(v, 0u);
}

TEST_F(memory_test, LastBytesOfRamAreAccessible) {
    ASSERT_EQ(cpu->write64(64 * MiB - 8, 0x5a5a), tlm::TLM_OK_RESPONSE);
    std::uint64_t v = 0;
    ASSERT_EQ(cpu->read64(64 * MiB - 8, v), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(v, 0x5a5au);
}

TEST_F(memory_test, AnnotatedDelayIncludesLatencyAndTransfer) {
    std::uint64_t v = 1;
    sc_time d(10, SC_NS);
    ASSERT_EQ(cpu->access(tlm::TLM_WRITE_COMMAND, 0x100, &v, 8, d), tlm::TLM_OK_RESPONSE);
    // 10 ns already annotated + 40 ns write latency + 8 bytes at 1 byte/ns.
    EXPECT_EQ(d, sc_time(58, SC_NS));

    d = SC_ZERO_TIME;
    ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, 0x100, &v, 8, d), tlm::TLM_OK_RESPONSE);
    // The channel is free again at 58 ns, before this read needs it (80 ns).
    EXPECT_EQ(d, sc_time(88, SC_NS));
}

TEST_F(memory_test, ConcurrentRequestsQueueOnTheChannel) {
    std::vector<std::uint8_t> buf(1000);
    sc_time d1, d2;
    ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, 0, buf.data(), 1000, d1), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(d1, sc_time(1080, SC_NS));
    // Issued at the same time: its data can only move once the first is done.
    ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, 0, buf.data(), 8, d2), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(d2, sc_time(1088, SC_NS));
}

// `Channels` channels interleaved every 256 bytes.
template <unsigned Channels> class memory_interleaved_test : public memory_test {
protected:
    void SetUp() override {
        memory_params p = small();
        p.channels = Channels;
        p.interleave = 256;
        build(p);
    }
};
using memory_channels_test = memory_interleaved_test<4>;
// Six, as a two-socket Xeon has: a count that is not a power of two.
using memory_six_channels_test = memory_interleaved_test<6>;

TEST_F(memory_channels_test, AnAccessSpreadsOverTheChannelsItsAddressesInterleaveTo) {
    std::vector<std::uint8_t> buf(1024);
    sc_time d;
    // 1 KiB from 0: four 256-byte blocks on four channels at once.
    ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, 0, buf.data(), 1024, d), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(d, sc_time(80 + 256, SC_NS));
    // An unaligned 512 bytes from 128 touches three channels: 128 + 256 + 128 bytes.
    d = sc_time(10, SC_US);
    ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, 128, buf.data(), 512, d), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(d, sc_time(10'000 + 80 + 256, SC_NS));
}

TEST_F(memory_channels_test, OnlyRequestsOnTheSameChannelQueue) {
    std::vector<std::uint8_t> buf(256);
    sc_time a, b, c;
    ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, 0, buf.data(), 256, a), tlm::TLM_OK_RESPONSE);      // channel 0
    ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, 256, buf.data(), 256, b), tlm::TLM_OK_RESPONSE);    // channel 1
    ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, 1024, buf.data(), 256, c), tlm::TLM_OK_RESPONSE);   // channel 0 again
    EXPECT_EQ(a, sc_time(80 + 256, SC_NS));
    EXPECT_EQ(b, sc_time(80 + 256, SC_NS));
    EXPECT_EQ(c, sc_time(80 + 512, SC_NS));
}

TEST_F(memory_six_channels_test, BlocksGoToTheirBlockNumberModuloSix) {
    std::vector<std::uint8_t> buf(256);
    // Block b is on channel b mod 6: a block on the channel of one booked
    // first waits for it, any other does not.
    for (std::uint64_t b : {1ull, 5ull, 6ull, 11ull, 12ull, 4099ull, 65537ull}) {
        sc_time first = sc_time(100 * b, SC_US), same = first, other = first;
        ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, b * 256, buf.data(), 256, first), tlm::TLM_OK_RESPONSE);
        ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, (b + 6) * 256, buf.data(), 256, same), tlm::TLM_OK_RESPONSE);
        ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, (b + 7) * 256, buf.data(), 256, other), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(same - first, sc_time(256, SC_NS)) << "block " << b;
        EXPECT_EQ(other, first) << "block " << b;
    }
}

TEST_F(memory_test, AccessOutsideRamIsAnAddressError) {
    std::uint64_t v = 0x77;
    EXPECT_EQ(cpu->write64(64 * MiB, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    // Straddling the end of RAM is an error too, and writes nothing.
    EXPECT_EQ(cpu->write64(64 * MiB - 4, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    std::uint32_t last = 0xffffffff;
    ASSERT_TRUE(mem->peek(64 * MiB - 4, reinterpret_cast<std::uint8_t*>(&last), 4));
    EXPECT_EQ(last, 0u);
    EXPECT_EQ(cpu->read64(~std::uint64_t(0) - 3, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

TEST_F(memory_regions_test, TheHoleBetweenRegionsIsAnAddressError) {
    std::uint64_t v = 0;
    EXPECT_EQ(cpu->read64(32 * MiB, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(cpu->read64(high_base - 8, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    // The end of the low region does not run on into the high one.
    EXPECT_EQ(cpu->read64(32 * MiB - 4, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(cpu->read64(high_base + 32 * MiB, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(cpu->read64(32 * MiB - 8, v), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(cpu->read64(high_base + 32 * MiB - 8, v), tlm::TLM_OK_RESPONSE);
}

TEST_F(memory_regions_test, RegionsAreDistinctMemory) {
    ASSERT_EQ(cpu->write64(0, 0x1111), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(cpu->write64(high_base, 0x2222), tlm::TLM_OK_RESPONSE);
    std::uint64_t lo = 0, hi = 0;
    ASSERT_EQ(cpu->read64(0, lo), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(cpu->read64(high_base, hi), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(lo, 0x1111u);
    EXPECT_EQ(hi, 0x2222u);
    // And peek decodes machine addresses the same way.
    std::uint64_t p = 0;
    ASSERT_TRUE(mem->peek(high_base, reinterpret_cast<std::uint8_t*>(&p), 8));
    EXPECT_EQ(p, 0x2222u);
    EXPECT_FALSE(mem->peek(32 * MiB, reinterpret_cast<std::uint8_t*>(&p), 8));
}

TEST_F(memory_test, ByteEnablesAreHonoured) {
    ASSERT_EQ(cpu->write64(0x40, 0x1111'1111'1111'1111ull), tlm::TLM_OK_RESPONSE);
    std::uint64_t v = 0xffff'ffff'ffff'ffffull;
    unsigned char be[8] = {0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0};
    sc_time d;
    EXPECT_EQ(cpu->access(tlm::TLM_WRITE_COMMAND, 0x40, &v, 8, d, be), tlm::TLM_OK_RESPONSE);
    std::uint64_t now = 0;
    ASSERT_TRUE(mem->peek(0x40, reinterpret_cast<std::uint8_t*>(&now), 8));
    EXPECT_EQ(now, 0x11ff'11ff'11ff'11ffull);  // only the enabled bytes were written
    // A read leaves the disabled bytes of the buffer alone.
    std::uint64_t r = 0x2222'2222'2222'2222ull;
    unsigned char be_low[8] = {0xff, 0xff, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(cpu->access(tlm::TLM_READ_COMMAND, 0x40, &r, 8, d, be_low), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r, 0x2222'2222'2222'11ffull);
}

TEST_F(memory_test, StreamingWidthRepeatsTheAddressRange) {
    // 8 bytes streamed into a 4-byte window: the second beat overwrites the first.
    std::uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tlm::tlm_generic_payload gp;
    gp.set_command(tlm::TLM_WRITE_COMMAND);
    gp.set_address(0x80);
    gp.set_data_ptr(data);
    gp.set_data_length(8);
    gp.set_streaming_width(4);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_time d;
    cpu->socket->b_transport(gp, d);
    ASSERT_EQ(gp.get_response_status(), tlm::TLM_OK_RESPONSE);
    std::uint8_t now[8] = {};
    ASSERT_TRUE(mem->peek(0x80, now, 8));
    EXPECT_EQ(now[0], 5);
    EXPECT_EQ(now[3], 8);
    EXPECT_EQ(now[4], 0);  // nothing past the streaming width
    // A streaming width of zero is a malformed payload.
    gp.set_streaming_width(0);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    cpu->socket->b_transport(gp, d);
    EXPECT_EQ(gp.get_response_status(), tlm::TLM_GENERIC_ERROR_RESPONSE);
}

TEST_F(memory_test, DmiCoversTheRegionAndIsTheSameMemory) {
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(cpu->dmi(0x1234, dmi));
    EXPECT_EQ(dmi.get_start_address(), 0u);
    EXPECT_EQ(dmi.get_end_address(), 64 * MiB - 1);
    EXPECT_TRUE(dmi.is_read_write_allowed());
    EXPECT_EQ(dmi.get_read_latency(), sc_time(80, SC_NS));
    EXPECT_EQ(dmi.get_write_latency(), sc_time(40, SC_NS));
    unsigned char* p = dmi.get_dmi_ptr();
    ASSERT_NE(p, nullptr);

    // A b_transport write shows through the pointer ...
    ASSERT_EQ(cpu->write64(0x2000, 0xfeed'beefull), tlm::TLM_OK_RESPONSE);
    std::uint64_t v = 0;
    std::memcpy(&v, p + 0x2000, 8);
    EXPECT_EQ(v, 0xfeed'beefull);
    // ... and a store through the pointer shows in b_transport reads.
    const std::uint64_t w = 0xcafe'f00dull;
    std::memcpy(p + 0x3000, &w, 8);
    ASSERT_EQ(cpu->read64(0x3000, v), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(v, w);
}

TEST_F(memory_regions_test, DmiOfTheHighRegionStartsAtItsBase) {
    ASSERT_EQ(cpu->write64(high_base + 0x10, 0xabcdull), tlm::TLM_OK_RESPONSE);
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(cpu->dmi(high_base + 0x10, dmi));
    EXPECT_EQ(dmi.get_start_address(), high_base);
    EXPECT_EQ(dmi.get_end_address(), high_base + 32 * MiB - 1);
    std::uint64_t v = 0;
    std::memcpy(&v, dmi.get_dmi_ptr() + 0x10, 8);
    EXPECT_EQ(v, 0xabcdu);

    tlm::tlm_dmi none;
    EXPECT_FALSE(cpu->dmi(32 * MiB, none));
}

TEST_F(memory_test, InvalidateReachesTheInitiator) {
    ASSERT_TRUE(cpu->invalidated.empty());
    mem->invalidate(0x10000, 0x1ffff);
    ASSERT_EQ(cpu->invalidated.size(), 1u);
    EXPECT_EQ(cpu->invalidated[0].first, 0x10000u);
    EXPECT_EQ(cpu->invalidated[0].second, 0x1ffffu);
}

TEST_F(memory_test, ObserversSeeEveryTransport) {
    struct seen { tlm::tlm_command cmd; std::uint64_t addr; unsigned len; };
    std::vector<seen> a, b;
    mem->add_observer([&a](const tlm::tlm_generic_payload& gp) {
        a.push_back({gp.get_command(), gp.get_address(), gp.get_data_length()});
    });
    mem->add_observer([&b](const tlm::tlm_generic_payload& gp) {
        b.push_back({gp.get_command(), gp.get_address(), gp.get_data_length()});
    });
    ASSERT_EQ(cpu->write64(0x500, 1), tlm::TLM_OK_RESPONSE);
    std::uint64_t v;
    ASSERT_EQ(cpu->read64(0x508, v), tlm::TLM_OK_RESPONSE);

    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].cmd, tlm::TLM_WRITE_COMMAND);
    EXPECT_EQ(a[0].addr, 0x500u);
    EXPECT_EQ(a[0].len, 8u);
    EXPECT_EQ(a[1].cmd, tlm::TLM_READ_COMMAND);
    EXPECT_EQ(a[1].addr, 0x508u);
    EXPECT_EQ(b.size(), 2u);  // every observer, not only the first

    // peek and poke are untimed debug accesses, not bus traffic.
    std::uint8_t x = 1;
    ASSERT_TRUE(mem->poke(0x600, &x, 1));
    ASSERT_TRUE(mem->peek(0x600, &x, 1));
    EXPECT_EQ(a.size(), 2u);
}

TEST_F(memory_test, PeekAndPokeAreTheSameMemory) {
    const std::uint8_t in[4] = {1, 2, 3, 4};
    ASSERT_TRUE(mem->poke(0x7000, in, 4));
    std::uint32_t v = 0;
    sc_time d;
    ASSERT_EQ(cpu->access(tlm::TLM_READ_COMMAND, 0x7000, &v, 4, d), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(v, 0x04030201u);

    ASSERT_EQ(cpu->write64(0x7100, 0x1122'3344'5566'7788ull), tlm::TLM_OK_RESPONSE);
    std::uint8_t out[8] = {};
    ASSERT_TRUE(mem->peek(0x7100, out, 8));
    EXPECT_EQ(out[0], 0x88);
    EXPECT_EQ(out[7], 0x11);

    EXPECT_FALSE(mem->poke(64 * MiB - 2, in, 4));
    EXPECT_FALSE(mem->peek(64 * MiB, out, 1));
}

} // namespace
} // namespace iotwin::mem
