#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "sim/report/report.h"

namespace lwm2msim {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_time_field(MetricKind kind, std::string_view field) {
  // Counters may carry durations and moments too (server_outages): their names say so.
  return (kind == MetricKind::kTrend && field != "count") || field.ends_with("_time") ||
         field.ends_with("_at");
}

}  // namespace

std::string parse_threshold(std::string_view expression, Threshold* out) {
  Threshold t;
  t.expression = std::string(trim(expression));
  const std::string_view text = t.expression;
  static constexpr std::pair<std::string_view, ThresholdOp> kOps[] = {
      {"<=", ThresholdOp::kLessEqual}, {">=", ThresholdOp::kGreaterEqual},
      {"==", ThresholdOp::kEqual},     {"!=", ThresholdOp::kNotEqual},
      {"<", ThresholdOp::kLess},       {">", ThresholdOp::kGreater},
  };
  size_t op_pos = std::string_view::npos;
  size_t op_len = 0;
  for (const auto& [symbol, op] : kOps) {
    const size_t pos = text.find(symbol);
    if (pos != std::string_view::npos && (op_pos == std::string_view::npos || pos < op_pos ||
                                          (pos == op_pos && symbol.size() > op_len))) {
      op_pos = pos;
      op_len = symbol.size();
      t.op = op;
    }
  }
  if (op_pos == std::string_view::npos) {
    return "threshold '" + t.expression + "' has no comparison (<, <=, >, >=, ==, !=)";
  }
  const std::string_view lhs = trim(text.substr(0, op_pos));
  std::string_view rhs = trim(text.substr(op_pos + op_len));
  const size_t dot = lhs.find('.');
  if (dot == std::string_view::npos) {
    return "threshold '" + t.expression +
           "': want METRIC.FIELD on the left, e.g. registration_latency.p99";
  }
  t.metric = std::string(lhs.substr(0, dot));
  t.field = std::string(lhs.substr(dot + 1));
  const Summary::CatalogEntry* entry = nullptr;
  for (const auto& e : Summary::catalog()) {
    if (e.name == t.metric) {
      entry = &e;
    }
  }
  if (entry == nullptr) {
    std::string names;
    for (const auto& e : Summary::catalog()) {
      names += names.empty() ? "" : ", ";
      names += e.name;
    }
    return "threshold '" + t.expression + "': unknown metric '" + t.metric + "' (known: " + names +
           ")";
  }
  if (std::find(entry->fields.begin(), entry->fields.end(), t.field) == entry->fields.end()) {
    std::string fields;
    for (std::string_view f : entry->fields) {
      fields += fields.empty() ? "" : ", ";
      fields += f;
    }
    return "threshold '" + t.expression + "': metric '" + t.metric + "' has no field '" + t.field +
           "' (fields: " + fields + ")";
  }
  double number = 0;
  auto [ptr, ec] = std::from_chars(rhs.data(), rhs.data() + rhs.size(), number);
  if (ec != std::errc() || !std::isfinite(number)) {
    return "threshold '" + t.expression + "': '" + std::string(rhs) + "' is not a number";
  }
  const std::string_view unit =
      trim(std::string_view(ptr, static_cast<size_t>(rhs.data() + rhs.size() - ptr)));
  if (is_time_field(entry->kind, t.field)) {
    // Trends are kept in microseconds; a bare number is milliseconds, as k6 reads it.
    if (unit.empty() || unit == "ms") {
      number *= 1e3;
    } else if (unit == "s") {
      number *= 1e6;
    } else if (unit == "us") {
    } else {
      return "threshold '" + t.expression + "': unit '" + std::string(unit) +
             "' is not a time unit (us, ms, s)";
    }
  } else if (entry->kind == MetricKind::kRate && t.field == "rate") {
    if (unit == "%") {
      number /= 100;
    } else if (!unit.empty()) {
      return "threshold '" + t.expression +
             "': a rate takes a fraction (0.001) or a percentage (0.1%)";
    }
  } else if (!unit.empty() && !(unit == "/s" && t.field == "rate")) {
    return "threshold '" + t.expression + "': '" + t.field + "' is a count and takes no unit";
  }
  t.value = number;
  *out = std::move(t);
  return {};
}

std::vector<ThresholdResult> evaluate(const std::vector<Threshold>& thresholds,
                                      const Summary& summary) {
  std::vector<ThresholdResult> results;
  for (const Threshold& t : thresholds) {
    ThresholdResult r;
    r.threshold = t;
    r.actual = summary.value(t.metric, t.field);
    if (r.actual) {
      const double a = *r.actual;
      switch (t.op) {
        case ThresholdOp::kLess:
          r.passed = a < t.value;
          break;
        case ThresholdOp::kLessEqual:
          r.passed = a <= t.value;
          break;
        case ThresholdOp::kGreater:
          r.passed = a > t.value;
          break;
        case ThresholdOp::kGreaterEqual:
          r.passed = a >= t.value;
          break;
        case ThresholdOp::kEqual:
          r.passed = a == t.value;
          break;
        case ThresholdOp::kNotEqual:
          r.passed = a != t.value;
          break;
      }
    }
    // A threshold on a metric without samples fails: nothing was shown to hold.
    results.push_back(std::move(r));
  }
  return results;
}

std::string format_field(std::string_view field, MetricKind kind, double value) {
  char buf[64];
  if (is_time_field(kind, field)) {
    return format_duration(static_cast<TimeUs>(std::llround(std::max(0.0, value))));
  }
  if (kind == MetricKind::kRate && field == "rate") {
    std::snprintf(buf, sizeof buf, "%.3g%%", value * 100);
    return buf;
  }
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f", value);
  }
  return buf;
}

}  // namespace lwm2msim
