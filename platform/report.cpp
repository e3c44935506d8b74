#include "platform/report.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace iotwin::platform {

namespace {

std::uint64_t ns(const sc_core::sc_time& t) { return static_cast<std::uint64_t>(t.to_seconds() * 1e9 + 0.5); }

std::string hex(std::uint64_t v) {
    std::ostringstream os;
    os << "0x" << std::hex << v;
    return os.str();
}

json violation_json(const violation& v) {
    return json{{"step", v.step == violation::boot ? json("boot") : json(v.step)}, {"sim_time_ns", ns(v.time)}, {"device", v.device},
                {"requester_id", pcie::bdf::from_rid(v.requester_id).str()}, {"forged_requester_id", v.forged_requester_id}, {"address", hex(v.address)},
                {"length", v.length}, {"access", v.write ? "write" : "read"}, {"owner", v.owner},
                {"allowed", v.expected}, {"message", v.message}};
}

std::string xml_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        switch (c) {
        case '&': o += "&amp;"; break;
        case '<': o += "&lt;"; break;
        case '>': o += "&gt;"; break;
        case '"': o += "&quot;"; break;
        default: o += c;
        }
    }
    return o;
}

std::string actor_of(const step_outcome& s) { return !s.as.empty() ? s.as : s.device; }

} // namespace

json to_json(const run_report& r, const platform_instance& pi) {
    json j;
    j["scenario"] = r.scenario;
    j["seed"] = r.seed;
    j["result"] = r.pass ? "pass" : "fail";
    json steps = json::array();
    for (const step_outcome& s : r.steps) {
        json e;
        e["index"] = s.index;
        e["do"] = s.op;
        if (!s.as.empty()) e["as"] = s.as;
        if (!s.device.empty()) e["device"] = s.device;
        e["result"] = s.result;
        e["expect"] = s.expect;
        e["ok"] = s.ok;
        if (!s.ok) e["message"] = s.message;
        e["sim_time_ns"] = ns(s.end);
        e["latency_ns"] = ns(s.end - s.start);
        steps.push_back(e);
    }
    j["steps"] = steps;
    json inv = json::array();
    for (const invariant_outcome& i : r.invariants) {
        json e{{"name", i.name}, {"held", i.held}};
        if (i.expected_violation) e["expected_violation"] = true;
        e["violations"] = i.violations;
        if (i.first) e["first_violation"] = violation_json(*i.first);
        inv.push_back(e);
    }
    j["invariants"] = inv;
    json faults = json::array();
    for (const auto& f : r.faults)
        faults.push_back({{"sim_time_ns", ns(f.time)}, {"device", pi.id_of(f.record.sid)},
                          {"requester_id", pcie::bdf::from_rid(f.record.sid).str()}, {"address", hex(f.record.address)},
                          {"access", f.record.read ? "read" : "write"}, {"reason", vtd::describe(f.record.reason)},
                          {"reason_code", hex(static_cast<unsigned>(f.record.reason))}, {"logged", f.logged}});
    j["iommu_faults"] = faults;
    json stats;
    stats["sim_time_ns"] = ns(r.sim_time);
    stats["boot_time_ns"] = ns(r.boot_time);
    stats["wall_s"] = r.wall_s;
    for (const auto& [k, v] : r.stats) stats[k] = v;
    j["stats"] = stats;
    return j;
}

void write_summary(std::ostream& os, const run_report& r) {
    const auto failed = std::count_if(r.steps.begin(), r.steps.end(), [](const step_outcome& s) { return !s.ok; });
    os << "scenario " << r.scenario << " (seed " << r.seed << "): " << (r.pass ? "PASS" : "FAIL") << "\n";
    os << "  " << r.steps.size() << " steps, " << failed << " failed; " << std::fixed << std::setprecision(3)
       << r.sim_time.to_seconds() * 1e6 << " us simulated (boot " << r.boot_time.to_seconds() * 1e6 << " us)\n";
    for (const step_outcome& s : r.steps) {
        os << "  " << std::setw(4) << ("[" + std::to_string(s.index) + "]") << " " << std::left << std::setw(18) << s.op << std::right << " " << std::setw(8) << actor_of(s)
           << "  " << (s.ok ? "ok  " : "FAIL") << "  ";
        bool first = true;
        for (const auto& [k, v] : s.result.items()) {
            if ((k == "delivered" || k == "misdirected") && v.empty()) continue;
            if (k == "fault" && !v.get<bool>()) continue;
            const bool as_hex = v.is_number_unsigned() && (k == "value" || k.rfind("address", 0) == 0 || k == "vector" || k == "data" || k == "start" || k == "end");
            os << (first ? "" : " ") << k << "=" << (v.is_string() ? v.get<std::string>() : as_hex ? hex(v.get<std::uint64_t>()) : v.dump());
            first = false;
        }
        os << "\n";
        if (!s.ok) os << "        " << s.message << "\n";
    }
    for (const invariant_outcome& i : r.invariants) {
        os << "  invariant " << i.name << ": " << (i.held ? "held" : "BROKEN") << (i.expected_violation ? " (a violation was expected)" : "")
           << (i.ok() ? "" : "  <- unexpected") << "\n";
        if (i.first)
            os << "        first " << (i.first->step == violation::boot ? std::string("at boot") : "at step " + std::to_string(i.first->step)) << ": "
               << i.first->message << "\n";
    }
}

void write_junit(std::ostream& os, const run_report& r) {
    std::size_t failures = 0;
    for (const auto& s : r.steps) failures += !s.ok;
    for (const auto& i : r.invariants) failures += !i.ok();
    os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    os << "<testsuite name=\"" << xml_escape(r.scenario) << "\" tests=\"" << r.steps.size() + r.invariants.size()
       << "\" failures=\"" << failures << "\">\n";
    for (const auto& s : r.steps) {
        os << "  <testcase classname=\"" << xml_escape(r.scenario) << "\" name=\"[" << s.index << "] " << xml_escape(s.op) << " "
           << xml_escape(actor_of(s)) << "\" time=\"" << (s.end - s.start).to_seconds() << "\"";
        if (s.ok) { os << "/>\n"; continue; }
        os << ">\n    <failure message=\"" << xml_escape(s.message) << "\"/>\n  </testcase>\n";
    }
    for (const auto& i : r.invariants) {
        os << "  <testcase classname=\"" << xml_escape(r.scenario) << "\" name=\"invariant " << i.name << "\"";
        if (i.ok()) { os << "/>\n"; continue; }
        const std::string why = i.held ? "expected a violation, but the invariant held" : i.first->message;
        os << ">\n    <failure message=\"" << xml_escape(why) << "\"/>\n  </testcase>\n";
    }
    os << "</testsuite>\n";
}

void write_trace(std::ostream& os, const run_report& r, const platform_instance& pi) {
    struct event { std::uint64_t t; int order; json j; };
    std::vector<event> ev;
    int seq = 0;
    for (const auto& s : r.steps) {
        ev.push_back({ns(s.start), seq++, {{"t_ns", ns(s.start)}, {"event", "step_begin"}, {"index", s.index}, {"do", s.op}}});
        ev.push_back({ns(s.end), seq++, {{"t_ns", ns(s.end)}, {"event", "step_end"}, {"index", s.index}, {"ok", s.ok}}});
    }
    for (const auto& f : r.faults)
        ev.push_back({ns(f.time), seq++, {{"t_ns", ns(f.time)}, {"event", "iommu_fault"}, {"device", pi.id_of(f.record.sid)},
                                          {"address", hex(f.record.address)}, {"reason", vtd::describe(f.record.reason)}}});
    for (const auto& i : r.interrupts) {
        json j = {{"t_ns", ns(i.time)}, {"event", "interrupt"}, {"domain", i.domain}, {"vector", i.vector},
                  {"device", i.from_device ? pi.id_of(i.requester_id) : "iommu"}};
        // A legacy INTx: the GSI that fired and the function's pin (1 = INTA).
        if (i.intx) j.update({{"intx", true}, {"gsi", i.gsi}, {"pin", i.pin}});
        // An event-channel upcall: no device sent it.
        if (i.upcall) j.update({{"device", "evtchn"}, {"upcall", true}, {"vcpu", i.vcpu}});
        ev.push_back({ns(i.time), seq++, std::move(j)});
    }
    for (const auto& v : r.violations)
        ev.push_back({ns(v.time), seq++, {{"t_ns", ns(v.time)}, {"event", "violation"}, {"invariant", v.invariant}, {"message", v.message}}});
    std::stable_sort(ev.begin(), ev.end(), [](const event& a, const event& b) { return a.t != b.t ? a.t < b.t : a.order < b.order; });
    for (const auto& e : ev) os << e.j.dump() << "\n";
}

} // namespace iotwin::platform
