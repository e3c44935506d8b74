// config_space: the headers firmware reads, the BAR sizing protocol it relies
// on, and the capability lists drivers walk. All accesses go through read()
// and write(), as configuration requests do.
#include <gtest/gtest.h>

#include <set>

#include "models/pci/config_space.h"

namespace {

using namespace iotwin::pci;

TEST(ConfigSpace, Type0HeaderIdentity) {
    config_space c;
    c.define_type0(0x8086, 0x1234, 0x020000, false);
    EXPECT_EQ(c.read(cfg::vendor_id, 2), 0x8086u);
    EXPECT_EQ(c.read(cfg::device_id, 2), 0x1234u);
    EXPECT_EQ(c.read(cfg::vendor_id, 4), 0x12348086u);
    EXPECT_EQ(c.read(cfg::class_code, 3), 0x020000u);
    EXPECT_EQ(c.read(cfg::revision, 4) >> 8, 0x020000u);  // how Linux reads class and revision
    EXPECT_EQ(c.read(cfg::header_type, 1), 0x00u);
    EXPECT_FALSE(c.type1());
    // Identity registers are read-only.
    c.write(cfg::vendor_id, 4, 0xffffffff);
    EXPECT_EQ(c.read(cfg::vendor_id, 4), 0x12348086u);
    c.write(cfg::class_code, 3, 0);
    EXPECT_EQ(c.read(cfg::class_code, 3), 0x020000u);
    EXPECT_EQ(c.read(cfg::cap_ptr, 1), 0u);
}

TEST(ConfigSpace, Type0CommandRegisterWritableBits) {
    config_space c;
    c.define_type0(0x1af4, 1, 0xff0000, false);
    EXPECT_EQ(c.command(), 0u);
    EXPECT_FALSE(c.memory_enabled());
    EXPECT_FALSE(c.bus_master());
    c.write(cfg::command, 2, 0xffff);
    const auto cmd = c.read(cfg::command, 2);
    EXPECT_TRUE(cmd & command_bits::memory_space);
    EXPECT_TRUE(cmd & command_bits::bus_master);
    EXPECT_TRUE(cmd & command_bits::interrupt_disable);
    EXPECT_FALSE(cmd & command_bits::io_space);  // hardwired to 0 without an I/O BAR
    EXPECT_TRUE(c.memory_enabled());
    EXPECT_TRUE(c.bus_master());
    c.write(cfg::command, 2, command_bits::bus_master);
    EXPECT_FALSE(c.memory_enabled());
    EXPECT_TRUE(c.bus_master());
}

TEST(ConfigSpace, Type1HeaderBusNumbersAndWindows) {
    config_space c;
    c.define_type1(0x1b36, 0x000c, 0x060400, false);
    EXPECT_TRUE(c.type1());
    EXPECT_EQ(c.read(cfg::header_type, 1), 0x01u);
    EXPECT_EQ(c.read(cfg::class_code, 3), 0x060400u);
    // Bus numbers, as firmware programs them with one DWORD write at 0x18.
    c.write(cfg::primary_bus, 4, 0x00ff0100);
    EXPECT_EQ(c.read(cfg::primary_bus, 1), 0x00u);
    EXPECT_EQ(c.read(cfg::secondary_bus, 1), 0x01u);
    EXPECT_EQ(c.read(cfg::subordinate_bus, 1), 0xffu);
    c.write(cfg::subordinate_bus, 1, 0x03);
    EXPECT_EQ(c.read(cfg::subordinate_bus, 1), 0x03u);
    // Memory window: only bits 15:4 are address bits; bits 3:0 read 0.
    c.write(cfg::memory_base, 2, 0xffff);
    EXPECT_EQ(c.read(cfg::memory_base, 2), 0xfff0u);
    c.write(cfg::memory_limit, 2, 0xc010);
    EXPECT_EQ(c.read(cfg::memory_limit, 2), 0xc010u);
    // Prefetchable window: bits 3:0 read 1 (64-bit decoder) whatever is written.
    EXPECT_EQ(c.read(cfg::pref_base, 2), 0x0001u);
    c.write(cfg::pref_base, 2, 0x0000);
    EXPECT_EQ(c.read(cfg::pref_base, 2), 0x0001u);
    c.write(cfg::pref_limit, 2, 0xfff0);
    EXPECT_EQ(c.read(cfg::pref_limit, 2), 0xfff1u);
    c.write(cfg::pref_base_upper, 4, 0x00000200);
    c.write(cfg::pref_limit_upper, 4, 0x000002ff);
    EXPECT_EQ(c.read(cfg::pref_base_upper, 4), 0x200u);
    EXPECT_EQ(c.read(cfg::pref_limit_upper, 4), 0x2ffu);
}

TEST(ConfigSpace, HeaderTypeMultifunctionBit) {
    config_space a, b, c, d;
    a.define_type0(1, 1, 0, true);
    b.define_type0(1, 1, 0, false);
    c.define_type1(1, 1, 0x060400, true);
    d.define_type1(1, 1, 0x060400, false);
    EXPECT_EQ(a.read(cfg::header_type, 1), 0x80u);
    EXPECT_EQ(b.read(cfg::header_type, 1), 0x00u);
    EXPECT_EQ(c.read(cfg::header_type, 1), 0x81u);
    EXPECT_EQ(d.read(cfg::header_type, 1), 0x01u);
    // The layout bits ignore the multifunction bit.
    EXPECT_FALSE(a.type1());
    EXPECT_TRUE(c.type1());
    a.write(cfg::header_type, 1, 0x00);  // read-only
    EXPECT_EQ(a.read(cfg::header_type, 1), 0x80u);
}

// Firmware's sizing: save, write all ones, read back, restore.
std::uint64_t size_bar(config_space& c, unsigned index, bool is64) {
    const std::uint32_t off = cfg::bar0 + 4 * index;
    c.write(off, 4, 0xffffffff);
    std::uint64_t mask = c.read(off, 4) & ~std::uint64_t(0xf);
    if (is64) {
        c.write(off + 4, 4, 0xffffffff);
        mask |= c.read(off + 4, 4) << 32;
    } else {
        mask |= 0xffffffff00000000ull;
    }
    return ~mask + 1;
}

TEST(ConfigSpace, Mem32BarSizing) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    c.define_bar({0, 0x1000, bar_type::mem32, false});
    c.define_bar({1, 0x100000, bar_type::mem32, true});
    EXPECT_EQ(c.read(cfg::bar0, 4), 0x0u);
    EXPECT_EQ(c.read(cfg::bar0 + 4, 4), 0x8u);  // prefetchable, 32-bit
    EXPECT_EQ(size_bar(c, 0, false), 0x1000u);
    EXPECT_EQ(size_bar(c, 1, false), 0x100000u);
    // The type bits read back unchanged after all ones.
    EXPECT_EQ(c.read(cfg::bar0, 4), 0xfffff000u);
    EXPECT_EQ(c.read(cfg::bar0 + 4, 4), 0xfff00008u);
    // Assign: low bits below the size are not writable (natural alignment).
    c.write(cfg::bar0, 4, 0xc0001234);
    EXPECT_EQ(c.read(cfg::bar0, 4), 0xc0001000u);
    EXPECT_EQ(c.bar_base({0, 0x1000, bar_type::mem32, false}), 0xc0001000u);
    // Writing zero cannot clear the type bits.
    c.write(cfg::bar0 + 4, 4, 0);
    EXPECT_EQ(c.read(cfg::bar0 + 4, 4), 0x8u);
}

TEST(ConfigSpace, IoBarSizingAndIoSpaceEnable) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    c.write(cfg::command, 2, command_bits::io_space);
    EXPECT_FALSE(c.io_enabled());
    const bar_desc b{3, 64, bar_type::io, false};
    c.define_bar(b);
    EXPECT_EQ(c.read(cfg::bar0 + 12, 4), 0x1u);  // bit 0: I/O space
    c.write(cfg::bar0 + 12, 4, 0xffffffff);
    EXPECT_EQ(c.read(cfg::bar0 + 12, 4), 0xffffffc1u);  // 64 bytes; bit 1 reserved
    c.write(cfg::bar0 + 12, 4, 0xe07f);
    EXPECT_EQ(c.bar_base(b), 0xe040u);
    c.write(cfg::command, 2, command_bits::io_space);  // writable now
    EXPECT_TRUE(c.io_enabled());
}

TEST(ConfigSpace, ExpansionRomBar) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    EXPECT_EQ(c.read(cfg::rom, 4), 0u);
    c.write(cfg::rom, 4, 0xffffffff);
    EXPECT_EQ(c.read(cfg::rom, 4), 0u);  // no ROM: not implemented
    c.define_rom(64 * 1024);
    c.write(cfg::rom, 4, 0xfffffffe);
    EXPECT_EQ(c.read(cfg::rom, 4), 0xffff0000u);  // bits 10:1 reserved, 64 KiB
    c.write(cfg::rom, 4, 0xd0000001);
    EXPECT_TRUE(c.rom_enabled());
    EXPECT_EQ(c.rom_base(), 0xd0000000u);
}

TEST(ConfigSpace, BarAtAnOffsetAndResized) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    const bar_desc b{0, 0x1000, bar_type::mem32, false};
    c.define_bar(b, 0x124);  // a VF BAR in an SR-IOV capability
    EXPECT_EQ(c.read(cfg::bar0, 4), 0u);
    c.write(0x124, 4, 0xffffffff);
    EXPECT_EQ(c.read(0x124, 4), 0xfffff000u);
    c.resize_bar({0, 0x10000, bar_type::mem32, false}, 0x124);
    EXPECT_EQ(c.read(0x124, 4), 0xffff0000u);  // address bits below the new size cleared
    c.write(0x124, 4, 0xffffffff);
    EXPECT_EQ(c.read(0x124, 4), 0xffff0000u);
    EXPECT_EQ(c.bar_base(b, 0x124), 0xffff0000u);
}

TEST(ConfigSpace, InterruptPinAndLatencyTimer) {
    config_space c;
    c.define_type0(1, 1, 0, false, 3);
    EXPECT_EQ(c.read(cfg::interrupt_pin, 1), 3u);
    c.write(cfg::interrupt_pin, 1, 1);
    EXPECT_EQ(c.read(cfg::interrupt_pin, 1), 3u);
    c.write(cfg::latency_timer, 1, 0x20);
    EXPECT_EQ(c.read(cfg::latency_timer, 1), 0x20u);
}

TEST(ConfigSpace, Mem64BarSizing) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    const bar_desc b{2, 0x4000, bar_type::mem64, true};
    c.define_bar(b);
    EXPECT_EQ(c.read(cfg::bar0 + 8, 4), 0xcu);  // 64-bit (type 10b) and prefetchable
    EXPECT_EQ(size_bar(c, 2, true), 0x4000u);
    EXPECT_EQ(c.read(cfg::bar0 + 8, 4), 0xffffc00cu);
    EXPECT_EQ(c.read(cfg::bar0 + 12, 4), 0xffffffffu);
    c.write(cfg::bar0 + 8, 4, 0x00000000);
    EXPECT_EQ(c.read(cfg::bar0 + 8, 4), 0xcu);
    c.write(cfg::bar0 + 8, 4, 0x00104000);
    c.write(cfg::bar0 + 12, 4, 0x00000200);
    EXPECT_EQ(c.bar_base(b), 0x20000104000ull);
}

TEST(ConfigSpace, Mem64BarLargerThan4GiB) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    const bar_desc b{0, 16ull << 30, bar_type::mem64, true};
    c.define_bar(b);
    // The low DWORD has no writable address bits; the upper one says the size.
    EXPECT_EQ(size_bar(c, 0, true), 16ull << 30);
    EXPECT_EQ(c.read(cfg::bar0, 4), 0xcu);
    EXPECT_EQ(c.read(cfg::bar0 + 4, 4), 0xfffffffcu);
}

TEST(ConfigSpace, NonPrefetchableMem64BarTypeBits) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    c.define_bar({0, 0x10000, bar_type::mem64, false});
    EXPECT_EQ(c.read(cfg::bar0, 4), 0x4u);
    EXPECT_EQ(size_bar(c, 0, true), 0x10000u);
}

TEST(ConfigSpace, UnimplementedBarsReadZeroAfterAllOnes) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    c.define_bar({0, 0x1000, bar_type::mem32, false});
    for (unsigned i = 1; i < 6; ++i) {
        c.write(cfg::bar0 + 4 * i, 4, 0xffffffff);
        EXPECT_EQ(c.read(cfg::bar0 + 4 * i, 4), 0u) << "BAR" << i;
    }
}

TEST(ConfigSpace, CapabilityListWalk) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    const std::uint32_t pm = c.add_capability(cap_id::power_management, 8);
    const std::uint32_t msi = c.add_capability(cap_id::msi, 14);
    const std::uint32_t px = c.add_capability(cap_id::pcie, 0x3c);
    // The list starts at the pointer in 0x34; entries are DWORD aligned and do not overlap.
    EXPECT_EQ(c.read(cfg::cap_ptr, 1), pm);
    EXPECT_GE(pm, 0x40u);
    EXPECT_EQ(pm % 4, 0u);
    EXPECT_EQ(msi % 4, 0u);
    EXPECT_EQ(px % 4, 0u);
    EXPECT_GE(msi, pm + 8);
    EXPECT_GE(px, msi + 14);
    EXPECT_LE(px + 0x3c, 0x100u);
    // Walk it as a driver does: ID at +0, next at +1, 0 ends the list.
    std::vector<std::uint8_t> ids;
    std::set<std::uint32_t> seen;
    for (auto off = static_cast<std::uint32_t>(c.read(cfg::cap_ptr, 1)); off; off = static_cast<std::uint32_t>(c.read(off + 1, 1))) {
        ASSERT_TRUE(seen.insert(off).second) << "loop in the capability list";
        ids.push_back(static_cast<std::uint8_t>(c.read(off, 1)));
    }
    EXPECT_EQ(ids, (std::vector<std::uint8_t>{cap_id::power_management, cap_id::msi, cap_id::pcie}));
    EXPECT_EQ(c.find_capability(cap_id::msi), msi);
    EXPECT_EQ(c.find_capability(cap_id::pcie), px);
    EXPECT_EQ(c.find_capability(cap_id::power_management), pm);
    EXPECT_FALSE(c.find_capability(cap_id::msix).has_value());
    // Status says a capability list exists.
    EXPECT_TRUE(c.read(cfg::status, 2) & (1u << 4));
    // The list is read-only to software.
    c.write(cfg::cap_ptr, 1, 0);
    c.write(msi + 1, 1, 0);
    EXPECT_EQ(c.find_capability(cap_id::pcie), px);
}

TEST(ConfigSpace, NoCapabilities) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    EXPECT_FALSE(c.find_capability(cap_id::msi).has_value());
    EXPECT_FALSE(c.find_ext_capability(ext_cap_id::acs).has_value());
}

TEST(ConfigSpace, ExtendedCapabilityChain) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    const std::uint32_t acs = c.add_ext_capability(ext_cap_id::acs, 1, 8);
    const std::uint32_t sriov = c.add_ext_capability(ext_cap_id::sriov, 1, 0x40);
    EXPECT_EQ(acs, 0x100u);  // the extended list always starts at 0x100
    EXPECT_EQ(sriov % 4, 0u);
    EXPECT_GE(sriov, acs + 8);
    // Header: ID in 15:0, version in 19:16, next offset in 31:20.
    const auto h0 = static_cast<std::uint32_t>(c.read(0x100, 4));
    EXPECT_EQ(h0 & 0xffff, ext_cap_id::acs);
    EXPECT_EQ((h0 >> 16) & 0xf, 1u);
    EXPECT_EQ(h0 >> 20, sriov);
    const auto h1 = static_cast<std::uint32_t>(c.read(sriov, 4));
    EXPECT_EQ(h1 & 0xffff, ext_cap_id::sriov);
    EXPECT_EQ(h1 >> 20, 0u);  // end of the chain
    EXPECT_EQ(c.find_ext_capability(ext_cap_id::acs), acs);
    EXPECT_EQ(c.find_ext_capability(ext_cap_id::sriov), sriov);
    EXPECT_FALSE(c.find_ext_capability(0x0001).has_value());
    // Software cannot rewrite the headers.
    c.write(0x100, 4, 0);
    EXPECT_EQ(c.find_ext_capability(ext_cap_id::sriov), sriov);
}

TEST(ConfigSpace, ExtendedCapabilityChainOfThree) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    const std::uint32_t a = c.add_ext_capability(0x0001, 1, 0x0c);
    const std::uint32_t b = c.add_ext_capability(ext_cap_id::acs, 1, 8);
    const std::uint32_t s = c.add_ext_capability(ext_cap_id::sriov, 1, 0x40);
    // Linking the third must not corrupt the first's header.
    EXPECT_EQ(c.read(a, 4) & 0xfffff, 0x10001u);
    EXPECT_EQ(c.read(a, 4) >> 20, b);
    EXPECT_EQ(c.read(b, 4) >> 20, s);
    EXPECT_EQ(c.find_ext_capability(0x0001), a);
    EXPECT_EQ(c.find_ext_capability(ext_cap_id::sriov), s);
}

TEST(ConfigSpace, StatusErrorBitsAreWriteOneToClear) {
    config_space c;
    c.define_type0(1, 1, 0, false);
    c.add_capability(cap_id::msi, 14);
    // Hardware records Received Master Abort (13) and Signaled Target Abort (11).
    c.set(cfg::status, 2, c.get(cfg::status, 2) | 1u << 13 | 1u << 11);
    EXPECT_EQ(c.read(cfg::status, 2), (1u << 13) | (1u << 11) | (1u << 4));
    // Writing zeros clears nothing.
    c.write(cfg::status, 2, 0);
    EXPECT_EQ(c.read(cfg::status, 2), (1u << 13) | (1u << 11) | (1u << 4));
    // Writing 1 clears exactly that bit; the capability bit is read-only.
    c.write(cfg::status, 2, 1u << 13 | 1u << 4);
    EXPECT_EQ(c.read(cfg::status, 2), (1u << 11) | (1u << 4));
    c.write(cfg::status, 2, 0xffff);
    EXPECT_EQ(c.read(cfg::status, 2), 1u << 4);
}

TEST(ConfigSpace, CommandAndStatusInOneDwordWrite) {
    // Linux writes command and status together; W1C must only hit status.
    config_space c;
    c.define_type0(1, 1, 0, false);
    c.set(cfg::status, 2, c.get(cfg::status, 2) | 1u << 12);
    c.write(cfg::command, 4, (std::uint32_t(1u << 12) << 16) | command_bits::memory_space);
    EXPECT_TRUE(c.memory_enabled());
    EXPECT_FALSE(c.read(cfg::status, 2) & (1u << 12));
}

TEST(ConfigSpace, BridgeBarsLiveBelowTheBusNumbers) {
    config_space c;
    c.define_type1(1, 1, 0x060400, false);
    c.define_bar({0, 0x1000, bar_type::mem32, false});
    EXPECT_EQ(size_bar(c, 0, false), 0x1000u);
    c.write(cfg::primary_bus, 4, 0x00030200);
    EXPECT_EQ(c.read(cfg::secondary_bus, 1), 0x02u);
    EXPECT_EQ(c.read(cfg::bar0, 4), 0xfffff000u);
}

} // namespace
