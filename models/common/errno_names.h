// Linux errno values by their names, as scenarios write them ("EBUSY") and
// reports print them.
#pragma once
#include <optional>
#include <string>

namespace iotwin {

// "EINVAL" for EINVAL; the decimal number for a value without a name here.
std::string errno_name(int e);
std::optional<int> errno_value(const std::string& name);

} // namespace iotwin
