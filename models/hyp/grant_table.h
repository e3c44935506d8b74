// Xen's grant tables (xen/include/public/grant_table.h, xen/common/grant_table.c).
//
// Each domain's table lives in frames of machine memory that the hypervisor
// shares with the domain (and, for v2, separate status frames); the guest
// writes entries through its own memory path and the hypervisor reads and
// updates them with compare-and-exchange when it acts on them. Besides the
// shared entries the hypervisor keeps, per grant reference, an active entry
// (pin counts and the frame in use) and, per mapping domain, a maptrack
// table whose indexes are the handles map_grant_ref returns.
//
// Every GNTTABOP_* is one member below, taking the batch as the hypercall
// does and returning the hypercall's rc (0, -errno, or > 0 for a partial
// batch as Xen's continuations would report it); per-operation results are
// written into the structures (status = GNTST_*).
#pragma once
#include <cerrno>
#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include <systemc>

#include "models/common/stats.h"
#include "models/hyp/hypercall.h"

namespace iotwin::hyp {

class hypervisor;
struct domain;

namespace gnttab {

using grant_ref_t = std::uint32_t;
using grant_handle_t = std::uint32_t;

// GNTTABOP_* (the hypercall's cmd).
enum : unsigned {
    GNTTABOP_map_grant_ref = 0,
    GNTTABOP_unmap_grant_ref = 1,
    GNTTABOP_setup_table = 2,
    GNTTABOP_dump_table = 3,
    GNTTABOP_transfer = 4,
    GNTTABOP_copy = 5,
    GNTTABOP_query_size = 6,
    GNTTABOP_unmap_and_replace = 7,
    GNTTABOP_set_version = 8,
    GNTTABOP_get_status_frames = 9,
    GNTTABOP_get_version = 10,
    GNTTABOP_swap_grant_ref = 11,
    GNTTABOP_cache_flush = 12,
};

// GNTST_* (per-operation status).
enum : std::int16_t {
    GNTST_okay = 0,
    GNTST_general_error = -1,
    GNTST_bad_domain = -2,
    GNTST_bad_gntref = -3,
    GNTST_bad_handle = -4,
    GNTST_bad_virt_addr = -5,
    GNTST_bad_dev_addr = -6,
    GNTST_no_device_space = -7,
    GNTST_permission_denied = -8,
    GNTST_bad_page = -9,
    GNTST_bad_copy_arg = -10,
    GNTST_address_too_big = -11,
    GNTST_eagain = -12,
    GNTST_no_space = -13,
};
const char* gntst_name(int status);                 // "GNTST_okay"; "" when unknown
std::optional<int> gntst_value(const std::string& name);

// Entry flags (GTF_*).
enum : std::uint16_t {
    GTF_invalid = 0,
    GTF_permit_access = 1,
    GTF_accept_transfer = 2,
    GTF_transitive = 3,
    GTF_type_mask = 3,
    GTF_readonly = 1u << 2,
    GTF_reading = 1u << 3,
    GTF_writing = 1u << 4,
    GTF_PWT = 1u << 5,
    GTF_PCD = 1u << 6,
    GTF_PAT = 1u << 7,
    GTF_sub_page = 1u << 8,
    GTF_transfer_committed = 1u << 2,
    GTF_transfer_completed = 1u << 3,
};

// map_grant_ref flags (GNTMAP_*).
enum : std::uint32_t {
    GNTMAP_device_map = 1u << 0,
    GNTMAP_host_map = 1u << 1,
    GNTMAP_readonly = 1u << 2,
    GNTMAP_application_map = 1u << 3,
    GNTMAP_contains_pte = 1u << 4,
};

// gnttab_copy flags (GNTCOPY_*).
enum : std::uint16_t {
    GNTCOPY_source_gref = 1u << 0,
    GNTCOPY_dest_gref = 1u << 1,
};

// Entry layouts in the shared frames.
constexpr std::uint64_t page_size = 4096;
constexpr unsigned v1_entry_size = 8;   // grant_entry_v1: flags u16, domid u16, frame u32
constexpr unsigned v2_entry_size = 16;  // grant_entry_v2: header u32 + 12 bytes of the kind's fields
constexpr unsigned status_entry_size = 2;  // grant_status_t
constexpr unsigned v1_per_frame = page_size / v1_entry_size;  // 512
constexpr unsigned v2_per_frame = page_size / v2_entry_size;  // 256
constexpr unsigned status_per_frame = page_size / status_entry_size;  // 2048
// Status frames needed for `grant_frames` v2 frames (Xen's grant_to_status_frames).
constexpr unsigned status_frames_for(unsigned grant_frames) {
    return (grant_frames * v2_per_frame + status_per_frame - 1) / status_per_frame;
}
constexpr unsigned maptrack_per_frame = page_size / 16;  // sizeof(struct grant_mapping)
// The first grant references the toolstack reserves (GNTTAB_NR_RESERVED_ENTRIES):
// the console and xenstore grants, which set_version keeps across a switch.
constexpr unsigned nr_reserved_entries = 8;

// The argument structures, field for field as the public header has them.
struct map_grant_ref {
    std::uint64_t host_addr = 0;
    std::uint32_t flags = 0;
    grant_ref_t ref = 0;
    domid_t dom = 0;
    std::int16_t status = 0;
    grant_handle_t handle = 0;
    std::uint64_t dev_bus_addr = 0;
};
struct unmap_grant_ref {
    std::uint64_t host_addr = 0;
    std::uint64_t dev_bus_addr = 0;
    grant_handle_t handle = 0;
    std::int16_t status = 0;
};
struct setup_table {
    domid_t dom = 0;
    std::uint32_t nr_frames = 0;
    std::int16_t status = 0;
    std::vector<std::uint64_t> frame_list;  // out: nr_frames machine (PV) or guest (HVM) frames, as Xen writes them
};
struct dump_table {
    domid_t dom = 0;
    std::int16_t status = 0;
};
struct transfer {
    std::uint64_t mfn = 0;
    domid_t domid = 0;
    grant_ref_t ref = 0;
    std::int16_t status = 0;
};
struct copy_ptr {
    grant_ref_t ref = 0;     // with GNTCOPY_*_gref
    std::uint64_t gmfn = 0;  // without
    domid_t domid = 0;
    std::uint16_t offset = 0;
};
struct copy {
    copy_ptr source, dest;
    std::uint16_t len = 0;
    std::uint16_t flags = 0;
    std::int16_t status = 0;
};
struct query_size {
    domid_t dom = 0;
    std::uint32_t nr_frames = 0;
    std::uint32_t max_nr_frames = 0;
    std::int16_t status = 0;
};
struct unmap_and_replace {
    std::uint64_t host_addr = 0;
    std::uint64_t new_addr = 0;
    grant_handle_t handle = 0;
    std::int16_t status = 0;
};
struct set_version {
    std::uint32_t version = 0;
};
struct get_status_frames {
    std::uint32_t nr_frames = 0;
    domid_t dom = 0;
    std::int16_t status = 0;
    std::vector<std::uint64_t> frame_list;
};
struct get_version {
    domid_t dom = 0;
    std::uint32_t version = 0;
};
struct swap_grant_ref {
    grant_ref_t ref_a = 0, ref_b = 0;
    std::int16_t status = 0;
};

// Pin counts of an active entry, four 8-bit counters as Xen packs them.
constexpr std::uint32_t GNTPIN_hstw_inc = 1u << 0, GNTPIN_hstr_inc = 1u << 8, GNTPIN_devw_inc = 1u << 16,
                        GNTPIN_devr_inc = 1u << 24;
constexpr std::uint32_t GNTPIN_cntr_mask = 0xff;

// What the hypervisor keeps per grant reference in use (struct active_grant_entry).
struct active_entry {
    std::uint32_t pin = 0;
    domid_t domid = 0;            // the domain the grant is used by
    domid_t src_domid = 0;        // for a transitive grant: where the frame really comes from
    grant_ref_t trans_gref = 0;
    std::uint64_t maddr = 0;      // machine address of the frame in use
    std::uint16_t start = 0, length = 0;  // the byte range the grant allows (sub-page)
    bool is_sub_page = false;
};

// One mapping a domain holds (struct grant_mapping); its index is the handle.
struct mapping {
    bool in_use = false;
    grant_ref_t ref = 0;
    domid_t domid = 0;            // the granting domain
    std::uint32_t flags = 0;      // GNTMAP_* it was made with
    std::uint64_t host_addr = 0;  // where it appears in the mapping domain (host_map)
    std::uint64_t dev_bus_addr = 0;  // where its devices reach it (device_map)
    std::uint64_t maddr = 0;      // the frame
};

// A domain's grant table.
struct table {
    domid_t owner = 0;
    unsigned version = 1;  // 1 or 2 (0 never: every table starts at v1)
    unsigned max_version = 2;
    unsigned max_frames = 64;
    unsigned max_maptrack_frames = 1024;
    std::vector<std::uint64_t> frames;         // machine addresses of the shared frames (nr_grant_frames)
    std::vector<std::uint64_t> status_frames;  // v2 only
    std::vector<active_entry> active;          // one per entry of `frames`
    std::vector<mapping> maptrack;             // handles; grows by maptrack_per_frame
    unsigned maptrack_frames = 0;
    unsigned entries() const { return unsigned(frames.size()) * (version == 1 ? v1_per_frame : v2_per_frame); }
};

// Costs of the hypervisor's work (docs/timing.md gives the source of each).
struct grant_timing {
    sc_core::sc_time op = sc_core::sc_time(50, sc_core::SC_NS);           // per operation of a batch: copy in/out, checks, locks
    sc_core::sc_time pte_update = sc_core::sc_time(40, sc_core::SC_NS);   // one P2M (or PV page-table) entry written
    sc_core::sc_time copy_per_byte = sc_core::sc_time(50, sc_core::SC_PS); // memcpy of a grant copy (~20 GB/s)
};

class grant_tables {
public:
    grant_tables(hypervisor& h, const grant_timing& t) : h_(h), t_(t) {}

    // A domain was created with these limits (and the version its kernel
    // selects at boot); allocates its first frame. Returns 0 or an errno.
    int domain_created(domain& d, unsigned version, unsigned max_version, unsigned max_frames, unsigned max_maptrack_frames,
                       sc_core::sc_time& t);
    // XEN_DOMCTL_destroydomain: releases the domain's mappings of others'
    // grants, then its table, in Xen's order (gnttab_release_mappings, then
    // the table frames).
    void domain_destroyed(domain& d, sc_core::sc_time& t);

    // HYPERVISOR_grant_table_op: dispatches on cmd; the raw form (any cmd, any
    // count) is hc itself.
    long grant_table_op(hypercall& hc, sc_core::sc_time& d);

    // The operations, each on a batch of `count` structures.
    long map_grant_ref(domid_t caller, gnttab::map_grant_ref* ops, unsigned count, sc_core::sc_time& d);
    long unmap_grant_ref(domid_t caller, gnttab::unmap_grant_ref* ops, unsigned count, sc_core::sc_time& d);
    long setup_table(domid_t caller, gnttab::setup_table* ops, unsigned count, sc_core::sc_time& d);
    long dump_table(domid_t caller, gnttab::dump_table* ops, unsigned count, sc_core::sc_time& d);
    long transfer(domid_t caller, gnttab::transfer* ops, unsigned count, sc_core::sc_time& d);
    long copy(domid_t caller, gnttab::copy* ops, unsigned count, sc_core::sc_time& d);
    long query_size(domid_t caller, gnttab::query_size* ops, unsigned count, sc_core::sc_time& d);
    long unmap_and_replace(domid_t caller, gnttab::unmap_and_replace* ops, unsigned count, sc_core::sc_time& d);
    long set_version(domid_t caller, gnttab::set_version* op, unsigned count, sc_core::sc_time& d);
    long get_status_frames(domid_t caller, gnttab::get_status_frames* ops, unsigned count, sc_core::sc_time& d);
    long get_version(domid_t caller, gnttab::get_version* op, unsigned count, sc_core::sc_time& d);
    long swap_grant_ref(domid_t caller, gnttab::swap_grant_ref* ops, unsigned count, sc_core::sc_time& d);

    table* find(domid_t dom);
    const table* find(domid_t dom) const;

    // The grant in force through which `mapper` reaches the machine frame at
    // `maddr` (for grant_integrity): the mapping, or none.
    const mapping* mapping_of(domid_t mapper, std::uint64_t maddr) const;

    void stats(stat_map& out, const std::string& prefix) const;

    // --- The shared entries, as the hypervisor reads and updates them. ---
    // All fields of entry `ref` as the table's version lays them out.
    struct shared_entry {
        std::uint16_t flags = 0;
        domid_t domid = 0;
        std::uint64_t frame = 0;                   // v1 frame, v2 full_page / sub_page frame
        std::uint16_t page_off = 0, length = 0;    // v2 sub_page
        domid_t trans_domid = 0;                   // v2 transitive
        grant_ref_t trans_gref = 0;
    };
    std::uint64_t entry_maddr(const table& t, grant_ref_t ref) const;   // the entry's header
    std::uint64_t status_maddr(const table& t, grant_ref_t ref) const;  // v2: its status word
    shared_entry read_entry(const table& t, grant_ref_t ref, sc_core::sc_time& d);
    // The header word (flags | domid << 16, Xen's union grant_combo) read and
    // compare-and-exchanged atomically: writes `desired` only if the word
    // still holds `expected`; returns what it held. Nothing else runs in
    // between (no SystemC process switch inside).
    std::uint32_t read_header(const table& t, grant_ref_t ref, sc_core::sc_time& d);
    std::uint32_t cmpxchg_header(const table& t, grant_ref_t ref, std::uint32_t expected, std::uint32_t desired,
                                 sc_core::sc_time& d);
    // The flags word GTF_reading / GTF_writing live in: the header (v1) or
    // the status frame (v2).
    std::uint16_t status_flags(const table& t, grant_ref_t ref, sc_core::sc_time& d);
    void set_status_flags(const table& t, grant_ref_t ref, std::uint16_t bits, sc_core::sc_time& d);
    void clear_status_flags(const table& t, grant_ref_t ref, std::uint16_t bits, sc_core::sc_time& d);

private:
    hypervisor& h_;
    grant_timing t_;
    std::vector<table> tables_;  // indexed by domid

    // -- mapping and copying --
public:
    // Whether the machine frame at `maddr` is held by a grant mapping of any
    // domain (its memory cannot be freed yet).
    bool frame_held(std::uint64_t maddr) const;
    // Whether `mapper`'s devices may reach the frame at `maddr` through the
    // identity IOMMU mapping of a grant in force (writable: for writes).
    bool device_may_reach(domid_t mapper, std::uint64_t maddr, bool write) const;
    // Whether the mapping `handle` of `mapper` is in force for the frame at
    // `maddr` with host_map (and writable, for a write): grant_integrity's rule.
    bool host_mapping_allows(domid_t mapper, std::uint32_t handle, std::uint64_t maddr, bool write) const;
    // Whether a grant mapping of `mapper` ever gave its devices the frame at `maddr`.
    bool ever_device_mapped(domid_t mapper, std::uint64_t maddr) const {
        return ever_iommu_.count({mapper, maddr & ~(page_size - 1)}) > 0;
    }

private:
    static constexpr std::uint32_t maptrack_tail = 0xffffffffu;  // MAPTRACK_TAIL
    // The maptrack free list of a domain (its one vCPU's, as Xen keeps one per vCPU).
    struct maptrack_list {
        std::vector<std::uint32_t> next;           // per handle: the next free handle
        std::uint32_t head = maptrack_tail, tail = maptrack_tail;
        std::vector<std::uint64_t> frames;         // the maptrack frames (hypervisor memory)
    };
    // Per (mapper, frame): the read-only and writable grant mappings that
    // made an IOMMU entry (Xen's maptrack_tree).
    struct iommu_count { unsigned rd = 0, wr = 0; };
    struct frame_lookup { int status; std::uint64_t maddr; };
    std::vector<maptrack_list> mt_;
    std::map<std::pair<domid_t, std::uint64_t>, iommu_count> iommu_refs_;
    std::map<std::uint64_t, unsigned> frame_refs_;  // frame -> mappings of it in force
    std::set<std::pair<domid_t, std::uint64_t>> ever_iommu_;
    std::uint64_t maps_ = 0, unmaps_ = 0, copies_ = 0, copied_bytes_ = 0;

    maptrack_list& mt(domid_t d);
    std::uint32_t get_maptrack_handle(domid_t ld);
    void put_maptrack_handle(domid_t ld, std::uint32_t handle);
    frame_lookup lookup_frame(const domain& rd, std::uint64_t frame);
    bool need_iommu(const domain& ld, const domain& rd) const;
    int set_status(table& rt, grant_ref_t ref, active_entry& act, bool readonly, bool mapflag, domid_t ldom, sc_core::sc_time& d);
    void map_one(domain& ld, gnttab::map_grant_ref& op, sc_core::sc_time& d);
    struct unmap_common {
        std::uint64_t host_addr = 0, dev_bus_addr = 0, new_addr = 0;
        std::uint32_t handle = 0;
        bool replace = false;
        std::int16_t status = 0;
    };
    void unmap_one(domain& ld, unmap_common& op, sc_core::sc_time& d);
    // A batch of unmaps of either structure: host_addr and handle common,
    // `more` fills what the structure adds.
    template <class S, class F> long unmap_batch(domid_t caller, S* ops, unsigned count, sc_core::sc_time& d, F more) {
        domain* ld = find_domain(caller);
        if (!ld) return -ESRCH;
        for (unsigned i = 0; i < count; ++i) {
            unmap_common u;
            u.host_addr = ops[i].host_addr;
            u.handle = ops[i].handle;
            more(ops[i], u);
            unmap_one(*ld, u, d);
            ops[i].status = u.status;
        }
        return 0;
    }
    domain* find_domain(domid_t id);
    // Drops a mapping's pins and GTF flags (unmap_common_complete).
    void drop_pins(domain& rd, grant_ref_t ref, std::uint32_t done_flags, sc_core::sc_time& d);
    void iommu_put(domain& ld, std::uint64_t maddr, bool readonly, sc_core::sc_time& d);
    void mapping_gone(std::uint64_t maddr, domid_t granter, sc_core::sc_time& d);
    void finish_destroy(domain& dd, sc_core::sc_time& d);
    struct copy_buf { domain* dom = nullptr; bool have_grant = false; grant_ref_t ref = 0; bool readonly = true;
                      std::uint64_t maddr = 0; std::uint16_t off = 0, len = 0; };
    int acquire_for_copy(domain& rd, grant_ref_t gref, domid_t ldom, bool readonly, bool allow_transitive,
                         std::uint64_t& maddr, std::uint16_t& off, std::uint16_t& len, sc_core::sc_time& d);
    void release_for_copy(domain& rd, grant_ref_t gref, bool readonly, sc_core::sc_time& d);
    int copy_one(domain& ld, const gnttab::copy& op, sc_core::sc_time& d);
    // -- table and versions --
    // (grant_table_admin.cpp: growth, status frames, version switches, transfer.)
    int grow_table(domain& d, table& t, unsigned nr_frames, sc_core::sc_time& tm);
    // `n` cleared frames owned by `d` appended to `out`, or none (false).
    bool alloc_cleared(domain& d, unsigned n, std::vector<std::uint64_t>& out, sc_core::sc_time& tm);
    int populate_status_frames(domain& d, table& t, unsigned nr_grant_frames, sc_core::sc_time& tm);
    void unpopulate_status_frames(domain& d, table& t);
    int set_version_of(domain& d, table& t, unsigned version, sc_core::sc_time& tm);
    domain* by_any_id(domid_t caller, domid_t dom);
    bool may_target(domid_t caller, const domain& target);
    std::int16_t swap_one(table& t, grant_ref_t a, grant_ref_t b, sc_core::sc_time& tm);
    std::int16_t transfer_one(domain& d, gnttab::transfer& op, sc_core::sc_time& tm);
    bool prepare_for_transfer(domain& e, domid_t giver, grant_ref_t ref, sc_core::sc_time& tm);
    bool page_in_use(std::uint64_t maddr) const;
    std::vector<long> page_delta_;  // pages a domain gained (+) or gave away (-) by transfer, by domid
    std::uint64_t frames_allocated_ = 0, status_frames_allocated_ = 0, grow_failures_ = 0, set_version_calls_ = 0,
                  version_switches_ = 0, transfers_ = 0, transfers_failed_ = 0, swaps_ = 0;
};

} // namespace gnttab
} // namespace iotwin::hyp
