// lguest: /dev/lguest as a launcher process uses it, and the scripted guest
// the launcher runs (models/guest/lguest.h, docs/drivers/lguest.md).
#include <algorithm>
#include <cerrno>
#include <limits>

#include "models/guest/devices.h"
#include "models/guest/lguest.h"
#include "platform/interfaces/hypercall.h"
#include "platform/interfaces/interfaces.h"
#include "platform/interfaces/syscall.h"

namespace iotwin::platform::interfaces {

namespace {

namespace G = guest;

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
// One scripted access moves at most this much (the host's own accesses for a
// guest are a few bytes to a page).
constexpr std::uint64_t max_access = 64 * 1024;

const name_table& req_names() {
    static const name_table n = {{"LHREQ_INITIALIZE", G::LHREQ_INITIALIZE}, {"LHREQ_GETDMA", G::LHREQ_GETDMA},
                                 {"LHREQ_IRQ", G::LHREQ_IRQ},               {"LHREQ_BREAK", G::LHREQ_BREAK},
                                 {"LHREQ_EVENTFD", G::LHREQ_EVENTFD},       {"LHREQ_GETREG", G::LHREQ_GETREG},
                                 {"LHREQ_SETREG", G::LHREQ_SETREG}};
    return n;
}

// The i386 struct pt_regs offsets LHREQ_GETREG / LHREQ_SETREG name registers by.
const name_table& reg_names() {
    static const name_table n = {{"bx", 0},  {"cx", 4},  {"dx", 8},       {"si", 12}, {"di", 16}, {"bp", 20},
                                 {"ax", 24}, {"ds", 28}, {"es", 32},      {"fs", 36}, {"gs", 40}, {"orig_ax", 44},
                                 {"ip", 48}, {"cs", 52}, {"flags", 56},   {"sp", 60}, {"ss", 64}};
    return n;
}

const name_table& hcall_names() {
    static const name_table n = {
        {"LHCALL_FLUSH_ASYNC", G::LHCALL_FLUSH_ASYNC},       {"LHCALL_LGUEST_INIT", G::LHCALL_LGUEST_INIT},
        {"LHCALL_SHUTDOWN", G::LHCALL_SHUTDOWN},             {"LHCALL_CRASH", G::LHCALL_SHUTDOWN},
        {"LHCALL_NEW_PGTABLE", G::LHCALL_NEW_PGTABLE},       {"LHCALL_FLUSH_TLB", G::LHCALL_FLUSH_TLB},
        {"LHCALL_LOAD_IDT_ENTRY", G::LHCALL_LOAD_IDT_ENTRY}, {"LHCALL_SET_STACK", G::LHCALL_SET_STACK},
        {"LHCALL_TS", G::LHCALL_TS},                         {"LHCALL_SET_CLOCKEVENT", G::LHCALL_SET_CLOCKEVENT},
        {"LHCALL_HALT", G::LHCALL_HALT},                     {"LHCALL_SET_PMD", G::LHCALL_SET_PMD},
        {"LHCALL_SET_PTE", G::LHCALL_SET_PTE},               {"LHCALL_SET_PGD", G::LHCALL_SET_PGD},
        {"LHCALL_LOAD_TLS", G::LHCALL_LOAD_TLS},             {"LHCALL_NOTIFY", G::LHCALL_NOTIFY},
        {"LHCALL_LOAD_GDT_ENTRY", G::LHCALL_LOAD_GDT_ENTRY}, {"LHCALL_SEND_INTERRUPTS", G::LHCALL_SEND_INTERRUPTS}};
    return n;
}

// The reason a dead guest gives, as text: printable bytes as they are, a
// newline kept, anything else as \xNN (the guest wrote the message).
std::string reason_text(const std::vector<std::uint8_t>& b) {
    std::string t;
    for (std::uint8_t ch : b) {
        if (ch == 0) break;
        if ((ch >= 0x20 && ch < 0x7f) || ch == '\n') {
            t.push_back(static_cast<char>(ch));
        } else {
            static const char* digits = "0123456789abcdef";
            t += "\\x";
            t.push_back(digits[ch >> 4]);
            t.push_back(digits[ch & 15]);
        }
    }
    return t;
}

std::shared_ptr<G::lguest_file> lguest_at(G::process& p, long fd) { return std::dynamic_pointer_cast<G::lguest_file>(p.lookup(fd)); }

void op_open(step_context& c) { open_device(c, "/dev/lguest"); }

// The words written: the request, then the ones the seed's handler reads for it.
user_struct request_words(step_context& c, std::uint64_t req) {
    user_struct s;
    s.u64(req);
    const auto w = [&](const char* f) { s.u64(c.integer(f, 0)); };
    switch (req) {
    case G::LHREQ_INITIALIZE: w("base"); w("pfnlimit"); w("start"); break;
    case G::LHREQ_IRQ: w("irq"); break;
    case G::LHREQ_EVENTFD: w("addr"); w("eventfd"); break;
    case G::LHREQ_GETREG: s.u64(c.has("reg") ? flags_value(c.args()["reg"], reg_names()) : 0); break;
    case G::LHREQ_SETREG: s.u64(c.has("reg") ? flags_value(c.args()["reg"], reg_names()) : 0); w("value"); break;
    default: break;
    }
    return s;
}

void op_write(step_context& c) {
    G::process& p = c.acting_process();
    const std::uint64_t req = flags_value(c.args()["req"], req_names());
    user_struct s = request_words(c, req);
    const std::uint64_t buf = pass(c, p, s);
    write_step(c, p, buf, c.integer("len", s.size()));
}

void op_read(step_context& c) {
    G::process& p = c.acting_process();
    const std::uint64_t len = c.size("len");
    // The driver stores a whole word whatever the length: the buffer has room for it.
    const auto ptr = c.pointer("arg");
    const std::uint64_t buf = ptr ? *ptr : p.scratch(std::max<std::uint64_t>(len, 8), c.delay);
    const auto b = read_step(c, p, buf, len);
    if (b.empty()) return;
    const auto f = lguest_at(p, static_cast<long>(c.integer("fd")));
    if (f && f->guest() && f->guest()->dead) c.result()["reason"] = reason_text(b);
    else if (b.size() == 8) c.result()["value"] = field(b, 0, 8);
}

// The guest behind the step's `fd`, or the first initialized one among the
// process's descriptors. Null with `err` set when there is none.
std::shared_ptr<G::lguest_file> guest_of(step_context& c, int& err) {
    G::process& p = c.acting_process();
    if (c.has("fd")) {
        const long fd = static_cast<long>(c.integer("fd"));
        if (!p.lookup(fd)) {
            err = EBADF;
            return nullptr;
        }
        auto f = lguest_at(p, fd);
        if (!f || !f->guest()) err = EINVAL;
        return err ? nullptr : f;
    }
    for (const auto& [fd, f] : p.fds())
        if (auto g = std::dynamic_pointer_cast<G::lguest_file>(f); g && g->guest()) return g;
    err = EINVAL;
    return nullptr;
}

void queue(step_context& c, const G::guest_action& a) {
    int err = 0;
    const auto g = guest_of(c, err);
    put_ret(c, g ? g->queue(a) : -err);
}

void op_guest_hcall(step_context& c) {
    G::guest_action a;
    a.what = G::guest_action::kind::hcall;
    a.args[0] = flags_value(c.args()["hcall"], hcall_names());
    if (c.has("args")) {
        const batch_op f{c.args()["args"], "args.args"};
        const char* names[] = {"arg1", "arg2", "arg3", "arg4"};
        for (int i = 0; i < 4; ++i) a.args[static_cast<std::size_t>(i) + 1] = f.integer(names[i], u64_max, 0);
    }
    queue(c, a);
}

void op_guest_notify(step_context& c) {
    G::guest_action a;
    a.what = G::guest_action::kind::hcall;
    a.args[0] = G::LHCALL_NOTIFY;
    a.args[1] = c.integer("addr");
    queue(c, a);
}

void op_guest_access(step_context& c) {
    G::guest_action a;
    a.what = G::guest_action::kind::access;
    a.addr = c.integer("addr");
    a.len = static_cast<std::uint32_t>(c.size("len"));
    a.write = c.boolean("write", false);
    if (c.has("data")) a.data = c.data("data");
    queue(c, a);
}

void op_guest_state(step_context& c) {
    int err = 0;
    const auto g = guest_of(c, err);
    put_ret(c, g ? 0 : -err);
    if (!g) return;
    const G::lguest& lg = *g->guest();
    const G::lg_cpu& cpu = lg.cpus[0];
    c.result()["dead"] = lg.dead;
    if (lg.dead && !lg.dead_err) c.result()["reason"] = reason_text(std::vector<std::uint8_t>(lg.dead_reason.begin(), lg.dead_reason.end()));
    c.result()["halted"] = cpu.halted;
    c.result()["queued"] = cpu.script.size();
    c.result()["pending_notify"] = cpu.pending_notify;
    nlohmann::ordered_json pending = nlohmann::ordered_json::array();
    for (unsigned i = 0; i < G::LGUEST_IRQS; ++i)
        if (cpu.irqs_pending & (1u << i)) pending.push_back(i);
    c.result()["irqs_pending"] = pending;
    c.result()["irqs_taken"] = cpu.delivered;
    c.result()["last_read"] = hex_bytes(cpu.last_read.data(), cpu.last_read.size());
    c.result()["eventfds"] = lg.eventfds.size();
}

}  // namespace

void register_lguest(op_registry& r) {
    using t = arg_type;
    const arg_spec offset{"offset", t::integer, false, "pread/pwrite position: selects the vCPU (truncated to 32 bits; past 2^63-1 a negative position, EINVAL)", 0, u64_max};
    const arg_spec guest_fd{"fd", t::integer, false, "the /dev/lguest descriptor of the guest (default: the first one with a guest)", 0, 0xffffffff};
    const std::string no_guest = "EBADF: `fd` is not open; EINVAL: no initialized guest behind it (or behind any of the process's descriptors); ENOSPC: more than 1024 actions queued";

    r.add({"lguest.open", actor::process, "open(2) of /dev/lguest (a misc device: nothing is allocated until LHREQ_INITIALIZE)", {},
           syscall_results({{"fd", result_type::integer, "the new descriptor"}}), {}, {}, "EMFILE"},
          op_open);
    r.add({"lguest.write", actor::process,
           "write(2) of a request: the words `req` and the fields it reads (LHREQ_INITIALIZE base, pfnlimit, start; LHREQ_IRQ irq; "
           "LHREQ_EVENTFD addr, eventfd; LHREQ_GETREG reg; LHREQ_SETREG reg, value), each an unsigned long in the process's memory",
           {fd_arg(), flags_arg("req", true, "LHREQ_* name or number", req_names(), u64_max),
            {"base", t::integer, false, "LHREQ_INITIALIZE: the guest's memory in the launcher (a launcher address)", 0, u64_max, "0"},
            {"pfnlimit", t::integer, false, "LHREQ_INITIALIZE: pages of guest memory", 0, u64_max, "0"},
            {"start", t::integer, false, "LHREQ_INITIALIZE: the guest's first instruction (eip)", 0, u64_max, "0"},
            {"irq", t::integer, false, "LHREQ_IRQ: the interrupt (below 32)", 0, u64_max, "0"},
            {"addr", t::integer, false, "LHREQ_EVENTFD: the notify address (0 is EINVAL)", 0, u64_max, "0"},
            {"eventfd", t::integer, false, "LHREQ_EVENTFD: the eventfd descriptor (an int of the writer's table)", 0, u64_max, "0"},
            flags_arg("reg", false, "LHREQ_GETREG / LHREQ_SETREG: an i386 struct pt_regs offset, or its field name", reg_names(), u64_max),
            {"value", t::integer, false, "LHREQ_SETREG: the value", 0, u64_max, "0"},
            offset,
            {"len", t::integer, false, "the length passed to write(2) (the driver never looks at it)", 0, op_limits::max_transfer, "the words' size"},
            null_arg()},
           syscall_results(), {}, {},
           "EFAULT: a word not readable; EINVAL: not initialized, a vCPU past nr_cpus, an unknown request (LHREQ_GETDMA and LHREQ_BREAK "
           "are no longer used), irq >= 32, notify address 0, a descriptor that is no eventfd; EBUSY: a second LHREQ_INITIALIZE; "
           "ENOENT: the guest is dead, or no such register; ENOMEM; EBADF: no such eventfd descriptor"},
          op_write);
    r.add({"lguest.read", actor::process,
           "read(2): runs the guest until it needs the launcher (a notify with no eventfd attached: `value` is the address), dies, or "
           "idles; after LHREQ_GETREG, the register (`value`); a dead guest gives its reason",
           {fd_arg(), {"len", t::size, true, "the buffer's size (a notify or register is stored whole whatever it is)", 0, op_limits::max_transfer},
            offset, {"arg", t::pointer, false, "the buffer: null passes NULL (EFAULT), an integer that user address; absent: a buffer of the process"}},
           syscall_results({{"data", result_type::data, "the bytes read"},
                            {"value", result_type::integer, "the notify address or register read (an 8-byte read of a live guest)"},
                            {"reason", result_type::text, "a dead guest's reason"}}),
           {}, {},
           "EINVAL: not initialized, or a vCPU past nr_cpus; EPERM: not the launcher task; ENOENT: the guest died during this read; "
           "85 (ERESTART): it asked to restart; EAGAIN: the guest is halted with no interrupt, or has nothing scripted (reads never block); EFAULT"},
          op_read);
    r.add({"lguest.guest_hcall", actor::process, "the guest makes a hypercall when it next runs (number in eax, arguments in ebx, ecx, edx, esi)",
           {flags_arg("hcall", true, "LHCALL_* name (LHCALL_CRASH: the old name of LHCALL_SHUTDOWN) or number", hcall_names(), u64_max),
            structure_arg("args", false, "struct hcall_args past the call: arg1..arg4 (0 when absent)",
                          {{"arg1", t::integer, false, "ebx", 0, u64_max, "0"},
                           {"arg2", t::integer, false, "ecx", 0, u64_max, "0"},
                           {"arg3", t::integer, false, "edx", 0, u64_max, "0"},
                           {"arg4", t::integer, false, "esi", 0, u64_max, "0"}}),
            guest_fd},
           syscall_results(), {}, {}, no_guest},
          op_guest_hcall);
    r.add({"lguest.guest_notify", actor::process, "the guest does LHCALL_NOTIFY with `addr` when it next runs",
           {{"addr", t::integer, true, "the notify address (0: nothing pending)", 0, u64_max}, guest_fd}, syscall_results(), {}, {}, no_guest},
          op_guest_notify);
    r.add({"lguest.guest_access", actor::process,
           "the guest loads or stores its memory at a guest-physical address when it next runs (through the launcher's page tables at "
           "base + addr; past pfnlimit, or unmapped in the launcher, kills the guest)",
           {{"addr", t::integer, true, "guest-physical address", 0, u64_max},
            {"len", t::size, true, "bytes", 1, max_access},
            {"write", t::boolean, false, "a store (default: a load)", 0, 1, "false"},
            {"data", t::data, false, "what a store writes (zero-padded or cut to len)", 1, max_access},
            guest_fd},
           syscall_results(), {}, {}, no_guest},
          op_guest_access);
    r.add({"lguest.guest_state", actor::process, "what the guest's host side holds (the twin's view: no system call)",
           {guest_fd},
           syscall_results({{"dead", result_type::boolean, "the guest was killed or shut down"},
                            {"reason", result_type::text, "the reason it died (absent for a restart)"},
                            {"halted", result_type::boolean, "halted until an interrupt"},
                            {"queued", result_type::integer, "scripted actions not yet done"},
                            {"pending_notify", result_type::integer, "the notify returned to the launcher last (0: none)"},
                            {"irqs_pending", result_type::structure, "interrupts raised and not yet taken"},
                            {"irqs_taken", result_type::structure, "interrupts the guest took, in order"},
                            {"last_read", result_type::data, "the bytes of the guest's last load"},
                            {"eventfds", result_type::integer, "eventfds attached"}}),
           {}, {}, no_guest},
          op_guest_state);
    register_file_ops(r, "lguest", "/dev/lguest");
}

} // namespace iotwin::platform::interfaces
