// A domain's IOVA flush queue: deferred IOTLB invalidation as Linux 6.1's DMA
// API does it for a DMA domain in lazy mode (iommu.strict=0):
// drivers/iommu/dma-iommu.c queue_iova / fq_flush_iotlb / fq_flush_timeout.
// An unmap clears the page-table entries and returns; its IOTLB invalidation
// waits in the queue. The queue is flushed (one domain-wide invalidation,
// flush_iotlb_all, which intel-iommu carries out as a domain-selective IOTLB
// invalidation) when an unmap finds it full (IOVA_FQ_SIZE = 256 entries) or
// when the timer armed by the first entry after a flush expires
// (IOVA_FQ_TIMEOUT = 10 ms). Until then, the IOTLB may keep translating the
// unmapped IOVAs: the stale window of deferred invalidation.
// A plain class: the hypervisor owns the timer and the invalidation itself.
#pragma once
#include <cstdint>

#include <systemc>

namespace iotwin::hyp {

enum class invalidation_mode { strict, deferred };

class flush_queue {
public:
    // Linux 6.1 dma-iommu.c: IOVA_FQ_SIZE 256, IOVA_FQ_TIMEOUT 10 (ms).
    static constexpr unsigned capacity = 256;
    static sc_core::sc_time timeout() { return sc_core::sc_time(10, sc_core::SC_MS); }

    bool full() const { return entries_ == capacity; }
    bool empty() const { return entries_ == 0; }
    unsigned size() const { return entries_; }
    // Queues one unmapped range; true when this arms the timer (the queue's
    // first entry since the timer last fired), whose generation is then armed().
    bool push() {
        ++entries_;
        ++queued_;
        if (timer_on_) return false;
        timer_on_ = true;
        ++generation_;
        return true;
    }
    // The queue was flushed: every entry is done.
    void flushed() { entries_ = 0; ++flushes_; }
    // The timer fired: it is off until the next entry arms it again.
    void timer_fired() { timer_on_ = false; }
    bool timer_on() const { return timer_on_; }
    std::uint64_t armed() const { return generation_; }
    std::uint64_t queued() const { return queued_; }
    std::uint64_t flushes() const { return flushes_; }

private:
    unsigned entries_ = 0;
    bool timer_on_ = false;
    std::uint64_t generation_ = 0, queued_ = 0, flushes_ = 0;
};

} // namespace iotwin::hyp
