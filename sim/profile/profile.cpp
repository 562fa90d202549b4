#include "sim/profile/profile.h"

#include <algorithm>
#include <string>

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

std::string Profile::registration_links(std::span<const Lwm2mPath> instances) const {
  std::string s = "</>;rt=\"oma.lwm2m\"";
  if (!registration_formats_.empty()) {
    s += ";ct=";
    const bool quoted = registration_formats_.size() > 1;
    s += quoted ? "\"" : "";
    for (size_t i = 0; i < registration_formats_.size(); ++i) {
      s += (i == 0 ? "" : " ") + std::to_string(registration_formats_[i]);
    }
    s += quoted ? "\"" : "";
  }
  uint32_t last_object = Lwm2mPath::kAbsent;
  for (const Lwm2mPath& p : instances) {
    if (p.object != last_object) {
      last_object = p.object;
      // An object whose version is not 1.0 announces it (TS 1.1 6.2.1.1): "</3303>;ver=1.1".
      // Core objects (0-7) are left out: their version follows from the lwm2m= of the
      // Register, and servers that know only older core models refuse newer ones.
      const ObjectDefinition* def =
          p.object > UINT16_MAX ? nullptr : registry_.find(static_cast<uint16_t>(p.object));
      if (def != nullptr && p.object > 7 && !def->object_version.empty() &&
          def->object_version != "1.0") {
        s += ",</" + std::to_string(p.object) + ">;ver=" + def->object_version;
      }
    }
    s += ",<" + p.to_string() + '>';
  }
  return s;
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
