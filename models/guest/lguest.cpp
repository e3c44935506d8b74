#include "models/guest/lguest.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "models/guest/eventfd.h"
#include "models/guest/kernel.h"
#include "models/guest/process.h"
#include "models/hyp/hypervisor.h"

namespace iotwin::guest {

using sc_core::sc_time;

namespace {

constexpr std::uint64_t word = sizeof(std::uint64_t);  // the host's unsigned long
// kmalloc's largest object (SLUB, 4 KiB pages, MAX_ORDER 11): add_eventfd's
// array of { unsigned long addr; struct eventfd_ctx *event; } after an int
// count cannot grow past it.
constexpr std::uint64_t kmalloc_max = 4ull << 20;

// The kernel's %#lx: "0x" and lower-case hex, "0x0" for zero (lib/vsprintf.c
// number(): the prefix does not depend on the value for base 16).
std::string hex(std::uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return b;
}

}  // namespace

// x86/core.c lguest_arch_regptr (Linux 4.1): the general registers, the
// instruction and stack pointers may be read and set; the segment registers
// and eflags only read (`any`); orig_ax and anything else is no register.
std::uint64_t* lguest_regptr(lguest_regs& r, std::uint64_t off, bool any) {
    switch (off) {
    case 0: return &r.ebx;
    case 4: return &r.ecx;
    case 8: return &r.edx;
    case 12: return &r.esi;
    case 16: return &r.edi;
    case 20: return &r.ebp;
    case 24: return &r.eax;
    case 48: return &r.eip;
    case 60: return &r.esp;
    default: break;
    }
    if (!any) return nullptr;
    switch (off) {
    case 28: return &r.ds;
    case 32: return &r.es;
    case 36: return &r.fs;
    case 40: return &r.gs;
    case 52: return &r.cs;
    case 56: return &r.eflags;
    case 64: return &r.ss;
    default: return nullptr;
    }
}

// ---- guest memory (core.c) ----

// lguest_address_ok: the range ends at or below pfn_limit pages and does not
// wrap. The arithmetic is the host's unsigned long, wrap-around included.
bool lguest_file::address_ok(std::uint64_t addr, std::uint64_t len) const {
    return addr + len <= lg_->pfn_limit * page_size && addr + len >= addr;
}

// __lgread: the launcher's memory at mem_base + addr, through its page
// tables; a bad range reads zeroes and kills the guest.
bool lguest_file::lgread(lg_cpu& cpu, std::uint8_t* b, std::uint64_t addr, std::uint32_t bytes, sc_time& d) {
    if (!address_ok(addr, bytes) || cpu.tsk->copy_from_user(b, lg_->mem_base + addr, bytes, d) != 0) {
        std::memset(b, 0, bytes);
        kill_guest("bad read address " + hex(addr) + " len " + std::to_string(bytes));
        return false;
    }
    return true;
}

void lguest_file::lgwrite(lg_cpu& cpu, std::uint64_t addr, const std::uint8_t* b, std::uint32_t bytes, sc_time& d) {
    if (!address_ok(addr, bytes) || cpu.tsk->copy_to_user(lg_->mem_base + addr, b, bytes, d) != 0)
        kill_guest("bad write address " + hex(addr) + " len " + std::to_string(bytes));
}

// kill_guest (lg.h): the first reason stays.
void lguest_file::kill_guest(const std::string& why) {
    if (lg_->dead) return;
    lg_->dead = true;
    lg_->dead_reason = why;
}

// ---- write (lguest_user.c) ----

long lguest_file::write(process& p, std::uint64_t in, std::uint64_t, std::uint64_t& off, sc_time& d) {
    // The size written is never looked at: the words are read from the
    // launcher's memory whatever length it gave.
    std::uint64_t req = 0;
    if (p.copy_from_user(&req, in, word, d)) return -EFAULT;
    const std::uint64_t input = in + word;
    // The offset selects the vCPU; it is truncated to unsigned int.
    const unsigned cpu_id = static_cast<std::uint32_t>(off);
    lg_cpu* cpu = nullptr;
    if (req != LHREQ_INITIALIZE) {
        if (!lg_ || cpu_id >= lg_->nr_cpus) return -EINVAL;
        cpu = &lg_->cpus[cpu_id];
        // Once the guest is dead, only read() (why it died) works.
        if (lg_->dead) return -ENOENT;
    }
    switch (req) {
    case LHREQ_INITIALIZE: return initialize(p, input, d);
    case LHREQ_IRQ: {
        // user_send_irq
        std::uint64_t irq = 0;
        if (p.copy_from_user(&irq, input, word, d)) return -EFAULT;
        if (irq >= LGUEST_IRQS) return -EINVAL;
        cpu->irqs_pending |= 1u << irq;  // set_interrupt: a halted guest wakes for it
        return 0;
    }
    case LHREQ_EVENTFD: return attach_eventfd(p, input, d);
    case LHREQ_GETREG: {
        // getreg_setup: the next read returns the register instead of running the guest.
        std::uint64_t which = 0;
        if (p.copy_from_user(&which, input, word, d)) return -EFAULT;
        if (!lguest_regptr(cpu->regs, which, true)) return -ENOENT;
        cpu->reg_read = static_cast<unsigned>(which);
        return static_cast<long>(word * 2);
    }
    case LHREQ_SETREG: {
        std::uint64_t which = 0, value = 0;
        if (p.copy_from_user(&which, input, word, d)) return -EFAULT;
        if (p.copy_from_user(&value, input + word, word, d)) return -EFAULT;
        std::uint64_t* reg = lguest_regptr(cpu->regs, which, false);
        if (!reg) return -ENOENT;
        *reg = value;
        return static_cast<long>(word * 3);
    }
    default: return -EINVAL;  // LHREQ_GETDMA and LHREQ_BREAK are no longer used
    }
}

// initialize(): base, pfnlimit, start. Nothing about them is checked: the
// launcher is trusted with its own memory layout.
long lguest_file::initialize(process& p, std::uint64_t input, sc_time& d) {
    if (lg_) return -EBUSY;  // close the device and start again
    std::uint64_t args[3] = {};
    if (p.copy_from_user(args, input, sizeof args, d)) return -EFAULT;
    hyp::hypervisor& h = k_.hyp();
    if (h.allocation_fails()) return -ENOMEM;  // kzalloc(struct lguest)
    auto lg = std::make_unique<lguest>();
    if (h.allocation_fails()) return -ENOMEM;  // kmalloc(lg->eventfds)
    lg->mem_base = args[0];
    lg->pfn_limit = args[1];

    // lg_cpu_start(&lg->cpus[0], 0, start)
    lg_cpu& cpu = lg->cpus[0];
    cpu.id = 0;
    ++lg->nr_cpus;
    const auto regs_page = k_.alloc_page(d);  // get_zeroed_page
    if (!regs_page) return -ENOMEM;
    cpu.regs_page = *regs_page;
    // lguest_arch_setup_regs: the kernel segments at the guest's privilege
    // level 1 (__KERNEL_DS|1, __KERNEL_CS|1), interrupts on (X86_EFLAGS_IF |
    // X86_EFLAGS_FIXED), eip at the start address.
    cpu.regs.ds = cpu.regs.es = cpu.regs.ss = 0x68 | 1;
    cpu.regs.cs = 0x60 | 1;
    cpu.regs.eflags = 0x200 | 0x2;
    cpu.regs.eip = args[2];
    cpu.tsk = &p;

    // init_guest_pagetable: the first shadow page directory.
    const auto pgdir = k_.alloc_page(d);
    if (!pgdir) {
        k_.put_page(cpu.regs_page);  // free_regs
        return -ENOMEM;
    }
    lg->pgdir_page = *pgdir;
    lg_ = std::move(lg);
    return static_cast<long>(sizeof args);
}

// attach_eventfd / add_eventfd: a notify of `addr` signals the eventfd
// instead of returning to the launcher.
long lguest_file::attach_eventfd(process& p, std::uint64_t input, sc_time& d) {
    std::uint64_t addr = 0, fd = 0;
    if (p.copy_from_user(&addr, input, word, d)) return -EFAULT;
    if (p.copy_from_user(&fd, input + word, word, d)) return -EFAULT;
    // A notify of 0 means "nothing pending".
    if (!addr) return -EINVAL;
    // A new one-larger array replaces the old one.
    if (8 + 16 * (lg_->eventfds.size() + 1) > kmalloc_max || k_.hyp().allocation_fails()) return -ENOMEM;
    // eventfd_ctx_fdget(int fd): the writer's descriptor; EBADF for none,
    // EINVAL for a file that is not an eventfd.
    const file_ref f = p.lookup(static_cast<long>(static_cast<std::uint32_t>(fd)));
    if (!f) return -EBADF;
    auto ev = std::dynamic_pointer_cast<eventfd>(f);
    if (!ev) return -EINVAL;
    lg_->eventfds.push_back({addr, std::move(ev)});
    return 0;
}

// ---- read: running the guest ----

long lguest_file::read(process& p, std::uint64_t user, std::uint64_t size, std::uint64_t& o, sc_time& d) {
    if (!lg_) return -EINVAL;  // LHREQ_INITIALIZE first
    const unsigned cpu_id = static_cast<std::uint32_t>(o);
    if (cpu_id >= lg_->nr_cpus) return -EINVAL;
    lg_cpu& cpu = lg_->cpus[cpu_id];
    if (&p != cpu.tsk) return -EPERM;  // only the task that owns the guest
    if (lg_->dead) {
        if (lg_->dead_err) return -lg_->dead_err;
        const std::uint64_t len = std::min<std::uint64_t>(size, lg_->dead_reason.size() + 1);
        if (p.copy_to_user(user, lg_->dead_reason.c_str(), len, d)) return -EFAULT;
        return static_cast<long>(len);
    }
    if (cpu.pending_notify) cpu.pending_notify = 0;  // the launcher dealt with the last one
    return run_guest(cpu, user, d);
}

bool lguest_file::send_notify_to_eventfd(lg_cpu& cpu) {
    for (lg_eventfd& e : lg_->eventfds) {
        if (e.addr == cpu.pending_notify) {
            e.event->signal(1);
            cpu.pending_notify = 0;
            break;
        }
    }
    return cpu.pending_notify == 0;
}

// run_guest (core.c), with the scripted guest in place of the switcher.
long lguest_file::run_guest(lg_cpu& cpu, std::uint64_t user, sc_time& d) {
    if (cpu.reg_read) {
        const std::uint64_t v = *lguest_regptr(cpu.regs, *cpu.reg_read, true);
        if (cpu.tsk->copy_to_user(user, &v, word, d)) return -EFAULT;
        cpu.reg_read.reset();
        return static_cast<long>(word);
    }
    while (!lg_->dead) {
        if (cpu.hcall) {
            // do_hypercalls: the guest booted, so lguest_data is registered.
            if (!cpu.pending_notify) {
                do_hcall(cpu, d);
                cpu.hcall.reset();
            }
        }
        if (cpu.pending_notify) {
            if (!send_notify_to_eventfd(cpu)) {
                if (cpu.tsk->copy_to_user(user, &cpu.pending_notify, word, d)) return -EFAULT;
                return static_cast<long>(word);
            }
        }
        // interrupt_pending / try_deliver_interrupt: the lowest pending
        // interrupt is taken; a halted guest restarts.
        if (cpu.irqs_pending) {
            unsigned irq = 0;
            while (!(cpu.irqs_pending & (1u << irq))) ++irq;
            cpu.irqs_pending &= ~(1u << irq);
            cpu.delivered.push_back(irq);
            cpu.halted = false;
        }
        if (lg_->dead) break;
        // A halted guest sleeps until an interrupt, and a guest with nothing
        // scripted keeps to itself: reads never block in the twin.
        if (cpu.halted || cpu.script.empty()) return -EAGAIN;
        // lguest_arch_run_guest + lguest_arch_handle_trap: the guest's next action.
        guest_action a = std::move(cpu.script.front());
        cpu.script.pop_front();
        if (a.what == guest_action::kind::hcall) {
            // A hypercall traps with its number and arguments in eax, ebx, ecx, edx, esi.
            cpu.regs.eax = a.args[0];
            cpu.regs.ebx = a.args[1];
            cpu.regs.ecx = a.args[2];
            cpu.regs.edx = a.args[3];
            cpu.regs.esi = a.args[4];
            cpu.hcall = a.args[0];
            continue;
        }
        std::vector<std::uint8_t> b(a.len, 0);
        if (a.write) {
            std::memcpy(b.data(), a.data.data(), std::min<std::size_t>(a.data.size(), b.size()));
            lgwrite(cpu, a.addr, b.data(), a.len, d);
        } else if (lgread(cpu, b.data(), a.addr, a.len, d)) {
            cpu.last_read = std::move(b);
        }
    }
    if (lg_->dead_err == lguest_erestart) return -lguest_erestart;
    return -ENOENT;
}

// do_hcall (hypercalls.c) with the arguments in the registers.
void lguest_file::do_hcall(lg_cpu& cpu, sc_time& d) {
    const std::uint64_t arg0 = cpu.regs.eax, arg1 = cpu.regs.ebx, arg2 = cpu.regs.ecx;
    switch (arg0) {
    case LHCALL_FLUSH_ASYNC:
    case LHCALL_SEND_INTERRUPTS:
        break;  // they only break out of the guest
    case LHCALL_LGUEST_INIT: kill_guest("already have lguest_data"); break;
    case LHCALL_SHUTDOWN: {
        // The message is 128 bytes of guest memory; a bad address kills the
        // guest with that reason first, and the CRASH one is ignored.
        std::uint8_t msg[128];
        lgread(cpu, msg, arg1, sizeof msg, d);
        msg[sizeof msg - 1] = 0;
        kill_guest("CRASH: " + std::string(reinterpret_cast<const char*>(msg)));
        if (arg2 == LGUEST_SHUTDOWN_RESTART) {
            // The reason string is dropped (never freed in the real code).
            lg_->dead_err = lguest_erestart;
            lg_->dead_reason.clear();
        }
        break;
    }
    // The shadow page tables, the stack, the clock and the TS flag: no
    // launcher-visible effect in the twin (configured with X86_PAE, so
    // LHCALL_SET_PMD is known).
    case LHCALL_FLUSH_TLB:
    case LHCALL_NEW_PGTABLE:
    case LHCALL_SET_STACK:
    case LHCALL_SET_PTE:
    case LHCALL_SET_PGD:
    case LHCALL_SET_PMD:
    case LHCALL_SET_CLOCKEVENT:
    case LHCALL_TS:
        break;
    case LHCALL_HALT: cpu.halted = true; break;
    case LHCALL_NOTIFY: cpu.pending_notify = arg1; break;
    // lguest_arch_do_hcall: the descriptor-table calls.
    case LHCALL_LOAD_GDT_ENTRY:
    case LHCALL_LOAD_IDT_ENTRY:
    case LHCALL_LOAD_TLS:
        break;
    default:
        // "%li": the number as a signed long; the format ends in a newline.
        kill_guest("Bad hypercall " + std::to_string(static_cast<long long>(arg0)) + "\n");
    }
}

long lguest_file::queue(const guest_action& a) {
    if (!lg_) return -EINVAL;
    lg_cpu& cpu = lg_->cpus[0];
    if (cpu.script.size() >= max_script) return -ENOSPC;
    cpu.script.push_back(a);
    return 0;
}

// close(): everything initialize() and LHREQ_EVENTFD took.
void lguest_file::release(sc_time&) {
    if (!lg_) return;
    k_.put_page(lg_->pgdir_page);
    for (unsigned i = 0; i < lg_->nr_cpus; ++i) k_.put_page(lg_->cpus[i].regs_page);
    lg_->eventfds.clear();  // eventfd_ctx_put
    lg_.reset();
}

} // namespace iotwin::guest
