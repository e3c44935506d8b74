#include "platform/lspci_scenario.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "platform/address_map.h"
#include "platform/host_drivers.h"
#include "platform/limits.h"

namespace iotwin::platform::lspci_scenario {

using lspci_hierarchy::node;
using lspci_text::function;

namespace {

std::string hex(unsigned v, int width) {
    char s[16];
    std::snprintf(s, sizeof s, "%0*x", width, v);
    return s;
}

// Text from the listing made safe for a comment: a control character (a NUL
// would end the file for the loader, a carriage return its line) is written
// as \xNN, so the comment still shows what the listing had.
std::string printable(const std::string& text) {
    std::string out;
    for (const char c : text) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\x%02x", u);
            out += esc;
        } else {
            out += c;
        }
    }
    return out;
}

std::string where(const options& o, int line) { return (o.source.empty() ? std::string("line ") : o.source + ":") + std::to_string(line); }

// The ACS bits set in `b` (and in `within`: a Control bit counts only where the capability implements it).
std::vector<std::string> acs_names(const lspci_text::acs_bits& b, const lspci_text::acs_bits& within) {
    const std::pair<bool, bool> bits[] = {{b.source_validation, within.source_validation},
                                          {b.translation_blocking, within.translation_blocking},
                                          {b.request_redirect, within.request_redirect},
                                          {b.completion_redirect, within.completion_redirect},
                                          {b.upstream_forwarding, within.upstream_forwarding},
                                          {b.egress_control, within.egress_control},
                                          {b.direct_translated, within.direct_translated}};
    const char* names[] = {"SV", "TB", "RR", "CR", "UF", "EC", "DT"};
    std::vector<std::string> v;
    for (int i = 0; i < 7; ++i)
        if (bits[i].first && bits[i].second) v.push_back(names[i]);
    return v;
}

const char* bar_type(lspci_text::bar_kind k) {
    switch (k) {
    case lspci_text::bar_kind::mem32: return "mem32";
    case lspci_text::bar_kind::mem64: return "mem64";
    case lspci_text::bar_kind::io: return "io";
    }
    return "mem32";
}

class writer {
public:
    writer(const lspci_text::listing& l, const lspci_hierarchy::machine& m, const options& o) : l_(l), m_(m), o_(o) {
        for (const std::string& d : host_driver_names()) drivers_.insert(d);
        // ACS Control as lspci shows it is what Linux enabled only when the
        // kernel ran with an IOMMU (pci_request_acs(), then pci_enable_acs()
        // at enumeration); the IOMMU group lines say it did. Without them the
        // bits are the firmware's, and the twin applies Linux's own.
        acs_ctrl_from_listing_ = std::any_of(l.functions.begin(), l.functions.end(), [](const function& f) { return f.iommu_group.has_value(); });
    }

    void run(std::ostream& out) {
        e_ << YAML::Comment(printable("Imported by iotwin import from " + (o_.source.empty() ? std::string("an lspci listing") : o_.source) +
                                      " (lspci -vvv -nn). Comments say what the listing could not tell or the scenario cannot say."));
        e_ << YAML::BeginMap;
        e_ << YAML::Key << "name" << YAML::Value << o_.name;
        e_ << YAML::Key << "description" << YAML::Value
           << ("The PCI hierarchy of the machine " + (o_.source.empty() ? std::string("an lspci listing") : o_.source) + " describes.");
        e_ << YAML::Key << "platform" << YAML::Value << YAML::BeginMap;
        e_ << YAML::Key << "pcie" << YAML::Value << YAML::BeginSeq;
        for (const lspci_hierarchy::root_bus& r : m_.roots) root(r);
        e_ << YAML::EndSeq;
        if (!o_.acs_override.empty())
            e_ << YAML::Key << "pcie_acs_override" << YAML::Value << YAML::Flow << o_.acs_override << YAML::Comment(printable(o_.acs_override_why));
        e_ << YAML::EndMap << YAML::EndMap;
        for (const lspci_text::diagnostic& d : l_.notes) out << "# read " << printable(where(o_, d.line) + ": " + d.why) << "\n";
        for (const lspci_text::diagnostic& d : l_.skipped) out << "# skipped " << printable(where(o_, d.line) + ": " + d.why) << "\n";
        for (const lspci_hierarchy::problem& p : m_.problems) out << "# " << printable(where(o_, p.line) + ": " + p.why) << "\n";
        out << e_.c_str() << "\n";
    }

private:
    void root(const lspci_hierarchy::root_bus& r) {
        kept_max_ = 0;
        linux_numbered_ = 0;
        // Linux gives a bridge whose numbers are left out the next bus after
        // the highest one taken: kept numbers leave one bus per bridge free.
        const unsigned bridges = count_bridges(r.children);
        if (r.domain == 0 && r.bus == 0) {
            std::vector<range> taken;
            for (const node& n : r.children) function_node(n, range{0, 0xff - std::min(bridges, 0xffu)}, taken);
            last_bus_[0] = kept_max_ + linux_numbered_;
            return;
        }
        // The twin opens the root buses of a domain in order, each above the
        // buses the ones before it took: a root bus those took already gets
        // the next free number, and Linux's numbers below it.
        unsigned bus = r.bus;
        const auto before = last_bus_.find(r.domain);
        const bool moved = before != last_bus_.end() && bus <= before->second;
        if (moved) bus = before->second + 1;
        if (bus + bridges > 0xff) {
            e_ << YAML::Comment("root bus " + hex(r.domain, 4) + ":" + hex(r.bus, 2) + " left out: the buses before it and the " +
                                std::to_string(bridges) + " bridge(s) below it need numbers past ff");
            for (const node& n : r.children) not_imported(n, "its root bus " + hex(r.domain, 4) + ":" + hex(r.bus, 2) + " is left out");
            return;
        }
        // Another root bus (root bus 00 of another domain too): the scenario
        // opens it through a host-bridge function on bus 00 of domain 0000.
        e_ << YAML::BeginMap;
        e_ << YAML::Comment("root bus " + hex(r.domain, 4) + ":" + hex(r.bus, 2) +
                            " of the machine; the twin opens it through this host-bridge function on bus 0000:00");
        if (moved)
            e_ << YAML::Comment("declared as bus " + hex(bus, 2) + ": the twin's buses up to " + hex(before->second, 2) +
                                " of this domain are taken by the root buses before it; Linux numbers the bridges below it");
        e_ << YAML::Key << "id" << YAML::Value << ("root-" + hex(r.domain, 4) + "-" + hex(r.bus, 2));
        e_ << YAML::Key << "type" << YAML::Value << "host_bridge";
        e_ << YAML::Key << "root_bus" << YAML::Value << ("0x" + hex(bus, 2));
        if (r.domain) e_ << YAML::Key << "segment" << YAML::Value << unsigned(r.domain);
        e_ << YAML::Key << "children" << YAML::Value << YAML::BeginSeq;
        std::vector<range> taken;
        for (const node& n : r.children) function_node(n, moved ? std::nullopt : std::optional<range>(range{bus, 0xff - bridges}), taken);
        e_ << YAML::EndSeq << YAML::EndMap;
        last_bus_[r.domain] = std::max(bus, kept_max_) + linux_numbered_;
    }

    static unsigned count_bridges(const std::vector<node>& nodes) {
        unsigned k = 0;
        for (const node& n : nodes) k += (is_bridge(n.type) ? 1u : 0u) + count_bridges(n.children);
        return k;
    }

    void not_imported(const node& n, const std::string& why) {
        e_ << YAML::Comment(printable(where(o_, n.function->line) + ": " + n.function->address() + " " + n.function->name + ": " + why + ": not imported"));
        for (const node& c : n.children) not_imported(c, why);
    }

    // The buses a bridge of the scenario holds.
    struct range {
        unsigned secondary, subordinate;
    };

    // The bridge's bus numbers from its `Bus:` line, when the scenario can
    // keep them: above its own bus, inside its parent's range (`within`),
    // clear of the ranges its siblings took. Otherwise a comment says why,
    // and the twin numbers the bridge as Linux would.
    std::optional<range> bus_numbers(const node& n, const std::optional<range>& within, std::vector<range>& taken) {
        const function& f = *n.function;
        if (!within || !is_bridge(n.type) || n.type == node_type::host_bridge || !f.secondary_bus) return std::nullopt;
        const range r = range_of(f);
        std::string why = refused(f, r, *within, taken);
        // Linux numbers a bridge whose numbers are left out within its
        // parent's range, where a parent that keeps its numbers may have no
        // bus free: so a bridge keeps them only if everything below it does.
        if (why.empty()) why = refused_below(n, r);
        if (!why.empty()) {
            e_ << YAML::Comment("bus numbers " + hex(r.secondary, 2) + "-" + hex(r.subordinate, 2) + " left out: " + why +
                                "; the twin numbers this bridge as Linux would");
            return std::nullopt;
        }
        taken.push_back(r);
        return r;
    }

    static range range_of(const function& f) { return range{*f.secondary_bus, f.subordinate_bus.value_or(*f.secondary_bus)}; }

    // Why a bridge on bus f.bus cannot keep the buses r inside `within`,
    // beside the ranges its siblings took, or "".
    static std::string refused(const function& f, const range& r, const range& within, const std::vector<range>& taken) {
        if (r.secondary <= f.bus || r.subordinate < r.secondary) return "they open nothing below its bus";
        if (r.secondary < within.secondary || r.subordinate > within.subordinate)
            return "they leave the range of the bridge or root bus above it (" + hex(within.secondary, 2) + "-" + hex(within.subordinate, 2) + ")";
        for (const range& t : taken)
            if (r.secondary <= t.subordinate && t.secondary <= r.subordinate)
                return "they overlap a sibling's (" + hex(t.secondary, 2) + "-" + hex(t.subordinate, 2) + ")";
        return "";
    }

    // Why a bridge below n (which keeps r) cannot keep its own numbers, or "".
    static std::string refused_below(const node& n, const range& r) {
        std::vector<range> taken;
        for (const node& c : n.children) {
            if (!is_bridge(c.type) || !c.function->secondary_bus) continue;
            const range cr = range_of(*c.function);
            if (const std::string why = refused(*c.function, cr, r, taken); !why.empty())
                return "those of " + c.function->address() + " below it cannot be kept (" + why + ")";
            taken.push_back(cr);
            if (const std::string why = refused_below(c, cr); !why.empty()) return why;
        }
        return "";
    }

    // `within`: the buses of the bridge above (or of the root bus), none when
    // Linux numbers that bridge (and so everything below it); `taken`: the
    // ranges of the bridges on the same bus so far.
    void function_node(const node& n, const std::optional<range>& within, std::vector<range>& taken) {
        const function& f = *n.function;
        // The root complex's own host bridge: the twin has it at 00:00.0,
        // and no function of its device can be declared beside it.
        if (f.bus == 0 && f.dev == 0 && domain_of(f) == 0) {
            e_ << YAML::Comment(printable(where(o_, f.line) + ": 00:00." + hex(f.fn, 1) + " " + f.name +
                                          (f.fn == 0 ? ": the root complex's host bridge, which the twin has"
                                                     : ": a function of the root complex's host-bridge device, which a scenario cannot declare")));
            not_imported_below(n);
            return;
        }
        e_ << YAML::BeginMap;
        e_ << YAML::Comment(printable(where(o_, f.line) + ": " + f.address() + " " + f.class_name + ": " + f.name));
        e_ << YAML::Key << "id" << YAML::Value << id_of(f);
        e_ << YAML::Key << "type" << YAML::Value << to_string(n.type);
        e_ << YAML::Key << "at" << YAML::Value << YAML::DoubleQuoted << (hex(f.dev, 2) + "." + hex(f.fn, 1));
        if (f.vendor) e_ << YAML::Key << "vendor" << YAML::Value << ("0x" + hex(*f.vendor, 4));
        if (f.device) e_ << YAML::Key << "device" << YAML::Value << ("0x" + hex(*f.device, 4));
        class_code(n);
        if (f.acs_cap) {
            e_ << YAML::Key << "acs" << YAML::Value << YAML::Flow << acs_names(*f.acs_cap, *f.acs_cap);
            if (f.acs_ctl && acs_ctrl_from_listing_)
                e_ << YAML::Key << "acs_ctrl" << YAML::Value << YAML::Flow << acs_names(*f.acs_ctl, *f.acs_cap);
            else if (f.acs_ctl)
                e_ << YAML::Comment("ACS Control as listed is the firmware's (no IOMMU group lines: no IOMMU was on): Linux's pci_enable_acs() result instead");
        }
        const std::optional<range> buses = bus_numbers(n, within, taken);
        // What the twin's numbering of this root bus will take (kept ranges
        // hold every bridge below them; Linux gives each other bridge one bus).
        if (buses)
            kept_max_ = std::max(kept_max_, buses->subordinate);
        else if (is_bridge(n.type))
            ++linux_numbered_;
        if (buses) {
            e_ << YAML::Key << "secondary" << YAML::Value << ("0x" + hex(buses->secondary, 2));
            e_ << YAML::Key << "subordinate" << YAML::Value << ("0x" + hex(buses->subordinate, 2));
        }
        sriov(n);
        bars(n);
        driver(f);
        if (!n.children.empty()) {
            e_ << YAML::Key << "children" << YAML::Value << YAML::BeginSeq;
            std::vector<range> below_taken;
            for (const node& c : n.children) function_node(c, buses, below_taken);
            e_ << YAML::EndSeq;
        }
        e_ << YAML::EndMap;
    }

    // The class as the listing gives it, where the loader takes it for the
    // type: a bridge is class 0x0604xx or 0x0609xx, a function of any other
    // type is not.
    void class_code(const node& n) {
        const function& f = *n.function;
        const unsigned base_sub = f.class_code >> 8;
        const bool p2p = base_sub == 0x0604 || base_sub == 0x0609;
        const std::string cls = "0x" + hex(f.class_code, 6);
        if (base_sub == 0x0607 && n.type == node_type::pci_bridge)  // PCI Code and ID Assignment 1.11, 0x0607
            e_ << YAML::Comment("a CardBus bridge (class 0x0607, type 2 header): the twin has it as a PCI-to-PCI bridge");
        else if (is_bridge(n.type) && !p2p)
            e_ << YAML::Comment("class " + cls + " left out: a " + std::string(to_string(n.type)) +
                                " is class 0x0604xx here, as the twin has it");
        else if (!is_bridge(n.type) && base_sub == 0x0604)
            // pci_setup_device() (Linux 6.1) ignores a PCI-to-PCI bridge class on a type 0 header.
            e_ << YAML::Key << "class" << YAML::Value << "0x000000"
               << YAML::Comment("the listing says " + cls + " on a header without a Bus: line; Linux ignores that class there " +
                                "(\"doesn't match header type\") and keeps class 0, as the twin does");
        else if (!is_bridge(n.type) && p2p)
            e_ << YAML::Comment("class " + cls + " left out: a bridge class on a function without a Bus: line");
        else if (f.class_code)
            e_ << YAML::Key << "class" << YAML::Value << cls;
    }

    // The functions below one the scenario cannot declare, each with why.
    void not_imported_below(const node& n) {
        for (const node& c : n.children) {
            e_ << YAML::Comment(printable(where(o_, c.function->line) + ": " + c.function->address() + " " + c.function->name +
                                          ": below " + n.function->address() + ", which the scenario cannot declare: not imported"));
            not_imported_below(c);
        }
    }

    void sriov(const node& n) {
        const function& f = *n.function;
        if (!f.sriov || f.sriov->total_vfs == 0) return;
        if (const std::string why = sriov_refused(n); !why.empty()) {
            e_ << YAML::Comment("SR-IOV capability left out: " + why);
            return;
        }
        e_ << YAML::Key << "sriov" << YAML::Value << YAML::Flow << YAML::BeginMap;
        e_ << YAML::Key << "total_vfs" << YAML::Value << f.sriov->total_vfs;
        e_ << YAML::Key << "num_vfs" << YAML::Value << f.sriov->num_vfs;
        e_ << YAML::Key << "first_vf_offset" << YAML::Value << f.sriov->vf_offset;
        e_ << YAML::Key << "vf_stride" << YAML::Value << f.sriov->vf_stride;
        e_ << YAML::Key << "vf_device" << YAML::Value << ("0x" + hex(f.sriov->vf_device, 4));
        e_ << YAML::EndMap;
    }

    // Why the scenario cannot declare the SR-IOV capability as listed, or "".
    static std::string sriov_refused(const node& n) {
        const lspci_text::sriov_info& v = *n.function->sriov;
        if (n.type != node_type::endpoint && n.type != node_type::rciep) return std::string("a ") + to_string(n.type) + " is no physical function here";
        if (v.total_vfs > 0xffff) return "Total VFs above 65535";
        if (v.num_vfs > v.total_vfs) return "Number of VFs above Total VFs";
        if (v.vf_offset == 0 || v.vf_offset > 0xffff) return "VF offset " + std::to_string(v.vf_offset) + " (1..65535)";
        if (v.vf_stride > 0xffff || (v.num_vfs > 1 && v.vf_stride == 0)) return "VF stride " + std::to_string(v.vf_stride) + " with several VFs";
        return "";
    }

    void bars(const node& n) {
        const function& f = *n.function;
        std::vector<const lspci_text::bar*> sized;
        for (const lspci_text::bar& b : f.bars)
            if (b.size) sized.push_back(&b);
        if (sized.size() < f.bars.size())
            e_ << YAML::Comment(std::to_string(f.bars.size() - sized.size()) +
                                " BAR(s) without a size in the listing (lspci prints sizes from sysfs): left out");
        std::vector<const lspci_text::bar*> kept;
        std::set<unsigned> slots;
        for (const lspci_text::bar* b : sized) {
            if (const std::string why = bar_refused(n, *b, slots); !why.empty()) {
                e_ << YAML::Comment("Region " + std::to_string(b->index) + " left out: " + why);
                continue;
            }
            kept.push_back(b);
        }
        // A function the listing shows without a Region line has no BAR:
        // without the empty list the twin would give it the 16 KiB BAR0 a
        // described function gets by default, a register the machine does
        // not have. (One whose BARs are all left out keeps that stand-in.)
        if (f.bars.empty() && !is_bridge(n.type)) {
            e_ << YAML::Key << "bars" << YAML::Value << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
            return;
        }
        if (kept.empty()) return;
        e_ << YAML::Key << "bars" << YAML::Value << YAML::BeginSeq;
        for (const lspci_text::bar* b : kept) {
            e_ << YAML::Flow << YAML::BeginMap;
            e_ << YAML::Key << "index" << YAML::Value << b->index;
            e_ << YAML::Key << "size" << YAML::Value << *b->size;
            e_ << YAML::Key << "type" << YAML::Value << bar_type(b->kind);
            if (b->kind != lspci_text::bar_kind::io) e_ << YAML::Key << "prefetchable" << YAML::Value << b->prefetchable;
            e_ << YAML::EndMap;
        }
        e_ << YAML::EndSeq;
    }

    // Why the scenario cannot declare BAR b as listed (the loader's rules for
    // BARs, docs/scenario-reference.md), or "". Takes its slots and its share
    // of the MMIO windows when it can.
    std::string bar_refused(const node& n, const lspci_text::bar& b, std::set<unsigned>& slots) {
        const std::uint64_t size = *b.size;
        const bool mem64 = b.kind == lspci_text::bar_kind::mem64;
        const unsigned last = b.index + (mem64 ? 1 : 0), max_index = is_bridge(n.type) ? 1 : 5;
        const bool pow2 = size && !(size & (size - 1));
        if (n.type == node_type::host_bridge) return "a host bridge has no BARs here";
        if (last > max_index) return "it does not fit the BARs 0.." + std::to_string(max_index) + " of a " + to_string(n.type);
        if (slots.count(b.index) || slots.count(last)) return "it overlaps another BAR";
        if (b.kind == lspci_text::bar_kind::io && (!pow2 || size < 4 || size > 256)) return "an I/O BAR's size is a power of two from 4 to 256 bytes";
        if (b.kind != lspci_text::bar_kind::io && (!pow2 || size < 16)) return "a memory BAR's size is a power of two of at least 16 bytes";
        if (b.kind == lspci_text::bar_kind::mem32 && size > (1ull << 30)) return "a 32-bit BAR larger than 1GiB";
        if (size > limits::max_bar_size) return "larger than the 64GiB a BAR may be here";
        if (b.kind != lspci_text::bar_kind::io) {
            std::uint64_t& window = b.prefetchable && mem64 ? mmio64_taken_ : mmio32_taken_;
            const std::uint64_t room = b.prefetchable && mem64 ? address_map::mmio64_size : address_map::mmio32_size;
            if (size > room - window) return "the twin's MMIO window for it is full";
            window += size;
        }
        slots.insert(b.index);
        slots.insert(last);
        return "";
    }

    void driver(const function& f) {
        if (f.driver.empty()) return;
        if (const auto refused = o_.driver_not_bound.find(id_of(f)); refused != o_.driver_not_bound.end()) {
            e_ << YAML::Comment("Kernel driver in use: " + f.driver + ", which the twin's " + f.driver + " does not bind here (" + refused->second +
                                "): it binds the driver Linux would");
            return;
        }
        if (drivers_.count(f.driver)) {
            e_ << YAML::Key << "driver" << YAML::Value << f.driver;
            return;
        }
        e_ << YAML::Comment(printable("Kernel driver in use: " + f.driver) + " (not one the twin models: it binds the driver Linux would)");
    }

    static std::uint16_t domain_of(const function& f) { return f.domain.value_or(0); }

    const lspci_text::listing& l_;
    const lspci_hierarchy::machine& m_;
    const options& o_;
    std::set<std::string> drivers_;
    bool acs_ctrl_from_listing_ = false;
    // Per domain, the highest bus the twin's numbering takes with the root
    // buses written so far; for the root bus being written, its highest kept
    // bus and how many bridges Linux numbers.
    std::map<std::uint16_t, unsigned> last_bus_;
    unsigned kept_max_ = 0, linux_numbered_ = 0;
    std::uint64_t mmio32_taken_ = 0, mmio64_taken_ = 0;  // what the BARs written so far need of each window
    YAML::Emitter e_;
};

} // namespace

std::string id_of(const function& f) {
    const std::string base = hex(f.bus, 2) + "-" + hex(f.dev, 2) + "-" + hex(f.fn, 1);
    return f.domain.value_or(0) ? "pci-" + hex(*f.domain, 4) + "-" + base : "pci-" + base;
}

void write(const lspci_text::listing& l, const lspci_hierarchy::machine& m, const options& o, std::ostream& out) {
    writer(l, m, o).run(out);
}

} // namespace iotwin::platform::lspci_scenario
