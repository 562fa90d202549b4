#include "sim/client/device_object.h"

#include <array>
#include <cstdio>

#include "sim/coap/coap.h"

namespace lwm2msim {
namespace {

// Resources of /3/0 this model has, in id order; 4 and 5 (Reboot, Factory Reset) are executable.
constexpr std::array<uint16_t, 15> kResources = {0,  1,  2,  3,  4,  5,  6, 9,
                                                 10, 11, 13, 16, 17, 18, 19};

bool has_resource(uint32_t r) {
  for (uint16_t id : kResources) {
    if (id == r) {
      return true;
    }
  }
  return false;
}

// Appends every instance of resource r (all of them, or just `instance`).
void append(uint32_t r, uint32_t instance, uint64_t idx, TimeUs now, std::vector<Record>* out) {
  const int64_t seconds = static_cast<int64_t>(now / kUsPerSec);
  auto add = [&](Value v, uint32_t ri = Lwm2mPath::kAbsent) {
    out->push_back({Lwm2mPath{3, 0, r, ri}, std::move(v)});
  };
  char text[32];
  switch (r) {
    case 0:
      add(std::string("lwm2m-sim"));
      return;
    case 1:
      add(std::string("virtual-device"));
      return;
    case 2:
      std::snprintf(text, sizeof text, "SN%010llu", static_cast<unsigned long long>(idx));
      add(std::string(text));
      return;
    case 3:
      add(std::string("1.0.0"));
      return;
    case 6:  // Available Power Sources: DC power (0) and internal battery (1)
      for (uint32_t i : {0u, 1u}) {
        if (instance == Lwm2mPath::kAbsent || instance == i) {
          add(int64_t{i}, i);
        }
      }
      return;
    case 9:  // Battery Level drains 1% every 10 minutes from a per-device start
      add(int64_t{100 -
                  static_cast<int64_t>((idx * 7 + static_cast<uint64_t>(seconds) / 600) % 100)});
      return;
    case 10:  // Memory Free, KiB
      add(int64_t{512 + static_cast<int64_t>(idx % 256)});
      return;
    case 11:  // Error Code: 0 = no error
      if (instance == Lwm2mPath::kAbsent || instance == 0) {
        add(int64_t{0}, 0);
      }
      return;
    case 13:
      add(TimeValue{seconds});
      return;
    case 16:
      add(std::string("U"));
      return;
    case 17:
      add(std::string("sensor"));
      return;
    case 18:
      add(std::string("1.0"));
      return;
    case 19:
      add(std::string("1.0.0"));
      return;
    default:
      return;
  }
}

}  // namespace

ResourceType DeviceObject::type_of(const Lwm2mPath& path) {
  switch (path.resource) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 16:
    case 17:
    case 18:
    case 19:
      return ResourceType::kString;
    case 6:
    case 9:
    case 10:
    case 11:
      return ResourceType::kInteger;
    case 13:
      return ResourceType::kTime;
    default:
      return ResourceType::kNone;
  }
}

bool DeviceObject::is_multiple(const Lwm2mPath& path) {
  return path.resource == 6 || path.resource == 11;
}

uint8_t DeviceObject::read(const Lwm2mPath& path, uint64_t client_index, TimeUs now,
                           std::vector<Record>* out) {
  if (path.object != kObjectId || (path.depth() >= 2 && path.instance != 0)) {
    return CoapCode::kNotFound;
  }
  if (path.depth() <= 2) {
    for (uint16_t r : kResources) {
      append(r, Lwm2mPath::kAbsent, client_index, now, out);
    }
    return CoapCode::kContent;
  }
  if (!has_resource(path.resource)) {
    return CoapCode::kNotFound;
  }
  if (path.resource == 4 || path.resource == 5) {
    return CoapCode::kMethodNotAllowed;
  }
  if (path.depth() == 4 && !is_multiple(path)) {
    return CoapCode::kNotFound;
  }
  const size_t before = out->size();
  append(path.resource, path.depth() == 4 ? path.resource_instance : Lwm2mPath::kAbsent,
         client_index, now, out);
  return out->size() > before ? CoapCode::kContent : CoapCode::kNotFound;
}

std::string_view DeviceObject::discover_links() {
  return "</3/0>,</3/0/0>,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/5>,</3/0/6>;dim=2,</3/0/9>,</3/"
         "0/10>,"
         "</3/0/11>;dim=1,</3/0/13>,</3/0/16>,</3/0/17>,</3/0/18>,</3/0/19>";
}

}  // namespace lwm2msim
