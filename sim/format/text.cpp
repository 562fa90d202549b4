// Plain text (content format 0, LwM2M TS 1.1 section 7.3.1) and opaque (42, section 7.3.2):
// one single resource or resource instance per payload, typed by the data model on decode.
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include "sim/coap/coap.h"
#include "sim/format/format.h"

namespace lwm2msim {
namespace {

ResourceType lookup_type(const CodecContext& ctx, const Lwm2mPath& path) {
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

bool lookup_multiple(const CodecContext& ctx, const Lwm2mPath& path) {
  return ctx.is_multiple && ctx.is_multiple(path);
}

// Shared precondition of both single-value formats: the payload is exactly the base resource.
CodecResult check_single_target(const CodecContext& ctx, std::span<const Record> records,
                                std::string_view format_name) {
  const int depth = ctx.base.depth();
  if (depth < 3 || (depth == 3 && lookup_multiple(ctx, ctx.base))) {
    return CodecResult::error(CoapCode::kNotAcceptable,
                              std::string(format_name) + " carries one single-valued resource; " +
                                  ctx.base.to_string() + " is not one");
  }
  if (records.size() != 1) {
    return CodecResult::error(CoapCode::kNotAcceptable, std::string(format_name) +
                                                            " carries exactly one value, got " +
                                                            std::to_string(records.size()));
  }
  if (records.front().path != ctx.base) {
    return CodecResult::error(CoapCode::kInternalServerError,
                              "record " + records.front().path.to_string() +
                                  " is not the request target " + ctx.base.to_string());
  }
  return CodecResult::success();
}

// A decode target that is not a single-valued resource cannot take this format at all.
CodecResult check_single_decode_target(const CodecContext& ctx, std::string_view format_name) {
  const int depth = ctx.base.depth();
  if (depth < 3 || (depth == 3 && lookup_multiple(ctx, ctx.base))) {
    return CodecResult::error(CoapCode::kUnsupportedContentFormat,
                              std::string(format_name) + " carries one single-valued resource; " +
                                  ctx.base.to_string() + " is not one");
  }
  return CodecResult::success();
}

template <typename T>
void append_integer(T v, std::vector<uint8_t>* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->insert(out->end(), buf, r.ptr);
}

void append_text(std::string_view s, std::vector<uint8_t>* out) {
  out->insert(out->end(), s.begin(), s.end());
}

template <typename T>
bool parse_integer(std::string_view s, T* out) {
  if (s.empty()) {
    return false;
  }
  const char* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, *out);
  return r.ec == std::errc() && r.ptr == end;
}

bool parse_double(std::string_view s, double* out) {
  // from_chars would also take "inf" and "nan", which are no decimal numbers.
  if (s.empty() || s.find_first_not_of("+-.0123456789eE") != std::string_view::npos) {
    return false;
  }
  const char* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, *out, std::chars_format::general);
  return r.ec == std::errc() && r.ptr == end && std::isfinite(*out);
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

bool parse_objlnk(std::string_view s, Objlnk* out) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  uint16_t object = 0;
  uint16_t instance = 0;
  if (!parse_integer(s.substr(0, colon), &object) ||
      !parse_integer(s.substr(colon + 1), &instance)) {
    return false;
  }
  *out = Objlnk{object, instance};
  return true;
}

}  // namespace

CodecResult encode_text(const CodecContext& ctx, std::span<const Record> records,
                        std::vector<uint8_t>* out) {
  if (CodecResult r = check_single_target(ctx, records, "plain text"); !r.ok()) {
    return r;
  }
  const Value& v = records.front().value;
  const std::string where = " at " + ctx.base.to_string();
  if (const auto* s = std::get_if<std::string>(&v)) {
    append_text(*s, out);
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    append_integer(*i, out);
  } else if (const auto* u = std::get_if<uint64_t>(&v)) {
    append_integer(*u, out);
  } else if (const auto* d = std::get_if<double>(&v)) {
    if (!std::isfinite(*d)) {
      return CodecResult::error(CoapCode::kNotAcceptable,
                                "plain text has no representation for a non-finite float" + where);
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof(buf), *d);
    out->insert(out->end(), buf, r.ptr);
  } else if (const auto* b = std::get_if<bool>(&v)) {
    out->push_back(*b ? '1' : '0');
  } else if (const auto* t = std::get_if<TimeValue>(&v)) {
    append_integer(t->seconds, out);
  } else if (const auto* o = std::get_if<Objlnk>(&v)) {
    append_integer(o->object, out);
    out->push_back(':');
    append_integer(o->instance, out);
  } else if (const auto* l = std::get_if<CoreLink>(&v)) {
    append_text(l->text, out);
  } else if (std::holds_alternative<Opaque>(v)) {
    return CodecResult::error(
        CoapCode::kNotAcceptable,
        "opaque values need application/octet-stream, not plain text" + where);
  } else {
    return CodecResult::error(CoapCode::kNotAcceptable, "no value to encode" + where);
  }
  return CodecResult::success();
}

CodecResult decode_text(const CodecContext& ctx, std::span<const uint8_t> in,
                        std::vector<Record>* out) {
  if (CodecResult r = check_single_decode_target(ctx, "plain text"); !r.ok()) {
    return r;
  }
  const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  const std::string path = ctx.base.to_string();
  const ResourceType type = lookup_type(ctx, ctx.base);
  auto bad = [&](std::string_view what) {
    return CodecResult::error(CoapCode::kBadRequest,
                              "plain text for " + path + " is not " + std::string(what));
  };
  Value value;
  switch (type) {
    case ResourceType::kNone:
      return CodecResult::error(CoapCode::kBadRequest, "no value type known for " + path);
    case ResourceType::kOpaque:
      return CodecResult::error(CoapCode::kUnsupportedContentFormat,
                                "opaque resource " + path + " takes application/octet-stream");
    case ResourceType::kString:
    case ResourceType::kCoreLink:
      if (!is_valid_utf8(text)) {
        return bad("valid UTF-8");
      }
      if (type == ResourceType::kString) {
        value = std::string(text);
      } else {
        value = CoreLink{std::string(text)};
      }
      break;
    case ResourceType::kInteger: {
      int64_t i = 0;
      if (!parse_integer(text, &i)) {
        return bad("a 64-bit signed integer");
      }
      value = i;
      break;
    }
    case ResourceType::kUnsignedInteger: {
      uint64_t u = 0;
      if (!parse_integer(text, &u)) {
        return bad("a 64-bit unsigned integer");
      }
      value = u;
      break;
    }
    case ResourceType::kFloat: {
      double d = 0;
      if (!parse_double(text, &d)) {
        return bad("a finite decimal float");
      }
      value = d;
      break;
    }
    case ResourceType::kBoolean:
      if (text != "0" && text != "1") {
        return bad("a boolean (0 or 1)");
      }
      value = text == "1";
      break;
    case ResourceType::kTime: {
      int64_t seconds = 0;
      if (!parse_integer(text, &seconds)) {
        return bad("a time in integer seconds");
      }
      value = TimeValue{seconds};
      break;
    }
    case ResourceType::kObjlnk: {
      Objlnk link;
      if (!parse_objlnk(text, &link)) {
        return bad("an object link (object:instance)");
      }
      value = link;
      break;
    }
  }
  out->push_back(Record{ctx.base, std::move(value)});
  return CodecResult::success();
}

CodecResult encode_opaque(const CodecContext& ctx, std::span<const Record> records,
                          std::vector<uint8_t>* out) {
  if (CodecResult r = check_single_target(ctx, records, "application/octet-stream"); !r.ok()) {
    return r;
  }
  const auto* o = std::get_if<Opaque>(&records.front().value);
  if (o == nullptr) {
    return CodecResult::error(CoapCode::kNotAcceptable,
                              "application/octet-stream carries only opaque resources; " +
                                  ctx.base.to_string() + " holds " +
                                  std::string(to_string(type_of(records.front().value))));
  }
  out->insert(out->end(), o->bytes.begin(), o->bytes.end());
  return CodecResult::success();
}

CodecResult decode_opaque(const CodecContext& ctx, std::span<const uint8_t> in,
                          std::vector<Record>* out) {
  if (CodecResult r = check_single_decode_target(ctx, "application/octet-stream"); !r.ok()) {
    return r;
  }
  const ResourceType type = lookup_type(ctx, ctx.base);
  if (type != ResourceType::kOpaque) {
    return CodecResult::error(CoapCode::kUnsupportedContentFormat,
                              "application/octet-stream carries only opaque resources; " +
                                  ctx.base.to_string() + " is " + std::string(to_string(type)));
  }
  out->push_back(Record{ctx.base, Opaque{std::vector<uint8_t>(in.begin(), in.end())}});
  return CodecResult::success();
}

}  // namespace lwm2msim
