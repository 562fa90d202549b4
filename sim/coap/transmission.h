#pragma once

#include <cstdint>

#include "sim/util/rng.h"
#include "sim/util/time.h"

namespace lwm2msim {

// RFC 7252 section 4.8 transmission parameters; all configurable, defaults from the RFC.
struct CoapTransmissionParams {
  TimeUs ack_timeout = 2 * kUsPerSec;
  double ack_random_factor = 1.5;
  uint32_t max_retransmit = 4;
  uint32_t nstart = 1;
  TimeUs max_latency = 100 * kUsPerSec;
  TimeUs processing_delay = 2 * kUsPerSec;

  // ACK_TIMEOUT * ((2 ** MAX_RETRANSMIT) - 1) * ACK_RANDOM_FACTOR
  TimeUs max_transmit_span() const;
  // ACK_TIMEOUT * ((2 ** (MAX_RETRANSMIT + 1)) - 1) * ACK_RANDOM_FACTOR
  TimeUs max_transmit_wait() const;
  // MAX_TRANSMIT_SPAN + 2 * MAX_LATENCY + PROCESSING_DELAY (247 s with the defaults)
  TimeUs exchange_lifetime() const;
  // MAX_TRANSMIT_SPAN + MAX_LATENCY (145 s with the defaults)
  TimeUs non_lifetime() const;

  // First retransmission timeout: uniform in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR].
  TimeUs initial_timeout(Rng& rng) const;
  // Timeout after `retransmissions` retransmissions so far (doubles each time).
  static TimeUs timeout_after(TimeUs initial, uint32_t retransmissions) {
    return initial << retransmissions;
  }
};

}  // namespace lwm2msim
