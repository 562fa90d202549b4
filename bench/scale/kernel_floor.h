#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace lwm2msim::bench {

// What the kernel alone costs for UDP request/response exchanges on loopback: a client socket and
// a responder thread that echoes, nothing else.
struct FloorResult {
  uint64_t exchanges = 0;       // responses the client received
  double seconds = 0;           // wall time of the loop
  double client_cpu_us = 0;     // client thread CPU per exchange, us
  double responder_cpu_us = 0;  // responder thread CPU per exchange, us
};

// As fast as it goes: `window` requests in flight, one sendto per recvfrom.
FloorResult saturated_floor(std::chrono::milliseconds duration, size_t payload, unsigned window);

// At `rate` exchanges/s, sent on 1 ms ticks as the simulator's timer wheel sends; each tick also
// reads, without blocking, the responses that have arrived.
FloorResult paced_floor(std::chrono::milliseconds duration, size_t payload, double rate);

}  // namespace lwm2msim::bench
