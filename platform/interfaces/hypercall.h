// What the hypercall interfaces (gnttab, evtchn, domctl) share: reading a
// batch of operations from a step (`ops: [...]`, or one operation's fields
// written directly), field values inside them (integers, flags, domains with
// DOMID_SELF), issuing the hypercall on the actor's vCPU over the CPU's
// socket, and reporting `rc` / `errno` and per-operation `status`.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "models/hyp/hypercall.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

using name_table = std::vector<std::pair<std::string, std::uint64_t>>;

// One operation of a batch: its fields, and where it is for messages ("args.ops[2]").
struct batch_op {
    YAML::Node fields;
    std::string where;

    bool has(const char* f) const { return static_cast<bool>(fields[f]); }
    // An integer field (decimal or hex) in [0, max]; when absent `def`, else 0
    // (a field not written is 0, as in a zeroed structure).
    std::uint64_t integer(const char* f, std::uint64_t max, std::optional<std::uint64_t> def = std::nullopt) const;
    // A flags field: a list of names from `names` or an integer in [0, max].
    std::uint64_t flags(const char* f, const name_table& names, std::uint64_t max, std::uint64_t def = 0) const;
    bool boolean(const char* f, bool def) const;
    // A domain field: a name, a domid, or DOMID_SELF (and the other DOMID_* names); absent: `def`, else 0.
    hyp::domid_t domain(step_context& c, const char* f, std::optional<hyp::domid_t> def = std::nullopt) const;
    // A nested structure (gnttab_copy's source / dest).
    batch_op member(const char* f) const;
    [[noreturn]] void fail(const std::string& field, const std::string& msg) const;
};

// The operations of a step: `ops` when given, else the step's own fields (one operation).
std::vector<batch_op> batch(step_context& c);
// Whether the step wrote its operations as a list (then results go in `ops`).
bool batched(step_context& c);

// Issues a hypercall as the step's actor, over the CPU's socket to the
// hypervisor; the step's delay advances by what it costs. Returns rc and
// reports it as `rc` and `errno`.
long issue(step_context& c, unsigned nr, unsigned cmd, void* arg, std::uint32_t count, std::uint32_t readable);

// Puts per-operation results in place: `ops: [...]` for a batch, the fields
// themselves for a single operation.
void put_results(step_context& c, const std::vector<nlohmann::ordered_json>& per_op);

// "GNTST_okay" (or the number when it has no name).
nlohmann::ordered_json gntst_json(int status);

// The batch size schema limit: at most this many operations in one step.
constexpr std::uint64_t max_batch = 4096;

} // namespace iotwin::platform::interfaces
