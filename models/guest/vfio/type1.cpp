// The type1 IOMMU backend (drivers/vfio/vfio_iommu_type1.c).
#include <algorithm>
#include <cerrno>
#include <map>

#include "models/guest/kernel.h"
#include "models/guest/process.h"
#include "models/guest/vfio/vfio.h"
#include "models/hyp/hypervisor.h"

namespace iotwin::guest::vfio {

struct type1::state {
    struct dma {
        std::uint64_t iova = 0, size = 0, vaddr = 0;
        bool read = false, write = false;
    };
    std::map<std::uint64_t, dma> dmas;  // by IOVA
};

type1::type1(kernel& k, host& h, bool v2, const type1_params& p)
    : k_(k), h_(h), v2_(v2), p_(p), s_(std::make_unique<state>()) {}
type1::~type1() = default;

long type1::attach_group(group& g, sc_core::sc_time& d) {
    if (!space_) {
        const int s = k_.hyp().create_io_space(k_.domid(), d);
        if (s < 0) return s;
        space_ = s;
    }
    // Bridges of the group stay with the host: they issue no DMA of their own.
    for (const pci_dev& p : h_.group_devices(g.id))
        if (!p.bridge)
            if (const int e = k_.hyp().io_space_attach(space_, p.rid, d)) return -e;
    groups_.push_back(&g);
    return 0;
}

void type1::detach_group(group& g, sc_core::sc_time& d) {
    for (const pci_dev& p : h_.group_devices(g.id))
        if (!p.bridge) k_.hyp().io_space_detach(space_, p.rid, d);
    groups_.erase(std::remove(groups_.begin(), groups_.end(), &g), groups_.end());
}

long type1::ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) {
    switch (cmd) {
    case VFIO_CHECK_EXTENSION:
        return arg == VFIO_TYPE1_IOMMU || arg == VFIO_TYPE1v2_IOMMU ? 1 : 0;
    case VFIO_IOMMU_MAP_DMA: {
        std::uint8_t b[32] = {};
        if (p.copy_from_user(b, arg, sizeof b, d)) return -EFAULT;
        auto u32 = [&](unsigned o) { std::uint32_t v = 0; for (unsigned i = 0; i < 4; ++i) v |= std::uint32_t(b[o + i]) << (8 * i); return v; };
        auto u64 = [&](unsigned o) { return std::uint64_t(u32(o)) | std::uint64_t(u32(o + 4)) << 32; };
        state::dma m{u64(16), u64(24), u64(8), (u32(4) & VFIO_DMA_MAP_FLAG_READ) != 0, (u32(4) & VFIO_DMA_MAP_FLAG_WRITE) != 0};
        for (std::uint64_t off = 0; off < m.size; off += page_size) {
            const auto gpa = p.user_gpa(m.vaddr + off);
            if (!gpa) return -EFAULT;
            if (const int e = k_.hyp().io_space_map(space_, m.iova + off, *gpa, page_size, m.read, m.write, d)) return -e;
        }
        s_->dmas[m.iova] = m;
        return 0;
    }
    default:
        return -ENOTTY;
    }
}

void type1::release(sc_core::sc_time& d) {
    for (group* g : std::vector<group*>(groups_)) detach_group(*g, d);
    if (space_) k_.hyp().destroy_io_space(space_, d);
    space_ = 0;
    s_->dmas.clear();
}

} // namespace iotwin::guest::vfio
