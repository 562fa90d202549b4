// Observations, notifications, Send, Reboot and lifetime changes of a real fleet, driven by a
// hand-written server socket that decides every answer.
#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/dm/data_model.h"
#include "sim/dm/notification.h"
#include "sim/fleet/fleet.h"
#include "sim/format/format.h"
#include "tests/integration/hand_driven.h"

namespace lwm2msim {
namespace {

using std::chrono::seconds;
using testing::is_notification;

constexpr std::string_view kSendingProfile = R"(name: sender
send:
  period: 1s
  paths: [/3/0/9, /3303/0/5700]
  format: 112
objects:
  3:
    0: {9: 77}
  3303:
    0: {5700: 21.5}
)";

class Reporting : public testing::HandDriven {};

TEST_F(Reporting, AttributesDriveNotificationsUntilTheServerAnswersRst) {
  start();
  auto attrs = request(CoapCode::kPut, "3/0/13", {"pmin=1", "pmax=2"});
  ASSERT_TRUE(attrs.has_value());
  EXPECT_EQ(attrs->message.code(), CoapCode::kChanged);
  auto observed = request(CoapCode::kGet, "3/0/13", {}, 0u);
  ASSERT_TRUE(observed.has_value());
  ASSERT_EQ(observed->message.code(), CoapCode::kContent);
  ASSERT_NE(observed->message.find(CoapOption::kObserve), nullptr);
  uint32_t last = observed->message.find(CoapOption::kObserve)->as_uint();
  const CoapToken token = observed->message.token_value();
  // The current time changes every second: with pmin 1 s notifications keep coming, each CON
  // (notify_con_every = 1) with a fresher Observe number.
  for (int i = 0; i < 2; ++i) {
    auto n = next(is_notification);
    ASSERT_TRUE(n.has_value()) << "notification " << i;
    EXPECT_EQ(n->message.type(), CoapType::kCon);
    EXPECT_EQ(n->message.token_value(), token);
    const uint32_t seq = n->message.find(CoapOption::kObserve)->as_uint();
    EXPECT_TRUE(observe_is_fresher(last, 0, seq, 0)) << last << " then " << seq;
    last = seq;
    ack(n->message);
  }
  auto n = next(is_notification);
  ASSERT_TRUE(n.has_value());
  std::array<uint8_t, 4> buf;
  server_.send(client_, coap_write_empty(buf, CoapType::kRst, n->message.message_id()));
  // RFC 7641 3.6: after the RST the observation is gone.
  ASSERT_TRUE(testing::eventually([&] { return fleet_->snapshot().observations_cancelled == 1; },
                                  seconds(5)));
  EXPECT_FALSE(next(is_notification).has_value());
  EXPECT_GE(fleet_->snapshot().notifications_con, 3u);
}

TEST_F(Reporting, UnacknowledgedConNotificationIsRetransmitted) {
  // Retransmission within the fake server's 2 s receive timeout.
  start([](FleetConfig& c) { c.client.coap.ack_timeout = 400 * kUsPerMs; });
  // A constant value notifies only at pmax.
  ASSERT_EQ(request(CoapCode::kPut, "3/0/0", {"pmax=1"})->message.code(), CoapCode::kChanged);
  ASSERT_EQ(request(CoapCode::kGet, "3/0/0", {}, 0u)->message.code(), CoapCode::kContent);
  auto first = next(is_notification);
  ASSERT_TRUE(first.has_value());
  auto again = next(is_notification);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->message.message_id(), first->message.message_id());
  EXPECT_EQ(again->bytes, first->bytes);
  ack(again->message);
  EXPECT_GE(fleet_->snapshot().retransmissions, 1u);
}

TEST_F(Reporting, RebootDropsObservationsAndRegistersAgain) {
  start();
  ASSERT_EQ(request(CoapCode::kGet, "3/0/13", {}, 0u)->message.code(), CoapCode::kContent);
  auto executed = request(CoapCode::kPost, "3/0/4");
  ASSERT_TRUE(executed.has_value());
  EXPECT_EQ(executed->message.code(), CoapCode::kChanged);
  accept_register();
  const FleetSnapshot s = fleet_->snapshot();
  EXPECT_EQ(s.reboots, 1u);
  EXPECT_EQ(s.register_ok, 2u);
  EXPECT_EQ(s.deregister_sent, 0u);  // a reboot does not de-register
}

TEST_F(Reporting, NewLifetimeAndNewInstancesAreAnnouncedInAnUpdate) {
  start();
  auto written = request(CoapCode::kPut, "1/0/1", {}, std::nullopt, "45", 0);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(written->message.code(), CoapCode::kChanged);
  auto update = next([](const CoapMessage& m) {
    std::array<char, 64> buf;
    return m.code() == CoapCode::kPost && m.join(CoapOption::kUriPath, buf) == "rd/5";
  });
  ASSERT_TRUE(update.has_value());
  std::array<char, 64> q;
  EXPECT_EQ(update->message.join(CoapOption::kUriQuery, q), "lt=45");
  EXPECT_TRUE(update->message.payload().empty());
  std::array<uint8_t, 32> buf;
  CoapWriter w(buf);
  w.header(CoapType::kAck, CoapCode::kChanged, update->message.message_id(),
           update->message.token());
  server_.send(client_, w.finish());

  // Create of a Temperature instance: the Update carries the new object links.
  std::vector<uint8_t> tlv;
  const DataModel model(builtin_profile(ObjectRegistry::builtin()), 0, 0);
  const std::vector<Record> records{{{3303, 4, 5700}, 20.0}};
  ASSERT_TRUE(
      encode(CoapContentFormat::kLwm2mTlv, model.codec_context({3303}), records, &tlv).ok());
  auto created = request(CoapCode::kPost, "3303", {}, std::nullopt,
                         {reinterpret_cast<const char*>(tlv.data()), tlv.size()},
                         CoapContentFormat::kLwm2mTlv);
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(created->message.code(), CoapCode::kCreated);
  auto links_update = next([](const CoapMessage& m) {
    std::array<char, 64> b;
    return m.code() == CoapCode::kPost && m.join(CoapOption::kUriPath, b) == "rd/5";
  });
  ASSERT_TRUE(links_update.has_value());
  const auto p = links_update->message.payload();
  const std::string links(p.begin(), p.end());
  EXPECT_NE(links.find("</3303/4>"), std::string::npos) << links;
}

TEST_F(Reporting, SendPostsTheProfilePathsAsSenmlCbor) {
  auto profile = std::make_shared<Profile>();
  ASSERT_EQ(load_profile_text(kSendingProfile, "send.yaml", ".", ObjectRegistry::builtin(),
                              profile.get()),
            "");
  start([&](FleetConfig& c) { c.profile = profile; });
  auto dp = next([](const CoapMessage& m) {
    std::array<char, 16> buf;
    return m.code() == CoapCode::kPost && m.join(CoapOption::kUriPath, buf) == "dp";
  });
  ASSERT_TRUE(dp.has_value());
  EXPECT_EQ(dp->message.type(), CoapType::kCon);
  EXPECT_EQ(dp->message.find(CoapOption::kContentFormat)->as_uint(), CoapContentFormat::kSenmlCbor);
  const DataModel model(profile, 0, 0);
  std::vector<Record> records;
  ASSERT_TRUE(decode(CoapContentFormat::kSenmlCbor, model.codec_context({}), dp->message.payload(),
                     &records)
                  .ok());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].path, (Lwm2mPath{3, 0, 9}));
  EXPECT_EQ(records[0].value, Value{int64_t{77}});
  EXPECT_EQ(records[1].value, Value{21.5});
  std::array<uint8_t, 32> buf;
  CoapWriter w(buf);
  w.header(CoapType::kAck, CoapCode::kChanged, dp->message.message_id(), dp->message.token());
  server_.send(client_, w.finish());
  ASSERT_TRUE(testing::eventually([&] { return fleet_->snapshot().sends_ok >= 1; }, seconds(5)));
}

}  // namespace
}  // namespace lwm2msim
