// The unmap notification actions gntalloc and gntdev share (the same values
// in include/uapi/xen/gntalloc.h and gntdev.h).
#pragma once
#include <cstdint>

namespace iotwin::guest {

constexpr std::uint32_t UNMAP_NOTIFY_CLEAR_BYTE = 0x1, UNMAP_NOTIFY_SEND_EVENT = 0x2;

} // namespace iotwin::guest
