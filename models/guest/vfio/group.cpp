// The group file (/dev/vfio/N, drivers/vfio/group.c in Linux 6.1's vfio_main.c).
#include <algorithm>
#include <cerrno>

#include "models/guest/kernel.h"
#include "models/guest/process.h"
#include "models/guest/vfio/vfio.h"

namespace iotwin::guest::vfio {

long open_group(kernel& k, unsigned id, file_ref& out, sc_core::sc_time& d) {
    (void)d;
    const auto live = group_numbers(k);
    if (std::find(live.begin(), live.end(), id) == live.end()) return -ENOENT;
    auto& g = core_of(k).groups[id];
    if (!g) g = std::make_shared<group>(k, id);
    if (g->opened) return -EBUSY;
    g->opened = true;
    out = std::make_shared<group_file>(g);
    return 0;
}

long group_file::ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) {
    switch (cmd) {
    case VFIO_GROUP_GET_STATUS: {
        std::uint32_t st[2] = {};
        if (p.copy_from_user(st, arg, sizeof st, d)) return -EFAULT;
        st[1] = g->owner ? VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET : VFIO_GROUP_FLAGS_VIABLE;
        return p.copy_to_user(arg, st, sizeof st, d) ? -EFAULT : 0;
    }
    case VFIO_GROUP_SET_CONTAINER: {
        std::int32_t fd = 0;
        if (p.copy_from_user(&fd, arg, sizeof fd, d)) return -EFAULT;
        auto cf = std::dynamic_pointer_cast<container_file>(p.lookup(fd));
        if (!cf) return -EBADF;
        if (g->owner) return -EINVAL;
        if (const long e = cf->c->attach_group(*g, d)) return e;
        g->owner = cf->c;
        return 0;
    }
    case VFIO_GROUP_UNSET_CONTAINER:
        if (!g->owner) return -EINVAL;
        g->owner->detach_group(*g, d);
        g->owner.reset();
        return 0;
    case VFIO_GROUP_GET_DEVICE_FD: {
        char name[64] = {};
        for (unsigned i = 0; i + 1 < sizeof name; ++i) {
            if (p.copy_from_user(&name[i], arg + i, 1, d)) return -EFAULT;
            if (!name[i]) break;
        }
        if (!g->owner || !g->owner->iommu) return -EINVAL;
        for (const auto& dev : g->devices()) {
            if (dev->dev.name != name) continue;
            if (dev->open_count == 0)
                if (const long e = pci_enable(*dev, d)) return e;
            ++dev->open_count;
            return p.install(std::make_shared<device_file>(g, dev));
        }
        return -ENODEV;
    }
    default:
        return -ENOTTY;
    }
}

void group_file::release(sc_core::sc_time& d) {
    if (g->owner) {
        g->owner->detach_group(*g, d);
        g->owner.reset();
    }
    g->opened = false;
}

} // namespace iotwin::guest::vfio
