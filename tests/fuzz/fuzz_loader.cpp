// libFuzzer target: the scenario loader. An input is a scenario file; loading
// it either succeeds or throws input_error with "FILE:LINE:COL: message". Any
// other exception, a message without a position, a crash or a sanitizer
// report is a finding.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <typeinfo>

#include "platform/loader.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace iotwin;
    const std::string& path = fuzz::write_input(data, size);
    try {
        const platform::scenario s = platform::load_scenario(path);
        fuzz::check_warnings(s, path);
    } catch (const platform::input_error& e) {
        fuzz::check_error_message(e.what(), path);
    } catch (const std::exception& e) {
        fuzz::finding("exception", std::string(typeid(e).name()) + ": " + e.what());
    } catch (...) {
        fuzz::finding("exception", "not a std::exception");
    }
    return 0;
}
