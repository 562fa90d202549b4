#include "sim/stats/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace lwm2msim {
namespace {

using Layout = HistogramLayout;

constexpr uint64_t kExactLimit = uint64_t{1} << Layout::kSubBucketBits;  // 128 exact buckets
constexpr int kHalfBits = Layout::kSubBucketBits - 1;
constexpr uint64_t kSubBuckets = uint64_t{1} << kHalfBits;  // 64 per power of two

constexpr size_t bucket_index(uint64_t value) {
  value = std::min(value, Layout::kMaxValue);
  if (value < kExactLimit) {
    return static_cast<size_t>(value);
  }
  // For value in [2^k, 2^(k+1)), k >= 7: the 6 bits after the leading one pick the sub-bucket.
  const auto k = static_cast<int>(std::bit_width(value)) - 1;
  const uint64_t sub = (value >> (k - kHalfBits)) & (kSubBuckets - 1);
  return static_cast<size_t>(kExactLimit + (k - Layout::kSubBucketBits) * kSubBuckets + sub);
}

constexpr uint64_t bucket_lower(size_t bucket) {
  if (bucket < kExactLimit) {
    return bucket;
  }
  const uint64_t rel = bucket - kExactLimit;
  const int k = static_cast<int>(rel / kSubBuckets) + Layout::kSubBucketBits;
  return (kSubBuckets + rel % kSubBuckets) << (k - kHalfBits);
}

constexpr uint64_t bucket_upper(size_t bucket) {
  if (bucket < kExactLimit) {
    return bucket;
  }
  const int k = static_cast<int>((bucket - kExactLimit) / kSubBuckets) + Layout::kSubBucketBits;
  return bucket_lower(bucket) + (uint64_t{1} << (k - kHalfBits)) - 1;
}

// The bucket count must be exactly what the mapping produces, with kMaxValue closing the last one.
static_assert(bucket_index(Layout::kMaxValue) == Layout::kBucketCount - 1);
static_assert(bucket_upper(Layout::kBucketCount - 1) == Layout::kMaxValue);
static_assert(bucket_lower(kExactLimit) == kExactLimit);

}  // namespace

size_t HistogramLayout::bucket_of(uint64_t value) {
  return bucket_index(value);
}

uint64_t HistogramLayout::upper_bound(size_t bucket) {
  return bucket_upper(std::min(bucket, kBucketCount - 1));
}

uint64_t HistogramLayout::lower_bound(size_t bucket) {
  return bucket_lower(std::min(bucket, kBucketCount - 1));
}

void HistogramSnapshot::merge(const HistogramSnapshot& other) {
  for (size_t i = 0; i < buckets_.size(); ++i) {
    buckets_[i] += other.buckets_[i];
  }
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void HistogramSnapshot::add(uint64_t value, uint64_t times) {
  if (times == 0) {
    return;
  }
  value = std::min(value, HistogramLayout::kMaxValue);
  buckets_[HistogramLayout::bucket_of(value)] += times;
  count_ += times;
  sum_ += value * times;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

double HistogramSnapshot::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

uint64_t HistogramSnapshot::percentile(double p) const {
  if (count_ == 0) {
    return 0;
  }
  if (!(p > 0.0)) {  // also catches NaN
    return min();
  }
  if (p >= 100.0) {
    return max_;
  }
  // p * count is exact for integral p, so a rank that is a whole number is not rounded up.
  const double rank = std::ceil(p * static_cast<double>(count_) / 100.0);
  const uint64_t target = std::clamp<uint64_t>(static_cast<uint64_t>(rank), 1, count_);
  uint64_t seen = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= target) {
      return std::clamp(HistogramLayout::upper_bound(b), min(), max_);
    }
  }
  return max_;
}

uint64_t HistogramSnapshot::count_at_or_below(uint64_t value) const {
  if (value >= HistogramLayout::kMaxValue) {
    return count_;
  }
  size_t end = HistogramLayout::bucket_of(value);
  if (HistogramLayout::upper_bound(end) == value) {
    ++end;  // the bucket ends exactly at value, so all of it counts
  }
  uint64_t n = 0;
  for (size_t b = 0; b < end; ++b) {
    n += buckets_[b];
  }
  return n;
}

Histogram::Histogram() {
  for (auto& b : buckets_) {
    b.store(0, std::memory_order_relaxed);
  }
}

void Histogram::record(uint64_t value) {
  // Single writer: plain load + store keeps the hot path free of locked instructions.
  constexpr auto kRelaxed = std::memory_order_relaxed;
  value = std::min(value, HistogramLayout::kMaxValue);
  auto& bucket = buckets_[HistogramLayout::bucket_of(value)];
  bucket.store(bucket.load(kRelaxed) + 1, kRelaxed);
  sum_.store(sum_.load(kRelaxed) + value, kRelaxed);
  if (value < min_.load(kRelaxed)) {
    min_.store(value, kRelaxed);
  }
  if (value > max_.load(kRelaxed)) {
    max_.store(value, kRelaxed);
  }
}

HistogramSnapshot Histogram::snapshot() const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  HistogramSnapshot s;
  // A concurrent record() may be half visible. The count is derived from the buckets read so
  // percentiles add up, and min/max are pulled into the first/last non-empty bucket.
  size_t first = buckets_.size();
  size_t last = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const uint64_t n = buckets_[b].load(kRelaxed);
    s.buckets_[b] = n;
    s.count_ += n;
    if (n != 0) {
      first = std::min(first, b);
      last = b;
    }
  }
  if (s.count_ == 0) {
    return s;
  }
  s.sum_ = sum_.load(kRelaxed);
  s.min_ = std::clamp(min_.load(kRelaxed), HistogramLayout::lower_bound(first),
                      HistogramLayout::upper_bound(first));
  s.max_ = std::clamp(max_.load(kRelaxed), HistogramLayout::lower_bound(last),
                      HistogramLayout::upper_bound(last));
  return s;
}

}  // namespace lwm2msim
