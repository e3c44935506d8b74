// An open file of a guest kernel (Linux's struct file with its
// file_operations): what a process's descriptor refers to. Drivers
// (gntalloc, gntdev, /dev/xen/evtchn, eventfd, /dev/lguest) derive from it.
//
// References are counted as Linux's f_count: every descriptor that refers to
// the file (dup, fork) and every mapping made from it (vma->vm_file) holds
// one. release() runs when the last goes, so a mapping outlives the close of
// its descriptor and the driver's ->release comes after the last munmap.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <systemc>

namespace iotwin::guest {

class process;
struct vma;

class file {
public:
    virtual ~file() = default;

    // The driver's name ("gntalloc", "eventfd", "null"): for messages and reports.
    virtual std::string kind() const = 0;

    // The file_operations. Each returns the system call's value: >= 0, or a
    // negative errno. `arg` is the ioctl's argument as the process passed it
    // (a user address, read with process::copy_from_user, or 0 for NULL).
    // The defaults are what Linux answers for an operation the driver lacks.
    virtual long ioctl(process& p, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d);  // -ENOTTY
    virtual long read(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d);   // -EINVAL
    virtual long write(process& p, std::uint64_t buf, std::uint64_t len, std::uint64_t& pos, sc_core::sc_time& d);  // -EINVAL
    // Called by do_mmap once the new VMA is set up (start, end, prot, flags,
    // pgoff): the driver fills its pages or refuses. The default (no ->mmap) is -ENODEV.
    virtual long mmap(process& p, vma& v, sc_core::sc_time& d);
    // The last reference is gone (->release). The file is dropped afterwards.
    virtual void release(sc_core::sc_time& d) { (void)d; }

    long refs = 0;           // f_count: managed by the kernel (kernel::fget / fput)
    std::uint64_t pos = 0;   // f_pos: read and write without an offset go on from here
};

using file_ref = std::shared_ptr<file>;

} // namespace iotwin::guest
