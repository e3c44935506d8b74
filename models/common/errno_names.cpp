#include "models/common/errno_names.h"

#include <cerrno>
#include <utility>

namespace iotwin {

namespace {
// Linux values (asm-generic/errno-base.h, errno.h).
constexpr std::pair<const char*, int> names[] = {
    {"EPERM", EPERM}, {"ENOENT", ENOENT}, {"ESRCH", ESRCH}, {"EINTR", EINTR}, {"EIO", EIO},
    {"ENXIO", ENXIO}, {"E2BIG", E2BIG}, {"ENOEXEC", ENOEXEC}, {"EBADF", EBADF}, {"ECHILD", ECHILD},
    {"EAGAIN", EAGAIN}, {"ENOMEM", ENOMEM}, {"EACCES", EACCES}, {"EFAULT", EFAULT}, {"EBUSY", EBUSY},
    {"EEXIST", EEXIST}, {"EXDEV", EXDEV}, {"ENODEV", ENODEV}, {"ENOTDIR", ENOTDIR}, {"EISDIR", EISDIR},
    {"EINVAL", EINVAL}, {"ENFILE", ENFILE}, {"EMFILE", EMFILE}, {"ENOTTY", ENOTTY}, {"EFBIG", EFBIG},
    {"ENOSPC", ENOSPC}, {"ESPIPE", ESPIPE}, {"EROFS", EROFS}, {"EPIPE", EPIPE}, {"ERANGE", ERANGE},
    {"EDEADLK", EDEADLK}, {"ENOSYS", ENOSYS}, {"EOPNOTSUPP", EOPNOTSUPP}, {"EOVERFLOW", EOVERFLOW},
    {"ETIMEDOUT", ETIMEDOUT}, {"ENOTCONN", ENOTCONN}, {"EALREADY", EALREADY}, {"ENOTEMPTY", ENOTEMPTY},
    {"ERESTART", ERESTART},  // 85: lguest's read after LHREQ_BREAK-style restarts
    // Aliases, read but never printed: the kernel's name of 95 is EOPNOTSUPP.
    {"ENOTSUP", ENOTSUP},
};
} // namespace

std::string errno_name(int e) {
    for (const auto& [n, v] : names)
        if (v == e) return n;
    return std::to_string(e);
}

std::optional<int> errno_value(const std::string& name) {
    if (name == "0") return 0;
    for (const auto& [n, v] : names)
        if (name == n) return v;
    return std::nullopt;
}

} // namespace iotwin
