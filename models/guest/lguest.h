// /dev/lguest: the host side of lguest as a launcher process drives it
// (drivers/lguest/lguest_user.c of Linux 4.0/4.1, the version with both
// LHREQ_EVENTFD and LHREQ_GETREG/SETREG; the hypercalls of hypercalls.c and
// the guest-memory checks of core.c of the same version).
//
// The first write must be LHREQ_INITIALIZE (base, pfnlimit, start); then
// LHREQ_IRQ, LHREQ_EVENTFD, LHREQ_GETREG and LHREQ_SETREG. A read by the
// launcher task runs the guest until it needs the launcher (a notify with no
// eventfd attached), dies (a dead guest's reads give its reason), or idles.
// close tears everything down.
//
// The guest's memory is the launcher's region [base, base + pfnlimit * 4096):
// every access the host makes for the guest goes through the launcher's page
// tables, after lguest_address_ok(); a bad one kills the guest.
//
// The guest itself is scripted: the launcher queues what it does (hypercalls,
// memory accesses, notifies) and the guest performs them on the next read.
//
// Words are the host's `unsigned long`: 8 bytes, as the twin's processes are
// x86-64 (the real host was i386 only: 4). Not modelled: the shadow page
// tables, GDT/IDT/TLS and timer hypercalls' effects, the asynchronous
// hypercall ring, interrupt frames pushed on the guest's stack.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/guest/file.h"

namespace iotwin::guest {

class kernel;
class eventfd;

// include/linux/lguest_launcher.h: the first word of every write.
enum lguest_req : std::uint64_t {
    LHREQ_INITIALIZE = 0,
    LHREQ_GETDMA = 1,  // no longer used: EINVAL
    LHREQ_IRQ = 2,
    LHREQ_BREAK = 3,   // no longer used: EINVAL
    LHREQ_EVENTFD = 4,
    LHREQ_GETREG = 5,
    LHREQ_SETREG = 6,
};

// arch/x86/include/asm/lguest_hcall.h (Linux 4.0).
enum lguest_hcall : std::uint64_t {
    LHCALL_FLUSH_ASYNC = 0,
    LHCALL_LGUEST_INIT = 1,
    LHCALL_SHUTDOWN = 2,  // LHCALL_CRASH until 2.6.25, same number
    LHCALL_NEW_PGTABLE = 4,
    LHCALL_FLUSH_TLB = 5,
    LHCALL_LOAD_IDT_ENTRY = 6,
    LHCALL_SET_STACK = 7,
    LHCALL_TS = 8,
    LHCALL_SET_CLOCKEVENT = 9,
    LHCALL_HALT = 10,
    LHCALL_SET_PMD = 13,
    LHCALL_SET_PTE = 14,
    LHCALL_SET_PGD = 15,
    LHCALL_LOAD_TLS = 16,
    LHCALL_NOTIFY = 17,
    LHCALL_LOAD_GDT_ENTRY = 18,
    LHCALL_SEND_INTERRUPTS = 19,
};
constexpr std::uint64_t LGUEST_SHUTDOWN_POWEROFF = 1, LGUEST_SHUTDOWN_RESTART = 2;
// LGUEST_IRQS: NR_IRQS < 32 ? NR_IRQS : 32, and NR_IRQS is far above 32.
constexpr std::uint64_t LGUEST_IRQS = 32;
constexpr unsigned LGUEST_MAX_VCPUS = 1;
// ERESTART (asm-generic/errno.h): what reads give after LGUEST_SHUTDOWN_RESTART.
constexpr int lguest_erestart = 85;

// struct lguest_regs, indexed by the i386 struct pt_regs offset the launcher
// names it by (bx 0, cx 4, ... ss 64).
struct lguest_regs {
    std::uint64_t eax = 0, ebx = 0, ecx = 0, edx = 0, esi = 0, edi = 0, ebp = 0;
    std::uint64_t gs = 0, fs = 0, ds = 0, es = 0;
    std::uint64_t eip = 0, cs = 0, eflags = 0, esp = 0, ss = 0;
};

// What the scripted guest does when it runs next.
struct guest_action {
    enum class kind { hcall, access } what = kind::hcall;
    std::array<std::uint64_t, 5> args{};  // hcall: arg0 (the call) .. arg4
    std::uint64_t addr = 0;                // access: guest-physical address
    std::uint32_t len = 0;
    bool write = false;
    std::vector<std::uint8_t> data;        // access: the bytes stored (zero-padded to len)
};

struct lg_eventfd {
    std::uint64_t addr = 0;
    std::shared_ptr<eventfd> event;  // the eventfd context reference (eventfd_ctx_fdget)
};

struct lg_cpu {
    unsigned id = 0;
    process* tsk = nullptr;          // the launcher task: only it may read
    lguest_regs regs;
    std::uint64_t regs_page = 0;    // the host page the registers live in
    std::uint64_t pending_notify = 0;
    std::optional<std::uint64_t> hcall;  // a hypercall trapped, not yet done (its number; args in regs)
    std::optional<unsigned> reg_read;    // LHREQ_GETREG: the pt_regs offset the next read returns
    bool halted = false;
    std::uint32_t irqs_pending = 0;      // bitmap of LGUEST_IRQS
    std::vector<unsigned> delivered;     // interrupts the guest took, in order
    std::deque<guest_action> script;
    std::vector<std::uint8_t> last_read; // what the guest's last read access got
};

// struct lguest: one guest.
struct lguest {
    std::uint64_t mem_base = 0;
    std::uint64_t pfn_limit = 0;
    unsigned nr_cpus = 0;
    std::array<lg_cpu, LGUEST_MAX_VCPUS> cpus;
    std::vector<lg_eventfd> eventfds;
    std::uint64_t pgdir_page = 0;   // the shadow page directory (init_guest_pagetable)
    // lg->dead: none while alive; else a reason string or an errno (ERESTART).
    bool dead = false;
    std::string dead_reason;
    int dead_err = 0;
};

class lguest_file : public file {
public:
    explicit lguest_file(kernel& k) : k_(k) {}
    ~lguest_file() override = default;

    std::string kind() const override { return "lguest"; }
    long read(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d) override;
    long write(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d) override;
    void release(sc_core::sc_time& d) override;

    // The guest (file->private_data); null until LHREQ_INITIALIZE succeeded.
    const lguest* guest() const { return lg_.get(); }
    // Queues what the guest does when it next runs (the twin's scripted guest).
    // 0, -EINVAL when there is no guest, -ENOSPC past the twin's queue limit.
    long queue(const guest_action& a);

    static constexpr std::size_t max_script = 1024;

private:
    long initialize(process& p, std::uint64_t input, sc_core::sc_time& d);
    long attach_eventfd(process& p, std::uint64_t input, sc_core::sc_time& d);
    long run_guest(lg_cpu& cpu, std::uint64_t user, sc_core::sc_time& d);
    void do_hcall(lg_cpu& cpu, sc_core::sc_time& d);
    bool send_notify_to_eventfd(lg_cpu& cpu);
    void kill_guest(const std::string& why);
    bool address_ok(std::uint64_t addr, std::uint64_t len) const;
    bool lgread(lg_cpu& cpu, std::uint8_t* b, std::uint64_t addr, std::uint32_t bytes, sc_core::sc_time& d);
    void lgwrite(lg_cpu& cpu, std::uint64_t addr, const std::uint8_t* b, std::uint32_t bytes, sc_core::sc_time& d);

    kernel& k_;
    std::unique_ptr<lguest> lg_;
};

// lguest_arch_regptr: the register at i386 pt_regs offset `off`; `any`
// allows the ones the launcher may read but not set. Null: no such register.
std::uint64_t* lguest_regptr(lguest_regs& r, std::uint64_t off, bool any);

} // namespace iotwin::guest
