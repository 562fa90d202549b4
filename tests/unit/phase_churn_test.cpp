#include <gtest/gtest.h>

#include "sim/phase/executors.h"
#include "tests/unit/phase_fixtures.h"

namespace lwm2msim {
namespace {

using testing::FakeTarget;
using testing::spec;

TEST(ChurnPhase, CyclesTheConfiguredShareOfRegisteredDevicesPerMinute) {
  // 1,000 registered devices, 6 % per minute for 10 minutes: about 600 cycles.
  PhaseSpec s = spec(PhaseType::kChurn, 600 * kUsPerSec, 1000);
  s.churn_per_minute = 0.06;
  FakeTarget t(1, 0, 1000);
  for (uint32_t i = 0; i < 1000; ++i) {
    t.start_device(i, 0);
  }
  t.log_.clear();
  ChurnExecutor e(s, 1, 0);
  t.run(e, 0, 600 * kUsPerSec);
  EXPECT_GT(t.log_.size(), 520u);
  EXPECT_LT(t.log_.size(), 680u);
  for (const auto& a : t.log_) {
    EXPECT_EQ(a.what, 'c');
    EXPECT_LT(a.due, 600 * kUsPerSec);
  }
}

TEST(ChurnPhase, OnlyRegisteredDevicesChurnAndNothingHappensWithoutThem) {
  PhaseSpec s = spec(PhaseType::kChurn, 60 * kUsPerSec, 10);
  s.churn_per_minute = 1.0;
  FakeTarget t(1, 0, 10);
  ChurnExecutor e(s, 1, 0);
  t.run(e, 0, 60 * kUsPerSec);
  EXPECT_TRUE(t.log_.empty());
  t.start_device(3, 0);
  t.log_.clear();
  ChurnExecutor e2(s, 1, 0);
  t.run(e2, 0, 60 * kUsPerSec);
  for (const auto& a : t.log_) {
    EXPECT_EQ(a.local, 3u);
  }
}

TEST(ChurnPhase, SameSeedSameSchedule) {
  PhaseSpec s = spec(PhaseType::kChurn, 60 * kUsPerSec, 100);
  s.churn_per_minute = 0.5;
  std::vector<TimeUs> runs[2];
  for (auto& times : runs) {
    FakeTarget t(1, 0, 100);
    for (uint32_t i = 0; i < 100; ++i) {
      t.start_device(i, 0);
    }
    t.log_.clear();
    ChurnExecutor e(s, 1, 0);
    t.run(e, 0, 60 * kUsPerSec);
    for (const auto& a : t.log_) {
      times.push_back(a.due);
    }
  }
  EXPECT_FALSE(runs[0].empty());
  EXPECT_EQ(runs[0], runs[1]);
}

}  // namespace
}  // namespace lwm2msim
