// The step vocabulary: every operation a scenario step may name, with the
// arguments it takes and the results it returns. The loader validates steps
// against this table; the runner executes them.
#pragma once
#include <string>
#include <vector>

namespace iotwin::platform {

enum class arg_type { integer, size, boolean, string, data, domain, device, time };
enum class actor { domain, device, none };

struct arg_spec {
    const char* name;
    arg_type type;
    bool required;
    const char* description;
};

struct op_spec {
    const char* name;       // "<interface>.<operation>"
    actor who;              // `as:` a domain/process, `device:` an id, or neither
    std::vector<arg_spec> args;
    std::vector<const char*> results;  // result fields besides errno/fault/delivered
    const char* summary;
};

const std::vector<op_spec>& operations();
const op_spec* find_operation(const std::string& name);
// Keys every step's `expect` accepts besides the operation's own result fields.
const std::vector<std::string>& common_expect_keys();

} // namespace iotwin::platform
