// gnttab: the grant table's own hypercalls (setup_table, dump_table,
// transfer, query_size, set_version, get_status_frames, get_version,
// swap_grant_ref) and the granting guest's side (entries written and read
// through the domain's memory path, models/guest/gnttab_guest.h).
#include <cerrno>
#include <limits>

#include "models/guest/gnttab_guest.h"
#include "platform/interfaces/gnttab_structs.h"
#include "platform/interfaces/interfaces.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

namespace {

namespace g = hyp::gnttab;
using gnttab_structs::batch_args;
using gnttab_structs::run_batch;
constexpr std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();

const std::vector<std::pair<std::string, std::uint64_t>>& gtf_names() {
    static const std::vector<std::pair<std::string, std::uint64_t>> n = {
        {"GTF_invalid", g::GTF_invalid},
        {"GTF_permit_access", g::GTF_permit_access},
        {"GTF_accept_transfer", g::GTF_accept_transfer},
        {"GTF_transitive", g::GTF_transitive},
        {"GTF_readonly", g::GTF_readonly},
        {"GTF_reading", g::GTF_reading},
        {"GTF_writing", g::GTF_writing},
        {"GTF_PWT", g::GTF_PWT},
        {"GTF_PCD", g::GTF_PCD},
        {"GTF_PAT", g::GTF_PAT},
        {"GTF_sub_page", g::GTF_sub_page},
        {"GTF_transfer_committed", g::GTF_transfer_committed},
        {"GTF_transfer_completed", g::GTF_transfer_completed},
    };
    return n;
}

guest::gnttab_guest kernel(step_context& c) { return guest::gnttab_guest(c.hyp(), c.actor().id); }

std::uint32_t ref_of(step_context& c) { return static_cast<std::uint32_t>(c.integer("ref")); }

void op_grant_access(step_context& c) {
    c.set_errno(kernel(c).grant_access(ref_of(c), c.domain("domid"), c.integer("frame"), c.boolean("readonly", false), c.delay));
}

void op_grant_access_subpage(step_context& c) {
    c.set_errno(kernel(c).grant_access_subpage(ref_of(c), c.domain("domid"), c.integer("frame"),
                                               static_cast<std::uint16_t>(c.integer("page_off")),
                                               static_cast<std::uint16_t>(c.integer("length")), c.boolean("readonly", false),
                                               c.delay));
}

void op_grant_access_transitive(step_context& c) {
    c.set_errno(kernel(c).grant_access_transitive(ref_of(c), c.domain("domid"), c.domain("trans_domid"),
                                                  static_cast<std::uint32_t>(c.integer("trans_gref")), c.delay));
}

void op_grant_transfer(step_context& c) {
    c.set_errno(kernel(c).grant_transfer(ref_of(c), c.domain("domid"), c.integer("frame", 0), c.delay));
}

void op_end_access(step_context& c) {
    (void)c.boolean("readonly", false);  // Linux no longer looks at it
    c.set_errno(kernel(c).end_access(ref_of(c), c.delay));
}

void op_end_transfer(step_context& c) {
    std::uint64_t frame = 0;
    const int e = kernel(c).end_transfer(ref_of(c), frame, c.delay);
    c.set_errno(e);
    if (!e) c.result()["frame"] = frame;
}

void op_entry(step_context& c) {
    guest::gnttab_guest::entry_view v;
    const int e = kernel(c).entry(ref_of(c), v, c.delay);
    c.set_errno(e);
    if (e) return;
    auto& r = c.result();
    r["flags"] = v.flags;
    r["flag_names"] = guest::gnttab_guest::flag_names(v.flags);
    r["domid"] = v.domid;
    if (v.version == 1) {
        r["frame"] = v.frame;
        return;
    }
    r["entry_status"] = v.status;
    switch (v.flags & g::GTF_type_mask) {
    case g::GTF_transitive:
        r["trans_domid"] = v.trans_domid;
        r["trans_gref"] = v.trans_gref;
        break;
    default:
        r["frame"] = v.frame;
        if (v.flags & g::GTF_sub_page) {
            r["page_off"] = v.page_off;
            r["length"] = v.length;
        }
        break;
    }
}

void op_set_entry(step_context& c) {
    guest::gnttab_guest::raw_fields f;
    if (c.has("flags")) f.flags = static_cast<std::uint16_t>(flags_value(c.args()["flags"], gtf_names()));
    if (c.has("domid")) f.domid = static_cast<hyp::domid_t>(c.integer("domid"));
    if (c.has("frame")) f.frame = c.integer("frame");
    if (c.has("page_off")) f.page_off = static_cast<std::uint16_t>(c.integer("page_off"));
    if (c.has("length")) f.length = static_cast<std::uint16_t>(c.integer("length"));
    if (c.has("trans_domid")) f.trans_domid = static_cast<hyp::domid_t>(c.integer("trans_domid"));
    if (c.has("trans_gref")) f.trans_gref = static_cast<std::uint32_t>(c.integer("trans_gref"));
    c.set_errno(kernel(c).set_entry(ref_of(c), f, c.delay));
}

std::vector<result_spec> with_ops(std::vector<result_spec> r) {
    r.insert(r.begin(), {"rc", result_type::text, "the hypercall's return: 0, or -ERRNO (-EINVAL, -EFAULT, ...)"});
    r.push_back({"ops", result_type::structure, "per operation of a batch (args.ops): these fields"});
    return r;
}

} // namespace

void register_gnttab(op_registry& r) {
    using t = arg_type;
    using rt = result_type;
    const std::string batch_errnos = "the hypercall's rc: EFAULT when the batch cannot be read";
    const std::string one_errnos = "EINVAL: a batch of other than one structure (Xen checks count); EFAULT: unreadable";

    r.add({"gnttab.setup_table", actor::domain, "GNTTABOP_setup_table: grow a table to nr_frames and list its frames",
           batch_args<g::setup_table>("gnttab_setup_table"),
           with_ops({{"status", rt::text, "GNTST_*: bad_domain, permission_denied (another domain, unprivileged), "
                                          "general_error (beyond max_frames, or growth failed)"},
                     {"frame_list", rt::structure, "machine frames (PV) or the guest frames where they appear (HVM)"}}),
           {}, {}, one_errnos},
          [](step_context& c) { run_batch<g::setup_table>(c, g::GNTTABOP_setup_table); });
    r.add({"gnttab.dump_table", actor::domain, "GNTTABOP_dump_table: not in current Xen (ENOSYS)",
           batch_args<g::dump_table>("gnttab_dump_table"), with_ops({{"status", rt::text, "GNTST_* (untouched)"}}), {}, {},
           "ENOSYS always: current Xen's do_grant_table_op has no such case"},
          [](step_context& c) { run_batch<g::dump_table>(c, g::GNTTABOP_dump_table); });
    r.add({"gnttab.transfer", actor::domain, "GNTTABOP_transfer: give pages away to grant entries that accept them",
           batch_args<g::transfer>("gnttab_transfer"),
           with_ops({{"status", rt::text, "GNTST_*: bad_page (not the caller's, shared or in use), general_error (HVM "
                                          "caller, receiver dying or without headroom, entry not accepting), bad_domain"}}),
           {}, {}, batch_errnos},
          [](step_context& c) { run_batch<g::transfer>(c, g::GNTTABOP_transfer); });
    r.add({"gnttab.query_size", actor::domain, "GNTTABOP_query_size: the table's frames and limit",
           batch_args<g::query_size>("gnttab_query_size"),
           with_ops({{"nr_frames", rt::integer, "frames in the table"},
                     {"max_nr_frames", rt::integer, "its max_frames"},
                     {"status", rt::text, "GNTST_*: bad_domain, permission_denied"}}),
           {}, {}, one_errnos},
          [](step_context& c) { run_batch<g::query_size>(c, g::GNTTABOP_query_size); });
    r.add({"gnttab.set_version", actor::domain, "GNTTABOP_set_version: switch the caller's table between v1 and v2",
           batch_args<g::set_version>("gnttab_set_version"), with_ops({{"version", rt::integer, "the version in force afterwards"}}),
           {}, {},
           "EINVAL: not 1 or 2; ENOSYS: 2 beyond max_version; EBUSY: entries past the 8 reserved ones in use; "
           "ERANGE: a reserved v2 entry v1 cannot hold; ENOMEM: status frames not allocated"},
          [](step_context& c) { run_batch<g::set_version>(c, g::GNTTABOP_set_version); });
    r.add({"gnttab.get_status_frames", actor::domain, "GNTTABOP_get_status_frames: a v2 table's status frames",
           batch_args<g::get_status_frames>("gnttab_get_status_frames"),
           with_ops({{"status", rt::text, "GNTST_*: general_error (more than it has: any on v1), bad_domain, permission_denied"},
                     {"frame_list", rt::structure, "machine frames (PV) or guest frames (HVM)"}}),
           {}, {}, one_errnos},
          [](step_context& c) { run_batch<g::get_status_frames>(c, g::GNTTABOP_get_status_frames); });
    r.add({"gnttab.get_version", actor::domain, "GNTTABOP_get_version: a table's version",
           batch_args<g::get_version>("gnttab_get_version"), with_ops({{"version", rt::integer, "1 or 2"}}), {}, {},
           "ESRCH: no such domain; EPERM: another domain, unprivileged"},
          [](step_context& c) { run_batch<g::get_version>(c, g::GNTTABOP_get_version); });
    r.add({"gnttab.swap_grant_ref", actor::domain, "GNTTABOP_swap_grant_ref: exchange two entries of the caller's table",
           batch_args<g::swap_grant_ref>("gnttab_swap_grant_ref"),
           with_ops({{"status", rt::text, "GNTST_*: bad_gntref (beyond the table), eagain (an entry in use)"}}), {}, {},
           batch_errnos},
          [](step_context& c) { run_batch<g::swap_grant_ref>(c, g::GNTTABOP_swap_grant_ref); });

    // The granting guest's side.
    const std::string entry_errnos =
        "EINVAL: ref beyond the table; EFAULT: the table frame unreachable through the domain's memory";
    const arg_spec ref{"ref", t::integer, true, "grant reference in the domain's own table", 0, u32_max};
    const arg_spec frame{"frame", t::integer, true, "guest frame granted (a PV kernel writes its machine frame)"};
    r.add({"gnttab.grant_access", actor::domain, "write a full-page access grant (gnttab_grant_foreign_access_ref)",
           {ref, {"domid", t::domain, true, "the domain granted access"}, frame,
            {"readonly", t::boolean, false, "GTF_readonly", 0, 1, "false"}},
           {}, {}, {}, entry_errnos},
          op_grant_access);
    r.add({"gnttab.grant_access_subpage", actor::domain, "write a v2 sub-page access grant",
           {ref, {"domid", t::domain, true, "the domain granted access"}, frame,
            {"page_off", t::integer, true, "first byte granted", 0, 0xffff},
            {"length", t::integer, true, "bytes granted", 0, 0xffff},
            {"readonly", t::boolean, false, "GTF_readonly", 0, 1, "false"}},
           {}, {}, {}, entry_errnos + "; EOPNOTSUPP: a v1 table"},
          op_grant_access_subpage);
    r.add({"gnttab.grant_access_transitive", actor::domain, "write a v2 transitive grant (passing on a grant received)",
           {ref, {"domid", t::domain, true, "the domain granted access"},
            {"trans_domid", t::domain, true, "the domain whose grant is passed on"},
            {"trans_gref", t::integer, true, "that grant's reference", 0, u32_max}},
           {}, {}, {}, entry_errnos + "; EOPNOTSUPP: a v1 table"},
          op_grant_access_transitive);
    r.add({"gnttab.grant_transfer", actor::domain, "make an entry accept a page transfer (gnttab_grant_foreign_transfer_ref)",
           {ref, {"domid", t::domain, true, "the domain that may transfer"},
            {"frame", t::integer, false, "guest frame where the page is to appear", 0, std::numeric_limits<std::uint64_t>::max(), "0"}},
           {}, {}, {}, entry_errnos},
          op_grant_transfer);
    r.add({"gnttab.end_access", actor::domain, "end an access grant (gnttab_end_foreign_access_ref)",
           {ref, {"readonly", t::boolean, false, "whether it was read-only (Linux ignores it)", 0, 1, "false"}}, {}, {}, {},
           entry_errnos + "; EBUSY: mapped or being copied (GTF_reading / GTF_writing)"},
          op_end_access);
    r.add({"gnttab.end_transfer", actor::domain, "end a transfer grant (gnttab_end_foreign_transfer_ref)", {ref},
           {{"frame", rt::integer, "the frame received (machine frame for PV, guest frame for HVM); 0 when none"}}, {}, {},
           entry_errnos + "; ETIMEDOUT: committed but never completed (forged flags)"},
          op_end_transfer);
    r.add({"gnttab.entry", actor::domain, "read an entry of the domain's own table", {ref},
           {{"flags", rt::integer, "the header's flags"},
            {"flag_names", rt::strings, "the type and the GTF_* bits set"},
            {"domid", rt::integer, "the domain the entry names"},
            {"frame", rt::integer, "v1, v2 full-page and sub-page: the frame"},
            {"entry_status", rt::integer, "v2: the status-frame word (GTF_reading / GTF_writing)"},
            {"page_off", rt::integer, "v2 sub-page"},
            {"length", rt::integer, "v2 sub-page"},
            {"trans_domid", rt::integer, "v2 transitive"},
            {"trans_gref", rt::integer, "v2 transitive"}},
           {}, {}, entry_errnos},
          op_entry);
    r.add({"gnttab.set_entry", actor::domain, "write raw fields of an entry, flags last (a misbehaving guest)",
           {ref, flags_arg("flags", false, "GTF_* names or an integer", gtf_names(), 0xffff),
            {"domid", t::integer, false, "raw domid", 0, 0xffff},
            {"frame", t::integer, false, "raw frame (32 bits in v1)"},
            {"page_off", t::integer, false, "v2 sub_page.page_off", 0, 0xffff},
            {"length", t::integer, false, "v2 sub_page.length", 0, 0xffff},
            {"trans_domid", t::integer, false, "v2 transitive.trans_domid", 0, 0xffff},
            {"trans_gref", t::integer, false, "v2 transitive.gref", 0, u32_max}},
           {}, {}, {}, entry_errnos},
          op_set_entry);
}

} // namespace iotwin::platform::interfaces
