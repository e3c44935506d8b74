// xenevtchn: /dev/xen/evtchn as processes use it (models/guest/xenevtchn.h).
#include "models/guest/devices.h"
#include "models/guest/xenevtchn.h"
#include "platform/interfaces/interfaces.h"
#include "platform/interfaces/syscall.h"

namespace iotwin::platform::interfaces {

namespace {

namespace G = guest;

void op_open(step_context& c) { open_device(c, "/dev/xen/evtchn"); }

// An ioctl whose argument is `s`; a bind reports the port it returned.
void call(step_context& c, unsigned long cmd, user_struct s, bool returns_port) {
    G::process& p = c.acting_process();
    const std::uint64_t arg = pass(c, p, s);
    const long r = p.ioctl(static_cast<long>(c.integer("fd")), cmd, arg, c.delay);
    if (ioctl_ok(c, r) && returns_port) c.result()["port"] = r;
}

void op_pending(step_context& c) {
    G::process& p = c.acting_process();
    const std::uint64_t len = c.integer("max", 64) * 4;
    const std::uint64_t buf = p.scratch(len, c.delay);
    const long r = p.read(static_cast<long>(c.integer("fd")), buf, len, c.delay);
    put_ret(c, r);
    nlohmann::ordered_json ports = nlohmann::ordered_json::array();
    if (r > 0) {
        const auto b = read_back(c, p, buf, static_cast<std::uint64_t>(r));
        for (long i = 0; i < r / 4; ++i) ports.push_back(field(b, static_cast<std::size_t>(4 * i), 4));
    }
    c.result()["ports"] = ports;
}

void op_unmask(step_context& c) {
    G::process& p = c.acting_process();
    user_struct s;
    s.u32(c.integer("port"));
    const std::uint64_t buf = pass(c, p, s);
    put_ret(c, p.write(static_cast<long>(c.integer("fd")), buf, 4, c.delay));
}

}  // namespace

void register_xenevtchn(op_registry& r) {
    using t = arg_type;
    const std::vector<result_spec> port = syscall_results({{"port", result_type::integer, "the local port bound"}});
    const arg_spec dom{"remote_domain", t::domain, true, "the other end's domain"};
    r.add({"xenevtchn.open", actor::process, "open(2) of /dev/xen/evtchn", {},
           syscall_results({{"fd", result_type::integer, "the new descriptor"}}), {}, {}, "EMFILE"},
          op_open);
    r.add({"xenevtchn.bind_interdomain", actor::process, "IOCTL_EVTCHN_BIND_INTERDOMAIN: EVTCHNOP_bind_interdomain, the port bound to this file",
           {fd_arg(), dom, {"remote_port", t::integer, true, "the other end's unbound port", 0, 0xffffffff}, null_arg()}, port, {}, {},
           "Xen's errno (EINVAL for a remote port not unbound for us, ESRCH); EACCES: restricted to another domain; ENOTTY / ENOSYS for a descriptor of another kind"},
          [](step_context& c) {
              user_struct s;
              s.u32(c.domain("remote_domain")).u32(c.integer("remote_port"));
              call(c, G::IOCTL_EVTCHN_BIND_INTERDOMAIN, s, true);
          });
    r.add({"xenevtchn.bind_unbound_port", actor::process, "IOCTL_EVTCHN_BIND_UNBOUND_PORT: EVTCHNOP_alloc_unbound for `remote_domain`",
           {fd_arg(), dom, null_arg()}, port, {}, {}, "Xen's errno; EACCES when restricted"},
          [](step_context& c) {
              user_struct s;
              s.u32(c.domain("remote_domain"));
              call(c, G::IOCTL_EVTCHN_BIND_UNBOUND_PORT, s, true);
          });
    r.add({"xenevtchn.bind_virq", actor::process, "IOCTL_EVTCHN_BIND_VIRQ: EVTCHNOP_bind_virq on vCPU 0",
           {fd_arg(), {"virq", t::integer, true, "VIRQ_* number", 0, 0xffffffff}, null_arg()}, port, {}, {},
           "Xen's errno (EINVAL, EEXIST for a VIRQ bound already); EACCES when restricted"},
          [](step_context& c) {
              user_struct s;
              s.u32(c.integer("virq"));
              call(c, G::IOCTL_EVTCHN_BIND_VIRQ, s, true);
          });
    r.add({"xenevtchn.notify", actor::process, "IOCTL_EVTCHN_NOTIFY: EVTCHNOP_send on a port this file bound",
           {fd_arg(), {"port", t::integer, true, "the local port", 0, 0xffffffff}, null_arg()}, syscall_results(), {}, {},
           "EINVAL: beyond the channels; ENOTCONN: not bound by this file"},
          [](step_context& c) {
              user_struct s;
              s.u32(c.integer("port"));
              call(c, G::IOCTL_EVTCHN_NOTIFY, s, false);
          });
    r.add({"xenevtchn.unbind", actor::process, "IOCTL_EVTCHN_UNBIND: the port leaves the file and is closed",
           {fd_arg(), {"port", t::integer, true, "the local port", 0, 0xffffffff}, null_arg()}, syscall_results(), {}, {},
           "EINVAL: beyond the channels; ENOTCONN: not bound by this file"},
          [](step_context& c) {
              user_struct s;
              s.u32(c.integer("port"));
              call(c, G::IOCTL_EVTCHN_UNBIND, s, false);
          });
    r.add({"xenevtchn.restrict_domid", actor::process, "IOCTL_EVTCHN_RESTRICT_DOMID: later binds only to ports of `domid`",
           {fd_arg(), {"domid", t::domain, true, "the only domain binds may name"}, null_arg()}, syscall_results(), {}, {},
           "EACCES: already restricted; EINVAL: a reserved domid"},
          [](step_context& c) {
              user_struct s;
              s.u16(c.domain("domid"));
              call(c, G::IOCTL_EVTCHN_RESTRICT_DOMID, s, false);
          });
    r.add({"xenevtchn.reset", actor::process, "IOCTL_EVTCHN_RESET: empties the ring of fired ports", {fd_arg()}, syscall_results(), {}, {}, ""},
          [](step_context& c) { call(c, G::IOCTL_EVTCHN_RESET, user_struct{}, false); });
    r.add({"xenevtchn.pending", actor::process, "read(2): the ports that fired, in order (each disabled until unmasked)",
           {fd_arg(), {"max", t::integer, false, "at most this many ports", 1, 1024, "64"}},
           syscall_results({{"ports", result_type::structure, "the ports read"}}), {}, {},
           "EAGAIN: none fired yet (reads never block); EFBIG: the ring overflowed"},
          op_pending);
    r.add({"xenevtchn.unmask", actor::process, "write(2) of a port: enables (unmasks) a port that fired",
           {fd_arg(), {"port", t::integer, true, "the port", 0, 0xffffffff}, null_arg()}, syscall_results(), {}, {}, ""},
          op_unmask);
    register_file_ops(r, "xenevtchn", "/dev/xen/evtchn");
}

} // namespace iotwin::platform::interfaces
