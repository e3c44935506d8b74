// One scenario run as `iotwin run` does it (loaded from YAML, built, booted,
// its steps run by the runner), for tests that look at the report. SystemC
// elaborates once per process: one per test.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "platform/builder.h"
#include "platform/loader.h"
#include "platform/runner.h"
#include "tests/support/temp_dir.h"

namespace iotwin::test {

struct scenario_run {
    temp_dir dir;
    platform::scenario s;
    std::unique_ptr<platform::platform_instance> pi;
    std::unique_ptr<platform::runner> r;

    explicit scenario_run(const std::string& yaml) {
        s = platform::load_scenario(dir.write("s.yaml", yaml));
        pi = platform::build_platform(s);
        r = std::make_unique<platform::runner>("runner", s, *pi);
        sc_core::sc_start();
        if (r->error()) std::rethrow_exception(r->error());
    }
    const platform::run_report& report() const { return r->report(); }
    // Every step passed (each failure reported with its message and result).
    void steps_ok() const {
        for (const platform::step_outcome& o : report().steps)
            EXPECT_TRUE(o.ok) << "step " << o.index << " " << o.op << ": " << o.message << " result " << o.result.dump();
    }
    const platform::json& result(std::size_t i) const { return report().steps.at(i).result; }
};

}  // namespace iotwin::test
