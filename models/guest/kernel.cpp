#include "models/guest/kernel.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "models/cpu/cpu.h"
#include "models/guest/gnttab_guest.h"
#include "models/hyp/event_channel.h"
#include "models/hyp/grant_table.h"
#include "models/hyp/hypervisor.h"

namespace iotwin::guest {

using sc_core::sc_time;

// ---- file defaults: what Linux answers when a driver lacks the operation ----

long file::ioctl(process&, unsigned long, std::uint64_t, sc_time&) { return -ENOTTY; }
long file::read(process&, std::uint64_t, std::uint64_t, std::uint64_t&, sc_time&) { return -EINVAL; }
long file::write(process&, std::uint64_t, std::uint64_t, std::uint64_t&, sc_time&) { return -EINVAL; }
long file::mmap(process&, vma&, sc_time&) { return -ENODEV; }

// ---- kernel ----

namespace {
// Guest frames of the unpopulated region start this far above the domain's
// special region (grant, status and shared-info frames: at most a few
// thousand frames), so the two never meet.
constexpr std::uint64_t unpopulated_gap_frames = 0x10000;
}  // namespace

kernel::kernel(hyp::hypervisor& h, cpu::cpu& c, hyp::domid_t dom, std::map<std::string, driver_config> drivers)
    : h_(h), cpu_(c), dom_(dom), drivers_(std::move(drivers)) {
    const hyp::domain& d = domain();
    // The kernel's page pool is the upper half of the domain's RAM; the lower
    // half stays for what a scenario does at guest-physical addresses itself.
    next_page_ = d.memory & ~(page_size - 1);
    pool_floor_ = (d.memory / 2) & ~(page_size - 1);
    unpop_next_ = (d.special_gfn() + unpopulated_gap_frames) * page_size;
}

const hyp::domain& kernel::domain() const { return *h_.find(dom_); }

driver_config kernel::driver(const std::string& name) const {
    const auto it = drivers_.find(name);
    return it == drivers_.end() ? driver_config{} : it->second;
}

std::optional<std::uint64_t> kernel::alloc_page(sc_time& d, bool may_fail) {
    if (may_fail && h_.allocation_fails()) return std::nullopt;
    std::uint64_t gpa = 0;
    if (!free_pages_.empty()) {
        gpa = *free_pages_.begin();
        free_pages_.erase(free_pages_.begin());
    } else {
        if (next_page_ < pool_floor_ + page_size) return std::nullopt;
        next_page_ -= page_size;
        gpa = next_page_;
    }
    refs_[gpa] = 1;
    static const std::uint8_t zeros[page_size] = {};
    access(true, gpa, const_cast<std::uint8_t*>(zeros), page_size, d);
    return gpa;
}

bool kernel::kmalloc_fails() { return h_.allocation_fails(); }

void kernel::get_page(std::uint64_t gpa) { ++refs_[gpa]; }

void kernel::put_page(std::uint64_t gpa) {
    const auto it = refs_.find(gpa);
    if (it == refs_.end()) return;
    if (--it->second > 0) return;
    refs_.erase(it);
    free_pages_.insert(gpa);
}

long kernel::page_refs(std::uint64_t gpa) const {
    const auto it = refs_.find(gpa);
    return it == refs_.end() ? 0 : it->second;
}

std::optional<std::uint64_t> kernel::alloc_unpopulated(sc_time& d) {
    (void)d;
    if (h_.allocation_fails()) return std::nullopt;
    if (!unpop_free_.empty()) {
        const std::uint64_t gpa = *unpop_free_.begin();
        unpop_free_.erase(unpop_free_.begin());
        return gpa;
    }
    const std::uint64_t gpa = unpop_next_;
    unpop_next_ += page_size;
    return gpa;
}

void kernel::free_unpopulated(std::uint64_t gpa) { unpop_free_.insert(gpa); }

int kernel::access(bool write, std::uint64_t gpa, void* data, std::uint64_t len, sc_time& d) {
    auto* p = static_cast<std::uint8_t*>(data);
    while (len > 0) {
        // One access per page: the pages behind consecutive addresses need not be contiguous in machine memory.
        const std::uint64_t n = std::min(len, page_size - gpa % page_size);
        const int e = h_.guest_access(dom_, write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND, gpa, p,
                                      static_cast<unsigned>(n), d);
        if (e) return e;
        gpa += n;
        p += n;
        len -= n;
    }
    return 0;
}

long kernel::hypercall(unsigned nr, unsigned cmd, void* arg, std::uint32_t count, sc_time& d) {
    hyp::hypercall hc;
    hc.caller = dom_;
    hc.nr = nr;
    hc.cmd = cmd;
    hc.arg = arg;
    hc.count = count;
    hc.readable = arg ? count : 0;
    return cpu_.call(hc, d);
}

long kernel::claim_grant_ref(sc_time& d) {
    namespace g = hyp::gnttab;
    gnttab_guest gt(h_, dom_);
    for (int attempt = 0; attempt < 2; ++attempt) {
        const g::table* t = h_.grant_tables().find(dom_);
        const std::uint32_t entries = t ? t->entries() : 0;
        for (std::uint32_t ref = g::nr_reserved_entries; ref < entries; ++ref) {
            if (grant_refs_used_.count(ref)) continue;
            gnttab_guest::entry_view e;
            if (gt.entry(ref, e, d) != 0 || (e.flags & g::GTF_type_mask) != g::GTF_invalid) continue;
            grant_refs_used_.insert(ref);
            return ref;
        }
        // gnttab_expand: one more frame, within the maximum Xen reports.
        g::query_size q;
        q.dom = hyp::reserved_domid("DOMID_SELF").value();
        if (hypercall(hyp::HYPERVISOR_grant_table_op, g::GNTTABOP_query_size, &q, 1, d) != 0 || q.status != g::GNTST_okay ||
            q.nr_frames >= q.max_nr_frames)
            return -ENOSPC;
        g::setup_table s;
        s.dom = q.dom;
        s.nr_frames = q.nr_frames + 1;
        if (hypercall(hyp::HYPERVISOR_grant_table_op, g::GNTTABOP_setup_table, &s, 1, d) != 0 || s.status != g::GNTST_okay)
            return -ENOSPC;
    }
    return -ENOSPC;
}

process& kernel::spawn(const std::string& name, rlimits lim, std::set<capability> caps) {
    procs_.push_back(std::make_unique<process>(*this, name, next_pid_++, lim, std::move(caps)));
    return *procs_.back();
}

void kernel::fput(const file_ref& f, sc_time& d) {
    if (--f->refs == 0) f->release(d);
}

// ---- event channels: the kernel's side of the 2-level ABI ----

void kernel::upcall(const sc_time& when) {
    // Ports no driver bound are the domain's own steps' business (evtchn.* as
    // a domain): the kernel leaves them, and the upcall flag, as they are.
    if (handlers_.empty()) return;
    namespace L = hyp::shared_info_layout;
    const std::uint64_t si = domain().shared_info_gfn() * page_size;
    sc_time d = sc_core::SC_ZERO_TIME;
    // xen_evtchn_do_upcall: the selector's words, each one's pending and
    // unmasked bits, lowest port first; a handled port's pending bit is cleared.
    std::uint64_t sel = 0;
    access(false, si + L::evtchn_pending_sel, &sel, 8, d);
    std::uint64_t left = sel;
    for (unsigned w = 0; w < L::bits_per_word; ++w) {
        if (!(sel >> w & 1)) continue;
        std::uint64_t pend = 0, mask = 0;
        access(false, si + L::evtchn_pending + 8 * w, &pend, 8, d);
        access(false, si + L::evtchn_mask + 8 * w, &mask, 8, d);
        const std::uint64_t ready = pend & ~mask;
        for (unsigned b = 0; b < L::bits_per_word; ++b) {
            if (!(ready >> b & 1)) continue;
            const std::uint32_t port = w * L::bits_per_word + b;
            const auto h = handlers_.find(port);
            if (h == handlers_.end()) continue;
            pend &= ~(1ull << b);
            access(true, si + L::evtchn_pending + 8 * w, &pend, 8, d);
            h->second(port, when + d);
        }
        if (!pend) left &= ~(1ull << w);
    }
    if (left == sel) return;
    access(true, si + L::evtchn_pending_sel, &left, 8, d);
    if (!left) {
        std::uint8_t zero = 0;
        access(true, si + L::evtchn_upcall_pending, &zero, 1, d);
    }
}

long kernel::evtchn_send(std::uint32_t port, sc_time& d) {
    hyp::evtchn_send s;
    s.port = port;
    return hypercall(hyp::HYPERVISOR_event_channel_op, hyp::EVTCHNOP_send, &s, 1, d);
}

long kernel::evtchn_close(std::uint32_t port, sc_time& d) {
    unbind_port(port);
    hyp::evtchn_close c;
    c.port = port;
    return hypercall(hyp::HYPERVISOR_event_channel_op, hyp::EVTCHNOP_close, &c, 1, d);
}

long kernel::evtchn_unmask(std::uint32_t port, sc_time& d) {
    hyp::evtchn_unmask u;
    u.port = port;
    return hypercall(hyp::HYPERVISOR_event_channel_op, hyp::EVTCHNOP_unmask, &u, 1, d);
}

long kernel::evtchn_mask(std::uint32_t port, sc_time& d) {
    namespace L = hyp::shared_info_layout;
    if (port >= L::nr_channels) return -EINVAL;
    const std::uint64_t at = domain().shared_info_gfn() * page_size + L::evtchn_mask + 8 * (port / L::bits_per_word);
    std::uint64_t w = 0;
    if (access(false, at, &w, 8, d)) return -EFAULT;
    w |= 1ull << (port % L::bits_per_word);
    return access(true, at, &w, 8, d) ? -EFAULT : 0;
}

// ---- interrupts of the domain's own devices ----

void kernel::bind_gsi(unsigned gsi, const void* owner, gsi_handler h, sc_time& d) {
    gsi_line& l = gsis_[gsi];
    const bool first = l.handlers.empty();
    l.handlers.emplace_back(owner, std::move(h));
    // request_irq's irq_startup unmasks the line: what came while nobody
    // listened is acknowledged now and, still asserted, comes again.
    if (first && !l.disabled) eoi_gsi(gsi, d);
}

void kernel::unbind_gsi(unsigned gsi, const void* owner) {
    const auto it = gsis_.find(gsi);
    if (it == gsis_.end()) return;
    auto& hs = it->second.handlers;
    hs.erase(std::remove_if(hs.begin(), hs.end(), [&](const auto& x) { return x.first == owner; }), hs.end());
    // free_irq of the last handler shuts the line down; its disable depth goes with it.
    if (hs.empty() && !it->second.running) gsis_.erase(it);
}

void kernel::disable_gsi(unsigned gsi) { ++gsis_[gsi].disabled; }

void kernel::enable_gsi(unsigned gsi, sc_time& d) {
    const auto it = gsis_.find(gsi);
    if (it == gsis_.end() || it->second.disabled == 0) return;  // "Unbalanced enable": nothing
    if (--it->second.disabled == 0 && it->second.eoi_owed) eoi_gsi(gsi, d);
}

void kernel::eoi_gsi(unsigned gsi, sc_time& d) {
    if (const auto it = gsis_.find(gsi); it != gsis_.end()) it->second.eoi_owed = false;
    h_.eoi_pirq(dom_, gsi, d);
}

void kernel::irq(const hyp::interrupt_delivery& r) {
    sc_time d = r.time > sc_core::sc_time_stamp() ? r.time - sc_core::sc_time_stamp() : sc_core::SC_ZERO_TIME;
    if (!r.intx) {
        const auto it = vectors_.find(r.vector);
        if (it == vectors_.end()) {
            ++spurious_irqs_;  // a vector with no handler: the kernel only acknowledges it
            return;
        }
        const msi_handler h = it->second;  // the handler may unbind itself
        h(d);
        return;
    }
    const auto it = gsis_.find(r.gsi);
    if (it == gsis_.end() || it->second.handlers.empty()) return;  // masked at the controller: stays in flight
    if (it->second.disabled) {
        it->second.eoi_owed = true;
        return;
    }
    const bool nested = it->second.running;  // an EOI's redelivery while the first delivery is being handled
    it->second.running = true;
    bool handled = false;
    // Copies: a handler may free or request interrupts.
    const auto hs = it->second.handlers;
    for (const auto& [owner, h] : hs) handled = h(d) || handled;
    if (!handled) ++spurious_irqs_;
    gsi_line& l = gsis_[r.gsi];
    if (!handled && nested) {
        // note_interrupt: an unhandled level interrupt that returns at once
        // would storm; the kernel disables the line ("nobody cared").
        ++l.disabled;
        l.eoi_owed = true;
    } else if (l.disabled || l.handlers.empty()) {
        l.eoi_owed = true;
    } else {
        eoi_gsi(r.gsi, d);  // may deliver again, nested
    }
    gsi_line& after = gsis_[r.gsi];
    after.running = nested;
    if (!nested && after.handlers.empty()) gsis_.erase(r.gsi);
}

// ---- os ----

os::os(hyp::hypervisor& h, cpu::cpu& c) : h_(h), cpu_(c) {
    h_.irq_handler = [this](const hyp::interrupt_delivery& r) {
        const auto it = kernels_.find(r.domain);
        if (it != kernels_.end()) it->second->irq(r);
    };
}

os::~os() { h_.irq_handler = nullptr; }

kernel& os::add_kernel(hyp::domid_t dom, std::map<std::string, driver_config> drivers) {
    auto& k = kernels_[dom];
    if (!k) k = std::make_unique<kernel>(h_, cpu_, dom, std::move(drivers));
    return *k;
}

kernel* os::kernel_of(hyp::domid_t dom) {
    const auto it = kernels_.find(dom);
    if (it != kernels_.end()) return it->second.get();
    const hyp::domain* d = h_.find(dom);
    if (!d || d->dying) return nullptr;
    return &add_kernel(dom);
}

process* os::find(const std::string& name) {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

process& os::spawn(hyp::domid_t dom, const std::string& name, rlimits lim, std::set<capability> caps) {
    process& p = add_kernel(dom).spawn(name, lim, std::move(caps));
    by_name_[name] = &p;
    return p;
}

process* os::fork(process& parent, const std::string& child, sc_time& d) {
    process* c = parent.fork(child, d);
    if (c) by_name_[child] = c;
    return c;
}

void os::upcall(hyp::domid_t dom, const sc_time& when) {
    const auto it = kernels_.find(dom);
    if (it != kernels_.end()) it->second->upcall(when);
}

} // namespace iotwin::guest
