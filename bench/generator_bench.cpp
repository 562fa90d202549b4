#include <benchmark/benchmark.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "sim/model/object_definition.h"
#include "sim/profile/generator.h"
#include "sim/profile/profile.h"

namespace lwm2msim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

GeneratorSpec spec_of(GeneratorParams params, ResourceType type = ResourceType::kFloat,
                      double min = -kInf, double max = kInf) {
  GeneratorSpec s;
  s.type = type;
  s.min = min;
  s.max = max;
  s.stream = 77;
  s.params = std::move(params);
  return s;
}

// Each iteration asks for another client at another time, as a fleet's reads do, so nothing
// can be hoisted out of the loop.
void run(benchmark::State& state, const GeneratorSpec& spec) {
  uint64_t client = 0;
  TimeUs t = 1'000'000'000;
  for (auto _ : state) {
    Value v = evaluate(spec, {1, client, t, 1'700'000'000});
    benchmark::DoNotOptimize(v);
    client = (client + 7919) % 1'000'000;
    t += 1'000'003;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_GeneratorConstant(benchmark::State& state) {
  run(state, spec_of(ConstantParams{21.5}));
}
BENCHMARK(BM_GeneratorConstant);

void BM_GeneratorPattern(benchmark::State& state) {
  EndpointPattern pattern;
  EndpointPattern::parse("SN%010d", &pattern);
  run(state, spec_of(PatternParams{pattern}, ResourceType::kString));
}
BENCHMARK(BM_GeneratorPattern);

void BM_GeneratorUniform(benchmark::State& state) {
  run(state, spec_of(UniformParams{kUsPerSec}, ResourceType::kInteger, 0, 100));
}
BENCHMARK(BM_GeneratorUniform);

// Cost grows with the number of bridge levels to descend: up to 32, fewer for times whose
// period index ends in zero bits. The times here are arbitrary, so about 32.
void BM_GeneratorRandomWalk(benchmark::State& state) {
  run(state,
      spec_of(RandomWalkParams{Spread{40, 60}, 1.5, kUsPerSec}, ResourceType::kFloat, 0, 100));
}
BENCHMARK(BM_GeneratorRandomWalk);

void BM_GeneratorSine(benchmark::State& state) {
  run(state, spec_of(SineParams{Spread{18, 24}, 4, 86400 * kUsPerSec, 9 * 3600 * kUsPerSec, 0.3,
                                60 * kUsPerSec},
                     ResourceType::kFloat, -40, 85));
}
BENCHMARK(BM_GeneratorSine);

void BM_GeneratorCounter(benchmark::State& state) {
  run(state, spec_of(CounterParams{Spread{60, 100}, Spread::fixed(-1), 8 * 3600 * kUsPerSec, false,
                                   nullptr},
                     ResourceType::kInteger, 0, 100));
}
BENCHMARK(BM_GeneratorCounter);

void BM_GeneratorCounterShaped(benchmark::State& state) {
  std::shared_ptr<const CounterShape> shape;
  const std::vector<double> weights = {0.3, 0.25, 0.25, 0.25, 0.3, 0.6, 1.2, 1.5,
                                       1.1, 0.9,  0.8,  0.8,  0.9, 0.8, 0.8, 0.9,
                                       1.3, 1.8,  2.2,  2.0,  1.6, 1.2, 0.8, 0.45};
  make_counter_shape(weights, 86400 * kUsPerSec, &shape);
  run(state, spec_of(CounterParams{Spread{1000, 25000}, Spread{0.0625, 0.146}, 15 * 60 * kUsPerSec,
                                   false, shape}));
}
BENCHMARK(BM_GeneratorCounterShaped);

void BM_GeneratorSteps(benchmark::State& state) {
  constexpr TimeUs kHour = 3600 * kUsPerSec;
  run(state, spec_of(StepsParams{{{5 * kHour, Value(int64_t{100})},
                                  {6 * kHour + kHour / 2, Value(int64_t{0})},
                                  {17 * kHour + kHour / 2, Value(int64_t{100})},
                                  {23 * kHour, Value(int64_t{40})}},
                                 24 * kHour},
                     ResourceType::kInteger));
}
BENCHMARK(BM_GeneratorSteps);

void BM_GeneratorCsv(benchmark::State& state) {
  auto column = std::make_shared<std::vector<double>>();
  for (int i = 0; i < 54; ++i) {
    column->push_back(52.08 + 0.0005 * i);
  }
  run(state, spec_of(CsvParams{column, 30 * kUsPerSec, true, false, true, 1234}));
}
BENCHMARK(BM_GeneratorCsv);

void BM_GeneratorClock(benchmark::State& state) {
  run(state, spec_of(ClockParams{60 * kUsPerSec}, ResourceType::kTime));
}
BENCHMARK(BM_GeneratorClock);

std::string profiles_dir() {
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "profiles").string();
}

// A Read of every resource of the gateway (37 instances, 190 values): the worst shipped
// profile for a full-object read or a registration-time dump.
void BM_ProfileReadAllGateway(benchmark::State& state) {
  Profile profile;
  const std::string errors =
      load_profile(profiles_dir() + "/gateway.yaml", ObjectRegistry::builtin(), &profile);
  if (!errors.empty()) {
    state.SkipWithError(errors.c_str());
    return;
  }
  uint64_t client = 0;
  TimeUs t = 1'000'000'000;
  for (auto _ : state) {
    for (const ProfileResource& r : profile.resources()) {
      Value v = profile.value(r, {1, client, t, 1'700'000'000});
      benchmark::DoNotOptimize(v);
    }
    client = (client + 7919) % 1'000'000;
    t += 1'000'003;
  }
  state.counters["resources"] = static_cast<double>(profile.resources().size());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(profile.resources().size()));
}
BENCHMARK(BM_ProfileReadAllGateway);

void BM_ProfileLoadGateway(benchmark::State& state) {
  const ObjectRegistry registry = ObjectRegistry::builtin();
  const std::string path = profiles_dir() + "/gateway.yaml";
  for (auto _ : state) {
    Profile profile;
    const std::string errors = load_profile(path, registry, &profile);
    if (!errors.empty()) {
      state.SkipWithError(errors.c_str());
      break;
    }
    benchmark::DoNotOptimize(profile);
  }
}
BENCHMARK(BM_ProfileLoadGateway)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace lwm2msim
