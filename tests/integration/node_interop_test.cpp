// Interoperability with an independent LwM2M 1.0 server: lwm2m-node-lib 1.4.0 (Node.js), installed
// with npm into the build tree. Its server asks for plain text on Read and Observe and cannot
// parse TLV or SenML answers at all (the whole process dies), writes and executes with the
// pre-standard format 1541, and reports an observation only from its first notification with a
// non-zero Observe number. tests/integration/node/server.js drives it and prints its events.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/fleet/fleet.h"
#include "sim/profile/profile.h"
#include "tests/integration/hand_driven.h"
#include "tests/integration/process.h"

namespace lwm2msim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ChildProcess;

constexpr std::string_view kPeerPackage = "lwm2m-node-lib";
constexpr std::string_view kPeerVersion = "1.4.0";

// The observed Sensor Value takes a new value every 300 ms, so notifications keep coming; the
// Application Type is writable and Reset Min and Max Measured Values executable, both harmless.
constexpr std::string_view kProfile = R"(name: node-interop
description: A temperature sensor whose reading changes several times a second.
objects:
  3303:
    0:
      5700: {generator: uniform, min: 10, max: 20, period: 300ms}
      5701: Cel
      5750: outdoor air
      5605:
)";
constexpr double kValueMin = 10;
constexpr double kValueMax = 20;

// The absolute path of `name` on $PATH (posix_spawn does not search it); empty when absent.
std::string find_in_path(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) {
      continue;
    }
    const std::string candidate = dir + "/" + std::string(name);
    if (access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

// The version of the package installed under `prefix`, or empty.
std::string installed_version(const std::string& prefix) {
  std::ifstream in(prefix + "/node_modules/" + std::string(kPeerPackage) + "/package.json");
  if (!in) {
    return {};
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The top-level "version": "X" (the first one in npm's package.json).
  const size_t key = text.find("\"version\"");
  const size_t colon = key == std::string::npos ? key : text.find(':', key);
  const size_t open = colon == std::string::npos ? colon : text.find('"', colon);
  const size_t close = open == std::string::npos ? open : text.find('"', open + 1);
  return close == std::string::npos ? std::string{} : text.substr(open + 1, close - open - 1);
}

struct RunResult {
  std::optional<int> exit_code;  // nullopt: killed after the time bound
  std::string output;            // stdout and stderr
};

// Runs a command to completion, killing it after `bound`.
RunResult run_bounded(std::vector<std::string> args, milliseconds bound) {
  ChildProcess child(std::move(args));
  RunResult r;
  r.exit_code = child.wait(bound);
  if (!r.exit_code) {
    child.kill_now();
  }
  r.output = child.out() + child.err();
  return r;
}

// Whether npm's output says the registry could not be reached (rather than that it answered no).
bool is_network_failure(const std::string& output) {
  for (std::string_view code :
       {"ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH",
        "EHOSTUNREACH", "ERR_SOCKET_TIMEOUT", "npm error network", "npm ERR! network"}) {
    if (output.find(code) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// One `event=NAME key=value ...` line of server.js, values URI-decoded.
struct Event {
  std::string name;
  std::map<std::string, std::string> fields;

  std::string get(const std::string& key) const {
    const auto it = fields.find(key);
    return it == fields.end() ? std::string{} : it->second;
  }
};

std::string uri_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::optional<Event> parse_event(std::string_view line) {
  Event e;
  std::stringstream tokens{std::string(line)};
  std::string token;
  while (tokens >> token) {
    const size_t eq = token.find('=');
    if (eq == std::string::npos) {
      return std::nullopt;
    }
    e.fields[token.substr(0, eq)] = uri_decode(std::string_view(token).substr(eq + 1));
  }
  e.name = e.get("event");
  if (e.name.empty()) {
    return std::nullopt;
  }
  return e;
}

// A plain-text reading the profile can produce.
bool is_profile_value(const std::string& text) {
  if (text.empty()) {
    return false;
  }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && v >= kValueMin && v <= kValueMax;
}

// What the server reported about one device.
struct DeviceLog {
  bool registered = false;
  std::vector<std::string> reads;
  std::vector<std::string> discovers;
  std::vector<std::string> writes;    // response codes
  std::vector<std::string> executes;  // response codes
  std::vector<std::string> observed;  // the value each observation started with
  std::vector<std::string> notifies;
  std::vector<Event> responses;  // response datagrams seen on the server's socket
  std::vector<Event> errors;
};

class NodeInterop : public ::testing::Test {
 protected:
  // Installs the peer once for the suite (or finds it installed). A registry that cannot be
  // reached skips the tests; any other problem fails them.
  static void SetUpTestSuite() {
    node_ = find_in_path("node");
    const std::string npm = find_in_path("npm");
    if (node_.empty() || npm.empty()) {
      setup_error_ = "node and npm must be on PATH (.ci/setup installs them)";
      return;
    }
    const std::string prefix = LWM2MSIM_NODE_PEER_DIR;
    if (installed_version(prefix) == kPeerVersion) {
      return;
    }
    const std::string spec = std::string(kPeerPackage) + "@" + std::string(kPeerVersion);
    // A short fetch timeout, so an unreachable registry shows as a network error, not a hang.
    const RunResult probe = run_bounded(
        {npm, "view", spec, "version", "--fetch-timeout=20000", "--fetch-retries=1"}, seconds(90));
    if (!probe.exit_code) {
      skip_reason_ = "the npm registry did not answer within 90 s";
      return;
    }
    if (*probe.exit_code != 0) {
      if (is_network_failure(probe.output)) {
        skip_reason_ = "the npm registry is unreachable: " + probe.output;
      } else {
        setup_error_ = "npm view " + spec + " failed: " + probe.output;
      }
      return;
    }
    std::error_code ec;
    std::filesystem::create_directories(prefix, ec);
    const RunResult install = run_bounded(
        {npm, "install", "--prefix", prefix, "--no-audit", "--no-fund", spec}, seconds(180));
    if (!install.exit_code) {
      setup_error_ = "npm install " + spec + " did not finish within 180 s: " + install.output;
    } else if (*install.exit_code != 0) {
      setup_error_ = "npm install " + spec + " failed: " + install.output;
    } else if (installed_version(prefix) != kPeerVersion) {
      setup_error_ = "npm install left version '" + installed_version(prefix) + "' in " + prefix;
    }
  }

  void SetUp() override {
    if (!skip_reason_.empty()) {
      GTEST_SKIP() << skip_reason_;
    }
    ASSERT_EQ(setup_error_, "");
  }

  // Starts server.js on a free port, observing `path`; returns the port.
  uint16_t start_server(const std::string& path, const std::string& write_path,
                        const std::string& execute_path) {
    server_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        node_, LWM2MSIM_NODE_SERVER_JS, "--peer", LWM2MSIM_NODE_PEER_DIR, "--port", "0", "--path",
        path, "--write", write_path, "--execute", execute_path});
    const auto line = server_->wait_stdout_line("event=listening", seconds(20));
    EXPECT_TRUE(line.has_value()) << server_->out() << server_->err();
    if (!line) {
      return 0;
    }
    const auto e = parse_event(*line);
    return e ? static_cast<uint16_t>(std::stoul(e->get("port"))) : 0;
  }

  // True while server.js runs.
  bool server_alive() { return !server_->wait(milliseconds(0)).has_value(); }

  // Takes every event line printed so far (waiting at most `budget` for the first).
  void collect(milliseconds budget) {
    for (auto line = server_->wait_stdout_line("event=", budget); line;
         line = server_->wait_stdout_line("event=", milliseconds(0))) {
      const auto e = parse_event(*line);
      if (!e) {
        continue;
      }
      const std::string ep = e->get("ep");
      DeviceLog& d = devices_[ep];
      if (e->name == "registered") {
        d.registered = true;
      } else if (e->name == "read") {
        d.reads.push_back(e->get("value"));
      } else if (e->name == "discover") {
        d.discovers.push_back(e->get("links"));
      } else if (e->name == "write") {
        d.writes.push_back(e->get("code"));
      } else if (e->name == "execute") {
        d.executes.push_back(e->get("code"));
      } else if (e->name == "observed") {
        d.observed.push_back(e->get("value"));
      } else if (e->name == "notify") {
        d.notifies.push_back(e->get("value"));
      } else if (e->name == "response") {
        d.responses.push_back(*e);
      } else if (e->name == "error") {
        d.errors.push_back(*e);
      }
    }
  }

  // SIGTERM, then SIGKILL after a bound; the exit code (128 + 9 when it had to be killed).
  int stop_server() {
    server_->signal(SIGTERM);
    if (const auto code = server_->wait(seconds(5))) {
      return *code;
    }
    server_->kill_now();
    return 128 + SIGKILL;
  }

  static inline std::string node_;
  static inline std::string skip_reason_;
  static inline std::string setup_error_;
  std::unique_ptr<ChildProcess> server_;
  std::map<std::string, DeviceLog> devices_;
};

uint64_t responses(const FleetSnapshot& s, Lwm2mOperation op, uint8_t code) {
  return s.responses[static_cast<size_t>(op)][response_code_slot(code)];
}

TEST_F(NodeInterop, FleetRegistersAndTheServerReadsAndObservesInPlainText) {
  constexpr uint64_t kDevices = 16;
  constexpr size_t kNotificationsEach = 3;
  const uint16_t port = start_server("/3303/0/5700", "/3303/0/5750", "/3303/0/5605");
  ASSERT_NE(port, 0);

  auto profile = std::make_shared<Profile>();
  ASSERT_EQ(load_profile_text(kProfile, "node-interop.yaml", ".", ObjectRegistry::builtin(),
                              profile.get()),
            "");
  FleetConfig c;
  c.clients = kDevices;
  c.rate = 200;
  c.threads = 2;
  c.seed = 11;
  c.profile = profile;
  ASSERT_EQ(AddressPlan::parse("127.23.0.0/24", &c.local_addrs), "");
  ASSERT_EQ(EndpointPattern::parse("node-%03d", &c.client.endpoint_pattern), "");
  c.client.server = Endpoint4{0x7f000001, port};
  c.client.version = Lwm2mVersion::k1_0;
  c.client.lifetime_s = 120;
  c.sample_period = 100 * kUsPerMs;
  c.stop_timeout = 5 * kUsPerSec;
  Fleet fleet(c);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();

  std::vector<std::string> endpoints;
  for (uint64_t i = 0; i < kDevices; ++i) {
    endpoints.push_back(c.client.endpoint_pattern.format(i));
  }
  const auto all_done = [&] {
    return std::all_of(endpoints.begin(), endpoints.end(), [&](const std::string& ep) {
      const auto it = devices_.find(ep);
      return it != devices_.end() && it->second.registered && !it->second.reads.empty() &&
             !it->second.discovers.empty() && !it->second.writes.empty() &&
             !it->second.executes.empty() && it->second.notifies.size() >= kNotificationsEach;
    });
  };
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  bool alive = true;
  while (!all_done() && alive && std::chrono::steady_clock::now() < deadline) {
    collect(milliseconds(200));
    alive = server_alive();
  }
  collect(milliseconds(0));
  EXPECT_TRUE(all_done()) << "server output:\n" << server_->out() << server_->err();
  ASSERT_TRUE(alive) << "the server died:\n" << server_->out() << server_->err();

  EXPECT_EQ(devices_.size(), kDevices) << "events for unknown endpoints";
  for (const std::string& ep : endpoints) {
    SCOPED_TRACE(ep);
    const DeviceLog& d = devices_[ep];
    EXPECT_TRUE(d.registered);
    EXPECT_TRUE(d.errors.empty()) << d.errors.front().get("op") << ": "
                                  << d.errors.front().get("message");
    ASSERT_EQ(d.reads.size(), 1u);
    EXPECT_TRUE(is_profile_value(d.reads[0])) << d.reads[0];
    ASSERT_EQ(d.discovers.size(), 1u);
    EXPECT_NE(d.discovers[0].find("</3303/0/5700>"), std::string::npos) << d.discovers[0];
    // A Write in the pre-standard format 1541 is refused as an unsupported format; an Execute's
    // arguments need no format.
    EXPECT_EQ(d.writes, std::vector<std::string>{"4.15"});
    EXPECT_EQ(d.executes, std::vector<std::string>{"2.04"});
    EXPECT_LE(d.observed.size(), 1u);
    for (const std::string& v : d.observed) {
      EXPECT_TRUE(is_profile_value(v)) << v;
    }
    EXPECT_GE(d.notifies.size(), kNotificationsEach);
    for (const std::string& v : d.notifies) {
      EXPECT_TRUE(is_profile_value(v)) << v;
    }
    // On the wire: the Read, the Observe response and every notification in text/plain (0), as
    // the server's Accept asked; the Discover in link format (40), as its Accept asked.
    size_t plain = 0;
    size_t links = 0;
    size_t observing = 0;
    for (const Event& r : d.responses) {
      if (r.get("code") != "2.05") {
        EXPECT_EQ(r.get("cf"), "none") << r.get("code");
        continue;
      }
      const std::string cf = r.get("cf");
      EXPECT_TRUE(cf == "0" || cf == "40") << "content format " << cf;
      plain += cf == "0" && r.get("observe") == "none" ? 1 : 0;
      links += cf == "40" ? 1 : 0;
      observing += cf == "0" && r.get("observe") != "none" ? 1 : 0;
    }
    EXPECT_EQ(plain, 1u);
    EXPECT_EQ(links, 1u);
    EXPECT_GE(observing, kNotificationsEach + 1);
  }

  // The devices' side of the same exchanges.
  const FleetSnapshot s = fleet.snapshot();
  EXPECT_EQ(s.register_ok, kDevices);
  EXPECT_EQ(s.register_failed, 0u);
  EXPECT_EQ(s.timeouts, 0u);
  EXPECT_EQ(s.unexpected, 0u);
  EXPECT_EQ(s.malformed, 0u);
  EXPECT_EQ(s.notification_timeouts, 0u);
  EXPECT_EQ(s.request_duplicates, 0u);
  EXPECT_EQ(responses(s, Lwm2mOperation::kRead, CoapCode::kContent), kDevices);
  EXPECT_EQ(responses(s, Lwm2mOperation::kDiscover, CoapCode::kContent), kDevices);
  EXPECT_EQ(responses(s, Lwm2mOperation::kWrite, CoapCode::kUnsupportedContentFormat), kDevices);
  EXPECT_EQ(responses(s, Lwm2mOperation::kExecute, CoapCode::kChanged), kDevices);
  EXPECT_EQ(responses(s, Lwm2mOperation::kObserve, CoapCode::kContent), kDevices);
  EXPECT_EQ(s.observations, kDevices);
  EXPECT_GE(s.notifications, kDevices * kNotificationsEach);
  uint64_t not_acceptable = 0;
  for (const auto& by_code : s.responses) {
    not_acceptable += by_code[response_code_slot(CoapCode::kNotAcceptable)];
  }
  EXPECT_EQ(not_acceptable, 0u);

  fleet.stop();
  ASSERT_TRUE(testing::eventually([&] { return fleet.stopped(); }, seconds(10)));
  fleet.join();
  EXPECT_EQ(fleet.snapshot().deregister_ok, kDevices);
  collect(milliseconds(100));
  EXPECT_TRUE(server_alive()) << "the server died:\n" << server_->out() << server_->err();
  EXPECT_EQ(stop_server(), 0) << server_->err();
}

// What the interop relies on, without the peer: a 1.0 client answers in exactly the format the
// server's Accept names, on the Observe response and on every notification after it; and a Write
// in a format it does not speak is 4.15 without touching the data.
class AcceptHonoured : public testing::HandDriven {
 protected:
  std::optional<testing::Received> get(std::string_view path, uint16_t accept,
                                       std::optional<uint32_t> observe, uint8_t token_tag) {
    std::array<uint8_t, 128> buf;
    const uint16_t mid = next_mid_++;
    const uint8_t token[] = {token_tag, static_cast<uint8_t>(mid)};
    CoapWriter w(buf);
    w.header(CoapType::kCon, CoapCode::kGet, mid, token);
    if (observe) {
      w.option_uint(CoapOption::kObserve, *observe);
    }
    w.option_path(CoapOption::kUriPath, path).option_uint(CoapOption::kAccept, accept);
    server_.send(client_, w.finish());
    return next([mid](const CoapMessage& m) {
      return m.type() == CoapType::kAck && m.message_id() == mid;
    });
  }

  void start_device() {
    profile_ = std::make_shared<Profile>();
    ASSERT_EQ(load_profile_text(kProfile, "node-interop.yaml", ".", ObjectRegistry::builtin(),
                                profile_.get()),
              "");
    start([&](FleetConfig& c) {
      c.profile = profile_;
      c.client.version = Lwm2mVersion::k1_0;
      c.notify_con_every = 0;
    });
  }

  std::shared_ptr<Profile> profile_;
};

TEST_F(AcceptHonoured, EveryNotificationKeepsTheFormatTheObserveAccepted) {
  start_device();
  for (const uint16_t accept : {CoapContentFormat::kTextPlain, CoapContentFormat::kSenmlJson}) {
    SCOPED_TRACE(accept);
    const uint8_t tag = accept == CoapContentFormat::kTextPlain ? 0x31 : 0x32;
    auto observed = get("3303/0/5700", accept, 0u, tag);
    ASSERT_TRUE(observed.has_value());
    ASSERT_EQ(observed->message.code(), CoapCode::kContent);
    ASSERT_NE(observed->message.find(CoapOption::kContentFormat), nullptr);
    EXPECT_EQ(observed->message.find(CoapOption::kContentFormat)->as_uint(), accept);
    const CoapToken token = observed->message.token_value();
    for (int i = 0; i < 3; ++i) {
      auto n = next([&](const CoapMessage& m) {
        return testing::is_notification(m) && m.token_value() == token;
      });
      ASSERT_TRUE(n.has_value()) << "notification " << i;
      ASSERT_NE(n->message.find(CoapOption::kContentFormat), nullptr);
      EXPECT_EQ(n->message.find(CoapOption::kContentFormat)->as_uint(), accept);
      if (accept == CoapContentFormat::kTextPlain) {
        const auto p = n->message.payload();
        EXPECT_TRUE(is_profile_value(std::string(p.begin(), p.end())));
      }
    }
  }
  auto read = get("3303/0/5700", CoapContentFormat::kTextPlain, std::nullopt, 0x33);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->message.find(CoapOption::kContentFormat)->as_uint(),
            CoapContentFormat::kTextPlain);
}

TEST_F(AcceptHonoured, PreStandardTextWriteIsUnsupportedAndChangesNothing) {
  start_device();
  constexpr uint16_t kOldText = 1541;
  auto written = request(CoapCode::kPut, "3303/0/5750", {}, std::nullopt, "changed", kOldText);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(written->message.code(), CoapCode::kUnsupportedContentFormat);
  auto read = get("3303/0/5750", CoapContentFormat::kTextPlain, std::nullopt, 0x34);
  ASSERT_TRUE(read.has_value());
  const auto p = read->message.payload();
  EXPECT_EQ(std::string(p.begin(), p.end()), "outdoor air");
  EXPECT_EQ(fleet_->snapshot().writes_applied, 0u);
}

}  // namespace
}  // namespace lwm2msim
