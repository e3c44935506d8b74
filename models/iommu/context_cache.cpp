#include "models/iommu/context_cache.h"

#include <cassert>

namespace iotwin::iommu {

context_cache::context_cache(unsigned entries) : cache_(entries) { assert(entries > 0); }

void context_cache::invalidate_domain(std::uint16_t did) {
    cache_.drop_if([did](std::uint16_t, const context& c) { return c.did == did; });
}

void context_cache::invalidate_device(std::uint16_t sid, unsigned function_mask) {
    // FM masks bits 2:0 of the source ID (the function number) at most.
    const auto ignore = static_cast<std::uint16_t>((1u << (function_mask & 3)) - 1);
    cache_.drop_if([sid, ignore](std::uint16_t s, const context&) { return (s & ~ignore) == (sid & ~ignore); });
}

} // namespace iotwin::iommu
