#include <cmath>

#include "sim/phase/executors.h"

namespace lwm2msim {

ArrivalRateExecutor::ArrivalRateExecutor(const PhaseSpec& spec, uint32_t workers, uint32_t worker)
    : spec_(spec), devices_(spec, workers, worker), workers_(workers), next_(worker) {
  total_ = static_cast<uint64_t>(
      std::floor(spec.rate * static_cast<double>(spec.duration) / static_cast<double>(kUsPerSec)));
}

TimeUs ArrivalRateExecutor::due_of(uint64_t n) const {
  return start_ + static_cast<TimeUs>(static_cast<double>(n) / spec_.rate * 1e6);
}

void ArrivalRateExecutor::begin(PhaseTarget&, TimeUs start) {
  start_ = start;
  idle_cursor_ = 0;
}

TimeUs ArrivalRateExecutor::advance(PhaseTarget& target, TimeUs now) {
  for (; next_ < total_; next_ += workers_) {
    const TimeUs due = due_of(next_);
    if (due > now) {
      return due;
    }
    // The lowest-ranked idle device: devices retired or rebooted earlier are found again.
    bool started = false;
    for (size_t tried = 0; tried < devices_.size() && !started; ++tried) {
      if (idle_cursor_ >= devices_.size()) {
        idle_cursor_ = 0;
      }
      const uint32_t local = devices_.local(idle_cursor_++);
      started = target.is_idle(local) && target.start_device(local, due);
    }
    if (!started) {
      target.dropped_arrival();
    }
  }
  return kNever;
}

}  // namespace lwm2msim
