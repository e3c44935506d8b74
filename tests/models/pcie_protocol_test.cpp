// pcie::protocol: the fabric's own protocol type, the completion status and
// the TLM response that always agree, posted requests, and a function on the
// fabric refusing byte enables and streaming with the status the TLM-2.0 LRM
// names (IEEE 1666-2011 14.14, 14.15).
#include <gtest/gtest.h>

#include <tlm_utils/simple_initiator_socket.h>

#include "models/common/payload.h"
#include "models/pci/pci_function.h"
#include "models/pcie/protocol.h"

namespace {

using namespace iotwin;
using namespace sc_core;

TEST(PcieProtocol, CompleteSetsAgreeingStatuses) {
    for (pcie::completion c : {pcie::completion::SC, pcie::completion::UR, pcie::completion::CRS, pcie::completion::CA}) {
        tlm::tlm_generic_payload gp;
        pcie::pcie_ext ext;
        pcie::complete(gp, &ext, c);
        EXPECT_EQ(ext.status, c);
        // Read back through the mapping: the TLM status stands for the same completion
        // (CRS is a retry the requester sees as an error, as CA).
        const pcie::completion back = pcie::completion_of(gp.get_response_status());
        EXPECT_EQ(back, c == pcie::completion::CRS ? pcie::completion::CA : c) << pcie::to_string(c);
    }
}

TEST(PcieProtocol, EveryTlmResponseStandsForACompletion) {
    EXPECT_EQ(pcie::completion_of(tlm::TLM_OK_RESPONSE), pcie::completion::SC);
    EXPECT_EQ(pcie::completion_of(tlm::TLM_ADDRESS_ERROR_RESPONSE), pcie::completion::UR);
    EXPECT_EQ(pcie::completion_of(tlm::TLM_COMMAND_ERROR_RESPONSE), pcie::completion::UR);
    EXPECT_EQ(pcie::completion_of(tlm::TLM_INCOMPLETE_RESPONSE), pcie::completion::UR);
    EXPECT_EQ(pcie::completion_of(tlm::TLM_BURST_ERROR_RESPONSE), pcie::completion::CA);
    EXPECT_EQ(pcie::completion_of(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE), pcie::completion::CA);
    EXPECT_EQ(pcie::completion_of(tlm::TLM_GENERIC_ERROR_RESPONSE), pcie::completion::CA);
}

TEST(PcieProtocol, MemoryWritesArePostedConfigurationWritesAreNot) {
    tlm::tlm_generic_payload gp;
    pcie::pcie_ext ext;
    gp.set_command(tlm::TLM_WRITE_COMMAND);
    EXPECT_TRUE(pcie::is_posted(gp, &ext));
    EXPECT_TRUE(pcie::is_posted(gp, nullptr));
    ext.kind = pcie::request_kind::msi;
    EXPECT_TRUE(pcie::is_posted(gp, &ext));
    ext.kind = pcie::request_kind::config;
    EXPECT_FALSE(pcie::is_posted(gp, &ext));
    gp.set_command(tlm::TLM_READ_COMMAND);
    ext.kind = pcie::request_kind::memory;
    EXPECT_FALSE(pcie::is_posted(gp, &ext));
}

TEST(PcieProtocol, EgressIsMarkedOnceByTheFirstHop) {
    pcie::pcie_ext ext;
    pcie::mark_egress(ext, sc_time(10, SC_NS));
    pcie::mark_egress(ext, sc_time(50, SC_NS));
    EXPECT_TRUE(ext.egress_set);
    EXPECT_EQ(ext.egress, sc_time(10, SC_NS));
}

// A CPU-side initiator on the fabric's protocol, straight at a function's BAR.
struct fabric_initiator : sc_module {
    tlm_utils::simple_initiator_socket<fabric_initiator, 32, pcie::protocol_types> out{"out"};
    explicit fabric_initiator(sc_module_name n) : sc_module(n) {}
};

struct function_target : ::testing::Test {
    fabric_initiator cpu{"cpu"};
    pci::pci_function fn{"fn", [] {
                             pci::function_params p;
                             p.bars.push_back({0, 0x1000, pci::bar_type::mem32, false});
                             return p;
                         }()};
    static constexpr std::uint64_t bar = 0x8000'0000;
    function_target() {
        cpu.out.bind(fn.pcie_in);
        fn.pcie_out.bind(dummy.in);
        fn.config().write(pci::cfg::bar0, 4, bar);
        fn.config().write(pci::cfg::command, 2, pci::command_bits::memory_space);
    }
    // A sink for the function's own requests (it issues none here).
    struct sink : sc_module {
        tlm_utils::simple_target_socket<sink, 32, pcie::protocol_types> in{"in"};
        explicit sink(sc_module_name n) : sc_module(n) { in.register_b_transport(this, &sink::b_transport); }
        void b_transport(tlm::tlm_generic_payload& gp, sc_time&) { gp.set_response_status(tlm::TLM_OK_RESPONSE); }
    } dummy{"dummy"};

    // Sends a read with the given byte enables and streaming width; returns the extension's status.
    pcie::completion read(tlm::tlm_generic_payload& gp, unsigned char* be, unsigned be_len, unsigned width) {
        static std::uint8_t data[8];
        pcie::pcie_ext ext;
        ext.host = true;
        prepare(gp, tlm::TLM_READ_COMMAND, bar, data, 8);
        gp.set_byte_enable_ptr(be);
        gp.set_byte_enable_length(be_len);
        gp.set_streaming_width(width);
        gp.set_extension(&ext);
        sc_time d;
        cpu.out->b_transport(gp, d);
        gp.clear_extension(&ext);
        return ext.status;
    }
};

TEST_F(function_target, RefusesByteEnablesWithTheLrmStatus) {
    unsigned char be[8] = {0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0};
    tlm::tlm_generic_payload gp;
    const pcie::completion c = read(gp, be, 8, 8);
    EXPECT_EQ(gp.get_response_status(), tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    EXPECT_EQ(c, pcie::completion_of(gp.get_response_status()));
}

TEST_F(function_target, RefusesStreamingWithTheLrmStatus) {
    tlm::tlm_generic_payload gp;
    const pcie::completion c = read(gp, nullptr, 0, 4);
    EXPECT_EQ(gp.get_response_status(), tlm::TLM_BURST_ERROR_RESPONSE);
    EXPECT_EQ(c, pcie::completion_of(gp.get_response_status()));
}

TEST_F(function_target, StatusesAgreeOnSuccessAndOnUnsupportedRequest) {
    tlm::tlm_generic_payload gp;
    EXPECT_EQ(read(gp, nullptr, 0, 8), pcie::completion::UR);  // the base function has no behaviour behind its BAR
    EXPECT_EQ(pcie::completion_of(gp.get_response_status()), pcie::completion::UR);
    fn.config().write(pci::cfg::command, 2, 0);  // Memory Space off: nobody claims it
    tlm::tlm_generic_payload again;
    EXPECT_EQ(read(again, nullptr, 0, 8), pcie::completion::UR);
    EXPECT_EQ(again.get_response_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

} // namespace
