#include "sim/fault/delay_line.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace lwm2msim {
namespace {

constexpr std::array<uint32_t, 7> kSlotSizes = {64, 128, 256, 512, 1024, 1536, 2048};
// About 64 KiB per slab: few allocations, little memory held by a barely used class.
constexpr uint32_t kSlabBytes = 64 * 1024;

}  // namespace

DelayLine::DelayLine(size_t capacity_bytes) : capacity_(capacity_bytes) {
  static_assert(kSlotSizes.size() == kClasses);
  static_assert(kSlotSizes.back() == kMaxDatagram);
  for (size_t i = 0; i < kClasses; ++i) {
    classes_[i].slot_size = kSlotSizes[i];
    classes_[i].shift = static_cast<uint32_t>(std::bit_width(kSlabBytes / kSlotSizes[i]) - 1);
  }
}

uint8_t DelayLine::class_of(size_t length) {
  if (length <= 64) {
    return 0;
  }
  if (length <= 1024) {
    return static_cast<uint8_t>(std::bit_width((length - 1) >> 6));
  }
  return length <= 1536 ? 5 : 6;
}

uint32_t DelayLine::acquire(uint8_t size_class) {
  SizeClass& c = classes_[size_class];
  if (!c.free.empty()) {
    const uint32_t slot = c.free.back();
    c.free.pop_back();
    return slot;
  }
  if (c.used == (c.slabs.size() << c.shift)) {
    c.slabs.push_back(std::make_unique_for_overwrite<uint8_t[]>(size_t{c.slot_size} << c.shift));
  }
  return c.used++;
}

bool DelayLine::push(TimeUs due, uint32_t client, Direction direction,
                     std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxDatagram || bytes.size() > capacity_ - std::min(capacity_, bytes_) ||
      records_.size() - free_records_.size() >= (size_t{1} << kRecordBits)) {
    ++overflow_;
    return false;
  }
  const uint8_t size_class = class_of(bytes.size());
  const uint32_t slot = acquire(size_class);
  if (!bytes.empty()) {
    std::memcpy(slot_data(size_class, slot), bytes.data(), bytes.size());
  }
  uint32_t record;
  if (free_records_.empty()) {
    record = static_cast<uint32_t>(records_.size());
    records_.emplace_back();
  } else {
    record = free_records_.back();
    free_records_.pop_back();
  }
  records_[record] = {client, slot, static_cast<uint16_t>(bytes.size()), size_class, direction};
  bytes_ += bytes.size();

  // A 40-bit sequence wraps after 10^12 pushes, far beyond any run.
  const Key key{due, (next_seq_++ << kRecordBits) | record};
  // Sift up from the new leaf, moving parents down into the hole.
  size_t i = heap_.size();
  heap_.push_back(key);
  while (i > 0) {
    const size_t parent = (i - 1) / kArity;
    if (!before(key, heap_[parent])) {
      break;
    }
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = key;
  return true;
}

uint32_t DelayLine::take_top() {
  const Key top = heap_.front();
  const Key last = heap_.back();
  heap_.pop_back();
  const auto record = static_cast<uint32_t>(top.order & ((uint64_t{1} << kRecordBits) - 1));
  bytes_ -= records_[record].length;
  const size_t n = heap_.size();
  if (n == 0) {
    return record;
  }
  // Sift the last leaf down from the root, moving the earliest child up into the hole.
  size_t i = 0;
  for (;;) {
    const size_t first = i * kArity + 1;
    if (first >= n) {
      break;
    }
    size_t best = first;
    const size_t end = std::min(first + kArity, n);
    for (size_t c = first + 1; c < end; ++c) {
      if (before(heap_[c], heap_[best])) {
        best = c;
      }
    }
    if (!before(heap_[best], last)) {
      break;
    }
    heap_[i] = heap_[best];
    i = best;
  }
  heap_[i] = last;
  return record;
}

size_t DelayLine::memory() const {
  size_t total = 0;
  for (const SizeClass& c : classes_) {
    total += c.slabs.size() * (size_t{c.slot_size} << c.shift);
  }
  return total;
}

}  // namespace lwm2msim
