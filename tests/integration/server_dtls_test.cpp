// The built-in server over coaps: hand-driven DTLS clients (client-role DtlsSession on a loopback
// socket) against an in-process server with PSKs, and the `server --dtls` command line.
#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/dtls/dtls.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/server/credentials.h"
#include "sim/server/server.h"
#include "tests/integration/process.h"
#include "tests/support/dtls_socket.h"

namespace lwm2msim {
namespace {

using std::chrono::milliseconds;
using testing::CoapTestClient;
using testing::DtlsLink;
using testing::eventually;
using testing::ReceivedPtr;
using testing::UdpLink;

constexpr std::string_view kSeed = "server-dtls-test";
constexpr std::string_view kLinks = "</1/0>,</3/0>";

// Identities starting with "unknown" have no key.
std::shared_ptr<DtlsContext> server_context() {
  DtlsConfig c;
  c.role = DtlsRole::kServer;
  c.retransmit_initial = 200 * kUsPerMs;
  c.handshake_timeout = 5 * kUsPerSec;
  const PskLookup derived = make_psk_lookup({}, std::string(kSeed));
  c.psk_lookup = [derived](std::string_view identity) -> std::optional<std::vector<uint8_t>> {
    if (identity.starts_with("unknown")) {
      return std::nullopt;
    }
    return derived(identity);
  };
  std::string error;
  auto ctx = DtlsContext::create(c, &error);
  EXPECT_NE(ctx, nullptr) << error;
  return ctx;
}

ServerConfig dtls_config() {
  ServerConfig c;
  c.listen = Endpoint4{0x7f000001, 0};
  c.dtls = server_context();
  return c;
}

DtlsPsk psk_of(std::string identity, std::string_view seed = kSeed) {
  DtlsPsk p;
  p.key = derive_psk(seed, identity);
  p.identity = std::move(identity);
  return p;
}

std::string register_endpoint(CoapTestClient& client, const std::string& endpoint) {
  ReceivedPtr r = client.exchange([&](std::span<uint8_t> out, uint16_t mid, const CoapToken& t) {
    RegistrationParams p;
    p.endpoint = endpoint;
    p.lifetime_s = 60;
    p.links = kLinks;
    return build_register(out, mid, t, p);
  });
  if (r == nullptr || r->m.code() != CoapCode::kCreated) {
    return {};
  }
  std::array<char, 64> loc;
  return std::string(r->m.join(CoapOption::kLocationPath, loc));
}

uint8_t update(CoapTestClient& client, const std::string& location) {
  return client.request([&](std::span<uint8_t> out, uint16_t mid, const CoapToken& t) {
    return build_update(out, mid, t, location, 0, {});
  });
}

uint8_t deregister(CoapTestClient& client, const std::string& location) {
  return client.request([&](std::span<uint8_t> out, uint16_t mid, const CoapToken& t) {
    return build_deregister(out, mid, t, location);
  });
}

size_t reason(DtlsFailure f) {
  return static_cast<size_t>(f);
}

TEST(ServerDtls, HandshakeRegisterUpdateDeregisterAndCloseNotify) {
  Lwm2mServer server(dtls_config());
  ASSERT_EQ(server.start(), "");
  DtlsLink link(server.address(), testing::psk_client_context());
  const DtlsPsk psk = psk_of("dev-1");
  ASSERT_TRUE(link.handshake(&psk, false));
  ASSERT_TRUE(
      eventually([&] { return server.snapshot().dtls_handshakes == 1; }, milliseconds(2000)));
  ServerSnapshot s = server.snapshot();
  EXPECT_GE(s.dtls_hello_verify, 1u);  // the first ClientHello had no cookie
  EXPECT_EQ(s.dtls_sessions, 1u);
  EXPECT_EQ(s.dtls_failed, 0u);
  EXPECT_EQ(s.dtls_handshake_time.count(), 1u);

  CoapTestClient client(link);
  const std::string location = register_endpoint(client, "dev-1");
  ASSERT_FALSE(location.empty());
  EXPECT_EQ(server.registered(), 1u);
  EXPECT_EQ(update(client, location), CoapCode::kChanged);
  EXPECT_EQ(deregister(client, location), CoapCode::kDeleted);
  EXPECT_EQ(server.registered(), 0u);

  link.close();
  ASSERT_TRUE(eventually([&] { return server.snapshot().dtls_closed == 1; }, milliseconds(2000)));
  s = server.snapshot();
  EXPECT_EQ(s.dtls_sessions, 0u);
  EXPECT_EQ(s.registers, 1u);
  EXPECT_EQ(s.updates, 1u);
  EXPECT_EQ(s.deregisters, 1u);
  EXPECT_EQ(s.dtls_plain_dropped, 0u);
  EXPECT_NE(s.to_text().find("dtls_closed=1\n"), std::string::npos);
}

TEST(ServerDtls, ServerRequestsGoThroughTheSession) {
  ServerConfig config = dtls_config();
  config.observe_fraction = 1.0;
  config.observe_path = Lwm2mPath{3, 0, 13};
  Lwm2mServer server(std::move(config));
  ASSERT_EQ(server.start(), "");
  DtlsLink link(server.address(), testing::psk_client_context());
  const DtlsPsk psk = psk_of("dev-obs");
  ASSERT_TRUE(link.handshake(&psk, false));
  CoapTestClient client(link);
  ASSERT_FALSE(register_endpoint(client, "dev-obs").empty());
  ReceivedPtr observe = client.next_request();
  ASSERT_NE(observe, nullptr);
  EXPECT_EQ(observe->path(), "3/0/13");
  EXPECT_EQ(observe->option(CoapOption::kObserve), 0);
  client.reply(observe->m, CoapCode::kContent, "1700000000", CoapContentFormat::kTextPlain, 1);
  EXPECT_TRUE(eventually([&] { return server.snapshot().observes_ok == 1; }, milliseconds(2000)));
  EXPECT_EQ(server.snapshot().dtls_unsent, 0u);
}

TEST(ServerDtls, WrongKeyFailsTheHandshakeAndRegistersNothing) {
  Lwm2mServer server(dtls_config());
  ASSERT_EQ(server.start(), "");
  DtlsLink link(server.address(), testing::psk_client_context());
  const DtlsPsk psk = psk_of("dev-2", "another-seed");
  EXPECT_FALSE(link.handshake(&psk, false, milliseconds(6000)));
  ASSERT_TRUE(eventually([&] { return server.snapshot().dtls_failed >= 1; }, milliseconds(7000)));
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.dtls_failed_by[reason(DtlsFailure::kBadPsk)], s.dtls_failed) << s.to_text();
  EXPECT_EQ(s.dtls_handshakes, 0u);
  EXPECT_EQ(s.dtls_sessions, 0u);
  EXPECT_EQ(server.registered(), 0u);
  EXPECT_NE(s.to_text().find("dtls_failed_bad_psk="), std::string::npos);
}

TEST(ServerDtls, UnknownIdentityIsCounted) {
  Lwm2mServer server(dtls_config());
  ASSERT_EQ(server.start(), "");
  DtlsLink link(server.address(), testing::psk_client_context());
  const DtlsPsk psk = psk_of("unknown-3");
  EXPECT_FALSE(link.handshake(&psk, false, milliseconds(6000)));
  ASSERT_TRUE(eventually([&] { return server.snapshot().dtls_failed >= 1; }, milliseconds(7000)));
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.dtls_failed_by[reason(DtlsFailure::kUnknownPsk)], s.dtls_failed) << s.to_text();
  EXPECT_EQ(s.dtls_sessions, 0u);
}

TEST(ServerDtls, PlainCoapIsDroppedAndCounted) {
  Lwm2mServer server(dtls_config());
  ASSERT_EQ(server.start(), "");
  UdpLink link(server.address());
  CoapTestClient client(link);
  ReceivedPtr r = client.exchange(
      [](std::span<uint8_t> out, uint16_t mid, const CoapToken& t) {
        RegistrationParams p;
        p.endpoint = "plain";
        p.links = kLinks;
        return build_register(out, mid, t, p);
      },
      milliseconds(300));
  EXPECT_EQ(r, nullptr);
  ASSERT_TRUE(
      eventually([&] { return server.snapshot().dtls_plain_dropped == 1; }, milliseconds(2000)));
  EXPECT_EQ(server.registered(), 0u);
  EXPECT_EQ(server.snapshot().registers, 0u);
}

TEST(ServerDtls, AClosedSessionResumes) {
  Lwm2mServer server(dtls_config());
  ASSERT_EQ(server.start(), "");
  DtlsLink link(server.address(), testing::psk_client_context());
  const DtlsPsk psk = psk_of("dev-4");
  ASSERT_TRUE(link.handshake(&psk, false));
  link.close();
  ASSERT_TRUE(eventually([&] { return server.snapshot().dtls_closed == 1; }, milliseconds(2000)));
  ASSERT_TRUE(link.session().resumable());
  ASSERT_TRUE(link.handshake(&psk, true));
  EXPECT_TRUE(link.resumed());
  ASSERT_TRUE(eventually([&] { return server.snapshot().dtls_resumed == 1; }, milliseconds(2000)));
  EXPECT_EQ(server.snapshot().dtls_handshakes, 2u);
  CoapTestClient client(link);
  EXPECT_FALSE(register_endpoint(client, "dev-4").empty());
  EXPECT_EQ(server.snapshot().dtls_sessions, 1u);
}

TEST(ServerDtls, ManyPeersOnSeveralThreads) {
  ServerConfig config = dtls_config();
  config.threads = 2;
  Lwm2mServer server(std::move(config));
  ASSERT_EQ(server.start(), "");
  constexpr int kPeers = 8;
  std::vector<std::unique_ptr<DtlsLink>> links;
  for (int i = 0; i < kPeers; ++i) {
    links.push_back(std::make_unique<DtlsLink>(server.address(), testing::psk_client_context()));
    const DtlsPsk psk = psk_of("many-" + std::to_string(i));
    ASSERT_TRUE(links.back()->handshake(&psk, false));
    CoapTestClient client(*links.back());
    EXPECT_FALSE(register_endpoint(client, "many-" + std::to_string(i)).empty());
  }
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.dtls_handshakes, static_cast<uint64_t>(kPeers));
  EXPECT_EQ(s.dtls_sessions, static_cast<uint64_t>(kPeers));
  EXPECT_EQ(server.registered(), static_cast<uint64_t>(kPeers));
}

// The command line: `server --dtls --psk-seed` serves coaps; its final stats count the session.
TEST(ServerDtlsCli, ServesCoapsWithASeed) {
  testing::ServerProcess process(0, {"--dtls", "--psk-seed", std::string(kSeed)});
  EXPECT_EQ(process.process().out().find(std::string(kSeed)), std::string::npos);
  DtlsLink link(process.address(), testing::psk_client_context());
  const DtlsPsk psk = psk_of("cli-1");
  ASSERT_TRUE(link.handshake(&psk, false));
  CoapTestClient client(link);
  EXPECT_FALSE(register_endpoint(client, "cli-1").empty());
  process.process().signal(SIGTERM);
  ASSERT_EQ(process.process().wait(milliseconds(10000)), 0);
  const std::string& out = process.process().out();
  EXPECT_NE(out.find("coaps listening on "), std::string::npos) << out;
  EXPECT_NE(out.find("dtls_handshakes=1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("registers=1\n"), std::string::npos) << out;
}

TEST(ServerDtlsCli, BadCombinationsAreRefused) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--dtls"}, "--dtls needs credentials"},
      {{"--psk-seed", "s"}, "--psk-seed needs --dtls"},
      {{"--psk-file", "/nonexistent.csv"}, "need --dtls"},
      {{"--dtls", "--cert", "/x.pem"}, "--cert and --key go together"},
      {{"--dtls", "--psk-file", "/nonexistent.csv"}, "--psk-file /nonexistent.csv"},
      {{"--bootstrap"}, "--bootstrap needs --bootstrap-server-uri"},
      {{"--bootstrap-server-uri", "coap://127.0.0.1:5683"}, "needs --bootstrap"},
      {{"--bootstrap", "--bootstrap-server-uri", "http://x"}, "is not coap://"},
      {{"--bootstrap", "--bootstrap-server-uri", "coaps://127.0.0.1:5684"},
       "needs --bootstrap-psk-seed or --psk-seed"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args{LWM2MSIM_BINARY, "server", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    testing::ChildProcess p(args);
    EXPECT_EQ(p.wait(milliseconds(10000)), 2) << c.message;
    EXPECT_NE(p.err().find(c.message), std::string::npos) << p.err();
  }
}

TEST(ServerDtlsCli, PskFileKeysIdentities) {
  char dir_template[] = "/tmp/server-dtls-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/psk.csv";
  const std::vector<uint8_t> key = derive_psk("file-seed", "file-id");
  std::string hex;
  for (uint8_t b : key) {
    static constexpr char kDigits[] = "0123456789abcdef";
    hex += kDigits[b >> 4];
    hex += kDigits[b & 15];
  }
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fprintf(f, "endpoint,psk_identity,psk_key\nfile-ep,file-id,%s\n", hex.c_str());
    std::fclose(f);
  }
  testing::ServerProcess process(0, {"--dtls", "--psk-file", path});
  EXPECT_EQ(process.process().out().find(hex), std::string::npos);
  DtlsLink link(process.address(), testing::psk_client_context());
  DtlsPsk psk;
  psk.identity = "file-id";
  psk.key = key;
  EXPECT_TRUE(link.handshake(&psk, false));
  process.process().signal(SIGTERM);
  EXPECT_EQ(process.process().wait(milliseconds(10000)), 0);
  EXPECT_EQ(process.process().out().find(hex), std::string::npos);
  std::remove(path.c_str());
  ::rmdir(dir_template);
}

}  // namespace
}  // namespace lwm2msim
