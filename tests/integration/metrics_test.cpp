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

namespace lwm2msim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ChildProcess;

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

// A socket descriptor, closed on destruction.
class Socket {
 public:
  explicit Socket(int type) : fd_(::socket(AF_INET, type | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) {
      throw std::runtime_error("socket failed");
    }
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in loopback(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  return sa;
}

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

struct HttpResponse {
  int status = 0;
  std::string body;
};

// HTTP/1.0 GET from 127.0.0.1:port; nullopt unless a whole response arrives within `timeout`.
std::optional<HttpResponse> http_get(uint16_t port, const std::string& target,
                                     milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Socket s(SOCK_STREAM);
  // On Linux the send timeout also bounds connect().
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(s.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const sockaddr_in sa = loopback(port);
  if (::connect(s.fd(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    return std::nullopt;
  }
  const std::string request = "GET " + target +
                              " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nAccept: */*\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(s.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return std::nullopt;
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  while (true) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return std::nullopt;
    }
    pollfd pfd{s.fd(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    char buf[8192];
    const ssize_t n = ::recv(s.fd(), buf, sizeof buf, 0);
    if (n < 0) {
      return std::nullopt;
    }
    if (n == 0) {
      break;
    }
    raw.append(buf, static_cast<size_t>(n));
  }
  const size_t header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || header_end == std::string::npos || raw.size() < 12) {
    return std::nullopt;
  }
  HttpResponse r;
  r.status = std::atoi(raw.c_str() + 9);
  r.body = raw.substr(header_end + 4);
  return r;
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

// Waits for `run`'s first stderr line and returns the metrics port it names, or 0.
uint16_t metrics_port(ChildProcess& run) {
  if (!run.wait_stderr("\n", seconds(30))) {
    return 0;
  }
  const std::string first = run.err().substr(0, run.err().find('\n'));
  constexpr std::string_view kPrefix = "metrics on http://127.0.0.1:";
  const size_t at = first.find(kPrefix);
  if (at == std::string::npos) {
    return 0;
  }
  const size_t begin = at + kPrefix.size();
  const size_t end = first.find("/metrics", begin);
  if (end == std::string::npos || end == begin) {
    return 0;
  }
  uint32_t port = 0;
  const auto [ptr, ec] = std::from_chars(first.data() + begin, first.data() + end, port);
  if (ec != std::errc() || ptr != first.data() + end) {
    return 0;
  }
  return port > 0 && port < 65536 ? static_cast<uint16_t>(port) : 0;
}

// One sample line of the text exposition format.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family name -> TYPE
  std::vector<Sample> samples;
};

// Parses the text exposition format; empty string on success, else the offending line.
std::string parse_exposition(const std::string& text, Exposition* out) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      nl = text.size();
    }
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) {
      continue;
    }
    if (line[0] == '#') {
      if (line.rfind("# TYPE ", 0) == 0) {
        const size_t sp = line.find(' ', 7);
        if (sp == std::string::npos) {
          return line;
        }
        out->types[line.substr(7, sp - 7)] = line.substr(sp + 1);
      }
      continue;
    }
    Sample s;
    size_t i = line.find_first_of("{ ");
    if (i == std::string::npos) {
      return line;
    }
    s.name = line.substr(0, i);
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find("=\"", i);
        if (eq == std::string::npos) {
          return line;
        }
        const std::string key = line.substr(i, eq - i);
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
          }
          value += line[j];
        }
        if (j >= line.size()) {
          return line;
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') {
          ++i;
        }
      }
      if (i >= line.size()) {
        return line;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      return line;
    }
    const std::string value = line.substr(i + 1, line.find(' ', i + 1) - (i + 1));
    char* end = nullptr;
    s.value = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0') {
      return line;
    }
    out->samples.push_back(std::move(s));
  }
  return {};
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
