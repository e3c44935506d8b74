#include "platform/lspci_text.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <regex>

namespace iotwin::platform::lspci_text {

namespace {

// Longer lines are not lspci's (its longest, a decoded capability, is a few
// hundred characters): reported, never handed to the regular expressions.
constexpr std::size_t max_line = 4096;
// No machine's listing comes near this (a thousand functions at -vvv are a few MiB).
constexpr std::uint64_t max_input = 256ull << 20;
// The whole input is held before it is read (quoting and quoted-printable are
// recognised on all of it): at most this many lines, some 16,000 functions at
// -vvv, so that a file of empty lines cannot fill memory.
constexpr std::size_t max_lines = std::size_t(1) << 20;

std::size_t indent_of(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size() && (s[i] == '\t' || s[i] == ' ')) ++i;
    return i;
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

std::uint64_t hex(const std::string& s) { return std::stoull(s, nullptr, 16); }

// "[size=16K]": lspci's show_size, powers of 1024 with K, M, G, T.
std::optional<std::uint64_t> size_of(const std::string& number, const std::string& unit) {
    std::uint64_t v = std::stoull(number);
    const std::string units = "KMGT";
    if (!unit.empty()) {
        const auto k = units.find(unit[0]);
        for (std::size_t i = 0; i <= k; ++i) {
            if (v > (~std::uint64_t(0) >> 10)) return std::nullopt;
            v <<= 10;
        }
    }
    return v;
}

// Numbers are bounded in length, so that every one converts (no overflow).
const std::regex title_re(
    R"(^(?:([0-9a-fA-F]{4,8}):)?([0-9a-fA-F]{2}):([0-1][0-9a-fA-F])\.([0-7]) (.*?)(?: \[([0-9a-fA-F]{4})\])?: (.*)$)");
const std::regex ids_re(R"(^(.*) \[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]$)");
const std::regex rev_re(R"(^(.*) \(rev ([0-9a-fA-F]{2})\)$)");
const std::regex progif_re(R"(^(.*) \(prog-if ([0-9a-fA-F]{2})(?: \[[^\]]*\])?\)$)");
const std::regex bus_re(R"(^Bus: primary=([0-9a-fA-F]{2}), secondary=([0-9a-fA-F]{2}), subordinate=([0-9a-fA-F]{2}))");
const std::regex region_re(
    R"(^Region ([0-5]): (Memory at|I/O ports at) (<unassigned>|<ignored>|<broken-64-bit-slot>|[0-9a-fA-F]{1,16})(?: \((32-bit|64-bit|low-1M|type 3), (non-)?prefetchable\))?((?: \[[a-z-]+\])*)(?: \[size=([0-9]{1,18})([KMGT]?)\])?((?: \[[a-z-]+\])*)\s*$)");
const std::regex acs_re(
    R"(^ACSC(ap|tl):\s*SrcValid([+-]) TransBlk([+-]) ReqRedir([+-]) CmpltRedir([+-]) UpstreamFwd([+-]) EgressCtrl([+-]) DirectTrans([+-]))");
const std::regex vfs_re(R"(^Initial VFs: ([0-9]{1,9}), Total VFs: ([0-9]{1,9}), Number of VFs: ([0-9]{1,9}))");
// A line of `lspci -t`'s tree, pasted beside the records: tree drawing
// (spaces, |, +-, \-, -+-) up to a root bus [dddd:bb] or a device dd.f.
const std::regex tree_re(R"(^[ |]*(?:\\-|\+-|-\+-|-)(?:\[[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}\]|[0-9a-fA-F]{2}\.[0-7]).*$)");
const std::regex vf_offset_re(R"(^VF offset: ([0-9]{1,9}), stride: ([0-9]{1,9}), Device ID: ([0-9a-fA-F]{4}))");

// The capability the current sub-lines belong to.
enum class section { other, acs, sriov };

// A line of the input, with the number of the file's line it starts on (a
// quoted-printable line joined from several keeps the first one's).
struct source_line {
    int number = 0;
    std::string text;
    bool too_long = false;
};

// One line, kept up to max_line characters (a file with no line breaks,
// such as a device node, never fills memory); false at the end, or once
// max_input bytes were read.
bool next_line(std::istream& in, std::string& raw, bool& too_long, std::uint64_t& total) {
    raw.clear();
    too_long = false;
    bool any = false;
    for (char c; total <= max_input && in.get(c); ++total) {
        any = true;
        if (c == '\n') return true;
        if (raw.size() < max_line) raw.push_back(c);
        else too_long = true;
    }
    return any && total <= max_input;
}

bool upper_hex(char c) { return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'A' && c <= 'F'); }

// '=' with nothing but blanks after it ends the line: a soft line break.
bool soft_break_at(const std::string& s, std::size_t i) { return s.find_first_not_of(" \t", i + 1) == std::string::npos; }

// Quoted-printable (RFC 2045 6.7) encodes every '=' of the text as "=3D" and
// breaks long lines with a '=' at their end. Either is the mark of it: lspci
// prints hexadecimal in lower case and ends no line with '='. Encoded, every
// '=' is an escape "=XX" or a soft line break; lspci's own '=' stand before
// lower-case words and short numbers (DEVSEL=fast, sec-latency=0).
enum class qp_form { plain, encoded, mixed };

qp_form quoted_printable_form(const std::vector<source_line>& lines, int& first) {
    bool marked = false, others = false;
    for (const source_line& l : lines) {
        const std::string& s = l.text;
        for (std::size_t i = s.find('='); i != std::string::npos; i = s.find('=', i + 1)) {
            const bool soft = soft_break_at(s, i);
            const bool escape = soft || (i + 2 < s.size() && upper_hex(s[i + 1]) && upper_hex(s[i + 2]));
            if ((soft || s.compare(i, 3, "=3D") == 0) && !marked) {
                marked = true;
                first = l.number;
            }
            if (!escape) others = true;
        }
    }
    return !marked ? qp_form::plain : others ? qp_form::mixed : qp_form::encoded;
}

std::vector<source_line> decode_quoted_printable(const std::vector<source_line>& lines) {
    std::vector<source_line> out;
    bool open = false;  // the previous line ended in a soft break
    for (const source_line& l : lines) {
        if (!open) out.push_back({l.number, "", false});
        source_line& cur = out.back();
        cur.too_long = cur.too_long || l.too_long;
        open = false;
        const std::string& s = l.text;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] != '=') {
                cur.text.push_back(s[i]);
            } else if (soft_break_at(s, i)) {
                open = true;
                break;
            } else {
                cur.text.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
                i += 2;
            }
        }
        if (cur.text.size() > max_line) {
            cur.text.resize(max_line);
            cur.too_long = true;
        }
    }
    return out;
}

// The quote markers a reply puts before each line: '>', each followed by an
// optional space ("> ", "> > ", ">>"). lspci never starts a line with '>'.
std::size_t quote_depth(const std::string& s, std::size_t& end) {
    std::size_t depth = 0;
    end = 0;
    while (end < s.size() && s[end] == '>') {
        ++depth;
        ++end;
        if (end < s.size() && s[end] == ' ') ++end;
    }
    return depth;
}

bool blank_from(const std::string& s, std::size_t i) { return s.find_first_not_of(" \t", i) == std::string::npos; }

// Quoted when every line with text is quoted to the same depth (lines with
// only markers are the quote's blank lines). Quoted in part, or to several
// depths, is a reply with text of its own: nothing is undone.
enum class quote_form { none, quoted, mixed };

quote_form quoting(const std::vector<source_line>& lines, std::size_t& depth, int& first) {
    bool quoted = false, unquoted = false, several = false;
    depth = 0;
    for (const source_line& l : lines) {
        std::size_t end = 0;
        const std::size_t d = quote_depth(l.text, end);
        if (blank_from(l.text, end)) continue;
        if (d == 0) {
            unquoted = true;
            continue;
        }
        if (!quoted) first = l.number;
        if (quoted && d != depth) several = true;
        quoted = true;
        depth = d;
    }
    return !quoted ? quote_form::none : (unquoted || several) ? quote_form::mixed : quote_form::quoted;
}

void unquote(std::vector<source_line>& lines, std::size_t depth) {
    for (source_line& l : lines) {
        std::size_t i = 0;
        for (std::size_t k = 0; k < depth && i < l.text.size() && l.text[i] == '>'; ++k) {
            ++i;
            if (i < l.text.size() && l.text[i] == ' ') ++i;
        }
        l.text.erase(0, i);
    }
}

class reader {
public:
    listing run(std::istream& in) {
        std::vector<source_line> lines = read(in);
        undo_mail(lines);
        for (const source_line& l : lines) {
            line_ = l.number;
            if (l.too_long) {
                skip(l.text.substr(0, 80) + "...", "longer than any line lspci prints");
                continue;
            }
            line(l.text);
        }
        if (truncated_) {
            line_ = static_cast<int>(lines.size());
            skip("", "the input goes on beyond " + std::to_string(max_input >> 20) + " MiB, more than any machine's listing: the rest is not read");
        } else if (too_many_lines_) {
            line_ = static_cast<int>(lines.size());
            skip("", "the input goes on beyond " + std::to_string(max_lines) + " lines, more than any machine's listing: the rest is not read");
        }
        denied_note();
        if (tree_lines_) note(first_tree_line_, std::to_string(tree_lines_) + " line(s) of lspci -t's tree, left aside: the hierarchy comes from the records' Bus: lines");
        std::stable_sort(out_.skipped.begin(), out_.skipped.end(), [](const diagnostic& a, const diagnostic& b) { return a.line < b.line; });
        return std::move(out_);
    }

private:
    std::vector<source_line> read(std::istream& in) {
        std::vector<source_line> lines;
        std::string raw;
        std::uint64_t total = 0;
        bool too_long = false;
        while (next_line(in, raw, too_long, total)) {
            if (lines.size() == max_lines) {
                too_many_lines_ = true;
                break;
            }
            if (!raw.empty() && raw.back() == '\r') raw.pop_back();
            lines.push_back({static_cast<int>(lines.size()) + 1, raw, too_long});
        }
        truncated_ = total > max_input;
        return lines;
    }

    // A listing pasted into a mail: quoted-printable first (the quote markers
    // were there before the mail client encoded the text, and its soft line
    // breaks split lines inside the markers' reach), then the quote markers.
    void undo_mail(std::vector<source_line>& lines) {
        int first = 0;
        switch (quoted_printable_form(lines, first)) {
        case qp_form::plain: break;
        case qp_form::encoded:
            lines = decode_quoted_printable(lines);
            note(first, "the listing is quoted-printable (=3D for '=', lines broken with a final '='): decoded before reading; a line joined from "
                        "several has the number of its first");
            break;
        case qp_form::mixed:
            note(first, "some '=' are quoted-printable escapes (=3D, =20, a final '=') and others are lspci's own: not decoded");
            break;
        }
        std::size_t depth = 0;
        switch (quoting(lines, depth, first)) {
        case quote_form::none: break;
        case quote_form::quoted:
            unquote(lines, depth);
            note(first, "every line is quoted " + std::to_string(depth) + " deep ('>' before it, as in a reply): the quote markers are removed before reading");
            break;
        case quote_form::mixed:
            note(first, "some lines are quoted ('>' before them) and others are not, or are quoted deeper: the markers are left, and those lines are not read");
            break;
        }
    }

    void note(int line, std::string why) { out_.notes.push_back({line, "", std::move(why)}); }

    // One warning for all the functions whose capabilities lspci could not read.
    void denied_note() {
        const auto n = std::count_if(out_.functions.begin(), out_.functions.end(), [](const function& f) { return f.capabilities_denied; });
        if (n == 0) return;
        out_.skipped.push_back({first_denied_, "Capabilities: <access denied>",
                                "capabilities not readable on " + std::to_string(n) +
                                    " function(s) (lspci ran without root): their port type, ACS and SR-IOV are unknown"});
    }

    void skip(const std::string& text, std::string why) { out_.skipped.push_back({line_, text, std::move(why)}); }
    function* current() { return out_.functions.empty() || closed_ ? nullptr : &out_.functions.back(); }

    void line(const std::string& raw) {
        if (std::regex_match(raw, tree_re)) {
            closed_ = true;  // the tree is output of its own, not part of a record
            if (!tree_lines_++) first_tree_line_ = line_;
            return;
        }
        const std::size_t ind = indent_of(raw);
        if (ind == raw.size()) {  // blank: ends the record, as lspci separates them
            closed_ = true;
            return;
        }
        if (ind == 0) return title(raw);
        function* f = current();
        if (!f) return skip(raw, "an indented line outside any function's record");
        const std::string text = raw.substr(ind);
        if (!base_indent_) base_indent_ = ind;
        if (ind <= *base_indent_) return property(*f, text, raw);
        sub_line(*f, text, raw);
    }

    void title(const std::string& raw) {
        std::smatch m;
        if (!std::regex_match(raw, m, title_re)) return skip(raw, "not a function's title (expected [domain:]bus:dev.fn class: name)");
        function f;
        f.line = line_;
        if (m[1].matched) {
            const std::uint64_t d = hex(m[1]);
            if (d > 0xffff) return skip(raw, "PCI domain above ffff");
            f.domain = static_cast<std::uint16_t>(d);
        }
        f.bus = static_cast<std::uint8_t>(hex(m[2]));
        f.dev = static_cast<std::uint8_t>(hex(m[3]));
        if (f.dev > 0x1f) return skip(raw, "device number above 1f");
        f.fn = static_cast<std::uint8_t>(hex(m[4]));
        f.class_name = m[5];
        if (m[6].matched) f.class_code = static_cast<std::uint32_t>(hex(m[6])) << 8;
        std::string rest = m[7];
        std::smatch t;
        if (std::regex_match(rest, t, progif_re)) {
            f.class_code |= static_cast<std::uint32_t>(hex(t[2]));
            rest = t[1];
        }
        if (std::regex_match(rest, t, rev_re)) {
            f.revision = static_cast<std::uint8_t>(hex(t[2]));
            rest = t[1];
        }
        if (std::regex_match(rest, t, ids_re)) {
            f.vendor = static_cast<std::uint16_t>(hex(t[2]));
            f.device = static_cast<std::uint16_t>(hex(t[3]));
            rest = t[1];
        }
        f.name = rest;
        out_.functions.push_back(std::move(f));
        closed_ = false;
        base_indent_.reset();
        section_ = section::other;
    }

    void property(function& f, const std::string& text, const std::string& raw) {
        section_ = section::other;
        std::smatch m;
        if (starts_with(text, "Region ")) {
            if (!std::regex_match(text, m, region_re)) return skip(raw, "a Region line that does not parse");
            bar b;
            b.index = static_cast<unsigned>(std::stoul(m[1]));
            const bool io = m[2] == "I/O ports at";
            b.kind = io ? bar_kind::io : m[4] == "64-bit" ? bar_kind::mem64 : bar_kind::mem32;
            b.prefetchable = !io && m[4].matched && !m[5].matched;
            if (std::isxdigit(static_cast<unsigned char>(m.str(3)[0]))) b.address = hex(m[3]);
            b.disabled = (m.str(6) + m.str(9)).find("[disabled]") != std::string::npos;
            if (m[7].matched) {
                b.size = size_of(m[7], m[8]);
                if (!b.size) return skip(raw, "a Region size beyond 64 bits");
            }
            f.bars.push_back(b);
            return;
        }
        if (starts_with(text, "Memory at ") || starts_with(text, "I/O ports at "))
            return skip(raw, "a BAR without its Region number (lspci -v prints these): the listing needs -vv or -vvv");
        if (starts_with(text, "Bus: ")) {
            if (!std::regex_search(text, m, bus_re)) return skip(raw, "a bridge's Bus line that does not parse");
            f.primary_bus = static_cast<std::uint8_t>(hex(m[1]));
            f.secondary_bus = static_cast<std::uint8_t>(hex(m[2]));
            f.subordinate_bus = static_cast<std::uint8_t>(hex(m[3]));
            return;
        }
        if (starts_with(text, "Kernel driver in use:")) {
            f.driver = trim(text.substr(21));
            return;
        }
        if (starts_with(text, "IOMMU group:")) {
            const std::string g = trim(text.substr(12));
            if (g.empty() || !std::all_of(g.begin(), g.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
                g.size() > 9)
                return skip(raw, "an IOMMU group that is not a number");
            f.iommu_group = static_cast<unsigned>(std::stoul(g));
            return;
        }
        if (starts_with(text, "Flags: ")) return flags(f, text);
        if (starts_with(text, "Capabilities: ")) return capability(f, text, raw);
        for (const char* known : {"DeviceName:", "Subsystem:", "Control:", "Status:", "Latency:", "Interrupt:", "NUMA node:", "Expansion ROM at",
                                  "I/O behind bridge:", "Memory behind bridge:", "Prefetchable memory behind bridge:",
                                  "Secondary status:", "BridgeCtl:", "Kernel modules:", "Physical Slot:", "Device tree node:",
                                  "Module:", "BIST result:", "BIST is running", "Capability:", "Memory window", "I/O window",
                                  "16-bit legacy interface", "Driver in use:", "<access denied to the rest>"})
            if (starts_with(text, known)) return;  // registers that bear neither on the hierarchy nor on isolation
        if (starts_with(text, "!!! ")) return skip(raw, "lspci's own warning about this function's configuration header");
        // lspci's library warns on stderr; captured with 2>&1 the warning can
        // land inside a line, whose first tab then stands before it.
        if (starts_with(text, "pcilib: ")) {
            pcilib_line_ = line_;
            return skip(raw, "a warning of lspci's library (its stderr, mixed into the listing)");
        }
        if (pcilib_line_ && pcilib_line_ == line_ - 1)
            return skip(raw, "the rest of a line the warning on line " + std::to_string(pcilib_line_) + " interrupted");
        skip(raw, "not a line lspci -vvv prints for a function");
    }

    // lspci -v's summary line carries the IOMMU group too.
    void flags(function& f, const std::string& text) {
        static const std::regex group_re(R"(, IOMMU group ([0-9]{1,9}))");
        std::smatch m;
        if (std::regex_search(text, m, group_re)) f.iommu_group = static_cast<unsigned>(std::stoul(m[1]));
    }

    void capability(function& f, const std::string& text, const std::string& raw) {
        if (trim(text) == "Capabilities: <access denied>") {
            if (!first_denied_) first_denied_ = line_;
            f.capabilities_denied = true;
            return;
        }
        const auto close = text.find("] ");
        if (text.size() < 16 || text[14] != '[' || close == std::string::npos) return skip(raw, "a Capabilities line that does not parse");
        const std::string what = text.substr(close + 2);
        if (starts_with(what, "Express ")) return express(f, what, raw);
        if (starts_with(what, "Access Control Services")) {
            section_ = section::acs;
            return;
        }
        if (starts_with(what, "Single Root I/O Virtualization")) {
            section_ = section::sriov;
            f.sriov = sriov_info{};
            return;
        }
    }

    void express(function& f, const std::string& what, const std::string& raw) {
        static const std::pair<const char*, port_type> names[] = {
            {"Legacy Endpoint", port_type::legacy_endpoint},
            {"Endpoint", port_type::endpoint},
            {"Root Port", port_type::root_port},
            {"Upstream Port", port_type::upstream_port},
            {"Downstream Port", port_type::downstream_port},
            {"PCI-Express to PCI/PCI-X Bridge", port_type::pcie_to_pci_bridge},
            {"PCI/PCI-X to PCI-Express Bridge", port_type::pci_to_pcie_bridge},
            {"Root Complex Integrated Endpoint", port_type::rc_integrated},
            {"Root Complex Event Collector", port_type::rc_event_collector},
            {"Unknown type", port_type::unknown},
        };
        std::string rest = what.substr(8);  // after "Express "
        if (starts_with(rest, "(v")) {
            const auto end = rest.find(") ");
            if (end == std::string::npos) return skip(raw, "an Express capability line that does not parse");
            rest = rest.substr(end + 2);
        }
        for (const auto& [name, type] : names)
            if (starts_with(rest, name)) {
                f.express = type;
                return;
            }
        skip(raw, "an Express capability with a port type lspci does not print");
    }

    void sub_line(function& f, const std::string& text, const std::string& raw) {
        std::smatch m;
        if (section_ == section::acs && starts_with(text, "ACSC")) {
            if (!std::regex_search(text, m, acs_re)) return skip(raw, "an ACS line that does not parse");
            acs_bits b;
            bool* bits[] = {&b.source_validation, &b.translation_blocking, &b.request_redirect, &b.completion_redirect,
                            &b.upstream_forwarding, &b.egress_control, &b.direct_translated};
            for (int i = 0; i < 7; ++i) *bits[i] = m[2 + i] == "+";
            (m[1] == "ap" ? f.acs_cap : f.acs_ctl) = b;
            return;
        }
        if (section_ == section::sriov && starts_with(text, "Initial VFs:")) {
            if (!std::regex_search(text, m, vfs_re)) return skip(raw, "an SR-IOV line that does not parse");
            f.sriov->initial_vfs = static_cast<unsigned>(std::stoul(m[1]));
            f.sriov->total_vfs = static_cast<unsigned>(std::stoul(m[2]));
            f.sriov->num_vfs = static_cast<unsigned>(std::stoul(m[3]));
            return;
        }
        if (section_ == section::sriov && starts_with(text, "VF offset:")) {
            if (!std::regex_search(text, m, vf_offset_re)) return skip(raw, "an SR-IOV line that does not parse");
            f.sriov->vf_offset = static_cast<unsigned>(std::stoul(m[1]));
            f.sriov->vf_stride = static_cast<unsigned>(std::stoul(m[2]));
            f.sriov->vf_device = static_cast<std::uint16_t>(hex(m[3]));
            return;
        }
        // Every other sub-line decodes a register of the capability or property above it.
    }

    static std::string trim(std::string s) {
        const auto b = s.find_first_not_of(" \t");
        const auto e = s.find_last_not_of(" \t");
        return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    }

    listing out_;
    int line_ = 0;
    int first_denied_ = 0;
    int pcilib_line_ = 0;  // the last line holding a pcilib warning
    int tree_lines_ = 0, first_tree_line_ = 0;
    bool truncated_ = false;
    bool too_many_lines_ = false;
    bool closed_ = true;
    std::optional<std::size_t> base_indent_;
    section section_ = section::other;
};

} // namespace

const char* to_string(port_type t) {
    switch (t) {
    case port_type::none: return "conventional";
    case port_type::endpoint: return "Endpoint";
    case port_type::legacy_endpoint: return "Legacy Endpoint";
    case port_type::root_port: return "Root Port";
    case port_type::upstream_port: return "Upstream Port";
    case port_type::downstream_port: return "Downstream Port";
    case port_type::pcie_to_pci_bridge: return "PCI-Express to PCI/PCI-X Bridge";
    case port_type::pci_to_pcie_bridge: return "PCI/PCI-X to PCI-Express Bridge";
    case port_type::rc_integrated: return "Root Complex Integrated Endpoint";
    case port_type::rc_event_collector: return "Root Complex Event Collector";
    case port_type::unknown: return "unknown";
    }
    return "unknown";
}

bool acs_bits::operator==(const acs_bits& o) const {
    return source_validation == o.source_validation && translation_blocking == o.translation_blocking &&
           request_redirect == o.request_redirect && completion_redirect == o.completion_redirect &&
           upstream_forwarding == o.upstream_forwarding && egress_control == o.egress_control &&
           direct_translated == o.direct_translated;
}

std::string function::address() const {
    char s[16];
    std::snprintf(s, sizeof s, "%04x:%02x:%02x.%x", domain.value_or(0), bus, dev, fn);
    return s;
}

listing parse(std::istream& in) { return reader().run(in); }

} // namespace iotwin::platform::lspci_text
