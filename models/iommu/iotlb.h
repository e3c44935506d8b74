// The IOTLB: a set-associative cache of second-level translations, tagged by
// domain ID and page number, with LRU replacement and one invalidation method
// per VT-d scope (global, domain-selective, page-selective with address mask).
// A plain class: no SystemC, unit-tested on its own.
#pragma once
#include <cstdint>
#include <vector>

namespace iotwin::iommu {

struct translation {
    std::uint64_t frame = 0;  // machine page frame number
    bool read = false;
    bool write = false;
};

class iotlb {
public:
    // `entries` must be a multiple of `ways`; sets = entries / ways.
    iotlb(unsigned entries, unsigned ways);

    // `pasid`: the PASID tag of a scalable-mode translation (0, RID_PASID, in legacy mode).
    const translation* lookup(std::uint16_t did, std::uint64_t page, std::uint32_t pasid = 0);
    void insert(std::uint16_t did, std::uint64_t page, const translation& t, std::uint32_t pasid = 0);

    void invalidate_all();
    void invalidate_domain(std::uint16_t did);
    // 2^order pages starting at `page` (aligned down to that size), as the
    // address mask (AM) of a page-selective invalidation.
    void invalidate_pages(std::uint16_t did, std::uint64_t page, unsigned order);
    // PASID-based invalidation (scalable mode): every page of (did, pasid), or
    // 2^order pages of it at `page`.
    void invalidate_pasid(std::uint16_t did, std::uint32_t pasid);
    void invalidate_pasid_pages(std::uint16_t did, std::uint32_t pasid, std::uint64_t page, unsigned order);

    std::uint64_t hits() const { return hits_; }
    std::uint64_t misses() const { return misses_; }
    std::uint64_t evictions() const { return evictions_; }
    unsigned valid_entries() const;

private:
    struct way {
        bool valid = false;
        std::uint16_t did = 0;
        std::uint32_t pasid = 0;
        std::uint64_t page = 0;
        std::uint64_t last_use = 0;
        translation t;
    };
    way* set_of(std::uint64_t page) { return &ways_[(page % sets_) * assoc_]; }

    unsigned sets_, assoc_;
    std::vector<way> ways_;
    std::uint64_t clock_ = 0, hits_ = 0, misses_ = 0, evictions_ = 0;
};

} // namespace iotwin::iommu
