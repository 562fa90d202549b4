#include <benchmark/benchmark.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "sim/fault/delay_line.h"
#include "sim/fault/fault.h"
#include "sim/util/rng.h"

namespace lwm2msim {
namespace {

constexpr TimeUs kMs = kUsPerMs;
constexpr TimeUs kSec = kUsPerSec;

// A lossy cellular link: 2 % loss up, 1 % down, normal latency, a little duplication.
FaultSpec cellular() {
  FaultSpec f;
  f.loss_up = 0.02;
  f.loss_down = 0.01;
  f.latency = Distribution{Distribution::Kind::kNormal, 80 * kMs, 20 * kMs};
  f.duplicate = 0.01;
  return f;
}

void run_decide(benchmark::State& state, const LinkFaults& faults, TimeUs now) {
  Rng rng(1);
  uint64_t copies = 0;
  uint32_t i = 0;
  for (auto _ : state) {
    const Verdict v = faults.decide((i++ & 1) != 0 ? Direction::kUp : Direction::kDown, now, rng);
    copies += v.copies;
    benchmark::DoNotOptimize(v.delay);
  }
  benchmark::DoNotOptimize(copies);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_FaultDecideNone(benchmark::State& state) {
  run_decide(state, LinkFaults(), 0);
}
BENCHMARK(BM_FaultDecideNone);

void BM_FaultDecideOneSpec(benchmark::State& state) {
  run_decide(state, LinkFaults({cellular()}), 10 * kSec);
}
BENCHMARK(BM_FaultDecideOneSpec);

// Three overlapping specs (a base link, a loss burst, a reordering spell) plus inactive ones, so
// the window lookup has several intervals to search.
void BM_FaultDecideThreeSpecs(benchmark::State& state) {
  std::vector<FaultSpec> specs{cellular()};
  FaultSpec burst;
  burst.window = {5 * kSec, 60 * kSec};
  burst.loss_up = 0.2;
  burst.loss_down = 0.2;
  specs.push_back(burst);
  FaultSpec spell;
  spell.window = {8 * kSec, 30 * kSec};
  spell.reorder = 0.05;
  spell.reorder_delay = 50 * kMs;
  spell.latency = Distribution{Distribution::Kind::kExponential, 10 * kMs, 0};
  specs.push_back(spell);
  for (TimeUs t = 100; t < 200; t += 20) {
    FaultSpec later;
    later.window = {t * kSec, (t + 10) * kSec};
    later.loss_up = 0.5;
    specs.push_back(later);
  }
  run_decide(state, LinkFaults(std::move(specs)), 10 * kSec);
}
BENCHMARK(BM_FaultDecideThreeSpecs);

// Steady state: time moves 10 us per datagram (100k datagrams/s) and each is delayed uniformly in
// [0, 2 * mean), so about mean / 10 us datagrams are in flight. The argument is the mean in ms.
void BM_DelayLinePushPop(benchmark::State& state) {
  const TimeUs mean = static_cast<TimeUs>(state.range(0)) * kMs;
  DelayLine line;
  Rng rng(2);
  std::vector<uint8_t> datagram(180, 0x5a);
  TimeUs now = 0;
  uint64_t delivered = 0;
  auto sink = [&](uint32_t client, Direction, std::span<const uint8_t> bytes) {
    delivered += client + bytes.size();
  };
  // Fill to the steady state before timing.
  for (TimeUs end = 4 * mean; now < end; now += 10) {
    line.push(now + rng.below(2 * mean), static_cast<uint32_t>(now), Direction::kUp, datagram);
    line.pop_due(now, sink);
  }
  for (auto _ : state) {
    line.push(now + rng.below(2 * mean), static_cast<uint32_t>(now), Direction::kUp, datagram);
    line.pop_due(now, sink);
    now += 10;
  }
  benchmark::DoNotOptimize(delivered);
  state.counters["in_flight"] = static_cast<double>(line.size());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DelayLinePushPop)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace lwm2msim
