// The DMI fast path against the IOTLB-hit path, in the same run: 64-byte DMA
// reads of one translated page by an endpoint below a root port, once as
// TLPs through root port, root complex, IOMMU (an IOTLB hit each time) and
// the interconnect to memory (pci_function::dma), once through the DMI
// pointer the same path granted (pci_function::stream). Reported:
//   dmi_vs_iotlb_hit = (IOTLB-hit time per op) / (DMI time per op)
// Target: at least 5.
//
//   build/tests/bench/dmi_bench --benchmark_out=dmi.json --benchmark_out_format=json
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "platform/address_map.h"
#include "platform/boot.h"
#include "platform/builder.h"

namespace {

using namespace iotwin;
using namespace sc_core;
using clock_type = std::chrono::steady_clock;

struct twin {
    platform::scenario s;
    std::unique_ptr<platform::platform_instance> pi;
    pci::pci_function* ep = nullptr;
    sc_time local;

    twin() {
        s.name = "dmi_bench";
        s.platform.memory = 1ull << 30;
        platform::pcie_node rp;
        rp.id = "rp1";
        rp.type = platform::node_type::root_port;
        platform::pcie_node ep_node;
        ep_node.id = "ep0";
        ep_node.type = platform::node_type::endpoint;
        ep_node.model = "bar_ram";
        rp.children.push_back(ep_node);
        s.platform.pcie.push_back(rp);
        platform::domain_desc dom0, guest;
        dom0.name = "dom0";
        dom0.privileged = true;
        dom0.memory = 256ull << 20;
        guest.name = "guest1";
        guest.memory = 64ull << 20;
        guest.devices.emplace_back("ep0", platform::source_pos{});
        s.domains = {dom0, guest};
        pi = platform::build_platform(s);
    }
    void boot() {
        sc_time d;
        platform::boot_platform(s, *pi, d);
        ep = pi->by_id.at("ep0");
        std::uint16_t cmd = pci::command_bits::memory_space | pci::command_bits::bus_master;
        pi->hypervisor->machine_access(tlm::TLM_WRITE_COMMAND,
                                       platform::address_map::ecam_base + pcie::ecam_offset(ep->bdf(), pci::cfg::command),
                                       reinterpret_cast<std::uint8_t*>(&cmd), 2, d);
        if (pi->hypervisor->iommu_map(pi->hypervisor->find("guest1")->id, 0, 0, 4096, true, true, d)) throw std::runtime_error("iommu_map failed");
        local = d;
    }
    // As dma_path_bench: the simulation follows the requests' local time a quantum at a time.
    void keep_quantum() {
        if (local < tlm::tlm_global_quantum::instance().get()) return;
        sc_start(local);
        local = SC_ZERO_TIME;
    }
};

twin* the_twin = nullptr;

template <bool Dmi> double read_ns_per_op(std::int64_t ops, bool& ok) {
    std::uint8_t buf[64];
    sc_time& d = the_twin->local;
    const auto t0 = clock_type::now();
    for (std::int64_t i = 0; i < ops; ++i) {
        const std::uint64_t iova = static_cast<std::uint64_t>(i % 64) * 64;
        const auto r = Dmi ? the_twin->ep->stream(tlm::TLM_READ_COMMAND, iova, buf, 64, d)
                           : the_twin->ep->dma(tlm::TLM_READ_COMMAND, iova, buf, 64, d);
        the_twin->keep_quantum();
        ok = ok && r.status == pcie::completion::SC && r.bytes == 64;
        benchmark::DoNotOptimize(buf);
    }
    return std::chrono::duration<double, std::nano>(clock_type::now() - t0).count() / static_cast<double>(ops);
}

void BM_dmi_vs_iotlb_hit(benchmark::State& state) {
    std::int64_t ops = 0;
    double dmi_ns = 0, hit_ns = 0;
    bool ok = true;
    for (auto _ : state) {
        // Interleaved batches, so both paths see the same machine state.
        constexpr std::int64_t batch = 2048;
        hit_ns += read_ns_per_op<false>(batch, ok);
        dmi_ns += read_ns_per_op<true>(batch, ok);
        ops += batch;
    }
    if (!ok) state.SkipWithError("a read failed");
    state.counters["dmi_ns_per_op"] = dmi_ns / static_cast<double>(state.iterations());
    state.counters["iotlb_hit_ns_per_op"] = hit_ns / static_cast<double>(state.iterations());
    state.counters["dmi_vs_iotlb_hit"] = hit_ns / dmi_ns;
    state.SetItemsProcessed(2 * ops);
}

// The figure that must hold in every run is the worst repetition's.
double min_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

BENCHMARK(BM_dmi_vs_iotlb_hit)->ComputeStatistics("min", min_of);

} // namespace

const bool quiet_systemc = [] { return setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1) == 0; }();

int sc_main(int argc, char* argv[]) {
    tlm::tlm_global_quantum::instance().set(platform::simulation_params{}.quantum);
    twin t;
    sc_start(SC_ZERO_TIME);
    t.boot();
    the_twin = &t;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    std::printf("DMI accesses: %llu (target: dmi_vs_iotlb_hit >= 5)\n", static_cast<unsigned long long>(t.ep->dmi_accesses()));
    return 0;
}
