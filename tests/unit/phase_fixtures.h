#pragma once

#include <cstdint>
#include <vector>

#include "sim/phase/phase.h"

namespace lwm2msim::testing {

// Devices as flags, and a log of what an executor did, at what time.
class FakeTarget final : public PhaseTarget {
 public:
  enum class State : uint8_t { kIdle, kRegistered };
  struct Action {
    char what;  // 's' start, 'r' retire, 'c' cycle
    uint32_t local;
    TimeUs due;
  };

  FakeTarget(uint32_t workers, uint32_t worker, uint32_t locals)
      : workers_(workers), worker_(worker), states_(locals, State::kIdle), rng_(9) {}

  uint32_t workers() const override { return workers_; }
  uint32_t worker_index() const override { return worker_; }
  bool start_device(uint32_t local, TimeUs due) override {
    if (states_.at(local) != State::kIdle) {
      return false;
    }
    states_[local] = State::kRegistered;
    log_.push_back({'s', local, due});
    return true;
  }
  void retire_device(uint32_t local, TimeUs due) override {
    states_.at(local) = State::kIdle;
    log_.push_back({'r', local, due});
  }
  void cycle_device(uint32_t local, TimeUs due) override { log_.push_back({'c', local, due}); }
  bool is_idle(uint32_t local) const override { return states_.at(local) == State::kIdle; }
  bool is_registered(uint32_t local) const override {
    return states_.at(local) == State::kRegistered;
  }
  void dropped_arrival() override { ++dropped_; }
  void stop_all(double rate) override { stop_rate_ = rate; }
  Rng& rng() override { return rng_; }

  // Runs an executor from `start` until it has nothing left before `end`, waking when it asks.
  void run(PhaseExecutor& e, TimeUs start, TimeUs end) {
    e.begin(*this, start);
    TimeUs t = start;
    for (int guard = 0; guard < 1'000'000 && t < end; ++guard) {
      const TimeUs next = e.advance(*this, t);
      if (next == PhaseExecutor::kNever || next >= end) {
        break;
      }
      t = next;
    }
  }

  uint32_t workers_;
  uint32_t worker_;
  std::vector<State> states_;
  std::vector<Action> log_;
  uint64_t dropped_ = 0;
  double stop_rate_ = -1;
  Rng rng_;
};

inline PhaseSpec spec(PhaseType type, TimeUs duration, uint64_t devices) {
  PhaseSpec s;
  s.type = type;
  s.duration = duration;
  s.devices = {{0, devices}};
  return s;
}

}  // namespace lwm2msim::testing
