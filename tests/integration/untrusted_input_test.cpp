// Datagrams a device gets from the network are untrusted: RFC 7252's reactions (Reset for a
// Confirmable message it cannot process, silence otherwise), each one counted.
#include <gtest/gtest.h>

#include <vector>

#include "sim/dm/data_model.h"
#include "sim/format/format.h"
#include "tests/integration/hand_driven.h"

namespace lwm2msim::testing {
namespace {

size_t at(CoapParseError e) {
  return static_cast<size_t>(e);
}

}  // namespace

class UntrustedInput : public HandDriven {
 protected:
  // What the device answered (ACK or RST) before the Reset to a CoAP ping with `ping_mid`. The
  // device handles datagrams in arrival order, so anything earlier input provoked comes first.
  std::vector<Received> answers_before_ping(uint16_t ping_mid) {
    std::array<uint8_t, 4> ping;
    server_.send(client_, coap_write_empty(ping, CoapType::kCon, ping_mid));
    std::vector<Received> before;
    for (int i = 0; i < 20; ++i) {
      auto r = next([](const CoapMessage& m) {
        return m.type() == CoapType::kAck || m.type() == CoapType::kRst;
      });
      if (!r) {
        ADD_FAILURE() << "no Reset to the ping";
        break;
      }
      if (r->message.type() == CoapType::kRst && r->message.message_id() == ping_mid) {
        break;
      }
      before.push_back(std::move(*r));
    }
    return before;
  }
};

TEST_F(UntrustedInput, ConfirmableFormatErrorsAreResetWithTheirMessageId) {
  start();
  // Option delta nibble 15 without a payload marker: a format error after a readable header.
  const std::vector<uint8_t> bad_option = {0x40, 0x01, 0x12, 0x34, 0xf1, 0x00};
  // TKL 9 is reserved.
  const std::vector<uint8_t> bad_token = {0x49, 0x01, 0x12, 0x35};
  // A payload marker with nothing after it.
  const std::vector<uint8_t> lone_marker = {0x40, 0x01, 0x12, 0x36, 0xff};
  for (const auto& d : {bad_option, bad_token, lone_marker}) {
    server_.send(client_, d);
  }
  const std::vector<Received> answers = answers_before_ping(0x7001);
  ASSERT_EQ(answers.size(), 3u);
  for (size_t i = 0; i < answers.size(); ++i) {
    EXPECT_EQ(answers[i].message.type(), CoapType::kRst);
    EXPECT_EQ(answers[i].message.message_id(), 0x1234 + i);
  }
  const FleetSnapshot s = fleet_->snapshot();
  EXPECT_EQ(s.malformed, 3u);
  EXPECT_EQ(s.malformed_by[at(CoapParseError::kBadOption)], 1u);
  EXPECT_EQ(s.malformed_by[at(CoapParseError::kBadTokenLength)], 1u);
  EXPECT_EQ(s.malformed_by[at(CoapParseError::kPayloadMarkerAlone)], 1u);
  EXPECT_EQ(s.pings, 1u);
  EXPECT_EQ(s.resets, 4u);
}

TEST_F(UntrustedInput, OtherGarbageIsDroppedSilentlyAndCounted) {
  start();
  // Non-confirmable format error: rejected silently (RFC 7252 4.3).
  server_.send(client_, std::vector<uint8_t>{0x50, 0x01, 0x00, 0x01, 0xf1});
  // Version 2: silently ignored (section 3).
  server_.send(client_, std::vector<uint8_t>{0x80, 0x01, 0x00, 0x02});
  // Shorter than a header.
  server_.send(client_, std::vector<uint8_t>{0x40, 0x01, 0x00});
  // A Confirmable message above the largest the device accepts, and one above its receive
  // buffer, which the kernel cuts.
  std::vector<uint8_t> large(1400, 0x61);
  large[0] = 0x40;
  large[1] = 0x01;
  server_.send(client_, large);
  std::vector<uint8_t> huge(8000, 0x62);
  huge[0] = 0x40;
  huge[1] = 0x01;
  server_.send(client_, huge);
  // An ACK and a Reset for exchanges that do not exist.
  std::array<uint8_t, 4> empty;
  server_.send(client_, coap_write_empty(empty, CoapType::kAck, 0x0bad));
  server_.send(client_, coap_write_empty(empty, CoapType::kRst, 0x0bae));
  // A Non-confirmable ping.
  server_.send(client_, coap_write_empty(empty, CoapType::kNon, 0x0baf));

  EXPECT_TRUE(answers_before_ping(0x7002).empty());
  const FleetSnapshot s = fleet_->snapshot();
  EXPECT_EQ(s.malformed_by[at(CoapParseError::kBadOption)], 1u);
  EXPECT_EQ(s.malformed_by[at(CoapParseError::kBadVersion)], 1u);
  EXPECT_EQ(s.malformed_by[at(CoapParseError::kTooShort)], 1u);
  EXPECT_EQ(s.malformed_by[at(CoapParseError::kTooLarge)], 2u);
  EXPECT_EQ(s.malformed, 5u);
  EXPECT_GE(s.unexpected, 2u);
  EXPECT_EQ(s.resets, 1u);  // the ping's
  // The device is still fine: it answers a Read.
  auto read = request(CoapCode::kGet, "3/0/0");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->message.code(), CoapCode::kContent);
}

TEST_F(UntrustedInput, ResponsesWithUnknownTokensOrCriticalOptionsAreRejected) {
  start();
  const uint8_t token[] = {1, 2, 3, 4, 5, 6, 7, 8};
  std::array<uint8_t, 64> buf;
  {
    // A separate response to nothing the device asked: Reset (RFC 7252 5.3.2).
    CoapWriter w(buf);
    w.header(CoapType::kCon, CoapCode::kContent, 0x2001, token);
    server_.send(client_, w.finish());
  }
  {
    // A Confirmable response with an unrecognised critical option (9): Reset (5.4.1).
    CoapWriter w(buf);
    w.header(CoapType::kCon, CoapCode::kChanged, 0x2002, token).option_uint(9, 1);
    server_.send(client_, w.finish());
  }
  {
    // The same piggybacked in an ACK: ignored.
    CoapWriter w(buf);
    w.header(CoapType::kAck, CoapCode::kChanged, 0x2003, token).option_uint(9, 1);
    server_.send(client_, w.finish());
  }
  const std::vector<Received> answers = answers_before_ping(0x7003);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].message.type(), CoapType::kRst);
  EXPECT_EQ(answers[0].message.message_id(), 0x2001);
  EXPECT_EQ(answers[1].message.type(), CoapType::kRst);
  EXPECT_EQ(answers[1].message.message_id(), 0x2002);
  const FleetSnapshot s = fleet_->snapshot();
  EXPECT_EQ(s.bad_option, 2u);
  EXPECT_EQ(s.resets, 3u);
  EXPECT_EQ(s.malformed, 0u);
}

TEST_F(UntrustedInput, RequestsWithUnknownCriticalOptionsGetBadOption) {
  start();
  std::array<uint8_t, 64> buf;
  const uint8_t token[] = {0x55};
  CoapWriter w(buf);
  w.header(CoapType::kCon, CoapCode::kGet, 0x3001, token)
      .option_path(CoapOption::kUriPath, "3/0/0")
      .option_uint(65001, 1);
  server_.send(client_, w.finish());
  auto answer = next([](const CoapMessage& m) { return m.message_id() == 0x3001; });
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->message.type(), CoapType::kAck);
  EXPECT_EQ(answer->message.code(), CoapCode::kBadOption);
}

TEST_F(UntrustedInput, AServerCannotGrowADeviceWithoutBound) {
  start();
  const DataModel model(builtin_profile(ObjectRegistry::builtin()), 0, 0);
  auto create = [&](uint16_t instance) {
    std::vector<uint8_t> tlv;
    const std::vector<Record> records{{{3303, instance, 5700}, 20.0}};
    EXPECT_TRUE(
        encode(CoapContentFormat::kLwm2mTlv, model.codec_context({3303}), records, &tlv).ok());
    auto created = request(CoapCode::kPost, "3303", {}, std::nullopt,
                           {reinterpret_cast<const char*>(tlv.data()), tlv.size()},
                           CoapContentFormat::kLwm2mTlv);
    return created ? created->message.code() : uint8_t{0};
  };
  uint16_t refused_at = 0;
  for (uint16_t instance = 10; instance < 4000 && refused_at == 0; ++instance) {
    const uint8_t code = create(instance);
    if (code == CoapCode::kInternalServerError) {
      refused_at = instance;
    } else {
      ASSERT_EQ(code, CoapCode::kCreated) << instance;
    }
  }
  ASSERT_NE(refused_at, 0) << "4,000 instances created";
  // The store's vectors grow by doubling, so the last Create that fit may have doubled them.
  const uint64_t full = fleet_->snapshot().client_data_bytes;
  EXPECT_LE(full, 2u * 64 * 1024 + 4096);
  for (uint16_t instance = refused_at; instance < refused_at + 10; ++instance) {
    EXPECT_EQ(create(instance), CoapCode::kInternalServerError);
  }
  EXPECT_EQ(fleet_->snapshot().client_data_bytes, full);
  // Deleting still works, and makes room again.
  EXPECT_EQ(request(CoapCode::kDelete, "3303/10")->message.code(), CoapCode::kDeleted);
  EXPECT_EQ(request(CoapCode::kDelete, "3303/11")->message.code(), CoapCode::kDeleted);
  EXPECT_EQ(request(CoapCode::kGet, "3/0/0")->message.code(), CoapCode::kContent);
}

}  // namespace lwm2msim::testing
