// Legacy INTx of a PCI function: the line level, Interrupt Status and the
// Assert_INTx / Deassert_INTx messages upstream; and the default I/O space
// claim of a function (its I/O BARs).
//
// The effective line is the device's level while the function has an
// Interrupt Pin, is no virtual function (SR-IOV VFs have no INTx: their
// Interrupt Pin is 0, PCIe 5.0 9.3.4.1.13), Command.Interrupt Disable is clear
// (PCI 3.0 6.2.2, PCIe 5.0 7.5.1.1.1) and neither MSI nor MSI-X is enabled
// (a function with MSI or MSI-X enabled does not use INTx: PCIe 5.0 7.7.1.2,
// 7.7.2.2). Each change of the effective line is one posted message TLP
// (PCIe 5.0 2.2.8.1): Assert_INTx when it rises, Deassert_INTx when it falls,
// for the virtual wire of the function's pin. Bus Master Enable does not gate
// them: it controls Memory and I/O Requests (and so MSI), "Requests other
// than Memory or I/O Requests are not controlled by this bit" (PCIe 5.0
// 7.5.1.1.3).
#include "models/pci/pci_function.h"
#include "models/common/payload.h"

namespace iotwin::pci {

using namespace sc_core;

namespace {
constexpr std::uint16_t status_interrupt = 1 << 3;  // Status.Interrupt Status (PCI 3.0 6.2.3)
} // namespace

void pci_function::set_intx(bool asserted) {
    intx_level_ = asserted;
    const std::uint8_t pin = interrupt_pin();
    // Interrupt Status shows the device's level whatever Interrupt Disable
    // says; a function without INTx keeps it 0.
    if (pin >= 1 && pin <= 4 && !is_virtual_function()) {
        const std::uint64_t st = cfg_.get(cfg::status, 2);
        cfg_.set(cfg::status, 2, asserted ? st | status_interrupt : st & ~std::uint64_t(status_interrupt));
    }
    intx_update();
}

void pci_function::intx_update() {
    const std::uint8_t pin = interrupt_pin();
    const bool has_pin = pin >= 1 && pin <= 4 && !is_virtual_function();
    const bool on = has_pin && intx_level_ && !(cfg_.command() & command_bits::interrupt_disable) && !msi_enabled() &&
                    !msix_enabled();
    // A function without a pin never sends; whatever it sent stays as it was
    // left (it cannot have sent anything).
    if (on == intx_sent_ || !has_pin) return;
    intx_sent_ = on;
    tlm::tlm_generic_payload gp;
    pcie::pcie_ext ext;
    ext.kind = pcie::request_kind::message;
    ext.message_code = static_cast<std::uint8_t>((on ? pcie::message::assert_inta : pcie::message::deassert_inta) + pin - 1);
    ext.requester_id = bdf().rid();
    ext.origin = this;
    // A message without data: a header-only posted TLP.
    std::uint8_t none = 0;
    prepare(gp, tlm::TLM_WRITE_COMMAND, 0, &none, 0);
    gp.set_extension(&ext);
    // The device does not wait for its message: the time it takes upstream
    // is the message's own (the interrupt controller stamps its arrival).
    sc_time d = SC_ZERO_TIME;
    pcie_out.b_transport(gp, d);
    gp.clear_extension(&ext);
}

bool pci_function::claims_io(std::uint32_t port) const {
    if (!(cfg_.command() & command_bits::io_space)) return false;
    for (const bar_desc& b : p_.bars) {
        if (b.type != bar_type::io) continue;
        // An I/O BAR: bits 31:2 hold the base (PCI 3.0 6.2.5.1); x86 ports are 16 bits.
        const std::uint64_t base = cfg_.get(cfg::bar0 + 4 * b.index, 4) & 0xfffcu;
        if (base != 0 && port >= base && port - base < b.size) return true;
    }
    return false;
}

} // namespace iotwin::pci
