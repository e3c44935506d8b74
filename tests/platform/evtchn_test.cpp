// Event channels through the public interface (evtchn.* steps over the
// hypercall socket), and the hypervisor's state behind them: port limits
// and bucket growth, IPIs, the shared-info page under a misbehaving guest,
// delivery times, and teardown of a domain with channels bound.
#include <gtest/gtest.h>

#include <string>

#include "models/hyp/event_channel.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;

const std::string head =
    "name: evtchn-test\n"
    "platform:\n"
    "  memory: 2GiB\n"
    "domains:\n"
    "  - { name: dom0, privileged: true, memory: 512MiB }\n"
    "  - { name: guest1, memory: 256MiB }\n"
    "steps:\n";

// guest1's shared-info page (256 MiB: frame 0x10000 + 64 grant frames + 8 status frames).
constexpr std::uint64_t guest1_si = 0x10048000;

struct run : test::scenario_run {
    explicit run(const std::string& steps) : scenario_run(head + steps) {}
    hyp::hypervisor& h() { return *pi->hypervisor; }
};

std::string step(const std::string& op, const std::string& as, const std::string& args, const std::string& expect = "") {
    return "  - { do: " + op + ", as: " + as + ", args: { " + args + " }" + (expect.empty() ? "" : ", expect: { " + expect + " }") + " }\n";
}

TEST(Evtchn, SharedInfoPageSitsAtItsGfnAndStartsZeroed) {
    run r(step("mem.read", "guest1", "addr: " + std::to_string(guest1_si) + ", len: 4096"));
    r.steps_ok();
    const hyp::domain* g = r.h().find("guest1");
    ASSERT_TRUE(g);
    EXPECT_EQ(g->shared_info_gfn() * 4096, guest1_si);
    ASSERT_TRUE(g->shared.count(g->shared_info_gfn()));
    EXPECT_EQ(g->shared.at(g->shared_info_gfn()), r.h().evtchn().shared_info(g->id));
    EXPECT_EQ(r.h().owner_of(r.h().evtchn().shared_info(g->id)), g->id);
    const std::string data = r.result(0)["data"].get<std::string>();
    EXPECT_EQ(data.find_first_not_of("0 "), std::string::npos);
}

TEST(Evtchn, PortsRunOutAtTheTwoLevelLimit) {
    // 4095 ports (port 0 is reserved), then ENOSPC.
    std::string s;
    for (int i = 1; i < 4096; ++i) s += step("evtchn.alloc_unbound", "guest1", "remote_dom: dom0");
    s += step("evtchn.alloc_unbound", "guest1", "remote_dom: dom0", "rc: -ENOSPC, errno: ENOSPC");
    // Every binding needs a local port first: ENOSPC before the remote port is looked at.
    s += step("evtchn.alloc_unbound", "dom0", "remote_dom: guest1", "rc: 0, port: 1");
    s += step("evtchn.bind_interdomain", "guest1", "remote_dom: dom0, remote_port: 1", "rc: -ENOSPC");
    s += step("evtchn.bind_interdomain", "guest1", "remote_dom: dom0, remote_port: 77", "rc: -ENOSPC");
    s += step("evtchn.bind_virq", "guest1", "virq: 0", "rc: -ENOSPC");
    s += step("evtchn.bind_ipi", "guest1", "vcpu: 0", "rc: -ENOSPC");
    s += step("evtchn.close", "guest1", "port: 4095", "rc: 0");
    s += step("evtchn.alloc_unbound", "guest1", "remote_dom: dom0", "rc: 0, port: 4095");
    s += step("evtchn.status", "guest1", "port: 4096", "rc: -EINVAL");
    run r(s);
    r.steps_ok();
    EXPECT_EQ(r.result(4094)["port"], 4095);
    EXPECT_EQ(r.h().evtchn().port(1, 4095)->state, hyp::ecs::unbound);
    EXPECT_EQ(r.h().evtchn().port(1, 4096), nullptr);
}

TEST(Evtchn, NewBucketFailsWithEnomemWhenTheHeapFails) {
    std::string s;
    for (int i = 1; i < 64; ++i) s += step("evtchn.alloc_unbound", "guest1", "remote_dom: dom0");
    s += "  - { do: sim.fail_alloc, args: { count: 1 } }\n";
    s += step("evtchn.alloc_unbound", "guest1", "remote_dom: dom0", "rc: -ENOMEM");
    s += step("evtchn.status", "guest1", "port: 64", "rc: -EINVAL");
    s += step("evtchn.alloc_unbound", "guest1", "remote_dom: dom0", "rc: 0, port: 64");
    s += step("evtchn.status", "guest1", "port: 127", "rc: 0, status: EVTCHNSTAT_closed");
    s += step("evtchn.status", "guest1", "port: 128", "rc: -EINVAL");
    run r(s);
    r.steps_ok();
}

TEST(Evtchn, IpiRaisesTheCallersOwnVcpu) {
    run r(step("evtchn.bind_ipi", "guest1", "vcpu: 0", "rc: 0, port: 1") +
          step("evtchn.status", "guest1", "port: 1", "status: EVTCHNSTAT_ipi, vcpu: 0") +
          step("evtchn.send", "guest1", "port: 1", "rc: 0, delivered: [guest1]") +
          step("evtchn.bind_ipi", "guest1", "vcpu: 1", "rc: -ENOENT") +
          step("evtchn.bind_vcpu", "guest1", "port: 1, vcpu: 0", "rc: -EINVAL") +
          step("evtchn.bind_vcpu", "guest1", "port: 1, vcpu: 2", "rc: -ENOENT"));
    r.steps_ok();
}

TEST(Evtchn, UpcallArrivesAfterTheLatencyOnTheTargetVcpu) {
    run r(step("evtchn.alloc_unbound", "guest1", "remote_dom: dom0", "port: 1") +
          step("evtchn.bind_interdomain", "dom0", "remote_dom: guest1, remote_port: 1", "local_port: 1") +
          step("evtchn.send", "dom0", "port: 1", "delivered: [guest1]"));
    r.steps_ok();
    const auto& all = r.h().deliveries();
    ASSERT_FALSE(all.empty());
    const hyp::interrupt_delivery& u = all.back();
    EXPECT_TRUE(u.upcall);
    EXPECT_EQ(u.domain, 1);
    EXPECT_EQ(u.vcpu, 0u);
    const step_outcome& send = r.report().steps.at(2);
    const sc_core::sc_time latency = r.h().timing().evtchn.upcall;
    EXPECT_GE(u.time, send.start + latency);
    EXPECT_LE(u.time, send.end);
    EXPECT_GE(r.h().evtchn().upcalls(), 2u);  // dom0's from the bind, guest1's from the send
}

TEST(Evtchn, GarbageInTheSharedInfoPageNeverBreaksTheHypervisor) {
    // The whole page 0xff, in four stores of 1 KiB.
    std::string ff;
    for (int i = 0; i < 1024; ++i) ff += i ? " ff" : "ff";
    const std::string si = std::to_string(guest1_si);
    std::string garbage;
    for (int k = 0; k < 4; ++k)
        garbage += step("mem.write", "guest1", "addr: " + std::to_string(guest1_si + 1024 * k) + ", data: \"" + ff + "\"", "errno: 0");
    run r(step("evtchn.alloc_unbound", "guest1", "remote_dom: dom0", "port: 1") +
          step("evtchn.bind_interdomain", "dom0", "remote_dom: guest1, remote_port: 1", "local_port: 1") +
          garbage +
          // Everything pending and masked: nothing is delivered, nothing breaks.
          step("evtchn.send", "dom0", "port: 1", "rc: 0, delivered: false") +
          step("evtchn.unmask", "guest1", "port: 1", "rc: 0, delivered: false") +
          step("evtchn.unmask", "guest1", "port: 4000", "rc: -EINVAL") +
          step("evtchn.close", "guest1", "port: 1", "rc: 0") +
          step("evtchn.status", "dom0", "port: 1", "status: EVTCHNSTAT_unbound, dom: 1") +
          // dom0's page is its own: the guest's garbage did not reach it.
          step("evtchn.alloc_unbound", "dom0", "remote_dom: DOMID_SELF", "port: 2") +
          step("evtchn.bind_interdomain", "dom0", "remote_dom: DOMID_SELF, remote_port: 2", "local_port: 3") +
          step("mem.read", "dom0", "addr: 0x20048800, len: 8", "data: \"0a 00 00 00 00 00 00 00\"") +
          // The guest's bits are all it controls: a fresh port of its own still works after it cleans up.
          step("mem.write", "guest1", "addr: " + si + ", data: \"00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\"") +
          step("mem.write", "guest1", "addr: " + std::to_string(guest1_si + 2048) + ", data: [" +
                                          [] { std::string z; for (int i = 0; i < 1024; ++i) z += i ? ",0" : "0"; return z; }() + "]") +
          step("evtchn.bind_ipi", "guest1", "vcpu: 0", "port: 1") +
          step("evtchn.send", "guest1", "port: 1", "rc: 0, delivered: [guest1]"));
    r.steps_ok();
    EXPECT_TRUE(r.report().violations.empty());
}

TEST(Evtchn, DestroyingADomainClosesItsPortsAndRaisesDomExc) {
    run r(step("evtchn.bind_virq", "dom0", "virq: 3", "rc: 0, port: 1") +
          step("evtchn.alloc_unbound", "guest1", "remote_dom: dom0", "port: 1") +
          step("evtchn.bind_interdomain", "dom0", "remote_dom: guest1, remote_port: 1", "local_port: 2") +
          step("evtchn.bind_virq", "guest1", "virq: 0", "port: 2") +
          step("mem.write", "dom0", "addr: 0x20048000, data: \"00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\"") +
          step("mem.write", "dom0", "addr: 0x20048800, data: \"00 00 00 00 00 00 00 00\""));
    r.steps_ok();
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    const std::size_t before = r.h().deliveries().size();
    ASSERT_EQ(r.h().destroy_domain(0, 1, d), 0);
    EXPECT_EQ(r.h().evtchn().port(1, 1)->state, hyp::ecs::free);
    EXPECT_EQ(r.h().evtchn().port(1, 2)->state, hyp::ecs::free);
    const hyp::evtchn* back = r.h().evtchn().port(0, 2);
    EXPECT_EQ(back->state, hyp::ecs::unbound);
    EXPECT_EQ(back->remote_domid, 1);
    // VIRQ_DOM_EXC reached dom0.
    ASSERT_GT(r.h().deliveries().size(), before);
    EXPECT_EQ(r.h().deliveries().back().domain, 0);
    EXPECT_TRUE(r.h().deliveries().back().upcall);
    // A dying domain gets no new ports; its closed ports cannot be bound.
    hyp::evtchn_alloc_unbound a;
    a.dom = 1;
    a.remote_dom = 0;
    hyp::hypercall hc;
    hc.caller = 0;
    hc.nr = hyp::HYPERVISOR_event_channel_op;
    hc.cmd = hyp::EVTCHNOP_alloc_unbound;
    hc.arg = &a;
    hc.count = hc.readable = 1;
    EXPECT_EQ(r.h().evtchn().event_channel_op(hc, d), -EINVAL);
    hyp::evtchn_bind_interdomain b;
    b.remote_dom = 1;
    b.remote_port = 1;
    hc.cmd = hyp::EVTCHNOP_bind_interdomain;
    hc.arg = &b;
    EXPECT_EQ(r.h().evtchn().event_channel_op(hc, d), -EINVAL);
}

TEST(Evtchn, NullArgumentIsEfaultAndUnknownCommandsEnosys) {
    run r(step("evtchn.event_channel_op", "guest1", "cmd: 4, null_arg: true", "rc: -EFAULT") +
          step("evtchn.event_channel_op", "guest1", "cmd: 5", "rc: -EPERM") +
          step("evtchn.event_channel_op", "guest1", "cmd: 2", "rc: -ENOSYS"));
    r.steps_ok();
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    hyp::hypercall hc;
    hc.caller = 1;
    hc.nr = hyp::HYPERVISOR_event_channel_op;
    for (unsigned cmd : {hyp::EVTCHNOP_alloc_unbound, hyp::EVTCHNOP_bind_interdomain, hyp::EVTCHNOP_bind_virq,
                         hyp::EVTCHNOP_bind_ipi, hyp::EVTCHNOP_close, hyp::EVTCHNOP_send, hyp::EVTCHNOP_status,
                         hyp::EVTCHNOP_bind_vcpu, hyp::EVTCHNOP_unmask}) {
        hc.cmd = cmd;
        hc.arg = nullptr;
        EXPECT_EQ(r.h().evtchn().event_channel_op(hc, d), -EFAULT) << cmd;
    }
    EXPECT_GT(d, sc_core::SC_ZERO_TIME);
}

TEST(Evtchn, DomidSelfNamesTheCaller) {
    run r(step("evtchn.alloc_unbound", "guest1", "dom: DOMID_SELF, remote_dom: DOMID_SELF", "rc: 0, port: 1") +
          step("evtchn.status", "guest1", "dom: DOMID_SELF, port: 1", "status: EVTCHNSTAT_unbound, dom: 1") +
          step("evtchn.status", "dom0", "dom: 1, port: 1", "status: EVTCHNSTAT_unbound, remote_domain: guest1"));
    r.steps_ok();
}

}  // namespace
