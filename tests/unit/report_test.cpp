#include "sim/report/report.h"

#include <gtest/gtest.h>

#include <limits>

#include "metrics/exporter.h"

namespace lwm2msim {
namespace {

FleetSnapshot sample_snapshot() {
  FleetSnapshot s;
  s.states[static_cast<size_t>(ClientState::kRegistered)] = 90;
  s.states[static_cast<size_t>(ClientState::kBackoff)] = 10;
  s.register_sent = 110;
  s.register_ok = 100;
  s.register_failed = 10;
  s.update_sent = 50;
  s.update_ok = 50;
  s.notifications = 1234;
  for (uint64_t v = 1; v <= 1000; ++v) {
    s.register_latency.add(v * 1000);  // 1 ms .. 1 s
  }
  s.responses[static_cast<size_t>(Lwm2mOperation::kRead)][response_code_slot(CoapCode::kContent)] =
      7;
  s.responses[static_cast<size_t>(Lwm2mOperation::kRead)][response_code_slot(CoapCode::kNotFound)] =
      2;
  return s;
}

TEST(Threshold, ParsesUnitsIntoTheMetricsUnits) {
  Threshold t;
  ASSERT_EQ(parse_threshold("registration_latency.p99 < 200ms", &t), "");
  EXPECT_EQ(t.metric, "registration_latency");
  EXPECT_EQ(t.field, "p99");
  EXPECT_EQ(t.op, ThresholdOp::kLess);
  EXPECT_DOUBLE_EQ(t.value, 200000);
  ASSERT_EQ(parse_threshold("registration_latency.max<=1.5s", &t), "");
  EXPECT_EQ(t.op, ThresholdOp::kLessEqual);
  EXPECT_DOUBLE_EQ(t.value, 1.5e6);
  ASSERT_EQ(parse_threshold("update_rtt.p50 < 300", &t), "");
  EXPECT_DOUBLE_EQ(t.value, 300000) << "a bare number on a time is milliseconds";
  ASSERT_EQ(parse_threshold("errors.rate < 0.1%", &t), "");
  EXPECT_DOUBLE_EQ(t.value, 0.001);
  ASSERT_EQ(parse_threshold("notifications.sent >= 10000", &t), "");
  EXPECT_EQ(t.op, ThresholdOp::kGreaterEqual);
  EXPECT_DOUBLE_EQ(t.value, 10000);
}

TEST(Threshold, RejectsWhatItCannotCheck) {
  Threshold t;
  EXPECT_NE(parse_threshold("registration_latency.p99", &t).find("no comparison"),
            std::string::npos);
  EXPECT_NE(parse_threshold("latency < 5", &t).find("METRIC.FIELD"), std::string::npos);
  EXPECT_NE(parse_threshold("nope.p99 < 5", &t).find("unknown metric 'nope'"), std::string::npos);
  EXPECT_NE(parse_threshold("registration_latency.p42 < 5", &t).find("no field 'p42'"),
            std::string::npos);
  EXPECT_NE(parse_threshold("registration_latency.p99 < fast", &t).find("not a number"),
            std::string::npos);
  EXPECT_NE(parse_threshold("registration_latency.p99 < 5 days", &t).find("time unit"),
            std::string::npos);
  EXPECT_NE(parse_threshold("notifications.sent > 5ms", &t).find("takes no unit"),
            std::string::npos);
}

TEST(Summary, HoldsCountsRatesAndTrends) {
  const FleetSnapshot s = sample_snapshot();
  const Summary summary = Summary::build(s, nullptr, 10 * kUsPerSec);
  EXPECT_EQ(summary.value("registrations", "ok"), 100);
  EXPECT_DOUBLE_EQ(*summary.value("registrations", "rate"), 10.0);
  EXPECT_NEAR(*summary.value("errors", "rate"), 10.0 / 160.0, 1e-12);
  EXPECT_EQ(summary.value("server_requests", "ok"), 7);
  EXPECT_EQ(summary.value("server_requests", "client_errors"), 2);
  EXPECT_NEAR(*summary.value("registration_latency", "p50"), 500000, 500000 * 0.02);
  EXPECT_NEAR(*summary.value("registration_latency", "p99"), 990000, 990000 * 0.02);
  EXPECT_EQ(summary.value("registration_latency", "count"), 1000);
  EXPECT_FALSE(summary.value("update_latency", "p99").has_value()) << "no samples, no percentile";
  EXPECT_EQ(summary.find("builtin_server"), nullptr) << "only with an in-process server";
}

TEST(Summary, AccountsForExchangesAndServerOutages) {
  FleetSnapshot s = sample_snapshot();
  s.exchanges[static_cast<size_t>(ExchangeKind::kUpdate)] = {50, 44, 5, 1};
  s.outages.count = 1;
  s.outages.total = 4 * kUsPerSec;
  s.outages.longest = 4 * kUsPerSec;
  s.outages.devices_lost = 90;
  s.outages.recovery = 2500 * kUsPerMs;
  const Summary summary = Summary::build(s, nullptr, 10 * kUsPerSec);
  EXPECT_EQ(summary.value("update_exchanges", "sent"), 50);
  EXPECT_EQ(summary.value("update_exchanges", "timed_out"), 5);
  EXPECT_EQ(summary.value("update_exchanges", "abandoned"), 1);
  EXPECT_EQ(summary.value("server_outages", "devices_lost"), 90);
  const std::string table = summary_table(summary, {});
  EXPECT_NE(table.find("  server_outages          count 1  total_time 4.00 s  longest_time 4.00 s"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("update_exchanges        sent 50  answered 44  timed_out 5  abandoned 1"),
            std::string::npos)
      << table;
  for (const SummaryMetric& m : summary.metrics()) {
    EXPECT_LE(m.name.size(), 23u) << m.name << " does not fit the table's name column";
  }
  Threshold t;
  ASSERT_EQ(parse_threshold("server_outages.recovery_time < 3s", &t), "");
  EXPECT_DOUBLE_EQ(t.value, 3e6);
  EXPECT_TRUE(evaluate({t}, summary).front().passed);
}

TEST(Threshold, EvaluatesPassFailAndMissingSamples) {
  const Summary summary = Summary::build(sample_snapshot(), nullptr, 10 * kUsPerSec);
  std::vector<Threshold> ts(4);
  ASSERT_EQ(parse_threshold("registration_latency.p99 < 2s", &ts[0]), "");
  ASSERT_EQ(parse_threshold("registration_latency.p99 < 200ms", &ts[1]), "");
  ASSERT_EQ(parse_threshold("errors.rate < 1%", &ts[2]), "");
  ASSERT_EQ(parse_threshold("update_latency.p99 < 1s", &ts[3]), "");
  const auto results = evaluate(ts, summary);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_TRUE(results[0].passed);
  EXPECT_FALSE(results[1].passed);
  EXPECT_FALSE(results[2].passed);
  EXPECT_FALSE(results[3].passed) << "a threshold on a metric without samples has not held";
  EXPECT_FALSE(results[3].actual.has_value());
}

TEST(Reports, JsonAndJunitCarryEveryThreshold) {
  const Summary summary = Summary::build(sample_snapshot(), nullptr, 10 * kUsPerSec);
  std::vector<Threshold> ts(2);
  ASSERT_EQ(parse_threshold("registrations.ok > 50", &ts[0]), "");
  ASSERT_EQ(parse_threshold("errors.rate < 1%", &ts[1]), "");
  const auto results = evaluate(ts, summary);
  const std::string json =
      json_report({"0.1.0", "lwm2m-sim run", 42, "2026-01-01T00:00:00Z"}, summary, results);
  EXPECT_NE(json.find("\"seed\": 42"), std::string::npos);
  EXPECT_NE(json.find("\"expression\": \"errors.rate < 1%\""), std::string::npos);
  EXPECT_NE(json.find("\"passed\": false"), std::string::npos);
  EXPECT_NE(json.find("\"p99\""), std::string::npos);
  const std::string xml = junit_xml(summary, results);
  EXPECT_NE(xml.find("tests=\"2\" failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"registrations.ok &gt; 50\"/>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("failed: actual 6.25%"), std::string::npos) << xml;
}

TEST(Exporter, FamiliesFollowPrometheusConventions) {
  const auto families = collect_families(sample_snapshot(), nullptr, "default", "steady");
  bool saw_clients = false;
  for (const auto& f : families) {
    EXPECT_EQ(f.name.rfind("lwm2msim_", 0), 0u) << f.name;
    if (f.type == prometheus::MetricType::Counter) {
      EXPECT_TRUE(f.name.ends_with("_total")) << f.name;
    }
    if (f.type == prometheus::MetricType::Histogram) {
      EXPECT_TRUE(f.name.ends_with("_seconds")) << f.name;
      for (const auto& m : f.metric) {
        ASSERT_FALSE(m.histogram.bucket.empty());
        EXPECT_EQ(m.histogram.bucket.back().upper_bound, std::numeric_limits<double>::infinity());
        EXPECT_EQ(m.histogram.bucket.back().cumulative_count, m.histogram.sample_count);
        for (size_t i = 1; i < m.histogram.bucket.size(); ++i) {
          EXPECT_GE(m.histogram.bucket[i].cumulative_count,
                    m.histogram.bucket[i - 1].cumulative_count);
        }
      }
    }
    if (f.name == "lwm2msim_clients") {
      saw_clients = true;
      for (const auto& m : f.metric) {
        if (m.label.at(1).value == "registered") {
          EXPECT_EQ(m.gauge.value, 90);
        }
      }
    }
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) {
        EXPECT_TRUE(l.name == "group" || l.name == "state" || l.name == "operation" ||
                    l.name == "result" || l.name == "code" || l.name == "direction" ||
                    l.name == "phase" || l.name == "event" || l.name == "reason")
            << "no per-device labels: " << l.name;
      }
    }
  }
  EXPECT_TRUE(saw_clients);
}

}  // namespace
}  // namespace lwm2msim
