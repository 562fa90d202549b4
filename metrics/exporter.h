// metrics: Prometheus exposition of the fleet's per-worker statistics. Nothing is updated per
// message here: a scrape takes snapshots of the workers' counters and turns them into families.
#pragma once

#include <prometheus/metric_family.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/fleet/fleet.h"
#include "sim/server/server.h"

namespace lwm2msim {

struct MetricsSources {
  std::function<FleetSnapshot()> fleet;
  // The in-process built-in server, when there is one.
  std::function<std::optional<ServerSnapshot>()> server;
  // Current phase of the run ("ramp", "steady", "stop").
  std::function<std::string()> phase;
  std::string group = "default";
};

// The metric families of one scrape. Pure: used by the exporter and by tests.
std::vector<prometheus::MetricFamily> collect_families(const FleetSnapshot& fleet,
                                                       const ServerSnapshot* server,
                                                       const std::string& group,
                                                       const std::string& phase);

class MetricsExporter {
 public:
  // Serves /metrics on "ADDR:PORT" (port 0 picks a free one). Returns nullptr with *error set when
  // the address is bad or the port is taken.
  static std::unique_ptr<MetricsExporter> start(const std::string& address, MetricsSources sources,
                                                std::string* error);
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  int port() const;

  struct Impl;
  // Use start(); Impl is private to the exporter.
  explicit MetricsExporter(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lwm2msim
