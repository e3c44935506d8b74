#include "models/iommu/paging_cache.h"

namespace iotwin::iommu {

paging_cache::paging_cache(const std::array<unsigned, 3>& entries) {
    for (unsigned i = 0; i < 3; ++i) levels_[i].slots.resize(entries[i]);
}

int paging_cache::lookup(std::uint16_t did, std::uint64_t iova, int top, paging_entry& e) {
    for (int level = 2; level <= 4 && level <= top; ++level) {
        cache& c = levels_[static_cast<unsigned>(level - 2)];
        if (c.slots.empty()) continue;
        // The entry of `level` maps the region of IOVA bits above its shift.
        const std::uint64_t tag = iova >> shift_of(level);
        for (slot& s : c.slots)
            if (s.valid && s.did == did && s.tag == tag) {
                s.last_use = ++clock_;
                ++c.count.hits;
                e = s.e;
                return level;
            }
        ++c.count.misses;
    }
    return 0;
}

void paging_cache::insert(std::uint16_t did, std::uint64_t iova, int level, const paging_entry& e) {
    if (level < 2 || level > 4) return;
    cache& c = levels_[static_cast<unsigned>(level - 2)];
    if (c.slots.empty()) return;
    const std::uint64_t tag = iova >> shift_of(level);
    slot* victim = nullptr;
    for (slot& s : c.slots)
        if (s.valid && s.did == did && s.tag == tag) { victim = &s; break; }
    if (!victim)
        for (slot& s : c.slots)
            if (!s.valid) { victim = &s; break; }
    if (!victim) {
        victim = &c.slots[0];
        for (slot& s : c.slots)
            if (s.last_use < victim->last_use) victim = &s;
        ++c.count.evictions;
    }
    *victim = {true, did, tag, ++clock_, e};
}

void paging_cache::invalidate_all() {
    for (cache& c : levels_)
        for (slot& s : c.slots) s.valid = false;
}

void paging_cache::invalidate_domain(std::uint16_t did) {
    for (cache& c : levels_)
        for (slot& s : c.slots)
            if (s.did == did) s.valid = false;
}

void paging_cache::invalidate_range(std::uint16_t did, std::uint64_t first, std::uint64_t last) {
    for (int level = 2; level <= 4; ++level) {
        const unsigned shift = shift_of(level);
        for (slot& s : levels_[static_cast<unsigned>(level - 2)].slots) {
            if (!s.valid || s.did != did) continue;
            const std::uint64_t lo = s.tag << shift;
            const std::uint64_t hi = lo + ((std::uint64_t(1) << shift) - 1);
            if (lo <= last && first <= hi) s.valid = false;
        }
    }
}

unsigned paging_cache::valid_entries(int level) const {
    unsigned n = 0;
    for (const slot& s : levels_[static_cast<unsigned>(level - 2)].slots) n += s.valid;
    return n;
}

} // namespace iotwin::iommu
