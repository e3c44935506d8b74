// The step vocabulary: every operation a scenario step may name, declared as
// data. Each interface (platform/interfaces/<interface>.cpp) registers its
// operations with a schema: the arguments (name, type, range, required or
// not), the result fields, and what the operation does. The loader validates
// every step against the schema before the run starts; the runner dispatches
// through the registry; docs/scenario-reference.md's operation table is
// generated from it (`iotwin ops --markdown`).
//
// The schema holds the limits of the twin's own interface (a transfer of at
// most 1 MiB, a 16-bit requester ID) and the types of the real interface.
// Values the real interface accepts and then rejects at run time (a misaligned
// address, a domid that names no domain) pass the schema and reach the model,
// which answers with the real errno.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "platform/description.h"
#include "platform/limits.h"

namespace iotwin::platform {

class step_context;

enum class arg_type {
    integer,  // decimal or 0x hex, in [min, max]
    size,     // bytes, with units (4KiB), in [min, max]
    boolean,  // true / false
    string,   // a single value of at most `max` characters
    data,     // bytes: "de ad be ef" or a list of integers; length in [min, max]
    domain,   // a domain by name (checked by the loader) or by domid (checked by the model)
    device,   // a function id of platform.pcie
    time,     // 10ns, 1.5us; in [min, max] picoseconds
    flags,    // a list of flag names (from `names`) or an integer in [min, max]
    structure,  // a mapping of declared fields, or a list of them (batched hypercall ops, nested structures)
    pointer,    // a user address: `null` (a NULL pointer) or an integer
    integers,   // a list of [min, max] entries, each an integer (negative allowed: -1 for "no descriptor") or true / false
};

// What a result field holds (for `expect` and for references to it).
enum class result_type { integer, boolean, data, completion, errno_name, text, names, errors, strings, structure, flags };  // strings: a list of words, in order; structure: lists and mappings (batched hypercall results); flags: an integer, expected as it or as the names of its bits

// domain: `as` a domain or a process (the process's domain acts); process: `as` a process only.
enum class actor { domain, process, device, none };

struct arg_spec {
    arg_spec(std::string name_, arg_type type_, bool required_, std::string description_, std::uint64_t min_ = 0,
             std::uint64_t max_ = std::numeric_limits<std::uint64_t>::max(), std::string default_value_ = "")
        : name(std::move(name_)), type(type_), required(required_), description(std::move(description_)), min(min_), max(max_),
          default_value(std::move(default_value_)) {}

    std::string name;
    arg_type type;
    bool required = false;
    std::string description;
    std::uint64_t min = 0;
    std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    std::string default_value;  // shown in the documentation; "" when required or absent means "not given"
    std::vector<std::pair<std::string, std::uint64_t>> names;  // for `flags`: each name and its bit value
    // For `structure`: the fields of the mapping (each checked as an argument
    // is), and whether the argument is a list of such mappings of [min, max]
    // entries (a batch) rather than one.
    std::vector<arg_spec> fields;
    bool list = false;
};

// A structure argument: one mapping of `fields`, or (list) 1..max_items of them.
arg_spec structure_arg(std::string name, bool required, std::string description, std::vector<arg_spec> fields, bool list = false,
                       std::uint64_t max_items = std::numeric_limits<std::uint64_t>::max());

// A flags argument: a list of names from `names`, one name, or an integer.
arg_spec flags_arg(std::string name, bool required, std::string description,
                   std::vector<std::pair<std::string, std::uint64_t>> names, std::uint64_t max = std::numeric_limits<std::uint32_t>::max());
// The value of a flags argument (already checked): the names OR-ed, or the integer.
std::uint64_t flags_value(const YAML::Node& v, const std::vector<std::pair<std::string, std::uint64_t>>& names);
// The entries of an `integers` argument (already checked): true is 1, false 0,
// a negative integer as its two's complement in 64 bits.
std::vector<std::int64_t> integers_value(const YAML::Node& v);

struct result_spec {
    std::string name;
    result_type type;
    std::string description;
    std::vector<std::pair<std::string, std::uint64_t>> names = {};  // for `flags`: each name and its bit value
};

// The value `expect` gives a flags result: an integer, a name, or a list of names OR-ed.
std::uint64_t expected_flags(const YAML::Node& v, const result_spec& r);

struct op_spec {
    std::string name;  // "<interface>.<operation>"
    actor who = actor::none;
    std::string summary;
    std::vector<arg_spec> args;
    std::vector<result_spec> results;  // besides the fields every step returns
    std::vector<std::vector<std::string>> together;  // groups of arguments given all or none
    std::vector<std::vector<std::string>> exclusive;  // groups of arguments of which at most one is given
    std::string errnos;  // when the model answers which errno (documentation)

    const arg_spec* arg(const std::string& name) const;
    const result_spec* result(const std::string& name) const;
};

using op_impl = std::function<void(step_context&)>;

struct operation {
    op_spec spec;
    op_impl impl;
};

class op_registry {
public:
    void add(op_spec spec, op_impl impl);
    const operation* find(const std::string& name) const;
    const std::vector<operation>& all() const { return ops_; }
    std::vector<std::string> names() const;

private:
    std::vector<operation> ops_;  // in registration order: interface by interface
};

// Every interface's operations.
const op_registry& operations();
const op_spec* find_operation(const std::string& name);

// The result fields every step returns, whatever its operation.
const std::vector<result_spec>& common_results();
// Keys `expect` accepts besides result fields (bounds on the step's duration).
const std::vector<std::string>& expect_only_keys();

// The range limits of the twin's own interface, used by several operations.
namespace op_limits {
constexpr std::uint64_t max_transfer = 1ull << 20;          // bytes moved by one mem.* or device.dma_* step
constexpr std::uint64_t max_map = 64ull << 20;              // bytes one iommu.map step maps (16384 pages)
constexpr std::uint64_t max_wait_ps = limits::max_time_value_ps;  // one sim.wait or sim.wait_idle
}  // namespace op_limits

// Checks one argument value (already free of references) against its spec;
// throws input_error at the value's position. `s` gives the names a domain or
// device argument may take.
// `path` names the value in messages (default: args.<name>).
void check_arg(const arg_spec& a, const YAML::Node& v, const scenario& s, const std::string& path = "");
// Checks the argument map of a step: unknown and missing arguments, the
// together/exclusive groups, and every value that is not a reference.
void check_args(const op_spec& op, const YAML::Node& args, const scenario& s, const source_pos& step);

// Checks a step's `expect`: every key a result field of the operation (or a
// bound on the step's duration), every value that is not a reference of the
// field's type.
void check_expect(const op_spec& op, const YAML::Node& expect, const scenario& s, const source_pos& step);

// The operation table of docs/scenario-reference.md, in Markdown.
void write_operations_markdown(std::ostream& os);

} // namespace iotwin::platform
