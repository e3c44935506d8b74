// Host driver binding (platform/host_drivers.h) through the sysfs steps, on
// whole platforms run as `iotwin run` runs them: the bindings Linux makes at
// boot, the errnos of bind, unbind, driver_override and drivers_probe, the
// IOMMU group numbers of `iotwin groups`, the reset methods Linux 6.1 lists,
// and an unbind that stops a device's DMA.
#include <gtest/gtest.h>

#include <string>

#include "platform/builder.h"
#include "platform/host_drivers.h"
#include "platform/iommu_groups.h"
#include "platform/runner.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;

struct run : test::scenario_run {
    using scenario_run::scenario_run;
};

// rp1 (a root port: pcieport) with an e1000 (8086:100e) below; rp2 with a
// dma_engine of the default IDs (1b36:00f0, class 088000: no driver claims
// it); rp3 with an NVMe controller (class 010802) bound to vfio-pci by the
// `driver` key; a PCIe-to-PCI bridge (pcieport's class, not a port: its probe
// refuses) with a PCI device; rp5 with 1af4:0001 (virtio-pci's table claims
// the vendor, its probe refuses the device ID, so nothing binds).
std::string platform_yaml(bool iommu = true) {
    return "platform:\n"
           "  memory: 1GiB\n"
           "  iommu: { enabled: " + std::string(iommu ? "true" : "false") + " }\n"
           "  pcie:\n"
           "    - { id: rp1, type: root_port, children: [ { id: nic0, type: endpoint, model: dma_engine, vendor: 0x8086, device: 0x100e } ] }\n"
           "    - { id: rp2, type: root_port, children: [ { id: dma0, type: endpoint, model: dma_engine } ] }\n"
           "    - { id: rp3, type: root_port, children: [ { id: ssd0, type: endpoint, class: 0x010802" +
           std::string(iommu ? ", driver: vfio-pci" : "") + " } ] }\n"
           "    - { id: rp4, type: root_port, children: [ { id: br0, type: pcie_pci_bridge, children: [ { id: old0, type: pci_device } ] } ] }\n"
           "    - { id: rp5, type: root_port, children: [ { id: vio0, type: endpoint, vendor: 0x1af4, device: 0x0001 } ] }\n"
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 256MiB }\n"
           "  - { name: guest1, memory: 128MiB }\n";
}

std::string step(const std::string& op, const std::string& args, const std::string& expect, const std::string& as = "dom0") {
    return "  - { do: " + op + ", as: " + as + ", args: { " + args + " }, expect: { " + expect + " } }\n";
}

TEST(HostDrivers, BootBindingsAreLinuxs) {
    run t("name: t\n" + platform_yaml() + "steps:\n" +
          step("pci.driver", "device: rp1", "errno: 0, driver: pcieport, driver_override: (null)") +
          step("pci.driver", "device: nic0", "driver: e1000") +
          step("pci.driver", "device: dma0", "driver: none") +
          step("pci.driver", "device: ssd0", "driver: vfio-pci") +
          step("pci.driver", "device: br0", "driver: none") +
          step("pci.driver", "device: old0", "driver: none") +
          step("pci.driver", "device: vio0", "driver: none") +
          // The sysfs files are world-readable: a guest's step reads them too.
          step("pci.driver", "device: nic0", "errno: 0, driver: e1000", "guest1"));
    t.steps_ok();
    EXPECT_TRUE(t.report().pass);
    EXPECT_EQ(t.pi->drivers->driver("ssd0"), "vfio-pci");
}

TEST(HostDrivers, BindErrnos) {
    run t("name: t\n" + platform_yaml() + "steps:\n" +
          step("pci.bind", "device: dma0, driver: no-such-driver", "errno: ENOENT") +
          step("pci.bind", "device: dma0, driver: e1000", "errno: ENODEV") +       // its table does not claim 1b36:00f0
          step("pci.bind", "device: dma0, driver: vfio-pci", "errno: ENODEV") +    // override-only table
          step("pci.bind", "device: dma0, driver: pci-stub", "errno: ENODEV") +    // no IDs at all
          step("pci.bind", "device: dma0, driver: virtio-pci", "errno: ENODEV") +  // no match
          step("pci.bind", "device: vio0, driver: virtio-pci", "errno: ENODEV") +  // matches, its probe refuses
          step("pci.bind", "device: nic0, driver: e1000", "errno: EBUSY") +        // bound already
          step("pci.bind", "device: old0, driver: pcieport", "errno: ENODEV") +    // class does not match
          step("pci.bind", "device: br0, driver: pcieport", "errno: ENODEV") +     // matches, not a port
          step("pci.bind", "device: nic0, driver: e1000", "errno: EACCES", "guest1") +
          step("pci.bind", "device: dma0, driver: no-such-driver", "errno: ENOENT", "guest1") +
          step("pci.driver", "device: dma0", "driver: none"));
    t.steps_ok();
    EXPECT_TRUE(t.report().pass);
}

TEST(HostDrivers, OverrideThenProbeRebindsToVfioPci) {
    run t("name: t\n" + platform_yaml() + "steps:\n" +
          step("pci.driver_override", "device: nic0, driver: vfio-pci", "errno: 0") +
          // A bound device keeps its driver: drivers_probe only attaches unbound ones.
          step("pci.drivers_probe", "device: nic0", "errno: 0") +
          step("pci.driver", "device: nic0", "driver: e1000, driver_override: vfio-pci") +
          // With the override, e1000's own table no longer matches.
          step("pci.unbind", "device: nic0", "errno: 0") +
          step("pci.bind", "device: nic0, driver: e1000", "errno: ENODEV") +
          step("pci.drivers_probe", "device: nic0", "errno: 0") +
          step("pci.driver", "device: nic0", "driver: vfio-pci") +
          step("pci.iommu_group", "device: nic0", "errno: 0") +
          // Cleared by an empty string; "none" is kept as a name no driver has.
          step("pci.driver_override", "device: nic0, driver: \"\"", "errno: 0") +
          step("pci.driver", "device: nic0", "driver_override: (null)") +
          step("pci.driver_override", "device: dma0, driver: none", "errno: 0") +
          step("pci.drivers_probe", "device: dma0", "errno: 0") +
          step("pci.driver", "device: dma0", "driver: none, driver_override: none") +
          // pci-stub through the override, with bind: any device.
          step("pci.driver_override", "device: dma0, driver: pci-stub", "errno: 0") +
          step("pci.bind", "device: dma0, driver: pci-stub", "errno: 0") +
          step("pci.driver", "device: dma0", "driver: pci-stub") +
          step("pci.driver_override", "device: dma0, driver: e1000", "errno: EACCES", "guest1") +
          step("pci.drivers_probe", "device: dma0", "errno: EACCES", "guest1"));
    t.steps_ok();
    EXPECT_TRUE(t.report().pass);
}

TEST(HostDrivers, DriverOverrideOfAPageOrMoreIsEinval) {
    const std::string long_name(4095, 'x');
    run t("name: t\n" + platform_yaml() + "steps:\n" +
          step("pci.driver_override", "device: dma0, driver: " + long_name, "errno: EINVAL") +
          step("pci.driver_override", "device: dma0, driver: " + long_name.substr(1), "errno: 0"));
    t.steps_ok();
    EXPECT_EQ(t.pi->drivers->driver_override("dma0")->size(), 4094u);
}

TEST(HostDrivers, UnbindErrnos) {
    run t("name: t\n" + platform_yaml() + "steps:\n" +
          step("pci.unbind", "device: dma0", "errno: ENOENT") +                   // no driver link
          step("pci.unbind", "device: nic0, driver: pci-stub", "errno: ENODEV") + // bound to e1000, not pci-stub
          step("pci.unbind", "device: nic0, driver: nope", "errno: ENOENT") +
          step("pci.unbind", "device: nic0", "errno: EACCES", "guest1") +
          step("pci.unbind", "device: nic0, driver: e1000", "errno: 0") +
          step("pci.unbind", "device: nic0, driver: e1000", "errno: ENODEV") +
          step("pci.unbind", "device: nic0", "errno: ENOENT") +
          step("pci.driver", "device: nic0", "driver: none") +
          // Back with drivers_probe: e1000's table claims it.
          step("pci.drivers_probe", "device: nic0", "errno: 0") +
          step("pci.driver", "device: nic0", "driver: e1000"));
    t.steps_ok();
    EXPECT_TRUE(t.report().pass);
}

TEST(HostDrivers, VfioPciRefusesBridgesAndFunctionsWithoutAGroup) {
    {
        run t("name: t\n" + platform_yaml() + "steps:\n" +
              step("pci.driver_override", "device: br0, driver: vfio-pci", "errno: 0") +
              step("pci.bind", "device: br0, driver: vfio-pci", "errno: EINVAL") +
              step("pci.unbind", "device: rp1", "errno: 0") +
              step("pci.driver_override", "device: rp1, driver: vfio-pci", "errno: 0") +
              step("pci.bind", "device: rp1, driver: vfio-pci", "errno: EINVAL") +
              step("pci.drivers_probe", "device: rp1", "errno: 0") +  // the probe's error is not drivers_probe's
              step("pci.driver", "device: rp1", "driver: none"));
        t.steps_ok();
    }
}

TEST(HostDrivers, WithoutAnIommuNoGroupAndNoVfioPci) {
    run t("name: t\n" + platform_yaml(false) + "steps:\n" +
          step("pci.iommu_group", "device: nic0", "errno: ENOENT") +
          step("pci.driver", "device: ssd0", "driver: nvme") +
          step("pci.unbind", "device: ssd0", "errno: 0") +
          step("pci.driver_override", "device: ssd0, driver: vfio-pci", "errno: 0") +
          step("pci.bind", "device: ssd0, driver: vfio-pci", "errno: EINVAL"));
    t.steps_ok();
    EXPECT_TRUE(t.report().pass);
}

TEST(HostDrivers, DriverKeyTheKernelCannotHonourIsAnInputError) {
    test::temp_dir dir;
    const auto load = [&](const std::string& pcie, bool iommu = true) {
        const std::string y = "name: t\nplatform:\n  iommu: { enabled: " + std::string(iommu ? "true" : "false") +
                              " }\n  pcie:\n" + pcie + "domains:\n  - { name: dom0, privileged: true, memory: 64MiB }\n";
        const scenario s = load_scenario(dir.write("s.yaml", y));
        (void)build_platform(s);
    };
    try {
        load("    - { id: rp1, type: root_port, children: [ { id: d0, type: endpoint, driver: e1000 } ] }\n");
        FAIL() << "e1000 bound to 1b36:00f0";
    } catch (const input_error& e) {
        EXPECT_NE(std::string(e.what()).find("s.yaml:5:81: e1000 does not claim d0 (1b36:00f0)"), std::string::npos) << e.what();
    }
    try {
        load("    - { id: rp1, type: root_port, driver: vfio-pci }\n");
        FAIL() << "vfio-pci bound to a root port";
    } catch (const input_error& e) {
        EXPECT_NE(std::string(e.what()).find("the probe of vfio-pci fails on rp1 with EINVAL (a bridge)"), std::string::npos) << e.what();
    }
    try {
        load("    - { id: d0, type: rciep, driver: vfio-pci }\n", false);
        FAIL() << "vfio-pci without an IOMMU";
    } catch (const input_error& e) {
        EXPECT_NE(std::string(e.what()).find("(no IOMMU group)"), std::string::npos) << e.what();
    }
    try {
        load("    - { id: d0, type: rciep, driver: e1001 }\n");
        FAIL() << "unknown driver";
    } catch (const input_error& e) {
        EXPECT_NE(std::string(e.what()).find("unknown host driver 'e1001'"), std::string::npos) << e.what();
    }
}

// Groups as `iotwin groups` numbers them: two functions of a multifunction
// device without ACS share one; below root ports with ACS, every root port
// and every other endpoint has its own.
TEST(HostDrivers, IommuGroupNumbersAreThoseOfIotwinGroups) {
    const std::string yaml =
        "name: t\nplatform:\n  memory: 1GiB\n  pcie:\n"
        "    - { id: rp1, type: root_port, acs: [SV, RR, CR, UF], children: [ { id: a0, type: endpoint, at: \"00.0\" }, { id: a1, type: endpoint, at: \"00.1\" } ] }\n"
        "    - { id: rp2, type: root_port, acs: [SV, RR, CR, UF], children: [ { id: b0, type: endpoint } ] }\n"
        "domains:\n  - { name: dom0, privileged: true, memory: 256MiB }\n"
        "steps:\n" +
        step("pci.iommu_group", "device: rp1", "errno: 0") + step("pci.iommu_group", "device: a0", "errno: 0") +
        step("pci.iommu_group", "device: a1", "errno: 0") + step("pci.iommu_group", "device: rp2", "errno: 0") +
        step("pci.iommu_group", "device: b0", "errno: 0");
    run t(yaml);
    t.steps_ok();
    const group_result g = compute_groups(t.pi->topo);
    const char* ids[] = {"rp1", "a0", "a1", "rp2", "b0"};
    for (std::size_t i = 0; i < 5; ++i)
        EXPECT_EQ(t.result(i).at("group").get<int>(), g.group_of[t.pi->topo.by_id.at(ids[i])]) << ids[i];
    EXPECT_EQ(t.result(1).at("group"), t.result(2).at("group"));
    EXPECT_NE(t.result(0).at("group"), t.result(1).at("group"));
    EXPECT_NE(t.result(1).at("group"), t.result(4).at("group"));
    EXPECT_NE(t.result(3).at("group"), t.result(4).at("group"));
}

// pci_parent_bus_reset() as pci_init_reset_methods() probes it while the
// function is added: the first function of a bus below a bridge has "bus",
// the later ones not, functions on the root bus never.
TEST(HostDrivers, ResetMethodsFollowLinux61) {
    const std::string yaml =
        "name: t\nplatform:\n  memory: 1GiB\n  pcie:\n"
        "    - { id: rp1, type: root_port, children: [ { id: a0, type: endpoint, at: \"00.0\" }, { id: a1, type: endpoint, at: \"00.1\" } ] }\n"
        "    - { id: rp2, type: root_port, children: [ { id: up, type: upstream_port, children: [\n"
        "          { id: dp1, type: downstream_port }, { id: dp2, type: downstream_port } ] } ] }\n"
        "    - { id: ie0, type: rciep }\n"
        "domains:\n  - { name: dom0, privileged: true, memory: 256MiB }\n  - { name: guest1, memory: 64MiB }\n"
        "steps:\n" +
        step("pci.reset_method", "device: a0", "errno: 0, reset_method: [bus]") +
        step("pci.reset_method", "device: a1", "errno: ENOENT") +
        step("pci.reset_method", "device: rp1", "errno: ENOENT") +
        step("pci.reset_method", "device: up", "reset_method: [bus]") +
        step("pci.reset_method", "device: dp1", "reset_method: [bus]") +
        step("pci.reset_method", "device: dp2", "errno: ENOENT") +
        step("pci.reset_method", "device: ie0", "errno: ENOENT") +
        step("pci.reset_method", "device: a0", "errno: 0, reset_method: [bus]", "guest1");
    run t(yaml);
    t.steps_ok();
    EXPECT_TRUE(t.report().pass);
    EXPECT_FALSE(t.result(1).contains("reset_method"));
}

// A function whose Device Capabilities advertise FLR (bit 28; `flr: true`)
// lists flr first; an rciep with FLR has flr alone.
TEST(HostDrivers, FlrCapabilityGivesFlr) {
    test::temp_dir dir;
    const std::string yaml =
        "name: t\nplatform:\n  memory: 1GiB\n  pcie:\n"
        "    - { id: rp1, type: root_port, children: [ { id: a0, type: endpoint, flr: true } ] }\n"
        "    - { id: ie0, type: rciep, flr: true }\n"
        "domains:\n  - { name: dom0, privileged: true, memory: 256MiB }\n";
    const scenario s = load_scenario(dir.write("s.yaml", yaml));
    auto pi = build_platform(s);
    for (const char* id : {"a0", "ie0"}) {
        const pci::config_space& c = pi->by_id.at(id)->config();
        const auto cap = c.find_capability(pci::cap_id::pcie);
        ASSERT_TRUE(cap.has_value());
        EXPECT_TRUE(c.get(*cap + 4, 4) & 1u << 28) << id;
    }
    EXPECT_EQ(pi->drivers->reset_methods("a0", *pi->by_id.at("a0")), (std::vector<std::string>{"flr", "bus"}));
    EXPECT_EQ(pi->drivers->reset_methods("ie0", *pi->by_id.at("ie0")), (std::vector<std::string>{"flr"}));
    EXPECT_EQ(pi->drivers->reset_methods("rp1", *pi->by_id.at("rp1")), std::vector<std::string>{});
}

// Unbinding the driver of a device in the middle of its DMA: e1000's remove
// calls pci_disable_device(), which clears Bus Master Enable, and the engine
// stops at its next request (ERROR, bus master disabled); pci-stub's unbind
// (no remove callback) leaves the device running.
std::string dma_platform(const std::string& driver_key) {
    return "platform:\n  memory: 1GiB\n  pcie:\n"
           "    - { id: rp1, type: root_port, link: { gen: 3, width: 8 }, children: [ { id: nic0, type: endpoint, model: dma_engine,"
           " vendor: 0x8086, device: 0x100e" + driver_key + " } ] }\n"
           "domains:\n  - { name: dom0, privileged: true, memory: 256MiB }\n";
}
const std::string start_copy =
    "  - { do: iommu.map, args: { domain: dom0, iova: 0x100000, address: 0x100000, size: 32KiB } }\n"
    "  - { do: pci.set_master, as: dom0, args: { device: nic0 } }\n"
    "  - { do: pci.mmio_write, as: dom0, args: { device: nic0, bar: 0, offset: 0xfff8, size: 8, value: 0x2222222222222222 } }\n"
    "  - { do: pci.mmio_write, as: dom0, args: { device: nic0, bar: 0, offset: 0x10, size: 8, value: 0x100000 } }\n"
    "  - { do: pci.mmio_write, as: dom0, args: { device: nic0, bar: 0, offset: 0x18, value: 32768 } }\n"
    "  - { do: pci.mmio_write, as: dom0, args: { device: nic0, bar: 0, offset: 0x1c, value: 2 } }\n"
    "  - { do: pci.mmio_write, as: dom0, args: { device: nic0, bar: 0, offset: 0x20, value: 1 }, background: true }\n"
    "  - { do: sim.wait, args: { time: 2us } }\n";

TEST(HostDrivers, UnbindStopsTheDeviceDma) {
    run t("name: t\n" + dma_platform("") + "steps:\n" + start_copy +
          step("pci.unbind", "device: nic0", "errno: 0") +
          "  - { do: sim.wait_idle, expect: { errno: 0 } }\n" +
          step("pci.config_read", "device: nic0, offset: 4, size: 2", "value: 2") +
          step("pci.mmio_read", "device: nic0, bar: 0, offset: 0x24", "value: 4") +   // ERROR
          step("pci.mmio_read", "device: nic0, bar: 0, offset: 0x30", "value: 1") +   // bus master disabled
          step("mem.read", "addr: 0x107ff8, len: 8", "data: \"00 00 00 00 00 00 00 00\""));
    t.steps_ok();
    EXPECT_TRUE(t.report().pass);
}

TEST(HostDrivers, UnbindingPciStubLeavesTheDeviceRunning) {
    run t("name: t\n" + dma_platform(", driver: pci-stub") + "steps:\n" + start_copy +
          step("pci.unbind", "device: nic0", "errno: 0") +
          "  - { do: sim.wait_idle, expect: { errno: 0 } }\n" +
          step("pci.config_read", "device: nic0, offset: 4, size: 2", "value: 6") +
          step("pci.mmio_read", "device: nic0, bar: 0, offset: 0x24", "value: 2") +   // DONE
          step("mem.read", "addr: 0x107ff8, len: 8", "data: \"22 22 22 22 22 22 22 22\""));
    t.steps_ok();
    EXPECT_TRUE(t.report().pass);
}

} // namespace
