// report: the run's summary metrics (k6-style counters, rates and trends), thresholds over them,
// and the JSON and JUnit reports CI gates on. Pure functions of snapshots; no I/O but file writes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/fleet/fleet.h"
#include "sim/server/server.h"

namespace lwm2msim {

enum class MetricKind : uint8_t {
  kCounter,  // fields: count, rate (per second)
  kRate,     // fields: rate (fraction 0..1), count (events that matched), total
  kTrend,    // fields: count, min, max, avg, p50, p90, p95, p99 (microseconds)
  kGauge,    // fields: value
};

struct SummaryMetric {
  std::string name;
  MetricKind kind = MetricKind::kCounter;
  std::string help;
  std::map<std::string, double> fields;
};

// Every summary metric of a run, in a fixed order.
class Summary {
 public:
  static Summary build(const FleetSnapshot& fleet, const ServerSnapshot* server, TimeUs elapsed);
  struct CatalogEntry {
    std::string_view name;
    MetricKind kind;
    std::vector<std::string_view> fields;
  };
  // Every metric name with its kind and fields, known before any run (to validate thresholds).
  static const std::vector<CatalogEntry>& catalog();

  const SummaryMetric* find(std::string_view name) const;
  std::optional<double> value(std::string_view name, std::string_view field) const;
  const std::vector<SummaryMetric>& metrics() const { return metrics_; }
  TimeUs elapsed() const { return elapsed_; }

 private:
  std::vector<SummaryMetric> metrics_;
  TimeUs elapsed_ = 0;
};

enum class ThresholdOp : uint8_t { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual, kNotEqual };

// "registration_latency.p99 < 200ms", "errors.rate < 0.1%", "notifications.count > 10000".
struct Threshold {
  std::string expression;
  std::string metric;
  std::string field;
  ThresholdOp op = ThresholdOp::kLess;
  double value = 0;  // in the field's unit: microseconds for trends, a fraction for rates
  bool abort_on_fail = false;
};
// Empty on success, else the reason (naming the part of the expression that is wrong).
std::string parse_threshold(std::string_view expression, Threshold* out);

struct ThresholdResult {
  Threshold threshold;
  bool passed = false;
  std::optional<double> actual;  // absent when the metric had no samples
};
std::vector<ThresholdResult> evaluate(const std::vector<Threshold>& thresholds,
                                      const Summary& summary);
// A value in the threshold's unit, for messages ("212.4ms", "0.12%", "10432").
std::string format_field(std::string_view field, MetricKind kind, double value);

struct RunInfo {
  std::string version;
  std::string command;  // the command line, or the scenario file
  uint64_t seed = 0;
  std::string started_at;  // ISO 8601 UTC
};

// Writes the JSON report; empty on success, else the reason.
std::string write_json_report(const std::string& path, const RunInfo& info, const Summary& summary,
                              const std::vector<ThresholdResult>& results);
// Writes a JUnit XML file with one test case per threshold.
std::string write_junit(const std::string& path, const Summary& summary,
                        const std::vector<ThresholdResult>& results);
std::string json_report(const RunInfo& info, const Summary& summary,
                        const std::vector<ThresholdResult>& results);
std::string junit_xml(const Summary& summary, const std::vector<ThresholdResult>& results);

// Human-readable text: the final summary table and the live progress.
std::string summary_table(const Summary& summary, const std::vector<ThresholdResult>& results);
std::string progress_line(TimeUs elapsed, const FleetSnapshot& now, const FleetSnapshot& before,
                          TimeUs interval, uint64_t clients);
// A few lines for a terminal; redrawn in place by the caller.
std::string progress_table(TimeUs elapsed, const FleetSnapshot& now, const FleetSnapshot& before,
                           TimeUs interval, uint64_t clients);
std::string format_duration(TimeUs us);

}  // namespace lwm2msim
