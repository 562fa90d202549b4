// Hand-driven CoAP clients for tests of a server: a loopback UDP socket, in clear or through a
// client-role DtlsSession, and a CoAP layer on top that matches answers and requests. Header-only
// so it needs no library of its own.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/dtls/dtls.h"
#include "sim/util/address_plan.h"

namespace lwm2msim::testing {

// A datagram link to one server.
class TestLink {
 public:
  virtual ~TestLink() = default;
  virtual void send(std::span<const uint8_t> message) = 0;
  // The next CoAP message from the server within `timeout`; nullopt when none came.
  virtual std::optional<std::vector<uint8_t>> receive(std::chrono::milliseconds timeout) = 0;
};

// A UDP socket on 127.0.0.1 (free port) that talks to `server` in clear.
class UdpLink : public TestLink {
 public:
  explicit UdpLink(const Endpoint4& server) : server_(server) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      throw std::runtime_error("socket() failed");
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      throw std::runtime_error("bind() failed");
    }
  }
  ~UdpLink() override { ::close(fd_); }
  UdpLink(const UdpLink&) = delete;
  UdpLink& operator=(const UdpLink&) = delete;

  void send(std::span<const uint8_t> message) override {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(server_.ip);
    a.sin_port = htons(server_.port);
    ::sendto(fd_, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  std::optional<std::vector<uint8_t>> receive(std::chrono::milliseconds timeout) override {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
      return std::nullopt;
    }
    std::vector<uint8_t> buf(2048);
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) {
      return std::nullopt;
    }
    buf.resize(static_cast<size_t>(n));
    return buf;
  }

 private:
  Endpoint4 server_;
  int fd_ = -1;
};

// A client-role DTLS session over its own UdpLink: handshake flights, retransmission timers and
// record protection run as receive() waits.
class DtlsLink final : public TestLink, private DtlsOutput {
 public:
  DtlsLink(const Endpoint4& server, std::shared_ptr<DtlsContext> context)
      : udp_(server), context_(std::move(context)), epoch_(std::chrono::steady_clock::now()) {}

  // Runs a handshake (PSK with `psk`, certificates with null); true once established, false when
  // it failed or `timeout` passed.
  bool handshake(const DtlsPsk* psk, bool resume,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    const DtlsEvents ev = session_.connect(*context_, psk, resume, now(), scratch_, *this);
    resumed_ = ev.resumed;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (session_.state() == DtlsSession::State::kHandshaking &&
           std::chrono::steady_clock::now() < deadline) {
      pump(std::chrono::milliseconds(20));
    }
    return session_.state() == DtlsSession::State::kEstablished;
  }
  // Sends close_notify.
  void close() { session_.close(scratch_, *this); }
  DtlsSession& session() { return session_; }
  bool resumed() const { return resumed_; }

  void send(std::span<const uint8_t> message) override { session_.send(message, scratch_, *this); }
  // A datagram in clear, past the session.
  void send_plain(std::span<const uint8_t> message) { udp_.send(message); }

  std::optional<std::vector<uint8_t>> receive(std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (plaintexts_.empty()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return std::nullopt;
      }
      pump(std::min(left, std::chrono::milliseconds(20)));
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
  // One datagram (or a wait of up to `budget`), then any timer due.
  void pump(std::chrono::milliseconds budget) {
    if (auto d = udp_.receive(budget)) {
      const DtlsEvents ev = session_.on_datagram(*d, now(), scratch_, *this);
      resumed_ = resumed_ || ev.resumed;
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
  bool resumed_ = false;
};

// A client context for PSK: the LwM2M mandatory suite.
inline std::shared_ptr<DtlsContext> psk_client_context() {
  DtlsConfig c;
  c.role = DtlsRole::kClient;
  c.retransmit_initial = 200 * kUsPerMs;
  c.handshake_timeout = 5 * kUsPerSec;
  std::string error;
  auto ctx = DtlsContext::create(c, &error);
  if (!ctx) {
    throw std::runtime_error("client DTLS context: " + error);
  }
  return ctx;
}

// One message from the server, parsed; the message views the bytes, so it is not copied.
struct Received {
  std::vector<uint8_t> bytes;
  CoapMessage m;

  Received() = default;
  Received(const Received&) = delete;
  Received& operator=(const Received&) = delete;

  std::string path() const {
    std::array<char, 128> buf;
    return std::string(m.join(CoapOption::kUriPath, buf));
  }
  std::string payload() const {
    return {reinterpret_cast<const char*>(m.payload().data()), m.payload().size()};
  }
  int64_t option(uint16_t number, int64_t absent = -1) const {
    const CoapOptionView* o = m.find(number);
    return o == nullptr ? absent : static_cast<int64_t>(o->as_uint());
  }
};
using ReceivedPtr = std::unique_ptr<Received>;

// CoAP by hand over a TestLink: requests with fresh message ids, answers matched by id, the
// server's requests taken in order (others set aside for later calls).
class CoapTestClient {
 public:
  using Builder =
      std::function<std::span<const uint8_t>(std::span<uint8_t>, uint16_t, const CoapToken&)>;

  explicit CoapTestClient(TestLink& link) : link_(link) {}

  ReceivedPtr next(const std::function<bool(const Received&)>& match,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
      if (match(**it)) {
        ReceivedPtr r = std::move(*it);
        backlog_.erase(it);
        return r;
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return nullptr;
      }
      auto bytes = link_.receive(left);
      if (!bytes) {
        return nullptr;
      }
      auto r = std::make_unique<Received>();
      r->bytes = std::move(*bytes);
      if (r->m.parse(r->bytes) != CoapParseError::kOk) {
        continue;
      }
      if (match(*r)) {
        return r;
      }
      backlog_.push_back(std::move(r));
    }
  }
  ReceivedPtr next_request(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    return next([](const Received& r) { return r.m.is_request(); }, timeout);
  }
  ReceivedPtr next_reply(uint16_t mid,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    return next([mid](const Received& r) { return !r.m.is_request() && r.m.message_id() == mid; },
                timeout);
  }

  // Sends the CON request `build` writes; returns its answer (null when none came).
  ReceivedPtr exchange(const Builder& build,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    std::array<uint8_t, kCoapMaxMessageSize> buf;
    const uint16_t mid = next_mid_++;
    link_.send(build(buf, mid, CoapToken::from_u64(mid, 4)));
    return next_reply(mid, timeout);
  }
  uint8_t request(const Builder& build) {
    ReceivedPtr r = exchange(build);
    return r == nullptr ? 0 : r->m.code();
  }

  // Answers a request (piggybacked ACK for a CON) with `format` on a non-empty payload.
  void reply(const CoapMessage& req, uint8_t code, std::span<const uint8_t> payload = {},
             uint16_t format = CoapContentFormat::kTextPlain, int64_t observe = -1) {
    std::array<uint8_t, kCoapMaxMessageSize> buf;
    const bool con = req.type() == CoapType::kCon;
    CoapWriter w(buf);
    w.header(con ? CoapType::kAck : CoapType::kNon, code, con ? req.message_id() : next_mid_++,
             req.token());
    if (observe >= 0) {
      w.option_uint(CoapOption::kObserve, static_cast<uint32_t>(observe));
    }
    if (!payload.empty()) {
      w.option_uint(CoapOption::kContentFormat, format);
    }
    w.payload(payload);
    link_.send(w.finish());
  }
  void reply(const CoapMessage& req, uint8_t code, std::string_view payload,
             uint16_t format = CoapContentFormat::kTextPlain, int64_t observe = -1) {
    reply(
        req, code,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()),
        format, observe);
  }

 private:
  TestLink& link_;
  uint16_t next_mid_ = 0x2000;
  std::deque<ReceivedPtr> backlog_;
};

}  // namespace lwm2msim::testing
