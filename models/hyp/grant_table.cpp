// The hypercall's dispatch and the shared entries (xen/common/grant_table.c:
// do_grant_table_op, shared_entry_v1/v2, status_entry, the union grant_combo
// compare-and-exchange). The operations are in grant_table_admin.cpp (the
// table itself, versions, transfer) and grant_table_map.cpp (mapping and
// copying grants).
#include "models/hyp/grant_table.h"

#include <cerrno>
#include <climits>
#include <cstring>

#include "models/hyp/hypervisor.h"

namespace iotwin::hyp::gnttab {

using sc_core::sc_time;

namespace {
constexpr unsigned GNTTABOP_CMD_MASK = (1u << 12) - 1;  // GNTTABOP_CMD_MASK
const std::pair<int, const char*> gntst_names[] = {
    {GNTST_okay, "GNTST_okay"},
    {GNTST_general_error, "GNTST_general_error"},
    {GNTST_bad_domain, "GNTST_bad_domain"},
    {GNTST_bad_gntref, "GNTST_bad_gntref"},
    {GNTST_bad_handle, "GNTST_bad_handle"},
    {GNTST_bad_virt_addr, "GNTST_bad_virt_addr"},
    {GNTST_bad_dev_addr, "GNTST_bad_dev_addr"},
    {GNTST_no_device_space, "GNTST_no_device_space"},
    {GNTST_permission_denied, "GNTST_permission_denied"},
    {GNTST_bad_page, "GNTST_bad_page"},
    {GNTST_bad_copy_arg, "GNTST_bad_copy_arg"},
    {GNTST_address_too_big, "GNTST_address_too_big"},
    {GNTST_eagain, "GNTST_eagain"},
    {GNTST_no_space, "GNTST_no_space"},
};
} // namespace

const char* gntst_name(int status) {
    for (const auto& [v, n] : gntst_names)
        if (v == status) return n;
    return "";
}

std::optional<int> gntst_value(const std::string& name) {
    for (const auto& [v, n] : gntst_names)
        if (name == n) return v;
    return std::nullopt;
}

table* grant_tables::find(domid_t dom) { return dom < tables_.size() ? &tables_[dom] : nullptr; }
const table* grant_tables::find(domid_t dom) const { return dom < tables_.size() ? &tables_[dom] : nullptr; }

long grant_tables::grant_table_op(hypercall& hc, sc_time& d) {
    // do_grant_table_op: a negative count, or opaque bits on anything but
    // cache_flush, is -EINVAL before anything is read.
    if (hc.count > unsigned(INT_MAX)) return -EINVAL;
    const unsigned cmd = hc.cmd & GNTTABOP_CMD_MASK;
    if ((hc.cmd & ~GNTTABOP_CMD_MASK) && cmd != GNTTABOP_cache_flush) return -EINVAL;
    // The batch must be readable where the guest says it is (guest_handle_okay).
    const bool batch_readable = hc.count == 0 || (hc.arg && hc.readable >= hc.count);
    const bool one_readable = hc.arg && hc.readable >= 1;
    switch (cmd) {
    case GNTTABOP_map_grant_ref:
        return batch_readable ? map_grant_ref(hc.caller, static_cast<gnttab::map_grant_ref*>(hc.arg), hc.count, d) : -EFAULT;
    case GNTTABOP_unmap_grant_ref:
        return batch_readable ? unmap_grant_ref(hc.caller, static_cast<gnttab::unmap_grant_ref*>(hc.arg), hc.count, d) : -EFAULT;
    case GNTTABOP_unmap_and_replace:
        return batch_readable ? unmap_and_replace(hc.caller, static_cast<gnttab::unmap_and_replace*>(hc.arg), hc.count, d) : -EFAULT;
    case GNTTABOP_setup_table:
        // Checks count itself (only 1 is valid) before reading.
        return setup_table(hc.caller, one_readable ? static_cast<gnttab::setup_table*>(hc.arg) : nullptr, hc.count, d);
    case GNTTABOP_dump_table:
        return dump_table(hc.caller, one_readable ? static_cast<gnttab::dump_table*>(hc.arg) : nullptr, hc.count, d);
    case GNTTABOP_transfer:
        return batch_readable ? transfer(hc.caller, static_cast<gnttab::transfer*>(hc.arg), hc.count, d) : -EFAULT;
    case GNTTABOP_copy:
        return batch_readable ? copy(hc.caller, static_cast<gnttab::copy*>(hc.arg), hc.count, d) : -EFAULT;
    case GNTTABOP_query_size:
        return query_size(hc.caller, one_readable ? static_cast<gnttab::query_size*>(hc.arg) : nullptr, hc.count, d);
    case GNTTABOP_set_version:
        return set_version(hc.caller, one_readable ? static_cast<gnttab::set_version*>(hc.arg) : nullptr, hc.count, d);
    case GNTTABOP_get_status_frames:
        return get_status_frames(hc.caller, one_readable ? static_cast<gnttab::get_status_frames*>(hc.arg) : nullptr, hc.count, d);
    case GNTTABOP_get_version:
        return get_version(hc.caller, one_readable ? static_cast<gnttab::get_version*>(hc.arg) : nullptr, hc.count, d);
    case GNTTABOP_swap_grant_ref:
        return batch_readable ? swap_grant_ref(hc.caller, static_cast<gnttab::swap_grant_ref*>(hc.arg), hc.count, d) : -EFAULT;
    default: return -ENOSYS;  // including cache_flush, which the model does not implement (docs/grant-tables.md)
    }
}

std::uint64_t grant_tables::entry_maddr(const table& t, grant_ref_t ref) const {
    const unsigned per = t.version == 1 ? v1_per_frame : v2_per_frame;
    const unsigned size = t.version == 1 ? v1_entry_size : v2_entry_size;
    return t.frames.at(ref / per) + std::uint64_t(ref % per) * size;
}

std::uint64_t grant_tables::status_maddr(const table& t, grant_ref_t ref) const {
    return t.status_frames.at(ref / status_per_frame) + std::uint64_t(ref % status_per_frame) * status_entry_size;
}

grant_tables::shared_entry grant_tables::read_entry(const table& t, grant_ref_t ref, sc_time& d) {
    std::uint8_t raw[v2_entry_size] = {};
    h_.read_machine(entry_maddr(t, ref), raw, t.version == 1 ? v1_entry_size : v2_entry_size, d);
    auto u16 = [&](unsigned o) { std::uint16_t v; std::memcpy(&v, raw + o, 2); return v; };
    auto u32 = [&](unsigned o) { std::uint32_t v; std::memcpy(&v, raw + o, 4); return v; };
    auto u64 = [&](unsigned o) { std::uint64_t v; std::memcpy(&v, raw + o, 8); return v; };
    shared_entry e;
    e.flags = u16(0);
    e.domid = u16(2);
    if (t.version == 1) {
        e.frame = u32(4);  // grant_entry_v1: flags, domid, uint32_t frame
        return e;
    }
    // grant_entry_v2 (a union after the 4-byte header):
    //   full_page: uint32_t pad0; uint64_t frame        (frame at 8)
    //   sub_page:  uint16_t page_off, length; uint64_t frame
    //   transitive: domid_t trans_domid; uint16_t pad0; grant_ref_t gref
    e.page_off = u16(4);
    e.length = u16(6);
    e.frame = u64(8);
    e.trans_domid = u16(4);
    e.trans_gref = u32(8);
    return e;
}

std::uint32_t grant_tables::read_header(const table& t, grant_ref_t ref, sc_time& d) {
    std::uint32_t w = 0;
    h_.read_machine(entry_maddr(t, ref), &w, 4, d);
    return w;
}

std::uint32_t grant_tables::cmpxchg_header(const table& t, grant_ref_t ref, std::uint32_t expected, std::uint32_t desired,
                                           sc_time& d) {
    // Read and conditional write with no wait() between them: no other
    // process (a vCPU step, a device's DMA) can interleave, as LOCK CMPXCHG.
    const std::uint32_t seen = read_header(t, ref, d);
    if (seen == expected) h_.write_machine(entry_maddr(t, ref), &desired, 4, d);
    return seen;
}

std::uint16_t grant_tables::status_flags(const table& t, grant_ref_t ref, sc_time& d) {
    std::uint16_t v = 0;
    h_.read_machine(t.version == 1 ? entry_maddr(t, ref) : status_maddr(t, ref), &v, 2, d);
    return v;
}

void grant_tables::set_status_flags(const table& t, grant_ref_t ref, std::uint16_t bits, sc_time& d) {
    // An atomic OR (Xen's gnttab_set_flag): read and write without a switch between.
    const std::uint64_t a = t.version == 1 ? entry_maddr(t, ref) : status_maddr(t, ref);
    std::uint16_t v = 0;
    h_.read_machine(a, &v, 2, d);
    v = static_cast<std::uint16_t>(v | bits);
    h_.write_machine(a, &v, 2, d);
}

void grant_tables::clear_status_flags(const table& t, grant_ref_t ref, std::uint16_t bits, sc_time& d) {
    const std::uint64_t a = t.version == 1 ? entry_maddr(t, ref) : status_maddr(t, ref);
    std::uint16_t v = 0;
    h_.read_machine(a, &v, 2, d);
    v = static_cast<std::uint16_t>(v & ~bits);
    h_.write_machine(a, &v, 2, d);
}

} // namespace iotwin::hyp::gnttab
