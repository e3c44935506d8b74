#include "models/iommu/iotlb.h"

#include <cassert>

namespace iotwin::iommu {

std::optional<replacement> replacement_from(const std::string_view& name) {
    if (name == "lru") return replacement::lru;
    if (name == "fifo") return replacement::fifo;
    if (name == "random") return replacement::random;
    return std::nullopt;
}

const char* name_of(replacement r) {
    switch (r) {
    case replacement::lru: return "lru";
    case replacement::fifo: return "fifo";
    case replacement::random: return "random";
    }
    return "lru";
}

iotlb::array::array(unsigned entries, unsigned ways, replacement policy, std::uint64_t seed)
    : ways_(entries), sets_(entries / ways), assoc_(ways), policy_(policy), rng_(seed | 1) {
    assert(ways > 0 && entries % ways == 0 && entries > 0);
    if ((sets_ & (sets_ - 1)) == 0) set_mask_ = sets_ - 1;
}

std::uint64_t iotlb::array::next_random() {
    // xorshift64: deterministic for a given seed, no global state.
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return rng_;
}

bool iotlb::array::put(const way& w) {
    way* s = set_of(w.vpn);
    way* victim = nullptr;
    for (unsigned i = 0; i < assoc_ && !victim; ++i)
        if (s[i].valid && s[i].order == w.order && s[i].vpn == w.vpn && s[i].did == w.did && s[i].pasid == w.pasid)
            victim = &s[i];  // the same tag: replaced in place
    for (unsigned i = 0; i < assoc_ && !victim; ++i)
        if (!s[i].valid) victim = &s[i];
    bool evicted = false;
    if (!victim) {
        if (policy_ == replacement::random) {
            victim = &s[next_random() % assoc_];
        } else {
            // LRU: the least recently used; FIFO: the oldest fill.
            victim = &s[0];
            for (unsigned i = 1; i < assoc_; ++i)
                if (s[i].stamp < victim->stamp) victim = &s[i];
        }
        evicted = true;
        ++evictions;
    }
    *victim = w;
    victim->valid = true;
    victim->stamp = ++clock_;
    return evicted;
}

iotlb::iotlb(const iotlb_config& c)
    : small_(c.entries, c.ways, c.policy, c.seed), split_(c.superpage_entries > 0) {
    if (split_) big_.emplace(c.superpage_entries, c.superpage_ways, c.policy, c.seed ^ 0x9e3779b97f4a7c15ull);
}

iotlb::iotlb(unsigned entries, unsigned ways) : iotlb(iotlb_config{entries, ways, replacement::lru, 1, 0, 4}) {}

const translation* iotlb::lookup_superpage(std::uint16_t did, std::uint32_t pasid, std::uint64_t page) {
    // Every other page size the IOTLB may hold the page at: the walk decides
    // the size, so a lookup cannot know it in advance.
    for (const unsigned order : {order_2m, order_1g}) {
        if (way* w = array_for(order).find(did, pasid, page >> order, order)) {
            ++hits_;
            out_ = {w->frame + (page & ((std::uint64_t(1) << order) - 1)), w->read, w->write};
            return &out_;
        }
    }
    ++misses_;
    return nullptr;
}

void iotlb::insert(std::uint16_t did, std::uint32_t pasid, std::uint64_t page, const translation& t, unsigned order) {
    assert(order == order_4k || order == order_2m || order == order_1g);
    const std::uint64_t offset = page & ((std::uint64_t(1) << order) - 1);
    way w;
    w.did = did;
    w.pasid = pasid;
    w.order = order;
    w.vpn = page >> order;
    w.frame = t.frame - offset;
    w.read = t.read;
    w.write = t.write;
    array_for(order).put(w);
}

template <class Pred> void iotlb::drop_if(Pred pred) {
    for (way& w : small_.ways_)
        if (w.valid && pred(w)) w.valid = false;
    if (big_)
        for (way& w : big_->ways_)
            if (w.valid && pred(w)) w.valid = false;
}

void iotlb::invalidate_all() {
    drop_if([](const way&) { return true; });
}

void iotlb::invalidate_domain(std::uint16_t did, std::optional<std::uint32_t> pasid) {
    drop_if([&](const way& w) { return w.did == did && (!pasid || w.pasid == *pasid); });
}

void iotlb::invalidate_pages(std::uint16_t did, std::uint64_t page, unsigned order, std::optional<std::uint32_t> pasid) {
    // AM is at most 63 here (6 bits); a range that large covers every page.
    const std::uint64_t count_log = order;
    const std::uint64_t first = count_log >= 64 ? 0 : page & ~((std::uint64_t(1) << count_log) - 1);
    const std::uint64_t last = count_log >= 52 ? ~std::uint64_t(0) : first + (std::uint64_t(1) << count_log) - 1;
    drop_if([&](const way& w) {
        if (w.did != did || (pasid && w.pasid != *pasid)) return false;
        const std::uint64_t w_first = w.vpn << w.order;
        const std::uint64_t w_last = w_first + (std::uint64_t(1) << w.order) - 1;
        return w_first <= last && first <= w_last;
    });
}

std::uint64_t iotlb::evictions() const { return small_.evictions + (big_ ? big_->evictions : 0); }

unsigned iotlb::valid_entries() const {
    unsigned n = 0;
    for (const way& w : small_.ways_) n += w.valid;
    if (big_)
        for (const way& w : big_->ways_) n += w.valid;
    return n;
}

unsigned iotlb::valid_entries(unsigned order) const {
    unsigned n = 0;
    for (const way& w : small_.ways_) n += w.valid && w.order == order;
    if (big_)
        for (const way& w : big_->ways_) n += w.valid && w.order == order;
    return n;
}

} // namespace iotwin::iommu
