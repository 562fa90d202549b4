// A fleet driven by a hand-written server socket that decides every answer: the fixture of the
// tests that follow one device through observations, Sends, reboots, queue mode and firmware.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/fleet/fleet.h"
#include "tests/integration/process.h"

namespace lwm2msim::testing {

using std::chrono::seconds;

struct Received {
  Endpoint4 from;
  std::vector<uint8_t> bytes;
  CoapMessage message;
};

class HandDriven : public ::testing::Test {
 protected:
  void start(std::function<void(FleetConfig&)> tweak = {}) {
    FleetConfig c;
    c.clients = 1;
    c.threads = 1;
    c.rate = 0;
    EXPECT_EQ(AddressPlan::parse("127.14.0.0/24", &c.local_addrs), "");
    EXPECT_EQ(EndpointPattern::parse("rep-%d", &c.client.endpoint_pattern), "");
    c.client.server = server_.address();
    c.stop_timeout = 300 * kUsPerMs;
    c.notify_con_every = 1;
    c.reboot_delay = 200 * kUsPerMs;
    c.sample_period = 100 * kUsPerMs;
    if (tweak) {
      tweak(c);
    }
    fleet_ = std::make_unique<Fleet>(c);
    ASSERT_EQ(fleet_->prepare(), "");
    fleet_->start();
    accept_register();
  }

  void TearDown() override {
    if (fleet_) {
      fleet_->stop();
      EXPECT_TRUE(eventually([&] { return fleet_->stopped(); }, seconds(10)));
      fleet_->join();
    }
  }

  // The next datagram that satisfies `want`; others are dropped. nullopt after ~4 s.
  std::optional<Received> next(const std::function<bool(const CoapMessage&)>& want) {
    for (int i = 0; i < 50; ++i) {
      Received r;
      auto bytes = server_.receive(&r.from);
      if (!bytes) {
        return std::nullopt;
      }
      r.bytes = std::move(*bytes);
      if (r.message.parse(r.bytes) != CoapParseError::kOk) {
        continue;
      }
      if (want(r.message)) {
        // The message points into bytes; keep them together.
        Received out{r.from, r.bytes, {}};
        EXPECT_EQ(out.message.parse(out.bytes), CoapParseError::kOk);
        return out;
      }
    }
    return std::nullopt;
  }

  static bool is_register(const CoapMessage& m) {
    std::array<char, 64> buf;
    return m.code() == CoapCode::kPost && m.join(CoapOption::kUriPath, buf) == "rd";
  }

  void accept_register() {
    auto reg = next(is_register);
    ASSERT_TRUE(reg.has_value());
    client_ = reg->from;
    std::array<char, 128> query;
    last_register_query_ = reg->message.join(CoapOption::kUriQuery, query);
    std::array<uint8_t, 64> buf;
    CoapWriter w(buf);
    w.header(CoapType::kAck, CoapCode::kCreated, reg->message.message_id(), reg->message.token())
        .option_path(CoapOption::kLocationPath, "rd/5");
    server_.send(client_, w.finish());
    ASSERT_TRUE(eventually(
        [&] {
          return fleet_->snapshot().states[static_cast<size_t>(ClientState::kRegistered)] == 1;
        },
        seconds(5)));
  }

  // Sends a request; returns the client's piggybacked answer.
  std::optional<Received> request(uint8_t code, std::string_view path,
                                  std::vector<std::string_view> queries = {},
                                  std::optional<uint32_t> observe = std::nullopt,
                                  std::string_view payload = {}, uint16_t format = 0) {
    std::array<uint8_t, 256> buf;
    const uint16_t mid = next_mid_++;
    const uint8_t token[] = {0x70, static_cast<uint8_t>(mid)};
    CoapWriter w(buf);
    w.header(CoapType::kCon, code, mid, token);
    if (observe) {
      w.option_uint(CoapOption::kObserve, *observe);
    }
    w.option_path(CoapOption::kUriPath, path);
    if (!payload.empty()) {
      w.option_uint(CoapOption::kContentFormat, format);
    }
    for (std::string_view q : queries) {
      w.option(CoapOption::kUriQuery, q);
    }
    w.payload({reinterpret_cast<const uint8_t*>(payload.data()), payload.size()});
    server_.send(client_, w.finish());
    return next([mid](const CoapMessage& m) {
      return m.type() == CoapType::kAck && m.message_id() == mid;
    });
  }

  void ack(const CoapMessage& m) {
    std::array<uint8_t, 4> buf;
    server_.send(client_, coap_write_empty(buf, CoapType::kAck, m.message_id()));
  }

  FakeServer server_;
  std::unique_ptr<Fleet> fleet_;
  Endpoint4 client_;
  std::string last_register_query_;  // "ep=..&lt=..&lwm2m=..&b=.." of the last Register
  uint16_t next_mid_ = 0x4000;
};

inline bool is_notification(const CoapMessage& m) {
  return m.is_response() && m.find(CoapOption::kObserve) != nullptr &&
         (m.type() == CoapType::kCon || m.type() == CoapType::kNon);
}

}  // namespace lwm2msim::testing
