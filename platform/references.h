// References to the results of earlier steps: `$name.field`, `$name.list[0]`,
// optionally followed by one integer operation, `+ N`, `- N`, `* N` or `<< N`
// (`$r.start+0x8000`, `$g.gref_ids[0]*4096`, `$p.frame<<12`). They may stand
// for any scalar inside a step's `args` and `expect`, at any depth.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace iotwin::platform {

struct reference {
    std::string name;                                        // what a step saved
    std::vector<std::variant<std::string, std::size_t>> path;  // .field or [index], in order
    char op = 0;                                             // '+', '-', '*', '<' (<<), or 0
    std::uint64_t operand = 0;
};

// A reference that cannot be evaluated (a missing field, an index out of
// range, arithmetic on something that is not an integer, or overflow).
struct reference_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

bool looks_like_reference(const YAML::Node& n);
// Parses the text of a scalar that starts with '$'; nullopt when it is not a
// well-formed reference.
std::optional<reference> parse_reference(const std::string& text);
// The value of `ref` in a saved step result.
nlohmann::ordered_json evaluate(const reference& ref, const nlohmann::ordered_json& saved);

// Every reference inside a node, at any depth, with the node that holds it.
void for_each_reference(const YAML::Node& n, const std::function<void(const YAML::Node&)>& f);

// A copy of `n` in which every reference is replaced by its value; `lookup`
// gives the saved result of a name (nullopt: nothing was saved by that name).
YAML::Node resolve_references(const YAML::Node& n,
                              const std::function<std::optional<nlohmann::ordered_json>(const std::string&)>& lookup);

} // namespace iotwin::platform
