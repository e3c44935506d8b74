// What the libFuzzer targets share: the file an input is written to (the
// loader reads scenarios from files) and the oracles on error messages. A
// target that sees something outside the contract calls finding(), which
// prints it and aborts, so that libFuzzer records the input.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace iotwin::platform {
struct scenario;
}

namespace iotwin::fuzz {

// Longest message the oracles accept: an error that quotes a whole
// megabyte-long value back is not a usable message.
constexpr std::size_t max_message = 1024;

// Writes the input to a file of this process (under /dev/shm when there is
// one) and returns its path; the same path for every input of the process.
const std::string& write_input(const std::uint8_t* data, std::size_t size);

// Prints "iotwin fuzz finding: <kind>: <detail>" on stderr and aborts,
// unless the environment variable IOTWIN_FUZZ_SKIP names it: a
// comma-separated list of KIND or KIND:TEXT (the finding's detail contains
// TEXT). Then it returns, so that a long run can look past known findings
// whose fixes are pending.
void finding(const std::string& kind, const std::string& detail);

// Checks an input_error's message: "FILE:LINE:COL: what" with FILE = `path`,
// LINE and COL positive, within max_message, without control characters.
void check_error_message(const std::string& message, const std::string& path);

// Checks the loader's warnings by the same rules.
void check_warnings(const platform::scenario& s, const std::string& path);

} // namespace iotwin::fuzz
