// The client state machine on an injected clock: no sockets, no threads.
#include "sim/client/virtual_client.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "tests/support/manual_client_env.h"

namespace lwm2msim {
namespace {

// Client 0 is dev-007, with a lifetime of 100 s.
class FakeEnv final : public ManualClientEnv {
 public:
  FakeEnv() : ManualClientEnv("dev-%03d", 100, 7, 42) {}

  CoapMessage last(size_t back = 0) {
    CoapMessage m;
    EXPECT_EQ(m.parse(sent_.at(sent_.size() - 1 - back).bytes), CoapParseError::kOk);
    return m;
  }

  // Feeds a piggybacked response to the last request.
  void respond(VirtualClient& c, uint8_t code, std::string_view location = {}) {
    const CoapMessage req = last();
    std::array<uint8_t, 256> buf;
    CoapWriter w(buf);
    w.header(CoapType::kAck, code, req.message_id(), req.token());
    if (!location.empty()) {
      w.option_path(CoapOption::kLocationPath, location);
    }
    deliver(c, w.finish());
  }

  void deliver(VirtualClient& c, std::span<const uint8_t> bytes) {
    inbox_.emplace_back(bytes.begin(), bytes.end());
    CoapMessage m;
    ASSERT_EQ(m.parse(inbox_.back()), CoapParseError::kOk);
    c.on_response(*this, 0, m);
  }

  std::vector<std::vector<uint8_t>> inbox_;
};

TEST(VirtualClient, RegistersWithTheLinkFormatPayloadAndKeepsTheLocation) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 5 * kUsPerSec);
  EXPECT_EQ(env.timer_, 5 * kUsPerSec);
  ASSERT_TRUE(env.fire(c));
  ASSERT_EQ(env.sent_.size(), 1u);
  const CoapMessage reg = env.last();
  EXPECT_EQ(reg.type(), CoapType::kCon);
  EXPECT_EQ(reg.code(), CoapCode::kPost);
  std::array<char, 128> buf;
  EXPECT_EQ(reg.join(CoapOption::kUriPath, buf), "rd");
  EXPECT_EQ(reg.join(CoapOption::kUriQuery, buf), "ep=dev-007/lt=100/lwm2m=1.1/b=U");
  EXPECT_EQ(reg.find(CoapOption::kContentFormat)->as_uint(), CoapContentFormat::kLinkFormat);
  const auto p = reg.payload();
  EXPECT_EQ(std::string(p.begin(), p.end()), "</>;rt=\"oma.lwm2m\",</1/0>,</3/0>");

  env.clock_.advance(1500);
  env.respond(c, CoapCode::kCreated, "rd/abc");
  EXPECT_EQ(c.state(), ClientState::kRegistered);
  EXPECT_EQ(c.location(), "rd/abc");
  EXPECT_EQ(env.stats_.register_ok.value(), 1u);
  EXPECT_EQ(env.stats_.register_latency.snapshot().max(), 1500u);
  // The Update is due a tenth of the lifetime before it runs out.
  EXPECT_EQ(*env.timer_, env.clock_.now() + 90 * kUsPerSec);
}

TEST(VirtualClient, ALocationOfMoreSegmentsThanAnUpdateCanCarryFailsTheRegister) {
  // One Location-Path option holding "rd/x/x/..." once became 40 Uri-Path options in every
  // Update: more than a CoAP parser takes.
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  ASSERT_TRUE(env.fire(c));
  std::string location = "rd";
  for (int i = 0; i < 39; ++i) {
    location += "/x";
  }
  const CoapMessage req = env.last();
  std::array<uint8_t, 256> buf;
  CoapWriter w(buf);
  w.header(CoapType::kAck, CoapCode::kCreated, req.message_id(), req.token());
  w.option(CoapOption::kLocationPath, location);
  env.deliver(c, w.finish());
  EXPECT_EQ(c.state(), ClientState::kBackoff);
  EXPECT_EQ(env.stats_.register_failed.value(), 1u);
}

TEST(VirtualClient, RetransmitsWithDoublingTimeoutsThenBacksOff) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  ASSERT_TRUE(env.fire(c));
  const uint16_t mid = env.last().message_id();
  const TimeUs first = *env.timer_;
  EXPECT_GE(first, 2 * kUsPerSec);
  EXPECT_LE(first, 3 * kUsPerSec);
  std::vector<TimeUs> gaps;
  TimeUs previous = 0;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(env.fire(c));
    gaps.push_back(env.clock_.now() - previous);
    previous = env.clock_.now();
    EXPECT_EQ(env.last().message_id(), mid) << "a retransmission keeps its message id";
  }
  EXPECT_EQ(env.sent_.size(), 5u);  // 1 + MAX_RETRANSMIT
  EXPECT_EQ(gaps[0], first);
  for (size_t i = 1; i < gaps.size(); ++i) {
    EXPECT_EQ(gaps[i], gaps[i - 1] * 2);
  }
  // The last timeout ends the exchange: total wait is MAX_TRANSMIT_WAIT-shaped (31 x initial).
  ASSERT_TRUE(env.fire(c));
  EXPECT_EQ(env.clock_.now(), first * 31);
  EXPECT_EQ(c.state(), ClientState::kBackoff);
  EXPECT_EQ(env.stats_.timeouts.value(), 1u);
  EXPECT_EQ(env.stats_.retransmissions.value(), 4u);
  // Backoff after the first failure is drawn from [base/2, base].
  const TimeUs wait = *env.timer_ - env.clock_.now();
  EXPECT_GE(wait, env.config_.backoff_base / 2);
  EXPECT_LE(wait, env.config_.backoff_base);
  ASSERT_TRUE(env.fire(c));
  EXPECT_EQ(c.state(), ClientState::kRegistering);
  EXPECT_NE(env.last().message_id(), mid);
}

TEST(VirtualClient, BackoffGrowsExponentiallyUpToTheCap) {
  FakeEnv env;
  env.config_.coap.max_retransmit = 0;
  env.config_.backoff_base = 1 * kUsPerSec;
  env.config_.backoff_max = 8 * kUsPerSec;
  VirtualClient c;
  c.start(env, 0, 0);
  ASSERT_TRUE(env.fire(c));
  for (int failure = 1; failure <= 6; ++failure) {
    ASSERT_TRUE(env.fire(c));  // timeout
    ASSERT_EQ(c.state(), ClientState::kBackoff);
    const TimeUs cap = std::min<TimeUs>(8 * kUsPerSec, kUsPerSec << (failure - 1));
    const TimeUs wait = *env.timer_ - env.clock_.now();
    EXPECT_GE(wait, cap / 2) << failure;
    EXPECT_LE(wait, cap) << failure;
    ASSERT_TRUE(env.fire(c));  // next Register
  }
}

TEST(VirtualClient, UpdateNotFoundRegistersAgainAtOnce) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  env.fire(c);
  env.respond(c, CoapCode::kCreated, "rd/1");
  ASSERT_TRUE(env.fire(c));
  const CoapMessage update = env.last();
  std::array<char, 64> buf;
  EXPECT_EQ(update.code(), CoapCode::kPost);
  EXPECT_EQ(update.join(CoapOption::kUriPath, buf), "rd/1");
  EXPECT_TRUE(update.payload().empty());
  env.respond(c, CoapCode::kNotFound);
  EXPECT_EQ(c.state(), ClientState::kRegistering);
  EXPECT_EQ(env.last().join(CoapOption::kUriPath, buf), "rd");
  EXPECT_EQ(env.stats_.update_not_found.value(), 1u);
}

TEST(VirtualClient, SeparateResponseIsAcknowledgedAndCompletesTheExchange) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  env.fire(c);
  const CoapMessage reg = env.last();
  std::array<uint8_t, 4> ack;
  env.deliver(c, coap_write_empty(ack, CoapType::kAck, reg.message_id()));
  EXPECT_EQ(c.state(), ClientState::kRegistering);
  EXPECT_EQ(*env.timer_, env.clock_.now() + env.config_.separate_response_timeout);
  std::array<uint8_t, 64> buf;
  CoapWriter w(buf);
  w.header(CoapType::kCon, CoapCode::kCreated, 0x4444, reg.token())
      .option_path(CoapOption::kLocationPath, "rd/9");
  env.deliver(c, w.finish());
  EXPECT_EQ(c.state(), ClientState::kRegistered);
  const CoapMessage sent_ack = env.last();
  EXPECT_EQ(sent_ack.type(), CoapType::kAck);
  EXPECT_EQ(sent_ack.message_id(), 0x4444);
  // The same CON again (our ACK was lost) is acknowledged again, and changes nothing.
  env.deliver(c, w.finish());
  EXPECT_EQ(env.last().type(), CoapType::kAck);
  EXPECT_EQ(env.stats_.register_ok.value(), 1u);
}

TEST(VirtualClient, StopDeregistersAndEndsStopped) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  env.fire(c);
  env.respond(c, CoapCode::kCreated, "rd/2");
  c.stop(env, 0);
  EXPECT_EQ(c.state(), ClientState::kDeregistering);
  const CoapMessage del = env.last();
  std::array<char, 64> buf;
  EXPECT_EQ(del.code(), CoapCode::kDelete);
  EXPECT_EQ(del.join(CoapOption::kUriPath, buf), "rd/2");
  env.respond(c, CoapCode::kDeleted);
  EXPECT_EQ(c.state(), ClientState::kStopped);
  EXPECT_FALSE(env.timer_.has_value());
  EXPECT_EQ(env.stats_.deregister_ok.value(), 1u);
}

TEST(VirtualClient, StopDuringRegisteringDeregistersOnceRegistered) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  env.fire(c);
  c.stop(env, 0);
  EXPECT_EQ(c.state(), ClientState::kRegistering);
  env.respond(c, CoapCode::kCreated, "rd/3");
  EXPECT_EQ(c.state(), ClientState::kDeregistering);
  env.respond(c, CoapCode::kDeleted);
  EXPECT_EQ(c.state(), ClientState::kStopped);
}

TEST(VirtualClient, ResponsesThatMatchNothingAreCountedAndIgnored) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  env.fire(c);
  const CoapMessage reg = env.last();
  std::array<uint8_t, 64> buf;
  CoapWriter w(buf);
  const uint8_t wrong_token[] = {1, 2, 3, 4};
  w.header(CoapType::kAck, CoapCode::kCreated, reg.message_id(), wrong_token)
      .option_path(CoapOption::kLocationPath, "rd/4");
  env.deliver(c, w.finish());
  EXPECT_EQ(c.state(), ClientState::kRegistering);
  EXPECT_EQ(env.stats_.unexpected.value(), 1u);
  std::array<uint8_t, 4> rst;
  env.deliver(c,
              coap_write_empty(rst, CoapType::kRst, static_cast<uint16_t>(reg.message_id() + 1)));
  EXPECT_EQ(c.state(), ClientState::kRegistering);
  EXPECT_EQ(env.stats_.unexpected.value(), 2u);
}

TEST(VirtualClient, RequestedUpdateCarriesNewLifetimeAndLinks) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  ASSERT_TRUE(env.fire(c));
  env.respond(c, CoapCode::kCreated, "rd/7");
  ASSERT_EQ(c.state(), ClientState::kRegistered);

  // A server wrote a new lifetime and created an instance: the Update goes out at once.
  env.lifetime_ = 60;
  env.links_ = "</>;rt=\"oma.lwm2m\",</1/0>,</3/0>,</3303/1>";
  c.request_update(env, 0, true, true);
  EXPECT_EQ(c.state(), ClientState::kUpdating);
  const CoapMessage update = env.last();
  std::array<char, 128> buf;
  EXPECT_EQ(update.join(CoapOption::kUriPath, buf), "rd/7");
  EXPECT_EQ(update.join(CoapOption::kUriQuery, buf), "lt=60");
  const auto p = update.payload();
  EXPECT_EQ(std::string(p.begin(), p.end()), env.links_);
  env.respond(c, CoapCode::kChanged);
  EXPECT_EQ(c.state(), ClientState::kRegistered);
  // The next regular Update follows the new lifetime and carries neither.
  EXPECT_EQ(*env.timer_, env.clock_.now() + 54 * kUsPerSec);
  ASSERT_TRUE(env.fire(c));
  EXPECT_EQ(env.last().find(CoapOption::kUriQuery), nullptr);
  EXPECT_TRUE(env.last().payload().empty());
}

TEST(VirtualClient, UpdateRequestedDuringAnUpdateFollowsIt) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  ASSERT_TRUE(env.fire(c));
  env.respond(c, CoapCode::kCreated, "rd/7");
  c.request_update(env, 0, false, false);
  const size_t sent = env.sent_.size();
  c.request_update(env, 0, false, false);
  EXPECT_EQ(env.sent_.size(), sent);  // one exchange at a time
  env.respond(c, CoapCode::kChanged);
  EXPECT_EQ(c.state(), ClientState::kUpdating);
  EXPECT_EQ(env.sent_.size(), sent + 1);
}

TEST(VirtualClient, RebootDropsTheRegistrationSilentlyAndRegistersAgain) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  ASSERT_TRUE(env.fire(c));
  env.respond(c, CoapCode::kCreated, "rd/7");
  const size_t sent = env.sent_.size();
  c.reboot(env, 0, env.clock_.now() + 5 * kUsPerSec);
  EXPECT_EQ(c.state(), ClientState::kIdle);
  EXPECT_EQ(c.location(), "");
  EXPECT_EQ(env.sent_.size(), sent);  // no De-register: the device just went down
  EXPECT_EQ(*env.timer_, env.clock_.now() + 5 * kUsPerSec);
  ASSERT_TRUE(env.fire(c));
  EXPECT_EQ(c.state(), ClientState::kRegistering);
  std::array<char, 128> buf;
  EXPECT_EQ(env.last().join(CoapOption::kUriPath, buf), "rd");
}

TEST(VirtualClient, RetireDeregistersAndEndsIdleReadyToStartAgain) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  EXPECT_FALSE(c.idle());  // its Register is scheduled
  ASSERT_TRUE(env.fire(c));
  env.respond(c, CoapCode::kCreated, "rd/7");
  c.retire(env, 0, false);
  EXPECT_EQ(c.state(), ClientState::kDeregistering);
  EXPECT_EQ(env.last().code(), CoapCode::kDelete);
  env.respond(c, CoapCode::kDeleted);
  EXPECT_EQ(c.state(), ClientState::kIdle);
  EXPECT_TRUE(c.idle());
  EXPECT_FALSE(env.timer_.has_value());
  c.start(env, 0, env.clock_.now());
  ASSERT_TRUE(env.fire(c));
  EXPECT_EQ(c.state(), ClientState::kRegistering);
}

TEST(VirtualClient, CycleRegistersAgainRightAfterTheDeregister) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  ASSERT_TRUE(env.fire(c));
  c.retire(env, 0, true);  // while Registering: waits for the 2.01
  EXPECT_EQ(c.state(), ClientState::kRegistering);
  env.respond(c, CoapCode::kCreated, "rd/7");
  EXPECT_EQ(c.state(), ClientState::kDeregistering);
  env.respond(c, CoapCode::kDeleted);
  EXPECT_EQ(c.state(), ClientState::kIdle);
  EXPECT_FALSE(c.idle());
  ASSERT_TRUE(env.fire(c));
  EXPECT_EQ(c.state(), ClientState::kRegistering);
  std::array<char, 64> buf;
  EXPECT_EQ(env.last().join(CoapOption::kUriPath, buf), "rd");
}

TEST(VirtualClient, StopWinsOverRetire) {
  FakeEnv env;
  VirtualClient c;
  c.start(env, 0, 0);
  ASSERT_TRUE(env.fire(c));
  env.respond(c, CoapCode::kCreated, "rd/7");
  c.retire(env, 0, true);
  c.stop(env, 0);
  env.respond(c, CoapCode::kDeleted);
  EXPECT_EQ(c.state(), ClientState::kStopped);
}

TEST(VirtualClient, IsSmall) {
  EXPECT_LE(sizeof(VirtualClient), 80u);
}

}  // namespace
}  // namespace lwm2msim
