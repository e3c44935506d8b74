// The container file (/dev/vfio/vfio, drivers/vfio/container.c).
#include <algorithm>
#include <cerrno>

#include "models/guest/kernel.h"
#include "models/guest/vfio/vfio.h"

namespace iotwin::guest::vfio {

container_file::container_file(kernel& k) : c(std::make_shared<container>(k)) {}

long open_container(kernel& k, file_ref& out, sc_core::sc_time& d) {
    (void)d;
    if (!core_of(k).h) return -ENOENT;  // a kernel without VFIO has no /dev/vfio/vfio
    if (k.kmalloc_fails()) return -ENOMEM;
    out = std::make_shared<container_file>(k);
    return 0;
}

// vfio_fops_unl_ioctl (6.1 drivers/vfio/container.c): the three ioctls of
// the container itself, every other one passed to the backend when there
// is one (its unknown ones are ENOTTY), EINVAL without.
long container_file::ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) {
    switch (cmd) {
    case VFIO_GET_API_VERSION:
        return VFIO_API_VERSION;
    case VFIO_CHECK_EXTENSION:
        // vfio_container_ioctl_check_extension: with a backend, its answer;
        // without, the first positive answer of the registered backends
        // asked with no IOMMU (type1 only: no noiommu mode here).
        if (c->iommu) return c->iommu->ioctl(p, cmd, arg, d);
        return type1::check_extension(nullptr, arg);
    case VFIO_SET_IOMMU:
        return c->set_iommu(arg, d);
    default:
        return c->iommu ? c->iommu->ioctl(p, cmd, arg, d) : -EINVAL;
    }
}

// vfio_ioctl_set_iommu (6.1): EINVAL without a group or with a backend
// already set; ENODEV when no backend supports the type (CHECK_EXTENSION
// with no IOMMU answers 0); then the backend's open (EINVAL for an
// extension that is not an IOMMU type, such as VFIO_UNMAP_ALL; ENOMEM) and
// its attach of every group (__vfio_container_attach_groups, undone on the
// first failure, whose errno is returned).
long container::set_iommu(unsigned long type, sc_core::sc_time& d) {
    if (groups.empty() || iommu) return -EINVAL;
    if (type1::check_extension(nullptr, type) <= 0) return -ENODEV;
    if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU && type != VFIO_TYPE1_NESTING_IOMMU) return -EINVAL;
    if (k.kmalloc_fails()) return -ENOMEM;
    core& co = core_of(k);
    auto t = std::make_shared<type1>(k, *co.h, type, co.type1);
    // The group list is kept newest first (list_add), and walked so.
    for (auto it = groups.rbegin(); it != groups.rend(); ++it)
        if (const long e = t->attach_group(**it, d)) {
            t->release(d);
            return e;
        }
    iommu = t;
    return 0;
}

void container_file::release(sc_core::sc_time& d) {
    (void)d;
    // vfio_fops_release: the file's reference goes; attached groups keep the container.
    c.reset();
}

// vfio_container_attach_group (6.1): the group's DMA ownership is claimed
// for VFIO (iommu_group_claim_dma_owner), then the backend, if set,
// attaches it; a failure gives the ownership back.
long container::attach_group(group& g, sc_core::sc_time& d) {
    host& h = *core_of(k).h;
    if (const int e = h.claim_dma_owner(g.id, &g)) return -e;
    if (iommu)
        if (const long e = iommu->attach_group(g, d)) {
            h.release_dma_owner(g.id, &g);
            return e;
        }
    groups.push_back(&g);
    return 0;
}

// vfio_container_detach_group (6.1): the backend detaches the group, its
// DMA ownership goes back, and the last group gone takes the backend with
// it (the container returns to its unset state).
void container::detach_group(group& g, sc_core::sc_time& d) {
    if (iommu) iommu->detach_group(g, d);
    core_of(k).h->release_dma_owner(g.id, &g);
    groups.erase(std::remove(groups.begin(), groups.end(), &g), groups.end());
    if (groups.empty() && iommu) {
        iommu->release(d);
        iommu.reset();
    }
}

} // namespace iotwin::guest::vfio
