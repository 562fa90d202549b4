#include "sim/coap/transmission.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "sim/util/rng.h"

namespace lwm2msim {
namespace {

// RFC 7252 section 4.8.2 derived values for the default parameters.
TEST(CoapTransmission, RfcDefaults) {
  const CoapTransmissionParams p;
  EXPECT_EQ(p.ack_timeout, 2 * kUsPerSec);
  EXPECT_DOUBLE_EQ(p.ack_random_factor, 1.5);
  EXPECT_EQ(p.max_retransmit, 4u);
  EXPECT_EQ(p.nstart, 1u);
  EXPECT_EQ(p.max_latency, 100 * kUsPerSec);
  EXPECT_EQ(p.processing_delay, 2 * kUsPerSec);

  EXPECT_EQ(p.max_transmit_span(), 45 * kUsPerSec);
  EXPECT_EQ(p.max_transmit_wait(), 93 * kUsPerSec);
  EXPECT_EQ(p.exchange_lifetime(), 247 * kUsPerSec);
  EXPECT_EQ(p.non_lifetime(), 145 * kUsPerSec);
}

TEST(CoapTransmission, DerivedValuesFollowTheParameters) {
  CoapTransmissionParams p;
  p.ack_timeout = 1 * kUsPerSec;
  p.ack_random_factor = 2.0;
  p.max_retransmit = 2;
  p.max_latency = 10 * kUsPerSec;
  p.processing_delay = 500 * kUsPerMs;
  // 1 s * 3 * 2, 1 s * 7 * 2
  EXPECT_EQ(p.max_transmit_span(), 6 * kUsPerSec);
  EXPECT_EQ(p.max_transmit_wait(), 14 * kUsPerSec);
  EXPECT_EQ(p.exchange_lifetime(), 6 * kUsPerSec + 20 * kUsPerSec + 500 * kUsPerMs);
  EXPECT_EQ(p.non_lifetime(), 16 * kUsPerSec);

  p.max_retransmit = 0;
  EXPECT_EQ(p.max_transmit_span(), 0u);
  EXPECT_EQ(p.max_transmit_wait(), 2 * kUsPerSec);
}

TEST(CoapTransmission, AbsurdParametersSaturate) {
  CoapTransmissionParams p;
  p.max_retransmit = 200;
  EXPECT_EQ(p.max_transmit_span(), std::numeric_limits<TimeUs>::max());
  EXPECT_EQ(p.exchange_lifetime(), std::numeric_limits<TimeUs>::max());
  p.max_retransmit = std::numeric_limits<uint32_t>::max();
  EXPECT_EQ(p.max_transmit_wait(), std::numeric_limits<TimeUs>::max());
}

TEST(CoapTransmission, InitialTimeoutWithinBoundsOverManySeeds) {
  const CoapTransmissionParams p;
  const TimeUs lo = p.ack_timeout;
  const TimeUs hi = 3 * kUsPerSec;  // ACK_TIMEOUT * ACK_RANDOM_FACTOR
  TimeUs min_seen = std::numeric_limits<TimeUs>::max();
  TimeUs max_seen = 0;
  double sum = 0;
  constexpr int kSeeds = 2000;
  constexpr int kDraws = 50;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    Rng rng(seed);
    for (int i = 0; i < kDraws; ++i) {
      const TimeUs t = p.initial_timeout(rng);
      ASSERT_GE(t, lo);
      ASSERT_LE(t, hi);
      min_seen = std::min(min_seen, t);
      max_seen = std::max(max_seen, t);
      sum += static_cast<double>(t);
    }
  }
  // Uniform: the extremes are approached and the mean sits in the middle.
  EXPECT_LT(min_seen, lo + 1 * kUsPerMs);
  EXPECT_GT(max_seen, hi - 1 * kUsPerMs);
  EXPECT_NEAR(sum / (kSeeds * kDraws), 2.5e6, 0.01e6);
}

TEST(CoapTransmission, InitialTimeoutIsDeterministicPerSeed) {
  const CoapTransmissionParams p;
  Rng a(42);
  Rng b(42);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(p.initial_timeout(a), p.initial_timeout(b));
  }
}

TEST(CoapTransmission, InitialTimeoutWithoutRandomisation) {
  CoapTransmissionParams p;
  p.ack_random_factor = 1.0;
  Rng rng(7);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(p.initial_timeout(rng), p.ack_timeout);
  }
}

TEST(CoapTransmission, TimeoutDoubles) {
  const TimeUs initial = 2'345'678;
  EXPECT_EQ(CoapTransmissionParams::timeout_after(initial, 0), initial);
  EXPECT_EQ(CoapTransmissionParams::timeout_after(initial, 1), 2 * initial);
  EXPECT_EQ(CoapTransmissionParams::timeout_after(initial, 2), 4 * initial);
  EXPECT_EQ(CoapTransmissionParams::timeout_after(initial, 4), 16 * initial);
}

// The last retransmission of a CON goes out MAX_TRANSMIT_SPAN after the first transmission at
// the latest, and the sender gives up MAX_TRANSMIT_WAIT after it (section 4.8.2).
TEST(CoapTransmission, ScheduleFitsTheSpanAndWait) {
  const CoapTransmissionParams p;
  Rng rng(3);
  for (int i = 0; i < 1000; ++i) {
    const TimeUs initial = p.initial_timeout(rng);
    TimeUs last_send = 0;
    for (uint32_t r = 0; r < p.max_retransmit; ++r) {
      last_send += CoapTransmissionParams::timeout_after(initial, r);
    }
    const TimeUs give_up =
        last_send + CoapTransmissionParams::timeout_after(initial, p.max_retransmit);
    EXPECT_LE(last_send, p.max_transmit_span());
    EXPECT_LE(give_up, p.max_transmit_wait());
  }
}

}  // namespace
}  // namespace lwm2msim
