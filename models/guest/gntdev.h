// /dev/xen/gntdev (Linux drivers/xen/gntdev.c): a process maps pages other
// domains granted to its domain. Two versions, selected per domain:
//
// - original: Linux 2.6.38's gntdev, the first upstream one. A per-file
//   `limit` (module parameter, default 1024; IOCTL_GNTDEV_SET_MAX_GRANTS
//   lowers or raises it up to the module's), one VMA per map, grants mapped
//   at mmap and unmapped by the MMU notifier when the pages go, no unmap
//   notification and no grant copy. Its flaws are kept (docs/drivers/gntdev.md).
// - current: today's driver (Linux 6.x): a per-request `limit` (default
//   65536), reference-counted maps whose grants stay mapped until the last
//   user (the map list, each VMA) lets go, IOCTL_GNTDEV_SET_UNMAP_NOTIFY and
//   IOCTL_GNTDEV_GRANT_COPY; SET_MAX_GRANTS is gone (ENOTTY).
//
// Grants are mapped with GNTTABOP_map_grant_ref and GNTMAP_host_map at
// guest-physical pages without RAM (kernel::alloc_unpopulated), and those
// pages back the process's VMA. For a PV domain the real driver maps the
// user PTEs (GNTMAP_contains_pte) and, today, the kernel's alias too; the
// twin has no page tables and makes the one host_map mapping (the
// hypervisor's own departure, docs/grant-tables.md). Whether the driver
// behaves as on PV (`use_ptemod`: one VMA per map, VM_DONTCOPY, grants
// unmapped when the pages go) or as on an auto-translated guest (several
// VMAs per map, grants unmapped when the map's last user goes) follows the
// domain's type, as gntdev_init() reads XENFEAT_auto_translated_physmap.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "models/guest/file.h"
#include "models/guest/unmap_notify.h"
#include "models/guest/kernel.h"
#include "models/guest/process.h"

namespace iotwin::guest {

// include/uapi/xen/gntdev.h: _IOC(_IOC_NONE, 'G', nr, sizeof(struct ...)).
constexpr unsigned long IOCTL_GNTDEV_MAP_GRANT_REF = 0x184700,        // struct ioctl_gntdev_map_grant_ref (24)
                        IOCTL_GNTDEV_UNMAP_GRANT_REF = 0x104701,      // struct ioctl_gntdev_unmap_grant_ref (16)
                        IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR = 0x184702, // struct ioctl_gntdev_get_offset_for_vaddr (24)
                        IOCTL_GNTDEV_SET_MAX_GRANTS = 0x44703,        // struct ioctl_gntdev_set_max_grants (4)
                        IOCTL_GNTDEV_SET_UNMAP_NOTIFY = 0x104707,     // struct ioctl_gntdev_unmap_notify (16)
                        IOCTL_GNTDEV_GRANT_COPY = 0x104708;           // struct ioctl_gntdev_grant_copy (16)
// Layouts (little-endian, x86-64): map_grant_ref { u32 count, pad; u64 index;
// { u32 domid, ref } refs[] at 16 }; unmap_grant_ref { u64 index; u32 count, pad };
// get_offset_for_vaddr { u64 vaddr, offset; u32 count, pad }; set_max_grants
// { u32 count }; unmap_notify { u64 index; u32 action, event_channel_port };
// grant_copy { u32 count, pad; u64 segments }; gntdev_grant_copy_segment
// { union { u64 virt; { u32 ref; u16 offset; u16 domid } foreign } source at 0,
// dest at 8; u16 len at 16, flags at 18; s16 status at 20 } (24 bytes).
constexpr std::uint64_t gntdev_copy_segment_size = 24;

// The module parameter's default: 1024 grants per file (2.6.38), 65536 per request (today).
std::uint64_t gntdev_default_limit(driver_version v);

// struct grant_map (2.6.38) / struct gntdev_grant_map (today).
struct gntdev_grant_map {
    static constexpr std::int64_t no_handle = -1;
    int index = 0;  // in pages: the mmap offset is index << PAGE_SHIFT
    int count = 0;
    std::uint32_t flags = 0;  // GNTMAP_* fixed by the first mmap (0 before)
    struct grant { std::uint32_t domid = 0, ref = 0; };
    std::vector<grant> grants;
    std::vector<std::uint64_t> pages;    // where each grant is mapped (unpopulated gpa); page_slot::none when none
    std::vector<std::int64_t> handles;   // the unmap handle; today -1 when not mapped, 2.6.38 uses 0 for that
    long users = 1;                      // today's refcount: the map list and each VMA
    bool in_list = true;
    // map->vma: set while a VMA at [vma_start, vma_end) holds the map.
    bool has_vma = false;
    std::uint64_t vma_start = 0, vma_end = 0;
    bool is_mapped = false;  // 2.6.38: the MMU notifier only unmaps maps marked mapped
    struct { std::uint32_t flags = 0; std::uint64_t addr = 0; std::uint32_t event = 0; } notify;
};

class gntdev : public file {
public:
    explicit gntdev(kernel& k);
    // 2.6.38's priv->mm: the address space of the process that opened the
    // file (set by gntdev.open; a file opened otherwise takes the first
    // process that uses it).
    void set_owner(int pid) {
        if (!mm_pid_) mm_pid_ = pid;
    }
    std::string kind() const override { return "gntdev"; }
    long ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) override;
    long mmap(process& p, vma& v, sc_core::sc_time& d) override;
    void release(sc_core::sc_time& d) override;

    bool original() const { return version_ == driver_version::original; }
    // The VMA `v` of a map goes (vm_ops->close, after the MMU notifier's invalidation).
    void vma_close(vma& v, sc_core::sc_time& d);
    void vma_open(vma& v);

private:
    using map_ref = std::shared_ptr<gntdev_grant_map>;
    long map_grant_ref(process& p, std::uint64_t u, sc_core::sc_time& d);
    long unmap_grant_ref(process& p, std::uint64_t u, sc_core::sc_time& d);
    long get_offset_for_vaddr(process& p, std::uint64_t u, sc_core::sc_time& d);
    long set_max_grants(process& p, std::uint64_t u, sc_core::sc_time& d);
    long set_unmap_notify(process& p, std::uint64_t u, sc_core::sc_time& d);
    long grant_copy(process& p, std::uint64_t u, sc_core::sc_time& d);

    map_ref alloc_map(int count, sc_core::sc_time& d);
    void free_map(gntdev_grant_map& m);
    void add_map(const map_ref& m);
    map_ref find_map_index(int index, int count) const;
    void remove(const map_ref& m);
    void put_map(const map_ref& m, sc_core::sc_time& d);
    int del_map_original(const map_ref& m);
    long map_grant_pages(gntdev_grant_map& m, sc_core::sc_time& d);
    long unmap_grant_pages(gntdev_grant_map& m, int offset, int pages, sc_core::sc_time& d);

    kernel& k_;
    driver_version version_;
    bool use_ptemod_;
    std::uint64_t module_limit_;
    std::uint64_t limit_;      // 2.6.38: priv->limit
    std::uint64_t used_ = 0;   // 2.6.38: priv->used
    int mm_pid_ = 0;           // 2.6.38: priv->mm, the opener's address space (0: not yet known)
    std::list<map_ref> maps_;  // by index
};

} // namespace iotwin::guest
