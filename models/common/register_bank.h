// Registers declared as data: name, offset, width, reset value, which bits
// software may write, which are write-1-to-clear, and a callback where a write
// has behaviour. Config spaces, capability structures and device MMIO blocks
// are all register banks. (The idiom of VCML's reg<>, gem5's reg_bank and
// QEMU's wmask/w1cmask.)
#pragma once
#include <cassert>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace iotwin {

struct reg_desc {
    const char* name;
    std::uint32_t offset;
    unsigned width;            // bytes: 1, 2, 4 or 8
    std::uint64_t reset = 0;
    std::uint64_t wmask = 0;   // bits software can write
    std::uint64_t w1cmask = 0; // bits cleared by writing 1
};

class register_bank {
public:
    using write_hook = std::function<void(std::uint64_t old_value, std::uint64_t new_value)>;

    explicit register_bank(std::size_t size);

    // Declares a register; sets its reset value and masks. Returns its offset.
    std::uint32_t define(const reg_desc& r, write_hook on_write = nullptr);
    // Sets the write hook of every register that overlaps [offset, offset + len),
    // replacing any they had (a model that decodes registers of a standard
    // layout defined for it).
    void set_hooks(std::uint32_t offset, unsigned len, const write_hook& on_write);

    // Accesses as software sees them: writes honour wmask/w1cmask and run hooks
    // of every register the access touches, after the bytes are updated.
    std::uint64_t read(std::uint32_t offset, unsigned len) const;
    void write(std::uint32_t offset, unsigned len, std::uint64_t value);

    // The model's own view: no masks, no hooks (status bits set by hardware).
    // Inline: the DMA path reads the command register and capabilities per request.
    std::uint64_t get(std::uint32_t offset, unsigned len) const {
        assert(in_range(offset, len));
        std::uint64_t x = 0;  // little-endian registers on a little-endian host: a copy is the load
        std::memcpy(&x, bytes_.data() + offset, len);
        return x;
    }
    void set(std::uint32_t offset, unsigned len, std::uint64_t value);
    void set_wmask(std::uint32_t offset, unsigned len, std::uint64_t mask);

    // Name of the register that covers `offset`, or "" (for reports and errors).
    std::string name_at(std::uint32_t offset) const;
    std::size_t size() const { return bytes_.size(); }
    bool in_range(std::uint32_t offset, unsigned len) const {
        return len <= bytes_.size() && offset <= bytes_.size() - len;
    }
    void reset();

private:
    struct entry { reg_desc desc; write_hook hook; };
    std::vector<std::uint8_t> bytes_, wmask_, w1cmask_, reset_;
    std::vector<entry> regs_;
};

} // namespace iotwin
