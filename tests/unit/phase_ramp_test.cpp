#include <gtest/gtest.h>

#include "sim/phase/executors.h"
#include "tests/unit/phase_fixtures.h"

namespace lwm2msim {
namespace {

using testing::FakeTarget;
using testing::spec;

TEST(RampPhase, StartsEachDeviceOnTheLineAcrossWorkers) {
  // 10 devices over 2 workers, 0 -> 10 in 10 s: device r starts at r seconds.
  PhaseSpec s = spec(PhaseType::kRamp, 10 * kUsPerSec, 10);
  s.to = 10;
  for (uint32_t w = 0; w < 2; ++w) {
    FakeTarget t(2, w, 5);
    RampExecutor e(s, 2, w);
    t.run(e, 100 * kUsPerSec, 200 * kUsPerSec);
    ASSERT_EQ(t.log_.size(), 5u);
    for (uint32_t k = 0; k < 5; ++k) {
      EXPECT_EQ(t.log_[k].what, 's');
      EXPECT_EQ(t.log_[k].local, k);
      // Fleet index k * 2 + w has rank k * 2 + w here.
      EXPECT_EQ(t.log_[k].due, (100 + k * 2 + w) * kUsPerSec);
    }
  }
}

TEST(RampPhase, ContinuesFromWhereThePreviousPhaseLeftOff) {
  PhaseSpec s = spec(PhaseType::kRamp, 4 * kUsPerSec, 8);
  s.from = 4;
  s.to = 8;
  FakeTarget t(1, 0, 8);
  RampExecutor e(s, 1, 0);
  t.run(e, 0, kUsPerSec * 100);
  ASSERT_EQ(t.log_.size(), 4u);
  EXPECT_EQ(t.log_.front().local, 4u);
  EXPECT_EQ(t.log_.front().due, 0u);
  EXPECT_EQ(t.log_.back().local, 7u);
  EXPECT_EQ(t.log_.back().due, 3 * kUsPerSec);
}

TEST(RampPhase, GoingDownRetiresTheHighestRanksFirst) {
  PhaseSpec s = spec(PhaseType::kRamp, 3 * kUsPerSec, 6);
  s.from = 6;
  s.to = 3;
  FakeTarget t(1, 0, 6);
  for (uint32_t i = 0; i < 6; ++i) {
    t.start_device(i, 0);
  }
  t.log_.clear();
  RampExecutor e(s, 1, 0);
  t.run(e, 10 * kUsPerSec, 100 * kUsPerSec);
  ASSERT_EQ(t.log_.size(), 3u);
  EXPECT_EQ(t.log_[0].local, 5u);
  EXPECT_EQ(t.log_[0].due, 10 * kUsPerSec);
  EXPECT_EQ(t.log_[2].local, 3u);
  EXPECT_EQ(t.log_[2].due, 12 * kUsPerSec);
  for (const auto& a : t.log_) {
    EXPECT_EQ(a.what, 'r');
  }
}

TEST(RampPhase, AdvanceOnlyDoesWhatIsDue) {
  PhaseSpec s = spec(PhaseType::kRamp, 10 * kUsPerSec, 10);
  s.to = 10;
  FakeTarget t(1, 0, 10);
  RampExecutor e(s, 1, 0);
  e.begin(t, 0);
  EXPECT_EQ(e.advance(t, 2500 * kUsPerMs), 3 * kUsPerSec);
  EXPECT_EQ(t.log_.size(), 3u);  // ranks 0, 1, 2
}

TEST(RampPhase, OnlyThePhasesGroupsTakePart) {
  // Groups at fleet indexes [0, 4) and [10, 14); the phase names the second one.
  PhaseSpec s;
  s.type = PhaseType::kRamp;
  s.duration = 4 * kUsPerSec;
  s.to = 4;
  s.devices = {{10, 4}};
  FakeTarget t(1, 0, 14);
  RampExecutor e(s, 1, 0);
  t.run(e, 0, 100 * kUsPerSec);
  ASSERT_EQ(t.log_.size(), 4u);
  EXPECT_EQ(t.log_[0].local, 10u);
  EXPECT_EQ(t.log_[3].local, 13u);
}

TEST(HoldPhase, DoesNothing) {
  FakeTarget t(1, 0, 4);
  auto e = make_executor(spec(PhaseType::kHold, kUsPerSec, 4), 1, 0);
  t.run(*e, 0, 10 * kUsPerSec);
  EXPECT_TRUE(t.log_.empty());
}

TEST(Timeline, PhasesFollowEachOther) {
  Timeline tl({spec(PhaseType::kRamp, 5 * kUsPerSec, 1), spec(PhaseType::kHold, 10 * kUsPerSec, 1),
               spec(PhaseType::kStop, 0, 1)});
  EXPECT_EQ(tl.start_of(1), 5 * kUsPerSec);
  EXPECT_EQ(tl.end_of(1), 15 * kUsPerSec);
  EXPECT_EQ(tl.duration(), 15 * kUsPerSec);
  EXPECT_EQ(tl.phase_at(0), 0u);
  EXPECT_EQ(tl.phase_at(7 * kUsPerSec), 1u);
  EXPECT_EQ(tl.phase_at(99 * kUsPerSec), 2u);
}

}  // namespace
}  // namespace lwm2msim
