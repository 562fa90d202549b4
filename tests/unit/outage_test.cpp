#include "sim/fleet/outage.h"

#include <gtest/gtest.h>

namespace lwm2msim {
namespace {

constexpr TimeUs kS = kUsPerSec;

TEST(OutageTracker, TimeoutsWithAnswersBetweenAreNoOutage) {
  OutageTracker t(10, kS, 5 * kS);
  t.answered(0);
  t.timed_out(kS);
  t.registration_lost(1, kS + 1);
  t.timed_out(kS + kS / 2);  // half a second of timeouts only: not yet an outage
  t.answered(kS + kS / 2 + 1);
  EXPECT_TRUE(t.records().empty());
  // The device lost to the cancelled streak is forgotten, not carried into later outages.
  t.registered(1, 2 * kS);
  EXPECT_EQ(merge_outages(t.records(), 3 * kS).count, 0u);
}

TEST(OutageTracker, CountsTheDevicesLostAndTheirRecovery) {
  OutageTracker t(10, kS, 5 * kS);
  t.timed_out(2 * kS);
  t.registration_lost(2, 2 * kS + 1);  // before the streak was long enough: counted anyway
  t.timed_out(3 * kS + 1);
  t.registration_lost(3, 3 * kS + 2);
  t.registration_lost(3, 3 * kS + 3);  // once per device
  t.answered(5 * kS);
  t.registration_lost(4, 6 * kS);   // an Update's 4.04 after the outage, within the window
  t.registration_lost(5, 20 * kS);  // long after: not this outage's
  t.registered(5, 21 * kS);
  t.registered(2, 6 * kS);
  t.registered(3, 7 * kS);
  OutageSummary s = merge_outages(t.records(), 8 * kS);
  EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(s.devices_lost, 3u);
  EXPECT_EQ(s.unrecovered, 1u);
  EXPECT_EQ(s.recovery, 0u);
  EXPECT_FALSE(s.ongoing);
  t.registered(4, 8 * kS);
  s = merge_outages(t.records(), 9 * kS);
  EXPECT_EQ(s.total, 3 * kS);
  EXPECT_EQ(s.longest, 3 * kS);
  EXPECT_EQ(s.unrecovered, 0u);
  EXPECT_EQ(s.recovery, 3 * kS);
  EXPECT_EQ(s.recovered_at, 8 * kS);
}

TEST(OutageTracker, DevicesThatStopBeforeRegisteringAgainAreUnrecovered) {
  OutageTracker t(10, kS, 5 * kS);
  t.timed_out(0);
  t.timed_out(2 * kS);
  t.registration_lost(7, 2 * kS);
  const OutageSummary during = merge_outages(t.records(), 3 * kS);
  EXPECT_TRUE(during.ongoing);
  EXPECT_EQ(during.total, 3 * kS);
  t.stop(4 * kS);
  t.gone(7);
  t.timed_out(5 * kS);  // after the stop: ignored
  t.timed_out(7 * kS);
  const OutageSummary s = merge_outages(t.records(), 9 * kS);
  EXPECT_EQ(s.count, 1u);
  EXPECT_FALSE(s.ongoing);
  EXPECT_EQ(s.total, 4 * kS);
  EXPECT_EQ(s.unrecovered, 1u);
  EXPECT_EQ(s.recovered_at, 0u);
}

TEST(MergeOutages, OverlappingWorkerRecordsAreOneOutage) {
  std::vector<OutageRecord> r(3);
  r[0] = {2 * kS, 5 * kS, false, 4, 0, 0, 8 * kS};
  r[1] = {3 * kS, 6 * kS, false, 6, 0, 0, 7 * kS};
  r[2] = {10 * kS, 0, true, 1, 1, 0, 0};
  const OutageSummary s = merge_outages(r, 12 * kS);
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(s.total, 6 * kS);
  EXPECT_EQ(s.longest, 4 * kS);
  EXPECT_EQ(s.devices_lost, 11u);
  EXPECT_EQ(s.unrecovered, 1u);
  EXPECT_EQ(s.recovery, 2 * kS);
  EXPECT_EQ(s.recovered_at, 8 * kS);
  EXPECT_TRUE(s.ongoing);
}

}  // namespace
}  // namespace lwm2msim
