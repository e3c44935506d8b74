// The hypervisor's IO page tables: per-domain mappings (grant mappings and
// iommu_map) and the IO spaces of the host kernel's IOMMU domains.
//
// An unmap clears the entries of its range, then invalidates the IOTLB once
// for the whole range (Linux's iommu_unmap + iotlb_sync): at once for a
// strict domain and for IO spaces (VFIO type1 unmaps synchronously), or
// through the domain's flush queue for a deferred one (flush_queue.h).
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "models/hyp/hypervisor.h"

#include <cerrno>

namespace iotwin::hyp {

using namespace sc_core;

namespace {
constexpr std::uint64_t page = 4096;
} // namespace

int hypervisor::iommu_map_frame(domid_t dom, std::uint64_t maddr, bool write, sc_time& d) {
    domain* x = find(dom);
    if (!x) return ESRCH;
    maddr &= ~(page - 1);
    int e = vtd_.map_page(x->iommu_pgd, maddr, maddr, true, write, d);
    // Inside a superpage of the domain's own iommu_map: left as it is (a
    // grant mapping never splits or replaces it).
    if (e == EEXIST && vtd_.mapped_level(x->iommu_pgd, maddr, d) > 1) return EEXIST;
    if (e == EEXIST) {
        // Changing the permission of an existing entry: unmap (with its
        // invalidation) and map again, as iommu_legacy_map replaces it.
        vtd_.unmap_page(x->iommu_did, x->iommu_pgd, maddr, d);
        e = vtd_.map_page(x->iommu_pgd, maddr, maddr, true, write, d);
    }
    if (!e) ++mapped_pages_;
    return e;
}

int hypervisor::iommu_unmap_frame(domid_t dom, std::uint64_t maddr, sc_time& d) {
    domain* x = find(dom);
    if (!x) return ESRCH;
    if (vtd_.mapped_level(x->iommu_pgd, maddr & ~(page - 1), d) > 1) return ENOENT;  // not a grant mapping's page
    const int e = vtd_.unmap_page(x->iommu_did, x->iommu_pgd, maddr & ~(page - 1), d);
    if (!e) ++unmapped_pages_;
    return e;
}

int hypervisor::iommu_map(domid_t dom, std::uint64_t iova, std::uint64_t gpa, std::uint64_t size, bool read, bool write,
                          sc_time& d) {
    domain* x = find(dom);
    if (!x) return ESRCH;
    return map_io(dom, x->iommu_did, x->iommu_pgd, *x, iova, gpa, size, read, write, d);
}

int hypervisor::map_io(std::uint32_t tag, std::uint16_t did, std::uint64_t pgd, const domain& x, std::uint64_t iova,
                       std::uint64_t gpa, std::uint64_t size, bool read, bool write, sc_time& d) {
    if (size == 0 || (iova | gpa | size) & (page - 1) || (!read && !write)) return EINVAL;
    if (iova + size < iova || (iova + size - 1) >> vtd_.width()) return EINVAL;
    if (!x.covers(gpa, size)) return EFAULT;
    // Every 2 MiB of IOVA the range touches needs a leaf table (fewer
    // where superpages map it); when the heap cannot hold that many (beside
    // those that may exist), the map fails at once instead of mapping
    // millions of pages to undo them.
    // (IOVA and guest address equally aligned within 2 MiB: superpages can
    // map all but a head and a tail.)
    const bool big = vtd_.supports_order(9) && ((iova ^ gpa) & ((page << 9) - 1)) == 0;
    const std::uint64_t leaf_tables = big ? ((iova + size - 1) >> 30) - (iova >> 30) + 3
                                          : ((iova + size - 1) >> 21) - (iova >> 21) + 1;
    if (leaf_tables > pool_.available() + vtd_.tables_allocated()) return ENOMEM;
    // The largest page the unit supports wherever the IOVA, the machine
    // address and the rest of the size are aligned to it and the guest
    // range is machine-contiguous (Linux 6.1 iommu.c hardware_largepage_caps()
    // and __domain_mapping(); Xen's iommu_map() with an order).
    for (std::uint64_t off = 0; off < size;) {
        unsigned order = 0;
        std::uint64_t m = 0;
        for (const unsigned o : {18u, 9u}) {
            const std::uint64_t len = page << o;
            if (!vtd_.supports_order(o) || size - off < len || ((iova + off) & (len - 1))) continue;
            const auto mm = x.to_machine(gpa + off, len);
            if (!mm || (*mm & (len - 1))) continue;
            order = o;
            m = *mm;
            break;
        }
        if (!order) m = *x.to_machine(gpa + off, page);
        int e = vtd_.map(pgd, iova + off, m, order, read, write, d);
        // A table already holds smaller pages in a superpage's slot: map
        // this stretch with the next smaller size.
        while (e == EBUSY && order) {
            order -= 9;
            e = vtd_.map(pgd, iova + off, m, order, read, write, d);
        }
        if (e) {
            // Undo what this call mapped: a failed map changes nothing.
            std::uint64_t pages = 0;
            if (off) vtd_.unmap_range(did, pgd, iova, off, pages, d);
            io_unmapped(tag, iova, off);
            return e;
        }
        const std::uint64_t len = page << order;
        for (std::uint64_t p = 0; p < len; p += page) {
            io_shadow_[{tag, iova + off + p}] = m + p;
            ++io_refs_[m + p];
        }
        mapped_pages_ += len / page;
        off += len;
    }
    return 0;
}

void hypervisor::io_unmapped(std::uint32_t tag, std::uint64_t iova, std::uint64_t size) {
    for (auto it = io_shadow_.lower_bound({tag, iova}); it != io_shadow_.end() && it->first.first == tag && it->first.second - iova < size;) {
        if (--io_refs_[it->second] == 0) io_refs_.erase(it->second);
        it = io_shadow_.erase(it);
    }
}

int hypervisor::iommu_unmap(domid_t dom, std::uint64_t iova, std::uint64_t size, std::uint64_t& unmapped, sc_time& d) {
    unmapped = 0;
    domain* x = find(dom);
    if (!x) return ESRCH;
    return unmap_io(dom, x->iommu_did, x->iommu_pgd, iova, size, unmapped, d);
}

int hypervisor::unmap_io(std::uint32_t tag, std::uint16_t did, std::uint64_t pgd, std::uint64_t iova, std::uint64_t size,
                         std::uint64_t& unmapped, sc_time& d) {
    unmapped = 0;
    // The same range check as map_io: an IOVA beyond the address width
    // must not alias a low one in the tables.
    if (size == 0 || (iova | size) & (page - 1)) return EINVAL;
    if (iova + size < iova || (iova + size - 1) >> vtd_.width()) return EINVAL;
    // A superpage the range touches goes whole (Linux 6.1 intel_iommu_unmap()):
    // `unmapped` may exceed `size`, and the shadow follows the tables.
    std::uint64_t pages = 0, lo = 0, hi = 0;
    vtd_.begin_batch();
    vtd_.unmap_range(did, pgd, iova, size, pages, lo, hi, d);
    vtd_driver::unmapped_range r = vtd_.end_batch();
    if (r.any && lo <= hi) {
        // The flush covers every superpage unmapped whole.
        r.first = std::min(r.first, lo >> 12);
        r.last = std::max(r.last, hi >> 12);
    }
    domain* x = tag < io_space_tag ? find(static_cast<domid_t>(tag)) : nullptr;
    if (r.any) {
        if (x && x->iommu_invalidation == invalidation_mode::deferred) defer_invalidation(*x, d);
        else vtd_.flush_iotlb_range(r.did, r.first, r.last, d);
    }
    io_unmapped(tag, iova, size);
    if (lo <= hi) io_unmapped(tag, lo, hi - lo + 1);
    unmapped = pages * page;
    unmapped_pages_ += pages;
    return 0;
}

int hypervisor::create_io_space(domid_t owner, sc_time& d) {
    const domain* x = find(owner);
    if (!x || x->released) return -ESRCH;
    if (!x->privileged) return -EPERM;
    io_space s;
    s.owner = owner;
    // Domain IDs of IO spaces follow the domains' (domid + 1) from 0x8000 on,
    // above every domid Xen hands out (DOMID_FIRST_RESERVED is 0x7ff0).
    s.did = static_cast<std::uint16_t>(0x8000 + next_io_space_);
    s.pgd = vtd_.new_table(d, true);  // an unmanaged domain (VFIO type1)
    if (!s.pgd) return -ENOMEM;
    const int id = next_io_space_++;
    io_spaces_[id] = s;
    return id;
}

int hypervisor::destroy_io_space(int space, sc_time& d) {
    const auto it = io_spaces_.find(space);
    if (it == io_spaces_.end()) return ESRCH;
    for (const std::uint16_t sid : std::vector<std::uint16_t>(it->second.devices)) io_space_detach(space, sid, d);
    std::uint64_t unmapped = 0;
    unmap_io(io_space_tag + static_cast<std::uint32_t>(space), it->second.did, it->second.pgd, 0, std::uint64_t(1) << vtd_.width(),
             unmapped, d);
    io_spaces_.erase(it);
    return 0;
}

int hypervisor::io_space_attach(int space, std::uint16_t sid, sc_time& d) {
    const auto it = io_spaces_.find(space);
    if (it == io_spaces_.end()) return ESRCH;
    io_space& s = it->second;
    if (device_owner(sid) != s.owner) return EPERM;
    if (std::find(s.devices.begin(), s.devices.end(), sid) != s.devices.end()) return 0;
    if (const int e = vtd_.attach(sid, s.did, s.pgd, d)) return e;
    s.devices.push_back(sid);
    return 0;
}

int hypervisor::io_space_detach(int space, std::uint16_t sid, sc_time& d) {
    const auto it = io_spaces_.find(space);
    if (it == io_spaces_.end()) return ESRCH;
    io_space& s = it->second;
    const auto at = std::find(s.devices.begin(), s.devices.end(), sid);
    if (at == s.devices.end()) return ENOENT;
    s.devices.erase(at);
    const domain* x = find(s.owner);
    return x ? vtd_.attach(sid, x->iommu_did, x->iommu_pgd, d) : 0;
}

int hypervisor::io_space_map(int space, std::uint64_t iova, std::uint64_t gpa, std::uint64_t size, bool read, bool write,
                             sc_time& d) {
    const auto it = io_spaces_.find(space);
    const domain* x = it == io_spaces_.end() ? nullptr : find(it->second.owner);
    if (!x) return ESRCH;
    return map_io(io_space_tag + static_cast<std::uint32_t>(space), it->second.did, it->second.pgd, *x, iova, gpa, size,
                  read, write, d);
}

int hypervisor::io_space_unmap(int space, std::uint64_t iova, std::uint64_t size, std::uint64_t& unmapped, sc_time& d) {
    unmapped = 0;
    const auto it = io_spaces_.find(space);
    if (it == io_spaces_.end()) return ESRCH;
    return unmap_io(io_space_tag + static_cast<std::uint32_t>(space), it->second.did, it->second.pgd, iova, size, unmapped,
                    d);
}

std::vector<std::uint16_t> hypervisor::io_space_devices(int space) const {
    const auto it = io_spaces_.find(space);
    return it == io_spaces_.end() ? std::vector<std::uint16_t>{} : it->second.devices;
}

// queue_iova (Linux 6.1 dma-iommu.c): a full queue is flushed first, then
// the entry goes in; the first entry since the timer last fired arms it
// for IOVA_FQ_TIMEOUT.
void hypervisor::defer_invalidation(domain& x, sc_time& d) {
    if (x.iotlb_fq.full()) flush_deferred(x, d);
    ++fq_queued_;
    if (!x.iotlb_fq.push()) return;
    const domid_t dom = x.id;
    const std::uint64_t generation = x.iotlb_fq.armed();
    const sc_time fire = sc_time_stamp() + d + flush_queue::timeout();
    sc_spawn_options opts;
    sc_spawn(
        [this, dom, generation, fire] {
            wait(fire - sc_time_stamp());
            domain* y = find(dom);
            if (!y || !y->iotlb_fq.timer_on() || y->iotlb_fq.armed() != generation) return;
            // fq_flush_timeout: the timer is off again, the queue flushed.
            y->iotlb_fq.timer_fired();
            sc_time fd = SC_ZERO_TIME;
            flush_deferred(*y, fd);
        },
        sc_gen_unique_name("iova_fq_timer"), &opts);
}

// fq_flush_iotlb: flush_iotlb_all, which intel-iommu carries out as a
// domain-selective IOTLB invalidation (intel_flush_iotlb_all).
void hypervisor::flush_deferred(domain& x, sc_time& d) {
    if (x.iotlb_fq.empty()) return;
    vtd_.flush_iotlb(2, x.iommu_did, 0, 0, d);
    x.iotlb_fq.flushed();
    ++fq_flushes_;
}

int hypervisor::iommu_flush(domid_t dom, sc_time& d) {
    domain* x = find(dom);
    if (!x) return ESRCH;
    flush_deferred(*x, d);
    return 0;
}

} // namespace iotwin::hyp
