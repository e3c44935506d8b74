// VFIO's path from nothing to an open device file (models/guest/vfio), as a
// host process takes it: container, group, VFIO_GROUP_SET_CONTAINER,
// VFIO_SET_IOMMU, VFIO_GROUP_GET_DEVICE_FD, then a DMA mapping.
#include <gtest/gtest.h>

#include "tests/support/scenario_run.h"
#include "tests/support/vfio_platform.h"

namespace {

using namespace iotwin;
using test::vstep;

struct run : test::scenario_run {
    using scenario_run::scenario_run;
};

TEST(Vfio, ProcessOpensADeviceAndMapsMemory) {
    run t(test::vfio_platform() + "steps:\n" + test::vfio_open("qemu") +
          vstep("vfio.group_get_status", "qemu", "fd: $qemug.fd", "flags: [VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_FLAGS_CONTAINER_SET]") +
          vstep("vfio.device_get_info", "qemu", "fd: $qemud.fd", "num_regions: 9, num_irqs: 5") +
          vstep("mem.alloc", "qemu", "size: 8192", "errno: 0", "buf") +
          vstep("vfio.iommu_map_dma", "qemu",
                "fd: $qemuc.fd, vaddr: $buf.addr, iova: 0x100000, size: 8KiB, flags: [VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE]",
                "errno: 0"));
    t.steps_ok();
}

// VFIO runs in the host only: a guest's kernel has no /dev/vfio.
TEST(Vfio, AGuestKernelHasNoVfio) {
    std::string yaml = test::vfio_platform();
    yaml.replace(yaml.find("processes:\n"), 11, "  - { name: guest1, memory: 128MiB }\nprocesses:\n  - { name: app, domain: guest1 }\n");
    run t(yaml + "steps:\n" + vstep("vfio.open_container", "app", "", "ret: -1, errno: ENOENT") +
          vstep("vfio.open_group", "app", "group: 0", "ret: -1, errno: ENOENT") +
          vstep("vfio.open_container", "qemu", "", "errno: 0"));
    t.steps_ok();
}

}  // namespace
