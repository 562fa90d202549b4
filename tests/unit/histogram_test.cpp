#include "sim/stats/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

#include "sim/util/rng.h"

namespace lwm2msim {
namespace {

using Layout = HistogramLayout;

TEST(HistogramLayout, BucketsAreContiguousAndCoverEveryValue) {
  EXPECT_EQ(Layout::lower_bound(0), 0u);
  for (size_t b = 0; b < Layout::kBucketCount; ++b) {
    const uint64_t lo = Layout::lower_bound(b);
    const uint64_t hi = Layout::upper_bound(b);
    ASSERT_LE(lo, hi) << b;
    ASSERT_EQ(Layout::bucket_of(lo), b);
    ASSERT_EQ(Layout::bucket_of(hi), b);
    if (b + 1 < Layout::kBucketCount) {
      ASSERT_EQ(Layout::lower_bound(b + 1), hi + 1) << b;
    }
  }
  EXPECT_EQ(Layout::upper_bound(Layout::kBucketCount - 1), Layout::kMaxValue);
  EXPECT_EQ(Layout::bucket_of(Layout::kMaxValue), Layout::kBucketCount - 1);
}

TEST(HistogramLayout, SmallValuesAreExact) {
  for (uint64_t v = 0; v < 128; ++v) {
    EXPECT_EQ(Layout::bucket_of(v), v);
    EXPECT_EQ(Layout::lower_bound(v), v);
    EXPECT_EQ(Layout::upper_bound(v), v);
  }
  EXPECT_EQ(Layout::bucket_of(128), 128u);
  EXPECT_EQ(Layout::upper_bound(128), 129u);
}

TEST(HistogramLayout, MappingIsMonotonicWithBoundedRelativeError) {
  Rng rng(7);
  const double bound = std::ldexp(1.0, -(Layout::kSubBucketBits - 1));
  uint64_t prev_value = 0;
  size_t prev_bucket = 0;
  // Walk upwards with random strides of every magnitude.
  for (int i = 0; i < 200'000 && prev_value < Layout::kMaxValue; ++i) {
    const int bits = static_cast<int>(rng.below(
        static_cast<uint64_t>(std::max(1, static_cast<int>(std::bit_width(prev_value)) - 4))));
    const uint64_t value = prev_value + 1 + rng.below(uint64_t{1} << bits);
    const size_t b = Layout::bucket_of(value);
    ASSERT_GE(b, prev_bucket) << value;
    const uint64_t reported = Layout::upper_bound(b);
    ASSERT_GE(reported, std::min(value, Layout::kMaxValue));
    if (value <= Layout::kMaxValue) {
      const double err = static_cast<double>(reported - value) / static_cast<double>(value);
      ASSERT_LT(err, bound) << value;
    }
    prev_value = value;
    prev_bucket = b;
  }
  for (int k = 0; k < 40; ++k) {
    const uint64_t v = uint64_t{1} << k;
    EXPECT_EQ(Layout::lower_bound(Layout::bucket_of(v)), v) << "powers of two start a bucket";
  }
}

TEST(HistogramSnapshot, EmptyIsAllZero) {
  const HistogramSnapshot s;
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.sum(), 0u);
  EXPECT_EQ(s.min(), 0u);
  EXPECT_EQ(s.max(), 0u);
  EXPECT_EQ(s.mean(), 0.0);
  EXPECT_EQ(s.percentile(0), 0u);
  EXPECT_EQ(s.percentile(50), 0u);
  EXPECT_EQ(s.percentile(100), 0u);
  EXPECT_EQ(s.count_at_or_below(UINT64_MAX), 0u);
  EXPECT_EQ(s.buckets().size(), Layout::kBucketCount);
  const Histogram h;
  EXPECT_EQ(h.snapshot().count(), 0u);
  EXPECT_EQ(h.snapshot().min(), 0u);
}

TEST(HistogramSnapshot, PercentilesOfOneToHundred) {
  Histogram h;
  for (uint64_t v = 1; v <= 100; ++v) {
    h.record(v);
  }
  const HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.count(), 100u);
  EXPECT_EQ(s.sum(), 5050u);
  EXPECT_DOUBLE_EQ(s.mean(), 50.5);
  EXPECT_EQ(s.percentile(0), 1u);
  EXPECT_EQ(s.percentile(1), 1u);
  EXPECT_EQ(s.percentile(7), 7u);
  EXPECT_EQ(s.percentile(50), 50u);
  EXPECT_EQ(s.percentile(99), 99u);
  EXPECT_EQ(s.percentile(99.5), 100u);
  EXPECT_EQ(s.percentile(100), 100u);
}

TEST(HistogramSnapshot, PercentilesMatchSortedDataWithinBucketPrecision) {
  Rng rng(99);
  for (int round = 0; round < 30; ++round) {
    const size_t n = 1 + rng.below(5000);
    std::vector<uint64_t> data(n);
    const int shape = round % 3;
    for (auto& v : data) {
      if (shape == 0) {
        v = rng.below(1000);
      } else if (shape == 1) {
        v = static_cast<uint64_t>(std::exp(rng.uniform(0.0, 27.5)));  // log-uniform below kMaxValue
      } else {
        v = 5000 + static_cast<uint64_t>(-std::log(1.0 - rng.uniform()) * 20'000.0);  // exponential
      }
    }
    HistogramSnapshot s;
    for (uint64_t v : data) {
      s.add(v);
    }
    std::sort(data.begin(), data.end());
    ASSERT_EQ(s.min(), data.front());
    ASSERT_EQ(s.max(), data.back());
    for (double p : {0.0, 0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 100.0}) {
      // The exact answer: the smallest sample with at least p% of samples at or below it.
      const auto rank =
          std::max<size_t>(1, static_cast<size_t>(std::ceil(p * static_cast<double>(n) / 100.0)));
      const uint64_t exact = data[std::min(rank, n) - 1];
      const uint64_t got = s.percentile(p);
      ASSERT_EQ(Layout::bucket_of(got), Layout::bucket_of(exact)) << "p" << p << " n " << n;
      ASSERT_GE(got, exact);
      ASSERT_LE(static_cast<double>(got - exact),
                static_cast<double>(exact) * std::ldexp(1.0, -(Layout::kSubBucketBits - 1)));
    }
  }
}

TEST(HistogramSnapshot, CountAtOrBelowCountsWholeBuckets) {
  HistogramSnapshot s;
  s.add(5, 3);
  s.add(128);
  s.add(129);
  s.add(1000, 2);
  EXPECT_EQ(s.count(), 7u);
  EXPECT_EQ(s.count_at_or_below(4), 0u);
  EXPECT_EQ(s.count_at_or_below(5), 3u);
  EXPECT_EQ(s.count_at_or_below(128), 3u);  // 128 and 129 share a bucket ending at 129
  EXPECT_EQ(s.count_at_or_below(129), 5u);
  const uint64_t top = Layout::upper_bound(Layout::bucket_of(1000));
  EXPECT_EQ(s.count_at_or_below(top - 1), 5u);
  EXPECT_EQ(s.count_at_or_below(top), 7u);
  EXPECT_EQ(s.count_at_or_below(UINT64_MAX), 7u);
}

TEST(HistogramSnapshot, MergeAddsEverything) {
  HistogramSnapshot a;
  HistogramSnapshot b;
  HistogramSnapshot both;
  Rng rng(3);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t v = rng.below(1'000'000);
    (i % 3 == 0 ? a : b).add(v);
    both.add(v);
  }
  HistogramSnapshot merged = a;
  merged.merge(b);
  EXPECT_EQ(merged.count(), both.count());
  EXPECT_EQ(merged.sum(), both.sum());
  EXPECT_EQ(merged.min(), both.min());
  EXPECT_EQ(merged.max(), both.max());
  EXPECT_TRUE(std::equal(merged.buckets().begin(), merged.buckets().end(), both.buckets().begin()));
  EXPECT_EQ(merged.percentile(90), both.percentile(90));

  HistogramSnapshot empty;
  merged.merge(empty);
  EXPECT_EQ(merged.min(), both.min());
  empty.merge(a);
  EXPECT_EQ(empty.min(), a.min());
  EXPECT_EQ(empty.count(), a.count());
}

TEST(Histogram, ValuesAboveMaxAreClamped) {
  Histogram h;
  h.record(UINT64_MAX);
  h.record(Layout::kMaxValue + 1);
  h.record(3);
  const HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.count(), 3u);
  EXPECT_EQ(s.max(), Layout::kMaxValue);
  EXPECT_EQ(s.buckets()[Layout::kBucketCount - 1], 2u);
  EXPECT_EQ(s.percentile(100), Layout::kMaxValue);
  EXPECT_EQ(s.percentile(50), Layout::kMaxValue);
  EXPECT_EQ(s.percentile(0), 3u);
  EXPECT_EQ(s.sum(), 2 * Layout::kMaxValue + 3);

  HistogramSnapshot direct;
  direct.add(UINT64_MAX, 2);
  EXPECT_EQ(direct.max(), Layout::kMaxValue);
  EXPECT_EQ(direct.count_at_or_below(Layout::kMaxValue), 2u);
}

TEST(Histogram, SnapshotMatchesDirectAdds) {
  Histogram h;
  HistogramSnapshot direct;
  Rng rng(11);
  for (int i = 0; i < 10'000; ++i) {
    const uint64_t v = rng.below(uint64_t{1} << rng.below(42));
    h.record(v);
    direct.add(v);
  }
  const HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.count(), direct.count());
  EXPECT_EQ(s.sum(), direct.sum());
  EXPECT_EQ(s.min(), direct.min());
  EXPECT_EQ(s.max(), direct.max());
  EXPECT_TRUE(std::equal(s.buckets().begin(), s.buckets().end(), direct.buckets().begin()));
}

TEST(Histogram, OneWriterOneReader) {
  constexpr uint64_t kRecords = 200'000;
  Histogram h;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t i = 0; i < kRecords; ++i) {
      h.record(1 + i % 5000);
    }
    done.store(true, std::memory_order_release);
  });

  uint64_t last_count = 0;
  int snapshots = 0;
  bool stop = false;
  while (!stop) {
    stop = done.load(std::memory_order_acquire);  // one more snapshot after the writer finished
    const HistogramSnapshot s = h.snapshot();
    ++snapshots;
    // Each snapshot is self-consistent, and counts never go backwards.
    uint64_t total = 0;
    for (uint64_t n : s.buckets()) {
      total += n;
    }
    ASSERT_EQ(total, s.count());
    ASSERT_GE(s.count(), last_count);
    ASSERT_LE(s.count(), kRecords);
    last_count = s.count();
    if (s.count() > 0) {
      ASSERT_GE(s.min(), 1u);
      ASSERT_LE(s.min(), s.max());
      ASSERT_LE(s.max(), 5000u);
      const uint64_t p50 = s.percentile(50);
      ASSERT_GE(p50, s.min());
      ASSERT_LE(p50, s.max());
    }
  }
  writer.join();
  const HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.count(), kRecords);
  EXPECT_EQ(s.min(), 1u);
  EXPECT_EQ(s.max(), 5000u);
  EXPECT_EQ(s.sum(), (kRecords / 5000) * (5000 * 5001 / 2));
  EXPECT_EQ(last_count, kRecords);
  EXPECT_GE(snapshots, 1);
}

}  // namespace
}  // namespace lwm2msim
