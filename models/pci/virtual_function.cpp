#include "models/pci/virtual_function.h"

#include <algorithm>

namespace iotwin::pci {

function_params virtual_function::vf_params(function_params p) {
    p.vendor = 0xffff;
    p.device = 0xffff;
    p.multifunction = false;
    p.bars.clear();
    p.sriov.reset();
    p.msix.reset();
    p.rom_size = 0;
    p.interrupt_pin = 0;
    return p;
}

virtual_function::virtual_function(sc_core::sc_module_name name, const function_params& p, const pci_function& pf,
                                   unsigned index)
    : pci_function(name, vf_params(p)), pf_(pf), index_(index) {}

std::uint64_t virtual_function::bar_base(const bar_desc& b) const {
    return pf_.vf_bar_base(b) + std::uint64_t(index_) * b.size;
}

std::optional<bar_desc> virtual_function::bar_at(std::uint64_t addr) const {
    // A VF's Memory Space Enable is RO 0 (9.3.4.1.3): the PF's VF MSE gates decode.
    if (!present() || !pf_.vf_memory_enabled() || !pf_.params().sriov) return std::nullopt;
    for (const bar_desc& d : pf_.params().sriov->vf_bars) {
        const bar_desc b = *pf_.vf_bar(d.index);
        if (pf_.vf_bar_base(b) == 0) continue;  // unassigned
        const std::uint64_t base = bar_base(b);
        if (addr >= base && addr - base < b.size) return b;
    }
    return std::nullopt;
}

pcie::completion virtual_function::bar_access(const bar_desc& bar, tlm::tlm_command cmd, std::uint64_t offset,
                                              std::uint8_t* data, unsigned len, sc_core::sc_time&) {
    for (unsigned done = 0; done < len;) {
        const std::uint64_t o = offset + done;
        const unsigned n = static_cast<unsigned>(std::min<std::uint64_t>(len - done, 4096 - (o & 4095)));
        const auto key = std::make_pair(bar.index, o >> 12);
        if (cmd == tlm::TLM_WRITE_COMMAND) {
            auto [it, fresh] = pages_.try_emplace(key);
            if (fresh) it->second.fill(0);
            std::copy_n(data + done, n, it->second.data() + (o & 4095));
        } else if (const auto it = pages_.find(key); it != pages_.end()) {
            std::copy_n(it->second.data() + (o & 4095), n, data + done);
        } else {
            std::fill_n(data + done, n, 0);
        }
        done += n;
    }
    return pcie::completion::SC;
}

} // namespace iotwin::pci
