// The type1 IOMMU backend (Linux 6.1 drivers/vfio/vfio_iommu_type1.c):
// one IO address space per container, shared by every group attached to it
// (6.1 reuses a compatible domain: all our groups sit behind the one VT-d
// unit, so they always share it), the user's DMA mappings (struct
// vfio_dma) with their pinned pages, and the ioctls on the container that
// reach it.
//
// Pinning is kernel::get_page on each page behind the user's address: the
// page stays allocated, owned and mapped in the IO space after the process
// unmaps it, until the DMA mapping goes. Each pinned page counts against
// the mapping process's RLIMIT_MEMLOCK unless it had CAP_IPC_LOCK when it
// mapped (vfio_dma->lock_cap).
#include <algorithm>
#include <cerrno>
#include <iterator>
#include <map>

#include "models/guest/kernel.h"
#include "models/guest/process.h"
#include "models/guest/vfio/vfio.h"
#include "models/hyp/hypervisor.h"

namespace iotwin::guest::vfio {

namespace {

// iommu->pgsize_bitmap: what 6.1's intel-iommu reports for a domain on a
// VT-d unit with 2 MiB and 1 GiB second-level superpages (CAP.SLLPS, as
// QEMU's intel-iommu and server parts advertise): SZ_4K | SZ_2M | SZ_1G.
// Only its lowest bit matters to VFIO (the alignment of MAP/UNMAP).
constexpr std::uint64_t pgsize_bitmap = 0x1000 | 0x200000 | 0x40000000;
constexpr std::uint64_t min_pgsize = 0x1000;  // 1 << __ffs(pgsize_bitmap)

// DIRTY_BITMAP_SIZE_MAX: the bitmap of INT_MAX pages, rounded to u64s, in bytes.
constexpr std::uint64_t dirty_bitmap_size_max = ((0x7fffffffull + 63) / 64) * 8;

std::uint32_t get32(const std::uint8_t* b) {
    return std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 | std::uint32_t(b[3]) << 24;
}
std::uint64_t get64(const std::uint8_t* b) { return std::uint64_t(get32(b)) | std::uint64_t(get32(b + 4)) << 32; }
void put16(std::vector<std::uint8_t>& v, std::size_t at, std::uint16_t x) {
    v[at] = std::uint8_t(x);
    v[at + 1] = std::uint8_t(x >> 8);
}
void put32(std::uint8_t* b, std::uint32_t x) {
    for (unsigned i = 0; i < 4; ++i) b[i] = std::uint8_t(x >> (8 * i));
}
void put64(std::uint8_t* b, std::uint64_t x) {
    put32(b, std::uint32_t(x));
    put32(b + 4, std::uint32_t(x >> 32));
}

// struct vfio_iommu_type1_dirty_bitmap { argsz, flags }
constexpr std::uint32_t VFIO_IOMMU_DIRTY_PAGES_FLAG_START = 1u << 0, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP = 1u << 1,
                        VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP = 1u << 2;

} // namespace

struct type1::state {
    // struct vfio_dma
    struct dma {
        std::uint64_t iova = 0, size = 0, vaddr = 0;
        bool read = false, write = false;
        bool lock_cap = false;          // capable(CAP_IPC_LOCK) when it was mapped
        bool vaddr_invalid = false;     // VFIO_DMA_UNMAP_FLAG_VADDR: awaiting a new vaddr
        int pid = 0;                    // dma->task: the process whose locked_vm it counts against
        std::vector<std::uint64_t> pinned;  // the guest-physical page behind each mapped page, in IOVA order
    };
    std::map<std::uint64_t, dma> dmas;  // by IOVA; never overlapping
    std::uint32_t dma_avail = 0;
    bool dirty_tracking = false;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> iovas;  // iommu->iova_list; empty: no group yet

    // vfio_find_dma: a mapping overlapping [start, start + size) (size 0: the one holding start).
    dma* find(std::uint64_t start, std::uint64_t size) {
        auto it = dmas.upper_bound(start + (size ? size - 1 : 0));
        while (it != dmas.begin()) {
            --it;
            dma& m = it->second;
            if (m.iova + m.size - 1 < start) return nullptr;
            return &m;
        }
        return nullptr;
    }
    bool iova_valid(std::uint64_t start, std::uint64_t end) const {
        for (const auto& [s, e] : iovas)
            if (start >= s && end <= e) return true;
        return iovas.empty();
    }
};

type1::type1(kernel& k, host& h, unsigned long type, const type1_params& p)
    : k_(k), h_(h), v2_(type != VFIO_TYPE1_IOMMU), nesting_(type == VFIO_TYPE1_NESTING_IOMMU), p_(p), s_(std::make_unique<state>()) {
    s_->dma_avail = p.dma_entry_limit;
}
type1::~type1() = default;

// vfio_iommu_type1_check_extension (6.1): type1, v2, nesting, UNMAP_ALL and
// UPDATE_VADDR whether or not a backend is set; DMA_CC_IOMMU only with one,
// when every domain enforces cache coherency, which needs the snoop control
// (ECAP.SC) the modelled VT-d unit does not have.
long type1::check_extension(const type1* iommu, unsigned long ext) {
    switch (ext) {
    case VFIO_TYPE1_IOMMU:
    case VFIO_TYPE1v2_IOMMU:
    case VFIO_TYPE1_NESTING_IOMMU:
    case VFIO_UNMAP_ALL:
    case VFIO_UPDATE_VADDR:
        return 1;
    case VFIO_DMA_CC_IOMMU:
        return iommu && !iommu->space_ ? 1 : 0;
    default:
        return 0;
    }
}

// vfio_iommu_type1_attach_group (6.1): EINVAL for a group already
// attached; ENOMEM when the group or domain cannot be allocated; EIO when
// no IOMMU domain can be made; EPERM without interrupt remapping unless
// allow_unsafe_interrupts. The nesting type fails at iommu_enable_nesting
// (EINVAL): intel-iommu has no enable_nesting in 6.1. Everything is undone
// on failure.
long type1::attach_group(group& g, sc_core::sc_time& d) {
    if (std::find(groups_.begin(), groups_.end(), &g) != groups_.end()) return -EINVAL;
    if (k_.kmalloc_fails() || k_.kmalloc_fails()) return -ENOMEM;  // the vfio_iommu_group, the vfio_domain
    bool made = false;
    if (!space_) {
        const int s = k_.hyp().create_io_space(k_.domid(), d);
        if (s < 0) return -EIO;  // iommu_domain_alloc() failed: domain->domain stays NULL
        space_ = s;
        made = true;
    }
    auto undo = [&](std::vector<std::uint16_t> attached) {
        for (const std::uint16_t rid : attached) k_.hyp().io_space_detach(space_, rid, d);
        if (made) {
            k_.hyp().destroy_io_space(space_, d);
            space_ = 0;
        }
    };
    if (nesting_) {
        undo({});
        return -EINVAL;
    }
    // iommu_attach_group: every function of the group. Bridges of the group
    // issue no DMA of their own and stay with the host.
    std::vector<std::uint16_t> attached;
    for (const pci_dev& p : h_.group_devices(g.id)) {
        if (p.bridge) continue;
        if (const int e = k_.hyp().io_space_attach(space_, p.rid, d)) {
            undo(attached);
            return -e;
        }
        attached.push_back(p.rid);
    }
    // The aperture, less the group's reserved regions (vfio_iommu_aper_resize, vfio_iommu_resv_exclude).
    const auto ranges = h_.iova_ranges(g.id);
    if (!h_.interrupt_remapping() && !p_.allow_unsafe_interrupts) {
        undo(attached);
        return -EPERM;
    }
    if (groups_.empty() || s_->iovas.empty()) {
        s_->iovas = ranges;
    } else {
        // Intersect with the ranges the container has.
        std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
        for (const auto& [a, b] : s_->iovas)
            for (const auto& [c, e] : ranges) {
                const std::uint64_t lo = std::max(a, c), hi = std::min(b, e);
                if (lo <= hi) out.emplace_back(lo, hi);
            }
        s_->iovas = out;
    }
    groups_.push_back(&g);
    return 0;
}

namespace {

// Unpins a mapping's pages (put_pfn) and returns its accounting to the
// process that made it, if it is still there (vfio_lock_acct's get_task_mm).
void unpin(kernel& k, std::vector<std::uint64_t>& pinned, int pid, bool lock_cap, std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) k.put_page(pinned[i]);
    if (lock_cap || !count) return;
    for (const auto& proc : k.processes())
        if (proc->pid() == pid && proc->alive()) proc->account_locked(-static_cast<std::int64_t>(count));
}

} // namespace

void type1::detach_group(group& g, sc_core::sc_time& d) {
    const auto at = std::find(groups_.begin(), groups_.end(), &g);
    if (at == groups_.end()) return;
    // The last group of the domain: every mapping goes with it (vfio_iommu_unmap_unpin_all).
    if (groups_.size() == 1) {
        for (auto& [iova, m] : s_->dmas) {
            std::uint64_t unmapped = 0;
            if (m.size) k_.hyp().io_space_unmap(space_, m.iova, m.size, unmapped, d);
            unpin(k_, m.pinned, m.pid, m.lock_cap, m.pinned.size());
            ++s_->dma_avail;
        }
        s_->dmas.clear();
    }
    for (const pci_dev& p : h_.group_devices(g.id))
        if (!p.bridge) k_.hyp().io_space_detach(space_, p.rid, d);
    groups_.erase(at);
    if (groups_.empty()) {
        if (space_) k_.hyp().destroy_io_space(space_, d);
        space_ = 0;
        s_->iovas.clear();
    }
}

void type1::release(sc_core::sc_time& d) {
    while (!groups_.empty()) detach_group(*groups_.back(), d);
    for (auto& [iova, m] : s_->dmas) unpin(k_, m.pinned, m.pid, m.lock_cap, m.pinned.size());
    s_->dmas.clear();
    if (space_) k_.hyp().destroy_io_space(space_, d);
    space_ = 0;
}

long type1::ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) {
    switch (cmd) {
    case VFIO_CHECK_EXTENSION:
        return check_extension(this, arg);
    case VFIO_IOMMU_GET_INFO:
        return get_info(p, arg, d);
    case VFIO_IOMMU_MAP_DMA:
        return map_dma(p, arg, d);
    case VFIO_IOMMU_UNMAP_DMA:
        return unmap_dma(p, arg, d);
    case VFIO_IOMMU_DIRTY_PAGES:
        return dirty_pages(p, arg, d);
    default:
        return -ENOTTY;
    }
}

// vfio_iommu_type1_get_info (6.1). The capability chain is built in the
// order migration, DMA available, IOVA ranges (each vfio_info_cap_add
// appends without padding in 6.1), then shifted past the 24-byte header.
long type1::get_info(process& p, std::uint64_t arg, sc_core::sc_time& d) {
    constexpr std::uint32_t minsz = 16, capsz = 20;  // offsetofend(iova_pgsizes), offsetofend(cap_offset)
    std::uint8_t info[iommu_type1_info_size] = {};
    if (p.copy_from_user(info, arg, minsz, d)) return -EFAULT;
    std::uint32_t argsz = get32(info);
    if (argsz < minsz) return -EINVAL;
    std::uint32_t copy = minsz;
    std::uint32_t cap_offset = 0;
    if (argsz >= capsz) copy = capsz;
    std::uint32_t flags = VFIO_IOMMU_INFO_PGSIZES;
    if (k_.kmalloc_fails()) return -ENOMEM;  // the capability buffer (krealloc in vfio_info_cap_add)

    std::vector<std::uint8_t> caps;
    std::size_t last = 0;
    auto add = [&](std::size_t size, std::uint16_t id) {
        const std::size_t at = caps.size();
        caps.resize(at + size, 0);
        put16(caps, at, id);
        put16(caps, at + 2, 1);
        if (at) put32(&caps[last + 4], static_cast<std::uint32_t>(at));
        last = at;
        return at;
    };
    // struct vfio_iommu_type1_info_cap_migration { header; u32 flags; u64 pgsize_bitmap; u64 max_dirty_bitmap_size; }
    std::size_t at = add(32, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
    put64(&caps[at + 16], min_pgsize);
    put64(&caps[at + 24], dirty_bitmap_size_max);
    // struct vfio_iommu_type1_info_dma_avail { header; u32 avail; }
    at = add(12, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
    put32(&caps[at + 8], s_->dma_avail);
    // struct vfio_iommu_type1_info_cap_iova_range { header; u32 nr_iovas; u32 reserved; { u64 start, end }[] }
    if (!s_->iovas.empty()) {
        at = add(16 + 16 * s_->iovas.size(), VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
        put32(&caps[at + 8], static_cast<std::uint32_t>(s_->iovas.size()));
        for (std::size_t i = 0; i < s_->iovas.size(); ++i) {
            put64(&caps[at + 16 + 16 * i], s_->iovas[i].first);
            put64(&caps[at + 24 + 16 * i], s_->iovas[i].second);
        }
    }
    flags |= VFIO_IOMMU_INFO_CAPS;
    if (argsz < iommu_type1_info_size + caps.size()) {
        argsz = static_cast<std::uint32_t>(iommu_type1_info_size + caps.size());
    } else {
        // vfio_info_cap_shift: every `next` moves past the info structure.
        for (std::size_t h = 0;;) {
            const std::uint32_t next = get32(&caps[h + 4]);
            if (!next) break;
            put32(&caps[h + 4], next + iommu_type1_info_size);
            h = next;
        }
        if (p.copy_to_user(arg + iommu_type1_info_size, caps.data(), caps.size(), d)) return -EFAULT;
        cap_offset = iommu_type1_info_size;
    }
    put32(info, argsz);
    put32(info + 4, flags);
    put64(info + 8, pgsize_bitmap);
    put32(info + 16, cap_offset);
    return p.copy_to_user(arg, info, copy, d) ? -EFAULT : 0;
}

// vfio_iommu_type1_map_dma and vfio_dma_do_map (6.1), check by check.
long type1::map_dma(process& p, std::uint64_t arg, sc_core::sc_time& d) {
    constexpr std::uint32_t minsz = 32;  // offsetofend(struct vfio_iommu_type1_dma_map, size)
    std::uint8_t b[minsz];
    if (p.copy_from_user(b, arg, minsz, d)) return -EFAULT;
    const std::uint32_t argsz = get32(b), flags = get32(b + 4);
    const std::uint64_t vaddr = get64(b + 8), iova = get64(b + 16), size = get64(b + 24);
    const std::uint32_t mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | VFIO_DMA_MAP_FLAG_VADDR;
    if (argsz < minsz || (flags & ~mask)) return -EINVAL;

    const bool set_vaddr = flags & VFIO_DMA_MAP_FLAG_VADDR;
    const bool write = flags & VFIO_DMA_MAP_FLAG_WRITE, read = flags & VFIO_DMA_MAP_FLAG_READ;
    const bool prot = read || write;
    if ((prot && set_vaddr) || (!prot && !set_vaddr)) return -EINVAL;
    if (!size || ((size | iova | vaddr) & (min_pgsize - 1))) return -EINVAL;
    // No IOVA or virtual address wrap.
    if (iova + size - 1 < iova || vaddr + size - 1 < vaddr) return -EINVAL;

    state::dma* found = s_->find(iova, size);
    if (set_vaddr) {
        if (!found) return -ENOENT;
        if (!found->vaddr_invalid || found->iova != iova || found->size != size) return -EINVAL;
        found->vaddr = vaddr;
        found->vaddr_invalid = false;
        return 0;
    }
    if (found) return -EEXIST;
    if (!s_->dma_avail) return -ENOSPC;
    // Beyond the IOMMU's width, or in a reserved region (the MSI window).
    if (!s_->iova_valid(iova, iova + size - 1)) return -EINVAL;
    if (k_.kmalloc_fails()) return -ENOMEM;  // kzalloc(struct vfio_dma)

    state::dma m;
    m.iova = iova;
    m.vaddr = vaddr;
    m.read = read;
    m.write = write;
    m.lock_cap = p.capable(capability::CAP_IPC_LOCK);
    m.pid = p.pid();

    // vfio_pin_map_dma / vfio_pin_pages_remote: page by page in address
    // order, each pinned (pin_user_pages_remote with FOLL_WRITE for a
    // device-writable mapping: EFAULT where nothing is mapped or the VMA's
    // protection refuses) and then counted against RLIMIT_MEMLOCK (ENOMEM).
    // Whatever fails, everything mapped and pinned so far is undone
    // (vfio_remove_dma).
    const std::uint64_t npages = size / page_size;
    const auto& lim = p.limits().memlock;
    const std::uint64_t limit = lim ? *lim / page_size : ~std::uint64_t(0);
    long ret = 0;
    std::uint64_t acct = 0;
    m.pinned.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(npages, 1u << 20)));
    // vfio_pin_map_dma maps each run of physically contiguous pinned pages
    // with one vfio_iommu_map() (6.1), so the IOMMU driver can use
    // superpages where the run allows. `run` pages from `run_gpa` at
    // `run_iova` wait to be mapped; `mapped`: pages mapped so far.
    std::uint64_t run = 0, run_gpa = 0, run_iova = 0, mapped = 0;
    auto map_run = [&]() -> long {
        if (!run) return 0;
        const int e = k_.hyp().io_space_map(space_, run_iova, run_gpa, run * page_size, read, write, d);
        if (!e) mapped += run;
        run = 0;
        return -e;
    };
    for (std::uint64_t i = 0; i < npages; ++i) {
        const std::uint64_t va = vaddr + i * page_size;
        const vma* v = p.find_vma(va);
        const auto gpa = p.user_gpa(va);
        // Pages with no kernel reference behind them (another domain's
        // grant mapped here, device memory) are not RAM this kernel can pin.
        if (!v || !gpa || !k_.page_refs(*gpa) || !(v->prot & (write ? PROT_WRITE : PROT_READ))) {
            ret = -EFAULT;
            break;
        }
        if (!m.lock_cap && p.locked_pages() + acct + 1 > limit) {
            ret = -ENOMEM;
            break;
        }
        k_.get_page(*gpa);
        m.pinned.push_back(*gpa);
        ++acct;
        if (run && *gpa != run_gpa + run * page_size) {
            if ((ret = map_run())) break;
        }
        if (!run) {
            run_gpa = *gpa;
            run_iova = iova + i * page_size;
        }
        ++run;
    }
    // What was pinned before a failure is mapped too, so that the undo
    // below finds it (the failure's errno stands).
    if (const long e = map_run(); e && !ret) ret = e;
    if (ret) {
        std::uint64_t unmapped = 0;
        if (mapped) k_.hyp().io_space_unmap(space_, iova, mapped * page_size, unmapped, d);
        for (const std::uint64_t g : m.pinned) k_.put_page(g);
        return ret;
    }
    if (!m.lock_cap) p.account_locked(static_cast<std::int64_t>(acct));
    m.size = size;
    --s_->dma_avail;
    s_->dmas.emplace(iova, std::move(m));
    return 0;
}

// vfio_iommu_type1_unmap_dma and vfio_dma_do_unmap (6.1).
long type1::unmap_dma(process& p, std::uint64_t arg, sc_core::sc_time& d) {
    constexpr std::uint32_t minsz = 24;  // offsetofend(struct vfio_iommu_type1_dma_unmap, size)
    std::uint8_t b[minsz];
    if (p.copy_from_user(b, arg, minsz, d)) return -EFAULT;
    const std::uint32_t argsz = get32(b), flags = get32(b + 4);
    const std::uint64_t iova = get64(b + 8);
    std::uint64_t size = get64(b + 16);
    const std::uint32_t mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL;
    if (argsz < minsz || (flags & ~mask)) return -EINVAL;
    if ((flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) && (flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)))
        return -EINVAL;
    if (flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
        // struct vfio_bitmap { u64 pgsize; u64 size; u64 __user *data; } after the header.
        if (argsz < minsz + 24) return -EINVAL;
        std::uint8_t bm[24];
        if (p.copy_from_user(bm, arg + minsz, sizeof bm, d)) return -EFAULT;
        // Dirty bitmaps are not modelled: refused as vfio_dma_do_unmap
        // refuses them while tracking is off (EINVAL), and with it on too.
        return -EINVAL;
    }
    const bool unmap_all = flags & VFIO_DMA_UNMAP_FLAG_ALL;
    const bool invalidate_vaddr = flags & VFIO_DMA_UNMAP_FLAG_VADDR;
    long ret = -EINVAL;
    std::uint64_t unmapped = 0;
    auto done = [&]() -> long {
        if (ret) return ret;
        put64(b + 16, unmapped);  // unmap->size: what was unmapped
        return p.copy_to_user(arg, b, minsz, d) ? -EFAULT : 0;
    };
    if (iova & (min_pgsize - 1)) return done();
    if (unmap_all) {
        if (iova || size) return done();
        size = ~std::uint64_t(0);
    } else if (!size || (size & (min_pgsize - 1)) || iova + size - 1 < iova) {
        return done();
    }
    // v2: no mapping may be bisected by the range (EINVAL); v1 unmaps from
    // the first mapping that starts inside the range, whole, and stops at
    // one that starts before it (success, 0 bytes).
    if (v2_ && !unmap_all) {
        const state::dma* first = s_->find(iova, 1);
        if (first && first->iova != iova) return done();
        const state::dma* last = s_->find(iova + size - 1, 0);
        if (last && last->iova + last->size != iova + size) return done();
    }
    ret = 0;
    // vfio_find_dma_first_node: the lowest mapping overlapping the range.
    auto it = s_->dmas.lower_bound(iova);
    if (it != s_->dmas.begin()) {
        auto prev = std::prev(it);
        if (prev->second.iova + prev->second.size - 1 >= iova) it = prev;
    }
    const auto first_it = it;
    while (it != s_->dmas.end()) {
        state::dma& m = it->second;
        if (m.iova > iova + size - 1) break;
        if (!v2_ && iova > m.iova) break;
        if (invalidate_vaddr) {
            if (m.vaddr_invalid) {
                for (auto u = first_it; u != it; ++u) u->second.vaddr_invalid = false;
                ret = -EINVAL;
                unmapped = 0;
                break;
            }
            m.vaddr_invalid = true;
            unmapped += m.size;
            ++it;
            continue;
        }
        unmapped += m.size;
        std::uint64_t gone = 0;
        k_.hyp().io_space_unmap(space_, m.iova, m.size, gone, d);
        unpin(k_, m.pinned, m.pid, m.lock_cap, m.pinned.size());
        ++s_->dma_avail;
        it = s_->dmas.erase(it);
    }
    return done();
}

// vfio_iommu_type1_dirty_pages (6.1): the argument checks, START and STOP.
// Bitmaps are not modelled: GET_BITMAP is refused as 6.1 refuses it while
// tracking is off (EINVAL), and with tracking on as well.
long type1::dirty_pages(process& p, std::uint64_t arg, sc_core::sc_time& d) {
    if (!v2_) return -EACCES;
    constexpr std::uint32_t minsz = 8;
    std::uint8_t b[minsz];
    if (p.copy_from_user(b, arg, minsz, d)) return -EFAULT;
    const std::uint32_t argsz = get32(b), flags = get32(b + 4);
    const std::uint32_t mask =
        VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP | VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
    if (argsz < minsz || (flags & ~mask)) return -EINVAL;
    // Exactly one flag (__ffs(flags) != __fls(flags) is also true for 0's undefined result).
    if (!flags || (flags & (flags - 1))) return -EINVAL;
    if (flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
        s_->dirty_tracking = true;
        return 0;
    }
    if (flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
        s_->dirty_tracking = false;
        return 0;
    }
    return -EINVAL;
}

} // namespace iotwin::guest::vfio
