// Reading the text `lspci -vvv -nn` prints (pciutils 3.x, lspci.c, ls-caps.c,
// ls-ecaps.c, ls-kernel.c): one record per function with what the importer
// needs to rebuild the machine's PCI hierarchy and its isolation: the
// function's address, IDs and class, the bridge bus numbers, the PCI Express
// port type, ACS capability and control, SR-IOV, BARs, the driver bound and
// the IOMMU group the kernel reported.
//
// Users paste the output as they have it: with or without domains, with
// `-s` selections, with lines wrapped or cut, quoted in a reply ("> ") or
// quoted-printable as a mail client sent it. Quoting and quoted-printable are
// recognised on the whole input and undone before reading, each with a note;
// where the input is quoted only in part, nothing is undone. Every line is either read,
// recognised as one the importer does not need (a register lspci decodes
// that has no bearing on the hierarchy or on isolation), or reported with
// its line number as unknown or damaged and skipped; nothing is guessed.
#pragma once
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace iotwin::platform::lspci_text {

// The PCI Express capability's Device/Port Type, as lspci names it
// (PCIe 5.0 7.5.3.2; ls-caps.c cap_express).
enum class port_type {
    none,                // no PCI Express capability: a conventional function
    endpoint,            // "Endpoint"
    legacy_endpoint,     // "Legacy Endpoint"
    root_port,           // "Root Port (Slot±)"
    upstream_port,       // "Upstream Port"
    downstream_port,     // "Downstream Port (Slot±)"
    pcie_to_pci_bridge,  // "PCI-Express to PCI/PCI-X Bridge"
    pci_to_pcie_bridge,  // "PCI/PCI-X to PCI-Express Bridge (Slot±)"
    rc_integrated,       // "Root Complex Integrated Endpoint"
    rc_event_collector,  // "Root Complex Event Collector"
    unknown,             // "Unknown type N"
};
const char* to_string(port_type t);

// ACS Capability / Control bits in lspci's order (PCIe 5.0 7.7.8.2/3).
struct acs_bits {
    bool source_validation = false;     // SrcValid
    bool translation_blocking = false;  // TransBlk
    bool request_redirect = false;      // ReqRedir
    bool completion_redirect = false;   // CmpltRedir
    bool upstream_forwarding = false;   // UpstreamFwd
    bool egress_control = false;        // EgressCtrl
    bool direct_translated = false;     // DirectTrans
    bool operator==(const acs_bits& o) const;
};

struct sriov_info {
    unsigned initial_vfs = 0, total_vfs = 0, num_vfs = 0;
    unsigned vf_offset = 0, vf_stride = 0;
    std::uint16_t vf_device = 0;
};

enum class bar_kind { mem32, mem64, io };
struct bar {
    unsigned index = 0;               // Region N (0..5); 6 for the expansion ROM is not kept
    bar_kind kind = bar_kind::mem32;
    bool prefetchable = false;
    std::optional<std::uint64_t> address;  // absent when lspci says <unassigned> or <ignored>
    std::optional<std::uint64_t> size;     // bytes; absent when lspci printed no [size=]
    bool disabled = false;                 // "[disabled]": decoding off in the Command register
};

struct function {
    int line = 0;  // the line of its title
    std::optional<std::uint16_t> domain;  // printed only with -D or on machines with more than one
    std::uint8_t bus = 0, dev = 0, fn = 0;
    std::uint32_t class_code = 0;  // base, sub-class, programming interface (prog-if 0 when not printed)
    std::string class_name;
    std::optional<std::uint16_t> vendor, device;  // absent when the title has no [vvvv:dddd] (no -nn)
    std::string name;                             // what lspci printed between the class and the IDs
    std::optional<std::uint8_t> revision;
    // A type 1 header: the "Bus:" line of a bridge.
    std::optional<std::uint8_t> primary_bus, secondary_bus, subordinate_bus;
    port_type express = port_type::none;
    std::optional<acs_bits> acs_cap, acs_ctl;
    std::optional<sriov_info> sriov;
    std::vector<bar> bars;
    std::string driver;                   // Kernel driver in use
    std::optional<unsigned> iommu_group;  // IOMMU group (pciutils 3.8 and later, from sysfs)
    // "Capabilities: <access denied>": lspci could read only the first 64
    // bytes of configuration space (it ran without root), so the port type,
    // ACS and SR-IOV of this function are unknown, not absent.
    bool capabilities_denied = false;

    // "dddd:bb:dd.f", as Linux names the function (domain 0 when none was printed).
    std::string address() const;
};

// A line that was not read: unknown, or damaged (a line of a known kind whose
// content does not parse), with why.
struct diagnostic {
    int line = 0;
    std::string text;  // the line as it was
    std::string why;
    // The file it came from when it is not the listing (a sysfs tree's files). The
    // initializer keeps {line, text, why} free of missing-initializer warnings.
    std::string source{};
};

struct listing {
    std::vector<function> functions;  // in the order lspci printed them
    std::vector<diagnostic> skipped;
    // What the reader undid before reading (quote prefixes of a reply,
    // quoted-printable), once each; line numbers are those of the input.
    std::vector<diagnostic> notes;
};

listing parse(std::istream& in);

} // namespace iotwin::platform::lspci_text
