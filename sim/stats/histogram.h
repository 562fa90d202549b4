// stats: per-worker counters and latency histograms; one thread writes, any thread reads.
// Readers take snapshots and merge them, so the hot path never shares a cache line.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace lwm2msim {

// Log-linear bucketing (HdrHistogram style): values below 2^kSubBucketBits are exact, above
// that each power of two is split into 2^(kSubBucketBits-1) buckets, so the relative error of
// any reported value is below 2^-(kSubBucketBits-1) (1.6%). Values above kMaxValue are clamped.
struct HistogramLayout {
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kMaxValue = (uint64_t{1} << 40) - 1;  // ~12.7 days in microseconds
  static constexpr size_t kBucketCount = 64 + 34 * 64;

  static size_t bucket_of(uint64_t value);
  // Largest value that falls into the bucket.
  static uint64_t upper_bound(size_t bucket);
  // Smallest value that falls into the bucket.
  static uint64_t lower_bound(size_t bucket);
};

// A plain, mergeable copy of a histogram's contents.
class HistogramSnapshot {
 public:
  HistogramSnapshot() { buckets_.fill(0); }

  void merge(const HistogramSnapshot& other);
  void add(uint64_t value, uint64_t times = 1);

  uint64_t count() const { return count_; }
  uint64_t sum() const { return sum_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const;
  // Smallest recorded-bucket upper bound v such that at least p% of samples are <= v, clamped
  // to [min, max]. p in [0, 100]; 0 on an empty histogram.
  uint64_t percentile(double p) const;
  // Samples <= value, counting whole buckets (for cumulative Prometheus buckets).
  uint64_t count_at_or_below(uint64_t value) const;

  std::span<const uint64_t> buckets() const { return buckets_; }

 private:
  friend class Histogram;  // fills a snapshot field by field

  std::array<uint64_t, HistogramLayout::kBucketCount> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

// Single-writer histogram: record() uses relaxed loads and stores (no locked instructions), and
// snapshot() may run on any thread at any time.
class Histogram {
 public:
  Histogram();
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void record(uint64_t value);
  HistogramSnapshot snapshot() const;

 private:
  // No separate count: snapshot() sums the buckets, so a torn read still adds up.
  std::array<std::atomic<uint64_t>, HistogramLayout::kBucketCount> buckets_;
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> min_{UINT64_MAX};
  std::atomic<uint64_t> max_{0};
};

// Single-writer monotonic counter, readable from any thread.
class Counter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Single-writer gauge (may go down), readable from any thread.
class Gauge {
 public:
  void add(int64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

}  // namespace lwm2msim
