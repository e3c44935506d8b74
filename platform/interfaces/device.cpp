// device: what a function itself puts on the wire. Attack scenarios and the
// step fuzzer drive devices through these: a device is untrusted, so every
// address, length and requester ID it chooses is possible here.
#include <cerrno>
#include <cstring>

#include "platform/interfaces/interfaces.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

namespace {

// What the device can know of its request: a read's completion; of a posted
// write nothing (whether it was blocked shows in `fault` and `errors`).
void dma_result(step_context& c, const pci::pci_function::dma_result& r) {
    const bool ok = r.issued && !r.stopped && (r.posted || r.status == pcie::completion::SC);
    c.set_errno(ok ? 0 : EIO);
    c.result()["issued"] = r.issued;
    if (r.posted) c.result()["posted"] = true;
    else if (r.issued) c.result()["completion"] = pcie::to_string(r.status);
    c.bus_error |= !r.posted && r.issued && r.status != pcie::completion::SC;
}

// A bus address range the device can put on the wire: it must not run past
// 2^64 (the next request would alias address 0).
bool bus_range_ok(std::uint64_t addr, std::uint64_t len) { return len == 0 || addr + (len - 1) >= addr; }

// A malicious device puts any requester ID in its requests (`requester_id`);
// the function's physical port stays the origin the checkers see.
class forged_id {
public:
    forged_id(step_context& c, pci::pci_function& f) : f_(f) {
        if (c.has("requester_id")) f_.forge_requester_id(static_cast<std::uint16_t>(c.integer("requester_id")));
    }
    ~forged_id() { f_.forge_requester_id(std::nullopt); }
    forged_id(const forged_id&) = delete;
    forged_id& operator=(const forged_id&) = delete;

private:
    pci::pci_function& f_;
};

// A DMA step's `pasid`: the PASID TLP prefix its requests carry (PCIe 6.2.10.4).
class with_pasid {
public:
    with_pasid(step_context& c, pci::pci_function& f) : f_(f) {
        if (c.has("pasid")) f_.set_pasid(static_cast<std::uint32_t>(c.integer("pasid")));
    }
    ~with_pasid() { f_.set_pasid(std::nullopt); }
    with_pasid(const with_pasid&) = delete;
    with_pasid& operator=(const with_pasid&) = delete;

private:
    pci::pci_function& f_;
};

void op_dma_read(step_context& c) {
    const std::uint64_t len = c.size("len"), addr = c.integer("addr");
    if (!bus_range_ok(addr, len)) return c.set_errno(EINVAL);
    std::vector<std::uint8_t> buf(len);
    pci::pci_function& f = c.acting_device();
    const forged_id forged(c, f);
    const with_pasid tagged(c, f);
    const auto r = f.dma(tlm::TLM_READ_COMMAND, addr, buf.data(), len, c.delay);
    dma_result(c, r);
    if (r.issued && r.status == pcie::completion::SC) c.result()["data"] = hex_bytes(buf.data(), buf.size());
}

void op_dma_write(step_context& c) {
    std::vector<std::uint8_t> buf = c.data("data");
    const std::uint64_t addr = c.integer("addr");
    if (!bus_range_ok(addr, buf.size())) return c.set_errno(EINVAL);
    pci::pci_function& f = c.acting_device();
    const forged_id forged(c, f);
    const with_pasid tagged(c, f);
    dma_result(c, f.dma(tlm::TLM_WRITE_COMMAND, addr, buf.data(), buf.size(), c.delay));
}

void op_device_msi(step_context& c) {
    pci::pci_function& f = c.acting_device();
    const forged_id forged(c, f);
    if (c.has("address")) {
        // A raw interrupt message: any address and data the device chooses.
        const std::uint64_t address = c.integer("address");
        const auto data = static_cast<std::uint32_t>(c.integer("data"));
        if (!bus_range_ok(address, 4)) return c.set_errno(EINVAL);
        std::uint8_t bytes[4];
        std::memcpy(bytes, &data, 4);
        dma_result(c, f.dma(tlm::TLM_WRITE_COMMAND, address, bytes, 4, c.delay));
        return;
    }
    const bool sent = f.send_msi(static_cast<unsigned>(c.integer("vector", 0)), c.delay);
    c.set_errno(sent ? 0 : EIO);
    c.result()["issued"] = sent;
    if (sent) c.result()["posted"] = true;
}

// The device drives its INTx line (level-triggered): the function sends
// Assert_INTx / Deassert_INTx when its effective line changes.
void op_device_intx(step_context& c) {
    pci::pci_function& f = c.acting_device();
    const bool was = f.intx_signalled();
    f.set_intx(c.boolean("level", true));
    const std::uint8_t pin = f.interrupt_pin();
    c.set_errno(pin >= 1 && pin <= 4 && !f.is_virtual_function() ? 0 : ENODEV);
    // Whether the line upstream changed (Interrupt Disable or MSI/MSI-X Enable hold it low).
    c.result()["signalled"] = f.intx_signalled();
    c.result()["changed"] = f.intx_signalled() != was;
}

arg_spec pasid_arg() {
    return {"pasid", arg_type::integer, false, "PASID the requests carry in a PASID TLP prefix (20 bits); none: requests without PASID",
            0, 0xfffff};
}

arg_spec requester_id_arg() {
    return {"requester_id", arg_type::integer, false,
            "routing ID the function puts in its requests instead of its own (a malicious device): bus << 8 | device << 3 | function",
            0, 0xffff};
}

} // namespace

void register_device(op_registry& r) {
    using t = arg_type;
    using rt = result_type;
    const std::string eio = "EIO: not issued (Bus Master Enable clear, also when cleared during the transfer)";
    r.add({"device.dma_read", actor::device, "the function reads memory by DMA",
           {{"addr", t::integer, true, "bus address (IOVA)"}, {"len", t::size, true, "bytes", 1, op_limits::max_transfer},
            requester_id_arg(), pasid_arg()},
           {{"data", rt::data, "the bytes read"}, {"issued", rt::boolean, "the request went out"},
            {"completion", rt::completion, "PCIe completion status"}},
           {}, {}, eio + ", or completed with UR/CA; EINVAL: addr + len runs past 2^64"},
          op_dma_read);
    r.add({"device.dma_write", actor::device, "the function writes memory by DMA (posted: no completion comes back)",
           {{"addr", t::integer, true, "bus address (IOVA)"}, {"data", t::data, true, "bytes to write", 1, op_limits::max_transfer},
            requester_id_arg(), pasid_arg()},
           {{"issued", rt::boolean, "the request went out"}, {"posted", rt::boolean, "always true: no completion comes back"}},
           {}, {}, eio + " (a write is posted: its errno is 0 whatever became of it); EINVAL: addr + length runs past 2^64"},
          op_dma_write);
    r.add({"device.msi", actor::device, "the function signals an interrupt message (a posted write)",
           {{"vector", t::integer, false, "message number of its MSI capability", 0, 2047, "0"},
            {"address", t::integer, false, "raw message address (with data: any write the device chooses)"},
            {"data", t::integer, false, "raw message data (32 bits)", 0, 0xffffffff}, requester_id_arg()},
           {{"issued", rt::boolean, "the message went out"}, {"posted", rt::boolean, "always true when issued"}},
           {{"address", "data"}}, {{"vector", "address"}},
           "EIO: MSI not enabled, the vector beyond those enabled, or Bus Master Enable clear"},
          op_device_msi);
    r.add({"device.intx", actor::device, "the function drives its legacy INTx line (level-triggered; Status.Interrupt Status shows it)",
           {{"level", t::boolean, false, "true: assert, false: deassert", 0, 1, "true"}},
           {{"signalled", rt::boolean, "the line as the fabric sees it: asserted, and not held low by Interrupt Disable or MSI/MSI-X Enable"},
            {"changed", rt::boolean, "an Assert_INTx or Deassert_INTx message went upstream"}},
           {}, {}, "ENODEV: the function has no Interrupt Pin (or is a virtual function): nothing is sent"},
          op_device_intx);
}

} // namespace iotwin::platform::interfaces
