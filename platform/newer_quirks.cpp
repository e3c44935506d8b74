#include "platform/newer_quirks.h"

#include <initializer_list>
#include <string_view>

namespace iotwin::platform {

namespace {

using kind = newer_quirk::kind_t;
constexpr std::uint16_t ANY = newer_quirk::any_device;

// What the quirk functions claim, shared by their entries.
constexpr const char* kIsolatedPort =
    "root/downstream port isolated: ACS SV RR CR UF count as enabled without an ACS capability";
constexpr const char* kIsolatedFunctions =
    "multi-function endpoint: no peer-to-peer between its functions, ACS counts as enabled";
constexpr const char* kWangxunIsolated =
    "multi-function NIC: functions isolated, ACS SV RR CR UF count as enabled without an ACS capability";
constexpr const char* kSwitchtecNtb =
    "NTB function (class 0680): the proxy requester IDs of the peer partitions, read from the switch, "
    "become DMA aliases";

class table_builder {
public:
    // One entry per device ID.
    void ids(std::uint16_t vendor, std::initializer_list<std::uint16_t> devices, const char* quirk, kind k,
             const char* version, const char* claim) {
        for (std::uint16_t d : devices) t_.push_back({vendor, d, d, quirk, k, version, claim});
    }
    // One entry for the devices first..last.
    void range(std::uint16_t vendor, std::uint16_t first, std::uint16_t last, const char* quirk, kind k,
               const char* version, const char* claim) {
        t_.push_back({vendor, first, last, quirk, k, version, claim});
    }
    std::vector<newer_quirk> take() { return std::move(t_); }

private:
    std::vector<newer_quirk> t_;
};

// pci_dev_acs_enabled[] and the device lists its functions check, the entries
// 6.1 does not have, in the table's order.
void add_acs(table_builder& t) {
    // Qualcomm root ports. SA8775P: upstream 026f84d3fa62, in 6.11.y/6.6.y/6.1.y
    // stable but not 6.11 itself. Hamoa and Glymur: applied "for v6.20" (released
    // as 7.0; backported to 6.19.y).
    t.ids(0x17cb, {0x0115}, "pci_quirk_qcom_rp_acs", kind::acs, "6.12", kIsolatedPort);
    t.ids(0x17cb, {0x0111, 0x0120}, "pci_quirk_qcom_rp_acs", kind::acs, "7.0", kIsolatedPort);
    // Broadcom BCM5760X NICs: applied to pci/acs for v6.10 (also in stable kernels).
    t.range(0x14e4, 0x1760, 0x1763, "pci_quirk_mf_endpoint_acs", kind::acs, "6.10", kIsolatedFunctions);
    // Loongson root ports: applied to pci/virtualization for v6.16 (Cc stable).
    t.ids(0x0014, {0x3c09, 0x3c19, 0x3c29, 0x7a09, 0x7a19, 0x7a29, 0x7a39, 0x7a49, 0x7a59, 0x7a69},
          "pci_quirk_loongson_acs", kind::acs, "6.16", kIsolatedPort);
    // Zhaoxin: 6.1 lists 0710-071e, 0721, 0723-0732; "more Zhaoxin Root Ports"
    // widened the last range to 0752, applied for v6.8 (Cc stable, so 6.1.y has it).
    // In 6.1 these IDs are answered "not isolated" by the same function.
    t.range(0x1d17, 0x0733, 0x0752, "pci_quirk_zhaoxin_pcie_ports_acs", kind::acs, "6.8", kIsolatedPort);
    // Wangxun NICs: SFxxx (EM) and RP1000/RP2000 (SP) applied for v6.3 (also
    // in 6.1.y stable); FF5xxx (AML) applied for v6.13.
    t.range(0x8088, 0x0100, 0x010f, "pci_quirk_wangxun_nic_acs", kind::acs, "6.3", kWangxunIsolated);
    t.ids(0x8088, {0x1001, 0x2001}, "pci_quirk_wangxun_nic_acs", kind::acs, "6.3", kWangxunIsolated);
    t.ids(0x8088, {0x5010, 0x5025, 0x5040, 0x5110, 0x5125, 0x5140}, "pci_quirk_wangxun_nic_acs", kind::acs, "6.13",
          kWangxunIsolated);
    // The Wangxun entry matches every device of the vendor and answers 0 for the
    // IDs it does not list: such a function's ACS capability is not consulted.
    t.ids(0x8088, {ANY}, "pci_quirk_wangxun_nic_acs", kind::acs, "6.3",
          "any other Wangxun function: ACS counts as not enabled, whatever its ACS capability says");
    // IDT switches whose ACS Source Validation rejects config completions:
    // pci_disable_broken_acs_cap() (called from pci_acs_init(), not part of
    // pci_dev_acs_enabled[]) drops SV from the cached capability. Posted in
    // January 2026 against v6.19-rc1 and queued in the PCI tree's
    // pci/virtualization branch, apparently with the Hamoa/Glymur entries; the
    // release was not confirmed from what was read, hence "after 6.1".
    t.ids(0x111d, {0x80b5, 0x8090}, "pci_disable_broken_acs_cap", kind::acs, "after 6.1",
          "switch port: ACS Source Validation treated as not implemented (erratum), never enabled");
}

// DECLARE_PCI_FIXUP_* entries of the DMA-alias quirks that 6.1 does not have.
void add_dma_alias(table_builder& t) {
    // Glenfly Arise HD audio: applied to pci/iommu for v6.12.
    t.ids(0x6766, {0x3d40, 0x3d41}, "quirk_dma_func0_alias", kind::dma_alias, "6.12",
          "function other than 0 also uses function 0's requester ID");
    // Marvell 88SE9235: applied to pci/virtualization for v6.5 (Cc stable).
    t.ids(0x1b4b, {0x9235}, "quirk_dma_func1_alias", kind::dma_alias, "6.5",
          "function other than 1 also uses function 1's requester ID");
    // Switchtec Gen5 (Microsemi/Microchip): applied for v6.6. 6.1 already has the
    // Gen3/Gen4 IDs of this quirk (the twin does not model it: the aliases are
    // programmed into the switch, not visible in a listing).
    t.ids(0x11f8,
          {0x5000, 0x5084, 0x5068, 0x5052, 0x5036, 0x5028,   // PFX 100XG5..28XG5
           0x5100, 0x5184, 0x5168, 0x5152, 0x5136, 0x5128,   // PSX
           0x5200, 0x5284, 0x5268, 0x5252, 0x5236, 0x5228,   // PAX
           0x5300, 0x5384, 0x5368, 0x5352, 0x5336, 0x5328,   // PFXA
           0x5400, 0x5484, 0x5468, 0x5452, 0x5436, 0x5428,   // PSXA
           0x5500, 0x5584, 0x5568, 0x5552, 0x5536, 0x5528},  // PAXA
          "quirk_switchtec_ntb_dma_alias", kind::dma_alias, "6.6", kSwitchtecNtb);
    // Switchtec PCI100x (vendor ID 1055): applied to pci/switchtec for v6.14.
    t.range(0x1055, 0x1001, 0x1006, "quirk_switchtec_ntb_dma_alias", kind::dma_alias, "6.14", kSwitchtecNtb);
    // ASPEED AST1150: PCI_DEV_FLAGS_PCI_BRIDGE_NO_ALIAS, upstream 550a190494a0,
    // in linux-next in January 2026 and merged into the PCI tree on 2026-02-06
    // for the following merge window; the release that first carries it is not
    // established from what was read, hence "after 6.1".
    t.ids(0x1a03, {0x1150}, "quirk_aspeed_pci_bridge_no_alias", kind::dma_alias, "after 6.1",
          "PCIe-to-PCI bridge forwards requester IDs unchanged: no bridge alias for the devices below it");
}

std::vector<newer_quirk> make_table() {
    table_builder t;
    add_acs(t);
    add_dma_alias(t);
    return t.take();
}

} // namespace

const std::vector<newer_quirk>& newer_quirks() {
    static const std::vector<newer_quirk> table = make_table();
    return table;
}

std::vector<const newer_quirk*> newer_quirks_for(std::uint16_t vendor, std::uint16_t device) {
    std::vector<const newer_quirk*> out;
    for (const newer_quirk& q : newer_quirks())
        if (q.device != ANY && q.matches(vendor, device)) out.push_back(&q);
    // A catch-all entry speaks for the devices no entry of its quirk names.
    const auto named = [&](const newer_quirk& any) {
        for (const newer_quirk* q : out)
            if (std::string_view(q->quirk) == any.quirk) return true;
        return false;
    };
    std::vector<const newer_quirk*> result;
    for (const newer_quirk& q : newer_quirks()) {
        if (!q.matches(vendor, device)) continue;
        if (q.device == ANY && named(q)) continue;
        result.push_back(&q);
    }
    return result;
}

const char* to_string(newer_quirk::kind_t k) { return k == newer_quirk::kind_t::acs ? "ACS" : "DMA alias"; }

} // namespace iotwin::platform
