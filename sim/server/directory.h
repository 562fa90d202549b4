#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sim/util/address_plan.h"
#include "sim/util/time.h"

namespace lwm2msim {

// The server's registrations, keyed by endpoint name and by location id. Sharded by endpoint so
// server threads rarely contend; the shard is encoded in the location id (id % kShards).
class Directory {
 public:
  static constexpr uint32_t kShards = 64;

  struct Entry {
    std::string endpoint;
    std::string links;
    Endpoint4 address;
    uint32_t lifetime_s = 0;
    TimeUs expires_at = 0;
    uint32_t owner = 0;       // server thread that took the registration
    bool queue_mode = false;  // LwM2M TS 6.5: the client listens only after it sends
  };

  // Adds or replaces the registration of `endpoint`; returns its new location id.
  uint32_t add(std::string_view endpoint, const Entry& entry, bool* replaced);
  // Refreshes a registration (lifetime_s 0 keeps the current one); false when the id is unknown.
  // *owner and *queue_mode (when given) receive the registration's.
  bool update(uint32_t id, const Endpoint4& address, uint32_t lifetime_s, TimeUs now, TimeUs grace,
              uint32_t* owner = nullptr, bool* queue_mode = nullptr);
  bool remove(uint32_t id);
  // Forgets every registration; returns how many there were.
  uint64_t clear();
  // Removes registrations of one shard whose expiry is before `now`; returns how many.
  size_t expire(uint32_t shard, TimeUs now);
  bool lookup(uint32_t id, Endpoint4* address) const;
  // The endpoint name of a registration; empty when the id is unknown.
  std::string endpoint_of(uint32_t id) const;
  bool contains_endpoint(std::string_view endpoint) const;
  uint64_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<uint32_t, Entry> by_id;
    std::unordered_map<std::string, uint32_t> by_endpoint;
    uint32_t next_seq = 0;
  };
  static uint32_t shard_of(std::string_view endpoint);

  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> size_{0};
};

}  // namespace lwm2msim
