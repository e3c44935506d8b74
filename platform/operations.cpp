#include "platform/operations.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "models/common/errno_names.h"
#include "models/hyp/hypercall.h"
#include "platform/interfaces/interfaces.h"
#include "platform/limits.h"
#include "platform/loader.h"
#include "platform/references.h"

namespace iotwin::platform {

const arg_spec* op_spec::arg(const std::string& n) const {
    for (const arg_spec& a : args)
        if (a.name == n) return &a;
    return nullptr;
}

const result_spec* op_spec::result(const std::string& n) const {
    for (const result_spec& r : results)
        if (r.name == n) return &r;
    for (const result_spec& r : common_results())
        if (r.name == n) return &r;
    return nullptr;
}

void op_registry::add(op_spec spec, op_impl impl) { ops_.push_back({std::move(spec), std::move(impl)}); }

const operation* op_registry::find(const std::string& name) const {
    for (const operation& o : ops_)
        if (o.spec.name == name) return &o;
    return nullptr;
}

std::vector<std::string> op_registry::names() const {
    std::vector<std::string> v;
    for (const operation& o : ops_) v.push_back(o.spec.name);
    return v;
}

const op_registry& operations() {
    static const op_registry registry = [] {
        op_registry r;
        interfaces::register_pci(r);
        interfaces::register_pci_sysfs(r);
        interfaces::register_mem(r);
        interfaces::register_device(r);
        interfaces::register_iommu(r);
        interfaces::register_sim(r);
        interfaces::register_gnttab(r);
        interfaces::register_gnttab_map(r);
        interfaces::register_gnttab_raw(r);
        interfaces::register_domctl(r);
        interfaces::register_evtchn(r);
        interfaces::register_proc(r);
        interfaces::register_xenevtchn(r);
        interfaces::register_gntalloc(r);
        interfaces::register_gntdev(r);
        interfaces::register_blkif(r);
        interfaces::register_lguest(r);
        interfaces::register_vfio(r);
        return r;
    }();
    return registry;
}

const op_spec* find_operation(const std::string& name) {
    const operation* o = operations().find(name);
    return o ? &o->spec : nullptr;
}

const std::vector<result_spec>& common_results() {
    static const std::vector<result_spec> r = {
        {"errno", result_type::errno_name, "0, or the errno name the model answered"},
        {"fault", result_type::boolean, "the IOMMU recorded a fault, a read completed with UR/CA, or a port logged an error"},
        {"delivered", result_type::names, "domains (or hypervisor) that received an interrupt during the step"},
        {"misdirected", result_type::names, "domains whose bound vector arrived with another vCPU's APIC ID as destination"},
        {"errors", result_type::errors, "errors ports logged during the step: port, status, requester_id, address"},
        {"faults", result_type::strings, "the IOMMU faults recorded during the step, each as Linux 6.1 logs it (\"DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0x300000 [fault reason 0x05] PTE Write access is not set\")"},
        {"status", result_type::text, "a GNTST_* code, for grant operations"},
    };
    return r;
}

const std::vector<std::string>& expect_only_keys() {
    static const std::vector<std::string> k = {"latency_max", "latency_min"};
    return k;
}

namespace {

// Sizes in the unit that shows them whole: 1MiB, 4KiB, 100B.
std::string size_text(std::uint64_t v) {
    if (v == 0) return "0";
    static const std::pair<const char*, std::uint64_t> units[] = {{"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}};
    for (const auto& [u, m] : units)
        if (v && v % m == 0) return std::to_string(v / m) + u;
    return std::to_string(v) + "B";
}

std::string time_text(std::uint64_t ps) {
    if (ps == 0) return "0";
    static const std::pair<const char*, std::uint64_t> units[] = {{"s", 1'000'000'000'000ull}, {"ms", 1'000'000'000ull}, {"us", 1'000'000ull}, {"ns", 1'000ull}};
    for (const auto& [u, m] : units)
        if (ps && ps % m == 0) return std::to_string(ps / m) + u;
    return std::to_string(ps) + "ps";
}

std::string int_text(std::uint64_t v) {
    if (v < 4096) return std::to_string(v);
    std::ostringstream os;
    os << "0x" << std::hex << v;
    return os.str();
}

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

// "1..1MiB", "0..0xffff"; "" when the range is the type's whole range.
std::string range_text(const arg_spec& a) {
    switch (a.type) {
    case arg_type::integer:
    case arg_type::domain:
        return a.min == 0 && a.max == u64_max ? "64-bit" : int_text(a.min) + ".." + int_text(a.max);
    case arg_type::size: return a.min == 0 && a.max == u64_max ? "" : size_text(a.min) + ".." + size_text(a.max);
    case arg_type::data: return a.max == u64_max ? "" : std::to_string(a.min) + ".." + size_text(a.max) + " bytes";
    case arg_type::time: return a.max == u64_max ? "" : time_text(a.min) + ".." + time_text(a.max);
    case arg_type::string: return a.max == u64_max ? "" : "at most " + std::to_string(a.max) + " characters";
    case arg_type::structure: return a.list ? std::to_string(a.min) + ".." + int_text(a.max) + " entries" : "";
    case arg_type::integers: return std::to_string(a.min) + ".." + int_text(a.max) + " entries, each -0x80000000..0xffffffff or true / false";
    case arg_type::flags: {
        std::string t;
        for (const auto& [n, bit] : a.names) t += (t.empty() ? "" : ", ") + n;
        return t + (t.empty() ? "" : "; or ") + int_text(a.min) + ".." + int_text(a.max);
    }
    default: return "";
    }
}

const char* type_text(arg_type t) {
    switch (t) {
    case arg_type::integer: return "integer";
    case arg_type::size: return "size";
    case arg_type::boolean: return "bool";
    case arg_type::string: return "string";
    case arg_type::data: return "bytes";
    case arg_type::domain: return "domain";
    case arg_type::device: return "function id";
    case arg_type::time: return "time";
    case arg_type::flags: return "flags";
    case arg_type::structure: return "structure";
    case arg_type::pointer: return "pointer";
    case arg_type::integers: return "integers";
    }
    return "?";
}

const char* type_text(result_type t) {
    switch (t) {
    case result_type::integer: return "integer";
    case result_type::boolean: return "bool";
    case result_type::data: return "bytes";
    case result_type::completion: return "SC, UR, CRS or CA";
    case result_type::errno_name: return "errno";
    case result_type::text: return "name";
    case result_type::names: return "list of names";
    case result_type::errors: return "list";
    case result_type::strings: return "list of words";
    case result_type::structure: return "list or mapping";
    case result_type::flags: return "flags: names or an integer";
    }
    return "?";
}

[[noreturn]] void fail(const YAML::Node& n, const scenario& s, const std::string& msg) { throw input_error(pos_of(n, s.file), msg); }

std::string scalar(const YAML::Node& v, const scenario& s, const std::string& what) {
    if (!v.IsScalar()) fail(v, s, what + " must be a single value");
    return v.Scalar();
}

void in_range(const YAML::Node& v, const scenario& s, const arg_spec& a, std::uint64_t x, const std::string& shown,
              const std::string& what = "") {
    if (x >= a.min && x <= a.max) return;
    fail(v, s, (what.empty() ? "args." + a.name : what) + " must be " + range_text(a) + ", not " + shown);
}

std::vector<std::string> function_ids(const std::vector<pcie_node>& nodes) {
    std::vector<std::string> ids;
    for (const pcie_node& n : nodes) {
        ids.push_back(n.id);
        if (n.sriov)
            for (std::uint64_t i = 0; i < n.sriov->total_vfs; ++i) ids.push_back(n.id + "-vf" + std::to_string(i));  // enabled at boot or later
        const auto below = function_ids(n.children);
        ids.insert(ids.end(), below.begin(), below.end());
    }
    return ids;
}

} // namespace

arg_spec flags_arg(std::string name, bool required, std::string description, std::vector<std::pair<std::string, std::uint64_t>> names,
                   std::uint64_t max) {
    arg_spec a(std::move(name), arg_type::flags, required, std::move(description), 0, max);
    a.names = std::move(names);
    return a;
}

arg_spec structure_arg(std::string name, bool required, std::string description, std::vector<arg_spec> fields, bool list,
                       std::uint64_t max_items) {
    arg_spec a(std::move(name), arg_type::structure, required, std::move(description), list ? 1 : 0, max_items);
    a.fields = std::move(fields);
    a.list = list;
    return a;
}

std::uint64_t flags_value(const YAML::Node& v, const std::vector<std::pair<std::string, std::uint64_t>>& names) {
    if (v.IsScalar()) {
        // One name alone, or an integer.
        for (const auto& [n, bit] : names)
            if (n == v.Scalar()) return bit;
        return parse_integer(v.Scalar(), {});
    }
    std::uint64_t x = 0;
    if (!v.IsSequence()) throw input_error({}, "must be a list of flag names or an integer");
    for (const auto& e : v) {
        const std::string t = e.IsScalar() ? e.Scalar() : "";
        const auto it = std::find_if(names.begin(), names.end(), [&](const auto& n) { return n.first == t; });
        if (it == names.end()) throw input_error({}, "unknown flag " + quote_input(t));
        x |= it->second;
    }
    return x;
}

namespace {

// One entry of an `integers` argument: true, false, an integer or a negated one; none when it is neither.
std::optional<std::int64_t> integer_entry(const std::string& t) {
    if (t == "true") return 1;
    if (t == "false") return 0;
    const bool neg = !t.empty() && t[0] == '-';
    std::uint64_t v = 0;
    try {
        v = parse_integer(neg ? t.substr(1) : t, {});
    } catch (const input_error&) {
        return std::nullopt;
    }
    if (neg ? v > 0x80000000ull : v > 0xffffffffull) return std::nullopt;
    return neg ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
}

} // namespace

std::vector<std::int64_t> integers_value(const YAML::Node& v) {
    std::vector<std::int64_t> out;
    if (!v.IsSequence()) return out;
    for (const auto& e : v)
        if (e.IsScalar())
            if (const auto x = integer_entry(e.Scalar())) out.push_back(*x);
    return out;
}

void check_arg(const arg_spec& a, const YAML::Node& v, const scenario& s, const std::string& path) {
    const std::string what = path.empty() ? "args." + a.name : path;
    switch (a.type) {
    case arg_type::integers: {
        if (!v.IsSequence()) fail(v, s, what + " must be a list (" + range_text(a) + ")");
        if (v.size() < a.min || v.size() > a.max) fail(v, s, what + " must have " + range_text(a) + ", not " + std::to_string(v.size()));
        for (const auto& e : v) {
            const std::string t = scalar(e, s, what + "[]");
            if (!integer_entry(t)) fail(e, s, what + "[] must be an integer in -0x80000000..0xffffffff or true / false, not " + quote_input(t));
        }
        break;
    }
    case arg_type::pointer: {
        if (v.IsNull()) break;
        const std::string t = scalar(v, s, what);
        if (t == "NULL" || t == "null") break;
        in_range(v, s, a, parse_integer(t, pos_of(v, s.file)), quote_input(t), what);
        break;
    }
    case arg_type::integer: {
        const std::string t = scalar(v, s, what);
        in_range(v, s, a, parse_integer(t, pos_of(v, s.file)), quote_input(t), what);
        break;
    }
    case arg_type::size: {
        const std::string t = scalar(v, s, what);
        in_range(v, s, a, parse_size(t, pos_of(v, s.file)), quote_input(t), what);
        break;
    }
    case arg_type::time: {
        const std::string t = scalar(v, s, what);
        const sc_core::sc_time x = parse_time(t, pos_of(v, s.file));
        if (x > sc_core::sc_time(static_cast<double>(a.max), sc_core::SC_PS))
            fail(v, s, what + " must be " + range_text(a) + ", not " + quote_input(t));
        break;
    }
    case arg_type::boolean: {
        const std::string t = scalar(v, s, what);
        if (t != "true" && t != "false") fail(v, s, what + " must be true or false, not " + quote_input(t));
        break;
    }
    case arg_type::string: {
        const std::string t = scalar(v, s, what);
        if (t.size() > a.max) fail(v, s, what + " is longer than " + std::to_string(a.max) + " characters");
        break;
    }
    case arg_type::data: {
        const std::size_t n = parse_data(v, pos_of(v, s.file)).size();
        if (n < a.min || n > a.max) fail(v, s, what + " must be " + range_text(a) + ", not " + std::to_string(n) + " bytes");
        break;
    }
    case arg_type::domain: {
        const std::string d = scalar(v, s, what);
        if (!d.empty() && std::isdigit(static_cast<unsigned char>(d[0]))) {
            // A domid: whether a domain has it is the model's to answer (ESRCH).
            in_range(v, s, a, parse_integer(d, pos_of(v, s.file)), quote_input(d), what);
            break;
        }
        // Xen's reserved domids by name (DOMID_SELF, DOMID_IO, ...), a domain by its name.
        std::vector<std::string> names;
        for (const auto& [n, id] : hyp::reserved_domids) names.push_back(n);
        for (const auto& dd : s.domains) names.push_back(dd.name);
        if (std::find(names.begin(), names.end(), d) == names.end()) fail(v, s, "no domain named " + quote_input(d) + suggestion(d, names));
        break;
    }
    case arg_type::flags: {
        if (v.IsScalar()) {
            const std::string t = v.Scalar();
            if (std::any_of(a.names.begin(), a.names.end(), [&](const auto& n) { return n.first == t; })) break;
            if (!t.empty() && !std::isdigit(static_cast<unsigned char>(t[0]))) {
                std::vector<std::string> known;
                for (const auto& [n, bit] : a.names) known.push_back(n);
                fail(v, s, "unknown flag " + quote_input(t) + " in " + what + suggestion(t, known));
            }
            in_range(v, s, a, parse_integer(t, pos_of(v, s.file)), quote_input(t), what);
            break;
        }
        if (!v.IsSequence()) fail(v, s, what + " must be a list of flag names or an integer");
        std::vector<std::string> known;
        for (const auto& [n, bit] : a.names) known.push_back(n);
        for (const auto& e : v) {
            const std::string t = scalar(e, s, what + "[]");
            if (std::find(known.begin(), known.end(), t) == known.end()) fail(e, s, "unknown flag " + quote_input(t) + " in " + what + suggestion(t, known));
        }
        break;
    }
    case arg_type::structure: {
        const auto check_map = [&](const YAML::Node& m, const std::string& where) {
            if (!m.IsMap()) fail(m, s, where + " must be a mapping" + (a.fields.empty() ? "" : " of " + a.description));
            if (a.fields.empty()) return;
            std::vector<std::string> known;
            for (const arg_spec& f : a.fields) known.push_back(f.name);
            for (const auto& kv : m) {
                const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
                if (std::find(known.begin(), known.end(), k) == known.end())
                    fail(kv.first, s, "unknown field " + quote_input(k) + " in " + where + suggestion(k, known));
            }
            for (const arg_spec& f : a.fields) {
                const YAML::Node fv = m[f.name];
                if (!fv) {
                    if (f.required) fail(m, s, where + " needs " + f.name + " (" + f.description + ")");
                    continue;
                }
                bool has_reference = false;
                for_each_reference(fv, [&](const YAML::Node&) { has_reference = true; });
                if (!has_reference) check_arg(f, fv, s, where + "." + f.name);
            }
        };
        if (v.IsSequence()) {
            if (!a.list) fail(v, s, what + " must be a mapping");
            if (v.size() < a.min || v.size() > a.max)
                fail(v, s, what + " must have " + std::to_string(a.min) + ".." + std::to_string(a.max) + " entries, not " + std::to_string(v.size()));
            for (std::size_t i = 0; i < v.size(); ++i) check_map(v[i], what + "[" + std::to_string(i) + "]");
        } else if (v.IsMap()) {
            if (a.list) fail(v, s, what + " must be a list");
            check_map(v, what);
        } else {
            fail(v, s, what + (a.list ? " must be a list" : " must be a mapping"));
        }
        break;
    }
    case arg_type::device: {
        const std::string id = scalar(v, s, what);
        const std::vector<std::string> ids = function_ids(s.platform.pcie);
        if (std::find(ids.begin(), ids.end(), id) == ids.end())
            fail(v, s, "no function with id " + quote_input(id) + " in platform.pcie" + suggestion(id, ids));
        break;
    }
    }
}

void check_args(const op_spec& op, const YAML::Node& args, const scenario& s, const source_pos& step) {
    const bool from_file = !args.Mark().is_null();
    const auto fail_at_args = [&](const std::string& msg) {
        if (from_file) fail(args, s, msg);
        throw input_error(step, msg);
    };
    if (!args.IsMap()) fail_at_args("args must be a mapping");
    std::vector<std::string> allowed;
    for (const arg_spec& a : op.args) allowed.push_back(a.name);
    for (const auto& kv : args) {
        const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
        if (!op.arg(k))
            fail(kv.first, s, "unknown argument " + quote_input(k) + " of " + op.name + suggestion(k, allowed) +
                                  (allowed.empty() ? "; it takes none" : ""));
    }
    for (const arg_spec& a : op.args)
        if (a.required && !args[a.name]) fail_at_args(op.name + " needs args." + a.name + " (" + a.description +
                                                                   (range_text(a).empty() ? "" : ", " + range_text(a)) + ")");
    for (const auto& group : op.together) {
        const auto given = std::count_if(group.begin(), group.end(), [&](const std::string& n) { return static_cast<bool>(args[n]); });
        if (given && given != static_cast<long>(group.size()))
            fail_at_args(op.name + ": args." + group[0] + " and args." + group[1] + " go together");
    }
    for (const auto& group : op.exclusive) {
        const auto given = std::count_if(group.begin(), group.end(), [&](const std::string& n) { return static_cast<bool>(args[n]); });
        if (given > 1) fail_at_args(op.name + ": args." + group[0] + " and args." + group[1] + " exclude each other");
    }
    for (const arg_spec& a : op.args) {
        const YAML::Node v = args[a.name];
        if (!v) continue;
        bool has_reference = false;
        for_each_reference(v, [&](const YAML::Node&) { has_reference = true; });
        if (!has_reference) check_arg(a, v, s);  // a reference is checked once it has a value
    }
}

namespace {

void check_expect_value(const result_spec& r, const YAML::Node& v, const scenario& s) {
    const std::string what = "expect." + r.name;
    // { not: X } and { mask: M, value: V } apply to any result.
    if (v.IsMap() && v.size() == 1 && v["not"]) return check_expect_value(r, v["not"], s);
    if (v.IsMap() && v.size() == 2 && v["mask"] && v["value"]) {
        parse_integer(scalar(v["mask"], s, what + ".mask"), pos_of(v["mask"], s.file));
        parse_integer(scalar(v["value"], s, what + ".value"), pos_of(v["value"], s.file));
        return;
    }
    if (r.type == result_type::structure) return;  // compared value by value when the step has run
    // A list result may be checked by its length.
    if (v.IsMap() && v.size() == 1 && v["length"] &&
        (r.type == result_type::names || r.type == result_type::errors || r.type == result_type::strings)) {
        parse_integer(scalar(v["length"], s, what + ".length"), pos_of(v["length"], s.file));
        return;
    }
    switch (r.type) {
    case result_type::integer: {
        // Signed results (a system call's `ret: -1`) are written with a minus sign.
        const std::string t = scalar(v, s, what);
        parse_integer(t.size() > 1 && t[0] == '-' ? t.substr(1) : t, pos_of(v, s.file));
        break;
    }
    case result_type::boolean: {
        const std::string t = scalar(v, s, what);
        if (t != "true" && t != "false") fail(v, s, what + " must be true or false, not " + quote_input(t));
        break;
    }
    case result_type::data: parse_data(v, pos_of(v, s.file)); break;
    case result_type::completion: {
        const std::string t = scalar(v, s, what);
        if (t != "SC" && t != "UR" && t != "CRS" && t != "CA") fail(v, s, what + " must be SC, UR, CRS or CA, not " + quote_input(t));
        break;
    }
    case result_type::errno_name: {
        const std::string t = scalar(v, s, what);
        if (!errno_value(t)) fail(v, s, what + " " + quote_input(t) + " is not 0 or an errno name like EINVAL");
        break;
    }
    case result_type::text: scalar(v, s, what); break;
    case result_type::names: {
        std::vector<std::string> names = {"hypervisor"};
        for (const auto& d : s.domains) names.push_back(d.name);
        const auto check = [&](const YAML::Node& e) {
            const std::string d = scalar(e, s, what);
            if (d != "false" && std::find(names.begin(), names.end(), d) == names.end())
                fail(e, s, what + " names no domain " + quote_input(d) + suggestion(d, names));
        };
        if (v.IsSequence()) for (const auto& e : v) check(e);
        else check(v);
        break;
    }
    case result_type::errors:
        if (!v.IsSequence()) fail(v, s, what + " must be a list (or { length: N })");
        break;
    case result_type::strings:
        if (!v.IsSequence()) fail(v, s, what + " must be a list (or { length: N })");
        for (const auto& e : v) scalar(e, s, what);
        break;
    case result_type::structure: break;
    case result_type::flags: {
        const auto check = [&](const YAML::Node& e) {
            const std::string t = scalar(e, s, what);
            if (std::isdigit(static_cast<unsigned char>(t[0]))) return (void)parse_integer(t, pos_of(e, s.file));
            std::vector<std::string> known;
            for (const auto& [n, _] : r.names) known.push_back(n);
            if (std::find(known.begin(), known.end(), t) == known.end())
                fail(e, s, what + " names no flag " + quote_input(t) + suggestion(t, known));
        };
        if (v.IsSequence()) for (const auto& e : v) check(e);
        else check(v);
        break;
    }
    }
}

} // namespace

std::uint64_t expected_flags(const YAML::Node& v, const result_spec& r) {
    std::uint64_t out = 0;
    const auto one = [&](const std::string& t) {
        for (const auto& [n, bit] : r.names)
            if (n == t) return bit;
        return parse_integer(t, {});
    };
    if (v.IsSequence()) for (const auto& e : v) out |= one(e.Scalar());
    else out = one(v.Scalar());
    return out;
}

void check_expect(const op_spec& op, const YAML::Node& expect, const scenario& s, const source_pos& step) {
    if (!expect.IsMap()) {
        if (!expect.Mark().is_null()) fail(expect, s, "expect must be a mapping");
        throw input_error(step, "expect must be a mapping");
    }
    std::vector<std::string> allowed = expect_only_keys();
    for (const result_spec& r : op.results) allowed.push_back(r.name);
    for (const result_spec& r : common_results()) allowed.push_back(r.name);
    for (const auto& kv : expect) {
        const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
        if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
            fail(kv.first, s, "unknown key " + quote_input(k) + " in expect of " + op.name + suggestion(k, allowed) + "; it returns " +
                                  [&] {
                                      std::string l;
                                      for (const result_spec& r : op.results) l += (l.empty() ? "" : ", ") + r.name;
                                      return l.empty() ? std::string("only the common fields") : l;
                                  }());
        bool has_reference = false;
        for_each_reference(kv.second, [&](const YAML::Node&) { has_reference = true; });
        if (has_reference) continue;
        if (k == "latency_max" || k == "latency_min") parse_time(scalar(kv.second, s, "expect." + k), pos_of(kv.second, s.file));
        else check_expect_value(*op.result(k), kv.second, s);
    }
}

void write_operations_markdown(std::ostream& os) {
    for (const operation& o : operations().all()) {
        const op_spec& op = o.spec;
        const char* by = op.who == actor::domain ? " (`as:` a domain or process)" : op.who == actor::process ? " (`as:` a process)" : op.who == actor::device ? " (`device:` a function)" : "";
        std::string summary = op.summary;
        summary[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(summary[0])));
        os << "#### `" << op.name << "`" << by << "\n\n" << summary << ".\n\n";
        if (!op.args.empty()) {
            os << "| argument | type | range | default | meaning |\n|---|---|---|---|---|\n";
            // A structure's fields follow it, named by their path (ops[].ref, source.domid).
            const std::function<void(const arg_spec&, const std::string&)> row = [&](const arg_spec& a, const std::string& path) {
                os << "| `" << path << "` | " << type_text(a.type) << " | " << range_text(a) << " | "
                   << (a.required ? "required" : a.default_value.empty() ? "not given" : "`" + a.default_value + "`") << " | "
                   << a.description << " |\n";
                for (const arg_spec& f : a.fields) row(f, path + (a.list ? "[]." : ".") + f.name);
            };
            for (const arg_spec& a : op.args) row(a, a.name);
            os << "\n";
        }
        for (const auto& g : op.together) os << "`" << g[0] << "` and `" << g[1] << "` are given together.\n";
        for (const auto& g : op.exclusive) os << "`" << g[0] << "` and `" << g[1] << "` exclude each other.\n";
        if (!op.together.empty() || !op.exclusive.empty()) os << "\n";
        if (!op.results.empty()) {
            os << "| result | type | meaning |\n|---|---|---|\n";
            for (const result_spec& r : op.results) os << "| `" << r.name << "` | " << type_text(r.type) << " | " << r.description << " |\n";
            os << "\n";
        }
        if (!op.errnos.empty()) os << "Errnos: " << op.errnos << ".\n\n";
    }
}

} // namespace iotwin::platform
