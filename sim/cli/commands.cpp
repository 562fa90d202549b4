#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>

#include "sim/cli/cli.h"

namespace lwm2msim {
namespace {

using SteadyTime = std::chrono::steady_clock;

TimeUs since(SteadyTime::time_point start) {
  return static_cast<TimeUs>(
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyTime::now() - start).count());
}

// Writes one progress line; on a terminal the line is redrawn in place.
void emit_progress(const std::string& line) {
  if (isatty(STDERR_FILENO) != 0) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void end_progress() {
  if (isatty(STDERR_FILENO) != 0) {
    std::fprintf(stderr, "\n");
  }
}

// Runs the main thread's loop: progress every interval, the run's end, and signals. The first
// SIGINT/SIGTERM starts a graceful stop; a second one exits at once with 130.
class RunLoop {
 public:
  RunLoop(Fleet& fleet, const RunOptions& options)
      : fleet_(fleet), options_(options), signals_(io_, SIGINT, SIGTERM), tick_(io_) {}

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
      std::fprintf(stderr,
                   "\nlwm2m-sim: stopping, de-registering clients (Ctrl-C again to quit)\n");
      begin_stop();
      wait_signal();
    });
  }

  void begin_stop() {
    if (!stopping_) {
      stopping_ = true;
      fleet_.stop();
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
      if (elapsed >= last_progress_ + options_.progress_interval) {
        const FleetSnapshot s = fleet_.snapshot();
        emit_progress(
            progress_line(elapsed, s, previous_, elapsed - last_progress_, options_.fleet.clients));
        previous_ = s;
        last_progress_ = elapsed;
      }
      if (!stopping_ && elapsed >= options_.duration) {
        begin_stop();
      }
      if (stopping_ && fleet_.stopped()) {
        end_progress();
        signals_.cancel();
        return;
      }
      arm_tick();
    });
  }

  Fleet& fleet_;
  const RunOptions& options_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer tick_;
  SteadyTime::time_point start_;
  TimeUs last_progress_ = 0;
  FleetSnapshot previous_;
  bool stopping_ = false;
};

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
  std::unique_ptr<Lwm2mServer> server;
  if (options.server_uri.empty()) {
    server = std::make_unique<Lwm2mServer>(options.server);
    if (std::string e = server->start(); !e.empty()) {
      std::fprintf(stderr, "lwm2m-sim: cannot start the built-in server: %s\n", e.c_str());
      return static_cast<int>(ExitCode::kRuntimeError);
    }
    effective.fleet.client.server = server->address();
  } else if (std::string e = parse_server_uri(options.server_uri, &effective.fleet.client.server);
             !e.empty()) {
    std::fprintf(stderr, "lwm2m-sim: --server %s\n", e.c_str());
    return static_cast<int>(ExitCode::kBadInput);
  }

  Fleet fleet(effective.fleet);
  if (std::string e = fleet.prepare(); !e.empty()) {
    std::fprintf(stderr, "lwm2m-sim: %s\n", e.c_str());
    return static_cast<int>(ExitCode::kRuntimeError);
  }
  std::fprintf(stderr, "lwm2m-sim: %llu clients on %u threads -> %s, ramp %.0f/s, run %s\n",
               static_cast<unsigned long long>(effective.fleet.clients), fleet.threads(),
               effective.fleet.client.server.to_string().c_str(), effective.fleet.rate,
               format_duration(effective.duration).c_str());
  fleet.start();

  RunLoop loop(fleet, effective);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  const TimeUs elapsed = loop.run();
  fleet.join();
  const FleetSnapshot s = fleet.snapshot();
  ServerSnapshot server_snapshot;
  if (server) {
    server_snapshot = server->snapshot();
    server->stop();
  }
  std::cout << summary_text(effective, s, elapsed, server ? &server_snapshot : nullptr)
            << std::flush;
  return static_cast<int>(ExitCode::kOk);
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
  std::printf("listening on %s\n", server.address().to_string().c_str());
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
        return std::string(buf);
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
