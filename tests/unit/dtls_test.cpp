#include "sim/dtls/dtls.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/certs.h"

namespace lwm2msim {
namespace {

constexpr std::string_view kSeed = "dtls-test-seed";
constexpr std::string_view kIdentity = "sim-000001";

// Record fields the tests look at on the wire.
struct WireRecord {
  uint8_t type;
  uint16_t epoch;
  uint64_t seq;
  std::vector<uint8_t> fragment;
};

std::vector<WireRecord> records_of(std::span<const uint8_t> d) {
  std::vector<WireRecord> out;
  size_t pos = 0;
  while (d.size() - pos >= 13) {
    const size_t len = (size_t{d[pos + 11]} << 8) | d[pos + 12];
    if (d.size() - pos - 13 < len) {
      break;
    }
    uint64_t seq = 0;
    for (int i = 0; i < 6; ++i) {
      seq = (seq << 8) | d[pos + 5 + i];
    }
    out.push_back({d[pos], static_cast<uint16_t>((d[pos + 3] << 8) | d[pos + 4]), seq,
                   std::vector<uint8_t>(d.begin() + static_cast<long>(pos + 13),
                                        d.begin() + static_cast<long>(pos + 13 + len))});
    pos += 13 + len;
  }
  return out;
}

bool has_epoch(std::span<const uint8_t> d, uint16_t epoch) {
  const auto recs = records_of(d);
  return std::any_of(recs.begin(), recs.end(),
                     [&](const WireRecord& r) { return r.epoch == epoch; });
}

bool has_handshake(std::span<const uint8_t> d, uint8_t msg_type) {
  for (const WireRecord& r : records_of(d)) {
    if (r.type == 22 && r.epoch == 0 && !r.fragment.empty() && r.fragment[0] == msg_type) {
      return true;
    }
  }
  return false;
}

// The cipher suite in a ServerHello (DTLS handshake header 12, version 2, random 32, session id).
std::optional<uint16_t> server_hello_suite(std::span<const uint8_t> d) {
  for (const WireRecord& r : records_of(d)) {
    if (r.type == 22 && r.epoch == 0 && r.fragment.size() > 47 && r.fragment[0] == 2) {
      const size_t sid_len = r.fragment[12 + 2 + 32];
      const size_t at = 12 + 2 + 32 + 1 + sid_len;
      if (r.fragment.size() >= at + 2) {
        return static_cast<uint16_t>((r.fragment[at] << 8) | r.fragment[at + 1]);
      }
    }
  }
  return std::nullopt;
}

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class Queue : public DtlsOutput {
 public:
  void send_datagram(std::span<const uint8_t> d) override {
    pending.emplace_back(d.begin(), d.end());
    history.emplace_back(d.begin(), d.end());
  }
  void deliver(std::span<const uint8_t> p) override { delivered.emplace_back(p.begin(), p.end()); }

  std::vector<std::vector<uint8_t>> pending;
  std::vector<std::vector<uint8_t>> history;
  std::vector<std::string> delivered;
};

struct Totals {
  int handshakes = 0;
  int resumed = 0;
  int failed = 0;
  int closed = 0;
  uint32_t dropped = 0;
  uint32_t retransmits = 0;

  void add(const DtlsEvents& e) {
    handshakes += e.handshake_done ? 1 : 0;
    resumed += e.resumed ? 1 : 0;
    failed += e.failed ? 1 : 0;
    closed += e.closed ? 1 : 0;
    dropped += e.records_dropped;
    retransmits += e.retransmits;
  }
};

struct Side {
  std::shared_ptr<DtlsContext> ctx;
  DtlsSession session;
  Queue out;
  Totals totals;
};

DtlsConfig psk_server_config(std::string_view seed = kSeed) {
  DtlsConfig c;
  c.role = DtlsRole::kServer;
  c.psk_lookup = [seed = std::string(seed)](std::string_view identity) {
    return std::optional<std::vector<uint8_t>>(derive_psk(seed, identity));
  };
  return c;
}

DtlsConfig client_config() {
  DtlsConfig c;
  c.role = DtlsRole::kClient;
  return c;
}

// A client and a server session wired through in-memory queues, on one thread and one scratch.
class DtlsPair {
 public:
  DtlsPair(DtlsConfig client, DtlsConfig server) {
    std::string error;
    c.ctx = DtlsContext::create(client, &error);
    EXPECT_NE(c.ctx, nullptr) << error;
    s.ctx = DtlsContext::create(server, &error);
    EXPECT_NE(s.ctx, nullptr) << error;
    psk.identity = kIdentity;
    psk.key = derive_psk(kSeed, kIdentity);
  }

  TimeUs now() const { return clock.now() + kUsPerSec; }

  void connect(bool resume = false, bool with_psk = true) {
    c.totals.add(
        c.session.connect(*c.ctx, with_psk ? &psk : nullptr, resume, now(), scratch, c.out));
  }

  // Hands every queued datagram to the other side until both queues are empty.
  void pump() {
    for (int round = 0; round < 1000; ++round) {
      auto to_server = std::move(c.out.pending);
      c.out.pending.clear();
      for (auto& d : to_server) {
        if (drop && drop(true, d)) {
          continue;
        }
        if (s.session.state() == DtlsSession::State::kIdle && s.session.next_timer() == 0) {
          s.totals.add(s.session.accept(*s.ctx, peer_addr, d, now(), scratch, s.out));
        } else {
          s.totals.add(s.session.on_datagram(d, now(), scratch, s.out));
        }
      }
      auto to_client = std::move(s.out.pending);
      s.out.pending.clear();
      for (auto& d : to_client) {
        if (drop && drop(false, d)) {
          continue;
        }
        c.totals.add(c.session.on_datagram(d, now(), scratch, c.out));
      }
      if (c.out.pending.empty() && s.out.pending.empty()) {
        return;
      }
    }
    ADD_FAILURE() << "datagrams never stopped";
  }

  // Pumps and runs due timers until `done` holds or `budget` passes.
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds budget = std::chrono::milliseconds(3000)) {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    while (std::chrono::steady_clock::now() < deadline) {
      pump();
      if (done()) {
        return true;
      }
      TimeUs next = 0;
      for (const DtlsSession* session : {&c.session, &s.session}) {
        const TimeUs t = session->next_timer();
        if (t != 0 && (next == 0 || t < next)) {
          next = t;
        }
      }
      if (next == 0) {
        return done();
      }
      const TimeUs t = now();
      if (next > t) {
        std::this_thread::sleep_for(std::chrono::microseconds(std::min<TimeUs>(next - t, 5000)));
      }
      const TimeUs t2 = now();
      if (c.session.next_timer() != 0 && c.session.next_timer() <= t2) {
        c.totals.add(c.session.on_timer(t2, scratch, c.out));
      }
      if (s.session.next_timer() != 0 && s.session.next_timer() <= t2) {
        s.totals.add(s.session.on_timer(t2, scratch, s.out));
      }
    }
    return done();
  }

  bool established() const {
    return c.session.state() == DtlsSession::State::kEstablished &&
           s.session.state() == DtlsSession::State::kEstablished;
  }

  bool handshake() {
    connect();
    return run_until([&] { return established(); });
  }

  // Client sends first: the server hands over on it, the client on the server's answer.
  void exchange(std::string_view up, std::string_view down) {
    const size_t cs = c.out.delivered.size();
    const size_t ss = s.out.delivered.size();
    ASSERT_TRUE(c.session.send(bytes(up), scratch, c.out));
    pump();
    ASSERT_EQ(s.out.delivered.size(), ss + 1);
    EXPECT_EQ(s.out.delivered.back(), up);
    ASSERT_TRUE(s.session.send(bytes(down), scratch, s.out));
    pump();
    ASSERT_EQ(c.out.delivered.size(), cs + 1);
    EXPECT_EQ(c.out.delivered.back(), down);
  }

  SteadyClock clock;
  DtlsScratch scratch;
  Side c;
  Side s;
  DtlsPsk psk;
  std::vector<uint8_t> peer_addr = {127, 0, 0, 1, 0x16, 0x34};
  std::function<bool(bool to_server, std::span<const uint8_t>)> drop;
};

TEST(DtlsTest, PskHandshakeWithCookieExchange) {
  DtlsPair p(client_config(), psk_server_config());
  ASSERT_TRUE(p.handshake());
  EXPECT_EQ(p.c.totals.handshakes, 1);
  EXPECT_EQ(p.s.totals.handshakes, 1);
  EXPECT_EQ(p.c.totals.resumed, 0);
  // The server's first datagram is a HelloVerifyRequest; the ServerHello picks CCM_8.
  ASSERT_GE(p.s.out.history.size(), 2u);
  EXPECT_TRUE(has_handshake(p.s.out.history[0], 3));
  EXPECT_EQ(server_hello_suite(p.s.out.history[1]), 0xC0A8);
  EXPECT_EQ(p.c.totals.dropped + p.s.totals.dropped, 0u);
  EXPECT_TRUE(p.c.session.resumable());

  // Both sides hold the SSL until the peer's first application record.
  EXPECT_GT(p.c.session.heap_bytes(), 60000u);
  EXPECT_GT(p.s.session.heap_bytes(), 60000u);
  p.exchange("register", "created");
  EXPECT_LT(p.s.session.heap_bytes(), 2048u);
  EXPECT_LT(p.c.session.heap_bytes(), 2048u);
  EXPECT_EQ(p.c.session.next_timer(), 0u);
  EXPECT_EQ(p.s.session.next_timer(), 0u);

  // Many records both ways, past the 64-record window; sequence numbers strictly increase.
  uint64_t last_up = 0;
  uint64_t last_down = 0;
  for (int i = 0; i < 150; ++i) {
    p.exchange("up " + std::to_string(i), "down " + std::to_string(i));
    const auto up = records_of(p.c.out.history.back());
    const auto down = records_of(p.s.out.history.back());
    ASSERT_EQ(up.size(), 1u);
    ASSERT_EQ(down.size(), 1u);
    EXPECT_EQ(up[0].epoch, 1);
    EXPECT_EQ(down[0].epoch, 1);
    if (i > 0) {
      EXPECT_EQ(up[0].seq, last_up + 1);
      EXPECT_EQ(down[0].seq, last_down + 1);
    }
    last_up = up[0].seq;
    last_down = down[0].seq;
  }
  EXPECT_EQ(p.c.totals.dropped + p.s.totals.dropped, 0u);
}

TEST(DtlsTest, PskHandshakeWithoutCookieExchange) {
  DtlsConfig server = psk_server_config();
  server.cookie_exchange = false;
  DtlsPair p(client_config(), server);
  ASSERT_TRUE(p.handshake());
  EXPECT_FALSE(has_handshake(p.s.out.history[0], 3));
  EXPECT_EQ(server_hello_suite(p.s.out.history[0]), 0xC0A8);
  p.exchange("a", "b");
}

TEST(DtlsTest, CookieExchangeKeepsNoStateForAHelloWithoutCookie) {
  DtlsPair p(client_config(), psk_server_config());
  p.connect();
  ASSERT_EQ(p.c.out.pending.size(), 1u);
  DtlsSession fresh;
  const DtlsEvents ev =
      fresh.accept(*p.s.ctx, p.peer_addr, p.c.out.pending[0], p.now(), p.scratch, p.s.out);
  EXPECT_EQ(fresh.state(), DtlsSession::State::kIdle);
  EXPECT_EQ(fresh.heap_bytes(), 0u);
  EXPECT_EQ(ev.records_dropped, 0u);
  ASSERT_EQ(p.s.out.pending.size(), 1u);
  EXPECT_TRUE(has_handshake(p.s.out.pending[0], 3));
  // Something that is not a ClientHello is dropped.
  const std::vector<uint8_t> junk = {23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0};
  EXPECT_EQ(fresh.accept(*p.s.ctx, p.peer_addr, junk, p.now(), p.scratch, p.s.out).records_dropped,
            1u);
  // The cookie is bound to the peer: a returned cookie from another address starts nothing.
  p.s.out.pending.clear();
  p.c.out.pending.clear();
  const auto hvr = p.s.out.history.front();
  p.c.totals.add(p.c.session.on_datagram(hvr, p.now(), p.scratch, p.c.out));
  ASSERT_EQ(p.c.out.pending.size(), 1u);
  const std::vector<uint8_t> other_addr = {127, 0, 0, 2, 0x16, 0x34};
  DtlsSession other;
  other.accept(*p.s.ctx, other_addr, p.c.out.pending[0], p.now(), p.scratch, p.s.out);
  EXPECT_EQ(other.state(), DtlsSession::State::kIdle);
  DtlsSession right;
  right.accept(*p.s.ctx, p.peer_addr, p.c.out.pending[0], p.now(), p.scratch, p.s.out);
  EXPECT_EQ(right.state(), DtlsSession::State::kHandshaking);
}

class DtlsCertTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/dtls-certs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    certs_ = new testing::TestCertificates(testing::make_test_certificates(*dir_));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete certs_;
    delete dir_;
  }

  static DtlsConfig server(bool other = false) {
    DtlsConfig c;
    c.role = DtlsRole::kServer;
    c.certificate_file = other ? certs_->other_server_cert_file : certs_->server_cert_file;
    c.private_key_file = other ? certs_->other_server_key_file : certs_->server_key_file;
    c.ca_file = certs_->ca_file;
    return c;
  }
  static DtlsConfig client(bool other = false) {
    DtlsConfig c;
    c.role = DtlsRole::kClient;
    c.certificate_file = other ? certs_->other_client_cert_file : certs_->client_cert_file;
    c.private_key_file = other ? certs_->other_client_key_file : certs_->client_key_file;
    c.ca_file = certs_->ca_file;
    return c;
  }

  static std::string* dir_;
  static testing::TestCertificates* certs_;
};
std::string* DtlsCertTest::dir_ = nullptr;
testing::TestCertificates* DtlsCertTest::certs_ = nullptr;

TEST_F(DtlsCertTest, EcdheEcdsaWithCertificatesBothWays) {
  DtlsPair p(client(), server());
  p.connect(false, false);
  ASSERT_TRUE(p.run_until([&] { return p.established(); }));
  EXPECT_EQ(server_hello_suite(p.s.out.history[1]), 0xC0AE);
  p.exchange("hello", "world");
  EXPECT_LT(p.s.session.heap_bytes(), 2048u);
  EXPECT_LT(p.c.session.heap_bytes(), 2048u);
  p.exchange("again", "and again");
}

TEST_F(DtlsCertTest, ServerCertificateFromAnotherCaFailsOnTheClient) {
  DtlsPair p(client(), server(true));
  p.connect(false, false);
  p.run_until([&] { return p.c.session.state() == DtlsSession::State::kFailed; });
  EXPECT_EQ(p.c.session.state(), DtlsSession::State::kFailed);
  EXPECT_EQ(p.c.session.failure(), DtlsFailure::kCertificate);
  EXPECT_EQ(p.c.totals.failed, 1);
  p.run_until([&] { return p.s.session.state() == DtlsSession::State::kFailed; },
              std::chrono::milliseconds(500));
  EXPECT_EQ(p.s.session.failure(), DtlsFailure::kCertificate);
}

TEST_F(DtlsCertTest, ClientCertificateFromAnotherCaFailsOnTheServer) {
  DtlsPair p(client(true), server());
  p.connect(false, false);
  p.run_until([&] { return p.s.session.state() == DtlsSession::State::kFailed; });
  EXPECT_EQ(p.s.session.failure(), DtlsFailure::kCertificate);
}

TEST_F(DtlsCertTest, ContextRejectsAKeyThatDoesNotMatch) {
  DtlsConfig c = server();
  c.private_key_file = certs_->client_key_file;
  std::string error;
  EXPECT_EQ(DtlsContext::create(c, &error), nullptr);
  EXPECT_NE(error.find("key"), std::string::npos) << error;
  c.certificate_file = *dir_ + "/missing.pem";
  EXPECT_EQ(DtlsContext::create(c, &error), nullptr);
  EXPECT_NE(error.find("missing.pem"), std::string::npos) << error;
}

TEST(DtlsTest, WrongPskFailsWithBadPsk) {
  DtlsPair p(client_config(), psk_server_config("another seed"));
  p.connect();
  p.run_until([&] {
    return p.s.session.state() == DtlsSession::State::kFailed &&
           p.c.session.state() == DtlsSession::State::kFailed;
  });
  EXPECT_EQ(p.s.session.state(), DtlsSession::State::kFailed);
  EXPECT_EQ(p.s.session.failure(), DtlsFailure::kBadPsk);
  EXPECT_EQ(p.c.session.state(), DtlsSession::State::kFailed);
  EXPECT_EQ(p.c.session.failure(), DtlsFailure::kBadPsk);
}

TEST(DtlsTest, UnknownIdentityFailsOnBothSides) {
  DtlsConfig server = psk_server_config();
  server.psk_lookup = [](std::string_view) { return std::optional<std::vector<uint8_t>>(); };
  DtlsPair p(client_config(), server);
  p.connect();
  p.run_until([&] { return p.c.session.state() == DtlsSession::State::kFailed; });
  EXPECT_EQ(p.s.session.failure(), DtlsFailure::kUnknownPsk);
  EXPECT_EQ(p.c.session.failure(), DtlsFailure::kUnknownPsk);
  EXPECT_EQ(p.c.totals.failed, 1);
  EXPECT_EQ(p.s.totals.failed, 1);
}

TEST(DtlsTest, NoCommonSuiteFailsWithNoCipher) {
  DtlsConfig client = client_config();
  client.ciphers = "PSK-AES128-GCM-SHA256";
  DtlsPair p(client, psk_server_config());
  p.connect();
  p.run_until([&] { return p.c.session.state() == DtlsSession::State::kFailed; });
  EXPECT_EQ(p.s.session.failure(), DtlsFailure::kNoCipher);
  EXPECT_EQ(p.c.session.failure(), DtlsFailure::kNoCipher);
}

TEST(DtlsTest, HandshakeWithNoPeerTimesOut) {
  DtlsConfig client = client_config();
  client.retransmit_initial = 20 * kUsPerMs;
  client.handshake_timeout = 200 * kUsPerMs;
  DtlsPair p(client, psk_server_config());
  p.drop = [](bool, std::span<const uint8_t>) { return true; };
  p.connect();
  p.run_until([&] { return p.c.session.state() == DtlsSession::State::kFailed; });
  EXPECT_EQ(p.c.session.failure(), DtlsFailure::kTimeout);
  EXPECT_GE(p.c.totals.retransmits, 2u);
  EXPECT_EQ(p.c.session.next_timer(), 0u);
  EXPECT_LT(p.c.session.heap_bytes(), 2048u);
}

TEST(DtlsTest, CloseAndResume) {
  DtlsPair p(client_config(), psk_server_config());
  ASSERT_TRUE(p.handshake());
  p.exchange("one", "two");
  p.c.session.close(p.scratch, p.c.out);
  EXPECT_EQ(p.c.session.state(), DtlsSession::State::kIdle);
  EXPECT_TRUE(p.c.session.resumable());
  p.pump();
  EXPECT_EQ(p.s.totals.closed, 1);
  EXPECT_EQ(p.s.session.state(), DtlsSession::State::kIdle);

  p.connect(true);
  ASSERT_TRUE(p.run_until([&] { return p.established(); }));
  EXPECT_EQ(p.c.totals.resumed, 1);
  EXPECT_EQ(p.s.totals.resumed, 1);
  p.exchange("three", "four");
  EXPECT_LT(p.c.session.heap_bytes(), 2048u);
  EXPECT_LT(p.s.session.heap_bytes(), 2048u);

  // The server closes this time, while both hold their own keys.
  p.s.session.close(p.scratch, p.s.out);
  p.pump();
  EXPECT_EQ(p.c.totals.closed, 1);
  EXPECT_EQ(p.c.session.state(), DtlsSession::State::kIdle);

  // Forgetting the session makes the next handshake a full one.
  p.c.session.reset(true);
  EXPECT_FALSE(p.c.session.resumable());
  p.connect(true);
  ASSERT_TRUE(p.run_until([&] { return p.established(); }));
  EXPECT_EQ(p.c.totals.resumed, 1);
}

TEST(DtlsTest, CloseWhileTheSslIsHeldSendsCloseNotify) {
  DtlsPair p(client_config(), psk_server_config());
  ASSERT_TRUE(p.handshake());
  p.c.session.close(p.scratch, p.c.out);
  p.pump();
  EXPECT_EQ(p.s.totals.closed, 1);
  EXPECT_EQ(p.s.session.state(), DtlsSession::State::kIdle);
}

// Drops the first datagram in one direction that `match` selects, once.
std::function<bool(bool, std::span<const uint8_t>)> drop_once(
    bool to_server, std::function<bool(std::span<const uint8_t>)> match) {
  auto dropped = std::make_shared<bool>(false);
  return [=](bool dir, std::span<const uint8_t> d) {
    if (*dropped || dir != to_server || !match(d)) {
      return false;
    }
    *dropped = true;
    return true;
  };
}

struct LossCase {
  const char* name;
  bool to_server;
  std::function<bool(std::span<const uint8_t>)> match;
};

class DtlsLossTest : public ::testing::TestWithParam<int> {};

TEST_P(DtlsLossTest, HandshakeCompletesAfterALostFlight) {
  const std::vector<LossCase> cases = {
      {"first ClientHello", true, [](auto d) { return has_handshake(d, 1); }},
      {"HelloVerifyRequest", false, [](auto d) { return has_handshake(d, 3); }},
      {"ServerHello flight", false, [](auto d) { return has_handshake(d, 2); }},
      {"client final flight", true, [](auto d) { return has_epoch(d, 1); }},
      {"server final flight", false, [](auto d) { return has_epoch(d, 1); }},
  };
  const LossCase& lc = cases[static_cast<size_t>(GetParam())];
  SCOPED_TRACE(lc.name);
  DtlsConfig client = client_config();
  client.retransmit_initial = 20 * kUsPerMs;
  DtlsConfig server = psk_server_config();
  server.retransmit_initial = 20 * kUsPerMs;
  DtlsPair p(client, server);
  p.drop = drop_once(lc.to_server, lc.match);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(p.handshake());
  p.exchange("a", "b");
  EXPECT_GE(p.c.totals.retransmits + p.s.totals.retransmits, 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

INSTANTIATE_TEST_SUITE_P(Flights, DtlsLossTest, ::testing::Range(0, 5));

TEST(DtlsTest, AbbreviatedHandshakeSurvivesLostFinalFlights) {
  for (const bool client_final : {true, false}) {
    SCOPED_TRACE(client_final ? "client final flight" : "server flight");
    DtlsConfig client = client_config();
    client.retransmit_initial = 20 * kUsPerMs;
    DtlsConfig server = psk_server_config();
    server.retransmit_initial = 20 * kUsPerMs;
    DtlsPair p(client, server);
    ASSERT_TRUE(p.handshake());
    p.exchange("a", "b");
    p.c.session.close(p.scratch, p.c.out);
    p.pump();
    // In the abbreviated handshake the client sends the last flight (its CCS and Finished).
    p.drop = drop_once(client_final, [](auto d) { return has_epoch(d, 1); });
    const auto start = std::chrono::steady_clock::now();
    p.connect(true);
    ASSERT_TRUE(p.run_until([&] { return p.established(); }));
    EXPECT_EQ(p.c.totals.resumed, 1);
    p.exchange("c", "d");
    EXPECT_GE(p.c.totals.retransmits + p.s.totals.retransmits, 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  }
}

TEST(DtlsTest, SilentPeerStillLetsTheSslGo) {
  DtlsConfig client = client_config();
  client.handshake_timeout = 50 * kUsPerMs;
  DtlsConfig server = psk_server_config();
  server.handshake_timeout = 50 * kUsPerMs;
  DtlsPair p(client, server);
  ASSERT_TRUE(p.handshake());
  EXPECT_NE(p.c.session.next_timer(), 0u);
  ASSERT_TRUE(p.run_until(
      [&] { return p.c.session.heap_bytes() < 2048 && p.s.session.heap_bytes() < 2048; }));
  EXPECT_EQ(p.c.session.next_timer(), 0u);
  p.exchange("late", "still fine");
  EXPECT_EQ(p.c.totals.dropped + p.s.totals.dropped, 0u);
}

TEST(DtlsTest, ReplayedTamperedAndMalformedRecordsAreDropped) {
  DtlsPair p(client_config(), psk_server_config());
  ASSERT_TRUE(p.handshake());
  p.exchange("a", "b");
  ASSERT_TRUE(p.c.session.send(bytes("payload"), p.scratch, p.c.out));
  const std::vector<uint8_t> recorded = p.c.out.pending.at(0);
  p.pump();
  ASSERT_EQ(p.s.out.delivered.back(), "payload");
  const size_t delivered = p.s.out.delivered.size();

  DtlsEvents ev = p.s.session.on_datagram(recorded, p.now(), p.scratch, p.s.out);
  EXPECT_EQ(ev.records_dropped, 1u);
  EXPECT_EQ(p.s.out.delivered.size(), delivered);

  ASSERT_TRUE(p.c.session.send(bytes("payload 2"), p.scratch, p.c.out));
  std::vector<uint8_t> tampered = p.c.out.pending.at(0);
  p.c.out.pending.clear();
  tampered[tampered.size() - 3] ^= 0x40;
  ev = p.s.session.on_datagram(tampered, p.now(), p.scratch, p.s.out);
  EXPECT_EQ(ev.records_dropped, 1u);
  // A tampered header (the authenticated data) is caught too.
  tampered[tampered.size() - 3] ^= 0x40;
  tampered[2] ^= 0x01;
  ev = p.s.session.on_datagram(tampered, p.now(), p.scratch, p.s.out);
  EXPECT_EQ(ev.records_dropped, 1u);
  tampered[2] ^= 0x01;
  // Wrong epoch.
  tampered[4] = 7;
  ev = p.s.session.on_datagram(tampered, p.now(), p.scratch, p.s.out);
  EXPECT_EQ(ev.records_dropped, 1u);
  tampered[4] = 1;

  for (size_t cut :
       {size_t{0}, size_t{1}, size_t{5}, size_t{12}, size_t{13}, size_t{20}, tampered.size() - 1}) {
    ev = p.s.session.on_datagram(std::span(tampered).first(cut), p.now(), p.scratch, p.s.out);
    EXPECT_EQ(ev.records_dropped, cut == 0 ? 0u : 1u) << cut;
  }
  // A record whose length claims less than the nonce and tag.
  std::vector<uint8_t> tiny = {23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 99, 0, 3, 1, 2, 3};
  EXPECT_EQ(p.s.session.on_datagram(tiny, p.now(), p.scratch, p.s.out).records_dropped, 1u);
  uint32_t seed = 12345;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> junk(static_cast<size_t>(seed % 200));
    for (auto& b : junk) {
      seed = seed * 1103515245 + 12345;
      b = static_cast<uint8_t>(seed >> 16);
    }
    if (!junk.empty() && i % 2 == 0) {
      junk[0] = 23;
    }
    p.s.session.on_datagram(junk, p.now(), p.scratch, p.s.out);
    p.c.session.on_datagram(junk, p.now(), p.scratch, p.c.out);
  }
  EXPECT_EQ(p.s.out.delivered.size(), delivered);
  EXPECT_TRUE(p.established());
  // The original, untouched record that never arrived is still accepted.
  ev = p.s.session.on_datagram(tampered, p.now(), p.scratch, p.s.out);
  EXPECT_EQ(ev.records_dropped, 0u);
  EXPECT_EQ(p.s.out.delivered.back(), "payload 2");
  p.exchange("c", "d");
}

TEST(DtlsTest, ReorderedRecordsInsideTheWindowAreAccepted) {
  DtlsPair p(client_config(), psk_server_config());
  ASSERT_TRUE(p.handshake());
  p.exchange("a", "b");
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(p.c.session.send(bytes("r" + std::to_string(i)), p.scratch, p.c.out));
  }
  auto held = std::move(p.c.out.pending);
  p.c.out.pending.clear();
  std::reverse(held.begin(), held.end());
  for (const auto& d : held) {
    EXPECT_EQ(p.s.session.on_datagram(d, p.now(), p.scratch, p.s.out).records_dropped, 0u);
  }
  EXPECT_EQ(p.s.out.delivered.back(), "r0");
  // Older than the window: dropped.
  std::vector<std::vector<uint8_t>> old;
  ASSERT_TRUE(p.c.session.send(bytes("old"), p.scratch, p.c.out));
  old.push_back(p.c.out.pending.back());
  p.c.out.pending.clear();
  for (int i = 0; i < 70; ++i) {
    p.exchange("x", "y");
  }
  EXPECT_EQ(p.s.session.on_datagram(old[0], p.now(), p.scratch, p.s.out).records_dropped, 1u);
}

// The record layer against OpenSSL's: each side's first application record after the handover
// of its peer goes through the peer's still-held SSL, and the other way round.
void interoperate(DtlsPair& p) {
  EXPECT_GT(p.c.session.heap_bytes(), 60000u);
  EXPECT_GT(p.s.session.heap_bytes(), 60000u);
  // OpenSSL (client) to OpenSSL (server); the server hands over on it.
  ASSERT_TRUE(p.c.session.send(bytes("ssl to ssl"), p.scratch, p.c.out));
  p.pump();
  ASSERT_EQ(p.s.out.delivered.back(), "ssl to ssl");
  EXPECT_LT(p.s.session.heap_bytes(), 2048u);
  EXPECT_GT(p.c.session.heap_bytes(), 60000u);
  // OpenSSL (client, still held) to our record layer (server).
  for (int i = 0; i < 3; ++i) {
    const std::string m = "ssl to ours " + std::to_string(i);
    ASSERT_TRUE(p.c.session.send(bytes(m), p.scratch, p.c.out));
    p.pump();
    ASSERT_EQ(p.s.out.delivered.back(), m);
  }
  // Our record layer (server) to OpenSSL (client); the client hands over on it.
  ASSERT_TRUE(p.s.session.send(bytes("ours to ssl"), p.scratch, p.s.out));
  p.pump();
  ASSERT_EQ(p.c.out.delivered.back(), "ours to ssl");
  EXPECT_LT(p.c.session.heap_bytes(), 2048u);
  // Ours to ours, both ways.
  for (int i = 0; i < 3; ++i) {
    p.exchange("up" + std::to_string(i), "down" + std::to_string(i));
  }
  EXPECT_EQ(p.c.totals.dropped + p.s.totals.dropped, 0u);
}

TEST(DtlsTest, RecordLayerInteroperatesWithOpenSslServerFirst) {
  DtlsPair p(client_config(), psk_server_config());
  ASSERT_TRUE(p.handshake());
  // The server speaks first here: our client layer talks to the server's SSL.
  ASSERT_TRUE(p.s.session.send(bytes("server first"), p.scratch, p.s.out));
  p.pump();
  ASSERT_EQ(p.c.out.delivered.back(), "server first");
  EXPECT_LT(p.c.session.heap_bytes(), 2048u);
  ASSERT_TRUE(p.c.session.send(bytes("ours to ssl"), p.scratch, p.c.out));
  p.pump();
  ASSERT_EQ(p.s.out.delivered.back(), "ours to ssl");
  EXPECT_LT(p.s.session.heap_bytes(), 2048u);
  p.exchange("x", "y");
}

class DtlsSuiteTest : public ::testing::TestWithParam<std::pair<const char*, uint16_t>> {};

TEST_P(DtlsSuiteTest, SuiteHandsOverAndInteroperates) {
  DtlsConfig client = client_config();
  client.ciphers = GetParam().first;
  DtlsConfig server = psk_server_config();
  server.ciphers = GetParam().first;
  DtlsPair p(client, server);
  ASSERT_TRUE(p.handshake());
  EXPECT_EQ(server_hello_suite(p.s.out.history[1]), GetParam().second);
  interoperate(p);
  // And resumption with the same suite.
  p.c.session.close(p.scratch, p.c.out);
  p.pump();
  p.connect(true);
  ASSERT_TRUE(p.run_until([&] { return p.established(); }));
  EXPECT_EQ(p.c.totals.resumed, 1);
  interoperate(p);
}

INSTANTIATE_TEST_SUITE_P(
    Aead, DtlsSuiteTest,
    ::testing::Values(std::pair{"PSK-AES128-CCM8", uint16_t{0xC0A8}},
                      std::pair{"PSK-AES256-CCM8", uint16_t{0xC0A9}},
                      std::pair{"PSK-AES128-CCM", uint16_t{0xC0A4}},
                      std::pair{"PSK-AES128-GCM-SHA256", uint16_t{0x00A8}},
                      std::pair{"PSK-AES256-GCM-SHA384", uint16_t{0x00A9}},
                      std::pair{"ECDHE-PSK-CHACHA20-POLY1305", uint16_t{0xCCAC}},
                      std::pair{"PSK-CHACHA20-POLY1305", uint16_t{0xCCAB}}),
    [](const ::testing::TestParamInfo<std::pair<const char*, uint16_t>>& suite) {
      // Test names take letters, digits and underscores only.
      std::string name = suite.param.first;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

TEST(DtlsTest, CbcSuiteKeepsTheSsl) {
  DtlsConfig client = client_config();
  client.ciphers = "PSK-AES128-CBC-SHA256";
  DtlsConfig server = psk_server_config();
  server.ciphers = client.ciphers;
  DtlsPair p(client, server);
  ASSERT_TRUE(p.handshake());
  for (int i = 0; i < 20; ++i) {
    p.exchange("cbc up " + std::to_string(i), "cbc down " + std::to_string(i));
  }
  EXPECT_GT(p.c.session.heap_bytes(), 60000u);
  EXPECT_GT(p.s.session.heap_bytes(), 60000u);
  EXPECT_EQ(p.c.session.next_timer(), 0u);
  p.c.session.close(p.scratch, p.c.out);
  p.pump();
  EXPECT_EQ(p.s.totals.closed, 1);
}

TEST(DtlsTest, NewClientHelloOnAnEstablishedServerSession) {
  DtlsPair p(client_config(), psk_server_config());
  ASSERT_TRUE(p.handshake());
  p.exchange("a", "b");
  // The client reboots and forgets everything; the server's session still holds the old keys.
  p.c.session.reset(true);
  p.connect();
  ASSERT_TRUE(p.run_until([&] { return p.c.session.state() == DtlsSession::State::kEstablished; }));
  EXPECT_EQ(p.s.totals.handshakes, 2);
  EXPECT_EQ(p.s.session.state(), DtlsSession::State::kEstablished);
  p.exchange("after reboot", "welcome back");
  EXPECT_LT(p.s.session.heap_bytes(), 2048u);
}

TEST(DtlsTest, SendFailsWhenNotEstablished) {
  DtlsPair p(client_config(), psk_server_config());
  DtlsSession none;
  EXPECT_FALSE(none.send(bytes("x"), p.scratch, p.c.out));
  EXPECT_EQ(none.state(), DtlsSession::State::kIdle);
  EXPECT_EQ(none.heap_bytes(), 0u);
  p.connect();
  EXPECT_FALSE(p.c.session.send(bytes("x"), p.scratch, p.c.out));
  EXPECT_EQ(p.c.session.state(), DtlsSession::State::kHandshaking);
  EXPECT_NE(p.c.session.next_timer(), 0u);
}

TEST(DtlsTest, LargeFlightsAreCutToTheMtu) {
  DtlsConfig client = client_config();
  client.mtu = 300;
  DtlsConfig server = psk_server_config();
  server.mtu = 300;
  DtlsPair p(client, server);
  p.psk.identity = std::string(120, 'i');
  p.psk.key = derive_psk(kSeed, p.psk.identity);
  ASSERT_TRUE(p.handshake());
  for (const auto& d : p.c.out.history) {
    EXPECT_LE(d.size(), 300u);
  }
  for (const auto& d : p.s.out.history) {
    EXPECT_LE(d.size(), 300u);
  }
  p.exchange("a", "b");
}

TEST(DtlsTest, DerivePskIsDeterministic) {
  const auto a = derive_psk("seed", "id-1");
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a, derive_psk("seed", "id-1"));
  EXPECT_NE(a, derive_psk("seed", "id-2"));
  EXPECT_NE(a, derive_psk("seed2", "id-1"));
  // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), first 16 bytes.
  EXPECT_EQ(derive_psk("key", "The quick brown fox jumps over the lazy dog"),
            *parse_hex_key("f7bc83f430538424b13298e6aa6fb143"));
}

TEST(DtlsTest, ParseHexKey) {
  EXPECT_EQ(parse_hex_key("00ff10Ab"), (std::vector<uint8_t>{0x00, 0xff, 0x10, 0xab}));
  EXPECT_EQ(parse_hex_key(""), std::vector<uint8_t>{});
  EXPECT_EQ(parse_hex_key("abc"), std::nullopt);
  EXPECT_EQ(parse_hex_key("zz"), std::nullopt);
  EXPECT_EQ(parse_hex_key("0g"), std::nullopt);
  EXPECT_EQ(parse_hex_key(" 0"), std::nullopt);
}

TEST(DtlsTest, LooksLikeDtls) {
  EXPECT_TRUE(looks_like_dtls(std::vector<uint8_t>{22, 0xFE, 0xFD}));
  EXPECT_TRUE(looks_like_dtls(std::vector<uint8_t>{20}));
  EXPECT_TRUE(looks_like_dtls(std::vector<uint8_t>{63}));
  EXPECT_FALSE(looks_like_dtls(std::vector<uint8_t>{0x40, 0x01}));  // CoAP CON GET
  EXPECT_FALSE(looks_like_dtls(std::vector<uint8_t>{19}));
  EXPECT_FALSE(looks_like_dtls(std::vector<uint8_t>{}));
}

TEST(DtlsTest, FailureNames) {
  EXPECT_EQ(to_string(DtlsFailure::kBadPsk), "bad_psk");
  EXPECT_EQ(to_string(DtlsFailure::kUnknownPsk), "unknown_psk");
  EXPECT_EQ(to_string(DtlsFailure::kNone), "none");
}

}  // namespace
}  // namespace lwm2msim
