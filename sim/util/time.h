#pragma once

#include <chrono>
#include <cstdint>

namespace lwm2msim {

// Time inside the engine: microseconds since an epoch chosen by the owner (a worker's start).
using TimeUs = uint64_t;

constexpr TimeUs kUsPerMs = 1000;
constexpr TimeUs kUsPerSec = 1000 * 1000;

inline TimeUs seconds_to_us(double s) {
  return static_cast<TimeUs>(s * 1e6);
}

// Source of "now"; tests inject a ManualClock so schedules are deterministic.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeUs now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  SteadyClock() : epoch_(std::chrono::steady_clock::now()) {}
  TimeUs now() const override {
    return static_cast<TimeUs>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - epoch_)
                                   .count());
  }
  std::chrono::steady_clock::time_point epoch() const { return epoch_; }

 private:
  std::chrono::steady_clock::time_point epoch_;
};

class ManualClock final : public Clock {
 public:
  TimeUs now() const override { return now_; }
  void set(TimeUs t) { now_ = t; }
  void advance(TimeUs d) { now_ += d; }

 private:
  TimeUs now_ = 0;
};

}  // namespace lwm2msim
