// The step interpreter: brings the platform up (IOMMU, enumeration, domains,
// device assignment) and then runs the scenario's steps, in order, as one
// SystemC thread on the vCPUs of the acting domains. After each step it lets
// the devices finish what the step started (bounded by settle_limit), then
// checks the step's expectations. Invariant checkers watch the whole run.
#pragma once
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemc>

#include "platform/builder.h"
#include "platform/description.h"
#include "platform/enumerator.h"
#include "platform/invariants.h"
#include "platform/operations.h"

namespace iotwin::platform {

using json = nlohmann::ordered_json;

struct step_outcome {
    std::size_t index = 0;
    std::string op, as, device;
    json result = json::object();
    json expect = json::object();
    bool ok = true;
    std::string message;
    sc_core::sc_time start, end;
};

struct invariant_outcome {
    std::string name;
    bool held = true;
    bool expected_violation = false;
    std::size_t violations = 0;
    std::optional<violation> first;
    bool ok() const { return held != expected_violation; }
};

struct run_report {
    std::string scenario;
    std::uint64_t seed = 0;
    bool pass = false;
    sc_core::sc_time boot_time;
    std::deque<step_outcome> steps;  // a deque: a background step keeps its slot while others are added
    std::vector<invariant_outcome> invariants;
    std::map<std::string, enumerated_function> enumeration;  // by function id
    stat_map stats;
    sc_core::sc_time sim_time;
    double wall_s = 0;
    // For the trace: what happened, in simulated time.
    std::vector<iommu::fault_event> faults;
    std::vector<hyp::interrupt_delivery> interrupts;
    std::vector<violation> violations;
};

class runner : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(runner);
    runner(sc_core::sc_module_name name, const scenario& s, platform_instance& pi);

    // Where the steps come from: by default the scenario's, in order; a
    // source (the step fuzzer) gives one step at a time, after boot, until it
    // gives nullptr. Its steps must outlive the run.
    using step_source = std::function<const step_desc*()>;
    void set_step_source(step_source source) { source_ = std::move(source); }

    // After sc_start() returns: the report, or the error that stopped the run.
    const run_report& report() const { return report_; }
    std::exception_ptr error() const { return error_; }

    // Used by the step implementations.
    platform_instance& platform() { return pi_; }
    // Waits until every background step has ended and no device activity is
    // left, for at most `limit`; false when the limit passed first.
    bool wait_idle(const sc_core::sc_time& limit);
    const scenario& description() const { return s_; }
    const enumerated_function* enumerated(const std::string& id) const;
    std::optional<json> saved(const std::string& name) const;

private:
    void main();
    void boot(sc_core::sc_time& d);
    void run_step(const step_desc& st);
    // Runs one step and fills report_.steps[slot] (in the runner's thread, or
    // a thread of its own for a background step).
    void execute(const step_desc& st, std::size_t slot);
    bool settle(const sc_core::sc_time& limit);
    void check_expectations(const op_spec& op, const YAML::Node& expect, step_outcome& out);
    static void compact_data(json& result);
    void finish();

    const scenario& s_;
    platform_instance& pi_;
    isolation_checker checker_;
    run_report report_;
    std::map<std::string, json> saved_;
    std::exception_ptr error_;
    step_source source_;
    std::size_t background_running_ = 0;
    sc_core::sc_event background_done_;
    struct port_error { std::string port; pci::logged_error error; };
    std::vector<port_error> port_errors_;  // errors ports logged, in order
};

} // namespace iotwin::platform
