#include "sim/profile/generator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <numbers>
#include <set>
#include <string>
#include <vector>

namespace lwm2msim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr TimeUs kSec = kUsPerSec;
constexpr TimeUs kHour = 3600 * kSec;
constexpr TimeUs kDay = 24 * kHour;

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

EvalContext at(TimeUs t, uint64_t client = 0, uint64_t seed = 1) {
  return {seed, client, t, 0};
}

double num(const GeneratorSpec& s, TimeUs t, uint64_t client = 0, uint64_t seed = 1) {
  return evaluate_number(s, at(t, client, seed));
}

// One spec of every randomised kind, for the properties they all share.
std::vector<GeneratorSpec> random_specs() {
  return {
      spec_of(UniformParams{kSec}, ResourceType::kFloat, 0, 100),
      spec_of(RandomWalkParams{Spread{40, 60}, 2, kSec}, ResourceType::kFloat, 0, 100),
      spec_of(SineParams{Spread{15, 25}, 5, kDay, 0, 0.5, kSec}),
      spec_of(CounterParams{Spread{0, 1000}, Spread{1, 3}, kSec, false, nullptr},
              ResourceType::kInteger),
  };
}

// --- Determinism and streams --------------------------------------------------------------------

TEST(Generator, SameSeedClientAndTimeGiveTheSameValue) {
  for (const GeneratorSpec& s : random_specs()) {
    SCOPED_TRACE(to_string(s.kind()));
    for (TimeUs t : {TimeUs{0}, 5 * kSec, 12345 * kSec, 40 * kDay}) {
      EXPECT_EQ(evaluate(s, at(t, 9)), evaluate(s, at(t, 9)));
      const GeneratorSpec copy = s;
      EXPECT_EQ(evaluate(copy, at(t, 9)), evaluate(s, at(t, 9)));
    }
  }
}

TEST(Generator, ClientsSeedsAndStreamsGiveDifferentValues) {
  for (const GeneratorSpec& s : random_specs()) {
    SCOPED_TRACE(to_string(s.kind()));
    const TimeUs t = 1000 * kSec;
    std::set<double> by_client;
    std::set<double> by_seed;
    std::set<double> by_stream;
    for (uint64_t i = 0; i < 32; ++i) {
      by_client.insert(num(s, t, i));
      by_seed.insert(num(s, t, 0, i));
      GeneratorSpec other = s;
      other.stream = i;
      by_stream.insert(num(other, t));
    }
    // Counters draw start and increment per client; the rest draw per client and per time.
    EXPECT_GE(by_client.size(), 30u);
    EXPECT_GE(by_seed.size(), 30u);
    EXPECT_GE(by_stream.size(), 30u);
  }
}

TEST(Generator, StateBytesAreZeroForEveryKind) {
  for (const GeneratorSpec& s : random_specs()) {
    EXPECT_EQ(state_bytes(s), 0u);
  }
  EXPECT_EQ(state_bytes(spec_of(StepsParams{})), 0u);
  EXPECT_EQ(state_bytes(spec_of(CsvParams{})), 0u);
}

TEST(Generator, KindNamesRoundTrip) {
  for (int k = 0; k <= static_cast<int>(GeneratorKind::kClock); ++k) {
    const auto kind = static_cast<GeneratorKind>(k);
    GeneratorKind parsed = GeneratorKind::kConstant;
    ASSERT_TRUE(parse_generator_kind(to_string(kind), &parsed)) << to_string(kind);
    EXPECT_EQ(parsed, kind);
  }
  GeneratorKind ignored;
  EXPECT_FALSE(parse_generator_kind("gauss", &ignored));
  EXPECT_TRUE(is_numeric_kind(GeneratorKind::kRandomWalk));
  EXPECT_FALSE(is_numeric_kind(GeneratorKind::kSteps));
  EXPECT_EQ(spec_of(SineParams{}).kind(), GeneratorKind::kSine);
}

TEST(Generator, PathStreamsDiffer) {
  std::set<uint64_t> streams;
  for (uint32_t i = 0; i < 16; ++i) {
    streams.insert(path_stream({3303, i, 5700}));
    streams.insert(path_stream({3304, i, 5700}));
    streams.insert(path_stream({3, 0, 7, i}));
  }
  EXPECT_EQ(streams.size(), 48u);
}

// --- Types and bounds ---------------------------------------------------------------------------

TEST(Generator, ValuesHaveTheResourceType) {
  const GeneratorParams uniform = UniformParams{kSec};
  EXPECT_TRUE(std::holds_alternative<double>(
      evaluate(spec_of(uniform, ResourceType::kFloat, 0, 10), at(0))));
  EXPECT_TRUE(std::holds_alternative<int64_t>(
      evaluate(spec_of(uniform, ResourceType::kInteger, -5, 5), at(0))));
  EXPECT_TRUE(std::holds_alternative<uint64_t>(
      evaluate(spec_of(uniform, ResourceType::kUnsignedInteger, 0, 5), at(0))));
  EXPECT_TRUE(std::holds_alternative<TimeValue>(
      evaluate(spec_of(ClockParams{kSec}, ResourceType::kTime), at(0))));
  EXPECT_EQ(evaluate(spec_of(ConstantParams{std::string("x")}, ResourceType::kString), at(0)),
            Value(std::string("x")));
}

TEST(Generator, UniformIntegersCoverTheWholeRangeAndNothingElse) {
  const GeneratorSpec s = spec_of(UniformParams{kSec}, ResourceType::kInteger, 0, 3);
  std::map<int64_t, int> counts;
  for (TimeUs n = 0; n < 4000; ++n) {
    ++counts[std::get<int64_t>(evaluate(s, at(n * kSec)))];
  }
  ASSERT_EQ(counts.size(), 4u);
  EXPECT_EQ(counts.begin()->first, 0);
  EXPECT_EQ(counts.rbegin()->first, 3);
  for (const auto& [v, c] : counts) {
    EXPECT_GT(c, 850) << v;
    EXPECT_LT(c, 1150) << v;
  }
}

TEST(Generator, UniformHoldsItsDrawForAPeriod) {
  const GeneratorSpec s = spec_of(UniformParams{10 * kSec}, ResourceType::kFloat, -1, 1);
  double sum = 0;
  for (TimeUs n = 0; n < 2000; ++n) {
    const double v = num(s, n * 10 * kSec);
    EXPECT_EQ(num(s, n * 10 * kSec + 9 * kSec), v);
    EXPECT_GE(v, -1);
    EXPECT_LT(v, 1);
    sum += v;
  }
  EXPECT_NEAR(sum / 2000, 0, 0.05);
}

TEST(Generator, ClampsIntoBoundsAndRoundsIntegers) {
  // A sine swinging 0 +- 10 on a resource that only holds 0..5 (integers).
  const GeneratorSpec s = spec_of(SineParams{Spread::fixed(0), 10, 100 * kSec, 0, 0, kSec},
                                  ResourceType::kInteger, 0, 5.5);
  std::set<int64_t> seen;
  for (TimeUs t = 0; t < 100 * kSec; t += kSec) {
    seen.insert(std::get<int64_t>(evaluate(s, at(t))));
  }
  EXPECT_EQ(seen, (std::set<int64_t>{0, 1, 2, 3, 4, 5}));
  // sin(2 pi 1/100) * 10 = 0.6279 rounds to 1.
  EXPECT_EQ(evaluate(s, at(kSec)), Value(int64_t{1}));
}

// --- Sine ---------------------------------------------------------------------------------------

TEST(Generator, SineHasItsPeriodAmplitudeAndPhase) {
  const SineParams p{Spread::fixed(20), 5, kDay, 6 * kHour, 0, kSec};
  const GeneratorSpec s = spec_of(p);
  EXPECT_NEAR(num(s, 6 * kHour), 20, 1e-9);              // rising through the mean at the phase
  EXPECT_NEAR(num(s, 12 * kHour), 25, 1e-9);             // a quarter later: the peak
  EXPECT_NEAR(num(s, 18 * kHour), 20, 1e-9);             // back at the mean
  EXPECT_NEAR(num(s, 0), 15, 1e-9);                      // the trough
  EXPECT_NEAR(num(s, 3 * kDay + 12 * kHour), 25, 1e-9);  // every day
  double lo = kInf;
  double hi = -kInf;
  for (TimeUs t = 0; t < kDay; t += 60 * kSec) {
    lo = std::min(lo, num(s, t));
    hi = std::max(hi, num(s, t));
    EXPECT_NEAR(num(s, t), num(s, t + 5 * kDay), 1e-9);
  }
  EXPECT_NEAR(lo, 15, 1e-6);
  EXPECT_NEAR(hi, 25, 1e-6);
}

TEST(Generator, SineTakesItsPhaseFromUnixTime) {
  const GeneratorSpec s = spec_of(SineParams{Spread::fixed(0), 1, kDay, 0, 0.2, 60 * kSec});
  const int64_t epoch = 1'700'000'040;  // not a whole minute of Unix time
  for (TimeUs t : {TimeUs{0}, 3 * kHour, 2 * kDay + 7 * kSec}) {
    const double from_epoch = evaluate_number(s, {1, 4, t, epoch});
    const TimeUs interval = 60 * kSec;
    const TimeUs unix_t = t / interval * interval + static_cast<TimeUs>(epoch) * kSec;
    const double angle =
        2 * std::numbers::pi * static_cast<double>(unix_t % kDay) / static_cast<double>(kDay);
    EXPECT_NEAR(from_epoch, std::sin(angle), 0.2 * 3.47) << t;
  }
}

TEST(Generator, SineNoiseIsBoundedWithTheRequestedSpread) {
  const GeneratorSpec s = spec_of(SineParams{Spread::fixed(0), 0, kDay, 0, 2, kSec});
  double sum = 0;
  double sq = 0;
  constexpr int kN = 20000;
  for (int i = 0; i < kN; ++i) {
    const double v = num(s, static_cast<TimeUs>(i) * kSec);
    EXPECT_LE(std::abs(v), 2 * 3.4642);
    sum += v;
    sq += v * v;
  }
  EXPECT_NEAR(sum / kN, 0, 0.06);
  EXPECT_NEAR(std::sqrt(sq / kN), 2, 0.06);
  // Held for the interval.
  EXPECT_EQ(num(s, 10 * kSec), num(s, 10 * kSec + kSec - 1));
}

TEST(Generator, SineMeanSpreadIsPerClient) {
  const GeneratorSpec s = spec_of(SineParams{Spread{10, 20}, 0, kDay, 0, 0, kSec});
  for (uint64_t c = 0; c < 100; ++c) {
    const double v = num(s, 0, c);
    EXPECT_GE(v, 10);
    EXPECT_LE(v, 20);
    EXPECT_EQ(num(s, 5 * kHour, c), v);  // drawn once per client, not per time
  }
}

// --- Counter ------------------------------------------------------------------------------------

TEST(Generator, CounterCountsPerPeriod) {
  const GeneratorSpec s =
      spec_of(CounterParams{Spread::fixed(100), Spread::fixed(5), 10 * kSec, false, nullptr},
              ResourceType::kInteger);
  EXPECT_EQ(evaluate(s, at(0)), Value(int64_t{100}));
  EXPECT_EQ(evaluate(s, at(9 * kSec)), Value(int64_t{100}));
  EXPECT_EQ(evaluate(s, at(10 * kSec)), Value(int64_t{105}));
  EXPECT_EQ(evaluate(s, at(1000 * kSec)), Value(int64_t{600}));
}

TEST(Generator, CounterIsMonotonicForEveryClient) {
  std::shared_ptr<const CounterShape> shape;
  const std::vector<double> weights = {0, 0, 1, 3, 0.5, 2};
  ASSERT_EQ(make_counter_shape(weights, 6 * kHour, &shape), "");
  const GeneratorSpec plain =
      spec_of(CounterParams{Spread{0, 100}, Spread{0.1, 7.5}, 60 * kSec, false, nullptr},
              ResourceType::kFloat);
  GeneratorSpec shaped = plain;
  std::get<CounterParams>(shaped.params).shape = shape;
  GeneratorSpec integer = shaped;
  integer.type = ResourceType::kUnsignedInteger;
  integer.min = 0;
  for (const GeneratorSpec* s :
       std::initializer_list<const GeneratorSpec*>{&plain, &shaped, &integer}) {
    for (uint64_t c = 0; c < 8; ++c) {
      double prev = -1;
      for (TimeUs t = 0; t < 2 * kDay; t += 97 * kSec) {
        const double v = num(*s, t, c);
        ASSERT_GE(v, prev) << "client " << c << " t " << t;
        prev = v;
      }
    }
  }
}

TEST(Generator, CounterShapeDistributesTheSameTotalOverACycle) {
  // Four 6-hour slots: nothing, double, nothing, double; mean weight 1.
  std::shared_ptr<const CounterShape> shape;
  ASSERT_EQ(make_counter_shape(std::vector<double>{0, 2, 0, 2}, kDay, &shape), "");
  const GeneratorSpec s = spec_of(
      CounterParams{Spread::fixed(0), Spread::fixed(1), kHour, false, shape}, ResourceType::kFloat);
  EXPECT_NEAR(num(s, kDay), 24, 1e-9);      // one a period on average
  EXPECT_NEAR(num(s, 6 * kHour), 0, 1e-9);  // the first slot has weight 0
  EXPECT_NEAR(num(s, 9 * kHour), 6, 1e-9);  // then twice the mean rate
  EXPECT_NEAR(num(s, 12 * kHour), 12, 1e-9);
  EXPECT_NEAR(num(s, 18 * kHour), 12, 1e-9);
  EXPECT_NEAR(num(s, 10 * kDay + 12 * kHour), 252, 1e-6);
  // Aligned to Unix time: starting at 06:00 UTC the counter rises at once.
  EXPECT_NEAR(evaluate_number(s, {1, 0, 3 * kHour, 6 * 3600}), 6, 1e-9);
}

TEST(Generator, CounterSaturatesOrWraps) {
  const GeneratorSpec drain =
      spec_of(CounterParams{Spread::fixed(10), Spread::fixed(-3), kSec, false, nullptr},
              ResourceType::kInteger, 0, 100);
  EXPECT_EQ(evaluate(drain, at(3 * kSec)), Value(int64_t{1}));
  EXPECT_EQ(evaluate(drain, at(4 * kSec)), Value(int64_t{0}));
  EXPECT_EQ(evaluate(drain, at(400 * kSec)), Value(int64_t{0}));

  const GeneratorSpec wrap =
      spec_of(CounterParams{Spread::fixed(0), Spread::fixed(3), kSec, true, nullptr},
              ResourceType::kInteger, 0, 9);
  std::vector<int64_t> seq;
  for (TimeUs n = 0; n < 6; ++n) {
    seq.push_back(std::get<int64_t>(evaluate(wrap, at(n * kSec))));
  }
  EXPECT_EQ(seq, (std::vector<int64_t>{0, 3, 6, 9, 2, 5}));
}

TEST(Generator, CounterShapeValidation) {
  std::shared_ptr<const CounterShape> shape;
  EXPECT_EQ(make_counter_shape(std::vector<double>{}, kDay, &shape),
            "needs 1 to 1024 weights, got 0");
  EXPECT_EQ(make_counter_shape(std::vector<double>{1, -1}, kDay, &shape),
            "weights must be finite and not negative");
  EXPECT_EQ(make_counter_shape(std::vector<double>{0, 0}, kDay, &shape),
            "at least one weight must be above 0");
  EXPECT_EQ(make_counter_shape(std::vector<double>{1, 1, 1}, 100, &shape),
            "the shape period must divide into 3 equal slots of whole microseconds");
  EXPECT_EQ(shape, nullptr);
}

// --- Steps --------------------------------------------------------------------------------------

TEST(Generator, StepsFollowTheSchedule) {
  const GeneratorSpec s = spec_of(StepsParams{{{10 * kSec, Value(int64_t{1})},
                                               {20 * kSec, Value(int64_t{2})},
                                               {30 * kSec, Value(int64_t{3})}},
                                              0},
                                  ResourceType::kInteger);
  EXPECT_EQ(evaluate(s, at(0)), Value(int64_t{1}));  // before the first step: the first value
  EXPECT_EQ(evaluate(s, at(10 * kSec)), Value(int64_t{1}));
  EXPECT_EQ(evaluate(s, at(20 * kSec - 1)), Value(int64_t{1}));
  EXPECT_EQ(evaluate(s, at(20 * kSec)), Value(int64_t{2}));
  EXPECT_EQ(evaluate(s, at(30 * kSec)), Value(int64_t{3}));
  EXPECT_EQ(evaluate(s, at(kDay)), Value(int64_t{3}));  // no repeat: the last holds
  EXPECT_EQ(evaluate_number(s, at(25 * kSec)), 2);
}

TEST(Generator, RepeatingStepsCycleOnUnixTime) {
  const GeneratorSpec s =
      spec_of(StepsParams{{{6 * kHour, Value(false)}, {18 * kHour, Value(true)}}, kDay},
              ResourceType::kBoolean);
  EXPECT_EQ(evaluate(s, at(0)), Value(true));  // the previous cycle's last step
  EXPECT_EQ(evaluate(s, at(7 * kHour)), Value(false));
  EXPECT_EQ(evaluate(s, at(19 * kHour)), Value(true));
  EXPECT_EQ(evaluate(s, at(5 * kDay + 12 * kHour)), Value(false));
  // A run starting at 12:00 UTC sees 18:00 six hours in.
  EXPECT_EQ(evaluate(s, {1, 0, 5 * kHour, 12 * 3600}), Value(false));
  EXPECT_EQ(evaluate(s, {1, 0, 6 * kHour, 12 * 3600}), Value(true));
  EXPECT_TRUE(std::isnan(evaluate_number(s, at(0))));
}

// --- CSV ----------------------------------------------------------------------------------------

class CsvFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("lwm2msim-generator-" + std::to_string(::getpid()) + ".csv");
    std::ofstream out(path_);
    out << "# a route\n"
           "t,lat,lon\n"
           "0, 52.0, 5.0\n"
           "\n"
           "30,52.1,\"5.1\"\r\n"
           "60,52.2,5.2\n"
           "90,52.3,5.3\n";
  }
  void TearDown() override { std::filesystem::remove(path_); }

  CsvTable load() {
    std::ifstream in(path_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CsvTable table;
    EXPECT_EQ(parse_csv(text, &table), "");
    return table;
  }

  std::shared_ptr<const std::vector<double>> column(std::string_view name) {
    std::vector<double> values;
    EXPECT_EQ(csv_column(load(), name, &values), "");
    return std::make_shared<const std::vector<double>>(std::move(values));
  }

  std::filesystem::path path_;
};

TEST_F(CsvFile, ParsesHeaderCommentsBlankLinesAndQuotes) {
  const CsvTable table = load();
  EXPECT_EQ(table.header, (std::vector<std::string>{"t", "lat", "lon"}));
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_EQ(table.rows[0].line, 3u);
  EXPECT_EQ(table.rows[1].line, 5u);
  EXPECT_EQ(*column("lon"), (std::vector<double>{5.0, 5.1, 5.2, 5.3}));
  EXPECT_EQ(*column("0"), (std::vector<double>{0, 30, 60, 90}));
}

TEST_F(CsvFile, ReplaysOneRowPerPeriodAndLoops) {
  const GeneratorSpec s = spec_of(CsvParams{column("lat"), 30 * kSec, true, false, false, 0});
  EXPECT_EQ(num(s, 0), 52.0);
  EXPECT_EQ(num(s, 29 * kSec), 52.0);
  EXPECT_EQ(num(s, 30 * kSec), 52.1);
  EXPECT_EQ(num(s, 90 * kSec), 52.3);
  EXPECT_EQ(num(s, 120 * kSec), 52.0);  // looped
  EXPECT_EQ(num(s, 150 * kSec), 52.1);
}

TEST_F(CsvFile, WithoutLoopTheLastRowHolds) {
  const GeneratorSpec s = spec_of(CsvParams{column("lat"), 30 * kSec, false, true, false, 0});
  EXPECT_NEAR(num(s, 15 * kSec), 52.05, 1e-12);  // interpolated half way
  EXPECT_EQ(num(s, 90 * kSec), 52.3);
  EXPECT_EQ(num(s, 95 * kSec), 52.3);
  EXPECT_EQ(num(s, kDay), 52.3);
}

TEST_F(CsvFile, InterpolationWrapsToTheFirstRowWhenLooping) {
  const GeneratorSpec s = spec_of(CsvParams{column("lat"), 30 * kSec, true, true, false, 0});
  EXPECT_NEAR(num(s, 105 * kSec), 52.15, 1e-12);  // half way from 52.3 back to 52.0
}

TEST_F(CsvFile, StaggerKeepsColumnsOfOneFileTogether) {
  const auto lat = column("lat");
  const auto lon = column("lon");
  GeneratorSpec a = spec_of(CsvParams{lat, 30 * kSec, true, false, true, 1234});
  GeneratorSpec b = spec_of(CsvParams{lon, 30 * kSec, true, false, true, 1234});
  b.stream = 999;  // another resource
  std::set<double> starts;
  for (uint64_t c = 0; c < 40; ++c) {
    for (TimeUs t = 0; t < 240 * kSec; t += 30 * kSec) {
      const double la = num(a, t, c);
      const double lo = num(b, t, c);
      // Row i has lat 52.i and lon 5.i.
      EXPECT_NEAR(la - 52, lo - 5, 1e-9) << "client " << c;
    }
    starts.insert(num(a, 0, c));
  }
  EXPECT_EQ(starts.size(), 4u);  // every row is somebody's start
}

TEST(Csv, Errors) {
  CsvTable table;
  EXPECT_EQ(parse_csv("# only a comment\n\n", &table), "2: no data rows");
  EXPECT_EQ(parse_csv("a,b\n", &table), "1: no data rows");
  ASSERT_EQ(parse_csv("a,b\n1,2\n3\n4,x\n", &table), "");
  std::vector<double> out;
  EXPECT_EQ(csv_column(table, "c", &out), "no column \"c\" (columns: a, b)");
  EXPECT_EQ(csv_column(table, "b", &out), "line 3 has no column 1");
  EXPECT_EQ(csv_column(table, "a", &out), "");
  EXPECT_EQ(out, (std::vector<double>{1, 3, 4}));
  ASSERT_EQ(parse_csv("1,2\n3,nan\n", &table), "");
  EXPECT_TRUE(table.header.empty());
  EXPECT_EQ(csv_column(table, "1", &out), "line 2: \"nan\" is not a number");
  EXPECT_EQ(csv_column(table, "x", &out),
            "no column \"x\" (the file has no header row; use a 0-based index)");
}

// --- Random walk --------------------------------------------------------------------------------

TEST(Generator, RandomWalkStartsAtStartAndStaysWithinBounds) {
  const GeneratorSpec s =
      spec_of(RandomWalkParams{Spread::fixed(50), 4, kSec}, ResourceType::kFloat, 40, 60);
  for (uint64_t c = 0; c < 4; ++c) {
    EXPECT_EQ(num(s, 0, c), 50);
    double lo = kInf;
    double hi = -kInf;
    for (TimeUs n = 0; n < 50000; ++n) {
      const double v = num(s, n * kSec, c);
      ASSERT_GE(v, 40);
      ASSERT_LE(v, 60);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    // It wanders over the whole band rather than sticking to one end.
    EXPECT_LT(lo, 42);
    EXPECT_GT(hi, 58);
  }
}

TEST(Generator, RandomWalkStepsHaveTheRequestedSize) {
  // Wide bounds, so the reflection never acts.
  const GeneratorSpec s =
      spec_of(RandomWalkParams{Spread::fixed(0), 2, kSec}, ResourceType::kFloat, -1e9, 1e9);
  constexpr int kSteps = 20000;
  double abs_sum = 0;
  double max_step = 0;
  double prev = num(s, 0);
  for (int n = 1; n <= kSteps; ++n) {
    const double v = num(s, static_cast<TimeUs>(n) * kSec);
    abs_sum += std::abs(v - prev);
    max_step = std::max(max_step, std::abs(v - prev));
    prev = v;
  }
  // A Gaussian step of standard deviation 2 has mean absolute size 2 sqrt(2 / pi) = 1.596.
  EXPECT_NEAR(abs_sum / kSteps, 1.596, 0.08);
  EXPECT_LT(max_step, 2 * 8);
  // Spread over many walks: the variance after n steps is n step^2.
  double sq = 0;
  constexpr int kWalks = 4000;
  for (uint64_t c = 0; c < kWalks; ++c) {
    const double v = num(s, 1024 * kSec, c);
    sq += v * v;
  }
  EXPECT_NEAR(sq / kWalks / (1024 * 4), 1.0, 0.1);
}

TEST(Generator, RandomWalkIntegersAndPerClientStarts) {
  const GeneratorSpec s = spec_of(RandomWalkParams{Spread{-110, -80}, 1.5, 60 * kSec},
                                  ResourceType::kInteger, -125, -70);
  std::set<int64_t> starts;
  for (uint64_t c = 0; c < 50; ++c) {
    const Value v0 = evaluate(s, at(0, c));
    ASSERT_TRUE(std::holds_alternative<int64_t>(v0));
    EXPECT_GE(std::get<int64_t>(v0), -110);
    EXPECT_LE(std::get<int64_t>(v0), -80);
    starts.insert(std::get<int64_t>(v0));
    EXPECT_EQ(evaluate(s, at(59 * kSec, c)), v0);  // held for the period
  }
  EXPECT_GT(starts.size(), 15u);
  // Far in the future (beyond the bridge's 2^32 periods) it still answers, within bounds.
  const double far = num(s, (uint64_t{1} << 40) * kSec);
  EXPECT_GE(far, -125);
  EXPECT_LE(far, -70);
}

// --- Clock and pattern --------------------------------------------------------------------------

TEST(Generator, ClockReportsUnixSecondsInSteps) {
  const GeneratorSpec s = spec_of(ClockParams{30 * kSec}, ResourceType::kTime);
  EXPECT_EQ(evaluate(s, {1, 0, 0, 1'700'000'000}), Value(TimeValue{1'700'000'000}));
  EXPECT_EQ(evaluate(s, {1, 0, 29 * kSec, 1'700'000'000}), Value(TimeValue{1'700'000'000}));
  EXPECT_EQ(evaluate(s, {1, 0, 95 * kSec, 1'700'000'000}), Value(TimeValue{1'700'000'090}));
  const GeneratorSpec i = spec_of(ClockParams{kSec}, ResourceType::kInteger);
  EXPECT_EQ(evaluate(i, at(2500 * kUsPerMs)), Value(int64_t{2}));
}

TEST(Generator, PatternFormatsTheClientIndex) {
  EndpointPattern pattern;
  ASSERT_EQ(EndpointPattern::parse("SN-%06d", &pattern), "");
  const GeneratorSpec s = spec_of(PatternParams{pattern}, ResourceType::kString);
  EXPECT_EQ(evaluate(s, at(0, 42)), Value(std::string("SN-000042")));
  EXPECT_EQ(evaluate(s, at(kDay, 1234567)), Value(std::string("SN-1234567")));
}

}  // namespace
}  // namespace lwm2msim
