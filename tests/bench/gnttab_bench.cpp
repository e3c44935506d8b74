// Grant-table operations per second of host time (simulator speed): a
// GNTTABOP_map_grant_ref + GNTTABOP_unmap_grant_ref pair of one grant, and a
// 4 KiB GNTTABOP_copy from a granted page, each issued as the guest's kernel
// does, over the CPU's hypercall socket to the hypervisor. Each benchmark
// times, in the same run and for as many hypercalls, bare hypercall
// transports: a TLM-2.0 b_transport of the same hypercall payload to a target
// that only adds the entry and exit delays, and reports
//   rate_vs_bare = (bare time per hypercall) / (iotwin time per hypercall)
// so the figure holds on a noisy machine.
//
//   build/tests/bench/gnttab_bench --benchmark_out=bench.json --benchmark_out_format=json
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/hyp/grant_table.h"
#include "platform/boot.h"
#include "platform/builder.h"

namespace {

using namespace iotwin;
using namespace sc_core;
using clock_type = std::chrono::steady_clock;
namespace g = hyp::gnttab;

// ---- the baseline: bare hypercall transports ------------------------------------

struct bare_hypervisor : sc_module {
    tlm_utils::simple_target_socket<bare_hypervisor> in{"in"};
    const hyp::hypervisor_timing timing;
    explicit bare_hypervisor(sc_module_name n) : sc_module(n) { in.register_b_transport(this, &bare_hypervisor::b_transport); }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time& d) {
        auto& hc = *reinterpret_cast<hyp::hypercall*>(gp.get_data_ptr());
        d += timing.hypercall_entry;
        hc.rc = 0;
        d += timing.hypercall_exit;
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
    }
};

struct bare_cpu : sc_module {
    cpu::cpu core{"core"};
    bare_hypervisor target{"target"};
    explicit bare_cpu(sc_module_name n) : sc_module(n) { core.hypercall.bind(target.in); }
};

// ---- iotwin: dom0 (PV) maps and copies a page guest1 (HVM) grants it --------------

constexpr g::grant_ref_t ref = 8;             // the first entry after the reserved ones
constexpr std::uint64_t granted_gfn = 0x100;  // guest1's page
constexpr std::uint64_t host_addr = 0x8000000;  // where dom0 maps it (beyond its 64 MiB of RAM)

struct twin {
    platform::scenario s;
    std::unique_ptr<platform::platform_instance> pi;
    sc_time local;
    hyp::domid_t dom0 = 0, guest = 1;
    std::uint64_t dest_mfn = 0;

    twin() {
        s.name = "bench";
        s.platform.memory = 1ull << 30;
        platform::domain_desc d0, g1;
        d0.name = "dom0";
        d0.privileged = true;
        d0.type = platform::domain_kind::pv;
        d0.memory = 64ull << 20;
        g1.name = "guest1";
        g1.memory = 64ull << 20;
        s.domains = {d0, g1};
        pi = platform::build_platform(s);
    }
    void boot() {
        sc_time d;
        platform::boot_platform(s, *pi, d);
        hyp::hypervisor& h = *pi->hypervisor;
        // guest1 grants its page to dom0 (grant_entry_v1: domid and frame, then flags).
        const hyp::domain& g = *h.find(guest);
        const std::uint64_t entry = g.grant_frame_gfn(0) * 4096 + ref * 8;
        const std::uint16_t domid = dom0, flags = g::GTF_permit_access;
        const auto frame = static_cast<std::uint32_t>(granted_gfn);
        h.guest_access(guest, tlm::TLM_WRITE_COMMAND, entry + 2, (std::uint8_t*)&domid, 2, d);
        h.guest_access(guest, tlm::TLM_WRITE_COMMAND, entry + 4, (std::uint8_t*)&frame, 4, d);
        h.guest_access(guest, tlm::TLM_WRITE_COMMAND, entry, (std::uint8_t*)&flags, 2, d);
        dest_mfn = h.find(dom0)->translate(0x200000)->maddr / 4096;  // a PV domain names its own machine frames
        local = d;
    }
    long call(unsigned cmd, void* arg) {
        hyp::hypercall hc;
        hc.caller = dom0;
        hc.nr = hyp::HYPERVISOR_grant_table_op;
        hc.cmd = cmd;
        hc.arg = arg;
        hc.count = hc.readable = 1;
        return pi->cpu->call(hc, local);
    }
};

twin* the_twin = nullptr;
bare_cpu* the_bare = nullptr;

// One bare hypercall transport of a grant-table operation.
void bare_call(sc_time& d) {
    static g::map_grant_ref op;
    hyp::hypercall hc;
    hc.nr = hyp::HYPERVISOR_grant_table_op;
    hc.arg = &op;
    hc.count = hc.readable = 1;
    the_bare->core.call(hc, d);
    benchmark::DoNotOptimize(hc.rc);
}

double bare_ns_per_call(std::int64_t calls) {
    sc_time d;
    const auto t0 = clock_type::now();
    for (std::int64_t i = 0; i < calls; ++i) bare_call(d);
    return std::chrono::duration<double, std::nano>(clock_type::now() - t0).count() / static_cast<double>(calls);
}

void report(benchmark::State& state, std::int64_t ops, int calls_per_op, clock_type::time_point t0, sc_time sim0) {
    const std::int64_t calls = ops * calls_per_op;
    const double ns = std::chrono::duration<double, std::nano>(clock_type::now() - t0).count() / static_cast<double>(calls);
    const double bare = bare_ns_per_call(calls);
    state.counters["ns_per_hypercall"] = ns;
    state.counters["bare_ns_per_hypercall"] = bare;
    state.counters["rate_vs_bare"] = bare / ns;
    state.counters["simulated_ns_per_op"] = (the_twin->local - sim0).to_seconds() * 1e9 / static_cast<double>(ops);
    state.SetItemsProcessed(ops);
}

void BM_map_unmap_pair(benchmark::State& state) {
    std::int64_t ops = 0;
    const sc_time sim0 = the_twin->local;
    const auto t0 = clock_type::now();
    for (auto _ : state) {
        g::map_grant_ref m;
        m.host_addr = host_addr;
        m.flags = g::GNTMAP_host_map;
        m.ref = ref;
        m.dom = the_twin->guest;
        if (the_twin->call(g::GNTTABOP_map_grant_ref, &m) || m.status != g::GNTST_okay) {
            state.SkipWithError("map_grant_ref failed");
            break;
        }
        g::unmap_grant_ref u;
        u.host_addr = host_addr;
        u.handle = m.handle;
        if (the_twin->call(g::GNTTABOP_unmap_grant_ref, &u) || u.status != g::GNTST_okay) {
            state.SkipWithError("unmap_grant_ref failed");
            break;
        }
        ++ops;
    }
    if (ops) report(state, ops, 2, t0, sim0);
}

void BM_copy_4k(benchmark::State& state) {
    std::int64_t ops = 0;
    const sc_time sim0 = the_twin->local;
    const auto t0 = clock_type::now();
    for (auto _ : state) {
        g::copy c;
        c.source.ref = ref;
        c.source.domid = the_twin->guest;
        c.dest.gmfn = the_twin->dest_mfn;
        c.dest.domid = hyp::DOMID_SELF;  // only DOMID_SELF may name a frame by number (gnttab_copy_lock_domain)
        c.len = 4096;
        c.flags = g::GNTCOPY_source_gref;
        if (the_twin->call(g::GNTTABOP_copy, &c) || c.status != g::GNTST_okay) {
            state.SkipWithError("copy failed");
            break;
        }
        ++ops;
    }
    if (ops) report(state, ops, 1, t0, sim0);
}

void BM_bare_hypercall(benchmark::State& state) {
    sc_time d;
    for (auto _ : state) bare_call(d);
}

BENCHMARK(BM_bare_hypercall);
BENCHMARK(BM_map_unmap_pair);
BENCHMARK(BM_copy_4k);

} // namespace

const bool quiet_systemc = [] { return setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1) == 0; }();

int sc_main(int argc, char* argv[]) {
    twin t;
    bare_cpu bare("bare");
    sc_start(SC_ZERO_TIME);
    t.boot();
    the_twin = &t;
    the_bare = &bare;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    stat_map st;
    t.pi->stats(st);
    std::printf("hypercalls over the run: %llu\n", static_cast<unsigned long long>(t.pi->cpu->hypercalls()));
    return 0;
}
