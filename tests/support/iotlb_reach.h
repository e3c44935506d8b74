// The IOTLB-reach experiment of pcie-bench (Neugebauer et al., "Understanding
// PCIe performance for end host networking", SIGCOMM 2018, §6.4): a device
// reads 64 bytes at random 64-byte-aligned offsets of a window, with many
// reads outstanding, once with the IOMMU translating the window (mapped with
// 4 KiB pages) and once without an IOMMU; the throughput of the first over
// that of the second shows how far the IOTLB reaches. Shared by
// tests/timing/iotlb_reach_test.cpp (which asserts the curve) and
// tests/bench/iotlb_reach_table.cpp (which prints it next to the paper's).
//
// Each run is a scenario of its own, run in a child process: SystemC
// elaborates once per process.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "platform/builder.h"
#include "platform/loader.h"
#include "platform/runner.h"
#include "tests/support/temp_dir.h"

namespace iotwin::test::reach {

// The windows the paper reports and its ratios (with the IOMMU, 4 KiB pages,
// over without), read from its Figure 10 and §6.4 as the issue quotes them.
struct point { std::uint64_t window; double paper; };
inline const std::vector<point>& paper_curve() {
    static const std::vector<point> c = {
        {256ull << 10, 1.00}, {512ull << 10, 0.74}, {1ull << 20, 0.52}, {4ull << 20, 0.38}, {64ull << 20, 0.35}};
    return c;
}

struct config {
    std::uint64_t window = 64ull << 20;
    bool iommu = true;
    std::uint64_t xfer = 64;
    bool write = false;
    std::uint32_t count = 20000;
    std::uint32_t warmup = 4000;
    std::uint64_t seed = 1;
    std::uint64_t read_tags = 256;
    std::string iommu_keys;  // more `platform.iommu` keys, e.g. ", walkers: 1"
    // false: 4 KiB pages, as in pcie-bench's experiment (CAP.SLLPS 0, so the
    // hypervisor maps no superpage); true: the 2 MiB pages the mapping allows.
    bool superpages = false;
};

constexpr std::uint64_t window_base = 0x1000000;  // IOVA = guest-physical address of the window

// The bytes mapped: the window, rounded up to whole 2 MiB pages when the
// hypervisor may use them (a driver maps buffers in pages of the size it uses).
inline std::uint64_t mapped_size(const config& c) {
    constexpr std::uint64_t two_mib = 2ull << 20;
    return c.superpages ? (c.window + two_mib - 1) / two_mib * two_mib : c.window;
}

inline std::string scenario(const config& c) {
    std::ostringstream y;
    // pcie-bench's devices keep many DMAs in flight: the Extended Tag Field's
    // 256 tags (PCIe 5.0 §2.2.6.2), so that the host, not the tags, limits.
    y << "name: iotlb-reach\nseed: " << c.seed << "\nplatform:\n  memory: 1GiB\n  fabric: { read_tags: " << c.read_tags << " }\n";
    y << "  iommu: { enabled: " << (c.iommu ? "true" : "false") << (c.superpages ? "" : ", sllps: 0") << c.iommu_keys << " }\n";
    y << "  pcie:\n    - id: rp1\n      type: root_port\n      link: { gen: 3, width: 8 }\n"
         "      children:\n        - { id: bench, type: endpoint, model: pcie_bench }\n";
    y << "domains:\n  - { name: dom0, privileged: true, memory: 256MiB }\n"
         "  - { name: guest1, memory: 256MiB, devices: [bench] }\nsteps:\n";
    if (c.iommu)
        y << "  - { do: iommu.map, args: { domain: guest1, iova: " << window_base << ", address: " << window_base
          << ", size: " << mapped_size(c) << " } }\n";
    y << "  - { do: pci.set_master, as: guest1, args: { device: bench } }\n";
    auto reg = [&](unsigned off, std::uint64_t v, unsigned size) {
        y << "  - { do: pci.mmio_write, as: guest1, args: { device: bench, bar: 0, offset: " << off << ", size: " << size
          << ", value: " << v << " } }\n";
    };
    reg(0x08, window_base, 8);
    reg(0x10, c.window, 8);
    reg(0x18, c.xfer, 4);
    reg(0x1c, c.count, 4);
    reg(0x20, c.warmup, 4);
    reg(0x30, c.seed, 8);
    reg(0x24, 1 | (c.write ? 2 : 0), 4);  // START: the step waits for the run
    y << "  - { do: pci.mmio_read, as: guest1, args: { device: bench, bar: 0, offset: 0x28 }, expect: { value: 2 } }\n";
    y << "  - { do: pci.mmio_read, as: guest1, args: { device: bench, bar: 0, offset: 0x38, size: 8 } }\n";
    y << "  - { do: pci.mmio_read, as: guest1, args: { device: bench, bar: 0, offset: 0x40, size: 8 } }\n";
    // Without an IOMMU the device reaches memory that is not its domain's: that is the point of the baseline.
    if (!c.iommu) y << "expect_violation: [dma_isolation]\n";
    return y.str();
}

struct measurement {
    double gbps = 0;        // bytes per ns
    double miss_rate = 0;   // IOTLB misses per translated request
    double queue_ns = 0;    // mean wait of a miss for a slot or a walker
};

// Runs one configuration in a child process; nullopt if the run failed.
inline std::optional<measurement> run(const config& c) {
    int fds[2];
    if (pipe(fds) != 0) return std::nullopt;
    std::fflush(nullptr);  // the child must not write the parent's buffered output again
    const pid_t pid = fork();
    if (pid < 0) return std::nullopt;
    if (pid == 0) {
        close(fds[0]);
        // The child's own messages (the kernel's stop notice) are not the caller's output.
        if (const int null = open("/dev/null", O_WRONLY); null >= 0) dup2(null, STDOUT_FILENO);
        measurement m;
        bool ok = false;
        try {
            temp_dir dir;
            platform::scenario s = platform::load_scenario(dir.write("s.yaml", scenario(c)));
            auto pi = platform::build_platform(s);
            platform::runner r("runner", s, *pi);
            sc_core::sc_start();
            const auto& rep = r.report();
            ok = !r.error() && rep.steps.size() >= 3;
            for (const auto& st : rep.steps) ok = ok && st.ok;
            if (ok) {
                const std::size_t n = rep.steps.size();
                const double elapsed_ps = rep.steps[n - 2].result["value"].get<double>();
                const double bytes = rep.steps[n - 1].result["value"].get<double>();
                m.gbps = elapsed_ps > 0 ? bytes / (elapsed_ps / 1000.0) : 0;
                stat_map st;
                pi->stats(st);
                const double misses = static_cast<double>(st["iommu.iotlb_misses"]);
                const double hits = static_cast<double>(st["iommu.iotlb_hits"]);
                m.miss_rate = hits + misses > 0 ? misses / (hits + misses) : 0;
                const double queued = static_cast<double>(st["iommu.walk_queue_ps"]);
                m.queue_ns = misses > 0 ? queued / misses / 1000.0 : 0;
            }
        } catch (...) {
            ok = false;
        }
        const double out[4] = {ok ? 1.0 : 0.0, m.gbps, m.miss_rate, m.queue_ns};
        const ssize_t w = write(fds[1], out, sizeof out);
        _exit(w == static_cast<ssize_t>(sizeof out) ? 0 : 1);
    }
    close(fds[1]);
    double in[4] = {};
    std::size_t got = 0;
    while (got < sizeof in) {
        const ssize_t r = read(fds[0], reinterpret_cast<char*>(in) + got, sizeof in - got);
        if (r <= 0) break;
        got += static_cast<std::size_t>(r);
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != sizeof in || in[0] != 1.0) return std::nullopt;
    return measurement{in[1], in[2], in[3]};
}

} // namespace iotwin::test::reach
