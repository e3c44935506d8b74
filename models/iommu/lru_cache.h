// A small fully associative cache with least-recently-used replacement, as
// the IOMMU's context caches (legacy and scalable mode), PASID cache and
// interrupt entry cache are: a fixed number of
// slots that never move (a pointer from lookup stays valid until the slot is
// refilled), and counters for hits, misses and evictions.
#pragma once
#include <cassert>
#include <cstdint>
#include <vector>

namespace iotwin::iommu {

template <class Key, class Value>
class lru_cache {
public:
    explicit lru_cache(unsigned entries) : slots_(entries) {}

    // Zero slots: a unit without the cache (every lookup misses, nothing is kept).
    const Value* lookup(const Key& key) {
        for (slot& s : slots_)
            if (s.valid && s.key == key) {
                s.last_use = ++clock_;
                ++hits_;
                return &s.value;
            }
        ++misses_;
        return nullptr;
    }
    void insert(const Key& key, const Value& value) {
        if (slots_.empty()) return;
        // The same key's slot, else a free one, else the least recently used.
        slot* victim = &slots_[0];
        for (slot& s : slots_) {
            if (s.valid && s.key == key) { victim = &s; break; }
            if (!s.valid) { if (victim->valid) victim = &s; continue; }
            if (victim->valid && s.last_use < victim->last_use) victim = &s;
        }
        if (victim->valid && !(victim->key == key)) ++evictions_;
        *victim = {true, key, ++clock_, value};
    }
    // Drops every entry for which pred(key, value) holds.
    template <class Pred> void drop_if(Pred pred) {
        for (slot& s : slots_)
            if (s.valid && pred(s.key, s.value)) s.valid = false;
    }
    void invalidate_all() { drop_if([](const Key&, const Value&) { return true; }); }

    std::uint64_t hits() const { return hits_; }
    std::uint64_t misses() const { return misses_; }
    std::uint64_t evictions() const { return evictions_; }
    unsigned valid_entries() const {
        unsigned n = 0;
        for (const slot& s : slots_) n += s.valid;
        return n;
    }

private:
    struct slot {
        bool valid = false;
        Key key{};
        std::uint64_t last_use = 0;
        Value value{};
    };
    std::vector<slot> slots_;
    std::uint64_t clock_ = 0, hits_ = 0, misses_ = 0, evictions_ = 0;
};

} // namespace iotwin::iommu
