#include "sim/scenario/scenario.h"

namespace lwm2msim {

std::string_view to_string(PhaseKind kind) {
  switch (kind) {
    case PhaseKind::kRamp:
      return "ramp";
    case PhaseKind::kHold:
      return "hold";
    case PhaseKind::kArrivalRate:
      return "arrival_rate";
    case PhaseKind::kChurn:
      return "churn";
    case PhaseKind::kStop:
      return "stop";
  }
  return "?";
}

std::string format_file_duration(TimeUs us) {
  if (us == 0) {
    return "0s";
  }
  if (us % kUsPerSec != 0) {
    return us % kUsPerMs == 0 ? std::to_string(us / kUsPerMs) + "ms" : std::to_string(us) + "us";
  }
  uint64_t s = us / kUsPerSec;
  std::string out;
  if (s >= 3600) {
    out += std::to_string(s / 3600) + "h";
    s %= 3600;
  }
  if (s >= 60) {
    out += std::to_string(s / 60) + "m";
    s %= 60;
  }
  if (s > 0) {
    out += std::to_string(s) + "s";
  }
  return out;
}

TimeUs ScenarioPlan::duration() const {
  TimeUs total = 0;
  for (const PhasePlan& p : phases) {
    total += p.duration;
  }
  return total;
}

uint64_t ScenarioPlan::total_devices() const {
  uint64_t total = 0;
  for (const GroupPlan& g : groups) {
    total += g.count;
  }
  return total;
}

}  // namespace lwm2msim
