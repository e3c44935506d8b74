// mem: a domain's vCPU loads and stores guest-physical memory (through the
// hypervisor's second-stage translation).
#include <cerrno>

#include "platform/interfaces/interfaces.h"
#include "platform/step_context.h"

namespace iotwin::platform::interfaces {

namespace {

void op_mem_read(step_context& c) {
    std::vector<std::uint8_t> buf(c.size("len"));
    const int err = c.hyp().guest_access(c.actor().id, tlm::TLM_READ_COMMAND, c.integer("addr"), buf.data(),
                                         static_cast<unsigned>(buf.size()), c.delay);
    c.set_errno(err);
    if (!err) c.result()["data"] = hex_bytes(buf.data(), buf.size());
}

void op_mem_write(step_context& c) {
    std::vector<std::uint8_t> buf = c.data("data");
    c.set_errno(c.hyp().guest_access(c.actor().id, tlm::TLM_WRITE_COMMAND, c.integer("addr"), buf.data(),
                                     static_cast<unsigned>(buf.size()), c.delay));
}

} // namespace

void register_mem(op_registry& r) {
    using t = arg_type;
    const std::string faults = "EFAULT: outside the domain's memory, or past the top of the guest-physical space";
    r.add({"mem.read", actor::domain, "a vCPU loads guest-physical memory",
           {{"addr", t::integer, true, "guest-physical address"},
            {"len", t::size, true, "bytes", 1, op_limits::max_transfer}},
           {{"data", result_type::data, "the bytes read"}}, {}, {}, faults},
          op_mem_read);
    r.add({"mem.write", actor::domain, "a vCPU stores guest-physical memory",
           {{"addr", t::integer, true, "guest-physical address"},
            {"data", t::data, true, "bytes to store", 1, op_limits::max_transfer}},
           {}, {}, {}, faults},
          op_mem_write);
}

} // namespace iotwin::platform::interfaces
