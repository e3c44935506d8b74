// The ACS and DMA-alias quirks that Linux gained after 6.1, as data.
//
// The twin groups functions exactly as Linux 6.1 does (platform/quirks.h).
// A real machine running a newer kernel may group differently because its
// drivers/pci/quirks.c knows devices that 6.1 does not; `iotwin import
// --compare` looks the differing functions up here to say so ("an ACS quirk
// for 8088:0103 added in Linux 6.3") instead of reporting an unexplained
// difference. Nothing here changes the twin's grouping.
//
// Range covered: Linux 6.2 up to 7.0. Read: drivers/pci/quirks.c of a
// Linux 6.18.y tree (pci_dev_acs_enabled[], the Intel PCH and Zhaoxin device
// lists, every DECLARE_PCI_FIXUP_* of a DMA-alias quirk), diffed against the
// 6.1 table in platform/quirks.cpp; the 7.0 additions come from the patches
// as applied to the PCI tree and their 6.19-stable backports. The version
// of each entry is the first mainline release carrying it, established from
// the maintainer's "applied ... for vX.Y" message or from the stable
// backports of the commit; several were also backported to 6.1.y stable
// kernels, so a 6.1.y machine may show them too (the comment at each entry
// says which).
#pragma once
#include <cstdint>
#include <vector>

namespace iotwin::platform {

struct newer_quirk {
    enum class kind_t { acs, dma_alias };

    static constexpr std::uint16_t any_device = 0xffff;

    std::uint16_t vendor;
    std::uint16_t device;       // first device ID matched; any_device: every device of the vendor
    std::uint16_t device_last;  // last device ID matched (== device for one ID); ignored for any_device
    const char* quirk;          // the Linux function the entry names
    kind_t kind;
    const char* linux_version;  // first mainline release with the entry, or "after 6.1" when not established
    const char* claim;          // what the quirk tells the kernel, in one line

    bool matches(std::uint16_t v, std::uint16_t d) const {
        return v == vendor && (device == any_device || (d >= device && d <= device_last));
    }
};

// The whole table, in the order of Linux's quirks.c (ACS entries, then
// DMA-alias entries).
const std::vector<newer_quirk>& newer_quirks();

// The entries matching vendor:device, in table order. A vendor's
// any-device entry ("any other Wangxun function") is left out when an entry
// of the same quirk names the device itself. Empty when no kernel newer than
// 6.1 has a quirk for it.
std::vector<const newer_quirk*> newer_quirks_for(std::uint16_t vendor, std::uint16_t device);

// "ACS" or "DMA alias", for messages.
const char* to_string(newer_quirk::kind_t kind);

} // namespace iotwin::platform
