// What one operation sees while it runs: its arguments (references already
// resolved and every value checked against the operation's schema), the
// platform, and the result it fills in. The interfaces in
// platform/interfaces/ implement operations against this.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemc>
#include <yaml-cpp/yaml.h>

#include "models/guest/kernel.h"
#include "models/hyp/hypervisor.h"
#include "models/pci/pci_function.h"
#include "platform/description.h"

namespace iotwin::platform {

class runner;
struct platform_instance;
struct enumerated_function;

// A step that cannot be carried out as written (a reference to a missing
// result, a resolved argument outside its range): the step fails with this.
struct step_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class step_context {
public:
    step_context(runner& r, const step_desc& st, const YAML::Node& args, nlohmann::ordered_json& result)
        : r_(r), st_(st), args_(args), result_(result) {}

    runner& run() { return r_; }
    platform_instance& pi();
    hyp::hypervisor& hyp();
    const enumerated_function* enumerated(const std::string& id);
    nlohmann::ordered_json& result() { return result_; }
    void set_errno(int e);

    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    bool bus_error = false;  // a request of this step ended in UR or CA

    bool has(const char* name) const { return static_cast<bool>(args_[name]); }
    const YAML::Node& args() const { return args_; }
    // Typed arguments; an optional argument that is absent gives `def`.
    std::uint64_t integer(const char* name, std::optional<std::uint64_t> def = std::nullopt) const;
    std::uint64_t size(const char* name) const;
    // A pointer argument: none when absent, 0 for null / NULL, else the address.
    std::optional<std::uint64_t> pointer(const char* name) const;
    bool boolean(const char* name, bool def) const;
    std::string text(const char* name, const std::string& def = "") const { return has(name) ? scalar(name) : def; }
    sc_core::sc_time time(const char* name) const;
    std::vector<std::uint8_t> data(const char* name) const;
    // A domain argument: the domid of a named domain, or the number given
    // (which may name no domain: the model answers ESRCH).
    hyp::domid_t domain(const char* name);

    pci::pci_function& device(const std::string& id);
    pci::pci_function& device_arg(const char* name) { return device(scalar(name)); }
    pci::pci_function& acting_device() { return device(st_.device); }
    // The domain a step acts as (`as` names a domain, or a process inside one).
    const hyp::domain& actor();
    // The process a step acts as; null when `as` names a domain.
    guest::process* process();
    // The process, for operations only a process does (a step_error otherwise).
    guest::process& acting_process();
    guest::os& guests();

private:
    std::string scalar(const char* name) const;

    runner& r_;
    const step_desc& st_;
    YAML::Node args_;
    nlohmann::ordered_json& result_;
};

// Helpers the interfaces share.
std::string hex_bytes(const std::uint8_t* p, std::size_t n);
nlohmann::ordered_json errno_json(int e);

} // namespace iotwin::platform
