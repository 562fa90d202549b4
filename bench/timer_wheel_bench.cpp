#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "sim/timer/timer_wheel.h"
#include "sim/util/rng.h"

namespace lwm2msim {
namespace {

constexpr uint32_t kClients = 1'000'000;
constexpr uint64_t kSpanTicks = 60'000;  // 60 s of 1 ms ticks

std::vector<uint32_t> random_offsets(size_t n, uint64_t lo, uint64_t hi, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint32_t> out(n);
  for (auto& v : out) {
    v = static_cast<uint32_t>(lo + rng.below(hi - lo));
  }
  return out;
}

// Arm then disarm, with 1000 timers armed at any time (a retransmission answered promptly).
void BM_TimerScheduleCancel(benchmark::State& state) {
  constexpr uint32_t kWindow = 1000;
  TimerWheel wheel(kClients, 0);
  const std::vector<uint32_t> delays = random_offsets(4096, 1, kSpanTicks, 1);
  uint32_t i = 0;
  for (auto _ : state) {
    const uint32_t id = i % kClients;
    wheel.schedule(id, wheel.now() + delays[i & 4095]);
    wheel.cancel((id + kClients - kWindow) % kClients);
    ++i;
  }
  benchmark::DoNotOptimize(wheel.size());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TimerScheduleCancel);

// One timer per client, due anywhere in the next 60 s, expired by a 1 ms tick loop. The argument
// is the client count: 1M nodes do not fit in cache, 10k do.
void BM_TimerScheduleExpire(benchmark::State& state) {
  const auto clients = static_cast<uint32_t>(state.range(0));
  TimerWheel wheel(clients, 0);
  const std::vector<uint32_t> offsets = random_offsets(clients, 1, kSpanTicks + 1, 2);
  uint64_t fired = 0;
  for (auto _ : state) {
    const uint64_t start = wheel.now();
    for (uint32_t id = 0; id < clients; ++id) {
      wheel.schedule(id, start + offsets[id]);
    }
    for (uint64_t t = start + 1; t <= start + kSpanTicks; ++t) {
      fired +=
          wheel.advance(t, [](TimerWheel::TimerId id, uint64_t) { benchmark::DoNotOptimize(id); });
    }
  }
  const auto timers = static_cast<uint64_t>(state.iterations()) * clients;
  if (fired != timers) {
    state.SkipWithError("not every timer fired");
  }
  state.SetItemsProcessed(static_cast<int64_t>(timers));
  // Seconds per timer (printed with an SI prefix, e.g. 40n = 40 ns).
  state.counters["time_per_timer"] = benchmark::Counter(
      static_cast<double>(timers), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_TimerScheduleExpire)->Arg(10'000)->Arg(kClients)->Unit(benchmark::kMillisecond);

// 1M armed timers, each operation pushes a random one back (as traffic resets a client's
// lifetime timer); time moves 1 ms every 1000 operations and expiring timers re-arm.
void BM_TimerRescheduleHeavy(benchmark::State& state) {
  TimerWheel wheel(kClients, 0);
  const std::vector<uint32_t> offsets = random_offsets(kClients, 1, kSpanTicks + 1, 3);
  for (uint32_t id = 0; id < kClients; ++id) {
    wheel.schedule(id, offsets[id]);
  }
  const std::vector<uint32_t> ids = random_offsets(1 << 16, 0, kClients, 4);
  const std::vector<uint32_t> delays = random_offsets(4096, 1000, kSpanTicks, 5);
  uint32_t i = 0;
  for (auto _ : state) {
    wheel.schedule(ids[i & 0xffff], wheel.now() + delays[i & 4095]);
    if (++i % 1000 == 0) {
      wheel.advance(wheel.now() + 1, [&](TimerWheel::TimerId id, uint64_t due) {
        wheel.schedule(id, due + kSpanTicks);
      });
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TimerRescheduleHeavy);

}  // namespace
}  // namespace lwm2msim
