// dm: when an observation notifies (LwM2M TS 1.1 sections 5.1.2, 6.4.1 and 7.3.2; RFC 7641):
// pure decision logic on injected time, plus the CON/NON policy and Observe sequence numbers.
#pragma once

#include <cstdint>
#include <optional>

#include "sim/dm/attributes.h"
#include "sim/util/time.h"

namespace lwm2msim {

// "No time": no check is due until the caller learns that the value changed.
inline constexpr TimeUs kNoCheck = UINT64_MAX;

// The observed value at time t. `digest` covers every value under the observed path (e.g.
// records_digest()); `number` is set for a single numeric resource (gt/lt/st) or a Boolean one as
// 0/1 (edge), and empty for instances, objects, composites and other types.
struct ObservedSample {
  TimeUs t = 0;
  uint64_t digest = 0;
  std::optional<double> number;
};

// Per-observation state.
struct NotificationState {
  TimeUs last_notified_at = 0;
  TimeUs last_sampled_at = 0;  // last time the change conditions were evaluated
  double last_number = 0;      // value in the last notification, when has_number
  uint64_t last_digest = 0;    // digest in the last notification
  bool has_number = false;
  bool change_pending = false;   // a change met the conditions but pmin had not elapsed
  bool sample_deferred = false;  // a changed value arrived before epmin allowed an evaluation
  bool sampled_true = false;     // Boolean value at the last evaluation: edge compares with it

  // At Observe time: the 2.05 answer counts as the first notification.
  void reset(const ObservedSample& first);
};

struct NotifyDecision {
  bool notify = false;
  // When the worker must call decide() again (with a fresh sample): the earliest of the next
  // sampling time, last notification + pmin while a change is pending, and last notification +
  // pmax. kNoCheck when none applies.
  TimeUs next_check = kNoCheck;
};

// Decides whether the observation notifies now with `now` (the value current at now.t), for the
// effective attributes of the observation (effective_attributes()). Call it when next_check is
// reached and whenever the value may have changed. When it returns notify = true the state already
// counts `now` as notified: send it.
//
// - pmin: a change earlier than pmin after the last notification is held back and notified when
//   pmin elapses, with the value current then.
// - pmax: notify when pmax passed since the last notification, changed or not; ignored when 0 or
//   below pmin.
// - Change conditions, for a numeric single resource: gt/lt notify when the value crosses the
//   threshold relative to the last notified value; st when it moved by at least st from it; edge
//   on the configured Boolean transition since the previous evaluation (not the last notification,
//   as the other direction never notifies). The TS lists them as '"Greater Than", "Less Than", OR
//   "Step"' and notifies when "valid Change Value Conditions ... if any is defined" hold (TS 1.0.2
//   and 1.1 section 5.1.2): any one set condition suffices. With none set, or for a non-numeric or
//   multi-value target, any change of the digest notifies.
// - epmin/epmax: conditions are evaluated at most every epmin seconds; the value is sampled every
//   default_sample_period clamped into [epmin, epmax] (an epmax of 0 or below epmin is ignored).
//   A default_sample_period of 0 or kNoCheck means the value only changes when the caller says
//   so, so without epmax nothing is sampled periodically.
NotifyDecision decide(const NotificationAttributes& effective, NotificationState* state,
                      const ObservedSample& now, TimeUs default_sample_period);

// CON/NON policy for the count-th notification (1 = the first after the Observe answer):
// con_every 0 = always NON, 1 = always CON, N = every Nth CON.
bool notification_is_confirmable(uint32_t count, uint32_t con_every);
// The same, except that a 1.2 "con" attribute in force decides.
bool notification_is_confirmable(const NotificationAttributes& effective, uint32_t count,
                                 uint32_t con_every);

// The Observe option value after v: 24 bits, wrapping (RFC 7641 section 4.4).
uint32_t next_observe_sequence(uint32_t v);
// Whether a notification (v2, received at t2) is newer than the last one (v1, received at t1):
// RFC 7641 section 3.4 (serial-number order within 2^23, or more than 128 s later).
bool observe_is_fresher(uint32_t v1, TimeUs t1, uint32_t v2, TimeUs t2);

}  // namespace lwm2msim
