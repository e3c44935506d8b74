// The hypervisor's driver for the VT-d IOMMU (the part of Xen's
// drivers/passthrough/vtd that this twin needs): it builds the root and
// context tables and the 4-level second-level page tables in machine memory
// with the CPU's own (timed) accesses, and issues invalidations through the
// IOMMU's registers. Invalidations go through the invalidation queue when
// the unit has one (ECAP.QI), as Linux 6.1's intel-iommu does, else through
// the registers (vtd_invalidation.cpp). Unmaps invalidate before they return
// (strict) unless the caller collects their range to flush later (a batch:
// the hypervisor's flush queue for deferred domains).
// Superpages: map() writes a 2 MiB or 1 GiB leaf (PS = 1 at level 2 or 3)
// when the unit advertises the size in CAP.SLLPS; unmapping any part of a
// superpage unmaps all of it, as Linux 6.1 intel_iommu_unmap() does.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include <systemc>
#include <tlm>

namespace iotwin::hyp {

// How the driver reaches memory and registers: CPU accesses of the hypervisor.
class bus_port {
public:
    virtual ~bus_port() = default;
    virtual bool access(tlm::tlm_command cmd, std::uint64_t addr, void* data, unsigned len, sc_core::sc_time& delay) = 0;
};

// Machine frames of the hypervisor's heap, for IOMMU tables.
class frame_pool {
public:
    frame_pool(std::uint64_t base, std::uint64_t size) : next_(base), end_(base + size) {}
    // 0 when exhausted.
    std::uint64_t alloc();
    void release(std::uint64_t frame) { free_.push_back(frame); }
    std::uint64_t used() const { return used_; }
    // Frames alloc() can still give.
    std::uint64_t available() const;

private:
    std::uint64_t next_, end_, used_ = 0;
    std::vector<std::uint64_t> free_;
};

// How an IOMMU domain's devices are translated (docs/iommu/translation.md):
// through its IO page table; pass-through (context entry TT = 10b, VT-d 3.x
// 9.3, ECAP.PT); or blocked: their context entries are not present, as Xen's
// domain_context_unmap_one() and Linux 6.1's domain_context_clear_one()
// leave a device that belongs to no domain, so every request faults (0x2).
enum class iommu_mode { translated, passthrough, blocked };

class vtd_driver {
public:
    // `width`: the unit's address width (39 or 48 bits), which sets the table depth.
    vtd_driver(bus_port& bus, std::uint64_t regs_base, frame_pool& pool, unsigned width = 48)
        : bus_(bus), regs_(regs_base), pool_(pool), width_(width) {}
    unsigned width() const { return width_; }

    // Programs the root table and the fault event interrupt; enables DMA
    // remapping when `translate` (otherwise DMA passes untranslated).
    int init(bool translate, std::uint64_t fault_msi_addr, std::uint32_t fault_msi_data, sc_core::sc_time& d);
    // Scalable mode (vtd_scalable.cpp): which tables a domain's IO page table
    // is made of. automatic: Linux 6.1's first_level_by_default(): first-level
    // for kernel-managed (DMA API) domains, second-level for unmanaged ones
    // (IOMMU_DOMAIN_UNMANAGED, what VFIO type1 allocates).
    enum class table_kind { automatic, first_level, second_level };
    // Before init(): program the unit in scalable mode (RTADDR.TTM = 01).
    void set_scalable(table_kind k) { scalable_ = true; kind_ = k; }
    bool scalable() const { return scalable_; }
    bool first_level(std::uint64_t pgd) const { return first_level_tables_.count(pgd) != 0; }
    // A new, empty top-level table for an IOMMU domain; 0 when out of frames.
    // `unmanaged`: the table of an IO space a user-space driver manages (VFIO).
    std::uint64_t new_table(sc_core::sc_time& d, bool unmanaged = false);
    // Points requester `sid` at domain `did` with top-level table `pgd`, as
    // the domain's mode says (set_mode; translated by default).
    int attach(std::uint16_t sid, std::uint16_t did, std::uint64_t pgd, sc_core::sc_time& d);
    void set_mode(std::uint16_t did, iommu_mode m) { modes_[did] = m; }
    iommu_mode mode(std::uint16_t did) const;
    // The page-size orders the unit takes (CAP.SLLPS, read by init()): 9
    // (2 MiB) and 18 (1 GiB) beside 0 (4 KiB).
    bool supports_order(unsigned order) const;
    // Maps one page of 2^order 4 KiB pages (0, 9 or 18) at `iova` (aligned
    // to it) to `maddr` (aligned to it). 0, EINVAL (misaligned, an order the
    // unit does not support, or beyond the width), EEXIST (something is
    // mapped there), EBUSY (a superpage's slot holds a table: map smaller
    // pages) or ENOMEM.
    int map(std::uint64_t pgd, std::uint64_t iova, std::uint64_t maddr, unsigned order, bool read, bool write,
            sc_core::sc_time& d);
    // Maps one 4 KiB page. 0, EINVAL (IOVA beyond the 48-bit width the tables
    // translate), EEXIST (already mapped) or ENOMEM.
    int map_page(std::uint64_t pgd, std::uint64_t iova, std::uint64_t maddr, bool read, bool write, sc_core::sc_time& d);
    // Unmaps the page (of any size) that holds `iova` and invalidates it in
    // the IOTLB. 0, EINVAL (IOVA beyond the width: it has no slot, and must
    // not alias one) or ENOENT.
    int unmap_page(std::uint16_t did, std::uint64_t pgd, std::uint64_t iova, sc_core::sc_time& d);
    // Unmaps every mapped page of [iova, iova + size) (page-aligned, inside the
    // 48-bit width), each with its IOTLB invalidation, and counts them in
    // `pages` (4 KiB pages). It reads only the tables that exist, skipping absent subtrees,
    // so its cost is bounded by what is mapped, not by `size`. A superpage
    // the range touches is unmapped whole (Linux 6.1 intel_iommu_unmap():
    // the size unmapped grows to the large page's); [lo, hi] is then the
    // IOVA range actually unmapped (lo > hi when nothing was).
    void unmap_range(std::uint16_t did, std::uint64_t pgd, std::uint64_t iova, std::uint64_t size, std::uint64_t& pages,
                     sc_core::sc_time& d);
    void unmap_range(std::uint16_t did, std::uint64_t pgd, std::uint64_t iova, std::uint64_t size, std::uint64_t& pages,
                     std::uint64_t& lo, std::uint64_t& hi, sc_core::sc_time& d);
    std::uint64_t superpages_mapped() const { return superpages_; }
    // The level of the leaf that maps `iova` (1: 4 KiB, 2: 2 MiB, 3: 1 GiB), 0 when nothing does.
    int mapped_level(std::uint64_t pgd, std::uint64_t iova, sc_core::sc_time& d);
    // Requester `sid` has ATS enabled: attach() gives it TT=01b, as Linux
    // 6.1's domain_context_mapping_one() does for info->ats_supported.
    void set_device_tlb(std::uint16_t sid, bool on) {
        if (on) device_tlb_.insert(sid);
        else device_tlb_.erase(sid);
    }
    std::uint64_t tables_allocated() const { return tables_; }
    std::uint64_t invalidations() const { return invalidations_; }

    // -- invalidation (vtd_invalidation.cpp) --
    // Context-cache invalidation (granularity 1 global, 2 domain, 3 device).
    void flush_context(unsigned granularity, std::uint16_t did, std::uint16_t sid, sc_core::sc_time& d);
    // IOTLB invalidation: global (1), domain (2), or page-selective (3) of
    // 2^am pages at `addr`.
    void flush_iotlb(unsigned granularity, std::uint16_t did, std::uint64_t addr, unsigned am, sc_core::sc_time& d);
    // Scalable mode, through the queue: a PASID-cache invalidation of the
    // RID_PASID entry of `did` (0x7, PASID-selective) and the flush of what
    // it translated (0x6 for first-level and pass-through entries, 0x2
    // domain-selective for second-level), as Linux 6.1's
    // intel_pasid_tear_down_entry sends them (vtd_scalable.cpp).
    void flush_pasid_entry(std::uint16_t did, std::uint64_t pgtt, sc_core::sc_time& d);
    // Interrupt entry cache invalidation through the queue (Linux 6.1
    // qi_flush_iec: index-selective for 2^mask entries at `index`, or
    // global, qi_global_iec). Without the queue the host runs no interrupt
    // remapping (hypervisor::init_interrupt_remapping), so nothing is sent.
    void flush_iec(bool global, unsigned index, unsigned mask, sc_core::sc_time& d);
    // The IOTLB invalidation for the pages [first, last] (page numbers) of
    // domain `did`, as Linux's iommu_flush_iotlb_psi chooses it: one
    // page-selective invalidation whose aligned 2^am block covers the range,
    // domain-selective when am would exceed CAP.MAMV.
    void flush_iotlb_range(std::uint16_t did, std::uint64_t first, std::uint64_t last, sc_core::sc_time& d);
    // Unmaps between begin_batch() and end_batch() only collect the range of
    // pages they unmapped (per domain ID), which end_batch() hands back
    // uninvalidated: the caller flushes it now (strict) or later (deferred).
    struct unmapped_range {
        bool any = false;
        std::uint16_t did = 0;
        std::uint64_t first = 0, last = 0;  // page numbers, inclusive
    };
    void begin_batch() { batching_ = true; batch_ = {}; }
    unmapped_range end_batch() { batching_ = false; return batch_; }
    bool queued() const { return qi_; }
    std::uint64_t queue_errors() const { return qi_errors_; }

private:
    std::uint64_t read64(std::uint64_t a, sc_core::sc_time& d);
    void write64(std::uint64_t a, std::uint64_t v, sc_core::sc_time& d);
    void write_reg32(std::uint32_t off, std::uint32_t v, sc_core::sc_time& d);
    void write_reg64(std::uint32_t off, std::uint64_t v, sc_core::sc_time& d);
    std::uint64_t zeroed_frame(sc_core::sc_time& d);
    // The level-1 entry address for `iova`, creating tables on the way if
    // `create`; 0 for an IOVA the tables cannot hold (bits at or above the width set).
    bool iova_in_range(std::uint64_t iova) const { return iova >> width_ == 0; }
    // The address of the level-`level` entry for `iova`, creating tables on
    // the way if `create`; 0 when a table is missing (and not created) or out
    // of frames. When a superpage leaf above `level` maps `iova`, the address
    // of that leaf, with `at_level` set to its level (else `at_level` = `level`).
    std::uint64_t slot_at(std::uint64_t pgd, std::uint64_t iova, int level, bool create, int& at_level, sc_core::sc_time& d);
    // unmap_range() below one table of `level` whose first entry maps `base`;
    // [first, last] is the range to unmap, inclusive.
    void unmap_level(std::uint16_t did, std::uint64_t table, int level, std::uint64_t base, std::uint64_t first,
                     std::uint64_t last, std::uint64_t& pages, std::uint64_t& lo, std::uint64_t& hi, sc_core::sc_time& d);
    void invalidate_page(std::uint16_t did, std::uint64_t iova, sc_core::sc_time& d);
    // Scalable mode (vtd_scalable.cpp): the RID_PASID entry of `sid` and its
    // context entry; the entries a non-leaf and a leaf slot of `pgd` hold.
    int attach_scalable(std::uint16_t sid, std::uint16_t did, std::uint64_t pgd, sc_core::sc_time& d);
    std::uint64_t table_entry(std::uint64_t pgd, std::uint64_t next) const;
    std::uint64_t leaf_entry(std::uint64_t pgd, std::uint64_t maddr, bool read, bool write) const;
    std::uint64_t read_reg64(std::uint32_t off, sc_core::sc_time& d);
    std::uint32_t read_reg32(std::uint32_t off, sc_core::sc_time& d);
    // Reads ECAP/CAP and enables the invalidation queue when the unit has one
    // (Linux 6.1 dmar_enable_qi); register-based invalidation otherwise.
    int setup_invalidation(sc_core::sc_time& d);
    // Linux 6.1 qi_submit_sync: the descriptors, then a wait descriptor that
    // writes QI_DONE to its status slot, IQT moved past them, the status
    // polled. 0, or EINVAL when the unit reported an invalid descriptor.
    int qi_submit(const std::uint64_t* descs, unsigned count, sc_core::sc_time& d);
    // Device-TLB invalidations (descriptor 0x3) for every ATS-enabled function
    // of domain `did`, covering 2^am pages at addr: Linux 6.1
    // iommu_flush_dev_iotlb after each IOTLB flush of the domain.
    void flush_device_tlbs(std::uint16_t did, std::uint64_t addr, unsigned am, sc_core::sc_time& d);

    bus_port& bus_;
    std::uint64_t regs_;
    frame_pool& pool_;
    unsigned width_;
    std::uint64_t root_ = 0;
    std::uint64_t sllps_ = 0;  // CAP.SLLPS as init() read it
    std::map<std::uint16_t, iommu_mode> modes_;
    std::uint64_t tables_ = 0, invalidations_ = 0, superpages_ = 0;
    bool scalable_ = false;
    table_kind kind_ = table_kind::automatic;
    std::set<std::uint64_t> first_level_tables_;      // top-level tables in the first-level format
    std::set<std::uint16_t> first_level_dids_;        // scalable mode: domains whose RID_PASID entry is first-level
    std::map<std::uint16_t, std::uint64_t> pasid_dirs_;  // each source ID's PASID directory
    std::set<std::uint16_t> device_tlb_;
    std::map<std::uint16_t, std::uint16_t> attached_did_;  // each source ID's domain ID, as attach() last set it
    std::uint32_t gcmd_ = 0;           // the GCMD bits software keeps set (Linux's iommu->gcmd)
    bool qi_ = false;                  // invalidation through the queue
    bool psi_ = false;                 // CAP.PSI
    unsigned mamv_ = 0;                // CAP.MAMV
    std::uint64_t queue_ = 0, status_ = 0;  // the queue's page and the wait descriptors' status words
    unsigned free_head_ = 0;
    std::uint64_t qi_errors_ = 0;
    bool batching_ = false;
    unmapped_range batch_;
};

} // namespace iotwin::hyp
