// The group file, /dev/vfio/N (Linux 6.1, drivers/vfio/vfio_main.c:
// vfio_group_fops_open/release, vfio_group_ioctl_get_status,
// vfio_group_ioctl_set_container, vfio_group_ioctl_unset_container,
// vfio_group_ioctl_get_device_fd, vfio_device_open and
// vfio_device_fops_release; drivers/vfio/container.c:
// vfio_container_attach_group, vfio_group_detach_container,
// vfio_device_assign_container; drivers/vfio/pci/vfio_pci_core.c:
// vfio_pci_core_match). Every errno below is the one the named function
// returns for that case in 6.1 (docs/drivers/vfio-group.md has the table).
#include <algorithm>
#include <cerrno>
#include <cctype>

#include "models/guest/kernel.h"
#include "models/guest/process.h"
#include "models/guest/vfio/vfio.h"

namespace iotwin::guest::vfio {

namespace {

constexpr std::uint64_t page = 4096;

// vfio_group_fops_open: one open file per group at a time.
long group_open(const std::shared_ptr<group>& g, file_ref& out) {
    if (g->opened) return -EBUSY;
    auto f = std::make_shared<group_file>(g);
    g->opened = true;
    g->opened_file = f;
    out = f;
    return 0;
}

// vfio_group_detach_container: the container's side (container::detach_group)
// lets the backend and the group's DMA ownership go; the container keeps its
// IOMMU while other groups remain.
void detach(group& g, sc_core::sc_time& d) {
    g.owner->detach_group(g, d);
    g.owner.reset();
    g.container_users = 0;
}

// strnlen_user(): the length with its NUL, 0 when the string runs into an
// address the process cannot read, more than `n` when no NUL comes within `n` bytes.
std::uint64_t strnlen_user(process& p, std::uint64_t addr, std::uint64_t n, std::string& out, sc_core::sc_time& d) {
    std::uint64_t done = 0;
    out.clear();
    while (done < n) {
        const std::uint64_t at = addr + done;
        if (at < addr) return 0;  // wrapped past the top of the address space
        const std::uint64_t chunk = std::min(n - done, page - at % page);
        std::string buf(chunk, '\0');
        if (p.copy_from_user(buf.data(), at, chunk, d)) return 0;
        const auto nul = buf.find('\0');
        if (nul != std::string::npos) {
            out += buf.substr(0, nul);
            return done + nul + 1;
        }
        out += buf;
        done += chunk;
    }
    return n + 1;
}

// uuid_is_valid(): 8-4-4-4-12 hexadecimal digits.
bool uuid_valid(const std::string& s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
        } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
            return false;
        }
    }
    return true;
}

// vfio_pci_core_match: the device's name, optionally followed by spaces and
// one `vf_token=<uuid>`. 1: it names this device; 0: it does not; -errno: it
// names it with options the device refuses (which ends the search).
int match(const std::string& name, const std::string& buf) {
    if (buf.compare(0, name.size(), name) != 0) return 0;
    bool vf_token = false;
    std::size_t i = name.size();
    if (buf.size() > i) {
        if (buf[i] != ' ') return 0;  // not a separator after the name
        while (i < buf.size()) {
            if (buf[i] == ' ') {
                ++i;
                continue;
            }
            if (vf_token || buf.compare(i, 9, "vf_token=") != 0) return -EINVAL;  // unknown or repeated option
            i += 9;
            if (buf.size() - i < 36) return -EINVAL;                     // shorter than UUID_STRING_LEN
            if (!uuid_valid(buf.substr(i, 36))) return -EINVAL;          // uuid_parse
            vf_token = true;
            i += 36;
        }
    }
    // vfio_pci_validate_vf_token: a token for a function that is neither an
    // SR-IOV VF nor a PF with VFs is refused (the twin's vfio-pci functions
    // are of that kind: docs/drivers/vfio-group.md).
    if (vf_token) return -EINVAL;
    return 1;
}

long get_status(group& g, process& p, std::uint64_t arg, sc_core::sc_time& d) {
    // minsz = offsetofend(struct vfio_group_status, flags) = 8
    std::uint32_t st[2] = {};
    if (p.copy_from_user(st, arg, sizeof st, d)) return -EFAULT;
    if (st[0] < sizeof st) return -EINVAL;
    const host* h = core_of(g.k).h;
    st[1] = 0;
    if (g.owner) st[1] = VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE;
    else if (h && !h->dma_owner_claimed(g.id)) st[1] = VFIO_GROUP_FLAGS_VIABLE;
    return p.copy_to_user(arg, st, sizeof st, d) ? -EFAULT : 0;
}

long set_container(group& g, process& p, std::uint64_t arg, sc_core::sc_time& d) {
    std::int32_t fd = 0;
    if (p.copy_from_user(&fd, arg, sizeof fd, d)) return -EFAULT;  // get_user
    const file_ref f = p.lookup(fd);
    if (!f) return -EBADF;  // fdget
    if (g.owner) return -EINVAL;
    // vfio_container_from_file: only /dev/vfio/vfio's files are containers.
    const auto cf = std::dynamic_pointer_cast<container_file>(f);
    if (!cf || !cf->c) return -EINVAL;
    if (!core_of(g.k).h) return -EINVAL;
    // vfio_container_attach_group (container::attach_group): the group's DMA
    // taken from the kernel first (iommu_group_claim_dma_owner: -EPERM while
    // a function of the group is bound to a driver that uses the DMA API),
    // then the backend's attach when the container has one.
    if (const long e = cf->c->attach_group(g, d)) return e;
    g.owner = cf->c;
    g.container_users = 1;
    return 0;
}

long unset_container(group& g, sc_core::sc_time& d) {
    if (!g.owner) return -EINVAL;
    if (g.container_users != 1) return -EBUSY;  // device files are open
    detach(g, d);
    return 0;
}

long get_device_fd(const std::shared_ptr<group>& g, process& p, std::uint64_t arg, sc_core::sc_time& d) {
    kernel& k = g->k;
    // strndup_user(arg, PAGE_SIZE)
    std::string name;
    const std::uint64_t len = strnlen_user(p, arg, page, name, d);
    if (len == 0) return -EFAULT;
    if (len > page) return -EINVAL;
    if (k.kmalloc_fails()) return -ENOMEM;  // memdup_user
    // vfio_device_get_from_name: the group's devices in turn, the first
    // match wins and a match error ends the search.
    std::shared_ptr<device> dev;
    for (const auto& it : g->devices()) {
        const int m = match(it->dev.name, name);
        if (m < 0) return m;
        if (m) {
            dev = it;
            break;
        }
    }
    if (!dev) return -ENODEV;
    if (const int fd = p.next_fd(); fd < 0) return fd;  // get_unused_fd_flags: -EMFILE
    // vfio_device_open -> vfio_device_assign_container: a container with an
    // IOMMU backend is needed; the device file then holds the group's file.
    if (!g->owner || !g->owner->iommu || g->container_users == 0) return -EINVAL;
    const file_ref self = g->opened_file.lock();
    if (!self) return -EINVAL;
    k.fget(self);
    ++g->container_users;
    // The first open enables the device (->open_device, vfio_pci_core_enable).
    // Linux 6.1 counts opens and lets the same device be opened again.
    ++dev->open_count;
    if (dev->open_count == 1)
        if (const long e = pci_enable(*dev, d)) {
            --dev->open_count;
            --g->container_users;
            k.fput(self, d);
            return e;
        }
    auto f = std::make_shared<device_file>(g, dev);
    core_of(k).group_file_refs[f.get()] = self;
    return p.install(f);
}

} // namespace

long open_group(kernel& k, unsigned id, file_ref& out, sc_core::sc_time& d) {
    (void)d;
    const auto live = group_numbers(k);
    if (std::find(live.begin(), live.end(), id) == live.end()) return -ENOENT;  // no /dev/vfio/N
    auto& g = core_of(k).groups[id];
    if (!g) g = std::make_shared<group>(k, id);
    return group_open(g, out);
}

// vfio_group_fops_unl_ioctl: the request is the syscall's 32-bit `cmd`.
long group_file::ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) {
    switch (static_cast<std::uint32_t>(cmd)) {
    case VFIO_GROUP_GET_DEVICE_FD:
        return get_device_fd(g, p, arg, d);
    case VFIO_GROUP_GET_STATUS:
        return get_status(*g, p, arg, d);
    case VFIO_GROUP_SET_CONTAINER:
        return set_container(*g, p, arg, d);
    case VFIO_GROUP_UNSET_CONTAINER:
        return unset_container(*g, d);
    default:
        return -ENOTTY;
    }
}

// vfio_group_fops_release: runs when the last reference goes, so after
// every device file opened through it has been released.
void group_file::release(sc_core::sc_time& d) {
    if (g->owner) detach(*g, d);
    g->opened = false;
    g->opened_file.reset();
}

// vfio_device_unassign_container: container_users down, fput(group->opened_file).
void put_group_file(device_file& f, sc_core::sc_time& d) {
    core& c = core_of(f.g->k);
    const auto it = c.group_file_refs.find(&f);
    if (it == c.group_file_refs.end()) return;
    const file_ref ref = it->second;
    c.group_file_refs.erase(it);
    if (f.g->container_users > 1) --f.g->container_users;
    f.g->k.fput(ref, d);
}

} // namespace iotwin::guest::vfio
