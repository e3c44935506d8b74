// Scalable-mode translation structures as the IOMMU caches them: the decoded
// scalable-mode context entry of a source ID (context cache) and the decoded
// PASID table entry of a (source ID, PASID) pair (PASID cache), each fully
// associative with LRU replacement and one invalidation method per scope of
// the VT-d invalidation commands that reach it (context-cache invalidation,
// PASID-cache invalidation: descriptor 0x7, VT-d 3.x 6.5.2.3). Plain classes.
// Source: Intel VT-d Architecture Specification rev. 3.x, 6.2.1-6.2.2, 9.4-9.6.
#pragma once
#include <cstdint>

#include "models/iommu/lru_cache.h"

namespace iotwin::iommu {

// A scalable-mode context entry (VT-d 3.x 9.4), decoded.
struct sm_context {
    bool fault_processing_disable = false;
    bool pasid_enable = false;        // PASIDE: requests with PASID are allowed
    std::uint64_t pasid_dir = 0;      // machine address of the PASID directory
    unsigned pdts = 0;                // the directory holds 2^(pdts + 7) entries
    std::uint32_t rid_pasid = 0;      // the PASID of requests without PASID
};

// A scalable-mode PASID table entry (VT-d 3.x 9.6), decoded.
struct pasid_entry {
    bool fault_processing_disable = false;  // FPD of the entry or of its directory entry
    std::uint64_t pgtt = 0;                 // PASID-granular translation type
    std::uint16_t did = 0;
    std::uint64_t flptr = 0;                // first-level table (PGTT 001)
    std::uint64_t slptr = 0;                // second-level table (PGTT 010)
    unsigned aw = 0;
};

class sm_context_cache {
public:
    explicit sm_context_cache(unsigned entries) : store_(entries ? entries : 1) {}
    const sm_context* lookup(std::uint16_t sid) { return store_.lookup(sid); }
    void insert(std::uint16_t sid, const sm_context& c) { store_.insert(sid, c); }
    void invalidate_all() { store_.drop_if([](std::uint16_t, const sm_context&) { return true; }); }
    void invalidate_device(std::uint16_t sid) {
        store_.drop_if([sid](std::uint16_t k, const sm_context&) { return k == sid; });
    }
    std::uint64_t hits() const { return store_.hits(); }
    std::uint64_t misses() const { return store_.misses(); }

private:
    lru_cache<std::uint16_t, sm_context> store_;
};

class pasid_cache {
public:
    explicit pasid_cache(unsigned entries) : store_(entries ? entries : 1) {}
    const pasid_entry* lookup(std::uint16_t sid, std::uint32_t pasid) { return store_.lookup({sid, pasid}); }
    void insert(std::uint16_t sid, std::uint32_t pasid, const pasid_entry& e) { store_.insert({sid, pasid}, e); }
    void invalidate_all() { store_.drop_if([](const key&, const pasid_entry&) { return true; }); }
    // Domain-selective (granularity 00 of descriptor 0x7).
    void invalidate_domain(std::uint16_t did) {
        store_.drop_if([did](const key&, const pasid_entry& e) { return e.did == did; });
    }
    // PASID-selective-within-domain (granularity 01).
    void invalidate_pasid(std::uint16_t did, std::uint32_t pasid) {
        store_.drop_if([did, pasid](const key& k, const pasid_entry& e) { return e.did == did && k.pasid == pasid; });
    }
    // Every PASID of one source ID (what a device-selective context-cache invalidation implies).
    void invalidate_device(std::uint16_t sid) {
        store_.drop_if([sid](const key& k, const pasid_entry&) { return k.sid == sid; });
    }
    std::uint64_t hits() const { return store_.hits(); }
    std::uint64_t misses() const { return store_.misses(); }

private:
    struct key {
        std::uint16_t sid = 0;
        std::uint32_t pasid = 0;
        bool operator==(const key& o) const { return sid == o.sid && pasid == o.pasid; }
    };
    lru_cache<key, pasid_entry> store_;
};

} // namespace iotwin::iommu
