// The granting guest kernel's side of grant tables, as Linux's
// drivers/xen/grant-table.c does it: creating, ending and inspecting entries
// of the domain's own table by loads and stores through its own memory path
// (the table frames appear in its guest-physical space at
// domain::grant_frame_gfn(), v2 status frames at status_frame_gfn()).
//
// Entries are written in the header's order: the entry's other fields
// first, a write barrier, then the flags that make it valid. The guest knows
// its table's version and size (it chose the version and set the table up);
// the twin takes them from the hypervisor's record of its table.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <systemc>

#include "models/hyp/hypervisor.h"

namespace iotwin::guest {

class gnttab_guest {
public:
    gnttab_guest(hyp::hypervisor& h, hyp::domid_t self) : h_(h), self_(self) {}

    // Each returns 0 or an errno: EINVAL for a ref beyond the table,
    // EOPNOTSUPP for a v2-only kind on a v1 table, EFAULT when the table
    // frame cannot be reached through the domain's memory path.
    // `gfn` is the guest frame; a PV kernel writes its machine frame
    // (pfn_to_mfn through the P2M; ~0 when the pfn has none, as
    // INVALID_P2M_ENTRY), an HVM kernel the guest frame itself.
    int grant_access(std::uint32_t ref, hyp::domid_t domid, std::uint64_t gfn, bool readonly, sc_core::sc_time& d);
    int grant_access_subpage(std::uint32_t ref, hyp::domid_t domid, std::uint64_t gfn, std::uint16_t page_off,
                             std::uint16_t length, bool readonly, sc_core::sc_time& d);
    int grant_access_transitive(std::uint32_t ref, hyp::domid_t domid, hyp::domid_t trans_domid, std::uint32_t trans_gref,
                                sc_core::sc_time& d);
    // gnttab_grant_foreign_transfer_ref(): the entry accepts a page from
    // `domid` into the guest frame `pfn` (written as is, for both kinds).
    int grant_transfer(std::uint32_t ref, hyp::domid_t domid, std::uint64_t pfn, sc_core::sc_time& d);
    // gnttab_end_foreign_access_ref(): EBUSY while the hypervisor has the
    // grant mapped or is copying it (GTF_reading / GTF_writing).
    int end_access(std::uint32_t ref, sc_core::sc_time& d);
    // gnttab_end_foreign_transfer_ref(): the frame transferred (0 when no
    // transfer began, the entry then reclaimed). ETIMEDOUT for a transfer
    // committed that never completes (only a guest that forged the flags
    // gets there: Linux would spin forever).
    int end_transfer(std::uint32_t ref, std::uint64_t& frame, sc_core::sc_time& d);

    struct entry_view {
        unsigned version = 1;
        std::uint16_t flags = 0;
        hyp::domid_t domid = 0;
        std::uint64_t frame = 0;
        std::uint16_t status = 0;  // v2: the status-frame word
        std::uint16_t page_off = 0, length = 0;
        hyp::domid_t trans_domid = 0;
        std::uint32_t trans_gref = 0;
    };
    int entry(std::uint32_t ref, entry_view& out, sc_core::sc_time& d);

    // A misbehaving guest: raw fields in the header's order (the given
    // fields, a write barrier, then flags when given).
    struct raw_fields {
        std::optional<std::uint16_t> flags;
        std::optional<hyp::domid_t> domid;
        std::optional<std::uint64_t> frame;
        std::optional<std::uint16_t> page_off, length;
        std::optional<hyp::domid_t> trans_domid;
        std::optional<std::uint32_t> trans_gref;
    };
    int set_entry(std::uint32_t ref, const raw_fields& f, sc_core::sc_time& d);

    // "GTF_permit_access", "GTF_readonly", ...: the type, then the bits set.
    static std::vector<std::string> flag_names(std::uint16_t flags);

private:
    struct where {
        unsigned version;
        std::uint64_t gpa;         // the entry's header
        std::uint64_t status_gpa;  // v2: its status word
    };
    int locate(std::uint32_t ref, where& w);
    std::uint64_t machine_frame(std::uint64_t gfn);
    int load(std::uint64_t gpa, void* p, unsigned n, sc_core::sc_time& d);
    int store(std::uint64_t gpa, const void* p, unsigned n, sc_core::sc_time& d);
    int write_entry(std::uint32_t ref, bool v2_only, const raw_fields& f, sc_core::sc_time& d);

    hyp::hypervisor& h_;
    hyp::domid_t self_;
};

} // namespace iotwin::guest
