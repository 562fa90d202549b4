// A fleet in this process against the built-in server in another process, on loopback.
#include "sim/fleet/fleet.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "tests/integration/process.h"

namespace lwm2msim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::eventually;
using testing::query_server_stats;
using testing::ServerProcess;

FleetConfig make_config(uint64_t clients, const Endpoint4& server, const std::string& local) {
  FleetConfig c;
  c.clients = clients;
  c.rate = 5000;
  c.threads = 2;
  c.seed = 7;
  EXPECT_EQ(AddressPlan::parse(local, &c.local_addrs), "");
  EXPECT_EQ(EndpointPattern::parse("it-%06d", &c.client.endpoint_pattern), "");
  c.client.server = server;
  c.client.lifetime_s = 60;
  c.stop_timeout = 10 * kUsPerSec;
  return c;
}

uint64_t registered(const Fleet& f) {
  const FleetSnapshot s = f.snapshot();
  return static_cast<uint64_t>(s.states[static_cast<size_t>(ClientState::kRegistered)] +
                               s.states[static_cast<size_t>(ClientState::kUpdating)]);
}

uint64_t server_registered(const Endpoint4& server) {
  const auto stats = query_server_stats(server);
  auto it = stats.find("registered");
  return it == stats.end() ? UINT64_MAX : it->second;
}

void stop_and_join(Fleet& fleet) {
  fleet.stop();
  ASSERT_TRUE(eventually([&] { return fleet.stopped(); }, seconds(20)));
  fleet.join();
}

TEST(FleetIntegration, ThousandClientsRegisterAndStoppingEmptiesTheDirectory) {
  ServerProcess server;
  Fleet fleet(make_config(1000, server.address(), "127.2.0.0/16"));
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  ASSERT_TRUE(eventually([&] { return registered(fleet) == 1000; }, seconds(20)));
  EXPECT_TRUE(eventually([&] { return server_registered(server.address()) == 1000; }, seconds(5)));
  const FleetSnapshot s = fleet.snapshot();
  EXPECT_EQ(s.register_ok, 1000u);
  EXPECT_EQ(s.register_failed, 0u);
  EXPECT_EQ(s.register_latency.count(), 1000u);

  stop_and_join(fleet);
  const FleetSnapshot end = fleet.snapshot();
  EXPECT_EQ(end.deregister_ok, 1000u);
  EXPECT_EQ(end.states[static_cast<size_t>(ClientState::kStopped)], 1000);
  EXPECT_EQ(server_registered(server.address()), 0u);
}

TEST(FleetIntegration, LifetimeDrivesUpdates) {
  ServerProcess server;
  FleetConfig config = make_config(200, server.address(), "127.3.0.0/24");
  config.client.lifetime_s = 2;  // Update every 1.8 s
  Fleet fleet(config);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  ASSERT_TRUE(eventually([&] { return fleet.snapshot().update_ok >= 400; }, seconds(15)));
  const auto stats = query_server_stats(server.address());
  EXPECT_GE(stats.at("updates"), 400u);
  EXPECT_EQ(stats.at("registered"), 200u);
  EXPECT_EQ(stats.at("expired"), 0u);
  EXPECT_EQ(fleet.snapshot().update_failed, 0u);
  stop_and_join(fleet);
}

TEST(FleetIntegration, UnreachableServerLeadsToBackoffNotAHang) {
  // Nobody listens on this port: datagrams vanish, exchanges time out.
  Endpoint4 nowhere{0x7f000001, 0};
  {
    ServerProcess probe;
    nowhere.port = probe.address().port;
  }
  FleetConfig config = make_config(50, nowhere, "127.5.0.0/24");
  config.client.coap.ack_timeout = 100 * kUsPerMs;
  config.client.coap.max_retransmit = 1;
  config.client.backoff_base = 100 * kUsPerMs;
  config.client.backoff_max = 400 * kUsPerMs;
  config.stop_timeout = 3 * kUsPerSec;
  Fleet fleet(config);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  ASSERT_TRUE(eventually([&] { return fleet.snapshot().register_failed >= 100; }, seconds(15)));
  const FleetSnapshot s = fleet.snapshot();
  EXPECT_EQ(s.register_ok, 0u);
  EXPECT_GE(s.backoffs, 100u);
  EXPECT_GT(s.timeouts, 0u);
  // Stop must still finish, within its bound.
  stop_and_join(fleet);
  EXPECT_EQ(fleet.snapshot().states[static_cast<size_t>(ClientState::kStopped)], 50);
}

TEST(FleetScale, ThirtyThousandClientsInOneProcessDespiteALowOpenFilesLimit) {
  ServerProcess server(0, {"--threads", "1"});
  // Were each client a socket, 1024 descriptors would stop the fleet at about a thousand.
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  rlimit low = saved;
  low.rlim_cur = std::min<rlim_t>(1024, saved.rlim_cur);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  FleetConfig config = make_config(30000, server.address(), "127.6.0.0/16");
  config.rate = 10000;
  Fleet fleet(config);
  const std::string prepared = fleet.prepare();
  setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_EQ(prepared, "");
  fleet.start();
  EXPECT_TRUE(eventually([&] { return registered(fleet) == 30000; }, seconds(60)));
  EXPECT_TRUE(
      eventually([&] { return server_registered(server.address()) == 30000; }, seconds(10)));
  EXPECT_EQ(fleet.snapshot().register_failed, 0u);
  stop_and_join(fleet);
  EXPECT_EQ(fleet.snapshot().deregister_ok, 30000u);
}

TEST(FleetScale, SocketPerClientReportsTheOpenFilesLimitBeforeStarting) {
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  FleetConfig config = make_config(saved.rlim_max + 10, Endpoint4{0x7f000001, 9}, "127.7.0.1");
  config.socket_per_client = true;
  Fleet fleet(config);
  const std::string error = fleet.prepare();
  EXPECT_NE(error.find("open-files limit"), std::string::npos) << error;
}

TEST(FleetIntegration, SocketPerClientModeRegisters) {
  ServerProcess server;
  FleetConfig config = make_config(100, server.address(), "127.0.0.1");
  config.socket_per_client = true;
  Fleet fleet(config);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  EXPECT_TRUE(eventually([&] { return registered(fleet) == 100; }, seconds(15)));
  EXPECT_EQ(server_registered(server.address()), 100u);
  stop_and_join(fleet);
  EXPECT_EQ(server_registered(server.address()), 0u);
}

}  // namespace
}  // namespace lwm2msim
