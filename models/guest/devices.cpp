#include "models/guest/devices.h"

#include <cerrno>
#include <functional>
#include <optional>
#include <utility>

#include "models/guest/eventfd.h"
#include "models/guest/gntalloc.h"
#include "models/guest/gntdev.h"
#include "models/guest/kernel.h"
#include "models/guest/lguest.h"
#include "models/guest/vfio/vfio.h"
#include "models/guest/xenevtchn.h"

namespace iotwin::guest {

namespace {

// A driver's ->open: 0 with the new file in `out`, or -errno.
using opener = std::function<long(kernel& k, file_ref& out, sc_core::sc_time& d)>;

// A driver whose ->open allocates its per-file data (ENOMEM when that fails).
template <class F> long made(kernel& k, file_ref& out) {
    if (k.kmalloc_fails()) return -ENOMEM;
    out = std::make_shared<F>(k);
    return 0;
}

const std::vector<std::pair<std::string, opener>>& devices() {
    static const std::vector<std::pair<std::string, opener>> table = {
        {"/dev/null", [](kernel&, file_ref& out, sc_core::sc_time&) { out = std::make_shared<null_file>(); return 0L; }},
        // evtchn_open: kzalloc of the per-user data.
        {"/dev/xen/evtchn", [](kernel& k, file_ref& out, sc_core::sc_time&) { return made<xenevtchn>(k, out); }},
        // gntalloc_open and gntdev_open: kzalloc of the per-file data.
        {"/dev/xen/gntalloc", [](kernel& k, file_ref& out, sc_core::sc_time&) { return made<gntalloc>(k, out); }},
        {"/dev/xen/gntdev", [](kernel& k, file_ref& out, sc_core::sc_time&) { return made<gntdev>(k, out); }},
        {"/dev/lguest", [](kernel& k, file_ref& out, sc_core::sc_time&) { out = std::make_shared<lguest_file>(k); return 0L; }},
        {"/dev/vfio/vfio", [](kernel& k, file_ref& out, sc_core::sc_time& d) { return vfio::open_container(k, out, d); }},
    };
    return table;
}

// /dev/vfio/N: the group's number in decimal, as the device node is named.
std::optional<unsigned> vfio_group_path(const std::string& path) {
    const std::string prefix = "/dev/vfio/";
    if (path.rfind(prefix, 0) != 0 || path.size() == prefix.size() || path.size() > prefix.size() + 9) return std::nullopt;
    const std::string n = path.substr(prefix.size());
    if (n.find_first_not_of("0123456789") != std::string::npos || (n.size() > 1 && n[0] == '0')) return std::nullopt;
    return static_cast<unsigned>(std::stoul(n));
}

}  // namespace

long open_path(process& p, const std::string& path, sc_core::sc_time& d) {
    for (const auto& [where, open] : devices()) {
        if (where != path) continue;
        // do_sys_open: a descriptor first, then the driver's ->open.
        if (const int fd = p.next_fd(); fd < 0) return fd;
        file_ref f;
        if (const long e = open(p.kern(), f, d)) return e;
        return p.install(f);
    }
    if (const auto g = vfio_group_path(path)) {
        if (const int fd = p.next_fd(); fd < 0) return fd;
        file_ref f;
        if (const long e = vfio::open_group(p.kern(), *g, f, d)) return e;
        return p.install(f);
    }
    return -ENOENT;
}

std::vector<std::string> device_paths() {
    std::vector<std::string> out;
    for (const auto& [where, _] : devices()) out.push_back(where);
    return out;
}

} // namespace iotwin::guest
