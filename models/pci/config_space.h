// PCI configuration space: the 4 KiB register bank of one function with the
// type-0 / type-1 headers, the capability lists and the BAR sizing protocol.
// Source: PCI Local Bus Specification 3.0 ch. 6; PCI-to-PCI Bridge
// Architecture Specification 1.2 ch. 3; PCIe Base Specification 5.0 ch. 7.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/common/register_bank.h"

namespace iotwin::pci {

// Standard header offsets.
namespace cfg {
constexpr std::uint32_t vendor_id = 0x00, device_id = 0x02, command = 0x04, status = 0x06;
constexpr std::uint32_t revision = 0x08, class_code = 0x09, cache_line = 0x0c, latency_timer = 0x0d;
constexpr std::uint32_t header_type = 0x0e, bar0 = 0x10, subsystem_vendor = 0x2c, subsystem_id = 0x2e;
constexpr std::uint32_t cap_ptr = 0x34, interrupt_line = 0x3c, interrupt_pin = 0x3d;
constexpr std::uint32_t prog_if = 0x09, class_device = 0x0a, bist = 0x0f;  // parts of class_code / 0x0c dword
constexpr std::uint32_t rom = 0x30, min_gnt = 0x3e, max_lat = 0x3f;
// type 1
constexpr std::uint32_t primary_bus = 0x18, secondary_bus = 0x19, subordinate_bus = 0x1a;
constexpr std::uint32_t io_base = 0x1c, io_limit = 0x1d, secondary_status = 0x1e;
constexpr std::uint32_t memory_base = 0x20, memory_limit = 0x22;
constexpr std::uint32_t pref_base = 0x24, pref_limit = 0x26, pref_base_upper = 0x28, pref_limit_upper = 0x2c;
constexpr std::uint32_t sec_latency = 0x1b, io_base_upper = 0x30, io_limit_upper = 0x32, rom1 = 0x38;
constexpr std::uint32_t bridge_control = 0x3e;
} // namespace cfg

namespace command_bits {
constexpr std::uint16_t io_space = 1 << 0, memory_space = 1 << 1, bus_master = 1 << 2;
constexpr std::uint16_t parity_error_response = 1 << 6, serr = 1 << 8, interrupt_disable = 1 << 10;
} // namespace command_bits

// Status register bits (PCI 3.0 6.2.3, PCIe 5.0 7.5.1.1.4).
namespace status_bits {
constexpr std::uint16_t interrupt_status = 1 << 3, capabilities_list = 1 << 4;
constexpr std::uint16_t master_data_parity_error = 1 << 8, signaled_target_abort = 1 << 11;
constexpr std::uint16_t received_target_abort = 1 << 12, received_master_abort = 1 << 13;
constexpr std::uint16_t signaled_system_error = 1 << 14, detected_parity_error = 1 << 15;
// The error bits software clears by writing 1 (RW1C).
constexpr std::uint16_t errors = master_data_parity_error | signaled_target_abort | received_target_abort |
                                 received_master_abort | signaled_system_error | detected_parity_error;
} // namespace status_bits

// Expansion ROM Base Address register (PCI 3.0 6.2.5.2): bit 0 enables the
// decode, bits 31:11 hold the address; sizes are powers of two >= 2 KiB.
// Power Management capability (PCI PM 1.2 ch. 7): PMC, PMCSR.
namespace pm_reg {
constexpr std::uint32_t pmc = 2, pmcsr = 4;
constexpr std::uint16_t pmcsr_state = 0x3, pmcsr_no_soft_reset = 1 << 3, pmcsr_pme_status = 1 << 15;
constexpr std::uint16_t d0 = 0, d3hot = 3;
} // namespace pm_reg

// PCI Express capability layout (PCIe 5.0 7.5.3).
namespace px_reg {
constexpr std::uint32_t caps = 2, devcap = 4, devctl = 8, devsta = 10;
constexpr std::uint32_t lnkcap = 12, lnkctl = 16, lnksta = 18, devcap2 = 0x24, devctl2 = 0x28;
constexpr std::uint32_t devcap_flr = 1u << 28;
constexpr std::uint16_t devctl_initiate_flr = 1u << 15;
} // namespace px_reg

namespace rom_bits {
constexpr std::uint32_t enable = 0x1, address_mask = 0xfffff800u;
constexpr std::uint64_t min_size = 2048, max_size = 16ull << 20;
} // namespace rom_bits

namespace cap_id {
constexpr std::uint8_t power_management = 0x01, msi = 0x05, pcie = 0x10, msix = 0x11;
} // namespace cap_id
namespace ext_cap_id {
constexpr std::uint16_t acs = 0x000d, ats = 0x000f, sriov = 0x0010;
} // namespace ext_cap_id

// ACS Extended Capability registers, offsets from the capability (PCIe 5.0 7.7.8).
namespace acs_reg {
constexpr std::uint32_t capability = 0x04, control = 0x06, egress_control_vector = 0x08;
} // namespace acs_reg

// SR-IOV Extended Capability registers, offsets from the capability (PCIe 5.0 9.3.3).
namespace sriov_reg {
constexpr std::uint32_t capabilities = 0x04, control = 0x08, status = 0x0a, initial_vfs = 0x0c, total_vfs = 0x0e;
constexpr std::uint32_t num_vfs = 0x10, function_dependency_link = 0x12, first_vf_offset = 0x14, vf_stride = 0x16;
constexpr std::uint32_t vf_device_id = 0x1a, supported_page_sizes = 0x1c, system_page_size = 0x20;
constexpr std::uint32_t vf_bar0 = 0x24;  // VF BAR0..5 at 0x24..0x38 (9.3.3.14)
// SR-IOV Control bits.
constexpr std::uint16_t vf_enable = 0x1, vf_migration_enable = 0x2, vf_migration_interrupt = 0x4, vf_mse = 0x8, ari_hierarchy = 0x10;
} // namespace sriov_reg

// Routing ID of virtual function n (0-based) of a physical function (PCIe 5.0
// 9.3.3.10/11: First VF Offset and VF Stride). Wider than 16 bits so callers
// can tell a VF that would fall past bus 255.
constexpr std::uint32_t vf_routing_id(std::uint32_t pf_rid, std::uint32_t first_vf_offset, std::uint32_t vf_stride, unsigned n) {
    return pf_rid + first_vf_offset + vf_stride * n;
}

// PCI Express Capabilities register, Device/Port Type (PCIe 5.0 7.5.3.2).
enum class port_type : std::uint8_t {
    endpoint = 0x0, legacy_endpoint = 0x1, rciep = 0x9, rc_event_collector = 0xa,
    root_port = 0x4, upstream_port = 0x5, downstream_port = 0x6,
    pcie_to_pci_bridge = 0x7, pci_to_pcie_bridge = 0x8,
};

enum class bar_type { mem32, mem64, io };  // io: an I/O Space BAR (PCI 3.0 6.2.5.1), decoded in the I/O space
struct bar_desc {
    unsigned index = 0;          // 0..5; a mem64 BAR uses index and index+1
    std::uint64_t size = 0;      // power of two: memory >= 16 bytes (4 KiB recommended), I/O 4..256 bytes
    bar_type type = bar_type::mem32;
    bool prefetchable = false;
};

class config_space : public register_bank {
public:
    static constexpr std::size_t size_bytes = 4096;
    config_space();

    // `interrupt_pin`: the Interrupt Pin register (RO; 0 none, 1..4 INTA#..INTD#).
    void define_type0(std::uint16_t vendor, std::uint16_t device, std::uint32_t class_code, bool multifunction,
                      std::uint8_t interrupt_pin = 1);
    void define_type1(std::uint16_t vendor, std::uint16_t device, std::uint32_t class_code, bool multifunction);
    // A BAR at 0x10 + 4 x index of the header; or, with `at`, at that offset
    // (the VF BARs of an SR-IOV capability). Memory BARs: bits 3:0 RO type
    // (bit 0 = 0, bits 2:1 = 00 32-bit / 10 64-bit, bit 3 prefetchable);
    // I/O BARs: bit 0 = 1, bit 1 reserved. The writable bits are the address
    // bits at and above the size, so writing all ones reads back the size.
    void define_bar(const bar_desc& b, std::optional<std::uint32_t> at = std::nullopt);
    // Changes the writable address bits of a BAR defined at `at` (a VF BAR
    // whose granularity follows System Page Size).
    void resize_bar(const bar_desc& b, std::uint32_t at);
    // The Expansion ROM BAR at 0x30 with a ROM of `size` bytes.
    void define_rom(std::uint64_t size);

    // Appends a capability to the list at 0x34 (or the extended list at 0x100);
    // returns its offset. `size` includes the header.
    std::uint32_t add_capability(std::uint8_t id, std::uint32_t size);
    std::uint32_t add_ext_capability(std::uint16_t id, std::uint8_t version, std::uint32_t size);
    std::optional<std::uint32_t> find_capability(std::uint8_t id) const;
    std::optional<std::uint32_t> find_ext_capability(std::uint16_t id) const;

    bool type1() const { return (get(cfg::header_type, 1) & 0x7f) == 1; }
    std::uint16_t command() const { return static_cast<std::uint16_t>(get(cfg::command, 2)); }
    bool memory_enabled() const { return command() & command_bits::memory_space; }
    bool bus_master() const { return command() & command_bits::bus_master; }
    bool io_enabled() const { return command() & command_bits::io_space; }

    // The programmed base of a BAR (both halves for mem64), at `at` or in the header.
    std::uint64_t bar_base(const bar_desc& b, std::optional<std::uint32_t> at = std::nullopt) const;
    // The programmed base of the Expansion ROM and whether its decode is enabled.
    std::uint64_t rom_base() const { return get(cfg::rom, 4) & rom_bits::address_mask; }
    bool rom_enabled() const { return get(cfg::rom, 4) & rom_bits::enable; }

private:
    std::uint16_t command_wmask_ = 0;
    std::uint32_t next_cap_ = 0x40;
    std::uint32_t last_cap_ = 0;
    std::uint32_t next_ext_ = 0x100;
    std::uint32_t last_ext_ = 0;
};

} // namespace iotwin::pci
