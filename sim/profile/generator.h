// profile: how a resource's value evolves. A generator is a pure function of (seed, client index,
// time): a million clients share one GeneratorSpec and none of them stores anything for it.
//
// Evaluation is one switch over the kind (a std::variant index), no virtual call. Most kinds
// cost 5-80 ns; random_walk descends a Brownian bridge of up to 32 levels and costs about
// 250 ns (bench/generator_bench.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sim/format/format.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/util/time.h"

namespace lwm2msim {

// Order matches GeneratorParams' alternatives.
enum class GeneratorKind : uint8_t {
  kConstant,
  kPattern,
  kUniform,
  kRandomWalk,
  kSine,
  kCounter,
  kSteps,
  kCsv,
  kClock,
};
// The YAML spelling: "constant", "pattern", "uniform", "random_walk", "sine", "counter", "steps",
// "csv", "clock".
std::string_view to_string(GeneratorKind kind);
bool parse_generator_kind(std::string_view text, GeneratorKind* out);
// Kinds that compute a number and so need an Integer, Unsigned Integer or Float resource.
bool is_numeric_kind(GeneratorKind kind);

// Everything a value may depend on.
struct EvalContext {
  uint64_t seed = 0;  // the run's --seed
  uint64_t client_index = 0;
  TimeUs t = 0;  // since the simulation epoch (a worker's start)
  // Unix time at t == 0. Periodic generators (sine, counter shapes, repeating steps) take their
  // phase from Unix time so that a daily curve follows the UTC clock whenever the run starts;
  // clock reports it. 0 makes t itself the Unix time, as the tests assume.
  int64_t unix_epoch_s = 0;
};

// A parameter that is fixed for the profile (lo == hi) or drawn once per client, uniformly in
// [lo, hi]: fleets whose devices start at different battery levels or use different amounts.
struct Spread {
  double lo = 0;
  double hi = 0;
  static Spread fixed(double v) { return {v, v}; }
};

// A fixed value (any type). Executable resources hold a constant monostate.
struct ConstantParams {
  Value value;
};
// A String derived from the client index: serial numbers, per-device names ("SN%08d").
struct PatternParams {
  EndpointPattern pattern;
};
// A new independent draw in [min, max] every period.
struct UniformParams {
  TimeUs period = kUsPerSec;
};
// Brownian motion sampled once per period, reflected into [min, max]: the change over one
// period is near-Gaussian with standard deviation `step`. The value at period n is computed
// from a Brownian bridge over 2^32 periods in at most 32 steps, so no client keeps the current
// value; after 2^32 periods the walk stays where it is.
struct RandomWalkParams {
  Spread start;
  double step = 1;
  TimeUs period = kUsPerSec;
};
// mean + amplitude * sin(2 pi (T - phase) / period) + noise, with T the Unix time (see
// EvalContext) taken once per interval; the noise is near-Gaussian with standard deviation
// `noise`, bounded to +-3.5 of it, and drawn afresh every interval.
struct SineParams {
  Spread mean;
  double amplitude = 0;
  TimeUs period = 86400 * kUsPerSec;
  TimeUs phase = 0;
  double noise = 0;
  TimeUs interval = kUsPerSec;
};
// Relative rates over a cycle (e.g. 24 hourly weights over a day), aligned to Unix time.
// Built by make_counter_shape().
struct CounterShape {
  TimeUs period = 0;
  // cumulative[k]: integral of the normalised rate (mean 1) over slots 0..k-1, in slot units.
  std::vector<double> cumulative;
};
// start + increment per period, taken at period boundaries. With a shape, `increment` is the
// mean increment per period and the rate follows the shape. Saturates at [min, max], or with
// `wrap` starts again at min after max (a hardware counter).
struct CounterParams {
  Spread start;
  Spread increment = Spread::fixed(1);
  TimeUs period = kUsPerSec;
  bool wrap = false;
  std::shared_ptr<const CounterShape> shape;
};
struct Step {
  TimeUs at = 0;
  Value value;
};
// A schedule: each step's value holds from its `at` until the next. Without repeat, `at` counts
// from the simulation epoch and the first value holds before the first step. With repeat, the
// schedule is a cycle of that length aligned to Unix time (repeat 24h: `at` is the UTC time of
// day), and before the first step the last step's value holds, as in the previous cycle.
struct StepsParams {
  std::vector<Step> steps;  // strictly increasing `at`
  TimeUs repeat = 0;        // 0: no repeat
};
// Replays a column, one row per period from the simulation epoch. `stagger` starts every
// client at its own row, the same row for every column of the same file (stagger_salt), so a
// latitude and a longitude stay a pair.
struct CsvParams {
  std::shared_ptr<const std::vector<double>> column;
  TimeUs period = kUsPerSec;
  bool loop = true;          // else the last row holds
  bool interpolate = false;  // linear between rows instead of holding each one
  bool stagger = false;
  uint64_t stagger_salt = 0;
};
// The current Unix time in seconds, in steps of period: Time stamps.
struct ClockParams {
  TimeUs period = kUsPerSec;
};

using GeneratorParams =
    std::variant<ConstantParams, PatternParams, UniformParams, RandomWalkParams, SineParams,
                 CounterParams, StepsParams, CsvParams, ClockParams>;

struct GeneratorSpec {
  // The resource's type: numbers are rounded to integers for Integer, Unsigned Integer and
  // Time, and converted to the matching Value alternative.
  ResourceType type = ResourceType::kFloat;
  // Bounds of numeric kinds: the generator's own, intersected with the resource's range.
  // uniform draws in them, random_walk reflects at them, the others clamp to them.
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  // Tells apart resources that share parameters; the loader derives it from the path.
  uint64_t stream = 0;
  GeneratorParams params;

  GeneratorKind kind() const { return static_cast<GeneratorKind>(params.index()); }
};

// The value for one client at one time. Same spec and context, same value.
Value evaluate(const GeneratorSpec& spec, const EvalContext& ctx);
// The numeric kinds' value before typing, clamping included; NaN for the others. For tests and
// benchmarks that look at the shape of a curve.
double evaluate_number(const GeneratorSpec& spec, const EvalContext& ctx);

// Bytes a client must keep for this generator. Every kind is a pure function of the context,
// so this is 0; Profile::per_client_state_bytes() sums it and the client sizes itself from that.
size_t state_bytes(const GeneratorSpec& spec);

// Stream id of a path, so that two resources with the same parameters draw different values.
uint64_t path_stream(const Lwm2mPath& path);

// Validates weights (finite, >= 0, not all 0, 1 to 1024 of them, period divisible into that
// many slots). Empty string on success, else the reason.
std::string make_counter_shape(std::span<const double> weights, TimeUs period,
                               std::shared_ptr<const CounterShape>* out);

// A CSV file held as text cells. The first row is a header when any of its cells is not a
// number. Blank lines and lines starting with '#' are skipped; cells are trimmed and may be
// double-quoted.
struct CsvTable {
  std::vector<std::string> header;  // empty without a header row
  struct Row {
    size_t line = 0;  // 1-based, in the file
    std::vector<std::string> cells;
  };
  std::vector<Row> rows;
};
// Empty string on success, else "LINE: reason".
std::string parse_csv(std::string_view text, CsvTable* out);
// A column by header name or 0-based index, as numbers. Empty string on success, else the
// reason (with the file line of a bad cell).
std::string csv_column(const CsvTable& table, std::string_view column, std::vector<double>* out);

}  // namespace lwm2msim
