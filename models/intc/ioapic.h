// The I/O APIC as the twin uses it: level-triggered inputs (GSIs) that the
// root complex drives from the INTx messages of the root-bus functions, each
// the wired-OR of its sources, turned into interrupts for the hypervisor.
//
// Level semantics of a redirection entry (Intel 82093AA I/O APIC datasheet,
// 3.2.4, Remote IRR): a GSI is delivered when its line rises while no
// delivery of it is in service; the entry then waits for the EOI (Remote IRR
// set), and an EOI that finds the line still asserted delivers it again.
// Delivery costs `latency` (the I/O APIC's message to the local APIC).
// Not modelled: the redirection table registers (IOREGSEL/IOWIN), masks,
// polarity, edge-triggered entries, destinations (the hypervisor decides
// which domains get a GSI), GSIs 0..15 of ISA devices.
#pragma once
#include <cstdint>
#include <functional>
#include <set>
#include <vector>

#include <systemc>

#include "models/common/stats.h"

namespace iotwin::intc {

class ioapic : public sc_core::sc_module {
public:
    static constexpr unsigned pins = 24;  // GSIs 0..23, as the PC's first I/O APIC
    // Called when GSI `gsi` is delivered, at the simulated time `when`.
    using sink = std::function<void(unsigned gsi, const sc_core::sc_time& when)>;

    ioapic(sc_core::sc_module_name name, sc_core::sc_time latency);
    void set_sink(sink s) { sink_ = std::move(s); }

    // Source `source` (any key the caller keeps per input wire) drives GSI
    // `gsi` to `level`; `delay` is the caller's local time of the change.
    void set_line(unsigned gsi, std::uint32_t source, bool level, sc_core::sc_time& delay);
    // End of interrupt for `gsi`: clears Remote IRR; delivers again while the
    // line is still asserted.
    void eoi(unsigned gsi, sc_core::sc_time& delay);

    bool asserted(unsigned gsi) const { return gsi < pins && !sources_[gsi].empty(); }
    bool in_service(unsigned gsi) const { return gsi < pins && remote_irr_[gsi]; }
    void stats(stat_map& out) const;

private:
    void deliver(unsigned gsi, sc_core::sc_time& delay);

    sc_core::sc_time latency_;
    sink sink_;
    std::vector<std::set<std::uint32_t>> sources_;
    std::vector<bool> remote_irr_;
    std::uint64_t delivered_ = 0, redelivered_ = 0, out_of_range_ = 0, spurious_eoi_ = 0;
};

} // namespace iotwin::intc
