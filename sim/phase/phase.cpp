#include "sim/phase/phase.h"

#include <algorithm>

#include "sim/phase/executors.h"

namespace lwm2msim {
namespace {

// Hold: the devices stay as the previous phases left them.
class HoldExecutor final : public PhaseExecutor {
 public:
  void begin(PhaseTarget&, TimeUs) override {}
  TimeUs advance(PhaseTarget&, TimeUs) override { return kNever; }
};

}  // namespace

std::string_view to_string(PhaseType t) {
  switch (t) {
    case PhaseType::kRamp:
      return "ramp";
    case PhaseType::kHold:
      return "hold";
    case PhaseType::kArrivalRate:
      return "arrival_rate";
    case PhaseType::kChurn:
      return "churn";
    case PhaseType::kStop:
      return "stop";
  }
  return "?";
}

PhaseDevices::PhaseDevices(const PhaseSpec& spec, uint32_t workers, uint32_t worker) {
  uint64_t offset = 0;
  for (const auto& [first, count] : spec.devices) {
    // The first fleet index at or after `first` that lives on this worker (i % workers).
    uint64_t i = first + (worker + workers - first % workers) % workers;
    for (; i < first + count; i += workers) {
      locals_.push_back(static_cast<uint32_t>(i / workers));
      ranks_.push_back(offset + (i - first));
    }
    offset += count;
  }
  total_ = offset;
}

std::unique_ptr<PhaseExecutor> make_executor(const PhaseSpec& spec, uint32_t workers,
                                             uint32_t worker) {
  switch (spec.type) {
    case PhaseType::kRamp:
      return std::make_unique<RampExecutor>(spec, workers, worker);
    case PhaseType::kHold:
      return std::make_unique<HoldExecutor>();
    case PhaseType::kArrivalRate:
      return std::make_unique<ArrivalRateExecutor>(spec, workers, worker);
    case PhaseType::kChurn:
      return std::make_unique<ChurnExecutor>(spec, workers, worker);
    case PhaseType::kStop:
      return std::make_unique<StopExecutor>(spec);
  }
  return std::make_unique<HoldExecutor>();
}

Timeline::Timeline(std::vector<PhaseSpec> phases) : phases_(std::move(phases)) {
  TimeUs t = 0;
  for (const PhaseSpec& p : phases_) {
    starts_.push_back(t);
    t += p.duration;
  }
}

size_t Timeline::phase_at(TimeUs t) const {
  for (size_t i = 0; i < phases_.size(); ++i) {
    if (t < end_of(i)) {
      return i;
    }
  }
  return phases_.empty() ? 0 : phases_.size() - 1;
}

}  // namespace lwm2msim
