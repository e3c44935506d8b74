// Renders a run: the human summary, the JSON report of the CLI contract, JUnit
// XML for CI systems, and the event trace (JSON Lines, in simulated time).
#pragma once
#include <ostream>
#include <string>

#include "platform/runner.h"

namespace iotwin::platform {

json to_json(const run_report& r, const platform_instance& pi);
void write_summary(std::ostream& os, const run_report& r);
void write_junit(std::ostream& os, const run_report& r);
void write_trace(std::ostream& os, const run_report& r, const platform_instance& pi);

} // namespace iotwin::platform
