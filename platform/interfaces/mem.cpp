// mem: a domain's vCPU loads and stores guest-physical memory (through the
// hypervisor's second-stage translation).
#include <cerrno>

#include "platform/interfaces/interfaces.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

namespace {

void op_mem_read(step_context& c) {
    std::vector<std::uint8_t> buf(c.size("len"));
    if (guest::process* p = c.process()) {
        // As a process: virtual addresses, through its page tables.
        const int err = p->access(false, c.integer("addr"), buf.data(), buf.size(), c.delay);
        c.set_errno(err);
        if (!err) c.result()["data"] = hex_bytes(buf.data(), buf.size());
        return;
    }
    const int err = c.hyp().guest_access(c.actor().id, tlm::TLM_READ_COMMAND, c.integer("addr"), buf.data(),
                                         static_cast<unsigned>(buf.size()), c.delay);
    c.set_errno(err);
    if (!err) c.result()["data"] = hex_bytes(buf.data(), buf.size());
}

void op_mem_write(step_context& c) {
    std::vector<std::uint8_t> buf = c.data("data");
    if (guest::process* p = c.process()) {
        c.set_errno(p->access(true, c.integer("addr"), buf.data(), buf.size(), c.delay));
        return;
    }
    c.set_errno(c.hyp().guest_access(c.actor().id, tlm::TLM_WRITE_COMMAND, c.integer("addr"), buf.data(),
                                     static_cast<unsigned>(buf.size()), c.delay));
}

} // namespace

void register_mem(op_registry& r) {
    using t = arg_type;
    const std::string faults =
        "EFAULT: as a domain, outside its memory or past the top of the guest-physical space; as a process, a page not mapped "
        "(or not readable / writable)";
    r.add({"mem.read", actor::domain, "a vCPU loads memory: guest-physical addresses as a domain, virtual ones as a process",
           {{"addr", t::integer, true, "guest-physical (domain) or virtual (process) address"},
            {"len", t::size, true, "bytes", 1, op_limits::max_transfer}},
           {{"data", result_type::data, "the bytes read"}}, {}, {}, faults},
          op_mem_read);
    r.add({"mem.write", actor::domain, "a vCPU stores memory: guest-physical addresses as a domain, virtual ones as a process",
           {{"addr", t::integer, true, "guest-physical (domain) or virtual (process) address"},
            {"data", t::data, true, "bytes to store", 1, op_limits::max_transfer}},
           {}, {}, {}, faults},
          op_mem_write);
}

} // namespace iotwin::platform::interfaces
