// Scenario files run by the lwm2m-sim binary as a user runs them: the shipped ones at reduced
// scale against the built-in server, and small ones written here for faults, thresholds and
// validation errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/process.h"

namespace lwm2msim {
namespace {

using std::chrono::seconds;
using testing::ChildProcess;

const std::string kDir = LWM2MSIM_SCENARIOS_DIR;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

Outcome run(std::vector<std::string> args) {
  args.insert(args.begin(), LWM2MSIM_BINARY);
  ChildProcess p(std::move(args));
  const auto code = p.wait(seconds(120));
  return {code.value_or(-1), p.out(), p.err()};
}

// The number after `field` on the summary line of `metric`, e.g. ("faults", "outage_drops").
long long summary_value(const std::string& out, const std::string& metric,
                        const std::string& field) {
  const size_t line = out.find("\n  " + metric + " ");
  if (line == std::string::npos) {
    return -1;
  }
  const size_t end = out.find('\n', line + 1);
  const size_t at = out.find(" " + field + " ", line);
  if (at == std::string::npos || at > end) {
    return -1;
  }
  return std::stoll(out.substr(at + field.size() + 2));
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ScenarioRun, SmokeRunsAndPassesItsThresholds) {
  const Outcome o = run(
      {"run", kDir + "/smoke.yaml", "--scale", "0.05", "--time-scale", "0.1", "--metrics", "off"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_EQ(summary_value(o.out, "registrations", "ok"), 50) << o.out;
}

TEST(ScenarioRun, RegistrationStormTakesEveryDeviceDownAndBack) {
  const Outcome o = run({"run", kDir + "/registration-storm.yaml", "--scale", "0.02",
                         "--time-scale", "0.1", "--metrics", "off"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_EQ(summary_value(o.out, "faults", "outage_drops"), 100) << o.out;
  // Every device registered twice: before the outage and after it.
  EXPECT_EQ(summary_value(o.out, "registrations", "ok"), 200) << o.out;
}

TEST(ScenarioRun, SteadyTelemetrySends) {
  const Outcome o = run({"run", kDir + "/steady-telemetry.yaml", "--scale", "0.01", "--time-scale",
                         "0.1", "--metrics", "off"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_GT(summary_value(o.out, "sends", "ok"), 0) << o.out;
  EXPECT_EQ(summary_value(o.out, "sends", "failed"), 0) << o.out;
}

TEST(ScenarioRun, ObserveFloodSetsAttributesThenObserves) {
  const Outcome o = run({"run", kDir + "/observe-flood.yaml", "--scale", "0.01", "--time-scale",
                         "0.1", "--metrics", "off"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_GT(summary_value(o.out, "observations", "established"), 0) << o.out;
  EXPECT_GT(summary_value(o.out, "notifications", "sent"), 0) << o.out;
}

TEST(ScenarioRun, ChurnCyclesRegistrations) {
  const Outcome o = run(
      {"run", kDir + "/churn.yaml", "--scale", "0.05", "--time-scale", "0.1", "--metrics", "off"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_GT(summary_value(o.out, "phases", "churned"), 0) << o.out;
}

TEST(ScenarioRun, FlakyCellularRebindsNatsAndTheRunCompletes) {
  const Outcome o = run({"run", kDir + "/flaky-cellular.yaml", "--scale", "0.05", "--time-scale",
                         "0.1", "--metrics", "off"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_GT(summary_value(o.out, "retransmissions", "count"), 0) << o.out;
  // Reads sent to an address the NAT had given up never reach the device.
  EXPECT_GT(summary_value(o.out, "faults", "nat_drops"), 0) << o.out;
}

TEST(ScenarioRun, SleepyDevicesHaveTheirReadsQueuedUntilTheyWake) {
  const Outcome o = run({"run", kDir + "/sleepy-devices.yaml", "--scale", "0.02", "--time-scale",
                         "0.1", "--metrics", "off"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_GT(summary_value(o.out, "server_queue", "queued"), 0) << o.out;
  EXPECT_GT(summary_value(o.out, "server_queue", "flushed"), 0) << o.out;
  EXPECT_GT(summary_value(o.out, "server_queue", "wakeups"), 0) << o.out;
}

TEST(ScenarioRun, FirmwareCampaignUpdatesTheLights) {
  const Outcome o = run({"run", kDir + "/firmware-campaign.yaml", "--scale", "0.03", "--time-scale",
                         "0.1", "--metrics", "off"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  const long long updated = summary_value(o.out, "firmware", "updated");
  EXPECT_GT(updated, 0) << o.out;
  // 64 blocks of 1 KiB per package.
  EXPECT_GE(summary_value(o.out, "firmware", "blocks"), 64 * updated) << o.out;
  EXPECT_GT(summary_value(o.out, "server_firmware", "succeeded"), 0) << o.out;
}

TEST(ScenarioRun, ServerRestartMakesEveryDeviceRegisterAgain) {
  const Outcome o = run({"run", kDir + "/server-restart.yaml", "--scale", "0.02", "--time-scale",
                         "0.1", "--metrics", "off"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_EQ(summary_value(o.out, "builtin_server", "outage_forgotten"), 100) << o.out;
  EXPECT_GT(summary_value(o.out, "builtin_server", "outage_drops"), 0) << o.out;
  EXPECT_GT(summary_value(o.out, "updates", "not_found"), 0) << o.out;
  // Every meter registered before the outage and again after it.
  EXPECT_GE(summary_value(o.out, "registrations", "ok"), 200) << o.out;
}

TEST(ScenarioRun, LossMakesRetransmissionsAndTheRunStillCompletes) {
  const std::string path = write_temp("lossy.yaml", R"(name: lossy
groups:
  - name: sensors
    profile: )" + kDir + R"(/../profiles/temperature-sensor.yaml
    count: 200
phases:
  - {ramp: {to: 200, over: 1s}}
  - {hold: 4s}
  - stop
faults:
  - loss: 20%
    latency: {distribution: uniform, min: 5ms, max: 20ms}
thresholds:
  - "registrations.ok >= 190"
)");
  const Outcome o = run({"run", path, "--metrics", "off", "--ack-timeout", "300ms"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_GT(summary_value(o.out, "retransmissions", "count"), 0) << o.out;
  EXPECT_GT(summary_value(o.out, "faults", "dropped_up"), 0) << o.out;
  EXPECT_GT(summary_value(o.out, "faults", "dropped_down"), 0) << o.out;
  EXPECT_GT(summary_value(o.out, "faults", "delayed"), 0) << o.out;
  std::remove(path.c_str());
}

TEST(ScenarioRun, AFailingThresholdExits99AndBadFilesExit2) {
  const std::string path = write_temp("strict.yaml", R"(name: strict
groups:
  - name: sensors
    profile: )" + kDir + R"(/../profiles/temperature-sensor.yaml
    count: 10
phases:
  - {ramp: {to: 10, over: 0.5s}}
  - stop
thresholds:
  - "registrations.ok > 1000"
)");
  const Outcome failed = run({"run", path, "--metrics", "off"});
  EXPECT_EQ(failed.code, 99) << failed.out << failed.err;
  EXPECT_NE(failed.out.find("FAIL registrations.ok > 1000"), std::string::npos) << failed.out;

  const std::string broken = write_temp("broken.yaml", "name: broken\ngroups: 3\nphasez: []\n");
  const Outcome bad = run({"run", broken, "--metrics", "off"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("broken.yaml:3:1: phasez: unknown key"), std::string::npos) << bad.err;
  const Outcome validated = run({"validate", broken});
  EXPECT_EQ(validated.code, 2);
  EXPECT_NE(validated.err.find("broken.yaml:2:"), std::string::npos) << validated.err;

  // Several files: an ok line for each good one, the problems of the others, exit 2 for any.
  const Outcome several = run({"validate", path, broken, kDir + "/smoke.yaml"});
  EXPECT_EQ(several.code, 2);
  EXPECT_NE(several.out.find(path + ": ok (1 group, 10 devices"), std::string::npos) << several.out;
  EXPECT_NE(several.out.find("/smoke.yaml: ok ("), std::string::npos) << several.out;
  EXPECT_EQ(several.out.find("broken.yaml"), std::string::npos) << several.out;
  EXPECT_NE(several.err.find("broken.yaml:3:1: phasez: unknown key"), std::string::npos)
      << several.err;
  const Outcome good = run({"validate", path, kDir + "/smoke.yaml"});
  EXPECT_EQ(good.code, 0) << good.err;
  std::remove(path.c_str());
  std::remove(broken.c_str());
}

}  // namespace
}  // namespace lwm2msim
