// What the system-call interfaces (proc, file, eventfd, xenevtchn, gntalloc,
// gntdev, lguest, vfio) share: the acting process, structures passed by
// pointer through the process's own memory, and results as `ret` / `errno`.
//
// An argument structure is laid out as the real one (little-endian, the
// real field sizes and padding) in a scratch buffer of the process's
// memory, and the driver reads it with copy_from_user, so a driver sees
// exactly what a program would pass it; `arg: null` passes address 0.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "models/guest/process.h"
#include "platform/operations.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

// The real layout of an argument structure, built field by field.
class user_struct {
public:
    user_struct& u8(std::uint64_t v) { return put(v, 1); }
    user_struct& u16(std::uint64_t v) { return put(v, 2); }
    user_struct& u32(std::uint64_t v) { return put(v, 4); }
    user_struct& u64(std::uint64_t v) { return put(v, 8); }
    user_struct& pad_to(std::size_t align) {
        while (b_.size() % align) b_.push_back(0);
        return *this;
    }
    user_struct& bytes(const void* p, std::size_t n) {
        const auto* c = static_cast<const std::uint8_t*>(p);
        b_.insert(b_.end(), c, c + n);
        return *this;
    }
    std::vector<std::uint8_t>& data() { return b_; }
    std::size_t size() const { return b_.size(); }

private:
    user_struct& put(std::uint64_t v, unsigned n) {
        for (unsigned i = 0; i < n; ++i) b_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        return *this;
    }
    std::vector<std::uint8_t> b_;
};

// Little-endian field of `b` at `off` (0 past the end).
std::uint64_t field(const std::vector<std::uint8_t>& b, std::size_t off, unsigned size);

// Puts `s` in the process's scratch memory and returns its user address,
// or 0 when the step passes `arg: null`. `extra` bytes of zeros follow it
// (room for what the driver writes back, such as gntalloc's gref_ids).
std::uint64_t pass(step_context& c, guest::process& p, user_struct& s, std::uint64_t extra = 0);
// Reads `n` bytes of the process's memory at `addr` (what the driver wrote back).
std::vector<std::uint8_t> read_back(step_context& c, guest::process& p, std::uint64_t addr, std::uint64_t n);

// Reports a system call's value: `ret` (the value, or -1 on failure) and `errno`.
void put_ret(step_context& c, long r);
// The same for a call that makes a descriptor: `fd` as well when it succeeded.
void put_fd(step_context& c, long r);
// open(2) of a device file as the acting process, reported with put_fd.
void open_device(step_context& c, const std::string& path);
// The same for an ioctl whose argument `arg` was in `s`; returns whether it succeeded.
bool ioctl_ok(step_context& c, long r);

// read(2) or, with args.offset, pread64(2) of `len` bytes into `buf` on
// args.fd (an offset past the signed 64-bit range is EINVAL, as a negative
// position); reports `ret` / `errno` and, when bytes came, `data`. Returns them.
std::vector<std::uint8_t> read_step(step_context& c, guest::process& p, std::uint64_t buf, std::uint64_t len);
// write(2) or pwrite64(2) of `len` bytes at `buf` on args.fd, reported with put_ret.
void write_step(step_context& c, guest::process& p, std::uint64_t buf, std::uint64_t len);

// Argument specs every system call shares.
arg_spec fd_arg(const std::string& what = "the descriptor");
arg_spec null_arg();  // `arg: null`: a NULL pointer for the structure
// The results every system call has.
std::vector<result_spec> syscall_results(std::vector<result_spec> more = {});

// Registers `<iface>.mmap`, `<iface>.munmap`, `<iface>.close` and `<iface>.ioctl`
// (the raw request by number, with `arg` an address or null) for a driver.
void register_file_ops(op_registry& r, const std::string& iface, const std::string& driver_doc);

// PROT_* and MAP_* names.
extern const std::vector<std::pair<std::string, std::uint64_t>> prot_names, map_names;

} // namespace iotwin::platform::interfaces
