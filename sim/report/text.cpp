#include <algorithm>
#include <cstdio>

#include "sim/report/report.h"

namespace lwm2msim {
namespace {

template <class... Args>
std::string fmt(const char* format, Args... args) {
  char buf[512];
  const int n = std::snprintf(buf, sizeof buf, format, args...);
  return std::string(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

int64_t state(const FleetSnapshot& s, ClientState st) {
  return s.states[static_cast<size_t>(st)];
}

double per_second(uint64_t now, uint64_t before, TimeUs interval) {
  return interval == 0 ? 0.0
                       : static_cast<double>(now - before) * 1e6 / static_cast<double>(interval);
}

uint64_t requests_out(const FleetSnapshot& s) {
  return s.register_sent + s.update_sent + s.deregister_sent;
}

uint64_t responses_in(const FleetSnapshot& s) {
  return s.register_ok + s.register_failed + s.update_ok + s.update_failed + s.deregister_ok +
         s.deregister_failed;
}

// Clients on their way to a registration: handshaking, bootstrapping or registering.
int64_t registering(const FleetSnapshot& s) {
  return state(s, ClientState::kRegistering) + state(s, ClientState::kConnecting) +
         state(s, ClientState::kBootstrapping);
}

}  // namespace

std::string format_duration(TimeUs us) {
  if (us < 1000) {
    return fmt("%llu us", static_cast<unsigned long long>(us));
  }
  if (us < 1000 * 1000) {
    return fmt("%.2f ms", static_cast<double>(us) / 1e3);
  }
  return fmt("%.2f s", static_cast<double>(us) / 1e6);
}

std::string progress_line(TimeUs elapsed, const FleetSnapshot& now, const FleetSnapshot& before,
                          TimeUs interval, uint64_t clients) {
  return fmt(
      "[%6.1fs] registered %lld/%llu  registering %lld  backoff %lld  failed %llu  stopped %lld | "
      "req/s %.0f  resp/s %.0f  srv-req/s %.0f | retx %llu  timeouts %llu",
      static_cast<double>(elapsed) / 1e6,
      static_cast<long long>(state(now, ClientState::kRegistered) +
                             state(now, ClientState::kUpdating)),
      static_cast<unsigned long long>(clients), static_cast<long long>(registering(now)),
      static_cast<long long>(state(now, ClientState::kBackoff)),
      static_cast<unsigned long long>(now.register_failed),
      static_cast<long long>(state(now, ClientState::kStopped)),
      per_second(requests_out(now), requests_out(before), interval),
      per_second(responses_in(now), responses_in(before), interval),
      per_second(now.requests, before.requests, interval),
      static_cast<unsigned long long>(now.retransmissions),
      static_cast<unsigned long long>(now.timeouts));
}

std::string progress_table(TimeUs elapsed, const FleetSnapshot& now, const FleetSnapshot& before,
                           TimeUs interval, uint64_t clients) {
  std::string t;
  t += fmt("lwm2m-sim  %7.1fs   clients %llu\n", static_cast<double>(elapsed) / 1e6,
           static_cast<unsigned long long>(clients));
  t += fmt("  clients   registered %-8lld registering %-7lld backoff %-7lld stopped %-7lld\n",
           static_cast<long long>(state(now, ClientState::kRegistered) +
                                  state(now, ClientState::kUpdating)),
           static_cast<long long>(registering(now)),
           static_cast<long long>(state(now, ClientState::kBackoff)),
           static_cast<long long>(state(now, ClientState::kStopped)));
  t += fmt(
      "  per sec   requests %-10.0f responses %-9.0f server requests %-9.0f notifications %.0f\n",
      per_second(requests_out(now), requests_out(before), interval),
      per_second(responses_in(now), responses_in(before), interval),
      per_second(now.requests, before.requests, interval),
      per_second(now.notifications, before.notifications, interval));
  t += fmt("  totals    registered ok %-7llu failed %-7llu retransmissions %-7llu timeouts %llu\n",
           static_cast<unsigned long long>(now.register_ok),
           static_cast<unsigned long long>(now.register_failed),
           static_cast<unsigned long long>(now.retransmissions),
           static_cast<unsigned long long>(now.timeouts));
  const HistogramSnapshot& h = now.register_latency;
  t += fmt("  latency   register p50 %-10s p99 %-10s max %s\n",
           format_duration(h.percentile(50)).c_str(), format_duration(h.percentile(99)).c_str(),
           format_duration(h.max()).c_str());
  return t;
}

std::string summary_table(const Summary& summary, const std::vector<ThresholdResult>& results) {
  std::string out = "\nlwm2m-sim summary (" + format_duration(summary.elapsed()) + ")\n";
  for (const SummaryMetric& m : summary.metrics()) {
    out += fmt("  %-24s", m.name.c_str());
    if (m.kind == MetricKind::kTrend) {
      if (m.fields.at("count") == 0) {
        out += "-\n";
        continue;
      }
      for (const char* f : {"p50", "p90", "p95", "p99", "max"}) {
        out += fmt("%s %-10s ", f, format_field(f, m.kind, m.fields.at(f)).c_str());
      }
      out += fmt("n=%.0f\n", m.fields.at("count"));
      continue;
    }
    if (m.kind == MetricKind::kRate) {
      out += fmt("%s  (%.0f of %.0f)\n", format_field("rate", m.kind, m.fields.at("rate")).c_str(),
                 m.fields.at("count"), m.fields.at("total"));
      continue;
    }
    // Counters: fields in catalog order.
    for (const auto& e : Summary::catalog()) {
      if (e.name != m.name) {
        continue;
      }
      for (std::string_view f : e.fields) {
        auto it = m.fields.find(std::string(f));
        if (it != m.fields.end()) {
          const std::string value =
              f == "rate" ? fmt("%.1f/s", it->second) : format_field(f, m.kind, it->second);
          out += fmt("%.*s %s  ", static_cast<int>(f.size()), f.data(), value.c_str());
        }
      }
    }
    out += "\n";
  }
  out += fmt("  %-24s%zu bytes\n", "client object", Fleet::client_size());
  if (!results.empty()) {
    out += "\nthresholds\n";
    for (const ThresholdResult& r : results) {
      const SummaryMetric* m = summary.find(r.threshold.metric);
      const MetricKind kind = m != nullptr ? m->kind : MetricKind::kCounter;
      const std::string actual =
          r.actual ? format_field(r.threshold.field, kind, *r.actual) : std::string("no samples");
      out += fmt("  %-4s %s  (actual %s)\n", r.passed ? "ok" : "FAIL",
                 r.threshold.expression.c_str(), actual.c_str());
    }
  }
  return out;
}

}  // namespace lwm2msim
