// phase: the executor classes behind make_executor(), one per phase type (one file each), visible
// to their tests.
#pragma once

#include "sim/phase/phase.h"

namespace lwm2msim {

// Ramp: the registered devices go from `from` to `to` linearly over the duration. Going up, the
// device of rank r (from <= r < to) starts at start + (r - from) * duration / (to - from); going
// down, the device of rank r (to <= r < from) retires at start + (from - 1 - r) * duration /
// (from - to), highest rank first. Ranks are fleet-wide, so the workers together follow the line.
class RampExecutor final : public PhaseExecutor {
 public:
  RampExecutor(const PhaseSpec& spec, uint32_t workers, uint32_t worker);
  void begin(PhaseTarget& target, TimeUs start) override;
  TimeUs advance(PhaseTarget& target, TimeUs now) override;

 private:
  TimeUs due_of(uint64_t rank) const;

  PhaseSpec spec_;
  PhaseDevices devices_;
  TimeUs start_ = 0;
  size_t cursor_ = 0;  // next device (up) or one past it (down)
};

// Arrival rate (open model): arrival n comes at start + n / rate, for n < rate * duration, and is
// handled by worker n % workers, which starts its lowest-ranked idle device; with none idle the
// arrival is dropped and counted, never queued or slowed.
class ArrivalRateExecutor final : public PhaseExecutor {
 public:
  ArrivalRateExecutor(const PhaseSpec& spec, uint32_t workers, uint32_t worker);
  void begin(PhaseTarget& target, TimeUs start) override;
  TimeUs advance(PhaseTarget& target, TimeUs now) override;

 private:
  TimeUs due_of(uint64_t n) const;

  PhaseSpec spec_;
  PhaseDevices devices_;
  uint32_t workers_;
  TimeUs start_ = 0;
  uint64_t next_ = 0;   // next arrival number of this worker
  uint64_t total_ = 0;  // arrivals of the whole phase
  size_t idle_cursor_ = 0;
};

// Churn: churn_per_minute of the registered devices de-register and register again, as a
// Poisson process per worker whose rate follows the registered count (re-counted every second).
class ChurnExecutor final : public PhaseExecutor {
 public:
  ChurnExecutor(const PhaseSpec& spec, uint32_t workers, uint32_t worker);
  void begin(PhaseTarget& target, TimeUs start) override;
  TimeUs advance(PhaseTarget& target, TimeUs now) override;

 private:
  void recount(PhaseTarget& target, TimeUs now);
  TimeUs next_gap(PhaseTarget& target) const;

  PhaseSpec spec_;
  PhaseDevices devices_;
  TimeUs end_ = 0;
  TimeUs next_event_ = 0;
  TimeUs next_recount_ = 0;
  uint64_t registered_ = 0;
};

// Stop: every device de-registers, paced at the phase's rate.
class StopExecutor final : public PhaseExecutor {
 public:
  explicit StopExecutor(const PhaseSpec& spec) : rate_(spec.rate) {}
  void begin(PhaseTarget& target, TimeUs start) override;
  TimeUs advance(PhaseTarget&, TimeUs) override { return kNever; }

 private:
  double rate_;
};

}  // namespace lwm2msim
