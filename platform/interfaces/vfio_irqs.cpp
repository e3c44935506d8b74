// vfio: the interrupts of a device file.
#include "platform/interfaces/vfio.h"

namespace iotwin::platform::interfaces {

void register_vfio_irqs(op_registry& r) { (void)r; }

} // namespace iotwin::platform::interfaces
