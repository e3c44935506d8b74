#include "models/guest/xenevtchn.h"

#include <cerrno>
#include <vector>

#include "models/guest/kernel.h"
#include "models/hyp/event_channel.h"

namespace iotwin::guest {

using sc_core::sc_time;

namespace {
// xen_evtchn_nr_channels() for the 2-level ABI of a 64-bit guest.
constexpr std::uint32_t nr_channels = hyp::shared_info_layout::nr_channels;
constexpr std::uint64_t port_size = sizeof(std::uint32_t);
}  // namespace

long xenevtchn::bind(std::uint32_t port, sc_time& d) {
    // evtchn_bind_to_user: the port joins this file, the ring grows to hold
    // every bound port, and the kernel's handler is attached.
    // A failure after the hypercall closes the port again (the error path of evtchn_bind_to_user).
    long rc = 0;
    if (ports_.count(port)) rc = -EEXIST;
    else if (k_.kmalloc_fails()) rc = -ENOMEM;
    if (rc) {
        k_.evtchn_close(port, d);
        return rc;
    }
    ports_[port] = state{};
    while (ring_size_ < ports_.size()) ring_size_ *= 2;
    std::weak_ptr<bool> alive = alive_;
    k_.bind_port(port, [this, alive](std::uint32_t p, const sc_time& when) {
        if (const auto a = alive.lock(); a && *a) fired(p, when);
    });
    return port;
}

void xenevtchn::unbind(std::uint32_t port, sc_time& d) {
    ports_.erase(port);
    k_.evtchn_close(port, d);  // unbind_from_irqhandler closes the port
}

void xenevtchn::fired(std::uint32_t port, const sc_time& when) {
    // evtchn_interrupt: the port is disabled (masked until written back) and queued.
    auto it = ports_.find(port);
    if (it == ports_.end() || !it->second.enabled) return;
    it->second.enabled = false;
    sc_time d = sc_core::SC_ZERO_TIME;
    k_.evtchn_mask(port, d);
    if (ring_.size() < ring_size_) ring_.push_back({port, when});
    else overflow_ = true;
}

long xenevtchn::ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_time& d) {
    std::uint32_t w[2] = {};
    const auto in = [&](std::uint64_t n) { return p.copy_from_user(w, arg, n, d) == 0; };
    switch (cmd) {
    case IOCTL_EVTCHN_BIND_VIRQ: {
        if (restrict_ != UNRESTRICTED_DOMID) return -EACCES;
        if (!in(4)) return -EFAULT;
        hyp::evtchn_bind_virq b;
        b.virq = w[0];
        b.vcpu = 0;  // xen_vcpu_nr(0)
        if (const long rc = k_.hypercall(hyp::HYPERVISOR_event_channel_op, hyp::EVTCHNOP_bind_virq, &b, 1, d)) return rc;
        return bind(b.port, d);
    }
    case IOCTL_EVTCHN_BIND_INTERDOMAIN: {
        if (!in(8)) return -EFAULT;
        if (restrict_ != UNRESTRICTED_DOMID && restrict_ != w[0]) return -EACCES;
        hyp::evtchn_bind_interdomain b;
        b.remote_dom = static_cast<hyp::domid_t>(w[0]);
        b.remote_port = w[1];
        if (const long rc = k_.hypercall(hyp::HYPERVISOR_event_channel_op, hyp::EVTCHNOP_bind_interdomain, &b, 1, d)) return rc;
        return bind(b.local_port, d);
    }
    case IOCTL_EVTCHN_BIND_UNBOUND_PORT: {
        if (restrict_ != UNRESTRICTED_DOMID) return -EACCES;
        if (!in(4)) return -EFAULT;
        hyp::evtchn_alloc_unbound a;
        a.dom = hyp::reserved_domid("DOMID_SELF").value();
        a.remote_dom = static_cast<hyp::domid_t>(w[0]);
        if (const long rc = k_.hypercall(hyp::HYPERVISOR_event_channel_op, hyp::EVTCHNOP_alloc_unbound, &a, 1, d)) return rc;
        return bind(a.port, d);
    }
    case IOCTL_EVTCHN_UNBIND: {
        if (!in(4)) return -EFAULT;
        if (w[0] >= nr_channels) return -EINVAL;
        if (!ports_.count(w[0])) return -ENOTCONN;
        unbind(w[0], d);
        return 0;
    }
    case IOCTL_EVTCHN_NOTIFY: {
        if (!in(4)) return -EFAULT;
        if (w[0] >= nr_channels) return -EINVAL;
        if (!ports_.count(w[0])) return -ENOTCONN;
        k_.evtchn_send(w[0], d);  // notify_remote_via_evtchn: its result is not checked
        return 0;
    }
    case IOCTL_EVTCHN_RESET:
        ring_.clear();
        overflow_ = false;
        return 0;
    case IOCTL_EVTCHN_RESTRICT_DOMID: {
        if (restrict_ != UNRESTRICTED_DOMID) return -EACCES;
        std::uint16_t dom = 0;
        if (p.copy_from_user(&dom, arg, 2, d)) return -EFAULT;
        if (dom == 0 || dom >= DOMID_FIRST_RESERVED) return -EINVAL;
        restrict_ = dom;
        return 0;
    }
    default:
        return -ENOSYS;  // evtchn_ioctl's default
    }
}

long xenevtchn::read(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t&, sc_time& d) {
    len &= ~(port_size - 1);  // whole ports
    if (len == 0) return 0;
    if (len > 4096) len = 4096;
    if (overflow_) return -EFBIG;
    const sc_time now = sc_core::sc_time_stamp() + d;
    std::vector<std::uint32_t> out;
    while (!ring_.empty() && out.size() * port_size < len && ring_.front().when <= now) {
        out.push_back(ring_.front().port);
        ring_.pop_front();
    }
    if (out.empty()) return -EAGAIN;
    if (p.copy_to_user(buf, out.data(), out.size() * port_size, d)) return -EFAULT;
    return static_cast<long>(out.size() * port_size);
}

long xenevtchn::write(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t&, sc_time& d) {
    len &= ~(port_size - 1);
    if (len == 0) return 0;
    if (len > 4096) len = 4096;
    std::vector<std::uint32_t> in(len / port_size);
    if (p.copy_from_user(in.data(), buf, len, d)) return -EFAULT;
    for (std::uint32_t port : in) {
        const auto it = port < nr_channels ? ports_.find(port) : ports_.end();
        if (it == ports_.end() || it->second.enabled) continue;
        it->second.enabled = true;
        k_.evtchn_unmask(port, d);
    }
    return static_cast<long>(len);
}

void xenevtchn::release(sc_time& d) {
    *alive_ = false;
    while (!ports_.empty()) unbind(ports_.begin()->first, d);
}

} // namespace iotwin::guest
