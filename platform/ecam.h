// Configuration requests of the CPU through the ECAM window (PCIe 5.0 7.2.2):
// how the enumerator, the step runner, lspci and the group probe reach a
// function's configuration space, as the kernel does through MMCONFIG.
#pragma once
#include <cstdint>

#include <systemc>
#include <tlm>

#include "models/hyp/hypervisor.h"
#include "models/pcie/protocol.h"
#include "platform/address_map.h"

namespace iotwin::platform {

// A configuration read or write of `len` bytes at `reg` of function `f`,
// made by the hypervisor's CPU; `data` is little-endian as on the bus.
inline pcie::completion ecam_access(hyp::hypervisor& cpu, tlm::tlm_command cmd, const pcie::bdf& f, std::uint32_t reg,
                                    void* data, unsigned len, sc_core::sc_time& d) {
    return cpu.machine_access(cmd, address_map::ecam_base + pcie::ecam_offset(f, static_cast<std::uint16_t>(reg)),
                              static_cast<std::uint8_t*>(data), len, d);
}

} // namespace iotwin::platform
