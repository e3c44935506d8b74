#include "platform/interfaces/syscall.h"

#include <cerrno>
#include <limits>

#include "models/guest/devices.h"
#include "models/guest/kernel.h"

namespace iotwin::platform::interfaces {

const std::vector<std::pair<std::string, std::uint64_t>> prot_names = {
    {"PROT_NONE", guest::PROT_NONE}, {"PROT_READ", guest::PROT_READ}, {"PROT_WRITE", guest::PROT_WRITE}, {"PROT_EXEC", guest::PROT_EXEC}};
const std::vector<std::pair<std::string, std::uint64_t>> map_names = {
    {"MAP_SHARED", guest::MAP_SHARED}, {"MAP_PRIVATE", guest::MAP_PRIVATE}, {"MAP_FIXED", guest::MAP_FIXED},
    {"MAP_ANONYMOUS", guest::MAP_ANONYMOUS}};

std::uint64_t field(const std::vector<std::uint8_t>& b, std::size_t off, unsigned size) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < size && off + i < b.size(); ++i) v |= std::uint64_t(b[off + i]) << (8 * i);
    return v;
}

std::uint64_t pass(step_context& c, guest::process& p, user_struct& s, std::uint64_t extra) {
    if (const auto ptr = c.pointer("arg")) return *ptr;
    const std::uint64_t addr = p.scratch(s.size() + extra, c.delay);
    std::vector<std::uint8_t> all = s.data();
    all.resize(s.size() + extra, 0);
    if (!all.empty()) p.copy_to_user(addr, all.data(), all.size(), c.delay);
    return addr;
}

std::vector<std::uint8_t> read_back(step_context& c, guest::process& p, std::uint64_t addr, std::uint64_t n) {
    std::vector<std::uint8_t> b(n);
    if (n) p.copy_from_user(b.data(), addr, n, c.delay);
    return b;
}

void put_ret(step_context& c, long r) {
    c.result()["ret"] = r < 0 ? -1 : r;
    c.set_errno(r < 0 ? static_cast<int>(-r) : 0);
}

void put_fd(step_context& c, long r) {
    put_ret(c, r);
    if (r >= 0) c.result()["fd"] = r;
}

void open_device(step_context& c, const std::string& path) { put_fd(c, guest::open_path(c.acting_process(), path, c.delay)); }

namespace {
constexpr std::uint64_t loff_max = std::numeric_limits<std::int64_t>::max();
}

std::vector<std::uint8_t> read_step(step_context& c, guest::process& p, std::uint64_t buf, std::uint64_t len) {
    const long fd = static_cast<long>(c.integer("fd"));
    long r = 0;
    if (!c.has("offset")) r = p.read(fd, buf, len, c.delay);
    else if (c.integer("offset") > loff_max) r = -EINVAL;
    else r = p.pread(fd, buf, len, c.integer("offset"), c.delay);
    put_ret(c, r);
    if (r <= 0) return {};
    const auto b = read_back(c, p, buf, static_cast<std::uint64_t>(r));
    c.result()["data"] = hex_bytes(b.data(), b.size());
    return b;
}

void write_step(step_context& c, guest::process& p, std::uint64_t buf, std::uint64_t len) {
    const long fd = static_cast<long>(c.integer("fd"));
    long r = 0;
    if (!c.has("offset")) r = p.write(fd, buf, len, c.delay);
    else if (c.integer("offset") > loff_max) r = -EINVAL;  // pwrite64 with a negative position
    else r = p.pwrite(fd, buf, len, c.integer("offset"), c.delay);
    put_ret(c, r);
}

bool ioctl_ok(step_context& c, long r) {
    put_ret(c, r);
    return r >= 0;
}

arg_spec fd_arg(const std::string& what) {
    // Any integer may be passed, so bad and closed descriptors can be tried.
    return {"fd", arg_type::integer, true, what + " (any integer: a bad one is EBADF)", 0, 0xffffffff};
}

arg_spec null_arg() {
    return {"arg", arg_type::pointer, false,
            "the argument pointer: null passes NULL (EFAULT); an integer passes that user address; absent: the structure built from the other arguments"};
}

std::vector<result_spec> syscall_results(std::vector<result_spec> more) {
    std::vector<result_spec> r = {{"ret", result_type::integer, "the call's return value (-1 on failure)"}};
    r.insert(r.end(), more.begin(), more.end());
    return r;
}

namespace {

void op_mmap(step_context& c) {
    guest::process& p = c.acting_process();
    const unsigned prot = static_cast<unsigned>(flags_value(c.args()["prot"], prot_names));
    const unsigned flags = c.has("flags") ? static_cast<unsigned>(flags_value(c.args()["flags"], map_names)) : guest::MAP_SHARED;
    const long r = p.mmap(c.integer("addr", 0), c.integer("length"), prot, flags, static_cast<long>(c.integer("fd")),
                          c.integer("offset", 0), c.delay);
    put_ret(c, r);
    if (r >= 0) c.result()["addr"] = r;
}

void op_munmap(step_context& c) { put_ret(c, c.acting_process().munmap(c.integer("addr"), c.integer("length"), c.delay)); }

void op_close(step_context& c) { put_ret(c, c.acting_process().close(static_cast<long>(c.integer("fd")), c.delay)); }

void op_ioctl(step_context& c) {
    guest::process& p = c.acting_process();
    const auto arg = c.pointer("arg");
    put_ret(c, p.ioctl(static_cast<long>(c.integer("fd")), c.integer("cmd"), arg ? *arg : 0, c.delay));
}

}  // namespace

void register_file_ops(op_registry& r, const std::string& iface, const std::string& driver_doc) {
    using t = arg_type;
    r.add({iface + ".mmap", actor::process, "mmap(2) of a " + driver_doc + " descriptor into the process's address space",
           {fd_arg(), {"offset", t::integer, false, "file offset (a multiple of 4096; the driver reads its meaning)", 0, ~std::uint64_t(0), "0"},
            {"length", t::integer, true, "bytes (rounded up to pages)"},
            flags_arg("prot", true, "PROT_* names", prot_names),
            flags_arg("flags", false, "MAP_SHARED or MAP_PRIVATE (and MAP_FIXED with addr); default MAP_SHARED", map_names),
            {"addr", t::integer, false, "the address hint (used with MAP_FIXED)", 0, ~std::uint64_t(0), "0"}},
           syscall_results({{"addr", result_type::integer, "where the mapping starts"}}), {}, {},
           "EBADF, EINVAL (length 0, unaligned offset, neither or both MAP_SHARED and MAP_PRIVATE), ENOMEM, ENODEV, and the driver's own"},
          op_mmap);
    r.add({iface + ".munmap", actor::process, "munmap(2): removes the pages of a range; the driver's mapping goes when its last page does",
           {{"addr", t::integer, true, "start (page-aligned)"}, {"length", t::integer, true, "bytes"}},
           syscall_results(), {}, {}, "EINVAL: unaligned addr, zero length"},
          op_munmap);
    r.add({iface + ".close", actor::process, "close(2): the descriptor goes; the driver releases the file when no descriptor or mapping holds it",
           {fd_arg()}, syscall_results(), {}, {}, "EBADF"}, op_close);
    r.add({iface + ".ioctl", actor::process, "ioctl(2) with any request number, for what the named forms cannot express",
           {fd_arg(), {"cmd", t::integer, true, "the request number", 0, 0xffffffff}, null_arg()},
           syscall_results(), {}, {}, "EBADF; the driver's answer to an unknown request (ENOTTY, EINVAL or ENOSYS as the driver has it)"},
          op_ioctl);
}

} // namespace iotwin::platform::interfaces
