// SR-IOV at run time on a booted platform: software (the privileged domain,
// through the runner's steps, and configuration writes through ECAM) enables
// and disables VFs; VFs appear on the bus with their IOMMU groups and their
// BARs decode where the PF's VF BARs say.
#include <gtest/gtest.h>

#include "models/pci/virtual_function.h"
#include "platform/ecam.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace iotwin;
using namespace sc_core;
namespace sr = pci::sriov_reg;

// pf: 4 VFs possible, 1 enabled at boot, VF BAR0 16 KiB; ep: a plain
// endpoint after it, so run-time groups come after every boot group.
std::string scenario(const std::string& steps) {
    return R"(name: sriov-test
platform:
  memory: 1GiB
  pcie:
    - id: rp1
      type: root_port
      at: "01.0"
      acs: [SV, RR, CR, UF]
      children:
        - id: pf
          type: endpoint
          acs: [SV, RR, CR, UF]
          vendor: 0x8086   # an 82599: ixgbe binds it and has sriov_configure
          device: 0x10fb
          sriov: { total_vfs: 4, num_vfs: 1, vf_device: 0x10ed, vf_bars: [ { index: 0, size: 16KiB } ] }
    - id: rp2
      type: root_port
      at: "02.0"
      acs: [SV, RR, CR, UF]
      children:
        - { id: ep, type: endpoint }
domains:
  - { name: dom0, privileged: true, memory: 256MiB }
  - { name: guest1, memory: 128MiB, devices: [ep] }
steps:
)" + steps;
}

struct Sriov : ::testing::Test {
    std::uint64_t cfg_read(test::scenario_run& r, const std::string& id, std::uint32_t reg, unsigned len = 4) {
        std::uint64_t v = 0;
        sc_time d = SC_ZERO_TIME;
        platform::ecam_access(*r.pi->hypervisor, tlm::TLM_READ_COMMAND, r.pi->by_id.at(id)->bdf(), reg, &v, len, d);
        return v;
    }
    void cfg_write(test::scenario_run& r, const std::string& id, std::uint32_t reg, unsigned len, std::uint64_t v) {
        sc_time d = SC_ZERO_TIME;
        platform::ecam_access(*r.pi->hypervisor, tlm::TLM_WRITE_COMMAND, r.pi->by_id.at(id)->bdf(), reg, &v, len, d);
    }
};

TEST_F(Sriov, NumvfsStepFollowsLinuxSriovNumvfsStore) {
    test::scenario_run r(scenario(R"(
  - do: pci.sriov_numvfs
    as: dom0
    args: { device: pf }
    expect: { errno: 0, num_vfs: 1 }
  - do: pci.sriov_numvfs
    as: dom0
    args: { device: pf, num_vfs: 3 }
    expect: { errno: EBUSY }
  - do: pci.sriov_numvfs
    as: dom0
    args: { device: pf, num_vfs: 1 }
    expect: { errno: 0, num_vfs: 1 }
  - do: pci.sriov_numvfs
    as: dom0
    args: { device: pf, num_vfs: 5 }
    expect: { errno: ERANGE }
  - do: pci.sriov_numvfs
    as: guest1
    args: { device: pf, num_vfs: 0 }
    expect: { errno: EACCES }
  - do: pci.sriov_numvfs
    as: dom0
    args: { device: ep }
    expect: { errno: ENOENT }
  - do: pci.sriov_numvfs
    as: dom0
    args: { device: pf, num_vfs: 0 }
    expect: { errno: 0, num_vfs: 0 }
  - do: pci.sriov_numvfs
    as: dom0
    args: { device: pf, num_vfs: 3 }
    expect: { errno: 0, num_vfs: 3 }
  - description: a VF enabled at run time is probed at once
    do: pci.driver
    as: dom0
    args: { device: pf-vf2 }
    expect: { driver: ixgbevf }
  - do: pci.unbind
    as: dom0
    args: { device: pf-vf2 }
    expect: { errno: 0 }
  - do: pci.driver_override
    as: dom0
    args: { device: pf-vf2, driver: vfio-pci }
    expect: { errno: 0 }
  - do: pci.drivers_probe
    as: dom0
    args: { device: pf-vf2 }
    expect: { errno: 0 }
  - do: pci.driver
    as: dom0
    args: { device: pf-vf2 }
    expect: { driver: vfio-pci }
  - do: pci.driver
    as: dom0
    args: { device: pf-vf3 }
    expect: { errno: ENOENT }
)"));
    EXPECT_TRUE(r.report().pass);
    const platform::platform_instance& pi = *r.pi;
    for (unsigned v = 0; v < 4; ++v) EXPECT_EQ(pi.by_id.at("pf-vf" + std::to_string(v))->present(), v < 3) << v;
    // The boot VF keeps its group (numbered with the boot set, in BDF order);
    // VFs enabled later get the lowest free ids, after every boot group.
    const int boot_groups = static_cast<int>(pi.boot_groups().groups.size());
    ASSERT_TRUE(pi.iommu_group("pf-vf0"));
    EXPECT_LT(*pi.iommu_group("pf-vf0"), boot_groups);
    EXPECT_EQ(pi.iommu_group("pf-vf1"), boot_groups);
    EXPECT_EQ(pi.iommu_group("pf-vf2"), boot_groups + 1);
    EXPECT_FALSE(pi.iommu_group("pf-vf3"));
    // The VFs enabled later answer configuration requests; VF 3 does not.
    EXPECT_EQ(cfg_read(r, "pf-vf2", pci::cfg::vendor_id), 0xffffffffu);  // a VF's IDs read FFFFh
    EXPECT_TRUE(pi.hypervisor->device_owner(pi.by_id.at("pf-vf2")->bdf().rid()));
}

TEST_F(Sriov, ConfigWritesMakeVfsAppearAndVfBarsDecode) {
    test::scenario_run r(scenario("  - { do: sim.wait, args: { time: 1us } }\n"));
    pci::pci_function& pf = *r.pi->by_id.at("pf");
    auto& vf1 = static_cast<pci::virtual_function&>(*r.pi->by_id.at("pf-vf1"));
    const std::uint32_t c = *pf.config().find_ext_capability(pci::ext_cap_id::sriov);
    EXPECT_EQ(cfg_read(r, "pf", c + sr::num_vfs, 2), 1u);
    // NumVFs is RO while VF Enable is set.
    cfg_write(r, "pf", c + sr::num_vfs, 2, 2);
    EXPECT_EQ(cfg_read(r, "pf", c + sr::num_vfs, 2), 1u);
    EXPECT_FALSE(vf1.present());
    cfg_write(r, "pf", c + sr::control, 2, 0);
    EXPECT_FALSE(r.pi->by_id.at("pf-vf0")->present());
    EXPECT_FALSE(r.pi->iommu_group("pf-vf1"));
    cfg_write(r, "pf", c + sr::num_vfs, 2, 9);  // above TotalVFs: discarded
    EXPECT_EQ(cfg_read(r, "pf", c + sr::num_vfs, 2), 1u);
    cfg_write(r, "pf", c + sr::num_vfs, 2, 2);
    cfg_write(r, "pf", c + sr::control, 2, sr::vf_enable);
    EXPECT_TRUE(vf1.present());
    EXPECT_TRUE(r.pi->iommu_group("pf-vf1"));
    // VF BAR0 sizing: 16 KiB, then System Page Size 64 KiB makes it 64 KiB.
    cfg_write(r, "pf", c + sr::vf_bar0, 4, 0xffffffff);
    EXPECT_EQ(cfg_read(r, "pf", c + sr::vf_bar0), 0xffffc000u);
    cfg_write(r, "pf", c + sr::system_page_size, 4, 0x3);  // two sizes at once: discarded
    EXPECT_EQ(cfg_read(r, "pf", c + sr::system_page_size), 0x1u);
    cfg_write(r, "pf", c + sr::system_page_size, 4, 0x10);
    cfg_write(r, "pf", c + sr::vf_bar0, 4, 0xffffffff);
    EXPECT_EQ(cfg_read(r, "pf", c + sr::vf_bar0), 0xffff0000u);
    cfg_write(r, "pf", c + sr::system_page_size, 4, 0x1);
    // VF n's BAR0 at VF BAR0 + n x 16 KiB, decoded only with VF MSE.
    const std::uint64_t base = 0xd0000000;
    cfg_write(r, "pf", c + sr::vf_bar0, 4, base);
    EXPECT_EQ(vf1.bar_base(*pf.vf_bar(0)), base + 0x4000);
    EXPECT_FALSE(vf1.claims_memory(base + 0x4000));
    cfg_write(r, "pf", c + sr::control, 2, sr::vf_enable | sr::vf_mse);
    EXPECT_TRUE(vf1.claims_memory(base + 0x4000));
    EXPECT_TRUE(vf1.claims_memory(base + 0x7fff));
    EXPECT_FALSE(vf1.claims_memory(base + 0x8000));
    EXPECT_TRUE(r.pi->by_id.at("pf-vf0")->claims_memory(base));
    EXPECT_FALSE(r.pi->by_id.at("pf-vf2")->claims_memory(base + 0x8000));  // not enabled
    // Clearing VF Enable: the VFs are gone.
    cfg_write(r, "pf", c + sr::control, 2, 0);
    EXPECT_FALSE(vf1.present());
}

} // namespace
