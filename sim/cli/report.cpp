#include <cstdio>
#include <string>

#include "sim/cli/cli.h"

namespace lwm2msim {
namespace {

int64_t state(const FleetSnapshot& s, ClientState st) {
  return s.states[static_cast<size_t>(st)];
}

double per_second(uint64_t now, uint64_t before, TimeUs interval) {
  return interval == 0 ? 0.0
                       : static_cast<double>(now - before) * 1e6 / static_cast<double>(interval);
}

std::string fmt(const char* format, auto... args) {
  char buf[512];
  const int n = std::snprintf(buf, sizeof buf, format, args...);
  return std::string(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

std::string latency_row(const char* name, const HistogramSnapshot& h) {
  if (h.count() == 0) {
    return fmt("  %-22s -\n", name);
  }
  return fmt("  %-22s p50 %s  p90 %s  p99 %s  max %s  (n=%llu)\n", name,
             format_duration(h.percentile(50)).c_str(), format_duration(h.percentile(90)).c_str(),
             format_duration(h.percentile(99)).c_str(), format_duration(h.max()).c_str(),
             static_cast<unsigned long long>(h.count()));
}

}  // namespace

std::string progress_line(TimeUs elapsed, const FleetSnapshot& now, const FleetSnapshot& before,
                          TimeUs interval, uint64_t clients) {
  const uint64_t requests_out = now.register_sent + now.update_sent + now.deregister_sent;
  const uint64_t requests_before =
      before.register_sent + before.update_sent + before.deregister_sent;
  const uint64_t responses = now.register_ok + now.register_failed + now.update_ok +
                             now.update_failed + now.deregister_ok + now.deregister_failed;
  const uint64_t responses_before = before.register_ok + before.register_failed + before.update_ok +
                                    before.update_failed + before.deregister_ok +
                                    before.deregister_failed;
  return fmt(
      "[%6.1fs] registered %lld/%llu  registering %lld  backoff %lld  failed %llu  stopped %lld | "
      "req/s %.0f  resp/s %.0f  srv-req/s %.0f | retx %llu  timeouts %llu",
      static_cast<double>(elapsed) / 1e6,
      static_cast<long long>(state(now, ClientState::kRegistered) +
                             state(now, ClientState::kUpdating)),
      static_cast<unsigned long long>(clients),
      static_cast<long long>(state(now, ClientState::kRegistering)),
      static_cast<long long>(state(now, ClientState::kBackoff)),
      static_cast<unsigned long long>(now.register_failed),
      static_cast<long long>(state(now, ClientState::kStopped)),
      per_second(requests_out, requests_before, interval),
      per_second(responses, responses_before, interval),
      per_second(now.requests, before.requests, interval),
      static_cast<unsigned long long>(now.retransmissions),
      static_cast<unsigned long long>(now.timeouts));
}

std::string summary_text(const RunOptions& o, const FleetSnapshot& s, TimeUs elapsed,
                         const ServerSnapshot* server) {
  using ull = unsigned long long;
  std::string out = "\nlwm2m-sim summary\n";
  out += fmt("  %-22s %llu virtual clients, %s\n", "fleet", static_cast<ull>(o.fleet.clients),
             o.server_uri.empty() ? "in-process built-in server" : o.server_uri.c_str());
  out += fmt("  %-22s %s\n", "duration", format_duration(elapsed).c_str());
  out += fmt("  %-22s ok %llu  failed %llu  attempts %llu  backoffs %llu\n", "registrations",
             static_cast<ull>(s.register_ok), static_cast<ull>(s.register_failed),
             static_cast<ull>(s.register_sent), static_cast<ull>(s.backoffs));
  out += latency_row("registration latency", s.register_latency);
  out += latency_row("registration rtt", s.register_rtt);
  out += fmt("  %-22s ok %llu  failed %llu  (4.04 re-register %llu)\n", "updates",
             static_cast<ull>(s.update_ok), static_cast<ull>(s.update_failed),
             static_cast<ull>(s.update_not_found));
  out += latency_row("update latency", s.update_latency);
  out += fmt("  %-22s ok %llu  failed %llu  abandoned %llu\n", "de-registrations",
             static_cast<ull>(s.deregister_ok), static_cast<ull>(s.deregister_failed),
             static_cast<ull>(s.abandoned));
  out += fmt("  %-22s %llu  timeouts %llu  unexpected %llu\n", "retransmissions",
             static_cast<ull>(s.retransmissions), static_cast<ull>(s.timeouts),
             static_cast<ull>(s.unexpected));
  out +=
      fmt("  %-22s %llu  (duplicates %llu)  observations %llu  notifications %llu\n",
          "server requests", static_cast<ull>(s.requests), static_cast<ull>(s.request_duplicates),
          static_cast<ull>(s.observations), static_cast<ull>(s.notifications));
  out += fmt("  %-22s in %llu  out %llu  send errors %llu  malformed %llu\n", "datagrams",
             static_cast<ull>(s.datagrams_in), static_cast<ull>(s.datagrams_out),
             static_cast<ull>(s.send_errors), static_cast<ull>(s.malformed));
  out += fmt("  %-22s in %llu  out %llu\n", "bytes", static_cast<ull>(s.bytes_in),
             static_cast<ull>(s.bytes_out));
  out += latency_row("timer lateness", s.timer_lateness);
  if (server != nullptr) {
    out += fmt(
        "  %-22s registered %llu  reads ok %llu/%llu  observes ok %llu  notifications %llu  "
        "expired %llu\n",
        "built-in server", static_cast<ull>(server->registered), static_cast<ull>(server->reads_ok),
        static_cast<ull>(server->reads_sent), static_cast<ull>(server->observes_ok),
        static_cast<ull>(server->notifications), static_cast<ull>(server->expired));
    out += latency_row("server read latency", server->read_latency);
  }
  out += fmt("  %-22s %zu bytes\n", "client object", Fleet::client_size());
  return out;
}

}  // namespace lwm2msim
