#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sim/util/time.h"

namespace lwm2msim {

// Remembers the response sent to each recent confirmable request, keyed by (peer, message id),
// so a retransmitted CON is answered with the same bytes instead of being processed again
// (RFC 7252 section 4.5). Entries expire after a fixed lifetime (EXCHANGE_LIFETIME).
//
// Bounded: a byte ring holds response bytes and an open-addressing table indexes them; both are
// sized at construction, and when either is full the oldest entries are evicted first. Nothing is
// allocated after construction. Every put takes a queue slot: a replaced response keeps its slot
// and ring bytes until it reaches the head of the queue.
class DuplicateCache {
 public:
  DuplicateCache(size_t max_entries, size_t max_bytes, TimeUs lifetime);

  // Stores (replacing any previous entry for the same key). Responses larger than max_bytes / 4
  // are not cached.
  void put(uint64_t peer, uint16_t message_id, std::span<const uint8_t> response, TimeUs now);
  // The cached response, or an empty span. The view stays valid until the next put() or expire().
  std::span<const uint8_t> find(uint64_t peer, uint16_t message_id, TimeUs now) const;
  // Drops entries older than the lifetime.
  void expire(TimeUs now);

  size_t size() const { return size_; }
  size_t bytes_used() const { return bytes_used_; }
  // Entries dropped to make room before they expired.
  uint64_t evictions() const { return evictions_; }

 private:
  // One cached response. Entries sit in a FIFO ring in insertion order; replacing a key marks the
  // old entry dead (removed from the index) and it is reclaimed when it reaches the FIFO head.
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  struct Entry {
    uint64_t peer = 0;
    TimeUs stored_at = 0;
    uint32_t offset = 0;
    uint16_t length = 0;
    uint16_t message_id = 0;
    uint32_t slot = kNoSlot;  // index in table_, kNoSlot when dead
  };

  // Slot holding the key, or the empty slot that ends its probe run.
  uint32_t probe(uint64_t peer, uint16_t message_id) const;
  uint32_t home_slot(uint64_t peer, uint16_t message_id) const;
  bool expired(const Entry& e, TimeUs now) const;
  // Removes a live entry from the index (backward-shift deletion, so no tombstones).
  void unlink(Entry& e);
  // Drops the FIFO head, live or dead.
  void pop_oldest();
  // Drops the FIFO head to make room, counting it as an eviction if it was still wanted.
  void evict_oldest(TimeUs now);
  // Evicts oldest entries until `length` contiguous ring bytes are free; returns their offset.
  size_t reserve(size_t length, TimeUs now);

  TimeUs lifetime_;
  size_t max_response_ = 0;
  std::vector<uint8_t> ring_;
  std::vector<Entry> entries_;   // FIFO ring of entries, oldest at head_
  std::vector<uint32_t> table_;  // linear probing: entry index + 1, 0 = empty
  size_t mask_ = 0;              // table_.size() - 1 (a power of two)
  size_t head_ = 0;
  size_t queued_ = 0;      // FIFO entries in use, dead ones included
  size_t size_ = 0;        // live entries
  size_t ring_tail_ = 0;   // where the next response is written
  size_t bytes_used_ = 0;  // bytes of live responses
  uint64_t evictions_ = 0;
};

}  // namespace lwm2msim
