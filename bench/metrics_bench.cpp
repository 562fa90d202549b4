#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <vector>

#include "sim/client/virtual_client.h"
#include "sim/util/rng.h"

namespace lwm2msim {
namespace {

std::vector<uint64_t> rtts(size_t n) {
  Rng rng(3);
  std::vector<uint64_t> out(n);
  for (auto& v : out) {
    v = 40 + rng.below(4000);
  }
  return out;
}

// What a worker records when an Update's 2.04 arrives: a counter and two histograms of its own
// ClientStats (single writer; a scrape reads them).
void BM_WorkerStatsUpdateOk(benchmark::State& state) {
  ClientStats stats;
  const std::vector<uint64_t> values = rtts(4096);
  size_t i = 0;
  for (auto _ : state) {
    const uint64_t rtt = values[i++ & 4095];
    stats.update_ok.add();
    stats.update_latency.record(rtt + 30);
    stats.update_rtt.record(rtt);
  }
  benchmark::DoNotOptimize(stats.update_ok.value());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WorkerStatsUpdateOk);

void BM_WorkerCounterAdd(benchmark::State& state) {
  Counter c;
  for (auto _ : state) {
    c.add();
  }
  benchmark::DoNotOptimize(c.value());
}
BENCHMARK(BM_WorkerCounterAdd);

// The same record through prometheus-cpp, which the hot path does not use: its histogram takes
// a mutex on every observation.
void BM_PrometheusCppUpdateOk(benchmark::State& state) {
  prometheus::Registry registry;
  auto& counters = prometheus::BuildCounter().Name("updates_total").Register(registry);
  auto& histograms = prometheus::BuildHistogram().Name("update_seconds").Register(registry);
  const prometheus::Histogram::BucketBoundaries buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                        0.005,  0.01,    0.025,  0.05,  0.1};
  prometheus::Counter& ok = counters.Add({});
  prometheus::Histogram& latency = histograms.Add({{"kind", "latency"}}, buckets);
  prometheus::Histogram& rtt = histograms.Add({{"kind", "rtt"}}, buckets);
  const std::vector<uint64_t> values = rtts(4096);
  size_t i = 0;
  for (auto _ : state) {
    const double v = static_cast<double>(values[i++ & 4095]) * 1e-6;
    ok.Increment();
    latency.Observe(v + 30e-6);
    rtt.Observe(v);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_PrometheusCppUpdateOk);

}  // namespace
}  // namespace lwm2msim
