#include "models/iommu/context_cache.h"

#include <cassert>

namespace iotwin::iommu {

context_cache::context_cache(unsigned entries) : slots_(entries) { assert(entries > 0); }

const context* context_cache::lookup(std::uint16_t sid) {
    for (slot& s : slots_)
        if (s.valid && s.sid == sid) {
            s.last_use = ++clock_;
            ++hits_;
            return &s.c;
        }
    ++misses_;
    return nullptr;
}

void context_cache::insert(std::uint16_t sid, const context& c) {
    slot* victim = &slots_[0];
    for (slot& s : slots_) {
        if (s.valid && s.sid == sid) { victim = &s; break; }
        if (!s.valid) { if (victim->valid) victim = &s; continue; }
        if (victim->valid && s.last_use < victim->last_use) victim = &s;
    }
    if (victim->valid && victim->sid != sid) ++evictions_;
    *victim = {true, sid, ++clock_, c};
}

void context_cache::invalidate_all() {
    for (slot& s : slots_) s.valid = false;
}

void context_cache::invalidate_domain(std::uint16_t did) {
    for (slot& s : slots_)
        if (s.c.did == did) s.valid = false;
}

void context_cache::invalidate_device(std::uint16_t sid, unsigned function_mask) {
    // FM masks bits 2:0 of the source ID (the function number) at most.
    const std::uint16_t ignore = static_cast<std::uint16_t>((1u << (function_mask & 3)) - 1);
    for (slot& s : slots_)
        if ((s.sid & ~ignore) == (sid & ~ignore)) s.valid = false;
}

unsigned context_cache::valid_entries() const {
    unsigned n = 0;
    for (const slot& s : slots_) n += s.valid;
    return n;
}

} // namespace iotwin::iommu
