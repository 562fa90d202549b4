// What the content-format tests and benchmarks share: the Device object instance (/3/0) of the
// TS Read examples with its resource types, typed contexts, hex helpers and random object models.
// Header-only and free of GoogleTest, so the benchmarks can include it too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/format/format.h"
#include "sim/util/rng.h"

namespace lwm2msim {

inline constexpr uint32_t kNo = Lwm2mPath::kAbsent;

inline Lwm2mPath path(uint32_t o, uint32_t i = kNo, uint32_t r = kNo, uint32_t ri = kNo) {
  return Lwm2mPath{o, i, r, ri};
}

// Resource types of the Device object (TS 1.1 appendix E.4) that the examples use.
inline ResourceType device_type(const Lwm2mPath& p) {
  if (p.object != 3) {
    return ResourceType::kNone;
  }
  switch (p.resource) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 14:
    case 15:
    case 16:
      return ResourceType::kString;
    case 6:
    case 7:
    case 8:
    case 9:
    case 10:
    case 11:
    case 21:
      return ResourceType::kInteger;
    case 13:
      return ResourceType::kTime;
    default:
      return ResourceType::kNone;
  }
}

inline bool device_multiple(const Lwm2mPath& p) {
  return p.object == 3 &&
         (p.resource == 6 || p.resource == 7 || p.resource == 8 || p.resource == 11);
}

inline CodecContext device_context(const Lwm2mPath& base) {
  CodecContext ctx;
  ctx.base = base;
  ctx.type_of = device_type;
  ctx.is_multiple = device_multiple;
  return ctx;
}

// Every path has `type`; all or none are multiple resources.
inline CodecContext typed_context(const Lwm2mPath& base, ResourceType type, bool multiple = false) {
  CodecContext ctx;
  ctx.base = base;
  ctx.type_of = [type](const Lwm2mPath&) { return type; };
  ctx.is_multiple = [multiple](const Lwm2mPath&) { return multiple; };
  return ctx;
}

// The Device instance of the TS Read examples (TS 1.1 section 7.4).
inline std::vector<Record> device_records() {
  auto r = [](uint32_t res, Value v, uint32_t ri = kNo) {
    return Record{path(3, 0, res, ri), std::move(v)};
  };
  return {
      r(0, std::string("Open Mobile Alliance")),
      r(1, std::string("Lightweight M2M Client")),
      r(2, std::string("345000123")),
      r(3, std::string("1.0")),
      r(6, int64_t{1}, 0),
      r(6, int64_t{5}, 1),
      r(7, int64_t{3800}, 0),
      r(7, int64_t{5000}, 1),
      r(8, int64_t{125}, 0),
      r(8, int64_t{900}, 1),
      r(9, int64_t{100}),
      r(10, int64_t{15}),
      r(11, int64_t{0}, 0),
      r(13, TimeValue{1367491215}),
      r(14, std::string("+02:00")),
      r(16, std::string("U")),
  };
}

inline std::vector<uint8_t> hex(std::string_view h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

inline std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 0xf];
  }
  return s;
}

// Random object trees: resource id -> type and multiplicity, fixed per round.
struct RandomModel {
  std::map<uint32_t, ResourceType> types;
  std::map<uint32_t, bool> multiple;

  CodecContext context(const Lwm2mPath& base) const {
    CodecContext ctx;
    ctx.base = base;
    ctx.type_of = [this](const Lwm2mPath& p) {
      const auto it = types.find(p.resource);
      return it == types.end() ? ResourceType::kNone : it->second;
    };
    ctx.is_multiple = [this](const Lwm2mPath& p) {
      const auto it = multiple.find(p.resource);
      return it != multiple.end() && it->second;
    };
    return ctx;
  }
};

inline Opaque random_opaque(Rng& rng, size_t size) {
  Opaque o;
  o.bytes.resize(size);
  for (auto& b : o.bytes) {
    b = static_cast<uint8_t>(rng.next());
  }
  return o;
}

// Random integers, booleans, times and object links, whose wire forms every codec test treats
// alike; the tests draw their own strings, floats, opaque sizes and links. Other types: no value.
inline Value random_plain_value(Rng& rng, ResourceType type) {
  switch (type) {
    case ResourceType::kInteger:
      return static_cast<int64_t>(rng.next()) >> rng.below(64);
    case ResourceType::kUnsignedInteger:
      return rng.next() >> rng.below(64);
    case ResourceType::kBoolean:
      return rng.below(2) == 0;
    case ResourceType::kTime:
      return TimeValue{static_cast<int64_t>(rng.next()) >> rng.below(64)};
    case ResourceType::kObjlnk:
      return Objlnk{static_cast<uint16_t>(rng.next()), static_cast<uint16_t>(rng.next())};
    default:
      return {};
  }
}

}  // namespace lwm2msim
