// /dev/xen/gntalloc (Linux drivers/xen/gntalloc.c): a process allocates
// pages of its kernel's memory, grants another domain access to them, and
// maps them into its own address space.
//
// Two versions, chosen per domain (`drivers: { gntalloc: { version } }`):
//  - original: the driver as first submitted to Linux (the xen-gntalloc
//    patch of 2010-2011), flaws included;
//  - current: today's upstream driver (Linux 6.x): unmap notification,
//    per-mapping reference counts (struct gntalloc_vma_private_data), grant
//    references returned to the pool, pages still mapped by the remote
//    domain handed to the grant-table layer's deferred list.
// docs/drivers/gntalloc.md lists what each version does and where the
// model departs from the real driver.
#pragma once
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "models/guest/file.h"
#include "models/guest/unmap_notify.h"
#include "models/guest/kernel.h"

namespace iotwin::guest {

// include/uapi/xen/gntalloc.h: _IOC(_IOC_NONE, 'G', nr, sizeof(struct ...)).
// struct ioctl_gntalloc_alloc_gref { u16 domid; u16 flags; u32 count; u64 index; u32 gref_ids[1]; } (24 bytes)
// struct ioctl_gntalloc_dealloc_gref { u64 index; u32 count; } (16 bytes)
// struct ioctl_gntalloc_unmap_notify { u64 index; u32 action; u32 event_channel_port; } (16 bytes)
constexpr unsigned long IOCTL_GNTALLOC_ALLOC_GREF = 0x184705, IOCTL_GNTALLOC_DEALLOC_GREF = 0x104706,
                        IOCTL_GNTALLOC_SET_UNMAP_NOTIFY = 0x104707;
constexpr std::uint64_t gntalloc_alloc_size = 24, gntalloc_gref_ids_offset = 16, gntalloc_dealloc_size = 16,
                        gntalloc_notify_size = 16;
constexpr std::uint32_t GNTALLOC_FLAG_WRITABLE = 1;
// The `limit` module parameter's default (module_param(limit, int, 0644)).
constexpr int gntalloc_default_limit = 1024;

// struct gntalloc_gref: one granted page.
struct gntalloc_gref {
    std::optional<std::uint64_t> page;  // the page's guest-physical address
    std::uint64_t file_index = 0;       // the mmap() offset of the page
    std::uint32_t users = 0;            // the file's reference plus one per mapping
    std::uint32_t gref_id = 0;          // grant_ref_t: unsigned
    struct {
        std::uint16_t pgoff = 0;  // 12 bits
        std::uint32_t flags = 0;  // UNMAP_NOTIFY_*
        std::uint32_t event = 0;
    } notify;
    // kfree()d. A stale pointer to it may remain on a file's list (the
    // original driver's reference-count flaws); the model keeps its fields as
    // freed memory would hold them until reused.
    bool freed = false;
};
using gntalloc_gref_ptr = std::shared_ptr<gntalloc_gref>;

// The module's globals in one kernel: gref_list, gref_size and (current) the
// grant-table layer's deferred list of pages still mapped elsewhere.
struct gntalloc_module {
    std::list<gntalloc_gref_ptr> gref_list;
    std::int32_t gref_size = 0;  // static int gref_size
    struct deferred_page {
        std::uint32_t ref;
        std::uint64_t gpa;
    };
    std::vector<deferred_page> deferred;  // gnttab_end_foreign_access's deferred entries
    std::map<std::uint32_t, int> evtchn_refs;  // evtchn_get references the notifications hold
};

class gntalloc : public file {
public:
    explicit gntalloc(kernel& k);
    std::string kind() const override { return "gntalloc"; }
    long ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) override;
    long mmap(process& p, vma& v, sc_core::sc_time& d) override;
    void release(sc_core::sc_time& d) override;

    // The module's state in kernel `k` (for tests and reports).
    static gntalloc_module& module(kernel& k) { return k.module_state<gntalloc_module>("gntalloc"); }
    // The `limit` module parameter as the driver reads it (an int).
    static int limit(const kernel& k);
    // __del_gref: the page leaves, or stays when the remote domain still maps it.
    static void del_gref(kernel& k, driver_version v, const gntalloc_gref_ptr& g, sc_core::sc_time& d);
    // Retries the deferred pages (current; the grant-table layer's timer in Linux).
    static void retry_deferred(kernel& k, sc_core::sc_time& d);

private:
    long alloc(process& p, std::uint64_t arg, sc_core::sc_time& d);
    long dealloc(process& p, std::uint64_t arg, sc_core::sc_time& d);
    long unmap_notify(process& p, std::uint64_t arg, sc_core::sc_time& d);
    // add_grefs: 0 or -errno; gref_ids gets the references.
    long add_grefs(std::uint16_t domid, std::uint32_t flags, std::uint32_t count, std::uint64_t index,
                   std::vector<std::uint32_t>& gref_ids, sc_core::sc_time& d);
    // find_grefs: the first of `count` grefs of this file at consecutive offsets from `index`.
    std::list<gntalloc_gref_ptr>::iterator find_grefs(std::uint64_t index, std::uint32_t count);
    void do_cleanup(sc_core::sc_time& d);
    // evtchn_get: a port bound by /dev/xen/evtchn in this kernel (0), else an error.
    bool evtchn_get(std::uint32_t port);

    kernel& k_;
    driver_version ver_;
    std::list<gntalloc_gref_ptr> list_;  // priv->list
    std::uint64_t index_ = 0;            // priv->index
};

} // namespace iotwin::guest
