#include "platform/interfaces/interfaces.h"

namespace iotwin::platform::interfaces {

void register_gnttab_map(op_registry&) {}

} // namespace iotwin::platform::interfaces
