// Address Translation Services on the device side: the ATS Extended
// Capability (PCIe 5.0 7.8.3: ID 000Fh; capability register with Invalidate
// Queue Depth in bits 4:0 and Page Aligned Request in bit 5; control register
// with Smallest Translation Unit in bits 4:0 and Enable in bit 15; the same
// offsets as Linux 6.1 include/uapi/linux/pci_regs.h PCI_ATS_CAP / PCI_ATS_CTRL)
// and the Address Translation Cache a function keeps of the Translation
// Completions it received (PCIe 5.0 10.2.3 and 10.3).
//
// The cache is a plain class: entries are tagged by their untranslated range
// (STU-sized or larger, a power of two), hold the translated address and the
// R/W permissions, and are replaced first-in first-out when full. An
// Invalidate Request drops every entry overlapping its range (10.3.1: the
// range is the untranslated address with the S bit, the same encoding as a
// Translation Completion's size).
#pragma once
#include <cstdint>
#include <deque>
#include <optional>

namespace iotwin::pci {

namespace ats_reg {
constexpr std::uint32_t capability = 0x04, control = 0x06;
constexpr std::uint16_t CAP_QUEUE_DEPTH = 0x1f, CAP_PAGE_ALIGNED = 0x20;
constexpr std::uint16_t CTRL_STU = 0x1f, CTRL_ENABLE = 0x8000;
} // namespace ats_reg

// One translation as a device caches it.
struct atc_entry {
    std::uint64_t untranslated = 0;  // base of the untranslated range
    std::uint64_t size = 4096;       // bytes, a power of two >= 4 KiB
    std::uint64_t translated = 0;    // base of the translated range
    bool read = false, write = false;
};

class address_translation_cache {
public:
    explicit address_translation_cache(unsigned capacity = 64) : capacity_(capacity ? capacity : 1) {}
    // The entry covering `addr`, if any (counts a hit or a miss).
    std::optional<atc_entry> lookup(std::uint64_t addr);
    void insert(const atc_entry& e);
    // Drops the entries overlapping [addr, addr + size); returns how many.
    unsigned invalidate(std::uint64_t addr, std::uint64_t size);
    void clear() { entries_.clear(); }
    std::size_t size() const { return entries_.size(); }
    std::uint64_t hits() const { return hits_; }
    std::uint64_t misses() const { return misses_; }
    std::uint64_t evictions() const { return evictions_; }

private:
    unsigned capacity_;
    std::deque<atc_entry> entries_;  // oldest first
    std::uint64_t hits_ = 0, misses_ = 0, evictions_ = 0;
};

} // namespace iotwin::pci
