// lguest: registered by its interface (work in progress).
#include "platform/interfaces/interfaces.h"

namespace iotwin::platform::interfaces {

void register_lguest(op_registry& r) { (void)r; }

} // namespace iotwin::platform::interfaces
