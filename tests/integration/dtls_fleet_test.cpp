// A fleet over coaps (DTLS 1.2, PSK) against the built-in server in this process, on loopback:
// handshakes, close_notify, failures by reason, resumption, and the bootstrap flow.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "sim/fleet/fleet.h"
#include "sim/server/server.h"
#include "tests/integration/process.h"
#include "tests/support/certs.h"
#include "tests/support/udp_socket.h"

namespace lwm2msim {
namespace {

using std::chrono::seconds;
using testing::eventually;

std::shared_ptr<const DtlsContext> client_context() {
  DtlsConfig c;
  c.role = DtlsRole::kClient;
  c.retransmit_initial = 200 * kUsPerMs;
  c.handshake_timeout = 5 * kUsPerSec;
  std::string error;
  auto ctx = DtlsContext::create(c, &error);
  EXPECT_NE(ctx, nullptr) << error;
  return ctx;
}

// A server context whose keys are derived from `seed` (as every device's is).
std::shared_ptr<const DtlsContext> server_context(const std::string& seed) {
  DtlsConfig c;
  c.role = DtlsRole::kServer;
  c.psk_lookup = [seed](std::string_view identity) -> std::optional<std::vector<uint8_t>> {
    return derive_psk(seed, identity);
  };
  std::string error;
  auto ctx = DtlsContext::create(c, &error);
  EXPECT_NE(ctx, nullptr) << error;
  return ctx;
}

// With `bootstrap`, a bootstrap server that provisions `server_uri`, keys derived from `provision`.
std::unique_ptr<Lwm2mServer> start_server(std::shared_ptr<const DtlsContext> dtls,
                                          bool bootstrap = false, std::string provision = {},
                                          std::string server_uri = {}) {
  ServerConfig c;
  c.listen = Endpoint4{0x7f000001, 0};
  c.dtls = std::move(dtls);
  c.bootstrap = bootstrap;
  c.bootstrap_config.psk_seed = std::move(provision);
  c.bootstrap_config.server_uri = std::move(server_uri);
  auto server = std::make_unique<Lwm2mServer>(c);
  EXPECT_EQ(server->start(), "");
  return server;
}

FleetConfig make_config(uint64_t clients, const Endpoint4& server, const std::string& local,
                        const std::string& seed) {
  FleetConfig c;
  c.clients = clients;
  c.rate = 2000;
  c.threads = 2;
  c.seed = 5;
  EXPECT_EQ(AddressPlan::parse(local, &c.local_addrs), "");
  EXPECT_EQ(EndpointPattern::parse("sec-%05d", &c.client.endpoint_pattern), "");
  c.client.server = server;
  c.client.lifetime_s = 60;
  c.client.coap.ack_timeout = 500 * kUsPerMs;
  c.client.backoff_base = 200 * kUsPerMs;
  c.client.backoff_max = kUsPerSec;
  c.stop_timeout = 10 * kUsPerSec;
  c.dtls = client_context();
  c.server_secure = true;
  c.psk.seed = seed;
  return c;
}

uint64_t registered(const Fleet& f) {
  const FleetSnapshot s = f.snapshot();
  return static_cast<uint64_t>(s.states[static_cast<size_t>(ClientState::kRegistered)] +
                               s.states[static_cast<size_t>(ClientState::kUpdating)]);
}

void stop_and_join(Fleet& fleet) {
  fleet.stop();
  ASSERT_TRUE(eventually([&] { return fleet.stopped(); }, seconds(20)));
  fleet.join();
}

TEST(DtlsFleet, PskClientsRegisterOverCoapsAndCloseCleanly) {
  auto server = start_server(server_context("fleet-seed"));
  Fleet fleet(make_config(300, server->address(), "127.40.0.0/24", "fleet-seed"));
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  ASSERT_TRUE(eventually([&] { return registered(fleet) == 300; }, seconds(30)));
  ASSERT_TRUE(eventually([&] { return server->registered() == 300; }, seconds(5)));
  FleetSnapshot s = fleet.snapshot();
  EXPECT_EQ(s.dtls_handshakes, 300u);
  EXPECT_EQ(s.dtls_established, 300);
  EXPECT_EQ(s.dtls_handshake_time.count(), 300u);
  EXPECT_EQ(s.register_failed, 0u);
  EXPECT_EQ(s.link_failed, 0u);
  EXPECT_EQ(server->snapshot().dtls_handshakes, 300u);

  stop_and_join(fleet);
  s = fleet.snapshot();
  EXPECT_EQ(s.deregister_ok, 300u);
  // Every De-register ends with close_notify, and the server saw each one.
  EXPECT_EQ(s.dtls_closes, 300u);
  EXPECT_EQ(s.dtls_established, 0);
  EXPECT_TRUE(eventually([&] { return server->snapshot().dtls_closed == 300; }, seconds(5)));
  EXPECT_EQ(server->registered(), 0u);
  server->stop();
}

TEST(DtlsFleet, WrongKeysFailTheHandshakeByReasonAndNothingRegisters) {
  auto server = start_server(server_context("the-server-seed"));
  FleetConfig config = make_config(20, server->address(), "127.41.0.0/24", "another-seed");
  config.stop_timeout = 2 * kUsPerSec;
  Fleet fleet(config);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  ASSERT_TRUE(eventually([&] { return fleet.snapshot().link_failed >= 40; }, seconds(30)));
  const FleetSnapshot s = fleet.snapshot();
  EXPECT_EQ(s.register_ok, 0u);
  EXPECT_EQ(s.dtls_handshakes, 0u);
  uint64_t failed = 0;
  for (uint64_t n : s.dtls_failed) {
    failed += n;
  }
  EXPECT_GE(failed, 40u);
  // The server's Finished check fails: it alerts, so the clients see why, not a timeout.
  EXPECT_EQ(s.dtls_failed[static_cast<size_t>(DtlsFailure::kTimeout)], 0u);
  EXPECT_GE(s.backoffs, 40u);
  EXPECT_EQ(server->registered(), 0u);
  EXPECT_GE(server->snapshot().dtls_failed, 40u);
  stop_and_join(fleet);
  server->stop();
}

TEST(DtlsFleet, ChurnResumesSessionsWithAbbreviatedHandshakes) {
  auto server = start_server(server_context("churn-seed"));
  FleetConfig config = make_config(200, server->address(), "127.42.0.0/24", "churn-seed");
  PhaseSpec ramp;
  ramp.type = PhaseType::kRamp;
  ramp.to = 200;
  ramp.duration = kUsPerSec;
  PhaseSpec churn;
  churn.type = PhaseType::kChurn;
  churn.churn_per_minute = 12.0;  // a fifth of the devices a second
  // About 240 cycles once all are registered; the margin over the 100 awaited below covers a
  // slow ramp (handshakes under a sanitizer or on a busy machine).
  churn.duration = 6 * kUsPerSec;
  PhaseSpec hold;
  hold.type = PhaseType::kHold;
  hold.duration = 60 * kUsPerSec;
  for (PhaseSpec* p : {&ramp, &churn, &hold}) {
    p->devices = {{0, 200}};
  }
  config.phases = {ramp, churn, hold};
  Fleet fleet(config);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  ASSERT_TRUE(eventually(
      [&] { return fleet.snapshot().churned >= 100 && fleet.snapshot().dtls_resumed >= 50; },
      seconds(30)))
      << "churned " << fleet.snapshot().churned << ", resumed " << fleet.snapshot().dtls_resumed
      << ", handshakes " << fleet.snapshot().dtls_handshakes << ", server resumed "
      << server->snapshot().dtls_resumed;
  ASSERT_TRUE(eventually([&] { return registered(fleet) == 200; }, seconds(20)));
  const FleetSnapshot s = fleet.snapshot();
  EXPECT_EQ(s.register_failed, 0u);
  EXPECT_GE(s.dtls_closes, 50u);
  EXPECT_GE(server->snapshot().dtls_resumed, 50u);
  stop_and_join(fleet);
  server->stop();
}

TEST(DtlsFleet, QueueModeDevicesResumeTheirSessionWhenTheyWake) {
  auto server = start_server(server_context("sleepy-seed"));
  FleetConfig config = make_config(50, server->address(), "127.45.0.0/24", "sleepy-seed");
  FleetGroup g;
  g.name = "sleepy";
  g.count = 50;
  g.client = config.client;
  g.client.binding = "U";
  g.queue_sleep = kUsPerSec;
  g.queue_awake = 300 * kUsPerMs;
  g.psk = config.psk;
  config.groups = {g};
  Fleet fleet(config);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  // Each wake-up Update follows an abbreviated handshake: the NAT binding is gone by then.
  ASSERT_TRUE(eventually([&] { return fleet.snapshot().update_ok >= 100; }, seconds(30)));
  stop_and_join(fleet);
  const FleetSnapshot s = fleet.snapshot();
  EXPECT_GE(s.dtls_resumed, 100u);
  EXPECT_EQ(s.update_failed, 0u);
  // One full handshake per device, every later one resumed.
  EXPECT_EQ(s.dtls_handshakes, 50 + s.dtls_resumed);
  server->stop();
}

TEST(DtlsFleet, CertificatesFromFilesAuthenticateBothWays) {
  // A CA, a server and a device certificate, made for this run.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("lwm2msim-certs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const testing::TestCertificates certs = testing::make_test_certificates(dir.string());
  DtlsConfig sc;
  sc.role = DtlsRole::kServer;
  sc.certificate_file = certs.server_cert_file;
  sc.private_key_file = certs.server_key_file;
  sc.ca_file = certs.ca_file;  // devices must present a certificate of this CA
  std::string error;
  auto server_ctx = DtlsContext::create(sc, &error);
  ASSERT_NE(server_ctx, nullptr) << error;
  auto server = start_server(server_ctx);
  const auto fleet_with = [&](const std::string& cert, const std::string& key,
                              const std::string& local) {
    FleetConfig c = make_config(20, server->address(), local, "");
    c.psk = PskPlan{};
    DtlsConfig cc;
    cc.role = DtlsRole::kClient;
    cc.certificate_file = cert;
    cc.private_key_file = key;
    cc.ca_file = certs.ca_file;
    cc.handshake_timeout = 5 * kUsPerSec;
    c.dtls = DtlsContext::create(cc, &error);
    EXPECT_NE(c.dtls, nullptr) << error;
    c.stop_timeout = 3 * kUsPerSec;
    return c;
  };
  {
    Fleet fleet(fleet_with(certs.client_cert_file, certs.client_key_file, "127.46.0.0/24"));
    ASSERT_EQ(fleet.prepare(), "");
    fleet.start();
    ASSERT_TRUE(eventually([&] { return registered(fleet) == 20; }, seconds(30)));
    EXPECT_EQ(fleet.snapshot().dtls_handshakes, 20u);
    stop_and_join(fleet);
  }
  {
    // A device certificate from another CA: the server refuses it.
    Fleet fleet(
        fleet_with(certs.other_client_cert_file, certs.other_client_key_file, "127.47.0.0/24"));
    ASSERT_EQ(fleet.prepare(), "");
    fleet.start();
    ASSERT_TRUE(eventually([&] { return fleet.snapshot().link_failed >= 20; }, seconds(30)));
    EXPECT_EQ(fleet.snapshot().register_ok, 0u);
    EXPECT_GE(server->snapshot().dtls_failed_by[static_cast<size_t>(DtlsFailure::kCertificate)],
              20u);
    stop_and_join(fleet);
  }
  server->stop();
  std::filesystem::remove_all(dir);
}

TEST(DtlsFleet, BootstrapProvisionsAPskAccountAndTheClientsRegisterWithIt) {
  // Devices hold a bootstrap key only; the bootstrap server writes each one an account for the
  // LwM2M server with its own key, which that server derives from the same provisioning seed.
  auto dm = start_server(server_context("provisioned"));
  auto bs = start_server(server_context("bootstrap-seed"), true, "provisioned",
                         "coaps://" + dm->address().to_string());
  FleetConfig config = make_config(100, dm->address(), "127.43.0.0/24", "bootstrap-seed");
  config.client.bootstrap = true;
  config.client.bootstrap_server = bs->address();
  config.bootstrap_secure = true;
  config.bootstrap_uri = "coaps://" + bs->address().to_string();
  Fleet fleet(config);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  ASSERT_TRUE(eventually([&] { return registered(fleet) == 100; }, seconds(30)));
  const FleetSnapshot s = fleet.snapshot();
  EXPECT_EQ(s.bootstrap_ok, 100u);
  EXPECT_EQ(s.bootstrap_failed, 0u);
  EXPECT_EQ(s.bootstrap_latency.count(), 100u);
  // One handshake with each server per device.
  EXPECT_EQ(s.dtls_handshakes, 200u);
  EXPECT_EQ(bs->snapshot().bootstrap_finished, 100u);
  EXPECT_EQ(bs->registered(), 0u);
  EXPECT_EQ(dm->registered(), 100u);
  EXPECT_EQ(dm->snapshot().dtls_handshakes, 100u);
  stop_and_join(fleet);
  EXPECT_EQ(fleet.snapshot().deregister_ok, 100u);
  bs->stop();
  dm->stop();
}

TEST(DtlsFleet, PlainBootstrapThenPlainServer) {
  auto dm = start_server(nullptr);
  auto bs = start_server(nullptr, true, "", "coap://" + dm->address().to_string());
  FleetConfig config = make_config(50, dm->address(), "127.44.0.0/24", "");
  config.dtls = nullptr;
  config.server_secure = false;
  config.psk = PskPlan{};
  config.client.bootstrap = true;
  config.client.bootstrap_server = bs->address();
  config.client.version = Lwm2mVersion::k1_0;  // Bootstrap-Read refused, the flow goes on
  Fleet fleet(config);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  ASSERT_TRUE(eventually([&] { return registered(fleet) == 50; }, seconds(30)));
  EXPECT_EQ(fleet.snapshot().bootstrap_ok, 50u);
  EXPECT_EQ(bs->snapshot().bootstrap_read_unsupported, 50u);
  EXPECT_EQ(dm->registered(), 50u);
  stop_and_join(fleet);
  // Each device's one Bootstrap-Request is accounted for, and none of them touches the LwM2M
  // server's outage tracking.
  const FleetSnapshot s = fleet.snapshot();
  const ExchangeTally& requests = s.exchanges[static_cast<size_t>(ExchangeKind::kBootstrapRequest)];
  EXPECT_EQ(requests.sent, 50u);
  EXPECT_EQ(requests.answered, 50u);
  EXPECT_EQ(requests.timed_out + requests.abandoned, 0u);
  EXPECT_EQ(s.outages.count, 0u);
  bs->stop();
  dm->stop();
}

TEST(DtlsFleet, UnansweredBootstrapRequestsTimeOutWithoutAServerOutage) {
  auto dm = start_server(nullptr);
  UdpSocket silent;  // a bootstrap server that never answers
  FleetConfig config = make_config(5, dm->address(), "127.45.0.0/24", "");
  config.dtls = nullptr;
  config.server_secure = false;
  config.psk = PskPlan{};
  config.client.bootstrap = true;
  config.client.bootstrap_server = silent.endpoint();
  config.client.coap.ack_timeout = 50 * kUsPerMs;
  config.client.coap.max_retransmit = 1;
  Fleet fleet(config);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  const auto timed_out = [&] {
    return fleet.snapshot()
        .exchanges[static_cast<size_t>(ExchangeKind::kBootstrapRequest)]
        .timed_out;
  };
  ASSERT_TRUE(eventually([&] { return timed_out() >= 5; }, seconds(10)));
  stop_and_join(fleet);
  const FleetSnapshot s = fleet.snapshot();
  const ExchangeTally& requests = s.exchanges[static_cast<size_t>(ExchangeKind::kBootstrapRequest)];
  EXPECT_GE(requests.sent, 5u);
  EXPECT_EQ(requests.sent, requests.answered + requests.timed_out + requests.abandoned);
  EXPECT_EQ(requests.answered, 0u);
  EXPECT_EQ(s.outages.count, 0u);
  EXPECT_EQ(dm->registered(), 0u);
  dm->stop();
}

}  // namespace
}  // namespace lwm2msim
