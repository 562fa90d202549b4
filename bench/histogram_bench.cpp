#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "sim/stats/histogram.h"
#include "sim/util/rng.h"

namespace lwm2msim {
namespace {

// Latency-like values in microseconds: log-uniform from 1 us to ~1 min.
std::vector<uint64_t> latencies(size_t n) {
  Rng rng(42);
  std::vector<uint64_t> out(n);
  for (auto& v : out) {
    v = static_cast<uint64_t>(std::exp(rng.uniform(0.0, 18.0)));
  }
  return out;
}

void BM_HistogramRecord(benchmark::State& state) {
  Histogram h;
  const std::vector<uint64_t> values = latencies(4096);
  size_t i = 0;
  for (auto _ : state) {
    h.record(values[i++ & 4095]);
  }
  benchmark::DoNotOptimize(h.snapshot().count());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_HistogramRecord);

void BM_HistogramSnapshotPercentile(benchmark::State& state) {
  Histogram h;
  for (uint64_t v : latencies(1'000'000)) {
    h.record(v);
  }
  for (auto _ : state) {
    const HistogramSnapshot s = h.snapshot();
    benchmark::DoNotOptimize(s.percentile(99.0));
  }
}
BENCHMARK(BM_HistogramSnapshotPercentile);

}  // namespace
}  // namespace lwm2msim
