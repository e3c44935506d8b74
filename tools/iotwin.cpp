// iotwin: the command line. A thin main over the platform library; the
// contract is ../shared/spec/cli.md, documented in docs/cli.md.
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "models/common/params.h"
#include "platform/builder.h"
#include "platform/group_probe.h"
#include "platform/groups_report.h"
#include "platform/iommu_groups.h"
#include "platform/limits.h"
#include "platform/loader.h"
#include "platform/lspci.h"
#include "platform/lspci_compare.h"
#include "platform/lspci_import.h"
#include "platform/lspci_report.h"
#include "platform/lspci_scenario.h"
#include "platform/operations.h"
#include "platform/report.h"
#include "platform/runner.h"
#include "platform/sysfs_tree.h"

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

// An output file the user named that cannot be written: bad input (exit 2),
// like a FILE that cannot be read.
struct output_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Whether `path` can be written, checked before a run so that a long run is
// not wasted on an output that would be dropped: "" when it can, else why not.
std::string unwritable(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) return "is a directory";
        return access(path.c_str(), W_OK) == 0 ? "" : std::strerror(errno);
    }
    if (errno != ENOENT) return std::strerror(errno);
    const fs::path parent = fs::path(path).parent_path();
    const std::string dir = parent.empty() ? "." : parent.string();
    if (stat(dir.c_str(), &st) != 0) return std::string("its directory: ") + std::strerror(errno);
    if (!S_ISDIR(st.st_mode)) return "its directory is not a directory";
    return access(dir.c_str(), W_OK | X_OK) == 0 ? "" : std::string("its directory: ") + std::strerror(errno);
}

void check_writable(const char* option, const std::string& path) {
    if (path.empty()) return;
    if (const std::string why = unwritable(path); !why.empty())
        throw output_error(std::string(option) + " " + platform::excerpt(path, 200) + ": cannot write: " + why);
}

void write_file(const char* option, const std::string& path, const std::function<void(std::ostream&)>& w) {
    std::ofstream f(path);
    if (f) w(f);
    if (!f || !f.flush()) throw output_error(std::string(option) + " " + platform::excerpt(path, 200) + ": cannot write: " + std::strerror(errno));
}

// The last line of defence for what reaches the terminal: control characters
// escaped, the length capped (messages quote input only in short excerpts).
std::string printable(const std::string& message) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (const char ch : message) {
        if (out.size() >= platform::limits::max_message) return out + "...";
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
        else out += ch;
    }
    return out;
}

// Runs a command body, turning errors into the exit statuses of the contract.
int with_exit_codes(const std::function<int()>& body) {
    try {
        return body();
    } catch (const platform::input_error& e) {
        std::cerr << printable(e.what()) << "\n";
        return bad_input;
    } catch (const output_error& e) {
        std::cerr << "iotwin: " << printable(e.what()) << "\n";
        return bad_input;
    } catch (const std::bad_alloc&) {
        std::cerr << "iotwin: internal error: out of memory\n";
        return internal;
    } catch (const std::exception& e) {
        std::cerr << "iotwin: internal error: " << printable(e.what()) << "\n";
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
        check_writable("--json", o.json_out);
        check_writable("--junit", o.junit_out);
        check_writable("--trace", o.trace_out);
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
        if (!o.json_out.empty()) write_file("--json", o.json_out, [&](std::ostream& os) { os << platform::to_json(rep, *pi).dump(2) << "\n"; });
        if (!o.junit_out.empty()) write_file("--junit", o.junit_out, [&](std::ostream& os) { platform::write_junit(os, rep); });
        if (!o.trace_out.empty()) write_file("--trace", o.trace_out, [&](std::ostream& os) { platform::write_trace(os, rep, *pi); });
        return static_cast<int>(rep.pass ? ok : failed);
    });
}

// The scenario files under `paths`, sorted; a path that is neither a file nor
// a directory is bad input.
std::vector<std::string> scenario_files(const std::vector<std::string>& paths) {
    std::vector<std::string> files;
    for (const std::string& p : paths) {
        std::error_code ec;
        if (fs::is_regular_file(p, ec)) { files.push_back(p); continue; }
        if (!fs::is_directory(p, ec)) throw platform::input_error({p, 0, 0}, "no such file or directory");
        // Unreadable subdirectories are reported, not fatal to the whole suite.
        for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
            if (it->is_regular_file(ec) && (it->path().extension() == ".yaml" || it->path().extension() == ".yml"))
                files.push_back(it->path().string());
        if (ec) throw platform::input_error({p, 0, 0}, "cannot list the directory: " + ec.message());
    }
    std::sort(files.begin(), files.end());
    return files;
}

// One scenario run as a child process, in a process group of its own so that a
// timeout kills whatever it started too.
struct check_job {
    std::string file, log;
    pid_t pid;
    std::chrono::steady_clock::time_point deadline;
    bool timed_out = false;
};

pid_t spawn_run(const std::string& self, const std::string& file, int log_fd) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    std::string f = file;
    std::vector<char*> argv = {const_cast<char*>(self.c_str()), const_cast<char*>("run"), f.data(), nullptr};
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, self.c_str(), &fa, &attr, argv.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

std::string seconds_text(double s) {
    std::ostringstream os;
    os << s << "s";
    return os.str();
}

// Runs every scenario under `paths` as its own process (SystemC elaborates once
// per process), `jobs` at a time; one that runs longer than `timeout_s` is
// killed with its process group and fails.
int check(const std::vector<std::string>& paths, unsigned jobs, double timeout_s, const std::string& self) {
    std::vector<std::string> files;
    try {
        files = scenario_files(paths);
    } catch (const platform::input_error& e) {
        std::cerr << "iotwin check: " << printable(e.what()) << "\n";
        return bad_input;
    }
    const auto timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(timeout_s));
    std::vector<check_job> running;
    std::size_t next = 0, passed = 0, failed_n = 0;
    const auto finish = [&](std::vector<check_job>::iterator it, int st) {
        const int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (code == 0 && !it->timed_out) {
            ++passed;
            std::cout << "PASS " << it->file << "\n";
        } else {
            ++failed_n;
            if (it->timed_out) std::cout << "FAIL " << it->file << " (timeout after " << seconds_text(timeout_s) << ")\n";
            else std::cout << "FAIL " << it->file << " (exit " << code << ")\n";
            std::ifstream log(it->log);
            for (std::string line; std::getline(log, line);) std::cout << "    " << line << "\n";
        }
        std::error_code ec;
        fs::remove(it->log, ec);
        running.erase(it);
    };
    // Reaps finished children; kills those past their deadline (they are
    // reaped on a later pass, once dead).
    const auto reap = [&] {
        for (;;) {
            int st = 0;
            const pid_t pid = waitpid(-1, &st, WNOHANG);
            if (pid <= 0) break;
            const auto it = std::find_if(running.begin(), running.end(), [&](const check_job& j) { return j.pid == pid; });
            if (it != running.end()) finish(it, st);
        }
        const auto now = std::chrono::steady_clock::now();
        for (check_job& j : running)
            if (!j.timed_out && now >= j.deadline) {
                j.timed_out = true;
                kill(-j.pid, SIGKILL);
            }
    };
    while (next < files.size() || !running.empty()) {
        while (next < files.size() && running.size() < jobs) {
            char tmpl[] = "/tmp/iotwin-check-XXXXXX";
            const int fd = mkstemp(tmpl);
            if (fd < 0) { std::cerr << "iotwin check: cannot create a temporary file\n"; return internal; }
            const pid_t pid = spawn_run(self, files[next], fd);
            close(fd);
            if (pid < 0) { std::cerr << "iotwin check: cannot start " << self << "\n"; return internal; }
            running.push_back({files[next], tmpl, pid, std::chrono::steady_clock::now() + timeout});
            ++next;
        }
        reap();
        if (!running.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
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

// `iotwin import`: a scenario from a machine's `lspci -vvv -nn` listing, the
// kernel's groups beside the twin's, and the isolation verdict with its
// attack scenarios (docs/import.md).
struct import_options {
    std::string file, out_file, attacks_dir;
    bool compare = false, report = false;
};

// The machine's description: lspci text, or a directory holding a copy of
// sysfs's PCI devices (docs/import.md, "A sysfs tree").
platform::lspci_text::listing read_machine(const std::string& file) {
    std::error_code ec;
    if (fs::is_directory(file, ec)) return platform::sysfs_tree::read(file);
    std::ifstream in(file);
    if (!in) throw platform::input_error(platform::source_pos(file), "cannot read the listing: " + std::string(std::strerror(errno)));
    return platform::lspci_text::parse(in);
}

int import_listing(const import_options& io) {
    return with_exit_codes([&] {
        const std::string& file = io.file;
        const platform::lspci_text::listing l = read_machine(file);
        // FILE:LINE for the listing's lines; a sysfs copy's diagnostics name their file.
        const auto where = [&](const platform::lspci_text::diagnostic& d) {
            const std::string f = d.source.empty() ? file : d.source;
            return d.line > 0 ? f + ":" + std::to_string(d.line) : f;
        };
        for (const auto& d : l.notes) std::cerr << where(d) << ": note: " << d.why << "\n";
        for (const auto& d : l.skipped) std::cerr << where(d) << ": warning: skipped: " << d.why << "\n";
        if (l.functions.empty())
            throw platform::input_error(platform::source_pos(file), "no function in the listing (expected lspci -vvv -nn output, or a copy of /sys/bus/pci/devices)");
        const auto m = platform::lspci_hierarchy::rebuild(l);
        for (const auto& p : m.problems) std::cerr << (p.line > 0 ? file + ":" + std::to_string(p.line) : file) << ": warning: " << p.why << "\n";
        platform::lspci_scenario::options o;
        o.source = fs::path(file).filename().string();
        // The scenario is loaded to compare its groups with the kernel's.
        const fs::path scratch = fs::temp_directory_path() / ("iotwin-import-" + std::to_string(::getpid()));
        fs::create_directories(scratch);
        struct cleanup {
            fs::path dir;
            ~cleanup() {
                std::error_code ignored;
                fs::remove_all(dir, ignored);
            }
        } remove_scratch{scratch};
        const platform::lspci_import::result r = platform::lspci_import::run(l, m, o, scratch);
        if (!io.out_file.empty()) write_file("-o", io.out_file, [&](std::ostream& f) { f << r.yaml; });
        else if (!io.compare && !io.report) std::cout << r.yaml;
        if (io.compare) {
            std::cout << r.comparison;
            std::string ids;
            for (const std::string& id : r.acs_override) ids += (ids.empty() ? "" : ",") + id;
            if (!r.acs_override.empty())
                std::cout << "the scenario sets pcie_acs_override: " << ids << "; with it "
                          << r.differ_from_scenario << " of the " << r.kernel_groups << " kernel groups differ\n";
        }
        if (!io.report) return ok;
        if (io.compare) std::cout << "\n";
        const platform::topology& t = r.scenario->t;
        const platform::group_result& g = r.scenario->g;
        platform::lspci_report::verdict v = platform::lspci_report::judge(t, g, &l);
        const std::string dir = io.attacks_dir.empty() ? fs::path(file).stem().string() + "-attacks" : io.attacks_dir;
        platform::lspci_report::write_attacks(v, t, {dir, r.yaml, o.source});
        platform::lspci_report::write_text(std::cout, v, t, g, l, dir);
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
    double check_timeout = 300;
    check_cmd->add_option("--timeout", check_timeout, "seconds (fractions too) a scenario may run before it is killed and fails")
        ->check(CLI::Range(0.001, 86400.0));

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

    import_options import_opts;
    auto* import_cmd = app.add_subcommand("import", "write a scenario from a machine's lspci -vvv -nn listing");
    import_cmd->add_option("file", import_opts.file, "the listing (lspci -vvv -nn text), or a directory with a copy of /sys/bus/pci/devices")->required();
    import_cmd->add_option("-o,--output", import_opts.out_file, "write the scenario here (default: standard output)");
    import_cmd->add_flag("--compare", import_opts.compare, "print the kernel's IOMMU groups (the listing's IOMMU group lines) beside the twin's, with why each difference arises");
    import_cmd->add_flag("--report", import_opts.report,
                         "the isolation verdict: for each group of more than one function, peer-to-peer paths without the IOMMU, what "
                         "passing one to a VM exposes, what an ACS override changes; writes an attack scenario for each path");
    import_cmd->add_option("--attacks", import_opts.attacks_dir, "directory for --report's attack scenarios (default: FILE's name without suffix, plus -attacks)");

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
    if (*import_cmd) return import_listing(import_opts);
    if (*check_cmd) {
        const std::string self = fs::canonical("/proc/self/exe").string();
        return check(check_paths, jobs, check_timeout, self);
    }
    if (*ops_cmd) {
        platform::write_operations_markdown(std::cout);
        return ok;
    }
    list_params();
    return ok;
}
