// The machine address map of the platform, as on a PC: RAM below the 32-bit
// MMIO hole and the rest above 4 GiB; the 32-bit MMIO window, ECAM, the IOMMU
// registers and the interrupt window in the hole; a 64-bit MMIO window far
// above RAM for prefetchable 64-bit BARs.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace iotwin::platform::address_map {

constexpr std::uint64_t low_ram_limit = 0xC0000000;    // RAM below 3 GiB
constexpr std::uint64_t high_ram_base = 0x100000000;   // the rest from 4 GiB
constexpr std::uint64_t mmio32_base = 0xC0000000, mmio32_size = 0x20000000;   // 512 MiB
constexpr std::uint64_t ecam_base = 0xE0000000, ecam_size = 0x10000000;       // buses 0..255
constexpr std::uint64_t iommu_regs_base = 0xFED90000, iommu_regs_size = 0x1000;  // DRHD unit
constexpr std::uint64_t msi_base = 0xFEE00000, msi_size = 0x100000;
constexpr std::uint64_t mmio64_base = 0x20000000000, mmio64_size = 0x10000000000;  // 2 TiB .. 3 TiB

// (base, size) of the RAM regions for `memory` bytes.
inline std::vector<std::pair<std::uint64_t, std::uint64_t>> ram_regions(std::uint64_t memory) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> r;
    r.emplace_back(0, memory < low_ram_limit ? memory : low_ram_limit);
    if (memory > low_ram_limit) r.emplace_back(high_ram_base, memory - low_ram_limit);
    return r;
}

} // namespace iotwin::platform::address_map
