// DTLS interoperability with an independent stack: libcoap's coap-server-openssl and
// coap-client-openssl (Debian libcoap3-bin, installed by .ci/setup) against our DTLS 1.2 client
// (a hand-driven DtlsSession and a Fleet) and our `lwm2m-sim server --dtls`, PSK only, on
// 127.0.0.1. The libcoap binaries are required: without them every test fails.
//
// What the pairings negotiate (libcoap 4.3.1 over OpenSSL 3.0):
// - our client, their server: our client offers only TLS_PSK_WITH_AES_128_CCM_8 (0xC0A8) and
//   libcoap's server accepts it; it answers the first ClientHello with a HelloVerifyRequest.
// - their client, our server: libcoap's client offers many suites (on its own it picks
//   ECDHE-PSK-CHACHA20-POLY1305 with a libcoap server); our server's default list holds only the
//   LwM2M mandatory PSK-AES128-CCM8, which the client also offers, so that is what is used.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/dtls/dtls.h"
#include "sim/fleet/fleet.h"
#include "sim/lwm2m/lwm2m.h"
#include "tests/integration/process.h"
#include "tests/support/child_process.h"
#include "tests/support/dtls_socket.h"

namespace lwm2msim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ChildProcess;
using testing::CoapTestClient;
using testing::DtlsLink;
using testing::eventually;
using testing::ReceivedPtr;
using testing::UdpLink;

constexpr uint32_t kLoopback = 0x7f000001;
// TLS_PSK_WITH_AES_128_CCM_8 (RFC 6655), the LwM2M mandatory PSK suite; OpenSSL's name.
constexpr uint16_t kPskAes128Ccm8 = 0xC0A8;
constexpr std::string_view kPskAes128Ccm8Name = "PSK-AES128-CCM8";
// libcoap's -k takes the key as text: these bytes are the PSK.
constexpr std::string_view kKey = "interop-secret-1";
constexpr std::string_view kWrongKey = "interop-secret-2";
constexpr std::string_view kIdentity = "interop-id";
// libcoap logs (-v 9) the suite a session settled on as "Using cipher: NAME".
constexpr std::string_view kCipherLog = "Using cipher: ";

std::vector<uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

std::string hex_of(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (const char c : s) {
    const auto b = static_cast<uint8_t>(c);
    hex += kDigits[b >> 4];
    hex += kDigits[b & 15];
  }
  return hex;
}

// The full path of `name` on PATH; empty when it is not there.
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    rest.remove_prefix(colon == std::string_view::npos ? rest.size() : colon + 1);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

std::string missing_message(const std::string& name) {
  return name +
         " is not on PATH: the DTLS interop tests need libcoap's example binaries "
         "(apt-get install libcoap3-bin; .ci/setup installs them)";
}

// True when a socket of `type` can bind 127.0.0.1:port now.
bool can_bind(int type, uint16_t port) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(kLoopback);
  a.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A port P the kernel just handed out such that P and P+1 are free for UDP and TCP on 127.0.0.1
// (coap-server listens on P for coap and coap+tcp and on P+1 for coaps and coaps+tcp). Another
// process may still take one before the server binds: callers retry.
uint16_t free_port_pair() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return 0;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(kLoopback);
    socklen_t len = sizeof a;
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    ::close(fd);
    const uint16_t port = ntohs(a.sin_port);
    if (!bound || port == 0 || port == 65535) {
      continue;
    }
    if (can_bind(SOCK_DGRAM, port) && can_bind(SOCK_DGRAM, port + 1) &&
        can_bind(SOCK_STREAM, port) && can_bind(SOCK_STREAM, port + 1)) {
      return port;
    }
  }
  return 0;
}

// Pumps `p` until its stdout holds `needle` or `timeout` passes.
bool wait_output(ChildProcess& p, std::string_view needle, milliseconds timeout) {
  return eventually(
      [&] {
        p.pump(milliseconds(20));
        return p.out().find(needle) != std::string::npos;
      },
      timeout);
}

size_t count_of(const std::string& text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// The suite names libcoap logged, in order.
std::vector<std::string> logged_ciphers(const std::string& log) {
  std::vector<std::string> names;
  for (size_t at = log.find(kCipherLog); at != std::string::npos;
       at = log.find(kCipherLog, at + 1)) {
    const size_t from = at + kCipherLog.size();
    names.push_back(log.substr(from, log.find_first_of("\r\n", from) - from));
  }
  return names;
}

// coap-server-openssl on 127.0.0.1 with one PSK for every identity (-k) and an identity hint
// (-h); -v 9 logs every message and the suite of each session.
class LibcoapServer {
 public:
  LibcoapServer(const std::string& binary, std::string_view key, std::string_view hint) {
    for (int attempt = 0; attempt < 5 && !process_; ++attempt) {
      const uint16_t port = free_port_pair();
      if (port == 0) {
        continue;
      }
      auto p = std::make_unique<ChildProcess>(
          std::vector<std::string>{binary, "-A", "127.0.0.1", "-p", std::to_string(port), "-k",
                                   std::string(key), "-h", std::string(hint), "-v", "9"});
      const std::string ready = "created DTLS endpoint 127.0.0.1:" + std::to_string(port + 1);
      if (wait_output(*p, ready, milliseconds(5000))) {
        process_ = std::move(p);
        address_ = Endpoint4{kLoopback, static_cast<uint16_t>(port + 1)};
      } else {
        log_ += p->out() + p->err();
      }
    }
  }
  bool started() const { return process_ != nullptr; }
  // Why it did not start.
  const std::string& log() const { return log_; }
  // The coaps endpoint.
  Endpoint4 address() const { return address_; }
  ChildProcess& process() { return *process_; }
  // Its log so far: coap_log lines (sessions, suites, alerts) are flushed as written; the lines
  // that show PDUs are not, until the next log line or stop().
  const std::string& output() {
    process_->pump(milliseconds(20));
    return process_->out();
  }
  // SIGINT ends it cleanly (SIGTERM would lose buffered output); its whole log.
  const std::string& stop() {
    process_->signal(SIGINT);
    process_->wait(milliseconds(5000));
    return process_->out();
  }

 private:
  std::unique_ptr<ChildProcess> process_;  // killed when the test ends
  Endpoint4 address_;
  std::string log_;
};

// What the unencrypted handshake records from a server showed.
struct HandshakeSeen {
  bool hello_verify = false;      // a HelloVerifyRequest (RFC 6347 4.2.1) arrived
  std::optional<uint16_t> suite;  // the cipher suite of the ServerHello
};

// Scans a datagram's epoch-0 handshake records for HelloVerifyRequest and ServerHello.
void scan_records(std::span<const uint8_t> d, HandshakeSeen* seen) {
  constexpr size_t kRecordHeader = 13;
  constexpr size_t kHandshakeHeader = 12;
  while (d.size() >= kRecordHeader) {
    const uint8_t type = d[0];
    const uint16_t epoch = static_cast<uint16_t>((d[3] << 8) | d[4]);
    const size_t length = static_cast<size_t>((d[11] << 8) | d[12]);
    if (d.size() < kRecordHeader + length) {
      return;
    }
    const std::span<const uint8_t> body = d.subspan(kRecordHeader, length);
    if (type == 22 && epoch == 0 && body.size() >= kHandshakeHeader) {
      const uint8_t msg_type = body[0];
      const size_t offset = static_cast<size_t>((body[6] << 16) | (body[7] << 8) | body[8]);
      const std::span<const uint8_t> msg = body.subspan(kHandshakeHeader);
      if (msg_type == 3) {
        seen->hello_verify = true;
      }
      // server_version (2), random (32), session_id (1 + n), cipher_suite (2)
      if (msg_type == 2 && offset == 0 && msg.size() >= 35 && msg.size() >= 37u + msg[34]) {
        const size_t at = 35u + msg[34];
        seen->suite = static_cast<uint16_t>((msg[at] << 8) | msg[at + 1]);
      }
    }
    d = d.subspan(kRecordHeader + length);
  }
}

// A client-role DtlsSession over a loopback UDP socket, as testing::DtlsLink, that also looks at
// the server's handshake records in clear.
class ObservedDtlsLink final : public testing::TestLink, private DtlsOutput {
 public:
  ObservedDtlsLink(const Endpoint4& server, std::shared_ptr<DtlsContext> context)
      : udp_(server), context_(std::move(context)), epoch_(std::chrono::steady_clock::now()) {}

  bool handshake(const DtlsPsk& psk, milliseconds timeout) {
    session_.connect(*context_, &psk, false, now(), scratch_, *this);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (session_.state() == DtlsSession::State::kHandshaking &&
           std::chrono::steady_clock::now() < deadline) {
      pump(milliseconds(20));
    }
    return session_.state() == DtlsSession::State::kEstablished;
  }
  void close() { session_.close(scratch_, *this); }
  const DtlsSession& session() const { return session_; }
  const HandshakeSeen& seen() const { return seen_; }

  void send(std::span<const uint8_t> message) override { session_.send(message, scratch_, *this); }
  std::optional<std::vector<uint8_t>> receive(milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (plaintexts_.empty()) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return std::nullopt;
      }
      pump(std::min(left, milliseconds(20)));
    }
    std::vector<uint8_t> m = std::move(plaintexts_.front());
    plaintexts_.pop_front();
    return m;
  }

 private:
  TimeUs now() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 epoch_)
        .count();
  }
  void pump(milliseconds budget) {
    if (auto d = udp_.receive(budget)) {
      scan_records(*d, &seen_);
      session_.on_datagram(*d, now(), scratch_, *this);
    }
    const TimeUs due = session_.next_timer();
    if (due != 0 && due <= now()) {
      session_.on_timer(now(), scratch_, *this);
    }
  }
  void send_datagram(std::span<const uint8_t> datagram) override { udp_.send(datagram); }
  void deliver(std::span<const uint8_t> plaintext) override {
    plaintexts_.emplace_back(plaintext.begin(), plaintext.end());
  }

  UdpLink udp_;
  std::shared_ptr<DtlsContext> context_;
  std::chrono::steady_clock::time_point epoch_;
  DtlsScratch scratch_;
  DtlsSession session_;
  std::deque<std::vector<uint8_t>> plaintexts_;
  HandshakeSeen seen_;
};

DtlsPsk psk_of(std::string_view identity, std::string_view key) {
  DtlsPsk p;
  p.identity = std::string(identity);
  p.key = bytes_of(key);
  return p;
}

// A client context as testing::psk_client_context() with an OpenSSL cipher list of its own.
std::shared_ptr<DtlsContext> client_context(const std::string& ciphers) {
  if (ciphers.empty()) {
    return testing::psk_client_context();
  }
  DtlsConfig c;
  c.role = DtlsRole::kClient;
  c.ciphers = ciphers;
  c.retransmit_initial = 200 * kUsPerMs;
  c.handshake_timeout = 5 * kUsPerSec;
  std::string error;
  auto ctx = DtlsContext::create(c, &error);
  if (!ctx) {
    throw std::runtime_error("client DTLS context (" + ciphers + "): " + error);
  }
  return ctx;
}

ReceivedPtr get(CoapTestClient& client, std::string_view path, uint32_t block2 = UINT32_MAX) {
  return client.exchange([&](std::span<uint8_t> out, uint16_t mid, const CoapToken& t) {
    CoapWriter w(out);
    w.header(CoapType::kCon, CoapCode::kGet, mid, t.view()).option_path(CoapOption::kUriPath, path);
    if (block2 != UINT32_MAX) {
      w.option_uint(CoapOption::kBlock2, block2);
    }
    return w.finish();
  });
}

ReceivedPtr register_endpoint(CoapTestClient& client, std::string_view endpoint) {
  return client.exchange([&](std::span<uint8_t> out, uint16_t mid, const CoapToken& t) {
    RegistrationParams p;
    p.endpoint = endpoint;
    p.lifetime_s = 60;
    p.links = "</3/0>";
    return build_register(out, mid, t, p);
  });
}

std::string code_text(uint8_t code) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%d.%02d", code >> 5, code & 31);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Our client, their server.

TEST(DtlsInterop, OurSessionHandshakesWithLibcoapServerAndGetsContent) {
  const std::string binary = find_program("coap-server-openssl");
  ASSERT_FALSE(binary.empty()) << missing_message("coap-server-openssl");
  LibcoapServer server(binary, kKey, "interop-hint");
  ASSERT_TRUE(server.started()) << "coap-server-openssl did not start:\n" << server.log();

  ObservedDtlsLink link(server.address(), testing::psk_client_context());
  ASSERT_TRUE(link.handshake(psk_of(kIdentity, kKey), milliseconds(10000)))
      << "failure " << to_string(link.session().failure()) << "\n"
      << server.output();
  EXPECT_EQ(link.session().state(), DtlsSession::State::kEstablished);
  // libcoap's server keeps no state before a cookie: it asks for one first.
  EXPECT_TRUE(link.seen().hello_verify);
  ASSERT_TRUE(link.seen().suite.has_value());
  EXPECT_EQ(*link.seen().suite, kPskAes128Ccm8);
  ASSERT_TRUE(wait_output(server.process(), kCipherLog, milliseconds(2000))) << server.output();
  EXPECT_EQ(logged_ciphers(server.output()),
            std::vector<std::string>{std::string(kPskAes128Ccm8Name)});
  EXPECT_NE(server.output().find("got psk_identity: '" + std::string(kIdentity) + "'"),
            std::string::npos)
      << server.output();

  CoapTestClient client(link);
  ReceivedPtr core = get(client, ".well-known/core");
  ASSERT_NE(core, nullptr) << server.output();
  EXPECT_EQ(core->m.code(), CoapCode::kContent) << code_text(core->m.code());
  EXPECT_FALSE(core->payload().empty());
  EXPECT_NE(core->payload().find("</time>"), std::string::npos) << core->payload();

  ReceivedPtr root = get(client, "");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->m.code(), CoapCode::kContent);
  EXPECT_NE(root->payload().find("libcoap"), std::string::npos) << root->payload();

  // libcoap's example server is no LwM2M server: it has no /rd.
  ReceivedPtr reg = register_endpoint(client, "interop-direct");
  ASSERT_NE(reg, nullptr);
  EXPECT_EQ(reg->m.code(), CoapCode::kNotFound) << code_text(reg->m.code());

  link.close();
  EXPECT_TRUE(wait_output(server.process(), "alert read:warning:close notify", milliseconds(2000)))
      << server.output();
}

TEST(DtlsInterop, OurSessionWithAWrongKeyFailsAgainstLibcoapServer) {
  const std::string binary = find_program("coap-server-openssl");
  ASSERT_FALSE(binary.empty()) << missing_message("coap-server-openssl");
  LibcoapServer server(binary, kKey, "interop-hint");
  ASSERT_TRUE(server.started()) << "coap-server-openssl did not start:\n" << server.log();

  // psk_client_context() gives up after 5 s.
  ObservedDtlsLink link(server.address(), testing::psk_client_context());
  EXPECT_FALSE(link.handshake(psk_of(kIdentity, kWrongKey), milliseconds(8000)));
  EXPECT_EQ(link.session().state(), DtlsSession::State::kFailed);
  // libcoap's server (OpenSSL) cannot decrypt our Finished and silently discards it (RFC 6347
  // 4.1.2.7 allows dropping records that fail authentication): it sends no alert, retransmits its
  // own flight, and our client runs out of time. Unlike our server, which alerts (kBadPsk).
  EXPECT_EQ(link.session().failure(), DtlsFailure::kTimeout)
      << to_string(link.session().failure()) << "\n"
      << server.output();
  const std::string& log = server.output();
  EXPECT_NE(log.find("got psk_identity: '" + std::string(kIdentity) + "'"), std::string::npos)
      << log;
  EXPECT_NE(log.find("DTLS retransmit timeout"), std::string::npos) << log;
  EXPECT_EQ(log.find("session connected"), std::string::npos) << log;
  EXPECT_EQ(log.find(kCipherLog), std::string::npos) << log;
}

uint64_t dtls_failures(const FleetSnapshot& s) {
  uint64_t n = 0;
  for (const uint64_t f : s.dtls_failed) {
    n += f;
  }
  return n;
}

TEST(DtlsInterop, FleetHandshakesWithLibcoapServerAndItsRegisterIsAnswered) {
  const std::string binary = find_program("coap-server-openssl");
  ASSERT_FALSE(binary.empty()) << missing_message("coap-server-openssl");
  LibcoapServer server(binary, kKey, "interop-hint");
  ASSERT_TRUE(server.started()) << "coap-server-openssl did not start:\n" << server.log();

  constexpr uint64_t kClients = 2;
  FleetConfig c;
  c.clients = kClients;
  c.rate = 100;
  c.threads = 1;
  c.seed = 7;
  ASSERT_EQ(AddressPlan::parse("127.0.0.1", &c.local_addrs), "");
  ASSERT_EQ(EndpointPattern::parse("interop-%03d", &c.client.endpoint_pattern), "");
  c.client.server = server.address();
  c.client.lifetime_s = 60;
  c.client.coap.ack_timeout = 500 * kUsPerMs;
  c.client.backoff_base = 200 * kUsPerMs;
  c.client.backoff_max = kUsPerSec;
  c.stop_timeout = 2 * kUsPerSec;
  c.server_uri = "coaps://" + server.address().to_string();
  c.dtls = testing::psk_client_context();
  c.server_secure = true;
  c.psk.key = bytes_of(kKey);  // identity: the endpoint name; libcoap takes -k for any identity
  Fleet fleet(c);
  ASSERT_EQ(fleet.prepare(), "");
  fleet.start();
  const bool answered = eventually(
      [&] {
        server.process().pump(milliseconds(1));
        const FleetSnapshot s = fleet.snapshot();
        return s.dtls_handshakes >= kClients && s.register_failed >= kClients;
      },
      seconds(20));
  fleet.stop();
  EXPECT_TRUE(eventually([&] { return fleet.stopped(); }, seconds(10)));
  fleet.join();

  const FleetSnapshot s = fleet.snapshot();
  const std::string& log = server.stop();
  ASSERT_TRUE(answered) << "handshakes " << s.dtls_handshakes << ", dtls failures "
                        << dtls_failures(s) << ", register sent " << s.register_sent << ", failed "
                        << s.register_failed << ", timeouts " << s.timeouts << "\n"
                        << log;
  EXPECT_GE(s.dtls_handshakes, kClients);
  EXPECT_EQ(dtls_failures(s), 0u);
  EXPECT_EQ(s.link_failed, 0u);
  EXPECT_EQ(s.register_ok, 0u);
  EXPECT_GE(s.register_sent, kClients);
  // Every Register was answered (4.04, no /rd), none timed out.
  EXPECT_EQ(s.timeouts, 0u);
  EXPECT_EQ(s.dtls_records_dropped, 0u);
  for (uint64_t i = 0; i < kClients; ++i) {
    char ep[32];
    std::snprintf(ep, sizeof ep, "interop-%03llu", static_cast<unsigned long long>(i));
    EXPECT_NE(log.find("got psk_identity: '" + std::string(ep) + "'"), std::string::npos) << ep;
  }
  // What libcoap answered: 4.04 (diagnostic payload "Not Found") to each Register it got.
  EXPECT_GE(count_of(log, "c:POST i:"), s.register_failed) << log;
  EXPECT_EQ(count_of(log, "c:POST i:"), count_of(log, "Uri-Path:rd,")) << log;
  EXPECT_GE(count_of(log, "t:ACK c:4.04 "), s.register_failed) << log;
  EXPECT_EQ(count_of(log, "t:ACK c:4.04 "), count_of(log, ":: 'Not Found'")) << log;
  EXPECT_EQ(count_of(log, "t:ACK c:2."), 0u) << log;
  for (const std::string& name : logged_ciphers(log)) {
    EXPECT_EQ(name, kPskAes128Ccm8Name);
  }
  EXPECT_GE(logged_ciphers(log).size(), kClients);
}

// ---------------------------------------------------------------------------------------------
// Their client, our server.

// `lwm2m-sim server --dtls --psk-file` with keys for kIdentity (kKey) and for the stats probe.
class OurServer {
 public:
  // `ciphers`: its --ciphers (and the stats probe's list); empty: the default.
  explicit OurServer(std::string ciphers = {}) : ciphers_(std::move(ciphers)) {
    char dir_template[] = "/tmp/dtls-interop-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    dir_ = dir_template;
    const std::string path = dir_ + "/psk.csv";
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
      throw std::runtime_error("cannot write " + path);
    }
    std::fprintf(f, "endpoint,psk_identity,psk_key\ninterop-1,%s,%s\nprobe,%s,%s\n",
                 std::string(kIdentity).c_str(), hex_of(kKey).c_str(),
                 std::string(kProbeIdentity).c_str(), hex_of(kProbeKey).c_str());
    std::fclose(f);
    std::vector<std::string> args{"--dtls", "--psk-file", path};
    if (!ciphers_.empty()) {
      args.insert(args.end(), {"--ciphers", ciphers_});
    }
    try {
      process_ = std::make_unique<testing::ServerProcess>(0, std::move(args));
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      throw;
    }
  }
  ~OurServer() {
    process_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  OurServer(const OurServer&) = delete;
  OurServer& operator=(const OurServer&) = delete;

  Endpoint4 address() const { return process_->address(); }
  std::string coaps_uri() const { return "coaps://" + address().to_string(); }
  ChildProcess& process() { return process_->process(); }

  // GET /sim/stats over coaps (a session of its own, kept: one handshake of the server's count),
  // block by block; empty when it does not answer.
  std::map<std::string, uint64_t> stats() {
    if (!probe_) {
      probe_ = std::make_unique<DtlsLink>(address(), client_context(ciphers_));
      const DtlsPsk psk = psk_of(kProbeIdentity, kProbeKey);
      if (!probe_->handshake(&psk, false)) {
        probe_.reset();
        return {};
      }
      probe_client_ = std::make_unique<CoapTestClient>(*probe_);
    }
    std::string text;
    for (uint32_t num = 0; num < 64; ++num) {
      ReceivedPtr r = get(*probe_client_, "sim/stats", (num << 4) | 6);
      if (r == nullptr || r->m.code() != CoapCode::kContent) {
        return {};
      }
      text += r->payload();
      if ((r->option(CoapOption::kBlock2, 0) & 8) == 0) {
        break;
      }
    }
    return testing::parse_stats(text);
  }

  // SIGTERM; its final stats (printed on stdout) as text.
  std::string stop() {
    process().signal(SIGTERM);
    if (process().wait(milliseconds(10000)) != 0) {
      return {};
    }
    return process().out();
  }

  static constexpr std::string_view kProbeIdentity = "stats-probe";
  static constexpr std::string_view kProbeKey = "stats-probe-key!";

 private:
  std::string ciphers_;
  std::string dir_;
  std::unique_ptr<testing::ServerProcess> process_;  // killed when the test ends
  std::unique_ptr<DtlsLink> probe_;
  std::unique_ptr<CoapTestClient> probe_client_;
};

// coap-client-openssl POSTing a Register (link format, -t 40) through coaps with a PSK; -v 9 logs
// the messages and the suite; -B bounds its wait.
std::unique_ptr<ChildProcess> libcoap_register(const std::string& binary, const OurServer& server,
                                               std::string_view identity, std::string_view key) {
  return std::make_unique<ChildProcess>(std::vector<std::string>{
      binary, "-v", "9", "-B", "5", "-u", std::string(identity), "-k", std::string(key), "-m",
      "post", "-t", "40", "-e", "</3/0>", server.coaps_uri() + "/rd?ep=interop-1&lt=60"});
}

TEST(DtlsInterop, LibcoapClientRegistersWithOurServer) {
  const std::string binary = find_program("coap-client-openssl");
  ASSERT_FALSE(binary.empty()) << missing_message("coap-client-openssl");
  OurServer server;

  auto client = libcoap_register(binary, server, kIdentity, kKey);
  const std::optional<int> rc = client->wait(milliseconds(15000));
  const std::string log = client->out() + client->err();
  ASSERT_TRUE(rc.has_value()) << log;
  EXPECT_EQ(*rc, 0) << log;
  EXPECT_NE(log.find("t:ACK c:2.01"), std::string::npos) << log;
  EXPECT_NE(log.find("Location-Path:rd"), std::string::npos) << log;
  EXPECT_NE(log.find("DTLS: session connected"), std::string::npos) << log;
  // libcoap answers our HelloVerifyRequest, and the suite is the LwM2M mandatory one: ours is the
  // only one our server offers, and libcoap's client offers it among others.
  EXPECT_NE(log.find("read hello verify request"), std::string::npos) << log;
  EXPECT_EQ(logged_ciphers(log), std::vector<std::string>{std::string(kPskAes128Ccm8Name)});

  std::map<std::string, uint64_t> stats;
  ASSERT_TRUE(eventually(
      [&] {
        stats = server.stats();
        return stats["registers"] == 1 && stats["dtls_closed"] >= 1;
      },
      seconds(5)))
      << "registers " << stats["registers"] << ", dtls_closed " << stats["dtls_closed"];
  EXPECT_EQ(stats["registered"], 1u);
  EXPECT_EQ(stats["register_errors"], 0u);
  // libcoap's session and the probe's.
  EXPECT_EQ(stats["dtls_handshakes"], 2u);
  EXPECT_EQ(stats["dtls_failed"], 0u);
  EXPECT_GE(stats["dtls_hello_verify"], 2u);
  // libcoap ends with close_notify: only the probe's session is left.
  EXPECT_EQ(stats["dtls_closed"], 1u);
  EXPECT_EQ(stats["dtls_sessions"], 1u);

  const std::string final_stats = server.stop();
  EXPECT_NE(final_stats.find("\nregisters=1\n"), std::string::npos) << final_stats;
  EXPECT_NE(final_stats.find("\ndtls_handshakes=2\n"), std::string::npos) << final_stats;
  EXPECT_NE(final_stats.find("\ndtls_failed=0\n"), std::string::npos) << final_stats;
  EXPECT_EQ(final_stats.find(hex_of(kKey)), std::string::npos);
}

TEST(DtlsInterop, LibcoapClientWithAWrongKeyDoesNotRegister) {
  const std::string binary = find_program("coap-client-openssl");
  ASSERT_FALSE(binary.empty()) << missing_message("coap-client-openssl");
  OurServer server;

  auto client = libcoap_register(binary, server, kIdentity, kWrongKey);
  const std::optional<int> rc = client->wait(milliseconds(15000));
  const std::string log = client->out() + client->err();
  ASSERT_TRUE(rc.has_value()) << log;
  // Our server's Finished check fails and it alerts; the Register is never sent. (coap-client
  // exits 0 all the same: its log is the evidence.)
  EXPECT_NE(log.find("alert read:fatal:bad record mac"), std::string::npos) << log;
  EXPECT_NE(log.find("cannot send CoAP pdu"), std::string::npos) << log;
  EXPECT_EQ(log.find("c:2.01"), std::string::npos) << log;
  EXPECT_EQ(log.find("DTLS: session connected"), std::string::npos) << log;

  std::map<std::string, uint64_t> stats;
  ASSERT_TRUE(eventually(
      [&] {
        stats = server.stats();
        return stats["dtls_failed"] >= 1;
      },
      seconds(5)));
  EXPECT_EQ(stats["dtls_failed_bad_psk"], stats["dtls_failed"]);
  EXPECT_EQ(stats["registers"], 0u);
  EXPECT_EQ(stats["registered"], 0u);
  EXPECT_EQ(stats["dtls_handshakes"], 1u);  // the probe's
  EXPECT_EQ(stats["dtls_sessions"], 1u);

  const std::string final_stats = server.stop();
  EXPECT_NE(final_stats.find("\nregisters=0\n"), std::string::npos) << final_stats;
  EXPECT_NE(final_stats.find("\ndtls_failed_bad_psk="), std::string::npos) << final_stats;
}

TEST(DtlsInterop, LibcoapClientWithAnUnknownIdentityDoesNotRegister) {
  const std::string binary = find_program("coap-client-openssl");
  ASSERT_FALSE(binary.empty()) << missing_message("coap-client-openssl");
  OurServer server;

  auto client = libcoap_register(binary, server, "nobody", kKey);
  const std::optional<int> rc = client->wait(milliseconds(15000));
  const std::string log = client->out() + client->err();
  ASSERT_TRUE(rc.has_value()) << log;
  EXPECT_NE(log.find("alert read:fatal:unknown PSK identity"), std::string::npos) << log;
  EXPECT_NE(log.find("cannot send CoAP pdu"), std::string::npos) << log;
  EXPECT_EQ(log.find("c:2.01"), std::string::npos) << log;

  std::map<std::string, uint64_t> stats;
  ASSERT_TRUE(eventually(
      [&] {
        stats = server.stats();
        return stats["dtls_failed"] >= 1;
      },
      seconds(5)));
  EXPECT_EQ(stats["dtls_failed_unknown_psk"], stats["dtls_failed"]);
  EXPECT_EQ(stats["registers"], 0u);
}

// ---------------------------------------------------------------------------------------------
// Other PSK suites, both ways: our side restricted to one suite (DtlsConfig.ciphers, --ciphers)
// against libcoap, which offers them all. AEAD suites move to our own record layer after the
// handshake; the CBC one stays with OpenSSL. libcoap's server takes no CBC suite ("no shared
// cipher"); its client offers them.

struct Suite {
  std::string name;     // OpenSSL's
  uint16_t code;        // IANA
  bool libcoap_server;  // coap-server-openssl accepts it (it refuses every CBC suite)
};

class DtlsInteropSuite : public ::testing::TestWithParam<Suite> {};

TEST_P(DtlsInteropSuite, OurClientAndLibcoapServer) {
  const Suite& suite = GetParam();
  const std::string binary = find_program("coap-server-openssl");
  ASSERT_FALSE(binary.empty()) << missing_message("coap-server-openssl");
  LibcoapServer server(binary, kKey, "interop-hint");
  ASSERT_TRUE(server.started()) << "coap-server-openssl did not start:\n" << server.log();

  ObservedDtlsLink link(server.address(), client_context(suite.name));
  if (!suite.libcoap_server) {
    // It answers with a handshake_failure alert, which we count as no suite in common.
    EXPECT_FALSE(link.handshake(psk_of(kIdentity, kKey), milliseconds(10000)));
    EXPECT_EQ(link.session().failure(), DtlsFailure::kNoCipher)
        << to_string(link.session().failure());
    EXPECT_TRUE(wait_output(server.process(), "no shared cipher", milliseconds(2000)))
        << server.output();
    return;
  }
  ASSERT_TRUE(link.handshake(psk_of(kIdentity, kKey), milliseconds(10000)))
      << "failure " << to_string(link.session().failure()) << "\n"
      << server.output();
  ASSERT_TRUE(link.seen().suite.has_value());
  EXPECT_EQ(*link.seen().suite, suite.code);
  ASSERT_TRUE(wait_output(server.process(), kCipherLog, milliseconds(2000))) << server.output();
  EXPECT_EQ(logged_ciphers(server.output()), std::vector<std::string>{suite.name});
  // Several records each way, past the first one that completes the handshake on our side.
  CoapTestClient client(link);
  for (int i = 0; i < 3; ++i) {
    ReceivedPtr core = get(client, ".well-known/core");
    ASSERT_NE(core, nullptr) << i;
    EXPECT_EQ(core->m.code(), CoapCode::kContent);
    EXPECT_NE(core->payload().find("</time>"), std::string::npos);
  }
}

TEST_P(DtlsInteropSuite, LibcoapClientAndOurServer) {
  const Suite& suite = GetParam();
  const std::string binary = find_program("coap-client-openssl");
  ASSERT_FALSE(binary.empty()) << missing_message("coap-client-openssl");
  OurServer server(suite.name);

  auto client = libcoap_register(binary, server, kIdentity, kKey);
  const std::optional<int> rc = client->wait(milliseconds(15000));
  const std::string log = client->out() + client->err();
  ASSERT_TRUE(rc.has_value()) << log;
  EXPECT_EQ(*rc, 0) << log;
  EXPECT_EQ(logged_ciphers(log), std::vector<std::string>{suite.name}) << log;
  EXPECT_NE(log.find("t:ACK c:2.01"), std::string::npos) << log;

  std::map<std::string, uint64_t> stats;
  ASSERT_TRUE(eventually(
      [&] {
        stats = server.stats();
        return stats["registers"] == 1;
      },
      seconds(5)));
  EXPECT_EQ(stats["dtls_handshakes"], 2u);
  EXPECT_EQ(stats["dtls_failed"], 0u);
}

INSTANTIATE_TEST_SUITE_P(PskSuites, DtlsInteropSuite,
                         ::testing::Values(Suite{"ECDHE-PSK-CHACHA20-POLY1305", 0xCCAC, true},
                                           Suite{"PSK-AES128-GCM-SHA256", 0x00A8, true},
                                           Suite{"PSK-AES128-CCM", 0xC0A4, true},
                                           Suite{"PSK-AES256-CCM8", 0xC0A9, true},
                                           Suite{"ECDHE-PSK-AES128-CBC-SHA256", 0xC037, false}),
                         [](const ::testing::TestParamInfo<Suite>& param_info) {
                           std::string name;
                           for (const char c : param_info.param.name) {
                             name += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace lwm2msim
