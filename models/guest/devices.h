// The guest kernel's device files by path (/dev/null, /dev/xen/evtchn,
// /dev/xen/gntalloc, /dev/xen/gntdev, /dev/lguest): what open(2) finds.
#pragma once
#include <string>
#include <vector>

#include <systemc>

#include "models/guest/file.h"

namespace iotwin::guest {

class kernel;
class process;

// open(2) of `path`: the new descriptor, or -errno (ENOENT for a path the
// kernel has no device at, the driver's own errors from its ->open).
long open_path(process& p, const std::string& path, sc_core::sc_time& d);
// The paths open_path knows, in order.
std::vector<std::string> device_paths();

} // namespace iotwin::guest
