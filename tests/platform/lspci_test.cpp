// iotwin lspci on a small topology: an Intel root port with ACS holding an
// E810 with two BARs and three of four VFs enabled, and a second root port
// whose ACS implements every bit but enables only some. The listing must show
// what the simulated configuration space says: the root complex's host bridge
// at 00:00.0, bridge bus numbers and windows, regions at the addresses
// enumeration gave, ACS capability and control, the SR-IOV numbers, the VFs
// found from the capability, and no register the model does not have. The
// tree is drawn as lspci draws it: for this topology, for switches,
// multi-function devices, bridges behind bridges, a second root bus, and
// virtual functions that fill a bus past their bridge's secondary bus.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "platform/address_map.h"
#include "platform/boot.h"
#include "platform/builder.h"
#include "platform/loader.h"
#include "platform/lspci.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;
using namespace sc_core;

const char* const topology = R"(name: lspci
platform:
  pcie:
    - id: rp1
      type: root_port
      at: "01.0"
      vendor: 0x8086
      device: 0x2f08
      acs: [SV, RR, CR, UF]
      children:
        - id: nic
          type: endpoint
          vendor: 0x8086
          device: 0x1592
          class: 0x020000
          bars: [ { index: 0, size: 64KiB, type: mem32 }, { index: 2, size: 1MiB, type: mem64, prefetchable: true } ]
          sriov: { total_vfs: 4, num_vfs: 3, first_vf_offset: 1, vf_stride: 1, vf_device: 0x1889 }
    - id: rp2
      type: root_port
      at: "02.0"
      acs: [SV, TB, RR, CR, UF, EC, DT]
      acs_ctrl: [SV, RR, CR, UF]
      children:
        - { id: ep2, type: endpoint }
)";

scenario load(const char* yaml = topology) {
    const test::temp_dir dir;
    return load_scenario(dir.write("lspci_test.yaml", yaml));
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

// The lines of `text` from the one that starts with `first` up to the next empty line.
std::vector<std::string> block(const std::string& text, const std::string& first) {
    std::vector<std::string> out;
    bool in = false;
    for (const std::string& l : lines(text)) {
        if (!in && l.rfind(first, 0) == 0) in = true;
        if (in && l.empty()) break;
        if (in) out.push_back(l);
    }
    return out;
}

bool has(const std::vector<std::string>& v, const std::string& line) {
    return std::find(v.begin(), v.end(), line) != v.end();
}

struct booted {
    scenario s;
    std::unique_ptr<platform_instance> pi;
    std::map<std::string, enumerated_function> e;
    sc_time d = SC_ZERO_TIME;

    explicit booted(const char* yaml = topology) : s(load(yaml)), pi(build_platform(s)) {
        sc_start(SC_ZERO_TIME);
        e = boot_platform(s, *pi, d);
    }
    std::string render(const lspci_options& o) {
        std::ostringstream os;
        const pci_listing listing(*pi, e, d);
        write_lspci(os, listing, o);
        return os.str();
    }
    void config_write16(const std::string& id, std::uint16_t reg, std::uint16_t v) {
        const auto st = pi->hypervisor->machine_access(tlm::TLM_WRITE_COMMAND,
                                                       address_map::ecam_base + pcie::ecam_offset(e.at(id).bdf, reg),
                                                       reinterpret_cast<std::uint8_t*>(&v), 2, d);
        ASSERT_EQ(st, pcie::completion::SC);
    }
};

TEST(Lspci, ListsEveryFunctionIncludingTheEnabledVirtualFunctions) {
    booted b;
    EXPECT_EQ(b.render({}),
              "00:00.0 Host bridge: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller (rev 01)\n"
              "00:01.0 PCI bridge: Intel Corporation Xeon E7 v3/Xeon E5 v3/Core i7 PCI Express Root Port 3 (rev 01)\n"
              "00:02.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port (rev 01)\n"
              "01:00.0 Ethernet controller: Intel Corporation Ethernet Controller E810-C for QSFP (rev 01)\n"
              "01:00.1 Ethernet controller: Intel Corporation Ethernet Adaptive Virtual Function (rev 01)\n"
              "01:00.2 Ethernet controller: Intel Corporation Ethernet Adaptive Virtual Function (rev 01)\n"
              "01:00.3 Ethernet controller: Intel Corporation Ethernet Adaptive Virtual Function (rev 01)\n"
              "02:00.0 System peripheral: Red Hat, Inc. Device 00f0 (rev 01)\n");
}

TEST(Lspci, VeryVerboseShowsTheRegistersTheModelHas) {
    booted b;
    const std::string out = b.render({false, 2});
    const auto host = block(out, "00:00.0 ");
    EXPECT_EQ(host, (std::vector<std::string>{
                        "00:00.0 Host bridge: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller (rev 01)",
                        "\tSubsystem: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller",
                        "\tControl: I/O- Mem- BusMaster- SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR- FastB2B- DisINTx-",
                        "\tStatus: Cap- 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- <MAbort- >SERR- <PERR- INTx-"}));

    const auto rp1 = block(out, "00:01.0 ");
    EXPECT_EQ(rp1.at(0), "00:01.0 PCI bridge: Intel Corporation Xeon E7 v3/Xeon E5 v3/Core i7 PCI Express Root Port 3 "
                         "(rev 01) (prog-if 00 [Normal decode])");
    EXPECT_TRUE(has(rp1, "\tControl: I/O- Mem+ BusMaster+ SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR- FastB2B- DisINTx-"));
    EXPECT_TRUE(has(rp1, "\tBus: primary=00, secondary=01, subordinate=01"));
    EXPECT_TRUE(has(rp1, "\tMemory behind bridge: c0000000-c00fffff [size=1M] [32-bit]"));
    EXPECT_TRUE(has(rp1, "\tPrefetchable memory behind bridge: 0000020000000000-00000200000fffff [size=1M] [64-bit]"));
    EXPECT_TRUE(has(rp1, "\tBridgeCtl: Parity- SERR- NoISA- VGA- VGA16- MAbort- >Reset- FastB2B-"));
    EXPECT_TRUE(has(rp1, "\tCapabilities: [40] Express (v2) Root Port (Slot-), MSI 00"));
    EXPECT_TRUE(has(rp1, "\t\tLnkCap:\tPort #0, Speed 8GT/s, Width x8, ASPM not supported"));
    EXPECT_TRUE(has(rp1, "\tCapabilities: [100 v1] Access Control Services"));
    EXPECT_TRUE(has(rp1, "\t\tACSCap:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-"));
    EXPECT_TRUE(has(rp1, "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-"));

    const auto rp2 = block(out, "00:02.0 ");
    EXPECT_TRUE(has(rp2, "\tBus: primary=00, secondary=02, subordinate=02"));
    EXPECT_TRUE(has(rp2, "\tPrefetchable memory behind bridge: [disabled] [64-bit]"));
    EXPECT_TRUE(has(rp2, "\t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl+ DirectTrans+"));
    EXPECT_TRUE(has(rp2, "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-"));

    const auto pf = block(out, "01:00.0 ");
    EXPECT_TRUE(has(pf, "\tSubsystem: Intel Corporation Ethernet Controller E810-C for QSFP"));
    EXPECT_TRUE(has(pf, "\tInterrupt: pin A routed to IRQ 255"));
    EXPECT_TRUE(has(pf, "\tRegion 0: Memory at c0000000 (32-bit, non-prefetchable) [size=64K]"));
    EXPECT_TRUE(has(pf, "\tRegion 2: Memory at 20000000000 (64-bit, prefetchable) [size=1M]"));
    EXPECT_TRUE(has(pf, "\tCapabilities: [40] Express (v2) Endpoint, MSI 00"));
    EXPECT_TRUE(has(pf, "\t\tDevCap:\tMaxPayload 256 bytes, PhantFunc 0, Latency L0s <64ns, L1 <1us"));
    EXPECT_TRUE(has(pf, "\t\t\tMaxPayload 128 bytes, MaxReadReq 512 bytes"));
    EXPECT_TRUE(has(pf, "\tCapabilities: [7c] MSI: Enable- Count=1/1 Maskable- 64bit+"));
    EXPECT_TRUE(has(pf, "\t\tAddress: 0000000000000000  Data: 0000"));
    EXPECT_TRUE(has(pf, "\tCapabilities: [100 v1] Single Root I/O Virtualization (SR-IOV)"));
    EXPECT_TRUE(has(pf, "\t\tIOVCtl:\tEnable+ Migration- Interrupt- MSE+ ARIHierarchy- 10BitTagReq-"));
    EXPECT_TRUE(has(pf, "\t\tInitial VFs: 4, Total VFs: 4, Number of VFs: 3"));
    EXPECT_TRUE(has(pf, "\t\tVF offset: 1, stride: 1, Device ID: 1889"));
    EXPECT_TRUE(has(pf, "\t\tSupported Page Size: 00000553, System Page Size: 00000001"));

    // Registers the model does not have are not shown: no latency timer, BIST,
    // secondary status, I/O window, slot or root registers, "2" registers of
    // the PCI Express capability, VF BARs or migration state.
    for (const char* absent : {"Latency:", "sec-latency", "Secondary status", "I/O behind bridge", "SltCap", "RootCap",
                               "DevCap2", "DevCtl2", "LnkCap2", "LnkCtl2", "LnkSta2", "Function Dependency Link",
                               "VF Migration", "BIST"})
        EXPECT_EQ(out.find(absent), std::string::npos) << absent;

    // A VF: found from the PF's capability, its IDs the kernel's (its own registers read FFFFh).
    const auto vf = block(out, "01:00.3 ");
    EXPECT_EQ(vf.at(0), "01:00.3 Ethernet controller: Intel Corporation Ethernet Adaptive Virtual Function (rev 01)");
    EXPECT_FALSE(has(vf, "\tCapabilities: [100 v1] Single Root I/O Virtualization (SR-IOV)"));
    // -vvv shows what -vv shows.
    EXPECT_EQ(b.render({false, 3}), out);
}

TEST(Lspci, VerboseIsTheShorterLayout) {
    booted b;
    const std::string out = b.render({false, 1});
    EXPECT_EQ(block(out, "00:01.0 "),
              (std::vector<std::string>{
                  "00:01.0 PCI bridge: Intel Corporation Xeon E7 v3/Xeon E5 v3/Core i7 PCI Express Root Port 3 (rev 01) "
                  "(prog-if 00 [Normal decode])",
                  "\tFlags: bus master, fast devsel",
                  "\tBus: primary=00, secondary=01, subordinate=01",
                  "\tMemory behind bridge: c0000000-c00fffff [size=1M] [32-bit]",
                  "\tPrefetchable memory behind bridge: 0000020000000000-00000200000fffff [size=1M] [64-bit]",
                  "\tCapabilities: [40] Express Root Port (Slot-), MSI 00",
                  "\tCapabilities: [100] Access Control Services"}));
    const auto pf = block(out, "01:00.0 ");
    EXPECT_TRUE(has(pf, "\tFlags: fast devsel, IRQ 255"));
    EXPECT_TRUE(has(pf, "\tMemory at c0000000 (32-bit, non-prefetchable) [size=64K]"));
    EXPECT_TRUE(has(pf, "\tCapabilities: [7c] MSI: Enable- Count=1/1 Maskable- 64bit+"));
    EXPECT_TRUE(has(pf, "\tCapabilities: [100] Single Root I/O Virtualization (SR-IOV)"));
    EXPECT_FALSE(has(pf, "\t\tAddress: 0000000000000000  Data: 0000"));
}

TEST(Lspci, TreeIsDrawnAsLspciDrawsIt) {
    booted b;
    EXPECT_EQ(b.render({true, 0}),
              "-[0000:00]-+-00.0\n"
              "           +-01.0-[01]--+-00.0\n"
              "           |            +-00.1\n"
              "           |            +-00.2\n"
              "           |            \\-00.3\n"
              "           \\-02.0-[02]----00.0\n");
    const auto tv = lines(b.render({true, 1}));
    EXPECT_EQ(tv.at(0), "-[0000:00]-+-00.0  Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller");
    EXPECT_EQ(tv.at(1), "           +-01.0-[01]--+-00.0  Intel Corporation Ethernet Controller E810-C for QSFP");
    EXPECT_EQ(tv.at(5), "           \\-02.0-[02]----00.0  Red Hat, Inc. Device 00f0");
}

// A switch below a root port with a two-function endpoint below one
// downstream port and a PCIe-to-PCI bridge below the other, a multi-function
// RCiEP on bus 0, and an additional host bridge whose root bus 40 holds a
// root port: two root buses, each labelled.
const char* const wide_tree = R"(name: lspci-tree
platform:
  pcie:
    - id: rp1
      type: root_port
      children:
        - id: usp
          type: upstream_port
          children:
            - id: dsp0
              type: downstream_port
              at: "00.0"
              children:
                - { id: nic0, type: endpoint, at: "00.0" }
                - { id: nic1, type: endpoint, at: "00.1" }
            - id: dsp1
              type: downstream_port
              at: "01.0"
              children:
                - id: p2p
                  type: pcie_pci_bridge
                  children:
                    - { id: card, type: pci_device, at: "02.0" }
    - { id: lpc, type: rciep, at: "1f.0" }
    - { id: smbus, type: rciep, at: "1f.3" }
    - id: hb1
      type: host_bridge
      root_bus: 0x40
      children:
        - id: rp40
          type: root_port
          children:
            - { id: ep40, type: endpoint }
)";

TEST(Lspci, TreeOfSwitchesBridgesBehindBridgesAndTwoRootBuses) {
    booted b(wide_tree);
    EXPECT_EQ(b.render({true, 0}),
              "-+-[0000:00]-+-00.0\n"
              " |           +-01.0-[01-05]----00.0-[02-05]--+-00.0-[03]--+-00.0\n"
              " |           |                               |            \\-00.1\n"
              " |           |                               \\-01.0-[04-05]----00.0-[05]----02.0\n"
              " |           +-02.0\n"
              " |           +-1f.0\n"
              " |           \\-1f.3\n"
              " \\-[0000:40]---00.0-[41]----00.0\n");
    EXPECT_EQ(b.render({}),
              "00:00.0 Host bridge: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller (rev 01)\n"
              "00:01.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port (rev 01)\n"
              "00:02.0 Host bridge: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller (rev 01)\n"
              "00:1f.0 System peripheral: Red Hat, Inc. Device 00f0 (rev 01)\n"
              "00:1f.3 System peripheral: Red Hat, Inc. Device 00f0 (rev 01)\n"
              "01:00.0 PCI bridge: Texas Instruments XIO3130 PCI Express Switch (Upstream) (rev 01)\n"
              "02:00.0 PCI bridge: Texas Instruments XIO3130 PCI Express Switch (Downstream) (rev 01)\n"
              "02:01.0 PCI bridge: Texas Instruments XIO3130 PCI Express Switch (Downstream) (rev 01)\n"
              "03:00.0 System peripheral: Red Hat, Inc. Device 00f0 (rev 01)\n"
              "03:00.1 System peripheral: Red Hat, Inc. Device 00f0 (rev 01)\n"
              "04:00.0 PCI bridge: Red Hat, Inc. Device 000e (rev 01)\n"
              "05:02.0 System peripheral: Red Hat, Inc. Device 00f1 (rev 01)\n"
              "40:00.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port (rev 01)\n"
              "41:00.0 System peripheral: Red Hat, Inc. Device 00f0 (rev 01)\n");
}

// 300 VFs from offset 1, stride 1: 01:00.1 to 02:05.4. The second bus is
// below the root port (enumeration reserved it), so the port has two buses.
const char* const vfs_over_two_buses = R"(name: lspci-vfs
platform:
  pcie:
    - id: rp1
      type: root_port
      children:
        - id: pf
          type: endpoint
          sriov: { total_vfs: 300, first_vf_offset: 1, vf_stride: 1 }
)";

TEST(Lspci, VirtualFunctionsOnASecondBusHangBelowTheirPort) {
    booted b(vfs_over_two_buses);
    const auto t = lines(b.render({true, 0}));
    ASSERT_EQ(t.size(), 302u);  // a line per function that is not a bridge
    EXPECT_EQ(t.at(0), "-[0000:00]-+-00.0");
    EXPECT_EQ(t.at(1), "           \\-01.0-[01-02]--+-[0000:01]-+-00.0");
    EXPECT_EQ(t.at(2), "                           |           +-00.1");
    EXPECT_EQ(t.at(256), "                           |           \\-1f.7");
    EXPECT_EQ(t.at(257), "                           \\-[0000:02]-+-00.0");
    EXPECT_EQ(t.at(301), "                                       \\-05.4");
    const auto plain = lines(b.render({}));
    ASSERT_EQ(plain.size(), 2u + 301u);
    EXPECT_EQ(plain.back(), "02:05.4 System peripheral: Red Hat, Inc. Device 00f0 (rev 01)");
}

// What is shown is what configuration space says now, not the description:
// software changes ACS control and turns VF Enable off through ECAM.
TEST(Lspci, ReadsTheConfigurationSpaceAsItIsNow) {
    booted b;
    b.config_write16("rp2", 0x100 + 6, 0x7f);  // ACS Control at the capability (0x100) + 6: every bit
    const std::uint16_t sriov_ctrl = 0x100 + 0x08;
    b.config_write16("nic", sriov_ctrl, 0);    // VF Enable off
    const std::string out = b.render({false, 2});
    EXPECT_TRUE(has(block(out, "00:02.0 "),
                    "\t\tACSCtl:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl+ DirectTrans+"));
    EXPECT_TRUE(has(block(out, "01:00.0 "), "\t\tIOVCtl:\tEnable- Migration- Interrupt- MSE- ARIHierarchy- 10BitTagReq-"));
    EXPECT_EQ(out.find("01:00.1 "), std::string::npos);
}

// Reads are made as the output needs them: the terse listing and the tree
// read a few registers of each function, not its whole configuration space.
TEST(Lspci, ReadsOnlyWhatItShows) {
    booted b;
    const pci_listing listing(*b.pi, b.e, b.d);
    std::ostringstream os;
    write_lspci(os, listing, {});
    const std::size_t terse = listing.config_reads();
    EXPECT_LE(terse, 4 * listing.entries().size());
    write_lspci(os, listing, {true, 0});
    EXPECT_LE(listing.config_reads(), terse + 2 * listing.entries().size());
    write_lspci(os, listing, {false, 2});
    EXPECT_LT(listing.config_reads(), 64 * listing.entries().size());
}

// The command's entry point: build, elaborate, boot, read, write.
TEST(Lspci, WholeCommand) {
    std::ostringstream os;
    lspci(os, load(), {true, 0});
    EXPECT_EQ(lines(os.str()).at(1), "           +-01.0-[01]--+-00.0");
}

} // namespace
