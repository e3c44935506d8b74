// blkif: the split block driver (models/guest/blkfront.h, blkback.h). Every
// step acts as the front end's domain; a vbd is found in its kernel by the
// handle blkif.connect returned.
#include <algorithm>
#include <cerrno>

#include "models/guest/blkfront.h"
#include "models/guest/kernel.h"
#include "platform/interfaces/interfaces.h"
#include "platform/loader.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

namespace {

namespace G = guest;
namespace B = guest::blkif;
using t = arg_type;
using json = nlohmann::ordered_json;

constexpr std::uint64_t max_request_bytes = B::BLKIF_MAX_SEGMENTS_PER_REQUEST * B::page_size;  // 44 KiB
// How long the front end waits for a response that may never come (a halted ring).
const sc_core::sc_time default_timeout(1, sc_core::SC_MS);

std::uint64_t ns(const sc_core::sc_time& x) { return static_cast<std::uint64_t>(x.to_seconds() * 1e9 + 0.5); }

G::kernel* front_kernel(step_context& c) { return c.guests().kernel_of(c.actor().id); }

// The vbd of the step, or null with errno ENODEV (no such device in this domain).
G::blkif_vbd* find_vbd(step_context& c) {
    G::kernel* k = front_kernel(c);
    if (!k) { c.set_errno(ESRCH); return nullptr; }
    auto& m = k->module_state<G::blkfront_module>("blkfront");
    const auto it = m.vbds.find(static_cast<std::uint32_t>(c.integer("vbd")));
    if (it == m.vbds.end()) { c.set_errno(ENODEV); return nullptr; }
    // A back end whose domain is gone (or going) serves nothing: the device is gone.
    const hyp::domain* b = c.hyp().find(it->second->backend);
    if (!b || b->dying || c.actor().dying) { c.set_errno(ENODEV); return nullptr; }
    return it->second.get();
}

sc_core::sc_time timeout_of(step_context& c) { return c.has("timeout") ? c.time("timeout") : default_timeout; }

void put_backend(step_context& c, const G::blkif_vbd& v) {
    c.result()["refused"] = v.back->refused();
    c.result()["last_error"] = v.back->last_error();
    c.result()["broken"] = v.back->broken();
    c.result()["processed"] = v.back->processed();
}

void put_trip(step_context& c, const G::blkif_vbd& v, const G::blkif_vbd::trip& tr) {
    if (tr.queued < 0) {
        c.set_errno(static_cast<int>(-tr.queued));
        return;
    }
    if (!tr.answered) c.set_errno(ETIMEDOUT);
    else {
        c.result()["status"] = B::rsp_name(tr.status);
        c.result()["rsp"] = tr.status;
    }
    c.result()["latency_ns"] = ns(tr.latency);
    c.result()["hypercalls"] = tr.hypercalls;
    put_backend(c, v);
}

void op_connect(step_context& c) {
    G::kernel* fk = front_kernel(c);
    const hyp::domid_t backend = c.domain("backend");
    G::kernel* bk = c.guests().kernel_of(backend);
    if (!fk || !bk || c.actor().dying) { c.set_errno(ESRCH); return; }
    G::blkback_options o;
    const std::string mode = c.text("mode", "copy");
    if (mode == "copy") o.mode = B::mode::copy;
    else if (mode == "map") o.mode = B::mode::map;
    else if (mode == "persistent") o.mode = B::mode::persistent;
    else { c.set_errno(EINVAL); return; }
    o.sectors = c.integer("sectors", 2048);
    o.max_persistent_grants = static_cast<std::uint32_t>(c.integer("max_persistent_grants", 1056));
    if (c.has("service")) o.service = c.time("service");
    o.readonly = c.boolean("readonly", false);
    o.check_ring = c.boolean("check_ring", true);
    o.check_bounds = c.boolean("check_bounds", true);
    auto v = std::make_unique<G::blkif_vbd>();
    v->frontend = fk->domid();
    v->backend = backend;
    v->front = std::make_unique<G::blkfront>(*fk, backend, o.mode == B::mode::persistent);
    v->back = std::make_unique<G::blkback>(*bk, fk->domid(), o);
    if (const long e = v->front->setup(c.delay)) { c.set_errno(static_cast<int>(-e)); return; }
    if (const long e = v->back->connect(v->front->ring_ref(), v->front->port(), c.delay)) {
        v->front->teardown(c.delay);
        c.set_errno(static_cast<int>(-e));
        c.result()["last_error"] = v->back->last_error();
        return;
    }
    auto& m = fk->module_state<G::blkfront_module>("blkfront");
    const std::uint32_t id = m.next++;
    c.set_errno(0);
    c.result()["vbd"] = id;
    c.result()["ring_ref"] = v->front->ring_ref();
    c.result()["port"] = v->front->port();
    c.result()["backend_port"] = v->back->port();
    m.vbds[id] = std::move(v);
}

void op_disconnect(step_context& c) {
    G::blkif_vbd* v = find_vbd(c);
    if (!v) return;
    // The back end lets go of the ring and the grants first (xen_blkif_disconnect), then the front end frees them.
    v->back->disconnect(c.delay);
    v->front->teardown(c.delay);
    front_kernel(c)->module_state<G::blkfront_module>("blkfront").vbds.erase(static_cast<std::uint32_t>(c.integer("vbd")));
}

void op_write(step_context& c) {
    G::blkif_vbd* v = find_vbd(c);
    if (!v) return;
    const std::vector<std::uint8_t> pattern = c.data("data");
    std::vector<std::uint8_t> data(c.has("len") ? c.size("len") : pattern.size());
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = pattern[i % pattern.size()];
    const auto tr = v->io(B::BLKIF_OP_WRITE, c.integer("sector"), data.size(), data, timeout_of(c), c.delay);
    put_trip(c, *v, tr);
}

void op_read(step_context& c) {
    G::blkif_vbd* v = find_vbd(c);
    if (!v) return;
    const auto tr = v->io(B::BLKIF_OP_READ, c.integer("sector"), c.size("len"), {}, timeout_of(c), c.delay);
    put_trip(c, *v, tr);
    if (tr.answered) {
        c.result()["data"] = hex_bytes(tr.data.data(), tr.data.size());
        c.result()["head"] = hex_bytes(tr.data.data(), std::min<std::size_t>(tr.data.size(), 16));
    }
}

void op_run(step_context& c) {
    G::blkif_vbd* v = find_vbd(c);
    if (!v) return;
    const std::string op = c.text("op", "read");
    if (op != "read" && op != "write") { c.set_errno(EINVAL); return; }
    const bool write = op == "write";
    const std::uint64_t n = c.integer("requests");
    const std::uint64_t size = c.size("len");
    if (size % B::sector_size) { c.set_errno(EINVAL); return; }
    const std::uint64_t disk = v->back->options().sectors;
    const std::uint64_t per = size / B::sector_size;
    if (per > disk) { c.set_errno(EINVAL); return; }
    std::uint64_t sector = c.integer("sector", 0) % disk;
    const sc_core::sc_time timeout = timeout_of(c);
    const sc_core::sc_time start = sc_core::sc_time_stamp() + c.delay;
    sc_core::sc_time total, lo, hi;
    std::uint64_t errors = 0, hypercalls = 0, done = 0;
    std::vector<std::uint8_t> data(size);
    for (std::uint64_t i = 0; i < n; ++i) {
        if (sector + per > disk) sector = 0;
        for (std::uint64_t j = 0; j < size; ++j) data[j] = static_cast<std::uint8_t>(i + j);
        const auto tr = v->io(write ? B::BLKIF_OP_WRITE : B::BLKIF_OP_READ, sector, size, data, timeout, c.delay);
        if (tr.queued < 0) { c.set_errno(static_cast<int>(-tr.queued)); break; }
        if (!tr.answered) { c.set_errno(ETIMEDOUT); break; }
        if (tr.status != B::BLKIF_RSP_OKAY) ++errors;
        total += tr.latency;
        if (done == 0 || tr.latency < lo) lo = tr.latency;
        if (tr.latency > hi) hi = tr.latency;
        hypercalls += tr.hypercalls;
        ++done;
        sector += per;
    }
    const sc_core::sc_time elapsed = sc_core::sc_time_stamp() + c.delay - start;
    c.result()["requests"] = done;
    c.result()["errors"] = errors;
    c.result()["latency_mean_ns"] = done ? ns(total) / done : 0;
    c.result()["latency_min_ns"] = ns(lo);
    c.result()["latency_max_ns"] = ns(hi);
    const double secs = elapsed.to_seconds();
    c.result()["throughput"] = secs > 0 ? static_cast<std::uint64_t>(static_cast<double>(done * size) / secs) : 0;
    c.result()["hypercalls"] = hypercalls;
    c.result()["hypercalls_per_request_x100"] = done ? hypercalls * 100 / done : 0;
    c.result()["persistent_grants"] = v->back->persistent_grants();
    put_backend(c, *v);
}

void op_request(step_context& c) {
    G::blkif_vbd* v = find_vbd(c);
    if (!v) return;
    B::request r;
    r.operation = static_cast<std::uint8_t>(c.integer("operation"));
    r.handle = static_cast<std::uint16_t>(c.integer("handle", 0));
    r.id = c.integer("id", 0);
    r.sector_number = c.integer("sector", 0);
    std::size_t nseg = 0;
    if (c.has("segments")) {
        const YAML::Node segs = c.args()["segments"];
        const auto get = [&](const YAML::Node& s, const char* f) -> std::uint64_t {
            return s[f] ? parse_integer(s[f].Scalar(), {}) : 0;
        };
        const auto one = [&](const YAML::Node& s) {
            if (nseg >= B::BLKIF_MAX_SEGMENTS_PER_REQUEST) return;
            B::segment& sg = r.seg[nseg++];
            sg.gref = static_cast<std::uint32_t>(get(s, "gref"));
            sg.first_sect = static_cast<std::uint8_t>(get(s, "first_sect"));
            sg.last_sect = static_cast<std::uint8_t>(s["last_sect"] ? get(s, "last_sect") : B::sectors_per_page - 1);
        };
        if (segs.IsSequence())
            for (const YAML::Node& s : segs) one(s);
        else
            one(segs);
    }
    r.nr_segments = static_cast<std::uint8_t>(c.integer("nr_segments", nseg));
    const auto tr = v->raw(r, timeout_of(c), c.delay);
    put_trip(c, *v, tr);
}

const std::vector<std::pair<std::string, std::uint64_t>>& ring_fields() {
    static const std::vector<std::pair<std::string, std::uint64_t>> f = {{"req_prod", B::sring::req_prod},
                                                                         {"req_event", B::sring::req_event},
                                                                         {"rsp_prod", B::sring::rsp_prod},
                                                                         {"rsp_event", B::sring::rsp_event}};
    return f;
}

void op_ring_write(step_context& c) {
    G::blkif_vbd* v = find_vbd(c);
    if (!v) return;
    std::uint64_t off = 0;
    if (c.has("field")) {
        const std::string f = c.text("field");
        const auto it = std::find_if(ring_fields().begin(), ring_fields().end(), [&](const auto& p) { return p.first == f; });
        if (it == ring_fields().end()) { c.set_errno(EINVAL); return; }
        off = it->second;
    } else {
        off = c.integer("offset", 0);
    }
    G::kernel* k = front_kernel(c);
    v->drain(c.delay);
    if (c.has("data")) {
        std::vector<std::uint8_t> d = c.data("data");
        if (off + d.size() > B::page_size) { c.set_errno(EINVAL); return; }
        k->access(true, v->front->ring_gpa() + off, d.data(), d.size(), c.delay);
    } else {
        if (off + 4 > B::page_size) { c.set_errno(EINVAL); return; }
        std::uint32_t val = static_cast<std::uint32_t>(c.integer("value", 0));
        k->access(true, v->front->ring_gpa() + off, &val, 4, c.delay);
    }
    if (c.boolean("notify", true)) v->kick(timeout_of(c), c.delay);
    put_backend(c, *v);
}

void op_status(step_context& c) {
    G::blkif_vbd* v = find_vbd(c);
    if (!v) return;
    c.result()["ring_ref"] = v->front->ring_ref();
    c.result()["port"] = v->front->port();
    c.result()["backend_port"] = v->back->port();
    c.result()["persistent_grants"] = v->back->persistent_grants();
    c.result()["frontend_grants"] = v->front->persistent_grants();
    c.result()["stray_responses"] = v->front->stray_responses();
    put_backend(c, *v);
}

void op_disk_read(step_context& c) {
    G::blkif_vbd* v = find_vbd(c);
    if (!v) return;
    const std::uint64_t len = c.size("len");
    std::vector<std::uint8_t> b(len);
    const std::uint64_t sector = c.integer("sector");
    if (sector > v->back->options().sectors) { c.set_errno(EINVAL); return; }
    if (const int e = v->back->disk_read(sector * B::sector_size, b.data(), len, c.delay)) { c.set_errno(e); return; }
    c.result()["data"] = hex_bytes(b.data(), b.size());
}

}  // namespace

void register_blkif(op_registry& r) {
    const arg_spec vbd{"vbd", t::integer, true, "the handle blkif.connect returned", 0, 0xffffffffu};
    const arg_spec timeout{"timeout", t::time, false, "how long the front end waits for a response", 1000, 10000000000ull, "1ms"};
    const std::vector<result_spec> backend = {
        {"refused", result_type::integer, "requests and rings the back end refused so far"},
        {"last_error", result_type::text, "why the back end last refused (empty: never)"},
        {"broken", result_type::boolean, "the back end halted the ring (bogus req_prod)"},
        {"processed", result_type::integer, "requests the back end consumed so far"}};
    const auto with = [&](std::vector<result_spec> more) {
        more.insert(more.end(), backend.begin(), backend.end());
        return more;
    };
    // `status` (every step's field) holds the response's BLKIF_RSP_* name.
    const std::vector<result_spec> trip = with({{"rsp", result_type::integer, "the response's status value (0, -1, -2)"},
                                                {"latency_ns", result_type::integer, "from queueing to completion, simulated ns"},
                                                {"hypercalls", result_type::integer, "hypercalls both ends made for it"}});
    r.add({"blkif.connect", actor::domain,
           "connects a virtual block device: the acting domain's blkfront grants a ring page and allocates an event channel, "
           "the back end's blkback maps the ring, binds the channel and makes a RAM disk",
           {{"backend", t::domain, true, "the back end's domain"},
            {"mode", t::string, false, "data movement: copy (GNTTABOP_copy), map (map, copy, unmap), persistent (feature-persistent)", 0, 16,
             "copy"},
            {"sectors", t::integer, false, "the RAM disk's size in 512-byte sectors", 8, 16384, "2048"},
            {"max_persistent_grants", t::integer, false, "blkback's max_persistent_grants", 0, 65536, "1056"},
            {"service", t::time, false, "the disk's own time per request", 0, 1000000000ull, "0ns"},
            {"readonly", t::boolean, false, "a read-only vbd", 0, 1, "false"},
            {"check_ring", t::boolean, false, "false: a vulnerable back end without the bogus-req_prod check", 0, 1, "true"},
            {"check_bounds", t::boolean, false, "false: a vulnerable back end without xen_vbd_translate's range check", 0, 1, "true"}},
           {{"vbd", result_type::integer, "the device's handle"},
            {"ring_ref", result_type::integer, "the ring's grant reference"},
            {"port", result_type::integer, "the front end's event-channel port"},
            {"backend_port", result_type::integer, "the back end's port"},
            {"last_error", result_type::text, "why the back end could not connect"}},
           {}, {},
           "EINVAL: unknown mode; ESRCH: no such domain; ENOMEM: no page; ENOSPC: no grant reference; ENOENT: the ring grant "
           "could not be mapped (__xenbus_map_ring); the event channel's errno"},
          op_connect);
    r.add({"blkif.disconnect", actor::domain, "the back end unmaps and unbinds, the front end ends its grants and frees the ring", {vbd},
           {}, {}, {}, "ENODEV: no such vbd in this domain"},
          op_disconnect);
    r.add({"blkif.write", actor::domain, "one BLKIF_OP_WRITE of `data` at `sector`, through the ring and back",
           {vbd, {"sector", t::integer, true, "the first sector", 0, ~0ull}, {"data", t::data, true, "the bytes, repeated to `len`", 1, max_request_bytes},
            {"len", t::size, false, "the request's size, a multiple of 512 (default: the data's)", 1, max_request_bytes}, timeout},
           trip, {}, {}, "EINVAL: not a whole number of sectors; EBUSY: ring full; ETIMEDOUT: no response; ENODEV: no such vbd"},
          op_write);
    r.add({"blkif.read", actor::domain, "one BLKIF_OP_READ of `len` bytes at `sector`",
           {vbd, {"sector", t::integer, true, "the first sector", 0, ~0ull}, {"len", t::size, true, "a multiple of 512 bytes", 1, max_request_bytes},
            timeout},
           with({{"rsp", result_type::integer, "the response's status value (0, -1, -2)"},
                 {"data", result_type::data, "the bytes read (with BLKIF_RSP_OKAY)"},
                 {"head", result_type::data, "their first 16 bytes"},
                 {"latency_ns", result_type::integer, "from queueing to completion, simulated ns"},
                 {"hypercalls", result_type::integer, "hypercalls both ends made for it"}}),
           {}, {}, "as blkif.write"},
          op_read);
    r.add({"blkif.run", actor::domain, "`requests` requests of `len` bytes one after the other at consecutive sectors: latency and throughput",
           {vbd, {"op", t::string, false, "read or write", 0, 8, "read"}, {"requests", t::integer, true, "how many", 1, 1024},
            {"len", t::size, true, "bytes per request, a multiple of 512", 512, max_request_bytes},
            {"sector", t::integer, false, "the first sector", 0, ~0ull, "0"}, timeout},
           with({{"requests", result_type::integer, "requests completed"},
                 {"errors", result_type::integer, "responses other than BLKIF_RSP_OKAY"},
                 {"latency_mean_ns", result_type::integer, "mean latency, simulated ns"},
                 {"latency_min_ns", result_type::integer, "least latency"},
                 {"latency_max_ns", result_type::integer, "greatest latency"},
                 {"throughput", result_type::integer, "bytes per simulated second"},
                 {"hypercalls", result_type::integer, "hypercalls of both ends"},
                 {"hypercalls_per_request_x100", result_type::integer, "hypercalls per request, times 100"},
                 {"persistent_grants", result_type::integer, "grants the back end keeps mapped"}}),
           {}, {}, "EINVAL: unknown op, size not in sectors or beyond the disk; ETIMEDOUT: a request unanswered"},
          op_run);
    r.add({"blkif.request", actor::domain, "a raw request with any fields, as a malicious front end writes it in the next slot",
           {vbd, {"operation", t::integer, true, "BLKIF_OP_*", 0, 255}, {"nr_segments", t::integer, false, "default: the segments given", 0, 255},
            {"id", t::integer, false, "the request's id", 0, ~0ull, "0"}, {"handle", t::integer, false, "the vdev", 0, 0xffff, "0"},
            {"sector", t::integer, false, "sector_number", 0, ~0ull, "0"},
            structure_arg("segments", false, "the segments written (at most 11)",
                          {{"gref", t::integer, true, "grant reference", 0, 0xffffffffu},
                           {"first_sect", t::integer, false, "first sector in the page", 0, 255, "0"},
                           {"last_sect", t::integer, false, "last sector in the page", 0, 255, "7"}},
                          true, B::BLKIF_MAX_SEGMENTS_PER_REQUEST),
            timeout},
           trip, {}, {}, "ETIMEDOUT: no response (a halted ring); ENODEV: no such vbd"},
          op_request);
    r.add({"blkif.ring_write", actor::domain, "the front end stores into its shared ring page (any value), then notifies the back end",
           {vbd, {"field", t::string, false, "req_prod, req_event, rsp_prod or rsp_event", 0, 16},
            {"offset", t::integer, false, "a byte offset in the ring page instead", 0, 4095},
            {"value", t::integer, false, "the 32-bit value stored", 0, 0xffffffffu, "0"},
            {"data", t::data, false, "bytes stored instead of `value`", 1, 4096},
            {"notify", t::boolean, false, "send the event and let the back end run", 0, 1, "true"}, timeout},
           backend, {}, {{"field", "offset"}, {"value", "data"}}, "EINVAL: unknown field or past the page; ENODEV: no such vbd"},
          op_ring_write);
    r.add({"blkif.status", actor::domain, "the vbd's state at both ends", {vbd},
           with({{"ring_ref", result_type::integer, "the ring's grant reference"},
                 {"port", result_type::integer, "the front end's port"},
                 {"backend_port", result_type::integer, "the back end's port"},
                 {"persistent_grants", result_type::integer, "grants the back end keeps mapped"},
                 {"frontend_grants", result_type::integer, "pages the front end granted persistently"},
                 {"stray_responses", result_type::integer, "responses with an id the front end had not sent"}}),
           {}, {}, "ENODEV: no such vbd"},
          op_status);
    r.add({"blkif.disk_read", actor::domain, "the RAM disk's bytes as the back end's domain holds them (the twin's view)",
           {vbd, {"sector", t::integer, true, "the first sector", 0, ~0ull}, {"len", t::size, true, "bytes", 1, 65536}},
           {{"data", result_type::data, "the bytes"}}, {}, {}, "EINVAL: beyond the disk; ENODEV: no such vbd"},
          op_disk_read);
}

}  // namespace iotwin::platform::interfaces
