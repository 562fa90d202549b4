#include <cmath>

#include "sim/phase/executors.h"

namespace lwm2msim {

ChurnExecutor::ChurnExecutor(const PhaseSpec& spec, uint32_t workers, uint32_t worker)
    : spec_(spec), devices_(spec, workers, worker) {}

void ChurnExecutor::recount(PhaseTarget& target, TimeUs now) {
  registered_ = 0;
  for (size_t k = 0; k < devices_.size(); ++k) {
    registered_ += target.is_registered(devices_.local(k)) ? 1 : 0;
  }
  next_recount_ = now + kUsPerSec;
}

TimeUs ChurnExecutor::next_gap(PhaseTarget& target) const {
  const double per_second = static_cast<double>(registered_) * spec_.churn_per_minute / 60.0;
  if (per_second <= 0) {
    return kUsPerSec;  // nobody to churn yet: look again after the next recount
  }
  // Exponential gaps: a Poisson process, as independent devices leaving would make.
  const double u = 1.0 - target.rng().uniform();
  return static_cast<TimeUs>(-std::log(u) / per_second * 1e6) + 1;
}

void ChurnExecutor::begin(PhaseTarget& target, TimeUs start) {
  end_ = start + spec_.duration;
  recount(target, start);
  next_event_ = start + next_gap(target);
}

TimeUs ChurnExecutor::advance(PhaseTarget& target, TimeUs now) {
  while (next_event_ <= now && next_event_ < end_) {
    if (next_event_ >= next_recount_) {
      recount(target, next_event_);
    }
    if (registered_ > 0 && devices_.size() > 0) {
      for (int attempt = 0; attempt < 16; ++attempt) {
        const uint32_t local = devices_.local(target.rng().below(devices_.size()));
        if (target.is_registered(local)) {
          target.cycle_device(local, next_event_);
          break;
        }
      }
    }
    next_event_ += next_gap(target);
  }
  return next_event_ < end_ ? next_event_ : kNever;
}

}  // namespace lwm2msim
