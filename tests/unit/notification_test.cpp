#include "sim/dm/notification.h"

#include <gtest/gtest.h>

#include <vector>

namespace lwm2msim {
namespace {

constexpr TimeUs kSec = kUsPerSec;
constexpr TimeUs kConstant = kNoCheck;  // the value never changes by itself

// Drives one observation on a ManualClock, as a worker would.
class Observation {
 public:
  explicit Observation(NotificationAttributes attrs, TimeUs sample_period = kConstant)
      : attrs_(attrs), period_(sample_period) {
    state_.reset(sample());
  }

  void set_number(double v) {
    number_ = v;
    digest_ = static_cast<uint64_t>(v * 1000) + 1;
  }
  void set_digest(uint64_t d) {
    digest_ = d;
    number_.reset();
  }
  void at(TimeUs t) { clock_.set(t); }
  NotifyDecision check() {
    last_ = decide(attrs_, &state_, sample(), period_);
    return last_;
  }
  // check() at time t.
  NotifyDecision check_at(TimeUs t) {
    at(t);
    return check();
  }
  const NotificationState& state() const { return state_; }

 private:
  ObservedSample sample() const { return {clock_.now(), digest_, number_}; }

  NotificationAttributes attrs_;
  TimeUs period_;
  ManualClock clock_;
  NotificationState state_;
  NotifyDecision last_;
  uint64_t digest_ = 1;
  std::optional<double> number_ = 0.0;
};

NotificationAttributes periods(uint32_t pmin, std::optional<uint32_t> pmax) {
  NotificationAttributes a;
  a.set_pmin(pmin);
  if (pmax) {
    a.set_pmax(*pmax);
  }
  return a;
}

TEST(Notification, StateStaysSmall) {
  EXPECT_LE(sizeof(NotificationState), 40u);
}

TEST(Notification, ResetCountsTheObserveAnswer) {
  NotificationState s;
  s.change_pending = true;
  s.reset({5 * kSec, 42, 3.5});
  EXPECT_EQ(s.last_notified_at, 5 * kSec);
  EXPECT_EQ(s.last_sampled_at, 5 * kSec);
  EXPECT_EQ(s.last_digest, 42u);
  EXPECT_TRUE(s.has_number);
  EXPECT_EQ(s.last_number, 3.5);
  EXPECT_FALSE(s.change_pending);
}

TEST(Notification, NoChangeNoAttributesNothingToDo) {
  Observation o(periods(0, std::nullopt));
  const auto d = o.check_at(10 * kSec);
  EXPECT_FALSE(d.notify);
  EXPECT_EQ(d.next_check, kNoCheck);
}

TEST(Notification, ChangeNotifiesAtOnceWithoutPmin) {
  Observation o(periods(0, std::nullopt));
  o.set_number(1);
  const auto d = o.check_at(3 * kSec);
  EXPECT_TRUE(d.notify);
  EXPECT_EQ(d.next_check, kNoCheck);
  EXPECT_EQ(o.state().last_notified_at, 3 * kSec);
  EXPECT_EQ(o.state().last_number, 1);
}

TEST(Notification, PminHoldsBackAChange) {
  Observation o(periods(10, std::nullopt));
  o.set_number(1);
  auto d = o.check_at(3 * kSec);
  EXPECT_FALSE(d.notify);
  EXPECT_EQ(d.next_check, 10 * kSec);
  EXPECT_TRUE(o.state().change_pending);
  // The value moves on before pmin; the notification carries the value current at pmin.
  o.set_number(2);
  d = o.check_at(7 * kSec);
  EXPECT_FALSE(d.notify);
  EXPECT_EQ(d.next_check, 10 * kSec);
  o.set_number(3);
  d = o.check_at(10 * kSec);
  EXPECT_TRUE(d.notify);
  EXPECT_EQ(o.state().last_number, 3);
  EXPECT_FALSE(o.state().change_pending);
  EXPECT_EQ(d.next_check, kNoCheck);
  // A change after pmin has passed notifies at once.
  o.set_number(4);
  d = o.check_at(25 * kSec);
  EXPECT_TRUE(d.notify);
}

TEST(Notification, PmaxForcesANotificationWithoutChange) {
  Observation o(periods(0, 60));
  auto d = o.check_at(30 * kSec);
  EXPECT_FALSE(d.notify);
  EXPECT_EQ(d.next_check, 60 * kSec);
  d = o.check_at(60 * kSec);
  EXPECT_TRUE(d.notify);
  EXPECT_EQ(d.next_check, 120 * kSec);
  // A change in between restarts the pmax period from that notification.
  o.set_number(9);
  d = o.check_at(100 * kSec);
  EXPECT_TRUE(d.notify);
  EXPECT_EQ(d.next_check, 160 * kSec);
}

TEST(Notification, PmaxIgnoredWhenZeroOrBelowPmin) {
  Observation zero(periods(0, 0));
  EXPECT_FALSE(zero.check_at(1000 * kSec).notify);
  EXPECT_EQ(zero.check_at(2000 * kSec).next_check, kNoCheck);

  Observation below(periods(30, 10));
  auto d = below.check_at(10 * kSec);
  EXPECT_FALSE(d.notify);
  EXPECT_EQ(d.next_check, kNoCheck);
  EXPECT_FALSE(below.check_at(500 * kSec).notify);
  // pmin still applies.
  below.set_number(1);
  d = below.check_at(501 * kSec);
  EXPECT_TRUE(d.notify);
  below.set_number(2);
  d = below.check_at(502 * kSec);
  EXPECT_FALSE(d.notify);
  EXPECT_EQ(d.next_check, 531 * kSec);
}

TEST(Notification, PmaxEqualToPminIsUsed) {
  Observation o(periods(20, 20));
  auto d = o.check_at(1 * kSec);
  EXPECT_EQ(d.next_check, 20 * kSec);
  EXPECT_TRUE(o.check_at(20 * kSec).notify);
}

TEST(Notification, GreaterThanCrossingBothWays) {
  NotificationAttributes a;
  a.set_gt(25);
  // The Observe answer (0) is the first notified value.
  Observation obs(a);
  obs.set_number(10);
  EXPECT_FALSE(obs.check_at(1 * kSec).notify);  // 0 -> 10: same side
  obs.set_number(25);
  EXPECT_FALSE(obs.check_at(2 * kSec).notify);  // 25 is not above 25
  obs.set_number(25.5);
  EXPECT_TRUE(obs.check_at(3 * kSec).notify);  // crossed upwards
  obs.set_number(40);
  EXPECT_FALSE(obs.check_at(4 * kSec).notify);  // still above
  obs.set_number(30);
  EXPECT_FALSE(obs.check_at(5 * kSec).notify);
  obs.set_number(25);
  EXPECT_TRUE(obs.check_at(6 * kSec).notify);  // crossed downwards
  obs.set_number(-100);
  EXPECT_FALSE(obs.check_at(7 * kSec).notify);
}

TEST(Notification, LessThanCrossingBothWays) {
  NotificationAttributes a;
  a.set_lt(-3);
  Observation o(a);
  o.set_number(-2);
  EXPECT_FALSE(o.check_at(1 * kSec).notify);
  o.set_number(-3);
  EXPECT_FALSE(o.check_at(2 * kSec).notify);  // -3 is not below -3
  o.set_number(-3.5);
  EXPECT_TRUE(o.check_at(3 * kSec).notify);
  o.set_number(-10);
  EXPECT_FALSE(o.check_at(4 * kSec).notify);
  o.set_number(0);
  EXPECT_TRUE(o.check_at(5 * kSec).notify);
}

TEST(Notification, CrossingComparesWithTheLastNotifiedValue) {
  NotificationAttributes a;
  a.set_gt(10);
  a.set_pmin(5);
  Observation o(a);
  o.set_number(11);
  auto d = o.check_at(1 * kSec);
  EXPECT_FALSE(d.notify);
  EXPECT_EQ(d.next_check, 5 * kSec);
  // Back below before pmin: the crossing stays pending and is reported at pmin.
  o.set_number(9);
  EXPECT_FALSE(o.check_at(2 * kSec).notify);
  d = o.check_at(5 * kSec);
  EXPECT_TRUE(d.notify);
  EXPECT_EQ(o.state().last_number, 9);
}

TEST(Notification, StepNotifiesOnLargeEnoughMoves) {
  NotificationAttributes a;
  a.set_st(0.5);
  Observation o(a);
  o.set_number(0.25);
  EXPECT_FALSE(o.check_at(1 * kSec).notify);
  o.set_number(0.49);
  EXPECT_FALSE(o.check_at(2 * kSec).notify);  // small steps do not add up...
  o.set_number(0.5);
  EXPECT_TRUE(o.check_at(3 * kSec).notify);  // ...but the distance from the last notified does
  o.set_number(0.1);
  EXPECT_FALSE(o.check_at(4 * kSec).notify);
  o.set_number(0);
  EXPECT_TRUE(o.check_at(5 * kSec).notify);  // downwards too
}

TEST(Notification, AnySetConditionSuffices) {
  NotificationAttributes a;
  a.set_gt(100);
  a.set_lt(0);
  a.set_st(10);
  Observation o(a);
  o.set_number(50);
  EXPECT_TRUE(o.check_at(1 * kSec).notify);  // step only
  o.set_number(55);
  EXPECT_FALSE(o.check_at(2 * kSec).notify);  // none
  o.set_number(101);
  EXPECT_TRUE(o.check_at(3 * kSec).notify);  // gt and step
  o.set_number(100);
  EXPECT_TRUE(o.check_at(4 * kSec).notify);  // gt only (a step of 1)
  o.set_number(95);
  EXPECT_FALSE(o.check_at(5 * kSec).notify);
  o.set_number(-1);
  EXPECT_TRUE(o.check_at(6 * kSec).notify);  // lt and step
}

TEST(Notification, ConditionsDoNotStopPmax) {
  NotificationAttributes a;
  a.set_gt(100);
  a.set_pmax(30);
  Observation o(a);
  o.set_number(5);
  auto d = o.check_at(10 * kSec);
  EXPECT_FALSE(d.notify);
  EXPECT_EQ(d.next_check, 30 * kSec);
  d = o.check_at(30 * kSec);
  EXPECT_TRUE(d.notify);
  EXPECT_EQ(o.state().last_number, 5);
}

TEST(Notification, EdgeNotifiesOnTheChosenTransition) {
  NotificationAttributes rising;
  rising.set_edge(true);
  Observation o(rising);
  o.set_number(1);
  EXPECT_TRUE(o.check_at(1 * kSec).notify);
  o.set_number(0);
  EXPECT_FALSE(o.check_at(2 * kSec).notify);
  o.set_number(1);
  EXPECT_TRUE(o.check_at(3 * kSec).notify);

  NotificationAttributes falling;
  falling.set_edge(false);
  Observation f(falling);
  f.set_number(1);
  EXPECT_FALSE(f.check_at(1 * kSec).notify);
  // The rising edge was not notified, yet the falling one after it counts.
  f.set_number(0);
  EXPECT_TRUE(f.check_at(2 * kSec).notify);
  f.set_number(1);
  EXPECT_FALSE(f.check_at(3 * kSec).notify);
}

TEST(Notification, DigestChangeForNonNumericTargets) {
  NotificationAttributes a;
  a.set_gt(5);  // does not apply to an instance
  a.set_pmin(2);
  Observation o(a);
  o.set_digest(7);
  auto d = o.check_at(1 * kSec);
  EXPECT_FALSE(d.notify);
  EXPECT_EQ(d.next_check, 2 * kSec);
  EXPECT_TRUE(o.check_at(2 * kSec).notify);
  EXPECT_FALSE(o.check_at(10 * kSec).notify);  // same digest
  o.set_digest(8);
  EXPECT_TRUE(o.check_at(11 * kSec).notify);
  EXPECT_EQ(o.state().last_digest, 8u);
  EXPECT_FALSE(o.state().has_number);
}

TEST(Notification, EpminAndEpmaxClampTheSampling) {
  NotificationAttributes a;
  a.set_epmin(5);
  a.set_epmax(20);
  // A 1 s default period is raised to epmin.
  Observation fast(a, 1 * kSec);
  EXPECT_EQ(fast.check_at(5 * kSec).next_check, 10 * kSec);
  EXPECT_EQ(fast.check_at(10 * kSec).next_check, 15 * kSec);
  // A 60 s default period is lowered to epmax.
  Observation slow(a, 60 * kSec);
  EXPECT_EQ(slow.check_at(5 * kSec).next_check, 25 * kSec);
  // A 12 s one stays.
  Observation mid(a, 12 * kSec);
  EXPECT_EQ(mid.check_at(5 * kSec).next_check, 17 * kSec);
  // A constant value is still sampled every epmax.
  Observation constant(a, kConstant);
  EXPECT_EQ(constant.check_at(5 * kSec).next_check, 25 * kSec);
  // An early call with an unchanged value is not an evaluation and moves nothing.
  EXPECT_EQ(constant.check_at(7 * kSec).next_check, 25 * kSec);
  Observation unset(periods(0, std::nullopt), 7 * kSec);
  EXPECT_EQ(unset.check_at(0).next_check, 7 * kSec);
}

TEST(Notification, EpminDefersEvaluation) {
  NotificationAttributes a;
  a.set_epmin(5);
  Observation o(a, kConstant);
  // A change reported 2 s after the last evaluation waits for epmin.
  o.set_number(1);
  auto d = o.check_at(2 * kSec);
  EXPECT_FALSE(d.notify);
  EXPECT_FALSE(o.state().change_pending);
  EXPECT_EQ(d.next_check, 5 * kSec);
  d = o.check_at(5 * kSec);
  EXPECT_TRUE(d.notify);
  EXPECT_EQ(d.next_check, kNoCheck);
}

TEST(Notification, EpmaxBelowEpminIgnored) {
  NotificationAttributes a;
  a.set_epmin(10);
  a.set_epmax(5);
  Observation o(a, 1 * kSec);
  EXPECT_EQ(o.check_at(10 * kSec).next_check, 20 * kSec);
}

TEST(Notification, NextCheckIsTheEarliestDeadline) {
  NotificationAttributes a = periods(10, 60);
  Observation o(a, 25 * kSec);
  // Sampling at 25 and pmax at 60.
  auto d = o.check_at(0);
  EXPECT_EQ(d.next_check, 25 * kSec);
  d = o.check_at(25 * kSec);
  EXPECT_FALSE(d.notify);
  EXPECT_EQ(d.next_check, 50 * kSec);
  d = o.check_at(50 * kSec);
  EXPECT_EQ(d.next_check, 60 * kSec);
  d = o.check_at(60 * kSec);
  EXPECT_TRUE(d.notify);
  EXPECT_EQ(d.next_check, 85 * kSec);  // next sample at 60 + 25
  // A change at 63: pending until 70, which comes before the next sample at 88.
  o.set_number(1);
  d = o.check_at(63 * kSec);
  EXPECT_FALSE(d.notify);
  EXPECT_EQ(d.next_check, 70 * kSec);
  d = o.check_at(70 * kSec);
  EXPECT_TRUE(d.notify);
  EXPECT_EQ(d.next_check, 95 * kSec);
  // A late call (the worker was busy) still schedules from now.
  d = o.check_at(200 * kSec);
  EXPECT_TRUE(d.notify);  // pmax overdue
  EXPECT_EQ(d.next_check, 225 * kSec);
}

TEST(Notification, NextCheckAlwaysInTheFuture) {
  NotificationAttributes a = periods(3, 17);
  a.set_epmin(2);
  a.set_epmax(11);
  a.set_st(1);
  Observation o(a, 1 * kSec);
  TimeUs t = 0;
  for (int i = 0; i < 200; ++i) {
    o.set_number(i % 7);
    const auto d = o.check_at(t);
    ASSERT_GT(d.next_check, t);
    ASSERT_NE(d.next_check, kNoCheck);
    t = d.next_check;
  }
}

TEST(Confirmable, EveryNth) {
  for (uint32_t n = 1; n <= 10; ++n) {
    EXPECT_FALSE(notification_is_confirmable(n, 0));
    EXPECT_TRUE(notification_is_confirmable(n, 1));
  }
  std::vector<uint32_t> con;
  for (uint32_t n = 1; n <= 10; ++n) {
    if (notification_is_confirmable(n, 3)) {
      con.push_back(n);
    }
  }
  EXPECT_EQ(con, (std::vector<uint32_t>{3, 6, 9}));
}

TEST(Confirmable, ConAttributeDecides) {
  NotificationAttributes a;
  EXPECT_TRUE(notification_is_confirmable(a, 3, 3));
  EXPECT_FALSE(notification_is_confirmable(a, 4, 3));
  a.set_con(true);
  EXPECT_TRUE(notification_is_confirmable(a, 4, 0));
  a.set_con(false);
  EXPECT_FALSE(notification_is_confirmable(a, 3, 1));
}

TEST(ObserveSequence, Wraps24Bits) {
  EXPECT_EQ(next_observe_sequence(0), 1u);
  EXPECT_EQ(next_observe_sequence(41), 42u);
  EXPECT_EQ(next_observe_sequence(0xFFFFFE), 0xFFFFFFu);
  EXPECT_EQ(next_observe_sequence(0xFFFFFF), 0u);
}

TEST(ObserveSequence, FreshnessPerRfc7641) {
  const TimeUs t = 1000 * kSec;
  // (V1 < V2 and V2 - V1 < 2^23)
  EXPECT_TRUE(observe_is_fresher(1, t, 2, t));
  EXPECT_TRUE(observe_is_fresher(0, t, (1u << 23) - 1, t));
  EXPECT_FALSE(observe_is_fresher(0, t, 1u << 23, t));
  // (V1 > V2 and V1 - V2 > 2^23): the wrap-around.
  EXPECT_TRUE(observe_is_fresher(0xFFFFFF, t, 0, t));
  EXPECT_TRUE(observe_is_fresher(0xFFFFF0, t, 5, t));
  EXPECT_FALSE(observe_is_fresher((1u << 23), t, 0, t));  // exactly 2^23 apart: neither
  EXPECT_TRUE(observe_is_fresher((1u << 23) + 1, t, 0, t));
  // Older or equal numbers are stale.
  EXPECT_FALSE(observe_is_fresher(2, t, 1, t));
  EXPECT_FALSE(observe_is_fresher(7, t, 7, t));
  EXPECT_FALSE(observe_is_fresher(0, t, 0xFFFFFF, t));
  // (T2 > T1 + 128 seconds) makes anything fresh.
  EXPECT_FALSE(observe_is_fresher(7, t, 3, t + 128 * kSec));
  EXPECT_TRUE(observe_is_fresher(7, t, 3, t + 128 * kSec + 1));
  EXPECT_TRUE(observe_is_fresher(7, t, 7, t + 200 * kSec));
}

}  // namespace
}  // namespace lwm2msim
