// Interrupt remapping table entries (VT-d 3.x 9.10, remapped format, xAPIC
// destination mode) and the source-ID check of chapter 5.1.4 (Table "Interpretation
// of SVT/SQ"): plain functions over the two quadwords of an IRTE, used by the
// IOMMU to decode what it read and by tests and the host driver to build entries.
#pragma once
#include <cstdint>

#include "models/iommu/vtd.h"

namespace iotwin::iommu {

struct irte {
    bool present = false, fpd = false;
    bool logical = false;           // DM: destination mode
    bool redirection_hint = false;  // RH
    bool level = false;             // TM: trigger mode
    unsigned delivery_mode = 0;     // DLM
    std::uint8_t vector = 0;
    std::uint8_t destination = 0;   // xAPIC ID (DST bits 15:8)
    vtd::irte::svt svt = vtd::irte::svt::none;
    unsigned sq = 0;
    std::uint16_t sid = 0;

    static irte decode(std::uint64_t lo, std::uint64_t hi);
    std::uint64_t lo() const;
    std::uint64_t hi() const;
};

// A present entry's reserved fields (fault 0x24): the reserved bits of the
// xAPIC remapped format, IM (posted format: no ECAP.PI here) and SVT = 3.
bool irte_reserved(std::uint64_t lo, std::uint64_t hi);
// Whether `requester` may use the entry (SVT 0: anyone; 1: SID with the SQ
// function-bit mask; 2: bus in [SID 15:8, SID 7:0]). False: fault 0x26.
bool irte_source_ok(const irte& e, std::uint16_t requester);

} // namespace iotwin::iommu
