// Prometheus exposition of `lwm2m-sim run`: the scrape's format as promtool sees it, a taken
// metrics port, and a real Prometheus server scraping a run.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/integration/process.h"
#include "tests/support/http.h"

namespace lwm2msim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ChildProcess;
using testing::Exposition;
using testing::http_get;
using testing::HttpResponse;
using testing::loopback;
using testing::metrics_port;
using testing::parse_exposition;
using testing::Sample;
using testing::Socket;

// CI installs Debian's prometheus package; without it these tests fail rather than skip.
constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kPromtool = "/usr/bin/promtool";

bool executable(const char* path) {
  return ::access(path, X_OK) == 0;
}

// A temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "lwm2msim-metrics-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A TCP listener on 127.0.0.1 at a free port, holding the port until destroyed.
class TcpListener {
 public:
  TcpListener() : socket_(SOCK_STREAM) {
    sockaddr_in sa = loopback(0);
    socklen_t len = sizeof sa;
    if (::bind(socket_.fd(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(socket_.fd(), 4) != 0 ||
        ::getsockname(socket_.fd(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1:0");
    }
    port_ = ntohs(sa.sin_port);
  }
  uint16_t port() const { return port_; }

 private:
  Socket socket_;
  uint16_t port_ = 0;
};

// A port that was free a moment ago, for programs that cannot be given port 0.
uint16_t free_tcp_port() {
  return TcpListener().port();
}

// Reads a child's output for `budget` so it never blocks on a full pipe.
void pump_for(ChildProcess& p, milliseconds budget) {
  p.wait_stderr("\x01\x02", budget);
}

// For failure messages: whether `p` still runs, and its stderr.
std::string describe(ChildProcess& p) {
  const std::optional<int> code = p.wait(milliseconds(0));
  return (code ? "exited with status " + std::to_string(*code) : std::string("still running")) +
         "; stderr:\n" + p.err();
}

std::string label_text(const std::map<std::string, std::string>& labels) {
  std::string t = "{";
  for (const auto& [k, v] : labels) {
    t += (t.size() > 1 ? "," : "") + k + "=\"" + v + "\"";
  }
  return t + "}";
}

TEST(Metrics, ScrapeIsWellFormedAndPassesPromtool) {
  ASSERT_TRUE(executable(kPromtool))
      << kPromtool << " is missing: install Debian's 'prometheus' package (CI does)";
  TempDir dir;
  ChildProcess run({LWM2MSIM_BINARY, "run", "--clients", "200", "--duration", "20s", "--metrics",
                    "127.0.0.1:0", "--local-addrs", "127.20.0.0/24",
                    // No exercise walk: its Execute /1/0/8 Updates would move clients between
                    // the registered and updating states while the test reads them.
                    "--server-exercise", "0"});
  const uint16_t port = metrics_port(run);
  ASSERT_NE(port, 0) << run.err();
  ASSERT_TRUE(run.wait_stderr("registered 200/200", seconds(30))) << run.err();

  const std::optional<HttpResponse> response = http_get(port, "/metrics", seconds(10));
  ASSERT_TRUE(response.has_value()) << "no answer from /metrics; lwm2m-sim " << describe(run);
  ASSERT_EQ(response->status, 200) << response->body;
  const std::string& body = response->body;
  EXPECT_NE(body.find("\nlwm2msim_clients{group=\"default\",state=\"registered\"} 200\n"),
            std::string::npos)
      << body;

  Exposition e;
  ASSERT_EQ(parse_exposition(body, &e), "") << "unparsable line";
  ASSERT_FALSE(e.types.empty()) << body;
  // Ours are lwm2msim_*; prometheus-cpp adds its own exposer_* families.
  const auto known_prefix = [](const std::string& name) {
    return name.starts_with("lwm2msim_") || name.starts_with("exposer_");
  };
  for (const auto& [family, type] : e.types) {
    EXPECT_TRUE(known_prefix(family)) << family;
    if (type == "counter") {
      EXPECT_TRUE(family.ends_with("_total")) << family;
    }
  }
  for (const Sample& s : e.samples) {
    EXPECT_TRUE(known_prefix(s.name)) << s.name;
    if (e.types.count(s.name) != 0 && e.types.at(s.name) == "counter") {
      EXPECT_TRUE(s.name.ends_with("_total")) << s.name;
    }
  }
  const auto sample = [&](const std::string& name, const std::map<std::string, std::string>& l) {
    for (const Sample& s : e.samples) {
      if (s.name == name && s.labels == l) {
        return std::optional<double>(s.value);
      }
    }
    return std::optional<double>();
  };
  EXPECT_EQ(sample("lwm2msim_client_requests_total",
                   {{"group", "default"}, {"operation", "register"}, {"result", "ok"}}),
            200.0);

  // Every histogram series: cumulative buckets, a +Inf bucket, and +Inf equal to _count.
  size_t histograms = 0;
  for (const auto& [family, type] : e.types) {
    if (type != "histogram") {
      continue;
    }
    std::set<std::map<std::string, std::string>> series;
    for (const Sample& s : e.samples) {
      if (s.name == family + "_count") {
        series.insert(s.labels);
      }
    }
    EXPECT_FALSE(series.empty()) << family;
    for (const auto& labels : series) {
      SCOPED_TRACE(family + label_text(labels));
      ++histograms;
      double previous = 0;
      std::optional<double> inf;
      for (const Sample& s : e.samples) {
        if (s.name != family + "_bucket" || s.labels.count("le") == 0) {
          continue;
        }
        auto without_le = s.labels;
        const std::string le = without_le.extract("le").mapped();
        if (without_le != labels) {
          continue;
        }
        EXPECT_GE(s.value, previous) << "le=" << le;
        previous = s.value;
        if (le == "+Inf") {
          inf = s.value;
        }
      }
      ASSERT_TRUE(inf.has_value());
      EXPECT_EQ(*inf, sample(family + "_count", labels));
      EXPECT_TRUE(sample(family + "_sum", labels).has_value());
    }
  }
  EXPECT_GE(histograms, 7u);
  EXPECT_EQ(sample("lwm2msim_client_request_duration_seconds_count",
                   {{"group", "default"}, {"operation", "register"}}),
            200.0);

  // promtool parses the scrape and lints it (exit 3 and a message per problem).
  const std::filesystem::path file = dir.path() / "scrape.txt";
  {
    std::ofstream f(file, std::ios::binary);
    f << body;
    ASSERT_TRUE(f.good());
  }
  ChildProcess promtool(
      {"/bin/sh", "-c",
       std::string("exec ") + kPromtool + " check metrics < '" + file.string() + "'"});
  const auto lint = promtool.wait(seconds(60));
  ASSERT_TRUE(lint.has_value()) << "promtool did not finish";
  EXPECT_EQ(*lint, 0) << promtool.out() << promtool.err();
  EXPECT_EQ(promtool.out() + promtool.err(), "");

  run.signal(SIGINT);
  const auto code = run.wait(seconds(30));
  ASSERT_TRUE(code.has_value()) << run.err();
  EXPECT_EQ(*code, 0) << run.err();
}

TEST(Metrics, PortInUseFailsBeforeTheRun) {
  const TcpListener taken;
  const std::string port = std::to_string(taken.port());
  ChildProcess run({LWM2MSIM_BINARY, "run", "--clients", "20", "--duration", "5s", "--metrics",
                    "127.0.0.1:" + port, "--local-addrs", "127.21.0.0/24"});
  const auto code = run.wait(seconds(30));
  ASSERT_TRUE(code.has_value()) << run.err();
  EXPECT_NE(*code, 0) << run.err();
  EXPECT_LT(*code, 128) << "killed by a signal: " << run.err();
  const std::string& err = run.err();
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("lwm2m-sim: "), std::string::npos) << err;
  EXPECT_NE(err.find(":" + port), std::string::npos) << err;
  EXPECT_NE(err.find("in use"), std::string::npos) << err;
  // Neither the start line nor progress nor a summary.
  EXPECT_EQ(err.find("clients on"), std::string::npos) << err;
  EXPECT_EQ(err.find("registered"), std::string::npos) << err;
  EXPECT_EQ(run.out(), "");
}

TEST(Metrics, PrometheusServerScrapesTheRun) {
  ASSERT_TRUE(executable(kPrometheus))
      << kPrometheus << " is missing: install Debian's 'prometheus' package (CI does)";
  TempDir dir;
  ChildProcess run({LWM2MSIM_BINARY, "run", "--clients", "200", "--duration", "10m", "--metrics",
                    "127.0.0.1:0", "--local-addrs", "127.22.0.0/24",
                    // No exercise walk: its Execute /1/0/8 Updates would move clients between
                    // the registered and updating states while the test reads them.
                    "--server-exercise", "0"});
  const uint16_t port = metrics_port(run);
  ASSERT_NE(port, 0) << run.err();

  const std::filesystem::path config = dir.path() / "prometheus.yml";
  {
    std::ofstream f(config);
    f << "global:\n"
         "  scrape_interval: 1s\n"
         "  evaluation_interval: 1s\n"
         "scrape_configs:\n"
         "  - job_name: lwm2m-sim\n"
         "    static_configs:\n"
         "      - targets: ['127.0.0.1:"
      << port << "']\n";
    ASSERT_TRUE(f.good());
  }
  const uint16_t web = free_tcp_port();
  ChildProcess prometheus({kPrometheus, "--config.file=" + config.string(),
                           "--storage.tsdb.path=" + (dir.path() / "data").string(),
                           "--web.listen-address=127.0.0.1:" + std::to_string(web),
                           "--storage.tsdb.retention.time=1h", "--log.level=warn"});

  // lwm2msim_clients{state="registered"}
  const std::string query = "/api/v1/query?query=lwm2msim_clients%7Bstate%3D%22registered%22%7D";
  std::string last = "(no answer)";
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    if (run.wait(milliseconds(0)) || prometheus.wait(milliseconds(0))) {
      break;  // one of them exited: no point in waiting
    }
    pump_for(prometheus, milliseconds(250));
    pump_for(run, milliseconds(50));
    const std::optional<HttpResponse> r = http_get(web, query, seconds(5));
    if (!r) {
      continue;
    }
    last = r->body;
    const nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
    if (r->status != 200 || j.is_discarded() || j.value("status", "") != "success") {
      continue;
    }
    const nlohmann::json* result = nullptr;
    if (j.contains("data") && j["data"].is_object() && j["data"].contains("result")) {
      result = &j["data"]["result"];
    }
    if (result == nullptr || !result->is_array()) {
      continue;
    }
    for (const nlohmann::json& series : *result) {
      if (series.contains("value") && series["value"].is_array() && series["value"].size() == 2 &&
          series["value"][1] == "200") {
        const nlohmann::json labels = series.value("metric", nlohmann::json::object());
        EXPECT_EQ(labels.value("job", ""), "lwm2m-sim") << series.dump();
        EXPECT_EQ(labels.value("group", ""), "default") << series.dump();
        seen = true;
      }
    }
  }
  ASSERT_TRUE(seen) << "last answer: " << last << "\nprometheus " << describe(prometheus)
                    << "\nlwm2m-sim " << describe(run);

  prometheus.signal(SIGTERM);
  const auto prometheus_code = prometheus.wait(seconds(30));
  ASSERT_TRUE(prometheus_code.has_value()) << prometheus.err();
  EXPECT_EQ(*prometheus_code, 0) << prometheus.err();
  run.signal(SIGINT);
  const auto code = run.wait(seconds(30));
  ASSERT_TRUE(code.has_value()) << run.err();
  EXPECT_EQ(*code, 0) << run.err();
}

}  // namespace
}  // namespace lwm2msim
