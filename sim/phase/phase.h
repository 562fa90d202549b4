// phase: the executors of a scenario's timeline (ramp, hold, arrival rate, churn, stop). Each
// worker runs one executor per phase over its own devices; executors decide when devices start,
// retire or cycle, and never touch sockets or clients themselves.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "sim/util/rng.h"
#include "sim/util/time.h"

namespace lwm2msim {

enum class PhaseType : uint8_t { kRamp, kHold, kArrivalRate, kChurn, kStop };
std::string_view to_string(PhaseType t);

// One phase as the fleet runs it. Device counts are fleet-wide over the phase's devices (the
// devices of its groups, ranked in fleet index order).
struct PhaseSpec {
  PhaseType type = PhaseType::kHold;
  TimeUs duration = 0;
  uint64_t from = 0;            // ramp: registered devices at the start
  uint64_t to = 0;              // ramp: ... and at the end
  double rate = 0;              // arrival rate: registrations per second; stop: de-registrations/s
  double churn_per_minute = 0;  // churn: fraction of the registered devices per minute
  // The phase's devices as ranges of fleet indexes [first, first + count), in index order.
  std::vector<std::pair<uint64_t, uint64_t>> devices;
};

// What an executor may do to the devices of its worker. `local` ids are the worker's.
class PhaseTarget {
 public:
  virtual ~PhaseTarget() = default;
  virtual uint32_t workers() const = 0;
  virtual uint32_t worker_index() const = 0;
  // Begins registering an idle device; false when it is not idle.
  virtual bool start_device(uint32_t local, TimeUs due) = 0;
  // De-registers a device and leaves it idle.
  virtual void retire_device(uint32_t local, TimeUs due) = 0;
  // De-registers a device and registers it again at once.
  virtual void cycle_device(uint32_t local, TimeUs due) = 0;
  virtual bool is_idle(uint32_t local) const = 0;
  virtual bool is_registered(uint32_t local) const = 0;
  // An arrival found no idle device (open model: it is dropped, not delayed).
  virtual void dropped_arrival() = 0;
  // The fleet's stop: every device de-registers, paced at `rate` per second (0: default).
  virtual void stop_all(double rate) = 0;
  virtual Rng& rng() = 0;
};

// The local devices of a phase on one worker, and their fleet-wide rank within the phase.
class PhaseDevices {
 public:
  PhaseDevices(const PhaseSpec& spec, uint32_t workers, uint32_t worker);
  // Local devices in rank order.
  size_t size() const { return locals_.size(); }
  uint32_t local(size_t k) const { return locals_[k]; }
  uint64_t rank(size_t k) const { return ranks_[k]; }
  // Devices of the phase across the fleet.
  uint64_t fleet_total() const { return total_; }

 private:
  std::vector<uint32_t> locals_;
  std::vector<uint64_t> ranks_;
  uint64_t total_ = 0;
};

class PhaseExecutor {
 public:
  virtual ~PhaseExecutor() = default;
  // The phase begins at `start` (time since the run began).
  virtual void begin(PhaseTarget& target, TimeUs start) = 0;
  // Does everything due by `now`; returns when it next has something to do (kNever: nothing
  // before the phase ends).
  virtual TimeUs advance(PhaseTarget& target, TimeUs now) = 0;

  static constexpr TimeUs kNever = UINT64_MAX;
};

std::unique_ptr<PhaseExecutor> make_executor(const PhaseSpec& spec, uint32_t workers,
                                             uint32_t worker);

// Counts and times of the phases, computed once from the specs.
class Timeline {
 public:
  explicit Timeline(std::vector<PhaseSpec> phases);
  std::span<const PhaseSpec> phases() const { return phases_; }
  TimeUs start_of(size_t phase) const { return starts_[phase]; }
  TimeUs end_of(size_t phase) const { return starts_[phase] + phases_[phase].duration; }
  // The phase running at t (the last one after the end).
  size_t phase_at(TimeUs t) const;
  TimeUs duration() const { return starts_.empty() ? 0 : end_of(phases_.size() - 1); }

 private:
  std::vector<PhaseSpec> phases_;
  std::vector<TimeUs> starts_;
};

}  // namespace lwm2msim
