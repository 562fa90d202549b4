#include <gtest/gtest.h>

#include "sim/phase/executors.h"
#include "tests/unit/phase_fixtures.h"

namespace lwm2msim {
namespace {

using testing::FakeTarget;
using testing::spec;

TEST(StopPhase, StopsTheWholeFleetAtItsRate) {
  PhaseSpec s = spec(PhaseType::kStop, 0, 10);
  s.rate = 250;
  FakeTarget t(1, 0, 10);
  auto e = make_executor(s, 1, 0);
  e->begin(t, 5 * kUsPerSec);
  EXPECT_DOUBLE_EQ(t.stop_rate_, 250.0);
  EXPECT_EQ(e->advance(t, 6 * kUsPerSec), PhaseExecutor::kNever);
}

}  // namespace
}  // namespace lwm2msim
