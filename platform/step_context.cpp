#include "platform/step_context.h"

#include <cctype>

#include "models/common/errno_names.h"
#include "platform/loader.h"
#include "platform/runner.h"

namespace iotwin::platform {

std::string hex_bytes(const std::uint8_t* p, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    s.reserve(n * 3);
    for (std::size_t i = 0; i < n; ++i) {
        if (i) s += ' ';
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

nlohmann::ordered_json errno_json(int e) { return e == 0 ? nlohmann::ordered_json(0) : nlohmann::ordered_json(errno_name(e)); }

platform_instance& step_context::pi() { return r_.platform(); }
hyp::hypervisor& step_context::hyp() { return *r_.platform().hypervisor; }
const enumerated_function* step_context::enumerated(const std::string& id) { return r_.enumerated(id); }
void step_context::set_errno(int e) { result_["errno"] = errno_json(e); }

namespace {
// The arguments were checked against the schema before the operation ran, so
// a parser that still refuses a value is a mismatch between schema and code.
template <class F> auto parsed(const char* name, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const input_error& e) {
        throw step_error(std::string("args.") + name + ": " + e.what());
    }
}
} // namespace

std::string step_context::scalar(const char* name) const {
    const YAML::Node n = args_[name];
    if (!n || !n.IsScalar()) throw step_error(std::string("args.") + name + " must be a single value");
    return n.Scalar();
}

std::uint64_t step_context::integer(const char* name, std::optional<std::uint64_t> def) const {
    if (!has(name) && def) return *def;
    return parsed(name, [&] { return parse_integer(scalar(name), {}); });
}

std::optional<std::uint64_t> step_context::pointer(const char* name) const {
    if (!has(name)) return std::nullopt;
    const YAML::Node v = args_[name];
    if (v.IsNull() || (v.IsScalar() && (v.Scalar() == "NULL" || v.Scalar() == "null"))) return 0;
    return integer(name);
}

std::uint64_t step_context::size(const char* name) const {
    return parsed(name, [&] { return parse_size(scalar(name), {}); });
}

bool step_context::boolean(const char* name, bool def) const {
    if (!has(name)) return def;
    return scalar(name) == "true";
}

sc_core::sc_time step_context::time(const char* name) const {
    return parsed(name, [&] { return parse_time(scalar(name), {}); });
}

std::vector<std::uint8_t> step_context::data(const char* name) const {
    return parsed(name, [&] { return parse_data(args_[name], {}); });
}

hyp::domid_t step_context::domain(const char* name) {
    // As the loader reads it: a number is a domid, anything else a name.
    const std::string v = scalar(name);
    if (!v.empty() && std::isdigit(static_cast<unsigned char>(v[0])))
        return static_cast<hyp::domid_t>(parsed(name, [&] { return parse_integer(v, {}); }));
    if (const auto id = hyp::reserved_domid(v)) return *id;
    const hyp::domain* d = hyp().find(v);
    if (!d) throw step_error("no domain '" + v + "'");
    return d->id;
}

pci::pci_function& step_context::device(const std::string& id) {
    auto it = pi().by_id.find(id);
    if (it == pi().by_id.end()) throw step_error("no function '" + id + "'");
    return *it->second;
}

const hyp::domain& step_context::actor() {
    if (const hyp::domain* d = hyp().find(st_.as)) return *d;
    return *hyp().find(acting_process().domid());
}

guest::os& step_context::guests() { return *pi().guests; }

guest::process* step_context::process() {
    if (hyp().find(st_.as)) return nullptr;
    return guests().find(st_.as);
}

guest::process& step_context::acting_process() {
    guest::process* p = process();
    // The loader checks names; a forked child exists only once its proc.fork step ran.
    if (!p) throw step_error("no process '" + st_.as + "' (yet): the proc.fork that makes it has not run or failed");
    if (!p->alive()) throw step_error("process '" + st_.as + "' has exited");
    return *p;
}

} // namespace iotwin::platform
