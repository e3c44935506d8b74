// The context cache: the decoded context entry of each source ID (requester
// ID), fully associative with LRU replacement, invalidated globally, per
// domain or per source ID as the VT-d context-cache invalidation command says.
// A plain class, unit-tested on its own.
#pragma once
#include <cstdint>

#include "models/iommu/lru_cache.h"

namespace iotwin::iommu {

struct context {
    bool present = false;
    bool fault_processing_disable = false;
    std::uint64_t translation_type = 0;
    std::uint64_t slptptr = 0;  // machine address of the top paging table
    std::uint16_t did = 0;
    unsigned aw = 0;
};

class context_cache {
public:
    explicit context_cache(unsigned entries);
    const context* lookup(std::uint16_t sid) { return cache_.lookup(sid); }
    void insert(std::uint16_t sid, const context& c) { cache_.insert(sid, c); }
    void invalidate_all() { cache_.invalidate_all(); }
    void invalidate_domain(std::uint16_t did);
    // Device-selective: source ID `sid`, with the low `function_mask` bits
    // (0..3) of its function number ignored (CCMD.FM, VT-d 3.x 10.4.7: 1, 2
    // or 3 drops 2, 4 or all 8 functions of the device).
    void invalidate_device(std::uint16_t sid, unsigned function_mask = 0);
    std::uint64_t hits() const { return cache_.hits(); }
    std::uint64_t misses() const { return cache_.misses(); }
    std::uint64_t evictions() const { return cache_.evictions(); }
    unsigned valid_entries() const { return cache_.valid_entries(); }

private:
    lru_cache<std::uint16_t, context> cache_;
};

} // namespace iotwin::iommu
