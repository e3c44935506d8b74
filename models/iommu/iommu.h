// The IOMMU (DMA remapping unit) of the root complex, after Intel VT-d: every
// request a device sends upstream is looked up by its requester ID (and
// PASID) in the root and context tables (legacy mode), or the scalable-mode
// root, context, PASID directory and PASID tables (scalable.cpp), cached in
// the context and PASID caches; the address is translated through the IOTLB
// (tagged by domain and PASID, superpage entries) or by a page walk made of
// timed TLM reads of machine memory, which holds a pending-miss slot and a
// page walker for its whole length (walkers.h) and skips the levels the
// paging-structure caches hold (translate.cpp). A request that fails any
// check is recorded as a fault (requester, address, reason as VT-d numbers
// it), answered with Unsupported Request and never reaches memory; fault
// events raise the interrupt programmed in FECTL/FEDATA/FEADDR (faults.cpp).
// Also: register-based and queued invalidation (invalidation.cpp), interrupt
// remapping of MSIs (interrupt_remap.cpp), ATS translation and translated
// requests with device-TLB invalidation (ats.cpp), and page-granular DMI that
// every invalidation revokes (dmi.cpp). docs/iommu/README.md has a page for each.
// The register block answers CPUs only: a device's request that reaches it
// (translation off, or any route past the root complex's inbound decode) is
// completed with Unsupported Request and changes no register.
// Source: Intel VT-d Architecture Specification rev. 3.x, chapters 3-7, 9-11.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/common/initiator_socket.h"
#include "models/common/params.h"
#include "models/common/register_bank.h"
#include "models/common/stats.h"
#include "models/common/target_socket.h"
#include "models/common/timed_resource.h"
#include "models/iommu/context_cache.h"
#include "models/iommu/fault_recorder.h"
#include "models/iommu/iotlb.h"
#include "models/iommu/paging_cache.h"
#include "models/iommu/scalable.h"
#include "models/iommu/walkers.h"
#include "models/pcie/protocol.h"

namespace iotwin::iommu {

struct iommu_params {
    std::uint64_t iotlb_entries = 64;
    std::uint64_t iotlb_ways = 4;
    replacement iotlb_replacement = replacement::lru;  // the scenario key iotlb.replacement (a name, read by the loader)
    std::uint64_t iotlb_seed = 1;
    std::uint64_t iotlb_superpage_entries = 0;
    std::uint64_t iotlb_superpage_ways = 4;
    std::uint64_t pml4_cache_entries = 0;
    std::uint64_t pdpe_cache_entries = 0;
    std::uint64_t pde_cache_entries = 0;
    std::uint64_t context_cache_entries = 16;
    std::uint64_t fault_records = 8;
    std::uint64_t address_width = 48;  // MGAW and the one SAGAW the unit supports: 39 or 48
    std::uint64_t sllps = 3;           // CAP.SLLPS: bit 0 2 MiB, bit 1 1 GiB pages
    bool interrupt_remapping = true;   // ECAP.IR: the unit remaps interrupts, and the host enables it
    bool ir_source_validation = true;  // the host's IRTEs verify the requester ID (SVT = 1), as Linux's set_msi_sid
    bool ir_compat_pass_through = false;  // GCMD.CFI as the host sets it: false blocks (Linux), true passes them
    std::uint64_t ir_entry_cache = 64;    // interrupt entry cache: IRTEs held (fully associative, LRU); 0 none
    std::uint64_t domains = 65536;     // CAP.ND: domain IDs the unit supports (16, 64, 256 ... 65536); VFIO's IO spaces use DIDs from 0x8000
    bool fault_log_ratelimit = false;  // the host's fault handler prints through Linux's ratelimit
    sc_core::sc_time lookup_latency = sc_core::sc_time(2, sc_core::SC_NS);
    sc_core::sc_time walk_step_latency = sc_core::sc_time(3, sc_core::SC_NS);
    // platform.iommu.mode (legacy | scalable; the loader reads it): the unit
    // reports scalable-mode translation (ECAP.SMTS, FLTS, SLTS, PASID) and
    // honours RTADDR.TTM = 01.
    bool scalable = false;
    std::uint64_t pasid_cache_entries = 16;
    bool first_level_1g = true;  // CAP.FL1GP: 1 GiB first-level pages
    std::uint64_t walkers = 12;         // page walks in progress at once (walkers.h; docs/timing.md)
    std::uint64_t pending_misses = 16;  // IOTLB misses outstanding at once (docs/timing.md)
    bool device_tlb = true;            // ECAP.DT: ATS translation requests and device-TLB invalidation
    sc_core::sc_time ats_invalidation_timeout = sc_core::sc_time(60, sc_core::SC_SEC);
    // Queued invalidation (ECAP.QI, VT-d 6.5.2): the invalidation queue,
    // which Linux's intel-iommu uses whenever the unit reports it.
    bool queued_invalidation = true;
    // The hardware's own time to carry out one invalidation command
    // (register-based or a queued descriptor), besides the register and
    // memory accesses it makes.
    sc_core::sc_time invalidation_latency = sc_core::sc_time(500, sc_core::SC_NS);

    template <class V> void visit(V& v) {
        v("iotlb.entries", iotlb_entries, "entries", "IOTLB capacity (the 4 KiB array when iotlb.superpage_entries > 0)");
        v("iotlb.ways", iotlb_ways, "ways", "IOTLB associativity (entries must be a multiple)");
        v("iotlb.seed", iotlb_seed, "", "seed of the IOTLB's pseudo-random replacement (iotlb.replacement: random)");
        v("iotlb.superpage_entries", iotlb_superpage_entries, "entries",
          "a separate IOTLB array for 2 MiB and 1 GiB translations; 0: they share the one array");
        v("iotlb.superpage_ways", iotlb_superpage_ways, "ways", "associativity of the superpage array (its entries must be a multiple)");
        v("paging_cache.pml4_entries", pml4_cache_entries, "entries", "SL-PML4E cache (VT-d 6.2.4), fully associative; 0 disables it");
        v("paging_cache.pdpe_entries", pdpe_cache_entries, "entries", "SL-PDPE cache (VT-d 6.2.4), fully associative; 0 disables it");
        v("paging_cache.pde_entries", pde_cache_entries, "entries", "SL-PDE cache (VT-d 6.2.4), fully associative; 0 disables it");
        v("context_cache.entries", context_cache_entries, "entries", "context-cache capacity (fully associative)");
        v("fault_records", fault_records, "registers", "number of fault recording registers (CAP.NFR + 1)");
        v("address_width", address_width, "bits", "address width: 39 (3-level tables) or 48 (4-level); CAP.MGAW and SAGAW");
        v("sllps", sllps, "", "second-level superpage sizes the unit supports (CAP.SLLPS): 0 none, 1 2 MiB, 3 2 MiB and 1 GiB");
        v("pasid_cache.entries", pasid_cache_entries, "entries", "PASID-cache capacity in scalable mode (fully associative; the scalable-mode context cache has context_cache.entries)");
        v("first_level_1g", first_level_1g, "", "CAP.FL1GP: first-level tables may map 1 GiB pages (scalable mode)");
        v("interrupt_remapping", interrupt_remapping, "", "the unit remaps interrupts (ECAP.IR) and the host enables it: remappable-format MSIs through its table; VFIO's type1 asks for it");
        v("ir.source_validation", ir_source_validation, "", "the host's IRTEs verify the source ID of each MSI (SVT=1, SQ=0, the requester ID)");
        v("ir.compat_pass_through", ir_compat_pass_through, "", "compatibility-format MSIs while remapping is on: false blocks them (fault 0x25, as Linux leaves GCMD.CFI clear), true passes them unremapped (CFI)");
        v("ir.entry_cache", ir_entry_cache, "entries", "interrupt entry cache: valid IRTEs the unit holds (fully associative, LRU) until an interrupt entry cache invalidation (queued descriptor 0x4) drops them; 0: every MSI reads its IRTE");
        v("fault_log.ratelimit", fault_log_ratelimit, "", "the host's DMAR fault handler logs through Linux's printk ratelimit (10 messages per 5 s, status lines included); records beyond it are cleared unlogged");
        v("domains", domains, "domain IDs", "CAP.ND: the domain IDs the unit supports, a power of 4 times 16 (16 .. 65536); a context entry naming a larger DID is fault 0xB");
        v("latency.lookup", lookup_latency, "time", "context-cache and IOTLB lookup per request");
        v("latency.walk_step", walk_step_latency, "time", "page walker overhead per table level, besides the memory read");
        v("walkers", walkers, "walkers", "page walks in progress at once; a walker is busy for the whole walk (1..64)");
        v("pending_misses", pending_misses, "misses", "IOTLB misses outstanding at once, waiting for a walker or walking (1..256)");
        v("device_tlb", device_tlb, "", "ECAP.DT: the unit answers ATS translation requests and invalidates device TLBs (context entries may say TT=01)");
        v("ats.invalidation_timeout", ats_invalidation_timeout, "time", "a device-TLB invalidation without Invalidate Completion after this is an Invalidation Time-out Error");
        v("queued_invalidation", queued_invalidation, "", "the unit has the invalidation queue (ECAP.QI); false: register-based invalidation only");
        v("latency.invalidation", invalidation_latency, "time", "the unit's time to carry out one invalidation command or descriptor");
    }
};

// One fault as the simulator saw it (the hardware registers keep fewer).
struct fault_event {
    fault_record record;
    sc_core::sc_time time;
    bool logged = false;  // false: dropped by overflow or fault processing disable
};

class iommu : public sc_core::sc_module {
public:
    target_socket<iommu, pcie::protocol_types> in;  // requests from the root complex
    initiator_socket<iommu> mem_out;  // table walks and translated requests
    tlm_utils::simple_target_socket<iommu> regs;         // the register block (MMIO)

    iommu(sc_core::sc_module_name name, const iommu_params& p);
    const iommu_params& params() const { return p_; }

    bool translation_enabled() const { return gsts_ & vtd::gsts::TES; }
    bool interrupt_remapping_enabled() const { return gsts_ & vtd::gsts::IRES; }
    const std::vector<fault_event>& faults() const { return faults_; }
    const iotlb& tlb() const { return tlb_; }
    const paging_cache& paging_caches() const { return psc_; }
    const context_cache& contexts() const { return ctx_; }
    void stats(stat_map& out) const;

    // Queued-invalidation descriptors of scalable mode (VT-d 3.x 6.5.2.4, 6.5.2.3),
    // with the descriptor's fields as arguments (scalable.cpp). False for a
    // reserved granularity (nothing is invalidated).
    // PASID-based-IOTLB invalidation (type 0x6): granularity 2 (Linux
    // QI_GRAN_NONG_PASID) every translation of (did, pasid), 3 (QI_GRAN_PSI_PASID)
    // 2^am pages at addr; ih: invalidation hint (leaf entries only).
    bool invalidate_pasid_iotlb(std::uint16_t did, std::uint32_t pasid, unsigned granularity, std::uint64_t addr,
                                unsigned am, bool ih);
    // PASID-cache invalidation (type 0x7): granularity 0 domain-selective,
    // 1 PASID-selective within the domain, 3 global.
    bool invalidate_pasid_cache(std::uint16_t did, std::uint32_t pasid, unsigned granularity);
    // --- ATS (ats.cpp) ---
    // Carries an Invalidate Request to function `sid` (the platform routes it
    // down the hierarchy); true when the function returned its Invalidate
    // Completion, `delay` then being the time it arrived.
    using device_tlb_port = std::function<bool(std::uint16_t sid, std::uint64_t addr, bool size, sc_core::sc_time& delay)>;
    void set_device_tlb_port(device_tlb_port p) { device_tlb_port_ = std::move(p); }
    // Device-TLB invalidation (queued invalidation's descriptor 0x3, VT-d
    // 6.5.2.5): an ATS Invalidate Request to function `sid` for `addr`
    // (`size`: the S bit).
    void invalidate_device_tlb(std::uint16_t sid, std::uint64_t addr, bool size, sc_core::sc_time& delay);
    // Device-TLB invalidations sent whose Invalidate Completion has not
    // arrived by `at` and whose time-out has not expired: an Invalidation
    // Wait descriptor completes only once this is 0 (VT-d 6.5.2.8).
    std::size_t device_tlb_invalidations_pending(const sc_core::sc_time& at) const;
    // Those that expired by `at` without a completion: each an Invalidation
    // Time-out Error (FSTS.ITE, VT-d 6.5.2.10).
    std::size_t device_tlb_invalidation_timeouts(const sc_core::sc_time& at) const;
    // When every device-TLB invalidation sent so far is over (completed or
    // timed out): where an Invalidation Wait descriptor after them completes.
    sc_core::sc_time device_tlb_invalidations_over_at() const;
    std::uint64_t device_tlb_completions() const { return dtlb_completed_; }
    // --- end ATS ---

private:
    struct outcome { bool ok = true; vtd::fault_reason reason{}; translation t; bool fpd = false; bool pass_through = false; std::uint16_t did = 0; };

    void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    void regs_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    // Legacy-mode translation of a request without PASID. The hit path (a
    // cached context, an IOTLB hit) is defined here; the misses are out of line.
    outcome translate(std::uint16_t sid, std::uint64_t iova, bool write, sc_core::sc_time& delay) {
        if (const context* c = ctx_.lookup(sid)) return translate_with(*c, iova, write, delay);
        return translate_context_miss(sid, iova, write, delay);
    }
    outcome translate_with(const context& c, std::uint64_t iova, bool write, sc_core::sc_time& delay) {
        outcome o;
        o.fpd = c.fault_processing_disable;
        o.did = c.did;
        if (c.translation_type == vtd::entry::TT_PASS_THROUGH) {
            o.t = {iova >> 12, true, true};
            o.pass_through = true;
            return o;
        }
        if (iova >> p_.address_width) {
            o.ok = false;
            o.reason = vtd::fault_reason::address_beyond_mgaw;
            return o;
        }
        if (const translation* t = tlb_.lookup(c.did, no_pasid, iova >> 12)) o.t = *t;
        else if (!walk_miss(c, iova, write, o, delay)) return o;
        if (write ? !o.t.write : !o.t.read) {
            o.ok = false;
            o.reason = write ? vtd::fault_reason::write_not_permitted : vtd::fault_reason::read_not_permitted;
        }
        return o;
    }
    // The out-of-line parts (translate.cpp): a context-cache miss fetches the
    // entry; an IOTLB miss walks the page table and fills the IOTLB (false
    // when the walk faulted, `o` then saying why).
    outcome translate_context_miss(std::uint16_t sid, std::uint64_t iova, bool write, sc_core::sc_time& delay);
    bool walk_miss(const context& c, std::uint64_t iova, bool write, outcome& o, sc_core::sc_time& delay);
    bool fetch_context(std::uint16_t sid, context& c, vtd::fault_reason& why, sc_core::sc_time& delay);
    // `order`: the page size found (0, 9 or 18: 4 KiB, 2 MiB, 1 GiB).
    bool walk(const context& c, std::uint64_t iova, translation& t, unsigned& order, vtd::fault_reason& why, bool write,
              sc_core::sc_time& delay);
    bool read_qword(std::uint64_t addr, std::uint64_t& v, sc_core::sc_time& delay);
    void report_fault(const fault_record& f, bool fpd, sc_core::sc_time& delay);
    // Fault events (faults.cpp): a status went from clear to set; the message
    // itself; software serviced a status (IP may clear).
    void fault_event_raised(sc_core::sc_time& delay);
    void send_fault_message(sc_core::sc_time& delay);
    void fault_condition_serviced();
    // A blocked interrupt request (interrupt_remap.cpp).
    void block_interrupt(tlm::tlm_generic_payload& gp, pcie::pcie_ext& ext, vtd::fault_reason why, std::uint32_t index,
                         bool fpd, sc_core::sc_time& delay);
    // Passes a request on to the system side, whose targets answer in TLM
    // terms only: the completion status follows their response.
    void forward(tlm::tlm_generic_payload& gp, pcie::pcie_ext& ext, sc_core::sc_time& delay);

    std::uint64_t reg_read(std::uint32_t off, unsigned len) const;
    void reg_write(std::uint32_t off, unsigned len, std::uint64_t v);
    // What an invalidation removes from the caches (translate.cpp): context
    // entries, and translations (IOTLB and paging-structure caches) of
    // 2^am pages at addr for a page-selective one. `ih` (invalidation hint,
    // IVA_REG bit 6): only leaf entries changed, the paging-structure caches
    // keep theirs (VT-d 6.5.1.2). `pasid`: only the entries of that PASID
    // (nullopt: every PASID of the domain).
    void drop_contexts(vtd::invalidation_granularity g, std::uint16_t did, std::uint16_t sid, unsigned function_mask);
    void drop_translations(vtd::invalidation_granularity g, std::uint16_t did, std::uint64_t addr, unsigned am,
                           bool ih = false, std::optional<std::uint32_t> pasid = std::nullopt);
    // An interrupt message from a device (interrupt_remap.cpp).
    void remap_interrupt(tlm::tlm_generic_payload& gp, pcie::pcie_ext& ext, sc_core::sc_time& delay);
    // The interrupt entry cache invalidation (queued invalidation's descriptor 0x4).
    void invalidate_interrupt_entries(bool global, unsigned index, unsigned index_mask);
    // A request with an Address Type other than untranslated (ats.cpp).
    void ats_request(tlm::tlm_generic_payload& gp, pcie::pcie_ext& ext, sc_core::sc_time& delay);
    // The context entry of `sid` (from the context cache or the tables).
    bool context_of(std::uint16_t sid, context& c, vtd::fault_reason& why, sc_core::sc_time& delay);
    // The fault registers (FSTS, FECTL, the fault recording registers): false for any other offset.
    bool fault_reg_read(std::uint32_t off, unsigned len, std::uint64_t& v) const;
    bool fault_reg_write(std::uint32_t off, unsigned len, std::uint64_t v);
    // Scalable mode (scalable.cpp): the lookup through scalable-mode root and
    // context entries, the PASID directory and table, and the first-level walk.
    bool scalable_root() const { return root_ttm_ == vtd::sm::TTM_SCALABLE; }
    outcome translate_scalable(std::uint16_t sid, std::optional<std::uint32_t> pasid, std::uint64_t iova, bool write,
                               sc_core::sc_time& delay);
    bool fetch_sm_context(std::uint16_t sid, sm_context& c, vtd::fault_reason& why, sc_core::sc_time& delay);
    bool fetch_pasid_entry(const sm_context& c, std::uint32_t pasid, pasid_entry& e, bool& fpd, vtd::fault_reason& why,
                           sc_core::sc_time& delay);
    bool walk_first_level(std::uint64_t table, std::uint64_t iova, bool write, translation& t, unsigned& order, bool& cacheable,
                          vtd::fault_reason& why, sc_core::sc_time& delay);
    bool write_qword(std::uint64_t addr, std::uint64_t v, sc_core::sc_time& delay);
    void sm_drop_contexts(vtd::invalidation_granularity g, std::uint16_t did, std::uint16_t sid);
    void sm_stats(stat_map& out) const;
    void on_gcmd(std::uint64_t value);
    void on_ccmd(std::uint64_t value);
    void on_iotlb(std::uint64_t value);
    // DMI (dmi.cpp): a pointer to one translated page for a device, and its
    // revocation by every change that could make the page unreachable.
    bool get_direct_mem_ptr(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
    void memory_dmi_invalidated(sc_dt::uint64 start, sc_dt::uint64 end);
    struct dmi_grant {
        std::uint16_t sid = 0, did = 0;
        std::uint64_t iova_page = 0, frame = 0;
    };
    template <class Pred> void revoke_dmi(Pred revoked);
    bool run_pasid_iotlb_descriptor(std::uint64_t lo, std::uint64_t hi, sc_core::sc_time& delay);
    void revoke_dmi_translations(vtd::invalidation_granularity g, std::uint16_t did, std::uint64_t addr, unsigned am);
    void revoke_dmi_contexts(vtd::invalidation_granularity g, std::uint16_t did, std::uint16_t sid, unsigned function_mask);
    void revoke_all_dmi();
    // An IOTLB eviction ends the stale window a DMI pointer must not outlive.
    void check_evictions();
    // Queued invalidation (invalidation.cpp): after every register write,
    // the effects that take time (queue processing, event messages).
    void after_register_write(std::uint32_t off, sc_core::sc_time& delay);
    void process_invalidation_queue(sc_core::sc_time& delay);
    // Carries out one descriptor; false when it is invalid (IQE).
    bool run_descriptor(std::uint64_t lo, std::uint64_t hi, sc_core::sc_time& delay);
    // The fault event (FECTL/FEDATA/FEADDR) or invalidation completion event
    // (IECTL/IEDATA/IEADDR) message: sent, or pending (IP) while masked.
    void signal_event(std::uint32_t ctl, std::uint32_t data, std::uint32_t addr, std::uint32_t uaddr, sc_core::sc_time& delay);
    void send_event(std::uint32_t data, std::uint32_t addr, std::uint32_t uaddr, sc_core::sc_time& delay);
    bool queued_invalidation_enabled() const;

    iommu_params p_;
    register_bank bank_;
    std::uint32_t gsts_ = 0;
    std::uint64_t root_table_ = 0;  // latched by SRTP
    std::uint64_t root_ttm_ = 0;    // RTADDR.TTM latched by SRTP
    std::uint64_t irta_ = 0;        // IRTA latched by SIRTP
    iotlb tlb_;
    paging_cache psc_;
    context_cache ctx_;
    fault_recorder recorder_;
    sm_context_cache sm_ctx_;
    pasid_cache pasid_cache_;
    std::uint64_t first_level_walks_ = 0, ad_updates_ = 0, pasid_iotlb_invalidations_ = 0, pasid_cache_invalidations_ = 0;
    walk_resources walk_pool_;
    // The payload of the walker's table reads, reused: building one allocates.
    tlm::tlm_generic_payload walk_gp_;
    std::vector<fault_event> faults_;
    std::uint64_t translated_ = 0, untranslated_ = 0, blocked_ = 0, walks_ = 0, walk_reads_ = 0;
    std::uint64_t msi_remapped_ = 0, msi_compat_passed_ = 0, msi_blocked_ = 0, iec_invalidations_ = 0;
    // The interrupt entry cache: the two quadwords of each valid IRTE, by index.
    struct irte_words { std::uint64_t lo = 0, hi = 0; };
    lru_cache<std::uint32_t, irte_words> iec_{0};
    device_tlb_port device_tlb_port_;
    struct device_tlb_invalidation { std::uint16_t sid; sc_core::sc_time sent; std::optional<sc_core::sc_time> completed; };
    std::vector<device_tlb_invalidation> device_tlb_invalidations_;  // since the last that all had completed
    std::uint64_t translation_requests_ = 0, translated_passed_ = 0, dtlb_sent_ = 0, dtlb_completed_ = 0, dtlb_expired_ = 0;
    std::uint64_t msi_forwarded_ = 0, device_register_requests_ = 0, ctx_invalidations_ = 0, iotlb_invalidations_ = 0, fault_interrupts_ = 0;
    std::uint32_t qi_fsts_ = 0;  // FSTS.IQE: the invalidation queue stopped at an invalid descriptor
    std::uint64_t qi_descriptors_ = 0, qi_waits_ = 0, qi_errors_ = 0, invalidation_events_ = 0, register_invalidations_ignored_ = 0;
    std::vector<dmi_grant> dmi_grants_;
    std::uint64_t dmi_granted_ = 0, dmi_refused_ = 0, dmi_revoked_ = 0, evictions_seen_ = 0;
};

} // namespace iotwin::iommu
