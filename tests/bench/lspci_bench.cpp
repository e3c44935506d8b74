// `iotwin lspci` text at about 100, 1,000 and 2,550 functions, in two shapes:
//   vfs   one root port holding a PF whose SR-IOV virtual functions make up
//         the rest (2,547 VFs at the largest size, over ten buses);
//   wide  root ports each holding a PCIe-to-PCI bridge with up to 32
//         eight-function conventional devices on its secondary bus.
// Every platform is built (each inside a module of its own, so that module
// names do not clash), elaborated once and booted before the benchmarks run.
// An iteration finds the functions and reads what the output needs through
// ECAM (a fresh pci_listing), then writes the text: terse, -t or -vv.
//
// Times are thread CPU times. Each benchmark reports, for the same number of
// iterations and in the same run, a baseline that shows what the work cannot beat: walking the
// enumerated hierarchy and writing one line per function from what boot
// already knows, without a configuration read; and the same walk reading the
// two dwords of the terse listing from each function model's registers
// directly. Counters, per function:
//   ns_per_function   pci_listing + write_lspci
//   baseline_ns       the walk
//   registers_ns      the walk with direct register reads
//   reads_per_function  ECAM reads made
//   functions
// Linear time shows as ns_per_function staying flat from 100 to 2,550 (from
// 1,000 on, where the function models, 16 KiB of register bank each, no
// longer fit in the caches; registers_ns grows the same way).
//
//   build/tests/bench/lspci_bench --benchmark_out=lspci.json --benchmark_out_format=json
#include <benchmark/benchmark.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <systemc>

#include "platform/boot.h"
#include "platform/builder.h"
#include "models/pci/config_space.h"
#include "platform/lspci.h"

namespace {

using namespace iotwin;
using platform::node_type;
using platform::pcie_node;
// Thread CPU time: the machine these run on is shared, and wall time counts the waits.
struct cpu_clock {
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<cpu_clock>;
    static time_point now() {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return time_point(duration(std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec));
    }
};
using clock_type = cpu_clock;

pcie_node make(node_type t, const std::string& id, unsigned dev, unsigned fn) {
    pcie_node n;
    n.id = id;
    n.type = t;
    n.dev = static_cast<std::uint8_t>(dev);
    n.fn = static_cast<std::uint8_t>(fn);
    n.at_given = true;
    return n;
}

// `functions` counts the root complex's host bridge.
platform::scenario vfs_shape(std::size_t functions) {
    platform::scenario s;
    s.name = "vfs";
    s.platform.memory = 1ull << 30;
    pcie_node rp = make(node_type::root_port, "rp", 1, 0);
    pcie_node pf = make(node_type::endpoint, "pf", 0, 0);
    pf.bars = {{0, 64 << 10, pci::bar_type::mem32, false}};
    platform::sriov_spec sr;
    sr.total_vfs = sr.num_vfs = functions - 3;
    pf.sriov = sr;
    rp.children.push_back(pf);
    s.platform.pcie.push_back(rp);
    return s;
}

platform::scenario wide_shape(std::size_t functions) {
    platform::scenario s;
    s.name = "wide";
    s.platform.memory = 1ull << 30;
    std::size_t left = functions - 1;
    for (unsigned port = 1; left > 0; ++port) {
        pcie_node rp = make(node_type::root_port, "rp" + std::to_string(port), port, 0);
        pcie_node br = make(node_type::pcie_pci_bridge, "br" + std::to_string(port), 0, 0);
        left -= left >= 2 ? 2 : left;
        for (unsigned devfn = 0; devfn < 256 && left > 0; ++devfn, --left) {
            pcie_node d = make(node_type::pci_device, "d" + std::to_string(port) + "_" + std::to_string(devfn), devfn >> 3, devfn & 7);
            d.bars = {{0, 4 << 10, pci::bar_type::mem32, false}};
            br.children.push_back(d);
        }
        rp.children.push_back(br);
        s.platform.pcie.push_back(rp);
    }
    return s;
}

// One platform, its modules below a module of its own.
struct twin : sc_core::sc_module {
    platform::scenario s;
    std::unique_ptr<platform::platform_instance> pi;
    std::map<std::string, platform::enumerated_function> booted;
    // The CPU's local time, continued from boot: requests reach the timed
    // resources of the fabric in simulated-time order, as in a run.
    sc_core::sc_time d;
    twin(sc_core::sc_module_name n, platform::scenario sc) : sc_module(n), s(std::move(sc)), pi(platform::build_platform(s)) {}
    void boot() { booted = platform::boot_platform(s, *pi, d); }
};

std::map<std::string, twin*>& twins() {
    static std::map<std::string, twin*> t;
    return t;
}

// The baseline: one line per function of the enumerated hierarchy, from what boot knows.
double walk_ns(const twin& t, std::int64_t iterations, std::size_t& lines) {
    const auto t0 = clock_type::now();
    for (std::int64_t i = 0; i < iterations; ++i) {
        std::ostringstream os;
        char buf[64];
        lines = 0;
        for (const auto& [id, e] : t.booted) {
            const int n = std::snprintf(buf, sizeof buf, "%02x:%02x.%d %04x:%04x\n", e.bdf.bus, e.bdf.dev, e.bdf.fn,
                                        e.vendor, e.device);
            os.write(buf, n);
            ++lines;
        }
        benchmark::DoNotOptimize(os.str());
    }
    return std::chrono::duration<double, std::nano>(clock_type::now() - t0).count() / static_cast<double>(iterations);
}

// The second baseline: the same walk, reading the two dwords the terse listing
// needs straight from each function's register bank (no ECAM path), which
// shows what the memory hierarchy adds once the models outgrow the caches.
double registers_ns(const twin& t, std::int64_t iterations, std::size_t& lines) {
    const auto t0 = clock_type::now();
    for (std::int64_t i = 0; i < iterations; ++i) {
        std::ostringstream os;
        char buf[64];
        lines = 0;
        for (const auto& f : t.pi->functions) {
            const pcie::bdf b = f->bdf();
            const auto ids = f->config().read(pci::cfg::vendor_id, 4), cls = f->config().read(pci::cfg::revision, 4);
            const int n = std::snprintf(buf, sizeof buf, "%02x:%02x.%d %08llx %08llx\n", b.bus, b.dev, b.fn,
                                        static_cast<unsigned long long>(ids), static_cast<unsigned long long>(cls));
            os.write(buf, n);
            ++lines;
        }
        benchmark::DoNotOptimize(os.str());
    }
    return std::chrono::duration<double, std::nano>(clock_type::now() - t0).count() / static_cast<double>(iterations);
}

void listing(benchmark::State& state, const std::string& shape, platform::lspci_options o) {
    twin& t = *twins().at(shape + std::to_string(state.range(0)));
    std::size_t functions = 0, reads = 0;
    std::int64_t iterations = 0;
    const auto t0 = clock_type::now();
    for (auto _ : state) {
        std::ostringstream os;
        const platform::pci_listing l(*t.pi, t.booted, t.d);
        platform::write_lspci(os, l, o);
        benchmark::DoNotOptimize(os.str());
        functions = l.entries().size();
        reads = l.config_reads();
        ++iterations;
    }
    const double ns = std::chrono::duration<double, std::nano>(clock_type::now() - t0).count() / static_cast<double>(iterations);
    std::size_t walked = 0, read = 0;
    const double base = walk_ns(t, iterations, walked);
    const double direct = registers_ns(t, iterations, read);
    const auto n = static_cast<double>(functions);
    state.counters["functions"] = n;
    state.counters["ns_per_function"] = ns / n;
    state.counters["baseline_ns"] = base / static_cast<double>(walked);
    state.counters["registers_ns"] = direct / static_cast<double>(read);
    state.counters["reads_per_function"] = static_cast<double>(reads) / n;
    state.SetItemsProcessed(iterations * static_cast<std::int64_t>(functions));
}

void BM_lspci_vfs(benchmark::State& s) { listing(s, "vfs", {}); }
void BM_lspci_vfs_tree(benchmark::State& s) { listing(s, "vfs", {true, 0}); }
void BM_lspci_vfs_vv(benchmark::State& s) { listing(s, "vfs", {false, 2}); }
void BM_lspci_wide(benchmark::State& s) { listing(s, "wide", {}); }
void BM_lspci_wide_tree(benchmark::State& s) { listing(s, "wide", {true, 0}); }
void BM_lspci_wide_vv(benchmark::State& s) { listing(s, "wide", {false, 2}); }

constexpr std::int64_t sizes[] = {100, 1000, 2550};
#define IOTWIN_SIZES Arg(100)->Arg(1000)->Arg(2550)->Unit(benchmark::kMillisecond)
BENCHMARK(BM_lspci_vfs)->IOTWIN_SIZES;
BENCHMARK(BM_lspci_vfs_tree)->IOTWIN_SIZES;
BENCHMARK(BM_lspci_vfs_vv)->IOTWIN_SIZES;
BENCHMARK(BM_lspci_wide)->IOTWIN_SIZES;
BENCHMARK(BM_lspci_wide_tree)->IOTWIN_SIZES;
BENCHMARK(BM_lspci_wide_vv)->IOTWIN_SIZES;

} // namespace

// The SystemC banner is printed when the kernel starts: turn it off before that.
const bool quiet_systemc = [] { return setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1) == 0; }();

int sc_main(int argc, char* argv[]) {
    std::vector<std::unique_ptr<twin>> all;
    for (std::int64_t n : sizes) {
        const auto size = static_cast<std::size_t>(n);
        all.push_back(std::make_unique<twin>(("vfs" + std::to_string(n)).c_str(), vfs_shape(size)));
        all.push_back(std::make_unique<twin>(("wide" + std::to_string(n)).c_str(), wide_shape(size)));
    }
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    for (auto& t : all) {
        t->boot();
        twins()[t->basename()] = t.get();
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
