// Test helper: sysfs trees as users copy them from a machine, built from a
// configuration-space dump (`lspci -xxxx` text, tests/data/sysfs). Each
// function gets a directory holding `config` (the dumped bytes), `resource`
// (lines the test gives) and, when the test names them, `driver` and
// `iommu_group` links pointing where Linux points them; the devices
// directory holds the functions themselves or links to them, as the copy
// was made.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

namespace iotwin::test {

struct dumped_function {
    std::string address;  // dddd:bb:dd.f, the domain 0000 when the dump has none
    std::string config;   // the bytes, as many as the dump holds
};

// The functions of a dump, in its order. Lines that are neither a title nor
// sixteen bytes (the -vvv text some dumps start with) are skipped.
inline std::vector<dumped_function> read_dump(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    static const std::regex title(R"(^(?:([0-9a-f]{4}):)?([0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) .*)");
    static const std::regex bytes(R"(^([0-9a-f]{2,3}):((?: [0-9a-f]{2}){16})\s*$)");
    std::vector<dumped_function> out;
    std::smatch m;
    for (std::string line; std::getline(in, line);) {
        if (std::regex_match(line, m, title)) {
            out.push_back({(m[1].matched ? m.str(1) : "0000") + ":" + m.str(2), ""});
        } else if (std::regex_match(line, m, bytes) && !out.empty()) {
            const std::size_t at = std::stoul(m.str(1), nullptr, 16);
            std::string& c = out.back().config;
            if (c.size() < at + 16) c.resize(at + 16, '\0');
            for (std::size_t i = 0; i < 16; ++i) c[at + i] = static_cast<char>(std::stoul(m.str(2).substr(3 * i + 1, 2), nullptr, 16));
        }
    }
    return out;
}

// One line of a `resource` file, as Linux writes it.
inline std::string resource_line(std::uint64_t start, std::uint64_t end, std::uint64_t flags) {
    char s[64];
    std::snprintf(s, sizeof s, "0x%016llx 0x%016llx 0x%016llx\n", static_cast<unsigned long long>(start),
                  static_cast<unsigned long long>(end), static_cast<unsigned long long>(flags));
    return s;
}

// What the test puts beside one function's `config`.
struct function_extras {
    std::string resource;                 // the file's text; not written when empty
    std::string driver;                   // the driver's name: a `driver` link when not empty
    std::optional<unsigned> iommu_group;  // an `iommu_group` link
};

// How the copy was made.
enum class copy_kind {
    // cp -a of /sys's files: bus/pci/devices/X are relative links to
    // devices/pci0000:00/X, which holds the files.
    links_relative,
    // The same with absolute links (/sys/devices/...), as some tools make them.
    links_absolute,
    // The files copied into bus/pci/devices/X itself (docs/import.md's
    // commands); the driver and group links dangle.
    directories,
};

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

// Writes a copy of /sys at `sysfs` holding the functions.
inline void write_sysfs(const std::filesystem::path& sysfs, const std::vector<dumped_function>& functions,
                        const std::map<std::string, function_extras>& extras, copy_kind kind) {
    namespace fs = std::filesystem;
    const fs::path devices = sysfs / "bus" / "pci" / "devices";
    fs::create_directories(devices);
    for (const dumped_function& f : functions) {
        const std::string host = "pci" + f.address.substr(0, 7);  // pci0000:00
        fs::path dir = devices / f.address;
        if (kind != copy_kind::directories) {
            dir = sysfs / "devices" / host / f.address;
            fs::create_directory_symlink(kind == copy_kind::links_relative ? fs::path("../../../devices") / host / f.address
                                                                           : fs::path("/sys/devices") / host / f.address,
                                         devices / f.address);
        }
        fs::create_directories(dir);
        write_file(dir / "config", f.config);
        const auto e = extras.find(f.address);
        if (e == extras.end()) continue;
        if (!e->second.resource.empty()) write_file(dir / "resource", e->second.resource);
        const std::string up = kind == copy_kind::directories ? "../../../../" : "../../../";
        if (!e->second.driver.empty()) fs::create_symlink(up + "bus/pci/drivers/" + e->second.driver, dir / "driver");
        if (e->second.iommu_group)
            fs::create_symlink(up + "kernel/iommu_groups/" + std::to_string(*e->second.iommu_group), dir / "iommu_group");
    }
}

} // namespace iotwin::test
