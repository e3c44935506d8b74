// The IOMMU (DMA remapping unit) of the root complex, after Intel VT-d in
// legacy mode: every request a device sends upstream is looked up by its
// requester ID in the root and context tables (cached in the context cache),
// which give the domain ID and the top of a 4-level second-level page table;
// the IOVA is translated through the IOTLB or by a page walk made of timed TLM
// reads of machine memory; a request that fails any check is recorded as a
// fault (requester, address, reason), answered with Unsupported Request and
// never reaches memory. Fault events raise the interrupt programmed in
// FECTL/FEDATA/FEADDR.
//
// Modelled: GCMD/GSTS (TE, SRTP), RTADDR, CCMD (global/domain/device context
// invalidation), IOTLB_REG/IVA_REG (global/domain/page invalidation with
// address mask), primary fault logging with FSTS/FRCD, the fault event
// interrupt; context entry translation types "untranslated" and
// "pass-through"; 4 KiB, 2 MiB and 1 GiB pages; fault processing disable.
// Not modelled yet: queued invalidation, interrupt remapping, ATS (translated
// requests are blocked, ECAP.DT = 0), PASID / scalable mode, page-walk caches.
// Interrupt messages (writes to 0xFEEx_xxxx) are not subject to DMA remapping.
// The register block answers CPUs only: a device's request that reaches it
// (translation off, or any route past the root complex's inbound decode) is
// completed with Unsupported Request and changes no register.
// Source: Intel VT-d Architecture Specification rev. 3.x, chapters 3, 7, 9, 10.
#pragma once
#include <cstdint>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/common/params.h"
#include "models/common/register_bank.h"
#include "models/common/stats.h"
#include "models/common/timed_resource.h"
#include "models/iommu/context_cache.h"
#include "models/iommu/fault_recorder.h"
#include "models/iommu/iotlb.h"
#include "models/pcie/protocol.h"

namespace iotwin::iommu {

struct iommu_params {
    std::uint64_t iotlb_entries = 64;
    std::uint64_t iotlb_ways = 4;
    std::uint64_t context_cache_entries = 16;
    std::uint64_t fault_records = 8;
    std::uint64_t address_width = 48;  // MGAW and the one SAGAW the unit supports: 39 or 48
    bool interrupt_remapping = true;   // what the host kernel is told (the remapping table is not modelled)
    sc_core::sc_time lookup_latency = sc_core::sc_time(2, sc_core::SC_NS);
    sc_core::sc_time walk_step_latency = sc_core::sc_time(3, sc_core::SC_NS);
    // Queued invalidation (ECAP.QI, VT-d 6.5.2): the invalidation queue,
    // which Linux's intel-iommu uses whenever the unit reports it.
    bool queued_invalidation = true;
    // The hardware's own time to carry out one invalidation command
    // (register-based or a queued descriptor), besides the register and
    // memory accesses it makes.
    sc_core::sc_time invalidation_latency = sc_core::sc_time(500, sc_core::SC_NS);

    template <class V> void visit(V& v) {
        v("iotlb.entries", iotlb_entries, "entries", "IOTLB capacity");
        v("iotlb.ways", iotlb_ways, "ways", "IOTLB associativity (entries must be a multiple)");
        v("context_cache.entries", context_cache_entries, "entries", "context-cache capacity (fully associative)");
        v("fault_records", fault_records, "registers", "number of fault recording registers (CAP.NFR + 1)");
        v("address_width", address_width, "bits", "address width: 39 (3-level tables) or 48 (4-level); CAP.MGAW and SAGAW");
        v("interrupt_remapping", interrupt_remapping, "", "the platform remaps interrupts, as VFIO's type1 asks (the table itself is not modelled)");
        v("latency.lookup", lookup_latency, "time", "context-cache and IOTLB lookup per request");
        v("latency.walk_step", walk_step_latency, "time", "page walker overhead per table level, besides the memory read");
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
    tlm_utils::simple_target_socket<iommu, 32, pcie::protocol_types> in;  // requests from the root complex
    tlm_utils::simple_initiator_socket<iommu> mem_out;   // table walks and translated requests
    tlm_utils::simple_target_socket<iommu> regs;         // the register block (MMIO)

    iommu(sc_core::sc_module_name name, const iommu_params& p);
    const iommu_params& params() const { return p_; }

    bool translation_enabled() const { return gsts_ & vtd::gsts::TES; }
    const std::vector<fault_event>& faults() const { return faults_; }
    const iotlb& tlb() const { return tlb_; }
    void stats(stat_map& out) const;

private:
    struct outcome { bool ok = true; vtd::fault_reason reason{}; translation t; bool fpd = false; bool pass_through = false; std::uint16_t did = 0; };

    void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    void regs_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    outcome translate(std::uint16_t sid, std::uint64_t iova, bool write, sc_core::sc_time& delay);
    bool fetch_context(std::uint16_t sid, context& c, vtd::fault_reason& why, sc_core::sc_time& delay);
    bool walk(const context& c, std::uint64_t iova, translation& t, vtd::fault_reason& why, bool write,
              sc_core::sc_time& delay);
    bool read_qword(std::uint64_t addr, std::uint64_t& v, sc_core::sc_time& delay);
    void report_fault(const fault_record& f, bool fpd, sc_core::sc_time& delay);
    // Passes a request on to the system side, whose targets answer in TLM
    // terms only: the completion status follows their response.
    void forward(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);

    std::uint64_t reg_read(std::uint32_t off, unsigned len) const;
    void reg_write(std::uint32_t off, unsigned len, std::uint64_t v);
    // What an invalidation removes from the caches (translate.cpp): context
    // entries, and translations (IOTLB and paging-structure caches) of
    // 2^am pages at addr for a page-selective one.
    void drop_contexts(vtd::invalidation_granularity g, std::uint16_t did, std::uint16_t sid, unsigned function_mask);
    void drop_translations(vtd::invalidation_granularity g, std::uint16_t did, std::uint64_t addr, unsigned am);
    // An interrupt message from a device (interrupt_remap.cpp).
    void remap_interrupt(tlm::tlm_generic_payload& gp, pcie::pcie_ext& ext, sc_core::sc_time& delay);
    // The interrupt entry cache invalidation (queued invalidation's descriptor 0x4).
    void invalidate_interrupt_entries(bool global, unsigned index, unsigned index_mask);
    // Device-TLB invalidation (queued invalidation's descriptor 0x3): an ATS
    // Invalidate Request to function `sid` for `addr` (`size`: the S bit) (ats.cpp).
    void invalidate_device_tlb(std::uint16_t sid, std::uint64_t addr, bool size, sc_core::sc_time& delay);
    // The fault registers (FSTS, FECTL, the fault recording registers): false for any other offset.
    bool fault_reg_read(std::uint32_t off, unsigned len, std::uint64_t& v) const;
    bool fault_reg_write(std::uint32_t off, unsigned len, std::uint64_t v);
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
    iotlb tlb_;
    context_cache ctx_;
    fault_recorder recorder_;
    timed_resource walker_;
    std::vector<fault_event> faults_;
    std::uint64_t translated_ = 0, untranslated_ = 0, blocked_ = 0, walks_ = 0, walk_reads_ = 0;
    std::uint64_t msi_forwarded_ = 0, device_register_requests_ = 0, ctx_invalidations_ = 0, iotlb_invalidations_ = 0, fault_interrupts_ = 0;
    std::uint32_t qi_fsts_ = 0;  // FSTS.IQE: the invalidation queue stopped at an invalid descriptor
    std::uint64_t qi_descriptors_ = 0, qi_waits_ = 0, qi_errors_ = 0, invalidation_events_ = 0, register_invalidations_ignored_ = 0;
    std::uint64_t devtlb_invalidations_ = 0, iec_invalidations_ = 0;
    std::vector<dmi_grant> dmi_grants_;
    std::uint64_t dmi_granted_ = 0, dmi_refused_ = 0, dmi_revoked_ = 0, evictions_seen_ = 0;
};

} // namespace iotwin::iommu
