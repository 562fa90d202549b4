#include "sim/dm/notification.h"

#include <algorithm>
#include <cmath>

namespace lwm2msim {
namespace {

constexpr uint32_t kObserveMask = (1u << 24) - 1;
constexpr uint32_t kObserveHalf = 1u << 23;
constexpr TimeUs kObserveFreshness = 128 * kUsPerSec;

TimeUs add_sat(TimeUs a, TimeUs b) {
  return a > kNoCheck - b ? kNoCheck : a + b;
}

TimeUs seconds_us(uint32_t s) {
  return TimeUs{s} * kUsPerSec;
}

bool has_value_condition(const NotificationAttributes& a) {
  return a.has(Attr::kGt) || a.has(Attr::kLt) || a.has(Attr::kSt) || a.has(Attr::kEdge);
}

bool differs_from_last_notified(const NotificationState& s, const ObservedSample& now) {
  return now.digest != s.last_digest || now.number.has_value() != s.has_number ||
         (s.has_number && *now.number != s.last_number);
}

bool is_true(const ObservedSample& now) {
  return now.number.value_or(0) != 0;
}

// Whether `now` differs from the last notification enough to notify (pmin aside).
bool meets_change_conditions(const NotificationAttributes& a, const NotificationState& s,
                             const ObservedSample& now) {
  const bool numeric = now.number.has_value() && s.has_number;
  if (!numeric || !has_value_condition(a)) {
    return differs_from_last_notified(s, now);
  }
  const double v = *now.number;
  const double last = s.last_number;
  // Crossing: the last notified value and this one are on different sides of the threshold.
  if (a.has(Attr::kGt) && (last > a.gt()) != (v > a.gt())) {
    return true;
  }
  if (a.has(Attr::kLt) && (last < a.lt()) != (v < a.lt())) {
    return true;
  }
  if (a.has(Attr::kSt) && std::fabs(v - last) >= a.st()) {
    return true;
  }
  if (a.has(Attr::kEdge) && s.sampled_true != is_true(now) && is_true(now) == a.edge()) {
    return true;
  }
  return false;
}

void mark_notified(NotificationState* s, const ObservedSample& now) {
  s->last_notified_at = now.t;
  s->has_number = now.number.has_value();
  s->last_number = now.number.value_or(0);
  s->last_digest = now.digest;
  s->change_pending = false;
}

}  // namespace

void NotificationState::reset(const ObservedSample& first) {
  mark_notified(this, first);
  last_sampled_at = first.t;
  sample_deferred = false;
  sampled_true = is_true(first);
}

NotifyDecision decide(const NotificationAttributes& effective, NotificationState* state,
                      const ObservedSample& now, TimeUs default_sample_period) {
  const uint32_t pmin = effective.has(Attr::kPmin) ? effective.pmin() : 0;
  const TimeUs pmin_us = seconds_us(pmin);
  const bool pmax_active =
      effective.has(Attr::kPmax) && effective.pmax() > 0 && effective.pmax() >= pmin;
  const TimeUs pmax_us = seconds_us(effective.pmax());
  const uint32_t epmin = effective.has(Attr::kEpmin) ? effective.epmin() : 0;
  const TimeUs epmin_us = seconds_us(epmin);
  const bool epmax_active =
      effective.has(Attr::kEpmax) && effective.epmax() > 0 && effective.epmax() >= epmin;

  TimeUs interval = default_sample_period == 0 ? kNoCheck : default_sample_period;
  interval = std::max(interval, epmin_us);
  if (epmax_active) {
    interval = std::min(interval, seconds_us(effective.epmax()));
  }

  if (now.t >= add_sat(state->last_sampled_at, epmin_us)) {
    state->last_sampled_at = now.t;
    state->sample_deferred = false;
    if (meets_change_conditions(effective, *state, now)) {
      state->change_pending = true;
    }
    state->sampled_true = is_true(now);
  } else if (differs_from_last_notified(*state, now) || state->sampled_true != is_true(now)) {
    // Unchanged values need no evaluation, so they cost no extra wake-up.
    state->sample_deferred = true;
  }

  const TimeUs elapsed = now.t > state->last_notified_at ? now.t - state->last_notified_at : 0;
  NotifyDecision d;
  d.notify = (state->change_pending && elapsed >= pmin_us) || (pmax_active && elapsed >= pmax_us);
  if (d.notify) {
    mark_notified(state, now);
  }

  if (interval != kNoCheck) {
    d.next_check = std::min(d.next_check, add_sat(state->last_sampled_at, interval));
  }
  if (state->sample_deferred) {
    d.next_check = std::min(d.next_check, add_sat(state->last_sampled_at, epmin_us));
  }
  if (state->change_pending) {
    d.next_check = std::min(d.next_check, add_sat(state->last_notified_at, pmin_us));
  }
  if (pmax_active) {
    d.next_check = std::min(d.next_check, add_sat(state->last_notified_at, pmax_us));
  }
  return d;
}

bool notification_is_confirmable(uint32_t count, uint32_t con_every) {
  return con_every != 0 && count % con_every == 0;
}

bool notification_is_confirmable(const NotificationAttributes& effective, uint32_t count,
                                 uint32_t con_every) {
  if (effective.has(Attr::kCon)) {
    return effective.con();
  }
  return notification_is_confirmable(count, con_every);
}

uint32_t next_observe_sequence(uint32_t v) {
  return (v + 1) & kObserveMask;
}

bool observe_is_fresher(uint32_t v1, TimeUs t1, uint32_t v2, TimeUs t2) {
  v1 &= kObserveMask;
  v2 &= kObserveMask;
  return (v1 < v2 && v2 - v1 < kObserveHalf) || (v1 > v2 && v1 - v2 > kObserveHalf) ||
         t2 > add_sat(t1, kObserveFreshness);
}

}  // namespace lwm2msim
