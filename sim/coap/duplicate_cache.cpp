#include "sim/coap/duplicate_cache.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace lwm2msim {
namespace {

// Entry indexes are stored as uint32 (index + 1) in the table, and table slots as uint32 in the
// entries; this cap keeps both, and the doubled table size, far from overflow.
constexpr size_t kMaxEntries = size_t{1} << 28;

uint64_t mix(uint64_t peer, uint16_t message_id) {
  uint64_t z = peer ^ (static_cast<uint64_t>(message_id) * 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

DuplicateCache::DuplicateCache(size_t max_entries, size_t max_bytes, TimeUs lifetime)
    : lifetime_(lifetime),
      ring_(std::min<size_t>(max_bytes, std::numeric_limits<uint32_t>::max())),
      entries_(std::min(max_entries, kMaxEntries)) {
  max_response_ = std::min<size_t>(ring_.size() / 4, std::numeric_limits<uint16_t>::max());
  // At most half full, so probe runs stay short and always end at an empty slot.
  size_t table_size = 2;
  while (table_size < 2 * entries_.size()) {
    table_size <<= 1;
  }
  table_.assign(table_size, 0);
  mask_ = table_size - 1;
}

uint32_t DuplicateCache::home_slot(uint64_t peer, uint16_t message_id) const {
  return static_cast<uint32_t>(mix(peer, message_id) & mask_);
}

uint32_t DuplicateCache::probe(uint64_t peer, uint16_t message_id) const {
  uint32_t i = home_slot(peer, message_id);
  while (true) {
    const uint32_t v = table_[i];
    if (v == 0) {
      return i;
    }
    const Entry& e = entries_[v - 1];
    if (e.peer == peer && e.message_id == message_id) {
      return i;
    }
    i = static_cast<uint32_t>((i + 1) & mask_);
  }
}

bool DuplicateCache::expired(const Entry& e, TimeUs now) const {
  // A clock that went backwards makes the entry young rather than ancient.
  return now >= e.stored_at && now - e.stored_at >= lifetime_;
}

void DuplicateCache::unlink(Entry& e) {
  // Backward-shift deletion: pull later members of the probe run into the hole unless that would
  // move them before their home slot.
  size_t hole = e.slot;
  size_t j = hole;
  while (true) {
    j = (j + 1) & mask_;
    const uint32_t v = table_[j];
    if (v == 0) {
      break;
    }
    Entry& moved = entries_[v - 1];
    const size_t home = home_slot(moved.peer, moved.message_id);
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) {
      continue;
    }
    table_[hole] = v;
    moved.slot = static_cast<uint32_t>(hole);
    hole = j;
  }
  table_[hole] = 0;
  e.slot = kNoSlot;
  --size_;
  bytes_used_ -= e.length;
}

void DuplicateCache::pop_oldest() {
  Entry& e = entries_[head_];
  if (e.slot != kNoSlot) {
    unlink(e);
  }
  head_ = (head_ + 1) % entries_.size();
  --queued_;
}

void DuplicateCache::evict_oldest(TimeUs now) {
  const Entry& e = entries_[head_];
  if (e.slot != kNoSlot && !expired(e, now)) {
    ++evictions_;
  }
  pop_oldest();
}

size_t DuplicateCache::reserve(size_t length, TimeUs now) {
  // Live bytes run from the oldest entry's offset (h) to ring_tail_. With entries of at least one
  // byte, ring_tail_ > h means the data is contiguous [h, tail); otherwise it has wrapped and the
  // free space is [tail, h). A response never straddles the end: the gap is skipped instead.
  while (true) {
    if (queued_ == 0) {
      ring_tail_ = 0;
      return 0;
    }
    const size_t h = entries_[head_].offset;
    if (ring_tail_ > h) {
      if (ring_.size() - ring_tail_ >= length) {
        return ring_tail_;
      }
      if (h >= length) {
        return 0;
      }
    } else if (h - ring_tail_ >= length) {
      return ring_tail_;
    }
    evict_oldest(now);
  }
}

void DuplicateCache::put(uint64_t peer, uint16_t message_id, std::span<const uint8_t> response,
                         TimeUs now) {
  expire(now);
  if (entries_.empty()) {
    return;
  }
  const uint32_t existing = table_[probe(peer, message_id)];
  if (existing != 0) {
    // The old response is stale whether or not the new one can be stored.
    unlink(entries_[existing - 1]);
  }
  // An empty response would be indistinguishable from a miss.
  if (response.empty() || response.size() > max_response_) {
    return;
  }
  if (queued_ == entries_.size()) {
    evict_oldest(now);
  }
  const size_t offset = reserve(response.size(), now);
  std::memcpy(ring_.data() + offset, response.data(), response.size());
  ring_tail_ = offset + response.size();

  // Evictions may have reshaped the table, so look the slot up again.
  const uint32_t slot = probe(peer, message_id);
  const size_t index = (head_ + queued_) % entries_.size();
  entries_[index] =
      Entry{peer,       now, static_cast<uint32_t>(offset), static_cast<uint16_t>(response.size()),
            message_id, slot};
  table_[slot] = static_cast<uint32_t>(index + 1);
  ++queued_;
  ++size_;
  bytes_used_ += response.size();
}

std::span<const uint8_t> DuplicateCache::find(uint64_t peer, uint16_t message_id,
                                              TimeUs now) const {
  const uint32_t v = table_[probe(peer, message_id)];
  if (v == 0) {
    return {};
  }
  const Entry& e = entries_[v - 1];
  if (expired(e, now)) {
    return {};
  }
  return {ring_.data() + e.offset, e.length};
}

void DuplicateCache::expire(TimeUs now) {
  // Entries are queued in time order, so expired ones collect at the head.
  while (queued_ > 0) {
    const Entry& e = entries_[head_];
    if (e.slot != kNoSlot && !expired(e, now)) {
      break;
    }
    pop_oldest();
  }
}

}  // namespace lwm2msim
