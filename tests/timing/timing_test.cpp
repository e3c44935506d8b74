// Timing regression suite: the latency and throughput of the documented paths
// (docs/timing.md), each computed here in closed form from the parameter
// table (the defaults of the parameter structs) and compared with what the
// simulated platform gives for the same scenario. A change to the timing
// model fails a test with both numbers side by side.
//
// Paths: IOTLB hit and miss, 64-byte and 4 KiB reads and writes, long
// streams of each, a switch, a PCIe-to-PCI bridge with a conventional bus,
// two devices on one link and two behind different root ports, and Bus
// Master Enable cleared during a transfer.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <sstream>
#include <string>

#include "models/pcie/link.h"
#include "platform/builder.h"
#include "platform/loader.h"
#include "platform/runner.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;

// ---- the parameter table ----------------------------------------------------------

double ns(const sc_core::sc_time& t) { return t.to_seconds() * 1e9; }

struct table {
    fabric_params fabric;
    mem::memory_params dram;
    iommu::iommu_params iommu;
    pci::bridge_params port = fabric.port;
    double link = pcie::link_bytes_per_ns(fabric.link.gen, fabric.link.width);  // bytes/ns, gen 3 x8
    double mps = 128, mrrs = 512;  // Device Control at reset
    double rcb = static_cast<double>(fabric.root_complex.read_completion_boundary);

    double port_lat() const { return ns(port.forward_latency); }
    double rc() const { return ns(fabric.root_complex.latency); }
    double ic() const { return ns(fabric.interconnect.latency); }
    double lookup() const { return ns(iommu.lookup_latency); }
    // An aligned read moves its interleave blocks on as many channels at once.
    double mem_read(double bytes) const {
        return ns(dram.read_latency) + std::min(bytes, static_cast<double>(dram.interleave)) / dram.bandwidth;
    }
    // A request TLP without data, a write TLP with `bytes`, the completions of a read of `bytes`.
    double request_wire() const { return static_cast<double>(fabric.link.tlp_overhead) / link; }
    double write_wire(double bytes) const { return (bytes + static_cast<double>(fabric.link.tlp_overhead)) / link; }
    double completion_wire(double bytes) const {
        const double n = std::ceil(bytes / rcb);
        return (bytes + n * static_cast<double>(fabric.link.completion_overhead)) / link;
    }
    // Root complex, IOMMU lookup, interconnect, DRAM and back through the root complex.
    double host_side_read(double bytes) const { return rc() + lookup() + ic() + mem_read(bytes) + rc(); }
    // One timed read of a paging entry by the walker.
    double walk_level() const { return ns(iommu.walk_step_latency) + ic() + mem_read(8); }
    double pci_bus(double bytes) const {
        return ns(port.pci_bus_clock) * (static_cast<double>(port.pci_bus_overhead_clocks) + std::ceil(bytes / static_cast<double>(port.pci_bus_width)));
    }
};

// ---- running a scenario -------------------------------------------------------------

const char* const domains = R"(
domains:
  - name: dom0
    privileged: true
    memory: 256MiB
  - name: guest1
    memory: 256MiB
    devices: [DEVICES]
)";

// One endpoint behind a root port.
const char* const behind_root_port = R"(
platform:
  memory: 1GiB
  pcie:
    - id: rp1
      type: root_port
      children:
        - { id: dev0, type: endpoint, model: dma_engine }
)";

std::string scenario_text(const std::string& platform, const std::string& devices, const std::string& steps) {
    std::string d = domains;
    d.replace(d.find("DEVICES"), 7, devices);
    return "name: timing\n" + platform + d + "steps:\n" + steps;
}

// Maps 1 MiB of guest1 at IOVA 1 MiB and lets `dev` master.
std::string prologue(const std::string& dev) {
    return "  - { do: iommu.map, args: { domain: guest1, iova: 0x100000, address: 0x100000, size: 1MiB } }\n"
           "  - { do: pci.set_master, as: guest1, args: { device: " + dev + " } }\n";
}

std::string read_step(const std::string& dev, std::uint64_t addr, std::uint64_t len, bool background = false) {
    std::ostringstream s;
    s << "  - { do: device.dma_read, device: " << dev << ", args: { addr: " << addr << ", len: " << len << " }"
      << (background ? ", background: true" : "") << " }\n";
    return s.str();
}

std::string write_step(const std::string& dev, std::uint64_t addr, std::uint64_t len, bool background = false) {
    std::ostringstream s;
    s << "  - { do: device.dma_write, device: " << dev << ", args: { addr: " << addr << ", data: [";
    for (std::uint64_t i = 0; i < len; ++i) s << (i ? "," : "") << (i & 0xff);
    s << "] }" << (background ? ", background: true" : "") << " }\n";
    return s.str();
}

struct run_result {
    run_report report;
    double step_ns(std::size_t i) const { return ns(report.steps.at(i).end - report.steps.at(i).start); }
    const nlohmann::ordered_json& result(std::size_t i) const { return report.steps.at(i).result; }
};

run_result run(const std::string& text) {
    static test::temp_dir dir;
    const scenario s = load_scenario(dir.write("timing.yaml", text));
    auto pi = build_platform(s);
    runner r("runner", s, *pi);
    sc_core::sc_start();
    if (r.error()) std::rethrow_exception(r.error());
    for (const step_outcome& o : r.report().steps)
        if (!o.ok) ADD_FAILURE() << "step " << o.index << " " << o.op << ": " << o.message;
    return {r.report()};
}

// Exact paths agree to a picosecond per hop; the tolerance allows rounding.
#define EXPECT_PATH(expected, simulated) \
    EXPECT_NEAR(simulated, expected, 0.01) << "expected " << (expected) << " ns from the parameter table, simulated " << (simulated) << " ns"

// ---- single requests --------------------------------------------------------------------

TEST(Timing, Read64IotlbHit) {
    const table t;
    // Warm the context cache and the IOTLB, then time a hit.
    const run_result r = run(scenario_text(behind_root_port, "dev0", prologue("dev0") + read_step("dev0", 0x100000, 64) + read_step("dev0", 0x100000, 64)));
    const double expected = t.request_wire() + t.port_lat() + t.host_side_read(64) + t.port_lat() + t.completion_wire(64);
    EXPECT_PATH(expected, r.step_ns(3));
}

TEST(Timing, Read64IotlbMissWalksFourLevels) {
    const table t;
    // The first read fills the context cache; the second page misses the IOTLB; the third hits it.
    const run_result r = run(scenario_text(behind_root_port, "dev0",
                                      prologue("dev0") + read_step("dev0", 0x100000, 64) + read_step("dev0", 0x101000, 64) + read_step("dev0", 0x101000, 64)));
    const double hit = t.request_wire() + t.port_lat() + t.host_side_read(64) + t.port_lat() + t.completion_wire(64);
    EXPECT_PATH(hit + 4 * t.walk_level(), r.step_ns(3));
    EXPECT_PATH(hit, r.step_ns(4));
}

TEST(Timing, Read4KiBOverlapsItsRequests) {
    const table t;
    const run_result r = run(scenario_text(behind_root_port, "dev0", prologue("dev0") + read_step("dev0", 0x100000, 64) + read_step("dev0", 0x100000, 4096)));
    // Eight 512-byte requests leave back to back; the first completes after a
    // full round trip and the rest follow on the downstream link, which is the
    // bottleneck (each request's completions take longer than its DRAM transfer).
    const double requests = 4096 / t.mrrs;
    ASSERT_GT(t.completion_wire(t.mrrs), t.mem_read(t.mrrs) - ns(t.dram.read_latency));
    const double expected = t.request_wire() + t.port_lat() + t.host_side_read(t.mrrs) + t.port_lat() + requests * t.completion_wire(t.mrrs);
    EXPECT_PATH(expected, r.step_ns(3));
    // Against one request at a time: the overlap is what tags buy.
    const double serial = requests * (t.request_wire() + 2 * t.port_lat() + t.host_side_read(t.mrrs) + t.completion_wire(t.mrrs));
    EXPECT_LT(r.step_ns(3), 0.5 * serial);
}

TEST(Timing, Write64CostsTheIssuerOnlyItsTlp) {
    const table t;
    const run_result r = run(scenario_text(behind_root_port, "dev0", prologue("dev0") + write_step("dev0", 0x100000, 64) + read_step("dev0", 0x100000, 8)));
    EXPECT_PATH(t.write_wire(64), r.step_ns(2));
    EXPECT_EQ(r.result(2).value("posted", false), true);
    EXPECT_EQ(r.result(3)["data"], "00 01 02 03 04 05 06 07");  // and it arrived
}

TEST(Timing, Write4KiBIsSerializationBound) {
    const table t;
    const run_result r = run(scenario_text(behind_root_port, "dev0", prologue("dev0") + write_step("dev0", 0x100000, 4096)));
    const double tlps = 4096 / t.mps;
    EXPECT_PATH(tlps * t.write_wire(t.mps), r.step_ns(2));
}

TEST(Timing, CpuMmioWriteIsPostedAndReadWaitsForItsCompletion) {
    const table t;
    const devices::dma_engine_params engine;
    const run_result r = run(scenario_text(behind_root_port, "dev0",
                                           "  - { do: pci.mmio_write, as: guest1, args: { device: dev0, bar: 0, offset: 0x8000, value: 7 } }\n"
                                           "  - { do: pci.mmio_read, as: guest1, args: { device: dev0, bar: 0, offset: 0x8000 } }\n"));
    // The write costs the CPU the interconnect and the root complex, which takes it.
    EXPECT_PATH(t.ic() + t.rc(), r.step_ns(0));
    // The read goes down to the engine's buffer and its 4-byte completion comes back.
    const double read = t.ic() + t.rc() + t.port_lat() + t.request_wire() + ns(engine.register_latency) +
                        (4 + static_cast<double>(t.fabric.link.completion_overhead)) / t.link + t.port_lat() + t.rc();
    EXPECT_PATH(read, r.step_ns(1));
    EXPECT_EQ(r.result(1)["value"], 7u);
}

// ---- streams: the link's limit ------------------------------------------------------------

TEST(Timing, ReadStreamReachesTheLinkLimit) {
    const table t;
    const std::uint64_t len = 512 * 1024;
    const run_result r = run(scenario_text(behind_root_port, "dev0", prologue("dev0") + read_step("dev0", 0x100000, len)));
    // Data efficiency of 64-byte completions: 64 / (64 + completion overhead).
    const double limit = t.link * t.rcb / (t.rcb + static_cast<double>(t.fabric.link.completion_overhead));
    const double got = static_cast<double>(len) / r.step_ns(2);
    EXPECT_GT(got, 0.98 * limit) << "read stream " << got << " GB/s, link limit " << limit << " GB/s";
    EXPECT_LE(got, limit) << "read stream " << got << " GB/s, link limit " << limit << " GB/s";
}

TEST(Timing, WriteStreamReachesTheLinkLimit) {
    const table t;
    const std::uint64_t len = 256 * 1024;
    // A read first: the stream's first write should not wait for the context-cache fill.
    const run_result r = run(scenario_text(behind_root_port, "dev0", prologue("dev0") + read_step("dev0", 0x100000, 64) + write_step("dev0", 0x100000, len)));
    const double limit = t.link * t.mps / (t.mps + static_cast<double>(t.fabric.link.tlp_overhead));
    const double got = static_cast<double>(len) / r.step_ns(3);
    EXPECT_NEAR(got, limit, 0.001 * limit) << "write stream " << got << " GB/s, link limit " << limit << " GB/s";
}

// ---- a switch and a PCIe-to-PCI bridge ---------------------------------------------------------

// Two endpoints behind one switch (one link between the switch and the root port).
const char* const two_behind_one_link = R"(
platform:
  memory: 1GiB
  pcie:
    - id: rp1
      type: root_port
      children:
        - id: usp
          type: upstream_port
          children:
            - id: dsp0
              type: downstream_port
              children:
                - { id: dev0, type: endpoint, model: dma_engine }
            - id: dsp1
              type: downstream_port
              children:
                - { id: dev1, type: endpoint, model: dma_engine }
)";


TEST(Timing, SwitchAddsItsPortsButNoLinkForItsInternalBus) {
    const table t;
    const run_result r = run(scenario_text(two_behind_one_link, "dev0", prologue("dev0") + read_step("dev0", 0x100000, 64) + read_step("dev0", 0x100000, 64)));
    // Two links (device-DSP, USP-root port) and three ports each way.
    const double expected = 2 * t.request_wire() + 3 * t.port_lat() + t.host_side_read(64) + 3 * t.port_lat() + 2 * t.completion_wire(64);
    EXPECT_PATH(expected, r.step_ns(3));
}

TEST(Timing, ConventionalBusBehindAPcieToPciBridge) {
    const table t;
    const char* const platform = R"(
platform:
  memory: 1GiB
  pcie:
    - id: rp1
      type: root_port
      children:
        - id: br
          type: pcie_pci_bridge
          children:
            - { id: dev0, type: pci_device, model: dma_engine }
)";
    const run_result r = run(scenario_text(platform, "dev0",
                                      prologue("dev0") + read_step("dev0", 0x100000, 64) + read_step("dev0", 0x100000, 64) + write_step("dev0", 0x100000, 64)));
    // The shared bus carries the request and later the data; the bridge
    // forwards both ways, then the link to the root port.
    const double read = t.pci_bus(0) + t.port_lat() + t.request_wire() + t.port_lat() + t.host_side_read(64) + t.port_lat() +
                        t.completion_wire(64) + t.port_lat() + t.pci_bus(64);
    EXPECT_PATH(read, r.step_ns(3));
    // A posted write costs the device the bus transaction only.
    EXPECT_PATH(t.pci_bus(64), r.step_ns(4));
}

// ---- concurrency -------------------------------------------------------------------------

const char* const two_root_ports = R"(
platform:
  memory: 1GiB
  pcie:
    - id: rp1
      type: root_port
      children:
        - { id: dev0, type: endpoint, model: dma_engine }
    - id: rp2
      type: root_port
      children:
        - { id: dev1, type: endpoint, model: dma_engine }
)";

// Both devices read their range once (filling the context cache and the
// IOTLB, which they share), then dev0 reads alone (step 5), then dev0 and
// dev1 read at once (steps 6 and 7). 64 KiB each: 32 pages in all, which the
// default IOTLB holds, so only the fabric can make them interfere.
std::string alone_then_both(const char* platform, std::uint64_t len) {
    return scenario_text(platform, "dev0, dev1",
                         prologue("dev0") + "  - { do: pci.set_master, as: guest1, args: { device: dev1 } }\n" +
                             read_step("dev0", 0x100000, len) + read_step("dev1", 0x100000 + len, len) + read_step("dev0", 0x100000, len) +
                             read_step("dev0", 0x100000, len, true) + read_step("dev1", 0x100000 + len, len, true) + "  - { do: sim.wait_idle }\n");
}

TEST(Timing, TwoDevicesOnOneLinkShareIt) {
    const run_result r = run(alone_then_both(two_behind_one_link, 64 * 1024));
    const double single = r.step_ns(5), a = r.step_ns(6), b = r.step_ns(7);
    // Each gets about half of the shared link (they take turns a quantum at a
    // time): both take about twice as long, and together they move data at
    // the link's rate.
    // Which of the two finishes first depends on who booked the link first
    // within a quantum; neither gets much more than its half.
    for (double t : {a, b}) {
        EXPECT_GT(t / single, 1.6) << "alone " << single << " ns, beside the other " << t << " ns";
        EXPECT_LT(t / single, 2.1) << "alone " << single << " ns, beside the other " << t << " ns";
    }
    EXPECT_NEAR(std::max(a, b) / single, 2.0, 0.05) << "both done after " << std::max(a, b) << " ns, one alone " << single << " ns";
}

TEST(Timing, TwoDevicesBehindDifferentRootPortsDoNotInterfere) {
    const run_result r = run(alone_then_both(two_root_ports, 64 * 1024));
    const double single = r.step_ns(5);
    // Their links are their own; what they share is the root complex's path
    // to memory, whose channels have room for both streams.
    EXPECT_NEAR(r.step_ns(6) / single, 1.0, 0.02) << "alone " << single << " ns, beside the other " << r.step_ns(6) << " ns";
    EXPECT_NEAR(r.step_ns(7) / single, 1.0, 0.02) << "alone " << single << " ns, beside the other " << r.step_ns(7) << " ns";
}

TEST(Timing, ClearingBusMasterEnableStopsATransferInFlight) {
    const table t;
    const std::uint64_t len = 512 * 1024;  // about 90 us at the link's limit
    const run_result r = run(scenario_text(behind_root_port, "dev0",
                                      prologue("dev0") + read_step("dev0", 0x100000, len, true) +
                                          "  - { do: sim.wait, args: { time: 10us } }\n"
                                          "  - { do: pci.config_write, as: guest1, args: { device: dev0, offset: 4, size: 2, value: 0 } }\n"
                                          "  - { do: sim.wait_idle }\n"));
    EXPECT_EQ(r.result(2)["errno"], "EIO");
    // No request left after the device synchronised past the write (at most a
    // quantum later); the requests already outstanding (one per tag) complete.
    const double cleared = ns(r.report.steps.at(4).start - r.report.steps.at(2).start);
    const double quantum = ns(sc_core::sc_time(1, sc_core::SC_US));
    const double in_flight = static_cast<double>(t.fabric.read_tags) * t.completion_wire(t.mrrs) + 2 * t.port_lat() + t.host_side_read(t.mrrs);
    EXPECT_LT(r.step_ns(2), cleared + quantum + in_flight) << "the transfer ran " << r.step_ns(2) << " ns; BME was cleared after " << cleared << " ns";
    EXPECT_GT(r.step_ns(2), cleared);
    EXPECT_LT(r.step_ns(2), static_cast<double>(len) / t.link / 2);
}

} // namespace
