#include "platform/lspci_report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include <yaml-cpp/yaml.h>

#include "platform/description.h"
#include "platform/lspci_scenario.h"

namespace iotwin::platform::lspci_report {

namespace {

const topo_function& fn(const topology& t, int i) { return t.functions[static_cast<std::size_t>(i)]; }

// The memory BAR of function i an attack can read: the first memory BAR the
// description gives, or the BAR0 a bar_ram function has without `bars`
// (platform/builder.cpp). Virtual functions are left aside.
std::optional<unsigned> target_bar(const topo_function& f) {
    if (f.is_vf || !f.node) return std::nullopt;
    for (const pci::bar_desc& b : f.node->bars)
        if (b.type != pci::bar_type::io) return b.index;
    if (!f.node->bars_given && f.node->bars.empty() && (f.node->model.empty() || f.node->model == "bar_ram")) return 0u;
    return std::nullopt;
}

std::vector<std::vector<int>> regrouped(const group_result& with, const std::vector<int>& members) {
    std::map<int, std::vector<int>> by_group;
    for (int m : members) by_group[with.group_of[static_cast<std::size_t>(m)]].push_back(m);
    std::vector<std::vector<int>> out;
    for (auto& [g, ms] : by_group) out.push_back(ms);
    return out;
}

std::optional<std::uint16_t> shared_alias(const topology& t, int a, int b) {
    const std::vector<std::uint16_t> of_a = t.dma_aliases(a), of_b = t.dma_aliases(b);
    for (std::uint16_t rid : of_a)
        if (std::find(of_b.begin(), of_b.end(), rid) != of_b.end()) return rid;
    return std::nullopt;
}

// Functions that must go to one owner because their DMA can carry a common
// requester ID, as sets of the endpoints' indices: owners[i] lists the
// functions that go with i (itself included), in probe order.
std::vector<std::vector<int>> alias_owners(const topology& t) {
    const std::size_t n = t.functions.size();
    std::vector<int> set(n);
    for (std::size_t i = 0; i < n; ++i) set[i] = static_cast<int>(i);
    const auto root = [&](int i) {
        while (set[static_cast<std::size_t>(i)] != i) i = set[static_cast<std::size_t>(i)] = set[static_cast<std::size_t>(set[static_cast<std::size_t>(i)])];
        return i;
    };
    std::map<std::pair<std::uint16_t, std::uint16_t>, int> first;  // (segment, requester ID) -> first endpoint carrying it
    for (std::size_t i = 0; i < n; ++i) {
        if (t.functions[i].bridge) continue;
        for (std::uint16_t rid : t.dma_aliases(static_cast<int>(i))) {
            const auto [it, fresh] = first.emplace(std::pair{t.functions[i].segment, rid}, static_cast<int>(i));
            if (!fresh) set[static_cast<std::size_t>(root(static_cast<int>(i)))] = root(it->second);
        }
    }
    std::map<int, std::vector<int>> members;
    for (std::size_t i = 0; i < n; ++i)
        if (!t.functions[i].bridge) members[root(static_cast<int>(i))].push_back(static_cast<int>(i));
    std::vector<std::vector<int>> owners(n);
    for (std::size_t i = 0; i < n; ++i)
        if (!t.functions[i].bridge) owners[i] = members[root(static_cast<int>(i))];
    return owners;
}

std::string rid_string(std::uint16_t rid) {
    char s[16];
    std::snprintf(s, sizeof s, "%02x:%02x.%x", rid >> 8, (rid >> 3) & 0x1f, rid & 7);
    return s;
}

bool port_without_acs(const topo_function& f) {
    return f.pcie_type && (*f.pcie_type == pci::port_type::root_port || *f.pcie_type == pci::port_type::downstream_port) && !f.has_acs;
}

// The machine with an ACS capability, with Linux's bits enabled, on every
// root and downstream port that has none.
topology with_port_acs(const topology& t) {
    topology a = t;
    for (topo_function& f : a.functions)
        if (port_without_acs(f)) {
            f.has_acs = true;
            f.acs_cap = f.acs_ctrl = acs::linux_default;
        }
    return a;
}

struct alternatives {
    group_result override_groups;
    topology port_acs;
    group_result port_acs_groups;
    std::vector<std::vector<int>> owners;  // alias_owners()
};

group_verdict judge_group(const topology& t, const iommu_group& grp, const alternatives& alt) {
    const group_result& with_override = alt.override_groups;
    group_verdict v;
    v.group = grp.id;
    for (int m : grp.members) (fn(t, m).bridge ? v.bridges : v.endpoints).push_back(m);
    v.with_override = regrouped(with_override, grp.members);
    std::size_t examined = 0;
    for (int a : v.endpoints)
        for (int b : v.endpoints) {
            if (a == b) continue;
            const std::optional<unsigned> bar = target_bar(fn(t, b));
            if (!bar) continue;
            if (examined == max_pairs_per_group) {
                ++v.pairs_left_out;
                continue;
            }
            ++examined;
            claim c;
            c.from = a;
            c.to = b;
            c.bar = *bar;
            c.path = peer_reach(t, a, b);
            c.override_splits = with_override.group_of[static_cast<std::size_t>(a)] != with_override.group_of[static_cast<std::size_t>(b)];
            c.from_side = alt.owners[static_cast<std::size_t>(a)];
            c.to_side = alt.owners[static_cast<std::size_t>(b)];
            if (c.from_side == c.to_side) c.shared_alias = shared_alias(t, a, b).value_or(t.dma_aliases(a).back());
            (c.path.peer_to_peer() ? v.reachable : v.not_reachable).push_back(c);
        }
    std::set<int> ports;
    for (int m : grp.members)
        for (int x = m; x >= 0; x = fn(t, x).parent)
            if (port_without_acs(fn(t, x))) ports.insert(x);
    v.ports_without_acs.assign(ports.begin(), ports.end());
    if (!ports.empty()) {
        v.with_port_acs = regrouped(alt.port_acs_groups, grp.members);
        for (const claim& c : v.reachable)
            if (peer_reach(alt.port_acs, c.from, c.to).peer_to_peer()) ++v.paths_with_port_acs;
    }
    return v;
}

std::string join_ids(const topology& t, const std::vector<int>& fs) {
    std::string s;
    for (int i : fs) s += (s.empty() ? "" : " ") + fn(t, i).bdf_string();
    return s;
}

std::string hex4(unsigned v) {
    std::ostringstream o;
    o << std::hex;
    o.width(4);
    o.fill('0');
    o << v;
    return o.str();
}

// "0000:09:00.0 [10de:0a65] GT218 [GeForce 210], driver nouveau"
std::string describe(const topology& t, int i, const std::map<std::string, const lspci_text::function*>& listed) {
    const topo_function& f = fn(t, i);
    std::string s = f.bdf_string() + " " + f.id + " [" + hex4(f.vendor) + ":" + hex4(f.device) + "]";
    const auto it = listed.find(f.id);
    if (it != listed.end()) {
        if (!it->second->name.empty()) s += " " + it->second->name;
        s += it->second->driver.empty() ? ", no driver" : ", driver " + it->second->driver;
    }
    return s;
}

// What an attack scenario shows: a group split between two guests, the same
// pair separated by the override, or two groups each held whole.
enum class attack_kind { split_group, with_override, across_groups };

std::string attack_name(const topology& t, const claim& c, int group, attack_kind kind) {
    const std::string pair = fn(t, c.from).id + "-reads-" + fn(t, c.to).id;
    if (kind == attack_kind::across_groups)
        return "groups-" + std::to_string(c.from_group) + "-" + std::to_string(c.to_group) + "-" + pair + ".yaml";
    return "group-" + std::to_string(group) + "-" + pair + (kind == attack_kind::with_override ? "-acs-override" : "") + ".yaml";
}

std::string attack_description(const topology& t, const claim& c, int group, attack_kind kind, const std::string& source) {
    const topo_function& a = fn(t, c.from);
    const topo_function& b = fn(t, c.to);
    std::ostringstream why;
    why << "From the machine " << source << " (iotwin import --report): ";
    if (kind == attack_kind::across_groups)
        why << a.bdf_string() << " ('" << a.id << "', IOMMU group " << c.from_group << ") reaches BAR " << c.bar << " of " << b.bdf_string()
            << " ('" << b.id << "', IOMMU group " << c.to_group << ")";
    else
        why << "in IOMMU group " << group << ", " << a.bdf_string() << " ('" << a.id << "') reaches BAR " << c.bar << " of " << b.bdf_string()
            << " ('" << b.id << "')";
    why << " without the IOMMU: " << c.path.why << ". ";
    switch (kind) {
    case attack_kind::with_override:
        why << "With pcie_acs_override=" << override_option() << " Linux puts the two into different groups, so the two guests hold them "
            << "legitimately; the guest with '" << a.id << "' reads what the other keeps in its device: group_isolation and "
            << "dma_isolation break.";
        break;
    case attack_kind::split_group:
        why << "Giving the two functions of one group to two guests splits the group (group_viability breaks at boot, as VFIO "
            << "would refuse it); the guest with '" << a.id << "' then reads what the other keeps in its device: dma_isolation breaks.";
        break;
    case attack_kind::across_groups:
        why << "Each guest holds one whole group, as VFIO allows; the guest with '" << a.id << "' reads what the other keeps in its "
            << "device: group_isolation and dma_isolation break, since the groups claim an isolation the fabric does not give.";
        break;
    }
    return why.str();
}

// The imported platform, runnable: host bridges of other PCI segments are
// left out (the simulation has one ECAM window, segment 0).
YAML::Node attack_platform(const YAML::Node& imported, bool with_override) {
    YAML::Node p = YAML::Clone(imported["platform"]);
    YAML::Node kept(YAML::NodeType::Sequence);
    for (const YAML::Node& n : p["pcie"])
        if (!(n["type"] && n["type"].as<std::string>() == "host_bridge" && n["segment"] && n["segment"].as<unsigned>() != 0)) kept.push_back(n);
    p["pcie"] = kept;
    if (with_override) p["pcie_acs_override"] = override_option();
    return p;
}

void write_attack(const std::filesystem::path& file, const topology& t, int group, const claim& c, const YAML::Node& imported,
                  attack_kind kind, const std::string& source) {
    const topo_function& a = fn(t, c.from);
    const topo_function& b = fn(t, c.to);
    const std::string name = file.stem().string();
    const bool with_override = kind == attack_kind::with_override;
    YAML::Emitter e;
    e << YAML::Comment("Written by iotwin import --report from " + source + "; run it with: iotwin run " + file.filename().string());
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << name;
    e << YAML::Key << "description" << YAML::Value << attack_description(t, c, group, kind, source);
    e << YAML::Key << "seed" << YAML::Value << 1;
    e << YAML::Key << "platform" << YAML::Value << attack_platform(imported, with_override);
    e << YAML::Key << "domains" << YAML::Value << YAML::BeginSeq;
    e << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "dom0" << YAML::Key << "privileged" << YAML::Value << true
      << YAML::Key << "memory" << YAML::Value << "512MiB" << YAML::EndMap;
    for (const auto& [guest, side] : {std::pair{"guest1", &c.from_side}, std::pair{"guest2", &c.to_side}}) {
        e << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << guest << YAML::Key << "memory" << YAML::Value << "256MiB"
          << YAML::Key << "devices" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (int i : *side) e << fn(t, i).id;
        e << YAML::EndSeq << YAML::EndMap;
    }
    e << YAML::EndSeq;
    const auto step = [&](const std::string& op, const std::string& role, const std::string& actor, const std::map<std::string, std::string>& args,
                          const std::map<std::string, std::string>& expect, const std::string& save) {
        e << YAML::BeginMap << YAML::Key << "do" << YAML::Value << op << YAML::Key << role << YAML::Value << actor;
        e << YAML::Key << "args" << YAML::Value << YAML::Flow << YAML::BeginMap;
        for (const auto& [k, val] : args) e << YAML::Key << k << YAML::Value << val;
        e << YAML::EndMap;
        if (!expect.empty()) {
            e << YAML::Key << "expect" << YAML::Value << YAML::Flow << YAML::BeginMap;
            for (const auto& [k, val] : expect) e << YAML::Key << k << YAML::Value << val;
            e << YAML::EndMap;
        }
        if (!save.empty()) e << YAML::Key << "save" << YAML::Value << save;
        e << YAML::EndMap;
    };
    const std::string bar = std::to_string(c.bar);
    e << YAML::Key << "steps" << YAML::Value << YAML::BeginSeq;
    // guest2 keeps eight bytes in its device's BAR; the other guest's device reads them.
    step("pci.mmio_write", "as", "guest2", {{"device", b.id}, {"bar", bar}, {"offset", "0"}, {"size", "8"}, {"value", "0x5345435245543432"}},
         {{"errno", "0"}}, "");
    step("pci.resource", "as", "dom0", {{"device", b.id}, {"bar", bar}}, {{"errno", "0"}}, "victim_bar");
    step("pci.set_master", "as", "guest1", {{"device", a.id}}, {{"errno", "0"}}, "");
    step("device.dma_read", "device", a.id, {{"addr", "$victim_bar.start"}, {"len", "8"}},
         {{"completion", "SC"}, {"data", "32 34 54 45 52 43 45 53"}}, "");
    e << YAML::EndSeq;
    e << YAML::Key << "invariants" << YAML::Value << YAML::Flow << YAML::BeginSeq << "dma_isolation" << "group_isolation" << "group_viability"
      << YAML::EndSeq;
    e << YAML::Key << "expect_violation" << YAML::Value << YAML::Flow << YAML::BeginSeq << "dma_isolation"
      << (kind == attack_kind::split_group ? "group_viability" : "group_isolation") << YAML::EndSeq;
    e << YAML::EndMap;
    std::ofstream out(file);
    out << e.c_str() << "\n";
    if (!out) throw input_error(source_pos(file.string()), "cannot write the attack scenario");
}

// The ids of the listed functions the machine's kernel gave no IOMMU group;
// none when the listing shows no groups at all (no IOMMU was on).
std::set<std::string> without_kernel_group(const lspci_text::listing& l) {
    std::set<std::string> ids;
    if (std::none_of(l.functions.begin(), l.functions.end(), [](const lspci_text::function& f) { return f.iommu_group.has_value(); }))
        return ids;
    for (const lspci_text::function& f : l.functions)
        if (!f.iommu_group) ids.insert(lspci_scenario::id_of(f));
    return ids;
}

// The endpoints of group gi: what VFIO hands to one owner.
std::vector<int> group_endpoints(const topology& t, const group_result& g, int gi) {
    std::vector<int> out;
    for (int m : g.groups[static_cast<std::size_t>(gi)].members)
        if (!fn(t, m).bridge) out.push_back(m);
    return out;
}

// Every pair of endpoints in different groups (leaving out groups the
// machine's kernel did not form) whose request a switch or a bus routes
// peer to peer.
void judge_across(const topology& t, const group_result& g, const alternatives& alt, const std::set<int>& unjudged, verdict& v) {
    const auto group_of = [&](int i) { return g.group_of[static_cast<std::size_t>(i)]; };
    const int n = static_cast<int>(t.functions.size());
    for (int a = 0; a < n; ++a) {
        if (fn(t, a).bridge || unjudged.count(group_of(a))) continue;
        for (int b = 0; b < n; ++b) {
            if (b == a || fn(t, b).bridge || group_of(a) == group_of(b) || unjudged.count(group_of(b))) continue;
            const std::optional<unsigned> bar = target_bar(fn(t, b));
            if (!bar) continue;
            // Routing by a switch's ports or a shared bus, which ACS on the
            // ports decides. A path inside a device between groups is left
            // out: Linux separates functions of one device only where one
            // has ACS or a quirk vouches for it, and a function implementing
            // ACS without P2P Request Redirect declares it does no peer to
            // peer with its siblings (PCIe 6.12.1.2); the fabric's inside-device
            // routing is the conservative reading (docs/fidelity.md).
            const peer_path path = peer_reach(t, a, b);
            if (path.how != peer_path::kind::across_switch && path.how != peer_path::kind::shared_bus) continue;
            if (v.across.size() == max_across) {
                ++v.across_left_out;
                continue;
            }
            claim c;
            c.from = a;
            c.to = b;
            c.bar = *bar;
            c.path = path;
            c.from_group = group_of(a);
            c.to_group = group_of(b);
            c.from_side = group_endpoints(t, g, c.from_group);
            c.to_side = group_endpoints(t, g, c.to_group);
            c.closed_by_port_acs = !peer_reach(alt.port_acs, a, b).peer_to_peer();
            v.across.push_back(c);
        }
    }
}

// A group the machine's kernel did not form: its members, nothing judged.
group_verdict members_only(const topology& t, const iommu_group& grp) {
    group_verdict v;
    v.group = grp.id;
    v.no_kernel_group = true;
    for (int m : grp.members) (fn(t, m).bridge ? v.bridges : v.endpoints).push_back(m);
    return v;
}

} // namespace

const char* override_option() { return "downstream,multifunction"; }

verdict judge(const topology& t, const group_result& g, const lspci_text::listing* l) {
    topology overridden = t;
    overridden.override.downstream = overridden.override.multifunction = true;
    alternatives alt{compute_groups(overridden), with_port_acs(t), {}, alias_owners(t)};
    alt.port_acs_groups = compute_groups(alt.port_acs);
    verdict v;
    v.groups = g.groups.size();
    const std::set<std::string> ungrouped = l ? without_kernel_group(*l) : std::set<std::string>{};
    const auto outside_kernel_groups = [&](const iommu_group& grp) {
        return !ungrouped.empty() &&
               std::all_of(grp.members.begin(), grp.members.end(), [&](int m) { return ungrouped.count(fn(t, m).id) > 0; });
    };
    for (const iommu_group& grp : g.groups) {
        if (grp.members.size() < 2) continue;
        if (outside_kernel_groups(grp)) {
            v.shared.push_back(members_only(t, grp));
            continue;
        }
        v.shared.push_back(judge_group(t, grp, alt));
    }
    std::set<int> unjudged;
    for (const group_verdict& gv : v.shared)
        if (gv.no_kernel_group) unjudged.insert(gv.group);
    judge_across(t, g, alt, unjudged, v);
    return v;
}

void write_attacks(verdict& v, const topology& t, const attack_options& o) {
    std::error_code ec;
    std::filesystem::create_directories(o.dir, ec);
    if (ec) throw input_error(source_pos(o.dir.string()), "cannot create the directory for attack scenarios: " + ec.message());
    YAML::Node imported;
    try {
        imported = YAML::Load(o.scenario_yaml);
    } catch (const YAML::Exception& e) {
        throw input_error(source_pos(o.source), std::string("the imported scenario does not parse: ") + e.what());
    }
    for (group_verdict& gv : v.shared)
        for (claim& c : gv.reachable) {
            if (fn(t, c.from).segment != 0 || fn(t, c.to).segment != 0 || c.shared_alias) continue;  // not simulated, or no two owners possible
            c.attack = attack_name(t, c, gv.group, attack_kind::split_group);
            write_attack(o.dir / c.attack, t, gv.group, c, imported, attack_kind::split_group, o.source);
            if (!c.override_splits) continue;
            c.override_attack = attack_name(t, c, gv.group, attack_kind::with_override);
            write_attack(o.dir / c.override_attack, t, gv.group, c, imported, attack_kind::with_override, o.source);
        }
    for (claim& c : v.across) {
        if (fn(t, c.from).segment != 0 || fn(t, c.to).segment != 0) continue;
        c.attack = attack_name(t, c, -1, attack_kind::across_groups);
        write_attack(o.dir / c.attack, t, -1, c, imported, attack_kind::across_groups, o.source);
    }
}

namespace {

// The paths between groups: where Linux's groups do not isolate.
template <class Attack>
void write_across(std::ostream& out, const verdict& v, const topology& t, const Attack& attack) {
    out << "\nBetween IOMMU groups:";
    if (v.across.empty()) {
        out << " no peer-to-peer path without the IOMMU in the twin's fabric\n";
        return;
    }
    out << " " << v.across.size() + v.across_left_out
        << " peer-to-peer paths without the IOMMU; the groups claim an isolation the fabric does not give, so two owners "
           "of these groups (VMs, or a VM and the host) reach each other's devices\n";
    for (const claim& c : v.across)
        out << "    " << fn(t, c.from).bdf_string() << " (group " << c.from_group << ") -> " << fn(t, c.to).bdf_string() << " (group "
            << c.to_group << ") BAR " << c.bar << ": " << c.path.why
            << (c.closed_by_port_acs ? "; ACS on the ports without it would send it up to the IOMMU" : "") << attack(c, c.attack) << "\n";
    if (v.across_left_out) out << "    (" << v.across_left_out << " more paths not listed)\n";
}

} // namespace

void write_text(std::ostream& out, const verdict& v, const topology& t, const group_result& g, const lspci_text::listing& l,
                const std::string& attacks_dir) {
    std::map<std::string, const lspci_text::function*> listed;
    for (const lspci_text::function& f : l.functions) listed.emplace(lspci_scenario::id_of(f), &f);
    const auto attack = [&](const claim& c, const std::string& file) {
        if (c.shared_alias)
            return "\n        no attack scenario: both carry requester ID " + rid_string(*c.shared_alias) +
                   ", so the IOMMU cannot tell their DMA apart and no configuration gives them two owners";
        if (file.empty()) return std::string("\n        no attack scenario: the simulation has PCI segment 0 only");
        return "\n        attack: " + (attacks_dir.empty() ? file : attacks_dir + "/" + file);
    };
    out << v.groups << " IOMMU groups (Linux 6.1's rules), " << v.shared.size() << " with more than one function.\n";
    for (const group_verdict& gv : v.shared) {
        const iommu_group& grp = g.groups[static_cast<std::size_t>(gv.group)];
        out << "\nIOMMU group " << gv.group << ": " << join_ids(t, grp.members) << "\n";
        out << "  why: " << grp.reason << "\n";
        for (int e : gv.endpoints) out << "  endpoint: " << describe(t, e, listed) << "\n";
        for (int b : gv.bridges) out << "  bridge:   " << describe(t, b, listed) << "\n";
        if (gv.no_kernel_group) {
            // Linux's IOMMU driver probes only what the firmware's tables
            // (DMAR, IVRS) put behind an IOMMU: no group, nothing for VFIO.
            out << "  the machine's kernel gave none of them an IOMMU group (the listing has no IOMMU group line for them): "
                   "its IOMMU does not cover them, so VFIO cannot take them; the twin groups them as Linux 6.1 would "
                   "if an IOMMU covered them\n";
            continue;
        }
        out << "  peer to peer without the IOMMU:";
        if (gv.reachable.empty()) out << " none in the twin's fabric";
        out << "\n";
        for (const claim& c : gv.reachable)
            out << "    " << fn(t, c.from).bdf_string() << " -> " << fn(t, c.to).bdf_string() << " BAR " << c.bar << ": " << c.path.why
                << attack(c, c.attack) << "\n";
        for (const claim& c : gv.not_reachable)
            out << "    " << fn(t, c.from).bdf_string() << " -> " << fn(t, c.to).bdf_string() << ": no; " << c.path.why << "\n";
        if (gv.pairs_left_out) out << "    (" << gv.pairs_left_out << " more pairs not examined)\n";
        // VFIO's viability rule (vfio_group_viable): every endpoint of the
        // group bound to vfio-pci or to no driver; bridges may keep pcieport.
        out << "  passing one to a VM: VFIO takes the group only whole, so ";
        if (gv.endpoints.size() < 2) {
            out << "its one endpoint goes alone; the bridges stay with the host\n";
        } else {
            out << "all " << gv.endpoints.size() << " endpoints leave the host together (";
            std::string drivers;
            for (int e : gv.endpoints) {
                const auto it = listed.find(fn(t, e).id);
                const std::string d = it == listed.end() || it->second->driver.empty() ? "no driver" : it->second->driver;
                drivers += (drivers.empty() ? "" : ", ") + fn(t, e).bdf_string() + " from " + d;
            }
            out << drivers << ")" << (gv.bridges.empty() ? "" : "; the bridges stay with the host") << ".\n";
            if (gv.reachable.empty())
                out << "    The twin's fabric gives them no path to each other without the IOMMU: the group is Linux's caution "
                       "(it cannot rule such a path out), not a path the model shows.\n";
            else
                out << "    The VM's devices reach each other's BARs without the IOMMU as listed above; split between two users "
                       "(VMs, or a VM and the host), one could read and write the other's device.\n";
        }
        if (!gv.ports_without_acs.empty()) {
            out << "  with ACS on " << join_ids(t, gv.ports_without_acs)
                << " (ports without an ACS capability; some firmware has a setting that exposes it): ";
            for (const std::vector<int>& part : gv.with_port_acs) out << "{" << join_ids(t, part) << "} ";
            out << "\n";
            if (!gv.reachable.empty())
                out << "    " << gv.paths_with_port_acs << " of the " << gv.reachable.size()
                    << " paths above remain without the IOMMU (the ports' Request Redirect sends the others up)\n";
        }
        out << "  with pcie_acs_override=" << override_option() << ": ";
        if (gv.with_override.size() == 1) {
            out << "the group stays whole\n";
            continue;
        }
        for (const std::vector<int>& part : gv.with_override) out << "{" << join_ids(t, part) << "} ";
        out << "\n";
        bool broken = false;
        for (const claim& c : gv.reachable) {
            if (!c.override_splits) continue;
            broken = true;
            out << "    the override's claim does not hold: " << fn(t, c.from).bdf_string() << " still reaches " << fn(t, c.to).bdf_string()
                << " without the IOMMU" << attack(c, c.override_attack) << "\n";
        }
        if (!broken) out << "    no function it separates has a path to another without the IOMMU in the twin's fabric\n";
    }
    write_across(out, v, t, attack);
}

} // namespace iotwin::platform::lspci_report
