// Static PCI numbering and IOMMU groups at scale: build_topology() and
// compute_groups() over synthetic descriptions of about 1,000, 10,000 and
// 100,000 functions. The descriptions are generated in code, realistic in
// shape: root ports (four to a device on the root bus, with and without ACS),
// switches whose downstream ports alternate with and without ACS,
// multi-function endpoints with and without ACS, an Intel 82576 (no ACS
// capability, isolated by Linux's quirk), a Marvell SATA controller (a DMA
// alias of function 0 as function 1), PCIe-to-PCI bridges with conventional
// devices and a PCI-to-PCI bridge behind them, and SR-IOV adapters (two PFs,
// 32 VFs each, VF offset 0x80 and stride 2 like an Intel 82599). A PCI
// segment holds at most 256 buses, so larger sizes add host bridges on bus 0,
// each opening root bus 1 of a further segment (10k: 6 segments, 100k: 56).
//
// Each size reports, for the same number of iterations and in the same run,
// two baselines that show what the work cannot beat: walking the description
// tree (platform::for_each_node, counting nodes) and copying it (every node's
// strings and vectors; its own growth shows what the memory hierarchy adds
// once the data outgrows the caches). Counters, the times per function:
//   ns_per_function         build_topology + compute_groups (+ freeing both)
//   topology_ns, groups_ns  the two parts
//   walk_ns, copy_ns        the baselines
//   vs_copy                 ns_per_function / copy_ns
//   functions, nodes, groups, segments
// Linear growth shows as ns_per_function staying flat from 1k to 100k; the
// closing line prints it at each size and the ratio 100k/1k, next to the copy
// baseline's. The target: 100,000 functions in under one second (never
// asserted by a test).
//
//   build/tests/bench/groups_bench --benchmark_out=groups.json --benchmark_out_format=json
//   build/tests/bench/groups_bench --digest   # a hash of every size's topology and groups, to compare across changes
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <systemc>

#include "platform/description.h"
#include "platform/iommu_groups.h"
#include "platform/topology.h"

namespace {

using namespace iotwin;
using platform::node_type;
using platform::pcie_node;
using clock_type = std::chrono::steady_clock;

// ---- the synthetic descriptions -------------------------------------------------------

class generator {
public:
    explicit generator(std::size_t target) : target_(target) {}

    platform::platform_desc run() {
        open_segment();
        // One cycle of unit shapes: 101 functions, 7 root ports and 14 buses.
        for (std::size_t k = 0; functions_ < target_; ++k) {
            const std::size_t left = target_ - functions_;
            // Near the end, small units: an eight-function endpoint, a
            // two-function one, an RCiEP on the root bus (no bus of its own).
            if (left < 100) {
                if (left >= 9) multifunction_endpoint(true, true, 8);
                else if (left >= 3) two_function_endpoint(true, false);
                else rciep();
                continue;
            }
            switch (k % 7) {
            case 0: multifunction_endpoint(true, true, 4); break;
            case 1: two_function_endpoint(true, false); break;
            case 2: switch_unit(4); break;
            case 3: multifunction_endpoint(false, false, 2); break;
            case 4: pci_bridge_unit(); break;
            case 5: sriov_unit(); break;
            case 6: two_function_endpoint(true, true); break;
            }
        }
        close_segment();
        // Additional host bridges on bus 0 of segment 0, after its root ports.
        std::uint16_t devfn = seg0_devfn_end_;
        for (pcie_node& hb : host_bridges_) {
            if (devfn > 0xff) throw std::runtime_error("bus 0 has no room for another host bridge");
            hb.dev = static_cast<std::uint8_t>(devfn >> 3);
            hb.fn = static_cast<std::uint8_t>(devfn & 7);
            ++devfn;
            p_.pcie.push_back(std::move(hb));
        }
        return std::move(p_);
    }

    std::size_t functions() const { return functions_; }

private:
    // Buses and root-bus positions of the segment being filled.
    struct segment {
        std::uint16_t number = 0;
        unsigned next_bus = 1;        // the next secondary bus number
        unsigned next_devfn = 0;      // the next root-bus position
        unsigned devfn_limit = 256;
        std::vector<pcie_node> roots;
    };

    pcie_node make(node_type t, const char* kind, unsigned dev, unsigned fn, bool acs) {
        pcie_node n;
        n.id = kind + std::to_string(next_id_++);
        n.type = t;
        n.dev = static_cast<std::uint8_t>(dev);
        n.fn = static_cast<std::uint8_t>(fn);
        n.at_given = true;
        if (acs) {
            n.has_acs = true;
            n.acs = {"SV", "RR", "CR", "UF"};
        }
        ++functions_;
        return n;
    }

    void open_segment() {
        segment s;
        s.number = static_cast<std::uint16_t>(segments_++);
        if (s.number == 0) {
            s.next_devfn = 1 << 3;       // 00:00.0 is the root complex's host bridge
            s.devfn_limit = 24 << 3;     // devices 24..31 of bus 0 are left to host bridges
        } else {
            s.next_bus = 2;              // root bus 1 is the host bridge's
            ++functions_;                // the host bridge function on bus 0
        }
        seg_ = std::move(s);
    }

    void close_segment() {
        if (seg_.number == 0) {
            p_.pcie = std::move(seg_.roots);
            seg0_devfn_end_ = static_cast<std::uint16_t>(seg_.next_devfn);
            return;
        }
        pcie_node hb;
        hb.id = "hb" + std::to_string(seg_.number);
        hb.type = node_type::host_bridge;
        hb.vendor = 0x1b36;
        hb.device = 0x000b;  // QEMU's PCIe expander bridge
        hb.root_bus = 1;
        hb.segment = seg_.number;
        hb.at_given = true;
        hb.children = std::move(seg_.roots);
        host_bridges_.push_back(std::move(hb));
    }

    // Room for a unit of `buses` secondary buses and one root-bus position;
    // a new segment when the current one is full.
    void reserve(unsigned buses) {
        if (seg_.next_bus + buses - 1 <= 255 && seg_.next_devfn < seg_.devfn_limit) {
            seg_.next_bus += buses;
            return;
        }
        close_segment();
        open_segment();
        seg_.next_bus += buses;
    }

    // A root port at the next root-bus position; four to a device.
    pcie_node& root_port(bool acs) {
        // Keep the four ports of a device together; a new device at a multiple of four functions.
        const unsigned devfn = seg_.next_devfn;
        seg_.next_devfn = (devfn & 7) == 3 ? (devfn & ~7u) + 8 : devfn + 1;
        seg_.roots.push_back(make(node_type::root_port, "rp", devfn >> 3, devfn & 7, acs));
        return seg_.roots.back();
    }

    void rciep() {
        if (((seg_.next_devfn + 7) & ~7u) >= seg_.devfn_limit) {
            close_segment();
            open_segment();
        }
        const unsigned devfn = (seg_.next_devfn + 7) & ~7u;  // a device of its own
        seg_.next_devfn = devfn + 8;
        seg_.roots.push_back(make(node_type::rciep, "rciep", devfn >> 3, 0, false));
    }

    void multifunction_endpoint(bool rp_acs, bool ep_acs, unsigned fns) {
        reserve(1);
        pcie_node& rp = root_port(rp_acs);
        for (unsigned f = 0; f < fns; ++f) rp.children.push_back(make(node_type::endpoint, "ep", 0, f, ep_acs));
    }

    // Two functions without an ACS capability: an Intel 82576 (8086:10c9,
    // isolated by pci_quirk_mf_endpoint_acs), or a Marvell 88SE9123 SATA
    // controller (1b4b:9123) with its IDE function (1b4b:91a0), whose
    // function 0 also issues DMA as function 1 (quirk_dma_func1_alias).
    void two_function_endpoint(bool rp_acs, bool intel_82576) {
        reserve(1);
        pcie_node& rp = root_port(rp_acs);
        for (unsigned f = 0; f < 2; ++f) {
            pcie_node ep = make(node_type::endpoint, "ep", 0, f, false);
            ep.vendor = intel_82576 ? 0x8086 : 0x1b4b;
            ep.device = intel_82576 ? 0x10c9 : (f ? 0x91a0 : 0x9123);
            rp.children.push_back(std::move(ep));
        }
    }

    // Root port with ACS, a switch of `ports` downstream ports alternating
    // with and without ACS; behind each, a single-function endpoint or a
    // two-function endpoint without ACS.
    void switch_unit(unsigned ports) {
        reserve(2 + ports);
        pcie_node& rp = root_port(true);
        pcie_node up = make(node_type::upstream_port, "up", 0, 0, false);
        for (unsigned d = 0; d < ports; ++d) {
            pcie_node dp = make(node_type::downstream_port, "dp", d, 0, d % 2 == 0);
            for (unsigned f = 0; f < (d % 2 ? 2u : 1u); ++f) dp.children.push_back(make(node_type::endpoint, "ep", 0, f, false));
            up.children.push_back(std::move(dp));
        }
        rp.children.push_back(std::move(up));
    }

    // Root port without ACS, a PCIe-to-PCI bridge with three conventional
    // devices and a PCI-to-PCI bridge with two more.
    void pci_bridge_unit() {
        reserve(3);
        pcie_node& rp = root_port(false);
        pcie_node br = make(node_type::pcie_pci_bridge, "pcibr", 0, 0, false);
        for (unsigned d = 0; d < 3; ++d) br.children.push_back(make(node_type::pci_device, "pci", d, 0, false));
        pcie_node p2p = make(node_type::pci_bridge, "p2p", 3, 0, false);
        for (unsigned d = 0; d < 2; ++d) p2p.children.push_back(make(node_type::pci_device, "pci", d, 0, false));
        br.children.push_back(std::move(p2p));
        rp.children.push_back(std::move(br));
    }

    // Root port with ACS; two PFs with ACS, 32 of 64 VFs each enabled at
    // offset 0x80, stride 2: PFs at 00.0 and 00.1, VFs from 10.0, all on one bus.
    void sriov_unit() {
        reserve(1);
        pcie_node& rp = root_port(true);
        for (unsigned f = 0; f < 2; ++f) {
            pcie_node pf = make(node_type::endpoint, "pf", 0, f, true);
            pf.vendor = 0x8086;
            pf.device = 0x10fb;
            platform::sriov_spec sp;
            sp.total_vfs = 64;
            sp.num_vfs = 32;
            sp.first_vf_offset = 0x80;
            sp.vf_stride = 2;
            sp.vf_device = 0x10ed;
            pf.sriov = sp;
            functions_ += sp.num_vfs;
            rp.children.push_back(std::move(pf));
        }
    }

    std::size_t target_;
    std::size_t functions_ = 0;
    unsigned next_id_ = 0;
    unsigned segments_ = 0;
    std::uint16_t seg0_devfn_end_ = 0;
    segment seg_;
    std::vector<pcie_node> host_bridges_;
    platform::platform_desc p_;
};

struct sample {
    platform::platform_desc desc;
    std::size_t functions = 0;  // as the generator counted them
    std::size_t nodes = 0;
};

const sample& sample_of(std::size_t n) {
    static std::map<std::size_t, sample> cache;
    auto it = cache.find(n);
    if (it == cache.end()) {
        generator g(n);
        sample s;
        s.desc = g.run();
        s.functions = g.functions();
        platform::for_each_node(s.desc.pcie, [&](const pcie_node&, const pcie_node*) { ++s.nodes; });
        it = cache.emplace(n, std::move(s)).first;
    }
    return it->second;
}

// ---- the benchmark ----------------------------------------------------------------------

struct figures {
    std::size_t functions = 0, groups = 0, segments = 0;
    double ms = 0, ns_per_function = 0, walk_ns = 0, copy_ns = 0;
};
std::map<std::int64_t, figures> results;  // by size, the last run of each

double ns_since(clock_type::time_point t0) { return std::chrono::duration<double, std::nano>(clock_type::now() - t0).count(); }

void BM_groups(benchmark::State& state) {
    const sample& s = sample_of(static_cast<std::size_t>(state.range(0)));
    std::size_t functions = 0, groups = 0, segments = 0;
    double topo_ns = 0, groups_ns = 0, total_ns = 0;
    std::int64_t iters = 0;
    for (auto _ : state) {
        const auto t0 = clock_type::now();
        {
            platform::topology t = platform::build_topology(s.desc);
            const auto t1 = clock_type::now();
            platform::group_result g = platform::compute_groups(t);
            const auto t2 = clock_type::now();
            topo_ns += std::chrono::duration<double, std::nano>(t1 - t0).count();
            groups_ns += std::chrono::duration<double, std::nano>(t2 - t1).count();
            functions = t.functions.size();
            groups = g.groups.size();
            segments = t.functions.empty() ? 0 : 1;
            for (const auto& f : t.functions) segments = std::max<std::size_t>(segments, f.segment + 1u);
            benchmark::DoNotOptimize(g.groups.data());
        }
        total_ns += ns_since(t0);
        ++iters;
    }
    if (functions != s.functions) {
        state.SkipWithError("the topology does not have the functions the generator made");
        return;
    }
    // The baselines, for as many iterations.
    auto t0 = clock_type::now();
    for (std::int64_t i = 0; i < iters; ++i) {
        std::size_t nodes = 0;
        platform::for_each_node(s.desc.pcie, [&](const pcie_node&, const pcie_node*) { ++nodes; });
        benchmark::DoNotOptimize(nodes);
    }
    const double walk_ns = ns_since(t0);
    t0 = clock_type::now();
    for (std::int64_t i = 0; i < iters; ++i) {
        platform::platform_desc copy = s.desc;
        benchmark::DoNotOptimize(copy.pcie.data());
    }
    const double copy_ns = ns_since(t0);

    const double per = static_cast<double>(iters) * static_cast<double>(functions);
    figures& r = results[state.range(0)];
    r = {functions, groups, segments, total_ns / static_cast<double>(iters) / 1e6, total_ns / per, walk_ns / per, copy_ns / per};
    state.counters["functions"] = static_cast<double>(functions);
    state.counters["nodes"] = static_cast<double>(s.nodes);
    state.counters["groups"] = static_cast<double>(groups);
    state.counters["segments"] = static_cast<double>(segments);
    state.counters["ns_per_function"] = r.ns_per_function;
    state.counters["topology_ns"] = topo_ns / per;
    state.counters["groups_ns"] = groups_ns / per;
    state.counters["walk_ns"] = r.walk_ns;
    state.counters["copy_ns"] = r.copy_ns;
    state.counters["vs_copy"] = r.ns_per_function / r.copy_ns;
    state.SetItemsProcessed(static_cast<std::int64_t>(per));
}

BENCHMARK(BM_groups)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

// FNV-1a over everything the topology and the groups say, for --digest.
struct fnv {
    std::uint64_t h = 1469598103934665603ull;
    void bytes(const void* p, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
    }
    template <class T> void operator()(const T& v) { bytes(&v, sizeof v); }
    void operator()(const std::string& s) {
        bytes(s.data(), s.size());
        (*this)(s.size());
    }
};

std::uint64_t digest(std::size_t n) {
    const platform::topology t = platform::build_topology(sample_of(n).desc);
    const platform::group_result g = platform::compute_groups(t);
    fnv h;
    for (std::size_t i = 0; i < t.functions.size(); ++i) {
        const auto& f = t.functions[i];
        h(f.id), h(f.type), h(f.segment), h(f.bdf.rid()), h(f.vendor), h(f.device), h(f.class_code), h(f.pcie_type.value_or(pci::port_type{0xff}));
        h(f.header_multifunction), h(f.multifunction), h(f.has_acs), h(f.acs_cap), h(f.acs_ctrl), h(f.is_vf), h(f.pf), h(f.vf_index);
        h(f.parent), h(f.on_root_bus), h(f.bridge), h(f.secondary), h(f.subordinate), h(f.dma_alias.count()), h(f.pcie_bridge_alias);
        h(f.xlate_root), h(f.alias_quirk), h(f.internal_p2p), h(t.by_id.at(f.id));
        for (std::uint16_t a : t.dma_aliases(static_cast<int>(i))) h(a);
        h(static_cast<std::size_t>(boost::in_degree(i, t.graph))), h(static_cast<std::size_t>(boost::out_degree(i, t.graph)));
        std::string why;
        h(platform::linux_acs_enabled(t, static_cast<int>(i), &why)), h(why);
    }
    for (const auto& [bus, fs] : t.by_bus) {
        h(bus);
        for (int f : fs) h(f);
    }
    for (const auto& gr : g.groups) {
        h(gr.id), h(gr.reason);
        for (int m : gr.members) h(m);
    }
    for (int x : g.group_of) h(x);
    return h.h;
}

} // namespace

// The SystemC banner is printed when the kernel starts: turn it off before that.
const bool quiet_systemc = [] { return setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1) == 0; }();

int sc_main(int argc, char* argv[]) {
    if (argc == 2 && std::strcmp(argv[1], "--digest") == 0) {
        for (std::size_t n : {1000, 10000, 100000})
            std::printf("%zu functions: digest %016llx\n", n, static_cast<unsigned long long>(digest(n)));
        return 0;
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (results.empty()) return 0;
    std::printf("build_topology + compute_groups, ns per function (copy baseline):");
    for (const auto& [n, r] : results)
        std::printf(" %zu: %.0f (%.0f) [%.1f ms, %zu groups];", r.functions, r.ns_per_function, r.copy_ns, r.ms, r.groups);
    const auto small = results.find(1000), large = results.find(100000);
    if (small != results.end() && large != results.end())
        std::printf(" 100k/1k per-function ratio %.2f (1 = linear; the copy baseline's own ratio %.2f); 100k functions in %.0f ms (target < 1000 ms)",
                    large->second.ns_per_function / small->second.ns_per_function, large->second.copy_ns / small->second.copy_ns,
                    large->second.ms);
    std::printf("\n");
    return 0;
}
