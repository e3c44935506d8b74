// proc, file and eventfd: processes of a guest kernel, their memory and
// their plain files (docs/guest-kernel.md).
#include <cerrno>

#include "models/guest/devices.h"
#include "models/guest/eventfd.h"
#include "models/guest/kernel.h"
#include "platform/interfaces/interfaces.h"
#include "platform/interfaces/syscall.h"

namespace iotwin::platform::interfaces {

namespace {

void op_fork(step_context& c) {
    guest::process& p = c.acting_process();
    const std::string child = c.text("name");
    if (c.guests().find(child)) throw step_error("proc.fork: a process '" + child + "' exists");
    guest::process* k = c.guests().fork(p, child, c.delay);
    put_ret(c, k ? k->pid() : -ESRCH);
    if (k) c.result()["pid"] = k->pid();
}

void op_exit(step_context& c) {
    c.acting_process().exit(c.delay);
    put_ret(c, 0);
}

void op_alloc(step_context& c) {
    guest::process& p = c.acting_process();
    const unsigned prot = c.has("prot") ? static_cast<unsigned>(flags_value(c.args()["prot"], prot_names)) : guest::PROT_READ | guest::PROT_WRITE;
    const long r = p.alloc(c.size("size"), prot, c.delay);
    put_ret(c, r);
    if (r >= 0) c.result()["addr"] = r;
}

void op_fill(step_context& c) {
    std::vector<std::uint8_t> buf(c.size("len"), static_cast<std::uint8_t>(c.integer("byte")));
    if (guest::process* p = c.process()) {
        c.set_errno(p->access(true, c.integer("addr"), buf.data(), buf.size(), c.delay));
        return;
    }
    c.set_errno(c.hyp().guest_access(c.actor().id, tlm::TLM_WRITE_COMMAND, c.integer("addr"), buf.data(),
                                     static_cast<unsigned>(buf.size()), c.delay));
}

void op_open(step_context& c) { open_device(c, c.text("path")); }

void op_close(step_context& c) { put_ret(c, c.acting_process().close(static_cast<long>(c.integer("fd")), c.delay)); }

void op_eventfd_create(step_context& c) {
    guest::process& p = c.acting_process();
    const std::uint64_t flags = c.integer("flags", 0);
    long r = 0;
    if (!guest::eventfd::valid_flags(flags)) r = -EINVAL;
    else r = p.install(std::make_shared<guest::eventfd>(c.integer("initval", 0), static_cast<unsigned>(flags)));
    put_fd(c, r);
}

void op_eventfd_read(step_context& c) {
    guest::process& p = c.acting_process();
    const std::uint64_t buf = p.scratch(8, c.delay);
    const long r = p.read(static_cast<long>(c.integer("fd")), buf, 8, c.delay);
    put_ret(c, r);
    if (r == 8) c.result()["value"] = field(read_back(c, p, buf, 8), 0, 8);
}

void op_eventfd_write(step_context& c) {
    guest::process& p = c.acting_process();
    user_struct v;
    v.u64(c.integer("value"));
    const std::uint64_t buf = pass(c, p, v);
    put_ret(c, p.write(static_cast<long>(c.integer("fd")), buf, 8, c.delay));
}

}  // namespace

void register_proc(op_registry& r) {
    using t = arg_type;
    r.add({"proc.fork", actor::process,
           "fork(2): a child process `name` sharing the parent's descriptors and shared mappings (private memory copied, VM_DONTCOPY mappings left out)",
           {{"name", t::string, true, "the child's name, used in later steps' `as`", 1, limits::max_name_length}},
           syscall_results({{"pid", result_type::integer, "the child's pid"}}), {}, {}, ""},
          op_fork);
    r.add({"proc.exit", actor::process,
           "exit(2): the address space goes first (each mapping's driver close), then the descriptors (each file's release when its last reference goes)",
           {}, syscall_results(), {}, {}, ""},
          op_exit);
    r.add({"mem.alloc", actor::process, "anonymous private memory in the process's address space, zeroed and page-aligned",
           {{"size", t::size, true, "bytes (rounded up to pages)", 1, op_limits::max_map},
            flags_arg("prot", false, "PROT_* names (default PROT_READ, PROT_WRITE)", prot_names)},
           syscall_results({{"addr", result_type::integer, "the buffer's address"}}), {}, {}, "ENOMEM: no room or no pages left in the domain's kernel"},
          op_alloc);
    r.add({"mem.fill", actor::domain, "stores one byte value over a range (virtual addresses as a process, guest-physical as a domain)",
           {{"addr", t::integer, true, "start"}, {"len", t::size, true, "bytes", 1, op_limits::max_transfer},
            {"byte", t::integer, true, "the value", 0, 0xff}},
           {}, {}, {}, "EFAULT: a page not mapped or not writable"},
          op_fill);
    r.add({"file.open", actor::process, "open(2) of a device file",
           {{"path", t::string, true, "/dev/null, /dev/xen/evtchn, /dev/xen/gntalloc, /dev/xen/gntdev, /dev/lguest", 1, 4096},
            {"flags", t::integer, false, "O_* flags (O_RDWR = 2)", 0, 0xffffffff, "2"}},
           syscall_results({{"fd", result_type::integer, "the new descriptor"}}), {}, {}, "ENOENT: no such device; EMFILE: past RLIMIT_NOFILE"},
          op_open);
    r.add({"file.close", actor::process, "close(2)", {fd_arg()}, syscall_results(), {}, {}, "EBADF"}, op_close);
    r.add({"eventfd.create", actor::process, "eventfd2(2)",
           {{"initval", t::integer, false, "the counter's first value", 0, 0xffffffff, "0"},
            {"flags", t::integer, false, "EFD_SEMAPHORE (1), EFD_NONBLOCK (04000), EFD_CLOEXEC (02000000)", 0, 0xffffffff, "0"}},
           syscall_results({{"fd", result_type::integer, "the new descriptor"}}), {}, {}, "EINVAL: unknown flags; EMFILE"},
          op_eventfd_create);
    r.add({"eventfd.read", actor::process, "read(2) of 8 bytes: the counter, reset to 0 (1 with EFD_SEMAPHORE)",
           {fd_arg()}, syscall_results({{"value", result_type::integer, "the counter read"}}), {}, {},
           "EAGAIN: the counter is 0 (reads never block); EBADF; EINVAL on a descriptor that is not an eventfd and cannot be read"},
          op_eventfd_read);
    r.add({"eventfd.write", actor::process, "write(2) of 8 bytes: adds `value` to the counter",
           {fd_arg(), {"value", t::integer, true, "what to add"}, null_arg()}, syscall_results(), {}, {},
           "EINVAL: 0xffffffffffffffff; EAGAIN: the counter would overflow"},
          op_eventfd_write);
}

} // namespace iotwin::platform::interfaces
