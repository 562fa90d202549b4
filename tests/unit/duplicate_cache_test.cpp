#include "sim/coap/duplicate_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/util/rng.h"

namespace lwm2msim {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr TimeUs kLifetime = 247 * kUsPerSec;

Bytes filled(size_t n, uint8_t v) {
  return Bytes(n, v);
}

Bytes to_bytes(std::span<const uint8_t> s) {
  return Bytes(s.begin(), s.end());
}

TEST(DuplicateCache, HitAndMiss) {
  DuplicateCache c(16, 4096, kLifetime);
  const Bytes r = {0x60, 0x45, 0x12, 0x34, 0xff, 'o', 'k'};
  c.put(1, 0x1234, r, 0);
  EXPECT_EQ(to_bytes(c.find(1, 0x1234, 10)), r);
  EXPECT_TRUE(c.find(1, 0x1235, 10).empty());
  EXPECT_TRUE(c.find(2, 0x1234, 10).empty());
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(c.bytes_used(), r.size());
  EXPECT_EQ(c.evictions(), 0u);
}

TEST(DuplicateCache, ReplaceKeepsOnlyTheNewResponse) {
  DuplicateCache c(16, 4096, kLifetime);
  c.put(1, 7, filled(10, 'a'), 0);
  c.put(1, 7, filled(20, 'b'), 5);
  EXPECT_EQ(to_bytes(c.find(1, 7, 6)), filled(20, 'b'));
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(c.bytes_used(), 20u);
  // The replacement's lifetime starts at its own put.
  EXPECT_FALSE(c.find(1, 7, kLifetime + 4).empty());
  EXPECT_TRUE(c.find(1, 7, kLifetime + 5).empty());
  // Replacing many times does not leak capacity.
  for (int i = 0; i < 1000; ++i) {
    c.put(1, 7, filled(1 + i % 50, static_cast<uint8_t>(i)), 10);
  }
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(to_bytes(c.find(1, 7, 10)), filled(1 + 999 % 50, static_cast<uint8_t>(999)));
  EXPECT_EQ(c.evictions(), 0u);
}

TEST(DuplicateCache, ExpiresExactlyAtLifetime) {
  DuplicateCache c(16, 4096, kLifetime);
  c.put(9, 1, filled(8, 'x'), 1000);
  EXPECT_FALSE(c.find(9, 1, 1000 + kLifetime - 1).empty());
  EXPECT_TRUE(c.find(9, 1, 1000 + kLifetime).empty());
  // find() does not drop anything; expire() does, at the same boundary.
  c.expire(1000 + kLifetime - 1);
  EXPECT_EQ(c.size(), 1u);
  c.expire(1000 + kLifetime);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.bytes_used(), 0u);
  EXPECT_EQ(c.evictions(), 0u);
}

TEST(DuplicateCache, ExpireDropsOnlyOldEntries) {
  DuplicateCache c(16, 4096, 100);
  for (uint16_t i = 0; i < 10; ++i) {
    c.put(1, i, filled(4, static_cast<uint8_t>(i)), i * 10);
  }
  c.expire(149);  // entries stored at t <= 49 are at least 100 old
  EXPECT_EQ(c.size(), 5u);
  for (uint16_t i = 0; i < 10; ++i) {
    EXPECT_EQ(c.find(1, i, 149).empty(), i < 5) << i;
  }
}

TEST(DuplicateCache, EvictsOldestWhenEntriesRunOut) {
  DuplicateCache c(4, 4096, kLifetime);
  for (uint16_t i = 0; i < 6; ++i) {
    c.put(1, i, filled(3, static_cast<uint8_t>(i)), i);
  }
  EXPECT_EQ(c.size(), 4u);
  EXPECT_EQ(c.evictions(), 2u);
  EXPECT_TRUE(c.find(1, 0, 10).empty());
  EXPECT_TRUE(c.find(1, 1, 10).empty());
  for (uint16_t i = 2; i < 6; ++i) {
    EXPECT_EQ(to_bytes(c.find(1, i, 10)), filled(3, static_cast<uint8_t>(i)));
  }
}

TEST(DuplicateCache, EvictsOldestWhenBytesRunOut) {
  // 400 bytes of ring, responses of 100 (the largest cacheable): four fit, the fifth evicts one.
  DuplicateCache c(64, 400, kLifetime);
  for (uint16_t i = 0; i < 4; ++i) {
    c.put(2, i, filled(100, static_cast<uint8_t>(i)), i);
  }
  EXPECT_EQ(c.size(), 4u);
  EXPECT_EQ(c.bytes_used(), 400u);
  EXPECT_EQ(c.evictions(), 0u);
  c.put(2, 4, filled(100, 4), 4);
  EXPECT_EQ(c.size(), 4u);
  EXPECT_EQ(c.evictions(), 1u);
  EXPECT_TRUE(c.find(2, 0, 5).empty());
  for (uint16_t i = 1; i < 5; ++i) {
    EXPECT_EQ(to_bytes(c.find(2, i, 5)), filled(100, static_cast<uint8_t>(i))) << i;
  }
  // A response that cannot use the tail gap wraps to the start after evicting the oldest.
  c.put(2, 5, filled(60, 5), 6);
  c.put(2, 6, filled(60, 6), 7);
  EXPECT_TRUE(c.find(2, 1, 8).empty());
  EXPECT_TRUE(c.find(2, 2, 8).empty());
  for (uint16_t i = 3; i < 7; ++i) {
    EXPECT_FALSE(c.find(2, i, 8).empty()) << i;
  }
  EXPECT_EQ(to_bytes(c.find(2, 6, 8)), filled(60, 6));
}

TEST(DuplicateCache, ExpiredEntriesAreNotCountedAsEvictions) {
  DuplicateCache c(2, 4096, 100);
  c.put(1, 1, filled(4, 1), 0);
  c.put(1, 2, filled(4, 2), 0);
  c.put(1, 3, filled(4, 3), 200);
  c.put(1, 4, filled(4, 4), 200);
  EXPECT_EQ(c.evictions(), 0u);
  EXPECT_EQ(c.size(), 2u);
}

TEST(DuplicateCache, OversizeAndEmptyResponsesAreNotCached) {
  DuplicateCache c(16, 400, kLifetime);
  c.put(1, 1, filled(101, 'x'), 0);
  EXPECT_TRUE(c.find(1, 1, 0).empty());
  EXPECT_EQ(c.size(), 0u);
  c.put(1, 2, filled(100, 'y'), 0);
  EXPECT_FALSE(c.find(1, 2, 0).empty());
  // An uncacheable replacement still retires the stale response.
  c.put(1, 2, filled(101, 'z'), 1);
  EXPECT_TRUE(c.find(1, 2, 1).empty());
  c.put(1, 3, filled(10, 'w'), 1);
  c.put(1, 3, {}, 2);
  EXPECT_TRUE(c.find(1, 3, 2).empty());
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.bytes_used(), 0u);
}

TEST(DuplicateCache, ZeroCapacityStoresNothing) {
  DuplicateCache no_entries(0, 4096, kLifetime);
  no_entries.put(1, 1, filled(4, 1), 0);
  EXPECT_TRUE(no_entries.find(1, 1, 0).empty());
  DuplicateCache no_bytes(16, 0, kLifetime);
  no_bytes.put(1, 1, filled(4, 1), 0);
  EXPECT_TRUE(no_bytes.find(1, 1, 0).empty());
  EXPECT_EQ(no_bytes.size(), 0u);
}

TEST(DuplicateCache, CollidingKeysSurviveDeletion) {
  // Many keys in a small table force long probe runs; deleting from the middle of a run must
  // keep every other key reachable.
  // Room for the 96 puts below, so nothing is evicted and every key must be found.
  DuplicateCache c(96, 1 << 16, kLifetime);
  for (uint16_t i = 0; i < 64; ++i) {
    c.put(i % 3, i, filled(5, static_cast<uint8_t>(i)), 0);
  }
  for (uint16_t i = 0; i < 64; i += 2) {
    c.put(i % 3, i, filled(7, static_cast<uint8_t>(i + 100)), 1);
  }
  for (uint16_t i = 0; i < 64; ++i) {
    const Bytes expected = (i % 2 == 0) ? filled(7, static_cast<uint8_t>(i + 100))
                                        : filled(5, static_cast<uint8_t>(i));
    EXPECT_EQ(to_bytes(c.find(i % 3, i, 2)), expected) << i;
  }
  EXPECT_EQ(c.evictions(), 0u);
}

// Reference model: the latest response per key and when it was stored, plus the put history so
// the test knows which entries the cache is obliged to still hold.
struct Put {
  uint64_t peer;
  uint16_t mid;
  size_t length;
};

TEST(DuplicateCache, RandomOperationsMatchReferenceModel) {
  constexpr size_t kEntries = 32;
  constexpr size_t kBytes = 2048;
  constexpr TimeUs kLife = 1000;
  DuplicateCache c(kEntries, kBytes, kLife);
  std::map<std::pair<uint64_t, uint16_t>, std::pair<Bytes, TimeUs>> model;
  std::vector<Put> history;
  Rng rng(2024);
  TimeUs now = 0;
  uint64_t evictions_before = 0;

  for (int op = 0; op < 50000; ++op) {
    now += rng.below(20);
    const uint64_t peer = rng.below(4);
    const auto mid = static_cast<uint16_t>(rng.below(24));
    const auto key = std::make_pair(peer, mid);
    const uint64_t kind = rng.below(10);
    if (kind < 5) {
      const size_t len = rng.below(kBytes / 4 + 20);  // sometimes empty or oversize
      Bytes r(len);
      for (auto& b : r) {
        b = static_cast<uint8_t>(rng.next());
      }
      c.put(peer, mid, r, now);
      if (len == 0 || len > kBytes / 4) {
        model.erase(key);
      } else {
        model[key] = {r, now};
      }
      history.push_back({peer, mid, len});
      ASSERT_GE(c.evictions(), evictions_before);
      evictions_before = c.evictions();
    } else if (kind < 9) {
      const auto got = c.find(peer, mid, now);
      const auto it = model.find(key);
      if (it == model.end() || now - it->second.second >= kLife) {
        ASSERT_TRUE(got.empty()) << "op " << op;
        continue;
      }
      if (!got.empty()) {
        ASSERT_EQ(to_bytes(got), it->second.first) << "op " << op;
        continue;
      }
      // A miss is only allowed if the entry could have been pushed out: more than kEntries puts
      // or more than half the ring's bytes were stored since it (the other half covers the gap
      // a wrapped response can leave at the end of the ring).
      size_t puts = 0;
      size_t bytes = 0;
      for (auto h = history.rbegin(); h != history.rend(); ++h) {
        ++puts;
        bytes += h->length;
        if (h->peer == peer && h->mid == mid) {
          break;
        }
      }
      ASSERT_TRUE(puts > kEntries || bytes > kBytes / 2)
          << "op " << op << ": lost an entry after " << puts << " puts, " << bytes << " bytes";
    } else {
      c.expire(now);
      // After expire(), size and bytes account for exactly the entries find() returns.
      size_t live = 0;
      size_t live_bytes = 0;
      for (const auto& [k, v] : model) {
        const auto got = c.find(k.first, k.second, now);
        if (!got.empty()) {
          ASSERT_EQ(to_bytes(got), v.first);
          ++live;
          live_bytes += got.size();
        }
      }
      ASSERT_EQ(c.size(), live) << "op " << op;
      ASSERT_EQ(c.bytes_used(), live_bytes) << "op " << op;
      ASSERT_LE(c.size(), kEntries);
      ASSERT_LE(c.bytes_used(), kBytes);
    }
  }
  EXPECT_GT(c.evictions(), 0u);
}

}  // namespace
}  // namespace lwm2msim
