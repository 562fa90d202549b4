// How `lwm2m-sim run` survives the faults of the field: a server killed and restarted, a server
// that answers garbage, heavy packet loss, an environment too small for the configuration, and
// Ctrl-C at awkward moments. Each test drives the real binary against a real server (or a socket
// of its own) on loopback and reads the printed summary and the JSON report.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "sim/cli/cli.h"
#include "sim/coap/coap.h"
#include "tests/integration/process.h"
#include "tests/support/udp_socket.h"

namespace lwm2msim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ChildProcess;
using testing::eventually;
using testing::query_server_stats;
using testing::ServerProcess;
using SteadyTime = std::chrono::steady_clock;

double seconds_since(SteadyTime::time_point t) {
  return std::chrono::duration<double>(SteadyTime::now() - t).count();
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// The JSON report's metrics ("metrics" -> name -> "values" -> field).
class Report {
 public:
  explicit Report(const std::string& path) {
    const std::string text = read_text(path);
    json_ = nlohmann::json::parse(text, nullptr, false);
    std::remove(path.c_str());
  }
  bool valid() const { return !json_.is_discarded() && json_.contains("metrics"); }
  // The field's value; -1 when the report lacks it (so comparisons fail visibly).
  double at(const std::string& metric, const std::string& field) const {
    if (!valid() || !json_["metrics"].contains(metric) ||
        !json_["metrics"][metric]["values"].contains(field)) {
      ADD_FAILURE() << "the report has no " << metric << "." << field;
      return -1;
    }
    return json_["metrics"][metric]["values"][field].get<double>();
  }
  uint64_t count(const std::string& metric, const std::string& field) const {
    const double v = at(metric, field);
    return v < 0 ? UINT64_MAX : static_cast<uint64_t>(v);
  }

 private:
  nlohmann::json json_;
};

std::string report_path(const std::string& name) {
  return ::testing::TempDir() + "/lwm2m-sim-field-faults-" + name + "-" + std::to_string(getpid()) +
         ".json";
}

uint64_t stat_of(const std::map<std::string, uint64_t>& stats, const std::string& key) {
  const auto it = stats.find(key);
  return it == stats.end() ? UINT64_MAX : it->second;
}

// 1. The server is killed (SIGKILL) once every client registered and restarted on the same port
// a few seconds later. Every client registers again within the backoff bound, and the report
// counts the outage.
TEST(FieldFaults, KilledServerIsAnOutageAndEveryClientRegistersAgainWithinTheBackoffBound) {
  constexpr uint64_t kClients = 300;
  // The run's retry settings: an exchange gives up after MAX_TRANSMIT_WAIT = 0.2 s x 1.5 x
  // (2^3 - 1) = 2.1 s, and a client retries within backoff_max = 2 s. The lifetime of 2 s has
  // every client send an Update each 1.8 s, so each meets the dead server or the new one soon.
  constexpr double kMaxTransmitWait = 0.2 * 1.5 * 7;
  constexpr double kBackoffMax = 2.0;
  constexpr auto kOutage = seconds(4);
  auto server = std::make_unique<ServerProcess>();
  const Endpoint4 address = server->address();
  const std::string json = report_path("outage");
  ChildProcess run({LWM2MSIM_BINARY,
                    "run",
                    "--server",
                    server->uri(),
                    "--clients",
                    std::to_string(kClients),
                    "--rate",
                    "1000",
                    "--threads",
                    "2",
                    "--duration",
                    "1m",
                    "--local-addrs",
                    "127.20.0.0/24",
                    "--lifetime",
                    "2",
                    "--ack-timeout",
                    "200ms",
                    "--ack-random-factor",
                    "1.5",
                    "--max-retransmit",
                    "2",
                    "--backoff-base",
                    "200ms",
                    "--backoff-max",
                    "2s",
                    "--stop-timeout",
                    "5s",
                    "--metrics",
                    "off",
                    "--report",
                    json});
  ASSERT_TRUE(run.wait_stderr(" clients on ", seconds(10))) << run.err();
  const auto started = SteadyTime::now();  // the run's time 0, give or take the pipe
  ASSERT_TRUE(run.wait_stderr("registered 300/300", seconds(15))) << run.err();

  server.reset();  // SIGKILL: the directory is gone
  const double killed_at = seconds_since(started);
  std::this_thread::sleep_for(kOutage);
  server = std::make_unique<ServerProcess>(address.port);
  const double outage = seconds_since(started) - killed_at;
  const double bound = outage + kBackoffMax + kMaxTransmitWait;
  EXPECT_TRUE(eventually(
      [&] {
        run.pump(milliseconds(0));
        return stat_of(query_server_stats(address), "registered") == kClients;
      },
      milliseconds(static_cast<int>(bound * 1000) + 3000)))
      << run.err();
  // Let one more progress line pass, then stop the run cleanly.
  std::this_thread::sleep_for(milliseconds(500));
  run.signal(SIGINT);
  const auto code = run.wait(seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, static_cast<int>(ExitCode::kOk)) << run.err();
  EXPECT_NE(run.out().find("server_outages          count 1"), std::string::npos) << run.out();

  const Report report(json);
  ASSERT_TRUE(report.valid());
  EXPECT_EQ(report.count("server_outages", "count"), 1u);
  EXPECT_EQ(report.count("server_outages", "ongoing"), 0u);
  // The server restart forgot every registration: each client learnt it through a timeout during
  // the outage or a 4.04 to its next Update after it.
  EXPECT_EQ(report.count("server_outages", "devices_lost"), kClients);
  EXPECT_EQ(report.count("server_outages", "unrecovered"), 0u);
  // The fleet sees the outage from its first timeout to its first answer again.
  const double longest = report.at("server_outages", "longest_time") / 1e6;
  EXPECT_EQ(report.at("server_outages", "total_time") / 1e6, longest);
  EXPECT_GT(longest, 1.0);
  EXPECT_LT(longest, outage + kBackoffMax + 0.5);
  // The last client registered again within the bound, counted from the kill (0.3 s of slack
  // for the pipes and process start-up this test measures through).
  const double recovered_at = report.at("server_outages", "recovered_at") / 1e6;
  EXPECT_GT(recovered_at, killed_at + outage);
  EXPECT_LE(recovered_at - killed_at, bound + 0.3)
      << "outage " << outage << " s, recovery "
      << report.at("server_outages", "recovery_time") / 1e6 << " s";
  EXPECT_LE(report.at("server_outages", "recovery_time") / 1e6, kBackoffMax + kMaxTransmitWait);
  EXPECT_GE(report.count("registrations", "ok"), 2 * kClients);
  EXPECT_GT(report.count("update_exchanges", "timed_out"), 0u);
  // Stopped cleanly: everyone de-registered from the new server.
  EXPECT_EQ(report.count("deregistrations", "ok"), kClients);
  EXPECT_EQ(stat_of(query_server_stats(address), "registered"), 0u);
}

// Datagrams a broken or hostile server might send: one of each per datagram received.
std::vector<std::vector<uint8_t>> garbage_for(std::span<const uint8_t> request, std::mt19937& rng) {
  std::vector<std::vector<uint8_t>> out;
  std::vector<uint8_t> random(48);
  for (uint8_t& b : random) {
    b = static_cast<uint8_t>(rng());
  }
  out.push_back(random);
  out.push_back({0x60, 0x41});  // a header cut after two bytes
  if (request.size() < 4 || (request[0] & 0x0f) > 8 || request.size() < 4u + (request[0] & 0x0f)) {
    return out;
  }
  const uint16_t mid = static_cast<uint16_t>((request[2] << 8) | request[3]);
  const std::vector<uint8_t> token(request.begin() + 4, request.begin() + 4 + (request[0] & 0x0f));
  std::vector<uint8_t> wrong_token = token;
  for (uint8_t& b : wrong_token) {
    b ^= 0xa5;
  }
  std::array<uint8_t, 64> buf;
  const auto message = [&](CoapType type, uint16_t m, std::span<const uint8_t> t, uint16_t option) {
    CoapWriter w(buf);
    w.header(type, CoapCode::kCreated, m, t);
    if (option != 0) {
      w.option(option, std::string_view());
    }
    const auto bytes = w.finish();
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
  };
  std::vector<uint8_t> version2 = message(CoapType::kAck, mid, token, 0);
  version2[0] = static_cast<uint8_t>((version2[0] & 0x3f) | 0x80);
  out.push_back(version2);
  out.push_back(message(CoapType::kAck, static_cast<uint16_t>(mid + 1), token, 0));
  out.push_back(message(CoapType::kCon, static_cast<uint16_t>(mid ^ 0x5555), wrong_token, 0));
  out.push_back(message(CoapType::kAck, mid, token, 9));  // option 9: critical, unknown
  // The largest UDP datagram: a well-formed ACK with a payload no CoAP message may have.
  std::vector<uint8_t> oversized = message(CoapType::kAck, mid, token, 0);
  oversized.push_back(0xff);
  oversized.resize(65507, 0x5a);
  out.push_back(oversized);
  return out;
}

// 2. The server answers every datagram with garbage of every kind. The run neither crashes nor
// hangs: it counts what it refused and ends normally with its report.
TEST(FieldFaults, GarbageFromTheServerIsCountedAndTheRunEndsNormally) {
  UdpSocket garbage;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> received{0};
  std::thread answerer([&] {
    std::mt19937 rng(11);
    const auto deadline = SteadyTime::now() + seconds(30);
    while (!done.load() && SteadyTime::now() < deadline) {
      sockaddr_in from{};
      const std::vector<uint8_t> request = garbage.receive(&from);
      if (request.empty()) {
        continue;
      }
      ++received;
      for (const std::vector<uint8_t>& g : garbage_for(request, rng)) {
        garbage.send(from, g);
      }
    }
  });
  const std::string json = report_path("garbage");
  ChildProcess run(
      {LWM2MSIM_BINARY,  "run",           "--server",      garbage.uri(), "--clients",        "20",
       "--rate",         "200",           "--threads",     "2",           "--duration",       "3s",
       "--local-addrs",  "127.21.0.0/24", "--ack-timeout", "200ms",       "--max-retransmit", "2",
       "--backoff-base", "200ms",         "--backoff-max", "500ms",       "--stop-timeout",   "2s",
       "--metrics",      "off",           "--report",      json});
  const auto code = run.wait(seconds(20));
  done = true;
  answerer.join();
  ASSERT_TRUE(code.has_value()) << "the run hung";
  EXPECT_EQ(*code, static_cast<int>(ExitCode::kOk)) << run.err();
  EXPECT_NE(run.out().find("lwm2m-sim summary"), std::string::npos) << run.out();
  EXPECT_GT(received.load(), 20u);

  const Report report(json);
  ASSERT_TRUE(report.valid());
  // Nothing the server sent was a usable answer.
  EXPECT_EQ(report.count("registrations", "ok"), 0u);
  EXPECT_GT(report.count("registrations", "failed"), 0u);
  EXPECT_GT(report.count("datagrams", "malformed"), 0u);
  EXPECT_GT(report.count("rejected", "malformed"), 0u);    // random bytes, the cut header
  EXPECT_GT(report.count("rejected", "bad_version"), 0u);  // version 2
  EXPECT_GT(report.count("rejected", "oversized"), 0u);    // 64 KiB
  EXPECT_GT(report.count("rejected", "bad_option"), 0u);   // unknown critical option
  EXPECT_GT(report.count("rejected", "unexpected"), 0u);   // wrong MID, unknown token
  EXPECT_GT(report.count("rejected", "resets"), 0u);       // the CON with an unknown token
  // Every Register ended: by a timeout, or as abandoned when the run stopped.
  EXPECT_EQ(report.count("register_exchanges", "sent"),
            report.count("register_exchanges", "answered") +
                report.count("register_exchanges", "timed_out") +
                report.count("register_exchanges", "abandoned"));
}

// A scenario file in the test's temp directory.
std::string write_scenario(const std::string& name, const std::string& text) {
  const std::string path =
      ::testing::TempDir() + "/" + name + "-" + std::to_string(getpid()) + ".yaml";
  std::ofstream(path) << text;
  return path;
}

std::string profiles_dir() {
  const std::string here = __FILE__;
  return here.substr(0, here.rfind("/tests/")) + "/profiles";
}

// 3. 30% of the datagrams lost in each direction. After a clean stop every exchange is accounted
// for exactly: sent = answered + timed out + abandoned, for each kind.
TEST(FieldFaults, ThirtyPercentLossInEachDirectionAccountsForEveryExchange) {
  const std::string scenario = write_scenario("lossy", R"(name: lossy
seed: 3
target:
  server: builtin
  builtin:
    read_rate: 50
    read_paths: [/3/0/9]
    observe_fraction: 100%
    observe_path: /3303/0/5700
    observe_attributes: "pmin=1&pmax=1"
groups:
  - name: sensors
    profile: )" + profiles_dir() + R"(/temperature-sensor.yaml
    count: 200
    lifetime: 4s
    behaviours:
      report: {every: 2s, via: send, paths: [/3303/0/5700]}
faults:
  - loss: {up: 30%, down: 30%}
phases:
  - {ramp: {to: 200, over: 1s}}
  - {hold: 7s}
  - stop
)");
  const std::string json = report_path("loss");
  // MAX_TRANSMIT_WAIT = 0.2 s x 1.5 x (2^4 - 1) = 4.5 s; a stop bound of 3 s leaves some
  // De-registers unanswered, so the abandoned term is exercised too.
  ChildProcess run({LWM2MSIM_BINARY,
                    "run",
                    scenario,
                    "--threads",
                    "2",
                    "--local-addrs",
                    "127.22.0.0/24",
                    "--notify-con-every",
                    "1",
                    "--ack-timeout",
                    "200ms",
                    "--max-retransmit",
                    "3",
                    "--backoff-base",
                    "200ms",
                    "--backoff-max",
                    "1s",
                    "--stop-timeout",
                    "3s",
                    "--metrics",
                    "off",
                    "--report",
                    json});
  const auto code = run.wait(seconds(40));
  std::remove(scenario.c_str());
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, static_cast<int>(ExitCode::kOk)) << run.err();
  for (const char* row : {"register_exchanges", "update_exchanges", "deregister_exchanges",
                          "notification_exchanges", "send_exchanges", "bootstrap_exchanges"}) {
    EXPECT_NE(run.out().find(std::string("  ") + row + " "), std::string::npos) << run.out();
  }

  const Report report(json);
  ASSERT_TRUE(report.valid());
  uint64_t timed_out = 0;
  for (const std::string kind : {"register", "update", "deregister", "notification", "send"}) {
    const std::string row = kind + "_exchanges";
    const uint64_t sent = report.count(row, "sent");
    EXPECT_GT(sent, 0u) << row;
    EXPECT_EQ(sent, report.count(row, "answered") + report.count(row, "timed_out") +
                        report.count(row, "abandoned"))
        << row << " sent " << sent << " answered " << report.count(row, "answered") << " timed_out "
        << report.count(row, "timed_out") << " abandoned " << report.count(row, "abandoned");
    timed_out += report.count(row, "timed_out");
  }
  // Loss really happened, and every timeout belongs to one of those exchanges.
  EXPECT_GT(report.count("faults", "dropped_up"), 0u);
  EXPECT_GT(report.count("faults", "dropped_down"), 0u);
  EXPECT_GT(report.count("retransmissions", "count"), 0u);
  EXPECT_GT(timed_out, 0u);
  EXPECT_EQ(report.count("timeouts", "count"), timed_out);
  // Random loss is not a server outage.
  EXPECT_EQ(report.count("server_outages", "count"), 0u);
}

// util-linux's prlimit, which runs a command under a resource limit.
std::string prlimit() {
  for (const char* path : {"/usr/bin/prlimit", "/bin/prlimit"}) {
    if (access(path, X_OK) == 0) {
      return path;
    }
  }
  return "prlimit";
}

// 4. An environment too small for the configuration: the open-files limit (exit 1: the machine's
// limit), or a client address plan with too few ports (exit 2: the arguments ask the impossible).
// One clear line names the limit before anything is sent.
TEST(FieldFaults, TooFewDescriptorsOrPortsFailBeforeAnythingIsSent) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> expected;  // each in the error line
    ExitCode code;
  };
  UdpSocket server;
  const std::vector<std::string> base = {LWM2MSIM_BINARY, "run", "--server",  server.uri(),
                                         "--threads",     "2",   "--metrics", "off",
                                         "--duration",    "2s",  "--clients", "200"};
  const auto with = [&](std::vector<std::string> prefix, std::vector<std::string> extra) {
    prefix.insert(prefix.end(), base.begin(), base.end());
    prefix.insert(prefix.end(), extra.begin(), extra.end());
    return prefix;
  };
  const std::vector<Case> cases = {
      // 200 sockets + 4 per worker thread + 32 spare = 240 descriptors; the limit is 64.
      {with({prlimit(), "--nofile=64:64"}, {"--socket-per-client", "--local-addrs", "127.0.0.1"}),
       {"open-files limit", "is 64", "needs 240 open files"},
       ExitCode::kRuntimeError},
      // Shared sockets: one IP gives one client per port, so 200 clients need 200 ports.
      {with({}, {"--local-addrs", "127.0.0.1:40000-40009"}),
       {"--local-addrs", "1 IPs x 10 ports (40000-40009)", "200 clients", "need 200 ports"},
       ExitCode::kBadInput},
      {with({}, {"--socket-per-client", "--local-addrs", "127.0.0.1:40000-40009"}),
       {"--local-addrs gives 10 addresses", "40000-40009", "200 clients"},
       ExitCode::kBadInput},
  };
  for (const Case& c : cases) {
    ChildProcess p(c.args);
    const auto code = p.wait(seconds(10));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, static_cast<int>(c.code)) << p.err();
    EXPECT_EQ(std::count(p.err().begin(), p.err().end(), '\n'), 1) << p.err();
    EXPECT_EQ(p.err().rfind("lwm2m-sim: ", 0), 0u) << p.err();
    for (const std::string& e : c.expected) {
      EXPECT_NE(p.err().find(e), std::string::npos) << "'" << e << "' missing in: " << p.err();
    }
    EXPECT_EQ(p.out().find("summary"), std::string::npos) << p.out();
    sockaddr_in from{};
    EXPECT_TRUE(server.receive(&from).empty()) << "a datagram reached the server";
  }
}

// 5a. Ctrl-C while the ramp is still starting clients: no more registrations start, every
// registered client de-registers, the summary is printed and the exit code is 0.
TEST(FieldFaults, SigintDuringTheRampDeregistersEveryRegisteredClient) {
  constexpr double kRate = 300;
  ServerProcess server;
  const std::string json = report_path("ramp");
  ChildProcess run({LWM2MSIM_BINARY, "run", "--server", server.uri(), "--clients", "3000", "--rate",
                    "300", "--threads", "2", "--duration", "10m", "--local-addrs", "127.23.0.0/20",
                    "--metrics", "off", "--report", json});
  ASSERT_TRUE(run.wait_stderr(" clients on ", seconds(10))) << run.err();
  const auto started = SteadyTime::now();
  ASSERT_TRUE(eventually(
      [&] {
        run.pump(milliseconds(0));
        return stat_of(query_server_stats(server.address()), "registered") >= 500;
      },
      seconds(15)));
  run.signal(SIGINT);
  const double signalled_at = seconds_since(started);
  const auto code = run.wait(seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, static_cast<int>(ExitCode::kOk)) << run.err();
  EXPECT_NE(run.err().find("stopping, de-registering"), std::string::npos) << run.err();
  EXPECT_NE(run.out().find("lwm2m-sim summary"), std::string::npos) << run.out();

  const Report report(json);
  ASSERT_TRUE(report.valid());
  const uint64_t attempts = report.count("registrations", "attempts");
  const uint64_t registered = report.count("registrations", "ok");
  // The ramp ended with the signal: what it had started by then (plus half a second of slack for
  // the pipes and the workers hearing of the stop on a busy machine), far from all 3000.
  EXPECT_GE(registered, 500u);
  EXPECT_LE(static_cast<double>(attempts), kRate * (signalled_at + 0.5));
  EXPECT_LT(attempts, 2000u);
  EXPECT_EQ(report.count("registrations", "failed"), 0u);
  EXPECT_EQ(report.count("deregistrations", "ok"), registered);
  EXPECT_EQ(report.count("deregistrations", "abandoned"), 0u);
  const auto stats = query_server_stats(server.address());
  EXPECT_EQ(stat_of(stats, "registered"), 0u);
  EXPECT_EQ(stat_of(stats, "deregisters"), registered);
}

// 5b. A second Ctrl-C exits at once, even with De-registers pending (the server is stopped).
TEST(FieldFaults, SecondSigintExitsAtOnceWhileDeregistrationsPend) {
  ServerProcess server;
  ChildProcess run({LWM2MSIM_BINARY, "run", "--server", server.uri(), "--clients", "200", "--rate",
                    "0", "--threads", "2", "--duration", "10m", "--local-addrs", "127.24.0.0/24",
                    "--stop-timeout", "60s", "--metrics", "off"});
  ASSERT_TRUE(run.wait_stderr("registered 200/200", seconds(15))) << run.err();
  server.process().signal(SIGSTOP);
  run.signal(SIGINT);
  ASSERT_TRUE(run.wait_stderr("stopping, de-registering", seconds(5))) << run.err();
  // The De-registers are out and unanswered; the first Ctrl-C alone would wait up to a minute.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_FALSE(run.wait(milliseconds(0)).has_value());
  const auto second = SteadyTime::now();
  run.signal(SIGINT);
  const auto code = run.wait(seconds(2));
  const double took = seconds_since(second);
  server.process().signal(SIGCONT);
  ASSERT_TRUE(code.has_value()) << "the second Ctrl-C did not end the run";
  EXPECT_EQ(*code, static_cast<int>(ExitCode::kInterrupted));
  EXPECT_LT(took, 1.0);
  EXPECT_NE(run.err().find("interrupted again"), std::string::npos) << run.err();
}

}  // namespace
}  // namespace lwm2msim
