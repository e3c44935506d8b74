// pci.enable_msix and pci.enable_msi as a domain's kernel runs them: what
// reaches the function's MSI / MSI-X capability and table, read back through
// configuration and MMIO accesses as a driver would, and the errnos.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;

const std::string platform_yaml = R"(name: msix
platform:
  pcie:
    - id: rp1
      type: root_port
      children:
        - { id: nic0, type: endpoint, model: nic, params: { queues: 2 } }
    - id: rp2
      type: root_port
      children:
        - { id: dma0, type: endpoint, model: dma_engine, msi: { address_64bit: false } }
    - id: rp3
      type: root_port
      children:
        - { id: edu0, type: endpoint, model: edu }
    - id: rp4
      type: root_port
      children:
        - { id: nic1, type: endpoint, model: nic }
domains:
  - { name: dom0, privileged: true, memory: 256MiB }
  - { name: guest1, memory: 64MiB, devices: [nic0, dma0, edu0] }
  - { name: guest2, memory: 64MiB }
)";

struct run : test::scenario_run {
    explicit run(const std::string& steps) : scenario_run(platform_yaml + "steps:\n" + steps) {}
    const platform::step_outcome& step(std::size_t i) const { return report().steps.at(i); }
    std::uint64_t integer(std::size_t i, const char* key) const { return step(i).result.at(key).get<std::uint64_t>(); }
};

// The nic's table: BAR 3 at 0, PBA at 0x2000 (models/devices/nic.cpp); MSI-X
// capability found by the test as the kernel does, through pci.config_read.
TEST(PciEnableMsix, ProgramsEveryEntryUnmasksAndEnables) {
    run t(R"(
  - { do: pci.enable_msix, as: guest1, args: { device: nic0 }, expect: { errno: 0, completion: SC, vectors: { length: 4 } } }
  - { do: pci.mmio_read, as: guest1, args: { device: nic0, bar: 3, offset: 0x00 } }
  - { do: pci.mmio_read, as: guest1, args: { device: nic0, bar: 3, offset: 0x04 } }
  - { do: pci.mmio_read, as: guest1, args: { device: nic0, bar: 3, offset: 0x38 } }
  - { do: pci.mmio_read, as: guest1, args: { device: nic0, bar: 3, offset: 0x3c } }
  - { do: pci.config_read, as: guest1, args: { device: nic0, offset: 0x04, size: 2 } }
)");
    ASSERT_TRUE(t.report().pass) << t.step(0).message;
    const auto& v = t.step(0).result.at("vectors");
    ASSERT_EQ(v.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(v[i].at("entry").get<std::uint64_t>(), i);
    EXPECT_NE(v[0].at("vector"), v[3].at("vector"));  // one hypervisor vector per entry
    EXPECT_EQ(t.integer(1, "value"), v[0].at("address_lo").get<std::uint64_t>());
    EXPECT_EQ(t.integer(2, "value"), v[0].at("address_hi").get<std::uint64_t>());
    EXPECT_EQ(t.integer(3, "value"), v[3].at("data").get<std::uint64_t>());
    EXPECT_EQ(t.integer(4, "value"), 0u);  // Vector Control: unmasked
    EXPECT_TRUE(t.integer(5, "value") & (1u << 10));  // Interrupt Disable (pci_intx_for_msi)
    const pci::pci_function& f = *t.pi->by_id.at("nic0");
    EXPECT_TRUE(f.msix_enabled());
    const std::uint32_t cap = *f.config().find_capability(pci::cap_id::msix);
    EXPECT_EQ(f.config().get(cap + 2, 2) & 0xc000u, 0x8000u);  // Enable, Function Mask clear
}

TEST(PciEnableMsix, VectorsBeyondTheTableSizeAreTheTableSize) {
    run t(R"(
  - { do: pci.enable_msix, as: guest1, args: { device: nic0, vectors: 2 }, expect: { errno: 0, vectors: { length: 2 } } }
  - { do: pci.mmio_read, as: guest1, args: { device: nic0, bar: 3, offset: 0x2c }, expect: { value: 1 } }
)");
    EXPECT_TRUE(t.report().pass) << t.step(0).message << t.step(1).message;
}

TEST(PciEnableMsix, AtMostTheTableSize) {
    run u(R"(
  - { do: pci.enable_msix, as: guest1, args: { device: nic0, vectors: 100 }, expect: { errno: 0, vectors: { length: 4 } } }
)");
    EXPECT_TRUE(u.report().pass) << u.step(0).message;
}

TEST(PciEnableMsix, Errnos) {
    run t(R"(
  - { do: pci.enable_msix, as: guest2, args: { device: nic0 }, expect: { errno: ENODEV } }
  - { do: pci.enable_msix, as: guest1, args: { device: edu0 }, expect: { errno: EINVAL } }
  - { do: pci.enable_msix, as: guest1, args: { device: nic0 }, expect: { errno: 0 } }
  - { do: pci.enable_msix, as: guest1, args: { device: nic0 }, expect: { errno: EINVAL } }
  - { do: pci.enable_msi, as: guest1, args: { device: dma0 }, expect: { errno: 0 } }
)");
    for (std::size_t i = 0; i < 5; ++i) EXPECT_TRUE(t.step(i).ok) << i << ": " << t.step(i).message;
    EXPECT_FALSE(t.pi->by_id.at("edu0")->msix_enabled());
}

TEST(PciEnableMsix, MsiAlreadyEnabledIsEinval) {
    run t(R"(
  - { do: pci.enable_msi, as: guest1, args: { device: nic0 }, expect: { errno: 0 } }
  - { do: pci.enable_msix, as: guest1, args: { device: nic0 }, expect: { errno: EINVAL } }
)");
    EXPECT_TRUE(t.report().pass) << t.step(1).message;
    EXPECT_FALSE(t.pi->by_id.at("nic0")->msix_enabled());
}

// Without Memory Space Enable the table stores complete UR: the entries keep
// their reset state (masked), and the step says so.
TEST(PciEnableMsix, TableStoresNeedMemorySpaceEnable) {
    run t(R"(
  - { do: pci.config_write, as: dom0, args: { device: nic1, offset: 0x04, size: 2, value: 0 } }
  - { do: pci.enable_msix, as: dom0, args: { device: nic1 }, expect: { errno: 0, completion: UR, fault: true } }
  - { do: pci.config_write, as: dom0, args: { device: nic1, offset: 0x04, size: 2, value: 2 } }
  - { do: pci.mmio_read, as: dom0, args: { device: nic1, bar: 3, offset: 0x0c }, expect: { value: 1 } }
  - { do: pci.mmio_read, as: dom0, args: { device: nic1, bar: 3, offset: 0x08 }, expect: { value: 0 } }
)");
    for (std::size_t i = 0; i < 5; ++i) EXPECT_TRUE(t.step(i).ok) << i << ": " << t.step(i).message;
    EXPECT_TRUE(t.pi->by_id.at("nic1")->msix_enabled());
}

// PCI 3.0 6.8.1: without 64 bit Address Capable, Message Data is at +8.
TEST(PciEnableMsi, ThirtyTwoBitCapabilityTakesDataAtEight) {
    run t(R"(
  - { do: pci.enable_msi, as: guest1, args: { device: dma0 }, expect: { errno: 0, address_hi: 0 } }
)");
    ASSERT_TRUE(t.report().pass) << t.step(0).message;
    const pci::pci_function& f = *t.pi->by_id.at("dma0");
    const std::uint32_t cap = *f.config().find_capability(pci::cap_id::msi);
    EXPECT_FALSE(f.config().get(cap + 2, 2) & 0x80);
    EXPECT_EQ(f.config().get(cap + 4, 4), t.integer(0, "address_lo"));
    EXPECT_EQ(f.config().get(cap + 8, 2), t.integer(0, "data"));
    EXPECT_TRUE(f.msi_enabled());
}

} // namespace
