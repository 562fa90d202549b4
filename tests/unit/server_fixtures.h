// A hand-written LwM2M client on a loopback UDP socket, for tests that drive the built-in server
// message by message.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/util/address_plan.h"

namespace lwm2msim::testing {

using std::chrono::milliseconds;

// One received datagram, parsed; the message views the bytes, so a Datagram is not copied.
struct Datagram {
  std::vector<uint8_t> bytes;
  CoapMessage m;

  Datagram() = default;
  Datagram(const Datagram&) = delete;
  Datagram& operator=(const Datagram&) = delete;

  std::string path() const {
    std::array<char, 128> buf;
    return std::string(m.join(CoapOption::kUriPath, buf));
  }
  std::string payload() const {
    return {reinterpret_cast<const char*>(m.payload().data()), m.payload().size()};
  }
  int64_t option(uint16_t number, int64_t absent = -1) const {
    const CoapOptionView* o = m.find(number);
    return o == nullptr ? absent : o->as_uint();
  }
};
using DatagramPtr = std::unique_ptr<Datagram>;

// Polls `predicate` every 10 ms until it holds or `timeout` passes; returns its last value.
inline bool eventually(const std::function<bool()>& predicate, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return predicate();
}

class FakeClient {
 public:
  explicit FakeClient(const Endpoint4& server) : server_(server) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{0, 10 * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~FakeClient() { close(fd_); }
  FakeClient(const FakeClient&) = delete;
  FakeClient& operator=(const FakeClient&) = delete;

  void send(std::span<const uint8_t> message) {
    ASSERT_FALSE(message.empty());
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(server_.ip);
    a.sin_port = htons(server_.port);
    ASSERT_EQ(
        sendto(fd_, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a),
        static_cast<ssize_t>(message.size()));
  }

  // The next datagram `match` accepts, from those set aside earlier or the socket, within
  // `timeout`; others are set aside for later calls. Null when none came.
  DatagramPtr next(const std::function<bool(const Datagram&)>& match,
                   milliseconds timeout = milliseconds(5000)) {
    for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
      if (match(**it)) {
        DatagramPtr d = std::move(*it);
        backlog_.erase(it);
        return d;
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      DatagramPtr d = receive();
      if (d == nullptr) {
        continue;
      }
      if (match(*d)) {
        return d;
      }
      backlog_.push_back(std::move(d));
    } while (std::chrono::steady_clock::now() < deadline);
    return nullptr;
  }
  // The next request (a CON or NON with a method code).
  DatagramPtr next_request(milliseconds timeout = milliseconds(5000)) {
    return next([](const Datagram& d) { return d.m.is_request(); }, timeout);
  }
  // The next response or empty message with this message id.
  DatagramPtr next_reply(uint16_t mid, milliseconds timeout = milliseconds(5000)) {
    return next([mid](const Datagram& d) { return !d.m.is_request() && d.m.message_id() == mid; },
                timeout);
  }

  // Registers `endpoint` with the Register `build` writes (message id and token given); returns
  // the location ("rd/N"), empty on failure.
  std::string register_with(
      const std::function<std::span<const uint8_t>(std::span<uint8_t>, uint16_t, const CoapToken&)>&
          build) {
    std::array<uint8_t, kCoapMaxMessageSize> buf;
    const uint16_t mid = next_mid_++;
    send(build(buf, mid, CoapToken::from_u64(mid, 4)));
    DatagramPtr ack = next_reply(mid);
    if (ack == nullptr || ack->m.code() != CoapCode::kCreated) {
      return {};
    }
    std::array<char, 64> loc;
    return std::string(ack->m.join(CoapOption::kLocationPath, loc));
  }
  std::string register_endpoint(const RegistrationParams& params) {
    return register_with([&params](std::span<uint8_t> out, uint16_t mid, const CoapToken& token) {
      return build_register(out, mid, token, params);
    });
  }
  // Sends a CON request built by `build` and returns its answer's code (0: none came).
  uint8_t request(const std::function<std::span<const uint8_t>(std::span<uint8_t>, uint16_t,
                                                               const CoapToken&)>& build) {
    std::array<uint8_t, kCoapMaxMessageSize> buf;
    const uint16_t mid = next_mid_++;
    send(build(buf, mid, CoapToken::from_u64(mid, 4)));
    DatagramPtr ack = next_reply(mid);
    return ack == nullptr ? 0 : ack->m.code();
  }
  uint8_t update(std::string_view location) {
    return request([location](std::span<uint8_t> out, uint16_t mid, const CoapToken& token) {
      return build_update(out, mid, token, location, 0, {});
    });
  }
  uint8_t deregister(std::string_view location) {
    return request([location](std::span<uint8_t> out, uint16_t mid, const CoapToken& token) {
      return build_deregister(out, mid, token, location);
    });
  }

  // Answers a request (piggybacked ACK for a CON), with an Observe option when observe >= 0.
  void reply(const CoapMessage& req, uint8_t code, std::string_view payload = {},
             int64_t observe = -1) {
    std::array<uint8_t, kCoapMaxMessageSize> buf;
    const bool con = req.type() == CoapType::kCon;
    CoapWriter w(buf);
    w.header(con ? CoapType::kAck : CoapType::kNon, code, con ? req.message_id() : next_mid_++,
             req.token());
    if (observe >= 0) {
      w.option_uint(CoapOption::kObserve, static_cast<uint32_t>(observe));
    }
    if (!payload.empty()) {
      w.option_uint(CoapOption::kContentFormat, CoapContentFormat::kTextPlain);
    }
    w.payload(payload);
    send(w.finish());
  }

  // Sends a text/plain notification on `token`; returns its message id.
  uint16_t notify(std::span<const uint8_t> token, uint32_t sequence, std::string_view payload,
                  bool con) {
    std::array<uint8_t, kCoapMaxMessageSize> buf;
    const uint16_t mid = next_mid_++;
    CoapWriter w(buf);
    w.header(con ? CoapType::kCon : CoapType::kNon, CoapCode::kContent, mid, token)
        .option_uint(CoapOption::kObserve, sequence)
        .option_uint(CoapOption::kContentFormat, CoapContentFormat::kTextPlain)
        .payload(payload);
    send(w.finish());
    return mid;
  }

  uint16_t take_mid() { return next_mid_++; }

 private:
  DatagramPtr receive() {
    auto d = std::make_unique<Datagram>();
    d->bytes.resize(kCoapMaxMessageSize + 1);
    const ssize_t n = recv(fd_, d->bytes.data(), d->bytes.size(), 0);
    if (n <= 0) {
      return nullptr;
    }
    d->bytes.resize(static_cast<size_t>(n));
    if (d->m.parse(d->bytes) != CoapParseError::kOk) {
      ADD_FAILURE() << "unparsable datagram from the server";
      return nullptr;
    }
    return d;
  }

  Endpoint4 server_;
  int fd_ = -1;
  uint16_t next_mid_ = 0x4000;
  std::deque<DatagramPtr> backlog_;
};

}  // namespace lwm2msim::testing
