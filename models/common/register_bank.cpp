#include "models/common/register_bank.h"

#include <cassert>
#include <cstring>

namespace iotwin {

namespace {
void store(std::vector<std::uint8_t>& v, std::uint32_t off, unsigned len, std::uint64_t x) {
    for (unsigned i = 0; i < len; ++i) v[off + i] = static_cast<std::uint8_t>(x >> (8 * i));
}
} // namespace

register_bank::register_bank(std::size_t size)
    : bytes_(size, 0), wmask_(size, 0), w1cmask_(size, 0), reset_(size, 0) {}

std::uint32_t register_bank::define(const reg_desc& r, write_hook on_write) {
    assert(in_range(r.offset, r.width));
    store(reset_, r.offset, r.width, r.reset);
    store(bytes_, r.offset, r.width, r.reset);
    store(wmask_, r.offset, r.width, r.wmask);
    store(w1cmask_, r.offset, r.width, r.w1cmask);
    regs_.push_back({r, std::move(on_write)});
    return r.offset;
}

void register_bank::set_hooks(std::uint32_t offset, unsigned len, const write_hook& on_write) {
    for (entry& e : regs_)
        if (offset < e.desc.offset + e.desc.width && e.desc.offset < offset + len) e.hook = on_write;
}

std::uint64_t register_bank::read(std::uint32_t offset, unsigned len) const { return get(offset, len); }

void register_bank::write(std::uint32_t offset, unsigned len, std::uint64_t value) {
    assert(in_range(offset, len));
    struct touched { const entry* e; std::uint64_t old; };
    std::vector<touched> hooks;
    for (const entry& e : regs_) {
        const auto lo = e.desc.offset, hi = e.desc.offset + e.desc.width;
        if (e.hook && offset < hi && lo < offset + len) hooks.push_back({&e, get(lo, e.desc.width)});
    }
    for (unsigned i = 0; i < len; ++i) {
        const std::uint8_t v = static_cast<std::uint8_t>(value >> (8 * i));
        std::uint8_t& b = bytes_[offset + i];
        const std::uint8_t wm = wmask_[offset + i], w1c = w1cmask_[offset + i];
        b = static_cast<std::uint8_t>((b & ~wm) | (v & wm));
        b = static_cast<std::uint8_t>(b & ~(v & w1c));
    }
    for (const touched& t : hooks) t.e->hook(t.old, get(t.e->desc.offset, t.e->desc.width));
}

void register_bank::set(std::uint32_t offset, unsigned len, std::uint64_t value) {
    assert(in_range(offset, len));
    store(bytes_, offset, len, value);
}

void register_bank::set_wmask(std::uint32_t offset, unsigned len, std::uint64_t mask) {
    assert(in_range(offset, len));
    store(wmask_, offset, len, mask);
}

std::string register_bank::name_at(std::uint32_t offset) const {
    for (const entry& e : regs_)
        if (offset >= e.desc.offset && offset < e.desc.offset + e.desc.width) return e.desc.name;
    return "";
}

void register_bank::reset() { bytes_ = reset_; }

} // namespace iotwin
