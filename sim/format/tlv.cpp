// OMA TLV (content format 11542, LwM2M TS 1.1 section 7.4.3). The wire format is untyped, so
// decoding asks the data model for each resource's type.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "sim/coap/coap.h"
#include "sim/format/codec_util.h"
#include "sim/format/format.h"

namespace lwm2msim {
namespace {

// Identifier types, bits 7-6 of the type byte.
enum class TlvKind : uint8_t {
  kObjectInstance = 0b00,
  kResourceInstance = 0b01,
  kMultipleResource = 0b10,
  kResource = 0b11,
};

constexpr size_t kMaxHeader = 6;  // type byte, 16-bit id, 24-bit length
constexpr size_t kMaxLength = 0xffffff;

Lwm2mPath truncate(Lwm2mPath p, int depth) {
  for (int level = depth; level < 4; ++level) {
    set_path_id(&p, level, Lwm2mPath::kAbsent);
  }
  return p;
}

Lwm2mPath child(Lwm2mPath p, uint32_t id) {
  set_path_id(&p, p.depth(), id);
  return p;
}

void put_be(uint64_t v, size_t n, std::vector<uint8_t>* out) {
  for (size_t i = n; i-- > 0;) {
    out->push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
}

uint64_t get_be(std::span<const uint8_t> b) {
  uint64_t v = 0;
  for (uint8_t c : b) {
    v = (v << 8) | c;
  }
  return v;
}

size_t signed_width(int64_t v) {
  if (v >= INT8_MIN && v <= INT8_MAX) {
    return 1;
  }
  if (v >= INT16_MIN && v <= INT16_MAX) {
    return 2;
  }
  if (v >= INT32_MIN && v <= INT32_MAX) {
    return 4;
  }
  return 8;
}

size_t unsigned_width(uint64_t v) {
  if (v <= UINT8_MAX) {
    return 1;
  }
  if (v <= UINT16_MAX) {
    return 2;
  }
  if (v <= UINT32_MAX) {
    return 4;
  }
  return 8;
}

bool float_round_trips(double d) {
  if (std::isnan(d)) {
    return false;
  }
  // Converting an out-of-range double to float is undefined, so test the range first.
  if (std::isfinite(d) && std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max())) {
    return false;
  }
  return static_cast<double>(static_cast<float>(d)) == d;
}

class TlvEncoder {
 public:
  TlvEncoder(const CodecContext& ctx, std::span<const Record> records, std::vector<uint8_t>* out)
      : ctx_(ctx), records_(records), out_(out) {}

  CodecResult run() {
    const Lwm2mPath& base = ctx_.base;
    const int depth = base.depth();
    if (depth == 0) {
      return CodecResult::error(CoapCode::kNotAcceptable,
                                "TLV cannot carry the root path; target an object or below");
    }
    std::vector<size_t> all;
    all.reserve(records_.size());
    for (size_t i = 0; i < records_.size(); ++i) {
      const Lwm2mPath& p = records_[i].path;
      if (!is_under(p, base) || p.depth() < 3) {
        return CodecResult::error(
            CoapCode::kInternalServerError,
            "record " + p.to_string() + " is not a resource under " + base.to_string());
      }
      all.push_back(i);
    }
    const bool has_instances = std::any_of(records_.begin(), records_.end(),
                                           [](const Record& r) { return r.path.depth() == 4; });
    if (depth == 3 && (has_instances || lookup_multiple(ctx_, base))) {
      return multiple_resource(base, all);
    }
    if (depth >= 3 && (records_.size() != 1 || records_.front().path != base)) {
      return CodecResult::error(
          CoapCode::kInternalServerError,
          "a single-resource TLV takes exactly one record at " + base.to_string());
    }
    return children(depth, all);
  }

 private:
  // Encodes the records in `idx` (all under a path of depth `depth`) as a TLV sequence, one
  // entry per distinct id at that level, in order of first appearance.
  CodecResult children(int depth, const std::vector<size_t>& idx) {
    if (depth >= 3) {
      for (size_t i : idx) {
        const Record& r = records_[i];
        const TlvKind kind = depth == 3 ? TlvKind::kResource : TlvKind::kResourceInstance;
        if (CodecResult res = value_entry(kind, r); !res.ok()) {
          return res;
        }
      }
      return CodecResult::success();
    }
    std::vector<bool> taken(idx.size(), false);
    std::vector<size_t> group;
    for (size_t a = 0; a < idx.size(); ++a) {
      if (taken[a]) {
        continue;
      }
      const uint32_t id = path_id(records_[idx[a]].path, depth);
      group.clear();
      for (size_t b = a; b < idx.size(); ++b) {
        if (!taken[b] && path_id(records_[idx[b]].path, depth) == id) {
          taken[b] = true;
          group.push_back(idx[b]);
        }
      }
      const Lwm2mPath& first = records_[group.front()].path;
      CodecResult res;
      if (depth == 1) {
        const size_t start = open();
        res = children(2, group);
        if (res.ok()) {
          res = close(start, TlvKind::kObjectInstance, id);
        }
      } else if (first.depth() == 4) {
        res = multiple_resource(truncate(first, 3), group);
      } else if (group.size() == 1) {
        res = value_entry(TlvKind::kResource, records_[group.front()]);
      } else {
        res = CodecResult::error(CoapCode::kInternalServerError,
                                 "duplicate records for " + first.to_string());
      }
      if (!res.ok()) {
        return res;
      }
    }
    return CodecResult::success();
  }

  CodecResult multiple_resource(const Lwm2mPath& resource, const std::vector<size_t>& idx) {
    const size_t start = open();
    for (size_t i : idx) {
      const Record& r = records_[i];
      if (r.path.depth() == 3 && std::holds_alternative<std::monostate>(r.value)) {
        continue;  // an empty multiple resource
      }
      if (r.path.depth() != 4) {
        return CodecResult::error(
            CoapCode::kInternalServerError,
            "multiple resource " + resource.to_string() + " mixes a resource value with instances");
      }
      if (CodecResult res = value_entry(TlvKind::kResourceInstance, r); !res.ok()) {
        return res;
      }
    }
    return close(start, TlvKind::kMultipleResource, resource.resource);
  }

  CodecResult value_entry(TlvKind kind, const Record& r) {
    const Value& v = r.value;
    if (std::holds_alternative<std::monostate>(v) && kind == TlvKind::kResource &&
        lookup_multiple(ctx_, r.path)) {
      const size_t start = open();
      return close(start, TlvKind::kMultipleResource, r.path.resource);
    }
    const size_t start = open();
    if (const auto* s = std::get_if<std::string>(&v)) {
      out_->insert(out_->end(), s->begin(), s->end());
    } else if (const auto* i = std::get_if<int64_t>(&v)) {
      put_be(static_cast<uint64_t>(*i), signed_width(*i), out_);
    } else if (const auto* u = std::get_if<uint64_t>(&v)) {
      put_be(*u, unsigned_width(*u), out_);
    } else if (const auto* d = std::get_if<double>(&v)) {
      if (float_round_trips(*d)) {
        uint32_t bits = 0;
        const auto f = static_cast<float>(*d);
        std::memcpy(&bits, &f, sizeof(bits));
        put_be(bits, 4, out_);
      } else {
        uint64_t bits = 0;
        std::memcpy(&bits, d, sizeof(bits));
        put_be(bits, 8, out_);
      }
    } else if (const auto* b = std::get_if<bool>(&v)) {
      out_->push_back(*b ? 1 : 0);
    } else if (const auto* o = std::get_if<Opaque>(&v)) {
      out_->insert(out_->end(), o->bytes.begin(), o->bytes.end());
    } else if (const auto* t = std::get_if<TimeValue>(&v)) {
      put_be(static_cast<uint64_t>(t->seconds), signed_width(t->seconds), out_);
    } else if (const auto* l = std::get_if<Objlnk>(&v)) {
      put_be(l->object, 2, out_);
      put_be(l->instance, 2, out_);
    } else if (const auto* c = std::get_if<CoreLink>(&v)) {
      out_->insert(out_->end(), c->text.begin(), c->text.end());
    } else {
      return CodecResult::error(CoapCode::kNotAcceptable,
                                "no value to encode at " + r.path.to_string());
    }
    const uint32_t id = kind == TlvKind::kResource ? r.path.resource : r.path.resource_instance;
    return close(start, kind, id);
  }

  // Reserves room for the largest header; close() writes the real one and slides the body back.
  size_t open() {
    const size_t start = out_->size();
    out_->resize(start + kMaxHeader);
    return start;
  }

  CodecResult close(size_t start, TlvKind kind, uint32_t id) {
    const size_t body = start + kMaxHeader;
    const size_t length = out_->size() - body;
    if (length > kMaxLength) {
      return CodecResult::error(CoapCode::kRequestEntityTooLarge,
                                "TLV entry of " + std::to_string(length) + " bytes is too long");
    }
    uint8_t header[kMaxHeader];
    size_t n = 1;
    uint8_t type = static_cast<uint8_t>(static_cast<uint8_t>(kind) << 6);
    if (id > 0xff) {
      type |= 0x20;
      header[n++] = static_cast<uint8_t>(id >> 8);
    }
    header[n++] = static_cast<uint8_t>(id);
    if (length <= 7) {
      type |= static_cast<uint8_t>(length);
    } else {
      const size_t width = length <= 0xff ? 1 : length <= 0xffff ? 2 : 3;
      type |= static_cast<uint8_t>(width << 3);
      for (size_t i = width; i-- > 0;) {
        header[n++] = static_cast<uint8_t>(length >> (8 * i));
      }
    }
    header[0] = type;
    uint8_t* data = out_->data();
    if (n < kMaxHeader) {
      std::memmove(data + start + n, data + body, length);
      out_->resize(out_->size() - (kMaxHeader - n));
    }
    std::memcpy(data + start, header, n);
    return CodecResult::success();
  }

  const CodecContext& ctx_;
  std::span<const Record> records_;
  std::vector<uint8_t>* out_;
};

struct TlvEntry {
  TlvKind kind = TlvKind::kResource;
  uint16_t id = 0;
  std::span<const uint8_t> value;
};

class TlvDecoder {
 public:
  TlvDecoder(const CodecContext& ctx, std::span<const uint8_t> in, std::vector<Record>* out)
      : ctx_(ctx), in_(in), out_(out) {}

  CodecResult run() {
    const Lwm2mPath& base = ctx_.base;
    switch (base.depth()) {
      case 0:
        return CodecResult::error(CoapCode::kBadRequest,
                                  "TLV cannot target the root path; target an object or below");
      case 1:
        return sequence(in_, base, base);
      case 2:
        return top_of_instance(base);
      case 3:
        return top_of_resource(base);
      default:
        return top_of_resource_instance(base);
    }
  }

 private:
  // Reads the entry at the front of `in`, advancing past it.
  CodecResult next(std::span<const uint8_t>* in, const Lwm2mPath& parent, TlvEntry* e) {
    const size_t offset = static_cast<size_t>(in->data() - in_.data());
    auto truncated = [&](std::string_view what) {
      return CodecResult::error(CoapCode::kBadRequest,
                                "TLV under " + parent.to_string() + " truncated in the " +
                                    std::string(what) + " at byte " + std::to_string(offset));
    };
    std::span<const uint8_t> s = *in;
    const uint8_t type = s[0];
    s = s.subspan(1);
    e->kind = static_cast<TlvKind>(type >> 6);
    const size_t id_width = (type & 0x20) != 0 ? 2 : 1;
    if (s.size() < id_width) {
      return truncated("identifier");
    }
    e->id = static_cast<uint16_t>(get_be(s.first(id_width)));
    s = s.subspan(id_width);
    const size_t length_width = (type >> 3) & 0x03;
    size_t length = type & 0x07;
    if (length_width != 0) {
      if (s.size() < length_width) {
        return truncated("length");
      }
      length = static_cast<size_t>(get_be(s.first(length_width)));
      s = s.subspan(length_width);
    }
    if (s.size() < length) {
      return truncated("value of " + std::to_string(length) + " bytes");
    }
    if (e->id == 0xffff) {
      return CodecResult::error(
          CoapCode::kBadRequest,
          "TLV identifier 65535 is reserved, at byte " + std::to_string(offset));
    }
    e->value = s.first(length);
    *in = s.subspan(length);
    return CodecResult::success();
  }

  CodecResult unexpected(const TlvEntry& e, const Lwm2mPath& parent) {
    static constexpr const char* kNames[] = {"object instance", "resource instance",
                                             "multiple resource", "resource"};
    return CodecResult::error(CoapCode::kBadRequest, std::string("unexpected TLV ") +
                                                         kNames[static_cast<uint8_t>(e.kind)] +
                                                         " " + std::to_string(e.id) + " under " +
                                                         parent.to_string());
  }

  // Decodes every entry of `in`, whose container is `parent`; `base` bounds what may appear.
  CodecResult sequence(std::span<const uint8_t> in, const Lwm2mPath& parent,
                       const Lwm2mPath& base) {
    while (!in.empty()) {
      TlvEntry e;
      if (CodecResult r = next(&in, parent, &e); !r.ok()) {
        return r;
      }
      if (CodecResult r = entry(e, parent, base); !r.ok()) {
        return r;
      }
    }
    return CodecResult::success();
  }

  CodecResult entry(const TlvEntry& e, const Lwm2mPath& parent, const Lwm2mPath& base) {
    const int depth = parent.depth();
    const Lwm2mPath path = child(parent, e.id);
    if (!is_under(path, base)) {
      return CodecResult::error(
          CoapCode::kBadRequest,
          "TLV entry " + path.to_string() + " is outside the target " + base.to_string());
    }
    switch (e.kind) {
      case TlvKind::kObjectInstance:
        if (depth != 1) {
          return unexpected(e, parent);
        }
        return sequence(e.value, path, base);
      case TlvKind::kMultipleResource:
        if (depth != 2) {
          return unexpected(e, parent);
        }
        return sequence(e.value, path, base);
      case TlvKind::kResource:
        if (depth != 2) {
          return unexpected(e, parent);
        }
        return value(path, e.value);
      case TlvKind::kResourceInstance:
        if (depth != 3) {
          return unexpected(e, parent);
        }
        return value(path, e.value);
    }
    return unexpected(e, parent);
  }

  // An instance target takes resource TLVs, or one object-instance TLV wrapping them.
  CodecResult top_of_instance(const Lwm2mPath& base) {
    std::span<const uint8_t> in = in_;
    if (!in.empty() && static_cast<TlvKind>(in[0] >> 6) == TlvKind::kObjectInstance) {
      TlvEntry e;
      const Lwm2mPath object = truncate(base, 1);
      if (CodecResult r = next(&in, object, &e); !r.ok()) {
        return r;
      }
      if (!in.empty()) {
        return CodecResult::error(CoapCode::kBadRequest,
                                  "TLV for " + base.to_string() + " has data after its instance");
      }
      return entry(e, object, base);
    }
    return sequence(in, base, base);
  }

  // A resource target takes one resource or multiple-resource TLV, or bare resource instances.
  CodecResult top_of_resource(const Lwm2mPath& base) {
    std::span<const uint8_t> in = in_;
    if (!in.empty() && static_cast<TlvKind>(in[0] >> 6) == TlvKind::kResourceInstance) {
      return sequence(in, base, base);
    }
    const Lwm2mPath instance = truncate(base, 2);
    return sequence(in, instance, base);
  }

  CodecResult top_of_resource_instance(const Lwm2mPath& base) {
    return sequence(in_, truncate(base, 3), base);
  }

  CodecResult value(const Lwm2mPath& path, std::span<const uint8_t> v) {
    const ResourceType type = lookup_type(ctx_, path);
    const size_t n = v.size();
    auto bad = [&](std::string_view what) {
      return CodecResult::error(CoapCode::kBadRequest, "TLV value of " + std::to_string(n) +
                                                           " bytes at " + path.to_string() +
                                                           " is not " + std::string(what));
    };
    const bool int_width = n == 1 || n == 2 || n == 4 || n == 8;
    Value result;
    switch (type) {
      case ResourceType::kNone:
        return CodecResult::error(CoapCode::kBadRequest,
                                  "no value type known for " + path.to_string());
      case ResourceType::kString:
      case ResourceType::kCoreLink: {
        const std::string_view text = as_text(v);
        if (!is_valid_utf8(text)) {
          return bad("valid UTF-8");
        }
        set_text(type, std::string(text), &result);
        break;
      }
      case ResourceType::kInteger:
      case ResourceType::kTime: {
        if (!int_width) {
          return bad("an integer of 1, 2, 4 or 8 bytes");
        }
        // Sign-extend from the top bit of the first byte.
        uint64_t raw = get_be(v);
        if (n < 8 && (v[0] & 0x80) != 0) {
          raw |= ~uint64_t{0} << (8 * n);
        }
        set_integer(type, static_cast<int64_t>(raw), &result);
        break;
      }
      case ResourceType::kUnsignedInteger:
        if (!int_width) {
          return bad("an unsigned integer of 1, 2, 4 or 8 bytes");
        }
        result = get_be(v);
        break;
      case ResourceType::kFloat:
        if (n == 4) {
          const auto bits = static_cast<uint32_t>(get_be(v));
          float f = 0;
          std::memcpy(&f, &bits, sizeof(f));
          result = static_cast<double>(f);
        } else if (n == 8) {
          const uint64_t bits = get_be(v);
          double d = 0;
          std::memcpy(&d, &bits, sizeof(d));
          result = d;
        } else {
          return bad("a float of 4 or 8 bytes");
        }
        break;
      case ResourceType::kBoolean:
        if (n != 1 || v[0] > 1) {
          return bad("a boolean (one byte, 0 or 1)");
        }
        result = v[0] == 1;
        break;
      case ResourceType::kOpaque:
        result = Opaque{std::vector<uint8_t>(v.begin(), v.end())};
        break;
      case ResourceType::kObjlnk:
        if (n != 4) {
          return bad("an object link of 4 bytes");
        }
        result = Objlnk{static_cast<uint16_t>(get_be(v.first(2))),
                        static_cast<uint16_t>(get_be(v.subspan(2)))};
        break;
    }
    out_->push_back(Record{path, std::move(result)});
    return CodecResult::success();
  }

  const CodecContext& ctx_;
  std::span<const uint8_t> in_;
  std::vector<Record>* out_;
};

}  // namespace

CodecResult encode_tlv(const CodecContext& ctx, std::span<const Record> records,
                       std::vector<uint8_t>* out) {
  return all_or_nothing(out, [&] { return TlvEncoder(ctx, records, out).run(); });
}

CodecResult decode_tlv(const CodecContext& ctx, std::span<const uint8_t> in,
                       std::vector<Record>* out) {
  return all_or_nothing(out, [&] { return TlvDecoder(ctx, in, out).run(); });
}

}  // namespace lwm2msim
