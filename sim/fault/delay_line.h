// fault: the delay line, one worker's queue of datagrams that leave later (latency, reordering,
// duplicates), bounded in bytes, with the bytes kept in size-class slabs instead of one buffer
// each.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "sim/fault/fault.h"
#include "sim/util/time.h"

namespace lwm2msim {

// Not thread-safe: owned by one worker. Slots are recycled through per-class free lists, so after
// warm-up a push allocates nothing; slab memory is kept until destruction.
class DelayLine {
 public:
  static constexpr size_t kDefaultCapacity = size_t{64} << 20;
  static constexpr size_t kMaxDatagram = 2048;

  explicit DelayLine(size_t capacity_bytes = kDefaultCapacity);

  // Queues a copy of `bytes` to leave at `due`. When the queued bytes would exceed the capacity,
  // the datagram is longer than kMaxDatagram, or 16 Mi datagrams are queued already, drops it,
  // counts an overflow and returns false.
  bool push(TimeUs due, uint32_t client, Direction direction, std::span<const uint8_t> bytes);

  // Calls fn(client, direction, bytes) for every datagram due at or before `now`, earliest first
  // and in push order among equal due times; returns how many. The span is valid during the call
  // only. fn may push; what it pushes is delivered in this call too when already due.
  template <class F>
  size_t pop_due(TimeUs now, F&& fn);

  std::optional<TimeUs> next_due() const {
    return heap_.empty() ? std::nullopt : std::optional<TimeUs>(heap_.front().due);
  }
  size_t size() const { return heap_.size(); }
  // Payload bytes queued; the capacity bounds this.
  size_t bytes() const { return bytes_; }
  size_t capacity() const { return capacity_; }
  // Datagrams dropped by push.
  uint64_t overflow() const { return overflow_; }
  // Bytes of slab memory held (at most about twice the queued high-water mark).
  size_t memory() const;

 private:
  static constexpr size_t kClasses = 7;  // slots of 64, 128, 256, 512, 1024, 1536, 2048 bytes
  // A 4-ary heap is half as deep as a binary one; with 16-byte keys a node's children span 64
  // bytes, so a level costs about one cache miss. The rest of a datagram's bookkeeping sits in a
  // record the key points at.
  static constexpr size_t kArity = 4;

  struct Key {
    TimeUs due;
    uint64_t order;  // push sequence << kRecordBits | record index: ties keep push order
  };
  struct Record {
    uint32_t client;
    uint32_t slot;
    uint16_t length;
    uint8_t size_class;
    Direction direction;
  };
  static constexpr unsigned kRecordBits = 24;  // at most 16 Mi datagrams queued
  struct SizeClass {
    uint32_t slot_size = 0;
    uint32_t shift = 0;  // log2 of the slots per slab
    uint32_t used = 0;   // slots handed out at least once
    std::vector<std::unique_ptr<uint8_t[]>> slabs;
    std::vector<uint32_t> free;
  };

  // Heap order: due time, then push order.
  static bool before(const Key& a, const Key& b) {
    return a.due != b.due ? a.due < b.due : a.order < b.order;
  }
  static uint8_t class_of(size_t length);
  uint32_t acquire(uint8_t size_class);
  uint8_t* slot_data(uint8_t size_class, uint32_t slot) const {
    const SizeClass& c = classes_[size_class];
    return c.slabs[slot >> c.shift].get() +
           size_t{slot & ((uint32_t{1} << c.shift) - 1)} * c.slot_size;
  }
  // Removes the earliest key from the heap and returns its record index; the record and its slot
  // stay taken until release().
  uint32_t take_top();
  void release(uint32_t record, const Record& r) {
    classes_[r.size_class].free.push_back(r.slot);
    free_records_.push_back(record);
  }

  std::vector<Key> heap_;  // min-heap on (due, order), kArity children per node
  std::vector<Record> records_;
  std::vector<uint32_t> free_records_;
  std::array<SizeClass, kClasses> classes_;
  size_t capacity_;
  size_t bytes_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t overflow_ = 0;
};

template <class F>
size_t DelayLine::pop_due(TimeUs now, F&& fn) {
  size_t n = 0;
  while (!heap_.empty() && heap_.front().due <= now) {
    const uint32_t record = take_top();
    const Record r = records_[record];  // a copy: fn may push, which may grow records_
    fn(r.client, r.direction, std::span<const uint8_t>(slot_data(r.size_class, r.slot), r.length));
    release(record, r);
    ++n;
  }
  return n;
}

}  // namespace lwm2msim
