// vfio: the interrupts of a device file (VFIO_DEVICE_GET_IRQ_INFO and
// VFIO_DEVICE_SET_IRQS, models/guest/vfio/pci_intrs.cpp).
#include "platform/interfaces/vfio.h"

namespace iotwin::platform::interfaces {

namespace {

namespace V = guest::vfio;
using t = arg_type;

void op_get_irq_info(step_context& c) {
    user_struct s;
    s.u32(vfio_argsz(c, 16)).u32(0).u32(vfio_flags(c, "index", V::irq_index_names)).u32(0);
    const auto b = vfio_call(c, V::VFIO_DEVICE_GET_IRQ_INFO, s);
    if (b.empty()) return;
    c.result()["flags"] = field(b, 4, 4);
    c.result()["count"] = field(b, 12, 4);
}

// struct vfio_irq_set { argsz, flags, index, start, count, u8 data[] }: `data`
// laid out as the flags' data type has it (s32 descriptors for
// DATA_EVENTFD, one byte per bool for DATA_BOOL, nothing for DATA_NONE).
void op_set_irqs(step_context& c) {
    const std::uint32_t flags = static_cast<std::uint32_t>(vfio_flags(c, "flags", V::irq_set_flag_names));
    const std::vector<std::int64_t> data = c.args()["data"] ? integers_value(c.args()["data"]) : std::vector<std::int64_t>{};
    const unsigned elem = (flags & V::VFIO_IRQ_SET_DATA_EVENTFD) ? 4 : (flags & V::VFIO_IRQ_SET_DATA_BOOL) ? 1 : 0;
    user_struct payload;
    for (const std::int64_t v : data) {
        if (elem == 4) payload.u32(static_cast<std::uint64_t>(v) & 0xffffffffu);
        else if (elem == 1) payload.u8(v ? 1 : 0);
    }
    user_struct s;
    s.u32(vfio_argsz(c, static_cast<std::uint32_t>(20 + payload.size()))).u32(flags);
    s.u32(vfio_flags(c, "index", V::irq_index_names)).u32(c.integer("start", 0)).u32(c.integer("count", data.size()));
    s.bytes(payload.data().data(), payload.size());
    vfio_call(c, V::VFIO_DEVICE_SET_IRQS, s);
}

} // namespace

void register_vfio_irqs(op_registry& r) {
    const auto index = [](const char* what) {
        return flags_arg("index", true, what, V::irq_index_names);
    };
    r.add({"vfio.device_get_irq_info", actor::process, "VFIO_DEVICE_GET_IRQ_INFO: an interrupt index's flags and count",
           {fd_arg(), index("VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_ERR_IRQ_INDEX, "
                            "VFIO_PCI_REQ_IRQ_INDEX, or a number"),
            argsz_arg("struct vfio_irq_info (16)"), null_arg()},
           syscall_results({{"flags", result_type::flags, "VFIO_IRQ_INFO_* set", V::irq_info_flag_names},
                            {"count", result_type::integer, "interrupts of the index (0: the function has none)"}}),
           {}, {}, "EINVAL: argsz below 16, an index past VFIO_PCI_REQ_IRQ_INDEX, ERR of a conventional PCI function; EFAULT"},
          op_get_irq_info);
    r.add({"vfio.device_set_irqs", actor::process,
           "VFIO_DEVICE_SET_IRQS: triggers (eventfds), masks and loopbacks of an interrupt index",
           {fd_arg(), flags_arg("flags", true, "one VFIO_IRQ_SET_DATA_* and one VFIO_IRQ_SET_ACTION_* name, or a number", V::irq_set_flag_names),
            index("the interrupt index: a VFIO_PCI_*_IRQ_INDEX name or a number"),
            {"start", t::integer, false, "the first interrupt of the index", 0, 0xffffffffu, "0"},
            {"count", t::integer, false, "interrupts from start (default: the entries of data, 0 without data)", 0, 0xffffffffu},
            {"data", t::integers, false, "eventfd descriptors for DATA_EVENTFD (-1: none), or booleans for DATA_BOOL", 0, 4096},
            argsz_arg("struct vfio_irq_set and its data"), null_arg()},
           syscall_results(), {}, {},
           "EINVAL: argsz, flags, index, start/count beyond the index, a conflicting index in use, a descriptor that is "
           "not an eventfd; EBADF: no such descriptor; ENOTTY: an action the index lacks (MASK/UNMASK on MSI and MSI-X, "
           "MASK with an eventfd); EBUSY: an INTx unmask eventfd set already; ENODEV: no INTx routing; ENOSPC: no vectors; ERANGE: an empty eventfd "
           "block enabling MSI / MSI-X; ENOMEM; EFAULT"},
          op_set_irqs);
}

} // namespace iotwin::platform::interfaces
