#include "platform/sysfs_tree.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <system_error>
#include <tuple>

namespace iotwin::platform::sysfs_tree {

namespace fs = std::filesystem;
using lspci_text::bar;
using lspci_text::bar_kind;
using lspci_text::diagnostic;
using lspci_text::function;
using lspci_text::port_type;

namespace {

// Configuration-space registers (PCI 3.0 6.1; PCIe 5.0 7.5.1).
constexpr std::size_t header_size = 0x40;     // the predefined header; what a copy made without root holds
constexpr std::size_t legacy_size = 0x100;    // conventional configuration space
constexpr std::size_t cardbus_unprivileged = 0x80;  // what a CardBus bridge shows a reader without root
constexpr unsigned reg_vendor = 0x00, reg_device = 0x02, reg_command = 0x04, reg_status = 0x06;
constexpr unsigned reg_revision = 0x08, reg_class = 0x09, reg_header_type = 0x0e, reg_bar0 = 0x10;
constexpr unsigned reg_primary_bus = 0x18, reg_secondary_bus = 0x19, reg_subordinate_bus = 0x1a;  // type 1; CardBus alike
constexpr unsigned reg_cap_pointer = 0x34, reg_cardbus_cap_pointer = 0x14;
constexpr unsigned command_io = 0x1, command_memory = 0x2;
constexpr unsigned status_cap_list = 0x10;
// Capability IDs (PCI Code and ID Assignment 1.11, 2 and 3).
constexpr unsigned cap_pcix = 0x07, cap_express = 0x10;
constexpr unsigned ext_cap_acs = 0x000d, ext_cap_sriov = 0x0010;
// Within the ACS (PCIe 5.0 7.7.8) and SR-IOV (9.3.3) extended capabilities.
constexpr unsigned acs_capability = 0x04, acs_control = 0x06, acs_end = 0x08;
constexpr unsigned sriov_initial_vfs = 0x0c, sriov_total_vfs = 0x0e, sriov_num_vfs = 0x10;
constexpr unsigned sriov_vf_offset = 0x14, sriov_vf_stride = 0x16, sriov_vf_device = 0x1a, sriov_end = 0x1c;
// Resource flags of the `resource` file (Linux 6.1 include/linux/ioport.h).
constexpr std::uint64_t ioresource_io = 0x100, ioresource_mem = 0x200, ioresource_prefetch = 0x2000;
constexpr std::uint64_t ioresource_mem_64 = 0x00100000;
// Linux 6.1 has 17 resources per function (6 BARs, the ROM, 6 SR-IOV BARs,
// 4 bridge windows); lspci reads 18 lines.
constexpr int max_resource_lines = 18;
// Links followed for one path before it counts as a loop (Linux's MAXSYMLINKS).
constexpr int max_links = 40;

std::string hex(std::uint64_t v, int width) {
    char s[24];
    std::snprintf(s, sizeof s, "%0*llx", width, static_cast<unsigned long long>(v));
    return s;
}

// Text from the copy quoted in a diagnostic: printable, and short.
std::string printable(std::string_view s) {
    std::string out;
    for (const char c : s.substr(0, 120)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    if (s.size() > 120) out += "...";
    return out;
}

// Little-endian reads of the bytes the copy holds; callers check has() first.
class config_space {
public:
    explicit config_space(std::string_view b) : b_(b) {}
    std::size_t size() const { return b_.size(); }
    bool has(std::size_t offset, std::size_t n) const { return offset <= b_.size() && n <= b_.size() - offset; }
    unsigned u8(std::size_t o) const { return static_cast<unsigned char>(b_[o]); }
    unsigned u16(std::size_t o) const { return u8(o) | u8(o + 1) << 8; }
    std::uint32_t u32(std::size_t o) const { return std::uint32_t(u16(o)) | std::uint32_t(u16(o + 2)) << 16; }

private:
    std::string_view b_;
};

port_type port_type_of(unsigned t) {
    switch (t) {  // PCIe 5.0 7.5.3.2, Device/Port Type
    case 0x0: return port_type::endpoint;
    case 0x1: return port_type::legacy_endpoint;
    case 0x4: return port_type::root_port;
    case 0x5: return port_type::upstream_port;
    case 0x6: return port_type::downstream_port;
    case 0x7: return port_type::pcie_to_pci_bridge;
    case 0x8: return port_type::pci_to_pcie_bridge;
    case 0x9: return port_type::rc_integrated;
    case 0xa: return port_type::rc_event_collector;
    default: return port_type::unknown;
    }
}

lspci_text::acs_bits acs_of(unsigned v) {
    lspci_text::acs_bits b;
    b.source_validation = v & 0x01;
    b.translation_blocking = v & 0x02;
    b.request_redirect = v & 0x04;
    b.completion_redirect = v & 0x08;
    b.upstream_forwarding = v & 0x10;
    b.egress_control = v & 0x20;
    b.direct_translated = v & 0x40;
    return b;
}

// One line of `resource`: "0x%016llx 0x%016llx 0x%016llx" (start, end, flags).
struct resource_line {
    std::uint64_t start = 0, end = 0, flags = 0;
};

// A "0x"-prefixed hexadecimal number of at most 16 digits, at `s[i]`.
bool hex_field(const std::string& s, std::size_t& i, std::uint64_t& v) {
    if (s.compare(i, 2, "0x") != 0) return false;
    i += 2;
    const std::size_t start = i;
    v = 0;
    for (; i < s.size() && std::isxdigit(static_cast<unsigned char>(s[i])); ++i) {
        if (i - start == 16) return false;
        const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
        v = v << 4 | static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return i > start;
}

std::optional<resource_line> parse_resource_line(const std::string& s) {
    resource_line r;
    std::size_t i = 0;
    std::uint64_t* fields[] = {&r.start, &r.end, &r.flags};
    for (int k = 0; k < 3; ++k) {
        if (k) {
            if (i >= s.size() || s[i] != ' ') return std::nullopt;
            ++i;
        }
        if (!hex_field(s, i, *fields[k])) return std::nullopt;
    }
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    return i == s.size() ? std::optional<resource_line>(r) : std::nullopt;
}

class decoder {
public:
    decoder(std::string_view config, const sources& src, function& f, std::vector<diagnostic>& skipped)
        : c_(config), src_(src), f_(f), skipped_(skipped) {}

    bool run(const std::string* resource) {
        if (c_.size() > max_config) return refuse("holds " + std::to_string(c_.size()) + " bytes, more than the 4096 of a configuration space");
        if (c_.size() < header_size)
            return refuse("holds " + std::to_string(c_.size()) + " bytes, fewer than the 64 of the header: the function's IDs, class and type are unknown");
        if (c_.u16(reg_vendor) == 0xffff) return refuse("reads vendor ffff: no function answered");
        identity();
        const unsigned header = c_.u8(reg_header_type) & 0x7f;
        // What a reader without CAP_SYS_ADMIN gets (Linux 6.1 pci-sysfs.c, pci_read_config).
        unprivileged_ = c_.size() == header_size || (c_.size() == cardbus_unprivileged && header == 2);
        if (!unprivileged_ && c_.size() != legacy_size && c_.size() != max_config)
            config_problem("holds " + std::to_string(c_.size()) + " bytes, not the 64, 256 or 4096 that sysfs gives: the copy is cut short");
        int bars = 0;
        unsigned cap_pointer = reg_cap_pointer;
        switch (header) {
        case 0: bars = 6; break;
        case 1: bars = 2; bus_numbers(); break;
        case 2: bars = 1; bus_numbers(); cap_pointer = reg_cardbus_cap_pointer; break;
        default:
            config_problem("header type " + hex(header, 2) + " is none of 0, 1, 2: its BARs, bus numbers and capabilities are not read");
            return true;
        }
        capabilities(cap_pointer);
        std::vector<std::optional<resource_line>> lines;
        if (resource) lines = resource_lines(*resource);
        base_addresses(bars, resource ? &lines : nullptr);
        return true;
    }

private:
    void report(const std::string& source, int line, std::string text, std::string why) {
        diagnostic d{line, std::move(text), std::move(why)};
        d.source = source;
        skipped_.push_back(std::move(d));
    }
    void config_problem(std::string why) { report(src_.config, 0, "", std::move(why)); }
    bool refuse(std::string why) {
        config_problem(std::move(why) + ": the function is not listed");
        return false;
    }

    void identity() {
        f_.vendor = static_cast<std::uint16_t>(c_.u16(reg_vendor));
        f_.device = static_cast<std::uint16_t>(c_.u16(reg_device));
        f_.revision = static_cast<std::uint8_t>(c_.u8(reg_revision));
        f_.class_code = c_.u8(reg_class + 2) << 16 | c_.u8(reg_class + 1) << 8 | c_.u8(reg_class);
        // What lspci prints without its ID database: sysfs has no names.
        f_.class_name = "Class " + hex(f_.class_code >> 8, 4);
        f_.name = "Device " + hex(*f_.vendor, 4) + ":" + hex(*f_.device, 4);
    }

    void bus_numbers() {
        f_.primary_bus = static_cast<std::uint8_t>(c_.u8(reg_primary_bus));
        f_.secondary_bus = static_cast<std::uint8_t>(c_.u8(reg_secondary_bus));
        f_.subordinate_bus = static_cast<std::uint8_t>(c_.u8(reg_subordinate_bus));
    }

    // The capability list (PCI 3.0 6.7). Every pointer is checked: below the
    // header's end, beyond the bytes copied, or seen before ends the walk.
    void capabilities(unsigned pointer_register) {
        if (!(c_.u16(reg_status) & status_cap_list)) return;
        std::bitset<legacy_size / 4> seen;
        bool express = false, pcix = false;
        bool first = true;
        for (unsigned at = c_.u8(pointer_register) & ~3u; at; first = false) {
            if (at < header_size) return config_problem("capability pointer " + hex(at, 2) + " points into the header: the list ends there");
            if (!c_.has(at, 4)) {
                if (unprivileged_)
                    return config_problem("holds only the " + std::to_string(c_.size()) +
                                          " bytes sysfs gives a reader without root: the capabilities are not readable, so the port type, ACS and SR-IOV are unknown");
                return config_problem("capability pointer " + hex(at, 2) + " lies beyond the " + std::to_string(c_.size()) + " bytes copied: the list ends there");
            }
            if (seen[at / 4]) return config_problem("the capability list comes back to " + hex(at, 2) + ": it ends there");
            seen[at / 4] = true;
            const unsigned id = c_.u8(at), next = c_.u8(at + 1) & ~3u;
            if (id == 0xff) return config_problem("capability at " + hex(at, 2) + " reads ff: the list is broken there");
            if (id == 0 && next == 0 && first)
                config_problem("the only capability, at " + hex(at, 2) + ", reads all zeros: the copy may be padded with zeros (tar of sysfs without root)");
            if (id == cap_express && !express) {
                express = true;
                f_.express = port_type_of(c_.u16(at + 2) >> 4 & 0xf);
            }
            if (id == cap_pcix) pcix = true;
            at = next;
        }
        // As lspci: only PCI Express and PCI-X functions have an extended space.
        if (express || pcix) extended_capabilities(express);
    }

    // The extended capability list (PCIe 5.0 7.6), from 0x100.
    void extended_capabilities(bool express) {
        if (c_.size() <= legacy_size) {
            if (express)
                config_problem("holds " + std::to_string(c_.size()) +
                               " bytes, no extended configuration space (copied without root, or the kernel could not reach it): ACS and SR-IOV are unknown");
            return;
        }
        std::bitset<max_config / 4> seen;
        for (unsigned at = legacy_size;;) {
            if (!c_.has(at, 4))
                return config_problem("extended capability pointer " + hex(at, 3) + " lies beyond the " + std::to_string(c_.size()) + " bytes copied: the list ends there");
            const std::uint32_t header = c_.u32(at);
            if (header == 0 || header == 0xffffffff) return;  // none (or no more): as lspci
            if (seen[at / 4]) return config_problem("the extended capability list comes back to " + hex(at, 3) + ": it ends there");
            seen[at / 4] = true;
            const unsigned id = header & 0xffff, next = header >> 20 & ~3u;
            if (id == ext_cap_acs) acs(at);
            if (id == ext_cap_sriov) sriov(at);
            if (next == 0) return;
            if (next < legacy_size)
                return config_problem("extended capability at " + hex(at, 3) + " points to " + hex(next, 3) + ", below 100: the list ends there");
            at = next;
        }
    }

    void acs(unsigned at) {
        if (f_.acs_cap) return config_problem("a second ACS capability at " + hex(at, 3) + ": the first is kept");
        if (!c_.has(at, acs_end)) return config_problem("the ACS capability at " + hex(at, 3) + " is cut short by the end of the copy");
        f_.acs_cap = acs_of(c_.u16(at + acs_capability));
        f_.acs_ctl = acs_of(c_.u16(at + acs_control));
    }

    void sriov(unsigned at) {
        if (f_.sriov) return config_problem("a second SR-IOV capability at " + hex(at, 3) + ": the first is kept");
        if (!c_.has(at, sriov_end)) return config_problem("the SR-IOV capability at " + hex(at, 3) + " is cut short by the end of the copy");
        lspci_text::sriov_info s;
        s.initial_vfs = c_.u16(at + sriov_initial_vfs);
        s.total_vfs = c_.u16(at + sriov_total_vfs);
        s.num_vfs = c_.u16(at + sriov_num_vfs);
        s.vf_offset = c_.u16(at + sriov_vf_offset);
        s.vf_stride = c_.u16(at + sriov_vf_stride);
        s.vf_device = static_cast<std::uint16_t>(c_.u16(at + sriov_vf_device));
        f_.sriov = s;
    }

    // The lines of `resource`, by index; a line that does not parse is
    // reported and its resource left unknown. A tar of sysfs pads the file
    // with zeros up to the size sysfs claims (4096): the zeros end it.
    std::vector<std::optional<resource_line>> resource_lines(const std::string& text) {
        std::vector<std::optional<resource_line>> lines;
        const std::string body = text.substr(0, text.find('\0'));
        if (body.size() < text.size() && text.find_first_not_of('\0', body.size()) != std::string::npos)
            report(src_.resource, 0, "", "holds a zero byte followed by more text: what follows the zero byte is not read");
        std::size_t pos = 0;
        for (int n = 1; pos < body.size(); ++n) {
            const std::size_t end = std::min(body.find('\n', pos), body.size());
            const std::string line = body.substr(pos, end - pos);
            pos = end + 1;
            if (n > max_resource_lines) {
                report(src_.resource, n, printable(line), "more lines than the " + std::to_string(max_resource_lines) + " resources a function has: the rest is not read");
                break;
            }
            std::optional<resource_line> r = parse_resource_line(line);
            if (!r) report(src_.resource, n, printable(line), "a resource line that does not parse (expected start, end and flags, each 0x and hexadecimal)");
            else if (r->end < r->start && !(r->start == 0 && r->end == 0)) {
                report(src_.resource, n, printable(line), "a resource that ends before it starts");
                r.reset();
            }
            lines.push_back(r);
        }
        return lines;
    }

    // The BARs. With `resource`, as lspci shows them on the machine: the
    // type from the resource flags, the address the kernel assigned, the
    // size; a line it could not read leaves the BAR to its register. Without
    // `resource`, from the registers as lspci -F decodes them, without size.
    void base_addresses(int count, const std::vector<std::optional<resource_line>>* lines) {
        const unsigned command = c_.u16(reg_command);
        for (int i = 0; i < count; ++i) {
            const bool read = lines && static_cast<std::size_t>(i) < lines->size() && (*lines)[i];
            std::optional<bar> b = read ? from_resource(i, *(*lines)[i]) : from_register(i, count);
            if (!b) continue;
            // The register above a 64-bit BAR holds its upper half (the kernel's line for it is all zeros).
            if (!read && b->kind == bar_kind::mem64) ++i;
            b->disabled = !(command & (b->kind == bar_kind::io ? command_io : command_memory));
            f_.bars.push_back(*b);
        }
    }

    std::optional<bar> from_resource(int i, const resource_line& r) {
        const std::uint64_t size = r.end > r.start ? r.end - r.start + 1 : 0;
        if (!(r.flags & (ioresource_io | ioresource_mem))) {
            if (r.start || size)
                report(src_.resource, i + 1, "", "resource " + std::to_string(i) + " is neither I/O nor memory (flags " + hex(r.flags, 8) + "): not read");
            return std::nullopt;  // all zeros: a BAR the function does not implement
        }
        bar b;
        b.index = static_cast<unsigned>(i);
        b.kind = r.flags & ioresource_io ? bar_kind::io : r.flags & ioresource_mem_64 ? bar_kind::mem64 : bar_kind::mem32;
        b.prefetchable = b.kind != bar_kind::io && (r.flags & ioresource_prefetch);
        if (r.start) b.address = r.start;
        if (size) b.size = size;
        return b;
    }

    std::optional<bar> from_register(int i, int count) {
        const unsigned at = reg_bar0 + 4 * static_cast<unsigned>(i);
        const std::uint32_t reg = c_.u32(at);
        if (reg == 0 || reg == 0xffffffff) return std::nullopt;
        bar b;
        b.index = static_cast<unsigned>(i);
        std::uint64_t address;
        if (reg & 1) {
            b.kind = bar_kind::io;
            address = reg & ~std::uint32_t(3);
        } else {
            b.prefetchable = reg & 8;
            address = reg & ~std::uint32_t(0xf);
            if ((reg >> 1 & 3) == 2) {
                if (i + 1 >= count) {
                    config_problem("BAR " + std::to_string(i) + " is 64-bit but has no register above it for its upper half: not read");
                    return std::nullopt;
                }
                b.kind = bar_kind::mem64;
                address |= std::uint64_t(c_.u32(at + 4)) << 32;
            }
        }
        if (address) b.address = address;
        return b;
    }

    config_space c_;
    bool unprivileged_ = false;  // the copy holds what sysfs gives a reader without root
    const sources& src_;
    function& f_;
    std::vector<diagnostic>& skipped_;
};

// ---- the tree ------------------------------------------------------------

using components = std::vector<std::string>;

components components_of(const fs::path& p) {
    components out;
    for (const fs::path& c : p.relative_path()) out.push_back(c.string());
    return out;
}

fs::path join(fs::path p, const components& c) {
    for (const std::string& s : c) p /= s;
    return p;
}

bool all_digits(const std::string& s, std::size_t max) {
    return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<unsigned> lower_hex(const std::string& s, std::size_t min, std::size_t max) {
    if (s.size() < min || s.size() > max) return std::nullopt;
    unsigned v = 0;
    for (const char c : s) {
        if (c >= '0' && c <= '9') v = v << 4 | unsigned(c - '0');
        else if (c >= 'a' && c <= 'f') v = v << 4 | unsigned(c - 'a' + 10);
        else return std::nullopt;
    }
    return v;
}

// A copy of sysfs, or of its devices directory alone. Paths inside it are
// components below `top`, links resolved by resolve(), never by the file
// system, so that no link leads out of the copy.
class tree {
public:
    tree(fs::path top, bool is_sysfs_root) : top_(std::move(top)), sysfs_root_(is_sysfs_root) {}

    const fs::path& top() const { return top_; }
    bool is_sysfs_root() const { return sysfs_root_; }

    // The components of `rel`, every link on the way resolved inside the
    // copy: relative links as the file system would, absolute ones into
    // /sys taken relative to the copy's /sys; nullopt, with why, when the
    // path leads out of the copy, is not in it, or loops.
    std::optional<components> resolve(const components& rel, std::string& why) const {
        components done;
        std::deque<std::string> todo(rel.begin(), rel.end());
        int links = 0;
        while (!todo.empty()) {
            const std::string c = todo.front();
            todo.pop_front();
            if (c.empty() || c == ".") continue;
            if (c == "..") {
                if (done.empty()) return fail(why, "a link leads out of the copy");
                done.pop_back();
                continue;
            }
            const fs::path p = join(top_, done) / c;
            std::error_code ec;
            const fs::file_status st = fs::symlink_status(p, ec);
            if (st.type() == fs::file_type::not_found) return fail(why, "not in the copy (" + printable(join(fs::path(), done).append(c).string()) + ")");
            if (ec) return fail(why, "cannot be read: " + ec.message());
            if (!fs::is_symlink(st)) {
                done.push_back(c);
                continue;
            }
            if (++links > max_links) return fail(why, "links that go round in a loop");
            const fs::path target = fs::read_symlink(p, ec);
            if (ec) return fail(why, "a link that cannot be read: " + ec.message());
            components t = components_of(target);
            if (target.is_absolute()) {
                // Only /sys/... has a place in a copy of /sys.
                if (!sysfs_root_ || t.empty() || t.front() != "sys")
                    return fail(why, "a link to " + printable(target.string()) + ", outside the copy");
                t.erase(t.begin());
                done.clear();
            }
            todo.insert(todo.begin(), t.begin(), t.end());
        }
        return done;
    }

    // A regular file's bytes, at most `limit`; nullopt with why.
    std::optional<std::string> read(const components& rel, std::size_t limit, std::string& why) const {
        const std::optional<components> at = resolve(rel, why);
        if (!at) return std::nullopt;
        const fs::path p = join(top_, *at);
        std::error_code ec;
        if (!fs::is_regular_file(fs::symlink_status(p, ec))) return fail_s(why, "not a regular file");
        std::ifstream in(p, std::ios::binary);
        if (!in) return fail_s(why, "cannot be opened");
        std::string bytes(limit + 1, '\0');
        in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (in.bad()) return fail_s(why, "cannot be read");
        bytes.resize(static_cast<std::size_t>(in.gcount()));
        if (bytes.size() > limit) return fail_s(why, "holds more than " + std::to_string(limit) + " bytes");
        return bytes;
    }

    // The names in a directory, sorted; at most max_entries.
    std::optional<std::vector<std::string>> list(const components& rel, std::string& why, bool& too_many) const {
        too_many = false;
        const std::optional<components> at = resolve(rel, why);
        if (!at) return std::nullopt;
        std::error_code ec;
        fs::directory_iterator it(join(top_, *at), ec), end;
        if (ec) {
            why = "cannot be listed: " + ec.message();
            return std::nullopt;
        }
        std::vector<std::string> names;
        for (; it != end; it.increment(ec)) {
            if (names.size() == max_entries) {
                too_many = true;
                break;
            }
            names.push_back(it->path().filename().string());
        }
        if (ec) {
            why = "cannot be listed: " + ec.message();
            return std::nullopt;
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    // What `rel` itself is (a link is not followed), and, for a link, the
    // last component of where it points: the group's number or the driver's
    // name, which a copy keeps even when the link dangles.
    fs::file_type type_of(const components& rel) const {
        std::error_code ec;
        return fs::symlink_status(join(top_, rel), ec).type();
    }
    std::optional<std::string> link_name(const components& rel) const {
        std::error_code ec;
        const fs::path target = fs::read_symlink(join(top_, rel), ec);
        if (ec) return std::nullopt;
        const components t = components_of(target);
        for (auto it = t.rbegin(); it != t.rend(); ++it)
            if (!it->empty() && *it != ".") return *it;
        return std::nullopt;
    }

private:
    static std::optional<components> fail(std::string& why, std::string text) {
        why = std::move(text);
        return std::nullopt;
    }
    static std::optional<std::string> fail_s(std::string& why, std::string text) {
        why = std::move(text);
        return std::nullopt;
    }

    fs::path top_;
    bool sysfs_root_;
};

bool driver_name_ok(const std::string& s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':' || c == '+';
    });
}

class reader {
public:
    explicit reader(const fs::path& root) : root_(root) {}

    lspci_text::listing run() {
        if (!locate()) return std::move(out_);
        groups_ = group_map();
        bool too_many = false;
        std::string why;
        const auto names = tree_->list(devices_, why, too_many);
        if (!names) {
            report(display_.string(), "", "the devices directory: " + why);
            return std::move(out_);
        }
        if (too_many)
            report(display_.string(), "", "holds more than " + std::to_string(max_entries) + " entries, more than any machine has functions: the rest is not read");
        for (const std::string& name : *names) entry(name);
        std::stable_sort(out_.functions.begin(), out_.functions.end(), [](const function& a, const function& b) {
            return std::make_tuple(a.domain.value_or(0), a.bus, a.dev, a.fn) < std::make_tuple(b.domain.value_or(0), b.bus, b.dev, b.fn);
        });
        return std::move(out_);
    }

private:
    void report(const std::string& source, std::string text, std::string why, int line = 0) {
        diagnostic d{line, std::move(text), std::move(why)};
        d.source = source;
        out_.skipped.push_back(std::move(d));
    }

    bool is_dir(const tree& t, const components& rel) const {
        std::string why;
        const auto at = t.resolve(rel, why);
        std::error_code ec;
        return at && fs::is_directory(fs::symlink_status(join(t.top(), *at), ec));
    }

    // Which of the three kinds of root this is.
    bool locate() {
        std::error_code ec;
        if (!fs::is_directory(root_, ec)) {
            report(root_.string(), "", "not a directory (expected a copy of /sys, or of /sys/bus/pci/devices)");
            return false;
        }
        const components pci = {"bus", "pci", "devices"};
        for (const fs::path& sysfs : {root_ / "sys", root_}) {  // a copy of /, or of /sys
            tree t(sysfs, true);
            if (!is_dir(t, pci)) continue;
            tree_.emplace(std::move(t));
            devices_ = pci;
            display_ = join(sysfs, pci);
            return true;
        }
        // The devices directory itself. Copied with its parents (.../bus/pci/devices),
        // its links resolve against the copy of /sys above it.
        fs::path normal = root_.lexically_normal();
        if (!normal.has_filename()) normal = normal.parent_path();
        const components tail = components_of(normal);
        if (tail.size() >= 3 && std::equal(pci.begin(), pci.end(), tail.end() - 3)) {
            tree_.emplace(normal.parent_path().parent_path().parent_path(), true);
            devices_ = pci;
        } else {
            tree_.emplace(root_, false);
            devices_ = {};
        }
        display_ = root_;
        return true;
    }

    // kernel/iommu_groups/N/devices/dddd:bb:dd.f, when the copy has it.
    std::map<std::string, unsigned> group_map() {
        std::map<std::string, unsigned> m;
        if (!tree_->is_sysfs_root() || !is_dir(*tree_, {"kernel", "iommu_groups"})) return m;
        const fs::path shown = tree_->top() / "kernel" / "iommu_groups";
        std::string why;
        bool too_many = false;
        const auto groups = tree_->list({"kernel", "iommu_groups"}, why, too_many);
        if (!groups) {
            report(shown.string(), "", "the IOMMU groups directory: " + why);
            return m;
        }
        std::size_t entries = groups->size();
        for (const std::string& g : *groups) {
            if (!all_digits(g, 9)) {
                report((shown / printable(g)).string(), "", "not an IOMMU group's number: not read");
                continue;
            }
            const auto members = tree_->list({"kernel", "iommu_groups", g, "devices"}, why, too_many);
            if (!members) {
                report((shown / g / "devices").string(), "", "the group's devices: " + why);
                continue;
            }
            for (const std::string& a : *members) {
                if (++entries > max_entries) {
                    report(shown.string(), "", "holds more than " + std::to_string(max_entries) + " entries: the rest is not read");
                    return m;
                }
                const unsigned n = static_cast<unsigned>(std::stoul(g));
                const auto [it, added] = m.emplace(a, n);
                if (!added && it->second != n)
                    report((shown / g / "devices" / printable(a)).string(), "", printable(a) + " is in group " + std::to_string(it->second) + " too: group " + std::to_string(it->second) + " is kept");
            }
        }
        return m;
    }

    void entry(const std::string& name) {
        const fs::path shown = display_ / printable(name);  // as it is, when it is a function's name
        function f;
        if (!parse_address(name, f)) return report(shown.string(), printable(name), "not a function's name (dddd:bb:dd.f, domain at most ffff): not read");
        components dir = devices_;
        dir.push_back(name);
        std::string why;
        const auto at = tree_->resolve(dir, why);
        if (!at) {
            const auto target = tree_->link_name(dir);
            return report(shown.string(), "", "the function's directory cannot be reached: " + why +
                          (target ? ": copy the files, not the links (docs/import.md, \"A sysfs tree\")" : "") + ": not read");
        }
        sources src{(shown / "config").string(), (shown / "resource").string()};
        components file = *at;
        file.push_back("config");
        const auto config = tree_->read(file, max_config, why);
        if (!config) return report(src.config, "", why + ": the function is not listed");
        file.back() = "resource";
        const auto resource = tree_->read(file, max_resource, why);
        if (!resource) report(src.resource, "", why + ": BAR sizes are unknown");
        if (!decode(*config, resource ? &*resource : nullptr, src, f, out_.skipped)) return;
        driver(*at, shown, f);
        group(*at, shown, f, name);
        out_.functions.push_back(std::move(f));
    }

    void driver(components at, const fs::path& shown, function& f) {
        at.push_back("driver");
        const fs::file_type t = tree_->type_of(at);
        if (t == fs::file_type::not_found) return;  // no driver bound
        if (t != fs::file_type::symlink)
            return report((shown / "driver").string(), "", "not a link (the copy followed links): the driver's name is lost");
        const auto n = tree_->link_name(at);
        if (!n || !driver_name_ok(*n)) return report((shown / "driver").string(), printable(n.value_or("")), "a link whose last component is not a driver's name");
        f.driver = *n;
    }

    void group(components at, const fs::path& shown, function& f, const std::string& name) {
        at.push_back("iommu_group");
        const auto listed = groups_.find(name);
        const fs::file_type t = tree_->type_of(at);
        const std::string source = (shown / "iommu_group").string();
        if (t == fs::file_type::symlink) {
            const auto n = tree_->link_name(at);
            if (!n || !all_digits(*n, 9)) return report(source, printable(n.value_or("")), "a link whose last component is not a group's number");
            f.iommu_group = static_cast<unsigned>(std::stoul(*n));
            if (listed != groups_.end() && listed->second != *f.iommu_group)
                report(source, "", "group " + *n + ", but kernel/iommu_groups lists the function in group " + std::to_string(listed->second) +
                                       ": the link is kept");
            return;
        }
        if (listed != groups_.end()) {
            f.iommu_group = listed->second;
            return;
        }
        if (t == fs::file_type::not_found) return;  // no IOMMU, or none for this function
        report(source, "", "not a link (the copy followed links): the group's number is lost");
    }

    fs::path root_;
    std::optional<tree> tree_;
    components devices_;  // the devices directory, below the tree's top
    fs::path display_;    // and as diagnostics name it
    std::map<std::string, unsigned> groups_;
    lspci_text::listing out_;
};

} // namespace

bool decode(std::string_view config, const std::string* resource, const sources& src, function& f, std::vector<diagnostic>& skipped) {
    return decoder(config, src, f, skipped).run(resource);
}

bool parse_address(const std::string& name, function& f) {
    // dddd:bb:dd.f, the domain of 4 or more digits (pci_name(): "%04x:%02x:%02x.%d").
    const std::size_t dot = name.rfind('.');
    if (dot == std::string::npos || name.size() < 12 || dot != name.size() - 2) return false;
    const std::size_t c2 = name.rfind(':', dot), c1 = c2 == std::string::npos || c2 == 0 ? std::string::npos : name.rfind(':', c2 - 1);
    if (c1 == std::string::npos || c2 - c1 != 3 || dot - c2 != 3) return false;
    const auto domain = lower_hex(name.substr(0, c1), 4, 8);
    const auto bus = lower_hex(name.substr(c1 + 1, 2), 2, 2);
    const auto dev = lower_hex(name.substr(c2 + 1, 2), 2, 2);
    const char fn = name[dot + 1];
    if (!domain || *domain > 0xffff || !bus || !dev || *dev > 0x1f || fn < '0' || fn > '7') return false;
    f.domain = static_cast<std::uint16_t>(*domain);
    f.bus = static_cast<std::uint8_t>(*bus);
    f.dev = static_cast<std::uint8_t>(*dev);
    f.fn = static_cast<std::uint8_t>(fn - '0');
    return true;
}

lspci_text::listing read(const fs::path& root) { return reader(root).run(); }

} // namespace iotwin::platform::sysfs_tree
