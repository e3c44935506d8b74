#include "models/pci/config_space.h"

#include <cassert>

namespace iotwin::pci {

namespace {
// Status register: Capabilities List (bit 4) read-only 1; Interrupt Status
// (bit 3) read-only, set by the function's INTx logic; error bits RW1C.
constexpr std::uint16_t status_caps = status_bits::capabilities_list;
constexpr std::uint16_t status_errors = status_bits::errors;
// Command: I/O Space Enable is writable only in a function with an I/O BAR
// (PCIe 5.0 7.5.1.1.3 permits hardwiring it to 0 otherwise); define_bar()
// opens it.
constexpr std::uint16_t type0_command_mask = command_bits::memory_space | command_bits::bus_master |
                                             command_bits::parity_error_response | command_bits::serr |
                                             command_bits::interrupt_disable;
} // namespace

config_space::config_space() : register_bank(size_bytes) {}

void config_space::define_type0(std::uint16_t vendor, std::uint16_t device, std::uint32_t class_code,
                                bool multifunction, std::uint8_t interrupt_pin) {
    define({"VENDOR_ID", cfg::vendor_id, 2, vendor});
    define({"DEVICE_ID", cfg::device_id, 2, device});
    define({"COMMAND", cfg::command, 2, 0, command_wmask_ = type0_command_mask});
    define({"STATUS", cfg::status, 2, status_caps, 0, status_errors});
    define({"REVISION_ID", cfg::revision, 1, 1});
    define({"CLASS_CODE", cfg::class_code, 3, class_code});
    define({"CACHE_LINE_SIZE", cfg::cache_line, 1, 0, 0xff});
    // Latency Timer: RW in conventional PCI (PCI 3.0 6.2.4); a PCI Express
    // function hardwires it to 0 (PCIe 5.0 7.5.1.1.8), pci_function closes it.
    define({"LATENCY_TIMER", cfg::latency_timer, 1, 0, 0xff});
    define({"HEADER_TYPE", cfg::header_type, 1, multifunction ? 0x80u : 0x00u});
    define({"SUBSYSTEM_VENDOR_ID", cfg::subsystem_vendor, 2, vendor});
    define({"SUBSYSTEM_ID", cfg::subsystem_id, 2, device});
    define({"CAPABILITIES_PTR", cfg::cap_ptr, 1, 0});
    define({"INTERRUPT_LINE", cfg::interrupt_line, 1, 0xff, 0xff});
    define({"INTERRUPT_PIN", cfg::interrupt_pin, 1, interrupt_pin});
}

void config_space::define_type1(std::uint16_t vendor, std::uint16_t device, std::uint32_t class_code,
                                bool multifunction) {
    define({"VENDOR_ID", cfg::vendor_id, 2, vendor});
    define({"DEVICE_ID", cfg::device_id, 2, device});
    define({"COMMAND", cfg::command, 2, 0, type0_command_mask});
    define({"STATUS", cfg::status, 2, status_caps, 0, status_errors});
    define({"REVISION_ID", cfg::revision, 1, 1});
    define({"CLASS_CODE", cfg::class_code, 3, class_code});
    define({"CACHE_LINE_SIZE", cfg::cache_line, 1, 0, 0xff});
    define({"HEADER_TYPE", cfg::header_type, 1, multifunction ? 0x81u : 0x01u});
    define({"PRIMARY_BUS", cfg::primary_bus, 1, 0, 0xff});
    define({"SECONDARY_BUS", cfg::secondary_bus, 1, 0, 0xff});
    define({"SUBORDINATE_BUS", cfg::subordinate_bus, 1, 0, 0xff});
    // Memory window: bits 15:4 of base/limit are address bits 31:20 (1 MiB granules).
    define({"MEMORY_BASE", cfg::memory_base, 2, 0, 0xfff0});
    define({"MEMORY_LIMIT", cfg::memory_limit, 2, 0, 0xfff0});
    // Prefetchable window, 64-bit capable (type field 1 in bits 3:0).
    define({"PREF_MEMORY_BASE", cfg::pref_base, 2, 0x1, 0xfff0});
    define({"PREF_MEMORY_LIMIT", cfg::pref_limit, 2, 0x1, 0xfff0});
    define({"PREF_BASE_UPPER32", cfg::pref_base_upper, 4, 0, 0xffffffff});
    define({"PREF_LIMIT_UPPER32", cfg::pref_limit_upper, 4, 0, 0xffffffff});
    define({"CAPABILITIES_PTR", cfg::cap_ptr, 1, 0});
    define({"INTERRUPT_LINE", cfg::interrupt_line, 1, 0xff, 0xff});
    define({"BRIDGE_CONTROL", cfg::bridge_control, 2, 0, 0x0fff});
}

namespace {
// Writable bits are exactly the address bits at and above the size: writing
// all ones and reading back yields the size, which is the sizing protocol
// (PCI 3.0 6.2.5.1). I/O BARs keep bits 1:0, memory BARs bits 3:0.
std::uint64_t bar_mask(const bar_desc& b) {
    return ~(b.size - 1) & ~std::uint64_t(b.type == bar_type::io ? 0x3 : 0xf);
}
} // namespace

void config_space::define_bar(const bar_desc& b, std::optional<std::uint32_t> at) {
    assert((b.size & (b.size - 1)) == 0);
    assert(b.type == bar_type::io ? b.size >= 4 && b.size <= 256 : b.size >= 16);
    const std::uint32_t off = at.value_or(cfg::bar0 + 4 * b.index);
    const std::uint64_t mask = bar_mask(b);
    if (b.type == bar_type::io) {
        define({"BAR", off, 4, 0x1, mask & 0xffffffffu});
        if (!at) set_wmask(cfg::command, 2, command_wmask_ |= command_bits::io_space);
        return;
    }
    const std::uint64_t type_bits = (b.type == bar_type::mem64 ? 0x4u : 0x0u) | (b.prefetchable ? 0x8u : 0x0u);
    define({"BAR", off, 4, type_bits, mask & 0xffffffffu});
    if (b.type == bar_type::mem64) define({"BAR_UPPER", off + 4, 4, 0, mask >> 32});
}

void config_space::resize_bar(const bar_desc& b, std::uint32_t at) {
    const std::uint64_t mask = bar_mask(b);
    set_wmask(at, 4, mask & 0xffffffffu);
    set(at, 4, get(at, 4) & (mask | (b.type == bar_type::io ? 0x3 : 0xf)));
    if (b.type == bar_type::mem64) set_wmask(at + 4, 4, mask >> 32);
}

void config_space::define_rom(std::uint64_t size) {
    assert(size >= rom_bits::min_size && size <= rom_bits::max_size && (size & (size - 1)) == 0);
    define({"EXPANSION_ROM", cfg::rom, 4, 0, (~(size - 1) & rom_bits::address_mask) | rom_bits::enable});
}

std::uint64_t config_space::bar_base(const bar_desc& b, std::optional<std::uint32_t> at) const {
    const std::uint32_t off = at.value_or(cfg::bar0 + 4 * b.index);
    std::uint64_t base = get(off, 4) & ~std::uint64_t(b.type == bar_type::io ? 0x3 : 0xf);
    if (b.type == bar_type::mem64) base |= get(off + 4, 4) << 32;
    return base;
}

// The list's pointers and headers are hardwired: defined as read-only
// registers, so a reset (FLR, Secondary Bus Reset) keeps them. A pointer
// redefined when the list grows keeps the latest value as its reset value.
std::uint32_t config_space::add_capability(std::uint8_t id, std::uint32_t size) {
    const std::uint32_t off = next_cap_;
    assert(off + size <= 0x100);
    define({"CAP_ID", off, 1, id});
    define({"CAP_NEXT", off + 1, 1, 0});
    if (last_cap_) define({"CAP_NEXT", last_cap_ + 1, 1, off});
    else define({"CAPABILITIES_PTR", cfg::cap_ptr, 1, off});
    last_cap_ = off;
    next_cap_ = (off + size + 3) & ~3u;
    return off;
}

std::uint32_t config_space::add_ext_capability(std::uint16_t id, std::uint8_t version, std::uint32_t size) {
    const std::uint32_t off = next_ext_;
    assert(off + size <= size_bytes);
    define({"EXT_CAP_HEADER", off, 4, std::uint32_t(id) | std::uint32_t(version) << 16});
    if (last_ext_) define({"EXT_CAP_HEADER", last_ext_, 4, (get(last_ext_, 4) & 0x000fffff) | off << 20});
    last_ext_ = off;
    next_ext_ = (off + size + 3) & ~3u;
    return off;
}

std::optional<std::uint32_t> config_space::find_capability(std::uint8_t id) const {
    for (auto off = static_cast<std::uint32_t>(get(cfg::cap_ptr, 1)); off; off = static_cast<std::uint32_t>(get(off + 1, 1)))
        if (get(off, 1) == id) return off;
    return std::nullopt;
}

std::optional<std::uint32_t> config_space::find_ext_capability(std::uint16_t id) const {
    if (!last_ext_) return std::nullopt;
    for (std::uint32_t off = 0x100; off; off = static_cast<std::uint32_t>(get(off, 4) >> 20))
        if ((get(off, 4) & 0xffff) == id) return off;
    return std::nullopt;
}

} // namespace iotwin::pci
