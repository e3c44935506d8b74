#include "platform/quirks.h"

#include <algorithm>
#include <initializer_list>
#include <vector>

#include "platform/topology.h"

namespace iotwin::platform {

namespace {

using namespace pci::acs_bits;
using port = pci::port_type;
constexpr std::uint16_t ANY = 0xffff;

// pci_acs_ctrl_enabled(): every requested flag is among the enabled ones.
int ctrl_enabled(std::uint16_t req, std::uint16_t ena) { return (req & ena) == req ? 1 : 0; }

// A quirk function returns 1 (enabled), 0 (not enabled) or -1 (does not apply).
using acs_quirk_fn = int (*)(const quirk_subject&, std::uint16_t);

// Applies only when ACPI has an IVRS table (an AMD IOMMU). iotwin's IOMMU is
// VT-d (a DMAR table), so, as on an Intel platform, it never answers.
int amd_sb_acs(const quirk_subject&, std::uint16_t) { return -1; }
int mf_endpoint_acs(const quirk_subject&, std::uint16_t f) { return ctrl_enabled(f, SV | TB | RR | CR | UF | DT); }
int rciep_acs(const quirk_subject& s, std::uint16_t f) {
    if (s.pcie_type != port::rciep) return -1;
    return ctrl_enabled(f, SV | RR | CR | UF);
}
int isolated_rp_acs(const quirk_subject&, std::uint16_t f) { return ctrl_enabled(f, SV | RR | CR | UF); }
int al_acs(const quirk_subject& s, std::uint16_t f) {
    if (s.pcie_type != port::root_port) return -1;
    f &= ~(SV | RR | CR | UF);
    return f ? 0 : 1;
}
int cavium_acs(const quirk_subject& s, std::uint16_t f) {
    const bool match = s.pcie_type == port::root_port &&
                       ((s.device >= 0xa000 && s.device <= 0xa7ff) || s.device == 0xaf84 || s.device == 0xb884);
    if (!match) return -1;
    return ctrl_enabled(f, SV | RR | CR | UF);
}

bool in(std::uint16_t v, std::initializer_list<std::pair<std::uint16_t, std::uint16_t>> ranges) {
    for (auto [lo, hi] : ranges)
        if (v >= lo && v <= hi) return true;
    return false;
}

// Intel PCH root ports without real ACS; pci_quirk_enable_intel_pch_acs()
// makes them isolate (it succeeds whenever the IOMMU is on, which iotwin assumes).
int intel_pch_acs(const quirk_subject& s, std::uint16_t f) {
    const bool listed = in(s.device, {{0x3b42, 0x3b51}, {0x1c10, 0x1c1f}, {0x1e10, 0x1e1f}, {0x8c10, 0x8c1f}, {0x9c10, 0x9c1b},
                                      {0x9c90, 0x9c9b}, {0x8d10, 0x8d1e}}) ||
                        (s.device >= 0x1d10 && s.device <= 0x1d1e && s.device % 2 == 0) ||
                        (s.device >= 0x8c90 && s.device <= 0x8c9e && s.device % 2 == 0);
    if (s.pcie_type != port::root_port || !listed) return -1;
    return ctrl_enabled(f, SV | RR | CR | UF);
}
// Sunrise/Union Point root ports: a standard-looking ACS capability at
// non-standard register offsets; its contents are what `acs`/`acs_ctrl` say.
int intel_spt_pch_acs(const quirk_subject& s, std::uint16_t f) {
    const bool listed = in(s.device, {{0xa110, 0xa11f}, {0xa167, 0xa16a}, {0xa290, 0xa29f}, {0xa2e7, 0xa2ee}, {0x9d10, 0x9d1b}});
    if (s.pcie_type != port::root_port || !listed || !s.has_acs_cap) return -1;
    return acs::not_enabled(f, s.acs_cap, s.acs_ctrl) ? 0 : 1;
}
int zhaoxin_ports_acs(const quirk_subject& s, std::uint16_t f) {
    if (s.pcie_type != port::root_port && s.pcie_type != port::downstream_port) return -1;
    if (in(s.device, {{0x0710, 0x071e}, {0x0721, 0x0721}, {0x0723, 0x0732}})) return ctrl_enabled(f, SV | RR | CR | UF);
    return 0;
}

struct acs_entry {
    std::uint16_t vendor, device;
    acs_quirk_fn fn;
    const char* name;
};

std::vector<acs_entry> make_acs_table() {
    std::vector<acs_entry> t;
    auto add = [&](std::uint16_t v, std::initializer_list<std::uint16_t> ds, acs_quirk_fn fn, const char* name) {
        for (std::uint16_t d : ds) t.push_back({v, d, fn, name});
    };
    add(0x1002, {0x4385, 0x439c, 0x4383, 0x439d, 0x4384, 0x4399}, amd_sb_acs, "pci_quirk_amd_sb_acs");
    add(0x1022, {0x780f, 0x7809}, amd_sb_acs, "pci_quirk_amd_sb_acs");
    add(0x1924, {0x0903, 0x0923, 0x0A03}, mf_endpoint_acs, "pci_quirk_mf_endpoint_acs");
    add(0x8086, {0x10C6, 0x10DB, 0x10DD, 0x10E1, 0x10F1, 0x10F7, 0x10F8, 0x10F9, 0x10FA, 0x10FB, 0x10FC, 0x1507, 0x1514,
                 0x151C, 0x1529, 0x152A, 0x154D, 0x154F, 0x1551, 0x1558,
                 0x1509, 0x150E, 0x150F, 0x1510, 0x1511, 0x1516, 0x1527,             // 82580
                 0x10C9, 0x10E6, 0x10E7, 0x10E8, 0x150A, 0x150D, 0x1518, 0x1526,     // 82576
                 0x10A7, 0x10A9, 0x10D6,                                             // 82575
                 0x1521, 0x1522, 0x1523, 0x1524,                                     // I350
                 0x105E, 0x105F, 0x1060, 0x10D9,                                     // 82571
                 0x15b7, 0x15b8},                                                    // I219
        mf_endpoint_acs, "pci_quirk_mf_endpoint_acs");
    add(0x8086, {ANY}, rciep_acs, "pci_quirk_rciep_acs");
    add(0x17cb, {0x0400, 0x0401}, isolated_rp_acs, "pci_quirk_qcom_rp_acs");
    add(0x1dbf, {0x0401}, isolated_rp_acs, "pci_quirk_qcom_rp_acs");
    add(0x8086, {ANY}, intel_pch_acs, "pci_quirk_intel_pch_acs");
    add(0x8086, {ANY}, intel_spt_pch_acs, "pci_quirk_intel_spt_pch_acs");
    add(0x19a2, {0x0710}, mf_endpoint_acs, "pci_quirk_mf_endpoint_acs");
    add(0x10df, {0x0720}, mf_endpoint_acs, "pci_quirk_mf_endpoint_acs");
    add(0x177d, {ANY}, cavium_acs, "pci_quirk_cavium_acs");
    add(0x177d, {0xA026, 0xA059, 0xA060}, mf_endpoint_acs, "pci_quirk_mf_endpoint_acs");
    add(0x10e8, {0xE004}, isolated_rp_acs, "pci_quirk_xgene_acs");
    add(0x1def, {0xE005, 0xE006, 0xE007, 0xE008, 0xE009, 0xE00A, 0xE00B, 0xE00C}, isolated_rp_acs, "pci_quirk_xgene_acs");
    add(0x14e4, {0x16D7, 0x1750, 0x1751, 0x1752}, mf_endpoint_acs, "pci_quirk_mf_endpoint_acs");
    add(0x14e4, {0xD714}, isolated_rp_acs, "pci_quirk_brcm_acs");
    add(0x1c36, {0x0031}, al_acs, "pci_quirk_al_acs");
    add(0x1d17, {0x3038, 0x3104, 0x9083}, mf_endpoint_acs, "pci_quirk_mf_endpoint_acs");
    add(0x1957, {0x8d81, 0x8da1, 0x8d83, 0x8d80, 0x8da0, 0x8d82, 0x8d90, 0x8db0, 0x8d92, 0x8d91, 0x8db1, 0x8d93,
                 0x8d89, 0x8da9, 0x8d8b, 0x8d88, 0x8da8, 0x8d8a, 0x8d98, 0x8db8, 0x8d9a, 0x8d99, 0x8db9, 0x8d9b},
        isolated_rp_acs, "pci_quirk_nxp_rp_acs");
    add(0x1d17, {ANY}, zhaoxin_ports_acs, "pci_quirk_zhaoxin_pcie_ports_acs");
    return t;
}

// The table by ID: for each vendor and device the entries that match it, in
// table order (the first that answers decides). Every entry names its vendor.
class acs_index {
public:
    explicit acs_index(std::vector<acs_entry> table) : table_(std::move(table)) {
        std::vector<std::uint16_t> vendors;
        std::vector<std::uint32_t> ids;
        for (const acs_entry& e : table_) {
            vendors.push_back(e.vendor);
            if (e.device != ANY) ids.push_back(key(e.vendor, e.device));
        }
        std::sort(vendors.begin(), vendors.end());
        vendors.erase(std::unique(vendors.begin(), vendors.end()), vendors.end());
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        for (std::uint16_t v : vendors) by_vendor_.emplace_back(v, matching(v, ANY));
        for (std::uint32_t k : ids) by_id_.emplace_back(k, matching(static_cast<std::uint16_t>(k >> 16), static_cast<std::uint16_t>(k)));
    }
    acs_index(const acs_index&) = delete;  // the lists point into table_
    acs_index& operator=(const acs_index&) = delete;

    const std::vector<const acs_entry*>& candidates(std::uint16_t vendor, std::uint16_t device) const {
        if (const auto* l = find(by_id_, key(vendor, device))) return *l;
        if (const auto* l = find(by_vendor_, vendor)) return *l;
        static const std::vector<const acs_entry*> none;
        return none;
    }

private:
    using list = std::vector<const acs_entry*>;
    static std::uint32_t key(std::uint16_t vendor, std::uint16_t device) { return std::uint32_t(vendor) << 16 | device; }
    template <class K> static const list* find(const std::vector<std::pair<K, list>>& sorted, std::uint32_t k) {
        const auto it = std::lower_bound(sorted.begin(), sorted.end(), k, [](const auto& e, std::uint32_t x) { return e.first < x; });
        return it != sorted.end() && it->first == k ? &it->second : nullptr;
    }
    // The entries of `vendor` for `device`; ANY as `device`: a device ID no entry lists.
    list matching(std::uint16_t vendor, std::uint16_t device) const {
        list out;
        for (const acs_entry& e : table_)
            if (e.vendor == vendor && (e.device == device || e.device == ANY)) out.push_back(&e);
        return out;
    }

    std::vector<acs_entry> table_;
    std::vector<std::pair<std::uint16_t, list>> by_vendor_;  // sorted by vendor: the entries for any device
    std::vector<std::pair<std::uint32_t, list>> by_id_;      // sorted by vendor << 16 | device
};

const acs_index& acs_table() {
    static const acs_index t(make_acs_table());
    return t;
}

bool listed(std::uint16_t device, std::initializer_list<std::uint16_t> ids) {
    for (std::uint16_t d : ids)
        if (d == device) return true;
    return false;
}

} // namespace

std::optional<bool> quirk_acs_enabled(const quirk_subject& s, std::uint16_t flags, std::string* name) {
    for (const acs_entry* e : acs_table().candidates(s.vendor, s.device)) {
        const int r = e->fn(s, flags);
        if (r < 0) continue;
        if (name) *name = e->name;
        return r > 0;
    }
    return std::nullopt;
}

std::vector<std::string> acs_quirks_matching(std::uint16_t vendor, std::uint16_t device) {
    std::vector<std::string> names;
    for (const acs_entry* e : acs_table().candidates(vendor, device)) names.push_back(e->name);
    return names;
}

alias_quirk quirk_dma_alias(const quirk_subject& s, std::uint8_t devfn) {
    alias_quirk q;
    const std::uint8_t slot = devfn >> 3, fn = devfn & 7;
    const bool func0 = (s.vendor == 0x1180 && listed(s.device, {0xe832, 0xe476}));
    const bool func1 = (s.vendor == 0x1b4b && listed(s.device, {0x9120, 0x9123, 0x9125, 0x9128, 0x9130, 0x9170, 0x9172, 0x917a,
                                                                0x9182, 0x9183, 0x91a0, 0x9215, 0x9220, 0x9230})) ||
                       (s.vendor == 0x1103 && listed(s.device, {0x0642, 0x0645})) ||
                       (s.vendor == 0x1c28 && s.device == 0x0122) ||
                       (s.vendor == 0x197b && s.device == 0x2393);  // JMicron JMB388 ESD
    if (func0 && fn != 0) {
        q.dma_alias_devfns.set(slot << 3);
        q.name = "quirk_dma_func0_alias";
    }
    if (func1 && fn != 1) {
        q.dma_alias_devfns.set(slot << 3 | 1);
        q.name = "quirk_dma_func1_alias";
    }
    if (s.vendor == 0x8086 && listed(s.device, {0x2260, 0x2264})) {
        q.dma_alias_devfns.set(0x10 << 3);
        q.dma_alias_devfns.set(0x11 << 3);
        q.dma_alias_devfns.set(0x12 << 3 | 3);
        q.name = "quirk_mic_x200_dma_alias";
    }
    if (s.vendor == 0x8086 && listed(s.device, {0x2954, 0x2955, 0x2956, 0x2958, 0x2959, 0x295A})) {
        for (unsigned sl = 0; sl < 0x20; ++sl)
            for (unsigned f = 0; f < 5; ++f) q.dma_alias_devfns.set(sl << 3 | f);
        q.name = "quirk_pex_vca_alias";
    }
    if (s.vendor == 0x10b5 && listed(s.device, {0x87b0, 0x87b1})) {
        q.dma_alias_devfns.set();
        q.name = "quirk_plx_ntb_dma_alias";
    }
    if ((s.vendor == 0x1b21 && s.device == 0x1080) || (s.vendor == 0x10e3 && s.device == 0x8113) ||
        (s.vendor == 0x1283 && listed(s.device, {0x8892, 0x8893})) || (s.vendor == 0x8086 && s.device == 0x244e)) {
        q.pcie_bridge_alias = true;  // applied by the caller only to conventional bridges below a PCIe port
        q.name = "quirk_use_pcie_bridge_dma_alias";
    }
    if (s.vendor == 0x14e4 && listed(s.device, {0x9000, 0x9084})) {
        q.xlate_root = true;
        q.name = "quirk_bridge_cavm_thrx2_pcie_root";
    }
    return q;
}

} // namespace iotwin::platform
