// cli_fuzz: mutation fuzzing of the iotwin command line (docs/fuzzing.md).
//
// Takes seed scenario files, mutates them deterministically from --seed
// (bytes, tokens of the format's dictionary, extreme values, deep nesting,
// long strings, anchors and aliases, control characters, whole lines and
// blocks), runs `iotwin run|groups|lspci` on each mutant as a child process
// with a wall-clock timeout and a memory limit, and classifies the outcome
// against the CLI contract (../shared/spec/cli.md): a signal, a sanitizer
// report, a hang, exit 3, an exit status outside 0..3, an exit-2 message
// without FILE:LINE:COL, stderr lines that are neither positioned warnings
// nor the error, messages longer than a bound or with raw control
// characters. Findings are deduplicated by kind and message prefix; each is
// saved as the input, the command and its stderr. Run i's input depends only
// on --seed and i, so a finding is reproduced by the same seed, whatever
// --jobs is.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr std::size_t max_message = 1024;  // longest stderr line accepted (bytes)

struct options {
    std::uint64_t seed = 1;
    std::uint64_t runs = 1000;
    unsigned jobs = 1;
    double timeout_s = 10;
    std::string out = "fuzz-findings";
    std::string iotwin = "build/iotwin";
    std::string dict;
    // Resident memory a child may use (MiB). Not RLIMIT_AS: the platform
    // reserves its whole machine memory (4 GiB by default) as address space,
    // and AddressSanitizer reserves terabytes of shadow.
    long mem_limit_mib = 2048;
    std::vector<std::string> commands = {"run", "groups", "lspci"};
    std::vector<std::string> seeds;
};

// splitmix64: small, fast, and the same on every platform.
class rng {
public:
    explicit rng(std::uint64_t s) : s_(s) {}
    std::uint64_t next() {
        std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return n ? static_cast<std::size_t>(next() % n) : 0; }
    bool chance(unsigned percent) { return below(100) < percent; }
    template <class T> const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

private:
    std::uint64_t s_;
};

// Values that have broken parsers of numbers, sizes, times, names and references.
const std::vector<std::string> extreme_values = {
    "0", "-1", "-0", "1", "255", "256", "4095", "4096", "65535", "65536", "2147483647", "2147483648", "4294967295",
    "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
    "0xffffffffffffffff", "0x10000000000000000", "0xffffffff", "0x100000000", "0x", "0x-1", "0b101", "0o17", "1_000",
    "1e300", "1e300s", "1e-300ns", "-1ns", "0s", "0ns", "1e19ns", "18446744073709551615ps", "nan", ".nan", ".inf", "-.inf",
    "inf", "1.5", "1.5KiB", "0.1us", "16EiB", "17179869184GiB", "18446744073709551615KiB", "99999999999999999999999TiB",
    "KiB", "1 KiB", "1kib", "1KiBKiB", "-4KiB", "~", "null", "''", "\"\"", "[]", "{}", "[1, 2]", "{a: 1}", "true", "yes",
    "no", "on", "!!binary AAAA", "!!str 1", "!tag x", "\"\\x00\"", "\"\\u202e\"", "\"\\e[31m\"", "\"a\\nb\"", "'it''s'",
    "é", "\xff\xfe", "\"$\"", "$", "$g", "$g.", "$.x", "$g.gref_ids[99999999999999999999]", "$g.x[0][0][0]",
    "\"$g.index+0xffffffffffffffff\"", "\"$g.index<<64\"", "\"$g.index<<-1\"", "\"$g.index*0\"", "\"$g.index*18446744073709551615\"",
    "\"$$\"", "\"ff ff\"", "\"f\"", "\"zz\"", "\"00 \"", "&a", "*a", "*undefined", "|", ">", "-", "--- x", "...", "? a", "@x", "`x",
};

const std::vector<std::string> control_chars = {std::string(1, '\0'), "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b",
                                                "\x7f", "\r", "\t", "\xc2\x85", "\xe2\x80\xa8", "\xef\xbb\xbf"};

// Tokens of a libFuzzer dictionary: lines `name="value"` or `"value"`, with \" \\ \xNN escapes.
std::vector<std::string> read_dictionary(const std::string& path) {
    std::vector<std::string> tokens;
    std::ifstream f(path);
    for (std::string line; std::getline(f, line);) {
        const std::size_t q = line.find('"');
        if (line.empty() || line[0] == '#' || q == std::string::npos) continue;
        std::string t;
        for (std::size_t i = q + 1; i < line.size() && line[i] != '"'; ++i) {
            if (line[i] != '\\' || i + 1 >= line.size()) { t += line[i]; continue; }
            const char e = line[++i];
            if (e == 'x' && i + 2 < line.size()) {
                t += static_cast<char>(std::stoi(line.substr(i + 1, 2), nullptr, 16));
                i += 2;
            } else {
                t += e;
            }
        }
        if (!t.empty()) tokens.push_back(t);
    }
    return tokens;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t nl = text.find('\n', start);
        if (nl == std::string::npos) {
            if (start < text.size()) lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string s;
    for (const std::string& l : lines) s += l + "\n";
    return s;
}

std::size_t indent_of(const std::string& line) {
    std::size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '-')) ++i;
    return i;
}

// The end of a plain value: the whole rest of the line, or inside a flow
// collection up to the next `,` `}` or `]`.
std::size_t value_end(const std::string& line, std::size_t v) {
    const bool flow = line.find_first_of("{[") < v;
    std::size_t e = flow ? line.find_first_of(",}]", v) : line.find(" #", v);
    return e == std::string::npos ? line.size() : e;
}

// Every `key: value` of the lines, flow maps included: where the key, the colon and the value are.
struct kv {
    std::size_t line, key, colon, value, end;
};
std::vector<kv> key_values(const std::vector<std::string>& lines) {
    std::vector<kv> out;
    for (std::size_t l = 0; l < lines.size(); ++l) {
        const std::string& s = lines[l];
        for (std::size_t c = s.find(": "); c != std::string::npos; c = s.find(": ", c + 1)) {
            std::size_t k = c;
            while (k > 0 && (std::isalnum(static_cast<unsigned char>(s[k - 1])) || s[k - 1] == '_' || s[k - 1] == '.')) --k;
            if (k == c) continue;
            std::size_t v = c + 2;
            while (v < s.size() && s[v] == ' ') ++v;
            if (v >= s.size()) continue;
            out.push_back({l, k, c, v, value_end(s, v)});
        }
    }
    return out;
}

class mutator {
public:
    mutator(const std::vector<std::string>& seeds, const std::vector<std::string>& dict) : seeds_(seeds), dict_(dict) {}

    std::string mutate(const std::string& input, rng& r, std::string& log) const {
        std::string text = input;
        // Mostly one or two mutations, so that many mutants still load and
        // reach the builder, the boot and the steps; sometimes a pile of them.
        const std::size_t roll = r.below(100);
        const unsigned n = roll < 55 ? 1 : roll < 85 ? 2 : 3 + static_cast<unsigned>(r.below(6));
        for (unsigned k = 0; k < n; ++k) {
            const unsigned op = pick_op(r);
            log += (log.empty() ? "" : ",") + std::string(names[op]);
            try {
                text = apply(op, text, r);
            } catch (const std::out_of_range&) {
                // A mutation that does not fit this text leaves it as it is.
            }
            if (text.size() > (8u << 20)) text.resize(8u << 20);
        }
        return text;
    }

private:
    static constexpr const char* names[19] = {"flip-bit", "insert-bytes", "erase-bytes", "insert-token", "replace-word",
                                              "replace-value", "replace-key", "delete-line", "duplicate-line",
                                              "duplicate-block", "swap-values", "anchor-alias", "deep-nesting",
                                              "long-string", "control-char", "reindent", "truncate", "splice",
                                              "boundary-number"};

    // Operations that keep the YAML well-formed are chosen more often than
    // byte-level ones, which mostly give parse errors.
    static unsigned pick_op(rng& r) {
        static const unsigned weights[19] = {3, 2, 2, 4, 6, 10, 4, 4, 4, 4, 6, 3, 1, 2, 2, 2, 1, 4, 8};
        unsigned total = 0;
        for (unsigned w : weights) total += w;
        unsigned x = static_cast<unsigned>(r.below(total));
        for (unsigned op = 0; op < 19; ++op) {
            if (x < weights[op]) return op;
            x -= weights[op];
        }
        return 0;
    }

    const std::string& token(rng& r) const { return dict_.empty() || r.chance(30) ? r.pick(extreme_values) : r.pick(dict_); }

    std::string apply(unsigned op, std::string text, rng& r) const {
        std::vector<std::string> lines = split_lines(text);
        const std::vector<kv> kvs = key_values(lines);
        switch (op) {
        case 0:  // flip-bit
            if (!text.empty()) text[r.below(text.size())] ^= static_cast<char>(1u << r.below(8));
            return text;
        case 1: {  // insert-bytes
            std::string b;
            for (std::size_t i = 1 + r.below(8); i > 0; --i) b += static_cast<char>(r.below(256));
            return text.insert(r.below(text.size() + 1), b);
        }
        case 2:  // erase-bytes
            if (!text.empty()) {
                const std::size_t at = r.below(text.size());
                text.erase(at, 1 + r.below(r.chance(80) ? 8 : 256));
            }
            return text;
        case 3:  // insert-token
            return text.insert(r.below(text.size() + 1), token(r));
        case 4: {  // replace-word
            std::vector<std::pair<std::size_t, std::size_t>> words;
            for (std::size_t i = 0; i < text.size();) {
                if (!std::isalnum(static_cast<unsigned char>(text[i])) && text[i] != '_') { ++i; continue; }
                std::size_t j = i;
                while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_' || text[j] == '.')) ++j;
                words.emplace_back(i, j - i);
                i = j;
            }
            if (words.empty()) return text;
            const auto [at, len] = r.pick(words);
            return text.replace(at, len, token(r));
        }
        case 5: case 13: case 12: {  // replace-value, long-string, deep-nesting
            if (kvs.empty()) return text;
            const kv& p = r.pick(kvs);
            std::string v = op == 5 ? token(r) : op == 13 ? long_string(r) : nesting(r);
            lines[p.line].replace(p.value, p.end - p.value, v);
            return join_lines(lines);
        }
        case 6: {  // replace-key
            if (kvs.empty()) return text;
            const kv& p = r.pick(kvs);
            // A token, or the key of another line (a key out of its place).
            const kv& q = r.pick(kvs);
            const std::string k = r.chance(70) ? token(r) : lines[q.line].substr(q.key, q.colon - q.key);
            lines[p.line].replace(p.key, p.colon - p.key, k);
            return join_lines(lines);
        }
        case 7:  // delete-line
            if (!lines.empty()) lines.erase(lines.begin() + static_cast<long>(r.below(lines.size())));
            return join_lines(lines);
        case 8:  // duplicate-line
            if (!lines.empty()) {
                const std::size_t l = r.below(lines.size());
                lines.insert(lines.begin() + static_cast<long>(l), lines[l]);
            }
            return join_lines(lines);
        case 9: {  // duplicate-block: a line and the more indented lines below it, once or many times
            if (lines.empty()) return text;
            const std::size_t b = r.below(lines.size());
            std::size_t e = b + 1;
            while (e < lines.size() && (lines[e].empty() || indent_of(lines[e]) > indent_of(lines[b]))) ++e;
            const std::vector<std::string> block(lines.begin() + static_cast<long>(b), lines.begin() + static_cast<long>(e));
            const std::size_t copies = r.chance(90) ? 1 : 1 + r.below(300);
            for (std::size_t c = 0; c < copies; ++c) lines.insert(lines.begin() + static_cast<long>(e), block.begin(), block.end());
            return join_lines(lines);
        }
        case 10: {  // swap-values
            if (kvs.size() < 2) return text;
            const kv a = r.pick(kvs), b = r.pick(kvs);
            if (a.line == b.line) return text;
            const std::string va = lines[a.line].substr(a.value, a.end - a.value), vb = lines[b.line].substr(b.value, b.end - b.value);
            lines[a.line].replace(a.value, a.end - a.value, vb);
            lines[b.line].replace(b.value, b.end - b.value, va);
            return join_lines(lines);
        }
        case 11: {  // anchor-alias: anchor a value, refer to it from elsewhere (or merge it in)
            if (kvs.size() < 2) return text;
            const kv a = r.pick(kvs), b = r.pick(kvs);
            if (a.line == b.line) return text;
            const std::string name = "a" + std::to_string(r.below(4));
            lines[a.line].insert(a.value, "&" + name + " ");
            if (r.chance(25)) {
                lines.insert(lines.begin() + static_cast<long>(b.line),
                             std::string(b.key, ' ') + "<<: *" + name);
            } else {
                lines[b.line].replace(b.value, b.end - b.value, "*" + name);
            }
            return join_lines(lines);
        }
        case 14: {  // control-char, inside a value when there is one
            const std::string& c = r.pick(control_chars);
            if (!kvs.empty() && r.chance(70)) {
                const kv& p = r.pick(kvs);
                lines[p.line].insert(p.value + r.below(p.end - p.value + 1), c);
                return join_lines(lines);
            }
            return text.insert(r.below(text.size() + 1), c);
        }
        case 15: {  // reindent
            if (lines.empty()) return text;
            std::string& l = lines[r.below(lines.size())];
            if (r.chance(50)) l.insert(0, 1 + r.below(4), ' ');
            else l.erase(0, std::min<std::size_t>(indent_of(l), 1 + r.below(4)));
            return join_lines(lines);
        }
        case 16:  // truncate
            text.resize(r.below(text.size() + 1));
            return text;
        case 17: {  // splice: a block of another seed file, re-indented to a line of this one
            const std::vector<std::string> other = split_lines(r.pick(seeds_));
            if (other.empty()) return text;
            const std::size_t b = r.below(other.size());
            std::size_t e = b + 1;
            while (e < other.size() && (other[e].empty() || indent_of(other[e]) > indent_of(other[b]))) ++e;
            const std::size_t at = r.below(lines.size() + 1);
            const std::size_t ind = at < lines.size() ? indent_of(lines[at]) : 0;
            const std::size_t base = indent_of(other[b]);
            std::vector<std::string> block;
            for (std::size_t i = b; i < e; ++i) {
                const std::string& s = other[i];
                const std::size_t lead = s.find_first_not_of(' ');
                const std::size_t cut = std::min(base, lead == std::string::npos ? s.size() : lead);
                block.push_back(std::string(ind, ' ') + s.substr(cut));
            }
            lines.insert(lines.begin() + static_cast<long>(at), block.begin(), block.end());
            return join_lines(lines);
        }
        case 18: {  // boundary-number: a number of the file moved to a boundary
            std::vector<std::pair<std::size_t, std::size_t>> numbers;
            for (std::size_t i = 0; i < text.size();) {
                if (!std::isdigit(static_cast<unsigned char>(text[i])) || (i && std::isalnum(static_cast<unsigned char>(text[i - 1])))) { ++i; continue; }
                std::size_t j = i;
                while (j < text.size() && (std::isxdigit(static_cast<unsigned char>(text[j])) || text[j] == 'x')) ++j;
                numbers.emplace_back(i, j - i);
                i = j;
            }
            if (numbers.empty()) return text;
            const auto [at, len] = r.pick(numbers);
            static const std::vector<std::string> bounds = {"0", "1", "7", "8", "31", "32", "255", "256", "0xff", "0x100",
                                                            "0xffff", "0x10000", "4294967295", "4294967296",
                                                            "0xffffffffffffffff", "18446744073709551616", "0x7fffffff"};
            return text.replace(at, len, r.pick(bounds));
        }
        }
        return text;
    }

    static std::string long_string(rng& r) {
        static const std::vector<std::size_t> sizes = {300, 1025, 4096, 65536, 1u << 20};
        std::string s(r.pick(sizes), "aZ0-_ .$"[r.below(r.chance(70) ? 1 : 8)]);
        if (r.chance(30)) s = "\"" + s + "\"";
        return s;
    }

    static std::string nesting(rng& r) {
        static const std::vector<std::size_t> depths = {10, 100, 1000, 10000, 100000};
        const std::size_t d = r.pick(depths);
        std::string s;
        if (r.chance(50)) {
            s.reserve(2 * d + 1);
            s.append(d, '[').append("1").append(d, ']');
        } else {
            for (std::size_t i = 0; i < d; ++i) s += "{a: ";
            s += "1";
            s.append(d, '}');
        }
        return s;
    }

    const std::vector<std::string>& seeds_;
    const std::vector<std::string>& dict_;
};

// ---- running iotwin ----------------------------------------------------------------

struct outcome {
    bool timed_out = false;
    bool over_memory = false;
    int exit_code = -1;  // when exited
    int signal = 0;      // when killed by a signal
    std::string err;     // stderr (at most 1 MiB)
};

struct finding {
    std::uint64_t run = 0;
    std::string kind, key, detail, input, command, err;
};

std::string read_file(const std::string& path, std::size_t limit = std::string::npos) {
    std::ifstream f(path, std::ios::binary);
    std::string s;
    char buf[65536];
    while (f && s.size() < limit) {
        f.read(buf, sizeof buf);
        s.append(buf, static_cast<std::size_t>(f.gcount()));
    }
    if (s.size() > limit) s.resize(limit);
    return s;
}

bool has_asan(const std::string& binary) {
    const std::string b = read_file(binary);
    return b.find("__asan_init") != std::string::npos;
}

std::string normalize(std::string s, const std::string& path) {
    for (std::size_t p; !path.empty() && (p = s.find(path)) != std::string::npos;) s.replace(p, path.size(), "FILE");
    std::string o;
    bool in_quote = false;
    for (std::size_t i = 0; i < s.size() && o.size() < 80; ++i) {
        const char c = s[i];
        if (c == '\'') { in_quote = !in_quote; o += c; continue; }
        if (in_quote) continue;
        if (std::isdigit(static_cast<unsigned char>(c))) {
            if (o.empty() || o.back() != '#') o += '#';
            continue;
        }
        o += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
    return o;
}

// `s` with control characters as \xNN.
std::string printable(const std::string& s) {
    std::string o;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f) { o += c; continue; }
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", u);
        o += buf;
    }
    return o;
}

// "PATH:LINE:COL: " at the start of `line`, LINE and COL positive.
bool positioned(const std::string& line, const std::string& path) {
    if (line.compare(0, path.size(), path) != 0) return false;
    std::size_t i = path.size();
    for (int field = 0; field < 2; ++field) {
        if (i >= line.size() || line[i] != ':') return false;
        const std::size_t start = ++i;
        while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
        if (i == start || line.find_first_not_of('0', start) >= i) return false;
    }
    return line.compare(i, 2, ": ") == 0;
}

std::string signal_name(int s) {
    switch (s) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    default: return "signal " + std::to_string(s);
    }
}

// The first frames of a sanitizer's stack, by function name: where it happened.
std::string top_frames(const std::string& err, int n) {
    std::string out;
    std::istringstream is(err);
    for (std::string line; n > 0 && std::getline(is, line);) {
        const std::size_t h = line.find('#'), in = line.find(" in ");
        if (h == std::string::npos || in == std::string::npos || line.find(" 0x") == std::string::npos) continue;
        std::string fn = line.substr(in + 4);
        if (fn.find("__sanitizer") == 0 || fn.find("__asan") == 0 || fn.find("__ubsan") == 0 || fn.find("abort") == 0 ||
            fn.find("raise") == 0 || fn.find("__GI_") == 0)
            continue;
        fn = fn.substr(0, fn.find(" /"));
        if (fn.size() > 60) fn = fn.substr(0, 60);
        out += (out.empty() ? "" : " < ") + fn;
        --n;
    }
    return out;
}

// The findings of one run; none when it kept the contract.
std::vector<finding> classify(const outcome& o, const std::string& path, bool with_set) {
    std::vector<finding> out;
    auto add = [&](const std::string& kind, const std::string& key, const std::string& detail) {
        finding f;
        f.kind = kind;
        f.key = kind + "|" + key;
        f.detail = detail;
        out.push_back(f);
    };
    std::vector<std::string> lines;
    {
        std::istringstream is(o.err);
        for (std::string l; std::getline(is, l);)
            if (!l.empty()) lines.push_back(l);
    }
    const std::size_t san = o.err.find("ERROR: AddressSanitizer");
    const std::size_t ub = o.err.find("runtime error:");
    if (san != std::string::npos || ub != std::string::npos) {
        const std::size_t at = san != std::string::npos ? san : ub;
        const std::string what = o.err.substr(at, o.err.find('\n', at) - at);
        const std::string where = top_frames(o.err.substr(at), 3);
        add("sanitizer", normalize(what.substr(0, what.find(" on ")), path) + "|" + where, what + " at " + where);
        return out;
    }
    if (o.over_memory) {
        add("memory", "", "resident memory above the limit");
        return out;
    }
    if (o.timed_out) {
        add("hang", "", "no exit within the timeout");
        return out;
    }
    const std::string last = lines.empty() ? "" : lines.back();
    if (o.signal) {
        add("crash", signal_name(o.signal) + "|" + normalize(last, path), "killed by " + signal_name(o.signal) + ": " + last.substr(0, 200));
        return out;
    }
    if (o.exit_code == 3) {
        add("internal", normalize(last, path), last.substr(0, 300));
        return out;
    }
    if (o.exit_code < 0 || o.exit_code > 3) {
        add("bad-exit", std::to_string(o.exit_code), "exit status " + std::to_string(o.exit_code) + ": " + last.substr(0, 200));
        return out;
    }
    // Positioned warnings, then (exit 2) the error: one line, unless a raw
    // newline of the input came back inside it.
    const auto is_warning = [&](const std::string& l) { return positioned(l, path) && l.find(": warning: ") != std::string::npos; };
    std::size_t error_line = lines.size();
    if (o.exit_code == 2 && !lines.empty()) {
        error_line = 0;
        while (error_line + 1 < lines.size() && is_warning(lines[error_line])) ++error_line;
        const std::string& e = lines[error_line];
        if (!positioned(e, path) && !(with_set && e.compare(0, 5, "--set") == 0)) add("no-position", normalize(e, path), e.substr(0, 300));
        if (error_line + 1 < lines.size())
            add("control-char", normalize(e.substr(0, e.find('\'')), path).substr(0, 40),
                "the message spans " + std::to_string(lines.size() - error_line) + " lines (a raw newline): " + printable(e.substr(0, 300)));
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string& l = lines[i];
        if (i < error_line && !is_warning(l))
            add("unpositioned-stderr", normalize(l, path), "stderr line that is neither a positioned warning nor the error: " + l.substr(0, 300));
        // One root cause (quoting input back) shows in many messages: these
        // two kinds are told apart by the words before the first quote only.
        const std::string words = normalize(l.substr(0, l.find('\'')), path).substr(0, 40);
        if (l.size() > max_message)
            add("long-message", words, "a " + std::to_string(l.size()) + "-byte message: " + l.substr(0, 200) + "...");
        if (std::any_of(l.begin(), l.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
            add("control-char", words, "raw control character in: " + printable(l.substr(0, 300)));
    }
    return out;
}

struct job {
    std::uint64_t run;
    pid_t pid;
    std::chrono::steady_clock::time_point deadline;
    bool killed = false, over_memory = false;
    std::string input_path, err_path, input, command, mutations;
    bool with_set = false;
};

pid_t spawn(const std::vector<std::string>& argv, const std::string& err_path) {
    const pid_t pid = fork();
    if (pid != 0) return pid;
    setpgid(0, 0);
    const int devnull = open("/dev/null", O_RDWR);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (devnull < 0 || err < 0) _exit(127);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(err, 2);
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
}

// Resident set of a process in MiB (0 when it is gone).
long resident_mib(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/statm");
    long size = 0, resident = 0;
    f >> size >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024) / 1024;
}

std::string shell_quote(const std::string& s) {
    if (s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:") == std::string::npos) return s;
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

std::vector<std::string> collect_seeds(const std::vector<std::string>& paths) {
    std::vector<std::string> files;
    for (const std::string& p : paths) {
        if (fs::is_directory(p)) {
            for (const auto& e : fs::recursive_directory_iterator(p))
                if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path().string());
        } else if (fs::is_regular_file(p)) {
            files.push_back(p);
        } else {
            throw std::runtime_error(p + ": no such file or directory");
        }
    }
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
    return files;
}

void usage() {
    std::cerr << "usage: cli_fuzz [--seed N] [--runs N] [--jobs N] [--timeout S] [--out DIR] [--iotwin PATH]\n"
                 "                [--dict FILE] [--mem-limit MiB] [--commands run,groups,lspci] SEED_PATH...\n"
                 "--mem-limit: resident memory a run may use (default 2048 MiB, 0: no limit).\n"
                 "Mutates the seed scenarios (files, or directories searched for *.yaml) and runs iotwin on each\n"
                 "mutant; findings go to DIR. Exit 0: no finding; 1: findings; 2: bad usage.\n";
}

bool parse_args(int argc, char* argv[], options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--seed") o.seed = std::stoull(value());
        else if (a == "--runs") o.runs = std::stoull(value());
        else if (a == "--jobs") o.jobs = static_cast<unsigned>(std::max(1ul, std::stoul(value())));
        else if (a == "--timeout") o.timeout_s = std::stod(value());
        else if (a == "--out") o.out = value();
        else if (a == "--iotwin") o.iotwin = value();
        else if (a == "--dict") o.dict = value();
        else if (a == "--mem-limit") o.mem_limit_mib = std::stol(value());
        else if (a == "--commands") {
            o.commands.clear();
            std::istringstream is(value());
            for (std::string c; std::getline(is, c, ',');) {
                if (c != "run" && c != "groups" && c != "lspci") throw std::runtime_error("unknown command '" + c + "'");
                o.commands.push_back(c);
            }
        } else if (a == "-h" || a == "--help") {
            usage();
            std::exit(0);
        } else if (!a.empty() && a[0] == '-') {
            throw std::runtime_error("unknown option " + a);
        } else {
            o.seeds.push_back(a);
        }
    }
    return !o.seeds.empty() && !o.commands.empty();
}

// The command line of run i: a subcommand with its flags, sometimes (run) a --set.
std::vector<std::string> command_for(const options& o, const std::string& input, rng& r, const std::vector<std::string>& dict,
                                     bool& with_set) {
    std::vector<std::string> argv = {o.iotwin, r.pick(o.commands), input};
    with_set = false;
    if (argv[1] == "groups") {
        static const std::vector<std::string> formats = {"text", "json", "sysfs", "dot"};
        argv.push_back("--format");
        argv.push_back(r.pick(formats));
    } else if (argv[1] == "lspci") {
        static const std::vector<std::vector<std::string>> flags = {{}, {"-v"}, {"-vv"}, {"-t"}, {"-tv"}};
        for (const std::string& f : r.pick(flags)) argv.push_back(f);
    } else if (r.chance(10)) {
        static const std::vector<std::string> paths = {"platform.iommu.iotlb.entries", "platform.memory", "platform.pcie.0.id",
                                                       "platform.pcie.0.children.0.sriov.num_vfs", "seed", "steps.0.args.addr",
                                                       "platform.fabric.link.gen", "platform.pcie.9", "name", "platform..x", "a.b.c"};
        std::string key = r.chance(70) || dict.empty() ? r.pick(paths) : r.pick(dict);
        // Control characters typed into an argument come back in its message; not a finding.
        if (std::any_of(key.begin(), key.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) key = "x";
        argv.push_back("--set");
        argv.push_back(key + "=" + r.pick(extreme_values));
        with_set = true;
    }
    return argv;
}

} // namespace

int main(int argc, char* argv[]) {
    options o;
    std::vector<std::string> seed_files, seed_texts, dict;
    try {
        if (!parse_args(argc, argv, o)) {
            usage();
            return 2;
        }
        seed_files = collect_seeds(o.seeds);
        if (!o.dict.empty()) dict = read_dictionary(o.dict);
    } catch (const std::exception& e) {
        std::cerr << "cli_fuzz: " << e.what() << "\n";
        usage();
        return 2;
    }
    if (seed_files.empty()) {
        std::cerr << "cli_fuzz: no seed files\n";
        return 2;
    }
    if (access(o.iotwin.c_str(), X_OK) != 0) {
        std::cerr << "cli_fuzz: " << o.iotwin << " is not executable\n";
        return 2;
    }
    for (const std::string& f : seed_files) seed_texts.push_back(read_file(f));
    const bool asan = has_asan(o.iotwin);
    // Options of the environment go between defaults and what the driver
    // needs: the sanitizers abort (a signal the driver sees). Leaks at exit
    // are not findings, and ASan's fake stacks for use-after-return do not
    // survive SystemC's coroutine stack switches (every lspci would crash).
    const auto sanitizer_options = [](const char* var, const std::string& defaults, const std::string& forced) {
        const char* user = std::getenv(var);
        setenv(var, (defaults + (user && *user ? std::string(":") + user : "") + ":" + forced).c_str(), 1);
    };
    sanitizer_options("ASAN_OPTIONS", "detect_leaks=0:detect_stack_use_after_return=0:allocator_may_return_null=1", "abort_on_error=1");
    sanitizer_options("UBSAN_OPTIONS", "print_stacktrace=1", "halt_on_error=1:abort_on_error=1");
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);

    char tmpl[] = "/tmp/iotwin-cli-fuzz-XXXXXX";
    const std::string work = access("/dev/shm", W_OK) == 0 ? [] {
        char t[] = "/dev/shm/iotwin-cli-fuzz-XXXXXX";
        const char* d = mkdtemp(t);
        return std::string(d ? d : "");
    }() : std::string(mkdtemp(tmpl) ? tmpl : "");
    if (work.empty()) {
        std::cerr << "cli_fuzz: cannot create a work directory\n";
        return 2;
    }
    const mutator m(seed_texts, dict);
    std::map<std::string, finding> findings;  // by key; the lowest run index wins, so any --jobs gives the same set
    std::map<std::string, std::uint64_t> counts;      // outcomes
    std::vector<job> running;
    std::uint64_t next = 0, done = 0;
    auto next_memory_poll = std::chrono::steady_clock::now();
    const auto t0 = std::chrono::steady_clock::now();
    std::cerr << "cli_fuzz: " << o.runs << " runs of " << o.iotwin << (asan ? " (sanitizers)" : "") << ", seed " << o.seed << ", "
              << seed_files.size() << " seed files, " << dict.size() << " dictionary tokens, " << o.jobs << " jobs\n";

    auto start = [&](std::uint64_t i) {
        rng r(o.seed * 0x2545f4914f6cdd1dull ^ (i + 1) * 0x9e3779b97f4a7c15ull);
        job j;
        j.run = i;
        const std::size_t s = r.below(seed_texts.size());
        j.input = m.mutate(seed_texts[s], r, j.mutations);
        j.mutations = seed_files[s] + " " + j.mutations;
        j.input_path = work + "/" + std::to_string(i) + ".yaml";
        j.err_path = work + "/" + std::to_string(i) + ".err";
        std::ofstream(j.input_path, std::ios::binary) << j.input;
        const std::vector<std::string> argv = command_for(o, j.input_path, r, dict, j.with_set);
        for (std::size_t a = 0; a < argv.size(); ++a) j.command += (a ? " " : "") + shell_quote(argv[a]);
        j.pid = spawn(argv, j.err_path);
        j.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(o.timeout_s * 1000));
        running.push_back(j);
    };

    auto finish = [&](job& j, int status) {
        outcome oc;
        oc.timed_out = j.killed && !j.over_memory;
        oc.over_memory = j.over_memory;
        if (WIFEXITED(status)) oc.exit_code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status)) oc.signal = WTERMSIG(status);
        oc.err = read_file(j.err_path, 1u << 20);
        ++counts[oc.over_memory ? "memory" : oc.timed_out ? "timeout" : oc.signal ? "signal" : "exit " + std::to_string(oc.exit_code)];
        for (finding f : classify(oc, j.input_path, j.with_set)) {
            auto it = findings.find(f.key);
            if (it != findings.end() && it->second.run < j.run) continue;
            f.run = j.run;
            f.input = j.input;
            f.command = j.command;
            f.err = oc.err;
            f.detail += "\n  mutations: " + j.mutations;
            findings[f.key] = f;
        }
        std::remove(j.input_path.c_str());
        std::remove(j.err_path.c_str());
        if (++done % std::max<std::uint64_t>(1, o.runs / 10) == 0)
            std::cerr << "cli_fuzz: " << done << "/" << o.runs << " runs, " << findings.size() << " distinct findings\n";
    };

    while (next < o.runs || !running.empty()) {
        while (next < o.runs && running.size() < o.jobs) start(next++);
        int status = 0;
        const pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            auto it = std::find_if(running.begin(), running.end(), [&](const job& j) { return j.pid == pid; });
            if (it != running.end()) {
                kill(-pid, SIGKILL);  // whatever it left behind in its process group
                finish(*it, status);
                running.erase(it);
            }
            continue;
        }
        const auto now = std::chrono::steady_clock::now();
        const bool poll_memory = o.mem_limit_mib > 0 && now >= next_memory_poll;
        if (poll_memory) next_memory_poll = now + std::chrono::milliseconds(20);
        for (job& j : running) {
            if (j.killed) continue;
            if (poll_memory && resident_mib(j.pid) > o.mem_limit_mib) j.over_memory = true;
            if (j.over_memory || now > j.deadline) {
                kill(-j.pid, SIGKILL);
                j.killed = true;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    fs::remove_all(work);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::vector<finding> sorted;
    for (const auto& [key, f] : findings) sorted.push_back(f);
    std::sort(sorted.begin(), sorted.end(), [](const finding& a, const finding& b) { return a.run < b.run; });
    if (!sorted.empty()) fs::create_directories(o.out);
    std::map<std::string, unsigned> per_kind;
    std::ofstream summary;
    if (!sorted.empty()) summary.open(o.out + "/findings.txt");
    for (const finding& f : sorted) {
        const std::string name = f.kind + "-seed" + std::to_string(o.seed) + "-run" + std::to_string(f.run);
        const std::string base = o.out + "/" + name;
        const std::string input_path = work + "/" + std::to_string(f.run) + ".yaml";
        std::string command = f.command;
        for (std::size_t p; (p = command.find(input_path)) != std::string::npos;) command.replace(p, input_path.size(), name + ".yaml");
        std::string err = f.err;
        for (std::size_t p; (p = err.find(input_path)) != std::string::npos;) err.replace(p, input_path.size(), name + ".yaml");
        std::ofstream(base + ".yaml", std::ios::binary) << f.input;
        std::ofstream(base + ".cmd") << command << "\n";
        std::ofstream(base + ".stderr", std::ios::binary) << err;
        ++per_kind[f.kind];
        std::string detail = f.detail;
        for (std::size_t p; (p = detail.find(input_path)) != std::string::npos;) detail.replace(p, input_path.size(), name + ".yaml");
        const std::string line = name + ": " + detail + "\n  command: " + command + "\n";
        summary << line;
        std::cout << "FINDING " << line;
    }
    std::cout << "cli_fuzz: " << o.runs << " runs in " << static_cast<long>(wall) << " s (" << (wall > 0 ? static_cast<double>(o.runs) / wall : 0)
              << " runs/s);";
    for (const auto& [k, n] : counts) std::cout << " " << k << ": " << n << ";";
    std::cout << " " << sorted.size() << " distinct findings";
    for (const auto& [k, n] : per_kind) std::cout << (k == per_kind.begin()->first ? " (" : ", ") << k << " " << n;
    std::cout << (per_kind.empty() ? "" : ")") << (sorted.empty() ? "" : ", saved in " + o.out) << "\n";
    return sorted.empty() ? 0 : 1;
}
