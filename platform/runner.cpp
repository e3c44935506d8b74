// Background steps run in processes spawned at run time.
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "platform/runner.h"

#include <algorithm>
#include <cerrno>
#include <sstream>

#include <tlm_utils/tlm_quantumkeeper.h>

#include "platform/boot.h"
#include "platform/limits.h"
#include "platform/loader.h"
#include "platform/operations.h"
#include "platform/references.h"
#include "platform/step_context.h"

namespace iotwin::platform {

using namespace sc_core;

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
        if (source_)
            while (const step_desc* st = source_()) run_step(*st);
        else
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

namespace {

// 64-bit FNV-1a: a stable digest of bytes that are not kept.
std::uint64_t fnv1a(const std::string& s) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    return h;
}

} // namespace

// A run keeps every step's result: bytes read beyond what a report can show
// are kept as their first bytes, their length and a digest, after the step's
// expectations were checked on all of them (ten thousand reads of 1 MiB
// would otherwise hold 30 GB).
void runner::compact_data(json& result) {
    constexpr std::size_t kept_bytes = 4096, shown_bytes = 32;
    if (!result.contains("data") || !result["data"].is_string()) return;
    const std::string& hex = result["data"].get_ref<const std::string&>();
    const std::size_t bytes = (hex.size() + 1) / 3;  // "de ad be ef"
    if (bytes <= kept_bytes) return;
    std::ostringstream s;
    s << hex.substr(0, shown_bytes * 3 - 1) << " ... (" << bytes << " bytes, fnv1a64 0x" << std::hex << fnv1a(hex) << ")";
    result["data"] = s.str();
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
    const std::size_t logged0 = pi_.hypervisor->dmar_log().size();
    const std::size_t irq0 = pi_.hypervisor->deliveries().size();
    const std::size_t errors0 = port_errors_.size();
    const std::size_t misdirected0 = pi_.hypervisor->misdirected().size();
    const operation& op = *operations().find(st.op);
    const auto lookup = [this](const std::string& name) { return saved(name); };
    YAML::Node args, expect;
    try {
        args = resolve_references(st.args, lookup);
        expect = resolve_references(st.expect, lookup);
        // What references stood for is checked as literal values were by the loader.
        check_args(op.spec, args, s_, st.pos);
        check_expect(op.spec, expect, s_, st.pos);
    } catch (const reference_error& e) {
        out.ok = false;
        out.message = e.what();
    } catch (const input_error& e) {
        out.ok = false;
        out.message = std::string(e.what()).substr(e.where.str().size() + 2) + " (after resolving references)";
    }
    step_context c(*this, st, args, out.result);
    if (out.ok) {
        try {
            op.impl(c);
        } catch (const step_error& e) {
            out.ok = false;
            out.message = e.what();
        }
    }
    wait(c.delay);
    // A step waits for what it started, unless it runs in the background or
    // is itself the passing of time.
    if (!st.background && st.op != "sim.wait") settle(s_.platform.simulation.settle_limit);
    out.end = sc_time_stamp();
    // A run's simulated time is bounded (docs/scenario-reference.md, Limits).
    if (out.end > sc_time(static_cast<double>(limits::max_sim_time_ps), SC_PS))
        throw input_error(st.pos, "step " + std::to_string(st.index) + " (" + st.op + ") ends at " + out.end.to_string() +
                                      " of simulated time, past the limit of a run (one day)");
    json errors = json::array();
    for (std::size_t i = errors0; i < port_errors_.size(); ++i) {
        const port_error& pe = port_errors_[i];
        errors.push_back({{"port", pe.port}, {"status", pcie::to_string(pe.error.status)},
                          {"requester_id", pcie::bdf::from_rid(pe.error.requester_id).str()}, {"address", pe.error.address}});
    }
    out.result["fault"] = c.bus_error || pi_.iommu->faults().size() > faults0 || !errors.empty();
    // What the host kernel's DMAR fault handler logged for the records it read (models/hyp/vtd_fault.cpp).
    json logged = json::array();
    for (std::size_t i = logged0; i < pi_.hypervisor->dmar_log().size(); ++i)
        logged.push_back(iommu::dmar_log_line(pi_.hypervisor->dmar_log()[i]));
    if (!logged.empty()) out.result["faults"] = logged;
    if (!errors.empty()) out.result["errors"] = errors;
    out.result["delivered"] = domains_since(*pi_.hypervisor, pi_.hypervisor->deliveries(), irq0);
    out.result["misdirected"] = domains_since(*pi_.hypervisor, pi_.hypervisor->misdirected(), misdirected0);
    out.expect = json::object();
    const YAML::Node shown = out.ok ? expect : st.expect;
    for (const auto& kv : shown) out.expect[kv.first.Scalar()] = kv.second.IsScalar() ? json(kv.second.Scalar()) : json(YAML::Dump(kv.second));
    if (out.ok) check_expectations(op.spec, expect, out);
    compact_data(out.result);
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

// Whether a result value matches what `expect` says: a scalar (numbers by
// value, whatever their notation), a list element by element, a map key by
// key, or { length: N } for a list.
bool matches(const json& got, const YAML::Node& want) {
    if (want.IsMap() && want.size() == 1 && want["not"]) return !matches(got, want["not"]);
    if (want.IsMap() && want.size() == 2 && want["mask"] && want["value"]) {
        const auto g = as_number(got);
        const auto m = as_number(json(want["mask"].Scalar())), v = as_number(json(want["value"].Scalar()));
        return g && m && v && (*g & *m) == *v;
    }
    if (want.IsMap() && want.size() == 1 && want["length"] && got.is_array())
        return as_number(json(want["length"].Scalar())) == std::optional<std::uint64_t>(got.size());
    if (want.IsSequence()) {
        if (!got.is_array() || got.size() != want.size()) return false;
        for (std::size_t i = 0; i < got.size(); ++i)
            if (!matches(got[i], want[i])) return false;
        return true;
    }
    if (want.IsMap()) {
        if (!got.is_object()) return false;
        for (const auto& kv : want)
            if (!got.contains(kv.first.Scalar()) || !matches(got[kv.first.Scalar()], kv.second)) return false;
        return true;
    }
    const std::string w = want.Scalar();
    if (got.is_boolean()) return w == (got.get<bool>() ? "true" : "false");
    // A negative result (a system call's ret: -1) against -N in either notation.
    if (got.is_number_integer() && !got.is_number_unsigned() && got.get<std::int64_t>() < 0) {
        const auto n = w.size() > 1 && w[0] == '-' ? as_number(json(w.substr(1))) : std::nullopt;
        return n && *n == static_cast<std::uint64_t>(-(got.get<std::int64_t>() + 1)) + 1;
    }
    if (const auto n = as_number(got)) return as_number(json(w)) == n;
    return render(got) == w;
}

// Interrupt targets: every named domain received one (`false`: none did).
bool names_match(const json& got, const YAML::Node& want) {
    if (want.IsMap()) return matches(got, want);
    std::vector<std::string> wanted;
    if (want.IsSequence()) for (const auto& e : want) wanted.push_back(e.Scalar());
    else if (want.Scalar() != "false") wanted.push_back(want.Scalar());
    if (wanted.empty()) return got.empty();
    return std::all_of(wanted.begin(), wanted.end(), [&](const std::string& w) { return std::find(got.begin(), got.end(), w) != got.end(); });
}

} // namespace

void runner::check_expectations(const op_spec& op, const YAML::Node& expect, step_outcome& out) {
    std::vector<std::string> problems;
    const json& r = out.result;
    for (const auto& kv : expect) {
        const std::string key = kv.first.Scalar();
        const YAML::Node want = kv.second;
        const std::string shown = want.IsScalar() ? want.Scalar() : YAML::Dump(want);
        // A message quotes at most the beginning of long values (a 1 MiB read).
        auto mismatch = [&](const std::string& got) {
            problems.push_back("expected " + key + "=" + excerpt(shown, 96) + ", got " + excerpt(got, 96));
        };
        if (key == "latency_max" || key == "latency_min") {
            const sc_time bound = parse_time(want.Scalar(), pos_of(want, s_.file));
            const sc_time took = out.end - out.start;
            if (key == "latency_max" ? took > bound : took < bound) mismatch(took.to_string());
            continue;
        }
        if (!r.contains(key)) {
            mismatch("no " + key + " (the step returned " + r.dump() + ")");
            continue;
        }
        const json& got = r[key];
        bool ok;
        if (key == "delivered" || key == "misdirected") {
            ok = names_match(got, want);
            if (!ok) mismatch(got.empty() ? "no interrupt" : got.dump());
            continue;
        }
        if (const result_spec* spec = op.result(key); spec && spec->type == result_type::flags && !want.IsMap()) {
            ok = as_number(got) == std::optional<std::uint64_t>(expected_flags(want, *spec));
        } else if (key == "data" && got.is_string()) {
            const auto bytes = want.IsScalar() ? std::vector<std::uint8_t>{} : parse_data(want, {});
            ok = normalize_hex(got.get<std::string>()) == normalize_hex(want.IsScalar() ? want.Scalar() : hex_bytes(bytes.data(), bytes.size()));
        } else {
            ok = matches(got, want);
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
