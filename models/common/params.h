// Parameters are plain structs that describe themselves: each declares its
// fields once in visit(), with a dotted name, a unit and a one-line description.
// The scenario loader sets them by path (and --set reaches every one of them);
// `iotwin params` and docs/timing.md list them from the same declaration.
//
// Supported field types: bool, std::uint64_t (counts and sizes), double
// (rates), sc_core::sc_time (durations).
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include <systemc>

namespace iotwin {

struct param_doc {
    std::string path;        // e.g. "platform.iommu.iotlb.entries"
    std::string unit;        // "entries", "bytes", "time", "GB/s", ...
    std::string description;
    std::string default_value;
};

std::string to_string_with_unit(const sc_core::sc_time& t);

// Collects documentation rows from a parameter struct's visit().
class param_lister {
public:
    explicit param_lister(std::string prefix) : prefix_(std::move(prefix)) {}
    template <class T>
    void operator()(const char* name, T& field, const char* unit, const char* description) {
        rows.push_back({prefix_ + "." + name, unit, description, render(field)});
    }
    std::vector<param_doc> rows;

private:
    static std::string render(bool v) { return v ? "true" : "false"; }
    static std::string render(std::uint64_t v) { return std::to_string(v); }
    static std::string render(double v);
    static std::string render(const sc_core::sc_time& v) { return to_string_with_unit(v); }
    std::string prefix_;
};

} // namespace iotwin
