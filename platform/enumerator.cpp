#include "platform/enumerator.h"

#include <algorithm>
#include <stdexcept>

#include "models/pci/ats.h"
#include "models/pci/config_space.h"
#include "platform/address_map.h"
#include "platform/ecam.h"

namespace iotwin::platform {

using namespace sc_core;
namespace cfg = pci::cfg;
namespace sriov_reg = pci::sriov_reg;

namespace {
constexpr std::uint64_t window_granule = 1ull << 20;
constexpr std::uint64_t io_granule = 4096;  // a bridge's I/O window (PCI-to-PCI Bridge 1.2 3.2.5.6)
constexpr std::uint64_t io_space_base = 0x1000, io_space_end = 0x10000;
std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

// One thing to place in a window: a BAR or a child bridge's window.
struct item {
    std::uint64_t size, align;
    int function;
    int bar;  // index into bars, or -1 for a bridge window
};

// Places items largest alignment first; returns the end offset.
std::uint64_t layout(std::vector<item>& items, std::vector<std::uint64_t>* offsets) {
    std::stable_sort(items.begin(), items.end(), [](const item& a, const item& b) { return a.align > b.align; });
    std::uint64_t at = 0;
    for (const item& i : items) {
        at = align_up(at, i.align);
        if (offsets) offsets->push_back(at);
        at += i.size;
    }
    return at;
}
} // namespace

std::uint32_t enumerator::read(const pcie::bdf& f, std::uint16_t reg, unsigned len, sc_time& d) {
    std::uint32_t v = 0;
    ecam_access(cpu_, tlm::TLM_READ_COMMAND, f, reg, &v, len, d);
    return len == 4 ? v : v & ((1u << (8 * len)) - 1);
}

void enumerator::write(const pcie::bdf& f, std::uint16_t reg, unsigned len, std::uint32_t v, sc_time& d) {
    ecam_access(cpu_, tlm::TLM_WRITE_COMMAND, f, reg, &v, len, d);
}

std::vector<enumerated_function> enumerator::run(sc_time& d) {
    found_.clear();
    root_.clear();
    unsigned last = scan_bus(0, 255, -1, d);
    for (std::uint8_t root : root_buses_) {
        if (root <= last) throw std::runtime_error("root bus " + std::to_string(root) + " is already used below bus 0");
        last = scan_bus(root, 255, -1, d);
    }
    for (std::size_t i = 0; i < found_.size(); ++i)
        if (found_[i].parent < 0) root_.push_back(static_cast<int>(i));
    const auto [np, pf] = size_windows(root_);
    if (np.size > address_map::mmio32_size) throw std::runtime_error("the 32-bit MMIO window cannot hold every non-prefetchable BAR");
    if (pf.size > address_map::mmio64_size) throw std::runtime_error("the 64-bit MMIO window cannot hold every prefetchable BAR");
    assign(root_, address_map::mmio32_base, address_map::mmio64_base, d);
    // Ports below 0x1000 are the legacy ISA devices' (as Linux's PCIBIOS_MIN_IO).
    if (size_io(root_).size > io_space_end - io_space_base) throw std::runtime_error("the I/O space cannot hold every I/O BAR");
    assign_io(root_, io_space_base, d);
    for (enumerated_function& e : found_) {
        const std::uint16_t cmd = static_cast<std::uint16_t>(read(e.bdf, cfg::command, 2, d));
        std::uint16_t set = (e.bridge || !e.bars.empty()) ? pci::command_bits::memory_space : 0;
        if (e.io_size || std::any_of(e.bars.begin(), e.bars.end(), [](const enumerated_bar& b) { return b.io; }))
            set |= pci::command_bits::io_space;
        if (e.bridge) set |= pci::command_bits::bus_master;
        write(e.bdf, cfg::command, 2, cmd | set, d);
    }
    return found_;
}

unsigned enumerator::scan_bus(std::uint8_t bus, unsigned end, int parent, sc_time& d) {
    std::vector<int> on_bus;
    for (std::uint8_t dev = 0; dev < 32; ++dev) {
        const pcie::bdf f0{bus, dev, 0};
        if (read(f0, cfg::vendor_id, 2, d) == 0xffff) continue;
        const bool multi = read(f0, cfg::header_type, 1, d) & 0x80;
        for (std::uint8_t fn = 0; fn < (multi ? 8 : 1); ++fn) {
            const pcie::bdf f{bus, dev, fn};
            if (fn && read(f, cfg::vendor_id, 2, d) == 0xffff) continue;
            on_bus.push_back(probe(f, parent, d));
        }
    }
    unsigned max = bus;
    // Reserve the buses the virtual functions of this bus's PFs can need.
    for (int i : on_bus) {
        const pcie::bdf pf = found_[i].bdf;
        const auto c = find_ext_cap(pf, pci::ext_cap_id::sriov, d);
        if (!c) continue;
        const auto reg = [&](std::uint32_t off) { return static_cast<std::uint16_t>(*c + off); };
        const std::uint32_t total = read(pf, reg(sriov_reg::total_vfs), 2, d);
        if (!total) continue;
        const std::uint32_t last_vf = pci::vf_routing_id(pf.rid(), read(pf, reg(sriov_reg::first_vf_offset), 2, d),
                                                         read(pf, reg(sriov_reg::vf_stride), 2, d), total - 1);
        max = std::max<unsigned>(max, std::min<std::uint32_t>(last_vf >> 8, 255));
    }
    // First pass: bridges firmware numbered keep their numbers.
    std::vector<int> unnumbered;
    for (int i : on_bus) {
        if (!found_[i].bridge) continue;
        if (!keep_firmware_numbers(i, max, d)) unnumbered.push_back(i);
    }
    // Second pass: the others get the next bus and everything found below it.
    for (int i : unnumbered) {
        const pcie::bdf f = found_[i].bdf;
        if (max >= end) throw std::runtime_error("no bus number left for the secondary bus of the bridge at " + f.str());
        const auto secondary = static_cast<std::uint8_t>(++max);
        // Primary, secondary, subordinate (the parent's last bus while the buses below are scanned).
        write(f, cfg::primary_bus, 4, std::uint32_t(f.bus) | std::uint32_t(secondary) << 8 | std::uint32_t(end) << 16, d);
        max = scan_bus(secondary, end, i, d);
        write(f, cfg::subordinate_bus, 1, max, d);
        found_[i].secondary = secondary;
        found_[i].subordinate = static_cast<std::uint8_t>(max);
    }
    return max;
}

bool enumerator::keep_firmware_numbers(int i, unsigned& max, sc_time& d) {
    const pcie::bdf f = found_[i].bdf;
    const std::uint32_t regs = read(f, cfg::primary_bus, 4, d);
    const unsigned primary = regs & 0xff, secondary = regs >> 8 & 0xff, subordinate = regs >> 16 & 0xff;
    if (!secondary && !subordinate) return false;
    if (primary != f.bus || secondary <= f.bus || secondary > subordinate) {
        // Invalid: Linux stops the bridge forwarding configuration requests
        // until its second pass renumbers it.
        write(f, cfg::primary_bus, 4, regs & 0xff000000u, d);
        return false;
    }
    scan_bus(static_cast<std::uint8_t>(secondary), subordinate, i, d);
    found_[i].secondary = static_cast<std::uint8_t>(secondary);
    found_[i].subordinate = static_cast<std::uint8_t>(subordinate);
    max = std::max(max, subordinate);
    return true;
}

int enumerator::probe(const pcie::bdf& f, int parent, sc_time& d) {
    enumerated_function e;
    e.bdf = f;
    e.parent = parent;
    e.vendor = static_cast<std::uint16_t>(read(f, cfg::vendor_id, 2, d));
    e.device = static_cast<std::uint16_t>(read(f, cfg::device_id, 2, d));
    e.class_code = read(f, cfg::revision, 4, d) >> 8;
    e.bridge = (read(f, cfg::header_type, 1, d) & 0x7f) == 1;
    // A write to the command register is the first type-0 write: the function captures its bus number.
    write(f, cfg::command, 2, 0, d);
    size_bars(e, e.bridge ? 2 : 6, d);
    const int me = static_cast<int>(found_.size());
    found_.push_back(e);
    if (parent >= 0) found_[parent].children.push_back(me);
    return me;
}

std::optional<std::uint16_t> enumerator::find_ext_cap(const pcie::bdf& f, std::uint16_t id, sc_time& d) {
    for (std::uint16_t off = 0x100; off;) {
        const std::uint32_t h = read(f, off, 4, d);
        if (h == 0 || h == 0xffffffff) return std::nullopt;
        if ((h & 0xffff) == id) return off;
        off = static_cast<std::uint16_t>(h >> 20);
    }
    return std::nullopt;
}

std::vector<enumerated_function> enumerator::enable_sriov(const pcie::bdf& pf, std::uint16_t num_vfs, sc_time& d) {
    std::vector<enumerated_function> vfs;
    const auto c = find_ext_cap(pf, pci::ext_cap_id::sriov, d);
    if (!c || !num_vfs) return vfs;
    const auto reg = [&](std::uint32_t off) { return static_cast<std::uint16_t>(*c + off); };
    write(pf, reg(sriov_reg::num_vfs), 2, num_vfs, d);
    write(pf, reg(sriov_reg::control), 2, sriov_reg::vf_enable | sriov_reg::vf_mse, d);
    const std::uint32_t offset = read(pf, reg(sriov_reg::first_vf_offset), 2, d), stride = read(pf, reg(sriov_reg::vf_stride), 2, d);
    const std::uint16_t vf_device = static_cast<std::uint16_t>(read(pf, reg(sriov_reg::vf_device_id), 2, d));
    const std::uint16_t vendor = static_cast<std::uint16_t>(read(pf, cfg::vendor_id, 2, d));
    const std::uint32_t class_code = read(pf, cfg::revision, 4, d) >> 8;
    for (std::uint16_t n = 0; n < num_vfs; ++n) {
        enumerated_function e;
        e.bdf = pcie::bdf::from_rid(static_cast<std::uint16_t>(pci::vf_routing_id(pf.rid(), offset, stride, n)));
        e.vendor = vendor;  // a VF's own Vendor ID register reads FFFFh
        e.device = vf_device;
        e.class_code = class_code;
        vfs.push_back(e);
    }
    return vfs;
}

void enumerator::size_bars(enumerated_function& e, unsigned count, sc_time& d) {
    for (unsigned i = 0; i < count; ++i) {
        const std::uint16_t reg = static_cast<std::uint16_t>(cfg::bar0 + 4 * i);
        write(e.bdf, reg, 4, 0xffffffff, d);
        const std::uint32_t lo = read(e.bdf, reg, 4, d);
        if (lo == 0) continue;
        if (lo & 1) {
            // An I/O BAR (PCI 3.0 6.2.5.1): bits 31:2 size it; x86 decodes 16 bits of port.
            const std::uint64_t size = (~std::uint64_t(lo & 0xfffcu) + 1) & 0xffff;
            write(e.bdf, reg, 4, 0, d);
            if (!size) continue;
            enumerated_bar b;
            b.index = i;
            b.size = size;
            b.io = true;
            e.bars.push_back(b);
            continue;
        }
        const bool is64 = (lo & 0x6) == 0x4;
        std::uint64_t mask = lo & ~0xfu;
        if (is64) {
            write(e.bdf, reg + 4, 4, 0xffffffff, d);
            mask |= std::uint64_t(read(e.bdf, reg + 4, 4, d)) << 32;
        } else {
            mask |= 0xffffffff00000000ull;
        }
        enumerated_bar b;
        b.index = i;
        b.size = ~mask + 1;
        b.is64 = is64;
        b.prefetchable = lo & 0x8;
        e.bars.push_back(b);
        write(e.bdf, reg, 4, 0, d);
        if (is64) write(e.bdf, reg + 4, 4, 0, d), ++i;
    }
}

std::pair<enumerator::need, enumerator::need> enumerator::size_windows(const std::vector<int>& children) {
    std::vector<item> np, pf;
    for (int c : children) {
        enumerated_function& e = found_[c];
        for (std::size_t b = 0; b < e.bars.size(); ++b) {
            const enumerated_bar& bar = e.bars[b];
            if (bar.io) continue;
            (bar.prefetchable && bar.is64 ? pf : np).push_back({bar.size, bar.size, c, static_cast<int>(b)});
        }
        if (!e.bridge) continue;
        const auto [cnp, cpf] = size_windows(e.children);
        e.window_size = align_up(cnp.size, window_granule);
        e.pref_size = align_up(cpf.size, window_granule);
        e.window_align = std::max(window_granule, cnp.align);
        e.pref_align = std::max(window_granule, cpf.align);
        if (e.window_size) np.push_back({e.window_size, e.window_align, c, -1});
        if (e.pref_size) pf.push_back({e.pref_size, e.pref_align, c, -2});
    }
    need n, p;
    for (const item& i : np) n.align = std::max(n.align, i.align);
    for (const item& i : pf) p.align = std::max(p.align, i.align);
    n.size = layout(np, nullptr);
    p.size = layout(pf, nullptr);
    return {n, p};
}

void enumerator::assign(const std::vector<int>& children, std::uint64_t np_base, std::uint64_t pf_base, sc_time& d) {
    std::vector<item> np, pf;
    for (int c : children) {
        const enumerated_function& e = found_[c];
        for (std::size_t b = 0; b < e.bars.size(); ++b) {
            const enumerated_bar& bar = e.bars[b];
            if (bar.io) continue;
            (bar.prefetchable && bar.is64 ? pf : np).push_back({bar.size, bar.size, c, static_cast<int>(b)});
        }
        if (e.bridge && e.window_size) np.push_back({e.window_size, e.window_align, c, -1});
        if (e.bridge && e.pref_size) pf.push_back({e.pref_size, e.pref_align, c, -2});
    }
    for (auto [list, base] : {std::pair{&np, np_base}, std::pair{&pf, pf_base}}) {
        std::vector<std::uint64_t> offsets;
        layout(*list, &offsets);
        for (std::size_t k = 0; k < list->size(); ++k) {
            const item& i = (*list)[k];
            enumerated_function& e = found_[i.function];
            const std::uint64_t at = base + offsets[k];
            if (i.bar >= 0) {
                enumerated_bar& b = e.bars[i.bar];
                b.base = at;
                const std::uint16_t reg = static_cast<std::uint16_t>(cfg::bar0 + 4 * b.index);
                write(e.bdf, reg, 4, static_cast<std::uint32_t>(at), d);
                if (b.is64) write(e.bdf, reg + 4, 4, static_cast<std::uint32_t>(at >> 32), d);
            } else if (i.bar == -1) {
                e.window_base = at;
            } else {
                e.pref_base = at;
            }
        }
    }
    for (int c : children) {
        enumerated_function& e = found_[c];
        if (!e.bridge) continue;
        // Non-prefetchable window (1 MiB granules); an empty window has base > limit.
        if (e.window_size) {
            write(e.bdf, cfg::memory_base, 2, static_cast<std::uint32_t>(e.window_base >> 16) & 0xfff0, d);
            write(e.bdf, cfg::memory_limit, 2, static_cast<std::uint32_t>((e.window_base + e.window_size - 1) >> 16) & 0xfff0, d);
        } else {
            write(e.bdf, cfg::memory_base, 2, 0xfff0, d);
            write(e.bdf, cfg::memory_limit, 2, 0, d);
        }
        if (e.pref_size) {
            const std::uint64_t last = e.pref_base + e.pref_size - 1;
            write(e.bdf, cfg::pref_base, 2, (static_cast<std::uint32_t>(e.pref_base >> 16) & 0xfff0) | 1, d);
            write(e.bdf, cfg::pref_limit, 2, (static_cast<std::uint32_t>(last >> 16) & 0xfff0) | 1, d);
            write(e.bdf, cfg::pref_base_upper, 4, static_cast<std::uint32_t>(e.pref_base >> 32), d);
            write(e.bdf, cfg::pref_limit_upper, 4, static_cast<std::uint32_t>(last >> 32), d);
        } else {
            write(e.bdf, cfg::pref_base, 2, 0xfff1, d);
            write(e.bdf, cfg::pref_limit, 2, 0x0001, d);
        }
        assign(e.children, e.window_base, e.pref_base, d);
    }
}

enumerator::need enumerator::size_io(const std::vector<int>& children) {
    std::vector<item> io;
    for (int c : children) {
        enumerated_function& e = found_[c];
        for (std::size_t b = 0; b < e.bars.size(); ++b)
            if (e.bars[b].io) io.push_back({e.bars[b].size, e.bars[b].size, c, static_cast<int>(b)});
        if (!e.bridge) continue;
        const need below = size_io(e.children);
        e.io_size = align_up(below.size, io_granule);
        e.io_align = io_granule;
        if (e.io_size) io.push_back({e.io_size, e.io_align, c, -1});
    }
    need n;
    for (const item& i : io) n.align = std::max(n.align, i.align);
    n.size = layout(io, nullptr);
    return n;
}

void enumerator::assign_io(const std::vector<int>& children, std::uint64_t base, sc_time& d) {
    std::vector<item> io;
    for (int c : children) {
        const enumerated_function& e = found_[c];
        for (std::size_t b = 0; b < e.bars.size(); ++b)
            if (e.bars[b].io) io.push_back({e.bars[b].size, e.bars[b].size, c, static_cast<int>(b)});
        if (e.bridge && e.io_size) io.push_back({e.io_size, e.io_align, c, -1});
    }
    std::vector<std::uint64_t> offsets;
    layout(io, &offsets);
    for (std::size_t k = 0; k < io.size(); ++k) {
        const item& i = io[k];
        enumerated_function& e = found_[i.function];
        const std::uint64_t at = base + offsets[k];
        if (i.bar >= 0) {
            enumerated_bar& b = e.bars[i.bar];
            b.base = at;
            write(e.bdf, static_cast<std::uint16_t>(cfg::bar0 + 4 * b.index), 4, static_cast<std::uint32_t>(at), d);
        } else {
            e.io_base = at;
            // I/O Base/Limit bits 7:4 are port bits 15:12.
            write(e.bdf, cfg::io_base, 1, static_cast<std::uint32_t>(at >> 8) & 0xf0, d);
            write(e.bdf, cfg::io_limit, 1, static_cast<std::uint32_t>((at + e.io_size - 1) >> 8) & 0xf0, d);
        }
    }
    for (int c : children)
        if (found_[c].bridge && found_[c].io_size) assign_io(found_[c].children, found_[c].io_base, d);
}

bool enumerator::enable_ats(const pcie::bdf& f, sc_core::sc_time& d) {
    const auto pos = find_ext_cap(f, pci::ext_cap_id::ats, d);
    if (!pos) return false;
    if (!(read(f, static_cast<std::uint16_t>(*pos + pci::ats_reg::capability), 2, d) & pci::ats_reg::CAP_PAGE_ALIGNED)) return false;
    // STU: log2 of the smallest translation unit, minus 12 (PCIe 5.0 7.8.3.3).
    write(f, static_cast<std::uint16_t>(*pos + pci::ats_reg::control), 2, pci::ats_reg::CTRL_ENABLE | 0u, d);
    return true;
}

} // namespace iotwin::platform
