#include "models/guest/devices.h"

#include <cerrno>
#include <functional>
#include <utility>

#include "models/guest/eventfd.h"
#include "models/guest/gntalloc.h"
#include "models/guest/gntdev.h"
#include "models/guest/kernel.h"
#include "models/guest/lguest.h"
#include "models/guest/xenevtchn.h"

namespace iotwin::guest {

namespace {

// A driver's ->open: 0 with the new file in `out`, or -errno.
using opener = std::function<long(kernel& k, file_ref& out, sc_core::sc_time& d)>;

const std::vector<std::pair<std::string, opener>>& devices() {
    static const std::vector<std::pair<std::string, opener>> table = {
        {"/dev/null", [](kernel&, file_ref& out, sc_core::sc_time&) { out = std::make_shared<null_file>(); return 0L; }},
        {"/dev/xen/evtchn",
         [](kernel& k, file_ref& out, sc_core::sc_time&) {
             if (k.kmalloc_fails()) return long(-ENOMEM);  // evtchn_open: kzalloc of the per-user data
             out = std::make_shared<xenevtchn>(k);
             return 0L;
         }},
        {"/dev/xen/gntalloc", [](kernel& k, file_ref& out, sc_core::sc_time&) { out = std::make_shared<gntalloc>(k); return 0L; }},
        {"/dev/xen/gntdev", [](kernel& k, file_ref& out, sc_core::sc_time&) { out = std::make_shared<gntdev>(k); return 0L; }},
        {"/dev/lguest", [](kernel& k, file_ref& out, sc_core::sc_time&) { out = std::make_shared<lguest_file>(k); return 0L; }},
    };
    return table;
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
    return -ENOENT;
}

std::vector<std::string> device_paths() {
    std::vector<std::string> out;
    for (const auto& [where, _] : devices()) out.push_back(where);
    return out;
}

} // namespace iotwin::guest
