// The lwm2m-sim binary as a user runs it.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "tests/integration/process.h"

namespace lwm2msim {
namespace {

using std::chrono::seconds;
using testing::ChildProcess;

TEST(Cli, RunPrintsProgressAndSummaryAndExitsZero) {
  ChildProcess run({LWM2MSIM_BINARY, "run", "--clients", "200", "--rate", "1000", "--duration",
                    "2s", "--local-addrs", "127.8.0.0/24", "--server-read-rate", "100", "--metrics",
                    "off"});
  const auto code = run.wait(seconds(60));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << run.err();
  EXPECT_NE(run.err().find("registered 200/200"), std::string::npos) << run.err();
  EXPECT_NE(run.out().find("lwm2m-sim summary"), std::string::npos);
  EXPECT_NE(run.out().find("registrations           ok 200  failed 0"), std::string::npos)
      << run.out();
  EXPECT_NE(run.out().find("registration_latency"), std::string::npos);
}

TEST(Cli, SigintDeregistersAndPrintsTheSummary) {
  ChildProcess run({LWM2MSIM_BINARY, "run", "--clients", "300", "--duration", "10m",
                    "--local-addrs", "127.9.0.0/24", "--metrics", "off"});
  ASSERT_TRUE(run.wait_stderr("registered 300/300", seconds(30))) << run.err();
  run.signal(SIGINT);
  const auto code = run.wait(seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  EXPECT_NE(run.out().find("deregistrations         ok 300  failed 0"), std::string::npos)
      << run.out();
}

TEST(Cli, BadArgumentsGiveOneLineAndExitTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{LWM2MSIM_BINARY, "run", "--clients", "0"},
        std::vector<std::string>{LWM2MSIM_BINARY, "run", "--duration", "soon"},
        std::vector<std::string>{LWM2MSIM_BINARY, "run", "--local-addrs", "300.1.1.1/8"},
        std::vector<std::string>{LWM2MSIM_BINARY, "run", "--endpoint-pattern", "fixed-name"},
        std::vector<std::string>{LWM2MSIM_BINARY, "run", "--server", "http://x"},
        std::vector<std::string>{LWM2MSIM_BINARY, "server", "--listen", "nowhere"},
        std::vector<std::string>{LWM2MSIM_BINARY, "run", "--threshold", "latency < 5"},
        std::vector<std::string>{LWM2MSIM_BINARY, "run", "--metrics", "everywhere"}}) {
    ChildProcess p(args);
    const auto code = p.wait(seconds(10));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 2) << args[2] << ": " << p.err();
    EXPECT_NE(p.err().find("lwm2m-sim: "), std::string::npos) << p.err();
    EXPECT_EQ(std::count(p.err().begin(), p.err().end(), '\n'), 1) << p.err();
  }
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

TEST(Cli, ThresholdsDecideTheExitCodeAndFillTheReports) {
  const std::string dir = ::testing::TempDir();
  const std::string json = dir + "/lwm2m-sim-report.json";
  const std::string junit = dir + "/lwm2m-sim-junit.xml";
  ChildProcess run({LWM2MSIM_BINARY, "run",
                    "--clients",     "100",
                    "--duration",    "1s",
                    "--local-addrs", "127.12.0.0/24",
                    "--metrics",     "off",
                    "--seed",        "5",
                    "--threshold",   "registrations.ok == 100",
                    "--threshold",   "errors.rate < 1%",
                    "--threshold",   "sends.sent > 1000000",
                    "--report",      json,
                    "--junit",       junit});
  const auto code = run.wait(seconds(60));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 99) << run.err();
  EXPECT_NE(run.out().find("ok   registrations.ok == 100"), std::string::npos) << run.out();
  EXPECT_NE(run.out().find("FAIL sends.sent > 1000000"), std::string::npos) << run.out();
  const std::string report = read_file(json);
  EXPECT_NE(report.find("\"passed\": false"), std::string::npos) << report;
  EXPECT_NE(report.find("\"registration_latency\""), std::string::npos);
  EXPECT_NE(report.find("\"seed\": 5"), std::string::npos);
  EXPECT_NE(report.find("\"cpus\""), std::string::npos);
  const std::string xml = read_file(junit);
  EXPECT_NE(xml.find("tests=\"3\" failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"sends.sent &gt; 1000000 failed: actual 0\"/>"),
            std::string::npos)
      << xml;
  std::remove(json.c_str());
  std::remove(junit.c_str());
}

TEST(Cli, AbortOnFailEndsTheRunEarly) {
  ChildProcess run({LWM2MSIM_BINARY, "run", "--clients", "50", "--duration", "10m", "--local-addrs",
                    "127.13.0.0/24", "--metrics", "off", "--threshold-abort",
                    "registrations.ok < 10"});
  const auto code = run.wait(seconds(60));
  ASSERT_TRUE(code.has_value()) << "the failing threshold should have stopped the 10-minute run";
  EXPECT_EQ(*code, 99);
  EXPECT_NE(run.err().find("threshold 'registrations.ok < 10' failed, aborting"), std::string::npos)
      << run.err();
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
