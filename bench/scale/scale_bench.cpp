// The fleet benchmark: for each fleet size, lwm2m-sim registers every client with the built-in
// server running in another process, then each client reports a value every 60 s (LwM2M Send).
// Prints registration time and rate, CPU per exchange of both processes, RSS per client and
// scheduler lateness, beside the kernel's own cost of a UDP exchange (see README, Performance).
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/scale/kernel_floor.h"
#include "bench/scale/proc_stats.h"
#include "tests/support/child_process.h"
#include "tests/support/http.h"

namespace lwm2msim::bench {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using testing::ChildProcess;

constexpr size_t kFloorPayload = 64;  // bytes, about a Send of one SenML value

struct Options {
  std::vector<uint64_t> sizes{10'000, 100'000, 1'000'000};
  double register_rate = 40'000;  // registrations started per second (the ramp)
  double report_every = 60;       // s between two reports of one client
  unsigned settle = 20;           // s between the last registration and the steady window
  unsigned steady = 60;           // s of the steady window
  unsigned sim_threads = 0;       // lwm2m-sim worker threads (0: one per core)
  unsigned server_threads = 1;
  std::string binary = LWM2MSIM_BINARY;
  std::vector<std::string> sim_options;  // passed to `lwm2m-sim run` as they are
  std::string profile = std::string(LWM2MSIM_PROFILES_DIR) + "/temperature-sensor.yaml";
};

// What one scrape of the simulator's metrics says.
struct Scrape {
  double registered = 0;        // clients in state registered
  double registrations_ok = 0;  // Registers answered 2.01
  double client_exchanges = 0;  // Register, Update, De-register and Send exchanges completed
  double server_exchanges = 0;  // requests of the server answered
  double retransmissions = 0;   // CON retransmissions
  double timeouts = 0;          // exchanges that ran out of retransmissions
  std::vector<std::pair<double, double>> lateness;  // (le seconds, cumulative count)
};

// The sum of the samples of `name` that carry every label in `labels` with its value.
double sum(const testing::Exposition& e, const std::string& name,
           const std::map<std::string, std::string>& labels = {}) {
  double total = 0;
  for (const testing::Sample& s : e.samples) {
    const bool matches =
        s.name == name && std::all_of(labels.begin(), labels.end(), [&s](const auto& kv) {
          auto it = s.labels.find(kv.first);
          return it != s.labels.end() && it->second == kv.second;
        });
    if (matches) {
      total += s.value;
    }
  }
  return total;
}

std::optional<Scrape> scrape(uint16_t port) {
  const auto response = testing::http_get(port, "/metrics", seconds(10));
  testing::Exposition e;
  if (!response || response->status != 200 || !parse_exposition(response->body, &e).empty()) {
    return std::nullopt;
  }
  Scrape s;
  s.registered = sum(e, "lwm2msim_clients", {{"state", "registered"}});
  s.registrations_ok =
      sum(e, "lwm2msim_client_requests_total", {{"operation", "register"}, {"result", "ok"}});
  s.client_exchanges = sum(e, "lwm2msim_client_requests_total") +
                       sum(e, "lwm2msim_sends_ok_total") + sum(e, "lwm2msim_sends_failed_total");
  s.server_exchanges = sum(e, "lwm2msim_server_requests_total");
  s.retransmissions = sum(e, "lwm2msim_retransmissions_total");
  s.timeouts = sum(e, "lwm2msim_timeouts_total");
  std::map<double, double> buckets;
  for (const testing::Sample& x : e.samples) {
    if (x.name == "lwm2msim_scheduler_lateness_seconds_bucket" && x.labels.count("le") != 0) {
      const std::string& le = x.labels.at("le");
      buckets[le == "+Inf" ? INFINITY : std::stod(le)] += x.value;
    }
  }
  s.lateness.assign(buckets.begin(), buckets.end());
  return s;
}

// The p99 of what was added to a cumulative histogram between two scrapes, interpolated within
// its bucket; NAN without samples, INFINITY past the last finite bucket.
double p99_between(const Scrape& a, const Scrape& b) {
  if (a.lateness.size() != b.lateness.size() || b.lateness.empty()) {
    return NAN;
  }
  const double total = b.lateness.back().second - a.lateness.back().second;
  if (total <= 0) {
    return NAN;
  }
  const double rank = 0.99 * total;
  double lower = 0;
  double below = 0;
  for (size_t i = 0; i < b.lateness.size(); ++i) {
    const double le = b.lateness[i].first;
    const double cumulative = b.lateness[i].second - a.lateness[i].second;
    if (cumulative >= rank) {
      if (std::isinf(le)) {
        return INFINITY;
      }
      const double in_bucket = cumulative - below;
      return lower + (le - lower) * (in_bucket > 0 ? (rank - below) / in_bucket : 1.0);
    }
    lower = le;
    below = cumulative;
  }
  return INFINITY;
}

// Waits `d`, reading the children's output so neither blocks on a full pipe.
void idle(Clock::duration d, ChildProcess& a, ChildProcess& b) {
  const auto until = Clock::now() + d;
  while (Clock::now() < until) {
    a.pump(milliseconds(0));
    b.pump(milliseconds(0));
    std::this_thread::sleep_for(std::min<Clock::duration>(milliseconds(10), until - Clock::now()));
  }
}

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct SizeResult {
  uint64_t clients = 0;
  std::string error;              // empty when every figure was measured
  double startup = 0;             // s from starting lwm2m-sim to its first client
  double register_time = 0;       // s until every client was registered
  double registered = 0;          // clients registered at the end of the registration phase
  double register_retx = 0;       // retransmissions during registration
  double register_sim_us = 0;     // simulator CPU per registration, us
  double register_server_us = 0;  // server CPU per registration, us
  double steady_rate = 0;         // exchanges per second in the steady window
  double steady_sim_us = 0;       // simulator CPU per exchange, us
  double steady_server_us = 0;    // server CPU per exchange, us
  double steady_timeouts = 0;     // exchanges that timed out in the window
  double lateness_p99 = NAN;      // s, scheduler lateness in the window
  uint64_t sim_rss = 0;           // bytes, simulator process
  uint64_t server_rss = 0;        // bytes, server process
  uint64_t kernel_udp = 0;        // bytes the kernel held for UDP sockets
  FloorResult paced;              // the kernel floor at the steady window's rate
};

std::string write_scenario(const std::filesystem::path& dir, const Options& o, uint64_t n,
                           const std::string& server) {
  const double ramp_ms = std::max(1.0, std::ceil(static_cast<double>(n) / o.register_rate * 1e3));
  const auto path = dir / ("scale-" + std::to_string(n) + ".yaml");
  std::ofstream f(path);
  f << "name: scale-" << n << "\n"
    << "seed: 1\n"
    << "target:\n  server: " << server << "\n"
    << "groups:\n"
    << "  - name: sensors\n"
    << "    profile: " << o.profile << "\n"
    << "    count: " << n << "\n"
    << "    lwm2m_version: \"1.1\"\n"
    << "    lifetime: 1h\n"
    << "    behaviours:\n"
    << "      report: {every: " << static_cast<uint64_t>(o.report_every * 1000)
    << "ms, via: send, paths: [/3303/0/5700]}\n"
    << "phases:\n"
    << "  - {type: ramp, to: " << n << ", duration: " << static_cast<uint64_t>(ramp_ms) << "ms}\n"
    << "  - {hold: 10h}\n";
  return path.string();
}

SizeResult run_size(const Options& o, uint64_t n, const std::filesystem::path& dir) {
  SizeResult r;
  r.clients = n;
  ChildProcess server({o.binary, "server", "--listen", "127.0.0.1:0", "--threads",
                       std::to_string(o.server_threads)});
  const auto listening = server.wait_stdout_line("listening on ", seconds(10));
  if (!listening) {
    r.error = "the server did not start: " + server.err();
    return r;
  }
  const std::string address = listening->substr(listening->find("on ") + 3);
  const std::string scenario = write_scenario(dir, o, n, "coap://" + address);
  const auto spawned = Clock::now();
  std::vector<std::string> args{o.binary, "run", scenario, "--metrics", "127.0.0.1:0"};
  if (o.sim_threads != 0) {
    args.insert(args.end(), {"--threads", std::to_string(o.sim_threads)});
  }
  args.insert(args.end(), o.sim_options.begin(), o.sim_options.end());
  ChildProcess sim(args);
  const uint16_t port = testing::metrics_port(sim);
  if (port == 0) {
    r.error = "lwm2m-sim did not start: " + sim.err();
    return r;
  }
  // The first stderr line comes just before the fleet starts: registration begins here.
  const auto started = Clock::now();
  r.startup = std::chrono::duration<double>(started - spawned).count();
  const double sim_cpu0 = process_cpu_seconds(sim.pid());
  const double server_cpu0 = process_cpu_seconds(server.pid());

  const double bound = std::max(120.0, 4.0 * static_cast<double>(n) / o.register_rate);
  // Polls often enough to time the phase within about 2%, rarely enough not to load the fleet.
  const auto poll = std::chrono::duration_cast<milliseconds>(std::chrono::duration<double>(
      std::clamp(static_cast<double>(n) / o.register_rate / 50.0, 0.02, 0.5)));
  std::optional<Scrape> s;
  while (since(started) < bound) {
    idle(poll, sim, server);
    s = scrape(port);
    if (s && s->registered >= static_cast<double>(n)) {
      break;
    }
  }
  r.register_time = since(started);
  if (!s) {
    r.error = "no metrics from lwm2m-sim: " + sim.err();
    return r;
  }
  r.registered = s->registered;
  r.register_retx = s->retransmissions;
  if (s->registrations_ok > 0) {
    r.register_sim_us = (process_cpu_seconds(sim.pid()) - sim_cpu0) * 1e6 / s->registrations_ok;
    r.register_server_us =
        (process_cpu_seconds(server.pid()) - server_cpu0) * 1e6 / s->registrations_ok;
  }
  if (s->registered < static_cast<double>(n)) {
    r.error = std::to_string(static_cast<uint64_t>(s->registered)) + " of " + std::to_string(n) +
              " registered after " + std::to_string(static_cast<int>(bound)) + " s";
    return r;
  }

  idle(seconds(o.settle), sim, server);
  const std::optional<Scrape> a = scrape(port);
  const double sim_a = process_cpu_seconds(sim.pid());
  const double server_a = process_cpu_seconds(server.pid());
  const auto window_start = Clock::now();
  r.sim_rss = process_rss_bytes(sim.pid());
  r.server_rss = process_rss_bytes(server.pid());
  r.kernel_udp = kernel_udp_bytes();
  idle(seconds(o.steady), sim, server);
  const std::optional<Scrape> b = scrape(port);
  const double sim_b = process_cpu_seconds(sim.pid());
  const double server_b = process_cpu_seconds(server.pid());
  const double window = since(window_start);
  sim.kill_now();
  server.kill_now();
  if (!a || !b) {
    r.error = "no metrics from lwm2m-sim in the steady window";
    return r;
  }
  const double exchanges =
      (b->client_exchanges - a->client_exchanges) + (b->server_exchanges - a->server_exchanges);
  r.steady_rate = exchanges / window;
  r.steady_timeouts = b->timeouts - a->timeouts;
  if (exchanges > 0) {
    r.steady_sim_us = (sim_b - sim_a) * 1e6 / exchanges;
    r.steady_server_us = (server_b - server_a) * 1e6 / exchanges;
  }
  r.lateness_p99 = p99_between(*a, *b);
  // The kernel alone, at the same rate and on the same 1 ms ticks.
  r.paced = paced_floor(milliseconds(10'000), kFloorPayload, r.steady_rate);
  return r;
}

std::string machine() {
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  std::string model = "unknown CPU";
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  const double mem = static_cast<double>(sysconf(_SC_PHYS_PAGES)) *
                     static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024 * 1024);
  utsname u{};
  uname(&u);
  char text[256];
  std::snprintf(text, sizeof text, "%ld x %s, %.0f GiB, Linux %s", sysconf(_SC_NPROCESSORS_ONLN),
                model.c_str(), mem, u.release);
  return text;
}

std::string human(uint64_t n) {
  if (n >= 1'000'000 && n % 1'000'000 == 0) {
    return std::to_string(n / 1'000'000) + "M";
  }
  if (n >= 1'000 && n % 1'000 == 0) {
    return std::to_string(n / 1'000) + "k";
  }
  return std::to_string(n);
}

std::string us_or_dash(double us) {
  char t[32];
  if (!std::isfinite(us)) {
    return std::isinf(us) ? "> 60 s" : "-";
  }
  std::snprintf(t, sizeof t, "%.2f", us);
  return t;
}

int run(const Options& o) {
  std::printf("lwm2m-sim fleet benchmark\nmachine: %s\n", machine().c_str());
  std::printf(
      "fleet: %s, LwM2M 1.1, lifetime 1 h, a Send of /3303/0/5700 every %.0f s; ramp at %.0f "
      "registrations/s; server: lwm2m-sim server, %u thread(s), another process\n\n",
      std::filesystem::path(o.profile).stem().c_str(), o.report_every, o.register_rate,
      o.server_threads);
  std::fflush(stdout);
  const FloorResult floor = saturated_floor(milliseconds(5'000), kFloorPayload, 32);
  std::printf(
      "kernel floor, saturated (sendto/recvfrom, %zu-byte datagrams, 32 in flight): %.0f "
      "exchanges/s, client %.2f us + responder %.2f us CPU per exchange\n\n",
      kFloorPayload, static_cast<double>(floor.exchanges) / floor.seconds, floor.client_cpu_us,
      floor.responder_cpu_us);
  std::fflush(stdout);

  std::string pattern = (std::filesystem::temp_directory_path() / "lwm2msim-scale-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::fprintf(stderr, "scale_bench: cannot create a temporary directory\n");
    return 1;
  }
  const std::filesystem::path dir = pattern;
  std::vector<SizeResult> results;
  bool failed = false;
  for (uint64_t n : o.sizes) {
    std::fprintf(stderr, "scale_bench: %s clients...\n", human(n).c_str());
    results.push_back(run_size(o, n, dir));
    const SizeResult& r = results.back();
    if (!r.error.empty()) {
      failed = true;
      std::fprintf(stderr, "scale_bench: %s clients: %s\n", human(n).c_str(), r.error.c_str());
    }
  }
  std::filesystem::remove_all(dir);

  std::printf("registration (saturated; floor = the saturated kernel floor, client side)\n");
  std::printf(
      "| clients | startup s | register all s | registrations/s | retransmissions | sim "
      "us/exchange | sim / floor | server us/exchange |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const SizeResult& r : results) {
    std::printf("| %s | %.1f | %.1f | %.0f | %.0f | %s | %.2f | %s |\n", human(r.clients).c_str(),
                r.startup, r.register_time, r.registered / r.register_time, r.register_retx,
                us_or_dash(r.register_sim_us).c_str(), r.register_sim_us / floor.client_cpu_us,
                us_or_dash(r.register_server_us).c_str());
  }
  std::printf(
      "\nsteady state (%u s window after %u s; floor = the kernel floor at the same rate on 1 ms "
      "ticks)\n",
      o.steady, o.settle);
  std::printf(
      "| clients | exchanges/s | sim us/exchange | floor us/exchange | sim / floor | server "
      "us/exchange | timer lateness p99 ms | sim RSS MiB | RSS/client B | kernel UDP KiB | server "
      "RSS MiB |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const SizeResult& r : results) {
    if (r.steady_rate <= 0) {
      std::printf("| %s | - | - | - | - | - | - | - | - | - | - |\n", human(r.clients).c_str());
      continue;
    }
    std::printf("| %s | %.0f | %s | %s | %.2f | %s | %s | %.1f | %.0f | %.0f | %.1f |\n",
                human(r.clients).c_str(), r.steady_rate, us_or_dash(r.steady_sim_us).c_str(),
                us_or_dash(r.paced.client_cpu_us).c_str(), r.steady_sim_us / r.paced.client_cpu_us,
                us_or_dash(r.steady_server_us).c_str(), us_or_dash(r.lateness_p99 * 1e3).c_str(),
                static_cast<double>(r.sim_rss) / 1048576.0,
                static_cast<double>(r.sim_rss) / static_cast<double>(r.clients),
                static_cast<double>(r.kernel_udp) / 1024.0,
                static_cast<double>(r.server_rss) / 1048576.0);
  }
  std::fflush(stdout);
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace lwm2msim::bench

int main(int argc, char** argv) {
  lwm2msim::bench::Options o;
  CLI::App app{"lwm2m-sim fleet benchmark: registration and steady state at growing fleet sizes"};
  app.add_option("--sizes", o.sizes, "Fleet sizes, one run each")->delimiter(',');
  app.add_option("--register-rate", o.register_rate, "Registrations started per second")
      ->check(CLI::Range(1.0, 1e7));
  app.add_option("--report-every", o.report_every, "Seconds between two reports of a client")
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--settle", o.settle, "Seconds between the last registration and the window")
      ->check(CLI::Range(0u, 3600u));
  app.add_option("--steady", o.steady, "Seconds of the steady-state window")
      ->check(CLI::Range(1u, 3600u));
  app.add_option("--sim-threads", o.sim_threads, "lwm2m-sim worker threads (0: one per core)");
  app.add_option("--server-threads", o.server_threads, "Built-in server threads")
      ->check(CLI::Range(1u, 64u));
  app.add_option("--binary", o.binary, "The lwm2m-sim executable");
  app.add_option("--sim-option", o.sim_options,
                 "An option for lwm2m-sim run, e.g. --sim-option=--io-coalesce=0 (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--profile", o.profile, "Device profile of the fleet");
  CLI11_PARSE(app, argc, argv);
  return lwm2msim::bench::run(o);
}
