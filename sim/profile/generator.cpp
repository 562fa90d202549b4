#include "sim/profile/generator.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace lwm2msim {
namespace {

// Salts keep the draws of one resource apart: a walk's start and its steps must not share
// a hash input.
constexpr uint64_t kSaltStart = 0x5354415254ULL;
constexpr uint64_t kSaltIncrement = 0x494e4352ULL;
constexpr uint64_t kSaltMean = 0x4d45414eULL;
constexpr uint64_t kSaltWalk = 0x57414c4bULL;
constexpr uint64_t kSaltNoise = 0x4e4f495345ULL;
constexpr uint64_t kSaltUniform = 0x554e49ULL;

// The bridge spans 2^32 periods: 136 years of 1 s periods in at most 32 halvings.
constexpr int kWalkLevels = 32;

constexpr std::string_view kKindNames[] = {"constant", "pattern", "uniform", "random_walk", "sine",
                                           "counter",  "steps",   "csv",     "clock"};
static_assert(std::size(kKindNames) == std::variant_size_v<GeneratorParams>);
static_assert(std::is_same_v<std::variant_alternative_t<static_cast<size_t>(GeneratorKind::kClock),
                                                        GeneratorParams>,
                             ClockParams>);

// splitmix64's finaliser over a and b. The same construction as mix_seed(), kept here so that it
// inlines: a walk value hashes up to 33 times.
inline uint64_t hash(uint64_t a, uint64_t b) {
  uint64_t z = a ^ (b * 0xd1b54a32d192ed03ULL);
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double unit(uint64_t h) {
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

// Irwin-Hall sum of four 16-bit uniforms: mean 0, variance 1, within +-2 sqrt(3). Close enough
// to a Gaussian for sensor noise and walk steps, and bounded, so no draw is absurd.
double near_gaussian(uint64_t h) {
  const double sum = static_cast<double>((h & 0xffff) + ((h >> 16) & 0xffff) +
                                         ((h >> 32) & 0xffff) + (h >> 48) + 2) /
                     65536.0;
  return (sum - 2.0) * std::numbers::sqrt3;
}

uint64_t client_key(const EvalContext& ctx) {
  return hash(ctx.seed, ctx.client_index);
}

uint64_t resource_key(const GeneratorSpec& spec, const EvalContext& ctx) {
  return hash(client_key(ctx), spec.stream);
}

double draw(const Spread& s, uint64_t key, uint64_t salt) {
  if (s.lo == s.hi) {
    return s.lo;
  }
  return s.lo + (s.hi - s.lo) * unit(hash(key, salt));
}

// Unix time in microseconds of simulation time t.
uint64_t unix_us(const EvalContext& ctx, TimeUs t) {
  return t + (ctx.unix_epoch_s > 0 ? static_cast<uint64_t>(ctx.unix_epoch_s) * kUsPerSec : 0);
}

// Bounds an integer-typed value can take: the spec's, narrowed to whole numbers and to what an
// int64 or uint64 holds (as doubles that convert without overflow).
std::pair<double, double> integer_bounds(const GeneratorSpec& spec) {
  const double type_lo = spec.type == ResourceType::kUnsignedInteger ? 0.0 : -0x1.0p63;
  const double type_hi =
      spec.type == ResourceType::kUnsignedInteger ? 0x1.fffffffffffffp63 : 0x1.fffffffffffffp62;
  return {std::max(std::ceil(spec.min), type_lo), std::min(std::floor(spec.max), type_hi)};
}

double clamp_to(double x, double lo, double hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

// Rounds for integral types, then clamps into the spec's bounds.
double finish(double x, const GeneratorSpec& spec) {
  if (std::isnan(x)) {
    return x;
  }
  if (is_integral(spec.type)) {
    const auto [lo, hi] = integer_bounds(spec);
    return clamp_to(std::round(x), lo, hi);
  }
  return clamp_to(x, spec.min, spec.max);
}

Value typed(double x, ResourceType type) {
  switch (type) {
    case ResourceType::kInteger:
      return static_cast<int64_t>(x);
    case ResourceType::kUnsignedInteger:
      return static_cast<uint64_t>(x);
    case ResourceType::kTime:
      return TimeValue{static_cast<int64_t>(x)};
    default:
      return x;
  }
}

// Reflects x into [lo, hi]: folding a free walk gives the walk reflected at both bounds.
double fold(double x, double lo, double hi) {
  const double width = hi - lo;
  if (!(width > 0)) {
    return lo;
  }
  double y = std::fmod(x - lo, 2 * width);
  if (y < 0) {
    y += 2 * width;
  }
  return y <= width ? lo + y : lo + 2 * width - y;
}

// Brownian motion W (W(0) = 0, variance sigma^2 per step) at integer n, from a bridge over
// [0, 2^32]: each dyadic midpoint is the mean of its interval's ends plus an independent draw
// of the bridge's variance (length / 4). Every integer in (0, 2^32) is the midpoint of exactly
// one dyadic interval, so it names its own draw.
double walk_offset(uint64_t key, uint64_t n, double sigma) {
  constexpr uint64_t kEnd = uint64_t{1} << kWalkLevels;
  n = std::min(n, kEnd);
  if (n == 0 || sigma == 0) {
    return 0;
  }
  if (n == kEnd) {
    return sigma * 0x1.0p16 * near_gaussian(hash(key, kEnd));
  }
  uint64_t lo = 0;
  double w_lo = 0;
  double w_hi = sigma * 0x1.0p16 * near_gaussian(hash(key, kEnd));
  // The bridge's standard deviation at the midpoint of an interval of length L is
  // sigma sqrt(L) / 2: sigma 2^15 for the whole span, 1/sqrt(2) of that one level down.
  double sd = sigma * 0x1.0p15;
  for (uint64_t half = kEnd / 2; half > 0; half /= 2) {
    const uint64_t mid = lo + half;
    const double w_mid = 0.5 * (w_lo + w_hi) + sd * near_gaussian(hash(key, mid));
    if (n == mid) {
      return w_mid;
    }
    // Which half holds n is a coin toss, so select rather than branch.
    const bool upper = n > mid;
    lo = upper ? mid : lo;
    w_lo = upper ? w_mid : w_lo;
    w_hi = upper ? w_hi : w_mid;
    sd *= std::numbers::sqrt2 / 2;
  }
  return w_lo;  // not reached: every n in (0, 2^32) is some interval's midpoint
}

// Integral of a shape's normalised rate from Unix time 0 to T, as whole cycles plus the
// microseconds of the last partial cycle, so differences of large times stay exact.
struct ShapeIntegral {
  uint64_t cycles = 0;
  double partial_us = 0;
};

ShapeIntegral shape_integral(const CounterShape& shape, uint64_t t) {
  const uint64_t slots = shape.cumulative.size() - 1;
  const uint64_t slot_len = shape.period / slots;
  const uint64_t rem = t % shape.period;
  const uint64_t k = rem / slot_len;
  const double rate = shape.cumulative[k + 1] - shape.cumulative[k];
  const double within = static_cast<double>(rem % slot_len) / static_cast<double>(slot_len);
  return {t / shape.period, (shape.cumulative[k] + rate * within) * static_cast<double>(slot_len)};
}

double eval_uniform(const GeneratorSpec& spec, const UniformParams& p, const EvalContext& ctx) {
  if (!std::isfinite(spec.min) || !std::isfinite(spec.max) || p.period == 0) {
    return finish(0, spec);
  }
  const uint64_t n = ctx.t / p.period;
  const double u = unit(hash(hash(resource_key(spec, ctx), kSaltUniform), n));
  if (is_integral(spec.type)) {
    // Every whole number in the bounds equally likely, the ends included.
    const auto [lo, hi] = integer_bounds(spec);
    return std::min(lo + std::floor(u * (hi - lo + 1)), hi);
  }
  return spec.min + u * (spec.max - spec.min);
}

double eval_walk(const GeneratorSpec& spec, const RandomWalkParams& p, const EvalContext& ctx) {
  const uint64_t key = resource_key(spec, ctx);
  const double start = clamp_to(draw(p.start, key, kSaltStart), spec.min, spec.max);
  if (p.period == 0) {
    return finish(start, spec);
  }
  const double offset = walk_offset(hash(key, kSaltWalk), ctx.t / p.period, p.step);
  if (!std::isfinite(spec.min) || !std::isfinite(spec.max)) {
    return finish(start + offset, spec);
  }
  return finish(fold(start + offset, spec.min, spec.max), spec);
}

double eval_sine(const GeneratorSpec& spec, const SineParams& p, const EvalContext& ctx) {
  const uint64_t key = resource_key(spec, ctx);
  const double mean = draw(p.mean, key, kSaltMean);
  if (p.period == 0) {
    return finish(mean, spec);
  }
  const TimeUs interval = p.interval == 0 ? 1 : p.interval;
  const uint64_t q = ctx.t / interval;
  const uint64_t now = unix_us(ctx, q * interval);
  // (now - phase) mod period, in integers: Unix microseconds do not fit a double's fraction.
  const uint64_t in_cycle = (now % p.period + p.period - p.phase % p.period) % p.period;
  const double angle =
      2 * std::numbers::pi * static_cast<double>(in_cycle) / static_cast<double>(p.period);
  double v = mean + p.amplitude * std::sin(angle);
  if (p.noise > 0) {
    v += p.noise * near_gaussian(hash(hash(key, kSaltNoise), q));
  }
  return finish(v, spec);
}

double eval_counter(const GeneratorSpec& spec, const CounterParams& p, const EvalContext& ctx) {
  const uint64_t key = resource_key(spec, ctx);
  const double start = draw(p.start, key, kSaltStart);
  if (p.period == 0) {
    return finish(start, spec);
  }
  const double increment = draw(p.increment, key, kSaltIncrement);
  const uint64_t n = ctx.t / p.period;
  double periods = static_cast<double>(n);
  if (p.shape != nullptr) {
    const ShapeIntegral a = shape_integral(*p.shape, unix_us(ctx, 0));
    const ShapeIntegral b = shape_integral(*p.shape, unix_us(ctx, n * p.period));
    const double us =
        static_cast<double>(b.cycles - a.cycles) * static_cast<double>(p.shape->period) +
        (b.partial_us - a.partial_us);
    periods = us / static_cast<double>(p.period);
  }
  double v = start + increment * periods;
  if (is_integral(spec.type)) {
    v = std::round(v);
  }
  if (p.wrap && std::isfinite(spec.min) && std::isfinite(spec.max)) {
    // An integer counter wraps from max to min in one step, so its cycle is one longer.
    const double span = spec.max - spec.min + (is_integral(spec.type) ? 1 : 0);
    if (span > 0) {
      double y = std::fmod(v - spec.min, span);
      if (y < 0) {
        y += span;
      }
      v = spec.min + y;
    }
  }
  return finish(v, spec);
}

const Value& eval_steps(const StepsParams& p, const EvalContext& ctx) {
  static const Value kNone;
  if (p.steps.empty()) {
    return kNone;
  }
  const uint64_t t = p.repeat > 0 ? unix_us(ctx, ctx.t) % p.repeat : ctx.t;
  const auto it = std::upper_bound(p.steps.begin(), p.steps.end(), t,
                                   [](uint64_t x, const Step& s) { return x < s.at; });
  if (it == p.steps.begin()) {
    return p.repeat > 0 ? p.steps.back().value : p.steps.front().value;
  }
  return std::prev(it)->value;
}

double eval_csv(const GeneratorSpec& spec, const CsvParams& p, const EvalContext& ctx) {
  if (p.column == nullptr || p.column->empty() || p.period == 0) {
    return finish(0, spec);
  }
  const std::vector<double>& col = *p.column;
  const uint64_t rows = col.size();
  const uint64_t offset = p.stagger ? hash(client_key(ctx), p.stagger_salt) % rows : 0;
  uint64_t i = ctx.t / p.period + offset;
  double frac = static_cast<double>(ctx.t % p.period) / static_cast<double>(p.period);
  uint64_t next = 0;
  if (p.loop) {
    i %= rows;
    next = (i + 1) % rows;
  } else if (i >= rows - 1) {
    i = rows - 1;
    next = i;
    frac = 0;
  } else {
    next = i + 1;
  }
  const double v = p.interpolate ? col[i] + (col[next] - col[i]) * frac : col[i];
  return finish(v, spec);
}

double eval_clock(const GeneratorSpec& spec, const ClockParams& p, const EvalContext& ctx) {
  const TimeUs period = p.period == 0 ? 1 : p.period;
  const uint64_t t = ctx.t / period * period;
  return finish(static_cast<double>(unix_us(ctx, t) / kUsPerSec), spec);
}

double number_of(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) {
    return static_cast<double>(*i);
  }
  if (const auto* u = std::get_if<uint64_t>(&v)) {
    return static_cast<double>(*u);
  }
  if (const auto* d = std::get_if<double>(&v)) {
    return *d;
  }
  if (const auto* tv = std::get_if<TimeValue>(&v)) {
    return static_cast<double>(tv->seconds);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

bool parse_number(std::string_view text, double* out) {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() || !std::isfinite(v)) {
    return false;
  }
  *out = v;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string unquote(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    std::string out;
    s = s.substr(1, s.size() - 2);
    for (size_t i = 0; i < s.size(); ++i) {
      out += s[i];
      if (s[i] == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        ++i;
      }
    }
    return out;
  }
  return std::string(s);
}

}  // namespace

std::string_view to_string(GeneratorKind kind) {
  return kKindNames[static_cast<size_t>(kind)];
}

bool parse_generator_kind(std::string_view text, GeneratorKind* out) {
  for (size_t i = 0; i < std::size(kKindNames); ++i) {
    if (kKindNames[i] == text) {
      *out = static_cast<GeneratorKind>(i);
      return true;
    }
  }
  return false;
}

bool is_numeric_kind(GeneratorKind kind) {
  switch (kind) {
    case GeneratorKind::kUniform:
    case GeneratorKind::kRandomWalk:
    case GeneratorKind::kSine:
    case GeneratorKind::kCounter:
    case GeneratorKind::kCsv:
      return true;
    default:
      return false;
  }
}

double evaluate_number(const GeneratorSpec& spec, const EvalContext& ctx) {
  switch (spec.kind()) {
    case GeneratorKind::kUniform:
      return eval_uniform(spec, std::get<UniformParams>(spec.params), ctx);
    case GeneratorKind::kRandomWalk:
      return eval_walk(spec, std::get<RandomWalkParams>(spec.params), ctx);
    case GeneratorKind::kSine:
      return eval_sine(spec, std::get<SineParams>(spec.params), ctx);
    case GeneratorKind::kCounter:
      return eval_counter(spec, std::get<CounterParams>(spec.params), ctx);
    case GeneratorKind::kCsv:
      return eval_csv(spec, std::get<CsvParams>(spec.params), ctx);
    case GeneratorKind::kClock:
      return eval_clock(spec, std::get<ClockParams>(spec.params), ctx);
    case GeneratorKind::kSteps:
      return number_of(eval_steps(std::get<StepsParams>(spec.params), ctx));
    case GeneratorKind::kConstant:
      return number_of(std::get<ConstantParams>(spec.params).value);
    case GeneratorKind::kPattern:
      break;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

Value evaluate(const GeneratorSpec& spec, const EvalContext& ctx) {
  switch (spec.kind()) {
    case GeneratorKind::kConstant:
      return std::get<ConstantParams>(spec.params).value;
    case GeneratorKind::kPattern:
      return std::get<PatternParams>(spec.params).pattern.format(ctx.client_index);
    case GeneratorKind::kSteps:
      return eval_steps(std::get<StepsParams>(spec.params), ctx);
    default:
      break;
  }
  const double x = evaluate_number(spec, ctx);
  if (std::isnan(x)) {
    return {};
  }
  return typed(x, spec.type);
}

size_t state_bytes(const GeneratorSpec& /*spec*/) {
  return 0;
}

uint64_t path_stream(const Lwm2mPath& path) {
  const uint64_t packed =
      (uint64_t{path.object & 0xffff} << 48) | (uint64_t{path.instance & 0xffff} << 32) |
      (uint64_t{path.resource & 0xffff} << 16) | uint64_t{path.resource_instance & 0xffff};
  return hash(0x70617468ULL, packed);
}

std::string make_counter_shape(std::span<const double> weights, TimeUs period,
                               std::shared_ptr<const CounterShape>* out) {
  if (weights.empty() || weights.size() > 1024) {
    return "needs 1 to 1024 weights, got " + std::to_string(weights.size());
  }
  if (period == 0 || period % weights.size() != 0) {
    return "the shape period must divide into " + std::to_string(weights.size()) +
           " equal slots of whole microseconds";
  }
  double sum = 0;
  for (double w : weights) {
    if (!std::isfinite(w) || w < 0) {
      return "weights must be finite and not negative";
    }
    sum += w;
  }
  if (!(sum > 0)) {
    return "at least one weight must be above 0";
  }
  auto shape = std::make_shared<CounterShape>();
  shape->period = period;
  shape->cumulative.reserve(weights.size() + 1);
  shape->cumulative.push_back(0);
  const double mean = sum / static_cast<double>(weights.size());
  for (double w : weights) {
    shape->cumulative.push_back(shape->cumulative.back() + w / mean);
  }
  *out = std::move(shape);
  return {};
}

std::string parse_csv(std::string_view text, CsvTable* out) {
  CsvTable table;
  size_t line_no = 0;
  bool first = true;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    CsvTable::Row row;
    row.line = line_no;
    std::string_view rest = line;
    while (true) {
      const size_t comma = rest.find(',');
      row.cells.push_back(unquote(trim(rest.substr(0, comma))));
      if (comma == std::string_view::npos) {
        break;
      }
      rest = rest.substr(comma + 1);
    }
    if (first) {
      first = false;
      double ignored = 0;
      const bool header = std::any_of(row.cells.begin(), row.cells.end(),
                                      [&](const auto& c) { return !parse_number(c, &ignored); });
      if (header) {
        table.header = std::move(row.cells);
        continue;
      }
    }
    table.rows.push_back(std::move(row));
  }
  if (table.rows.empty()) {
    return std::to_string(line_no) + ": no data rows";
  }
  *out = std::move(table);
  return {};
}

std::string csv_column(const CsvTable& table, std::string_view column, std::vector<double>* out) {
  size_t index = table.header.size();
  for (size_t i = 0; i < table.header.size(); ++i) {
    if (table.header[i] == column) {
      index = i;
      break;
    }
  }
  if (index == table.header.size()) {
    size_t parsed = 0;
    const auto [ptr, ec] = std::from_chars(column.data(), column.data() + column.size(), parsed);
    if (column.empty() || ec != std::errc() || ptr != column.data() + column.size()) {
      std::string names;
      for (const std::string& h : table.header) {
        names += names.empty() ? "" : ", ";
        names += h;
      }
      return "no column \"" + std::string(column) + "\"" +
             (names.empty() ? " (the file has no header row; use a 0-based index)"
                            : " (columns: " + names + ")");
    }
    index = parsed;
  }
  std::vector<double> values;
  values.reserve(table.rows.size());
  for (const CsvTable::Row& row : table.rows) {
    if (index >= row.cells.size()) {
      return "line " + std::to_string(row.line) + " has no column " + std::to_string(index);
    }
    double v = 0;
    if (!parse_number(row.cells[index], &v)) {
      return "line " + std::to_string(row.line) + ": \"" + row.cells[index] + "\" is not a number";
    }
    values.push_back(v);
  }
  *out = std::move(values);
  return {};
}

}  // namespace lwm2msim
