// Primary fault logging (VT-d 3.x section 7.2.1): a ring of fault recording
// registers. A fault goes to the next register of the ring if that
// register's F bit is clear; otherwise Primary Fault Overflow is set and the
// fault is dropped. While PFO is set no fault is recorded, until software
// clears it (write 1). Software clears F by writing 1. FSTS.FRI names the
// register of the first pending fault (the one recorded while PPF was clear),
// where software starts scanning (VT-d 3.x 11.4.9.1). A plain class.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/iommu/vtd.h"

namespace iotwin::iommu {

struct fault_record {
    fault_record() = default;
    fault_record(std::uint16_t s, std::uint64_t a, vtd::fault_reason r, bool rd, std::optional<std::uint32_t> p = std::nullopt)
        : sid(s), address(a), reason(r), read(rd), pasid(p) {}
    std::uint16_t sid = 0;        // requester ID
    // Faulting address (page-aligned in the register); for an interrupt
    // remapping fault, the interrupt_index in bits 63:48 (FI, VT-d 3.x 11.4.14).
    std::uint64_t address = 0;
    vtd::fault_reason reason = vtd::fault_reason::context_not_present;
    bool read = false;            // T: 1 read, 0 write
    std::optional<std::uint32_t> pasid;  // the request's PASID (PV and PASID value of the record)
};

// The line Linux 6.1 logs for a fault it reads from a recording register
// (drivers/iommu/intel/dmar.c, dmar_fault_do_one, with pr_fmt "DMAR: "):
// "DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0x300000
// [fault reason 0x05] PTE Write access is not set", and for an interrupt
// remapping reason (0x20-0x26) "DMAR: [INTR-REMAP] Request device [01:00.0]
// fault index 0x3 [fault reason 0x26] Blocked an interrupt request due to
// source-id verification failure".
std::string dmar_log_line(const fault_record& f);
// The text Linux 6.1 gives a reason (dmar_get_fault_reason): "Unknown" for a
// code its tables do not name.
const char* linux_fault_reason(unsigned reason);
// A record as software reads it from the register pair (the inverse of
// fault_recorder::low/high).
fault_record decode_record(std::uint64_t low, std::uint64_t high);

class fault_recorder {
public:
    explicit fault_recorder(unsigned records) : regs_(records) {}
    // Returns true when the fault was recorded, false on overflow.
    bool record(const fault_record& f);
    // Register view: the low and high quadwords of recording register i.
    std::uint64_t low(unsigned i) const;
    std::uint64_t high(unsigned i) const;
    void clear(unsigned i) { regs_[i].valid = false; }
    std::uint32_t status() const;  // FSTS: PFO, PPF, FRI
    bool pending() const;          // any fault recorded and not cleared (FSTS.PPF)
    void clear_overflow() { overflow_ = false; }
    bool overflow() const { return overflow_; }
    unsigned size() const { return static_cast<unsigned>(regs_.size()); }

private:
    struct slot { bool valid = false; fault_record f; };
    std::vector<slot> regs_;
    unsigned index_ = 0;  // where the next fault goes (the hardware's internal index)
    unsigned fri_ = 0;    // FSTS.FRI: the register of the fault that set PPF
    bool overflow_ = false;
};

} // namespace iotwin::iommu
