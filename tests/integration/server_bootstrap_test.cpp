// The built-in server as a bootstrap server (LwM2M TS 1.1 section 6.1): a hand-driven client
// sends the Bootstrap-Request and answers each step, checking the requests the server makes.
#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/dtls/dtls.h"
#include "sim/format/format.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/model/object_definition.h"
#include "sim/server/bootstrap.h"
#include "sim/server/credentials.h"
#include "sim/server/exercise.h"
#include "sim/server/server.h"
#include "tests/integration/process.h"
#include "tests/support/dtls_socket.h"

namespace lwm2msim {
namespace {

using std::chrono::milliseconds;
using testing::CoapTestClient;
using testing::DtlsLink;
using testing::eventually;
using testing::Received;
using testing::ReceivedPtr;
using testing::TestLink;
using testing::UdpLink;

constexpr std::string_view kSeed = "bootstrap-test-seed";
constexpr std::string_view kServerUri = "coaps://127.0.0.1:5684";

ServerConfig bootstrap_config(std::string_view server_uri = kServerUri) {
  ServerConfig c;
  c.listen = Endpoint4{0x7f000001, 0};
  c.bootstrap = true;
  c.bootstrap_config.server_uri = std::string(server_uri);
  c.bootstrap_config.psk_seed = std::string(kSeed);
  c.bootstrap_config.lifetime = 120;
  return c;
}

// POST /bs?ep=NAME
CoapTestClient::Builder bootstrap_request(std::string endpoint) {
  return [endpoint](std::span<uint8_t> out, uint16_t mid, const CoapToken& t) {
    CoapWriter w(out);
    w.header(CoapType::kCon, CoapCode::kPost, mid, t.view())
        .option(CoapOption::kUriPath, "bs")
        .option(CoapOption::kUriQuery, "ep=" + endpoint);
    return w.finish();
  };
}

std::map<uint32_t, Value> decode_instance(const Received& r, const Lwm2mPath& base) {
  static const ObjectRegistry registry = ObjectRegistry::builtin();
  std::vector<Record> records;
  const CodecResult result = decode_tlv(registry_context(registry, base), r.m.payload(), &records);
  EXPECT_TRUE(result.ok()) << result.reason;
  std::map<uint32_t, Value> by_resource;
  for (const Record& rec : records) {
    EXPECT_EQ(rec.path.object, base.object);
    EXPECT_EQ(rec.path.instance, base.instance);
    by_resource[rec.path.resource] = rec.value;
  }
  return by_resource;
}

std::vector<uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

// Takes the next request and checks its method, path and Accept (-1: none).
ReceivedPtr expect_request(CoapTestClient& client, uint8_t method, const std::string& path,
                           int64_t accept) {
  ReceivedPtr r = client.next_request();
  EXPECT_NE(r, nullptr) << "no request for " << path;
  if (r == nullptr) {
    return nullptr;
  }
  EXPECT_EQ(r->m.type(), CoapType::kCon);
  EXPECT_EQ(r->m.code(), method) << path;
  EXPECT_EQ(r->path(), path);
  EXPECT_EQ(r->option(CoapOption::kAccept), accept) << path;
  return r;
}

// Answers every step as a conforming LwM2M 1.1 client would, checking each request; `read_code`
// answers the Bootstrap-Read.
void run_flow(CoapTestClient& client, const std::string& endpoint, std::string_view server_uri,
              uint8_t read_code = CoapCode::kContent, int64_t lifetime = 120) {
  ReceivedPtr ack = client.exchange(bootstrap_request(endpoint));
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(ack->m.code(), CoapCode::kChanged);

  ReceivedPtr discover = expect_request(client, CoapCode::kGet, "", CoapContentFormat::kLinkFormat);
  ASSERT_NE(discover, nullptr);
  client.reply(discover->m, CoapCode::kContent, "</>;lwm2m=1.1,</0/0>,</1>,</3/0>",
               CoapContentFormat::kLinkFormat);

  ReceivedPtr delete_server = expect_request(client, CoapCode::kDelete, "1", -1);
  ASSERT_NE(delete_server, nullptr);
  client.reply(delete_server->m, CoapCode::kDeleted);
  ReceivedPtr delete_security = expect_request(client, CoapCode::kDelete, "0", -1);
  ASSERT_NE(delete_security, nullptr);
  client.reply(delete_security->m, CoapCode::kDeleted);

  ReceivedPtr security = expect_request(client, CoapCode::kPut, "0/1", -1);
  ASSERT_NE(security, nullptr);
  EXPECT_EQ(security->option(CoapOption::kContentFormat), CoapContentFormat::kLwm2mTlv);
  const auto sec = decode_instance(*security, Lwm2mPath{0, 1});
  const bool secure = server_uri.starts_with("coaps://");
  EXPECT_EQ(sec.at(0), Value(std::string(server_uri)));
  EXPECT_EQ(sec.at(1), Value(false));
  EXPECT_EQ(std::get<int64_t>(sec.at(2)), secure ? kSecurityModePsk : kSecurityModeNoSec);
  EXPECT_EQ(std::get<int64_t>(sec.at(10)), 1);
  if (secure) {
    EXPECT_EQ(std::get<Opaque>(sec.at(3)).bytes, bytes_of(endpoint));
    const std::vector<uint8_t> key = std::get<Opaque>(sec.at(5)).bytes;
    EXPECT_EQ(key.size(), 16u);
    EXPECT_EQ(key, derive_psk(kSeed, endpoint));
  } else {
    EXPECT_EQ(sec.count(3), 0u);
    EXPECT_EQ(sec.count(5), 0u);
  }
  client.reply(security->m, CoapCode::kChanged);

  ReceivedPtr server = expect_request(client, CoapCode::kPut, "1/0", -1);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->option(CoapOption::kContentFormat), CoapContentFormat::kLwm2mTlv);
  const auto srv = decode_instance(*server, Lwm2mPath{1, 0});
  EXPECT_EQ(std::get<int64_t>(srv.at(0)), 1);
  EXPECT_EQ(std::get<int64_t>(srv.at(1)), lifetime);
  EXPECT_EQ(srv.at(6), Value(false));
  EXPECT_EQ(srv.at(7), Value(std::string("U")));
  client.reply(server->m, CoapCode::kChanged);

  ReceivedPtr read = expect_request(client, CoapCode::kGet, "1/0", CoapContentFormat::kLwm2mTlv);
  ASSERT_NE(read, nullptr);
  client.reply(read->m, read_code, read_code == CoapCode::kContent ? server->payload() : "",
               CoapContentFormat::kLwm2mTlv);

  ReceivedPtr finish = expect_request(client, CoapCode::kPost, "bs", -1);
  ASSERT_NE(finish, nullptr);
  client.reply(finish->m, CoapCode::kChanged);
}

TEST(ServerBootstrap, ProvisionsACoapsServerStepByStep) {
  Lwm2mServer server(bootstrap_config());
  ASSERT_EQ(server.start(), "");
  UdpLink link(server.address());
  CoapTestClient client(link);
  run_flow(client, "x", kServerUri);
  ASSERT_TRUE(
      eventually([&] { return server.snapshot().bootstrap_finished == 1; }, milliseconds(2000)));
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.bootstrap_requests, 1u);
  EXPECT_EQ(s.bootstrap_failed, 0u);
  EXPECT_EQ(s.bootstrap_discover_ok, 1u);
  EXPECT_EQ(s.bootstrap_read_unsupported, 0u);
  EXPECT_EQ(s.bootstrap_time.count(), 1u);
  const std::string text = s.to_text();
  EXPECT_NE(text.find("bootstrap_finished=1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bootstrap_discover_failed=0\n"), std::string::npos) << text;
}

TEST(ServerBootstrap, ProvisionsANoSecServer) {
  Lwm2mServer server(bootstrap_config("coap://127.0.0.1:5683"));
  ASSERT_EQ(server.start(), "");
  UdpLink link(server.address());
  CoapTestClient client(link);
  run_flow(client, "nosec", "coap://127.0.0.1:5683");
  EXPECT_TRUE(
      eventually([&] { return server.snapshot().bootstrap_finished == 1; }, milliseconds(2000)));
}

TEST(ServerBootstrap, RegisterIsNotFound) {
  Lwm2mServer server(bootstrap_config());
  ASSERT_EQ(server.start(), "");
  UdpLink link(server.address());
  CoapTestClient client(link);
  const uint8_t code = client.request([](std::span<uint8_t> out, uint16_t mid, const CoapToken& t) {
    RegistrationParams p;
    p.endpoint = "reg";
    p.links = "</1/0>";
    return build_register(out, mid, t, p);
  });
  EXPECT_EQ(code, CoapCode::kNotFound);
  EXPECT_EQ(server.registered(), 0u);
}

TEST(ServerBootstrap, AFailedStepEndsTheFlow) {
  Lwm2mServer server(bootstrap_config());
  ASSERT_EQ(server.start(), "");
  UdpLink link(server.address());
  CoapTestClient client(link);
  ReceivedPtr ack = client.exchange(bootstrap_request("fails"));
  ASSERT_NE(ack, nullptr);
  ReceivedPtr discover = client.next_request();
  ASSERT_NE(discover, nullptr);
  client.reply(discover->m, CoapCode::kContent, "</0/0>", CoapContentFormat::kLinkFormat);
  ReceivedPtr del = client.next_request();
  ASSERT_NE(del, nullptr);
  client.reply(del->m, CoapCode::kMethodNotAllowed);
  ASSERT_TRUE(
      eventually([&] { return server.snapshot().bootstrap_failed == 1; }, milliseconds(2000)));
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.bootstrap_failed_at[static_cast<size_t>(BootstrapStep::kDeleteServer)], 1u);
  EXPECT_EQ(s.bootstrap_finished, 0u);
  EXPECT_NE(s.to_text().find("bootstrap_delete_server_failed=1\n"), std::string::npos);
  EXPECT_EQ(client.next_request(milliseconds(300)), nullptr);  // nothing more comes
}

TEST(ServerBootstrap, AnUnansweredStepTimesOut) {
  ServerConfig config = bootstrap_config();
  config.bootstrap_config.step_timeout = 300 * kUsPerMs;
  Lwm2mServer server(std::move(config));
  ASSERT_EQ(server.start(), "");
  UdpLink link(server.address());
  CoapTestClient client(link);
  ASSERT_NE(client.exchange(bootstrap_request("silent")), nullptr);
  ASSERT_TRUE(
      eventually([&] { return server.snapshot().bootstrap_failed == 1; }, milliseconds(3000)));
  EXPECT_EQ(server.snapshot().bootstrap_failed_at[static_cast<size_t>(BootstrapStep::kDiscover)],
            1u);
}

TEST(ServerBootstrap, A10ClientRefusingBootstrapReadStillFinishes) {
  Lwm2mServer server(bootstrap_config());
  ASSERT_EQ(server.start(), "");
  UdpLink link(server.address());
  CoapTestClient client(link);
  run_flow(client, "old", kServerUri, CoapCode::kMethodNotAllowed);
  ASSERT_TRUE(
      eventually([&] { return server.snapshot().bootstrap_finished == 1; }, milliseconds(2000)));
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.bootstrap_read_unsupported, 1u);
  EXPECT_EQ(s.bootstrap_failed, 0u);
}

TEST(ServerBootstrap, ANewBootstrapRequestRestartsTheFlow) {
  Lwm2mServer server(bootstrap_config());
  ASSERT_EQ(server.start(), "");
  UdpLink link(server.address());
  CoapTestClient client(link);
  ASSERT_NE(client.exchange(bootstrap_request("again")), nullptr);
  ReceivedPtr discover = client.next_request();
  ASSERT_NE(discover, nullptr);
  run_flow(client, "again", kServerUri);
  ASSERT_TRUE(
      eventually([&] { return server.snapshot().bootstrap_finished == 1; }, milliseconds(2000)));
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.bootstrap_requests, 2u);
  EXPECT_EQ(s.bootstrap_restarted, 1u);
  EXPECT_EQ(s.bootstrap_failed, 0u);
}

TEST(ServerBootstrap, OverCoaps) {
  ServerConfig config = bootstrap_config();
  DtlsConfig d;
  d.role = DtlsRole::kServer;
  d.psk_lookup = make_psk_lookup({}, "bootstrap-account-seed");
  std::string error;
  config.dtls = DtlsContext::create(d, &error);
  ASSERT_NE(config.dtls, nullptr) << error;
  Lwm2mServer server(std::move(config));
  ASSERT_EQ(server.start(), "");
  DtlsLink link(server.address(), testing::psk_client_context());
  DtlsPsk psk;
  psk.identity = "secure";
  psk.key = derive_psk("bootstrap-account-seed", "secure");
  ASSERT_TRUE(link.handshake(&psk, false));
  CoapTestClient client(link);
  run_flow(client, "secure", kServerUri);
  ASSERT_TRUE(
      eventually([&] { return server.snapshot().bootstrap_finished == 1; }, milliseconds(2000)));
  EXPECT_EQ(server.snapshot().dtls_handshakes, 1u);
  EXPECT_EQ(server.snapshot().dtls_unsent, 0u);
}

TEST(ServerBootstrapCli, BootstrapRoleFromTheCommandLine) {
  testing::ServerProcess process(
      0, {"--bootstrap", "--bootstrap-server-uri", "coap://127.0.0.1:5683"});
  UdpLink link(process.address());
  CoapTestClient client(link);
  run_flow(client, "cli", "coap://127.0.0.1:5683", CoapCode::kContent, 300);
  EXPECT_TRUE(eventually(
      [&] { return testing::query_server_stats(process.address())["bootstrap_finished"] == 1; },
      milliseconds(3000)));
  process.process().signal(SIGTERM);
  ASSERT_EQ(process.process().wait(milliseconds(10000)), 0);
  const std::string& out = process.process().out();
  EXPECT_NE(out.find("bootstrap server listening on "), std::string::npos) << out;
  EXPECT_NE(out.find("bootstrap_finished=1\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace lwm2msim
