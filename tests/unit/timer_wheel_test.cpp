#include "sim/timer/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <utility>
#include <vector>

#include "sim/util/rng.h"

namespace lwm2msim {
namespace {

using TimerId = TimerWheel::TimerId;

struct Fired {
  TimerId id;
  uint64_t due;
  uint64_t now;  // wheel.now() seen inside the callback
  bool operator==(const Fired&) const = default;
};

// Advances and records every callback with the wheel's clock at that moment.
std::vector<Fired> advance_all(TimerWheel& wheel, uint64_t now_tick) {
  std::vector<Fired> fired;
  const size_t n = wheel.advance(now_tick, [&](TimerId id, uint64_t due) {
    fired.push_back({id, due, wheel.now()});
  });
  EXPECT_EQ(n, fired.size());
  EXPECT_EQ(wheel.now(), now_tick);
  return fired;
}

// Due ticks that sit on and around every level boundary, plus beyond 2^32.
std::vector<uint64_t> boundary_offsets() {
  std::vector<uint64_t> out = {1, 2, 254, 255, 256, 257, 511, 512, 65535, 65536, 65537};
  for (uint64_t bit : {24, 32, 33, 40}) {
    const uint64_t b = uint64_t{1} << bit;
    out.insert(out.end(), {b - 1, b, b + 1, b + 255, b + 256});
  }
  return out;
}

TEST(TimerWheel, FiresInDueOrderAcrossAllLevels) {
  for (uint64_t start :
       {uint64_t{0}, uint64_t{12345}, (uint64_t{1} << 32) - 3, uint64_t{0xfffffe}}) {
    TimerWheel wheel(64, start);
    std::vector<uint64_t> offsets = boundary_offsets();
    // Schedule in a scrambled order so due order is not scheduling order.
    std::vector<TimerId> order(offsets.size());
    std::iota(order.begin(), order.end(), 0);
    Rng rng(start + 1);
    for (size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[rng.below(i)]);
    }
    for (TimerId id : order) {
      wheel.schedule(id, start + offsets[id]);
    }
    ASSERT_EQ(wheel.size(), offsets.size());

    const uint64_t last = start + offsets.back();
    const std::vector<Fired> fired = advance_all(wheel, last);
    ASSERT_EQ(fired.size(), offsets.size());
    for (size_t i = 0; i < fired.size(); ++i) {
      EXPECT_EQ(fired[i].id, i) << "start " << start;
      EXPECT_EQ(fired[i].due, start + offsets[i]);
      EXPECT_EQ(fired[i].now, fired[i].due);
    }
    EXPECT_EQ(wheel.size(), 0u);
    EXPECT_FALSE(wheel.next_wakeup().has_value());
  }
}

TEST(TimerWheel, NothingFiresEarlyWhenAdvancingToJustBeforeEachDue) {
  const uint64_t start = 1000;
  TimerWheel wheel(64, start);
  const std::vector<uint64_t> offsets = boundary_offsets();
  for (TimerId id = 0; id < offsets.size(); ++id) {
    wheel.schedule(id, start + offsets[id]);
  }
  for (TimerId id = 0; id < offsets.size(); ++id) {
    const uint64_t due = start + offsets[id];
    EXPECT_TRUE(advance_all(wheel, due - 1).empty()) << "offset " << offsets[id];
    const std::vector<Fired> fired = advance_all(wheel, due);
    ASSERT_EQ(fired.size(), 1u);
    EXPECT_EQ(fired[0], (Fired{id, due, due}));
  }
}

TEST(TimerWheel, TiesFireInSchedulingOrder) {
  TimerWheel wheel(200, 0);
  for (TimerId id = 100; id-- > 0;) {
    wheel.schedule(id, 500);
  }
  const std::vector<Fired> fired = advance_all(wheel, 1000);
  ASSERT_EQ(fired.size(), 100u);
  for (size_t i = 0; i < fired.size(); ++i) {
    EXPECT_EQ(fired[i].id, 99 - i);
  }
}

TEST(TimerWheel, TiesStayFifoWhenScheduledFromDifferentLevels) {
  // Each later timer is scheduled closer to the due tick, so it starts on a lower level than the
  // ones before it; cascading must not let it overtake them.
  const uint64_t due = (uint64_t{5} << 32) + (uint64_t{3} << 24) + (7 << 16) + (9 << 8) + 11;
  TimerWheel wheel(8, 0);
  wheel.schedule(0, due);  // beyond 2^32: parked
  ASSERT_TRUE(advance_all(wheel, due - (uint64_t{1} << 31)).empty());
  wheel.schedule(1, due);  // level 3
  ASSERT_TRUE(advance_all(wheel, due - 70000).empty());
  wheel.schedule(2, due);  // level 2
  ASSERT_TRUE(advance_all(wheel, due - 300).empty());
  wheel.schedule(3, due);  // level 1
  ASSERT_TRUE(advance_all(wheel, due - 3).empty());
  wheel.schedule(4, due);  // level 0
  wheel.schedule(5, due - 1);
  const std::vector<Fired> fired = advance_all(wheel, due);
  ASSERT_EQ(fired.size(), 6u);
  EXPECT_EQ(fired[0].id, 5u);
  for (TimerId id = 0; id < 5; ++id) {
    EXPECT_EQ(fired[id + 1], (Fired{id, due, due}));
  }
}

TEST(TimerWheel, CancelRemovesTimer) {
  TimerWheel wheel(16, 0);
  for (TimerId id = 0; id < 16; ++id) {
    wheel.schedule(id, 10 + id * 1000);
  }
  wheel.cancel(3);
  wheel.cancel(3);   // twice is harmless
  wheel.cancel(15);  // the last one on its level
  wheel.cancel(99);  // out of range is harmless
  EXPECT_FALSE(wheel.armed(3));
  EXPECT_FALSE(wheel.armed(99));
  EXPECT_TRUE(wheel.armed(4));
  EXPECT_EQ(wheel.size(), 14u);
  const std::vector<Fired> fired = advance_all(wheel, 1'000'000);
  ASSERT_EQ(fired.size(), 14u);
  for (const Fired& f : fired) {
    EXPECT_NE(f.id, 3u);
    EXPECT_NE(f.id, 15u);
  }
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, CancelFromCallbackPreventsLaterTimerOfSameTick) {
  TimerWheel wheel(4, 0);
  wheel.schedule(0, 50);
  wheel.schedule(1, 50);
  wheel.schedule(2, 60);
  std::vector<TimerId> fired;
  wheel.advance(100, [&](TimerId id, uint64_t) {
    fired.push_back(id);
    if (id == 0) {
      wheel.cancel(1);
      wheel.cancel(2);
      wheel.cancel(0);  // the firing one is no longer armed
    }
  });
  EXPECT_EQ(fired, std::vector<TimerId>{0});
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, RescheduleEarlierAndLater) {
  TimerWheel wheel(4, 0);
  wheel.schedule(0, 100'000);
  wheel.schedule(1, 50);
  wheel.schedule(0, 20);      // earlier, and from level 2 to level 0
  wheel.schedule(1, 70'000);  // later, and from level 0 to level 2
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_EQ(wheel.due(0), 20u);
  EXPECT_EQ(wheel.due(1), 70'000u);
  std::vector<Fired> fired = advance_all(wheel, 69'999);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], (Fired{0, 20, 20}));
  fired = advance_all(wheel, 200'000);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], (Fired{1, 70'000, 70'000}));
}

TEST(TimerWheel, ReschedulingToSameTickMovesToBackOfTies) {
  TimerWheel wheel(3, 0);
  wheel.schedule(0, 10);
  wheel.schedule(1, 10);
  wheel.schedule(0, 10);
  const std::vector<Fired> fired = advance_all(wheel, 10);
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].id, 1u);
  EXPECT_EQ(fired[1].id, 0u);
}

TEST(TimerWheel, RearmFromCallback) {
  TimerWheel wheel(2, 0);
  wheel.schedule(0, 7);
  std::vector<uint64_t> dues;
  const size_t n = wheel.advance(1000, [&](TimerId id, uint64_t due) {
    dues.push_back(due);
    EXPECT_FALSE(wheel.armed(id));
    wheel.schedule(id, due + 300);  // periodic, crossing level-0 windows
  });
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(dues, (std::vector<uint64_t>{7, 307, 607, 907}));
  EXPECT_TRUE(wheel.armed(0));
  EXPECT_EQ(wheel.due(0), 1207u);
  EXPECT_EQ(wheel.next_wakeup(), std::optional<uint64_t>{1024});  // the cascade point of 1207
}

TEST(TimerWheel, TimersScheduledAtOrBeforeTargetFromCallbackFireInSameCall) {
  TimerWheel wheel(8, 0);
  wheel.schedule(0, 100);
  std::vector<Fired> fired;
  wheel.advance(1000, [&](TimerId id, uint64_t due) {
    fired.push_back({id, due, wheel.now()});
    if (id == 0 && due == 100) {
      wheel.schedule(1, 1000);  // the target tick itself
      wheel.schedule(2, 100);   // this very tick
      wheel.schedule(3, 3);     // in the past
      wheel.schedule(4, 500);
      wheel.schedule(5, 1001);  // after the target: stays armed
    }
    if (id == 4) {
      wheel.schedule(0, 500);  // same tick again, behind nothing
    }
  });
  const std::vector<Fired> expected = {{0, 100, 100}, {2, 100, 100}, {3, 3, 100},
                                       {4, 500, 500}, {0, 500, 500}, {1, 1000, 1000}};
  EXPECT_EQ(fired, expected);
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_TRUE(wheel.armed(5));
}

TEST(TimerWheel, ScheduleInPastFiresOnNextAdvanceInSchedulingOrder) {
  TimerWheel wheel(8, 5000);
  wheel.schedule(0, 4999);
  wheel.schedule(1, 0);
  wheel.schedule(2, 5000);
  wheel.schedule(3, 5001);
  EXPECT_EQ(wheel.next_wakeup(), std::optional<uint64_t>{5000});
  std::vector<Fired> fired = advance_all(wheel, 5000);  // no time passes
  const std::vector<Fired> expected = {{0, 4999, 5000}, {1, 0, 5000}, {2, 5000, 5000}};
  EXPECT_EQ(fired, expected);
  EXPECT_EQ(wheel.next_wakeup(), std::optional<uint64_t>{5001});
  // An advance to an earlier tick does not move time back but still fires what is pending.
  wheel.schedule(4, 10);
  fired = advance_all(wheel, 5000);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], (Fired{4, 10, 5000}));
  std::vector<TimerId> ids;
  EXPECT_EQ(wheel.advance(1, [&](TimerId id, uint64_t) { ids.push_back(id); }), 0u);
  EXPECT_EQ(wheel.now(), 5000u);
}

TEST(TimerWheel, FarFutureBeyond32BitsIsAccepted) {
  const uint64_t start = 77;
  TimerWheel wheel(4, start);
  const uint64_t a = start + (uint64_t{1} << 32) + 1;
  const uint64_t b = start + (uint64_t{1} << 40) + 12345;
  const uint64_t c = UINT64_MAX;
  wheel.schedule(0, b);
  wheel.schedule(1, a);
  wheel.schedule(2, c);
  EXPECT_EQ(wheel.due(2), c);
  std::vector<Fired> fired = advance_all(wheel, a - 1);
  EXPECT_TRUE(fired.empty());
  fired = advance_all(wheel, b);
  const std::vector<Fired> expected = {{1, a, a}, {0, b, b}};
  EXPECT_EQ(fired, expected);
  // Jump close to the end of time, then reach it.
  fired = advance_all(wheel, UINT64_MAX - (uint64_t{1} << 33));
  EXPECT_TRUE(fired.empty());
  EXPECT_TRUE(wheel.armed(2));
  fired = advance_all(wheel, UINT64_MAX);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], (Fired{2, c, c}));
}

TEST(TimerWheel, LongIdleGapsAreJumped) {
  // Stepping tick by tick through 10^12 ticks would take hours; this must be instant.
  TimerWheel wheel(8, 0);
  const std::vector<uint64_t> dues = {999'999'999, 1'000'000'000, 123'456'789'012, 999'999'999'999};
  for (TimerId id = 0; id < dues.size(); ++id) {
    wheel.schedule(id, dues[id]);
  }
  std::vector<Fired> fired;
  for (uint64_t t = 0; t < 1'000'000'000'000; t += 1'000'000'000) {
    const std::vector<Fired> part = advance_all(wheel, t + 1'000'000'000);
    fired.insert(fired.end(), part.begin(), part.end());
  }
  ASSERT_EQ(fired.size(), dues.size());
  for (size_t i = 0; i < dues.size(); ++i) {
    EXPECT_EQ(fired[i], (Fired{static_cast<TimerId>(i), dues[i], dues[i]}));
  }
  wheel.schedule(0, 2'000'000'000'000);
  fired = advance_all(wheel, 10'000'000'000'000);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].now, 2'000'000'000'000u);
}

TEST(TimerWheel, NextWakeupBounds) {
  TimerWheel wheel(4, 1000);
  EXPECT_FALSE(wheel.next_wakeup().has_value());
  wheel.schedule(0, 1010);  // same level-0 window: exact
  EXPECT_EQ(wheel.next_wakeup(), std::optional<uint64_t>{1010});
  wheel.cancel(0);
  wheel.schedule(1, 1000 + 70'000);  // level 2: a cascade point no later than due
  const std::optional<uint64_t> w = wheel.next_wakeup();
  ASSERT_TRUE(w.has_value());
  EXPECT_GT(*w, 1000u);
  EXPECT_LE(*w, 71'000u);
  // Advancing from wakeup to wakeup reaches the timer exactly.
  size_t fired = 0;
  while (wheel.size() > 0) {
    const uint64_t next = *wheel.next_wakeup();
    ASSERT_LE(next, 71'000u);
    fired += wheel.advance(next, [&](TimerId, uint64_t due) { EXPECT_EQ(due, wheel.now()); });
  }
  EXPECT_EQ(fired, 1u);
  EXPECT_EQ(wheel.now(), 71'000u);
}

TEST(TimerWheel, ReserveKeepsArmedTimers) {
  TimerWheel wheel(2, 0);
  wheel.schedule(0, 300);
  wheel.schedule(1, 200);
  wheel.reserve(100'000);
  EXPECT_EQ(wheel.capacity(), 100'000u);
  wheel.reserve(10);  // never shrinks
  EXPECT_EQ(wheel.capacity(), 100'000u);
  wheel.schedule(99'999, 250);
  const std::vector<Fired> fired = advance_all(wheel, 300);
  const std::vector<Fired> expected = {{1, 200, 200}, {99'999, 250, 250}, {0, 300, 300}};
  EXPECT_EQ(fired, expected);
}

// Reference model: a timer fires at max(due, clock when scheduled), ties by scheduling order.
class Model {
 public:
  explicit Model(uint32_t capacity, uint64_t now) : where_(capacity, queue_.end()), now_(now) {}

  void schedule(TimerId id, uint64_t due) {
    cancel(id);
    where_[id] = queue_.emplace(std::pair{std::max(due, now_), seq_++}, Entry{id, due});
  }
  void cancel(TimerId id) {
    if (where_[id] != queue_.end()) {
      queue_.erase(where_[id]);
      where_[id] = queue_.end();
    }
  }
  bool armed(TimerId id) const { return where_[id] != queue_.end(); }
  uint64_t due(TimerId id) const { return where_[id]->second.due; }
  size_t size() const { return queue_.size(); }
  std::optional<uint64_t> earliest() const {
    return queue_.empty() ? std::nullopt : std::optional{queue_.begin()->first.first};
  }
  // Pops the next timer to fire at or before `limit` and moves the clock to its fire tick.
  std::optional<Fired> pop(uint64_t limit) {
    if (queue_.empty() || queue_.begin()->first.first > limit) {
      return std::nullopt;
    }
    const auto it = queue_.begin();
    now_ = it->first.first;
    const Fired f{it->second.id, it->second.due, now_};
    where_[f.id] = queue_.end();
    queue_.erase(it);
    return f;
  }
  void set_now(uint64_t now) { now_ = std::max(now_, now); }
  uint64_t now() const { return now_; }

 private:
  struct Entry {
    TimerId id;
    uint64_t due;
  };
  using Queue = std::multimap<std::pair<uint64_t, uint64_t>, Entry>;
  Queue queue_;
  std::vector<Queue::iterator> where_;
  uint64_t now_;
  uint64_t seq_ = 0;
};

// Delays skewed to small values but covering every level, the past and beyond 2^32.
uint64_t random_due(Rng& rng, uint64_t now) {
  const uint64_t r = rng.below(100);
  if (r < 5) {
    return now - std::min(now, rng.below(1000));  // past (or now)
  }
  if (r < 55) {
    return now + rng.below(300);
  }
  if (r < 80) {
    return now + rng.below(70'000);
  }
  if (r < 95) {
    return now + rng.below(uint64_t{1} << 26);
  }
  return now + (uint64_t{1} << 32) - 1000 + rng.below(uint64_t{1} << 34);
}

TEST(TimerWheel, RandomizedAgainstReferenceModel) {
  constexpr uint32_t kIds = 2000;
  constexpr int kOps = 200'000;
  // Start just below a 2^32 boundary so top-level wraps and far-future parking are exercised.
  const uint64_t start = (uint64_t{1} << 32) - 3'000'000;
  TimerWheel wheel(kIds, start);
  Model model(kIds, start);
  Rng rng(20240611);
  size_t total_fired = 0;

  for (int op = 0; op < kOps; ++op) {
    const uint64_t r = rng.below(100);
    if (r < 45) {
      const auto id = static_cast<TimerId>(rng.below(kIds));
      const uint64_t due = random_due(rng, wheel.now());
      wheel.schedule(id, due);
      model.schedule(id, due);
    } else if (r < 60) {
      const auto id = static_cast<TimerId>(rng.below(kIds));
      wheel.cancel(id);
      model.cancel(id);
    } else {
      uint64_t target = wheel.now();
      const uint64_t kind = rng.below(100);
      if (kind < 70) {
        target += rng.below(200);
      } else if (kind < 95) {
        target += rng.below(100'000);
      } else if (kind < 99) {
        target += rng.below(uint64_t{1} << 28);
      } else {
        target += rng.below(uint64_t{1} << 33);
      }
      bool ok = true;
      wheel.advance(target, [&](TimerId id, uint64_t due) {
        const std::optional<Fired> expected = model.pop(target);
        const Fired got{id, due, wheel.now()};
        if (!expected || !(got == *expected)) {
          ok = false;
          return;
        }
        ++total_fired;
        // Callbacks act on the wheel and the model alike.
        const uint64_t action = rng.below(10);
        if (action < 3) {
          const uint64_t next_due = random_due(rng, wheel.now());
          wheel.schedule(id, next_due);
          model.schedule(id, next_due);
        } else if (action < 5) {
          const auto other = static_cast<TimerId>(rng.below(kIds));
          const uint64_t next_due = random_due(rng, wheel.now());
          wheel.schedule(other, next_due);
          model.schedule(other, next_due);
        } else if (action < 6) {
          const auto other = static_cast<TimerId>(rng.below(kIds));
          wheel.cancel(other);
          model.cancel(other);
        }
      });
      ASSERT_TRUE(ok) << "wrong timer fired at op " << op;
      ASSERT_FALSE(model.pop(target).has_value()) << "timer not fired at op " << op;
      model.set_now(target);
      ASSERT_EQ(wheel.now(), target);
    }

    ASSERT_EQ(wheel.size(), model.size()) << "op " << op;
    const auto probe = static_cast<TimerId>(rng.below(kIds));
    ASSERT_EQ(wheel.armed(probe), model.armed(probe));
    if (model.armed(probe)) {
      ASSERT_EQ(wheel.due(probe), model.due(probe));
    }
    const std::optional<uint64_t> wake = wheel.next_wakeup();
    const std::optional<uint64_t> earliest = model.earliest();
    ASSERT_EQ(wake.has_value(), earliest.has_value());
    if (earliest) {
      ASSERT_GE(*wake, wheel.now());
      ASSERT_LE(*wake, *earliest);
      if ((*earliest ^ wheel.now()) < 256) {
        ASSERT_EQ(*wake, *earliest);
      }
    }
  }
  EXPECT_GT(total_fired, 50'000u);
}

}  // namespace
}  // namespace lwm2msim
