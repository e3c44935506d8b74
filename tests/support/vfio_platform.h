// A host with devices for VFIO tests: two edu devices bound to vfio-pci
// (edu0 at 0000:01:00.0 behind rp1, edu1 at 0000:02:00.0 behind rp2), an
// e1000 bound to its host driver (nic0 at 0000:03:00.0 behind rp3), the
// privileged dom0 running VFIO, and two of its processes, qemu and qemu2.
// vfio_open() gives the steps that take a process from nothing to an open
// device file, saving `<p>c` (the container), `<p>g` (the group) and `<p>d`
// (the device).
#pragma once
#include <string>

namespace iotwin::test {

inline std::string vfio_platform(const std::string& extra_pcie = "", const std::string& dom0_extra = "",
                                 const std::string& process_extra = "") {
    return "name: t\n"
           "platform:\n"
           "  memory: 2GiB\n"
           "  pcie:\n"
           "    - { id: rp1, type: root_port, at: \"01.0\", children: [ { id: edu0, type: endpoint, model: edu, driver: vfio-pci } ] }\n"
           "    - { id: rp2, type: root_port, at: \"02.0\", children: [ { id: edu1, type: endpoint, model: edu, driver: vfio-pci } ] }\n"
           "    - { id: rp3, type: root_port, at: \"03.0\", children: [ { id: nic0, type: endpoint, model: dma_engine, vendor: 0x8086, device: 0x100e } ] }\n" +
           extra_pcie +
           "domains:\n"
           "  - { name: dom0, privileged: true, memory: 512MiB" + dom0_extra + " }\n"
           "processes:\n"
           "  - { name: qemu, domain: dom0" + process_extra + " }\n"
           "  - { name: qemu2, domain: dom0 }\n";
}

// One step, in flow style.
inline std::string vstep(const std::string& op, const std::string& as, const std::string& args, const std::string& expect = "",
                         const std::string& save = "") {
    return "  - { do: " + op + ", as: " + as + ", args: { " + args + " }" + (expect.empty() ? "" : ", expect: { " + expect + " }") +
           (save.empty() ? "" : ", save: " + save) + " }\n";
}

// Container, group of `device` (its pci.iommu_group), VFIO_GROUP_SET_CONTAINER,
// VFIO_SET_IOMMU (type1 v2) and VFIO_GROUP_GET_DEVICE_FD of `name`, as process `p`.
inline std::string vfio_open(const std::string& p, const std::string& device = "edu0", const std::string& name = "0000:01:00.0",
                             const std::string& type = "VFIO_TYPE1v2_IOMMU") {
    return vstep("pci.iommu_group", p, "device: " + device, "errno: 0", p + "n") +
           vstep("vfio.open_container", p, "", "errno: 0", p + "c") +
           vstep("vfio.open_group", p, "group: $" + p + "n.group", "errno: 0", p + "g") +
           vstep("vfio.group_set_container", p, "fd: $" + p + "g.fd, container: $" + p + "c.fd", "errno: 0") +
           vstep("vfio.set_iommu", p, "fd: $" + p + "c.fd, type: " + type, "errno: 0") +
           vstep("vfio.group_get_device_fd", p, "fd: $" + p + "g.fd, name: \"" + name + "\"", "errno: 0", p + "d");
}

}  // namespace iotwin::test
