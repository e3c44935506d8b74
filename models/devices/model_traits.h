// What a device model fixes about its function, beside its behaviour: a
// model of a real device has the IDs, BARs and capabilities of that device,
// whatever the platform description says. Models without these members keep
// the defaults of their function's type and take IDs and BARs from the
// description (bar_ram, dma_engine).
#pragma once
#include <cstdint>
#include <optional>
#include <type_traits>

namespace iotwin::devices {

// A model declares `static constexpr model_identity identity{...}` to fix them.
struct model_identity {
    std::uint16_t vendor = 0, device = 0;
    std::uint32_t class_code = 0;
    std::uint8_t revision = 0;
    std::uint16_t subsystem_vendor = 0, subsystem_id = 0;
    bool conventional_pci = false;  // no PCI Express capability, whatever slot it sits in
    bool fixed_bars = false;        // the model declares its BARs; a description may not
};

template <class M, class = void> struct has_identity : std::false_type {};
template <class M> struct has_identity<M, std::void_t<decltype(M::identity)>> : std::true_type {};

template <class M> constexpr std::optional<model_identity> identity_of() {
    if constexpr (has_identity<M>::value) return M::identity;
    else return std::nullopt;
}

} // namespace iotwin::devices
