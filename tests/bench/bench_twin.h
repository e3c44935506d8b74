// The platform the DMA benchmarks run on, as a scenario would build it: a root
// port holding a `bar_ram` endpoint that belongs to guest1, Bus Master Enable
// set by the guest's driver, and `pages` 4 KiB pages mapped at IOVA 0 by the
// hypervisor. Requests run on one local time that starts where boot ended;
// the simulation advances to it once it is a quantum ahead, as a device
// thread waits, so the shared resources' calendars stay as short as in a run.
#pragma once
#include <memory>
#include <stdexcept>

#include <systemc>
#include <tlm>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "platform/address_map.h"
#include "platform/boot.h"
#include "platform/builder.h"

namespace iotwin::bench {

struct bench_twin {
    platform::scenario s;
    std::unique_ptr<platform::platform_instance> pi;
    pci::pci_function* ep = nullptr;
    sc_core::sc_time local;
    std::uint64_t pages;

    // `superpages`: whether the IOMMU reports (and the hypervisor uses) 2 MiB pages.
    explicit bench_twin(std::uint64_t mapped_pages, bool superpages = true) : pages(mapped_pages) {
        s.name = "bench";
        s.platform.memory = 1ull << 30;
        if (!superpages) s.platform.iommu.sllps = 0;
        platform::pcie_node rp;
        rp.id = "rp1";
        rp.type = platform::node_type::root_port;
        platform::pcie_node ep_node;
        ep_node.id = "ep0";
        ep_node.type = platform::node_type::endpoint;
        ep_node.model = "bar_ram";
        rp.children.push_back(ep_node);
        s.platform.pcie.push_back(rp);
        platform::domain_desc dom0, guest;
        dom0.name = "dom0";
        dom0.privileged = true;
        dom0.memory = 256ull << 20;
        guest.name = "guest1";
        guest.memory = 64ull << 20;
        guest.devices.emplace_back("ep0", platform::source_pos{});
        s.domains = {dom0, guest};
        pi = platform::build_platform(s);
    }
    // After elaboration (multi-sockets bind their callbacks then), outside any process.
    void boot() {
        sc_core::sc_time d;
        platform::boot_platform(s, *pi, d);
        ep = pi->by_id.at("ep0");
        std::uint16_t cmd = pci::command_bits::memory_space | pci::command_bits::bus_master;
        pi->hypervisor->machine_access(tlm::TLM_WRITE_COMMAND,
                                       platform::address_map::ecam_base + pcie::ecam_offset(ep->bdf(), pci::cfg::command),
                                       reinterpret_cast<std::uint8_t*>(&cmd), 2, d);
        if (pi->hypervisor->iommu_map(pi->hypervisor->find("guest1")->id, 0, 0, pages * 4096, true, true, d))
            throw std::runtime_error("iommu_map failed");
        local = d;
    }
    // The quantum, read once (as a device thread's quantum keeper holds it).
    const sc_core::sc_time quantum = tlm::tlm_global_quantum::instance().get();
    void keep_quantum() {
        if (local < quantum) return;
        sc_core::sc_start(local);
        local = sc_core::SC_ZERO_TIME;
    }
};

} // namespace iotwin::bench
