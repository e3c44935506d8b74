// One PCI function on the fabric: its configuration space, its BARs and the
// decoding they do, the command register's gating, an MSI capability, and the
// requests it issues upstream (DMA and MSI). Device models derive from it and
// supply the behaviour behind their BARs; bridges derive from it and route.
//
// Modelled: type-0 header with its RO/RW/RW1C bits, BAR sizing for 32/64-bit,
// prefetchable and I/O BARs, the Expansion ROM BAR (a ROM image with the 55AAh
// signature), Memory / I/O Space Enable gating decode (a disabled BAR answers
// Unsupported Request), Bus Master Enable gating every request the function
// issues (DMA, MSI, MSI-X), the MSI capability (32/64-bit address, multiple
// messages, per-vector masking with Pending bits), MSI-X (table and PBA in a
// BAR, Function Mask, per-vector mask, pending messages sent on unmask), Power
// Management (D0/D3hot, No_Soft_Reset), the PCI Express capability (port
// type, MPS/MRRS, FLR, link), Function Level Reset, ACS, SR-IOV with VF BARs,
// capture of the bus number from type-0 configuration writes.
// INTx messages and the default I/O space claim: models/pci/intx.cpp.
// Not modelled: D1/D2, PME, AER, the MSI-X table in a VF's BAR.
// Source: PCI Local Bus Spec 3.0 sections 6.2, 6.3 (ROM), 6.8; PCI Bus Power
// Management Interface Spec 1.2 ch. 5 and 7; PCIe Base Spec 5.0 sections
// 2.2.6.2 (ID capture), 6.6.2 (FLR), 7.5.1, 7.5.3, 7.7.1 (MSI), 7.7.2 (MSI-X), 9.3.3 (SR-IOV).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "models/common/initiator_socket.h"
#include "models/common/stats.h"
#include "models/pci/ats.h"
#include "models/pci/config_space.h"
#include "models/pcie/link.h"
#include "models/pcie/protocol.h"

namespace iotwin::pci {

struct function_params {
    std::uint8_t devfn = 0;               // position on the parent bus
    std::uint16_t vendor = 0x1af4;
    std::uint16_t device = 0x0001;
    std::uint32_t class_code = 0xff0000;  // "unassigned class"
    bool multifunction = false;           // header type bit 7
    std::optional<port_type> pcie;        // PCI Express capability; none for conventional PCI
    pcie::link_params link;               // advertised in the Link Capabilities register
    std::vector<bar_desc> bars;
    unsigned msi_vectors = 1;             // 0: no MSI capability; else 1, 2, 4, 8, 16 or 32
    bool msi_64bit = true;                // MSI 64-bit Address Capable
    bool msi_per_vector_mask = false;     // MSI Per-Vector Masking Capable (Mask and Pending Bits registers)
    // MSI-X capability (PCIe 5.0 7.7.2): Table Size vectors, the table and the
    // Pending Bit Array in BARs of the function; none: no MSI-X capability.
    struct msix_regs {
        unsigned vectors = 0;             // 1..2048
        unsigned table_bar = 0;           // BIR: index of the BAR holding the table
        std::uint32_t table_offset = 0;   // 8-byte aligned offset of the table in it
        unsigned pba_bar = 0;
        std::uint32_t pba_offset = 0;     // 8-byte aligned offset of the PBA
    };
    std::optional<msix_regs> msix;
    std::uint8_t interrupt_pin = 0;       // Interrupt Pin: 0 none, 1..4 INTA#..INTD#
    bool power_management = false;        // Power Management capability (D0/D3hot)
    bool no_soft_reset = true;            // PMCSR No_Soft_Reset: D3hot->D0 keeps the function's state
    bool flr = false;                     // Function Level Reset Capability (Device Capabilities bit 28)
    std::uint64_t rom_size = 0;           // Expansion ROM BAR size (power of two >= 2 KiB); 0: none
    // ACS extended capability: implemented bits and the control bits set at
    // reset (as Linux leaves them after boot); none: no capability.
    struct acs_regs { std::uint16_t cap = 0, ctrl = 0; };
    std::optional<acs_regs> acs;
    // ATS extended capability (PCIe 5.0 7.8.3): Invalidate Queue Depth (0
    // stands for 32) and Page Aligned Request; none: no capability.
    struct ats_regs { unsigned invalidate_queue_depth = 0; bool page_aligned = true; };
    std::optional<ats_regs> ats;
    // SR-IOV extended capability of a physical function.
    // vf_bars: VF BAR0..5 (memory BARs; each VF gets one of `size` bytes, at
    // least System Page Size, at VF BARi + n x size).
    struct sriov_regs {
        std::uint16_t total_vfs = 0, first_vf_offset = 1, vf_stride = 1, vf_device = 0;
        std::vector<bar_desc> vf_bars = {};
    };
    std::optional<sriov_regs> sriov;
    // Whether peer-to-peer requests from this function reach a peer directly
    // when ACS does not redirect them: functions of one device inside it, a
    // switch port across the switch. False models isolation that the device
    // gives without (working) ACS registers, as Linux's ACS quirks claim.
    bool internal_p2p = true;
    // The bus numbers firmware programmed into a bridge before the OS runs
    // (Primary, Secondary and Subordinate Bus Number); none: left at 0.
    // Their reset values stay 0: a reset bridge forgets them.
    struct bus_numbers { std::uint8_t primary = 0, secondary = 0, subordinate = 0; };
    std::optional<bus_numbers> firmware_buses;
    // Transaction limits of the function as a requester: read requests it may
    // have outstanding (tags), and posted requests in flight before it runs
    // out of flow-control credits.
    std::uint64_t read_tags = 32;
    std::uint64_t posted_credits = 32;
};

// One error a function logged in its status registers (PCIe 5.0 6.2): a
// posted request that ended in UR or CA, which returns nothing to its
// requester, shows only here (and in the IOMMU's fault log).
struct logged_error {
    pcie::completion status = pcie::completion::UR;  // UR: Unsupported Request Detected; CA: an abort (ACS violation)
    std::uint16_t requester_id = 0;
    std::uint64_t address = 0;
    bool posted = true;
};

// ACS Capability/Control bits (PCIe 5.0 7.7.8.2).
namespace acs_bits {
constexpr std::uint16_t SV = 0x01, TB = 0x02, RR = 0x04, CR = 0x08, UF = 0x10, EC = 0x20, DT = 0x40;
}

class pci_function : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<pci_function, 32, pcie::protocol_types> pcie_in;      // requests from the bus above
    initiator_socket<pci_function, pcie::protocol_types> pcie_out;  // requests this function issues

    pci_function(sc_core::sc_module_name name, const function_params& p);

    const function_params& params() const { return p_; }
    // The routing ID: bus captured from configuration writes, device and
    // function from the position (a virtual function computes its own).
    virtual pcie::bdf bdf() const { return {bus_, static_cast<std::uint8_t>(p_.devfn >> 3), static_cast<std::uint8_t>(p_.devfn & 7)}; }
    std::uint8_t devfn() const { return p_.devfn; }
    // Whether a configuration request for `target`, seen on a bus numbered
    // `bus` that this function sits on, is addressed to this function (Type 0).
    virtual bool decodes_config(const pcie::bdf& target, std::uint8_t bus) const {
        return target.bus == bus && target.devfn() == devfn();
    }
    virtual bool is_virtual_function() const { return false; }
    // Whether the function exists now (a virtual function only while enabled).
    virtual bool present() const { return true; }

    // ACS Control bits in force (0 without an ACS capability).
    std::uint16_t acs_control() const;
    // Whether this function and `other` are functions of one device that can
    // reach each other inside it: neither redirects peer-to-peer requests.
    bool reaches_sibling(const pci_function& other) const;

    // SR-IOV (a physical function): VF Enable and NumVFs as software set them.
    bool sriov_enabled() const;
    std::uint16_t num_vfs() const;
    std::uint16_t vf_routing_id(unsigned n) const;
    std::uint16_t total_vfs() const;
    // VF BAR `index` as each VF has it (size at least System Page Size), its
    // programmed base for VF 0, and VF Memory Space Enable.
    std::optional<bar_desc> vf_bar(unsigned index) const;
    std::uint64_t vf_bar_base(const bar_desc& b) const;
    bool vf_memory_enabled() const;
    // Told when software sets or clears VF Enable (the platform creates or
    // removes the VFs' IOMMU groups): the PF, whether enabled, NumVFs.
    using sriov_observer = std::function<void(pci_function&, bool enabled, std::uint16_t num_vfs)>;
    void set_sriov_observer(sriov_observer o) { sriov_observer_ = std::move(o); }

    // Sees every memory request this function's BARs complete (isolation checkers).
    using bar_observer = std::function<void(const pci_function&, const tlm::tlm_generic_payload&)>;
    void set_bar_observer(bar_observer o) { bar_observer_ = std::move(o); }
    // Sees every error this function logs in its status registers.
    using error_observer = std::function<void(const pci_function&, const logged_error&)>;
    void set_error_observer(error_observer o) { error_observer_ = std::move(o); }
    // Logs an error detected by this function (a root or downstream port for
    // the requests it forwards or refuses): Device Status Unsupported Request
    // Detected for UR, Non-Fatal Error Detected for CA.
    void log_error(const logged_error& e);
    config_space& config() { return cfg_; }
    const config_space& config() const { return cfg_; }

    // Whether a memory request to `addr` is claimed by this function (or, for a
    // bridge, by something below it).
    virtual bool claims_memory(std::uint64_t addr) const;
    // For bridges: whether configuration requests for `bus` go below this function.
    virtual bool routes_bus(std::uint8_t /*bus*/) const { return false; }
    // The memory BAR that decodes `addr`, if memory decoding is enabled.
    virtual std::optional<bar_desc> bar_at(std::uint64_t addr) const;
    // The programmed base of one of this function's BARs.
    virtual std::uint64_t bar_base(const bar_desc& b) const { return cfg_.bar_base(b); }
    // The I/O BAR that decodes I/O port `port`, if I/O Space Enable is set.
    std::optional<bar_desc> io_bar_at(std::uint32_t port) const;
    // Whether the Expansion ROM decodes `addr` (ROM enable and Memory Space Enable set).
    bool rom_claims(std::uint64_t addr) const;
    // Power Management: whether the function is in D3hot (it then answers
    // memory and I/O requests with UR and issues no requests).
    bool in_d3hot() const { return pm_cap_ && (cfg_.get(*pm_cap_ + pm_reg::pmcsr, 2) & pm_reg::pmcsr_state) == pm_reg::d3hot; }

    // Issues a memory request upstream as this function, as a stream of TLPs:
    // split at 4 KiB boundaries and at Max Payload Size (writes) or Max Read
    // Request Size (reads). Reads are non-posted: up to `read_tags` are
    // outstanding at once, so their latencies overlap, and the first
    // unsuccessful completion ends the transfer. Writes are posted: each costs
    // the function the time to put it on its link and a flow-control credit
    // until it arrives, and nothing comes back, so `status` stays SC whatever
    // became of them (the IOMMU's fault log and the ports' error status tell).
    // Bus Master Enable is checked before every TLP: clearing it stops a
    // transfer at its next request. The calling thread synchronises with the
    // global quantum between TLPs (temporal decoupling); `delay` is its local
    // time, in and out: out, when the last completion arrived (reads) or the
    // last TLP left (writes).
    struct dma_result {
        bool issued = false;   // at least one TLP went out
        bool posted = false;   // a write: no completion came back
        bool stopped = false;  // Bus Master Enable was cleared (or the VF disabled) mid-transfer
        pcie::completion status = pcie::completion::SC;  // of the first failed read completion
        bool iommu_fault = false;  // the IOMMU blocked part of it (the simulator's knowledge, not the device's)
        std::uint64_t failed_addr = 0;
        std::uint64_t bytes = 0;   // bytes requested by TLPs issued (writes) or completed successfully (reads)
        sc_core::sc_time next_issue;  // absolute time at which the function's next TLP may leave (a pipelining issuer's cue)
    };
    dma_result dma(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data, std::uint64_t len, sc_core::sc_time& delay);
    // The streaming fast path (TLM-2.0 DMI): the same request as dma(), made
    // through a direct memory pointer to the translated page when the fabric
    // and the IOMMU grant one (models/iommu/dmi.cpp), else through dma().
    // Pointers are cached per page and dropped when the fabric revokes them
    // (invalidate_direct_mem_ptr: unmaps, invalidations, domain changes, a
    // Bus Master Enable clear above) and when this function's own Bus Master
    // Enable is cleared or it is reset; Bus Master Enable is checked before
    // every access, as dma() does.
    dma_result stream(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data, std::uint64_t len, sc_core::sc_time& delay);
    std::uint64_t dmi_accesses() const { return dmi_accesses_; }
    std::size_t dmi_pointers() const { return dmi_cache_.size(); }
    // Whether a cached pointer covers the page of `addr` (for tests).
    bool has_dmi_pointer(std::uint64_t addr) const;
    // Sends MSI message `vector` (0-based within the enabled messages); false if
    // MSI is disabled, the vector is not enabled or masked (its Pending bit is
    // set instead), or bus mastering is off.
    bool send_msi(unsigned vector, sc_core::sc_time& delay);
    // Sends MSI-X vector `vector` from its table entry; false if MSI-X is
    // disabled, the vector does not exist, the function or the vector is
    // masked (its PBA bit is set instead and the message goes out when
    // software unmasks it), or bus mastering is off.
    bool send_msix(unsigned vector, sc_core::sc_time& delay);
    bool msi_enabled() const;
    bool msix_enabled() const;
    // Whether the function may signal INTx: neither MSI nor MSI-X is enabled
    // (PCIe 5.0 7.7.1.2, 7.7.2.2) and Command.Interrupt Disable is clear.
    bool intx_allowed() const;
    // Signals interrupt `vector` the way software enabled: MSI-X, else MSI.
    // False when neither is enabled (a device then uses INTx, if it has a pin).
    bool send_interrupt(unsigned vector, sc_core::sc_time& delay);

    // Legacy INTx (PCI 3.0 6.8, PCIe 5.0 2.2.8.1): the level of the function's
    // interrupt line as the device drives it. It shows in Status.Interrupt
    // Status; while Command.Interrupt Disable is clear, a change of level
    // sends Assert_INTx / Deassert_INTx upstream (the message carries the
    // function's Interrupt Pin; bridges swizzle it by device number).
    void set_intx(bool asserted);
    bool intx_asserted() const { return intx_level_; }
    std::uint8_t interrupt_pin() const;

    // --- INTx messages and I/O space routing (models/pci/intx.cpp) ---
    // The state the function's Assert/Deassert messages left upstream: the
    // line as the bridges and the interrupt controller see it.
    bool intx_signalled() const { return intx_sent_; }
    // Whether an I/O request for `port` is claimed by this function (its I/O
    // BARs, with I/O Space Enable) or, for a bridge, by something below it.
    virtual bool claims_io(std::uint32_t port) const;
    // --- end INTx / I/O ---

    // Function Level Reset (PCIe 5.0 6.6.2): Initiate FLR in Device Control
    // calls it. Aborts the function's DMA (no request leaves after it),
    // returns configuration space to its reset values except the sticky and
    // HwInit registers (bus number, Interrupt Line as software left it), and
    // resets the device model's own state (reset_device()).
    void function_level_reset();
    // Counts resets: a DMA started before one stops at its next request.
    std::uint64_t reset_count() const { return resets_; }

    // --- ATS (models/pci/ats.cpp) ---
    // Whether the function has an ATS capability and software set its Enable.
    bool ats_enabled() const;
    std::optional<std::uint32_t> ats_capability() const { return ats_cap_; }
    struct ats_result {
        bool issued = false;  // the Translation Request went out (ATS enabled, Bus Master Enable set)
        pcie::completion status = pcie::completion::SC;
        atc_entry entry;      // the translation (R = W = 0: no access)
    };
    // Sends a Translation Request for the page of `addr` and caches a
    // translation that grants any access in the ATC.
    ats_result ats_translate(std::uint64_t addr, sc_core::sc_time& delay);
    // DMA as an ATS-enabled function does it: each page's translation from
    // the ATC (a Translation Request on a miss), then a translated request
    // (AT = 10b) to the translated address; an access the translation does
    // not grant is not issued.
    dma_result dma_with_atc(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data, std::uint64_t len, sc_core::sc_time& delay);
    // DMA as software enabled the function: through its ATC when ATS is
    // enabled, untranslated requests otherwise.
    dma_result dma_as_enabled(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data, std::uint64_t len, sc_core::sc_time& delay) {
        return ats_enabled() ? dma_with_atc(cmd, addr, data, len, delay) : dma(cmd, addr, data, len, delay);
    }
    // An Invalidate Request (the untranslated address and S bit) from the
    // root complex: drops the matching ATC entries; true when the function
    // returns its Invalidate Completion.
    bool ats_invalidate(std::uint64_t addr, bool size_bit, sc_core::sc_time& delay);
    const address_translation_cache& atc() const { return atc_; }
    // The Address Type of the requests dma() issues (a malicious device sets any).
    void set_dma_address_type(pcie::address_type at) { dma_at_ = at; }
    // --- end ATS ---

    // A malicious function puts any requester ID in the requests it issues
    // (DMA and MSI) until this is reset; its physical origin stays its own.
    void forge_requester_id(std::optional<std::uint16_t> rid) { forged_requester_id_ = rid; }
    // The PASID TLP prefix the function's DMA requests carry until this is reset.
    void set_pasid(std::optional<std::uint32_t> pasid) { pasid_ = pasid; }

    // Bytes, from Device Control (PCIe 5.0 7.5.3.4); 128 and 512 without the capability.
    std::uint32_t max_payload() const { return pcie_cap_ ? 128u << ((cfg_.get(*pcie_cap_ + px_reg::devctl, 2) >> 5) & 7) : 128; }
    std::uint32_t max_read_request() const { return pcie_cap_ ? 128u << ((cfg_.get(*pcie_cap_ + px_reg::devctl, 2) >> 12) & 7) : 512; }

    virtual void stats(stat_map& out) const;

protected:
    // Device models reset their registers and engines here (FLR, bus reset).
    virtual void reset_device() {}
    // Whether the function answers an Invalidate Request with its
    // completion (a malicious device may never answer).
    virtual bool ats_completes_invalidations() const { return true; }
    // Behaviour behind the BARs: device models override this.
    virtual pcie::completion bar_access(const bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                        std::uint8_t* data, unsigned len, sc_core::sc_time& delay);
    // Configuration requests addressed to this function (type 0).
    void config_access(tlm::tlm_generic_payload& gp, pcie::pcie_ext* ext);
    // Requests from the bus above; bridges override to route below themselves.
    virtual void downstream(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    // DMI pointers of [start, end] revoked from above; a bridge passes the
    // revocation on to everything below it.
    virtual void dmi_invalidated(sc_dt::uint64 start, sc_dt::uint64 end);
    // Bus Master Enable went from set to clear (a configuration write or a reset).
    virtual void bus_master_cleared();

    function_params p_;
    config_space cfg_;
    std::uint8_t bus_ = 0;  // captured from type-0 configuration writes
    std::uint64_t dma_requests_ = 0, dma_bytes_ = 0, dma_errors_ = 0, msi_sent_ = 0, bme_blocked_ = 0, errors_logged_ = 0;

private:
    void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) { downstream(gp, delay); }
    // The caller's local time of the request being handled, for messages a
    // register write releases (an unmasked pending MSI or MSI-X).
    sc_core::sc_time& local_time();
    void define_msi();
    void define_msix();
    void define_pm();
    void define_rom_image();
    void after_config_reset();
    void msi_unmasked(std::uint32_t old_mask, std::uint32_t new_mask);
    bool deliver_msix(unsigned vector, sc_core::sc_time& delay);
    void msix_release_pending();
    bool msix_masked(unsigned vector) const;
    pcie::completion msix_access(bool table, tlm::tlm_command cmd, std::uint64_t offset, std::uint8_t* data, unsigned len);
    void sriov_control_written(std::uint16_t old_ctrl, std::uint16_t new_ctrl);
    void vf_bars_resize();
    std::uint32_t msi_off(std::uint32_t reg) const;  // offset of an MSI register in this layout
    std::optional<std::uint32_t> pm_cap_;
    std::optional<std::uint32_t> msix_cap_;
    std::vector<std::uint32_t> msix_table_;     // 4 dwords per entry: address lo, hi, data, vector control
    std::vector<bool> msix_pending_;            // the Pending Bit Array
    std::uint32_t msi_pending_ = 0;             // MSI Pending Bits (per-vector masking)
    sc_core::sc_time* now_ = nullptr;           // local time of the request being handled
    sriov_observer sriov_observer_;
    void define_pcie();
    void define_acs();
    void define_ats();
    std::optional<std::uint32_t> ats_cap_;
    address_translation_cache atc_;
    pcie::address_type dma_at_ = pcie::address_type::untranslated;
    std::uint64_t ats_translation_requests_ = 0, ats_denied_ = 0, ats_invalidations_received_ = 0;
    void define_sriov();
    std::optional<std::uint32_t> msi_cap_;
    std::optional<std::uint32_t> pcie_cap_;
    std::optional<std::uint32_t> acs_cap_;
    std::optional<std::uint32_t> sriov_cap_;
    bar_observer bar_observer_;
    error_observer error_observer_;
    // A fixed number of request slots (tags or credits), used in turn: each
    // holds the time at which it frees.
    class request_slots {
    public:
        explicit request_slots(std::uint64_t n) : free_at_(static_cast<std::size_t>(n ? n : 1), sc_core::SC_ZERO_TIME) {}
        sc_core::sc_time& next() {
            sc_core::sc_time& s = free_at_[next_];
            next_ = next_ + 1 == free_at_.size() ? 0 : next_ + 1;
            return s;
        }
    private:
        std::vector<sc_core::sc_time> free_at_;
        std::size_t next_ = 0;
    };
    request_slots read_slots_, posted_slots_;
    // The payload dma() sends its TLPs with, and its PCIe extension.
    std::unique_ptr<tlm::tlm_generic_payload> request_;
    pcie::pcie_ext* request_ext_ = nullptr;  // request_'s extension, which the payload owns
    // Synchronises the thread issuing DMA with the global quantum (its sync
    // point is renewed whenever it syncs, so one keeper serves every caller).
    tlm_utils::tlm_quantumkeeper quantum_keeper_;
    std::optional<std::uint16_t> forged_requester_id_;
    std::optional<std::uint32_t> pasid_;
    // --- INTx (models/pci/intx.cpp) ---
    // Re-evaluates the effective line (level, Interrupt Disable, MSI/MSI-X
    // Enable, the pin) and sends Assert/Deassert when it changed; runs after
    // every configuration write and every set_intx().
    void intx_update();
    // --- end INTx ---
    bool intx_level_ = false;        // the device's line (set_intx)
    bool intx_sent_ = false;         // the state the last Assert/Deassert message left upstream
    std::uint64_t resets_ = 0;
    // --- DMI (stream()) ---
    std::vector<tlm::tlm_dmi> dmi_cache_;  // at most dmi_cache_size pointers, oldest replaced first
    std::size_t dmi_next_ = 0;
    std::uint64_t dmi_accesses_ = 0, dmi_grants_ = 0, dmi_revocations_ = 0;
};

} // namespace iotwin::pci
