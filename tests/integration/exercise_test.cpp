// The built-in server's exercise walk against a fleet of the lwm2m-sim binary: every LwM2M
// server-to-client operation must get the answer the TS requires.
#include "sim/server/exercise.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <string>

#include "sim/coap/coap.h"
#include "tests/integration/process.h"

namespace lwm2msim {
namespace {

using std::chrono::seconds;
using testing::ChildProcess;
using testing::eventually;
using testing::ServerProcess;

using Stats = std::map<std::string, uint64_t>;

// GET /sim/stats block by block (RFC 7959): with the per-step exercise lines the text outgrows
// one datagram. Starts over when the ETag shows the text changed between blocks.
Stats query_stats(const Endpoint4& server) {
  static uint16_t next_mid = 0x4100;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return {};
  }
  timeval tv{0, 300 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(server.ip);
  sa.sin_port = htons(server.port);
  // One block's answer: its payload, ETag and whether more follow; false when none came.
  auto fetch = [&](uint32_t num, std::string* payload, std::string* etag, bool* more) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      const uint16_t mid = next_mid++;
      const uint8_t token[] = {0x5e, static_cast<uint8_t>(mid)};
      std::array<uint8_t, 64> req;
      CoapWriter w(req);
      w.header(CoapType::kCon, CoapCode::kGet, mid, token)
          .option_path(CoapOption::kUriPath, "sim/stats")
          .option_uint(CoapOption::kBlock2, (num << 4) | 6);
      const auto msg = w.finish();
      sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      std::array<uint8_t, 2048> buf;
      const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
      CoapMessage m;
      if (n <= 0 || m.parse({buf.data(), static_cast<size_t>(n)}) != CoapParseError::kOk ||
          m.message_id() != mid || m.code() != CoapCode::kContent) {
        continue;
      }
      const CoapOptionView* block = m.find(CoapOption::kBlock2);
      const CoapOptionView* tag = m.find(CoapOption::kETag);
      payload->assign(m.payload().begin(), m.payload().end());
      etag->assign(tag == nullptr ? std::string() : std::string(tag->as_string()));
      *more = block != nullptr && (block->as_uint() & 8) != 0;
      return block == nullptr || (block->as_uint() >> 4) == num;
    }
    return false;
  };
  std::string text;
  for (int round = 0; round < 5 && text.empty(); ++round) {
    std::string first_etag;
    for (uint32_t num = 0;; ++num) {
      std::string payload, etag;
      bool more = false;
      if (!fetch(num, &payload, &etag, &more) || (num > 0 && etag != first_etag)) {
        text.clear();
        break;
      }
      first_etag = num == 0 ? etag : first_etag;
      text += payload;
      if (!more) {
        break;
      }
    }
  }
  ::close(fd);
  Stats result;
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    const size_t eq = line.find('=');
    if (eq != std::string_view::npos) {
      result[std::string(line.substr(0, eq))] = std::stoull(std::string(line.substr(eq + 1)));
    }
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  return result;
}

uint64_t value(const Stats& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? UINT64_MAX : it->second;
}

std::string dump(const Stats& s) {
  std::string out;
  for (const auto& [k, v] : s) {
    out += k + "=" + std::to_string(v) + "\n";
  }
  return out;
}

bool is_composite(ExerciseStep step) {
  return step == ExerciseStep::kReadComposite || step == ExerciseStep::kWriteComposite ||
         step == ExerciseStep::kObserveComposite;
}

// Runs 20 clients against a server that exercises each of them; returns the server's stats once
// every walk completed (or the wait ran out), with the server's stderr for diagnosis.
Stats exercise_fleet(const std::string& local_addrs, const std::string& version,
                     std::string* server_err) {
  ServerProcess server(0, {"--exercise", "1"});
  ChildProcess run({LWM2MSIM_BINARY, "run", "--server", server.uri(), "--clients", "20",
                    "--duration", "15s", "--local-addrs", local_addrs, "--lwm2m-version", version,
                    "--metrics", "off"});
  eventually([&] { return value(query_stats(server.address()), "exercise_completed") == 20; },
             seconds(30));
  const Stats stats = query_stats(server.address());
  const auto code = run.wait(seconds(60));
  EXPECT_TRUE(code.has_value());
  EXPECT_EQ(code.value_or(-1), 0) << run.err();
  server.process().signal(SIGTERM);
  server.process().wait(seconds(10));
  *server_err = server.process().err();
  return stats;
}

TEST(Exercise, EveryOperationGetsTheAnswerTheTsRequires) {
  std::string err;
  const Stats s = exercise_fleet("127.30.0.0/24", "1.1", &err);
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(value(s, "exercise_started"), 20u) << dump(s);
  EXPECT_EQ(value(s, "exercise_completed"), 20u) << dump(s);
  EXPECT_EQ(value(s, "exercise_skipped"), 0u);
  EXPECT_EQ(value(s, "exercise_abandoned"), 0u);
  for (size_t i = 0; i < kExerciseStepCount; ++i) {
    const std::string name(to_string(static_cast<ExerciseStep>(i)));
    EXPECT_EQ(value(s, "exercise_" + name + "_unexpected"), 0u) << name;
    EXPECT_EQ(value(s, "exercise_" + name + "_ok"), 20u) << name;
  }
  EXPECT_GT(value(s, "notifications"), 0u);
  EXPECT_NE(value(s, "notifications"), UINT64_MAX);
  EXPECT_EQ(value(s, "observations_cancelled"), 40u);
  EXPECT_EQ(err.find("exercise: "), std::string::npos) << err;
}

TEST(Exercise, Lwm2m10ClientsSkipTheCompositeSteps) {
  std::string err;
  const Stats s = exercise_fleet("127.30.1.0/24", "1.0", &err);
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(value(s, "exercise_started"), 20u) << dump(s);
  EXPECT_EQ(value(s, "exercise_completed"), 20u) << dump(s);
  EXPECT_EQ(value(s, "exercise_skipped"), 60u);
  for (size_t i = 0; i < kExerciseStepCount; ++i) {
    const auto step = static_cast<ExerciseStep>(i);
    const std::string name(to_string(step));
    EXPECT_EQ(value(s, "exercise_" + name + "_unexpected"), 0u) << name;
    EXPECT_EQ(value(s, "exercise_" + name + "_ok"), is_composite(step) ? 0u : 20u) << name;
  }
  EXPECT_GT(value(s, "notifications"), 0u);
  EXPECT_NE(value(s, "notifications"), UINT64_MAX);
  EXPECT_EQ(value(s, "observations_cancelled"), 20u);
  EXPECT_EQ(err.find("exercise: "), std::string::npos) << err;
}

}  // namespace
}  // namespace lwm2msim
