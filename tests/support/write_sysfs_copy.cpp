// write_sysfs_copy DUMP DIR: writes DIR as a copy of a machine's /sys (the
// files copied into bus/pci/devices, as docs/import.md's commands make it)
// from a configuration-space dump (`lspci -xxxx` text), for the CLI tests of
// `iotwin import DIR`.
#include <filesystem>
#include <iostream>

#include "tests/support/sysfs_copy.h"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: write_sysfs_copy DUMP DIR\n";
        return 2;
    }
    try {
        std::filesystem::remove_all(argv[2]);
        iotwin::test::write_sysfs(argv[2], iotwin::test::read_dump(argv[1]), {}, iotwin::test::copy_kind::directories);
    } catch (const std::exception& e) {
        std::cerr << "write_sysfs_copy: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
