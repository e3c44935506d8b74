#include "platform/loader.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "models/common/errno_names.h"
#include <yaml-cpp/depthguard.h>

#include "platform/address_map.h"
#include "platform/builder.h"
#include "platform/host_drivers.h"
#include "platform/invariants.h"
#include "platform/limits.h"
#include "models/guest/process.h"
#include "platform/operations.h"
#include "platform/references.h"
#include "platform/topology.h"

namespace iotwin::platform {

std::string source_pos::str() const {
    if (line <= 0) return file.empty() ? "--set" : file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

const char* to_string(node_type t) {
    switch (t) {
    case node_type::rciep: return "rciep";
    case node_type::root_port: return "root_port";
    case node_type::upstream_port: return "upstream_port";
    case node_type::downstream_port: return "downstream_port";
    case node_type::endpoint: return "endpoint";
    case node_type::pcie_pci_bridge: return "pcie_pci_bridge";
    case node_type::pci_bridge: return "pci_bridge";
    case node_type::host_bridge: return "host_bridge";
    case node_type::pci_device: return "pci_device";
    }
    return "?";
}

bool is_bridge(node_type t) {
    return t == node_type::root_port || t == node_type::upstream_port || t == node_type::downstream_port ||
           t == node_type::pcie_pci_bridge || t == node_type::pci_bridge || t == node_type::host_bridge;
}

source_pos pos_of(const YAML::Node& node, const std::string& file) {
    const YAML::Mark m = node.Mark();
    if (m.is_null()) return {"", 0, 0};  // created by --set
    return {file, m.line + 1, m.column + 1};
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    // A long word is no typo of a name; and the cost is words times candidates.
    if (word.size() > 2 * limits::max_name_length) return best;
    std::size_t best_d = std::max<std::size_t>(2, word.size() / 2) + 1;
    for (const std::string& c : candidates) {
        if ((c.size() > word.size() ? c.size() - word.size() : word.size() - c.size()) >= best_d) continue;
        std::vector<std::size_t> prev(c.size() + 1), cur(c.size() + 1);
        for (std::size_t j = 0; j <= c.size(); ++j) prev[j] = j;
        for (std::size_t i = 1; i <= word.size(); ++i) {
            cur[0] = i;
            for (std::size_t j = 1; j <= c.size(); ++j)
                cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (word[i - 1] == c[j - 1] ? 0 : 1)});
            std::swap(prev, cur);
        }
        if (prev[c.size()] < best_d) { best_d = prev[c.size()]; best = c; }
    }
    return best;
}

std::string quote_input(const std::string& s) { return "'" + excerpt(s) + "'"; }

std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
    const std::string n = nearest(word, candidates);
    return n.empty() ? "" : " (did you mean '" + n + "'?)";
}

namespace {

bool parse_number(const std::string& t, std::uint64_t& v) {
    if (t.empty()) return false;
    try {
        std::size_t used = 0;
        // stoull would also take a sign or blanks after "0x": only hex digits may follow.
        if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
            if (!std::isxdigit(static_cast<unsigned char>(t[2]))) return false;
            v = std::stoull(t.substr(2), &used, 16), used += 2;
        } else if (std::isdigit(static_cast<unsigned char>(t[0]))) v = std::stoull(t, &used, 10);
        else return false;
        return used == t.size();
    } catch (const std::exception&) {
        return false;
    }
}

} // namespace

std::uint64_t parse_integer(const std::string& text, const source_pos& pos) {
    std::uint64_t v;
    if (!parse_number(text, v)) throw input_error(pos, "'" + excerpt(text) + "' is not an integer (decimal or 0x-prefixed hex)");
    return v;
}

std::uint64_t parse_size(const std::string& text, const source_pos& pos) {
    static const std::pair<const char*, std::uint64_t> units[] = {
        {"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}, {"B", 1}};
    for (const auto& [u, mult] : units) {
        const std::string us(u);
        if (text.size() > us.size() && text.compare(text.size() - us.size(), us.size(), us) == 0) {
            std::uint64_t v;
            if (!parse_number(text.substr(0, text.size() - us.size()), v) || v > ~std::uint64_t(0) / mult)
                throw input_error(pos, "'" + excerpt(text) + "' is not a size (like 4KiB, 256MiB, 4GiB or a byte count)");
            return v * mult;
        }
    }
    std::uint64_t v;
    if (!parse_number(text, v)) throw input_error(pos, "'" + excerpt(text) + "' is not a size (like 4KiB, 256MiB, 4GiB or a byte count)");
    return v;
}

sc_core::sc_time parse_time(const std::string& text, const source_pos& pos) {
    static const std::pair<const char*, double> units[] = {{"ps", 1}, {"ns", 1e3}, {"us", 1e6}, {"ms", 1e9}, {"s", 1e12}};
    for (const auto& [u, ps_per_unit] : units) {
        const std::string us(u);
        if (text.size() <= us.size() || text.compare(text.size() - us.size(), us.size(), us) != 0) continue;
        const std::string num = text.substr(0, text.size() - us.size());
        if (us == "s" && !num.empty() && !std::isdigit(static_cast<unsigned char>(num.back()))) continue;  // "ns" etc.
        double v = -1;
        try {
            std::size_t used = 0;
            v = std::stod(num, &used);
            if (used != num.size()) v = -1;
        } catch (const std::exception&) {
        }
        if (!(v >= 0) || !std::isfinite(v)) break;
        // Checked in picoseconds before sc_time sees it: sc_time converts to a
        // 64-bit count, and a larger value would wrap to a small time.
        const double ps = v * ps_per_unit;
        if (ps > static_cast<double>(limits::max_time_value_ps))
            throw input_error(pos, "time '" + excerpt(text) + "' is longer than the 10s a scenario may give");
        return sc_core::sc_time(ps, sc_core::SC_PS);
    }
    throw input_error(pos, "'" + excerpt(text) + "' is not a time (like 10ns, 1.5us, 2ms)");
}

std::vector<std::uint8_t> parse_data(const YAML::Node& node, const source_pos& pos) {
    std::vector<std::uint8_t> out;
    if (node.IsSequence()) {
        for (const auto& b : node) {
            if (!b.IsScalar()) throw input_error(pos, "data bytes must be integers 0..255");
            const std::uint64_t v = parse_integer(b.Scalar(), pos);
            if (v > 255) throw input_error(pos, "data byte " + excerpt(b.Scalar()) + " is larger than 255");
            out.push_back(static_cast<std::uint8_t>(v));
        }
        return out;
    }
    if (!node.IsScalar()) throw input_error(pos, "data must be hex bytes (\"de ad be ef\") or a list of bytes");
    std::string hex;
    for (char c : node.Scalar())
        if (!std::isspace(static_cast<unsigned char>(c))) hex += c;
    if (hex.rfind("0x", 0) == 0) hex = hex.substr(2);
    if (hex.empty() || hex.size() % 2 || !std::all_of(hex.begin(), hex.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
        throw input_error(pos, "data '" + excerpt(node.Scalar()) + "' must be whole hex bytes, like \"de ad be ef\"");
    for (std::size_t i = 0; i < hex.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return out;
}

namespace {

// Whether `s` matches `pattern`, a sequence of character classes like
// "^[A-Za-z_][A-Za-z0-9_]*$", each optionally followed by + or *. Matched
// greedily without backtracking, in one pass: hostile input cannot make it
// recurse or take long (std::regex_match recurses per character).
bool matches_classes(const std::string& s, const char* pattern) {
    std::size_t i = 0;
    const char* p = pattern;
    if (*p == '^') ++p;
    while (*p && *p != '$') {
        if (*p != '[') return false;  // only classes are supported
        const char* cls = ++p;
        while (*p && *p != ']') ++p;
        const std::string_view set(cls, static_cast<std::size_t>(p - cls));
        if (*p) ++p;
        const auto in = [&](char c) {
            for (std::size_t k = 0; k < set.size(); ++k) {
                if (k + 2 < set.size() && set[k + 1] == '-') {
                    if (c >= set[k] && c <= set[k + 2]) return true;
                    k += 2;
                } else if (set[k] == c) {
                    return true;
                }
            }
            return false;
        };
        const char q = *p;
        if (q == '+' || q == '*') ++p;
        std::size_t n = 0;
        while (i < s.size() && in(s[i]) && (n == 0 || q == '+' || q == '*')) ++i, ++n;
        if (n == 0 && q != '*') return false;
    }
    return i == s.size();
}

// Reads YAML nodes of one file with precise errors.
struct reader {
    std::string file;
    // Nodes an override (--set KEY=VALUE) made, with the KEY: errors there
    // name the override, not the file.
    std::vector<std::pair<YAML::Node, std::string>> set_nodes;
    // The nearest node of the file seen last: where an error about a node
    // without a place in the file (a default the loader made) points.
    mutable source_pos context{};

    source_pos pos(const YAML::Node& n) const {
        if (!n.IsDefined()) return context;  // a missing key: the map that lacks it was seen last
        const YAML::Mark m = n.Mark();
        // Values --set parsed as YAML have marks in their own text (line 0).
        if (m.is_null() || m.line == 0)
            for (const auto& [node, key] : set_nodes)
                if (node.is(n)) return {"", 0, 0, key};
        if (m.is_null()) return context;
        context = {file, m.line + 1, m.column + 1};
        return context;
    }
    [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const { throw input_error(pos(n), msg); }

    void keys(const YAML::Node& map, const std::vector<std::string>& allowed, const std::string& where) const {
        if (!map.IsMap()) fail(map, where + " must be a mapping");
        pos(map);  // the context of errors below it
        for (const auto& kv : map) {
            const std::string k = kv.first.Scalar();
            if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
                fail(kv.first, "unknown key '" + excerpt(k) + "' in " + where + suggestion(k, allowed));
        }
    }
    const YAML::Node require(const YAML::Node& map, const char* key, const std::string& where) const {
        const YAML::Node n = map[key];
        if (!n) fail(map, where + " needs '" + key + "'");
        return n;
    }
    std::string scalar(const YAML::Node& n, const std::string& what) const {
        if (!n.IsScalar()) fail(n, what + " must be a single value");
        return n.Scalar();
    }
    std::string name(const YAML::Node& n, const std::string& what, const char* pattern, const char* shown) const {
        const std::string s = scalar(n, what);
        if (s.size() > limits::max_name_length)
            fail(n, what + " '" + excerpt(s) + "' is longer than " + std::to_string(limits::max_name_length) + " characters");
        if (!matches_classes(s, pattern)) fail(n, what + " '" + excerpt(s) + "' must match " + shown);
        return s;
    }
    std::uint64_t integer(const YAML::Node& n, const std::string& what) const {
        return parse_integer(scalar(n, what), pos(n));
    }
    std::uint64_t size(const YAML::Node& n, const std::string& what) const { return parse_size(scalar(n, what), pos(n)); }
    sc_core::sc_time time(const YAML::Node& n, const std::string& what) const { return parse_time(scalar(n, what), pos(n)); }
    bool boolean(const YAML::Node& n, const std::string& what) const {
        const std::string s = scalar(n, what);
        if (s == "true") return true;
        if (s == "false") return false;
        fail(n, what + " must be true or false, not '" + excerpt(s) + "'");
    }
    std::vector<std::string> strings(const YAML::Node& n, const std::string& what) const {
        if (!n.IsSequence()) fail(n, what + " must be a list");
        std::vector<std::string> out;
        for (const auto& e : n) out.push_back(scalar(e, what + " entry"));
        return out;
    }
};

// The range of every count or size parameter (platform.<where>.<name>): a
// model allocates or loops by them, so each has an upper bound. A parameter
// missing here gets 0..default_param_max.
struct param_range { const char* path; std::uint64_t min, max; };
constexpr std::uint64_t default_param_max = 65536;
const param_range param_ranges[] = {
    {"platform.iommu.iotlb.entries", 1, limits::max_iotlb_entries},
    {"platform.iommu.iotlb.ways", 1, limits::max_iotlb_ways},
    {"platform.iommu.context_cache.entries", 1, limits::max_context_cache_entries},
    {"platform.iommu.iotlb.superpage_entries", 0, limits::max_iotlb_entries},
    {"platform.iommu.iotlb.superpage_ways", 1, limits::max_iotlb_ways},
    {"platform.iommu.iotlb.seed", 0, ~std::uint64_t(0)},
    {"platform.iommu.paging_cache.pml4_entries", 0, 1024},
    {"platform.iommu.paging_cache.pdpe_entries", 0, 1024},
    {"platform.iommu.paging_cache.pde_entries", 0, 1024},
    {"platform.iommu.sllps", 0, 3},
    {"platform.iommu.pasid_cache.entries", 1, limits::max_context_cache_entries},
    {"platform.iommu.fault_records", 1, 256},
    {"platform.iommu.address_width", 39, 48},
    {"platform.iommu.walkers", 1, 64},
    {"platform.iommu.pending_misses", 1, 256},
    {"platform.iommu.domains", 16, 65536},
    {"platform.fabric.link.tlp_overhead", 0, limits::max_tlp_overhead},
    {"platform.fabric.link.completion_overhead", 0, limits::max_tlp_overhead},
    {"platform.fabric.pci_bus.overhead_clocks", 0, limits::max_pci_bus_overhead_clocks},
    // The nic model (models/devices/nic.h), for the platform and per function.
    {"platform.devices.nic.queues", 1, 4},
    {"params of model nic.queues", 1, 4},
    {"platform.devices.nic.rx_packet_size", 60, 9018},
    {"params of model nic.rx_packet_size", 60, 9018},
    {"platform.devices.nic.rx_fifo_size", 0, 1u << 20},
    {"params of model nic.rx_fifo_size", 0, 1u << 20},
    // Checked in loader::platform() with a message that says why.
    {"platform.dram.channels", 0, ~std::uint64_t(0)},
    {"platform.dram.interleave", 0, ~std::uint64_t(0)},
    {"platform.fabric.link.gen", 0, ~std::uint64_t(0)},
    {"platform.fabric.link.width", 0, ~std::uint64_t(0)},
    {"platform.fabric.root_complex.read_completion_boundary", 0, ~std::uint64_t(0)},
    {"platform.fabric.read_tags", 0, ~std::uint64_t(0)},
    {"platform.fabric.posted_credits", 0, ~std::uint64_t(0)},
    {"platform.fabric.pci_bus.width", 0, ~std::uint64_t(0)},
    // A DMA address mask: any 64-bit value (edu's dma_mask).
    {"platform.devices.edu.dma_mask", 0, ~std::uint64_t(0)},
    {"params of model edu.dma_mask", 0, ~std::uint64_t(0)},
};

// Time parameters that are a wait of a whole step, not a per-transaction
// cost: they may reach limits::max_time_value_ps; the others max_param_time_ps.
const char* const step_time_params[] = {"platform.simulation.settle_limit",
                                        // a time-out, not a cost: PCIe's is a minute (capped here at 10 s)
                                        "platform.iommu.ats.invalidation_timeout",
                                        // edu's DMA timer: QEMU's is 100 ms.
                                        "platform.devices.edu.dma_delay", "params of model edu.dma_delay"};

// Sets a parameter struct from a YAML map by the dotted names its visit() declares.
struct param_reader {
    const reader& r;
    const YAML::Node map;
    const std::string where;  // "platform.iommu"
    std::vector<std::string> known;

    static YAML::Node find(const YAML::Node& m, const std::string& dotted) {
        std::stringstream ss(dotted);
        std::string part;
        YAML::Node node = m;
        while (std::getline(ss, part, '.')) {
            if (!node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
            const YAML::Node next = static_cast<const YAML::Node&>(node)[part];
            if (!next) return YAML::Node(YAML::NodeType::Undefined);
            node.reset(next);
        }
        return node;
    }
    template <class T> void operator()(const char* name, T& field, const char* unit, const char*) {
        known.push_back(name);
        const YAML::Node n = find(map, name);
        if (n.IsDefined() && !n.IsNull()) set(field, n, name, unit);
    }
    void set(bool& f, const YAML::Node& n, const char* name, const char*) { f = r.boolean(n, name); }
    void set(std::uint64_t& f, const YAML::Node& n, const char* name, const char* unit) {
        f = std::string(unit) == "bytes" ? r.size(n, name) : r.integer(n, name);
        const std::string path = where + "." + name;
        param_range range{nullptr, 0, default_param_max};
        for (const param_range& pr : param_ranges)
            if (path == pr.path) range = pr;
        if (f < range.min || f > range.max)
            r.fail(n, path + " must be " + std::to_string(range.min) + ".." + std::to_string(range.max) + (unit[0] ? std::string(" ") + unit : ""));
    }
    void set(double& f, const YAML::Node& n, const char* name, const char* unit) {
        const std::string s = r.scalar(n, name);
        bool number = false;
        try {
            std::size_t used = 0;
            f = std::stod(s, &used);
            number = used == s.size() && f > 0 && std::isfinite(f);
        } catch (const std::exception&) {
        }
        if (!number) r.fail(n, std::string(name) + " must be a positive number, not '" + excerpt(s) + "'");
        // Only bandwidths are rates today; a tiny one would make a transfer outlast sc_time.
        if (f < limits::min_bandwidth || f > limits::max_bandwidth) r.fail(n, where + "." + name + " must be 0.001..100000 (" + unit + ")");
    }
    void set(sc_core::sc_time& f, const YAML::Node& n, const char* name, const char*) {
        f = r.time(n, name);
        const std::string path = where + "." + name;
        const bool step_time = std::any_of(std::begin(step_time_params), std::end(step_time_params), [&](const char* p) { return path == p; });
        if (!step_time && f > sc_core::sc_time(static_cast<double>(limits::max_param_time_ps), sc_core::SC_PS))
            r.fail(n, path + " must be at most 1ms (a per-transaction latency)");
    }

    // Every key in the map must be a declared parameter or a prefix of one.
    void check_unknown(const std::string& where, const std::vector<std::string>& extra = {}) const {
        std::vector<std::string> all = known;
        all.insert(all.end(), extra.begin(), extra.end());
        check_level(map, "", where, all);
    }
    void check_level(const YAML::Node& m, const std::string& prefix, const std::string& where,
                     const std::vector<std::string>& all) const {
        if (!m.IsMap()) r.fail(m, where + (prefix.empty() ? "" : "." + prefix.substr(0, prefix.size() - 1)) + " must be a mapping");
        for (const auto& kv : m) {
            const std::string path = prefix + kv.first.Scalar();
            const bool leaf = std::find(all.begin(), all.end(), path) != all.end();
            const bool inner = std::any_of(all.begin(), all.end(), [&](const std::string& k) { return k.rfind(path + ".", 0) == 0; });
            if (leaf) continue;
            if (inner) { check_level(kv.second, path + ".", where, all); continue; }
            r.fail(kv.first, "unknown key '" + excerpt(path) + "' in " + where + suggestion(path, all));
        }
    }
};

// The node at a dotted parameter path below `map` (nested maps), or the
// deepest one on the way: where an error about that parameter points.
YAML::Node value_at(const YAML::Node& map, const std::string& dotted) {
    YAML::Node at = map;
    std::size_t from = 0;
    while (from <= dotted.size()) {
        const std::size_t dot = dotted.find('.', from);
        const std::string key = dotted.substr(from, dot == std::string::npos ? std::string::npos : dot - from);
        if (!at.IsMap() || !at[key]) break;
        // reset(), not operator=: assigning a node writes through to the
        // tree it shares with the caller's node.
        at.reset(at[key]);
        if (dot == std::string::npos) break;
        from = dot + 1;
    }
    return at;
}

template <class P> void read_params(const reader& r, const YAML::Node& map, P& params, const std::string& where,
                                    const std::vector<std::string>& extra = {}) {
    param_reader pr{r, map, where, {}};
    params.visit(pr);
    pr.check_unknown(where, extra);
}

void check_bar_totals(const reader& r, const YAML::Node& pcie, const std::vector<pcie_node>& tree);
void check_tree(const reader& r, const YAML::Node& n, int depth, std::uint64_t& visited);

// Names of the platform's own SystemC modules: a function's id may not take one.
const char* const reserved_ids[] = {"interconnect", "memory", "root_complex", "iommu", "msi", "hypervisor", "host_bridge", "runner"};

std::string reserved_list() {
    std::string out;
    for (const char* r : reserved_ids) out += (out.empty() ? "" : ", ") + std::string(r);
    return out;
}

// "dd.f": a device number (1 or 2 hex digits) and a function number (0..7).
bool parse_at(const std::string& at, unsigned& dev, unsigned& fn) {
    const std::size_t dot = at.find('.');
    if (dot == std::string::npos || dot == 0 || dot > 2 || at.size() != dot + 2) return false;
    dev = 0;
    for (std::size_t i = 0; i < dot; ++i) {
        const char c = at[i];
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
        dev = dev * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10);
    }
    if (at[dot + 1] < '0' || at[dot + 1] > '7') return false;
    fn = static_cast<unsigned>(at[dot + 1] - '0');
    return true;
}

const std::vector<std::string> node_types = {"rciep", "root_port", "upstream_port", "downstream_port", "endpoint",
                                             "pcie_pci_bridge", "pci_bridge", "host_bridge", "pci_device"};

class loader {
public:
    loader(std::string file, std::vector<std::pair<YAML::Node, std::string>> set_nodes) : r_{std::move(file), std::move(set_nodes)} {
        r_.context = {r_.file, 1, 1};
    }
    // Bounds the whole tree (limits.h) before load() walks it.
    void check(const YAML::Node& root) {
        std::uint64_t visited = 0;
        check_tree(r_, root, 1, visited);
    }
    // A yaml-cpp exception while reading (a subscript of a scalar) is bad input
    // at its node, or at the nearest node read before it.
    scenario load(const YAML::Node& root) {
        try {
            return read(root);
        } catch (const YAML::Exception& e) {
            const source_pos at = e.mark.is_null() ? r_.context : source_pos{r_.file, e.mark.line + 1, e.mark.column + 1};
            throw input_error(at, excerpt(e.msg, limits::max_excerpt * 4));
        }
    }

private:
    scenario read(const YAML::Node& root);

    void platform(const YAML::Node& n, platform_desc& p);
    void acs_override_option(const YAML::Node& n, acs_override& o);
    void pcie_tree(const YAML::Node& list, const pcie_node* parent, std::vector<pcie_node>& out);
    pcie_node pcie_function(const YAML::Node& n, const pcie_node* parent);
    // A function's `params:`: the platform's device parameters with the
    // overrides of its model's.
    device_params model_params(const YAML::Node& n, const std::string& model, device_params d) const {
        if (!n.IsMap()) r_.fail(n, "params must be a map of the " + model + " model's parameters");
#define IOTWIN_READ_MODEL_PARAMS(name, cls, params) \
        if (model == #name) read_params(r_, n, d.name, "params of model " #name);
        IOTWIN_DEVICE_MODELS(IOTWIN_READ_MODEL_PARAMS)
#undef IOTWIN_READ_MODEL_PARAMS
        return d;
    }
    device_params devices_;  // platform.devices, the defaults of every function's params
    // A scripted device's `script:` (models/devices/scripted.h).
    void script(const YAML::Node& n, pcie_node& f);
    void check_script_targets() const;
    std::vector<std::pair<std::string, YAML::Node>> script_targets_;  // p2p targets, checked once every id is known
    void placement(const YAML::Node& n, const pcie_node& node, const pcie_node* parent);
    void bars(const YAML::Node& n, pcie_node& node, const char* what = "a BAR");
    void capabilities(const YAML::Node& n, pcie_node& node);
    void domains(const YAML::Node& n, scenario& s);
    void processes(const YAML::Node& n, scenario& s);
    void drivers(const YAML::Node& n, domain_desc& dd);
    void steps(const YAML::Node& n, scenario& s);
    void step_actor(const YAML::Node& st, const op_spec& op, const scenario& s, step_desc& sd);
    void forked_name(const YAML::Node& n, const scenario& s);
    void check_references(const YAML::Node& n, const std::map<std::string, const op_spec*>& saved);
    void invariants(const YAML::Node& root, scenario& s);

    void bus_numbers(const YAML::Node& n, pcie_node& f);
    void check_ids(const YAML::Node& n, const pcie_node& f);
    void check_class(const YAML::Node& n, const pcie_node& f);

    reader r_;
    std::size_t functions_ = 0;  // PCI functions so far, VFs included
    std::map<std::string, const pcie_node*> ids_;
    std::set<std::string> all_ids_;
    std::set<std::string> later_vfs_;  // VFs beyond num_vfs: software may enable them at run time
    std::vector<std::string> forked_;  // processes that earlier proc.fork steps create
    std::vector<input_warning> warnings_;
};

scenario loader::read(const YAML::Node& root) {
    scenario s;
    s.file = r_.file;
    if (!root.IsMap()) r_.fail(root, "a scenario must be a mapping with name, platform, domains and steps");
    r_.keys(root, {"name", "description", "seed", "platform", "domains", "processes", "steps", "invariants", "expect_violation"},
            "the scenario");
    s.name = r_.name(r_.require(root, "name", "the scenario"), "name", "^[a-z0-9-]+$", "[a-z0-9-]+");
    if (root["description"]) s.description = r_.scalar(root["description"], "description");  // length: check_tree
    if (root["seed"]) s.seed = r_.integer(root["seed"], "seed");
    platform(r_.require(root, "platform", "the scenario"), s.platform);
    if (root["domains"]) domains(root["domains"], s);
    if (root["processes"]) processes(root["processes"], s);
    if (root["steps"]) {
        const YAML::Node st = root["steps"];
        if (st.IsSequence() && st.size() > limits::max_steps)
            r_.fail(st, "steps has " + std::to_string(st.size()) + " entries; a scenario may have at most " + std::to_string(limits::max_steps));
        steps(st, s);
    }
    invariants(root, s);
    s.warnings = std::move(warnings_);
    return s;
}

// platform.pcie_acs_override: the kernel parameter's value, as one string
// ("downstream,multifunction,id:10b5:8747") or a list of its options.
void loader::acs_override_option(const YAML::Node& n, acs_override& o) {
    std::vector<std::pair<std::string, YAML::Node>> opts;
    if (n.IsSequence()) {
        for (const auto& e : n) opts.emplace_back(r_.scalar(e, "platform.pcie_acs_override"), e);
    } else {
        std::string v = r_.scalar(n, "platform.pcie_acs_override");
        for (std::size_t at = 0; at <= v.size();) {
            const std::size_t comma = std::min(v.find(',', at), v.size());
            opts.emplace_back(v.substr(at, comma - at), n);
            at = comma + 1;
        }
    }
    for (const auto& [opt, where] : opts) {
        if (opt == "downstream") { o.downstream = true; continue; }
        if (opt == "multifunction") { o.multifunction = true; continue; }
        unsigned vendor = 0, device = 0;
        char end = 0;
        if (opt.size() == 12 && std::sscanf(opt.c_str(), "id:%4x:%4x%c", &vendor, &device, &end) == 2 &&
            opt.find_first_not_of("0123456789abcdefABCDEF", 3) == 7 && opt.find_first_not_of("0123456789abcdefABCDEF", 8) == std::string::npos) {
            o.ids.emplace_back(static_cast<std::uint16_t>(vendor), static_cast<std::uint16_t>(device));
            continue;
        }
        r_.fail(where, "platform.pcie_acs_override option " + quote_input(opt) +
                           " is not downstream, multifunction or id:vvvv:dddd (four hex digits each)");
    }
}

void loader::platform(const YAML::Node& n, platform_desc& p) {
    p.pos = r_.pos(n);
    r_.keys(n, {"memory", "iommu", "dram", "fabric", "simulation", "devices", "pcie", "pcie_acs_override"}, "platform");
    if (n["pcie_acs_override"]) acs_override_option(n["pcie_acs_override"], p.pcie_acs_override);
    if (n["memory"]) {
        p.memory = r_.size(n["memory"], "platform.memory");
        if (p.memory < (64ull << 20) || p.memory % (2ull << 20))
            r_.fail(n["memory"], "platform.memory must be a multiple of 2MiB and at least 64MiB");
        if (p.memory > limits::max_memory) r_.fail(n["memory"], "platform.memory is larger than the 1TiB this model supports");
    }
    if (n["iommu"]) {
        read_params(r_, n["iommu"], p.iommu, "platform.iommu", {"enabled", "iotlb.replacement", "mode", "table"});
        if (n["iommu"]["enabled"]) p.iommu_enabled = r_.boolean(n["iommu"]["enabled"], "platform.iommu.enabled");
        // A missing key yields an invalid node: test it before asking its type.
        if (const YAML::Node pol = value_at(n["iommu"], "iotlb.replacement");
            n["iommu"]["iotlb"] && n["iommu"]["iotlb"].IsMap() && n["iommu"]["iotlb"]["replacement"]) {
            const std::string name = r_.scalar(pol, "platform.iommu.iotlb.replacement");
            const auto r = iommu::replacement_from(name);
            if (!r) r_.fail(pol, "platform.iommu.iotlb.replacement must be lru, fifo or random, not '" + excerpt(name) + "'");
            p.iommu.iotlb_replacement = *r;
        }
        const auto& io = p.iommu;
        const YAML::Node where = n["iommu"];
        if (io.iotlb_entries == 0 || io.iotlb_ways == 0 || io.iotlb_entries % io.iotlb_ways)
            r_.fail(value_at(where, "iotlb.entries"), "platform.iommu.iotlb.entries must be a positive multiple of iotlb.ways");
        if (io.iotlb_superpage_entries % io.iotlb_superpage_ways)
            r_.fail(value_at(where, "iotlb.superpage_entries"),
                    "platform.iommu.iotlb.superpage_entries must be a multiple of iotlb.superpage_ways");
        if (io.context_cache_entries == 0) r_.fail(where, "platform.iommu.context_cache.entries must be at least 1");
        if (io.fault_records == 0 || io.fault_records > 256) r_.fail(where, "platform.iommu.fault_records must be 1..256");
        if (io.address_width != 39 && io.address_width != 48)
            r_.fail(value_at(where, "address_width"), "platform.iommu.address_width must be 39 or 48 (3- or 4-level tables)");
        if (io.pasid_cache_entries == 0) r_.fail(value_at(where, "pasid_cache.entries"), "platform.iommu.pasid_cache.entries must be at least 1");
        if (where["mode"]) {
            const std::string mode = r_.scalar(where["mode"], "platform.iommu.mode");
            if (mode != "legacy" && mode != "scalable") r_.fail(where["mode"], "platform.iommu.mode must be legacy or scalable");
            p.iommu.scalable = mode == "scalable";
        }
        if (where["table"]) {
            const std::string table = r_.scalar(where["table"], "platform.iommu.table");
            if (table != "auto" && table != "first_level" && table != "second_level")
                r_.fail(where["table"], "platform.iommu.table must be auto, first_level or second_level");
            if (!p.iommu.scalable) r_.fail(where["table"], "platform.iommu.table needs platform.iommu.mode: scalable");
            if (table == "first_level" && io.address_width != 48)
                r_.fail(where["table"], "platform.iommu.table: first_level needs address_width 48 (4-level first-level tables)");
            p.iommu_table = table == "first_level" ? 1 : table == "second_level" ? 2 : 0;
        }
        // CAP.ND encodes 2^(4 + 2*ND) domain IDs (VT-d 3.x 11.4.2).
        bool nd_ok = false;
        for (unsigned nd = 0; nd <= 6; ++nd) nd_ok = nd_ok || io.domains == (std::uint64_t(1) << (4 + 2 * nd));
        if (!nd_ok)
            r_.fail(value_at(where, "domains"), "platform.iommu.domains must be 16, 64, 256, 1024, 4096, 16384 or 65536 (CAP.ND)");
    }
    if (n["dram"]) {
        const YAML::Node dram = n["dram"];
        read_params(r_, dram, p.dram, "platform.dram");
        const auto& m = p.dram;
        if (!(m.bandwidth > 0)) r_.fail(value_at(dram, "bandwidth"), "platform.dram.bandwidth must be positive (GB/s)");
        if (m.channels == 0 || m.channels > 64) r_.fail(value_at(dram, "channels"), "platform.dram.channels must be 1..64");
        if (m.interleave < 64 || (m.interleave & (m.interleave - 1)) || m.interleave > (1u << 20))
            r_.fail(value_at(dram, "interleave"), "platform.dram.interleave must be a power of two from 64 bytes to 1MiB");
    }
    if (n["fabric"]) {
        const YAML::Node fabric = n["fabric"];
        read_params(r_, fabric, p.fabric, "platform.fabric");
        if (!pcie::valid_link(p.fabric.link.gen, p.fabric.link.width))
            r_.fail(value_at(fabric, "link"), "platform.fabric.link: gen must be 1..5 and width 1, 2, 4, 8, 12, 16 or 32");
        const fabric_params& f = p.fabric;
        if (f.root_complex.read_completion_boundary != 64 && f.root_complex.read_completion_boundary != 128)
            r_.fail(value_at(fabric, "root_complex.read_completion_boundary"),
                    "platform.fabric.root_complex.read_completion_boundary must be 64 or 128 (PCIe Read Completion Boundary)");
        if (f.read_tags == 0 || f.read_tags > 768)
            r_.fail(value_at(fabric, "read_tags"), "platform.fabric.read_tags must be 1..768 (10-bit tags allow 768 outstanding requests)");
        if (f.posted_credits == 0 || f.posted_credits > 255)
            r_.fail(value_at(fabric, "posted_credits"), "platform.fabric.posted_credits must be 1..255 (the 8-bit posted header credit field)");
        if (f.port.pci_bus_width != 4 && f.port.pci_bus_width != 8)
            r_.fail(value_at(fabric, "pci_bus.width"), "platform.fabric.pci_bus.width must be 4 or 8 bytes (32- or 64-bit PCI)");
        if (f.port.pci_bus_clock == sc_core::SC_ZERO_TIME) r_.fail(value_at(fabric, "pci_bus.clock"), "platform.fabric.pci_bus.clock must be positive");
    }
    if (n["simulation"]) {
        read_params(r_, n["simulation"], p.simulation, "platform.simulation");
        if (p.simulation.quantum == sc_core::SC_ZERO_TIME) r_.fail(n["simulation"], "platform.simulation.quantum must be positive");
    }
    if (n["devices"]) read_params(r_, n["devices"], p.devices, "platform.devices");
    devices_ = p.devices;
    if (n["pcie"]) {
        pcie_tree(n["pcie"], nullptr, p.pcie);
        check_bar_totals(r_, n["pcie"], p.pcie);
        check_script_targets();
    }
}

// The actions of a scripted device: each at a time after Bus Master Enable,
// in order, within the limits of a step's transfer (docs/devices/scripted.md).
void loader::script(const YAML::Node& n, pcie_node& f) {
    if (f.model != "scripted") r_.fail(n, "script belongs to a function with model: scripted ('" + f.id + "' has " + (f.model.empty() ? std::string("none") : "'" + f.model + "'") + ")");
    if (!n.IsSequence()) r_.fail(n, "script must be a list of actions");
    if (n.size() > devices::scripted::MAX_ACTIONS)
        r_.fail(n, "script has " + std::to_string(n.size()) + " actions, more than " + std::to_string(devices::scripted::MAX_ACTIONS));
    if (!f.params) f.params = devices_;
    std::vector<devices::script_action>& out = f.params->scripted.script;
    const std::vector<std::string> kinds = {"dma_write", "dma_read", "msi", "msix"};
    const std::vector<std::string> types = {"untranslated", "translation_request", "translated"};
    const sc_core::sc_time max_at(static_cast<double>(limits::max_time_value_ps), sc_core::SC_PS);
    for (const YAML::Node& a : n) {
        r_.keys(a, {"at", "do", "address", "target", "bar", "offset", "data", "fill", "len", "vector", "requester_id", "address_type"},
                "a script action");
        devices::script_action act;
        act.at = r_.time(r_.require(a, "at", "a script action"), "at");
        if (act.at > max_at) r_.fail(a["at"], "at must be at most 10s");
        if (!out.empty() && act.at < out.back().at)
            r_.fail(a["at"], "at " + act.at.to_string() + " is before the previous action's (" + out.back().at.to_string() + "): actions run in order");
        const std::string k = r_.scalar(r_.require(a, "do", "a script action"), "do");
        const auto ki = std::find(kinds.begin(), kinds.end(), k);
        if (ki == kinds.end()) r_.fail(a["do"], "unknown script action '" + excerpt(k) + "'" + suggestion(k, kinds));
        act.what = static_cast<devices::script_action::kind>(ki - kinds.begin());
        const bool dma = act.what == devices::script_action::kind::dma_write || act.what == devices::script_action::kind::dma_read;
        auto only = [&](const char* key, bool allowed, const char* why) {
            if (a[key] && !allowed) r_.fail(a[key], std::string(key) + " does not belong to a " + k + " action (" + why + ")");
        };
        if (a["requester_id"]) {
            const std::uint64_t rid = r_.integer(a["requester_id"], "requester_id");
            if (rid > 0xffff) r_.fail(a["requester_id"], "requester_id must fit in 16 bits (bus << 8 | device << 3 | function)");
            act.requester_id = static_cast<std::uint16_t>(rid);
        }
        if (a["address_type"]) {
            const std::string t = r_.scalar(a["address_type"], "address_type");
            const auto ti = std::find(types.begin(), types.end(), t);
            if (ti == types.end()) r_.fail(a["address_type"], "unknown address_type '" + excerpt(t) + "'" + suggestion(t, types));
            act.address_type = static_cast<pcie::address_type>(ti - types.begin());
        }
        // The target: a bus address, or a BAR of another function (peer to peer).
        act.raw = dma || a["address"] || a["target"];
        only("vector", !dma, "a DMA has an address");
        if (!dma && a["vector"] && act.raw) r_.fail(a["vector"], "a " + k + " action has either vector or address and data");
        if (act.raw) {
            if (a["address"] && a["target"]) r_.fail(a["target"], "an action has either address or target, bar and offset");
            if (a["target"]) {
                act.target = r_.scalar(a["target"], "target");
                if (act.target == f.id) r_.fail(a["target"], "target names the scripted function itself");
                script_targets_.emplace_back(act.target, a["target"]);
                const std::uint64_t bar = a["bar"] ? r_.integer(a["bar"], "bar") : 0;
                if (bar > 5) r_.fail(a["bar"], "bar must be 0..5");
                act.target_bar = static_cast<unsigned>(bar);
                act.address = a["offset"] ? r_.integer(a["offset"], "offset") : 0;
            } else {
                only("bar", false, "it goes with target");
                only("offset", false, "it goes with target");
                act.address = r_.integer(r_.require(a, "address", "a " + k + " action"), "address");
            }
        }
        if (act.what == devices::script_action::kind::dma_write) {
            only("len", false, "its length is that of data or fill");
            if (a["data"] && a["fill"]) r_.fail(a["fill"], "a dma_write has either data or fill");
            if (a["fill"]) {
                r_.keys(a["fill"], {"byte", "len"}, "fill");
                const std::uint64_t byte = r_.integer(r_.require(a["fill"], "byte", "fill"), "fill.byte");
                if (byte > 255) r_.fail(a["fill"]["byte"], "fill.byte must be 0..255");
                const std::uint64_t len = r_.size(r_.require(a["fill"], "len", "fill"), "fill.len");
                if (len == 0 || len > op_limits::max_transfer) r_.fail(a["fill"]["len"], "fill.len must be 1..1MiB");
                act.fill_len = len;  // expanded when the action runs: 1024 fills of 1 MiB stay small here
                act.fill_byte = static_cast<std::uint8_t>(byte);
            } else {
                const YAML::Node d = r_.require(a, "data", "a dma_write action");
                act.data = parse_data(d, r_.pos(d));
                if (act.data.empty() || act.data.size() > op_limits::max_transfer) r_.fail(d, "data must be 1..1MiB bytes");
            }
        } else if (act.what == devices::script_action::kind::dma_read) {
            only("data", false, "it reads");
            only("fill", false, "it reads");
            act.len = r_.size(r_.require(a, "len", "a dma_read action"), "len");
            if (act.len == 0 || act.len > op_limits::max_transfer) r_.fail(a["len"], "len must be 1..1MiB");
        } else {
            only("fill", false, "a message carries 32-bit data");
            only("len", false, "a message is 4 bytes");
            if (act.raw) {
                const std::uint64_t d = r_.integer(r_.require(a, "data", "a raw " + k + " action (with address)"), "data");
                if (d > 0xffffffff) r_.fail(a["data"], "data of a message must fit in 32 bits");
                act.msi_data = static_cast<std::uint32_t>(d);
            } else {
                only("data", false, "data goes with address");
                const std::uint64_t v = a["vector"] ? r_.integer(a["vector"], "vector") : 0;
                if (v > 2047) r_.fail(a["vector"], "vector must be 0..2047");
                act.vector = static_cast<unsigned>(v);
            }
        }
        const std::uint64_t len = act.what == devices::script_action::kind::dma_read    ? act.len
                                  : act.what == devices::script_action::kind::dma_write ? std::max<std::uint64_t>(act.data.size(), act.fill_len)
                                                                                       : 4;
        if (act.raw && act.target.empty() && act.address + (len - 1) < act.address)
            r_.fail(a["address"], "address + length runs past 2^64");
        out.push_back(std::move(act));
    }
}

void loader::check_script_targets() const {
    for (const auto& [id, node] : script_targets_)
        if (!all_ids_.count(id)) {
            const std::vector<std::string> known(all_ids_.begin(), all_ids_.end());
            r_.fail(node, "script target '" + excerpt(id) + "' is no function" + suggestion(id, known));
        }
}

void loader::pcie_tree(const YAML::Node& list, const pcie_node* parent, std::vector<pcie_node>& out) {
    if (!list.IsSequence()) r_.fail(list, parent ? "children must be a list" : "platform.pcie must be a list of functions");
    std::vector<YAML::Node> items(list.begin(), list.end());
    out.reserve(items.size());
    std::set<int> used_devs;
    std::map<int, std::size_t> at_taken;  // position -> index of the function there
    for (const YAML::Node& item : items) out.push_back(pcie_function(item, parent));
    // Explicit positions first, then the rest take device numbers in order of appearance.
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (!out[i].at_given) continue;
        const int key = out[i].dev << 3 | out[i].fn;
        if (auto it = at_taken.find(key); it != at_taken.end())
            r_.fail(items[i]["at"], "two functions at the same position '" + r_.scalar(items[i]["at"], "at") + "': '" +
                                        out[it->second].id + "' and '" + out[i].id + "'");
        at_taken.emplace(key, i);
        used_devs.insert(out[i].dev);
    }
    // Device 0 of root bus 0 is the root complex's own host bridge (00:00.0).
    const bool bus0 = parent == nullptr;
    if (bus0)
        for (std::size_t i = 0; i < out.size(); ++i)
            if (out[i].at_given && out[i].dev == 0)
                r_.fail(items[i]["at"], "00:00.0 is the root complex's host bridge; '" + out[i].id + "' needs another device number on bus 0");
    int next_dev = bus0 ? 1 : 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i].at_given) continue;
        while (used_devs.count(next_dev)) ++next_dev;
        if (next_dev > 31) r_.fail(items[i], "no free device number left on this bus for '" + out[i].id + "'");
        out[i].dev = static_cast<std::uint8_t>(next_dev);
        out[i].fn = 0;
        used_devs.insert(next_dev);
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        const pcie_node& f = out[i];
        if (f.fn != 0 && !std::any_of(out.begin(), out.end(), [&](const pcie_node& o) { return o.dev == f.dev && o.fn == 0; }))
            r_.fail(items[i], "function '" + f.id + "' is function " + std::to_string(f.fn) + " of device " +
                                  std::to_string(f.dev) + ", which has no function 0");
        placement(items[i], f, parent);
        // Linux (and firmware) scan functions 1..7 only when function 0 says multi-function.
        const auto f0 = std::find_if(out.begin(), out.end(), [&](const pcie_node& o) { return o.dev == f.dev && o.fn == 0; });
        if (f.fn != 0 && f0->multifunction && !*f0->multifunction)
            r_.fail(items[i], "function '" + f.id + "' would never be found: function 0 of its device ('" + f0->id +
                                  "') has multifunction: false");
    }
    // Recurse only now: the children's parent pointers must stay valid.
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (items[i]["children"]) pcie_tree(items[i]["children"], &out[i], out[i].children);
        ids_[out[i].id] = &out[i];
    }
}

pcie_node loader::pcie_function(const YAML::Node& n, const pcie_node* parent) {
    (void)parent;
    pcie_node f;
    f.pos = r_.pos(n);
    r_.keys(n, {"id", "type", "at", "acs", "acs_ctrl", "vendor", "device", "class", "link", "children", "model", "bars",
                "sriov", "multifunction", "root_bus", "segment", "secondary", "subordinate", "internal_p2p", "params", "rom", "msi", "msix",
                "interrupt_pin", "power_management", "flr", "driver", "script", "ats", "external_facing"}, "a pcie function");
    f.id = r_.name(r_.require(n, "id", "a pcie function"), "id", "^[A-Za-z0-9_-]+$", "[A-Za-z0-9_-]+");
    if (++functions_ > limits::max_functions)
        r_.fail(n, "more than " + std::to_string(limits::max_functions) + " PCI functions (virtual functions included)");
    // A function's id is the name of its SystemC module, beside the platform's own.
    if (std::find(std::begin(reserved_ids), std::end(reserved_ids), f.id) != std::end(reserved_ids))
        r_.fail(n["id"], "id '" + f.id + "' is reserved: it names a part of the platform (" + reserved_list() + ")");
    if (!all_ids_.insert(f.id).second) r_.fail(n["id"], "duplicate id '" + f.id + "'");
    const YAML::Node t = r_.require(n, "type", "function '" + f.id + "'");
    const std::string ts = r_.scalar(t, "type");
    const auto ti = std::find(node_types.begin(), node_types.end(), ts);
    if (ti == node_types.end()) r_.fail(t, "unknown type '" + excerpt(ts) + "'" + suggestion(ts, node_types));
    f.type = static_cast<node_type>(ti - node_types.begin());
    if (n["at"]) {
        const std::string at = r_.scalar(n["at"], "at");
        unsigned dev = 0, fn = 0;
        if (!parse_at(at, dev, fn)) r_.fail(n["at"], "at '" + excerpt(at) + "' must be device.function in hex, like \"01.0\"");
        if (dev > 31) r_.fail(n["at"], "device number in '" + at + "' is larger than 1f");
        f.dev = static_cast<std::uint8_t>(dev);
        f.fn = static_cast<std::uint8_t>(fn);
        f.at_given = true;
    }
    if (n["acs"]) {
        f.has_acs = true;
        f.acs = r_.strings(n["acs"], "acs");
        const std::vector<std::string>& acs_names = acs::known_names();
        for (std::size_t i = 0; i < f.acs.size(); ++i)
            if (std::find(acs_names.begin(), acs_names.end(), f.acs[i]) == acs_names.end())
                r_.fail(n["acs"][i], "unknown ACS bit '" + excerpt(f.acs[i]) + "'" + suggestion(f.acs[i], acs_names));
    }
    if (n["acs_ctrl"]) {
        if (!n["acs"]) r_.fail(n["acs_ctrl"], "acs_ctrl on '" + f.id + "', which has no ACS capability (no 'acs')");
        f.acs_ctrl = r_.strings(n["acs_ctrl"], "acs_ctrl");
        for (std::size_t i = 0; i < f.acs_ctrl->size(); ++i)
            if (std::find(f.acs.begin(), f.acs.end(), (*f.acs_ctrl)[i]) == f.acs.end())
                r_.fail(n["acs_ctrl"][i], "ACS control bit '" + excerpt((*f.acs_ctrl)[i]) + "' is not in the capability (acs)");
    }
    if (n["ats"]) {
        // `ats: true`, or a mapping with queue_depth (0..31, 0 meaning 32) and page_aligned.
        pci::function_params::ats_regs a;
        const YAML::Node an = n["ats"];
        if (an.IsMap()) {
            r_.keys(an, {"queue_depth", "page_aligned"}, "ats");
            if (an["queue_depth"]) {
                const std::uint64_t q = r_.integer(an["queue_depth"], "ats.queue_depth");
                if (q > 31) r_.fail(an["queue_depth"], "ats.queue_depth must be 0..31 (0 stands for 32)");
                a.invalidate_queue_depth = static_cast<unsigned>(q);
            }
            if (an["page_aligned"]) a.page_aligned = r_.boolean(an["page_aligned"], "ats.page_aligned");
            f.ats = a;
        } else if (r_.boolean(an, "ats")) {
            f.ats = a;
        }
        if (f.ats && (is_bridge(f.type) || f.type == node_type::pci_device || f.type == node_type::host_bridge))
            r_.fail(an, "ats on '" + f.id + "': only PCI Express endpoints and RCiEPs have an ATS capability here");
    }
    if (n["external_facing"]) {
        f.external_facing = r_.boolean(n["external_facing"], "external_facing");
        if (f.external_facing && f.type != node_type::root_port && f.type != node_type::downstream_port)
            r_.fail(n["external_facing"], "external_facing on '" + f.id + "': only a root port or a switch downstream port faces outside");
    }
    auto id16 = [&](const char* key) -> std::optional<std::uint16_t> {
        if (!n[key]) return std::nullopt;
        const std::uint64_t v = r_.integer(n[key], key);
        if (v > 0xffff) r_.fail(n[key], std::string(key) + " must fit in 16 bits");
        return static_cast<std::uint16_t>(v);
    };
    f.vendor = id16("vendor");
    f.device = id16("device");
    check_ids(n, f);
    if (n["class"]) {
        const std::uint64_t v = r_.integer(n["class"], "class");
        if (v > 0xffffff) r_.fail(n["class"], "class must fit in 24 bits (base, sub-class, programming interface)");
        f.class_code = static_cast<std::uint32_t>(v);
        check_class(n["class"], f);
    }
    if (n["link"]) {
        r_.keys(n["link"], {"gen", "width"}, "link");
        pcie::link_params lp;
        if (n["link"]["gen"]) lp.gen = r_.integer(n["link"]["gen"], "link.gen");
        if (n["link"]["width"]) lp.width = r_.integer(n["link"]["width"], "link.width");
        if (!pcie::valid_link(lp.gen, lp.width)) r_.fail(n["link"], "link: gen must be 1..5 and width 1, 2, 4, 8, 12, 16 or 32");
        f.link = lp;
    }
    if (n["model"]) {
        const std::string m = r_.scalar(n["model"], "model");
        std::vector<std::string> models;
        for (const auto& [name, factory] : device_models()) models.push_back(name);
        if (std::find(models.begin(), models.end(), m) == models.end())
            r_.fail(n["model"], "unknown device model '" + excerpt(m) + "'" + suggestion(m, models));
        if (is_bridge(f.type)) r_.fail(n["model"], "'" + f.id + "' is of type " + to_string(f.type) + ", which has no device model");
        f.model = m;
        // A model of a real device fixes what the device has (model_traits.h).
        if (const auto fixed = devices::model_identity_of(m)) {
            for (const char* key : {"vendor", "device", "class", "acs", "sriov"})
                if (n[key]) r_.fail(n[key], "'" + f.id + "' is of model " + m + ", whose " + key + " the model fixes: remove '" + key + "'");
            if (fixed->fixed_bars && n["bars"]) r_.fail(n["bars"], "'" + f.id + "' is of model " + m + ", whose BARs the model fixes: remove 'bars'");
        }
    }
    if (n["params"]) {
        if (is_bridge(f.type) || f.type == node_type::host_bridge)
            r_.fail(n["params"], "'" + f.id + "' is of type " + to_string(f.type) + ", which has no device model to take params");
        f.params = model_params(n["params"], f.model.empty() ? "bar_ram" : f.model, devices_);
    }
    if (n["script"]) script(n["script"], f);
    if (n["bars"]) bars(n["bars"], f);
    capabilities(n, f);
    if (n["multifunction"]) f.multifunction = r_.boolean(n["multifunction"], "multifunction");
    if (n["segment"]) {
        if (f.type != node_type::host_bridge) r_.fail(n["segment"], "segment belongs to a host_bridge");
        const std::uint64_t seg = r_.integer(n["segment"], "segment");
        if (seg > 0xffff) r_.fail(n["segment"], "segment must be 0..65535");
        f.segment = static_cast<std::uint16_t>(seg);
    }
    if (n["root_bus"]) {
        if (f.type != node_type::host_bridge) r_.fail(n["root_bus"], "root_bus belongs to a host_bridge");
        const std::uint64_t b = r_.integer(n["root_bus"], "root_bus");
        if (b > 255) r_.fail(n["root_bus"], "root_bus must be 0..255");
        // Bus 0 of segment 0 is the root complex's own; another segment starts where it likes.
        if (b == 0 && f.segment == 0)
            r_.fail(n["root_bus"], "root_bus 0 of segment 0 is the root complex's own bus; give another bus, or a segment");
        f.root_bus = static_cast<std::uint8_t>(b);
    } else if (f.type == node_type::host_bridge) {
        r_.fail(n, "host_bridge '" + f.id + "' needs root_bus");
    }
    bus_numbers(n, f);
    if (n["internal_p2p"]) f.internal_p2p = r_.boolean(n["internal_p2p"], "internal_p2p");
    if (n["driver"]) {
        const std::string d = r_.scalar(n["driver"], "driver");
        const std::vector<std::string> drivers = host_driver_names();
        if (std::find(drivers.begin(), drivers.end(), d) == drivers.end())
            r_.fail(n["driver"], "unknown host driver '" + excerpt(d) + "'" + suggestion(d, drivers));
        if (f.type == node_type::host_bridge) r_.fail(n["driver"], "'" + f.id + "' is a host_bridge, which no driver binds");
        f.driver = d;
        f.driver_pos = r_.pos(n["driver"]);
    }
    if (n["sriov"]) {
        const YAML::Node s = n["sriov"];
        if (f.type != node_type::endpoint && f.type != node_type::rciep)
            r_.fail(s, "sriov belongs to an endpoint or rciep (a physical function)");
        r_.keys(s, {"total_vfs", "num_vfs", "first_vf_offset", "vf_stride", "vf_device", "vf_bars"}, "sriov");
        sriov_spec sp;
        sp.total_vfs = r_.integer(r_.require(s, "total_vfs", "sriov"), "total_vfs");
        sp.num_vfs = s["num_vfs"] ? r_.integer(s["num_vfs"], "num_vfs") : sp.total_vfs;
        if (s["first_vf_offset"]) sp.first_vf_offset = r_.integer(s["first_vf_offset"], "first_vf_offset");
        if (s["vf_stride"]) sp.vf_stride = r_.integer(s["vf_stride"], "vf_stride");
        if (s["vf_device"]) {
            const std::uint64_t d = r_.integer(s["vf_device"], "vf_device");
            if (d > 0xffff) r_.fail(s["vf_device"], "vf_device must fit in 16 bits");
            sp.vf_device = static_cast<std::uint16_t>(d);
        }
        if (sp.total_vfs == 0 || sp.total_vfs > 0xffff) r_.fail(s, "sriov.total_vfs must be 1..65535");
        if (sp.num_vfs > sp.total_vfs) r_.fail(s["num_vfs"], "sriov.num_vfs is larger than total_vfs");
        if (sp.first_vf_offset == 0 || sp.first_vf_offset > 0xffff) r_.fail(s, "sriov.first_vf_offset must be 1..65535");
        // VF Stride is a 16-bit register; it may be 0 while at most one VF is enabled (PCIe 5.0 9.3.3.11).
        if (sp.vf_stride > 0xffff || (sp.num_vfs > 1 && sp.vf_stride == 0)) r_.fail(s, "sriov.vf_stride must be 1..65535");
        if (s["vf_bars"]) {
            pcie_node vfs;
            vfs.type = node_type::endpoint;
            bars(s["vf_bars"], vfs, "a VF BAR");
            for (std::size_t i = 0; i < vfs.bars.size(); ++i) {
                const pci::bar_desc& b = vfs.bars[i];
                if (b.type == pci::bar_type::io) r_.fail(s["vf_bars"][i]["type"], "a VF BAR is a memory BAR (VFs have no I/O space, PCIe 5.0 9.3.3.14)");
                // Every VF's copy lies in the PF's window: total_vfs x size.
                if (b.size * sp.total_vfs > limits::max_bar_size)
                    r_.fail(s["vf_bars"][i]["size"], "VF BAR " + std::to_string(b.index) + " for " + std::to_string(sp.total_vfs) +
                                                       " VFs needs more than 64GiB");
            }
            sp.vf_bars = vfs.bars;
        }
        f.sriov = sp;
        // Every VF the PF can enable is a function of the platform (software
        // may enable up to TotalVFs at run time): counted and named now.
        functions_ += sp.total_vfs;
        if (functions_ > limits::max_functions)
            r_.fail(s, "more than " + std::to_string(limits::max_functions) + " PCI functions (virtual functions included)");
        for (std::uint64_t i = 0; i < sp.total_vfs; ++i) {
            const std::string vf = f.id + "-vf" + std::to_string(i);
            if (i >= sp.num_vfs) later_vfs_.insert(vf);
            if (!all_ids_.insert(vf).second) r_.fail(s, "virtual function id '" + vf + "' is already the id of another function");
        }
    }
    if (n["children"] && !is_bridge(f.type))
        r_.fail(n["children"], "'" + f.id + "' is of type " + to_string(f.type) + ", which cannot have children");
    return f;
}

// `secondary` and `subordinate`: the bus numbers firmware programmed into a
// bridge. What needs the tree (the bridge's own bus, its parent's range, its
// siblings) is checked when the buses are numbered (platform/topology.cpp).
void loader::bus_numbers(const YAML::Node& n, pcie_node& f) {
    const auto bus = [&](const char* key, std::optional<std::uint8_t>& out, source_pos& where) {
        if (!n[key]) return;
        if (!is_bridge(f.type) || f.type == node_type::host_bridge)
            r_.fail(n[key], std::string(key) + " belongs to a bridge (root_port, upstream_port, downstream_port, pcie_pci_bridge, pci_bridge); '" +
                                f.id + "' is of type " + to_string(f.type) + (f.type == node_type::host_bridge ? " (its bus is root_bus)" : ""));
        const std::uint64_t v = r_.integer(n[key], key);
        if (v > 255) r_.fail(n[key], std::string(key) + " must be a bus number, 0..255");
        out = static_cast<std::uint8_t>(v);
        where = r_.pos(n[key]);
    };
    bus("secondary", f.secondary, f.secondary_pos);
    bus("subordinate", f.subordinate, f.subordinate_pos);
    if (f.subordinate && !f.secondary)
        r_.fail(n["subordinate"], "subordinate without secondary on '" + f.id + "': firmware programs both, or Linux numbers the bridge");
    if (f.subordinate && *f.subordinate < *f.secondary)
        r_.fail(n["subordinate"], "subordinate " + std::to_string(*f.subordinate) + " of '" + f.id + "' is below its secondary bus " +
                                      std::to_string(*f.secondary) + " (Linux would find the bridge misconfigured and renumber it)");
}

// Vendor and Device IDs Linux reads as "no function here"
// (pci_bus_generic_read_dev_vendor_id(): ~0, 0, 0000ffff and ffff0000) or as
// "not ready, retry" (Vendor ID 0001h, Configuration Request Retry Status):
// such a function would never be enumerated.
void loader::check_ids(const YAML::Node& n, const pcie_node& f) {
    if (!f.vendor) return;
    const std::uint16_t v = *f.vendor;
    const YAML::Node at = n["vendor"];
    if (v == 0xffff) r_.fail(at, "vendor 0xffff is what an empty slot reads: Linux would never find '" + f.id + "'");
    if (v == 0x0001) r_.fail(at, "vendor 0x0001 is the Configuration Request Retry Status answer, not a vendor: Linux would wait for '" + f.id + "' to be ready");
    if (v == 0 && (!f.device || *f.device == 0 || *f.device == 0xffff))
        r_.fail(at, "vendor 0x0000 with device 0x0000 or 0xffff reads as an empty slot: Linux would never find '" + f.id + "'");
}

// The class code must agree with the type (which decides the configuration
// header): a bridge is class 06h/04h (PCI-to-PCI) or 06h/09h
// (semi-transparent), a host bridge 06h/00h; Linux ignores a PCI-to-PCI
// bridge class on a type 0 header (pci_setup_device(): "doesn't match header
// type"), so an endpoint may not claim it either.
void loader::check_class(const YAML::Node& n, const pcie_node& f) {
    const std::uint32_t base_sub = *f.class_code >> 8;
    const bool p2p_class = base_sub == 0x0604 || base_sub == 0x0609;
    const auto hex = [](std::uint32_t v) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "0x%06x", v);
        return std::string(buf);
    };
    const std::string what = "class " + hex(*f.class_code) + " of " + to_string(f.type) + " '" + f.id + "'";
    if (f.type == node_type::host_bridge) {
        if (base_sub != 0x0600) r_.fail(n, what + ": a host bridge is class 0x0600xx");
    } else if (is_bridge(f.type)) {
        if (!p2p_class) r_.fail(n, what + ": a bridge is class 0x0604xx or 0x0609xx (PCI-to-PCI)");
    } else if (p2p_class) {
        r_.fail(n, what + ": a PCI-to-PCI bridge class needs a bridge type (Linux ignores it on an endpoint's header)");
    }
}

// The MMIO windows must hold every BAR: non-prefetchable ones (and 32-bit
// ones) in the 32-bit window, prefetchable 64-bit ones in the 64-bit window.
// The sums are a lower bound of what enumeration places (bridge windows
// align to 1 MiB); a file beyond them cannot boot.
void check_bar_totals(const reader& r, const YAML::Node& pcie, const std::vector<pcie_node>& tree) {
    std::uint64_t np = 0, pf = 0;
    for_each_node(tree, [&](const pcie_node& f, const pcie_node*) {
        for (const pci::bar_desc& b : f.bars)
            if (b.type != pci::bar_type::io) (b.prefetchable && b.type == pci::bar_type::mem64 ? pf : np) += b.size;
        np += f.rom_size;
        if (f.sriov)
            for (const pci::bar_desc& b : f.sriov->vf_bars) (b.prefetchable && b.type == pci::bar_type::mem64 ? pf : np) += b.size * f.sriov->total_vfs;
    });
    if (np > address_map::mmio32_size)
        r.fail(pcie, "the non-prefetchable BARs need " + std::to_string(np >> 20) + "MiB; the 32-bit MMIO window has 512MiB");
    if (pf > address_map::mmio64_size)
        r.fail(pcie, "the prefetchable 64-bit BARs need " + std::to_string(pf >> 30) + "GiB; the 64-bit MMIO window has 1024GiB");
}

// Linux enumerates a function wherever it answers configuration requests, so
// every placement below is accepted, except a tree Linux would see otherwise
// (an upstream port on a switch's internal bus is a downstream port to
// set_pcie_port_type(); only device 0 is scanned below a PCI Express
// downstream port, only_one_child()) and what the description cannot mean (a
// downstream port outside a switch, a host bridge below a bridge). Placements
// physical hardware does not build, but virtual platforms do, get a warning.
void loader::placement(const YAML::Node& n, const pcie_node& f, const pcie_node* parent) {
    using t = node_type;
    const auto where = [&] { return parent ? "below " + std::string(to_string(parent->type)) + " '" + parent->id + "'" : std::string("on the root bus"); };
    const auto subject = [&] { return std::string(to_string(f.type)) + " '" + f.id + "' " + where() + ": "; };
    const auto bad = [&](const std::string& why) { r_.fail(n, subject() + why); };
    bool warned = false;  // one warning per function is enough
    const auto unusual = [&](const std::string& why) {
        if (!warned) warnings_.push_back({r_.pos(n), subject() + why + "; Linux enumerates it all the same"});
        warned = true;
    };
    const t p = parent ? parent->type : t::host_bridge;  // the root bus behaves like a host bridge's bus
    const bool root_bus = !parent || p == t::host_bridge;
    const bool pcie_link = parent && (p == t::root_port || p == t::downstream_port);
    const bool switch_bus = parent && p == t::upstream_port;
    if (switch_bus && f.type != t::downstream_port && f.type != t::upstream_port)
        unusual("a switch's internal bus usually holds only downstream ports");
    switch (f.type) {
    case t::host_bridge:
        if (parent) bad("additional host bridges sit on bus 0 of the root complex");
        break;
    case t::downstream_port:
        if (!switch_bus) bad("a downstream port outside a switch (its parent must be an upstream_port)");
        break;
    case t::upstream_port:
        if (switch_bus)
            bad("Linux takes a port below an upstream port for a downstream port (set_pcie_port_type()); write downstream_port");
        if (!pcie_link) unusual("a switch's upstream port usually sits below a root port or a downstream port");
        break;
    case t::rciep: case t::root_port:
        if (!root_bus) unusual("a root complex's own functions usually sit on a root bus");
        break;
    case t::endpoint:
        if (!pcie_link) unusual("a PCIe endpoint usually sits below a root port or a downstream port (rciep on a root bus, pci_device on a PCI bus)");
        break;
    case t::pcie_pci_bridge:
        if (!pcie_link)
            unusual("a PCIe-to-PCI bridge usually sits below a root port or a downstream port (virtual platforms also integrate one on a root bus)");
        break;
    case t::pci_device:
        if (pcie_link) unusual("a conventional function directly below a PCI Express port needs a bridge to PCI in physical hardware (virtual platforms connect it directly)");
        break;
    case t::pci_bridge:
        // Also below a PCIe port: bridges to PCI without a PCI Express
        // capability (ASMedia ASM1083 and others) exist in silicon.
        break;
    }
    if (pcie_link && f.dev != 0) bad("a PCIe link has only device 0 below its port (at \"00.x\")");
    if (f.has_acs && (f.type == t::pci_device || f.type == t::pci_bridge))
        warnings_.push_back({r_.pos(n["acs"]), std::string(to_string(f.type)) + " '" + f.id +
                                                 "' is conventional PCI, whose configuration space has no extended capabilities: "
                                                 "Linux finds no ACS capability in it, and iotwin ignores 'acs'"});
}

void loader::bars(const YAML::Node& n, pcie_node& f, const char* what) {
    if (!n.IsSequence()) r_.fail(n, std::string(what == std::string("a BAR") ? "bars" : "sriov.vf_bars") + " must be a list");
    if (f.type == node_type::host_bridge) r_.fail(n, "host bridges have no BARs here");
    f.bars_given = true;
    const unsigned max_index = is_bridge(f.type) ? 1 : 5;
    std::set<unsigned> used;
    for (const auto& b : n) {
        r_.keys(b, {"index", "size", "type", "prefetchable"}, what);
        pci::bar_desc d;
        d.index = static_cast<unsigned>(r_.integer(r_.require(b, "index", what), "index"));
        d.size = r_.size(r_.require(b, "size", what), "size");
        if (b["type"]) {
            const std::string ty = r_.scalar(b["type"], "type");
            if (ty == "mem64") d.type = pci::bar_type::mem64;
            else if (ty == "io") d.type = pci::bar_type::io;
            else if (ty != "mem32") r_.fail(b["type"], "BAR type '" + excerpt(ty) + "' must be mem32, mem64 or io" + suggestion(ty, {"mem32", "mem64", "io"}));
        }
        if (b["prefetchable"]) d.prefetchable = r_.boolean(b["prefetchable"], "prefetchable");
        if (d.type == pci::bar_type::io && d.prefetchable) r_.fail(b["prefetchable"], "an I/O BAR cannot be prefetchable");
        const unsigned last = d.index + (d.type == pci::bar_type::mem64 ? 1 : 0);
        if (last > max_index) r_.fail(b["index"], "BAR index " + std::to_string(d.index) + (d.type == pci::bar_type::mem64 ? " (64-bit, two slots)" : "") +
                                                      " does not fit: a function of type " + to_string(f.type) + " has BARs 0.." + std::to_string(max_index));
        // An I/O BAR decodes 4 to 256 bytes (PCI 3.0 6.2.5.1: at most 256 bytes per BAR).
        if (d.type == pci::bar_type::io) {
            if (d.size < 4 || d.size > 256 || (d.size & (d.size - 1)))
                r_.fail(b["size"], "an I/O BAR's size must be a power of two from 4 to 256 bytes");
        } else if (d.size < 16 || (d.size & (d.size - 1))) {
            r_.fail(b["size"], "BAR size must be a power of two of at least 16 bytes");
        }
        if (d.type == pci::bar_type::mem32 && d.size > (1ull << 30)) r_.fail(b["size"], "a 32-bit BAR cannot be larger than 1GiB here; use mem64");
        if (d.size > limits::max_bar_size) r_.fail(b["size"], "a BAR cannot be larger than 64GiB here (the 64-bit MMIO window is 1TiB)");
        if (!used.insert(d.index).second || (last != d.index && !used.insert(last).second))
            r_.fail(b["index"], "BAR " + std::to_string(d.index) + " overlaps another BAR (a mem64 BAR uses two slots)");
        f.bars.push_back(d);
    }
}

// A function's capability keys: rom, msi, msix, interrupt_pin,
// power_management, flr (docs/scenario-reference.md). `msix` refers to BARs,
// so `bars` is read first.
void loader::capabilities(const YAML::Node& n, pcie_node& f) {
    const bool type0 = f.type == node_type::endpoint || f.type == node_type::rciep || f.type == node_type::pci_device;
    const auto endpoint_only = [&](const char* key) {
        if (n[key] && !type0)
            r_.fail(n[key], std::string(key) + " belongs to an endpoint, rciep or pci_device; '" + f.id + "' is of type " + to_string(f.type));
    };
    for (const char* key : {"rom", "msi", "msix", "interrupt_pin", "power_management", "flr"}) endpoint_only(key);
    if (n["rom"]) {
        f.rom_size = r_.size(n["rom"], "rom");
        if (f.rom_size < pci::rom_bits::min_size || f.rom_size > pci::rom_bits::max_size || (f.rom_size & (f.rom_size - 1)))
            r_.fail(n["rom"], "rom must be a power of two from 2KiB to 16MiB");
    }
    if (n["msi"]) {
        const YAML::Node m = n["msi"];
        if (!m.IsMap()) r_.fail(m, "msi must be a map with vectors, address_64bit, per_vector_mask");
        r_.keys(m, {"vectors", "address_64bit", "per_vector_mask"}, "msi");
        msi_spec ms;
        if (m["vectors"]) {
            const std::uint64_t v = r_.integer(m["vectors"], "vectors");
            if (v > 32 || (v & (v - 1))) r_.fail(m["vectors"], "msi.vectors must be 0 (no MSI), 1, 2, 4, 8, 16 or 32");
            ms.vectors = static_cast<unsigned>(v);
        }
        if (m["address_64bit"]) ms.address_64bit = r_.boolean(m["address_64bit"], "address_64bit");
        if (m["per_vector_mask"]) ms.per_vector_mask = r_.boolean(m["per_vector_mask"], "per_vector_mask");
        f.msi = ms;
    }
    if (n["msix"]) {
        const YAML::Node m = n["msix"];
        if (!m.IsMap()) r_.fail(m, "msix must be a map with vectors, table_bar, table_offset, pba_bar, pba_offset");
        r_.keys(m, {"vectors", "table_bar", "table_offset", "pba_bar", "pba_offset"}, "msix");
        pci::function_params::msix_regs x;
        const std::uint64_t v = r_.integer(r_.require(m, "vectors", "msix"), "vectors");
        if (v < 1 || v > 2048) r_.fail(m["vectors"], "msix.vectors must be 1..2048");
        x.vectors = static_cast<unsigned>(v);
        // Table and PBA live in memory BARs of the function (PCIe 5.0 7.7.2.3-4), QWORD aligned.
        const auto place = [&](const char* bar_key, const char* off_key, std::uint64_t size, unsigned& bir, std::uint32_t& off) {
            const std::uint64_t b = r_.integer(r_.require(m, bar_key, "msix"), bar_key);
            const auto it = std::find_if(f.bars.begin(), f.bars.end(), [&](const pci::bar_desc& d) { return d.index == b; });
            if (b > 5 || it == f.bars.end() || it->type == pci::bar_type::io)
                r_.fail(m[bar_key], "msix." + std::string(bar_key) + " " + std::to_string(b) + " is not a memory BAR of '" + f.id + "' (see bars)");
            const std::uint64_t o = m[off_key] ? r_.integer(m[off_key], off_key) : 0;
            const YAML::Node at = m[off_key] ? m[off_key] : m[bar_key];
            if (o & 7) r_.fail(at, "msix." + std::string(off_key) + " must be 8-byte aligned");
            if (o > it->size || size > it->size - o)
                r_.fail(at, "msix." + std::string(off_key) + ": " + std::to_string(size) + " bytes at " + std::to_string(o) +
                                " do not fit in BAR " + std::to_string(b) + " (" + std::to_string(it->size) + " bytes)");
            bir = static_cast<unsigned>(b);
            off = static_cast<std::uint32_t>(o);
        };
        const std::uint64_t table = std::uint64_t(x.vectors) * 16, pba = (x.vectors + 63) / 64 * 8;
        place("table_bar", "table_offset", table, x.table_bar, x.table_offset);
        place("pba_bar", "pba_offset", pba, x.pba_bar, x.pba_offset);
        if (x.table_bar == x.pba_bar && x.table_offset < x.pba_offset + pba && x.pba_offset < x.table_offset + table)
            r_.fail(m["pba_offset"] ? m["pba_offset"] : m, "msix: the PBA overlaps the table in BAR " + std::to_string(x.pba_bar));
        f.msix = x;
    }
    if (n["interrupt_pin"]) {
        const std::vector<std::string> pins = {"none", "INTA", "INTB", "INTC", "INTD"};
        const std::string pin = r_.scalar(n["interrupt_pin"], "interrupt_pin");
        const auto it = std::find(pins.begin(), pins.end(), pin);
        if (it == pins.end()) r_.fail(n["interrupt_pin"], "interrupt_pin '" + excerpt(pin) + "' must be INTA, INTB, INTC, INTD or none" + suggestion(pin, pins));
        f.interrupt_pin = static_cast<std::uint8_t>(it - pins.begin());
    }
    if (n["power_management"]) {
        const YAML::Node pm = n["power_management"];
        if (pm.IsMap()) {
            r_.keys(pm, {"no_soft_reset"}, "power_management");
            f.power_management = true;
            if (pm["no_soft_reset"]) f.no_soft_reset = r_.boolean(pm["no_soft_reset"], "no_soft_reset");
        } else {
            f.power_management = r_.boolean(pm, "power_management");
        }
    }
    if (n["flr"]) {
        f.flr = r_.boolean(n["flr"], "flr");
        if (f.flr && f.type == node_type::pci_device)
            r_.fail(n["flr"], "flr is a PCI Express capability bit; '" + f.id + "' is conventional PCI (pci_device)");
    }
}

void loader::domains(const YAML::Node& n, scenario& s) {
    if (!n.IsSequence()) r_.fail(n, "domains must be a list");
    std::map<std::string, std::string> assigned;  // device -> domain
    std::uint64_t total = 0;
    if (n.size() > limits::max_domains)
        r_.fail(n, "domains has " + std::to_string(n.size()) + " entries; a scenario may have at most " + std::to_string(limits::max_domains));
    for (const auto& d : n) {
        domain_desc dd;
        dd.pos = r_.pos(d);
        r_.keys(d, {"name", "type", "privileged", "memory", "grant_table", "drivers", "devices", "pci_permissive", "iommu", "iommu_invalidation"}, "a domain");
        dd.name = r_.name(r_.require(d, "name", "a domain"), "domain name", "^[A-Za-z0-9_-]+$", "[A-Za-z0-9_-]+");
        for (const auto& o : s.domains)
            if (o.name == dd.name) r_.fail(d["name"], "duplicate domain '" + dd.name + "'");
        if (d["privileged"]) dd.privileged = r_.boolean(d["privileged"], "privileged");
        if (d["pci_permissive"]) dd.pci_permissive = r_.boolean(d["pci_permissive"], "pci_permissive");
        if (d["iommu"]) {
            const std::string m = r_.scalar(d["iommu"], "iommu");
            if (m == "translated") dd.iommu = domain_iommu::translated;
            else if (m == "passthrough") dd.iommu = domain_iommu::passthrough;
            else if (m == "blocked") dd.iommu = domain_iommu::blocked;
            else r_.fail(d["iommu"], "a domain's iommu is translated, passthrough or blocked, not '" + excerpt(m) + "'");
        }
        dd.memory = r_.size(r_.require(d, "memory", "domain '" + dd.name + "'"), "memory");
        if (dd.memory < (1ull << 20) || dd.memory % 4096) r_.fail(d["memory"], "domain memory must be a multiple of 4KiB and at least 1MiB");
        // Bounded before the sum below, which must not wrap.
        if (dd.memory > limits::max_memory) r_.fail(d["memory"], "domain memory is larger than the 1TiB this model supports");
        total += dd.memory;
        const bool first_privileged = dd.privileged && std::none_of(s.domains.begin(), s.domains.end(), [](const domain_desc& o) { return o.privileged; });
        dd.type = first_privileged ? domain_kind::pv : domain_kind::hvm;
        if (d["type"]) {
            const std::string t = r_.scalar(d["type"], "type");
            if (t != "pv" && t != "hvm") r_.fail(d["type"], "a domain's type is pv or hvm, not '" + excerpt(t) + "'");
            dd.type = t == "pv" ? domain_kind::pv : domain_kind::hvm;
        }
        if (d["iommu_invalidation"]) {
            const std::string m = r_.scalar(d["iommu_invalidation"], "iommu_invalidation");
            if (m != "strict" && m != "deferred")
                r_.fail(d["iommu_invalidation"], "a domain's iommu_invalidation is strict or deferred, not '" + excerpt(m) + "'");
            dd.iommu_deferred = m == "deferred";
        }
        if (d["grant_table"]) {
            const YAML::Node g = d["grant_table"];
            r_.keys(g, {"version", "max_version", "max_frames", "max_maptrack_frames"}, "grant_table");
            if (g["max_version"]) dd.grant_table.max_version = r_.integer(g["max_version"], "grant_table.max_version");
            if (dd.grant_table.max_version != 1 && dd.grant_table.max_version != 2)
                r_.fail(g["max_version"], "grant_table.max_version must be 1 or 2");
            if (g["version"]) dd.grant_table.version = r_.integer(g["version"], "grant_table.version");
            if (dd.grant_table.version != 1 && dd.grant_table.version != 2) r_.fail(g["version"], "grant_table.version must be 1 or 2");
            if (dd.grant_table.version > dd.grant_table.max_version)
                r_.fail(g["version"], "grant_table.version " + std::to_string(dd.grant_table.version) + " is above max_version " +
                                          std::to_string(dd.grant_table.max_version) + " (set_version would fail)");
            if (g["max_frames"]) dd.grant_table.max_frames = r_.integer(g["max_frames"], "grant_table.max_frames");
            if (dd.grant_table.max_frames == 0 || dd.grant_table.max_frames > limits::max_grant_frames)
                r_.fail(g["max_frames"], "grant_table.max_frames must be 1.." + std::to_string(limits::max_grant_frames));
            if (g["max_maptrack_frames"]) dd.grant_table.max_maptrack_frames = r_.integer(g["max_maptrack_frames"], "grant_table.max_maptrack_frames");
            if (dd.grant_table.max_maptrack_frames > limits::max_maptrack_frames)
                r_.fail(g["max_maptrack_frames"], "grant_table.max_maptrack_frames must be 0.." + std::to_string(limits::max_maptrack_frames));
        }
        if (d["drivers"]) drivers(d["drivers"], dd);
        if (d["devices"]) {
            if (!d["devices"].IsSequence()) r_.fail(d["devices"], "devices must be a list of function ids");
            for (const auto& dev : d["devices"]) {
                const std::string id = r_.scalar(dev, "device");
                if (!all_ids_.count(id)) {
                    std::vector<std::string> ids(all_ids_.begin(), all_ids_.end());
                    r_.fail(dev, "no function with id '" + excerpt(id) + "' in platform.pcie" + suggestion(id, ids));
                }
                if (later_vfs_.count(id))
                    r_.fail(dev, "'" + id + "' is not enabled at boot (beyond its PF's sriov.num_vfs); a VF enabled at run time belongs to the privileged domain");
                auto it = ids_.find(id);
                if (it != ids_.end() && is_bridge(it->second->type))
                    r_.fail(dev, "'" + id + "' is a " + to_string(it->second->type) + "; only endpoints and PCI devices are passed through");
                if (auto [a, fresh] = assigned.emplace(id, dd.name); !fresh)
                    r_.fail(dev, "'" + id + "' is already passed through to domain '" + a->second + "'");
                dd.devices.emplace_back(id, r_.pos(dev));
            }
        }
        s.domains.push_back(std::move(dd));
    }
    // The hypervisor keeps 16 MiB; every domain's memory is 2 MiB aligned.
    std::uint64_t need = 16ull << 20;
    for (const auto& dd : s.domains) need += (dd.memory + (2ull << 20) - 1) & ~((2ull << 20) - 1);
    if (need > s.platform.memory)
        r_.fail(n, "the domains need " + std::to_string(need >> 20) + "MiB with the hypervisor's 16MiB, but platform.memory is " +
                       std::to_string(s.platform.memory >> 20) + "MiB");
    (void)total;
}

void loader::processes(const YAML::Node& n, scenario& s) {
    if (!n.IsSequence()) r_.fail(n, "processes must be a list");
    if (n.size() > limits::max_processes)
        r_.fail(n, "processes has " + std::to_string(n.size()) + " entries; a scenario may have at most " + std::to_string(limits::max_processes));
    for (const auto& p : n) {
        process_desc pd;
        pd.pos = r_.pos(p);
        r_.keys(p, {"name", "domain", "rlimits", "capabilities"}, "a process");
        pd.name = r_.name(r_.require(p, "name", "a process"), "process name", "^[A-Za-z0-9_-]+$", "[A-Za-z0-9_-]+");
        if (const YAML::Node rl = p["rlimits"]) {
            r_.keys(rl, {"memlock", "nofile"}, "rlimits");
            if (rl["memlock"]) pd.memlock = r_.size(rl["memlock"], "rlimits.memlock");
            if (rl["nofile"]) {
                pd.nofile = r_.integer(rl["nofile"], "rlimits.nofile");
                if (*pd.nofile > limits::max_nofile) r_.fail(rl["nofile"], "rlimits.nofile must be 0.." + std::to_string(limits::max_nofile));
            }
        }
        if (const YAML::Node caps = p["capabilities"]) {
            if (!caps.IsSequence()) r_.fail(caps, "capabilities must be a list of CAP_* names");
            std::vector<std::string> known;
            for (unsigned c = 0; c < 64; ++c)
                if (const char* nm = guest::capability_name(static_cast<guest::capability>(c)); std::string(nm) != "CAP_?") known.push_back(nm);
            pd.capabilities.emplace();
            for (const auto& c : caps) {
                const std::string name = r_.scalar(c, "capability");
                if (!guest::capability_named(name)) r_.fail(c, "unknown capability '" + excerpt(name) + "'" + suggestion(name, known));
                pd.capabilities->push_back(name);
            }
        }
        pd.domain = r_.scalar(r_.require(p, "domain", "process '" + pd.name + "'"), "domain");
        if (std::none_of(s.domains.begin(), s.domains.end(), [&](const domain_desc& d) { return d.name == pd.domain; })) {
            std::vector<std::string> names;
            for (const auto& d : s.domains) names.push_back(d.name);
            r_.fail(p["domain"], "no domain named '" + excerpt(pd.domain) + "'" + suggestion(pd.domain, names));
        }
        for (const auto& d : s.domains)
            if (d.name == pd.name) r_.fail(p["name"], "process '" + pd.name + "' has the name of a domain");
        for (const auto& o : s.processes)
            if (o.name == pd.name) r_.fail(p["name"], "duplicate process '" + pd.name + "'");
        s.processes.push_back(std::move(pd));
    }
}

void loader::drivers(const YAML::Node& n, domain_desc& dd) {
    if (!n.IsMap()) r_.fail(n, "drivers must be a mapping of driver names (gntalloc, gntdev, vfio_iommu_type1) to their settings");
    const std::vector<std::string> known = {"gntalloc", "gntdev", "vfio_iommu_type1"};
    for (const auto& kv : n) {
        const std::string name = r_.scalar(kv.first, "driver");
        if (std::find(known.begin(), known.end(), name) == known.end())
            r_.fail(kv.first, "unknown guest driver '" + excerpt(name) + "'" + suggestion(name, known));
        const YAML::Node v = kv.second;
        driver_spec ds;
        ds.pos = r_.pos(v);
        if (name == "vfio_iommu_type1") {
            // Its module parameters: dma_entry_limit is a uint, allow_unsafe_interrupts a bool.
            if (!v.IsMap()) r_.fail(v, "drivers.vfio_iommu_type1 must be a mapping with dma_entry_limit and allow_unsafe_interrupts");
            r_.keys(v, {"dma_entry_limit", "allow_unsafe_interrupts"}, "drivers.vfio_iommu_type1");
            if (v["dma_entry_limit"]) {
                ds.dma_entry_limit = r_.integer(v["dma_entry_limit"], "drivers.vfio_iommu_type1.dma_entry_limit");
                if (*ds.dma_entry_limit > 0xffffffffu)
                    r_.fail(v["dma_entry_limit"], "drivers.vfio_iommu_type1.dma_entry_limit must be 0..4294967295 (the module parameter is a uint)");
            }
            if (v["allow_unsafe_interrupts"])
                ds.allow_unsafe_interrupts = r_.boolean(v["allow_unsafe_interrupts"], "drivers.vfio_iommu_type1.allow_unsafe_interrupts");
            dd.drivers[name] = ds;
            continue;
        }
        if (!v.IsMap()) r_.fail(v, "drivers." + name + " must be a mapping with version and limit");
        r_.keys(v, {"version", "limit"}, "drivers." + name);
        if (v["version"]) {
            const std::string ver = r_.scalar(v["version"], "version");
            if (ver != "original" && ver != "current")
                r_.fail(v["version"], "a driver's version is original or current, not '" + excerpt(ver) + "'" + suggestion(ver, {"original", "current"}));
            ds.original = ver == "original";
        }
        if (v["limit"]) {
            // The module parameter is an int.
            ds.limit = r_.integer(v["limit"], "drivers." + name + ".limit");
            if (*ds.limit > 0x7fffffff) r_.fail(v["limit"], "drivers." + name + ".limit must be 0..2147483647 (the module parameter is an int)");
        }
        dd.drivers[name] = ds;
    }
}

// References are resolved when the step runs; here they must be well formed,
// name a result an earlier step saves, and start with a field that step's
// operation returns.
void loader::check_references(const YAML::Node& n, const std::map<std::string, const op_spec*>& saved) {
    for_each_reference(n, [&](const YAML::Node& v) {
        const std::string& text = v.Scalar();
        const auto ref = parse_reference(text);
        if (!ref)
            r_.fail(v, "reference " + quote_input(text) + " must look like $name.field, $name.list[0], $name.field+0x100, "
                                                     "$name.field*4096 or $name.field<<12");
        const auto it = saved.find(ref->name);
        if (it == saved.end()) {
            std::vector<std::string> names;
            for (const auto& kv : saved) names.push_back(kv.first);
            r_.fail(v, quote_input(text) + " refers to '" + ref->name + "', which no earlier step saves" + suggestion(ref->name, names));
        }
        if (ref->path.empty() || !std::holds_alternative<std::string>(ref->path[0])) return;
        const std::string& field = std::get<std::string>(ref->path[0]);
        if (!it->second->result(field)) {
            std::vector<std::string> fields;
            for (const result_spec& r : it->second->results) fields.push_back(r.name);
            for (const result_spec& r : common_results()) fields.push_back(r.name);
            r_.fail(v, quote_input(text) + ": " + it->second->name + " (saved as '" + ref->name + "') returns no '" + field + "'" +
                           suggestion(field, fields));
        }
    });
}

void loader::steps(const YAML::Node& n, scenario& s) {
    if (!n.IsSequence()) r_.fail(n, "steps must be a list");
    std::map<std::string, const op_spec*> saved;  // what earlier steps save, by name
    const std::vector<std::string> op_names = operations().names();
    for (const auto& st : n) {
        step_desc sd;
        sd.index = s.steps.size();
        sd.pos = r_.pos(st);
        r_.keys(st, {"do", "as", "device", "args", "expect", "save", "description", "background"}, "a step");
        if (st["background"]) sd.background = r_.boolean(st["background"], "background");
        const YAML::Node dn = r_.require(st, "do", "a step");
        sd.op = r_.scalar(dn, "do");
        const op_spec* op = find_operation(sd.op);
        if (!op) r_.fail(dn, "unknown operation " + quote_input(sd.op) + suggestion(sd.op, op_names));
        step_actor(st, *op, s, sd);
        sd.args = st["args"] ? st["args"] : YAML::Node(YAML::NodeType::Map);
        check_args(*op, sd.args, s, sd.pos);
        sd.expect = st["expect"] ? st["expect"] : YAML::Node(YAML::NodeType::Map);
        check_expect(*op, sd.expect, s, sd.pos);
        check_references(sd.args, saved);
        check_references(sd.expect, saved);
        if (sd.op == "proc.fork") forked_name(sd.args["name"], s);
        if (st["save"]) {
            sd.save = r_.name(st["save"], "save", "^[A-Za-z_][A-Za-z0-9_]*$", "[A-Za-z_][A-Za-z0-9_]*");
            saved[sd.save] = op;
        }
        s.steps.push_back(std::move(sd));
    }
}

// Who does the step: a domain or process (`as`), a function (`device`), or neither.
void loader::step_actor(const YAML::Node& st, const op_spec& op, const scenario& s, step_desc& sd) {
    if (op.who == actor::domain || op.who == actor::process) {
        const YAML::Node a = r_.require(st, "as", "step " + sd.op);
        sd.as = r_.scalar(a, "as");
        std::vector<std::string> domains, procs;
        for (const auto& d : s.domains) domains.push_back(d.name);
        for (const auto& p : s.processes) procs.push_back(p.name);
        procs.insert(procs.end(), forked_.begin(), forked_.end());
        const bool is_domain = std::find(domains.begin(), domains.end(), sd.as) != domains.end();
        const bool is_process = std::find(procs.begin(), procs.end(), sd.as) != procs.end();
        if (op.who == actor::process && is_domain)
            r_.fail(a, sd.op + " is a system call, done by a process; " + quote_input(sd.as) + " is a domain (declare a process in it under processes:)");
        if (op.who == actor::process && !is_process)
            r_.fail(a, "as " + quote_input(sd.as) + " names no process" + suggestion(sd.as, procs));
        std::vector<std::string> names = domains;
        names.insert(names.end(), procs.begin(), procs.end());
        if (!is_domain && !is_process) r_.fail(a, "as " + quote_input(sd.as) + " names no domain or process" + suggestion(sd.as, names));
    } else if (st["as"]) {
        r_.fail(st["as"], sd.op + " is not done by a domain or process; remove 'as'");
    }
    if (op.who == actor::device) {
        const YAML::Node d = r_.require(st, "device", "step " + sd.op);
        sd.device = r_.scalar(d, "device");
        if (!all_ids_.count(sd.device)) {
            std::vector<std::string> ids(all_ids_.begin(), all_ids_.end());
            r_.fail(d, "no function with id " + quote_input(sd.device) + " in platform.pcie" + suggestion(sd.device, ids));
        }
    } else if (st["device"]) {
        r_.fail(st["device"], sd.op + " is not device-originated; name the device in args");
    }
}

// proc.fork names the child: a new name, which later steps may use in `as`.
void loader::forked_name(const YAML::Node& n, const scenario& s) {
    if (!n || !n.IsScalar() || parse_reference(n.Scalar())) return;  // check_args reported a missing name
    const std::string name = r_.name(n, "proc.fork name", "^[A-Za-z0-9_-]+$", "[A-Za-z0-9_-]+");
    const bool taken = std::any_of(s.domains.begin(), s.domains.end(), [&](const domain_desc& d) { return d.name == name; }) ||
                       std::any_of(s.processes.begin(), s.processes.end(), [&](const process_desc& p) { return p.name == name; }) ||
                       std::find(forked_.begin(), forked_.end(), name) != forked_.end();
    if (taken) r_.fail(n, "proc.fork: the name '" + name + "' is taken by a domain or process");
    forked_.push_back(name);
}

void loader::invariants(const YAML::Node& root, scenario& s) {
    auto names = [&](const YAML::Node& n, const char* key, std::vector<std::pair<std::string, source_pos>>& out) {
        if (!n.IsSequence()) r_.fail(n, std::string(key) + " must be a list of invariant names");
        for (const auto& e : n) {
            const std::string name = r_.scalar(e, key);
            const auto& known = known_invariants();
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                std::string list;
                for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
                r_.fail(e, "unknown invariant '" + excerpt(name) + "'" + suggestion(name, known) + "; known: " + list);
            }
            out.emplace_back(name, r_.pos(e));
        }
    };
    if (root["invariants"]) {
        names(root["invariants"], "invariants", s.invariants);
        s.invariants_given = true;
    } else {
        for (const auto& k : known_invariants()) s.invariants.emplace_back(k, source_pos{s.file, 0, 0});
    }
    if (root["expect_violation"]) {
        names(root["expect_violation"], "expect_violation", s.expect_violation);
        for (std::size_t i = 0; i < s.expect_violation.size(); ++i) {
            const auto& name = s.expect_violation[i].first;
            if (std::none_of(s.invariants.begin(), s.invariants.end(), [&](const auto& v) { return v.first == name; }))
                r_.fail(root["expect_violation"][i], "expect_violation names '" + name + "', which 'invariants' does not check");
        }
    }
}

using set_nodes = std::vector<std::pair<YAML::Node, std::string>>;

[[noreturn]] void set_error(const std::string& path, const std::string& msg) {
    throw input_error({"", 0, 0, excerpt(path, limits::max_excerpt * 2)}, msg);
}

// Remembers `n` and what is below it as made by the override of `path`.
// The walk is bounded: check_tree() rejects a value that expands further.
void remember(const YAML::Node& n, const std::string& path, set_nodes& made, std::size_t& budget) {
    if (budget == 0) return;
    --budget;
    made.emplace_back(n, path);
    if (n.IsSequence())
        for (const auto& e : n) remember(e, path, made, budget);
    else if (n.IsMap())
        for (const auto& kv : n) { remember(kv.first, path, made, budget); remember(kv.second, path, made, budget); }
}

// Remembers the key node of `key` in `map` (an unknown key is reported there).
void remember_key(const YAML::Node& map, const std::string& key, const std::string& path, set_nodes& made) {
    if (!map.IsMap()) return;
    for (const auto& kv : map)
        if (kv.first.IsScalar() && kv.first.Scalar() == key) made.emplace_back(kv.first, path);
}

// The value of an override: a flow list or map is YAML, anything else a string.
YAML::Node override_value(const std::string& path, const std::string& value) {
    if (value.size() > limits::max_set_value_length)
        set_error(path, "the value is " + std::to_string(value.size()) + " characters; at most " + std::to_string(limits::max_set_value_length));
    if (value.empty() || (value[0] != '[' && value[0] != '{')) return YAML::Node(value);
    try {
        return YAML::Load(value);
    } catch (const YAML::Exception& e) {
        set_error(path, "'" + excerpt(value) + "' is not a YAML list or map: " + e.msg);
    }
}

// --set: replaces or adds the value at a dotted path; numeric parts index lists.
void apply_override(YAML::Node root, const std::string& assignment, set_nodes& made) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) set_error(assignment, "must be KEY=VALUE with KEY a dotted path");
    const std::string path = assignment.substr(0, eq), value = assignment.substr(eq + 1);
    if (path.size() > limits::max_set_path_length)
        set_error(path, "the key is " + std::to_string(path.size()) + " characters; at most " + std::to_string(limits::max_set_path_length));
    std::vector<std::string> parts;
    std::stringstream ss(path);
    for (std::string p; std::getline(ss, p, '.');) {
        if (p.empty()) set_error(path, "empty path component");
        parts.push_back(p);
    }
    if (path.back() == '.') set_error(path, "empty path component");
    if (parts.size() > limits::max_set_path_parts)
        set_error(path, "the key has " + std::to_string(parts.size()) + " parts; at most " + std::to_string(limits::max_set_path_parts));
    YAML::Node node = root;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        const std::string& p = parts[i];
        if (node.IsSequence()) {
            std::uint64_t idx;
            if (!parse_number(p, idx) || idx >= node.size())
                set_error(path, "'" + excerpt(p) + "' is not an index of that list (0.." + std::to_string(node.size() ? node.size() - 1 : 0) + ")");
            node.reset(node[static_cast<std::size_t>(idx)]);
            continue;
        }
        if (!node.IsMap() && !node.IsNull()) set_error(path, "'" + excerpt(p) + "' is inside a single value");
        YAML::Node next = node[p];
        if (!next.IsDefined() || next.IsNull()) {
            node[p] = YAML::Node(YAML::NodeType::Map);
            next.reset(node[p]);
            made.emplace_back(next, path);
            remember_key(node, p, path, made);
        }
        node.reset(next);
    }
    const YAML::Node v = override_value(path, value);
    const std::string& last = parts.back();
    // yaml-cpp throws its own exception for a key below a scalar; the user gets an input_error.
    if (!node.IsMap() && !node.IsNull() && !node.IsSequence()) set_error(path, "'" + excerpt(last) + "' is inside a single value");
    if (node.IsSequence()) {
        std::uint64_t idx;
        if (!parse_number(last, idx) || idx >= node.size()) set_error(path, "'" + excerpt(last) + "' is not an index of that list");
        node[static_cast<std::size_t>(idx)] = v;
    } else {
        node[last] = v;
        remember_key(node, last, path, made);
    }
    std::size_t budget = limits::max_set_value_length;
    remember(v, path, made, budget);
}

// Bounds the tree before anything walks it: depth, list and map lengths,
// value lengths, and the nodes a walk visits (an aliased node counts once per
// reference, so anchors cannot make the loader's walks exponential).
void check_tree(const reader& r, const YAML::Node& n, int depth, std::uint64_t& visited) {
    if (++visited > limits::max_nodes)
        r.fail(n, "the document expands to more than " + std::to_string(limits::max_nodes) + " nodes (anchors and aliases count once per use)");
    if (depth > limits::max_depth) r.fail(n, "nested deeper than " + std::to_string(limits::max_depth) + " levels");
    if (n.IsScalar()) {
        if (n.Scalar().size() > limits::max_scalar_length)
            r.fail(n, "a value of " + std::to_string(n.Scalar().size()) + " characters ('" + excerpt(n.Scalar()) + "'); at most " +
                          std::to_string(limits::max_scalar_length));
        return;
    }
    if ((n.IsSequence() || n.IsMap()) && n.size() > limits::max_list_length)
        r.fail(n, std::string(n.IsMap() ? "a mapping" : "a list") + " of " + std::to_string(n.size()) + " entries; at most " +
                      std::to_string(limits::max_list_length));
    if (n.IsSequence())
        for (const auto& e : n) check_tree(r, e, depth + 1, visited);
    else if (n.IsMap())
        for (const auto& kv : n) {
            check_tree(r, kv.first, depth + 1, visited);
            check_tree(r, kv.second, depth + 1, visited);
        }
}

// The file's text, refused before parsing when it is not a readable regular
// file or is larger than limits::max_file_bytes.
std::string read_text(const std::string& file) {
    struct stat st {};
    if (stat(file.c_str(), &st) != 0) throw input_error({file, 0, 0}, std::string("cannot read the file: ") + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) throw input_error({file, 0, 0}, "is a directory");
    if (!S_ISREG(st.st_mode)) throw input_error({file, 0, 0}, "is not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > limits::max_file_bytes)
        throw input_error({file, 1, 1}, "the file is " + std::to_string(st.st_size) + " bytes; a scenario may have at most " +
                                            std::to_string(limits::max_file_bytes) + " (4MiB)");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw input_error({file, 0, 0}, "cannot read the file");
    std::string text;
    text.resize(static_cast<std::size_t>(st.st_size));
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad() || (in.gcount() == 0 && st.st_size != 0)) throw input_error({file, 0, 0}, "cannot read the file");
    if (in.peek() != std::char_traits<char>::eof()) throw input_error({file, 1, 1}, "the file grew while it was read");
    return text;
}

YAML::Node parse(const std::string& file, const std::string& text) {
    try {
        return YAML::Load(text);
    } catch (const YAML::Exception& e) {
        const source_pos at = e.mark.is_null() ? source_pos{file, 1, 1} : source_pos{file, e.mark.line + 1, e.mark.column + 1};
        // yaml-cpp stops its recursion at a depth far beyond ours (and says "bad file").
        if (dynamic_cast<const YAML::DeepRecursion*>(&e))
            throw input_error(at, "nested deeper than " + std::to_string(limits::max_depth) + " levels");
        throw input_error(at, excerpt(e.msg, limits::max_excerpt * 4));
    }
}

} // namespace

scenario load_scenario(const std::string& file, const std::vector<std::string>& overrides) {
    YAML::Node root = parse(file, read_text(file));
    if (!root.IsDefined() || root.IsNull()) throw input_error({file, 1, 1}, "the file is empty");
    if (overrides.size() > limits::max_overrides)
        throw input_error({"", 0, 0}, std::to_string(overrides.size()) + " overrides; at most " + std::to_string(limits::max_overrides));
    set_nodes made;
    for (const std::string& o : overrides) apply_override(root, o, made);
    loader l(file, std::move(made));
    l.check(root);
    return l.load(root);
}

} // namespace iotwin::platform
