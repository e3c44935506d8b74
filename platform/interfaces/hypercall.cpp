#include "platform/interfaces/hypercall.h"

#include <cctype>

#include "models/common/errno_names.h"
#include "models/hyp/grant_table.h"
#include "platform/builder.h"
#include "platform/loader.h"
#include "platform/operations.h"

namespace iotwin::platform::interfaces {

namespace {

std::string scalar_of(const batch_op& op, const char* f) {
    const YAML::Node n = op.fields[f];
    if (!n.IsScalar()) op.fail(f, "must be a single value");
    return n.Scalar();
}

} // namespace

void batch_op::fail(const std::string& field, const std::string& msg) const {
    throw step_error(where + (field.empty() ? "" : "." + field) + " " + msg);
}

std::uint64_t batch_op::integer(const char* f, std::uint64_t max, std::optional<std::uint64_t> def) const {
    // A field not written is 0, as in a zeroed structure (the kernel's callers clear them).
    if (!has(f)) return def ? *def : 0;
    std::uint64_t v = 0;
    try {
        v = parse_integer(scalar_of(*this, f), {});
    } catch (const input_error& e) {
        fail(f, std::string("is not an integer: ") + e.what());
    }
    if (v > max) fail(f, "must be at most " + std::to_string(max) + ", not " + std::to_string(v));
    return v;
}

std::uint64_t batch_op::flags(const char* f, const name_table& names, std::uint64_t max, std::uint64_t def) const {
    if (!has(f)) return def;
    std::uint64_t v = 0;
    try {
        v = flags_value(fields[f], names);
    } catch (const input_error& e) {
        std::string known;
        for (const auto& [n, bit] : names) known += (known.empty() ? "" : ", ") + n;
        fail(f, std::string(e.what()) + " (flags are " + known + ", or an integer)");
    }
    if (v > max) fail(f, "must be at most " + std::to_string(max) + ", not " + std::to_string(v));
    return v;
}

bool batch_op::boolean(const char* f, bool def) const {
    if (!has(f)) return def;
    const std::string t = scalar_of(*this, f);
    if (t != "true" && t != "false") fail(f, "must be true or false, not '" + t + "'");
    return t == "true";
}

hyp::domid_t batch_op::domain(step_context& c, const char* f, std::optional<hyp::domid_t> def) const {
    if (!has(f)) return def ? *def : 0;
    const std::string t = scalar_of(*this, f);
    if (const auto id = hyp::reserved_domid(t)) return *id;
    if (!t.empty() && std::isdigit(static_cast<unsigned char>(t[0]))) return static_cast<hyp::domid_t>(integer(f, 0xffff));
    const hyp::domain* d = c.hyp().find(t);
    if (!d) fail(f, "names no domain '" + t + "'");
    return d->id;
}

batch_op batch_op::member(const char* f) const {
    const YAML::Node n = fields[f];
    if (!n) return batch_op{YAML::Node(YAML::NodeType::Map), where + "." + f};  // a zeroed member
    if (!n.IsMap()) fail(f, "must be a mapping");
    return batch_op{n, where + "." + f};
}

bool batched(step_context& c) { return c.has("ops"); }

std::vector<batch_op> batch(step_context& c) {
    std::vector<batch_op> out;
    const YAML::Node args = c.args();
    if (!args["ops"]) {
        out.push_back({args, "args"});
        return out;
    }
    const YAML::Node ops = args["ops"];
    if (!ops.IsSequence()) throw step_error("args.ops must be a list of operations");
    if (ops.size() > max_batch) throw step_error("args.ops has " + std::to_string(ops.size()) + " operations; a step may batch at most " + std::to_string(max_batch));
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const std::string where = "args.ops[" + std::to_string(i) + "]";
        if (!ops[i].IsMap()) throw step_error(where + " must be a mapping of the operation's fields");
        out.push_back({ops[i], where});
    }
    return out;
}

long issue(step_context& c, unsigned nr, unsigned cmd, void* arg, std::uint32_t count, std::uint32_t readable) {
    hyp::hypercall hc;
    hc.caller = c.actor().id;
    hc.nr = nr;
    hc.cmd = cmd;
    hc.arg = arg;
    hc.count = count;
    hc.readable = arg ? readable : 0;
    const long rc = c.pi().cpu->call(hc, c.delay);
    c.result()["rc"] = rc >= 0 ? nlohmann::ordered_json(rc) : nlohmann::ordered_json("-" + errno_name(static_cast<int>(-rc)));
    c.set_errno(rc < 0 ? static_cast<int>(-rc) : 0);
    return rc;
}

void put_results(step_context& c, const std::vector<nlohmann::ordered_json>& per_op) {
    if (batched(c)) {
        c.result()["ops"] = per_op;
        return;
    }
    if (per_op.empty()) return;
    for (const auto& [k, v] : per_op.front().items()) c.result()[k] = v;
}

nlohmann::ordered_json gntst_json(int status) {
    const char* n = hyp::gnttab::gntst_name(status);
    return *n ? nlohmann::ordered_json(n) : nlohmann::ordered_json(status);
}

} // namespace iotwin::platform::interfaces
