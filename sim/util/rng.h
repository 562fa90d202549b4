// util: small value types shared by every module: seeded RNG, time units, address plans.
// Nothing here does I/O or holds global state.
#pragma once

#include <cstdint>

namespace lwm2msim {

// xoshiro256** seeded through splitmix64: fast, 32 bytes of state, same seed gives the same stream.
class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t next();
  // Uniform in [0, 1).
  double uniform();
  // Uniform in [lo, hi).
  double uniform(double lo, double hi);
  // Uniform integer in [0, n); n == 0 returns 0.
  uint64_t below(uint64_t n);

 private:
  uint64_t s_[4];
};

// Derives an independent seed for a sub-stream (worker, client) from a parent seed.
uint64_t mix_seed(uint64_t seed, uint64_t stream);

}  // namespace lwm2msim
