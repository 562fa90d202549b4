// What the content-format codecs share: path levels, data-model lookups, value conversions and
// number ranges. Internal to sim/format; format.h is the module's interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// For is_valid_utf8(), the module's one UTF-8 check, which the CBOR reader declares.
#include "sim/format/cbor_codec.h"
#include "sim/format/format.h"

namespace lwm2msim {

// The small helpers are inline: the codecs call them per record and per path level.

// ---- Paths ------------------------------------------------------------------------------------

// The id at `level` of `p`: 0 object, 1 instance, 2 resource, 3 resource instance.
inline uint32_t path_id(const Lwm2mPath& p, int level) {
  switch (level) {
    case 0:
      return p.object;
    case 1:
      return p.instance;
    case 2:
      return p.resource;
    default:
      return p.resource_instance;
  }
}

inline void set_path_id(Lwm2mPath* p, int level, uint32_t id) {
  switch (level) {
    case 0:
      p->object = id;
      break;
    case 1:
      p->instance = id;
      break;
    case 2:
      p->resource = id;
      break;
    default:
      p->resource_instance = id;
      break;
  }
}

// The ids of `path` from `level` on, joined with '/': "6/0" for /3/0/6/0 from level 2.
std::string relative_name(const Lwm2mPath& path, int level);
// The "bn" of SenML JSON, SenML CBOR and OMA JSON payloads for `records` under `base`. A lone
// record at the base is named by "bn" alone; otherwise "bn" ends in '/' and names are relative.
// The root needs no base name (empty): full names are as short.
std::string senml_base_name(const Lwm2mPath& base, std::span<const Record> records);

// ---- The data model ---------------------------------------------------------------------------

// The model's type for `path`; kNone when it has none or ctx has no lookup.
inline ResourceType lookup_type(const CodecContext& ctx, const Lwm2mPath& path) {
  if (!ctx.type_of) {
    return ResourceType::kNone;
  }
  ResourceType t = ctx.type_of(path);
  if (t == ResourceType::kNone && path.depth() == 4) {
    // Models often type resources, not their instances.
    Lwm2mPath resource = path;
    resource.resource_instance = Lwm2mPath::kAbsent;
    t = ctx.type_of(resource);
  }
  return t;
}

inline bool lookup_multiple(const CodecContext& ctx, const Lwm2mPath& path) {
  return ctx.is_multiple && ctx.is_multiple(path);
}

// Whether a payload value of type `given` may go where the model says `model` (kNone: unknown).
inline bool model_accepts(ResourceType model, ResourceType given) {
  return model == ResourceType::kNone || model == given;
}

// Sets *out to text as the model types it: a CoreLink for kCoreLink, else a string. (Assigning
// the alternative directly spares the decoders a variant-to-variant move per value.)
inline void set_text(ResourceType model, std::string text, Value* out) {
  if (model == ResourceType::kCoreLink) {
    *out = CoreLink{std::move(text)};
  } else {
    *out = std::move(text);
  }
}

// Sets *out to a whole number as the model types it: a TimeValue for kTime, else an int64_t.
inline void set_integer(ResourceType model, int64_t i, Value* out) {
  if (model == ResourceType::kTime) {
    *out = TimeValue{i};
  } else {
    *out = i;
  }
}

// ---- Values -----------------------------------------------------------------------------------

// A double that is a whole number within the target's range; false leaves *out alone.
bool double_to_int64(double d, int64_t* out);
bool double_to_uint64(double d, uint64_t* out);
// "object:instance", the text form of an object link.
std::string objlnk_text(const Objlnk& link);
bool parse_objlnk(std::string_view s, Objlnk* out);

inline std::string_view as_text(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Runs `codec` (returning a CodecResult) and, if it fails, drops what it appended to `out`:
// callers get every record or byte, or none.
template <typename T, typename Codec>
CodecResult all_or_nothing(std::vector<T>* out, Codec codec) {
  const size_t mark = out->size();
  CodecResult r = codec();
  if (!r.ok()) {
    out->resize(mark);
  }
  return r;
}

}  // namespace lwm2msim
