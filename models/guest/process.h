// A process of a guest kernel: its descriptor table, its virtual address
// space (VMAs backed by pages of the domain's guest-physical memory), its
// resource limits and capabilities.
//
// A process's loads and stores go through its page tables (the VMAs'
// pages) and then through its domain's memory path (the hypervisor's
// second-stage translation, a granted page mapped there), so everything the
// hypervisor checks for a vCPU access is checked for a process's too.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <systemc>

#include "models/guest/file.h"
#include "models/hyp/hypercall.h"

namespace iotwin::guest {

class kernel;

constexpr std::uint64_t page_size = 4096;

// <sys/mman.h>
constexpr unsigned PROT_NONE = 0x0, PROT_READ = 0x1, PROT_WRITE = 0x2, PROT_EXEC = 0x4;
constexpr unsigned MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_TYPE = 0x0f, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20;

// Linux's capability numbers (include/uapi/linux/capability.h), for those the models check.
enum class capability : unsigned {
    CAP_CHOWN = 0, CAP_DAC_OVERRIDE = 1, CAP_KILL = 5, CAP_SETUID = 7, CAP_NET_ADMIN = 12, CAP_IPC_LOCK = 14,
    CAP_SYS_RAWIO = 17, CAP_SYS_PTRACE = 19, CAP_SYS_ADMIN = 21, CAP_SYS_RESOURCE = 24,
};
// Name <-> number; none for an unknown name.
std::optional<capability> capability_named(const std::string& name);
const char* capability_name(capability c);

// The rlimits the models check (RLIMIT_MEMLOCK, RLIMIT_NOFILE); none = RLIM_INFINITY.
struct rlimits {
    std::optional<std::uint64_t> memlock;  // bytes a process may lock (pinned pages count against it)
    std::optional<std::uint64_t> nofile;   // one more than the highest descriptor number it may open
};

// What a driver's mmap installs as vm_operations_struct.
struct vm_ops {
    virtual ~vm_ops() = default;
    // A copy of a VMA was made (fork, or the part a split leaves): `v` is the new one.
    virtual void open(struct vma& v) { (void)v; }
    // `v` goes away (munmap, exit), after its pages were unmapped from the process.
    virtual void close(struct vma& v, sc_core::sc_time& d) { (void)v; (void)d; }
    // munmap of part of `v` at `addr`: 0 lets the split happen, else the errno munmap fails with.
    virtual int may_split(struct vma& v, std::uint64_t addr) { (void)v; (void)addr; return 0; }
};

struct page_slot {
    static constexpr std::uint64_t none = ~std::uint64_t(0);
    std::uint64_t gpa = none;  // the page of the domain's guest-physical space; none: not present
    bool counted = false;      // the VMA holds a reference to the kernel page at gpa (kernel::get_page)
};

struct vma {
    std::uint64_t start = 0, end = 0;  // [start, end), page-aligned
    unsigned prot = PROT_NONE;         // PROT_*
    bool shared = false;               // MAP_SHARED (else private)
    bool dontcopy = false;             // VM_DONTCOPY: a child of fork() does not get it
    std::uint64_t pgoff = 0;           // the file offset of `start`, in pages
    file_ref file;                     // null for anonymous memory
    std::shared_ptr<vm_ops> ops;
    std::shared_ptr<void> private_data;  // vm_private_data
    std::vector<page_slot> pages;       // one per page of [start, end)

    std::uint64_t length() const { return end - start; }
    std::uint64_t npages() const { return length() / page_size; }
};

class process {
public:
    process(kernel& k, std::string name, int pid, rlimits lim, std::set<capability> caps);

    kernel& kern() { return k_; }
    const std::string& name() const { return name_; }
    int pid() const { return pid_; }
    hyp::domid_t domid() const;
    bool alive() const { return alive_; }
    bool capable(capability c) const { return caps_.count(c) > 0; }
    const rlimits& limits() const { return lim_; }
    // Locked (pinned) memory accounting, as account_locked_vm(): ENOMEM past
    // RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK.
    int account_locked(std::int64_t pages);
    std::uint64_t locked_pages() const { return locked_pages_; }

    // --- descriptors ---
    // The lowest free descriptor, or -EMFILE past RLIMIT_NOFILE (get_unused_fd).
    int next_fd() const;
    // Installs `f` at next_fd(), taking a reference: the descriptor or -EMFILE.
    int install(const file_ref& f);
    // The file behind `fd`, or null (EBADF).
    file_ref lookup(long fd) const;
    int close(long fd, sc_core::sc_time& d);  // 0 or -EBADF
    const std::map<int, file_ref>& fds() const { return fds_; }

    // --- system calls on a descriptor (0 / >= 0, or -errno) ---
    long ioctl(long fd, unsigned long cmd, std::uint64_t arg, sc_core::sc_time& d);
    long read(long fd, std::uint64_t buf, std::uint64_t len, sc_core::sc_time& d);
    long write(long fd, std::uint64_t buf, std::uint64_t len, sc_core::sc_time& d);
    long pread(long fd, std::uint64_t buf, std::uint64_t len, std::uint64_t off, sc_core::sc_time& d);
    long pwrite(long fd, std::uint64_t buf, std::uint64_t len, std::uint64_t off, sc_core::sc_time& d);

    // --- the address space ---
    // do_mmap: `fd` < 0 with MAP_ANONYMOUS for anonymous memory. Returns the
    // address, or -errno (EINVAL: zero or unaligned length/offset, no or both
    // of MAP_SHARED/MAP_PRIVATE; EBADF; ENODEV: the file has no mmap; ENOMEM:
    // no room or no pages; and the driver's own errors).
    long mmap(std::uint64_t addr, std::uint64_t length, unsigned prot, unsigned flags, long fd, std::uint64_t offset,
              sc_core::sc_time& d);
    // Anonymous private memory, zeroed (mmap(NULL, size, prot, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)).
    long alloc(std::uint64_t size, unsigned prot, sc_core::sc_time& d);
    // Removes every page of [addr, addr + length) (0, or -EINVAL for an unaligned
    // address or a zero length; a range with nothing mapped is not an error).
    int munmap(std::uint64_t addr, std::uint64_t length, sc_core::sc_time& d);
    const vma* find_vma(std::uint64_t addr) const;
    vma* find_vma(std::uint64_t addr);
    const std::map<std::uint64_t, vma>& vmas() const { return vmas_; }

    // Loads and stores as the process: through the VMAs (EFAULT where no page
    // is mapped, or on a store to a page without PROT_WRITE, or a load from
    // one without PROT_READ), then the domain's memory path. 0 or a positive errno.
    int access(bool write, std::uint64_t vaddr, std::uint8_t* data, std::uint64_t len, sc_core::sc_time& d);
    // copy_from_user / copy_to_user as a driver does them: the bytes NOT copied (0 on success).
    std::uint64_t copy_from_user(void* to, std::uint64_t from, std::uint64_t len, sc_core::sc_time& d);
    std::uint64_t copy_to_user(std::uint64_t to, const void* from, std::uint64_t len, sc_core::sc_time& d);
    // The guest-physical address behind a user address (none: not mapped).
    std::optional<std::uint64_t> user_gpa(std::uint64_t vaddr) const;

    // A scratch area of user memory for the arguments the twin passes to a
    // system call (the program's own buffers): at least `len` bytes, reused.
    // Its pages never fail to allocate (they are the program's, made before the step).
    std::uint64_t scratch(std::uint64_t len, sc_core::sc_time& d);

    // fork(): a child sharing every descriptor and every shared mapping;
    // private mappings are copied (VM_DONTCOPY ones are left out).
    process* fork(const std::string& child_name, sc_core::sc_time& d);
    // do_exit: the address space goes first (exit_mm), then the descriptors (exit_files).
    void exit(sc_core::sc_time& d);

private:
    friend class kernel;
    std::uint64_t find_free(std::uint64_t length) const;
    void unmap_vma(std::map<std::uint64_t, vma>::iterator it, sc_core::sc_time& d);
    void split(std::uint64_t at);
    long file_rw(bool write, long fd, std::uint64_t buf, std::uint64_t len, std::optional<std::uint64_t> off, sc_core::sc_time& d);

    kernel& k_;
    std::string name_;
    int pid_;
    rlimits lim_;
    std::set<capability> caps_;
    bool alive_ = true;
    std::map<int, file_ref> fds_;
    std::map<std::uint64_t, vma> vmas_;  // by start
    std::uint64_t locked_pages_ = 0;
    std::uint64_t scratch_addr_ = 0, scratch_len_ = 0;
};

} // namespace iotwin::guest
