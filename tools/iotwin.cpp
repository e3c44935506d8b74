// iotwin: the command line. A thin main over the platform library; the
// contract is ../shared/spec/cli.md, documented in docs/cli.md.
#include <sys/wait.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>

#include "models/common/params.h"
#include "platform/builder.h"
#include "platform/group_probe.h"
#include "platform/groups_report.h"
#include "platform/iommu_groups.h"
#include "platform/loader.h"
#include "platform/lspci.h"
#include "platform/operations.h"
#include "platform/report.h"
#include "platform/runner.h"

extern char** environ;

namespace {

using namespace iotwin;
namespace fs = std::filesystem;

// The SystemC banner would precede every report; it is off before the kernel starts.
const bool quiet_systemc = [] { return setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1) == 0; }();

enum exit_code { ok = 0, failed = 1, bad_input = 2, internal = 3 };

struct run_options {
    std::string file, json_out, junit_out, trace_out;
    std::optional<std::uint64_t> seed;
    std::vector<std::string> sets;
};

bool write_file(const std::string& path, const std::function<void(std::ostream&)>& w) {
    std::ofstream f(path);
    if (!f) {
        std::cerr << "iotwin: cannot write " << path << "\n";
        return false;
    }
    w(f);
    return static_cast<bool>(f);
}

// Runs a command body, turning errors into the exit statuses of the contract.
int with_exit_codes(const std::function<int()>& body) {
    try {
        return body();
    } catch (const platform::input_error& e) {
        std::cerr << e.what() << "\n";
        return bad_input;
    } catch (const std::exception& e) {
        std::cerr << "iotwin: internal error: " << e.what() << "\n";
        return internal;
    }
}

// Loads a scenario and prints its warnings on stderr; they never change the exit status.
platform::scenario load(const std::string& file, const std::vector<std::string>& sets = {}) {
    platform::scenario s = platform::load_scenario(file, sets);
    for (const platform::input_warning& w : s.warnings) std::cerr << w.str() << "\n";
    return s;
}

int run(const run_options& o) {
    return with_exit_codes([&] {
        platform::scenario s = load(o.file, o.sets);
        if (o.seed) s.seed = *o.seed;
        auto pi = platform::build_platform(s);
        platform::runner r("runner", s, *pi);
        const auto t0 = std::chrono::steady_clock::now();
        sc_core::sc_start();
        if (r.error()) std::rethrow_exception(r.error());
        platform::run_report rep = r.report();
        rep.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        platform::write_summary(std::cout, rep);
        bool written = true;
        if (!o.json_out.empty()) written &= write_file(o.json_out, [&](std::ostream& os) { os << platform::to_json(rep, *pi).dump(2) << "\n"; });
        if (!o.junit_out.empty()) written &= write_file(o.junit_out, [&](std::ostream& os) { platform::write_junit(os, rep); });
        if (!o.trace_out.empty()) written &= write_file(o.trace_out, [&](std::ostream& os) { platform::write_trace(os, rep, *pi); });
        if (!written) return static_cast<int>(internal);
        return static_cast<int>(rep.pass ? ok : failed);
    });
}

// Runs every scenario under `paths` as its own process (SystemC elaborates once
// per process), `jobs` at a time.
int check(const std::vector<std::string>& paths, unsigned jobs, const std::string& self) {
    std::vector<std::string> files;
    for (const std::string& p : paths) {
        if (fs::is_regular_file(p)) { files.push_back(p); continue; }
        if (!fs::is_directory(p)) {
            std::cerr << "iotwin check: " << p << ": no such file or directory\n";
            return bad_input;
        }
        for (const auto& e : fs::recursive_directory_iterator(p))
            if (e.is_regular_file() && (e.path().extension() == ".yaml" || e.path().extension() == ".yml")) files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    struct job { std::string file, log; pid_t pid; };
    std::vector<job> running;
    std::map<std::string, int> status;
    std::size_t next = 0, passed = 0, failed_n = 0;
    auto reap = [&] {
        int st = 0;
        const pid_t pid = wait(&st);
        auto it = std::find_if(running.begin(), running.end(), [&](const job& j) { return j.pid == pid; });
        if (it == running.end()) return;
        const int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (code == 0) {
            ++passed;
            std::cout << "PASS " << it->file << "\n";
        } else {
            ++failed_n;
            std::cout << "FAIL " << it->file << " (exit " << code << ")\n";
            std::ifstream log(it->log);
            for (std::string line; std::getline(log, line);) std::cout << "    " << line << "\n";
        }
        std::error_code ec;
        fs::remove(it->log, ec);
        running.erase(it);
    };
    while (next < files.size() || !running.empty()) {
        while (next < files.size() && running.size() < jobs) {
            char tmpl[] = "/tmp/iotwin-check-XXXXXX";
            const int fd = mkstemp(tmpl);
            if (fd < 0) { std::cerr << "iotwin check: cannot create a temporary file\n"; return internal; }
            posix_spawn_file_actions_t fa;
            posix_spawn_file_actions_init(&fa);
            posix_spawn_file_actions_adddup2(&fa, fd, 1);
            posix_spawn_file_actions_adddup2(&fa, fd, 2);
            std::string f = files[next];
            std::vector<char*> argv = {const_cast<char*>(self.c_str()), const_cast<char*>("run"), f.data(), nullptr};
            pid_t pid;
            const int rc = posix_spawn(&pid, self.c_str(), &fa, nullptr, argv.data(), environ);
            posix_spawn_file_actions_destroy(&fa);
            close(fd);
            if (rc != 0) { std::cerr << "iotwin check: cannot start " << self << "\n"; return internal; }
            running.push_back({files[next], tmpl, pid});
            ++next;
        }
        reap();
    }
    std::cout << passed << " passed, " << failed_n << " failed\n";
    return failed_n ? failed : ok;
}

int groups(const std::string& file, const std::string& format, bool verify) {
    return with_exit_codes([&] {
        const platform::scenario s = load(file);
        if (verify) return platform::verify_groups(s, std::cout) ? ok : failed;
        const platform::topology t = platform::build_topology(s.platform);
        const platform::group_result g = platform::compute_groups(t);
        if (format == "json") std::cout << platform::groups_json(t, g).dump(2) << "\n";
        else if (format == "sysfs") platform::write_groups_sysfs(std::cout, t, g);
        else if (format == "dot") platform::write_groups_dot(std::cout, t, g);
        else platform::write_groups_text(std::cout, t, g);
        return ok;
    });
}

int lspci(const std::string& file, const platform::lspci_options& o) {
    return with_exit_codes([&] {
        platform::lspci(std::cout, load(file), o);
        return ok;
    });
}

void list_params() {
    platform::platform_desc p;
    std::vector<param_doc> rows;
    auto add = [&](const char* prefix, auto& params) {
        param_lister l(prefix);
        params.visit(l);
        rows.insert(rows.end(), l.rows.begin(), l.rows.end());
    };
    add("platform.iommu", p.iommu);
    add("platform.dram", p.dram);
    add("platform.fabric", p.fabric);
    add("platform.simulation", p.simulation);
    add("platform.devices", p.devices);
    for (const auto& r : rows) std::cout << r.path << " = " << r.default_value << (r.unit.empty() ? "" : " [" + r.unit + "]") << "  " << r.description << "\n";
}

} // namespace

int sc_main(int argc, char* argv[]) {
    // sc_stop() at the end of every run is not news.
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    CLI::App app{"iotwin: a digital twin of I/O isolation on virtualized machines"};
    app.require_subcommand(1);
    run_options ro;
    auto* run_cmd = app.add_subcommand("run", "run one scenario and print a summary");
    run_cmd->add_option("file", ro.file, "scenario file (YAML)")->required();
    run_cmd->add_option("--json", ro.json_out, "write the JSON report here");
    run_cmd->add_option("--junit", ro.junit_out, "write JUnit XML here");
    run_cmd->add_option("--trace", ro.trace_out, "write the event trace (JSON Lines) here");
    run_cmd->add_option("--seed", ro.seed, "override the scenario's seed");
    run_cmd->add_option("--set", ro.sets, "override a value of the file: KEY=VALUE, KEY a dotted path")->allow_extra_args(false);

    std::vector<std::string> check_paths;
    unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
    auto* check_cmd = app.add_subcommand("check", "run every scenario under the paths, in parallel");
    check_cmd->add_option("paths", check_paths, "files or directories")->required();
    check_cmd->add_option("-j,--jobs", jobs, "scenarios run at once")->check(CLI::Range(1u, 256u));

    std::string groups_file, groups_format = "text";
    auto* groups_cmd = app.add_subcommand("groups", "compute the IOMMU groups of the file's platform.pcie (Linux 6.1 rules)");
    groups_cmd->add_option("file", groups_file, "scenario file (YAML)")->required();
    groups_cmd->add_option("--format", groups_format, "text, json, sysfs or dot")->check(CLI::IsMember({"text", "json", "sysfs", "dot"}));
    bool groups_verify = false;
    groups_cmd->add_flag("--verify", groups_verify,
                         "simulate: every function tries peer-to-peer DMA to every BAR and DMA upstream; report what "
                         "reaches across groups untranslated and requester IDs the IOMMU sees that the groups did not predict");

    std::string lspci_file;
    platform::lspci_options lspci_opts;
    auto* lspci_cmd = app.add_subcommand("lspci", "build and boot the file's platform and show the enumerated PCI functions as lspci does");
    lspci_cmd->add_option("file", lspci_file, "scenario file (YAML)")->required();
    lspci_cmd->add_flag("-t,--tree", lspci_opts.tree, "show the bus tree (lspci -t)");
    lspci_cmd->add_flag("-v,--verbose", lspci_opts.verbose, "verbose, repeatable: -v as lspci -v, -vv (or -vvv) as lspci -vv, showing only registers the model has; with -t, device names (lspci -tv)");

    app.add_subcommand("params", "list every platform parameter with its default, unit and meaning");
    auto* ops_cmd = app.add_subcommand("ops", "list every step operation with its arguments (types, ranges, defaults), results and errnos, "
                                              "in Markdown (the operation tables of docs/scenario-reference.md)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? ok : bad_input;
    }
    if (*run_cmd) return run(ro);
    if (*groups_cmd) return groups(groups_file, groups_format, groups_verify);
    if (*lspci_cmd) return lspci(lspci_file, lspci_opts);
    if (*check_cmd) {
        const std::string self = fs::canonical("/proc/self/exe").string();
        return check(check_paths, jobs, self);
    }
    if (*ops_cmd) {
        platform::write_operations_markdown(std::cout);
        return ok;
    }
    list_params();
    return ok;
}
