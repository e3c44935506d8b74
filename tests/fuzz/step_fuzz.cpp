// The step fuzzer: random sequences of operations with random arguments,
// drawn from the operations' schemas, against a booted platform whose guests
// and devices are untrusted. One process runs one sequence (SystemC
// elaborates once per process); the same platform, seed and count give the
// same sequence.
//
//   iotwin_step_fuzz --platform FILE --seed N --ops N [--out DIR]
//
// As a driver of many sequences (tools/fuzz): --runs N operations in all,
// in sequences of --ops each, every sequence a process of its own (seeds
// derived from --seed), --jobs at a time, each stopped after --timeout
// seconds (a hang is a finding). The last line sums them up.
//
// Every generated step goes through the loader's schema checks and the
// runner's dispatch, as a scenario's step does. Findings: a step the schema
// refuses (the generator and the schema disagree), a step that fails without
// an expectation (an operation refused its own checked arguments), a result
// without errno, an error that stops the run, and any invariant that breaks
// (the platform is a secure configuration). A crash or sanitizer report ends
// the process. Exit 0: no finding; 1: findings (written to --out as a
// scenario that replays the sequence); 2: bad command line.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdlib>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include "platform/address_map.h"
#include "platform/builder.h"
#include "platform/limits.h"
#include "platform/loader.h"
#include "platform/operations.h"
#include "platform/runner.h"

extern char** environ;

namespace {

using namespace iotwin;
using namespace iotwin::platform;

constexpr std::uint64_t page = 4096;

// Draws steps from the schemas. Values are biased towards the ones that
// matter: addresses inside and just outside each domain's memory, other
// functions' BARs, the interrupt window, ECAM, the IOMMU's registers, the
// top of the address spaces; sizes at their limits; other functions'
// requester IDs.
class generator {
public:
    generator(const scenario& s, runner& r, std::uint64_t seed, std::uint64_t ops)
        : s_(s), r_(r), rng_(seed), ops_(ops) {
        // proc.exit ends a process for good: every later step as it would fail
        // as a scenario error (a step done by a process that is gone).
        for (const operation& o : operations().all())
            if (o.spec.name != "proc.exit") ops_list_.push_back(&o.spec);
        for (const auto& [id, f] : r.platform().by_id) ids_.push_back(id);
        for (const auto& d : s.domains)
            if (!d.privileged) guests_.push_back(d.name);
        for (const auto& p : s.processes) {
            guests_.push_back(p.name);
            processes_.push_back(p.name);
        }
        for (const auto& d : s.domains) {
            domains_.push_back(d.name);
            for (const auto& [id, pos] : d.devices) {
                owned_[d.name].push_back(id);
                assigned_.push_back(id);
            }
        }
        for (const auto& p : s.processes) owned_[p.name] = owned_[p.domain];
        collect_devices(s.platform.pcie);
        if (assigned_.empty()) assigned_ = devices_;
    }

    // The next step, or nullptr after `ops` steps. Called by the runner after boot.
    const step_desc* next() {
        if (steps_.size() == ops_) return nullptr;
        if (addresses_.empty()) collect_addresses();
        const op_spec& op = *ops_list_[pick(ops_list_.size())];
        step_desc st;
        st.index = steps_.size();
        st.op = op.name;
        st.pos = {s_.file, static_cast<int>(steps_.size() + 1), 1};
        if (op.who == actor::domain) st.as = actor_for(op);
        if (op.who == actor::process) st.as = processes_[pick(processes_.size())];
        if (op.who == actor::device) st.device = chance(4) ? devices_[pick(devices_.size())] : assigned_[pick(assigned_.size())];
        st.args = arguments(op, st.as);
        st.expect = YAML::Node(YAML::NodeType::Map);
        st.background = chance(20);
        try {
            check_args(op, st.args, s_, st.pos);
        } catch (const input_error& e) {
            findings_.push_back("step " + std::to_string(st.index) + " (" + st.op + "): the schema refuses a generated step: " + e.what());
        }
        steps_.push_back(std::move(st));
        return &steps_.back();
    }

    const std::deque<step_desc>& steps() const { return steps_; }
    std::vector<std::string>& findings() { return findings_; }

private:
    std::uint64_t pick(std::uint64_t n) { return n ? std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_) : 0; }
    bool chance(unsigned one_in) { return pick(one_in) == 0; }
    std::uint64_t any() { return rng_(); }

    // Untrusted guests write; the privileged domain (trusted) only reads.
    std::string actor_for(const op_spec& op) {
        const bool writes = op.name == "pci.config_write" || op.name == "pci.mmio_write" || op.name == "pci.set_master" ||
                            op.name == "pci.enable_msi";
        if (writes || chance(2)) return guests_[pick(guests_.size())];
        std::vector<std::string> all = domains_;
        all.insert(all.end(), guests_.begin(), guests_.end());
        return all[pick(all.size())];
    }

    // The functions that issue requests of their own: endpoints and
    // conventional functions, virtual functions included. Ports and bridges
    // are the fabric, which the threat model trusts (a switch that forges
    // requester IDs defeats any IOMMU; ACS validates what enters a port).
    void collect_devices(const std::vector<pcie_node>& nodes) {
        for (const pcie_node& n : nodes) {
            if (!is_bridge(n.type)) devices_.push_back(n.id);
            if (n.sriov)
                for (std::uint64_t i = 0; i < n.sriov->num_vfs; ++i) devices_.push_back(n.id + "-vf" + std::to_string(i));
            collect_devices(n.children);
        }
    }

    void collect_addresses() {
        for (const auto& d : s_.domains) {
            const std::uint64_t m = d.memory;
            for (std::uint64_t a : {std::uint64_t(0), m - page, m, m + page, m / 2 & ~(page - 1)}) addresses_.push_back(a);
        }
        for (const std::string& id : ids_)
            if (const enumerated_function* e = r_.enumerated(id))
                for (const enumerated_bar& b : e->bars) {
                    addresses_.push_back(b.base);
                    addresses_.push_back(b.base + b.size - 4);
                }
        using namespace address_map;
        for (std::uint64_t a : std::initializer_list<std::uint64_t>{ecam_base, ecam_base + (1u << 20), iommu_regs_base, msi_base, msi_base + (1u << 12), msi_base + (2u << 12),
                                low_ram_limit - page, high_ram_base, mmio64_base, (std::uint64_t(1) << 48) - page, std::uint64_t(1) << 48,
                                ~std::uint64_t(0) - page + 1, ~std::uint64_t(0)})
            addresses_.push_back(a);
    }

    std::uint64_t address() {
        switch (pick(8)) {
        case 0: return any();
        case 1: return pick(1ull << 28) & ~(page - 1);
        case 2: return addresses_[pick(addresses_.size())] + pick(page);
        default: return addresses_[pick(addresses_.size())];
        }
    }

    std::uint64_t in_range(const arg_spec& a, std::uint64_t v) { return a.max - a.min == ~std::uint64_t(0) ? v : a.min + v % (a.max - a.min + 1); }

    // A value for `a` within its schema range, by what the argument means.
    std::uint64_t number(const op_spec& op, const arg_spec& a) {
        const std::string& n = a.name;
        if (n == "iova" || (n == "address" && op.name == "iommu.map")) return chance(4) ? address() : pick(1ull << 16) * page;
        if (n == "addr" || n == "address") return in_range(a, address());
        if (n == "requester_id") {
            if (chance(2)) return any() & 0xffff;
            const std::string& id = ids_[pick(ids_.size())];
            const enumerated_function* e = r_.enumerated(id);
            return e ? e->bdf.rid() : 0;
        }
        if (n == "bar") return pick(7);
        if (n == "vector") return pick(40);
        if (n == "offset") return in_range(a, chance(8) ? any() & 0xffffffff : pick(op.name.rfind("pci.config", 0) == 0 ? 0x1010 : 0x1100));
        if (n == "size" && a.type == arg_type::integer) {
            static const std::uint64_t sizes[] = {1, 2, 4, 8, 4, 4, 0, 3, 16};
            return sizes[pick(std::size(sizes))];
        }
        if (n == "size") {  // bytes of IO mappings
            switch (pick(6)) {
            case 0: return in_range(a, any());
            case 1: return in_range(a, pick(1ull << 20));
            case 2: return 2ull << 20;
            default: return (1 + pick(16)) * page;
            }
        }
        if (n == "len") return in_range(a, chance(50) ? a.max : chance(10) ? 1 + pick(65536) : 1 + pick(512));
        if (n == "value" || n == "data") {
            static const std::uint64_t values[] = {0, 1, 0x6, 0x7, 0xffffffff, 0x400, 0xfee00000, 0x8000};
            return in_range(a, chance(2) ? values[pick(std::size(values))] : any());
        }
        return in_range(a, any());
    }

    std::string bytes(const arg_spec& a) {
        std::uint64_t n = chance(100) ? a.max : chance(10) ? 1 + pick(8192) : 1 + pick(64);
        n = std::clamp<std::uint64_t>(n, a.min, a.max);
        static const char* hex = "0123456789abcdef";
        std::string s;
        s.reserve(2 * n);
        for (std::uint64_t i = 0; i < n; ++i) {
            const auto b = static_cast<unsigned>(pick(256));
            s += hex[b >> 4];
            s += hex[b & 15];
        }
        return s;
    }

    YAML::Node value(const op_spec& op, const arg_spec& a) {
        switch (a.type) {
        case arg_type::flags: {
            if (a.names.empty() || chance(4)) return YAML::Node(std::to_string(number(op, a)));
            YAML::Node l(YAML::NodeType::Sequence);
            for (std::uint64_t i = 0, n = pick(a.names.size() + 1); i < n; ++i) l.push_back(a.names[pick(a.names.size())].first);
            return l;
        }
        case arg_type::structure: {
            // Mostly the declared fields, each present half the time (required ones always).
            const auto one = [&] {
                YAML::Node m(YAML::NodeType::Map);
                for (const arg_spec& f : a.fields)
                    if (f.required || chance(2)) m[f.name] = f.type == arg_type::device ? YAML::Node(ids_[pick(ids_.size())]) : value(op, f);
                return m;
            };
            if (!a.list) return one();
            YAML::Node l(YAML::NodeType::Sequence);
            const std::uint64_t n = std::clamp<std::uint64_t>(chance(50) ? pick(64) : 1 + pick(3), a.min, std::min<std::uint64_t>(a.max, 64));
            for (std::uint64_t i = 0; i < n; ++i) l.push_back(one());
            return l;
        }
        case arg_type::integers: {
            // Descriptors mostly (small ones, -1), booleans, and anything 32-bit.
            YAML::Node l(YAML::NodeType::Sequence);
            const std::uint64_t n = std::clamp<std::uint64_t>(chance(20) ? pick(40) : pick(4), a.min, std::min<std::uint64_t>(a.max, 64));
            for (std::uint64_t i = 0; i < n; ++i) {
                switch (pick(4)) {
                case 0: l.push_back("-1"); break;
                case 1: l.push_back(chance(2) ? "true" : "false"); break;
                case 2: l.push_back(std::to_string(any() & 0xffffffff)); break;
                default: l.push_back(std::to_string(pick(8))); break;
                }
            }
            return l;
        }
        default: return YAML::Node(text_value(op, a));
        }
    }

    std::string text_value(const op_spec& op, const arg_spec& a) {
        switch (a.type) {
        case arg_type::flags:
        case arg_type::integers:
        case arg_type::structure: return "";
        case arg_type::pointer: return chance(4) ? "null" : std::to_string(in_range(a, address()));
        case arg_type::integer: return std::to_string(number(op, a));
        case arg_type::size: return std::to_string(number(op, a));
        case arg_type::boolean: return chance(2) ? "true" : "false";
        case arg_type::string:
            // A child of proc.fork needs a name no process has.
            if (op.name == "proc.fork" && a.name == "name") return "child" + std::to_string(steps_.size());
            if (a.name == "path") return chance(2) ? "/dev/xen/evtchn" : chance(2) ? "/dev/null" : "/dev/x" + std::to_string(pick(4));
            return "s" + std::to_string(pick(100));
        case arg_type::data: return bytes(a);
        case arg_type::domain: return chance(2) ? domains_[pick(domains_.size())] : std::to_string(chance(8) ? pick(0x10000) : pick(domains_.size() + 2));
        case arg_type::device: return ids_[pick(ids_.size())];
        case arg_type::time: {
            // Simulated time is bounded per run: long waits are rare.
            const std::uint64_t ps = chance(200) ? a.max / 10 : pick(20'000'000);
            return std::to_string(ps) + "ps";
        }
        }
        return "";
    }

    // Mostly a function the acting domain owns: the paths past the ownership check.
    std::string device_of(const std::string& as) {
        const auto it = owned_.find(as);
        if (it == owned_.end() || it->second.empty() || chance(4)) return ids_[pick(ids_.size())];
        return it->second[pick(it->second.size())];
    }

    // The optional arguments a step leaves out, honouring groups of arguments
    // given together and arguments that exclude each other.
    YAML::Node arguments(const op_spec& op, const std::string& as) {
        std::map<std::string, bool> given;
        for (const arg_spec& a : op.args) given[a.name] = a.required || chance(2);
        for (const auto& g : op.together) {
            const bool all = given[g[0]];
            for (const auto& n : g) given[n] = all;
        }
        for (const auto& g : op.exclusive) {
            const std::size_t keep = pick(g.size());
            for (std::size_t i = 0; i < g.size(); ++i)
                if (i != keep) given[g[i]] = false;
            for (const auto& t : op.together)  // what goes together with a dropped one goes too
                if (std::find(t.begin(), t.end(), g[keep]) == t.end())
                    for (std::size_t i = 0; i < g.size(); ++i)
                        if (i != keep && std::find(t.begin(), t.end(), g[i]) != t.end())
                            for (const auto& n : t) given[n] = false;
        }
        YAML::Node args(YAML::NodeType::Map);
        for (const arg_spec& a : op.args)
            if (given[a.name]) args[a.name] = a.type == arg_type::device ? YAML::Node(device_of(as)) : value(op, a);
        return args;
    }

    const scenario& s_;
    runner& r_;
    std::mt19937_64 rng_;
    std::uint64_t ops_;
    std::vector<const op_spec*> ops_list_;
    std::vector<std::string> ids_, guests_, domains_, assigned_, devices_, processes_;
    std::map<std::string, std::vector<std::string>> owned_;  // domain or process -> functions its domain holds
    std::vector<std::uint64_t> addresses_;
    std::deque<step_desc> steps_;
    std::vector<std::string> findings_;
};

// The sequence as a scenario file that replays it with `iotwin run`.
void write_replay(const std::string& path, const std::string& platform_file, const std::deque<step_desc>& steps) {
    std::ifstream in(platform_file);
    std::ofstream out(path);
    for (std::string line; std::getline(in, line);)
        if (line.rfind("steps:", 0) != 0) out << line << "\n";
    out << "steps:\n";
    for (const step_desc& st : steps) {
        YAML::Emitter e;
        e << YAML::Flow << YAML::BeginMap << YAML::Key << "do" << YAML::Value << st.op;
        if (!st.as.empty()) e << YAML::Key << "as" << YAML::Value << st.as;
        if (!st.device.empty()) e << YAML::Key << "device" << YAML::Value << st.device;
        if (st.background) e << YAML::Key << "background" << YAML::Value << true;
        e << YAML::Key << "args" << YAML::Value << st.args << YAML::EndMap;
        out << "  - " << e.c_str() << "\n";
    }
}

// Runs `runs` operations as sequences of `ops`, each one process of this
// program, `jobs` at a time; returns the exit status of the whole.
int drive(const std::string& self, const std::string& platform_file, const std::string& out_dir, std::uint64_t seed, std::uint64_t runs,
          std::uint64_t ops, unsigned jobs, double timeout) {
    struct child { pid_t pid; std::uint64_t seed; std::chrono::steady_clock::time_point start; std::string log; };
    std::vector<child> running;
    std::uint64_t next = 0, done_ops = 0, findings = 0, sequences = (runs + ops - 1) / ops;
    const auto start = [&](std::uint64_t i) {
        const std::uint64_t child_seed = seed * 1000003 + i;
        const std::uint64_t n = std::min(ops, runs - i * ops);
        const std::string log = (out_dir.empty() ? std::string("/tmp") : out_dir) + "/steps-" + std::to_string(child_seed) + ".log";
        std::vector<std::string> args = {self, "--platform", platform_file, "--seed", std::to_string(child_seed), "--ops", std::to_string(n)};
        if (!out_dir.empty()) args.insert(args.end(), {"--out", out_dir});
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        pid_t pid = 0;
        const int rc = posix_spawn(&pid, self.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) throw std::runtime_error("cannot start " + self);
        running.push_back({pid, child_seed, std::chrono::steady_clock::now(), log});
        done_ops += n;
    };
    const auto report = [&](const child& c, const std::string& what) {
        ++findings;
        std::cout << "FINDING seed " << c.seed << ": " << what << " (log: " << c.log << ")\n";
        std::ifstream log(c.log);
        for (std::string line; std::getline(log, line);)
            if (line.rfind("FINDING", 0) == 0) std::cout << "    " << line.substr(0, 400) << "\n";
    };
    while (next < sequences || !running.empty()) {
        while (next < sequences && running.size() < jobs) start(next++);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        for (auto it = running.begin(); it != running.end();) {
            int st = 0;
            const pid_t r = waitpid(it->pid, &st, WNOHANG);
            if (r == 0) {
                if (std::chrono::duration<double>(std::chrono::steady_clock::now() - it->start).count() > timeout) {
                    kill(it->pid, SIGKILL);
                    waitpid(it->pid, &st, 0);
                    report(*it, "hang: no answer after " + std::to_string(timeout) + " s");
                    it = running.erase(it);
                } else {
                    ++it;
                }
                continue;
            }
            if (WIFSIGNALED(st)) report(*it, "crash: signal " + std::to_string(WTERMSIG(st)));
            else if (WEXITSTATUS(st) != 0) report(*it, "exit " + std::to_string(WEXITSTATUS(st)));
            it = running.erase(it);
        }
    }
    std::cout << "step fuzz: " << done_ops << " operations in " << sequences << " sequences, " << findings << " findings\n";
    return findings ? 1 : 0;
}

} // namespace

// The SystemC banner would precede every report; it is off before the kernel starts.
const bool quiet_systemc = [] { return setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1) == 0; }();

int sc_main(int argc, char* argv[]) {
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    CLI::App app{"iotwin step fuzzer: random operations against a booted platform"};
    std::string platform_file, out_dir;
    std::uint64_t seed = 1, ops = 1000;
    app.add_option("--platform", platform_file, "scenario file giving the platform, domains and processes")->required();
    app.add_option("--seed", seed, "seed of the sequence");
    // At most a scenario's steps, so that the replay of a finding loads.
    app.add_option("--ops", ops, "operations in the sequence")->check(CLI::Range(std::uint64_t(1), std::uint64_t(limits::max_steps)));
    app.add_option("--out", out_dir, "directory for a replay scenario when something is found");
    std::uint64_t runs = 0;
    unsigned jobs = 1;
    double timeout = 600;
    app.add_option("--runs", runs, "drive: this many operations in all, in sequences of --ops (default 10000), each a process");
    app.add_option("--jobs", jobs, "drive: sequences at once")->check(CLI::Range(1u, 256u));
    app.add_option("--timeout", timeout, "drive: seconds a sequence may take")->check(CLI::PositiveNumber);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    if (runs) {
        if (app.count("--ops") == 0) ops = std::min<std::uint64_t>(runs, limits::max_steps);
        if (!out_dir.empty()) std::filesystem::create_directories(out_dir);
        return drive(std::filesystem::canonical("/proc/self/exe").string(), platform_file, out_dir, seed, runs, ops, jobs, timeout);
    }
    scenario s;
    try {
        s = load_scenario(platform_file);
    } catch (const input_error& e) {
        std::cerr << e.what() << "\n";
        return 2;
    }
    auto pi = build_platform(s);
    runner r("runner", s, *pi);
    generator g(s, r, seed, ops);
    r.set_step_source([&] { return g.next(); });
    sc_core::sc_start();

    std::vector<std::string>& findings = g.findings();
    if (r.error()) {
        try {
            std::rethrow_exception(r.error());
        } catch (const std::exception& e) {
            findings.push_back(std::string("the run stopped: ") + e.what());
        }
    }
    const run_report& rep = r.report();
    std::map<std::string, std::map<std::string, std::uint64_t>> errnos;  // op -> errno -> count
    for (const step_outcome& o : rep.steps) {
        if (!o.ok) findings.push_back("step " + std::to_string(o.index) + " (" + o.op + ") failed: " + o.message);
        if (!o.result.contains("errno")) findings.push_back("step " + std::to_string(o.index) + " (" + o.op + ") has no errno");
        else ++errnos[o.op][o.result["errno"].is_string() ? o.result["errno"].get<std::string>() : o.result["errno"].dump()];
    }
    for (const invariant_outcome& i : rep.invariants)
        if (!i.held)
            findings.push_back("invariant " + i.name + " broke " + std::to_string(i.violations) +
                               " times in a secure configuration; first at step " + std::to_string(i.first->step) + " (" +
                               rep.steps.at(i.first->step).op + "): " + i.first->message);

    std::cout << "step fuzz: platform " << platform_file << ", seed " << seed << ", " << rep.steps.size() << " operations, "
              << rep.sim_time.to_seconds() * 1e6 << " us simulated\n";
    for (const auto& [op, counts] : errnos) {
        std::cout << "  " << op << ":";
        for (const auto& [e, n] : counts) std::cout << " " << e << "=" << n;
        std::cout << "\n";
    }
    const std::size_t shown = std::min<std::size_t>(findings.size(), 20);
    for (std::size_t i = 0; i < shown; ++i) std::cout << "FINDING " << findings[i] << "\n";
    std::cout << findings.size() << " findings\n";
    if (!findings.empty() && !out_dir.empty()) {
        const std::string path = out_dir + "/step-fuzz-seed-" + std::to_string(seed) + ".yaml";
        write_replay(path, platform_file, g.steps());
        std::cout << "replay: " << path << "\n";
    }
    return findings.empty() ? 0 : 1;
}
