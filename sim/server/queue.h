// queue: LwM2M queue mode (TS 1.1 section 6.5) on the server side. A queue-mode client listens
// only for a while after each message it sends; requests that fall due while it sleeps are held,
// in order, until it is heard from again. One SleepQueues per server thread, for the
// registrations that thread owns; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/util/address_plan.h"
#include "sim/util/time.h"

namespace lwm2msim {

// True when a Register asks for queue mode: a binding (b=) holding Q (LwM2M 1.0, "UQ"), or a Q
// query parameter without a value (LwM2M 1.1 and later).
bool register_wants_queue_mode(const CoapMessage& request);

// A server request waiting for its client to wake up. kind, path, index and serial mean what the
// server thread says they mean; the queue only keeps them in order.
struct HeldRequest {
  uint8_t kind = 0;
  uint16_t path = 0;
  uint32_t index = 0;
  uint32_t serial = 0;
  TimeUs due = 0;      // when the request fell due (latencies count from here)
  TimeUs held_at = 0;  // when it was put in the queue
};

class SleepQueues {
 public:
  static constexpr size_t kMaxHeld = 32;  // per registration; more are dropped and counted

  enum class Admit : uint8_t {
    kSend,  // not a queue-mode registration, or its client is awake
    kHeld,  // queued until the client wakes up
    kFull,  // the queue is full: dropped
  };

  // A queue-mode registration whose client is awake until (not at) `awake_until`.
  void add(uint32_t registration, const Endpoint4& peer, TimeUs awake_until);
  bool contains(uint32_t registration) const { return queues_.contains(registration); }
  size_t size() const { return queues_.size(); }
  bool empty() const { return queues_.empty(); }

  // A request for `registration` falls due at `now`. On kSend *peer is left alone unless the
  // registration is in queue mode, where it becomes the address the client was last heard from.
  Admit admit(uint32_t registration, TimeUs now, const HeldRequest& request, Endpoint4* peer);

  // The client was heard from: it is awake until `awake_until` (never shortened), at `peer` when
  // given. Returns its held requests, oldest first, to be sent now, and the address to send them
  // to in *to. Empty for unknown registrations.
  std::vector<HeldRequest> wake(uint32_t registration, const Endpoint4* peer, TimeUs awake_until,
                                Endpoint4* to);
  // Whether requests are held for `registration`.
  bool has_held(uint32_t registration) const;

  // Removes the registrations `gone` names; returns how many held requests went with them.
  size_t drop_if(const std::function<bool(uint32_t registration)>& gone);

 private:
  struct Queue {
    Endpoint4 peer;
    TimeUs awake_until = 0;
    std::vector<HeldRequest> held;
  };
  std::unordered_map<uint32_t, Queue> queues_;
};

}  // namespace lwm2msim
