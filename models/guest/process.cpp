#include "models/guest/process.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "models/guest/kernel.h"
#include "models/hyp/hypervisor.h"

namespace iotwin::guest {

using sc_core::sc_time;

namespace {

const std::pair<const char*, capability> capability_names[] = {
    {"CAP_CHOWN", capability::CAP_CHOWN},         {"CAP_DAC_OVERRIDE", capability::CAP_DAC_OVERRIDE},
    {"CAP_KILL", capability::CAP_KILL},           {"CAP_SETUID", capability::CAP_SETUID},
    {"CAP_NET_ADMIN", capability::CAP_NET_ADMIN}, {"CAP_IPC_LOCK", capability::CAP_IPC_LOCK},
    {"CAP_SYS_RAWIO", capability::CAP_SYS_RAWIO}, {"CAP_SYS_PTRACE", capability::CAP_SYS_PTRACE},
    {"CAP_SYS_ADMIN", capability::CAP_SYS_ADMIN}, {"CAP_SYS_RESOURCE", capability::CAP_SYS_RESOURCE},
};

// User addresses: mmap places mappings top-down from here (x86-64's
// TASK_SIZE less a stack gap), the lowest address a mapping may take is
// mmap_min_addr's usual 64 KiB.
constexpr std::uint64_t mmap_base = 0x7f0000000000ull;
constexpr std::uint64_t mmap_min_addr = 0x10000;
constexpr std::uint64_t task_size = 0x7ffffffff000ull;

bool aligned(std::uint64_t v) { return v % page_size == 0; }

}  // namespace

std::optional<capability> capability_named(const std::string& name) {
    for (const auto& [n, c] : capability_names)
        if (name == n) return c;
    return std::nullopt;
}

const char* capability_name(capability c) {
    for (const auto& [n, v] : capability_names)
        if (v == c) return n;
    return "CAP_?";
}

process::process(kernel& k, std::string name, int pid, rlimits lim, std::set<capability> caps)
    : k_(k), name_(std::move(name)), pid_(pid), lim_(lim), caps_(std::move(caps)) {}

hyp::domid_t process::domid() const { return k_.domid(); }

int process::account_locked(std::int64_t pages) {
    if (pages > 0 && lim_.memlock && !capable(capability::CAP_IPC_LOCK) &&
        (locked_pages_ + static_cast<std::uint64_t>(pages)) * page_size > *lim_.memlock)
        return ENOMEM;
    locked_pages_ = pages < 0 && static_cast<std::uint64_t>(-pages) > locked_pages_ ? 0 : locked_pages_ + pages;
    return 0;
}

// ---- descriptors ----

int process::next_fd() const {
    const long max = lim_.nofile ? static_cast<long>(*lim_.nofile) : 1048576;  // fs.nr_open's default
    int fd = 0;
    for (const auto& [n, _] : fds_) {
        if (n != fd) break;
        ++fd;
    }
    return fd >= max ? -EMFILE : fd;
}

int process::install(const file_ref& f) {
    const int fd = next_fd();
    if (fd < 0) return fd;
    k_.fget(f);
    fds_[fd] = f;
    return fd;
}

file_ref process::lookup(long fd) const {
    const auto it = fds_.find(static_cast<int>(fd));
    return fd < 0 || fd > INT32_MAX || it == fds_.end() ? nullptr : it->second;
}

int process::close(long fd, sc_time& d) {
    d += k_.timing().syscall;
    const file_ref f = lookup(fd);
    if (!f) return -EBADF;
    fds_.erase(static_cast<int>(fd));
    k_.fput(f, d);
    return 0;
}

long process::ioctl(long fd, unsigned long cmd, std::uint64_t arg, sc_time& d) {
    d += k_.timing().syscall;
    const file_ref f = lookup(fd);
    return f ? f->ioctl(*this, cmd, arg, d) : -EBADF;
}

long process::file_rw(bool write, long fd, std::uint64_t buf, std::uint64_t len, std::optional<std::uint64_t> off, sc_time& d) {
    d += k_.timing().syscall;
    const file_ref f = lookup(fd);
    if (!f) return -EBADF;
    std::uint64_t pos = off ? *off : f->pos;
    const long r = write ? f->write(*this, buf, len, pos, d) : f->read(*this, buf, len, pos, d);
    if (!off) f->pos = pos;
    return r;
}

long process::read(long fd, std::uint64_t buf, std::uint64_t len, sc_time& d) { return file_rw(false, fd, buf, len, std::nullopt, d); }
long process::write(long fd, std::uint64_t buf, std::uint64_t len, sc_time& d) { return file_rw(true, fd, buf, len, std::nullopt, d); }
long process::pread(long fd, std::uint64_t buf, std::uint64_t len, std::uint64_t off, sc_time& d) {
    return file_rw(false, fd, buf, len, off, d);
}
long process::pwrite(long fd, std::uint64_t buf, std::uint64_t len, std::uint64_t off, sc_time& d) {
    return file_rw(true, fd, buf, len, off, d);
}

// ---- the address space ----

std::uint64_t process::find_free(std::uint64_t length) const {
    // Top-down: the highest gap below mmap_base that fits.
    std::uint64_t top = mmap_base;
    for (auto it = vmas_.rbegin(); it != vmas_.rend(); ++it) {
        const vma& v = it->second;
        if (v.start >= top) continue;
        if (v.end <= top && top - v.end >= length) return top - length;
        top = std::min(top, v.start);
    }
    return top >= mmap_min_addr + length ? top - length : 0;
}

long process::mmap(std::uint64_t addr, std::uint64_t length, unsigned prot, unsigned flags, long fd, std::uint64_t offset,
                   sc_time& d) {
    d += k_.timing().syscall;
    // do_mmap / ksys_mmap_pgoff's checks, in their order.
    if (!aligned(offset)) return -EINVAL;
    if (length == 0) return -EINVAL;
    const std::uint64_t len = (length + page_size - 1) & ~(page_size - 1);
    if (len < length || len > task_size) return -ENOMEM;
    const unsigned type = flags & MAP_TYPE;
    if (type != MAP_SHARED && type != MAP_PRIVATE) return -EINVAL;
    file_ref f;
    if (!(flags & MAP_ANONYMOUS)) {
        f = lookup(fd);
        if (!f) return -EBADF;
    }
    std::uint64_t start = 0;
    if (flags & MAP_FIXED) {
        if (!aligned(addr) || addr < mmap_min_addr || addr + len > task_size) return -EINVAL;
        start = addr;
        munmap(start, len, d);
    } else {
        start = find_free(len);
        if (!start) return -ENOMEM;
    }
    vma v;
    v.start = start;
    v.end = start + len;
    v.prot = prot;
    v.shared = type == MAP_SHARED;
    v.pgoff = offset / page_size;
    v.pages.resize(len / page_size);
    if (f) {
        v.file = f;
        k_.fget(f);
        const long r = f->mmap(*this, v, d);
        if (r < 0) {
            // The driver refused: nothing was mapped (its pages, if any, go back).
            for (page_slot& s : v.pages)
                if (s.counted) k_.put_page(s.gpa);
            k_.fput(f, d);
            return r;
        }
    } else {
        for (page_slot& s : v.pages) {
            const auto gpa = k_.alloc_page(d);
            if (!gpa) {
                for (page_slot& t : v.pages)
                    if (t.counted) k_.put_page(t.gpa);
                return -ENOMEM;
            }
            s = {*gpa, true};
        }
    }
    vmas_.emplace(start, std::move(v));
    return static_cast<long>(start);
}

long process::alloc(std::uint64_t size, unsigned prot, sc_time& d) {
    return mmap(0, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, d);
}

void process::split(std::uint64_t at) {
    auto it = vmas_.upper_bound(at);
    if (it == vmas_.begin()) return;
    --it;
    vma& v = it->second;
    if (at <= v.start || at >= v.end) return;
    vma tail = v;  // copies the file, ops and private data references
    const std::uint64_t head_pages = (at - v.start) / page_size;
    tail.start = at;
    tail.pgoff = v.pgoff + head_pages;
    tail.pages.assign(v.pages.begin() + static_cast<long>(head_pages), v.pages.end());
    v.end = at;
    v.pages.resize(head_pages);
    if (tail.file) k_.fget(tail.file);
    if (tail.ops) tail.ops->open(tail);
    vmas_.emplace(at, std::move(tail));
}

void process::unmap_vma(std::map<std::uint64_t, vma>::iterator it, sc_time& d) {
    vma v = std::move(it->second);
    vmas_.erase(it);
    // The pages leave the page tables first (zap_page_range), then the
    // driver's close, then the file reference (remove_vma: fput).
    for (page_slot& s : v.pages)
        if (s.counted) k_.put_page(s.gpa);
    if (v.ops) v.ops->close(v, d);
    if (v.file) k_.fput(v.file, d);
}

int process::munmap(std::uint64_t addr, std::uint64_t length, sc_time& d) {
    d += k_.timing().syscall;
    if (!aligned(addr) || addr > task_size || length == 0 || length > task_size - addr) return -EINVAL;
    const std::uint64_t end = addr + ((length + page_size - 1) & ~(page_size - 1));
    // Splits may be refused by the driver (vm_ops->may_split).
    for (std::uint64_t at : {addr, end}) {
        vma* v = find_vma(at);
        if (v && at > v->start && v->ops)
            if (const int e = v->ops->may_split(*v, at)) return -e;
    }
    split(addr);
    split(end);
    for (auto it = vmas_.lower_bound(addr); it != vmas_.end() && it->first < end;) {
        auto next = std::next(it);
        unmap_vma(it, d);
        it = next;
    }
    return 0;
}

const vma* process::find_vma(std::uint64_t addr) const {
    auto it = vmas_.upper_bound(addr);
    if (it == vmas_.begin()) return nullptr;
    --it;
    return addr < it->second.end ? &it->second : nullptr;
}

vma* process::find_vma(std::uint64_t addr) { return const_cast<vma*>(static_cast<const process*>(this)->find_vma(addr)); }

std::optional<std::uint64_t> process::user_gpa(std::uint64_t vaddr) const {
    const vma* v = find_vma(vaddr);
    if (!v) return std::nullopt;
    const page_slot& s = v->pages[(vaddr - v->start) / page_size];
    if (s.gpa == page_slot::none) return std::nullopt;
    return s.gpa + vaddr % page_size;
}

int process::access(bool write, std::uint64_t vaddr, std::uint8_t* data, std::uint64_t len, sc_time& d) {
    if (!alive_) return ESRCH;
    if (vaddr + len < vaddr) return EFAULT;
    // Every page is checked before any byte moves, so a fault leaves memory unchanged.
    for (std::uint64_t a = vaddr & ~(page_size - 1); a < vaddr + len; a += page_size) {
        const vma* v = find_vma(a);
        if (!v || !user_gpa(a) || !(v->prot & (write ? PROT_WRITE : PROT_READ))) return EFAULT;
    }
    while (len > 0) {
        const std::uint64_t n = std::min(len, page_size - vaddr % page_size);
        if (const int e = k_.access(write, *user_gpa(vaddr), data, n, d)) return e;
        vaddr += n;
        data += n;
        len -= n;
    }
    return 0;
}

std::uint64_t process::copy_from_user(void* to, std::uint64_t from, std::uint64_t len, sc_time& d) {
    // Byte-exact like Linux's: copies what it can page by page, returns what it could not.
    auto* p = static_cast<std::uint8_t*>(to);
    std::uint64_t done = 0;
    while (done < len) {
        const std::uint64_t n = std::min(len - done, page_size - (from + done) % page_size);
        const vma* v = find_vma(from + done);
        if (!v || !user_gpa(from + done) || !(v->prot & PROT_READ)) break;
        if (k_.access(false, *user_gpa(from + done), p + done, n, d)) break;
        done += n;
    }
    if (done < len) std::memset(p + done, 0, len - done);  // the uncopied tail is zeroed
    return len - done;
}

std::uint64_t process::copy_to_user(std::uint64_t to, const void* from, std::uint64_t len, sc_time& d) {
    const auto* p = static_cast<const std::uint8_t*>(from);
    std::uint64_t done = 0;
    while (done < len) {
        const std::uint64_t n = std::min(len - done, page_size - (to + done) % page_size);
        const vma* v = find_vma(to + done);
        if (!v || !user_gpa(to + done) || !(v->prot & PROT_WRITE)) break;
        if (k_.access(true, *user_gpa(to + done), const_cast<std::uint8_t*>(p + done), n, d)) break;
        done += n;
    }
    return len - done;
}

std::uint64_t process::scratch(std::uint64_t len, sc_time& d) {
    const std::uint64_t need = std::max<std::uint64_t>(page_size, (len + page_size - 1) & ~(page_size - 1));
    if (scratch_len_ >= need) return scratch_addr_;
    if (scratch_len_) munmap(scratch_addr_, scratch_len_, d);
    const std::uint64_t start = find_free(need);
    vma v;
    v.start = start;
    v.end = start + need;
    v.prot = PROT_READ | PROT_WRITE;
    v.pages.resize(need / page_size);
    for (page_slot& s : v.pages) s = {*k_.alloc_page(d, false), true};
    vmas_.emplace(start, std::move(v));
    scratch_addr_ = start;
    scratch_len_ = need;
    return start;
}

process* process::fork(const std::string& child_name, sc_time& d) {
    if (!alive_) return nullptr;
    process& c = k_.spawn(child_name, lim_, caps_);
    for (const auto& [fd, f] : fds_) {
        k_.fget(f);
        c.fds_[fd] = f;
    }
    for (const auto& [start, v] : vmas_) {
        if (v.dontcopy) continue;
        vma n = v;
        if (v.shared || v.file) {
            // Shared mappings (and a driver's pages) are the same pages in both.
            for (page_slot& s : n.pages)
                if (s.counted) k_.get_page(s.gpa);
        } else {
            // Private anonymous memory: the child gets its own copy (copy-on-write, done eagerly).
            for (page_slot& s : n.pages) {
                if (s.gpa == page_slot::none) continue;
                const auto gpa = k_.alloc_page(d, false);
                std::vector<std::uint8_t> buf(page_size);
                k_.access(false, s.gpa, buf.data(), page_size, d);
                k_.access(true, *gpa, buf.data(), page_size, d);
                s = {*gpa, true};
            }
        }
        if (n.file) k_.fget(n.file);
        if (n.ops) n.ops->open(n);
        c.vmas_.emplace(start, std::move(n));
    }
    c.scratch_addr_ = scratch_addr_;
    c.scratch_len_ = scratch_len_;
    return &c;
}

void process::exit(sc_time& d) {
    if (!alive_) return;
    // exit_mm, then exit_files.
    while (!vmas_.empty()) unmap_vma(vmas_.begin(), d);
    scratch_len_ = 0;
    while (!fds_.empty()) close(fds_.begin()->first, d);
    if (locked_pages_) account_locked(-static_cast<std::int64_t>(locked_pages_));
    alive_ = false;
}

} // namespace iotwin::guest
