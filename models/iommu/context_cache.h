// The context cache: the decoded context entry of each source ID (requester
// ID), fully associative with LRU replacement, invalidated globally, per
// domain or per source ID as the VT-d context-cache invalidation command says.
// A plain class, unit-tested on its own.
#pragma once
#include <cstdint>
#include <vector>

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
    const context* lookup(std::uint16_t sid);
    void insert(std::uint16_t sid, const context& c);
    void invalidate_all();
    void invalidate_domain(std::uint16_t did);
    void invalidate_device(std::uint16_t sid);
    std::uint64_t hits() const { return hits_; }
    std::uint64_t misses() const { return misses_; }

private:
    struct slot { bool valid = false; std::uint16_t sid = 0; std::uint64_t last_use = 0; context c; };
    std::vector<slot> slots_;
    std::uint64_t clock_ = 0, hits_ = 0, misses_ = 0;
};

} // namespace iotwin::iommu
