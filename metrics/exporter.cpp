#include "metrics/exporter.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <algorithm>
#include <array>
#include <limits>
#include <thread>

namespace lwm2msim {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Upper bounds of exported histogram buckets, seconds.
constexpr std::array<double, 18> kBucketsSeconds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                    0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                    1,      2.5,     5,      10,    30,     60};

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric labelled(std::vector<ClientMetric::Label> labels) {
  ClientMetric m;
  m.label = std::move(labels);
  return m;
}

void add_counter(MetricFamily& f, std::vector<ClientMetric::Label> labels, uint64_t value) {
  ClientMetric m = labelled(std::move(labels));
  m.counter.value = static_cast<double>(value);
  f.metric.push_back(std::move(m));
}

void add_gauge(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m = labelled(std::move(labels));
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

// Microsecond histogram snapshot to a Prometheus histogram in seconds.
void add_histogram(MetricFamily& f, std::vector<ClientMetric::Label> labels,
                   const HistogramSnapshot& h) {
  ClientMetric m = labelled(std::move(labels));
  m.histogram.sample_count = h.count();
  m.histogram.sample_sum = static_cast<double>(h.sum()) / 1e6;
  for (double bound : kBucketsSeconds) {
    m.histogram.bucket.push_back({h.count_at_or_below(static_cast<uint64_t>(bound * 1e6)), bound});
  }
  m.histogram.bucket.push_back({h.count(), std::numeric_limits<double>::infinity()});
  f.metric.push_back(std::move(m));
}

std::string code_text(uint8_t code) {
  return std::to_string(coap_code_class(code)) + "." + (coap_code_detail(code) < 10 ? "0" : "") +
         std::to_string(coap_code_detail(code));
}

class Collector final : public prometheus::Collectable {
 public:
  explicit Collector(MetricsSources sources) : sources_(std::move(sources)) {}
  std::vector<MetricFamily> Collect() const override {
    // Snapshots hold full histograms (over 100 KiB); the web server's threads have small fixed
    // stacks, so the work runs on a thread of our own. A scrape is rare, a thread start is cheap.
    std::vector<MetricFamily> families;
    std::thread worker([this, &families] {
      const FleetSnapshot fleet = sources_.fleet ? sources_.fleet() : FleetSnapshot{};
      std::optional<ServerSnapshot> server;
      if (sources_.server) {
        server = sources_.server();
      }
      families = collect_families(fleet, server ? &*server : nullptr, sources_.group,
                                  sources_.phase ? sources_.phase() : std::string("steady"));
    });
    worker.join();
    return families;
  }

 private:
  MetricsSources sources_;
};

}  // namespace

std::vector<MetricFamily> collect_families(const FleetSnapshot& s, const ServerSnapshot* server,
                                           const std::string& group, const std::string& phase) {
  std::vector<MetricFamily> out;
  const ClientMetric::Label g{"group", group};

  MetricFamily clients = family("lwm2msim_clients", "Virtual clients by state", MetricType::Gauge);
  for (size_t st = 0; st < kClientStateCount; ++st) {
    add_gauge(clients, {g, {"state", std::string(to_string(static_cast<ClientState>(st)))}},
              static_cast<double>(s.states[st]));
  }
  out.push_back(std::move(clients));

  MetricFamily phase_family =
      family("lwm2msim_phase", "Phase of the run: 1 for the current one, 0 for the others",
             MetricType::Gauge);
  for (const char* p : {"ramp", "steady", "stop"}) {
    add_gauge(phase_family, {g, {"phase", p}}, phase == p ? 1 : 0);
  }
  out.push_back(std::move(phase_family));

  MetricFamily requests =
      family("lwm2msim_client_requests_total",
             "Client-initiated registration-interface exchanges, by operation and result",
             MetricType::Counter);
  const struct {
    const char* op;
    uint64_t ok;
    uint64_t failed;
  } exchanges[] = {{"register", s.register_ok, s.register_failed},
                   {"update", s.update_ok, s.update_failed},
                   {"deregister", s.deregister_ok, s.deregister_failed}};
  for (const auto& e : exchanges) {
    add_counter(requests, {g, {"operation", e.op}, {"result", "ok"}}, e.ok);
    add_counter(requests, {g, {"operation", e.op}, {"result", "failed"}}, e.failed);
  }
  out.push_back(std::move(requests));

  MetricFamily ends =
      family("lwm2msim_client_exchanges_total",
             "Exchanges clients started, by operation and how they ended (answered, "
             "timed_out, abandoned; sent = the three once none is in flight)",
             MetricType::Counter);
  for (size_t k = 0; k < kExchangeKindCount; ++k) {
    const std::string op(to_string(static_cast<ExchangeKind>(k)));
    const ExchangeTally& x = s.exchanges[k];
    add_counter(ends, {g, {"operation", op}, {"result", "sent"}}, x.sent);
    add_counter(ends, {g, {"operation", op}, {"result", "answered"}}, x.answered);
    add_counter(ends, {g, {"operation", op}, {"result", "timed_out"}}, x.timed_out);
    add_counter(ends, {g, {"operation", op}, {"result", "abandoned"}}, x.abandoned);
  }
  out.push_back(std::move(ends));

  {
    // Server outages as the fleet saw them (timeouts only, up to the first answer).
    const OutageSummary& o = s.outages;
    MetricFamily count =
        family("lwm2msim_server_outages_total",
               "Server outages: periods in which exchanges only timed out", MetricType::Counter);
    add_counter(count, {g}, o.count);
    out.push_back(std::move(count));
    MetricFamily total =
        family("lwm2msim_server_outage_seconds_total",
               "Time the server was out, summed over outages", MetricType::Counter);
    ClientMetric total_metric = labelled({g});
    total_metric.counter.value = static_cast<double>(o.total) / 1e6;
    total.metric.push_back(std::move(total_metric));
    out.push_back(std::move(total));
    MetricFamily lost = family("lwm2msim_server_outage_devices_lost_total",
                               "Devices whose registration an outage cost", MetricType::Counter);
    add_counter(lost, {g}, o.devices_lost);
    out.push_back(std::move(lost));
    const struct {
      const char* name;
      const char* help;
      double value;
    } gauges[] = {
        {"lwm2msim_server_outage_longest_seconds", "The longest server outage",
         static_cast<double>(o.longest) / 1e6},
        {"lwm2msim_server_outage_recovery_seconds",
         "Longest time from an outage's end until every device it cost was registered again",
         static_cast<double>(o.recovery) / 1e6},
        {"lwm2msim_server_outage_unrecovered_devices",
         "Devices an outage cost that have not registered again",
         static_cast<double>(o.unrecovered)},
        {"lwm2msim_server_outage_ongoing", "1 while the server is out", o.ongoing ? 1.0 : 0.0},
    };
    for (const auto& x : gauges) {
      MetricFamily f = family(x.name, x.help, MetricType::Gauge);
      add_gauge(f, {g}, x.value);
      out.push_back(std::move(f));
    }
  }

  MetricFamily duration =
      family("lwm2msim_client_request_duration_seconds",
             "From when a client-initiated request was due to its response (includes any "
             "delay in sending it)",
             MetricType::Histogram);
  add_histogram(duration, {g, {"operation", "register"}}, s.register_latency);
  add_histogram(duration, {g, {"operation", "update"}}, s.update_latency);
  add_histogram(duration, {g, {"operation", "deregister"}}, s.deregister_latency);
  out.push_back(std::move(duration));

  MetricFamily rtt = family("lwm2msim_client_request_rtt_seconds",
                            "From a client-initiated request's first transmission to its response",
                            MetricType::Histogram);
  add_histogram(rtt, {g, {"operation", "register"}}, s.register_rtt);
  add_histogram(rtt, {g, {"operation", "update"}}, s.update_rtt);
  add_histogram(rtt, {g, {"operation", "deregister"}}, s.deregister_rtt);
  out.push_back(std::move(rtt));

  MetricFamily served =
      family("lwm2msim_server_requests_total",
             "Requests from the server answered by clients, by operation and response code",
             MetricType::Counter);
  for (size_t op = 0; op < kOperationCount; ++op) {
    for (size_t slot = 0; slot < kResponseCodeSlots; ++slot) {
      if (s.responses[op][slot] == 0) {
        continue;
      }
      const std::string code =
          slot < kResponseCodes.size() ? code_text(kResponseCodes[slot]) : "other";
      add_counter(served,
                  {g,
                   {"operation", std::string(to_string(static_cast<Lwm2mOperation>(op)))},
                   {"code", code}},
                  s.responses[op][slot]);
    }
  }
  out.push_back(std::move(served));

  const struct {
    const char* name;
    const char* help;
    uint64_t value;
  } counters[] = {
      {"lwm2msim_duplicate_requests_total",
       "Retransmitted server requests answered from the duplicate cache", s.request_duplicates},
      {"lwm2msim_observations_total", "Observations established by the server", s.observations},
      {"lwm2msim_notifications_total", "Notifications sent by clients", s.notifications},
      {"lwm2msim_notifications_confirmable_total", "CON notifications sent by clients",
       s.notifications_con},
      {"lwm2msim_notification_timeouts_total",
       "CON notifications never acknowledged (the observation ended)", s.notification_timeouts},
      {"lwm2msim_observations_cancelled_total",
       "Observations ended by the server (RST or Cancel Observe) or by a deleted target",
       s.observations_cancelled},
      {"lwm2msim_sends_total", "Send (POST /dp) requests started by clients", s.sends},
      {"lwm2msim_sends_ok_total", "Sends answered with 2.04", s.sends_ok},
      {"lwm2msim_sends_failed_total", "Sends refused or unanswered", s.sends_failed},
      {"lwm2msim_reboots_total", "Reboots and factory resets executed by clients", s.reboots},
      {"lwm2msim_dropped_arrivals_total",
       "Open-model arrivals that found no idle device (dropped, never delayed)",
       s.dropped_arrivals},
      {"lwm2msim_churned_total", "De-register and register cycles started by churn phases",
       s.churned},
      {"lwm2msim_fault_drops_up_total", "Client-to-server datagrams dropped by injected loss",
       s.faults_dropped_up},
      {"lwm2msim_fault_drops_down_total", "Server-to-client datagrams dropped by injected loss",
       s.faults_dropped_down},
      {"lwm2msim_fault_delayed_total", "Datagrams held back by injected latency or reordering",
       s.faults_delayed},
      {"lwm2msim_fault_duplicated_total", "Datagrams sent twice by injected duplication",
       s.faults_duplicated},
      {"lwm2msim_outage_drops_total", "Devices taken down by power outages", s.outage_drops},
      {"lwm2msim_nat_drops_total", "Datagrams to a NAT port the device had left (rebinding)",
       s.nat_drops},
      {"lwm2msim_sleep_drops_total", "Datagrams that reached a queue-mode device while asleep",
       s.sleep_drops},
      {"lwm2msim_reports_deferred_total",
       "Notifications and Sends held until a queue-mode device woke", s.reports_deferred},
      {"lwm2msim_firmware_downloads_total", "Firmware downloads started by devices",
       s.fw_downloads},
      {"lwm2msim_firmware_blocks_total", "Firmware package blocks received by devices",
       s.fw_blocks},
      {"lwm2msim_firmware_downloaded_total", "Firmware downloads completed", s.fw_downloaded},
      {"lwm2msim_firmware_download_failures_total",
       "Firmware downloads ended by an error, timeout, bad URI or size", s.fw_download_failed},
      {"lwm2msim_firmware_updated_total", "Firmware packages installed (Update Result 1)",
       s.fw_updated},
      {"lwm2msim_firmware_update_failures_total", "Firmware installations that failed",
       s.fw_update_failed},
      {"lwm2msim_data_changes_total", "Writes, Creates and Deletes that changed client data",
       s.writes_applied},
      {"lwm2msim_retransmissions_total", "CON retransmissions by clients", s.retransmissions},
      {"lwm2msim_timeouts_total", "Client exchanges that ran out of retransmissions", s.timeouts},
      {"lwm2msim_backoffs_total", "Times a client entered backoff after a failure", s.backoffs},
      {"lwm2msim_unexpected_responses_total", "Responses matching no exchange of their client",
       s.unexpected},
      {"lwm2msim_malformed_datagrams_total", "Datagrams that failed to parse as CoAP", s.malformed},
      {"lwm2msim_resets_sent_total", "Resets the devices sent to reject a Confirmable message",
       s.resets},
      {"lwm2msim_send_errors_total", "Datagrams the kernel refused to send", s.send_errors},
      {"lwm2msim_abandoned_clients_total", "Clients still registered when the stop bound ran out",
       s.abandoned},
  };
  for (const auto& c : counters) {
    MetricFamily f = family(c.name, c.help, MetricType::Counter);
    add_counter(f, {g}, c.value);
    out.push_back(std::move(f));
  }

  {
    MetricFamily rejected =
        family("lwm2msim_rejected_datagrams_total",
               "Datagrams from servers the devices refused, by reason", MetricType::Counter);
    for (size_t i = 1; i < kCoapParseErrorCount; ++i) {
      std::string reason = to_string(static_cast<CoapParseError>(i));
      std::replace(reason.begin(), reason.end(), ' ', '_');
      add_counter(rejected, {g, {"reason", reason}}, s.malformed_by[i]);
    }
    add_counter(rejected, {g, {"reason", "unknown_critical_option"}}, s.bad_option);
    add_counter(rejected, {g, {"reason", "ping"}}, s.pings);
    out.push_back(std::move(rejected));
  }

  MetricFamily changed =
      family("lwm2msim_clients_with_changes",
             "Clients holding data a server wrote, created or deleted", MetricType::Gauge);
  add_gauge(changed, {g}, static_cast<double>(s.clients_with_data));
  out.push_back(std::move(changed));
  MetricFamily changed_bytes = family("lwm2msim_client_changes_bytes",
                                      "Heap bytes of that per-client data", MetricType::Gauge);
  add_gauge(changed_bytes, {g}, static_cast<double>(s.client_data_bytes));
  out.push_back(std::move(changed_bytes));

  MetricFamily datagrams =
      family("lwm2msim_datagrams_total", "UDP datagrams of the fleet", MetricType::Counter);
  add_counter(datagrams, {g, {"direction", "in"}}, s.datagrams_in);
  add_counter(datagrams, {g, {"direction", "out"}}, s.datagrams_out);
  out.push_back(std::move(datagrams));
  MetricFamily bytes =
      family("lwm2msim_bytes_total", "UDP payload bytes of the fleet", MetricType::Counter);
  add_counter(bytes, {g, {"direction", "in"}}, s.bytes_in);
  add_counter(bytes, {g, {"direction", "out"}}, s.bytes_out);
  out.push_back(std::move(bytes));

  {
    // The devices' DTLS and bootstrap (the in-process server's come below).
    MetricFamily dtls =
        family("lwm2msim_dtls_total", "The devices' DTLS (coaps) events", MetricType::Counter);
    add_counter(dtls, {g, {"event", "handshake"}}, s.dtls_handshakes);
    add_counter(dtls, {g, {"event", "resumed"}}, s.dtls_resumed);
    add_counter(dtls, {g, {"event", "retransmit"}}, s.dtls_retransmits);
    add_counter(dtls, {g, {"event", "close_sent"}}, s.dtls_closes);
    add_counter(dtls, {g, {"event", "peer_closed"}}, s.dtls_peer_closes);
    add_counter(dtls, {g, {"event", "records_dropped"}}, s.dtls_records_dropped);
    add_counter(dtls, {g, {"event", "plain_dropped"}}, s.dtls_plain_dropped);
    add_counter(dtls, {g, {"event", "unsent"}}, s.dtls_unsent);
    out.push_back(std::move(dtls));
    MetricFamily dtls_failed =
        family("lwm2msim_dtls_failed_total", "The devices' failed handshakes, by reason",
               MetricType::Counter);
    for (size_t i = 1; i < kDtlsFailureCount; ++i) {
      add_counter(dtls_failed, {g, {"reason", std::string(to_string(static_cast<DtlsFailure>(i)))}},
                  s.dtls_failed[i]);
    }
    out.push_back(std::move(dtls_failed));
    MetricFamily dtls_sessions = family(
        "lwm2msim_dtls_sessions", "The devices' established DTLS sessions", MetricType::Gauge);
    add_gauge(dtls_sessions, {g}, static_cast<double>(s.dtls_established));
    out.push_back(std::move(dtls_sessions));
    MetricFamily dtls_time =
        family("lwm2msim_dtls_handshake_seconds",
               "From a device's ClientHello to its finished handshake", MetricType::Histogram);
    add_histogram(dtls_time, {g}, s.dtls_handshake_time);
    out.push_back(std::move(dtls_time));
    MetricFamily bootstrap = family("lwm2msim_bootstrap_total",
                                    "Client-initiated bootstraps by result", MetricType::Counter);
    add_counter(bootstrap, {g, {"result", "started"}}, s.bootstrap_sent);
    add_counter(bootstrap, {g, {"result", "ok"}}, s.bootstrap_ok);
    add_counter(bootstrap, {g, {"result", "failed"}}, s.bootstrap_failed);
    out.push_back(std::move(bootstrap));
    MetricFamily bootstrap_time = family(
        "lwm2msim_bootstrap_duration_seconds",
        "From when a Bootstrap-Request was due to the Bootstrap-Finish", MetricType::Histogram);
    add_histogram(bootstrap_time, {g}, s.bootstrap_latency);
    out.push_back(std::move(bootstrap_time));
    MetricFamily link_failed = family(
        "lwm2msim_link_failures_total",
        "Exchanges that never started because their DTLS handshake failed", MetricType::Counter);
    add_counter(link_failed, {g}, s.link_failed);
    out.push_back(std::move(link_failed));
  }

  MetricFamily lateness =
      family("lwm2msim_scheduler_lateness_seconds",
             "How late worker timers fired after they were due", MetricType::Histogram);
  add_histogram(lateness, {g}, s.timer_lateness);
  out.push_back(std::move(lateness));

  if (server != nullptr) {
    MetricFamily reg =
        family("lwm2msim_builtin_server_registrations",
               "Registrations in the built-in server's directory", MetricType::Gauge);
    add_gauge(reg, {}, static_cast<double>(server->registered));
    out.push_back(std::move(reg));
    MetricFamily ops =
        family("lwm2msim_builtin_server_operations_total",
               "Requests the built-in server sent to clients, by operation and result",
               MetricType::Counter);
    add_counter(ops, {{"operation", "read"}, {"result", "ok"}}, server->reads_ok);
    add_counter(ops, {{"operation", "read"}, {"result", "error"}}, server->reads_error);
    add_counter(ops, {{"operation", "observe"}, {"result", "ok"}}, server->observes_ok);
    add_counter(ops, {{"operation", "observe"}, {"result", "error"}}, server->observes_error);
    out.push_back(std::move(ops));
    MetricFamily timeouts =
        family("lwm2msim_builtin_server_request_timeouts_total",
               "Built-in server requests that ran out of retransmissions", MetricType::Counter);
    add_counter(timeouts, {}, server->request_timeouts);
    out.push_back(std::move(timeouts));
    MetricFamily handled =
        family("lwm2msim_builtin_server_registration_requests_total",
               "Registration-interface requests the built-in server handled", MetricType::Counter);
    add_counter(handled, {{"operation", "register"}}, server->registers + server->reregisters);
    add_counter(handled, {{"operation", "update"}}, server->updates);
    add_counter(handled, {{"operation", "deregister"}}, server->deregisters);
    add_counter(handled, {{"operation", "expire"}}, server->expired);
    out.push_back(std::move(handled));
    MetricFamily response =
        family("lwm2msim_builtin_server_operation_duration_seconds",
               "Response time of server-initiated operations, from when each was due",
               MetricType::Histogram);
    add_histogram(response, {{"operation", "read"}}, server->read_latency);
    add_histogram(response, {{"operation", "observe"}}, server->observe_latency);
    out.push_back(std::move(response));
    MetricFamily queue =
        family("lwm2msim_builtin_server_queue_total",
               "Requests the built-in server held for sleeping queue-mode devices, by outcome",
               MetricType::Counter);
    add_counter(queue, {{"result", "queued"}}, server->queued);
    add_counter(queue, {{"result", "flushed"}}, server->queue_flushed);
    add_counter(queue, {{"result", "overflow"}}, server->queue_overflow);
    add_counter(queue, {{"result", "dropped"}}, server->queue_dropped);
    out.push_back(std::move(queue));
    MetricFamily queue_delay =
        family("lwm2msim_builtin_server_queue_delay_seconds",
               "How long held requests waited for their device to wake", MetricType::Histogram);
    add_histogram(queue_delay, {}, server->queue_delay);
    out.push_back(std::move(queue_delay));
    MetricFamily campaign =
        family("lwm2msim_builtin_server_firmware_total",
               "The built-in server's firmware campaign, by stage", MetricType::Counter);
    add_counter(campaign, {{"stage", "started"}}, server->firmware_started);
    add_counter(campaign, {{"stage", "downloads"}}, server->firmware_downloads);
    add_counter(campaign, {{"stage", "blocks"}}, server->firmware_blocks);
    add_counter(campaign, {{"stage", "downloaded"}}, server->firmware_downloaded);
    add_counter(campaign, {{"stage", "executed"}}, server->firmware_executed);
    add_counter(campaign, {{"stage", "succeeded"}}, server->firmware_succeeded);
    add_counter(campaign, {{"stage", "failed"}}, server->firmware_failed);
    add_counter(campaign, {{"stage", "abandoned"}}, server->firmware_abandoned);
    out.push_back(std::move(campaign));
    MetricFamily campaign_duration =
        family("lwm2msim_builtin_server_firmware_duration_seconds",
               "From a campaign's start to the device answering on the new version",
               MetricType::Histogram);
    add_histogram(campaign_duration, {}, server->firmware_duration);
    out.push_back(std::move(campaign_duration));
    MetricFamily dtls = family("lwm2msim_builtin_server_dtls_total",
                               "The built-in server's DTLS (coaps) events", MetricType::Counter);
    add_counter(dtls, {{"event", "handshake"}}, server->dtls_handshakes);
    add_counter(dtls, {{"event", "resumed"}}, server->dtls_resumed);
    add_counter(dtls, {{"event", "hello_verify"}}, server->dtls_hello_verify);
    add_counter(dtls, {{"event", "closed"}}, server->dtls_closed);
    add_counter(dtls, {{"event", "idle_dropped"}}, server->dtls_idle_dropped);
    add_counter(dtls, {{"event", "records_dropped"}}, server->dtls_records_dropped);
    add_counter(dtls, {{"event", "retransmit"}}, server->dtls_retransmits);
    add_counter(dtls, {{"event", "plain_dropped"}}, server->dtls_plain_dropped);
    add_counter(dtls, {{"event", "unsent"}}, server->dtls_unsent);
    out.push_back(std::move(dtls));
    MetricFamily dtls_failed =
        family("lwm2msim_builtin_server_dtls_failed_total",
               "Handshakes the built-in server saw fail, by reason", MetricType::Counter);
    for (size_t i = 1; i < kDtlsFailureCount; ++i) {
      add_counter(dtls_failed, {{"reason", std::string(to_string(static_cast<DtlsFailure>(i)))}},
                  server->dtls_failed_by[i]);
    }
    out.push_back(std::move(dtls_failed));
    MetricFamily dtls_sessions =
        family("lwm2msim_builtin_server_dtls_sessions",
               "Established DTLS sessions of the built-in server", MetricType::Gauge);
    add_gauge(dtls_sessions, {}, static_cast<double>(server->dtls_sessions));
    out.push_back(std::move(dtls_sessions));
    MetricFamily handshake_time =
        family("lwm2msim_builtin_server_dtls_handshake_seconds",
               "From the ClientHello that started a handshake to its end, server side",
               MetricType::Histogram);
    add_histogram(handshake_time, {}, server->dtls_handshake_time);
    out.push_back(std::move(handshake_time));
    MetricFamily bootstrap =
        family("lwm2msim_builtin_server_bootstrap_total",
               "The built-in server's bootstrap flows, by outcome", MetricType::Counter);
    add_counter(bootstrap, {{"result", "requested"}}, server->bootstrap_requests);
    add_counter(bootstrap, {{"result", "finished"}}, server->bootstrap_finished);
    add_counter(bootstrap, {{"result", "failed"}}, server->bootstrap_failed);
    add_counter(bootstrap, {{"result", "read_unsupported"}}, server->bootstrap_read_unsupported);
    out.push_back(std::move(bootstrap));
    MetricFamily bootstrap_time =
        family("lwm2msim_builtin_server_bootstrap_duration_seconds",
               "From a Bootstrap-Request to Bootstrap-Finish's 2.04", MetricType::Histogram);
    add_histogram(bootstrap_time, {}, server->bootstrap_time);
    out.push_back(std::move(bootstrap_time));
  }
  return out;
}

struct MetricsExporter::Impl {
  std::shared_ptr<Collector> collector;
  std::unique_ptr<prometheus::Exposer> exposer;
};

MetricsExporter::MetricsExporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsExporter::~MetricsExporter() = default;

std::unique_ptr<MetricsExporter> MetricsExporter::start(const std::string& address,
                                                        MetricsSources sources,
                                                        std::string* error) {
  Endpoint4 ep;
  if (!parse_endpoint(address, &ep)) {
    *error = "--metrics: '" + address + "' is not IPv4:PORT (or 'off')";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->collector = std::make_shared<Collector>(std::move(sources));
  try {
    // One server thread: a scrape is a snapshot, never a hot path.
    impl->exposer = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    *error = "--metrics: cannot listen on " + address + " (" + e.what() +
             "); is the port in use? Pick another "
             "with --metrics ADDR:PORT or turn it off with --metrics off";
    return nullptr;
  }
  impl->exposer->RegisterCollectable(impl->collector);
  return std::make_unique<MetricsExporter>(std::move(impl));
}

int MetricsExporter::port() const {
  const std::vector<int> ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace lwm2msim
