#include "platform/interfaces/interfaces.h"

namespace iotwin::platform::interfaces {

void register_gnttab(op_registry&) {}

} // namespace iotwin::platform::interfaces
