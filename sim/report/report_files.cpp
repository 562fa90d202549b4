#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "sim/report/report.h"

namespace lwm2msim {
namespace {

std::string_view kind_name(MetricKind k) {
  switch (k) {
    case MetricKind::kCounter:
      return "counter";
    case MetricKind::kRate:
      return "rate";
    case MetricKind::kTrend:
      return "trend";
    case MetricKind::kGauge:
      return "gauge";
  }
  return "counter";
}

nlohmann::json machine() {
  nlohmann::json m;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  m["hostname"] = host;
  m["cpus"] = std::thread::hardware_concurrency();
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  m["memory_bytes"] = pages > 0 && page_size > 0
                          ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size)
                          : 0;
  utsname u{};
  if (uname(&u) == 0) {
    m["kernel"] = std::string(u.sysname) + " " + u.release;
    m["arch"] = u.machine;
  }
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      m["cpu_model"] = line.substr(line.find(':') + 2);
      break;
    }
  }
  return m;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

MetricKind kind_of(const Summary& summary, const std::string& metric) {
  const SummaryMetric* m = summary.find(metric);
  if (m != nullptr) {
    return m->kind;
  }
  for (const auto& e : Summary::catalog()) {
    if (e.name == metric) {
      return e.kind;
    }
  }
  return MetricKind::kCounter;
}

std::string write_file(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) {
    return "cannot write '" + path + "'";
  }
  f << content;
  f.close();
  return f ? std::string() : "cannot write '" + path + "'";
}

}  // namespace

std::string json_report(const RunInfo& info, const Summary& summary,
                        const std::vector<ThresholdResult>& results) {
  nlohmann::json j;
  j["tool"] = "lwm2m-sim";
  j["version"] = info.version;
  j["command"] = info.command;
  j["seed"] = info.seed;
  j["started_at"] = info.started_at;
  j["duration_seconds"] = static_cast<double>(summary.elapsed()) / 1e6;
  j["machine"] = machine();
  nlohmann::json metrics = nlohmann::json::object();
  for (const SummaryMetric& m : summary.metrics()) {
    nlohmann::json entry;
    entry["kind"] = kind_name(m.kind);
    entry["help"] = m.help;
    if (m.kind == MetricKind::kTrend) {
      entry["unit"] = "microseconds";
    }
    for (const auto& [field, value] : m.fields) {
      entry["values"][field] = value;
    }
    metrics[m.name] = entry;
  }
  j["metrics"] = metrics;
  bool passed = true;
  nlohmann::json thresholds = nlohmann::json::array();
  for (const ThresholdResult& r : results) {
    nlohmann::json t;
    t["expression"] = r.threshold.expression;
    t["metric"] = r.threshold.metric;
    t["field"] = r.threshold.field;
    t["limit"] = r.threshold.value;
    t["passed"] = r.passed;
    t["actual"] = r.actual ? nlohmann::json(*r.actual) : nlohmann::json(nullptr);
    thresholds.push_back(t);
    passed = passed && r.passed;
  }
  j["thresholds"] = thresholds;
  j["passed"] = passed;
  return j.dump(2) + "\n";
}

std::string junit_xml(const Summary& summary, const std::vector<ThresholdResult>& results) {
  size_t failures = 0;
  for (const ThresholdResult& r : results) {
    failures += r.passed ? 0 : 1;
  }
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<testsuites tests=\"" + std::to_string(results.size()) + "\" failures=\"" +
       std::to_string(failures) + "\">\n";
  x += "  <testsuite name=\"lwm2m-sim thresholds\" tests=\"" + std::to_string(results.size()) +
       "\" failures=\"" + std::to_string(failures) + "\" time=\"" +
       std::to_string(static_cast<double>(summary.elapsed()) / 1e6) + "\">\n";
  for (const ThresholdResult& r : results) {
    const MetricKind kind = kind_of(summary, r.threshold.metric);
    x += "    <testcase classname=\"thresholds\" name=\"" + xml_escape(r.threshold.expression) +
         "\"";
    if (r.passed) {
      x += "/>\n";
      continue;
    }
    const std::string actual =
        r.actual ? format_field(r.threshold.field, kind, *r.actual) : std::string("no samples");
    x += ">\n      <failure message=\"" +
         xml_escape(r.threshold.expression + " failed: actual " + actual) +
         "\"/>\n    </testcase>\n";
  }
  x += "  </testsuite>\n</testsuites>\n";
  return x;
}

std::string write_json_report(const std::string& path, const RunInfo& info, const Summary& summary,
                              const std::vector<ThresholdResult>& results) {
  return write_file(path, json_report(info, summary, results));
}

std::string write_junit(const std::string& path, const Summary& summary,
                        const std::vector<ThresholdResult>& results) {
  return write_file(path, junit_xml(summary, results));
}

}  // namespace lwm2msim
