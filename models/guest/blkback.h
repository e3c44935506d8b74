// blkback: the back end of the split block driver, in the back-end domain's
// kernel (Linux's drivers/block/xen-blkback/, blkback.c and xenbus.c, as of
// Linux 6.x). One object is one ring of one virtual block device
// (struct xen_blkif_ring): the front end's ring page mapped with
// GNTTABOP_map_grant_ref at an unpopulated guest-physical address, the
// interdomain event channel bound to a kernel handler, and a RAM disk of
// pages of the back-end domain's own memory.
//
// The front end is never trusted: each request is copied out of the shared
// page once (__do_block_io_op's memcpy) and only the copy is validated and
// used; a req_prod more than a ring ahead of the responses halts the ring
// for good (RING_REQUEST_PROD_OVERFLOW, -EACCES); bad segment counts,
// sector ranges and segment bounds are answered BLKIF_RSP_ERROR
// (dispatch_rw_block_io, xen_vbd_translate); unknown operations
// BLKIF_RSP_EOPNOTSUPP (dispatch_other_io); a grant that cannot be copied
// or mapped fails the request with BLKIF_RSP_ERROR.
//
// Data moves by `mode`: copy (GNTTABOP_copy per segment, as netback and
// qemu's qdisk do), map (map, copy through the mapping, unmap: blkback
// without feature-persistent), persistent (blkback's persistent grants:
// mapped the first time a gref is seen, kept up to max_persistent_grants).
//
// Not modelled: indirect descriptors (BLKIF_OP_INDIRECT is answered as an
// operation the device does not support), discard (the RAM disk has none),
// multi-queue rings, the 32-bit protocol variants, xenstore negotiation.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "models/guest/blkif.h"
#include "models/hyp/hypercall.h"

namespace iotwin::guest {

class kernel;

struct blkback_options {
    blkif::mode mode = blkif::mode::copy;
    std::uint64_t sectors = 2048;              // the RAM disk's size, in 512-byte sectors
    std::uint32_t max_persistent_grants = 1056;  // xen_blkif_max_pgrants' default (blkback.c)
    sc_core::sc_time service = sc_core::SC_ZERO_TIME;  // the disk's own time per request
    bool readonly = false;                     // a read-only vbd (mode "r" in xenstore)
    // The vulnerable alternatives (each check of the real driver can be
    // skipped, to show what it keeps out):
    bool check_ring = true;    // RING_REQUEST_PROD_OVERFLOW in __do_block_io_op
    bool check_bounds = true;  // xen_vbd_translate's end-of-device check
};

class blkback {
public:
    blkback(kernel& k, hyp::domid_t frontend, blkback_options o);
    blkback(const blkback&) = delete;
    blkback& operator=(const blkback&) = delete;

    // xen_blkif_map: maps the ring grant and binds the front end's unbound
    // port. 0, or a negative errno (-ENOMEM, -EINVAL for a map refused,
    // the bind's errno).
    long connect(std::uint32_t ring_ref, std::uint32_t remote_port, sc_core::sc_time& d);
    // xen_blkif_disconnect: unbinds, unmaps the ring and every persistent grant.
    void disconnect(sc_core::sc_time& d);

    // The kernel thread's work once kicked (xen_blkif_schedule ->
    // do_block_io_op): consume requests, answer each, push the responses
    // and notify when the front end asked. 0, or -EACCES when the ring is
    // (or has just been) halted.
    long process(sc_core::sc_time& d);

    // Whether the event-channel handler ran since the last process() (xen_blkif_be_int's wake-up).
    const bool& kicked() const { return bell_.rung(); }
    sc_core::sc_event& kick_event() { return bell_.event(); }

    std::uint32_t port() const { return port_; }
    bool broken() const { return broken_; }
    std::uint64_t refused() const { return refused_; }
    const std::string& last_error() const { return last_error_; }
    std::uint64_t processed() const { return processed_; }
    std::uint64_t hypercalls() const { return hypercalls_; }
    std::size_t persistent_grants() const { return persistent_.size(); }
    const blkback_options& options() const { return o_; }
    // The RAM disk's bytes (the back-end domain's own loads): for checks.
    int disk_read(std::uint64_t byte, std::uint8_t* p, std::uint64_t n, sc_core::sc_time& d);

private:
    struct persistent_gnt {
        std::uint64_t gpa = 0;
        std::uint32_t handle = 0;
    };
    long hc(unsigned nr, unsigned cmd, void* arg, std::uint32_t count, sc_core::sc_time& d);
    std::int16_t dispatch(const blkif::request& r, sc_core::sc_time& d);
    std::int16_t rw(const blkif::request& r, bool write, sc_core::sc_time& d);
    bool move_copy(const blkif::request& r, bool write, sc_core::sc_time& d);
    bool move_map(const blkif::request& r, bool write, sc_core::sc_time& d);
    // A disk byte's guest-physical address in the back end's memory.
    std::uint64_t disk_gpa(std::uint64_t byte) const;
    bool disk_io(bool write, std::uint64_t byte, std::uint8_t* p, std::uint64_t n, sc_core::sc_time& d);
    void refuse(const std::string& why);
    void respond(std::uint64_t id, std::uint8_t op, std::int16_t status, sc_core::sc_time& d);

    kernel& k_;
    hyp::domid_t front_;
    blkback_options o_;
    std::vector<std::uint64_t> disk_;  // the disk's pages, in disk order
    std::uint64_t ring_gpa_ = 0;
    std::uint32_t ring_handle_ = 0;
    bool ring_mapped_ = false;
    std::uint32_t port_ = 0;
    bool bound_ = false;
    std::uint32_t req_cons_ = 0, rsp_prod_pvt_ = 0;
    bool broken_ = false;
    blkif::doorbell bell_;
    std::map<std::uint32_t, persistent_gnt> persistent_;  // gref -> its mapping
    std::uint64_t refused_ = 0, processed_ = 0, hypercalls_ = 0;
    std::string last_error_;
};

}  // namespace iotwin::guest
