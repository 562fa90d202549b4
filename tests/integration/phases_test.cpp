// A fleet following a timeline of phases against the built-in server in another process: the
// registered count follows ramps up and down, groups keep their own settings, churn cycles
// registrations, the open model drops what it cannot place, and the stop phase ends the run.
#include <gtest/gtest.h>

#include "sim/fleet/fleet.h"
#include "tests/integration/process.h"

namespace lwm2msim {
namespace {

using std::chrono::seconds;
using testing::eventually;
using testing::query_server_stats;
using testing::ServerProcess;

uint64_t registered(const Fleet& f) {
  const FleetSnapshot s = f.snapshot();
  return static_cast<uint64_t>(s.states[static_cast<size_t>(ClientState::kRegistered)] +
                               s.states[static_cast<size_t>(ClientState::kUpdating)]);
}

uint64_t server_stat(const Endpoint4& server, const std::string& key) {
  const auto stats = query_server_stats(server);
  auto it = stats.find(key);
  return it == stats.end() ? UINT64_MAX : it->second;
}

PhaseSpec phase(PhaseType type, TimeUs duration,
                std::vector<std::pair<uint64_t, uint64_t>> devices) {
  PhaseSpec p;
  p.type = type;
  p.duration = duration;
  p.devices = std::move(devices);
  return p;
}

FleetConfig base(const Endpoint4& server, const std::string& local) {
  FleetConfig c;
  c.threads = 2;
  c.seed = 3;
  EXPECT_EQ(AddressPlan::parse(local, &c.local_addrs), "");
  EXPECT_EQ(EndpointPattern::parse("ph-%05d", &c.client.endpoint_pattern), "");
  c.client.server = server;
  c.stop_timeout = 10 * kUsPerSec;
  return c;
}

TEST(Phases, RampUpHoldRampDownThenStop) {
  ServerProcess server;
  FleetConfig c = base(server.address(), "127.31.0.0/24");
  c.clients = 200;
  PhaseSpec up = phase(PhaseType::kRamp, 500 * kUsPerMs, {{0, 200}});
  up.to = 200;
  PhaseSpec down = phase(PhaseType::kRamp, 500 * kUsPerMs, {{0, 200}});
  down.from = 200;
  down.to = 50;
  c.phases = {up, phase(PhaseType::kHold, 2 * kUsPerSec, {{0, 200}}), down,
              phase(PhaseType::kHold, 60 * kUsPerSec, {{0, 200}}),
              phase(PhaseType::kStop, 0, {{0, 200}})};
  Fleet fleet(c);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  ASSERT_TRUE(eventually([&] { return registered(fleet) == 200; }, seconds(10)));
  // After the down ramp 50 stay registered and 150 are idle (de-registered, not stopped).
  ASSERT_TRUE(eventually(
      [&] {
        const FleetSnapshot s = fleet.snapshot();
        return registered(fleet) == 50 && s.states[static_cast<size_t>(ClientState::kIdle)] == 150;
      },
      seconds(10)));
  EXPECT_TRUE(
      eventually([&] { return server_stat(server.address(), "registered") == 50; }, seconds(5)));
  EXPECT_EQ(fleet.snapshot().deregister_ok, 150u);
  fleet.stop();
  ASSERT_TRUE(eventually([&] { return fleet.stopped(); }, seconds(15)));
  fleet.join();
  EXPECT_EQ(server_stat(server.address(), "registered"), 0u);
}

TEST(Phases, GroupsKeepTheirOwnSettings) {
  ServerProcess server;
  FleetConfig c = base(server.address(), "127.32.0.0/24");
  FleetGroup meters;
  meters.name = "meters";
  meters.count = 30;
  ASSERT_EQ(EndpointPattern::parse("meter-%03d", &meters.client.endpoint_pattern), "");
  meters.client.lifetime_s = 100;
  FleetGroup lights;
  lights.name = "lights";
  lights.count = 20;
  ASSERT_EQ(EndpointPattern::parse("light-%03d", &lights.client.endpoint_pattern), "");
  lights.client.lifetime_s = 2;  // Updates every 1.8 s
  lights.client.version = Lwm2mVersion::k1_0;
  c.groups = {meters, lights};
  PhaseSpec up = phase(PhaseType::kRamp, 0, {{0, 50}});
  up.to = 50;
  c.phases = {up, phase(PhaseType::kHold, 60 * kUsPerSec, {{0, 50}})};
  Fleet fleet(c);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  ASSERT_TRUE(eventually([&] { return registered(fleet) == 50; }, seconds(10)));
  // Only the lights update within a few seconds.
  ASSERT_TRUE(eventually([&] { return fleet.snapshot().update_ok >= 40; }, seconds(10)));
  EXPECT_EQ(fleet.snapshot().update_ok % 20, 0u);
  fleet.stop();
  ASSERT_TRUE(eventually([&] { return fleet.stopped(); }, seconds(15)));
  fleet.join();
}

TEST(Phases, ChurnCyclesRegistrationsAndArrivalsBeyondTheFleetAreDropped) {
  ServerProcess server;
  FleetConfig c = base(server.address(), "127.33.0.0/24");
  c.clients = 100;
  // 50 arrivals per second for 3 s into 100 devices: 100 start, 50 are dropped.
  PhaseSpec arrivals = phase(PhaseType::kArrivalRate, 3 * kUsPerSec, {{0, 100}});
  arrivals.rate = 50;
  PhaseSpec churn = phase(PhaseType::kChurn, 60 * kUsPerSec, {{0, 100}});
  churn.churn_per_minute = 1.0;  // about 100 cycles a minute
  c.phases = {arrivals, churn};
  Fleet fleet(c);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  ASSERT_TRUE(eventually([&] { return fleet.snapshot().dropped_arrivals == 50; }, seconds(10)));
  EXPECT_EQ(fleet.snapshot().register_ok, 100u);
  ASSERT_TRUE(eventually([&] { return fleet.snapshot().churned >= 5; }, seconds(15)));
  ASSERT_TRUE(eventually([&] { return fleet.snapshot().register_ok >= 105; }, seconds(10)));
  EXPECT_GE(fleet.snapshot().deregister_ok, 5u);
  fleet.stop();
  ASSERT_TRUE(eventually([&] { return fleet.stopped(); }, seconds(15)));
  fleet.join();
}

}  // namespace
}  // namespace lwm2msim
