// multi_target_socket: many initiators bound to one target socket. Each call
// carries the index of the binding it came in on; the same index reaches that
// initiator on the backward path; debug transport and DMI reach the module or,
// when it registered none, answer as TLM-2.0 says a target without them does.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/common/multi_target_socket.h"

namespace {

using namespace sc_core;

struct initiator : sc_module {
    tlm_utils::simple_initiator_socket<initiator> socket{"socket"};
    int invalidations = 0;
    explicit initiator(sc_module_name n) : sc_module(n) {
        socket.register_invalidate_direct_mem_ptr(this, &initiator::invalidate);
    }
    void invalidate(sc_dt::uint64, sc_dt::uint64) { ++invalidations; }
    void send(tlm::tlm_generic_payload& gp, sc_time& t) { socket->b_transport(gp, t); }
};

struct target : sc_module {
    iotwin::multi_target_socket<target> in{"in"};
    std::vector<int> seen;  // the binding index of each b_transport, in order
    explicit target(sc_module_name n, bool with_dmi_and_debug) : sc_module(n) {
        in.register_b_transport(this, &target::b_transport);
        if (with_dmi_and_debug) {
            in.register_get_direct_mem_ptr(this, &target::dmi);
            in.register_transport_dbg(this, &target::debug);
        }
    }
    void b_transport(int from, tlm::tlm_generic_payload& gp, sc_time& t) {
        seen.push_back(from);
        t += sc_time(from + 1, SC_NS);
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
    }
    bool dmi(int from, tlm::tlm_generic_payload&, tlm::tlm_dmi& d) {
        d.set_start_address(static_cast<sc_dt::uint64>(from) << 12);
        return true;
    }
    unsigned debug(int from, tlm::tlm_generic_payload&) { return static_cast<unsigned>(from) + 100; }
};

struct bench {
    std::vector<std::unique_ptr<initiator>> ini;
    std::unique_ptr<target> tgt;
    explicit bench(bool with_dmi_and_debug) {
        tgt = std::make_unique<target>("tgt", with_dmi_and_debug);
        for (int i = 0; i < 3; ++i) {
            ini.push_back(std::make_unique<initiator>(("ini" + std::to_string(i)).c_str()));
            ini.back()->socket.bind(tgt->in);
        }
        sc_start(SC_ZERO_TIME);
    }
};

TEST(MultiTargetSocket, EachInitiatorArrivesWithItsBindingIndex) {
    bench b(true);
    ASSERT_EQ(b.tgt->in.size(), 3u);
    tlm::tlm_generic_payload gp;
    for (int i : {2, 0, 1, 2}) {
        sc_time t = SC_ZERO_TIME;
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        b.ini[static_cast<std::size_t>(i)]->send(gp, t);
        EXPECT_EQ(t, sc_time(i + 1, SC_NS));
        EXPECT_TRUE(gp.is_response_ok());
    }
    EXPECT_EQ(b.tgt->seen, (std::vector<int>{2, 0, 1, 2}));
}

TEST(MultiTargetSocket, TheBackwardPathOfAnIndexReachesThatInitiator) {
    bench b(true);
    b.tgt->in[1]->invalidate_direct_mem_ptr(0, ~sc_dt::uint64(0));
    EXPECT_EQ(b.ini[0]->invalidations, 0);
    EXPECT_EQ(b.ini[1]->invalidations, 1);
    EXPECT_EQ(b.ini[2]->invalidations, 0);
}

TEST(MultiTargetSocket, DmiAndDebugReachTheModuleWithTheIndex) {
    bench b(true);
    tlm::tlm_generic_payload gp;
    tlm::tlm_dmi d;
    EXPECT_TRUE(b.ini[2]->socket->get_direct_mem_ptr(gp, d));
    EXPECT_EQ(d.get_start_address(), 0x2000u);
    EXPECT_EQ(b.ini[1]->socket->transport_dbg(gp), 101u);
}

TEST(MultiTargetSocket, WithoutDmiOrDebugTheSocketRefusesBoth) {
    bench b(false);
    tlm::tlm_generic_payload gp;
    tlm::tlm_dmi d;
    d.allow_read_write();
    // No DMI anywhere: the whole address range is denied (IEEE 1666-2011 11.2.6).
    EXPECT_FALSE(b.ini[0]->socket->get_direct_mem_ptr(gp, d));
    EXPECT_FALSE(d.is_read_allowed() || d.is_write_allowed());
    EXPECT_EQ(d.get_start_address(), 0u);
    EXPECT_EQ(d.get_end_address(), ~sc_dt::uint64(0));
    EXPECT_EQ(b.ini[0]->socket->transport_dbg(gp), 0u);
}

TEST(MultiTargetSocket, NonBlockingTransportIsAnError) {
    bench b(true);
    tlm::tlm_generic_payload gp;
    tlm::tlm_phase ph = tlm::BEGIN_REQ;
    sc_time t;
    EXPECT_THROW(b.ini[0]->socket->nb_transport_fw(gp, ph, t), sc_report);
}

} // namespace
