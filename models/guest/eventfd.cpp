#include "models/guest/eventfd.h"

#include <cerrno>
#include <limits>

#include "models/guest/process.h"

namespace iotwin::guest {

namespace {
constexpr std::uint64_t ullong_max = std::numeric_limits<std::uint64_t>::max();
}

long eventfd::read(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t&, sc_core::sc_time& d) {
    if (len < sizeof(std::uint64_t)) return -EINVAL;
    if (count_ == 0) return -EAGAIN;
    const std::uint64_t v = semaphore_ ? 1 : count_;
    if (p.copy_to_user(buf, &v, sizeof v, d)) return -EFAULT;
    count_ -= v;
    return sizeof v;
}

long eventfd::write(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t&, sc_core::sc_time& d) {
    if (len < sizeof(std::uint64_t)) return -EINVAL;
    std::uint64_t v = 0;
    if (p.copy_from_user(&v, buf, sizeof v, d)) return -EFAULT;
    if (v == ullong_max) return -EINVAL;
    if (ullong_max - count_ <= v) return -EAGAIN;  // would block until a read
    count_ += v;
    if (count_) wake(d);
    return sizeof v;
}

void eventfd::wake(sc_core::sc_time& d) {
    if (waking_ || waiters_.empty()) return;
    waking_ = true;
    // Copies: a waiter may remove itself or others.
    const auto ws = waiters_;
    for (const auto& [key, w] : ws)
        if (waiters_.count(key)) w(d);
    waking_ = false;
}

void eventfd::signal(std::uint64_t n) {
    ++signals_;
    count_ = (ullong_max - 1 - count_ < n) ? ullong_max - 1 : count_ + n;
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    if (count_) wake(d);
}

} // namespace iotwin::guest
