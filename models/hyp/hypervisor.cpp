#include "models/hyp/hypervisor.h"
#include "models/common/payload.h"
#include "models/iommu/interrupt_remap.h"
#include "models/iommu/vtd.h"

#include <algorithm>
#include <cerrno>

namespace iotwin::hyp {

using namespace sc_core;

namespace {
void split_at(std::map<std::uint64_t, std::pair<std::uint64_t, domid_t>>& ledger, std::uint64_t a);
constexpr std::uint64_t page = 4096;
constexpr std::uint64_t domain_alignment = 2ull << 20;  // superpage-aligned allocations
std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) & ~(a - 1); }
} // namespace

std::optional<std::uint64_t> domain::to_machine(std::uint64_t gpa, std::uint64_t len) const {
    for (const extent& e : p2m)
        if (gpa >= e.gpa && len <= e.size && gpa - e.gpa <= e.size - len) return e.maddr + (gpa - e.gpa);
    return std::nullopt;
}

std::optional<domain::page_target> domain::translate(std::uint64_t gpa) const {
    const std::uint64_t gfn = gpa / page, off = gpa % page;
    if (const auto f = foreign.find(gfn); f != foreign.end()) return page_target{f->second.maddr + off, !f->second.readonly, &f->second};
    if (const auto sh = shared.find(gfn); sh != shared.end()) return page_target{sh->second + off, true, nullptr};
    if (const auto m = to_machine(gpa, 1)) return page_target{*m, true, nullptr};
    return std::nullopt;
}

bool domain::covers(std::uint64_t gpa, std::uint64_t len) const {
    if (gpa + len < gpa) return false;
    // Extents are in gpa order; walk the range through them.
    for (const extent& e : p2m) {
        if (len == 0) break;
        if (gpa < e.gpa || gpa - e.gpa >= e.size) continue;
        const std::uint64_t here = std::min(len, e.size - (gpa - e.gpa));
        gpa += here;
        len -= here;
    }
    return len == 0;
}

hypervisor::hypervisor(sc_module_name name, const hypervisor_params& p)
    : sc_module(name), cpu("cpu"), hypercalls("hypercalls"), io("io"), p_(p), pool_(p.heap_base, p.heap_size),
      vtd_(*this, p.iommu_regs, pool_, p.iommu_address_width), gnttab_(*this, p.timing.gnttab), evtchn_(*this, p.timing.evtchn) {
    hypercalls.register_b_transport(this, &hypervisor::b_transport_hypercall);
    if (p.iommu_scalable) vtd_.set_scalable(p.iommu_table);
    ledger_[p.heap_base] = {p.heap_base + p.heap_size, DOMID_XEN};
    for (auto [base, size] : p.ram) {
        // The hypervisor's own image and heap occupy the low RAM it is loaded into.
        const std::uint64_t reserved_end = p.heap_base + p.heap_size;
        if (base < reserved_end) {
            if (base + size <= reserved_end) continue;
            size -= reserved_end - base;
            base = reserved_end;
        }
        free_ram_.emplace_back(base, size);
    }
}

int hypervisor::init(sc_time& d) {
    const std::uint64_t fault_addr = msi_address(0);  // destination: the hypervisor's CPU (APIC ID 0)
    vectors_[fault_vector_] = DOMID_XEN;
    if (const int e = vtd_.init(p_.iommu_translate, fault_addr, fault_vector_, d)) return e;
    // CAP.ND bounds the domain IDs context entries may name (VT-d 3.x 11.4.2).
    iommu_domains_ = vtd::cap::domains(iommu_read64(vtd::reg::CAP, d));
    return init_interrupt_remapping(d);
}

int hypervisor::create_domain(const domain_config& c, sc_time& d) {
    const std::string& name = c.name;
    const std::uint64_t memory = c.memory;
    if (memory == 0 || memory % page) return -EINVAL;
    if (find(name)) return -EEXIST;
    domain dom;
    dom.id = static_cast<domid_t>(domains_.size());
    dom.name = name;
    dom.privileged = c.privileged;
    dom.type = c.type;
    dom.memory = memory;
    dom.max_grant_frames = c.max_grant_frames;
    dom.iommu_invalidation = c.iommu_invalidation;
    dom.iommu_did = static_cast<std::uint16_t>(dom.id + 1);  // DID 0 stays unused
    std::uint64_t need = memory, gpa = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> rest;
    for (auto& [base, size] : free_ram_) {
        const std::uint64_t start = align_up(base, domain_alignment);
        if (need == 0 || start >= base + size) { rest.emplace_back(base, size); continue; }
        const std::uint64_t take = std::min(need, base + size - start);
        dom.p2m.push_back({gpa, start, take});
        ledger_[start] = {start + take, dom.id};
        gpa += take;
        need -= take;
        if (start > base) rest.emplace_back(base, start - base);
        if (start + take < base + size) rest.emplace_back(start + take, base + size - start - take);
    }
    // A failed creation claims nothing: the ledger must not keep extents for a
    // domain ID that the next successful domain would reuse.
    if (!need) dom.iommu_pgd = vtd_.new_table(d);
    vtd_.set_mode(dom.iommu_did, c.iommu);
    if (need || !dom.iommu_pgd) {
        for (const extent& e : dom.p2m) ledger_.erase(e.maddr);
        return -ENOMEM;
    }
    free_ram_ = rest;
    domains_.push_back(std::move(dom));
    domain& made = domains_.back();
    if (const int e = gnttab_.domain_created(made, c.grant_version, c.max_grant_version, c.max_grant_frames,
                                             c.max_maptrack_frames, d))
        return -e;
    if (const int e = evtchn_.domain_created(made, d)) return -e;
    return made.id;
}

int hypervisor::create_domain(const std::string& name, bool privileged, std::uint64_t memory, sc_time& d) {
    domain_config c;
    c.name = name;
    c.privileged = privileged;
    c.memory = memory;
    return create_domain(c, d);
}

// -- domain destruction and grant mappings --
long hypervisor::destroy_domain(domid_t caller, domid_t victim, sc_time& d) {
    const domain* me = find(caller);
    if (!me || !me->privileged) return -EPERM;
    domain* x = find(victim);
    // A domain whose destruction finished is gone: rcu_lock_domain_by_id fails.
    if (!x || x->released) return -ESRCH;
    // do_domctl(XEN_DOMCTL_destroydomain) -> domain_kill(): a domain cannot kill itself.
    if (x == me) return -EINVAL;
    if (x->dying) return 0;  // domain_kill() of a dying domain continues (and here has nothing left to do)
    x->dying = true;
    // domain_kill(): evtchn_destroy() first, then domain_relinquish_resources():
    // pci_release_devices() (functions return to the hardware domain), then
    // gnttab_release_mappings(), then the domain's memory (x86, Xen 4.16 on).
    evtchn_.domain_destroyed(*x, d);
    const domain* hw = nullptr;
    for (const domain& o : domains_)
        if (o.privileged && !o.dying) { hw = &o; break; }
    for (std::uint16_t sid : x->devices)
        if (hw) vtd_.attach(sid, hw->iommu_did, hw->iommu_pgd, d);
    x->devices.clear();
    io_unmapped(victim, 0, ~std::uint64_t(0));  // no device uses its IO page table any more
    // Its grant mappings of others' frames are released; its own grant
    // table stays while others still map its grants (finished when the last
    // of those is unmapped).
    gnttab_.domain_destroyed(*x, d);
    // relinquish_memory(): every RAM frame no grant mapping holds is freed
    // now; the held ones when their last mapping goes (grant_tables).
    for (const extent& e : x->p2m) {
        std::uint64_t run = e.maddr;
        for (std::uint64_t a = e.maddr; a < e.maddr + e.size; a += page) {
            if (!gnttab_.frame_held(a)) continue;
            if (a > run) free_range(run, a - run);
            run = a + page;
        }
        if (run < e.maddr + e.size) free_range(run, e.maddr + e.size - run);
    }
    x->p2m.clear();
    return 0;
}

void hypervisor::free_range(std::uint64_t maddr, std::uint64_t size) {
    if (!size) return;
    split_at(ledger_, maddr);
    split_at(ledger_, maddr + size);
    ledger_.erase(ledger_.lower_bound(maddr), ledger_.lower_bound(maddr + size));
    // In address order, merged with its neighbours, so that allocations stay
    // deterministic and a freed domain's extents can hold a new domain.
    auto at = std::lower_bound(free_ram_.begin(), free_ram_.end(), std::make_pair(maddr, std::uint64_t(0)));
    at = free_ram_.insert(at, {maddr, size});
    if (std::next(at) != free_ram_.end() && at->first + at->second == std::next(at)->first) {
        at->second += std::next(at)->second;
        free_ram_.erase(std::next(at));
    }
    if (at != free_ram_.begin() && std::prev(at)->first + std::prev(at)->second == at->first) {
        std::prev(at)->second += at->second;
        free_ram_.erase(at);
    }
}

void hypervisor::b_transport_hypercall(tlm::tlm_generic_payload& gp, sc_time& d) {
    if (gp.get_data_length() != sizeof(hypercall) || !gp.get_data_ptr()) {
        gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    auto& hc = *reinterpret_cast<hypercall*>(gp.get_data_ptr());
    ++hypercalls_;
    d += p_.timing.hypercall_entry;
    switch (hc.nr) {
    case HYPERVISOR_grant_table_op: hc.rc = gnttab_.grant_table_op(hc, d); break;
    case HYPERVISOR_event_channel_op: hc.rc = evtchn_.event_channel_op(hc, d); break;
    case HYPERVISOR_domctl:
        if (hc.cmd != XEN_DOMCTL_destroydomain) hc.rc = -ENOSYS;
        else if (!hc.arg || hc.readable < 1) hc.rc = -EFAULT;
        else hc.rc = destroy_domain(hc.caller, static_cast<domctl_destroydomain*>(hc.arg)->domain, d);
        break;
    default: hc.rc = -ENOSYS; break;
    }
    d += p_.timing.hypercall_exit;
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}


domain* hypervisor::find(const std::string& name) {
    for (domain& x : domains_)
        if (x.name == name) return &x;
    return nullptr;
}

domain* hypervisor::find(domid_t id) { return id < domains_.size() ? &domains_[id] : nullptr; }

bool hypervisor::access(tlm::tlm_command cmd, std::uint64_t addr, void* data, unsigned len, sc_time& delay) {
    tlm::tlm_generic_payload gp;
    prepare(gp, cmd, addr, data, len);
    cpu->b_transport(gp, delay);
    return gp.is_response_ok();
}

pcie::completion hypervisor::machine_access(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data, unsigned len,
                                            sc_time& d) {
    pcie::pcie_ext ext;
    ext.host = true;
    tlm::tlm_generic_payload gp;
    prepare(gp, cmd, addr, data, len);
    gp.set_extension(&ext);
    const sc_time issued = d;
    cpu->b_transport(gp, d);
    gp.clear_extension(&ext);
    // A posted write costs the CPU only until the root complex took it.
    if (pcie::is_posted(gp, &ext) && ext.egress_set) d = std::max(issued, ext.egress);
    if (!gp.is_response_ok()) return pcie::completion::UR;
    return ext.status;
}

pcie::completion hypervisor::io_access(tlm::tlm_command cmd, std::uint32_t port, std::uint8_t* data, unsigned len, sc_time& d) {
    pcie::pcie_ext ext;
    ext.host = true;
    ext.kind = pcie::request_kind::io;
    tlm::tlm_generic_payload gp;
    prepare(gp, cmd, port, data, len);
    if (io.size() == 0) {
        // No I/O space behind the CPU: every port is a master abort.
        if (cmd == tlm::TLM_READ_COMMAND) std::fill(data, data + len, std::uint8_t(0xff));
        return pcie::completion::UR;
    }
    gp.set_extension(&ext);
    io->b_transport(gp, d);
    gp.clear_extension(&ext);
    if (!gp.is_response_ok() && ext.status == pcie::completion::SC) return pcie::completion::UR;
    return ext.status;
}

int hypervisor::guest_access(domid_t dom, tlm::tlm_command cmd, std::uint64_t gpa, std::uint8_t* data, unsigned len,
                             sc_time& d) {
    const domain* x = find(dom);
    // A range that wraps past the top of the guest-physical space is outside
    // the domain: it must not alias guest-physical 0.
    if (len && gpa + len - 1 < gpa) return EFAULT;
    // A vCPU access is split at page boundaries, each page through the P2M.
    for (unsigned done = 0; done < len;) {
        const std::uint64_t a = gpa + done;
        const auto n = static_cast<unsigned>(std::min<std::uint64_t>(len - done, page - (a & (page - 1))));
        const auto t = x ? x->translate(a) : std::nullopt;
        if (!t || (cmd == tlm::TLM_WRITE_COMMAND && !t->writable)) return EFAULT;
        // Tagged for the grant_integrity checker: whose vCPU, and through which grant mapping.
        vcpu_access_ext tag;
        tag.domain = dom;
        tag.via_grant = t->foreign != nullptr;
        tag.handle = t->foreign ? t->foreign->handle : 0;
        tlm::tlm_generic_payload gp;
        prepare(gp, cmd, t->maddr, data + done, n);
        gp.set_extension(&tag);
        cpu->b_transport(gp, d);
        gp.clear_extension(&tag);
        if (!gp.is_response_ok()) return EFAULT;
        done += n;
    }
    return 0;
}

int hypervisor::assign_device(domid_t dom, std::uint16_t sid, sc_time& d) {
    domain* x = find(dom);
    if (!x) return ESRCH;
    if (auto owner = device_owner(sid); owner && *owner != dom) return EBUSY;
    if (std::find(x->devices.begin(), x->devices.end(), sid) != x->devices.end()) return 0;
    // The unit supports CAP.ND domain IDs: none left for this domain's
    // (Linux 6.1 domain_attach_iommu: "No free domain ids", ENOSPC).
    if (x->iommu_did >= iommu_domains_) return ENOSPC;
    if (const int e = vtd_.attach(sid, x->iommu_did, x->iommu_pgd, d)) return e;
    x->devices.push_back(sid);
    return 0;
}

std::optional<domid_t> hypervisor::device_owner(std::uint16_t sid) const {
    for (const domain& x : domains_)
        if (std::find(x.devices.begin(), x.devices.end(), sid) != x.devices.end()) return x.id;
    return std::nullopt;
}

domid_t hypervisor::owner_of(std::uint64_t maddr) const {
    auto it = ledger_.upper_bound(maddr);
    if (it == ledger_.begin()) return DOMID_INVALID;
    --it;
    return maddr < it->second.first ? it->second.second : DOMID_INVALID;
}

namespace {
// Splits the ledger extent holding `a` so that one starts at `a`.
void split_at(std::map<std::uint64_t, std::pair<std::uint64_t, domid_t>>& ledger, std::uint64_t a) {
    auto it = ledger.upper_bound(a);
    if (it == ledger.begin()) return;
    --it;
    if (it->first == a || a >= it->second.first) return;
    ledger[a] = {it->second.first, it->second.second};
    it->second.first = a;
}
} // namespace

void hypervisor::set_owner(std::uint64_t maddr, domid_t owner) {
    maddr &= ~(page - 1);
    split_at(ledger_, maddr);
    split_at(ledger_, maddr + page);
    ledger_[maddr] = {maddr + page, owner};
}

bool hypervisor::allocation_fails() {
    if (!fail_allocs_) return false;
    --fail_allocs_;
    return true;
}

std::optional<std::uint64_t> hypervisor::alloc_frame(domid_t owner) {
    if (allocation_fails()) return std::nullopt;
    // From the top of RAM down: domains' RAM comes from the bottom in 2 MiB
    // aligned extents, which single frames taken there would fragment.
    for (auto it = free_ram_.rbegin(); it != free_ram_.rend(); ++it) {
        auto& [base, size] = *it;
        if (size < page) continue;
        size -= page;
        const std::uint64_t f = base + size;
        if (!size) free_ram_.erase(std::next(it).base());
        set_owner(f, owner);
        return f;
    }
    return std::nullopt;
}

void hypervisor::free_frame(std::uint64_t maddr) {
    maddr &= ~(page - 1);
    split_at(ledger_, maddr);
    split_at(ledger_, maddr + page);
    ledger_.erase(maddr);
    // Kept in address order, so that allocations stay deterministic.
    const auto at = std::lower_bound(free_ram_.begin(), free_ram_.end(), std::make_pair(maddr, std::uint64_t(0)));
    free_ram_.insert(at, {maddr, page});
}

int hypervisor::read_machine(std::uint64_t maddr, void* data, unsigned len, sc_time& d) {
    return access(tlm::TLM_READ_COMMAND, maddr, data, len, d) ? 0 : EFAULT;
}

int hypervisor::write_machine(std::uint64_t maddr, const void* data, unsigned len, sc_time& d) {
    return access(tlm::TLM_WRITE_COMMAND, maddr, const_cast<void*>(data), len, d) ? 0 : EFAULT;
}

std::uint64_t hypervisor::msi_address(std::uint8_t apic_id) {
    // Compatibility format: Destination ID in bits 19:12 (Intel SDM vol. 3A 10.11.1).
    return pcie::msi_window_base | std::uint64_t(apic_id) << 12;
}

std::optional<hypervisor::msi_binding> hypervisor::bind_msi(domid_t dom, unsigned count, std::optional<std::uint16_t> source_id) {
    // The destination field holds 8-bit APIC IDs: a domain beyond 255 has no vCPU to name.
    if (!find(dom) || dom > 0xff || count == 0 || count > 32 || (count & (count - 1))) return std::nullopt;
    // The lowest free block of `count` vectors aligned to `count` (a multiple-message
    // MSI function ORs the message number into the data's low bits), among 0x30..0xef.
    for (unsigned base = 0x30; base + count <= 0xf0; base += count) {
        bool free = true;
        for (unsigned v = base; v < base + count && free; ++v) free = !vectors_.count(static_cast<std::uint8_t>(v));
        if (!free) continue;
        const auto b = static_cast<std::uint8_t>(base);
        msi_binding m{msi_address(static_cast<std::uint8_t>(dom)), b, b};
        if (ir_table_) {
            // One IRTE per vector, a block aligned to `count` (Linux's alloc_irte),
            // and the remappable-format message with SHV: the device's message
            // number lands in the subhandle (VT-d 3.x 5.1.5.2).
            unsigned index = 0;
            bool found = false;
            for (; index + count <= irte_used_.size() && !found; index += count) {
                found = true;
                for (unsigned i = index; i < index + count && found; ++i) found = !irte_used_[i];
                if (found) break;
            }
            if (!found) return std::nullopt;
            for (unsigned i = 0; i < count; ++i) {
                iommu::irte e;
                e.present = true;
                e.vector = static_cast<std::uint8_t>(base + i);
                e.destination = static_cast<std::uint8_t>(dom);
                // set_msi_sid (Linux 6.1 irq_remapping.c): verify the requester ID,
                // all 16 bits, or behind a bridge the alias or bus range it gives.
                if (source_id && p_.ir_source_validation) {
                    const auto alias = msi_sources_.find(*source_id);
                    const bool bus_range = alias != msi_sources_.end() && alias->second.first;
                    e.svt = bus_range ? vtd::irte::svt::bus_range : vtd::irte::svt::requester_id;
                    e.sq = 0;
                    e.sid = alias != msi_sources_.end() ? alias->second.second : *source_id;
                }
                write_irte(index + i, e.lo(), e.hi());
                irte_used_[index + i] = true;
                vector_irte_[static_cast<std::uint8_t>(base + i)] = {static_cast<std::uint16_t>(index + i), static_cast<std::uint8_t>(i)};
            }
            irtes_allocated_ += count;
            m.address = vtd::msi::address(static_cast<std::uint16_t>(index), true);
            m.data = 0;
        }
        for (unsigned v = base; v < base + count; ++v) {
            vectors_[static_cast<std::uint8_t>(v)] = dom;
            vector_message_[static_cast<std::uint8_t>(v)] = {m.address, m.data + (v - base), static_cast<std::uint8_t>(v)};
        }
        return m;
    }
    return std::nullopt;
}

void hypervisor::unbind_msi(std::uint8_t vector) {
    const auto it = vectors_.find(vector);
    if (it == vectors_.end() || it->second == DOMID_XEN) return;
    vectors_.erase(it);
    vector_message_.erase(vector);
    if (const auto ir = vector_irte_.find(vector); ir != vector_irte_.end()) {
        // free_irte: the entry is cleared (P = 0) before its index is reused.
        write_irte(ir->second.first, 0, 0);
        irte_used_[ir->second.first] = false;
        vector_irte_.erase(ir);
    }
}

std::optional<hypervisor::msi_binding> hypervisor::msi_message(std::uint8_t vector) const {
    const auto it = vector_message_.find(vector);
    if (it == vector_message_.end()) return std::nullopt;
    return it->second;
}

std::optional<unsigned> hypervisor::intx_gsi(std::uint16_t requester_id) const {
    if (!intx_resolver_) return std::nullopt;
    for (unsigned gsi = 0; gsi < 24; ++gsi)
        for (const intx_source& s : intx_resolver_(gsi))
            if (s.requester_id == requester_id) return gsi;
    return std::nullopt;
}

void hypervisor::deliver(const intc::interrupt_message& m) {
    auto it = vectors_.find(m.vector);
    if (it == vectors_.end()) {
        ++unbound_interrupts_;
        return;
    }
    // The vector is bound on the vCPU of its domain (APIC ID = domid; the
    // hypervisor's own vectors on APIC ID 0). The same vector sent to another
    // destination reaches a CPU that has nothing bound there.
    const domid_t bound = it->second;
    const std::uint8_t expected = bound == DOMID_XEN ? 0 : static_cast<std::uint8_t>(bound);
    if (m.destination != expected) {
        ++misdirected_interrupts_;
        misdirected_.push_back({bound, m.vector, m.requester_id, m.from_device, m.time, m.destination});
        return;
    }
    if (it->second == DOMID_XEN) ++iommu_fault_interrupts_;
    const interrupt_delivery r{it->second, m.vector, m.requester_id, m.from_device, m.time, m.destination};
    deliveries_.push_back(r);
    if (it->second == DOMID_XEN && m.vector == fault_vector_) fault_interrupt(m.time);
    if (irq_handler && r.domain != DOMID_XEN) irq_handler(r);
}

// ---- event channels: upcalls ----
void hypervisor::deliver_upcall(domid_t dom, unsigned vcpu, const sc_time& when) {
    interrupt_delivery r{dom, 0xf3, 0, false, when, static_cast<std::uint8_t>(dom)};
    r.upcall = true;
    r.vcpu = vcpu;
    deliveries_.push_back(r);
    if (upcall_handler) upcall_handler(dom, when);
}
// ---- end event channels ----

void hypervisor::deliver_intx(unsigned gsi, const sc_time& when) {
    ++intx_interrupts_;
    const std::vector<intx_source> sources = intx_resolver_ ? intx_resolver_(gsi) : std::vector<intx_source>{};
    // Per domain, in domid order: the first of its functions on the GSI that
    // asserts (it was raised for this domain), else the first one bound.
    std::map<domid_t, std::pair<const intx_source*, bool>> got;
    for (const intx_source& s : sources) {
        const auto owner = device_owner(s.requester_id);
        if (!owner) continue;
        auto [it, fresh] = got.try_emplace(*owner, &s, s.asserted);
        if (!fresh && s.asserted && !it->second.second) it->second = {&s, true};
    }
    if (got.empty()) {
        // Nobody bound the GSI: Xen leaves such an IRQ unhandled.
        ++intx_unbound_;
        ++unbound_interrupts_;
        return;
    }
    std::set<domid_t>& in_flight = intx_in_flight_[gsi];
    for (const auto& [dom, who] : got) {
        const interrupt_delivery r{dom, 0, who.first->requester_id, true, when, static_cast<std::uint8_t>(dom), true,
                                   static_cast<std::uint8_t>(gsi), who.first->pin};
        if (who.second) {
            deliveries_.push_back(r);
        } else {
            ++misdirected_interrupts_;
            misdirected_.push_back(r);
        }
        in_flight.insert(dom);
    }
    // The domains' kernels run their handlers after the routing is done (a
    // handler's EOI may deliver the GSI again).
    if (irq_handler)
        for (const auto& [dom, who] : got)
            irq_handler({dom, 0, who.first->requester_id, true, when, static_cast<std::uint8_t>(dom), true,
                         static_cast<std::uint8_t>(gsi), who.first->pin});
}

int hypervisor::eoi_pirq(domid_t dom, std::uint32_t irq, sc_time& d) {
    if (irq >= 24) return EINVAL;
    const auto it = intx_in_flight_.find(irq);
    if (it == intx_in_flight_.end() || !it->second.erase(dom)) return 0;
    // The line is acknowledged at the controller once every guest it went to has EOIed (Xen's in_flight count).
    if (it->second.empty()) {
        intx_in_flight_.erase(it);
        if (gsi_eoi_) gsi_eoi_(irq, d);
    }
    return 0;
}

void hypervisor::stats(stat_map& out) const {
    const std::string n = basename();
    add_stat(out, n, "domains", domains_.size());
    add_stat(out, n, "iommu_tables", vtd_.tables_allocated());
    add_stat(out, n, "iommu_invalidations", vtd_.invalidations());
    add_stat(out, n, "iommu_deferred_unmaps", fq_queued_);
    add_stat(out, n, "iommu_flush_queue_flushes", fq_flushes_);
    add_stat(out, n, "iommu_mapped_pages", mapped_pages_);
    add_stat(out, n, "iommu_unmapped_pages", unmapped_pages_);
    add_stat(out, n, "iommu_fault_interrupts", iommu_fault_interrupts_);
    add_stat(out, n, "dmar_fault_runs", dmar_fault_runs_);
    add_stat(out, n, "dmar_faults_logged", dmar_log_.size());
    add_stat(out, n, "dmar_faults_ratelimited", dmar_ratelimited_);
    add_stat(out, n, "irtes_allocated", irtes_allocated_);
    add_stat(out, n, "unbound_interrupts", unbound_interrupts_);
    add_stat(out, n, "misdirected_interrupts", misdirected_interrupts_);
    add_stat(out, n, "intx_interrupts", intx_interrupts_);
    add_stat(out, n, "intx_unbound", intx_unbound_);
    add_stat(out, n, "heap_frames", pool_.used());
    add_stat(out, n, "hypercalls", hypercalls_);
    gnttab_.stats(out, n);
    evtchn_.stats(out, n);
}

} // namespace iotwin::hyp
