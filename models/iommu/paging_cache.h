// The paging-structure caches of second-level translation (VT-d 3.x 6.2.4):
// one per non-leaf level, each entry the table an entry of that level points
// at, tagged by domain ID and the IOVA bits that select it:
//   level 4, the SL-PML4E cache: IOVA bits 47:39 -> the page-directory-pointer table;
//   level 3, the SL-PDPE cache:  IOVA bits 47:30 -> the page directory;
//   level 2, the SL-PDE cache:   IOVA bits 47:21 -> the page table.
// Each also keeps the R/W the entries on the way grant (VT-d 6.2.4 lets an
// implementation combine the access rights of the entries above). A hit at
// level L lets the walk start at level L - 1. Leaf entries (PS = 1) are never
// cached here: they go to the IOTLB. Fully associative, LRU; 0 entries
// disables a level.
// A plain class: no SystemC, unit-tested on its own.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace iotwin::iommu {

struct paging_entry {
    std::uint64_t table = 0;  // machine address of the next-level table
    bool read = false, write = false;
};

class paging_cache {
public:
    // entries[0]: SL-PDE (level 2), [1]: SL-PDPE (level 3), [2]: SL-PML4E (level 4).
    explicit paging_cache(const std::array<unsigned, 3>& entries);

    // The deepest cached level (2 first) that holds `iova` for `did`: fills
    // `e` and returns the level, or 0 on a miss at every level. `top`: the
    // table's top level (4, or 3 for a 39-bit width): a level above it is
    // not looked up.
    int lookup(std::uint16_t did, std::uint64_t iova, int top, paging_entry& e);
    // Caches the level-`level` entry for `iova` (level 2..4).
    void insert(std::uint16_t did, std::uint64_t iova, int level, const paging_entry& e);

    void invalidate_all();
    void invalidate_domain(std::uint16_t did);
    // Entries of `did` whose region overlaps [first, last] (VT-d 6.5.1.2:
    // a page-selective invalidation with IH = 0 drops them).
    void invalidate_range(std::uint16_t did, std::uint64_t first, std::uint64_t last);

    struct counters { std::uint64_t hits = 0, misses = 0, evictions = 0; };
    // Per level 2..4.
    const counters& at(int level) const { return levels_[static_cast<unsigned>(level - 2)].count; }
    unsigned valid_entries(int level) const;

private:
    struct slot { bool valid = false; std::uint16_t did = 0; std::uint64_t tag = 0; std::uint64_t last_use = 0; paging_entry e; };
    struct cache { std::vector<slot> slots; counters count; };
    static unsigned shift_of(int level) { return 12 + 9 * static_cast<unsigned>(level - 1); }
    std::array<cache, 3> levels_;
    std::uint64_t clock_ = 0;
};

} // namespace iotwin::iommu
