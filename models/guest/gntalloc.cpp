#include "models/guest/gntalloc.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "models/guest/gnttab_guest.h"
#include "models/guest/xenevtchn.h"
#include "models/hyp/grant_table.h"

namespace iotwin::guest {

using sc_core::sc_time;

namespace {

// KMALLOC_MAX_SIZE on x86-64 (SLUB: 1 << (MAX_ORDER + PAGE_SHIFT - 1) = 4 MiB):
// a larger kzalloc / kcalloc returns NULL. gntalloc_ioctl_alloc allocates
// count * 4 bytes for the grant references (kzalloc in the seed, kcalloc in
// Linux 6.x); a 64-bit kernel's size_t product does not wrap.
constexpr std::uint64_t kmalloc_max_size = std::uint64_t(4) << 20;

template <class T> T get(const std::uint8_t* b, std::size_t off) {
    T v;
    std::memcpy(&v, b + off, sizeof v);
    return v;
}

template <class T> void put(std::uint8_t* b, std::size_t off, T v) { std::memcpy(b + off, &v, sizeof v); }

bool is_current(driver_version v) { return v == driver_version::current; }

// The VMA's vm_ops of the seed: .close only, vm_private_data the first gref
// (gntalloc_vma_close in the seed). No .open: a VMA split by a partial
// munmap keeps the same gref, and each part's close drops its count.
struct original_vmops : vm_ops {
    explicit original_vmops(kernel& k) : k_(k) {}
    void close(vma& v, sc_time& d) override {
        const auto g = std::static_pointer_cast<gntalloc_gref>(v.private_data);
        if (!g || g->freed) return;  // a freed gref: its memory is not touched again by the model
        g->users--;
        if (g->users == 0) gntalloc::del_gref(k_, driver_version::original, g, d);
    }
    kernel& k_;
};

// struct gntalloc_vma_private_data (Linux 6.x): one per mmap, shared by the
// VMAs a split or a fork makes of it (vm_ops->open counts them).
struct vma_private {
    gntalloc_gref_ptr gref;
    int users = 1;
    int count = 0;
};

struct current_vmops : vm_ops {
    explicit current_vmops(kernel& k) : k_(k) {}
    void open(vma& v) override {
        // gntalloc_vma_open: priv->users++.
        if (auto p = std::static_pointer_cast<vma_private>(v.private_data)) p->users++;
    }
    void close(vma& v, sc_time& d) override {
        // gntalloc_vma_close: when the last VMA of the mapping goes, each of
        // its `count` grefs loses the mapping's reference. The walk follows
        // the module's global gref_list (next_gref), as Linux 6.x does.
        const auto p = std::static_pointer_cast<vma_private>(v.private_data);
        if (!p) return;
        gntalloc::retry_deferred(k_, d);
        p->users--;
        if (p->users != 0) return;
        auto& m = gntalloc::module(k_);
        gntalloc_gref_ptr g = p->gref;
        for (int i = 0; i < p->count && g; ++i) {
            g->users--;
            const auto it = std::find(m.gref_list.begin(), m.gref_list.end(), g);
            // The next entry of gref_list; at the list's end Linux would take
            // the list head for a gref (memory corruption): the model stops.
            gntalloc_gref_ptr next;
            if (it != m.gref_list.end() && std::next(it) != m.gref_list.end()) next = *std::next(it);
            if (g->users == 0 && !g->freed) gntalloc::del_gref(k_, driver_version::current, g, d);
            g = next;
        }
    }
    kernel& k_;
};

}  // namespace

gntalloc::gntalloc(kernel& k) : k_(k), ver_(k.driver("gntalloc").version) {}

int gntalloc::limit(const kernel& k) {
    const auto l = k.driver("gntalloc").limit;
    return l ? static_cast<int>(static_cast<std::uint32_t>(*l)) : gntalloc_default_limit;
}

void gntalloc::retry_deferred(kernel& k, sc_time& d) {
    // gnttab_handle_deferred (drivers/xen/grant-table.c, Linux 6.x): each
    // deferred entry is ended when the remote domain no longer maps it;
    // then the reference returns to the pool and the page is freed.
    auto& m = module(k);
    gnttab_guest gt(k.hyp(), k.domid());
    std::vector<gntalloc_module::deferred_page> still;
    for (const auto& e : m.deferred) {
        if (gt.end_access(e.ref, d) == 0) {
            k.release_grant_ref(e.ref);
            k.put_page(e.gpa);
        } else {
            still.push_back(e);
        }
    }
    m.deferred = std::move(still);
}

void gntalloc::del_gref(kernel& k, driver_version v, const gntalloc_gref_ptr& g, sc_time& d) {
    auto& m = module(k);
    gnttab_guest gt(k.hyp(), k.domid());
    if (!is_current(v)) {
        // The seed's __del_gref: `if (gref->gref_id > 0)` on an unsigned
        // reference (true for a failed grant's -ENOSPC stored there too);
        // gnttab_query_foreign_access, then gnttab_end_foreign_access_ref:
        // either refusing leaves the gref (and its page) on gref_list with
        // no local users, counted against `limit`, retried by do_cleanup.
        // The reference itself is never given back (no
        // gnttab_free_grant_reference in the seed).
        if (g->gref_id > 0) {
            gnttab_guest::entry_view e;
            // A reference beyond the table (a failed grant's errno): Linux
            // reads past its grant table; the model takes it as in use.
            if (gt.entry(g->gref_id, e, d) != 0) return;
            if (e.flags & (hyp::gnttab::GTF_reading | hyp::gnttab::GTF_writing)) return;
            if (gt.end_access(g->gref_id, d) != 0) return;
        }
        m.gref_size--;
        m.gref_list.remove(g);
        if (g->page) k.put_page(*g->page);
        g->freed = true;
        return;
    }
    // Linux 6.x __del_gref: the unmap notification first, then the grant is
    // ended (gnttab_end_foreign_access takes the page: freed now, or put on
    // the grant-table layer's deferred list while the remote domain still
    // maps it); the gref always goes and stops counting against `limit`.
    if (g->notify.flags & UNMAP_NOTIFY_CLEAR_BYTE) {
        std::uint8_t zero = 0;
        if (g->page) k.access(true, *g->page + g->notify.pgoff, &zero, 1, d);
    }
    if (g->notify.flags & UNMAP_NOTIFY_SEND_EVENT) {
        k.evtchn_send(g->notify.event, d);  // notify_remote_via_evtchn: not checked
        auto it = m.evtchn_refs.find(g->notify.event);  // evtchn_put
        if (it != m.evtchn_refs.end() && --it->second <= 0) m.evtchn_refs.erase(it);
    }
    g->notify.flags = 0;
    if (g->gref_id) {
        if (g->page) {
            if (gt.end_access(g->gref_id, d) == 0) {
                k.release_grant_ref(g->gref_id);
                k.put_page(*g->page);
            } else {
                m.deferred.push_back({g->gref_id, *g->page});
            }
        } else {
            k.release_grant_ref(g->gref_id);
        }
    }
    // A gref whose grant failed (gref_id 0) keeps its page: Linux 6.x's
    // __del_gref frees the page only through gnttab_end_foreign_access.
    m.gref_size--;
    m.gref_list.remove(g);
    g->freed = true;
}

void gntalloc::do_cleanup(sc_time& d) {
    // do_cleanup: every gref with no local users is tried again.
    auto& m = module(k_);
    const std::vector<gntalloc_gref_ptr> all(m.gref_list.begin(), m.gref_list.end());
    for (const auto& g : all)
        if (!g->users && !g->freed) del_gref(k_, ver_, g, d);
}

std::list<gntalloc_gref_ptr>::iterator gntalloc::find_grefs(std::uint64_t index, std::uint32_t count) {
    // find_grefs: the walk starts at the gref at `index` and needs `count`
    // of them at consecutive offsets; a count of 0 wraps and is never met.
    auto rv = list_.end();
    for (auto it = list_.begin(); it != list_.end(); ++it) {
        if ((*it)->file_index == index && rv == list_.end()) rv = it;
        if (rv != list_.end()) {
            if ((*it)->file_index != index) return list_.end();
            index += page_size;
            count--;
            if (count == 0) return rv;
        }
    }
    return list_.end();
}

long gntalloc::add_grefs(std::uint16_t domid, std::uint32_t flags, std::uint32_t count, std::uint64_t index,
                         std::vector<std::uint32_t>& gref_ids, sc_time& d) {
    auto& m = module(k_);
    gnttab_guest gt(k_.hyp(), k_.domid());
    const bool readonly = !(flags & GNTALLOC_FLAG_WRITABLE);
    std::vector<gntalloc_gref_ptr> queue;
    long rc = -ENOMEM;
    std::uint32_t i = 0;
    for (; i < count; ++i) {
        auto g = std::make_shared<gntalloc_gref>();
        queue.push_back(g);
        g->users = 1;
        g->file_index = index + std::uint64_t(i) * page_size;
        g->page = k_.alloc_page(d);
        if (!g->page) {
            rc = -ENOMEM;
            goto undo;
        }
        {
            // gnttab_grant_foreign_access: a free reference (the table grows
            // when none is left; -ENOSPC when it cannot), then the entry.
            long ref = k_.claim_grant_ref(d);
            if (ref >= 0) {
                if (const int e = gt.grant_access(static_cast<std::uint32_t>(ref), domid, *g->page / page_size, readonly, d)) {
                    k_.release_grant_ref(static_cast<std::uint32_t>(ref));
                    ref = -e;
                }
            }
            if (is_current(ver_)) {
                // Linux 6.x: `rc = gnttab_grant_foreign_access(...); if (rc < 0) goto undo;`
                if (ref < 0) {
                    rc = ref;
                    goto undo;
                }
                g->gref_id = static_cast<std::uint32_t>(ref);
            } else {
                // The seed: `gref->gref_id = gnttab_grant_foreign_access(...);
                // if (gref->gref_id < 0)` on a grant_ref_t (uint32_t): never
                // true, so an error is kept as a reference and returned.
                g->gref_id = static_cast<std::uint32_t>(ref);
            }
            gref_ids[i] = g->gref_id;
        }
    }
    for (const auto& g : queue) {
        m.gref_list.push_back(g);
        list_.push_back(g);
    }
    return 0;

undo:
    // Both versions: `gref_size -= (op->count - i)`, then __del_gref (which
    // decrements gref_size again) for each of the i + 1 grefs queued when the
    // failure came after the gref's kzalloc: gref_size ends one lower than
    // before the call.
    m.gref_size = static_cast<std::int32_t>(static_cast<std::uint32_t>(m.gref_size) - (count - i));
    for (const auto& g : queue) {
        m.gref_list.push_back(g);  // __del_gref list_del()s it from the queue it is on
        del_gref(k_, ver_, g, d);
    }
    // Seed: grefs __del_gref left (the remote domain mapped a guessed
    // reference) are spliced into gref_list: they stay there. Linux 6.x
    // always removes them.
    return rc;
}

long gntalloc::alloc(process& p, std::uint64_t arg, sc_time& d) {
    std::uint8_t op[gntalloc_alloc_size] = {};
    if (p.copy_from_user(op, arg, sizeof op, d)) return -EFAULT;
    const auto domid = get<std::uint16_t>(op, 0);
    const auto flags = get<std::uint16_t>(op, 2);
    const auto count = get<std::uint32_t>(op, 4);
    // kzalloc(sizeof(gref_ids[0]) * op.count) (seed) / kcalloc(op.count, 4) (6.x).
    if (std::uint64_t(count) * 4 > kmalloc_max_size) return -ENOMEM;
    std::vector<std::uint32_t> gref_ids(count);
    auto& m = module(k_);
    if (is_current(ver_)) retry_deferred(k_, d);
    do_cleanup(d);
    // `if (gref_size + op.count > limit)`: int + uint32_t is unsigned
    // arithmetic in C, and `limit` is converted to unsigned for the compare.
    if (static_cast<std::uint32_t>(m.gref_size) + count > static_cast<std::uint32_t>(limit(k_))) return -ENOSPC;
    m.gref_size = static_cast<std::int32_t>(static_cast<std::uint32_t>(m.gref_size) + count);
    const std::uint64_t index = index_;
    index_ += std::uint64_t(count) * page_size;
    if (const long rc = add_grefs(domid, flags, count, index, gref_ids, d); rc < 0) return rc;
    // copy_to_user of the structure (index set), then of the references at gref_ids.
    put<std::uint64_t>(op, 8, index);
    if (p.copy_to_user(arg, op, sizeof op, d)) return -EFAULT;
    if (count && p.copy_to_user(arg + gntalloc_gref_ids_offset, gref_ids.data(), std::uint64_t(count) * 4, d)) return -EFAULT;
    return 0;
}

long gntalloc::dealloc(process& p, std::uint64_t arg, sc_time& d) {
    std::uint8_t op[gntalloc_dealloc_size] = {};
    if (p.copy_from_user(op, arg, sizeof op, d)) return -EFAULT;
    const auto index = get<std::uint64_t>(op, 0);
    const auto count = get<std::uint32_t>(op, 8);
    if (is_current(ver_)) retry_deferred(k_, d);
    long rc = 0;
    auto it = find_grefs(index, count);
    if (it != list_.end()) {
        // The grefs leave the file's list and lose the file's reference; do_cleanup frees them.
        for (std::uint32_t i = 0; i < count && it != list_.end(); ++i) {
            if (!(*it)->freed) (*it)->users--;
            it = list_.erase(it);
        }
    } else {
        rc = -EINVAL;
    }
    do_cleanup(d);
    return rc;
}

bool gntalloc::evtchn_get(std::uint32_t port) {
    // evtchn_get (drivers/xen/events/events_base.c): only a port bound by
    // the evtchn device (reference-counted) can be taken; -ENOENT / -EINVAL
    // otherwise, which gntalloc turns into -EINVAL.
    for (const auto& proc : k_.processes())
        for (const auto& [fd, f] : proc->fds()) {
            (void)fd;
            if (const auto* e = dynamic_cast<const xenevtchn*>(f.get()); e && e->bound(port)) return true;
        }
    return false;
}

long gntalloc::unmap_notify(process& p, std::uint64_t arg, sc_time& d) {
    // gntalloc_ioctl_unmap_notify (Linux 6.x).
    std::uint8_t op[gntalloc_notify_size] = {};
    if (p.copy_from_user(op, arg, sizeof op, d)) return -EFAULT;
    const auto index = get<std::uint64_t>(op, 0);
    const auto action = get<std::uint32_t>(op, 8);
    const auto port = get<std::uint32_t>(op, 12);
    const auto it = find_grefs(index & ~(page_size - 1), 1);
    if (it == list_.end()) return -ENOENT;
    if (action & ~(UNMAP_NOTIFY_CLEAR_BYTE | UNMAP_NOTIFY_SEND_EVENT)) return -EINVAL;
    auto& m = module(k_);
    if (action & UNMAP_NOTIFY_SEND_EVENT) {
        if (!evtchn_get(port)) return -EINVAL;
        m.evtchn_refs[port]++;
    }
    gntalloc_gref& g = **it;
    if (g.notify.flags & UNMAP_NOTIFY_SEND_EVENT) {
        auto r = m.evtchn_refs.find(g.notify.event);
        if (r != m.evtchn_refs.end() && --r->second <= 0) m.evtchn_refs.erase(r);
    }
    g.notify.flags = action;
    g.notify.pgoff = static_cast<std::uint16_t>(index & (page_size - 1));
    g.notify.event = port;
    return 0;
}

long gntalloc::ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_time& d) {
    switch (cmd) {
    case IOCTL_GNTALLOC_ALLOC_GREF:
        return alloc(p, arg, d);
    case IOCTL_GNTALLOC_DEALLOC_GREF:
        return dealloc(p, arg, d);
    case IOCTL_GNTALLOC_SET_UNMAP_NOTIFY:
        if (is_current(ver_)) return unmap_notify(p, arg, d);
        return -ENOTTY;  // the seed has no such request: -ENOIOCTLCMD, which the VFS turns into ENOTTY
    default:
        return -ENOTTY;  // -ENOIOCTLCMD
    }
}

long gntalloc::mmap(process& p, vma& v, sc_time& d) {
    (void)p;
    // gntalloc_mmap: shared mappings only, and the range must be `count`
    // grefs of this file from the offset (ENOENT otherwise).
    if (!v.shared) return -EINVAL;
    if (is_current(ver_)) retry_deferred(k_, d);
    const auto count = static_cast<std::uint32_t>(v.npages());
    auto it = find_grefs(v.pgoff * page_size, count);
    if (it == list_.end()) return -ENOENT;
    if (is_current(ver_)) {
        // VM_DONTEXPAND | VM_DONTDUMP: a child of fork() shares the mapping (vm_ops->open).
        auto priv = std::make_shared<vma_private>();
        priv->gref = *it;
        priv->count = static_cast<int>(count);
        v.private_data = priv;
        v.ops = std::make_shared<current_vmops>(k_);
    } else {
        // The seed: vm_private_data is the first gref; VM_DONTCOPY.
        v.private_data = *it;
        v.ops = std::make_shared<original_vmops>(k_);
        v.dontcopy = true;
    }
    for (std::uint32_t i = 0; i < count && it != list_.end(); ++i, ++it) {
        gntalloc_gref& g = **it;
        g.users++;
        if (!g.page) continue;
        if (k_.page_refs(*g.page) > 0) {
            k_.get_page(*g.page);
            v.pages[i] = {*g.page, true};
        } else {
            // A freed gref still on the list (the seed's flaws): its page
            // pointer is stale; the page may be free or another's. It is
            // mapped without a reference, as vm_insert_page of a freed page.
            v.pages[i] = {*g.page, false};
        }
    }
    return 0;
}

void gntalloc::release(sc_time& d) {
    // gntalloc_release: every gref of the file loses the file's reference.
    if (is_current(ver_)) retry_deferred(k_, d);
    while (!list_.empty()) {
        const gntalloc_gref_ptr g = list_.front();
        list_.pop_front();
        if (g->freed) continue;
        g->users--;
        if (g->users == 0) del_gref(k_, ver_, g, d);
    }
}

} // namespace iotwin::guest
