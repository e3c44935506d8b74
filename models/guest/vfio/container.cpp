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

long container_file::ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) {
    switch (cmd) {
    case VFIO_GET_API_VERSION:
        return VFIO_API_VERSION;
    case VFIO_CHECK_EXTENSION:
        if (c->iommu) return c->iommu->ioctl(p, cmd, arg, d);
        return arg == VFIO_TYPE1_IOMMU || arg == VFIO_TYPE1v2_IOMMU ? 1 : 0;
    case VFIO_SET_IOMMU: {
        if (c->groups.empty() || c->iommu) return -EINVAL;
        if (arg != VFIO_TYPE1_IOMMU && arg != VFIO_TYPE1v2_IOMMU) return -EINVAL;
        core& co = core_of(c->k);
        auto t = std::make_shared<type1>(c->k, *co.h, arg == VFIO_TYPE1v2_IOMMU, co.type1);
        for (group* g : c->groups)
            if (const long e = t->attach_group(*g, d)) {
                t->release(d);
                return e;
            }
        c->iommu = t;
        return 0;
    }
    default:
        return c->iommu ? c->iommu->ioctl(p, cmd, arg, d) : -EINVAL;
    }
}

void container_file::release(sc_core::sc_time& d) {
    (void)d;
    c.reset();
}

long container::attach_group(group& g, sc_core::sc_time& d) {
    if (iommu)
        if (const long e = iommu->attach_group(g, d)) return e;
    groups.push_back(&g);
    return 0;
}

void container::detach_group(group& g, sc_core::sc_time& d) {
    if (iommu) iommu->detach_group(g, d);
    groups.erase(std::remove(groups.begin(), groups.end(), &g), groups.end());
    // The last group gone takes the IOMMU with it (__vfio_group_unset_container).
    if (groups.empty() && iommu) {
        iommu->release(d);
        iommu.reset();
    }
}

} // namespace iotwin::guest::vfio
