// The fabric's single-target socket and its initiator sockets. A target
// socket reaches its module's callbacks from any initiator (through the TLM
// interface) and from the fabric's initiator sockets (through the direct
// way in); the initiator sockets reach any target, the fabric's own or
// another kind, at each index of a multi-socket; and every misuse (a missing
// callback, non-blocking transport, an index nobody is bound at) is an error.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/common/initiator_socket.h"
#include "models/common/multi_target_socket.h"
#include "models/common/target_socket.h"

namespace {

using namespace sc_core;

// A target on the fabric's single-target socket; `tag` tells which one answered.
struct fabric_target : sc_module {
    iotwin::target_socket<fabric_target> in{"in"};
    int tag;
    int calls = 0;
    fabric_target(sc_module_name n, int t, bool callbacks = true) : sc_module(n), tag(t) {
        if (!callbacks) return;
        in.register_b_transport(this, &fabric_target::b_transport);
        in.register_get_direct_mem_ptr(this, &fabric_target::dmi);
        in.register_transport_dbg(this, &fabric_target::debug);
    }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time& t) {
        ++calls;
        t += sc_time(tag, SC_NS);
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
    }
    bool dmi(tlm::tlm_generic_payload&, tlm::tlm_dmi& d) {
        d.set_start_address(static_cast<sc_dt::uint64>(tag) << 12);
        return true;
    }
    unsigned debug(tlm::tlm_generic_payload&) { return static_cast<unsigned>(tag) + 100; }
};

// A target of another kind: tlm_utils' socket.
struct plain_target : sc_module {
    tlm_utils::simple_target_socket<plain_target> in{"in"};
    int tag;
    plain_target(sc_module_name n, int t) : sc_module(n), tag(t) { in.register_b_transport(this, &plain_target::b_transport); }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time& t) {
        t += sc_time(tag, SC_NS);
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
    }
};

// A target on the fabric's multi-socket: adds the binding index too.
struct multi_target : sc_module {
    iotwin::multi_target_socket<multi_target> in{"in"};
    int tag;
    multi_target(sc_module_name n, int t) : sc_module(n), tag(t) { in.register_b_transport(this, &multi_target::b_transport); }
    void b_transport(int from, tlm::tlm_generic_payload& gp, sc_time& t) {
        t += sc_time(tag + 10 * from, SC_NS);
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
    }
};

struct fabric_initiator : sc_module {
    iotwin::initiator_socket<fabric_initiator> out{"out"};
    explicit fabric_initiator(sc_module_name n) : sc_module(n) {}
};

struct plain_initiator : sc_module {
    tlm_utils::simple_initiator_socket<plain_initiator> out{"out"};
    explicit plain_initiator(sc_module_name n) : sc_module(n) {}
};

struct fanout : sc_module {
    iotwin::multi_initiator_socket<fanout> out{"out"};
    explicit fanout(sc_module_name n) : sc_module(n) {}
};

// Binds `ini` to `tgt` and elaborates.
template <class TARGET> void connect(fabric_initiator& ini, TARGET& tgt) {
    ini.out.bind(tgt.in);
    sc_start(SC_ZERO_TIME);
}

sc_time send(iotwin::initiator_socket<fabric_initiator>& s, tlm::tlm_generic_payload& gp) {
    sc_time t = SC_ZERO_TIME;
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    s.b_transport(gp, t);
    return t;
}

TEST(TargetSocket, AnyInitiatorReachesTheModule) {
    fabric_target tgt("tgt", 3);
    plain_initiator plain("plain");
    plain.out.bind(tgt.in);
    sc_start(SC_ZERO_TIME);
    tlm::tlm_generic_payload gp;
    sc_time t = SC_ZERO_TIME;
    plain.out->b_transport(gp, t);
    EXPECT_EQ(t, sc_time(3, SC_NS));
    EXPECT_TRUE(gp.is_response_ok());
    tlm::tlm_dmi d;
    EXPECT_TRUE(plain.out->get_direct_mem_ptr(gp, d));
    EXPECT_EQ(d.get_start_address(), 0x3000u);
    EXPECT_EQ(plain.out->transport_dbg(gp), 103u);
}

TEST(TargetSocket, TheFabricsInitiatorReachesTheModuleDirectly) {
    fabric_target tgt("tgt", 4);
    fabric_initiator ini("ini");
    connect(ini, tgt);
    tlm::tlm_generic_payload gp;
    EXPECT_EQ(send(ini.out, gp), sc_time(4, SC_NS));
    EXPECT_EQ(send(ini.out, gp), sc_time(4, SC_NS));
    EXPECT_TRUE(gp.is_response_ok());
    EXPECT_EQ(tgt.calls, 2);
}

TEST(TargetSocket, WithoutCallbacksEveryTransportIsRefusedOrAnError) {
    fabric_target tgt("tgt", 1, false);
    fabric_initiator ini("ini");
    connect(ini, tgt);
    tlm::tlm_generic_payload gp;
    tlm::tlm_dmi d;
    d.allow_read_write();
    // No DMI anywhere: the whole address range is denied (IEEE 1666-2011 11.2.6).
    EXPECT_FALSE(ini.out->get_direct_mem_ptr(gp, d));
    EXPECT_FALSE(d.is_read_allowed() || d.is_write_allowed());
    EXPECT_EQ(d.get_end_address(), ~sc_dt::uint64(0));
    EXPECT_EQ(ini.out->transport_dbg(gp), 0u);
    sc_time t;
    EXPECT_THROW(ini.out.b_transport(gp, t), sc_report);
    EXPECT_THROW(ini.out->b_transport(gp, t), sc_report);
    tlm::tlm_phase ph = tlm::BEGIN_REQ;
    EXPECT_THROW(ini.out->nb_transport_fw(gp, ph, t), sc_report);
}

TEST(InitiatorSocket, ReachesATargetOfAnotherKind) {
    plain_target tgt("tgt", 5);
    fabric_initiator ini("ini");
    connect(ini, tgt);
    tlm::tlm_generic_payload gp;
    EXPECT_EQ(send(ini.out, gp), sc_time(5, SC_NS));
    EXPECT_TRUE(gp.is_response_ok());
}

TEST(MultiInitiatorSocket, EachIndexReachesItsOwnTargetOfEveryKind) {
    fanout f("f");
    fabric_target a("a", 1);
    plain_target b("b", 2);
    multi_target c("c", 3);
    fabric_initiator other("other");  // takes binding 0 of c, so f arrives at index 1
    other.out.bind(c.in);
    f.out.bind(a.in);
    f.out.bind(b.in);
    f.out.bind(c.in);
    sc_start(SC_ZERO_TIME);
    tlm::tlm_generic_payload gp;
    for (int round = 0; round < 2; ++round) {
        for (int i : {2, 0, 1}) {
            sc_time t = SC_ZERO_TIME;
            gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
            f.out.b_transport(i, gp, t);
            EXPECT_TRUE(gp.is_response_ok());
            EXPECT_EQ(t, sc_time(i == 0 ? 1 : i == 1 ? 2 : 13, SC_NS)) << "index " << i;
        }
    }
    EXPECT_EQ(send(other.out, gp), sc_time(3, SC_NS));
}

TEST(MultiInitiatorSocket, AnIndexNobodyIsBoundAtIsAnError) {
    fanout f("f");
    fabric_target a("a", 1);
    f.out.bind(a.in);
    sc_start(SC_ZERO_TIME);
    tlm::tlm_generic_payload gp;
    sc_time t;
    EXPECT_THROW(f.out.b_transport(1, gp, t), sc_report);
    // Refused and nothing reached: with errors only logged, the payload says so.
    sc_report_handler::set_actions("iotwin/initiator_socket", SC_ERROR, SC_LOG);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    f.out.b_transport(-1, gp, t);
    EXPECT_EQ(gp.get_response_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(a.calls, 0);
    f.out.b_transport(0, gp, t);
    EXPECT_EQ(a.calls, 1);
}

} // namespace
