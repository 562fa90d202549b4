#include "sim/profile/profile.h"

#include <algorithm>

namespace lwm2msim {

std::span<const ProfileResource> Profile::resources(const ProfileInstance& instance) const {
  return std::span<const ProfileResource>(resources_)
      .subspan(instance.first_resource, instance.resource_count);
}

const ProfileInstance* Profile::find_instance(uint16_t object, uint16_t instance) const {
  const auto it =
      std::lower_bound(instances_.begin(), instances_.end(), std::pair{object, instance},
                       [](const ProfileInstance& a, const std::pair<uint16_t, uint16_t>& b) {
                         return std::pair{a.object, a.instance} < b;
                       });
  if (it == instances_.end() || it->object != object || it->instance != instance) {
    return nullptr;
  }
  return &*it;
}

std::span<const ProfileResource> Profile::find_resource(uint16_t object, uint16_t instance,
                                                        uint16_t resource) const {
  const ProfileInstance* inst = find_instance(object, instance);
  if (inst == nullptr) {
    return {};
  }
  const std::span<const ProfileResource> all = resources(*inst);
  const auto first = std::partition_point(
      all.begin(), all.end(),
      [resource](const ProfileResource& r) { return r.path.resource < resource; });
  const auto last = std::partition_point(first, all.end(), [resource](const ProfileResource& r) {
    return r.path.resource == resource;
  });
  return all.subspan(static_cast<size_t>(first - all.begin()), static_cast<size_t>(last - first));
}

const ProfileResource* Profile::find(const Lwm2mPath& path) const {
  if (path.depth() < 3 || path.object > UINT16_MAX || path.instance > UINT16_MAX ||
      path.resource > UINT16_MAX) {
    return nullptr;
  }
  for (const ProfileResource& r :
       find_resource(static_cast<uint16_t>(path.object), static_cast<uint16_t>(path.instance),
                     static_cast<uint16_t>(path.resource))) {
    if (r.path.resource_instance == path.resource_instance) {
      return &r;
    }
  }
  return nullptr;
}

}  // namespace lwm2msim
