// /dev/xen/evtchn (Linux drivers/xen/evtchn.c, as today's kernels have it):
// event-channel ports for processes. Each open file keeps the ports it bound
// and a ring of the ports that fired; a port that fires is disabled until
// the process writes it back (the lateeoi scheme), so it is queued once.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <memory>

#include "models/guest/file.h"
#include "models/hyp/hypercall.h"

namespace iotwin::guest {

class kernel;

// include/uapi/xen/evtchn.h: _IOC(_IOC_NONE, 'E', nr, sizeof(struct ...)).
constexpr unsigned long IOCTL_EVTCHN_BIND_VIRQ = 0x44500, IOCTL_EVTCHN_BIND_INTERDOMAIN = 0x84501,
                        IOCTL_EVTCHN_BIND_UNBOUND_PORT = 0x44502, IOCTL_EVTCHN_UNBIND = 0x44503,
                        IOCTL_EVTCHN_NOTIFY = 0x44504, IOCTL_EVTCHN_RESET = 0x4505, IOCTL_EVTCHN_RESTRICT_DOMID = 0x24506;
// struct ioctl_evtchn_bind_interdomain { uint32_t remote_domain, remote_port; } and the
// one-field structures: bind_virq { virq }, bind_unbound_port { remote_domain },
// unbind / notify { port }, restrict_domid { domid_t domid }.
constexpr hyp::domid_t UNRESTRICTED_DOMID = 0xffff;  // (domid_t)-1
constexpr hyp::domid_t DOMID_FIRST_RESERVED = 0x7ff0;

class xenevtchn : public file {
public:
    explicit xenevtchn(kernel& k) : k_(k) {}
    std::string kind() const override { return "evtchn"; }
    long ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d) override;
    // Reads whole ports (4 bytes each) that fired: -EAGAIN when none (the twin's reads never block).
    long read(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d) override;
    // Writes ports back: each one bound here and disabled is enabled again (unmasked).
    long write(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d) override;
    void release(sc_core::sc_time& d) override;

    bool bound(std::uint32_t port) const { return ports_.count(port) > 0; }

private:
    struct state {
        bool enabled = true;
    };
    long bind(std::uint32_t port, sc_core::sc_time& d);  // evtchn_bind_to_user
    void unbind(std::uint32_t port, sc_core::sc_time& d);
    void fired(std::uint32_t port, const sc_core::sc_time& when);

    kernel& k_;
    std::map<std::uint32_t, state> ports_;
    struct queued {
        std::uint32_t port;
        sc_core::sc_time when;  // the upcall's arrival: not readable before
    };
    std::deque<queued> ring_;
    std::size_t ring_size_ = 64;
    bool overflow_ = false;
    hyp::domid_t restrict_ = UNRESTRICTED_DOMID;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // handlers outliving the file do nothing
};

} // namespace iotwin::guest
