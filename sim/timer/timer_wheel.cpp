#include "sim/timer/timer_wheel.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace lwm2msim {

TimerWheel::TimerWheel(uint32_t capacity, uint64_t start_tick) : now_(start_tick) {
  reserve(capacity);
}

void TimerWheel::reserve(uint32_t capacity) {
  assert(capacity <= kUnarmed);
  if (capacity > nodes_.size()) {
    nodes_.resize(capacity);
  }
}

void TimerWheel::schedule(TimerId id, uint64_t due_tick) {
  assert(id < nodes_.size());
  Node& node = nodes_[id];
  if (node.prev != kUnarmed) {
    unlink(id);
  } else {
    ++armed_;
  }
  node.due = due_tick;
  place(id);
}

void TimerWheel::cancel(TimerId id) {
  if (!armed(id)) {
    return;
  }
  unlink(id);
  nodes_[id].prev = kUnarmed;
  --armed_;
}

bool TimerWheel::armed(TimerId id) const {
  return id < nodes_.size() && nodes_[id].prev != kUnarmed;
}

uint64_t TimerWheel::due(TimerId id) const {
  assert(armed(id));
  return nodes_[id].due;
}

std::optional<uint64_t> TimerWheel::next_wakeup() const {
  if (slots_[kExpiredSlot].head != kNone) {
    return now_;
  }
  return next_event();
}

uint32_t TimerWheel::slot_of(uint64_t due_tick) const {
  if (due_tick <= now_) {
    return kExpiredSlot;
  }
  // The level is the digit where due and now first differ, so a timer moves down exactly when
  // now_ enters its slot's range.
  const int level = (63 - std::countl_zero(due_tick ^ now_)) / kSlotBits;
  if (level >= kLevels) {
    return kFarSlot;
  }
  const auto index = static_cast<uint32_t>(due_tick >> (level * kSlotBits)) & (kSlots - 1);
  return static_cast<uint32_t>(level) * kSlots + index;
}

void TimerWheel::place(TimerId id) {
  const uint64_t due_tick = nodes_[id].due;
  const uint32_t slot = slot_of(due_tick);
  if (slot == kFarSlot) {
    far_min_due_ = std::min(far_min_due_, due_tick);
  }
  push_back(slot, id);
}

void TimerWheel::set_occupied(uint32_t slot, bool on) {
  if (slot >= kExpiredSlot) {
    return;
  }
  uint64_t& word = occupied_[slot / kSlots][(slot % kSlots) / 64];
  const uint64_t bit = uint64_t{1} << (slot % 64);
  word = on ? (word | bit) : (word & ~bit);
}

void TimerWheel::push_back(uint32_t slot, TimerId id) {
  Slot& list = slots_[slot];
  Node& node = nodes_[id];
  node.next = kNone;
  node.prev = list.tail;
  if (list.tail == kNone) {
    list.head = id;
    set_occupied(slot, true);
  } else {
    nodes_[list.tail].next = id;
  }
  list.tail = id;
}

void TimerWheel::unlink(TimerId id) {
  Node& node = nodes_[id];
  const uint32_t slot = slot_of(node.due);
  Slot& list = slots_[slot];
  if (node.prev != kNone) {
    nodes_[node.prev].next = node.next;
  } else {
    list.head = node.next;
  }
  if (node.next != kNone) {
    nodes_[node.next].prev = node.prev;
  } else {
    list.tail = node.prev;
  }
  if (list.head == kNone) {
    set_occupied(slot, false);
    if (slot == kFarSlot) {
      far_min_due_ = UINT64_MAX;
    }
  }
  node.next = kNone;
}

TimerWheel::TimerId TimerWheel::pop_expired_head() {
  Slot& list = slots_[kExpiredSlot];
  const TimerId id = list.head;
  if (id == kNone) {
    return kNone;
  }
  Node& node = nodes_[id];
  list.head = node.next;
  if (list.head == kNone) {
    list.tail = kNone;
  } else {
    nodes_[list.head].prev = kNone;
  }
  node.next = kNone;
  node.prev = kUnarmed;
  --armed_;
  return id;
}

void TimerWheel::cascade(uint32_t slot) {
  TimerId id = slots_[slot].head;
  if (id == kNone) {
    return;
  }
  // Detach first: far timers still outside their epoch land back in the far list.
  slots_[slot] = Slot{};
  set_occupied(slot, false);
  if (slot == kFarSlot) {
    far_min_due_ = UINT64_MAX;
  }
  while (id != kNone) {
    const TimerId next = nodes_[id].next;
    place(id);
    id = next;
  }
}

int TimerWheel::find_occupied(int level, uint32_t from) const {
  if (from >= kSlots) {
    return -1;
  }
  uint32_t word = from / 64;
  uint64_t bits = occupied_[level][word] & (~uint64_t{0} << (from % 64));
  for (;;) {
    if (bits != 0) {
      return static_cast<int>(word * 64 + static_cast<uint32_t>(std::countr_zero(bits)));
    }
    if (++word == kWords) {
      return -1;
    }
    bits = occupied_[level][word];
  }
}

std::optional<uint64_t> TimerWheel::next_event() const {
  // A slot holds timers whose digit at its level is ahead of now_'s and whose higher digits match,
  // so every event of a level comes before the next boundary of the level above (and the far list
  // is only looked at on epoch boundaries): the first non-empty level decides.
  for (int level = 0; level < kLevels; ++level) {
    const int shift = level * kSlotBits;
    const auto digit = static_cast<uint32_t>(now_ >> shift) & (kSlots - 1);
    const int index = find_occupied(level, digit + 1);
    if (index >= 0) {
      const int span_shift = shift + kSlotBits;
      return ((now_ >> span_shift) << span_shift) + (static_cast<uint64_t>(index) << shift);
    }
  }
  if (slots_[kFarSlot].head == kNone) {
    return std::nullopt;
  }
  // Skip whole idle epochs: nothing parked is due before the epoch of far_min_due_.
  const uint64_t next_epoch = ((now_ >> kEpochBits) + 1) << kEpochBits;
  return std::max(next_epoch, (far_min_due_ >> kEpochBits) << kEpochBits);
}

bool TimerWheel::step(uint64_t limit) {
  const std::optional<uint64_t> next = next_event();
  if (!next || *next > limit) {
    // No list changes state before limit, so jumping keeps every placement valid.
    if (limit > now_) {
      now_ = limit;
    }
    return false;
  }
  now_ = *next;
  // Highest first: each may fill the lower slots cascaded after it.
  if ((now_ & ((uint64_t{1} << kEpochBits) - 1)) == 0) {
    cascade(kFarSlot);
  }
  for (int level = kLevels - 1; level >= 1; --level) {
    const int shift = level * kSlotBits;
    if ((now_ & ((uint64_t{1} << shift) - 1)) == 0) {
      const auto index = static_cast<uint32_t>(now_ >> shift) & (kSlots - 1);
      cascade(static_cast<uint32_t>(level) * kSlots + index);
    }
  }
  // The level-0 slot of now_ holds exactly the timers due now_; splice it whole onto the expired
  // list (empty here, but appending keeps order regardless).
  const auto slot = static_cast<uint32_t>(now_ & (kSlots - 1));
  Slot& due_now = slots_[slot];
  if (due_now.head != kNone) {
    Slot& expired = slots_[kExpiredSlot];
    if (expired.tail == kNone) {
      expired.head = due_now.head;
    } else {
      nodes_[expired.tail].next = due_now.head;
      nodes_[due_now.head].prev = expired.tail;
    }
    expired.tail = due_now.tail;
    due_now = Slot{};
    set_occupied(slot, false);
  }
  return true;
}

}  // namespace lwm2msim
