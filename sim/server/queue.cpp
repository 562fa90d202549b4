#include "sim/server/queue.h"

#include <algorithm>
#include <string_view>

namespace lwm2msim {

bool register_wants_queue_mode(const CoapMessage& request) {
  for (const CoapOptionView& o : request.options()) {
    if (o.number != CoapOption::kUriQuery) {
      continue;
    }
    const std::string_view q = o.as_string();
    if (q == "Q" || (q.starts_with("b=") && q.find('Q', 2) != std::string_view::npos)) {
      return true;
    }
  }
  return false;
}

void SleepQueues::add(uint32_t registration, const Endpoint4& peer, TimeUs awake_until) {
  Queue& q = queues_[registration];
  q.peer = peer;
  q.awake_until = awake_until;
  q.held.clear();
}

SleepQueues::Admit SleepQueues::admit(uint32_t registration, TimeUs now, const HeldRequest& request,
                                      Endpoint4* peer) {
  auto it = queues_.find(registration);
  if (it == queues_.end()) {
    return Admit::kSend;
  }
  Queue& q = it->second;
  // Requests already held go first, so a newer one waits behind them even while awake.
  if (now < q.awake_until && q.held.empty()) {
    *peer = q.peer;
    return Admit::kSend;
  }
  if (q.held.size() >= kMaxHeld) {
    return Admit::kFull;
  }
  q.held.push_back(request);
  return Admit::kHeld;
}

std::vector<HeldRequest> SleepQueues::wake(uint32_t registration, const Endpoint4* peer,
                                           TimeUs awake_until, Endpoint4* to) {
  auto it = queues_.find(registration);
  if (it == queues_.end()) {
    return {};
  }
  Queue& q = it->second;
  if (peer != nullptr) {
    q.peer = *peer;
  }
  q.awake_until = std::max(q.awake_until, awake_until);
  *to = q.peer;
  std::vector<HeldRequest> out;
  out.swap(q.held);
  return out;
}

bool SleepQueues::has_held(uint32_t registration) const {
  auto it = queues_.find(registration);
  return it != queues_.end() && !it->second.held.empty();
}

size_t SleepQueues::drop_if(const std::function<bool(uint32_t registration)>& gone) {
  size_t dropped = 0;
  for (auto it = queues_.begin(); it != queues_.end();) {
    if (gone(it->first)) {
      dropped += it->second.held.size();
      it = queues_.erase(it);
    } else {
      ++it;
    }
  }
  return dropped;
}

}  // namespace lwm2msim
