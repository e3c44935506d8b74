// iotwin lspci on a small topology: an Intel root port with ACS holding an
// E810 with two BARs and three of four VFs enabled, and a second root port
// whose ACS implements every bit but enables only some. The listing must show
// what the simulated configuration space says: bridge bus numbers, regions at
// the addresses enumeration gave, ACS capability and control, the SR-IOV
// numbers, the VFs found from the capability, the tree as lspci draws it.
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

scenario load() {
    const test::temp_dir dir;
    return load_scenario(dir.write("lspci_test.yaml", topology));
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
    scenario s = load();
    std::unique_ptr<platform_instance> pi = build_platform(s);
    std::map<std::string, enumerated_function> e;
    sc_time d = SC_ZERO_TIME;

    booted() {
        sc_start(SC_ZERO_TIME);
        e = boot_platform(s, *pi, d);
    }
    std::string render(const lspci_options& o) {
        std::ostringstream os;
        write_lspci(os, read_pci_functions(*pi, e, d), o);
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
              "00:01.0 PCI bridge: Intel Corporation Xeon E7 v3/Xeon E5 v3/Core i7 PCI Express Root Port 3 (rev 01)\n"
              "00:02.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port (rev 01)\n"
              "01:00.0 Ethernet controller: Intel Corporation Ethernet Controller E810-C for QSFP (rev 01)\n"
              "01:00.1 Ethernet controller: Intel Corporation Ethernet Adaptive Virtual Function (rev 01)\n"
              "01:00.2 Ethernet controller: Intel Corporation Ethernet Adaptive Virtual Function (rev 01)\n"
              "01:00.3 Ethernet controller: Intel Corporation Ethernet Adaptive Virtual Function (rev 01)\n"
              "02:00.0 System peripheral: Red Hat, Inc. Device 00f0 (rev 01)\n");
}

TEST(Lspci, VerboseShowsBridgeBusesRegionsAcsAndSriov) {
    booted b;
    const std::string out = b.render({false, 1});
    const auto rp1 = block(out, "00:01.0 ");
    EXPECT_EQ(rp1.at(0), "00:01.0 PCI bridge: Intel Corporation Xeon E7 v3/Xeon E5 v3/Core i7 PCI Express Root Port 3 "
                         "(rev 01) (prog-if 00 [Normal decode])");
    EXPECT_TRUE(has(rp1, "\tControl: I/O- Mem+ BusMaster+ SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR- FastB2B- DisINTx-"));
    EXPECT_TRUE(has(rp1, "\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0"));
    EXPECT_TRUE(has(rp1, "\tMemory behind bridge: c0000000-c00fffff [size=1M] [32-bit]"));
    // sysfs gives the window's start without its type bits: pciutils calls it 32-bit.
    EXPECT_TRUE(has(rp1, "\tPrefetchable memory behind bridge: 20000000000-200000fffff [size=1M] [32-bit]"));
    EXPECT_TRUE(has(rp1, "\tCapabilities: [40] Express (v2) Root Port (Slot-), MSI 00"));
    EXPECT_TRUE(has(rp1, "\tCapabilities: [100 v1] Access Control Services"));
    EXPECT_TRUE(has(rp1, "\t\tACSCap:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-"));
    EXPECT_TRUE(has(rp1, "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-"));

    const auto rp2 = block(out, "00:02.0 ");
    EXPECT_TRUE(has(rp2, "\tBus: primary=00, secondary=02, subordinate=02, sec-latency=0"));
    EXPECT_TRUE(has(rp2, "\tPrefetchable memory behind bridge: [disabled] [64-bit]"));
    EXPECT_TRUE(has(rp2, "\t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl+ DirectTrans+"));
    EXPECT_TRUE(has(rp2, "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-"));

    const auto pf = block(out, "01:00.0 ");
    EXPECT_TRUE(has(pf, "\tSubsystem: Intel Corporation Ethernet Controller E810-C for QSFP"));
    EXPECT_TRUE(has(pf, "\tRegion 0: Memory at c0000000 (32-bit, non-prefetchable) [size=64K]"));
    EXPECT_TRUE(has(pf, "\tRegion 2: Memory at 20000000000 (64-bit, prefetchable) [size=1M]"));
    EXPECT_TRUE(has(pf, "\tCapabilities: [40] Express (v2) Endpoint, MSI 00"));
    EXPECT_TRUE(has(pf, "\tCapabilities: [7c] MSI: Enable- Count=1/1 Maskable- 64bit+"));
    EXPECT_TRUE(has(pf, "\tCapabilities: [100 v1] Single Root I/O Virtualization (SR-IOV)"));
    EXPECT_TRUE(has(pf, "\t\tIOVCtl:\tEnable+ Migration- Interrupt- MSE+ ARIHierarchy- 10BitTagReq-"));
    EXPECT_TRUE(has(pf, "\t\tInitial VFs: 4, Total VFs: 4, Number of VFs: 3, Function Dependency Link: 00"));
    EXPECT_TRUE(has(pf, "\t\tVF offset: 1, stride: 1, Device ID: 1889"));

    // A VF: found from the PF's capability, its IDs the kernel's (its own registers read FFFFh).
    const auto vf = block(out, "01:00.3 ");
    EXPECT_EQ(vf.at(0), "01:00.3 Ethernet controller: Intel Corporation Ethernet Adaptive Virtual Function (rev 01)");
    EXPECT_FALSE(has(vf, "\tCapabilities: [100 v1] Single Root I/O Virtualization (SR-IOV)"));
}

TEST(Lspci, TreeIsDrawnAsLspciDrawsIt) {
    booted b;
    EXPECT_EQ(b.render({true, 0}),
              "-[0000:00]-+-01.0-[01]--+-00.0\n"
              "           |            +-00.1\n"
              "           |            +-00.2\n"
              "           |            \\-00.3\n"
              "           \\-02.0-[02]----00.0\n");
    const auto tv = lines(b.render({true, 1}));
    EXPECT_EQ(tv.at(0), "-[0000:00]-+-01.0-[01]--+-00.0  Intel Corporation Ethernet Controller E810-C for QSFP");
    EXPECT_EQ(tv.at(4), "           \\-02.0-[02]----00.0  Red Hat, Inc. Device 00f0");
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

// The command's entry point: build, elaborate, boot, read, write.
TEST(Lspci, WholeCommand) {
    std::ostringstream os;
    lspci(os, load(), {true, 0});
    EXPECT_EQ(lines(os.str()).at(0), "-[0000:00]-+-01.0-[01]--+-00.0");
}

} // namespace
