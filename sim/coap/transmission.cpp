#include "sim/coap/transmission.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lwm2msim {
namespace {

// Converts a duration computed in floating point, saturating instead of overflowing when the
// configuration is absurd (e.g. MAX_RETRANSMIT of 70).
TimeUs to_time(double us) {
  constexpr double kMax = static_cast<double>(std::numeric_limits<TimeUs>::max());
  if (!(us > 0.0)) {
    return 0;
  }
  if (us >= kMax) {
    return std::numeric_limits<TimeUs>::max();
  }
  return static_cast<TimeUs>(std::llround(us));
}

TimeUs saturating_add(TimeUs a, TimeUs b) {
  return b > std::numeric_limits<TimeUs>::max() - a ? std::numeric_limits<TimeUs>::max() : a + b;
}

// ACK_TIMEOUT * (2 ** exponent - 1) * ACK_RANDOM_FACTOR
TimeUs backoff_span(const CoapTransmissionParams& p, uint64_t exponent) {
  // 2 ** 1100 is already infinite in double precision; capping keeps the int conversion defined.
  const double doublings = std::ldexp(1.0, static_cast<int>(std::min<uint64_t>(exponent, 1100)));
  return to_time(static_cast<double>(p.ack_timeout) * (doublings - 1.0) * p.ack_random_factor);
}

}  // namespace

TimeUs CoapTransmissionParams::max_transmit_span() const {
  return backoff_span(*this, max_retransmit);
}

TimeUs CoapTransmissionParams::max_transmit_wait() const {
  return backoff_span(*this, uint64_t{max_retransmit} + 1);
}

TimeUs CoapTransmissionParams::exchange_lifetime() const {
  return saturating_add(
      saturating_add(max_transmit_span(), saturating_add(max_latency, max_latency)),
      processing_delay);
}

TimeUs CoapTransmissionParams::non_lifetime() const {
  return saturating_add(max_transmit_span(), max_latency);
}

TimeUs CoapTransmissionParams::initial_timeout(Rng& rng) const {
  // Drawn in whole microseconds over the closed interval, so both RFC bounds are reachable; a
  // factor below 1 would make the interval empty and is treated as 1.
  const double factor = std::max(ack_random_factor, 1.0);
  const TimeUs upper = to_time(static_cast<double>(ack_timeout) * factor);
  const TimeUs spread = upper > ack_timeout ? upper - ack_timeout : 0;
  if (spread == std::numeric_limits<TimeUs>::max()) {
    return ack_timeout + rng.next();
  }
  return ack_timeout + rng.below(spread + 1);
}

}  // namespace lwm2msim
