#include "sim/phase/executors.h"

namespace lwm2msim {

RampExecutor::RampExecutor(const PhaseSpec& spec, uint32_t workers, uint32_t worker)
    : spec_(spec), devices_(spec, workers, worker) {}

TimeUs RampExecutor::due_of(uint64_t rank) const {
  const bool up = spec_.to > spec_.from;
  const uint64_t span = up ? spec_.to - spec_.from : spec_.from - spec_.to;
  const uint64_t step = up ? rank - spec_.from : spec_.from - 1 - rank;
  // long double: a day-long ramp of a million devices overflows a 64-bit product.
  return start_ + static_cast<TimeUs>(static_cast<long double>(step) *
                                      static_cast<long double>(spec_.duration) /
                                      static_cast<long double>(span));
}

void RampExecutor::begin(PhaseTarget&, TimeUs start) {
  start_ = start;
  // Up: the first device not yet started; down: one past the last one still registered.
  cursor_ = 0;
  while (cursor_ < devices_.size() && devices_.rank(cursor_) < spec_.from) {
    ++cursor_;
  }
}

TimeUs RampExecutor::advance(PhaseTarget& target, TimeUs now) {
  if (spec_.to > spec_.from) {
    for (; cursor_ < devices_.size() && devices_.rank(cursor_) < spec_.to; ++cursor_) {
      const TimeUs due = due_of(devices_.rank(cursor_));
      if (due > now) {
        return due;
      }
      target.start_device(devices_.local(cursor_), due);
    }
    return kNever;
  }
  for (; cursor_ > 0 && devices_.rank(cursor_ - 1) >= spec_.to; --cursor_) {
    const TimeUs due = due_of(devices_.rank(cursor_ - 1));
    if (due > now) {
      return due;
    }
    target.retire_device(devices_.local(cursor_ - 1), due);
  }
  return kNever;
}

}  // namespace lwm2msim
