#include "sim/fault/fault.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "sim/fault/delay_line.h"
#include "sim/util/rng.h"

namespace lwm2msim {
namespace {

constexpr int kDraws = 100'000;
constexpr TimeUs kMs = kUsPerMs;
constexpr TimeUs kSec = kUsPerSec;

Distribution fixed(TimeUs v) {
  return {Distribution::Kind::kFixed, v, 0};
}

struct Tally {
  int dropped = 0;
  int duplicated = 0;
  int total = 0;
  double delay_sum = 0;
  std::vector<Verdict> verdicts;

  double drop_rate() const { return static_cast<double>(dropped) / total; }
  double duplicate_rate() const { return static_cast<double>(duplicated) / (total - dropped); }
};

Tally run(const LinkFaults& faults, Direction dir, TimeUs now, uint64_t seed, int n = kDraws) {
  Rng rng(seed);
  Tally t;
  for (int i = 0; i < n; ++i) {
    const Verdict v = faults.decide(dir, now, rng);
    ++t.total;
    t.dropped += v.copies == 0 ? 1 : 0;
    t.duplicated += v.copies == 2 ? 1 : 0;
    t.delay_sum += static_cast<double>(v.delay);
    t.verdicts.push_back(v);
  }
  return t;
}

// sample()

TEST(FaultSample, FixedIsExact) {
  Rng rng(1);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(sample(fixed(1234), rng), 1234u);
  }
}

TEST(FaultSample, UniformStaysInRangeWithCentredMean) {
  Rng rng(2);
  const Distribution d{Distribution::Kind::kUniform, 10 * kMs, 30 * kMs};
  double sum = 0;
  TimeUs lo = UINT64_MAX;
  TimeUs hi = 0;
  for (int i = 0; i < kDraws; ++i) {
    const TimeUs v = sample(d, rng);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += static_cast<double>(v);
  }
  EXPECT_GE(lo, 10 * kMs);
  EXPECT_LT(hi, 30 * kMs);
  EXPECT_LT(lo, 10 * kMs + 100);
  EXPECT_GT(hi, 30 * kMs - 100);
  EXPECT_NEAR(sum / kDraws, 20.0 * kMs, 0.01 * 20 * kMs);
}

TEST(FaultSample, UniformWithEmptyRangeIsTheMinimum) {
  Rng rng(3);
  EXPECT_EQ(sample({Distribution::Kind::kUniform, 500, 500}, rng), 500u);
  EXPECT_EQ(sample({Distribution::Kind::kUniform, 500, 100}, rng), 500u);
}

TEST(FaultSample, NormalHasItsMeanAndDeviation) {
  Rng rng(4);
  const Distribution d{Distribution::Kind::kNormal, 50 * kMs, 10 * kMs};
  double sum = 0;
  double sq = 0;
  for (int i = 0; i < kDraws; ++i) {
    const auto v = static_cast<double>(sample(d, rng));
    sum += v;
    sq += v * v;
  }
  const double mean = sum / kDraws;
  const double sd = std::sqrt(sq / kDraws - mean * mean);
  EXPECT_NEAR(mean, 50.0 * kMs, 0.01 * 50 * kMs);
  EXPECT_NEAR(sd, 10.0 * kMs, 0.02 * 10 * kMs);
}

TEST(FaultSample, NormalIsClampedAtZero) {
  Rng rng(5);
  // Mean 5 ms, deviation 10 ms: about 31 % of raw draws are negative.
  const Distribution d{Distribution::Kind::kNormal, 5 * kMs, 10 * kMs};
  int zeros = 0;
  for (int i = 0; i < kDraws; ++i) {
    const TimeUs v = sample(d, rng);
    EXPECT_LT(v, 100 * kMs);  // a wrapped negative would be huge
    zeros += v == 0 ? 1 : 0;
  }
  EXPECT_NEAR(static_cast<double>(zeros) / kDraws, 0.3085, 0.01);
}

TEST(FaultSample, ExponentialHasItsMean) {
  Rng rng(6);
  const Distribution d{Distribution::Kind::kExponential, 20 * kMs, 0};
  double sum = 0;
  int above_mean = 0;
  for (int i = 0; i < kDraws; ++i) {
    const TimeUs v = sample(d, rng);
    sum += static_cast<double>(v);
    above_mean += v > 20 * kMs ? 1 : 0;
  }
  EXPECT_NEAR(sum / kDraws, 20.0 * kMs, 0.02 * 20 * kMs);
  // P(X > mean) = 1/e.
  EXPECT_NEAR(static_cast<double>(above_mean) / kDraws, std::exp(-1.0), 0.01);
}

// LinkFaults

TEST(LinkFaults, WithoutSpecsDoesNothingAndDrawsNothing) {
  const LinkFaults faults;
  EXPECT_FALSE(faults.any());
  EXPECT_FALSE(faults.active(0));
  EXPECT_EQ(faults.next_change(0), LinkFaults::kNever);
  Rng rng(7);
  Rng reference(7);
  for (int i = 0; i < 1000; ++i) {
    const Verdict v = faults.decide(Direction::kUp, static_cast<TimeUs>(i) * kSec, rng);
    EXPECT_EQ(v.copies, 1);
    EXPECT_EQ(v.delay, 0u);
  }
  EXPECT_EQ(rng.next(), reference.next());
  EXPECT_EQ(faults.nat_epoch(3, 1000 * kSec), 0u);
  EXPECT_FALSE(faults.outage_at());
  EXPECT_FALSE(faults.outage_return(3, 1));
}

TEST(LinkFaults, LossIsPerDirection) {
  FaultSpec f;
  f.loss_up = 0.2;
  f.loss_down = 0.05;
  const LinkFaults faults({f});
  EXPECT_TRUE(faults.any());
  EXPECT_TRUE(faults.active(0));
  EXPECT_NEAR(run(faults, Direction::kUp, 0, 11).drop_rate(), 0.20, 0.01);
  EXPECT_NEAR(run(faults, Direction::kDown, 0, 12).drop_rate(), 0.05, 0.005);
}

TEST(LinkFaults, TotalLossDropsEverything) {
  FaultSpec f;
  f.loss_down = 1.0;
  const LinkFaults faults({f});
  EXPECT_EQ(run(faults, Direction::kDown, 0, 13, 10'000).dropped, 10'000);
  EXPECT_EQ(run(faults, Direction::kUp, 0, 14, 10'000).dropped, 0);
}

TEST(LinkFaults, AppliesOnlyInsideItsWindow) {
  FaultSpec f;
  f.window = {10 * kSec, 20 * kSec};
  f.loss_up = 1.0;
  const LinkFaults faults({f});
  EXPECT_TRUE(faults.any());
  EXPECT_FALSE(faults.active(0));
  EXPECT_FALSE(faults.active(10 * kSec - 1));
  EXPECT_TRUE(faults.active(10 * kSec));
  EXPECT_TRUE(faults.active(20 * kSec - 1));
  EXPECT_FALSE(faults.active(20 * kSec));
  EXPECT_EQ(run(faults, Direction::kUp, 5 * kSec, 15, 1000).dropped, 0);
  EXPECT_EQ(run(faults, Direction::kUp, 15 * kSec, 15, 1000).dropped, 1000);
  EXPECT_EQ(run(faults, Direction::kUp, 25 * kSec, 15, 1000).dropped, 0);

  EXPECT_EQ(faults.next_change(0), 10 * kSec);
  EXPECT_EQ(faults.next_change(10 * kSec), 20 * kSec);
  EXPECT_EQ(faults.next_change(20 * kSec), LinkFaults::kNever);
}

TEST(LinkFaults, OpenEndedWindowLastsForever) {
  FaultSpec f;
  f.window = {kSec, 0};
  f.loss_up = 1.0;
  const LinkFaults faults({f});
  EXPECT_FALSE(faults.active(kSec - 1));
  EXPECT_TRUE(faults.active(kSec));
  EXPECT_TRUE(faults.active(UINT64_MAX / 2));
  EXPECT_EQ(faults.next_change(kSec), LinkFaults::kNever);
}

TEST(LinkFaults, FixedLatencyDelaysEveryDatagram) {
  FaultSpec f;
  f.latency = fixed(30 * kMs);
  const LinkFaults faults({f});
  for (const Direction dir : {Direction::kUp, Direction::kDown}) {
    const Tally t = run(faults, dir, 0, 16, 1000);
    EXPECT_EQ(t.dropped, 0);
    for (const Verdict& v : t.verdicts) {
      EXPECT_EQ(v.copies, 1);
      EXPECT_EQ(v.delay, 30 * kMs);
    }
  }
}

TEST(LinkFaults, NormalLatencyMeanAndNonNegative) {
  FaultSpec f;
  f.latency = Distribution{Distribution::Kind::kNormal, 40 * kMs, 15 * kMs};
  const LinkFaults faults({f});
  const Tally t = run(faults, Direction::kUp, 0, 17);
  EXPECT_NEAR(t.delay_sum / kDraws, 40.0 * kMs, 0.01 * 40 * kMs);
  for (const Verdict& v : t.verdicts) {
    EXPECT_LT(v.delay, 200 * kMs);
  }
}

TEST(LinkFaults, ExponentialLatencyMean) {
  FaultSpec f;
  f.latency = Distribution{Distribution::Kind::kExponential, 25 * kMs, 0};
  const LinkFaults faults({f});
  const Tally t = run(faults, Direction::kDown, 0, 18);
  EXPECT_NEAR(t.delay_sum / kDraws, 25.0 * kMs, 0.02 * 25 * kMs);
}

TEST(LinkFaults, DuplicateRateAndOwnDelay) {
  FaultSpec f;
  f.duplicate = 0.1;
  f.latency = Distribution{Distribution::Kind::kUniform, 10 * kMs, 50 * kMs};
  const LinkFaults faults({f});
  const Tally t = run(faults, Direction::kUp, 0, 19);
  EXPECT_NEAR(t.duplicate_rate(), 0.1, 0.01);
  int differ = 0;
  for (const Verdict& v : t.verdicts) {
    if (v.copies == 2) {
      EXPECT_GE(v.duplicate_delay, 10 * kMs);
      EXPECT_LT(v.duplicate_delay, 50 * kMs);
      differ += v.duplicate_delay != v.delay ? 1 : 0;
    } else {
      EXPECT_EQ(v.duplicate_delay, 0u);
    }
  }
  EXPECT_GT(differ, t.duplicated * 9 / 10);
}

TEST(LinkFaults, ReorderHoldsBackAFraction) {
  FaultSpec f;
  f.reorder = 0.25;
  f.reorder_delay = 50 * kMs;
  f.latency = fixed(5 * kMs);
  const LinkFaults faults({f});
  const Tally t = run(faults, Direction::kDown, 0, 20);
  int held = 0;
  for (const Verdict& v : t.verdicts) {
    ASSERT_TRUE(v.delay == 5 * kMs || v.delay == 55 * kMs) << v.delay;
    held += v.delay == 55 * kMs ? 1 : 0;
  }
  EXPECT_NEAR(static_cast<double>(held) / kDraws, 0.25, 0.01);
  EXPECT_EQ(t.dropped, 0);
  EXPECT_EQ(t.duplicated, 0);
}

TEST(LinkFaults, OverlappingSpecsCombine) {
  FaultSpec a;
  a.window = {0, 100 * kSec};
  a.loss_up = 0.2;
  a.duplicate = 0.1;
  a.reorder = 0.1;
  a.reorder_delay = 20 * kMs;
  a.latency = fixed(10 * kMs);
  FaultSpec b;
  b.window = {50 * kSec, 0};
  b.loss_up = 0.3;
  b.duplicate = 0.2;
  b.reorder = 0.2;
  b.reorder_delay = 40 * kMs;
  b.latency = fixed(5 * kMs);
  const LinkFaults faults({a, b});

  const Tally only_a = run(faults, Direction::kUp, 10 * kSec, 21);
  EXPECT_NEAR(only_a.drop_rate(), 0.2, 0.01);
  EXPECT_NEAR(only_a.duplicate_rate(), 0.1, 0.01);

  const Tally both = run(faults, Direction::kUp, 60 * kSec, 22);
  EXPECT_NEAR(both.drop_rate(), 1 - 0.8 * 0.7, 0.01);
  EXPECT_NEAR(both.duplicate_rate(), 1 - 0.9 * 0.8, 0.01);
  int held = 0;
  for (const Verdict& v : both.verdicts) {
    if (v.copies == 0) {
      continue;
    }
    // Latencies add; the hold-back is the longer of the two.
    ASSERT_TRUE(v.delay == 15 * kMs || v.delay == 55 * kMs) << v.delay;
    held += v.delay == 55 * kMs ? 1 : 0;
    if (v.copies == 2) {
      EXPECT_EQ(v.duplicate_delay, 15 * kMs);
    }
  }
  EXPECT_NEAR(static_cast<double>(held) / (kDraws - both.dropped), 1 - 0.9 * 0.8, 0.01);

  const Tally only_b = run(faults, Direction::kUp, 200 * kSec, 23);
  EXPECT_NEAR(only_b.drop_rate(), 0.3, 0.01);

  EXPECT_EQ(faults.next_change(0), 50 * kSec);
  EXPECT_EQ(faults.next_change(50 * kSec), 100 * kSec);
  EXPECT_EQ(faults.next_change(100 * kSec), LinkFaults::kNever);
}

TEST(LinkFaults, DecisionsFollowTheRngSequence) {
  FaultSpec f;
  f.loss_up = 0.3;
  f.duplicate = 0.2;
  f.reorder = 0.1;
  f.reorder_delay = kMs;
  f.latency = Distribution{Distribution::Kind::kNormal, 20 * kMs, 5 * kMs};
  const LinkFaults faults({f});
  const Tally x = run(faults, Direction::kUp, 0, 24, 10'000);
  const Tally y = run(faults, Direction::kUp, 0, 24, 10'000);
  const Tally z = run(faults, Direction::kUp, 0, 25, 10'000);
  auto same = [](const Tally& p, const Tally& q) {
    return std::equal(p.verdicts.begin(), p.verdicts.end(), q.verdicts.begin(),
                      [](const Verdict& m, const Verdict& n) {
                        return m.copies == n.copies && m.delay == n.delay &&
                               m.duplicate_delay == n.duplicate_delay;
                      });
  };
  EXPECT_TRUE(same(x, y));
  EXPECT_FALSE(same(x, z));
}

TEST(LinkFaults, SpecWithoutLinkEffectsIsNotActive) {
  FaultSpec f;
  f.nat_rebind_every = 60 * kSec;
  const LinkFaults faults({f});
  EXPECT_TRUE(faults.any());
  EXPECT_FALSE(faults.active(0));
  Rng rng(26);
  Rng reference(26);
  EXPECT_EQ(faults.decide(Direction::kUp, 0, rng).copies, 1);
  EXPECT_EQ(rng.next(), reference.next());
}

// The first time client `index` has rebound at least once; searched, since the phase is hidden.
TimeUs first_rebind(const LinkFaults& faults, uint64_t index, TimeUs lo, TimeUs hi) {
  while (lo < hi) {
    const TimeUs mid = lo + (hi - lo) / 2;
    if (faults.nat_epoch(index, mid) >= 1) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

TEST(LinkFaults, NatEpochStepsEveryPeriodFromAPerClientPhase) {
  FaultSpec f;
  f.window = {10 * kSec, 0};
  f.nat_rebind_every = 60 * kSec;
  const LinkFaults faults({f});
  std::set<TimeUs> phases;
  for (uint64_t c = 0; c < 100; ++c) {
    EXPECT_EQ(faults.nat_epoch(c, 0), 0u);
    EXPECT_EQ(faults.nat_epoch(c, 10 * kSec - 1), 0u);
    const TimeUs first = first_rebind(faults, c, 10 * kSec, 70 * kSec);
    ASSERT_GE(first, 10 * kSec);
    ASSERT_LT(first, 70 * kSec);
    phases.insert(first);
    for (uint32_t k = 0; k < 5; ++k) {
      const TimeUs t = first + k * 60 * kSec;
      EXPECT_EQ(faults.nat_epoch(c, t - 1), k);
      EXPECT_EQ(faults.nat_epoch(c, t), k + 1);
    }
  }
  // The fleet does not rebind in step: phases spread over the period.
  EXPECT_GT(phases.size(), 95u);
  EXPECT_LT(*phases.begin(), 20 * kSec);
  EXPECT_GT(*phases.rbegin(), 60 * kSec);
}

TEST(LinkFaults, NatEpochStopsWithTheWindowAndSumsOverSpecs) {
  FaultSpec f;
  f.window = {0, 100 * kSec};
  f.nat_rebind_every = 10 * kSec;
  const LinkFaults one({f});
  for (uint64_t c = 0; c < 20; ++c) {
    // Ten rebinds fall in [0, 100 s), whatever the phase.
    EXPECT_EQ(one.nat_epoch(c, 100 * kSec - 1), 10u);
    EXPECT_EQ(one.nat_epoch(c, 1000 * kSec), 10u);
  }
  FaultSpec g;
  g.window = {200 * kSec, 300 * kSec};
  g.nat_rebind_every = 50 * kSec;
  const LinkFaults two({f, g});
  for (uint64_t c = 0; c < 20; ++c) {
    EXPECT_EQ(two.nat_epoch(c, 150 * kSec), 10u);
    EXPECT_EQ(two.nat_epoch(c, 1000 * kSec), 12u);
  }
}

TEST(LinkFaults, OutageReturnIsWithinTheWindowAndDeterministic) {
  FaultSpec f;
  f.power_outage_at = 120 * kSec;
  f.power_outage_window = 30 * kSec;
  FaultSpec later;
  later.power_outage_at = 500 * kSec;
  later.power_outage_window = kSec;
  const LinkFaults faults({later, f});
  ASSERT_TRUE(faults.outage_at());
  EXPECT_EQ(*faults.outage_at(), 120 * kSec);
  EXPECT_FALSE(faults.active(0));

  TimeUs lo = UINT64_MAX;
  TimeUs hi = 0;
  double sum = 0;
  int differ_by_seed = 0;
  constexpr int kClients = 10'000;
  for (uint64_t c = 0; c < kClients; ++c) {
    const std::optional<TimeUs> r = faults.outage_return(c, 42);
    ASSERT_TRUE(r);
    EXPECT_GE(*r, 120 * kSec);
    EXPECT_LT(*r, 150 * kSec);
    EXPECT_EQ(faults.outage_return(c, 42), r);
    differ_by_seed += faults.outage_return(c, 43) != r ? 1 : 0;
    lo = std::min(lo, *r);
    hi = std::max(hi, *r);
    sum += static_cast<double>(*r - 120 * kSec);
  }
  EXPECT_LT(lo, 120 * kSec + 100 * kMs);
  EXPECT_GT(hi, 150 * kSec - 100 * kMs);
  EXPECT_NEAR(sum / kClients, 15.0 * kSec, 0.02 * 15 * kSec);
  EXPECT_GT(differ_by_seed, kClients * 99 / 100);
}

TEST(LinkFaults, OutageWithoutWindowReturnsAtOnce) {
  FaultSpec f;
  f.power_outage_at = 7 * kSec;
  const LinkFaults faults({f});
  EXPECT_EQ(faults.outage_return(0, 1), 7 * kSec);
  EXPECT_EQ(faults.outage_return(12345, 99), 7 * kSec);
}

// DelayLine

std::vector<uint8_t> payload(uint32_t tag, size_t length) {
  std::vector<uint8_t> out(length);
  for (size_t i = 0; i < length; ++i) {
    out[i] = static_cast<uint8_t>(tag * 31 + i);
  }
  return out;
}

struct Popped {
  uint32_t client;
  Direction direction;
  std::vector<uint8_t> bytes;
};

std::vector<Popped> pop_all(DelayLine& line, TimeUs now) {
  std::vector<Popped> out;
  const size_t n =
      line.pop_due(now, [&](uint32_t client, Direction dir, std::span<const uint8_t> bytes) {
        out.push_back({client, dir, {bytes.begin(), bytes.end()}});
      });
  EXPECT_EQ(n, out.size());
  return out;
}

TEST(DelayLine, StartsEmpty) {
  DelayLine line;
  EXPECT_EQ(line.size(), 0u);
  EXPECT_EQ(line.bytes(), 0u);
  EXPECT_EQ(line.capacity(), DelayLine::kDefaultCapacity);
  EXPECT_FALSE(line.next_due());
  EXPECT_TRUE(pop_all(line, UINT64_MAX).empty());
}

TEST(DelayLine, PopsInDueOrderOnlyWhenDue) {
  DelayLine line;
  const std::vector<TimeUs> dues = {50, 10, 40, 30, 20};
  for (uint32_t i = 0; i < dues.size(); ++i) {
    const auto p = payload(i, 100 + i);
    ASSERT_TRUE(line.push(dues[i], i, i % 2 == 0 ? Direction::kUp : Direction::kDown, p));
  }
  EXPECT_EQ(line.size(), 5u);
  EXPECT_EQ(line.bytes(), 100u + 101 + 102 + 103 + 104);
  EXPECT_EQ(line.next_due(), 10u);
  EXPECT_TRUE(pop_all(line, 9).empty());

  std::vector<Popped> got = pop_all(line, 30);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].client, 1u);
  EXPECT_EQ(got[1].client, 4u);
  EXPECT_EQ(got[2].client, 3u);
  EXPECT_EQ(got[0].direction, Direction::kDown);
  EXPECT_EQ(got[1].direction, Direction::kUp);
  for (const Popped& p : got) {
    EXPECT_EQ(p.bytes, payload(p.client, 100 + p.client));
  }
  EXPECT_EQ(line.size(), 2u);
  EXPECT_EQ(line.bytes(), 100u + 102);
  EXPECT_EQ(line.next_due(), 40u);

  got = pop_all(line, 1000);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].client, 2u);
  EXPECT_EQ(got[1].client, 0u);
  EXPECT_EQ(line.size(), 0u);
  EXPECT_EQ(line.bytes(), 0u);
  EXPECT_FALSE(line.next_due());
}

TEST(DelayLine, EqualDueTimesKeepPushOrder) {
  DelayLine line;
  Rng rng(30);
  for (uint32_t i = 0; i < 1000; ++i) {
    const auto p = payload(i, rng.below(300));
    ASSERT_TRUE(line.push(100 * (1 + rng.below(3)), i, Direction::kUp, p));
  }
  const std::vector<Popped> got = pop_all(line, 1000);
  ASSERT_EQ(got.size(), 1000u);
  // Within each due time, clients (push order) increase.
  std::map<TimeUs, uint32_t> last;
  Rng replay(30);
  std::vector<TimeUs> due_of(1000);
  for (uint32_t i = 0; i < 1000; ++i) {
    replay.below(300);
    due_of[i] = 100 * (1 + replay.below(3));
  }
  for (size_t k = 1; k < got.size(); ++k) {
    const TimeUs a = due_of[got[k - 1].client];
    const TimeUs b = due_of[got[k].client];
    ASSERT_LE(a, b);
    if (a == b) {
      ASSERT_LT(got[k - 1].client, got[k].client);
    }
  }
}

TEST(DelayLine, CapacityBoundsQueuedBytes) {
  DelayLine line(1000);
  const auto p = payload(1, 400);
  EXPECT_TRUE(line.push(1, 0, Direction::kUp, p));
  EXPECT_TRUE(line.push(2, 1, Direction::kUp, p));
  EXPECT_FALSE(line.push(3, 2, Direction::kUp, p));
  EXPECT_EQ(line.overflow(), 1u);
  EXPECT_EQ(line.size(), 2u);
  EXPECT_EQ(line.bytes(), 800u);
  // Exactly filling the capacity is allowed.
  EXPECT_TRUE(line.push(3, 3, Direction::kUp, payload(3, 200)));
  EXPECT_EQ(line.bytes(), 1000u);
  EXPECT_FALSE(line.push(4, 4, Direction::kUp, payload(4, 1)));
  EXPECT_EQ(line.overflow(), 2u);

  EXPECT_EQ(pop_all(line, 1).size(), 1u);
  EXPECT_EQ(line.bytes(), 600u);
  EXPECT_TRUE(line.push(5, 5, Direction::kDown, p));
  EXPECT_EQ(line.overflow(), 2u);
  const std::vector<Popped> got = pop_all(line, 10);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].client, 5u);
  EXPECT_EQ(got[2].bytes, p);
}

TEST(DelayLine, RejectsOversizedDatagrams) {
  DelayLine line;
  EXPECT_TRUE(line.push(0, 0, Direction::kUp, payload(0, DelayLine::kMaxDatagram)));
  EXPECT_FALSE(line.push(0, 1, Direction::kUp, payload(1, DelayLine::kMaxDatagram + 1)));
  EXPECT_EQ(line.overflow(), 1u);
  const std::vector<Popped> got = pop_all(line, 0);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, payload(0, DelayLine::kMaxDatagram));
}

TEST(DelayLine, EmptyDatagramsAreCarried) {
  DelayLine line;
  EXPECT_TRUE(line.push(5, 9, Direction::kDown, {}));
  EXPECT_EQ(line.size(), 1u);
  EXPECT_EQ(line.bytes(), 0u);
  const std::vector<Popped> got = pop_all(line, 5);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].client, 9u);
  EXPECT_TRUE(got[0].bytes.empty());
}

TEST(DelayLine, CallbackMayPush) {
  DelayLine line;
  ASSERT_TRUE(line.push(10, 0, Direction::kUp, payload(0, 50)));
  std::vector<uint32_t> order;
  line.pop_due(100, [&](uint32_t client, Direction, std::span<const uint8_t> bytes) {
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), payload(client, 50 + client));
    order.push_back(client);
    if (client < 3) {
      // The answer to a delayed datagram, itself delayed: due now, then later.
      const uint32_t next = client + 1;
      ASSERT_TRUE(
          line.push(next == 3 ? 200 : 20 * next, next, Direction::kDown, payload(next, 50 + next)));
    }
  });
  EXPECT_EQ(order, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(line.size(), 1u);
  EXPECT_EQ(line.next_due(), 200u);
}

// Random pushes and pops of every size against a reference ordered map.
TEST(DelayLine, InterleavedPushPopMatchesAReference) {
  constexpr size_t kCapacity = 24 * 1024;
  DelayLine line(kCapacity);
  Rng rng(31);
  std::map<std::pair<TimeUs, uint64_t>, std::pair<uint32_t, size_t>> reference;
  uint64_t seq = 0;
  size_t bytes = 0;
  uint64_t overflow = 0;
  TimeUs now = 0;
  size_t max_memory = 0;
  for (int step = 0; step < 200'000; ++step) {
    if (rng.below(3) != 0) {
      const auto client = static_cast<uint32_t>(seq);
      const size_t length = rng.below(4) == 0 ? rng.below(1153) : rng.below(200);
      const TimeUs due = now + rng.below(5000);
      const bool ok = line.push(due, client, Direction::kUp, payload(client, length));
      if (bytes + length <= kCapacity) {
        ASSERT_TRUE(ok);
        reference[{due, seq}] = {client, length};
        bytes += length;
      } else {
        ASSERT_FALSE(ok);
        ++overflow;
      }
      ++seq;
    } else {
      now += rng.below(100);
      line.pop_due(now, [&](uint32_t client, Direction, std::span<const uint8_t> got) {
        ASSERT_FALSE(reference.empty());
        const auto it = reference.begin();
        ASSERT_LE(it->first.first, now);
        ASSERT_EQ(client, it->second.first);
        ASSERT_EQ(got.size(), it->second.second);
        ASSERT_TRUE(std::equal(got.begin(), got.end(), payload(client, got.size()).begin()));
        bytes -= got.size();
        reference.erase(it);
      });
      ASSERT_TRUE(reference.empty() || reference.begin()->first.first > now);
    }
    ASSERT_EQ(line.size(), reference.size());
    ASSERT_EQ(line.bytes(), bytes);
    ASSERT_EQ(line.overflow(), overflow);
    max_memory = std::max(max_memory, line.memory());
  }
  EXPECT_GT(overflow, 0u);
  EXPECT_LT(overflow, seq / 10);
  // Slots are recycled: at most twice the capacity plus one 64 KiB slab per size class.
  EXPECT_LE(max_memory, 2 * kCapacity + 7 * 64 * 1024);
}

}  // namespace
}  // namespace lwm2msim
