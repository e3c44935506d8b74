// Prints the IOTLB-reach calibration table (docs/timing.md, "IOTLB reach"):
// for each window of pcie-bench's experiment, the throughput of 64-byte
// random DMA reads with the IOMMU (4 KiB pages) and without, their ratio
// next to the paper's, the IOTLB miss rate and mean queueing of a miss, and
// the ratio when the hypervisor maps the window with 2 MiB pages.
// Simulated time: the figures are the same on every host.
//
//   build/tests/bench/iotlb_reach_table [--xfer=BYTES] [--write] [--quick]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/support/iotlb_reach.h"

// The SystemC banner is printed when the kernel starts: turn it off before that.
const bool quiet_systemc = [] { return setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1) == 0; }();

int sc_main(int argc, char* argv[]) {
    using namespace iotwin::test::reach;
    config base;
    for (int i = 1; i < argc; ++i) {
        if (!std::strncmp(argv[i], "--xfer=", 7)) base.xfer = std::strtoull(argv[i] + 7, nullptr, 0);
        else if (!std::strcmp(argv[i], "--write")) base.write = true;
        else if (!std::strcmp(argv[i], "--quick")) { base.count = 2000; base.warmup = 500; }
        else { std::fprintf(stderr, "usage: %s [--xfer=BYTES] [--write] [--quick]\n", argv[0]); return 2; }
    }
    std::printf("%u-byte random DMA %s, window at random offsets, %u transfers measured after %u\n\n",
                static_cast<unsigned>(base.xfer), base.write ? "writes" : "reads", base.count, base.warmup);
    std::printf("| window | without IOMMU | with IOMMU (4 KiB) | ratio | paper | deviation | IOTLB miss rate | mean wait of a miss | ratio with 2 MiB pages |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
    int bad = 0;
    for (const point& p : paper_curve()) {
        config with = base, without = base, big = base;
        with.window = without.window = big.window = p.window;
        without.iommu = false;
        big.superpages = true;
        const auto a = run(with), b = run(without), c = run(big);
        if (!a || !b || !c || b->gbps <= 0) { std::printf("| %llu KiB | run failed |\n", static_cast<unsigned long long>(p.window >> 10)); ++bad; continue; }
        const double ratio = a->gbps / b->gbps;
        const bool paper_applies = base.xfer == 64 && !base.write;
        std::printf("| %llu KiB | %.2f GB/s | %.2f GB/s | %.2f | %s | %s | %.3f | %.0f ns | %.2f |\n",
                    static_cast<unsigned long long>(p.window >> 10), b->gbps, a->gbps, ratio,
                    paper_applies ? std::to_string(p.paper).substr(0, 4).c_str() : "-",
                    paper_applies ? (std::to_string(std::lround(100 * (ratio / p.paper - 1))) + " %").c_str() : "-",
                    a->miss_rate, a->queue_ns, c->gbps / b->gbps);
    }
    return bad ? 1 : 0;
}
