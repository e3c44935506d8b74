// The renderings of `iotwin groups`: text, the JSON of the CLI contract, the
// layout of /sys/kernel/iommu_groups, and Graphviz.
#pragma once
#include <ostream>

#include <nlohmann/json.hpp>

#include "platform/iommu_groups.h"

namespace iotwin::platform {

nlohmann::ordered_json groups_json(const topology& t, const group_result& g);
void write_groups_text(std::ostream& os, const topology& t, const group_result& g);
void write_groups_sysfs(std::ostream& os, const topology& t, const group_result& g);
void write_groups_dot(std::ostream& os, const topology& t, const group_result& g);

} // namespace iotwin::platform
