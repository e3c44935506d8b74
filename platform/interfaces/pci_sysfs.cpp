// pci (sysfs): the host kernel's driver binding of PCI functions, through the
// files Linux 6.1 has for it: /sys/bus/pci/drivers/<driver>/{bind,unbind},
// /sys/bus/pci/devices/<BDF>/{driver,driver_override,iommu_group,reset_method}
// and /sys/bus/pci/drivers_probe. The state is platform/host_drivers.h's.
//
// Who may: the files that change a binding are writable by root only (mode
// 0200 or 0644), so a step `as` a domain that is not privileged gets EACCES,
// as an unprivileged writer would; the files read here are world-readable,
// so any domain reads them. A path that does not exist answers ENOENT first
// (a driver the kernel does not have, a device that is not there, the
// `driver` link of an unbound device).
//
// Binding meets VFIO in two places: a driver that uses the DMA API cannot
// bind to a function of a group VFIO has claimed (host_drivers.h, DMA
// ownership), and vfio-pci cannot be unbound while VFIO still uses the
// function (models/guest/vfio/vfio.h, unregister_device).
#include <cerrno>
#include <memory>

#include "models/guest/kernel.h"
#include "models/guest/vfio/vfio.h"
#include "platform/builder.h"
#include "platform/ecam.h"
#include "platform/host_drivers.h"
#include "platform/interfaces/interfaces.h"
#include "platform/runner.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

namespace {

// A platform assembled in code rather than by build_platform() gets its
// bindings on first use.
host_drivers& drivers(step_context& c) {
    return drivers_of(c.pi(), c.run().description().platform.iommu_enabled);
}
std::string device_id(step_context& c) { return c.text("device"); }

// pci_disable_device() in a driver's remove path (do_pci_disable_device):
// Bus Master Enable cleared by a configuration write, only when set. A DMA in
// flight stops at its next request.
void disable_device(step_context& c, const pci::pci_function& f) {
    std::uint16_t cmd = 0;
    ecam_access(c.hyp(), tlm::TLM_READ_COMMAND, f.bdf(), pci::cfg::command, &cmd, 2, c.delay);
    if (!(cmd & pci::command_bits::bus_master)) return;
    cmd = static_cast<std::uint16_t>(cmd & ~pci::command_bits::bus_master);
    ecam_access(c.hyp(), tlm::TLM_WRITE_COMMAND, f.bdf(), pci::cfg::command, &cmd, 2, c.delay);
}

void op_bind(step_context& c) {
    pci::pci_function& f = c.device_arg("device");
    const std::string driver = c.text("driver");
    int err = find_host_driver(driver) ? 0 : ENOENT;
    if (!err && !c.actor().privileged) err = EACCES;
    if (!err) err = drivers(c).bind(device_id(c), driver, f.present());
    c.set_errno(err);
}

// vfio-pci's remove (vfio_pci_remove -> vfio_unregister_group_dev) in every
// kernel that runs VFIO (the privileged domains'): 0, or the errno that
// stands for Linux 6.1 blocking the unbind until the user lets go.
int vfio_remove(step_context& c, const std::string& id) {
    platform_instance& pi = c.pi();
    if (!pi.guests) return 0;
    const auto it = pi.topo.by_id.find(id);
    if (it == pi.topo.by_id.end()) return 0;  // a VF enabled at run time: VFIO's host view has the boot set only
    const std::string name = pi.topo.functions[it->second].bdf_string();
    for (const domain_desc& dd : c.run().description().domains) {
        if (!dd.privileged) continue;
        const hyp::domain* dom = pi.hypervisor->find(dd.name);
        guest::kernel* k = dom ? pi.guests->kernel_of(dom->id) : nullptr;
        if (!k) continue;
        if (const long e = guest::vfio::unregister_device(*k, name, c.delay)) return static_cast<int>(-e);
    }
    return 0;
}

void op_unbind(step_context& c) {
    pci::pci_function& f = c.device_arg("device");
    const std::string id = device_id(c);
    const std::string driver = c.text("driver", drivers(c).driver(id));
    int err = find_host_driver(driver) ? 0 : ENOENT;  // "none": there is no driver/ link to follow
    if (!err && !c.actor().privileged) err = EACCES;
    if (!err && f.present() && driver == "vfio-pci" && drivers(c).driver(id) == "vfio-pci") err = vfio_remove(c, id);
    bool disable = false;
    if (!err) err = drivers(c).unbind(id, driver, f.present(), disable);
    if (disable) disable_device(c, f);
    c.set_errno(err);
}

void op_driver_override(step_context& c) {
    pci::pci_function& f = c.device_arg("device");
    int err = f.present() ? 0 : ENOENT;
    if (!err && !c.actor().privileged) err = EACCES;
    if (!err) err = drivers(c).set_driver_override(device_id(c), c.text("driver"));
    c.set_errno(err);
}

void op_drivers_probe(step_context& c) {
    pci::pci_function& f = c.device_arg("device");
    int err = c.actor().privileged ? 0 : EACCES;
    if (!err) err = drivers(c).drivers_probe(device_id(c), f.present());
    c.set_errno(err);
}

void op_driver(step_context& c) {
    pci::pci_function& f = c.device_arg("device");
    const int err = f.present() ? 0 : ENOENT;
    c.set_errno(err);
    if (err) return;
    const std::string id = device_id(c);
    c.result()["driver"] = drivers(c).driver(id);
    const auto& o = drivers(c).driver_override(id);
    c.result()["driver_override"] = o ? *o : std::string("(null)");
}

void op_iommu_group(step_context& c) {
    pci::pci_function& f = c.device_arg("device");
    const auto g = f.present() ? drivers(c).iommu_group(device_id(c)) : std::nullopt;
    c.set_errno(g ? 0 : ENOENT);
    if (g) c.result()["group"] = *g;
}

void op_reset_method(step_context& c) {
    pci::pci_function& f = c.device_arg("device");
    const std::vector<std::string> m = f.present() ? drivers(c).reset_methods(device_id(c), f) : std::vector<std::string>{};
    c.set_errno(m.empty() ? ENOENT : 0);
    if (!m.empty()) c.result()["reset_method"] = m;
}

arg_spec device_arg() { return {"device", arg_type::device, true, "function id (platform.pcie)"}; }

} // namespace

void register_pci_sysfs(op_registry& r) {
    using t = arg_type;
    using rt = result_type;
    const std::string root = "EACCES: the domain is not privileged (the file is writable by root only)";
    r.add({"pci.bind", actor::domain, "writes the function's BDF to /sys/bus/pci/drivers/<driver>/bind",
           {device_arg(), {"driver", t::string, true, "driver name: vfio-pci, pci-stub, pcieport, e1000, ...", 0, 64}},
           {}, {}, {},
           "ENOENT: the kernel has no such driver; " + root +
               "; ENODEV: the function is not present, or the driver does not match it (driver_override names another "
               "driver; vfio-pci and pci-stub match only through driver_override); EBUSY: the function is bound already, "
               "or the driver uses the kernel's DMA API (not vfio-pci, pci-stub or pcieport) and the function's IOMMU group "
               "is claimed by VFIO (its group file is attached to a container); the probe's error otherwise (ENODEV: "
               "pcieport on what is not a PCIe port, virtio-pci outside 1af4:1000-107f; EINVAL: vfio-pci on a bridge or a "
               "function without an IOMMU group)"},
          op_bind);
    r.add({"pci.unbind", actor::domain,
           "writes the function's BDF to its driver's unbind file (/sys/bus/pci/devices/<BDF>/driver/unbind); the driver's "
           "remove disables the device (Bus Master Enable cleared; not pci-stub, which never enabled it)",
           {device_arg(), {"driver", t::string, false, "write this driver's unbind file instead of the bound driver's", 0, 64}},
           {}, {}, {},
           "ENOENT: the function is not bound (no driver link) or the kernel has no such driver; " + root +
               "; ENODEV: the function is not present or not bound to that driver; EBUSY: vfio-pci while a VFIO device file "
               "of the function is open (a device request is relayed through its REQ interrupt) or while its group's file is "
               "open and it is the group's last vfio-pci function (Linux 6.1 blocks the write until the user lets go)"},
          op_unbind);
    r.add({"pci.driver_override", actor::domain,
           "writes /sys/bus/pci/devices/<BDF>/driver_override: from then on only that driver matches the function, whatever its "
           "ID table; \"\" clears it (so does a value that starts with a newline); any other value is kept up to its first "
           "newline, \"none\" included (it names no driver, so nothing matches)",
           {device_arg(), {"driver", t::string, true, "the driver name, or \"\" to clear", 0, 4096}},
           {}, {}, {}, "ENOENT: the function is not present; " + root + "; EINVAL: 4095 characters or more"},
          op_driver_override);
    r.add({"pci.drivers_probe", actor::domain,
           "writes the function's BDF to /sys/bus/pci/drivers_probe: an unbound function is offered to the drivers in "
           "order and the first that matches and probes binds it; success whether or not one did",
           {device_arg()}, {}, {}, {},
           root + "; ENODEV: the function is not present; EINVAL: the first matching driver uses the kernel's DMA API and "
                  "the function's IOMMU group is claimed by VFIO (the function stays unbound)"},
          op_drivers_probe);
    r.add({"pci.driver", actor::domain, "reads which driver the function is bound to (its driver link) and its driver_override",
           {device_arg()},
           {{"driver", rt::text, "the driver's name, or none"},
            {"driver_override", rt::text, "the driver_override file: a driver name, or (null) when unset"}},
           {}, {}, "ENOENT: the function is not present"},
          op_driver);
    r.add({"pci.iommu_group", actor::domain,
           "reads the IOMMU group the function belongs to (/sys/bus/pci/devices/<BDF>/iommu_group, the N of /dev/vfio/N): "
           "the numbering of iotwin groups",
           {device_arg()}, {{"group", rt::integer, "the group number"}}, {}, {},
           "ENOENT: the function is not present, or has no group (platform.iommu.enabled: false)"},
          op_iommu_group);
    r.add({"pci.reset_method", actor::domain,
           "reads /sys/bus/pci/devices/<BDF>/reset_method: the reset methods Linux 6.1 found for the function, in its order "
           "(device_specific, acpi, flr, af_flr, pm, bus)",
           {device_arg()}, {{"reset_method", rt::strings, "method names, in Linux's order"}}, {}, {},
           "ENOENT: the function is not present, or has no reset method (the file is absent)"},
          op_reset_method);
}

} // namespace iotwin::platform::interfaces
