// eventfd(2): a 64-bit counter a process reads and writes, and that kernel
// drivers signal (eventfd_signal: lguest's LHREQ_EVENTFD, VFIO's interrupt
// triggers). Reads are non-blocking in the twin: EAGAIN when the counter is 0.
#pragma once
#include <cstdint>
#include <functional>
#include <map>

#include "models/guest/file.h"

namespace iotwin::guest {

constexpr unsigned EFD_SEMAPHORE = 1, EFD_NONBLOCK = 04000, EFD_CLOEXEC = 02000000;

class eventfd : public file {
public:
    explicit eventfd(std::uint64_t initval, unsigned flags) : count_(initval), semaphore_(flags & EFD_SEMAPHORE) {}
    // eventfd2's checks: unknown flags are EINVAL.
    static bool valid_flags(std::uint64_t flags) { return (flags & ~std::uint64_t(EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC)) == 0; }

    std::string kind() const override { return "eventfd"; }
    long read(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d) override;
    long write(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d) override;

    // eventfd_signal(): adds n (saturating at ULLONG_MAX - 1, as the kernel
    // stops at the largest value a read may return).
    void signal(std::uint64_t n = 1);
    std::uint64_t count() const { return count_; }
    std::uint64_t signals() const { return signals_; }
    // eventfd_ctx_do_read: takes the counter (a kernel waiter consuming the event).
    std::uint64_t take() {
        const std::uint64_t v = count_;
        count_ = 0;
        return v;
    }
    // Kernel wait-queue entries (VFIO's virqfd): woken, in order of `key`,
    // after a write or a signal leaves the counter non-zero (EPOLLIN). A
    // waiter that a wake-up of its own reaches again is not re-entered.
    using waiter = std::function<void(sc_core::sc_time& d)>;
    void add_waiter(const void* key, waiter w) { waiters_[key] = std::move(w); }
    void remove_waiter(const void* key) { waiters_.erase(key); }

private:
    std::uint64_t count_;
    bool semaphore_;
    std::uint64_t signals_ = 0;
    std::map<const void*, waiter> waiters_;
    bool waking_ = false;
    void wake(sc_core::sc_time& d);
};

// /dev/null: reads end at once, writes are swallowed; anything else is the default errno.
class null_file : public file {
public:
    std::string kind() const override { return "null"; }
    long read(process&, std::uint64_t, std::uint64_t, std::uint64_t&, sc_core::sc_time&) override { return 0; }
    long write(process&, std::uint64_t, std::uint64_t len, std::uint64_t&, sc_core::sc_time&) override { return static_cast<long>(len); }
};

} // namespace iotwin::guest
