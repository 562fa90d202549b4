// Plain text (content format 0, LwM2M TS 1.1 section 7.3.1) and opaque (42, section 7.3.2):
// one single resource or resource instance per payload, typed by the data model on decode.
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include "sim/coap/coap.h"
#include "sim/format/codec_util.h"
#include "sim/format/format.h"

namespace lwm2msim {
namespace {

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
    append_text(objlnk_text(*o), out);
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
  const std::string_view text = as_text(in);
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
      set_text(type, std::string(text), &value);
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
