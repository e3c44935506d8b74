// The interrupt message receiver through its socket: decoding of the
// compatibility-format address and data, illegal vectors, malformed accesses,
// and who sent the message.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>

#include "models/intc/msi_controller.h"
#include "models/pcie/protocol.h"
#include "models/common/payload.h"

namespace iotwin::intc {
namespace {

using namespace sc_core;

struct initiator : sc_module {
    tlm_utils::simple_initiator_socket<initiator> socket{"socket"};
    explicit initiator(sc_module_name n) : sc_module(n) {}

    tlm::tlm_response_status access(tlm::tlm_command cmd, std::uint64_t addr, void* data, unsigned len, sc_time& delay,
                                    pcie::pcie_ext* ext = nullptr) {
        tlm::tlm_generic_payload gp;
        prepare(gp, cmd, addr, data, len);
        if (ext) gp.set_extension(ext);
        socket->b_transport(gp, delay);
        // The extension lives on the caller's stack: the payload must not free it.
        if (ext) gp.clear_extension(ext);
        return gp.get_response_status();
    }
};

class msi_controller_test : public testing::Test {
protected:
    const sc_time latency{20, SC_NS};
    std::unique_ptr<initiator> cpu = std::make_unique<initiator>("cpu");
    std::unique_ptr<msi_controller> msi = std::make_unique<msi_controller>("msi", latency);
    std::vector<interrupt_message> seen;

    msi_controller_test() {
        cpu->socket.bind(msi->socket);
        msi->set_sink([this](const interrupt_message& m) { seen.push_back(m); });
        sc_start(SC_ZERO_TIME);
    }

    tlm::tlm_response_status send(std::uint64_t addr, std::uint32_t data, pcie::pcie_ext* ext = nullptr) {
        sc_time d = SC_ZERO_TIME;
        return cpu->access(tlm::TLM_WRITE_COMMAND, addr, &data, 4, d, ext);
    }
    std::uint64_t stat(const char* counter) {
        stat_map m;
        msi->stats(m);
        return m[std::string("msi.") + counter];
    }
};

TEST_F(msi_controller_test, DestinationFromAddressBits19To12AndVectorFromData) {
    sc_time d(5, SC_NS);
    std::uint32_t data = 0x0000'4041;  // vector 0x41; bits above 7:0 are delivery mode etc.
    EXPECT_EQ(cpu->access(tlm::TLM_WRITE_COMMAND, 0xFEE3'7000, &data, 4, d), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].destination, 0x37);
    EXPECT_EQ(seen[0].vector, 0x41);
    EXPECT_FALSE(seen[0].from_device);
    // The delivery latency is annotated, and the message carries its arrival time.
    EXPECT_EQ(d, sc_time(25, SC_NS));
    EXPECT_EQ(seen[0].time, sc_time(25, SC_NS));
    EXPECT_EQ(stat("delivered"), 1u);
}

TEST_F(msi_controller_test, HighestDestinationIdAndVector) {
    ASSERT_EQ(send(0xFEEF'F000, 0xff), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].destination, 0xff);
    EXPECT_EQ(seen[0].vector, 0xff);
}

TEST_F(msi_controller_test, VectorsBelow16AreCountedAsIllegalAndNotDelivered) {
    EXPECT_EQ(send(0xFEE0'0000, 0x0f), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(send(0xFEE0'0000, 0x00), tlm::TLM_OK_RESPONSE);
    EXPECT_TRUE(seen.empty());
    EXPECT_EQ(stat("illegal_vector"), 2u);
    EXPECT_EQ(stat("delivered"), 0u);
    // 16 is the first legal vector.
    EXPECT_EQ(send(0xFEE0'0000, 0x10), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].vector, 0x10);
}

TEST_F(msi_controller_test, NonDwordWritesAreErrors) {
    sc_time d;
    std::uint64_t data = 0x41;
    EXPECT_EQ(cpu->access(tlm::TLM_WRITE_COMMAND, 0xFEE0'0000, &data, 2, d), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(cpu->access(tlm::TLM_WRITE_COMMAND, 0xFEE0'0000, &data, 8, d), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    // A DWORD that is not DWORD-aligned.
    EXPECT_EQ(cpu->access(tlm::TLM_WRITE_COMMAND, 0xFEE0'0002, &data, 4, d), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_TRUE(seen.empty());
    EXPECT_EQ(stat("malformed"), 3u);
}

TEST_F(msi_controller_test, ByteEnablesAndStreamingAreRefusedAsTheLrmSays) {
    std::uint32_t data = 0x41;
    unsigned char be[4] = {0xff, 0, 0, 0};
    for (int mode = 0; mode < 2; ++mode) {
        tlm::tlm_generic_payload gp;
        prepare(gp, tlm::TLM_WRITE_COMMAND, 0xFEE0'0000, &data, 4);
        if (mode == 0) {
            gp.set_byte_enable_ptr(be);
            gp.set_byte_enable_length(4);
        } else {
            gp.set_streaming_width(1);
        }
        sc_time d;
        cpu->socket->b_transport(gp, d);
        EXPECT_EQ(gp.get_response_status(), mode == 0 ? tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE : tlm::TLM_BURST_ERROR_RESPONSE);
    }
    EXPECT_TRUE(seen.empty());
    EXPECT_EQ(stat("malformed"), 2u);
}

TEST_F(msi_controller_test, ReadsAreErrors) {
    sc_time d;
    std::uint32_t data = 0;
    EXPECT_EQ(cpu->access(tlm::TLM_READ_COMMAND, 0xFEE0'0000, &data, 4, d), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_TRUE(seen.empty());
    EXPECT_EQ(stat("malformed"), 1u);
}

TEST_F(msi_controller_test, AddressesOutsideTheWindowAreErrors) {
    EXPECT_EQ(send(0xFEF0'0000, 0x41), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(send(0xFEDF'FFFC, 0x41), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_TRUE(seen.empty());
}

TEST_F(msi_controller_test, DeviceMessageCarriesItsRequesterId) {
    pcie::pcie_ext ext;
    ext.kind = pcie::request_kind::msi;
    ext.requester_id = 0x0310;
    ASSERT_EQ(send(0xFEE0'1000, 0x52, &ext), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_TRUE(seen[0].from_device);
    EXPECT_EQ(seen[0].requester_id, 0x0310);
    EXPECT_EQ(seen[0].destination, 1);
}

TEST_F(msi_controller_test, HostMessageIsNotFromADevice) {
    // A CPU's write through the root complex carries an extension too, with
    // `host` set: its requester ID says nothing about a device.
    pcie::pcie_ext ext;
    ext.requester_id = 0x0310;
    ext.host = true;
    ASSERT_EQ(send(0xFEE0'1000, 0x52, &ext), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_FALSE(seen[0].from_device);
    EXPECT_EQ(seen[0].requester_id, 0);
}

} // namespace
} // namespace iotwin::intc
