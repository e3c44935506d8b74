#include "models/iommu/iotlb.h"

#include <cassert>

namespace iotwin::iommu {

iotlb::iotlb(unsigned entries, unsigned ways) : sets_(entries / ways), assoc_(ways), ways_(entries) {
    assert(ways > 0 && entries % ways == 0 && entries > 0);
}

const translation* iotlb::lookup(std::uint16_t did, std::uint64_t page, std::uint32_t pasid) {
    way* s = set_of(page);
    for (unsigned i = 0; i < assoc_; ++i) {
        if (s[i].valid && s[i].did == did && s[i].pasid == pasid && s[i].page == page) {
            s[i].last_use = ++clock_;
            ++hits_;
            return &s[i].t;
        }
    }
    ++misses_;
    return nullptr;
}

void iotlb::insert(std::uint16_t did, std::uint64_t page, const translation& t, std::uint32_t pasid) {
    way* s = set_of(page);
    way* victim = &s[0];
    auto same = [&](const way& w) { return w.did == did && w.pasid == pasid && w.page == page; };
    for (unsigned i = 0; i < assoc_; ++i) {
        if (s[i].valid && same(s[i])) { victim = &s[i]; break; }
        if (!s[i].valid) { if (victim->valid) victim = &s[i]; continue; }
        if (victim->valid && s[i].last_use < victim->last_use) victim = &s[i];
    }
    if (victim->valid && !same(*victim)) ++evictions_;
    *victim = {true, did, pasid, page, ++clock_, t};
}

void iotlb::invalidate_all() {
    for (way& w : ways_) w.valid = false;
}

void iotlb::invalidate_domain(std::uint16_t did) {
    for (way& w : ways_)
        if (w.did == did) w.valid = false;
}

void iotlb::invalidate_pages(std::uint16_t did, std::uint64_t page, unsigned order) {
    const std::uint64_t first = page & ~((std::uint64_t(1) << order) - 1);
    const std::uint64_t count = std::uint64_t(1) << order;
    for (way& w : ways_)
        if (w.valid && w.did == did && w.page >= first && w.page - first < count) w.valid = false;
}

void iotlb::invalidate_pasid(std::uint16_t did, std::uint32_t pasid) {
    for (way& w : ways_)
        if (w.did == did && w.pasid == pasid) w.valid = false;
}

void iotlb::invalidate_pasid_pages(std::uint16_t did, std::uint32_t pasid, std::uint64_t page, unsigned order) {
    const std::uint64_t first = page & ~((std::uint64_t(1) << order) - 1);
    const std::uint64_t count = std::uint64_t(1) << order;
    for (way& w : ways_)
        if (w.valid && w.did == did && w.pasid == pasid && w.page >= first && w.page - first < count) w.valid = false;
}

unsigned iotlb::valid_entries() const {
    unsigned n = 0;
    for (const way& w : ways_) n += w.valid;
    return n;
}

} // namespace iotwin::iommu
