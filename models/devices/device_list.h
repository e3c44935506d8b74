// The device models a scenario can name (`model:` of a function). Adding a
// model is its header/source pair in models/devices/ plus one include and one
// line here: the loader then accepts the name and its parameters
// (`platform.devices.<name>.*`, and per function under `params:`), and the
// builder creates it (docs/devices.md walks through it).
//
// X(name, class, parameter struct): the class derives from pci::pci_function
// and has the constructor (name, const pci::function_params&, const params&).
#pragma once
#include <optional>
#include <string_view>

#include "models/devices/dma_engine.h"
#include "models/devices/edu.h"
#include "models/devices/model_traits.h"
#include "models/devices/nic.h"
#include "models/devices/pcie_bench.h"
#include "models/devices/scripted.h"

#define IOTWIN_DEVICE_MODELS(X)                          \
    X(bar_ram, devices::bar_ram, devices::bar_ram_params) \
    X(dma_engine, devices::dma_engine, devices::dma_engine_params) \
    X(edu, devices::edu, devices::edu_params) \
    X(nic, devices::nic, devices::nic_params) \
    X(pcie_bench, devices::pcie_bench, devices::pcie_bench_params) \
    X(scripted, devices::scripted, devices::scripted_params)

namespace iotwin::devices {
// The identity a model fixes (model_traits.h), by the model's name; none for
// a model that takes its IDs and BARs from the description.
inline std::optional<model_identity> model_identity_of(std::string_view model) {
#define IOTWIN_MODEL_IDENTITY(name, cls, params) \
    if (model == #name) return identity_of<cls>();
    IOTWIN_DEVICE_MODELS(IOTWIN_MODEL_IDENTITY)
#undef IOTWIN_MODEL_IDENTITY
    return std::nullopt;
}
} // namespace iotwin::devices
