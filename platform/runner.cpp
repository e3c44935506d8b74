// Background steps run in processes spawned at run time.
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "platform/runner.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <regex>
#include <sstream>

#include <tlm_utils/tlm_quantumkeeper.h>

#include "models/common/errno_names.h"
#include "platform/ecam.h"
#include "platform/boot.h"
#include "platform/loader.h"
#include "platform/operations.h"

namespace iotwin::platform {

using namespace sc_core;

namespace {

// A step that cannot be carried out as written (a reference to a missing
// result, a resolved argument of the wrong type): the step fails with this.
struct step_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string hex_bytes(const std::uint8_t* p, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        if (i) s += ' ';
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

json errno_json(int e) { return e == 0 ? json(0) : json(errno_name(e)); }

// What one step sees: its arguments (with $references resolved) and its result.
class step_context {
public:
    step_context(runner& r, const step_desc& st, json& result) : r_(r), st_(st), result_(result) {}

    runner& run() { return r_; }
    platform_instance& pi() { return r_.platform(); }
    hyp::hypervisor& hyp() { return *r_.platform().hypervisor; }
    json& result() { return result_; }
    sc_time delay = SC_ZERO_TIME;
    bool bus_error = false;  // a request of this step ended in UR or CA

    bool has(const char* name) const { return static_cast<bool>(st_.args[name]); }

    YAML::Node arg(const char* name) const {
        const YAML::Node n = st_.args[name];
        if (!n || !n.IsScalar() || n.Scalar().empty() || n.Scalar()[0] != '$') return n;
        return resolve(n.Scalar());
    }
    std::uint64_t integer(const char* name, std::optional<std::uint64_t> def = std::nullopt) const {
        const YAML::Node n = arg(name);
        if (!n) return def.value();
        return guarded([&] { return parse_integer(scalar(n, name), pos(n)); });
    }
    std::uint64_t size(const char* name) const {
        const YAML::Node n = arg(name);
        return guarded([&] { return parse_size(scalar(n, name), pos(n)); });
    }
    bool boolean(const char* name, bool def) const {
        const YAML::Node n = arg(name);
        if (!n) return def;
        const std::string s = scalar(n, name);
        if (s != "true" && s != "false") throw step_error(std::string("args.") + name + " must be true or false, not '" + s + "'");
        return s == "true";
    }
    sc_time time(const char* name) const {
        const YAML::Node n = arg(name);
        return guarded([&] { return parse_time(scalar(n, name), pos(n)); });
    }
    std::vector<std::uint8_t> data(const char* name) const {
        const YAML::Node n = arg(name);
        return guarded([&] { return parse_data(n, pos(n)); });
    }
    hyp::domid_t domain(const char* name) const {
        const std::string v = scalar(arg(name), name);
        if (const hyp::domain* d = const_cast<step_context*>(this)->hyp().find(v)) return d->id;
        std::uint64_t id = guarded([&] { return parse_integer(v, pos(arg(name))); });
        if (!const_cast<step_context*>(this)->hyp().find(static_cast<hyp::domid_t>(id))) throw step_error("no domain '" + v + "'");
        return static_cast<hyp::domid_t>(id);
    }
    pci::pci_function& device(const std::string& id) {
        auto it = pi().by_id.find(id);
        if (it == pi().by_id.end()) throw step_error("no function '" + id + "'");
        return *it->second;
    }
    pci::pci_function& device_arg(const char* name) { return device(scalar(arg(name), name)); }
    pci::pci_function& acting_device() { return device(st_.device); }

    // The domain a step acts as (`as` names a domain, or a process inside one).
    const hyp::domain& actor() {
        std::string dom = st_.as;
        for (const process_desc& p : r_.description().processes)
            if (p.name == st_.as) dom = p.domain;
        return *hyp().find(dom);
    }

private:
    template <class F> auto guarded(F&& f) const -> decltype(f()) {
        try {
            return f();
        } catch (const input_error& e) {
            throw step_error(e.what());
        }
    }
    source_pos pos(const YAML::Node& n) const { return pos_of(n, r_.description().file); }
    static std::string scalar(const YAML::Node& n, const char* name) {
        if (!n || !n.IsScalar()) throw step_error(std::string("args.") + name + " must be a single value");
        return n.Scalar();
    }
    YAML::Node resolve(const std::string& text) const {
        // An integer offset may follow the reference: $r.start+0x8000.
        const std::size_t op = text.find_first_of("+-");
        const std::string ref = text.substr(0, op);
        if (op != std::string::npos) {
            const YAML::Node base = resolve(ref);
            const std::uint64_t v = guarded([&] { return parse_integer(base.IsScalar() ? base.Scalar() : "", source_pos{}); });
            const std::uint64_t k = guarded([&] { return parse_integer(text.substr(op + 1), source_pos{}); });
            return YAML::Node(std::to_string(text[op] == '+' ? v + k : v - k));
        }
        static const std::regex part("\\.([A-Za-z_][A-Za-z0-9_]*)|\\[([0-9]+)\\]");
        const std::size_t end = ref.find_first_of(".[");
        const std::string name = ref.substr(1, end == std::string::npos ? std::string::npos : end - 1);
        std::optional<json> v = r_.saved(name);
        if (!v) throw step_error(ref + ": nothing was saved as '" + name + "'");
        json cur = *v;
        const std::string rest = end == std::string::npos ? "" : ref.substr(end);
        for (auto it = std::sregex_iterator(rest.begin(), rest.end(), part); it != std::sregex_iterator(); ++it) {
            if ((*it)[1].matched) {
                const std::string f = (*it)[1].str();
                if (!cur.is_object() || !cur.contains(f)) throw step_error(ref + ": the saved result has no '" + f + "'");
                cur = cur[f];
            } else {
                const std::size_t i = std::stoul((*it)[2].str());
                if (!cur.is_array() || i >= cur.size()) throw step_error(ref + ": index " + std::to_string(i) + " is out of range");
                cur = cur[i];
            }
        }
        if (cur.is_array()) {
            YAML::Node seq(YAML::NodeType::Sequence);
            for (const json& e : cur) seq.push_back(e.is_string() ? e.get<std::string>() : e.dump());
            return seq;
        }
        return YAML::Node(cur.is_string() ? cur.get<std::string>() : cur.dump());
    }

    runner& r_;
    const step_desc& st_;
    json& result_;
};

using op_impl = std::function<void(step_context&)>;

// ---- pci: what a domain's kernel does to a function it owns ----------------------

pci::pci_function& owned_device(step_context& c, const hyp::domain& dom, int& err) {
    pci::pci_function& f = c.device_arg("device");
    const auto owner = c.hyp().device_owner(f.bdf().rid());
    err = (owner ? *owner == dom.id : dom.privileged) ? 0 : ENODEV;
    return f;
}

bool config_args_ok(std::uint64_t off, std::uint64_t size) {
    return (size == 1 || size == 2 || size == 4) && off < 4096 && off % size == 0;
}

std::uint64_t config_read(step_context& c, const pci::pci_function& f, std::uint64_t reg, unsigned len) {
    std::uint64_t v = 0;
    ecam_access(c.hyp(), tlm::TLM_READ_COMMAND, f.bdf(), static_cast<std::uint32_t>(reg), &v, len, c.delay);
    return v;
}

void config_write(step_context& c, const pci::pci_function& f, std::uint64_t reg, unsigned len, std::uint64_t v) {
    ecam_access(c.hyp(), tlm::TLM_WRITE_COMMAND, f.bdf(), static_cast<std::uint32_t>(reg), &v, len, c.delay);
}

void op_config_read(step_context& c) {
    int err;
    pci::pci_function& f = owned_device(c, c.actor(), err);
    const std::uint64_t off = c.integer("offset"), size = c.integer("size", 4);
    if (!err && !config_args_ok(off, size)) err = EINVAL;
    c.result()["errno"] = errno_json(err);
    if (!err) c.result()["value"] = config_read(c, f, off, static_cast<unsigned>(size));
}

void op_config_write(step_context& c) {
    int err;
    pci::pci_function& f = owned_device(c, c.actor(), err);
    const std::uint64_t off = c.integer("offset"), size = c.integer("size", 4), value = c.integer("value");
    if (!err && (!config_args_ok(off, size) || (size < 8 && value >> (8 * size)))) err = EINVAL;
    if (!err) config_write(c, f, off, static_cast<unsigned>(size), value);
    c.result()["errno"] = errno_json(err);
}

// The MMIO address of (bar, offset) as the kernel knows it from enumeration.
std::optional<std::uint64_t> mmio_address(step_context& c, const pci::pci_function& f, std::uint64_t bar, std::uint64_t off,
                                          std::uint64_t size) {
    const enumerated_function* e = c.run().enumerated(f.basename());
    if (!e || (size != 1 && size != 2 && size != 4 && size != 8) || off % size) return std::nullopt;
    const enumerated_bar* b = e->bar(bar);
    if (!b || off >= b->size || size > b->size - off) return std::nullopt;
    return b->base + off;
}

void mmio(step_context& c, tlm::tlm_command cmd) {
    int err;
    pci::pci_function& f = owned_device(c, c.actor(), err);
    const std::uint64_t size = c.integer("size", 4);
    const auto addr = mmio_address(c, f, c.integer("bar"), c.integer("offset"), size);
    std::uint64_t value = cmd == tlm::TLM_WRITE_COMMAND ? c.integer("value") : 0;
    if (!err && (!addr || (size < 8 && value >> (8 * size)))) err = EINVAL;
    c.result()["errno"] = errno_json(err);
    if (err) return;
    const pcie::completion st = c.hyp().machine_access(cmd, *addr, reinterpret_cast<std::uint8_t*>(&value), static_cast<unsigned>(size), c.delay);
    if (cmd == tlm::TLM_READ_COMMAND) c.result()["value"] = value;
    c.result()["completion"] = pcie::to_string(st);
    c.bus_error |= st != pcie::completion::SC;
}

void op_mmio_read(step_context& c) { mmio(c, tlm::TLM_READ_COMMAND); }
void op_mmio_write(step_context& c) { mmio(c, tlm::TLM_WRITE_COMMAND); }

// The `resource` file of the function in sysfs: where a BAR sits, as the
// kernel assigned it.
void op_resource(step_context& c) {
    int err;
    const hyp::domain& dom = c.actor();
    pci::pci_function& f = owned_device(c, dom, err);
    if (dom.privileged) err = 0;  // the hardware domain sees every function in sysfs
    const std::uint64_t bar = c.integer("bar");
    const enumerated_function* e = c.run().enumerated(f.basename());
    const enumerated_bar* b = e ? e->bar(bar) : nullptr;
    if (!err && !b) err = EINVAL;
    c.result()["errno"] = errno_json(err);
    if (err) return;
    c.result()["start"] = b->base;
    c.result()["end"] = b->base + b->size - 1;
    c.result()["size"] = b->size;
}

void op_set_master(step_context& c) {
    int err;
    pci::pci_function& f = owned_device(c, c.actor(), err);
    if (!err) config_write(c, f, pci::cfg::command, 2, config_read(c, f, pci::cfg::command, 2) | pci::command_bits::bus_master);
    c.result()["errno"] = errno_json(err);
}

// Linux's pci_enable_msi(): the kernel finds the MSI capability by walking the
// list in configuration space, and the hypervisor binds a vector to the domain.
void op_enable_msi(step_context& c) {
    int err;
    const hyp::domain& dom = c.actor();
    pci::pci_function& f = owned_device(c, dom, err);
    std::uint64_t cap = 0;
    if (!err) {
        for (std::uint64_t p = config_read(c, f, pci::cfg::cap_ptr, 1); p && !cap; p = config_read(c, f, p + 1, 1))
            if (config_read(c, f, p, 1) == pci::cap_id::msi) cap = p;
        if (!cap) err = EINVAL;
    }
    const auto binding = err ? std::nullopt : c.hyp().bind_msi(dom.id);
    if (!err && !binding) err = ENOSPC;
    c.result()["errno"] = errno_json(err);
    if (err) return;
    config_write(c, f, cap + 4, 4, binding->address & 0xffffffff);
    config_write(c, f, cap + 8, 4, binding->address >> 32);
    config_write(c, f, cap + 12, 2, binding->data);
    config_write(c, f, cap + 2, 2, (config_read(c, f, cap + 2, 2) & ~0x70u) | 1);
    // As Linux's struct msi_msg.
    c.result()["vector"] = binding->vector;
    c.result()["address_lo"] = binding->address & 0xffffffff;
    c.result()["address_hi"] = binding->address >> 32;
    c.result()["data"] = binding->data;
}

// ---- mem: a domain's vCPU loads and stores guest-physical memory -------------------

constexpr std::uint64_t max_transfer = 1ull << 20;

void op_mem_read(step_context& c) {
    const std::uint64_t len = c.size("len");
    int err = len == 0 || len > max_transfer ? EINVAL : 0;
    std::vector<std::uint8_t> buf(err ? 0 : len);
    if (!err) err = c.hyp().guest_access(c.actor().id, tlm::TLM_READ_COMMAND, c.integer("addr"), buf.data(), static_cast<unsigned>(len), c.delay);
    c.result()["errno"] = errno_json(err);
    if (!err) c.result()["data"] = hex_bytes(buf.data(), buf.size());
}

void op_mem_write(step_context& c) {
    std::vector<std::uint8_t> buf = c.data("data");
    int err = buf.size() > max_transfer ? EINVAL : 0;
    if (!err) err = c.hyp().guest_access(c.actor().id, tlm::TLM_WRITE_COMMAND, c.integer("addr"), buf.data(), static_cast<unsigned>(buf.size()), c.delay);
    c.result()["errno"] = errno_json(err);
}

// ---- device: what a function itself issues (attack scenarios, device tests) --------

// What the device can know of its request: a read's completion; of a posted
// write nothing (whether it was blocked shows in `fault` and `errors`).
void dma_result(step_context& c, const pci::pci_function::dma_result& r) {
    const bool ok = r.issued && !r.stopped && (r.posted || r.status == pcie::completion::SC);
    c.result()["errno"] = errno_json(ok ? 0 : EIO);
    c.result()["issued"] = r.issued;
    if (r.posted) c.result()["posted"] = true;
    else if (r.issued) c.result()["completion"] = pcie::to_string(r.status);
    c.bus_error |= !r.posted && r.issued && r.status != pcie::completion::SC;
}

// A bus address range the device can put on the wire: it must not run past
// 2^64 (the next request would alias address 0).
bool bus_range_ok(std::uint64_t addr, std::uint64_t len) { return len == 0 || addr + (len - 1) >= addr; }

// A malicious device puts any requester ID in its requests (`requester_id`);
// the function's physical port stays the origin the checkers see.
class forged_id {
public:
    forged_id(step_context& c, pci::pci_function& f) : f_(f) {
        if (!c.has("requester_id")) return;
        const std::uint64_t rid = c.integer("requester_id");
        if (rid > 0xffff) throw step_error("args.requester_id is a 16-bit routing ID (bus << 8 | device << 3 | function)");
        f_.forge_requester_id(static_cast<std::uint16_t>(rid));
    }
    ~forged_id() { f_.forge_requester_id(std::nullopt); }
    forged_id(const forged_id&) = delete;
    forged_id& operator=(const forged_id&) = delete;

private:
    pci::pci_function& f_;
};

void op_dma_read(step_context& c) {
    const std::uint64_t len = c.size("len"), addr = c.integer("addr");
    if (len == 0 || len > max_transfer || !bus_range_ok(addr, len)) { c.result()["errno"] = errno_json(EINVAL); return; }
    std::vector<std::uint8_t> buf(len);
    pci::pci_function& f = c.acting_device();
    const forged_id forged(c, f);
    const auto r = f.dma(tlm::TLM_READ_COMMAND, addr, buf.data(), len, c.delay);
    dma_result(c, r);
    if (r.issued && r.status == pcie::completion::SC) c.result()["data"] = hex_bytes(buf.data(), buf.size());
}

void op_dma_write(step_context& c) {
    std::vector<std::uint8_t> buf = c.data("data");
    const std::uint64_t addr = c.integer("addr");
    if (buf.size() > max_transfer || !bus_range_ok(addr, buf.size())) { c.result()["errno"] = errno_json(EINVAL); return; }
    pci::pci_function& f = c.acting_device();
    const forged_id forged(c, f);
    dma_result(c, f.dma(tlm::TLM_WRITE_COMMAND, addr, buf.data(), buf.size(), c.delay));
}

void op_device_msi(step_context& c) {
    pci::pci_function& f = c.acting_device();
    const forged_id forged(c, f);
    if (c.has("address") || c.has("data")) {
        // A raw interrupt message: any address and data the device chooses.
        if (!c.has("address") || !c.has("data")) throw step_error("device.msi with a raw message needs both address and data");
        const std::uint64_t data = c.integer("data");
        if (data > 0xffffffff) throw step_error("args.data of an interrupt message is 32 bits");
        std::uint8_t bytes[4];
        std::memcpy(bytes, &data, 4);
        const std::uint64_t address = c.integer("address");
        if (!bus_range_ok(address, 4)) { c.result()["errno"] = errno_json(EINVAL); return; }
        dma_result(c, f.dma(tlm::TLM_WRITE_COMMAND, address, bytes, 4, c.delay));
        return;
    }
    const bool sent = f.send_msi(static_cast<unsigned>(c.integer("vector", 0)), c.delay);
    c.result()["errno"] = errno_json(sent ? 0 : EIO);
    c.result()["issued"] = sent;
    if (sent) c.result()["posted"] = true;
}

// ---- iommu: the hypervisor maps and unmaps a domain's IO page table ---------------

void op_iommu_map(step_context& c) {
    const int err = c.hyp().iommu_map(c.domain("domain"), c.integer("iova"), c.integer("address"), c.size("size"),
                                      c.boolean("read", true), c.boolean("write", true), c.delay);
    c.result()["errno"] = errno_json(err);
}

void op_iommu_unmap(step_context& c) {
    std::uint64_t unmapped = 0;
    const int err = c.hyp().iommu_unmap(c.domain("domain"), c.integer("iova"), c.size("size"), unmapped, c.delay);
    c.result()["errno"] = errno_json(err);
    c.result()["unmapped"] = unmapped;
}

void op_sim_wait(step_context& c) {
    c.delay += c.time("time");
    c.result()["errno"] = 0;
}

void op_sim_wait_idle(step_context& c) {
    const sc_time limit = c.has("timeout") ? c.time("timeout") : c.run().description().platform.simulation.settle_limit;
    c.result()["errno"] = errno_json(c.run().wait_idle(limit) ? 0 : ETIMEDOUT);
}

struct operation {
    op_spec spec;
    op_impl impl;
};

const std::vector<operation>& table() {
    using t = arg_type;
    static const std::vector<operation> ops = {
        {{"pci.config_read", actor::domain,
          {{"device", t::device, true, "function id"}, {"offset", t::integer, true, "register offset, 0..4095"},
           {"size", t::integer, false, "1, 2 or 4 bytes (default 4)"}},
          {"value"}, "reads configuration space of a function the domain owns"}, op_config_read},
        {{"pci.config_write", actor::domain,
          {{"device", t::device, true, "function id"}, {"offset", t::integer, true, "register offset, 0..4095"},
           {"size", t::integer, false, "1, 2 or 4 bytes (default 4)"}, {"value", t::integer, true, "value to write"}},
          {}, "writes configuration space of a function the domain owns"}, op_config_write},
        {{"pci.mmio_read", actor::domain,
          {{"device", t::device, true, "function id"}, {"bar", t::integer, true, "BAR index"},
           {"offset", t::integer, true, "offset in the BAR"}, {"size", t::integer, false, "1, 2, 4 or 8 bytes (default 4)"}},
          {"value", "completion"}, "loads from a BAR of a function the domain owns"}, op_mmio_read},
        {{"pci.mmio_write", actor::domain,
          {{"device", t::device, true, "function id"}, {"bar", t::integer, true, "BAR index"},
           {"offset", t::integer, true, "offset in the BAR"}, {"size", t::integer, false, "1, 2, 4 or 8 bytes (default 4)"},
           {"value", t::integer, true, "value to store"}},
          {"completion"}, "stores to a BAR of a function the domain owns"}, op_mmio_write},
        {{"pci.resource", actor::domain,
          {{"device", t::device, true, "function id"}, {"bar", t::integer, true, "BAR index"}},
          {"start", "end", "size"}, "where a BAR sits (the function's sysfs resource file)"}, op_resource},
        {{"pci.set_master", actor::domain, {{"device", t::device, true, "function id"}}, {},
          "Linux pci_set_master(): sets Bus Master Enable in the command register"}, op_set_master},
        {{"pci.enable_msi", actor::domain, {{"device", t::device, true, "function id"}}, {"vector", "address_lo", "address_hi"},
          "Linux pci_enable_msi(): programs and enables one MSI vector bound to the domain"}, op_enable_msi},
        {{"mem.read", actor::domain,
          {{"addr", t::integer, true, "guest-physical address"}, {"len", t::size, true, "bytes, up to 1MiB"}},
          {"data"}, "a vCPU loads guest-physical memory"}, op_mem_read},
        {{"mem.write", actor::domain,
          {{"addr", t::integer, true, "guest-physical address"}, {"data", t::data, true, "bytes to store"}},
          {}, "a vCPU stores guest-physical memory"}, op_mem_write},
        {{"device.dma_read", actor::device,
          {{"addr", t::integer, true, "bus address (IOVA)"}, {"len", t::size, true, "bytes, up to 1MiB"},
           {"requester_id", t::integer, false, "requester ID the function puts in its requests (a forged one; default its own)"}},
          {"data", "completion", "issued"}, "the function reads memory by DMA"}, op_dma_read},
        {{"device.dma_write", actor::device,
          {{"addr", t::integer, true, "bus address (IOVA)"}, {"data", t::data, true, "bytes to write"},
           {"requester_id", t::integer, false, "requester ID the function puts in its requests (a forged one; default its own)"}},
          {"issued", "posted"}, "the function writes memory by DMA (posted: no completion comes back)"}, op_dma_write},
        {{"device.msi", actor::device,
          {{"vector", t::integer, false, "message number of its MSI capability (default 0)"},
           {"address", t::integer, false, "raw message address (with data: any write the device chooses)"},
           {"data", t::integer, false, "raw message data"},
           {"requester_id", t::integer, false, "requester ID the function puts in the message (a forged one; default its own)"}},
          {"issued", "posted"}, "the function signals an interrupt message (a posted write)"}, op_device_msi},
        {{"iommu.map", actor::none,
          {{"domain", t::domain, true, "domain name or domid"}, {"iova", t::integer, true, "IO virtual address (4KiB aligned)"},
           {"address", t::integer, true, "guest-physical address of the domain (4KiB aligned)"},
           {"size", t::size, true, "bytes (multiple of 4KiB)"}, {"read", t::boolean, false, "device may read (default true)"},
           {"write", t::boolean, false, "device may write (default true)"}},
          {}, "the hypervisor maps guest memory into the domain's IO page table"}, op_iommu_map},
        {{"iommu.unmap", actor::none,
          {{"domain", t::domain, true, "domain name or domid"}, {"iova", t::integer, true, "IO virtual address"},
           {"size", t::size, true, "bytes (multiple of 4KiB)"}},
          {"unmapped"}, "the hypervisor unmaps and invalidates the IOTLB (strict)"}, op_iommu_unmap},
        {{"sim.wait", actor::none, {{"time", t::time, true, "simulated time to let pass"}}, {},
          "lets simulated time pass (background steps and devices go on meanwhile)"}, op_sim_wait},
        {{"sim.wait_idle", actor::none, {{"timeout", t::time, false, "longest wait (default platform.simulation.settle_limit)"}}, {},
          "waits until every background step has ended and the devices are idle (ETIMEDOUT when the timeout passed first)"}, op_sim_wait_idle},
    };
    return ops;
}

} // namespace

const std::vector<op_spec>& operations() {
    static const std::vector<op_spec> specs = [] {
        std::vector<op_spec> v;
        for (const operation& o : table()) v.push_back(o.spec);
        return v;
    }();
    return specs;
}

const op_spec* find_operation(const std::string& name) {
    for (const op_spec& o : operations())
        if (name == o.name) return &o;
    return nullptr;
}

const std::vector<std::string>& common_expect_keys() {
    static const std::vector<std::string> keys = {"errno", "status", "fault", "value", "data", "delivered", "misdirected", "latency_max", "latency_min"};
    return keys;
}

// ---- the runner -----------------------------------------------------------------

runner::runner(sc_module_name name, const scenario& s, platform_instance& pi)
    : sc_module(name), s_(s), pi_(pi),
      checker_(pi, [&] {
          std::vector<std::string> names;
          for (const auto& i : s.invariants) names.push_back(i.first);
          return names;
      }()) {
    report_.scenario = s.name;
    report_.seed = s.seed;
    for (auto& f : pi_.functions)
        f->set_error_observer([this](const pci::pci_function& port, const pci::logged_error& e) {
            port_errors_.push_back({port.basename(), e});
        });
    SC_THREAD(main);
}

const enumerated_function* runner::enumerated(const std::string& id) const {
    auto it = report_.enumeration.find(id);
    return it == report_.enumeration.end() ? nullptr : &it->second;
}

std::optional<json> runner::saved(const std::string& name) const {
    auto it = saved_.find(name);
    if (it == saved_.end()) return std::nullopt;
    return it->second;
}

void runner::main() {
    try {
        tlm::tlm_global_quantum::instance().set(s_.platform.simulation.quantum);
        sc_time d = SC_ZERO_TIME;
        boot(d);
        checker_.check_assignment();
        wait(d);
        report_.boot_time = sc_time_stamp();
        report_.steps.reserve(s_.steps.size());  // background steps fill their slot later
        for (const step_desc& st : s_.steps) run_step(st);
        wait_idle(s_.platform.simulation.settle_limit);
        finish();
    } catch (...) {
        error_ = std::current_exception();
    }
    sc_stop();
}

void runner::boot(sc_time& d) { report_.enumeration = boot_platform(s_, pi_, d); }

namespace {
// The domains (or `hypervisor`) that interrupt events from `from` on were
// for, each named once, in order.
template <class Event>
json domains_since(hyp::hypervisor& h, const std::vector<Event>& events, std::size_t from) {
    json names = json::array();
    for (std::size_t i = from; i < events.size(); ++i) {
        const hyp::domain* d = h.find(events[i].domain);
        const std::string name = d ? d->name : "hypervisor";
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    return names;
}
} // namespace

bool runner::settle(const sc_time& limit_after) {
    // Let what the steps started (a DMA engine's transfer, its interrupt) finish.
    const sc_time limit = sc_time_stamp() + limit_after;
    for (;;) {
        wait(SC_ZERO_TIME);
        if (!sc_pending_activity()) return true;
        const sc_time next = sc_time_to_pending_activity();
        if (sc_time_stamp() + next > limit) {
            wait(limit - sc_time_stamp());
            return false;
        }
        wait(next);
    }
}

bool runner::wait_idle(const sc_time& limit) {
    const sc_time until = sc_time_stamp() + limit;
    while (background_running_) {
        const sc_time left = until - sc_time_stamp();
        if (left == SC_ZERO_TIME) return false;
        wait(left, background_done_);
    }
    return settle(until - sc_time_stamp());
}

void runner::run_step(const step_desc& st) {
    const std::size_t slot = report_.steps.size();
    report_.steps.emplace_back();
    if (!st.background) {
        execute(st, slot);
        return;
    }
    ++background_running_;
    sc_spawn_options opts;
    sc_spawn([this, &st, slot] {
        try {
            execute(st, slot);
        } catch (...) {
            // As in the runner's own thread: the run stops with the error
            // (nothing may escape into the SystemC kernel).
            if (!error_) error_ = std::current_exception();
            sc_stop();
        }
        --background_running_;
        background_done_.notify(SC_ZERO_TIME);
    }, sc_gen_unique_name("background_step"), &opts);
}

void runner::execute(const step_desc& st, std::size_t slot) {
    step_outcome& out = report_.steps[slot];
    out.index = st.index;
    out.op = st.op;
    out.as = st.as;
    out.device = st.device;
    out.start = sc_time_stamp();
    checker_.set_step(st.index);
    const std::size_t faults0 = pi_.iommu->faults().size();
    const std::size_t irq0 = pi_.hypervisor->deliveries().size();
    const std::size_t errors0 = port_errors_.size();
    const std::size_t misdirected0 = pi_.hypervisor->misdirected().size();
    const auto it = std::find_if(table().begin(), table().end(), [&](const operation& o) { return st.op == o.spec.name; });
    step_context c(*this, st, out.result);
    try {
        it->impl(c);
    } catch (const step_error& e) {
        out.ok = false;
        out.message = e.what();
    }
    wait(c.delay);
    // A step waits for what it started, unless it runs in the background or
    // is itself the passing of time.
    if (!st.background && st.op != "sim.wait") settle(s_.platform.simulation.settle_limit);
    out.end = sc_time_stamp();
    json errors = json::array();
    for (std::size_t i = errors0; i < port_errors_.size(); ++i) {
        const port_error& pe = port_errors_[i];
        errors.push_back({{"port", pe.port}, {"status", pcie::to_string(pe.error.status)},
                          {"requester_id", pcie::bdf::from_rid(pe.error.requester_id).str()}, {"address", pe.error.address}});
    }
    out.result["fault"] = c.bus_error || pi_.iommu->faults().size() > faults0 || !errors.empty();
    if (!errors.empty()) out.result["errors"] = errors;
    out.result["delivered"] = domains_since(*pi_.hypervisor, pi_.hypervisor->deliveries(), irq0);
    out.result["misdirected"] = domains_since(*pi_.hypervisor, pi_.hypervisor->misdirected(), misdirected0);
    out.expect = json::object();
    for (const auto& kv : st.expect) out.expect[kv.first.Scalar()] = kv.second.IsScalar() ? json(kv.second.Scalar()) : json(YAML::Dump(kv.second));
    if (out.ok) check_expectations(st, out);
    if (!st.save.empty() && out.ok) saved_[st.save] = out.result;
}

namespace {

std::string render(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::optional<std::uint64_t> as_number(const json& v) {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
    if (v.is_string()) {
        try {
            return parse_integer(v.get<std::string>(), {});
        } catch (const input_error&) {
        }
    }
    return std::nullopt;
}

std::string normalize_hex(const std::string& s) {
    std::string out;
    for (char c : s)
        if (!std::isspace(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (out.rfind("0x", 0) == 0) out = out.substr(2);
    return out;
}

} // namespace

void runner::check_expectations(const step_desc& st, step_outcome& out) {
    std::vector<std::string> problems;
    const json& r = out.result;
    for (const auto& kv : st.expect) {
        const std::string key = kv.first.Scalar();
        const YAML::Node want = kv.second;
        const std::string shown = want.IsScalar() ? want.Scalar() : YAML::Dump(want);
        auto mismatch = [&](const std::string& got) { problems.push_back("expected " + key + "=" + shown + ", got " + got); };
        if (key == "latency_max" || key == "latency_min") {
            const sc_time bound = parse_time(want.Scalar(), pos_of(want, s_.file));
            const sc_time took = out.end - out.start;
            if (key == "latency_max" ? took > bound : took < bound) mismatch(took.to_string());
            continue;
        }
        if (key == "delivered" || key == "misdirected") {
            const json& got = r[key];
            std::vector<std::string> wanted;
            if (want.IsSequence()) for (const auto& e : want) wanted.push_back(e.Scalar());
            else if (want.Scalar() != "false") wanted.push_back(want.Scalar());
            bool ok = wanted.empty() ? got.empty() : true;
            for (const std::string& w : wanted) ok &= std::find(got.begin(), got.end(), w) != got.end();
            if (!ok) mismatch(got.empty() ? "no interrupt" : got.dump());
            continue;
        }
        if (!r.contains(key)) {
            mismatch("no " + key + " (the step returned " + r.dump() + ")");
            continue;
        }
        const json& got = r[key];
        bool ok;
        if (key == "data" && got.is_string()) {
            ok = got.is_string() && normalize_hex(got.get<std::string>()) == normalize_hex(want.IsScalar() ? want.Scalar() : hex_bytes(parse_data(want, {}).data(), parse_data(want, {}).size()));
        } else if (key == "errno") {
            ok = render(got) == (want.Scalar() == "0" ? "0" : want.Scalar());
        } else if (got.is_boolean()) {
            ok = want.IsScalar() && want.Scalar() == (got.get<bool>() ? "true" : "false");
        } else if (const auto n = as_number(got); n && want.IsScalar()) {
            const std::string w = want.Scalar();
            const auto wn = as_number(json(w));
            ok = wn && *wn == *n;
        } else {
            ok = want.IsScalar() && render(got) == want.Scalar();
        }
        if (!ok) mismatch(render(got));
    }
    if (!problems.empty()) {
        out.ok = false;
        std::ostringstream m;
        for (std::size_t i = 0; i < problems.size(); ++i) m << (i ? "; " : "") << problems[i];
        out.message = m.str();
    }
}

void runner::finish() {
    report_.sim_time = sc_time_stamp();
    const auto& all = checker_.violations();
    report_.violations = all;
    bool pass = std::all_of(report_.steps.begin(), report_.steps.end(), [](const step_outcome& o) { return o.ok; });
    for (const auto& [name, pos] : s_.invariants) {
        invariant_outcome io;
        io.name = name;
        io.expected_violation = std::any_of(s_.expect_violation.begin(), s_.expect_violation.end(), [&](const auto& e) { return e.first == name; });
        for (const violation& v : all)
            if (v.invariant == name) {
                if (!io.first) io.first = v;
                ++io.violations;
            }
        io.held = io.violations == 0;
        pass &= io.ok();
        report_.invariants.push_back(io);
    }
    report_.pass = pass;
    report_.faults = pi_.iommu->faults();
    report_.interrupts = pi_.hypervisor->deliveries();
    pi_.stats(report_.stats);
}

} // namespace iotwin::platform
