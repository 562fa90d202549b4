#include <unistd.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

#include "metrics/exporter.h"
#include "sim/cli/cli.h"

namespace lwm2msim {
namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

using SteadyTime = std::chrono::steady_clock;

TimeUs since(SteadyTime::time_point start) {
  return static_cast<TimeUs>(
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyTime::now() - start).count());
}

bool on_terminal() {
  return isatty(STDERR_FILENO) != 0;
}

// Progress: one line per interval into a log, or a small table redrawn in place on a terminal.
class ProgressWriter {
 public:
  void write(const std::string& line, const std::string& table) {
    if (!on_terminal()) {
      std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
      return;
    }
    if (lines_ > 0) {
      std::fprintf(stderr, "\033[%dA\033[J", lines_);
    }
    std::fputs(table.c_str(), stderr);
    std::fflush(stderr);
    lines_ = static_cast<int>(std::count(table.begin(), table.end(), '\n'));
  }
  // Keeps what is on screen and starts below it.
  void detach() { lines_ = 0; }

 private:
  int lines_ = 0;
};

void emit_progress(const std::string& line) {
  std::fprintf(stderr, on_terminal() ? "\r\033[K%s" : "%s\n", line.c_str());
  std::fflush(stderr);
}

void end_progress() {
  if (on_terminal()) {
    std::fprintf(stderr, "\n");
  }
}

// Runs the main thread's loop: progress every interval, the run's end, and signals. The first
// SIGINT/SIGTERM starts a graceful stop; a second one exits at once with 130.
class RunLoop {
 public:
  enum Phase : int { kRamp, kSteady, kStopping };

  RunLoop(Fleet& fleet, const RunOptions& options, const Lwm2mServer* server)
      : fleet_(fleet),
        options_(options),
        server_(server),
        signals_(io_, SIGINT, SIGTERM),
        tick_(io_) {
    for (const Threshold& t : options.thresholds) {
      if (t.abort_on_fail) {
        abort_thresholds_.push_back(t);
      }
    }
  }

  static std::string phase_name(int p) {
    return p == kRamp ? "ramp" : p == kSteady ? "steady" : "stop";
  }
  int phase() const { return phase_.load(std::memory_order_relaxed); }
  bool aborted() const { return aborted_; }

  TimeUs run() {
    start_ = SteadyTime::now();
    wait_signal();
    arm_tick();
    io_.run();
    return since(start_);
  }

 private:
  void wait_signal() {
    signals_.async_wait([this](const asio::error_code& ec, int) {
      if (ec) {
        return;
      }
      if (stopping_) {
        end_progress();
        std::fprintf(stderr, "lwm2m-sim: interrupted again, exiting without de-registering\n");
        std::_Exit(static_cast<int>(ExitCode::kInterrupted));
      }
      progress_.detach();
      std::fprintf(stderr,
                   "\nlwm2m-sim: stopping, de-registering clients (Ctrl-C again to quit)\n");
      begin_stop();
      wait_signal();
    });
  }

  void begin_stop() {
    if (!stopping_) {
      stopping_ = true;
      phase_.store(kStopping, std::memory_order_relaxed);
      fleet_.stop();
    }
  }

  // k6's abortOnFail: a failing threshold ends the run early.
  void check_abort(const FleetSnapshot& s, TimeUs elapsed) {
    if (abort_thresholds_.empty() || stopping_) {
      return;
    }
    std::optional<ServerSnapshot> server;
    if (server_ != nullptr) {
      server = server_->snapshot();
    }
    const Summary summary = Summary::build(s, server ? &*server : nullptr, elapsed);
    for (const ThresholdResult& r : evaluate(abort_thresholds_, summary)) {
      if (r.actual && !r.passed) {
        progress_.detach();
        std::fprintf(stderr, "\nlwm2m-sim: threshold '%s' failed, aborting the run\n",
                     r.threshold.expression.c_str());
        aborted_ = true;
        begin_stop();
        return;
      }
    }
  }

  void arm_tick() {
    tick_.expires_after(
        std::chrono::microseconds(std::min<TimeUs>(options_.progress_interval, 100000)));
    tick_.async_wait([this](const asio::error_code& ec) {
      if (ec) {
        return;
      }
      const TimeUs elapsed = since(start_);
      if (phase() == kRamp && static_cast<double>(elapsed) >= ramp_end_us()) {
        phase_.store(kSteady, std::memory_order_relaxed);
      }
      if (elapsed >= last_progress_ + options_.progress_interval) {
        const FleetSnapshot s = fleet_.snapshot();
        const TimeUs interval = elapsed - last_progress_;
        progress_.write(progress_line(elapsed, s, previous_, interval, options_.fleet.clients),
                        progress_table(elapsed, s, previous_, interval, options_.fleet.clients));
        previous_ = s;
        last_progress_ = elapsed;
        check_abort(s, elapsed);
      }
      if (!stopping_ && elapsed >= options_.duration) {
        begin_stop();
      }
      if (stopping_ && fleet_.stopped()) {
        signals_.cancel();
        return;
      }
      arm_tick();
    });
  }

  double ramp_end_us() const {
    const FleetConfig& f = options_.fleet;
    return f.rate > 0 ? static_cast<double>(f.clients) / f.rate * 1e6 : 0.0;
  }

  Fleet& fleet_;
  const RunOptions& options_;
  const Lwm2mServer* server_;
  std::vector<Threshold> abort_thresholds_;
  ProgressWriter progress_;
  std::atomic<int> phase_{kRamp};
  bool aborted_ = false;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer tick_;
  SteadyTime::time_point start_;
  TimeUs last_progress_ = 0;
  FleetSnapshot previous_;
  bool stopping_ = false;
};

}  // namespace

namespace {

// The in-process servers as one: the LwM2M server, with the bootstrap server's bootstrap flows
// and DTLS sessions added in.
ServerSnapshot servers_snapshot(const Lwm2mServer& server, const Lwm2mServer* bootstrap) {
  ServerSnapshot s = server.snapshot();
  if (bootstrap == nullptr) {
    return s;
  }
  const ServerSnapshot b = bootstrap->snapshot();
  s.bootstrap_requests += b.bootstrap_requests;
  s.bootstrap_finished += b.bootstrap_finished;
  s.bootstrap_failed += b.bootstrap_failed;
  s.bootstrap_discover_ok += b.bootstrap_discover_ok;
  s.bootstrap_read_unsupported += b.bootstrap_read_unsupported;
  s.bootstrap_restarted += b.bootstrap_restarted;
  for (size_t i = 0; i < kBootstrapStepCount; ++i) {
    s.bootstrap_failed_at[i] += b.bootstrap_failed_at[i];
  }
  s.bootstrap_time.merge(b.bootstrap_time);
  s.dtls_handshakes += b.dtls_handshakes;
  s.dtls_resumed += b.dtls_resumed;
  s.dtls_failed += b.dtls_failed;
  for (size_t i = 0; i < kDtlsFailureCount; ++i) {
    s.dtls_failed_by[i] += b.dtls_failed_by[i];
  }
  s.dtls_hello_verify += b.dtls_hello_verify;
  s.dtls_sessions += b.dtls_sessions;
  s.dtls_records_dropped += b.dtls_records_dropped;
  s.dtls_retransmits += b.dtls_retransmits;
  s.dtls_closed += b.dtls_closed;
  s.dtls_idle_dropped += b.dtls_idle_dropped;
  s.dtls_plain_dropped += b.dtls_plain_dropped;
  s.dtls_unsent += b.dtls_unsent;
  s.dtls_handshake_time.merge(b.dtls_handshake_time);
  return s;
}

}  // namespace

int run_fleet(const RunOptions& options) {
  // Signals are handled by the main loop's signal_set; block them before any thread starts so
  // workers never receive them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  RunOptions effective = options;
  const bool builtin = options.server_uri.empty();
  if (!builtin) {
    if (std::string e = parse_server_uri(options.server_uri, &effective.fleet.client.server);
        !e.empty()) {
      std::fprintf(stderr, "lwm2m-sim: --server %s\n", e.c_str());
      return static_cast<int>(ExitCode::kBadInput);
    }
    effective.fleet.server_uri = options.server_uri;
  }
  ServerConfig bootstrap_config;
  if (std::string e = prepare_security(options.security, builtin, &effective.fleet,
                                       &effective.server, &bootstrap_config);
      !e.empty()) {
    std::fprintf(stderr, "lwm2m-sim: %s\n", e.c_str());
    return static_cast<int>(ExitCode::kBadInput);
  }
  std::unique_ptr<Lwm2mServer> server;
  std::unique_ptr<Lwm2mServer> bootstrap_server;
  if (builtin) {
    server = std::make_unique<Lwm2mServer>(effective.server);
    if (std::string e = server->start(); !e.empty()) {
      std::fprintf(stderr, "lwm2m-sim: cannot start the built-in server: %s\n", e.c_str());
      return static_cast<int>(ExitCode::kRuntimeError);
    }
    effective.fleet.client.server = server->address();
    effective.fleet.server_uri =
        std::string(effective.fleet.server_secure ? "coaps://" : "coap://") +
        server->address().to_string();
  }
  if (bootstrap_config.bootstrap) {
    bootstrap_config.bootstrap_config.server_uri += server->address().to_string();
    bootstrap_server = std::make_unique<Lwm2mServer>(bootstrap_config);
    if (std::string e = bootstrap_server->start(); !e.empty()) {
      std::fprintf(stderr, "lwm2m-sim: cannot start the built-in bootstrap server: %s\n",
                   e.c_str());
      return static_cast<int>(ExitCode::kRuntimeError);
    }
    effective.fleet.client.bootstrap_server = bootstrap_server->address();
    effective.fleet.bootstrap_uri =
        std::string(effective.fleet.bootstrap_secure ? "coaps://" : "coap://") +
        bootstrap_server->address().to_string();
  }

  effective.fleet.unix_epoch_s = static_cast<int64_t>(std::time(nullptr));
  Fleet fleet(effective.fleet);
  if (std::string e = fleet.check(); !e.empty()) {
    std::fprintf(stderr, "lwm2m-sim: %s\n", e.c_str());
    return static_cast<int>(ExitCode::kBadInput);
  }
  if (std::string e = fleet.prepare(); !e.empty()) {
    std::fprintf(stderr, "lwm2m-sim: %s\n", e.c_str());
    return static_cast<int>(ExitCode::kRuntimeError);
  }
  RunLoop loop(fleet, effective, server.get());
  std::unique_ptr<MetricsExporter> exporter;
  if (!effective.metrics_address.empty()) {
    MetricsSources sources;
    sources.fleet = [&fleet] { return fleet.snapshot(); };
    if (server) {
      sources.server = [&server, &bootstrap_server]() -> std::optional<ServerSnapshot> {
        return servers_snapshot(*server, bootstrap_server.get());
      };
    }
    sources.phase = [&loop] { return RunLoop::phase_name(loop.phase()); };
    std::string error;
    exporter = MetricsExporter::start(effective.metrics_address, std::move(sources), &error);
    if (!exporter) {
      std::fprintf(stderr, "lwm2m-sim: %s\n", error.c_str());
      return static_cast<int>(ExitCode::kRuntimeError);
    }
  }
  const std::string plan =
      effective.fleet.phases.empty()
          ? "ramp " + std::to_string(static_cast<uint64_t>(effective.fleet.rate)) + "/s"
          : std::to_string(effective.fleet.phases.size()) + " phases";
  std::fprintf(stderr, "lwm2m-sim: %llu clients on %u threads -> %s, %s, run %s%s\n",
               static_cast<unsigned long long>(fleet.config().clients), fleet.threads(),
               effective.fleet.client.server.to_string().c_str(), plan.c_str(),
               format_duration(effective.duration).c_str(),
               exporter
                   ? (", metrics on http://" +
                      effective.metrics_address.substr(0, effective.metrics_address.rfind(':')) +
                      ":" + std::to_string(exporter->port()) + "/metrics")
                         .c_str()
                   : "");
  const std::string started_at = utc_now();
  fleet.start();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  const TimeUs elapsed = loop.run();
  fleet.join();
  const FleetSnapshot s = fleet.snapshot();
  std::optional<ServerSnapshot> server_snapshot;
  if (server) {
    server_snapshot = servers_snapshot(*server, bootstrap_server.get());
  }
  exporter.reset();
  if (bootstrap_server) {
    bootstrap_server->stop();
  }
  if (server) {
    server->stop();
  }
  const Summary summary = Summary::build(s, server_snapshot ? &*server_snapshot : nullptr, elapsed);
  const std::vector<ThresholdResult> results = evaluate(effective.thresholds, summary);
  std::cout << summary_table(summary, results) << std::flush;
  RunInfo info{"0.1.0", effective.command_line, effective.fleet.seed, started_at};
  int code = static_cast<int>(ExitCode::kOk);
  if (!effective.report_path.empty()) {
    if (std::string e = write_json_report(effective.report_path, info, summary, results);
        !e.empty()) {
      std::fprintf(stderr, "lwm2m-sim: --report: %s\n", e.c_str());
      code = static_cast<int>(ExitCode::kRuntimeError);
    }
  }
  if (!effective.junit_path.empty()) {
    if (std::string e = write_junit(effective.junit_path, summary, results); !e.empty()) {
      std::fprintf(stderr, "lwm2m-sim: --junit: %s\n", e.c_str());
      code = static_cast<int>(ExitCode::kRuntimeError);
    }
  }
  const bool failed =
      loop.aborted() || std::any_of(results.begin(), results.end(),
                                    [](const ThresholdResult& r) { return !r.passed; });
  if (failed && code == static_cast<int>(ExitCode::kOk)) {
    code = static_cast<int>(ExitCode::kThresholdsFailed);
  }
  return code;
}

int run_server(const ServerConfig& config) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Lwm2mServer server(config);
  if (std::string e = server.start(); !e.empty()) {
    std::fprintf(stderr, "lwm2m-sim server: %s\n", e.c_str());
    return static_cast<int>(ExitCode::kRuntimeError);
  }
  // "listening on ADDRESS" ends the line: scripts and tests read the address from it.
  std::printf("%s%slistening on %s\n", config.dtls ? "coaps " : "",
              config.bootstrap ? "bootstrap server " : "", server.address().to_string().c_str());
  std::fflush(stdout);

  asio::io_context io;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  asio::steady_timer tick(io);
  const auto start = SteadyTime::now();
  ServerSnapshot previous;
  std::function<void()> arm = [&] {
    tick.expires_after(std::chrono::seconds(1));
    tick.async_wait([&](const asio::error_code& ec) {
      if (ec) {
        return;
      }
      const ServerSnapshot s = server.snapshot();
      emit_progress([&] {
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "[%6.1fs] server: registered %llu  registers/s %llu  updates/s %llu  "
                      "deregisters/s %llu  reads ok %llu  notifications %llu",
                      static_cast<double>(since(start)) / 1e6,
                      static_cast<unsigned long long>(s.registered),
                      static_cast<unsigned long long>(s.registers + s.reregisters -
                                                      previous.registers - previous.reregisters),
                      static_cast<unsigned long long>(s.updates - previous.updates),
                      static_cast<unsigned long long>(s.deregisters - previous.deregisters),
                      static_cast<unsigned long long>(s.reads_ok),
                      static_cast<unsigned long long>(s.notifications));
        std::string text(buf);
        if (config.dtls) {
          std::snprintf(buf, sizeof buf, " | dtls sessions %llu  handshakes %llu  failed %llu",
                        static_cast<unsigned long long>(s.dtls_sessions),
                        static_cast<unsigned long long>(s.dtls_handshakes),
                        static_cast<unsigned long long>(s.dtls_failed));
          text += buf;
        }
        if (config.bootstrap) {
          std::snprintf(buf, sizeof buf, " | bootstrap requests %llu  finished %llu  failed %llu",
                        static_cast<unsigned long long>(s.bootstrap_requests),
                        static_cast<unsigned long long>(s.bootstrap_finished),
                        static_cast<unsigned long long>(s.bootstrap_failed));
          text += buf;
        }
        return text;
      }());
      previous = s;
      arm();
    });
  };
  arm();
  signals.async_wait([&](const asio::error_code&, int) {
    tick.cancel();
    io.stop();
  });
  io.run();
  end_progress();
  const ServerSnapshot final_stats = server.snapshot();
  server.stop();
  std::printf("%s", final_stats.to_text().c_str());
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace lwm2msim
