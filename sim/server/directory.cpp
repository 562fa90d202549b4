#include "sim/server/directory.h"

#include <functional>

namespace lwm2msim {

uint32_t Directory::shard_of(std::string_view endpoint) {
  return static_cast<uint32_t>(std::hash<std::string_view>{}(endpoint) % kShards);
}

uint32_t Directory::add(std::string_view endpoint, const Entry& entry, bool* replaced) {
  const uint32_t s = shard_of(endpoint);
  Shard& shard = shards_[s];
  std::lock_guard lock(shard.mutex);
  const uint32_t id = (shard.next_seq++ % (UINT32_MAX / kShards)) * kShards + s;
  auto [it, inserted] = shard.by_endpoint.try_emplace(std::string(endpoint), id);
  *replaced = !inserted;
  if (!inserted) {
    // LwM2M TS 6.2.1: a Register for a known endpoint replaces the old registration.
    shard.by_id.erase(it->second);
    it->second = id;
  } else {
    size_.fetch_add(1, std::memory_order_relaxed);
  }
  Entry& e = shard.by_id[id];
  e = entry;
  e.endpoint.assign(endpoint);
  return id;
}

bool Directory::update(uint32_t id, const Endpoint4& address, uint32_t lifetime_s, TimeUs now,
                       TimeUs grace, uint32_t* owner, bool* queue_mode) {
  Shard& shard = shards_[id % kShards];
  std::lock_guard lock(shard.mutex);
  auto it = shard.by_id.find(id);
  if (it == shard.by_id.end()) {
    return false;
  }
  it->second.address = address;
  if (lifetime_s != 0) {
    it->second.lifetime_s = lifetime_s;
  }
  it->second.expires_at = now + TimeUs{it->second.lifetime_s} * kUsPerSec + grace;
  if (owner != nullptr) {
    *owner = it->second.owner;
  }
  if (queue_mode != nullptr) {
    *queue_mode = it->second.queue_mode;
  }
  return true;
}

bool Directory::remove(uint32_t id) {
  Shard& shard = shards_[id % kShards];
  std::lock_guard lock(shard.mutex);
  auto it = shard.by_id.find(id);
  if (it == shard.by_id.end()) {
    return false;
  }
  shard.by_endpoint.erase(it->second.endpoint);
  shard.by_id.erase(it);
  size_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

uint64_t Directory::clear() {
  uint64_t removed = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    removed += shard.by_id.size();
    shard.by_id.clear();
    shard.by_endpoint.clear();
  }
  size_.fetch_sub(removed, std::memory_order_relaxed);
  return removed;
}

size_t Directory::expire(uint32_t s, TimeUs now) {
  Shard& shard = shards_[s];
  std::lock_guard lock(shard.mutex);
  size_t removed = 0;
  for (auto it = shard.by_id.begin(); it != shard.by_id.end();) {
    if (it->second.expires_at < now) {
      shard.by_endpoint.erase(it->second.endpoint);
      it = shard.by_id.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  size_.fetch_sub(removed, std::memory_order_relaxed);
  return removed;
}

bool Directory::lookup(uint32_t id, Endpoint4* address) const {
  const Shard& shard = shards_[id % kShards];
  std::lock_guard lock(shard.mutex);
  auto it = shard.by_id.find(id);
  if (it == shard.by_id.end()) {
    return false;
  }
  *address = it->second.address;
  return true;
}

std::string Directory::endpoint_of(uint32_t id) const {
  const Shard& shard = shards_[id % kShards];
  std::lock_guard lock(shard.mutex);
  auto it = shard.by_id.find(id);
  return it == shard.by_id.end() ? std::string() : it->second.endpoint;
}

bool Directory::contains_endpoint(std::string_view endpoint) const {
  const Shard& shard = shards_[shard_of(endpoint)];
  std::lock_guard lock(shard.mutex);
  return shard.by_endpoint.find(std::string(endpoint)) != shard.by_endpoint.end();
}

}  // namespace lwm2msim
