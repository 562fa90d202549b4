// What the fuzz targets share: the built-in registry, typed codec contexts from it, base paths
// picked by an input byte, and record comparison that treats NaN as equal to itself.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>
#include <vector>

#include "sim/format/format.h"
#include "sim/model/object_definition.h"

namespace lwm2msim::fuzz {

inline constexpr uint32_t kNo = Lwm2mPath::kAbsent;

// A property the target asserts; not inlined, so a crash's stack names the failing line.
[[gnu::noinline]] inline void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

// Built once per process; never changed afterwards.
inline const ObjectRegistry& registry() {
  static const ObjectRegistry r = ObjectRegistry::builtin();
  return r;
}

inline const ResourceDefinition* definition_of(const Lwm2mPath& p) {
  if (p.depth() < 3 || p.object > UINT16_MAX || p.resource > UINT16_MAX) {
    return nullptr;
  }
  const ObjectDefinition* object = registry().find(static_cast<uint16_t>(p.object));
  return object == nullptr ? nullptr : object->resource(static_cast<uint16_t>(p.resource));
}

inline CodecContext context_at(const Lwm2mPath& base) {
  CodecContext ctx;
  ctx.base = base;
  ctx.type_of = [](const Lwm2mPath& p) {
    const ResourceDefinition* def = definition_of(p);
    return def == nullptr ? ResourceType::kNone : def->type;
  };
  ctx.is_multiple = [](const Lwm2mPath& p) {
    const ResourceDefinition* def = definition_of(p);
    return def != nullptr && def->multiple;
  };
  return ctx;
}

// Targets of every depth and every resource type of the built-in objects: the root, objects,
// instances, single resources of each type, multiple resources and their instances, and paths
// the registry does not know (untyped).
inline constexpr Lwm2mPath kBases[] = {
    {kNo, kNo, kNo, kNo},  // root (composite operations)
    {3, kNo, kNo, kNo},
    {3, 0, kNo, kNo},
    {3, 0, 0, kNo},  // string
    {3, 0, 9, kNo},
    {3, 0, 13, kNo},
    {3, 0, 7, kNo},  // int, time, multiple
    {3, 0, 7, 1},
    {1, 0, kNo, kNo},
    {1, 0, 6, kNo},  // instance, boolean
    {1, 0, 10, kNo},
    {1, 0, 24, kNo},
    {1, 0, 24, 0},  // objlnk, multiple objlnk
    {0, 0, 3, kNo},
    {0, 0, 16, kNo},
    {0, 1, kNo, kNo},  // opaque, unsigned
    {5, 0, 0, kNo},
    {6, 0, 0, kNo},
    {6, 0, kNo, kNo},  // opaque, float
    {3303, 0, 5700, kNo},
    {3303, 0, kNo, kNo},
    {3303, kNo, kNo, kNo},
    {4, 0, 0, kNo},
    {3, 0, 4, kNo},
    {42, 1, 2, kNo},  // untyped: unknown
    {65534, 65534, 65534, 65534},
};

inline const Lwm2mPath& base_from(uint8_t selector) {
  return kBases[selector % std::size(kBases)];
}

// Equal values; NaN equals itself. A path the model does not type may come back as another
// type: without a type, a wire format's integers, times and strings are ambiguous.
inline bool same_value(const Lwm2mPath& path, const Value& a, const Value& b) {
  const auto* da = std::get_if<double>(&a);
  const auto* db = std::get_if<double>(&b);
  if (da != nullptr && db != nullptr && std::isnan(*da) && std::isnan(*db)) {
    return true;
  }
  const ResourceDefinition* def = definition_of(path);
  if (a.index() != b.index() && (def == nullptr || def->type == ResourceType::kNone)) {
    return true;
  }
  return a == b;
}

// The same records in any order: encoders group a multiple resource's instances and may sort.
inline bool same_records(std::vector<Record> a, std::vector<Record> b) {
  if (a.size() != b.size()) {
    return false;
  }
  const auto by_path = [](const Record& x, const Record& y) { return path_less(x.path, y.path); };
  std::stable_sort(a.begin(), a.end(), by_path);
  std::stable_sort(b.begin(), b.end(), by_path);
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i].path == b[i].path) || !same_value(a[i].path, a[i].value, b[i].value)) {
      return false;
    }
  }
  return true;
}

using Decoder = CodecResult (*)(const CodecContext&, std::span<const uint8_t>,
                                std::vector<Record>*);
using Encoder = CodecResult (*)(const CodecContext&, std::span<const Record>,
                                std::vector<uint8_t>*);

// The first byte picks the target path, the rest is the payload. What decodes and encodes again
// must decode to the same records.
inline void fuzz_codec(const uint8_t* data, size_t size, Decoder decode_fn, Encoder encode_fn) {
  if (size == 0) {
    return;
  }
  const CodecContext ctx = context_at(base_from(data[0]));
  const std::span<const uint8_t> payload(data + 1, size - 1);
  std::vector<Record> records;
  if (!decode_fn(ctx, payload, &records).ok()) {
    return;
  }
  // Encoders take well-formed record sets only (e.g. one record at a single-resource target),
  // which a lenient decoder need not have produced; what they do encode must read back.
  std::vector<uint8_t> encoded;
  if (!encode_fn(ctx, records, &encoded).ok()) {
    return;
  }
  std::vector<Record> again;
  check(decode_fn(ctx, encoded, &again).ok());
  check(same_records(records, again));
}

}  // namespace lwm2msim::fuzz
