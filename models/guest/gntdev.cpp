#include "models/guest/gntdev.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "models/hyp/event_channel.h"
#include "models/hyp/grant_table.h"
#include "models/hyp/hypervisor.h"

namespace iotwin::guest {

using sc_core::sc_time;
namespace g = hyp::gnttab;

namespace {

// The vm_operations_struct of a gntdev mapping (gntdev_vmops): also what
// GET_OFFSET_FOR_VADDR compares a VMA's vm_ops with.
struct gntdev_vm_ops : vm_ops {
    void open(vma& v) override {
        if (auto* f = dynamic_cast<gntdev*>(v.file.get())) f->vma_open(v);
    }
    void close(vma& v, sc_time& d) override {
        if (auto* f = dynamic_cast<gntdev*>(v.file.get())) f->vma_close(v, d);
    }
};

const std::shared_ptr<vm_ops>& the_vm_ops() {
    static const std::shared_ptr<vm_ops> ops = std::make_shared<gntdev_vm_ops>();
    return ops;
}

std::uint64_t le(const std::uint8_t* b, unsigned n) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= std::uint64_t(b[i]) << (8 * i);
    return v;
}
void put_le(std::uint8_t* b, std::uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

constexpr hyp::domid_t domid_self = 0x7ff0;
constexpr unsigned copy_batch = 16;  // GNTDEV_COPY_BATCH

}  // namespace

std::uint64_t gntdev_default_limit(driver_version v) {
    // 2.6.38: `static int limit = 1024`, per file; today: `limit = 64*1024`, per request.
    return v == driver_version::original ? 1024 : 64 * 1024;
}

gntdev::gntdev(kernel& k)
    : k_(k), version_(k.driver("gntdev").version), use_ptemod_(!k.domain().translated()) {
    module_limit_ = k.driver("gntdev").limit.value_or(gntdev_default_limit(version_));
    limit_ = module_limit_;  // gntdev_open (2.6.38): priv->limit = limit
    // 2.6.38's gntdev only runs on PV guests (HVM support came in 2.6.39): it always uses the notifier.
    if (original()) use_ptemod_ = true;
}

// ---- maps ----

gntdev::map_ref gntdev::alloc_map(int count, sc_time& d) {
    // gntdev_alloc_map: the structures (kzalloc), and today the pages the
    // grants will be mapped at (gnttab_alloc_pages: unpopulated pages).
    if (k_.hyp().allocation_fails()) return nullptr;
    // The twin's bound on one map (a scenario may raise `limit` past what kvcalloc would give).
    if (count > (1 << 20)) return nullptr;
    auto m = std::make_shared<gntdev_grant_map>();
    m->count = count;
    m->grants.resize(static_cast<std::size_t>(count));
    m->pages.assign(static_cast<std::size_t>(count), page_slot::none);
    m->handles.assign(static_cast<std::size_t>(count), original() ? 0 : gntdev_grant_map::no_handle);
    if (original()) {
        // 2.6.38 checks the per-file limit here, and fails as an allocation would (ENOMEM).
        if (std::uint64_t(count) + used_ > limit_) return nullptr;
        return m;
    }
    for (auto& pg : m->pages) {
        const auto gpa = k_.alloc_unpopulated(d);
        if (!gpa) {
            free_map(*m);
            return nullptr;
        }
        pg = *gpa;
    }
    return m;
}

void gntdev::free_map(gntdev_grant_map& m) {
    for (auto& pg : m.pages)
        if (pg != page_slot::none) {
            k_.free_unpopulated(pg);
            pg = page_slot::none;
        }
}

void gntdev::add_map(const map_ref& add) {
    // gntdev_add_map: the first gap in the index space (in pages) that holds it.
    add->index = 0;
    auto it = maps_.begin();
    for (; it != maps_.end(); ++it) {
        if (add->index + add->count < (*it)->index) break;
        add->index = (*it)->index + (*it)->count;
    }
    maps_.insert(it, add);
    add->in_list = true;
    if (original()) used_ += static_cast<std::uint64_t>(add->count);
}

gntdev::map_ref gntdev::find_map_index(int index, int count) const {
    // gntdev_find_map_index: 2.6.38 wants the count to match; today 0 matches any.
    for (const auto& m : maps_) {
        if (m->index != index) continue;
        if ((original() || count) && m->count != count) continue;
        return m;
    }
    return nullptr;
}

void gntdev::remove(const map_ref& m) {
    maps_.remove(m);
    m->in_list = false;
}

int gntdev::del_map_original(const map_ref& m) {
    // gntdev_del_map (2.6.38): busy while a VMA holds it or any handle is
    // non-zero (0 is its "not mapped", although Xen hands out handle 0).
    if (m->has_vma) return -EBUSY;
    for (std::int64_t h : m->handles)
        if (h) return -EBUSY;
    used_ -= static_cast<std::uint64_t>(m->count);
    remove(m);
    return 0;
}

void gntdev::put_map(const map_ref& m, sc_time& d) {
    // gntdev_put_map (today): the last user sends the notification event,
    // unmaps what the VMAs did not (auto-translated guests) and frees.
    if (--m->users > 0) return;
    if (m->notify.flags & UNMAP_NOTIFY_SEND_EVENT) k_.evtchn_send(m->notify.event, d);  // notify_remote_via_evtchn: unchecked
    if (!use_ptemod_) unmap_grant_pages(*m, 0, m->count, d);
    free_map(*m);
}

long gntdev::map_grant_pages(gntdev_grant_map& m, sc_time& d) {
    // map_grant_pages / gntdev_map_grant_pages.
    if (!original() && !use_ptemod_ && m.handles[0] != gntdev_grant_map::no_handle) return 0;  // mapped already
    std::vector<g::map_grant_ref> ops(static_cast<std::size_t>(m.count));
    for (std::size_t i = 0; i < ops.size(); ++i) {
        ops[i].host_addr = m.pages[i];
        ops[i].flags = m.flags;
        ops[i].ref = m.grants[i].ref;
        ops[i].dom = static_cast<hyp::domid_t>(m.grants[i].domid);
        // A failed operation leaves the handle the kernel put there: 0 in
        // 2.6.38's kzalloc'd ops, -1 today.
        ops[i].handle = static_cast<g::grant_handle_t>(original() ? 0 : -1);
    }
    const long rc = k_.hypercall(hyp::HYPERVISOR_grant_table_op, g::GNTTABOP_map_grant_ref, ops.data(),
                                 static_cast<std::uint32_t>(ops.size()), d);
    if (rc) return rc;
    long err = 0;
    for (std::size_t i = 0; i < ops.size(); ++i) {
        // Any failed grant fails the whole call with EINVAL; 2.6.38 records
        // every handle, today only the successful ones.
        if (ops[i].status != g::GNTST_okay) {
            err = -EINVAL;
            if (!original()) continue;
        }
        m.handles[i] = ops[i].handle;
    }
    return err;
}

long gntdev::unmap_grant_pages(gntdev_grant_map& m, int offset, int pages, sc_time& d) {
    if (offset < 0 || pages <= 0 || offset + pages > m.count) return 0;
    // The unmap notification's byte is cleared, through the mapping, before
    // the page that holds it is unmapped (__unmap_grant_pages).
    if (m.notify.flags & UNMAP_NOTIFY_CLEAR_BYTE) {
        const auto pgno = static_cast<int>(m.notify.addr / page_size);
        if (pgno >= offset && pgno < offset + pages && m.pages[static_cast<std::size_t>(pgno)] != page_slot::none) {
            std::uint8_t zero = 0;
            k_.access(true, m.pages[static_cast<std::size_t>(pgno)] + m.notify.addr % page_size, &zero, 1, d);
            m.notify.flags &= ~UNMAP_NOTIFY_CLEAR_BYTE;
        }
    }
    std::vector<g::unmap_grant_ref> ops;
    std::vector<int> which;
    for (int i = offset; i < offset + pages; ++i) {
        const auto idx = static_cast<std::size_t>(i);
        // Today's unmap_grant_pages skips the holes (handle -1); 2.6.38
        // unmaps the whole range with whatever handle is there.
        if (!original() && m.handles[idx] == gntdev_grant_map::no_handle) continue;
        g::unmap_grant_ref u;
        u.host_addr = m.pages[idx];
        u.handle = static_cast<g::grant_handle_t>(m.handles[idx]);
        ops.push_back(u);
        which.push_back(i);
    }
    if (ops.empty()) return 0;
    const long rc = k_.hypercall(hyp::HYPERVISOR_grant_table_op, g::GNTTABOP_unmap_grant_ref, ops.data(),
                                 static_cast<std::uint32_t>(ops.size()), d);
    if (rc) return rc;
    long err = 0;
    for (std::size_t j = 0; j < ops.size(); ++j) {
        if (ops[j].status != g::GNTST_okay) err = -EINVAL;
        m.handles[static_cast<std::size_t>(which[j])] = original() ? 0 : gntdev_grant_map::no_handle;
    }
    return err;
}

// ---- file operations ----

long gntdev::ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_time& d) {
    set_owner(p.pid());
    switch (cmd) {
    case IOCTL_GNTDEV_MAP_GRANT_REF: return map_grant_ref(p, arg, d);
    case IOCTL_GNTDEV_UNMAP_GRANT_REF: return unmap_grant_ref(p, arg, d);
    case IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR: return get_offset_for_vaddr(p, arg, d);
    case IOCTL_GNTDEV_SET_MAX_GRANTS:
        if (original()) return set_max_grants(p, arg, d);
        break;
    case IOCTL_GNTDEV_SET_UNMAP_NOTIFY:
        if (!original()) return set_unmap_notify(p, arg, d);
        break;
    case IOCTL_GNTDEV_GRANT_COPY:
        if (!original()) return grant_copy(p, arg, d);
        break;
    default: break;
    }
    // gntdev_ioctl's default is -ENOIOCTLCMD, which vfs_ioctl turned into
    // -EINVAL in 2.6.38 and into -ENOTTY since Linux 3.3 (fs/ioctl.c).
    return original() ? -EINVAL : -ENOTTY;
}

long gntdev::map_grant_ref(process& p, std::uint64_t u, sc_time& d) {
    std::uint8_t op[24] = {};
    if (p.copy_from_user(op, u, sizeof op, d)) return -EFAULT;
    const auto count = static_cast<std::uint32_t>(le(op, 4));
    // op.count is unsigned: `op.count <= 0` (2.6.38) and gntdev_test_page_count (today) catch 0 and > limit.
    if (count == 0) return -EINVAL;
    if (count > (original() ? limit_ : module_limit_)) return -EINVAL;
    map_ref m = alloc_map(static_cast<int>(count), d);
    if (!m) return -ENOMEM;
    std::vector<std::uint8_t> refs(std::size_t(count) * 8);
    if (p.copy_from_user(refs.data(), u + 16, refs.size(), d)) {
        // 2.6.38 returns the ENOMEM it had in `err`; today EFAULT.
        free_map(*m);
        return original() ? -ENOMEM : -EFAULT;
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        m->grants[i].domid = static_cast<std::uint32_t>(le(&refs[8 * i], 4));
        m->grants[i].ref = static_cast<std::uint32_t>(le(&refs[8 * i + 4], 4));
    }
    add_map(m);
    put_le(op + 8, std::uint64_t(static_cast<std::uint32_t>(m->index)) << 12, 8);
    if (p.copy_to_user(u, op, sizeof op, d)) {
        if (original()) {
            // The map is taken back, and the ENOMEM in `err` returned.
            del_map_original(m);
            return -ENOMEM;
        }
        return -EFAULT;  // today the map stays, at an index the caller never learnt
    }
    return 0;
}

long gntdev::unmap_grant_ref(process& p, std::uint64_t u, sc_time& d) {
    std::uint8_t op[16] = {};
    if (p.copy_from_user(op, u, sizeof op, d)) return -EFAULT;
    // `op.index >> PAGE_SHIFT` passed as an int.
    const auto index = static_cast<int>(static_cast<std::uint32_t>(le(op, 8) >> 12));
    const auto count = static_cast<int>(static_cast<std::uint32_t>(le(op + 8, 4)));
    map_ref m = find_map_index(index, count);
    if (!m) return -ENOENT;
    if (original()) {
        const int e = del_map_original(m);
        if (!e) free_map(*m);
        return e;
    }
    // Today the map leaves the list at once; its grants go when the last VMA does.
    remove(m);
    put_map(m, d);
    return 0;
}

long gntdev::get_offset_for_vaddr(process& p, std::uint64_t u, sc_time& d) {
    std::uint8_t op[24] = {};
    if (p.copy_from_user(op, u, sizeof op, d)) return -EFAULT;
    const std::uint64_t vaddr = le(op, 8);
    std::shared_ptr<gntdev_grant_map> m;
    if (original()) {
        // gntdev_find_map_vaddr: a map of this file whose VMA holds vaddr, and starts there.
        for (const auto& x : maps_)
            if (x->has_vma && vaddr >= x->vma_start && vaddr < x->vma_end) {
                if (x->vma_start == vaddr) m = x;
                break;
            }
    } else {
        // find_vma(): the first VMA that ends above vaddr (which may start
        // above it), if it is a gntdev mapping of any gntdev file.
        for (const auto& [start, v] : p.vmas()) {
            if (v.end <= vaddr) continue;
            if (v.ops == the_vm_ops()) m = std::static_pointer_cast<gntdev_grant_map>(v.private_data);
            break;
        }
    }
    if (!m) return -EINVAL;
    put_le(op + 8, std::uint64_t(static_cast<std::uint32_t>(m->index)) << 12, 8);
    put_le(op + 16, static_cast<std::uint32_t>(m->count), 4);
    if (p.copy_to_user(u, op, sizeof op, d)) return -EFAULT;
    return 0;
}

long gntdev::set_max_grants(process& p, std::uint64_t u, sc_time& d) {
    std::uint8_t op[4] = {};
    if (p.copy_from_user(op, u, sizeof op, d)) return -EFAULT;
    const std::uint64_t count = le(op, 4);
    if (count > module_limit_) return -E2BIG;
    limit_ = count;  // below what the file already maps: later maps fail, nothing is taken back
    return 0;
}

long gntdev::set_unmap_notify(process& p, std::uint64_t u, sc_time& d) {
    // gntdev_ioctl_notify.
    std::uint8_t op[16] = {};
    if (p.copy_from_user(op, u, sizeof op, d)) return -EFAULT;
    const std::uint64_t index = le(op, 8);
    const auto action = static_cast<std::uint32_t>(le(op + 8, 4));
    const auto port = static_cast<std::uint32_t>(le(op + 12, 4));
    if (action & ~(UNMAP_NOTIFY_CLEAR_BYTE | UNMAP_NOTIFY_SEND_EVENT)) return -EINVAL;
    // evtchn_get(): the port must be bound in this kernel to a reference-counted
    // (user) binding; any failure is EINVAL here.
    if ((action & UNMAP_NOTIFY_SEND_EVENT) &&
        (port >= hyp::shared_info_layout::nr_channels || !k_.port_bound(port)))
        return -EINVAL;
    for (const auto& m : maps_) {
        const std::uint64_t begin = std::uint64_t(static_cast<std::uint32_t>(m->index)) << 12;
        const std::uint64_t end = std::uint64_t(static_cast<std::uint32_t>(m->index + m->count)) << 12;
        if (index < begin || index >= end) continue;
        if ((action & UNMAP_NOTIFY_CLEAR_BYTE) && (m->flags & g::GNTMAP_readonly)) return -EINVAL;
        m->notify.flags = action;
        m->notify.addr = index - begin;
        m->notify.event = port;
        return 0;
    }
    return -ENOENT;
}

long gntdev::grant_copy(process& p, std::uint64_t u, sc_time& d) {
    // gntdev_ioctl_grant_copy: segments in order, their operations issued in
    // batches of 16; a segment's status is the first failure of its operations.
    std::uint8_t hdr[16] = {};
    if (p.copy_from_user(hdr, u, sizeof hdr, d)) return -EFAULT;
    const auto count = static_cast<std::uint32_t>(le(hdr, 4));
    const std::uint64_t segs = le(hdr + 8, 8);
    std::vector<g::copy> batch;
    std::vector<std::uint64_t> status_at;
    const auto flush = [&]() -> long {
        if (batch.empty()) return 0;
        const long rc = k_.hypercall(hyp::HYPERVISOR_grant_table_op, g::GNTTABOP_copy, batch.data(),
                                     static_cast<std::uint32_t>(batch.size()), d);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            // gnttab_batch_copy BUG()s on a failed hypercall; the twin reports it per operation.
            const std::int16_t st = rc ? static_cast<std::int16_t>(g::GNTST_general_error) : batch[i].status;
            if (st == g::GNTST_okay) continue;
            std::uint8_t old[2] = {};
            if (p.copy_from_user(old, status_at[i], 2, d)) return -EFAULT;
            if (le(old, 2) != 0) continue;
            put_le(old, static_cast<std::uint16_t>(st), 2);
            if (p.copy_to_user(status_at[i], old, 2, d)) return -EFAULT;
        }
        batch.clear();
        status_at.clear();
        return 0;
    };
    // get_user_pages_fast(): the page behind a user address, writable when asked; its frame as Xen reads it.
    const auto user_frame = [&](std::uint64_t virt, bool write, std::uint64_t& gfn) -> bool {
        const vma* v = p.find_vma(virt);
        const auto gpa = p.user_gpa(virt);
        if (!v || !gpa || (write && !(v->prot & PROT_WRITE))) return false;
        const hyp::domain& dom = k_.domain();
        if (dom.translated()) {
            gfn = *gpa / page_size;
        } else {
            const auto m = dom.to_machine(*gpa & ~(page_size - 1), page_size);
            if (!m) return false;
            gfn = *m / page_size;
        }
        return true;
    };
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint64_t at = segs + std::uint64_t(i) * gntdev_copy_segment_size;
        std::uint8_t s[gntdev_copy_segment_size] = {};
        if (p.copy_from_user(s, at, sizeof s, d)) return -EFAULT;
        const auto len = static_cast<std::uint16_t>(le(s + 16, 2));
        const auto flags = static_cast<std::uint16_t>(le(s + 18, 2));
        const bool src_gref = flags & g::GNTCOPY_source_gref, dst_gref = flags & g::GNTCOPY_dest_gref;
        // gntdev_grant_copy_seg: no local-to-local copy; a grant side stays in its page.
        if (!src_gref && !dst_gref) return -EINVAL;
        if (src_gref && le(s + 4, 2) + len > page_size) return -EINVAL;
        if (dst_gref && le(s + 12, 2) + len > page_size) return -EINVAL;
        std::uint8_t okay[2] = {};
        if (p.copy_to_user(at + 20, okay, 2, d)) return -EFAULT;
        std::uint16_t copied = 0;
        while (copied < len) {
            if (batch.size() >= copy_batch)
                if (const long e = flush()) return e;
            std::uint64_t n = len - copied;
            g::copy op;
            if (src_gref) {
                op.source.ref = static_cast<std::uint32_t>(le(s, 4));
                op.source.domid = static_cast<hyp::domid_t>(le(s + 6, 2));
                op.source.offset = static_cast<std::uint16_t>(le(s + 4, 2) + copied);
                op.flags |= g::GNTCOPY_source_gref;
            } else {
                const std::uint64_t virt = le(s, 8) + copied;
                n = std::min<std::uint64_t>(n, page_size - virt % page_size);
                if (!user_frame(virt, false, op.source.gmfn)) return -EFAULT;
                op.source.domid = domid_self;
                op.source.offset = static_cast<std::uint16_t>(virt % page_size);
            }
            if (dst_gref) {
                op.dest.ref = static_cast<std::uint32_t>(le(s + 8, 4));
                op.dest.domid = static_cast<hyp::domid_t>(le(s + 14, 2));
                op.dest.offset = static_cast<std::uint16_t>(le(s + 12, 2) + copied);
                op.flags |= g::GNTCOPY_dest_gref;
            } else {
                const std::uint64_t virt = le(s + 8, 8) + copied;
                n = std::min<std::uint64_t>(n, page_size - virt % page_size);
                if (!user_frame(virt, true, op.dest.gmfn)) return -EFAULT;
                op.dest.domid = domid_self;
                op.dest.offset = static_cast<std::uint16_t>(virt % page_size);
            }
            op.len = static_cast<std::uint16_t>(n);
            copied = static_cast<std::uint16_t>(copied + n);
            batch.push_back(op);
            status_at.push_back(at + 20);
        }
    }
    return flush();
}

long gntdev::mmap(process& p, vma& v, sc_time& d) {
    const bool write = v.prot & PROT_WRITE;
    // Both versions refuse only a writable private mapping.
    if (write && !v.shared) return -EINVAL;
    const auto index = static_cast<int>(static_cast<std::uint32_t>(v.pgoff));
    const auto count = static_cast<int>(v.npages());
    map_ref m = find_map_index(index, count);
    if (!m) return -EINVAL;
    if (original()) {
        if (m->has_vma) return -EINVAL;
        set_owner(p.pid());
        if (p.pid() != mm_pid_) return -EINVAL;  // "Huh? Other mm?": only the opener's address space
        v.ops = the_vm_ops();
        v.dontcopy = true;
        v.private_data = m;
        m->has_vma = true;
        m->vma_start = v.start;
        m->vma_end = v.end;
        m->flags = g::GNTMAP_host_map | (write ? 0u : std::uint32_t(g::GNTMAP_readonly));
        // The twin's stand-in for the PTEs the grants are mapped into; like a
        // failing apply_to_page_range, a failure leaves map->vma set.
        for (auto& pg : m->pages) {
            if (pg != page_slot::none) continue;
            const auto gpa = k_.alloc_unpopulated(d);
            if (!gpa) return -ENOMEM;
            pg = *gpa;
        }
        // On failure 2.6.38 returns with map->vma still set and the grants
        // that did map left mapped: nothing ever unmaps them (docs/drivers/gntdev.md).
        if (const long e = map_grant_pages(*m, d)) return e;
        m->is_mapped = true;
        for (std::size_t i = 0; i < v.pages.size(); ++i) v.pages[i] = {m->pages[i], false};
        return 0;
    }
    if (use_ptemod_ && m->has_vma) return -EINVAL;
    ++m->users;
    v.ops = the_vm_ops();
    v.dontcopy = use_ptemod_;
    v.private_data = m;
    long err = -EINVAL;
    if (m->flags) {
        if (write && (m->flags & g::GNTMAP_readonly)) {
            put_map(m, d);  // out_unlock_put
            return err;
        }
    } else {
        m->flags = g::GNTMAP_host_map | (write ? 0u : std::uint32_t(g::GNTMAP_readonly));
    }
    if (use_ptemod_) {
        m->has_vma = true;
        m->vma_start = v.start;
        m->vma_end = v.end;
    }
    err = map_grant_pages(*m, d);
    if (err) {
        // out_put_map: what did map is unmapped, the VMA's reference dropped.
        if (use_ptemod_) {
            unmap_grant_pages(*m, 0, m->count, d);
            m->has_vma = false;
        }
        put_map(m, d);
        return err;
    }
    for (std::size_t i = 0; i < v.pages.size(); ++i) v.pages[i] = {m->pages[i], false};
    return 0;
}

void gntdev::vma_open(vma& v) {
    // gntdev_vma_open (today): a copy of the VMA (a split) holds the map too. 2.6.38 has no ->open.
    if (original()) return;
    auto m = std::static_pointer_cast<gntdev_grant_map>(v.private_data);
    if (m) ++m->users;
}

void gntdev::vma_close(vma& v, sc_time& d) {
    auto m = std::static_pointer_cast<gntdev_grant_map>(v.private_data);
    if (!m) return;
    v.private_data.reset();
    const int first = static_cast<int>(v.pgoff) - m->index;
    const int n = static_cast<int>(v.npages());
    if (original()) {
        // The MMU notifier's invalidation of the range first (mn_invl_range_start:
        // maps of this file that are mapped and hold a VMA), then gntdev_vma_close.
        if (m->in_list && m->has_vma && m->is_mapped) unmap_grant_pages(*m, first, n, d);
        for (int i = std::max(first, 0); i < std::min(first + n, m->count); ++i) {
            auto& pg = m->pages[static_cast<std::size_t>(i)];
            if (pg != page_slot::none && m->handles[static_cast<std::size_t>(i)] == 0) {
                k_.free_unpopulated(pg);
                pg = page_slot::none;
            }
        }
        m->is_mapped = false;
        m->has_vma = false;
        return;
    }
    if (use_ptemod_) {
        // gntdev_invalidate: the grants behind the pages that go, then the VMA lets go of the map.
        unmap_grant_pages(*m, first, n, d);
        m->has_vma = false;
    }
    put_map(m, d);
}

void gntdev::release(sc_time& d) {
    // gntdev_release: every map leaves the list.
    while (!maps_.empty()) {
        map_ref m = maps_.front();
        if (original()) {
            // gntdev_del_map; on EBUSY (a map whose mmap failed half-way) 2.6.38
            // WARNs and frees it without unlinking it, then walks freed memory.
            // The twin drops it; its mapped grants stay mapped for ever.
            if (del_map_original(m) != 0) {
                remove(m);
                continue;
            }
            free_map(*m);
            continue;
        }
        remove(m);
        put_map(m, d);
    }
}

} // namespace iotwin::guest
