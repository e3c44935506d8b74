#include "platform/references.h"

#include <cctype>

#include "platform/loader.h"

namespace iotwin::platform {

using json = nlohmann::ordered_json;

namespace {

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Reads an identifier at `i`; empty when there is none.
std::string identifier(const std::string& t, std::size_t& i) {
    if (i >= t.size() || !ident_start(t[i])) return "";
    const std::size_t from = i;
    while (i < t.size() && ident_char(t[i])) ++i;
    return t.substr(from, i - from);
}

std::optional<std::uint64_t> integer_of(const std::string& text) {
    try {
        return parse_integer(text, {});
    } catch (const input_error&) {
        return std::nullopt;
    }
}

std::optional<std::uint64_t> integer_of(const json& v) {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
    if (v.is_string()) return integer_of(v.get<std::string>());
    return std::nullopt;
}

std::string shown(const reference& r) {
    std::string s = "$" + r.name;
    for (const auto& p : r.path) s += std::holds_alternative<std::string>(p) ? "." + std::get<std::string>(p) : "[" + std::to_string(std::get<std::size_t>(p)) + "]";
    return s;
}

std::uint64_t apply(const reference& r, std::uint64_t v) {
    const std::uint64_t k = r.operand;
    const auto overflow = [&] { return reference_error(shown(r) + ": the arithmetic leaves the 64-bit range"); };
    switch (r.op) {
    case '+': if (v + k < v) throw overflow(); return v + k;
    case '-': if (k > v) throw overflow(); return v - k;
    case '*': if (k && v > ~std::uint64_t(0) / k) throw overflow(); return v * k;
    case '<': if (k >= 64 || (v && (v >> (64 - k)))) throw overflow(); return v << k;
    default: return v;
    }
}

YAML::Node to_yaml(const json& v) {
    if (v.is_array()) {
        YAML::Node seq(YAML::NodeType::Sequence);
        for (const json& e : v) seq.push_back(to_yaml(e));
        return seq;
    }
    if (v.is_object()) {
        YAML::Node map(YAML::NodeType::Map);
        for (const auto& [k, e] : v.items()) map[k] = to_yaml(e);
        return map;
    }
    if (v.is_string()) return YAML::Node(v.get<std::string>());
    return YAML::Node(v.dump());
}

} // namespace

bool looks_like_reference(const YAML::Node& n) { return n.IsScalar() && !n.Scalar().empty() && n.Scalar()[0] == '$'; }

std::optional<reference> parse_reference(const std::string& t) {
    reference r;
    std::size_t i = 1;
    if (t.empty() || t[0] != '$') return std::nullopt;
    r.name = identifier(t, i);
    if (r.name.empty()) return std::nullopt;
    while (i < t.size() && (t[i] == '.' || t[i] == '[')) {
        if (t[i] == '.') {
            ++i;
            const std::string f = identifier(t, i);
            if (f.empty()) return std::nullopt;
            r.path.emplace_back(f);
            continue;
        }
        const std::size_t close = t.find(']', i);
        if (close == std::string::npos || close == i + 1 || close - i > 8) return std::nullopt;
        const std::string digits = t.substr(i + 1, close - i - 1);
        for (char c : digits)
            if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
        r.path.emplace_back(static_cast<std::size_t>(std::stoul(digits)));
        i = close + 1;
    }
    if (i == t.size()) return r;
    if (t.compare(i, 2, "<<") == 0) r.op = '<', i += 2;
    else if (t[i] == '+' || t[i] == '-' || t[i] == '*') r.op = t[i++];
    else return std::nullopt;
    const auto k = integer_of(t.substr(i));
    if (!k) return std::nullopt;
    r.operand = *k;
    return r;
}

json evaluate(const reference& ref, const json& saved) {
    const json* cur = &saved;
    for (const auto& p : ref.path) {
        if (const auto* f = std::get_if<std::string>(&p)) {
            if (!cur->is_object() || !cur->contains(*f)) throw reference_error(shown(ref) + ": the saved result has no '" + *f + "'");
            cur = &(*cur)[*f];
        } else {
            const std::size_t i = std::get<std::size_t>(p);
            if (!cur->is_array() || i >= cur->size())
                throw reference_error(shown(ref) + ": index " + std::to_string(i) + " is out of range (the list has " +
                                      std::to_string(cur->is_array() ? cur->size() : 0) + " elements)");
            cur = &(*cur)[i];
        }
    }
    if (!ref.op) return *cur;
    const auto v = integer_of(*cur);
    if (!v) throw reference_error(shown(ref) + " is not an integer, so it takes no arithmetic");
    return apply(ref, *v);
}

void for_each_reference(const YAML::Node& n, const std::function<void(const YAML::Node&)>& f) {
    if (looks_like_reference(n)) f(n);
    if (n.IsSequence())
        for (const auto& e : n) for_each_reference(e, f);
    if (n.IsMap())
        for (const auto& kv : n) for_each_reference(kv.second, f);
}

namespace {

bool holds_reference(const YAML::Node& n) {
    bool found = false;
    for_each_reference(n, [&](const YAML::Node&) { found = true; });
    return found;
}

// Builds the resolved copy from fresh nodes only: a node of the scenario
// document put into a new tree would tie the whole document's memory to it
// (yaml-cpp merges memory holders), at a cost that grows with the document.
YAML::Node resolved_copy(const YAML::Node& n, const std::function<std::optional<json>(const std::string&)>& lookup) {
    if (looks_like_reference(n)) {
        const auto ref = parse_reference(n.Scalar());
        if (!ref) throw reference_error("'" + n.Scalar() + "' is not a reference");
        const auto saved = lookup(ref->name);
        if (!saved) throw reference_error(shown(*ref) + ": nothing was saved as '" + ref->name + "'");
        return to_yaml(evaluate(*ref, *saved));
    }
    if (n.IsSequence()) {
        YAML::Node out(YAML::NodeType::Sequence);
        for (const auto& e : n) out.push_back(resolved_copy(e, lookup));
        return out;
    }
    if (n.IsMap()) {
        YAML::Node out(YAML::NodeType::Map);
        for (const auto& kv : n) out[kv.first.Scalar()] = resolved_copy(kv.second, lookup);
        return out;
    }
    if (n.IsScalar()) return YAML::Node(n.Scalar());
    return YAML::Node();
}

} // namespace

YAML::Node resolve_references(const YAML::Node& n, const std::function<std::optional<json>(const std::string&)>& lookup) {
    if (!holds_reference(n)) return n;
    return resolved_copy(n, lookup);
}

} // namespace iotwin::platform
