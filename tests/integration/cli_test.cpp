// The lwm2m-sim binary as a user runs it.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>

#include "tests/integration/process.h"

namespace lwm2msim {
namespace {

using std::chrono::seconds;
using testing::ChildProcess;

TEST(Cli, RunPrintsProgressAndSummaryAndExitsZero) {
  ChildProcess run({LWM2MSIM_BINARY, "run", "--clients", "200", "--rate", "1000", "--duration",
                    "2s", "--local-addrs", "127.8.0.0/24", "--server-read-rate", "100"});
  const auto code = run.wait(seconds(60));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << run.err();
  EXPECT_NE(run.err().find("registered 200/200"), std::string::npos) << run.err();
  EXPECT_NE(run.out().find("lwm2m-sim summary"), std::string::npos);
  EXPECT_NE(run.out().find("ok 200  failed 0"), std::string::npos) << run.out();
  EXPECT_NE(run.out().find("registration latency"), std::string::npos);
}

TEST(Cli, SigintDeregistersAndPrintsTheSummary) {
  ChildProcess run({LWM2MSIM_BINARY, "run", "--clients", "300", "--duration", "10m",
                    "--local-addrs", "127.9.0.0/24"});
  ASSERT_TRUE(run.wait_stderr("registered 300/300", seconds(30))) << run.err();
  run.signal(SIGINT);
  const auto code = run.wait(seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  EXPECT_NE(run.out().find("de-registrations       ok 300  failed 0"), std::string::npos)
      << run.out();
}

TEST(Cli, BadArgumentsGiveOneLineAndExitTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{LWM2MSIM_BINARY, "run", "--clients", "0"},
        std::vector<std::string>{LWM2MSIM_BINARY, "run", "--duration", "soon"},
        std::vector<std::string>{LWM2MSIM_BINARY, "run", "--local-addrs", "300.1.1.1/8"},
        std::vector<std::string>{LWM2MSIM_BINARY, "run", "--endpoint-pattern", "fixed-name"},
        std::vector<std::string>{LWM2MSIM_BINARY, "run", "--server", "http://x"},
        std::vector<std::string>{LWM2MSIM_BINARY, "server", "--listen", "nowhere"}}) {
    ChildProcess p(args);
    const auto code = p.wait(seconds(10));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 2) << args[2] << ": " << p.err();
    EXPECT_NE(p.err().find("lwm2m-sim: "), std::string::npos) << p.err();
    EXPECT_EQ(std::count(p.err().begin(), p.err().end(), '\n'), 1) << p.err();
  }
}

TEST(Cli, ServerAnswersItsStatsAndStopsOnSigterm) {
  testing::ServerProcess server;
  const auto stats = testing::query_server_stats(server.address());
  ASSERT_FALSE(stats.empty());
  EXPECT_EQ(stats.at("registered"), 0u);
  server.process().signal(SIGTERM);
  const auto code = server.process().wait(seconds(10));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace lwm2msim
