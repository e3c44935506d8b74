// What PCIe carries and TLM-2.0 lacks, in one place: routing IDs, the request
// kind, the Address Type field, PASID and the completion status. Every model on
// the fabric reads and writes transactions through these types.
// Sources: PCIe Base Specification 5.0, sections 2.2.4 (address/ID routing),
// 2.2.5 (AT field), 2.2.9 (completion status), 6.20 (PASID).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <systemc>
#include <tlm>

namespace iotwin::pcie {

// Bus/device/function: the routing ID of a function (Requester ID / Completer ID).
struct bdf {
    std::uint8_t bus = 0;
    std::uint8_t dev = 0;  // 0..31
    std::uint8_t fn = 0;   // 0..7

    std::uint16_t rid() const { return static_cast<std::uint16_t>(bus << 8 | dev << 3 | fn); }
    std::uint8_t devfn() const { return static_cast<std::uint8_t>(dev << 3 | fn); }
    static bdf from_rid(std::uint16_t rid) {
        return {static_cast<std::uint8_t>(rid >> 8), static_cast<std::uint8_t>((rid >> 3) & 0x1f),
                static_cast<std::uint8_t>(rid & 7)};
    }
    // "0000:01:00.0", as Linux names a function.
    std::string str() const;
    bool operator==(const bdf& o) const { return rid() == o.rid(); }
    bool operator!=(const bdf& o) const { return !(*this == o); }
};

enum class request_kind : std::uint8_t {
    memory,  // memory read/write (DMA upstream, MMIO downstream)
    msi,     // a memory write that is an interrupt message (set by the root complex decode)
    config,  // configuration request; address = ECAM offset (bus<<20 | dev<<15 | fn<<12 | reg)
    io,      // I/O read/write (PCI 3.0 3.2.2): address = the port in the 64 KiB I/O space, decoded by I/O BARs and bridges' I/O windows
    message, // a message TLP (PCIe 5.0 2.2.8): `message_code` says which; INTx emulation travels as these
};

// Message codes of INTx emulation (PCIe 5.0 2.2.8.1, table 2-22): Assert_INTA..D
// and Deassert_INTA..D. A bridge remaps the virtual wire by the device number
// of the requester below it (the swizzle, PCI-to-PCI Bridge spec 1.2 9.1).
namespace message {
constexpr std::uint8_t assert_inta = 0x20, deassert_inta = 0x24;  // + pin - 1 (INTA=0 .. INTD=3)
inline bool is_intx(std::uint8_t code) { return code >= assert_inta && code <= deassert_inta + 3; }
inline bool is_assert(std::uint8_t code) { return code >= assert_inta && code < deassert_inta; }
inline unsigned intx_wire(std::uint8_t code) { return (code - assert_inta) & 3; }  // 0 = INTA
} // namespace message

// Address Translation Services (PCIe 5.0 chapter 10). Message codes of the
// ATS invalidation messages (10.3.1 Invalidate Request: 0000 0001b; 10.3.2
// Invalidate Completion: 0000 0010b), ID-routed between the root complex and
// the function.
namespace ats {
constexpr std::uint8_t invalidate_request = 0x01, invalidate_completion = 0x02;
// A Translation Completion Data Entry (10.2.3, figure 10-10) and the body of
// an Invalidate Request (10.3.1) share one encoding: the address in bits
// 63:12, S (Size) in bit 11; a completion adds N (Non-snooped, bit 10), U
// (Untranslated access only, bit 2), W (bit 1) and R (bit 0).
constexpr std::uint64_t R = 1u << 0, W = 1u << 1, U = 1u << 2, N = 1u << 10, S = 1u << 11;
constexpr std::uint64_t ADDRESS_MASK = ~std::uint64_t(0xfff);
// The size a (address, S) pair stands for (10.2.3.2): 4 KiB with S clear;
// with S set, the lowest clear address bit at 12 or above, bit k, makes it
// 2^(k+1) bytes. 0 when no bit below 64 is clear (all of the address space).
inline std::uint64_t range_size(std::uint64_t addr, bool s) {
    if (!s) return 4096;
    for (unsigned k = 12; k < 63; ++k)
        if (!(addr >> k & 1)) return std::uint64_t(1) << (k + 1);
    return 0;
}
// The (address, S) encoding of a naturally aligned range of `size` bytes
// (a power of two >= 4 KiB) at `base`.
inline std::uint64_t encode_range(std::uint64_t base, std::uint64_t size) {
    if (size <= 4096) return base & ADDRESS_MASK;
    return (((base & ~(size - 1)) | ((size >> 1) - 1)) & ADDRESS_MASK) | S;
}
} // namespace ats

// The TLP Address Type field.
enum class address_type : std::uint8_t { untranslated = 0, translation_request = 1, translated = 2 };

// Completion status (PCIe 5.0 table 2-34). Posted requests (memory writes,
// MSIs) get no completion on the wire; the status a completer sets on one is
// what it logged, never something returned to the requester.
enum class completion : std::uint8_t { SC, UR, CRS, CA };
const char* to_string(completion c);

// Carried by every transaction on the fabric. The initiator sets it; a
// PCIe-to-PCI bridge rewrites requester_id where hardware takes ownership.
class pcie_ext : public tlm::tlm_extension<pcie_ext> {
public:
    request_kind kind = request_kind::memory;
    std::uint16_t requester_id = 0;
    address_type at = address_type::untranslated;
    std::optional<std::uint32_t> pasid;
    completion status = completion::SC;
    bool iommu_fault = false;  // set by the IOMMU when it blocked this request
    bool config_type0 = false; // configuration request: Type 0 (for the function itself) or Type 1
    std::uint8_t message_code = 0;  // kind == message: the Message Code
    bool host = false;         // issued by a CPU through the root complex (not a device's DMA); never set on a device's request
    // The IOMMU checked it against the requester's translation tables
    // (remapped or blocked it). A request that crossed the IOMMU with
    // translation off or through a pass-through context, or that went
    // peer-to-peer inside the fabric, was not isolated by it.
    bool passed_iommu = false;
    // The function that put the request on the wire (its physical port): set
    // once by the issuer and never rewritten, unlike requester_id, which a
    // bridge taking ownership rewrites and a malicious device may forge.
    // Opaque to the fabric; the isolation checkers use it for attribution.
    const sc_core::sc_object* origin = nullptr;
    // Timing, in the issuer's local time (the b_transport delay): when the TLP
    // had left the issuer's own link (the first hop sets it; the issuer may
    // send its next TLP from then on), and the size at which the completer
    // splits read completions (its Read Completion Boundary, PCIe 5.0 2.3.1.1).
    sc_core::sc_time egress = sc_core::SC_ZERO_TIME;
    bool egress_set = false;
    std::uint32_t completion_split = 64;

    tlm::tlm_extension_base* clone() const override { return new pcie_ext(*this); }
    void copy_from(const tlm::tlm_extension_base& other) override {
        *this = static_cast<const pcie_ext&>(other);
    }
};

// Whether a request is posted (PCIe 5.0 2.4.1: memory writes and messages;
// configuration and I/O writes are not): its issuer pays serialization and
// flow-control credits, and nothing returns.
inline bool is_posted(const tlm::tlm_generic_payload& gp, const pcie_ext* ext) {
    return gp.is_write() && (!ext || (ext->kind != request_kind::config && ext->kind != request_kind::io));
}

// Sets the completion status on both the extension and the TLM response, so
// that the two always agree: SC is TLM_OK_RESPONSE, UR is
// TLM_ADDRESS_ERROR_RESPONSE (nobody claims the request), CA and CRS are
// TLM_GENERIC_ERROR_RESPONSE.
void complete(tlm::tlm_generic_payload& gp, pcie_ext* ext, completion c);
// The completion a TLM response stands for (a target off the fabric, such as
// memory, answers in TLM terms only): OK is SC; an address or command error
// is UR; a burst, byte-enable or generic error is CA; no response at all is UR.
completion completion_of(tlm::tlm_response_status s);
// Marks the first hop's egress time on the extension, once.
inline void mark_egress(pcie_ext& ext, const sc_core::sc_time& t) {
    if (!ext.egress_set) { ext.egress = t; ext.egress_set = true; }
}

// The protocol of the fabric's sockets. The PCIe extension is mandatory on
// them (every model reads the requester ID and kind from it), which the
// TLM-2.0 base protocol does not allow for an extension (IEEE 1666-2011
// 14.2.2: a non-ignorable extension needs a protocol type of its own), so the
// fabric's sockets bind only to each other. Its rules are the base
// protocol's otherwise: b_transport, generic payload, the same response statuses.
struct protocol_types {
    using tlm_payload_type = tlm::tlm_generic_payload;
    using tlm_phase_type = tlm::tlm_phase;
};

// ECAM: the configuration address of (bus, dev, fn, register).
inline std::uint64_t ecam_offset(const bdf& f, std::uint16_t reg) {
    return std::uint64_t(f.bus) << 20 | std::uint64_t(f.dev) << 15 | std::uint64_t(f.fn) << 12 | reg;
}
inline bdf ecam_bdf(std::uint64_t off) {
    return {static_cast<std::uint8_t>(off >> 20), static_cast<std::uint8_t>((off >> 15) & 0x1f),
            static_cast<std::uint8_t>((off >> 12) & 7)};
}
inline std::uint16_t ecam_reg(std::uint64_t off) { return static_cast<std::uint16_t>(off & 0xfff); }

// x86 interrupt messages: writes to 0xFEEx_xxxx are MSIs (Intel SDM vol. 3, 10.11).
constexpr std::uint64_t msi_window_base = 0xFEE00000;
constexpr std::uint64_t msi_window_size = 0x100000;
inline bool is_msi_address(std::uint64_t a) { return a >= msi_window_base && a < msi_window_base + msi_window_size; }

} // namespace iotwin::pcie
