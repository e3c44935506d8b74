#include "platform/interfaces/interfaces.h"

namespace iotwin::platform::interfaces {

void register_domctl(op_registry&) {}

} // namespace iotwin::platform::interfaces
