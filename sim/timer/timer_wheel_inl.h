// timer: the template part of TimerWheel, included at the end of timer_wheel.h.
#pragma once

#include "sim/timer/timer_wheel.h"

namespace lwm2msim {

template <class F>
size_t TimerWheel::advance(uint64_t now_tick, F&& on_expire) {
  size_t fired = 0;
  do {
    // Each timer is unlinked before its callback runs, so the callback sees a consistent wheel and
    // may re-arm it; a throwing callback leaves the rest pending for the next call.
    for (TimerId id = pop_expired_head(); id != kNone; id = pop_expired_head()) {
      const uint64_t due_tick = nodes_[id].due;
      ++fired;
      on_expire(id, due_tick);
    }
  } while (step(now_tick));
  return fired;
}

}  // namespace lwm2msim
