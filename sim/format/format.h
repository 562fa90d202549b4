// format: LwM2M content formats (plain text, opaque, link format, TLV, OMA JSON, SenML JSON and
// CBOR, LwM2M CBOR). Codecs turn typed records into bytes and back; they never see sockets.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sim/lwm2m/lwm2m.h"

namespace lwm2msim {

// LwM2M data types (TS 1.1 appendix C).
enum class ResourceType : uint8_t {
  kNone,  // Execute-only resources carry no value
  kString,
  kInteger,
  kUnsignedInteger,
  kFloat,
  kBoolean,
  kOpaque,
  kTime,
  kObjlnk,
  kCoreLink,
};
std::string_view to_string(ResourceType t);
// Integer, Unsigned Integer and Float: the types with numeric ranges and gt/lt/st attributes.
constexpr bool is_numeric(ResourceType t) {
  return t == ResourceType::kInteger || t == ResourceType::kUnsignedInteger ||
         t == ResourceType::kFloat;
}
// Integer, Unsigned Integer and Time: the types whose values are whole numbers.
constexpr bool is_integral(ResourceType t) {
  return t == ResourceType::kInteger || t == ResourceType::kUnsignedInteger ||
         t == ResourceType::kTime;
}

struct Objlnk {
  uint16_t object = 0;
  uint16_t instance = 0;
  friend bool operator==(const Objlnk&, const Objlnk&) = default;
};
struct TimeValue {
  int64_t seconds = 0;  // Unix time
  friend bool operator==(const TimeValue&, const TimeValue&) = default;
};
struct Opaque {
  std::vector<uint8_t> bytes;
  friend bool operator==(const Opaque&, const Opaque&) = default;
};
struct CoreLink {
  std::string text;
  friend bool operator==(const CoreLink&, const CoreLink&) = default;
};

// A typed value; monostate is "no value" (used by Read-Composite requests and Execute).
using Value = std::variant<std::monostate, std::string, int64_t, uint64_t, double, bool, Opaque,
                           TimeValue, Objlnk, CoreLink>;
ResourceType type_of(const Value& v);

// One resource (or resource instance) value at a full path: the unit every codec works in.
struct Record {
  Lwm2mPath path;
  Value value;
  friend bool operator==(const Record&, const Record&) = default;
};

// What the data model knows about a path, for codecs whose wire format is untyped (TLV, plain
// text, opaque) or ambiguous (JSON numbers). Returns kNone for unknown paths.
using TypeLookup = std::function<ResourceType(const Lwm2mPath&)>;
// Whether a resource is multiple-instance (TLV and SenML nest differently). Unknown: false.
using MultipleLookup = std::function<bool(const Lwm2mPath&)>;

struct CodecContext {
  // The request's target path: payloads are encoded/decoded relative to it.
  Lwm2mPath base;
  TypeLookup type_of;
  MultipleLookup is_multiple;
  // SenML "bt" and LwM2M CBOR timestamps, seconds; 0 omits them.
  int64_t base_time = 0;
};

// Result of a codec call: ok, or the CoAP error code to answer with and a reason.
struct CodecResult {
  uint8_t code = 0;  // 0 on success, else e.g. CoapCode::kBadRequest, kNotAcceptable
  std::string reason;
  bool ok() const { return code == 0; }
  static CodecResult success() { return {}; }
  static CodecResult error(uint8_t coap_code, std::string why) {
    return {coap_code, std::move(why)};
  }
};

// Encodes records (all under ctx.base) into `out` (appended). Plain text and opaque take exactly
// one record whose path equals the base (a single resource or resource instance).
CodecResult encode(uint16_t content_format, const CodecContext& ctx,
                   std::span<const Record> records, std::vector<uint8_t>* out);
// Decodes a payload into records with full paths (appended to `out`).
CodecResult decode(uint16_t content_format, const CodecContext& ctx,
                   std::span<const uint8_t> payload, std::vector<Record>* out);
// Formats this build can encode and decode.
bool is_supported_format(uint16_t content_format);

// Per-format entry points, used by encode()/decode() and tested one by one.
CodecResult encode_text(const CodecContext& ctx, std::span<const Record> records,
                        std::vector<uint8_t>* out);
CodecResult decode_text(const CodecContext& ctx, std::span<const uint8_t> in,
                        std::vector<Record>* out);
CodecResult encode_opaque(const CodecContext& ctx, std::span<const Record> records,
                          std::vector<uint8_t>* out);
CodecResult decode_opaque(const CodecContext& ctx, std::span<const uint8_t> in,
                          std::vector<Record>* out);
CodecResult encode_tlv(const CodecContext& ctx, std::span<const Record> records,
                       std::vector<uint8_t>* out);
CodecResult decode_tlv(const CodecContext& ctx, std::span<const uint8_t> in,
                       std::vector<Record>* out);
CodecResult encode_oma_json(const CodecContext& ctx, std::span<const Record> records,
                            std::vector<uint8_t>* out);
CodecResult decode_oma_json(const CodecContext& ctx, std::span<const uint8_t> in,
                            std::vector<Record>* out);
CodecResult encode_senml_json(const CodecContext& ctx, std::span<const Record> records,
                              std::vector<uint8_t>* out);
CodecResult decode_senml_json(const CodecContext& ctx, std::span<const uint8_t> in,
                              std::vector<Record>* out);
CodecResult encode_senml_cbor(const CodecContext& ctx, std::span<const Record> records,
                              std::vector<uint8_t>* out);
CodecResult decode_senml_cbor(const CodecContext& ctx, std::span<const uint8_t> in,
                              std::vector<Record>* out);
CodecResult encode_lwm2m_cbor(const CodecContext& ctx, std::span<const Record> records,
                              std::vector<uint8_t>* out);
CodecResult decode_lwm2m_cbor(const CodecContext& ctx, std::span<const uint8_t> in,
                              std::vector<Record>* out);

// CoRE link format (RFC 6690) as LwM2M uses it: registration payloads and Discover answers.
struct Link {
  std::string target;  // e.g. "/3/0/1"
  std::vector<std::pair<std::string, std::string>>
      params;  // e.g. {"dim","2"}, {"rt","\"oma.lwm2m\""}; value empty for flags
  friend bool operator==(const Link&, const Link&) = default;
};
std::string encode_links(std::span<const Link> links);
// False (with *error set) on malformed input.
bool decode_links(std::string_view text, std::vector<Link>* out, std::string* error);

}  // namespace lwm2msim
