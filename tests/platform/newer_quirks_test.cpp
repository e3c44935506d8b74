// The table of ACS and DMA-alias quirks newer than Linux 6.1: lookups by
// vendor:device, any-device entries, and that it repeats nothing the twin's
// 6.1 quirks (platform/quirks.h) already grant.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "models/pci/config_space.h"
#include "models/pci/pci_function.h"
#include "platform/newer_quirks.h"
#include "platform/quirks.h"

namespace {

using namespace iotwin;
using namespace iotwin::platform;
using kind = newer_quirk::kind_t;

constexpr std::uint16_t kIsolation = pci::acs_bits::SV | pci::acs_bits::RR | pci::acs_bits::CR | pci::acs_bits::UF;

TEST(NewerQuirks, ListedDeviceFindsItsEntry) {
    // Wangxun RP1000 (SP): pci_quirk_wangxun_nic_acs since 6.3.
    const auto found = newer_quirks_for(0x8088, 0x1001);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_STREQ(found[0]->quirk, "pci_quirk_wangxun_nic_acs");
    EXPECT_EQ(found[0]->kind, kind::acs);
    EXPECT_STREQ(found[0]->linux_version, "6.3");
    // The FF5xxx IDs came later, with the same function.
    const auto aml = newer_quirks_for(0x8088, 0x5025);
    ASSERT_EQ(aml.size(), 1u);
    EXPECT_STREQ(aml[0]->linux_version, "6.13");
}

TEST(NewerQuirks, RangeCoversItsEndsOnly) {
    // Zhaoxin ports: 6.1 stops at 0732, 6.8 reaches 0752.
    for (std::uint16_t d : {0x0733, 0x0740, 0x0752}) {
        const auto found = newer_quirks_for(0x1d17, d);
        ASSERT_EQ(found.size(), 1u) << std::hex << d;
        EXPECT_STREQ(found[0]->quirk, "pci_quirk_zhaoxin_pcie_ports_acs");
        EXPECT_STREQ(found[0]->linux_version, "6.8");
    }
    EXPECT_TRUE(newer_quirks_for(0x1d17, 0x0732).empty());
    EXPECT_TRUE(newer_quirks_for(0x1d17, 0x0753).empty());
    // Broadcom BCM5760X: 1760..1763 and nothing beside.
    EXPECT_EQ(newer_quirks_for(0x14e4, 0x1761).size(), 1u);
    EXPECT_TRUE(newer_quirks_for(0x14e4, 0x1764).empty());
    EXPECT_TRUE(newer_quirks_for(0x14e4, 0x175f).empty());
}

TEST(NewerQuirks, UnknownDeviceFindsNothing) {
    EXPECT_TRUE(newer_quirks_for(0x8086, 0x1234).empty());  // an Intel ID no newer quirk names
    EXPECT_TRUE(newer_quirks_for(0x1234, 0x0115).empty());  // a Qualcomm device ID under another vendor
    EXPECT_TRUE(newer_quirks_for(0x17cb, 0x0400).empty());  // a Qualcomm root port 6.1 already knows
}

TEST(NewerQuirks, AnyDeviceEntryCoversTheVendorsOtherDevices) {
    const auto found = newer_quirks_for(0x8088, 0x1234);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0]->device, newer_quirk::any_device);
    EXPECT_STREQ(found[0]->quirk, "pci_quirk_wangxun_nic_acs");
    EXPECT_STREQ(found[0]->linux_version, "6.3");
    // A device the same quirk lists gets its own entry, not the catch-all.
    for (const newer_quirk* q : newer_quirks_for(0x8088, 0x0105)) EXPECT_NE(q->device, newer_quirk::any_device);
    // The catch-all is the vendor's: another vendor's device ID does not reach it.
    EXPECT_TRUE(newer_quirks_for(0x8089, 0x1234).empty());
}

TEST(NewerQuirks, DmaAliasEntries) {
    const auto marvell = newer_quirks_for(0x1b4b, 0x9235);
    ASSERT_EQ(marvell.size(), 1u);
    EXPECT_EQ(marvell[0]->kind, kind::dma_alias);
    EXPECT_STREQ(marvell[0]->quirk, "quirk_dma_func1_alias");
    EXPECT_STREQ(marvell[0]->linux_version, "6.5");
    const auto glenfly = newer_quirks_for(0x6766, 0x3d41);
    ASSERT_EQ(glenfly.size(), 1u);
    EXPECT_STREQ(glenfly[0]->quirk, "quirk_dma_func0_alias");
    // A version the sources read did not establish is said as such, not guessed.
    const auto aspeed = newer_quirks_for(0x1a03, 0x1150);
    ASSERT_EQ(aspeed.size(), 1u);
    EXPECT_STREQ(aspeed[0]->linux_version, "after 6.1");
    EXPECT_STREQ(to_string(kind::dma_alias), "DMA alias");
    EXPECT_STREQ(to_string(kind::acs), "ACS");
}

TEST(NewerQuirks, EveryEntryIsWellFormed) {
    const std::regex release(R"((6\.([2-9]|[1-9][0-9])|[7-9]\.[0-9]+))");
    ASSERT_FALSE(newer_quirks().empty());
    for (const newer_quirk& q : newer_quirks()) {
        const std::string version = q.linux_version;
        EXPECT_TRUE(version == "after 6.1" || std::regex_match(version, release)) << q.quirk << ": " << version;
        EXPECT_NE(std::string(q.quirk), "");
        EXPECT_NE(std::string(q.claim), "");
        if (q.device != newer_quirk::any_device) {
            EXPECT_LE(q.device, q.device_last) << q.quirk;
        }
    }
}

// The device IDs an entry stands for: its range, or a sample for an
// any-device entry.
std::vector<std::uint16_t> devices_of(const newer_quirk& q) {
    if (q.device == newer_quirk::any_device) return {0x0000, 0x0001, 0x1234, 0x8000, 0xfffe};
    std::vector<std::uint16_t> out;
    for (unsigned d = q.device; d <= q.device_last; ++d) out.push_back(static_cast<std::uint16_t>(d));
    return out;
}

// Through platform/quirks.h's public interface: 6.1 must not already count
// the isolation flags as enabled for any function these entries name, in
// any position (a 6.1 quirk that answers "not isolated", as Zhaoxin's does
// for IDs it does not list, is what a newer kernel changed).
TEST(NewerQuirks, NoEntryRepeatsWhatLinux61AlreadyGrants) {
    const std::optional<pci::port_type> positions[] = {
        pci::port_type::root_port, pci::port_type::downstream_port, pci::port_type::upstream_port,
        pci::port_type::endpoint,  pci::port_type::rciep,           std::nullopt};
    for (const newer_quirk& q : newer_quirks()) {
        for (std::uint16_t d : devices_of(q)) {
            for (const auto& type : positions) {
                for (bool multifunction : {false, true}) {
                    quirk_subject s;
                    s.vendor = q.vendor;
                    s.device = d;
                    s.pcie_type = type;
                    s.multifunction = multifunction;
                    s.on_root_bus = true;
                    std::string name;
                    EXPECT_NE(quirk_acs_enabled(s, kIsolation, &name), std::optional<bool>(true))
                        << std::hex << q.vendor << ":" << d << " is already isolated in 6.1 by " << name;
                    for (std::uint8_t fn = 0; fn < 8; ++fn) {
                        const alias_quirk alias = quirk_dma_alias(s, static_cast<std::uint8_t>(0x08 | fn));
                        EXPECT_EQ(alias.name, "") << std::hex << q.vendor << ":" << d << " fn " << unsigned(fn);
                        EXPECT_TRUE(alias.dma_alias_devfns.none());
                        EXPECT_FALSE(alias.pcie_bridge_alias);
                        EXPECT_FALSE(alias.xlate_root);
                    }
                }
            }
        }
    }
}

// The check above can fail: an ID that 6.1 does isolate is caught.
TEST(NewerQuirks, Linux61IsolationIsVisibleThroughTheInterface) {
    quirk_subject s;
    s.vendor = 0x1d17;
    s.device = 0x0721;  // a Zhaoxin port 6.1 lists
    s.pcie_type = pci::port_type::root_port;
    EXPECT_EQ(quirk_acs_enabled(s, kIsolation), std::optional<bool>(true));
    s.device = 0x0740;  // one only newer kernels list: 6.1 answers "not isolated"
    EXPECT_EQ(quirk_acs_enabled(s, kIsolation), std::optional<bool>(false));
}

} // namespace
