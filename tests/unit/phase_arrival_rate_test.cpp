#include <gtest/gtest.h>

#include "sim/phase/executors.h"
#include "tests/unit/phase_fixtures.h"

namespace lwm2msim {
namespace {

using testing::FakeTarget;
using testing::spec;

TEST(ArrivalRatePhase, ArrivalsComeOnScheduleSplitAcrossWorkers) {
  // 4 arrivals per second for 2 s = 8 arrivals; worker 1 of 2 takes arrivals 1, 3, 5, 7.
  PhaseSpec s = spec(PhaseType::kArrivalRate, 2 * kUsPerSec, 100);
  s.rate = 4;
  FakeTarget t(2, 1, 50);
  ArrivalRateExecutor e(s, 2, 1);
  t.run(e, 0, 10 * kUsPerSec);
  ASSERT_EQ(t.log_.size(), 4u);
  EXPECT_EQ(t.log_[0].due, 250 * kUsPerMs);
  EXPECT_EQ(t.log_[3].due, 1750 * kUsPerMs);
  EXPECT_EQ(t.dropped_, 0u);
}

TEST(ArrivalRatePhase, ArrivalsWithoutAnIdleDeviceAreDroppedNotDelayed) {
  PhaseSpec s = spec(PhaseType::kArrivalRate, kUsPerSec, 3);
  s.rate = 10;
  FakeTarget t(1, 0, 3);
  ArrivalRateExecutor e(s, 1, 0);
  t.run(e, 0, 10 * kUsPerSec);
  EXPECT_EQ(t.log_.size(), 3u);
  EXPECT_EQ(t.dropped_, 7u);
  // The three that started did so at their own arrival times.
  EXPECT_EQ(t.log_[2].due, 200 * kUsPerMs);
}

TEST(ArrivalRatePhase, RetiredDevicesAreFoundAgain) {
  PhaseSpec s = spec(PhaseType::kArrivalRate, kUsPerSec, 2);
  s.rate = 4;
  FakeTarget t(1, 0, 2);
  ArrivalRateExecutor e(s, 1, 0);
  e.begin(t, 0);
  e.advance(t, 300 * kUsPerMs);  // arrivals at 0 and 250 ms start both devices
  EXPECT_EQ(t.log_.size(), 2u);
  t.retire_device(0, 400 * kUsPerMs);
  e.advance(t, 600 * kUsPerMs);  // arrival at 500 ms takes device 0 again
  EXPECT_EQ(t.log_.back().what, 's');
  EXPECT_EQ(t.log_.back().local, 0u);
  e.advance(t, 800 * kUsPerMs);  // arrival at 750 ms: nobody idle
  EXPECT_EQ(t.dropped_, 1u);
}

}  // namespace
}  // namespace lwm2msim
