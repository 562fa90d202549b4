// timer: a hierarchical timing wheel holding one timer per id, for millions of timers per worker.
// Insert, cancel and expiry are O(1); nodes are preallocated and intrusive, nothing is allocated
// per timer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace lwm2msim {

// Ticks are abstract (the worker uses 1 tick = 1 ms). Ids are dense indices [0, capacity).
// Four levels of 256 slots cover 2^32 ticks ahead; anything further is parked above the top level
// and re-examined when its 2^32-tick epoch comes, so any due tick is accepted.
class TimerWheel {
 public:
  using TimerId = uint32_t;
  static constexpr TimerId kNone = UINT32_MAX;

  explicit TimerWheel(uint32_t capacity = 0, uint64_t start_tick = 0);

  // Grows the id space; existing timers are kept.
  void reserve(uint32_t capacity);
  uint32_t capacity() const { return static_cast<uint32_t>(nodes_.size()); }

  // Arms (or re-arms) timer `id` to fire at `due_tick`. A due tick <= now() fires on the next
  // advance().
  void schedule(TimerId id, uint64_t due_tick);
  void cancel(TimerId id);
  bool armed(TimerId id) const;
  // Due tick of an armed timer.
  uint64_t due(TimerId id) const;

  // Moves time to `now_tick` and calls on_expire(id, due_tick) for every timer due at or before it,
  // in due order (ties in the order they were scheduled). The callback may schedule or cancel any
  // timer, including the one firing; a timer scheduled at or before now_tick during the callback
  // fires within this same call. Returns the number fired.
  template <class F>
  size_t advance(uint64_t now_tick, F&& on_expire);

  // The earliest tick at which advance() could have work: exact when the next timer is within the
  // first level, otherwise the next cascade point (never later than the earliest due timer).
  // nullopt when no timer is armed.
  std::optional<uint64_t> next_wakeup() const;

  uint64_t now() const { return now_; }
  size_t size() const { return armed_; }

 private:
  static constexpr int kLevels = 4;
  static constexpr int kSlotBits = 8;
  static constexpr uint32_t kSlots = 1u << kSlotBits;
  static constexpr uint32_t kWords = kSlots / 64;
  static constexpr int kEpochBits = kLevels * kSlotBits;
  // Lists after the kLevels * kSlots wheel slots: timers due at or before now_, and timers parked
  // because their due tick differs from now_ above bit 32.
  static constexpr uint32_t kExpiredSlot = kLevels * kSlots;
  static constexpr uint32_t kFarSlot = kExpiredSlot + 1;
  // In Node::prev of a timer that is not armed (ids stay below it).
  static constexpr TimerId kUnarmed = kNone - 1;

  // One per virtual client, so it holds no slot number: a timer's list is a pure function of
  // (due, now_), recomputed by slot_of() when it has to be unlinked.
  struct Node {
    uint64_t due = 0;
    TimerId prev = kUnarmed;
    TimerId next = kNone;
  };
  static_assert(sizeof(Node) == 16, "one node per client: keep it small");
  struct Slot {
    TimerId head = kNone;
    TimerId tail = kNone;
  };

  // The list a timer due at `due_tick` belongs in now. Cascades move whole lists in order when
  // now_ crosses a slot boundary, so this stays true for every armed timer, and timers with equal
  // due ticks always share one list and fire in scheduling order.
  uint32_t slot_of(uint64_t due_tick) const;
  void place(TimerId id);
  void push_back(uint32_t slot, TimerId id);
  void unlink(TimerId id);
  // Re-places every timer of one list relative to now_.
  void cascade(uint32_t slot);
  // Moves now_ to the next tick with work if it is <= limit, cascades there and moves that tick's
  // timers to the expired list; otherwise moves now_ to limit. Returns whether it found work.
  bool step(uint64_t limit);
  // Next tick at which a wheel slot or the far list needs attention, ignoring expired timers.
  std::optional<uint64_t> next_event() const;
  // First occupied slot index of `level` in [from, kSlots), or -1.
  int find_occupied(int level, uint32_t from) const;
  void set_occupied(uint32_t slot, bool on);
  TimerId pop_expired_head();

  std::vector<Node> nodes_;
  std::array<Slot, kFarSlot + 1> slots_{};
  std::array<std::array<uint64_t, kWords>, kLevels> occupied_{};  // bit per non-empty slot
  uint64_t now_ = 0;
  size_t armed_ = 0;
  // No far timer is due before this (a lower bound: cancels do not raise it).
  uint64_t far_min_due_ = UINT64_MAX;
};

}  // namespace lwm2msim

#include "sim/timer/timer_wheel_inl.h"
