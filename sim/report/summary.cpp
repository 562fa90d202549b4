#include <algorithm>

#include "sim/report/report.h"

namespace lwm2msim {
namespace {

const std::vector<std::string_view> kTrendFields = {"count", "min", "max", "avg",
                                                    "p50",   "p90", "p95", "p99"};
const std::vector<std::string_view> kExchangeFields = {"sent", "answered", "timed_out",
                                                       "abandoned"};

SummaryMetric trend(std::string name, std::string help, const HistogramSnapshot& h) {
  SummaryMetric m{std::move(name), MetricKind::kTrend, std::move(help), {}};
  m.fields["count"] = static_cast<double>(h.count());
  if (h.count() > 0) {
    m.fields["min"] = static_cast<double>(h.min());
    m.fields["max"] = static_cast<double>(h.max());
    m.fields["avg"] = h.mean();
    m.fields["p50"] = static_cast<double>(h.percentile(50));
    m.fields["p90"] = static_cast<double>(h.percentile(90));
    m.fields["p95"] = static_cast<double>(h.percentile(95));
    m.fields["p99"] = static_cast<double>(h.percentile(99));
  }
  return m;
}

SummaryMetric counter(std::string name, std::string help,
                      std::initializer_list<std::pair<const char*, uint64_t>> fields) {
  SummaryMetric m{std::move(name), MetricKind::kCounter, std::move(help), {}};
  for (const auto& [k, v] : fields) {
    m.fields[k] = static_cast<double>(v);
  }
  return m;
}

}  // namespace

const std::vector<Summary::CatalogEntry>& Summary::catalog() {
  static const std::vector<CatalogEntry> kCatalog = {
      {"registrations", MetricKind::kCounter, {"ok", "failed", "attempts", "rate"}},
      {"updates", MetricKind::kCounter, {"ok", "failed", "not_found"}},
      {"deregistrations", MetricKind::kCounter, {"ok", "failed", "abandoned"}},
      {"errors", MetricKind::kRate, {"rate", "count", "total"}},
      {"retransmissions", MetricKind::kCounter, {"count"}},
      {"timeouts", MetricKind::kCounter, {"count"}},
      {"register_exchanges", MetricKind::kCounter, kExchangeFields},
      {"update_exchanges", MetricKind::kCounter, kExchangeFields},
      {"deregister_exchanges", MetricKind::kCounter, kExchangeFields},
      {"notification_exchanges", MetricKind::kCounter, kExchangeFields},
      {"send_exchanges", MetricKind::kCounter, kExchangeFields},
      {"server_outages",
       MetricKind::kCounter,
       {"count", "total_time", "longest_time", "devices_lost", "recovery_time", "recovered_at",
        "unrecovered", "ongoing"}},
      {"server_requests",
       MetricKind::kCounter,
       {"received", "duplicates", "ok", "client_errors", "server_errors"}},
      {"observations", MetricKind::kCounter, {"established", "cancelled"}},
      {"notifications", MetricKind::kCounter, {"sent", "confirmable", "timeouts"}},
      {"sends", MetricKind::kCounter, {"sent", "ok", "failed"}},
      {"phases", MetricKind::kCounter, {"dropped_arrivals", "churned"}},
      {"faults",
       MetricKind::kCounter,
       {"dropped_up", "dropped_down", "delayed", "duplicated", "outage_drops", "nat_drops"}},
      {"queue_mode", MetricKind::kCounter, {"asleep_drops", "deferred_reports"}},
      {"firmware",
       MetricKind::kCounter,
       {"downloads", "blocks", "downloaded", "download_failed", "updated", "update_failed"}},
      {"data_model", MetricKind::kCounter, {"changes", "reboots", "clients_changed", "bytes"}},
      {"datagrams",
       MetricKind::kCounter,
       {"in", "out", "send_errors", "malformed", "unknown_address"}},
      {"rejected",
       MetricKind::kCounter,
       {"malformed", "oversized", "bad_version", "bad_option", "unexpected", "pings", "resets"}},
      {"bytes", MetricKind::kCounter, {"in", "out"}},
      {"dtls",
       MetricKind::kCounter,
       {"handshakes", "resumed", "failed", "retransmits", "closes", "peer_closes",
        "records_dropped", "unsent"}},
      {"bootstrap", MetricKind::kCounter, {"sent", "ok", "failed", "link_failed"}},
      {"registration_latency", MetricKind::kTrend, kTrendFields},
      {"registration_rtt", MetricKind::kTrend, kTrendFields},
      {"update_latency", MetricKind::kTrend, kTrendFields},
      {"update_rtt", MetricKind::kTrend, kTrendFields},
      {"deregistration_latency", MetricKind::kTrend, kTrendFields},
      {"deregistration_rtt", MetricKind::kTrend, kTrendFields},
      {"timer_lateness", MetricKind::kTrend, kTrendFields},
      {"dtls_handshake", MetricKind::kTrend, kTrendFields},
      {"bootstrap_latency", MetricKind::kTrend, kTrendFields},
      {"builtin_server",
       MetricKind::kCounter,
       {"registers", "updates", "deregisters", "expired", "reads_sent", "reads_ok", "observes_ok",
        "notifications", "request_timeouts", "outage_drops", "outage_forgotten"}},
      {"server_exercise",
       MetricKind::kCounter,
       {"started", "completed", "steps_ok", "unexpected", "skipped", "sends_received"}},
      {"server_queue",
       MetricKind::kCounter,
       {"queued", "flushed", "wakeups", "overflow", "dropped"}},
      {"server_firmware",
       MetricKind::kCounter,
       {"started", "downloads", "blocks", "executed", "succeeded", "failed", "abandoned"}},
      {"server_dtls",
       MetricKind::kCounter,
       {"handshakes", "resumed", "failed", "hello_verify", "sessions", "closed", "records_dropped",
        "plain_dropped"}},
      {"server_bootstrap",
       MetricKind::kCounter,
       {"requests", "finished", "failed", "read_unsupported"}},
      {"server_read_latency", MetricKind::kTrend, kTrendFields},
      {"server_observe_latency", MetricKind::kTrend, kTrendFields},
      {"server_queue_delay", MetricKind::kTrend, kTrendFields},
      {"server_firmware_time", MetricKind::kTrend, kTrendFields},
      {"server_dtls_handshake", MetricKind::kTrend, kTrendFields},
      {"server_bootstrap_time", MetricKind::kTrend, kTrendFields},
  };
  return kCatalog;
}

Summary Summary::build(const FleetSnapshot& s, const ServerSnapshot* server, TimeUs elapsed) {
  Summary out;
  out.elapsed_ = elapsed;
  auto& m = out.metrics_;
  const double seconds = std::max(1e-6, static_cast<double>(elapsed) / 1e6);
  m.push_back(counter(
      "registrations", "Register exchanges: 2.01 received, failed, started",
      {{"ok", s.register_ok}, {"failed", s.register_failed}, {"attempts", s.register_sent}}));
  m.back().fields["rate"] = static_cast<double>(s.register_ok) / seconds;
  m.push_back(counter(
      "updates", "Update exchanges",
      {{"ok", s.update_ok}, {"failed", s.update_failed}, {"not_found", s.update_not_found}}));
  m.push_back(counter(
      "deregistrations", "De-register exchanges",
      {{"ok", s.deregister_ok}, {"failed", s.deregister_failed}, {"abandoned", s.abandoned}}));
  const uint64_t total = s.register_sent + s.update_sent + s.deregister_sent;
  const uint64_t errors = s.register_failed + s.update_failed + s.deregister_failed;
  m.push_back(
      {"errors",
       MetricKind::kRate,
       "Failed client-initiated exchanges / exchanges started",
       {{"rate", total == 0 ? 0.0 : static_cast<double>(errors) / static_cast<double>(total)},
        {"count", static_cast<double>(errors)},
        {"total", static_cast<double>(total)}}});
  m.push_back(
      counter("retransmissions", "CON retransmissions by clients", {{"count", s.retransmissions}}));
  m.push_back(
      counter("timeouts", "Exchanges that ran out of retransmissions", {{"count", s.timeouts}}));
  const struct {
    ExchangeKind kind;
    const char* name;
    const char* help;
  } exchanges[] = {
      {ExchangeKind::kRegister, "register_exchanges", "Register exchanges by how they ended"},
      {ExchangeKind::kUpdate, "update_exchanges", "Update exchanges by how they ended"},
      {ExchangeKind::kDeregister, "deregister_exchanges",
       "De-register exchanges by how they ended"},
      {ExchangeKind::kNotification, "notification_exchanges",
       "CON notifications by how they ended"},
      {ExchangeKind::kSend, "send_exchanges", "Confirmable Sends by how they ended"},
      {ExchangeKind::kBootstrapRequest, "bootstrap_exchanges",
       "Bootstrap-Requests by how they ended"},
  };
  for (const auto& e : exchanges) {
    const ExchangeTally& x = s.exchanges[static_cast<size_t>(e.kind)];
    m.push_back(counter(e.name, e.help,
                        {{"sent", x.sent},
                         {"answered", x.answered},
                         {"timed_out", x.timed_out},
                         {"abandoned", x.abandoned}}));
  }
  const OutageSummary& o = s.outages;
  m.push_back(counter("server_outages",
                      "Periods in which exchanges with the server only timed out, and how long "
                      "the devices they cost took to register again",
                      {{"count", o.count},
                       {"total_time", o.total},
                       {"longest_time", o.longest},
                       {"devices_lost", o.devices_lost},
                       {"recovery_time", o.recovery},
                       {"recovered_at", o.recovered_at},
                       {"unrecovered", o.unrecovered},
                       {"ongoing", o.ongoing ? 1u : 0u}}));
  uint64_t ok = 0;
  uint64_t client_errors = 0;
  uint64_t server_errors = 0;
  for (const auto& by_code : s.responses) {
    for (size_t slot = 0; slot < by_code.size(); ++slot) {
      const uint8_t code =
          slot < kResponseCodes.size() ? kResponseCodes[slot] : CoapCode::kInternalServerError;
      const uint8_t cls = coap_code_class(code);
      (cls == 2 ? ok : cls == 4 ? client_errors : server_errors) += by_code[slot];
    }
  }
  m.push_back(counter("server_requests", "Requests from the server, answered by clients",
                      {{"received", s.requests},
                       {"duplicates", s.request_duplicates},
                       {"ok", ok},
                       {"client_errors", client_errors},
                       {"server_errors", server_errors}}));
  m.push_back(counter("observations", "Observations established by the server",
                      {{"established", s.observations}, {"cancelled", s.observations_cancelled}}));
  m.push_back(counter("notifications", "Notifications sent by clients",
                      {{"sent", s.notifications},
                       {"confirmable", s.notifications_con},
                       {"timeouts", s.notification_timeouts}}));
  m.push_back(counter("phases", "Open-model arrivals with no idle device, and churn cycles",
                      {{"dropped_arrivals", s.dropped_arrivals}, {"churned", s.churned}}));
  m.push_back(counter("faults", "Datagrams and devices the scenario's faults affected",
                      {{"dropped_up", s.faults_dropped_up},
                       {"dropped_down", s.faults_dropped_down},
                       {"delayed", s.faults_delayed},
                       {"duplicated", s.faults_duplicated},
                       {"outage_drops", s.outage_drops},
                       {"nat_drops", s.nat_drops}}));
  m.push_back(counter("queue_mode", "Queue-mode devices: datagrams lost asleep, reports held",
                      {{"asleep_drops", s.sleep_drops}, {"deferred_reports", s.reports_deferred}}));
  m.push_back(counter("firmware", "Firmware updates on the devices (object 5, pull over CoAP)",
                      {{"downloads", s.fw_downloads},
                       {"blocks", s.fw_blocks},
                       {"downloaded", s.fw_downloaded},
                       {"download_failed", s.fw_download_failed},
                       {"updated", s.fw_updated},
                       {"update_failed", s.fw_update_failed}}));
  m.push_back(counter("sends", "Send (POST /dp) requests by clients",
                      {{"sent", s.sends}, {"ok", s.sends_ok}, {"failed", s.sends_failed}}));
  m.push_back(counter("data_model", "Changes servers made to client data models",
                      {{"changes", s.writes_applied},
                       {"reboots", s.reboots},
                       {"clients_changed", s.clients_with_data},
                       {"bytes", s.client_data_bytes}}));
  m.push_back(counter("datagrams", "UDP datagrams of the fleet",
                      {{"in", s.datagrams_in},
                       {"out", s.datagrams_out},
                       {"send_errors", s.send_errors},
                       {"malformed", s.malformed},
                       {"unknown_address", s.unknown_address}}));
  {
    const uint64_t oversized = s.malformed_by[static_cast<size_t>(CoapParseError::kTooLarge)];
    const uint64_t bad_version = s.malformed_by[static_cast<size_t>(CoapParseError::kBadVersion)];
    m.push_back(counter("rejected", "Datagrams from servers refused (RFC 7252 4.2, 5.4.1)",
                        {{"malformed", s.malformed - oversized - bad_version},
                         {"oversized", oversized},
                         {"bad_version", bad_version},
                         {"bad_option", s.bad_option},
                         {"unexpected", s.unexpected},
                         {"pings", s.pings},
                         {"resets", s.resets}}));
  }
  m.push_back(counter("bytes", "UDP payload bytes of the fleet",
                      {{"in", s.bytes_in}, {"out", s.bytes_out}}));
  uint64_t dtls_failed = 0;
  for (uint64_t n : s.dtls_failed) {
    dtls_failed += n;
  }
  m.push_back(counter("dtls", "The devices' DTLS sessions (coaps)",
                      {{"handshakes", s.dtls_handshakes},
                       {"resumed", s.dtls_resumed},
                       {"failed", dtls_failed},
                       {"retransmits", s.dtls_retransmits},
                       {"closes", s.dtls_closes},
                       {"peer_closes", s.dtls_peer_closes},
                       {"records_dropped", s.dtls_records_dropped},
                       {"unsent", s.dtls_unsent}}));
  m.push_back(counter("bootstrap",
                      "Client-initiated bootstrap, and exchanges a failed "
                      "handshake kept from starting",
                      {{"sent", s.bootstrap_sent},
                       {"ok", s.bootstrap_ok},
                       {"failed", s.bootstrap_failed},
                       {"link_failed", s.link_failed}}));
  m.push_back(trend("registration_latency", "From when a Register was due to its 2.01",
                    s.register_latency));
  m.push_back(trend("registration_rtt", "From a Register's first transmission to its 2.01",
                    s.register_rtt));
  m.push_back(trend("update_latency", "From when an Update was due to its 2.04", s.update_latency));
  m.push_back(trend("update_rtt", "From an Update's first transmission to its 2.04", s.update_rtt));
  m.push_back(trend("deregistration_latency", "From when a De-register was due to its 2.02",
                    s.deregister_latency));
  m.push_back(trend("deregistration_rtt", "From a De-register's first transmission to its 2.02",
                    s.deregister_rtt));
  m.push_back(trend("timer_lateness", "How late the workers' timers fired", s.timer_lateness));
  m.push_back(trend("dtls_handshake", "From a device's ClientHello to its finished handshake",
                    s.dtls_handshake_time));
  m.push_back(trend("bootstrap_latency",
                    "From when a Bootstrap-Request was due to the Bootstrap-Finish",
                    s.bootstrap_latency));
  if (server != nullptr) {
    m.push_back(counter("builtin_server", "The in-process built-in server",
                        {{"registers", server->registers + server->reregisters},
                         {"updates", server->updates},
                         {"deregisters", server->deregisters},
                         {"expired", server->expired},
                         {"reads_sent", server->reads_sent},
                         {"reads_ok", server->reads_ok},
                         {"observes_ok", server->observes_ok},
                         {"notifications", server->notifications},
                         {"request_timeouts", server->request_timeouts},
                         {"outage_drops", server->outage_drops},
                         {"outage_forgotten", server->outage_forgotten}}));
    uint64_t steps_ok = 0;
    uint64_t steps_unexpected = 0;
    for (size_t i = 0; i < kExerciseStepCount; ++i) {
      steps_ok += server->exercise_ok[i];
      steps_unexpected += server->exercise_unexpected[i];
    }
    m.push_back(counter("server_exercise",
                        "Built-in server's walk of every operation (expected answers and others)",
                        {{"started", server->exercise_started},
                         {"completed", server->exercise_completed},
                         {"steps_ok", steps_ok},
                         {"unexpected", steps_unexpected},
                         {"skipped", server->exercise_skipped},
                         {"sends_received", server->sends}}));
    m.push_back(counter("server_queue",
                        "Built-in server: requests held for sleeping queue-mode devices",
                        {{"queued", server->queued},
                         {"flushed", server->queue_flushed},
                         {"wakeups", server->queue_wakeups},
                         {"overflow", server->queue_overflow},
                         {"dropped", server->queue_dropped}}));
    m.push_back(counter("server_firmware", "Built-in server's firmware campaign (object 5)",
                        {{"started", server->firmware_started},
                         {"downloads", server->firmware_downloads},
                         {"blocks", server->firmware_blocks},
                         {"executed", server->firmware_executed},
                         {"succeeded", server->firmware_succeeded},
                         {"failed", server->firmware_failed},
                         {"abandoned", server->firmware_abandoned}}));
    m.push_back(counter("server_dtls", "Built-in server's DTLS sessions (coaps)",
                        {{"handshakes", server->dtls_handshakes},
                         {"resumed", server->dtls_resumed},
                         {"failed", server->dtls_failed},
                         {"hello_verify", server->dtls_hello_verify},
                         {"sessions", server->dtls_sessions},
                         {"closed", server->dtls_closed},
                         {"records_dropped", server->dtls_records_dropped},
                         {"plain_dropped", server->dtls_plain_dropped}}));
    m.push_back(counter("server_bootstrap", "Built-in server as a bootstrap server",
                        {{"requests", server->bootstrap_requests},
                         {"finished", server->bootstrap_finished},
                         {"failed", server->bootstrap_failed},
                         {"read_unsupported", server->bootstrap_read_unsupported}}));
    m.push_back(trend("server_read_latency",
                      "Built-in server: from when a Read was due to its answer",
                      server->read_latency));
    m.push_back(trend("server_observe_latency",
                      "Built-in server: from an Observe to its first answer",
                      server->observe_latency));
    m.push_back(trend("server_queue_delay",
                      "Built-in server: how long a request waited for its device to wake",
                      server->queue_delay));
    m.push_back(trend("server_firmware_time",
                      "Built-in server: from a campaign's start to the device on the new version",
                      server->firmware_duration));
    m.push_back(trend("server_dtls_handshake",
                      "Built-in server: from the ClientHello that started a handshake to its end",
                      server->dtls_handshake_time));
    m.push_back(trend("server_bootstrap_time",
                      "Built-in server: from a Bootstrap-Request to Bootstrap-Finish's 2.04",
                      server->bootstrap_time));
  }
  return out;
}

const SummaryMetric* Summary::find(std::string_view name) const {
  for (const SummaryMetric& m : metrics_) {
    if (m.name == name) {
      return &m;
    }
  }
  return nullptr;
}

std::optional<double> Summary::value(std::string_view name, std::string_view field) const {
  const SummaryMetric* m = find(name);
  if (m == nullptr) {
    return std::nullopt;
  }
  auto it = m->fields.find(std::string(field));
  if (it == m->fields.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace lwm2msim
