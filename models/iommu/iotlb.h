// The IOTLB: set-associative caches of second-level translations, tagged by
// domain ID, PASID and page number, holding each translation at the page size
// the walk found it at (4 KiB, 2 MiB or 1 GiB: one entry covers a whole
// superpage), with a configurable replacement policy (LRU, FIFO or seeded
// pseudo-random) and one invalidation method per VT-d scope (global,
// domain-selective, page-selective with address mask; VT-d 3.x 6.5.1).
//
// Organisation: one array for every page size (each lookup probes the set of
// each size the array holds, indexed by the page number at that size), or,
// with `superpage_entries` > 0, a 4 KiB array beside a separate array for
// 2 MiB and 1 GiB entries, as real IOTLBs split them.
// A plain class: no SystemC, unit-tested on its own.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace iotwin::iommu {

struct translation {
    std::uint64_t frame = 0;  // machine page frame number (4 KiB) of the requested page
    bool read = false;
    bool write = false;
};

enum class replacement { lru, fifo, random };
// "lru", "fifo", "random"; nullopt for another name.
std::optional<replacement> replacement_from(const std::string_view& name);
const char* name_of(replacement r);

// The PASID tag of requests without PASID in legacy mode (PASIDs are 20 bits).
constexpr std::uint32_t no_pasid = 0xffffffffu;

// Page-size orders, in 4 KiB pages: 0 (4 KiB), 9 (2 MiB), 18 (1 GiB).
constexpr unsigned order_4k = 0, order_2m = 9, order_1g = 18;

struct iotlb_config {
    unsigned entries = 64, ways = 4;
    replacement policy = replacement::lru;
    std::uint64_t seed = 1;             // for replacement::random
    unsigned superpage_entries = 0;     // 0: superpages share the one array
    unsigned superpage_ways = 4;
};

class iotlb {
public:
    explicit iotlb(const iotlb_config& c);
    // `entries` must be a multiple of `ways`; sets = entries / ways; LRU.
    iotlb(unsigned entries, unsigned ways);

    // The translation of 4 KiB page `page`, from an entry of any size that
    // covers it. The pointer is valid until the next call.
    // Inline for the common hit, a 4 KiB entry; superpage entries and the
    // miss out of line.
    const translation* lookup(std::uint16_t did, std::uint32_t pasid, std::uint64_t page) {
        if (const way* w = small_.find(did, pasid, page, order_4k)) {
            ++hits_;
            out_ = {w->frame, w->read, w->write};
            return &out_;
        }
        return lookup_superpage(did, pasid, page);
    }
    const translation* lookup(std::uint16_t did, std::uint64_t page) { return lookup(did, no_pasid, page); }
    // Caches the translation of `page` as one entry of 2^order pages (the
    // superpage containing it; `t.frame` is the frame of `page`).
    void insert(std::uint16_t did, std::uint32_t pasid, std::uint64_t page, const translation& t, unsigned order);
    void insert(std::uint16_t did, std::uint64_t page, const translation& t) { insert(did, no_pasid, page, t, order_4k); }

    void invalidate_all();
    // Every entry of domain `did` (of every PASID, or of `pasid` only).
    void invalidate_domain(std::uint16_t did, std::optional<std::uint32_t> pasid = std::nullopt);
    // 2^order pages starting at `page` (aligned down to that size), as the
    // address mask (AM) of a page-selective invalidation: every entry that
    // overlaps the range goes, a superpage entry included (VT-d 3.x 6.5.1.2).
    void invalidate_pages(std::uint16_t did, std::uint64_t page, unsigned order,
                          std::optional<std::uint32_t> pasid = std::nullopt);

    std::uint64_t hits() const { return hits_; }
    std::uint64_t misses() const { return misses_; }
    std::uint64_t evictions() const;
    unsigned valid_entries() const;
    // Valid entries of a page-size order (0, 9 or 18).
    unsigned valid_entries(unsigned order) const;

private:
    struct way {
        bool valid = false;
        std::uint16_t did = 0;
        std::uint32_t pasid = no_pasid;
        unsigned order = 0;
        std::uint64_t vpn = 0;     // page >> order
        std::uint64_t frame = 0;   // first 4 KiB frame of the (super)page
        bool read = false, write = false;
        std::uint64_t stamp = 0;   // last use (LRU) or fill (FIFO)
    };
    class array {
    public:
        array(unsigned entries, unsigned ways, replacement policy, std::uint64_t seed);
        way* find(std::uint16_t did, std::uint32_t pasid, std::uint64_t vpn, unsigned order) {
            way* s = set_of(vpn);
            for (unsigned i = 0; i < assoc_; ++i)
                if (s[i].valid && s[i].order == order && s[i].vpn == vpn && s[i].did == did && s[i].pasid == pasid) {
                    if (policy_ == replacement::lru) s[i].stamp = ++clock_;
                    return &s[i];
                }
            return nullptr;
        }
        // Returns true when a valid entry was evicted.
        bool put(const way& w);
        std::vector<way> ways_;
        std::uint64_t evictions = 0;

    private:
        // A power-of-two number of sets indexes by mask (a division costs as much as the rest of a hit).
        way* set_of(std::uint64_t vpn) { return &ways_[(set_mask_ ? vpn & *set_mask_ : vpn % sets_) * assoc_]; }
        std::uint64_t next_random();
        unsigned sets_, assoc_;
        std::optional<std::uint64_t> set_mask_;
        replacement policy_;
        std::uint64_t clock_ = 0, rng_;
    };
    array& array_for(unsigned order) { return (order != order_4k && split_) ? *big_ : small_; }
    const translation* lookup_superpage(std::uint16_t did, std::uint32_t pasid, std::uint64_t page);
    template <class Pred> void drop_if(Pred pred);

    array small_;
    std::optional<array> big_;
    bool split_ = false;
    translation out_;
    std::uint64_t hits_ = 0, misses_ = 0;
};

} // namespace iotwin::iommu
