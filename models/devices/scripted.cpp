#include "models/devices/scripted.h"

#include <algorithm>
#include <cstring>

#include "models/common/payload.h"

namespace iotwin::devices {

using namespace sc_core;

namespace {

pci::function_params with_result_bar(pci::function_params p) {
    if (std::none_of(p.bars.begin(), p.bars.end(), [](const pci::bar_desc& b) { return b.index == 0; }))
        p.bars.push_back({0, 0x10000, pci::bar_type::mem32, false});
    return p;
}

std::uint64_t fnv1a(const std::vector<std::uint8_t>& v) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const std::uint8_t b : v) h = (h ^ b) * 0x100000001b3ull;
    return h;
}

std::uint32_t completion_code(pcie::completion c) {
    switch (c) {
    case pcie::completion::SC: return 0;
    case pcie::completion::UR: return 1;
    case pcie::completion::CRS: return 2;
    case pcie::completion::CA: return 3;
    }
    return 1;
}

} // namespace

scripted::scripted(sc_module_name name, pci::function_params p, const scripted_params& sp)
    : pci_function(name, with_result_bar(std::move(p))), sp_(sp), regs_(RECORDS + MAX_ACTIONS * RECORD_SIZE) {
    if (sp_.script.size() > MAX_ACTIONS) sp_.script.resize(MAX_ACTIONS);  // the loader refuses more
    const std::uint32_t id = ID_VALUE, n = static_cast<std::uint32_t>(sp_.script.size());
    std::memcpy(regs_.data() + ID, &id, 4);
    std::memcpy(regs_.data() + ACTIONS, &n, 4);
    gp_.set_extension(new pcie::pcie_ext);
    SC_THREAD(run);
}

// Configuration writes reach the function here: the first that leaves Bus
// Master Enable set starts the script.
void scripted::downstream(tlm::tlm_generic_payload& gp, sc_time& delay) {
    pci_function::downstream(gp, delay);
    if (!started_ && config().bus_master()) {
        started_ = true;
        start_.notify(SC_ZERO_TIME);
    }
}

pcie::completion scripted::bar_access(const pci::bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                      std::uint8_t* data, unsigned len, sc_time& delay) {
    if (bar.index != 0) return pcie::completion::UR;
    delay += sp_.register_latency;
    if ((len != 4 && len != 8) || (offset & (len - 1))) return pcie::completion::CA;
    // Read-only: writes are ignored; past the records reads are zero.
    if (cmd == tlm::TLM_WRITE_COMMAND) return pcie::completion::SC;
    if (offset + len > regs_.size()) std::memset(data, 0, len);
    else std::memcpy(data, regs_.data() + offset, len);
    return pcie::completion::SC;
}

void scripted::run() {
    if (sp_.script.empty()) return;
    wait(start_);
    const sc_time t0 = sc_time_stamp();
    for (std::size_t i = 0; i < sp_.script.size(); ++i) {
        const script_action& a = sp_.script[i];
        if (t0 + a.at > sc_time_stamp()) wait(t0 + a.at - sc_time_stamp());
        sc_time local = SC_ZERO_TIME;
        const outcome o = perform(a, local);
        wait(local);
        record(i, o);
    }
}

// The bus address of an action: its own, or another function's BAR base plus
// the offset (none if that BAR is not assigned or decoding is off).
std::optional<std::uint64_t> scripted::resolve(const script_action& a) const {
    if (a.target.empty()) return a.address;
    const auto* f = dynamic_cast<const pci::pci_function*>(sc_find_object(a.target.c_str()));
    if (!f) return std::nullopt;
    for (const pci::bar_desc& b : f->params().bars)
        if (b.index == a.target_bar) {
            const std::uint64_t base = f->config().bar_base(b);
            if (base == 0) return std::nullopt;
            return base + a.address;
        }
    return std::nullopt;
}

scripted::outcome scripted::perform(const script_action& a, sc_time& local) {
    outcome o;
    if (a.requester_id) ++forged_;
    if (a.address_type != pcie::address_type::untranslated) ++translated_;
    if ((a.what == script_action::kind::msi || a.what == script_action::kind::msix) && !a.raw) {
        // A message of the function's own capability: the capability decides (enable, masks).
        forge_requester_id(a.requester_id);
        const bool sent = a.what == script_action::kind::msi ? send_msi(a.vector, local) : send_msix(a.vector, local);
        forge_requester_id(std::nullopt);
        o.st = sent ? ISSUED : NOT_ISSUED;
        o.bytes = sent ? 4 : 0;
        return o;
    }
    const auto addr = resolve(a);
    if (!addr) {
        o.st = NOT_ISSUED;
        return o;
    }
    if (a.what == script_action::kind::dma_read) {
        o.read.resize(a.len);
        outcome r = issue(tlm::TLM_READ_COMMAND, *addr, o.read.data(), a.len, a, local);
        r.read = std::move(o.read);
        r.read.resize(r.bytes);
        return r;
    }
    std::vector<std::uint8_t> bytes = a.fill_len ? std::vector<std::uint8_t>(a.fill_len, a.fill_byte) : a.data;
    if (a.what != script_action::kind::dma_write) {
        bytes.resize(4);
        std::memcpy(bytes.data(), &a.msi_data, 4);
    }
    return issue(tlm::TLM_WRITE_COMMAND, *addr, bytes.data(), bytes.size(), a, local);
}

// Untranslated requests go out as every function's DMA does (split, tags,
// credits); others are built here, one TLP at a time at 4 KiB and Max
// Payload / Max Read Request Size boundaries, with the Address Type set.
scripted::outcome scripted::issue(tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data, std::uint64_t len,
                                  const script_action& a, sc_time& local) {
    outcome o;
    const bool write = cmd == tlm::TLM_WRITE_COMMAND;
    if (a.address_type == pcie::address_type::untranslated) {
        forge_requester_id(a.requester_id);
        const dma_result r = dma(cmd, addr, data, len, local);
        forge_requester_id(std::nullopt);
        o.bytes = r.bytes;
        o.completion = r.status;
        o.st = !r.issued || r.stopped ? NOT_ISSUED : (r.posted || r.status == pcie::completion::SC) ? ISSUED : ERROR;
        if (r.stopped && r.issued) o.st = ERROR;
        return o;
    }
    o.st = NOT_ISSUED;
    const std::uint64_t chunk = write ? max_payload() : max_read_request();
    auto* ext = gp_.get_extension<pcie::pcie_ext>();
    for (std::uint64_t off = 0; off < len;) {
        if (!config().bus_master()) break;
        const std::uint64_t at = addr + off;
        const auto n = static_cast<unsigned>(std::min({len - off, chunk, 4096 - (at & 4095)}));
        *ext = pcie::pcie_ext{};
        ext->requester_id = a.requester_id.value_or(bdf().rid());
        ext->at = a.address_type;
        ext->origin = this;
        prepare(gp_, cmd, at, data + off, n);
        pcie_out.b_transport(gp_, local);
        o.st = ISSUED;
        const bool ok = ext->status == pcie::completion::SC && gp_.is_response_ok();
        if (!write && !ok) {
            o.completion = ext->status == pcie::completion::SC ? pcie::completion::UR : ext->status;
            o.st = ERROR;
            break;
        }
        o.bytes += n;
        off += n;
        wait(local);  // one TLP at a time
        local = SC_ZERO_TIME;
    }
    return o;
}

void scripted::record(std::size_t i, const outcome& o) {
    std::uint8_t* r = regs_.data() + RECORDS + i * RECORD_SIZE;
    const std::uint32_t st = o.st, cc = completion_code(o.completion), bytes = static_cast<std::uint32_t>(o.bytes);
    std::memcpy(r + R_STATE, &st, 4);
    std::memcpy(r + R_COMPLETION, &cc, 4);
    std::memcpy(r + R_BYTES, &bytes, 4);
    if (!o.read.empty()) std::memcpy(r + R_DATA, o.read.data(), std::min<std::size_t>(8, o.read.size()));
    const std::uint64_t digest = fnv1a(o.read);
    std::memcpy(r + R_DIGEST, &digest, 8);
    ++done_;
    if (o.st == NOT_ISSUED || o.st == ERROR) ++failed_;
    const std::uint32_t done = static_cast<std::uint32_t>(done_), failed = static_cast<std::uint32_t>(failed_);
    std::memcpy(regs_.data() + DONE, &done, 4);
    std::memcpy(regs_.data() + FAILED, &failed, 4);
}

void scripted::stats(stat_map& out) const {
    pci_function::stats(out);
    const std::string n = basename();
    add_stat(out, n, "actions", sp_.script.size());
    add_stat(out, n, "actions_done", done_);
    add_stat(out, n, "actions_failed", failed_);
    add_stat(out, n, "forged_requests", forged_);
    add_stat(out, n, "translated_requests", translated_);
}

} // namespace iotwin::devices
