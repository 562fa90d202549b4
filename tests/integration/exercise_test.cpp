// The built-in server's exercise walk against a fleet of the lwm2m-sim binary: every LwM2M
// server-to-client operation must get the answer the TS requires.
#include "sim/server/exercise.h"

#include <gtest/gtest.h>

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
  eventually(
      [&] {
        return value(testing::query_server_stats(server.address()), "exercise_completed") == 20;
      },
      seconds(30));
  const Stats stats = testing::query_server_stats(server.address());
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
