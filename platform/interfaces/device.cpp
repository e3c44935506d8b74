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
// The Address Type the function puts in its requests (PCIe 5.0 2.2.4.1):
// `untranslated` (00b), `translation_request` (01b), `translated` (10b), or
// `atc`: as an ATS-enabled function does, each page's translation from its
// ATC (a Translation Request on a miss) and translated requests to the
// translated address. A malicious device sends any of the first three with
// any address.
enum class dma_mode { untranslated, translation_request, translated, atc, invalid };
dma_mode mode_of(step_context& c) {
    const std::string m = c.text("address_type", "untranslated");
    if (m == "untranslated") return dma_mode::untranslated;
    if (m == "translation_request") return dma_mode::translation_request;
    if (m == "translated") return dma_mode::translated;
    if (m == "atc") return dma_mode::atc;
    return dma_mode::invalid;
}

pci::pci_function::dma_result device_dma(step_context& c, pci::pci_function& f, dma_mode m, tlm::tlm_command cmd,
                                         std::uint64_t addr, std::uint8_t* data, std::uint64_t len) {
    if (m == dma_mode::atc) return f.dma_with_atc(cmd, addr, data, len, c.delay);
    const pcie::address_type at = m == dma_mode::translated ? pcie::address_type::translated
                                  : m == dma_mode::translation_request ? pcie::address_type::translation_request
                                                                       : pcie::address_type::untranslated;
    f.set_dma_address_type(at);
    const auto r = f.dma(cmd, addr, data, len, c.delay);
    f.set_dma_address_type(pcie::address_type::untranslated);
    return r;
}

void op_dma_read(step_context& c) {
    const std::uint64_t len = c.size("len"), addr = c.integer("addr");
    const dma_mode m = mode_of(c);
    if (!bus_range_ok(addr, len) || m == dma_mode::invalid) return c.set_errno(EINVAL);
    std::vector<std::uint8_t> buf(len);
    pci::pci_function& f = c.acting_device();
    const forged_id forged(c, f);
    const with_pasid tagged(c, f);
    const auto r = device_dma(c, f, m, tlm::TLM_READ_COMMAND, addr, buf.data(), len);
    dma_result(c, r);
    if (r.issued && r.status == pcie::completion::SC) c.result()["data"] = hex_bytes(buf.data(), buf.size());
}

void op_dma_write(step_context& c) {
    std::vector<std::uint8_t> buf = c.data("data");
    const std::uint64_t addr = c.integer("addr");
    const dma_mode m = mode_of(c);
    if (!bus_range_ok(addr, buf.size()) || m == dma_mode::invalid) return c.set_errno(EINVAL);
    pci::pci_function& f = c.acting_device();
    const forged_id forged(c, f);
    const with_pasid tagged(c, f);
    const auto r = device_dma(c, f, m, tlm::TLM_WRITE_COMMAND, addr, buf.data(), buf.size());
    // Through the ATC a write the translation does not grant is never issued: EIO.
    if (m == dma_mode::atc && !r.posted) {
        c.set_errno(EIO);
        c.result()["issued"] = r.issued;
        return;
    }
    dma_result(c, r);
}

// The function asks the IOMMU for the translation of a page (a Translation
// Request) and caches what it grants in its ATC.
void op_ats_translate(step_context& c) {
    pci::pci_function& f = c.acting_device();
    if (!f.ats_capability()) return c.set_errno(ENODEV);
    const forged_id forged(c, f);
    const auto r = f.ats_translate(c.integer("addr"), c.delay);
    c.result()["issued"] = r.issued;
    if (!r.issued) return c.set_errno(EIO);
    c.result()["completion"] = pcie::to_string(r.status);
    c.bus_error |= r.status != pcie::completion::SC;
    if (r.status != pcie::completion::SC) return c.set_errno(EIO);
    c.set_errno(0);
    c.result()["translated"] = r.entry.translated;
    c.result()["size"] = r.entry.size;
    c.result()["read"] = r.entry.read;
    c.result()["write"] = r.entry.write;
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

arg_spec address_type_arg() {
    return {"address_type", arg_type::string, false,
            "AT field: untranslated, translation_request, translated (any address the device chooses), or atc (ATS: the "
            "function's ATC, a Translation Request on a miss, then translated requests); EINVAL otherwise",
            0, 32, "untranslated"};
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
            requester_id_arg(), pasid_arg(), address_type_arg()},
           {{"data", rt::data, "the bytes read"}, {"issued", rt::boolean, "the request went out"},
            {"completion", rt::completion, "PCIe completion status"}},
           {}, {}, eio + ", or completed with UR/CA (atc: also a translation that grants no read); EINVAL: addr + len runs past 2^64, or an unknown address_type"},
          op_dma_read);
    r.add({"device.dma_write", actor::device, "the function writes memory by DMA (posted: no completion comes back)",
           {{"addr", t::integer, true, "bus address (IOVA)"}, {"data", t::data, true, "bytes to write", 1, op_limits::max_transfer},
            requester_id_arg(), pasid_arg(), address_type_arg()},
           {{"issued", rt::boolean, "the request went out"}, {"posted", rt::boolean, "true: no completion comes back"}},
           {}, {}, eio + " (a write is posted: its errno is 0 whatever became of it; atc: EIO when the translation "
           "grants no write or its Translation Request failed); EINVAL: addr + length runs past 2^64, or an unknown address_type"},
          op_dma_write);
    r.add({"device.ats_translate", actor::device,
           "the function sends a Translation Request (AT=01b) for the page of addr and caches the translation in its ATC (PCIe 5.0 10.2)",
           {{"addr", t::integer, true, "untranslated address (IOVA)"}, requester_id_arg()},
           {{"issued", rt::boolean, "the request went out"}, {"completion", rt::completion, "PCIe completion status"},
            {"translated", rt::integer, "translated address of the range"}, {"size", rt::integer, "bytes the translation covers"},
            {"read", rt::boolean, "R: reads are allowed"}, {"write", rt::boolean, "W: writes are allowed"}},
           {}, {}, "ENODEV: no ATS capability; EIO: not issued (ATS Enable or Bus Master Enable clear) or completed with UR/CA"},
          op_ats_translate);
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
