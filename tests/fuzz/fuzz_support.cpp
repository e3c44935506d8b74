#include "tests/fuzz/fuzz_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "platform/description.h"

// libsystemc.so references sc_main; the targets never start a simulation.
int sc_main(int, char*[]) { return 0; }

namespace iotwin::fuzz {

namespace {

std::string input_dir() {
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

// The position prefix "PATH:LINE:COL: " of a message, or why it lacks one.
std::string position_problem(const std::string& m, const std::string& path) {
    if (m.compare(0, path.size(), path) != 0) return "does not start with the file path";
    std::size_t i = path.size();
    for (int field = 0; field < 2; ++field) {
        if (i >= m.size() || m[i] != ':') return "no LINE:COL after the file path";
        ++i;
        const std::size_t start = i;
        while (i < m.size() && m[i] >= '0' && m[i] <= '9') ++i;
        if (i == start) return "no LINE:COL after the file path";
        if (std::stoull(m.substr(start, std::min<std::size_t>(i - start, 9))) == 0) return "line or column 0";
    }
    if (m.compare(i, 2, ": ") != 0) return "no ': ' after FILE:LINE:COL";
    return "";
}

std::string text_problem(const std::string& m) {
    if (m.size() > max_message) return "longer than " + std::to_string(max_message) + " bytes (" + std::to_string(m.size()) + ")";
    for (const unsigned char c : m)
        if (c < 0x20 || c == 0x7f) return "raw control character 0x" + std::to_string(c);
    return "";
}

std::string excerpt(const std::string& m) {
    return m.size() > 300 ? m.substr(0, 300) + "..." : m;
}

} // namespace

const std::string& write_input(const std::uint8_t* data, std::size_t size) {
    static const std::string path = input_dir() + "/iotwin-fuzz-" + std::to_string(getpid()) + ".yaml";
    static const bool cleanup = [] { return std::atexit([] { std::remove(path.c_str()); }) == 0; }();
    (void)cleanup;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    f.close();
    if (!f) finding("harness", "cannot write " + path);
    return path;
}

void finding(const std::string& kind, const std::string& detail) {
    static const std::vector<std::string> skip = [] {
        std::vector<std::string> v;
        const char* s = std::getenv("IOTWIN_FUZZ_SKIP");
        std::istringstream is(s ? s : "");
        for (std::string e; std::getline(is, e, ',');)
            if (!e.empty()) v.push_back(e);
        return v;
    }();
    for (const std::string& e : skip) {
        const std::size_t colon = e.find(':');
        if (e.substr(0, colon) != kind) continue;
        if (colon == std::string::npos || detail.find(e.substr(colon + 1)) != std::string::npos) return;
    }
    std::cerr << "iotwin fuzz finding: " << kind << ": " << detail << std::endl;
    std::abort();
}

void check_error_message(const std::string& message, const std::string& path) {
    const std::string pos = position_problem(message, path);
    if (!pos.empty()) return finding("no-position", pos + ": " + excerpt(message));
    const std::string text = text_problem(message);
    if (!text.empty()) finding("bad-message", text + ": " + excerpt(message));
}

void check_warnings(const platform::scenario& s, const std::string& path) {
    for (const platform::input_warning& w : s.warnings) {
        const std::string m = w.str();
        const std::string pos = position_problem(m, path);
        if (!pos.empty()) {
            finding("warning-no-position", pos + ": " + excerpt(m));
            continue;
        }
        const std::string text = text_problem(m);
        if (!text.empty()) finding("bad-message", "warning " + text + ": " + excerpt(m));
    }
}

} // namespace iotwin::fuzz
