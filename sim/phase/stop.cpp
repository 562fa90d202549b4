#include "sim/phase/executors.h"

namespace lwm2msim {

void StopExecutor::begin(PhaseTarget& target, TimeUs) {
  target.stop_all(rate_);
}

}  // namespace lwm2msim
