// OMA JSON (content format 11543, LwM2M TS 1.0 section 6.4.4 / TS 1.1 section 7.4.4) and SenML
// JSON (110, RFC 8428 with LwM2M TS 1.1 section 7.4.5). Encoding writes the text directly;
// decoding parses with nlohmann::json and types numbers with the data model.
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "sim/coap/coap.h"
#include "sim/format/codec_util.h"
#include "sim/format/format.h"

namespace lwm2msim {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void append_base64(std::span<const uint8_t> in, bool url, std::vector<uint8_t>* out) {
  const std::string_view alphabet = url ? kBase64Url : kBase64;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out->push_back(alphabet[(v >> 18) & 0x3f]);
    out->push_back(alphabet[(v >> 12) & 0x3f]);
    out->push_back(alphabet[(v >> 6) & 0x3f]);
    out->push_back(alphabet[v & 0x3f]);
  }
  const size_t rest = in.size() - i;
  if (rest == 0) {
    return;
  }
  uint32_t v = uint32_t{in[i]} << 16;
  if (rest == 2) {
    v |= uint32_t{in[i + 1]} << 8;
  }
  out->push_back(alphabet[(v >> 18) & 0x3f]);
  out->push_back(alphabet[(v >> 12) & 0x3f]);
  if (rest == 2) {
    out->push_back(alphabet[(v >> 6) & 0x3f]);
  }
  if (!url) {
    out->insert(out->end(), 3 - rest, '=');
  }
}

int base64_digit(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+' || c == '-') {
    return 62;
  }
  if (c == '/' || c == '_') {
    return 63;
  }
  return -1;
}

// Either alphabet, padded or not: peers differ and the two cannot be confused.
bool decode_base64(std::string_view s, std::vector<uint8_t>* out) {
  if (!s.empty() && s.size() % 4 == 0) {
    for (int k = 0; k < 2 && !s.empty() && s.back() == '='; ++k) {
      s.remove_suffix(1);
    }
  }
  if (s.size() % 4 == 1) {
    return false;
  }
  out->clear();
  out->reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const int d = base64_digit(c);
    if (d < 0) {
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  return true;
}

// ---- Encoding ---------------------------------------------------------------------------------

class JsonWriter {
 public:
  explicit JsonWriter(std::vector<uint8_t>* out) : out_(out) {}

  void raw(std::string_view s) { out_->insert(out_->end(), s.begin(), s.end()); }
  void raw(char c) { out_->push_back(static_cast<uint8_t>(c)); }

  template <typename T>
  void integer(T v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out_->insert(out_->end(), buf, r.ptr);
  }

  // Shortest round-trip form; integral values keep a ".0" so untyped readers see a float.
  void number(double d) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof(buf), d);
    const std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
    raw(s);
    if (s.find_first_not_of("-0123456789") == std::string_view::npos) {
      raw(".0");
    }
  }

  void string(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    raw('"');
    for (char c : s) {
      const auto u = static_cast<uint8_t>(c);
      switch (c) {
        case '"':
          raw("\\\"");
          break;
        case '\\':
          raw("\\\\");
          break;
        case '\n':
          raw("\\n");
          break;
        case '\r':
          raw("\\r");
          break;
        case '\t':
          raw("\\t");
          break;
        case '\b':
          raw("\\b");
          break;
        case '\f':
          raw("\\f");
          break;
        default:
          if (u < 0x20) {
            raw("\\u00");
            raw(kHex[u >> 4]);
            raw(kHex[u & 0xf]);
          } else {
            raw(c);
          }
      }
    }
    raw('"');
  }

  // Text with nothing to escape, such as ids joined by '/' or ':'.
  void plain_string(std::string_view s) {
    raw('"');
    raw(s);
    raw('"');
  }

  void key(std::string_view k) {
    raw('"');
    raw(k);
    raw("\":");
  }

  void base64(std::span<const uint8_t> bytes, bool url) {
    raw('"');
    append_base64(bytes, url, out_);
    raw('"');
  }

 private:
  std::vector<uint8_t>* out_;
};

enum class Dialect : uint8_t { kOma, kSenml };

// Value labels of each dialect (OMA JSON: TS 1.0 table 6.4.4-2; SenML: RFC 8428 section 4.2).
struct Labels {
  std::string_view number;
  std::string_view string;
  std::string_view boolean;
  std::string_view objlnk;
};
constexpr Labels kOmaLabels{"v", "sv", "bv", "ov"};
constexpr Labels kSenmlLabels{"v", "vs", "vb", "vlo"};

class JsonEncoder {
 public:
  JsonEncoder(Dialect dialect, const CodecContext& ctx, std::span<const Record> records,
              std::vector<uint8_t>* out)
      : dialect_(dialect), ctx_(ctx), records_(records), w_(out) {}

  CodecResult run() {
    const Lwm2mPath& base = ctx_.base;
    for (const Record& r : records_) {
      if (!is_under(r.path, base)) {
        return CodecResult::error(
            CoapCode::kInternalServerError,
            "record " + r.path.to_string() + " is not under " + base.to_string());
      }
    }
    const std::string bn = senml_base_name(base, records_);
    return dialect_ == Dialect::kOma ? oma(bn) : senml(bn);
  }

 private:
  CodecResult oma(const std::string& bn) {
    w_.raw('{');
    if (!bn.empty()) {
      w_.key("bn");
      w_.string(bn);
      w_.raw(',');
    }
    if (ctx_.base_time != 0) {
      w_.key("bt");
      w_.integer(ctx_.base_time);
      w_.raw(',');
    }
    w_.key("e");
    w_.raw('[');
    for (size_t i = 0; i < records_.size(); ++i) {
      if (i > 0) {
        w_.raw(',');
      }
      w_.raw('{');
      const bool named = name(records_[i].path, bn.empty());
      if (std::holds_alternative<std::monostate>(records_[i].value)) {
        return CodecResult::error(
            CoapCode::kNotAcceptable,
            "OMA JSON has no record without a value, at " + records_[i].path.to_string());
      }
      if (named) {
        w_.raw(',');
      }
      if (CodecResult r = value(records_[i]); !r.ok()) {
        return r;
      }
      w_.raw('}');
    }
    w_.raw("]}");
    return CodecResult::success();
  }

  CodecResult senml(const std::string& bn) {
    w_.raw('[');
    for (size_t i = 0; i < records_.size(); ++i) {
      if (i > 0) {
        w_.raw(',');
      }
      w_.raw('{');
      bool need_comma = false;
      if (i == 0 && !bn.empty()) {
        w_.key("bn");
        w_.string(bn);
        need_comma = true;
      }
      if (i == 0 && ctx_.base_time != 0) {
        if (need_comma) {
          w_.raw(',');
        }
        w_.key("bt");
        w_.integer(ctx_.base_time);
        need_comma = true;
      }
      if (records_[i].path != ctx_.base || bn.empty()) {
        if (need_comma) {
          w_.raw(',');
        }
        name(records_[i].path, bn.empty());
        need_comma = true;
      }
      if (!std::holds_alternative<std::monostate>(records_[i].value)) {
        if (need_comma) {
          w_.raw(',');
        }
        if (CodecResult r = value(records_[i]); !r.ok()) {
          return r;
        }
      }
      w_.raw('}');
    }
    w_.raw(']');
    return CodecResult::success();
  }

  // Writes "n" unless the record is the base itself; returns whether it wrote one.
  bool name(const Lwm2mPath& p, bool full) {
    if (full) {
      w_.key("n");
      w_.string(p.to_string());
      return true;
    }
    if (p == ctx_.base) {
      return false;
    }
    w_.key("n");
    w_.plain_string(relative_name(p, ctx_.base.depth()));
    return true;
  }

  CodecResult value(const Record& r) {
    const Labels& labels = dialect_ == Dialect::kOma ? kOmaLabels : kSenmlLabels;
    const Value& v = r.value;
    if (const auto* s = std::get_if<std::string>(&v)) {
      return string_value(labels.string, *s, r.path);
    }
    if (const auto* i = std::get_if<int64_t>(&v)) {
      w_.key(labels.number);
      w_.integer(*i);
    } else if (const auto* u = std::get_if<uint64_t>(&v)) {
      w_.key(labels.number);
      w_.integer(*u);
    } else if (const auto* d = std::get_if<double>(&v)) {
      if (!std::isfinite(*d)) {
        return CodecResult::error(
            CoapCode::kNotAcceptable,
            "JSON has no representation for the non-finite float at " + r.path.to_string());
      }
      w_.key(labels.number);
      w_.number(*d);
    } else if (const auto* b = std::get_if<bool>(&v)) {
      w_.key(labels.boolean);
      w_.raw(*b ? "true" : "false");
    } else if (const auto* o = std::get_if<Opaque>(&v)) {
      // OMA JSON carries opaque as base64 in "sv"; SenML as unpadded base64url in "vd".
      const bool senml = dialect_ == Dialect::kSenml;
      w_.key(senml ? "vd" : "sv");
      w_.base64(o->bytes, senml);
    } else if (const auto* t = std::get_if<TimeValue>(&v)) {
      w_.key(labels.number);
      w_.integer(t->seconds);
    } else if (const auto* l = std::get_if<Objlnk>(&v)) {
      w_.key(labels.objlnk);
      w_.plain_string(objlnk_text(*l));
    } else if (const auto* c = std::get_if<CoreLink>(&v)) {
      return string_value(labels.string, c->text, r.path);
    }
    return CodecResult::success();
  }

  CodecResult string_value(std::string_view label, std::string_view s, const Lwm2mPath& p) {
    if (!is_valid_utf8(s)) {
      return CodecResult::error(CoapCode::kInternalServerError,
                                "string at " + p.to_string() + " is not valid UTF-8");
    }
    w_.key(label);
    w_.string(s);
    return CodecResult::success();
  }

  Dialect dialect_;
  const CodecContext& ctx_;
  std::span<const Record> records_;
  JsonWriter w_;
};

CodecResult encode_json(Dialect dialect, const CodecContext& ctx, std::span<const Record> records,
                        std::vector<uint8_t>* out) {
  return all_or_nothing(out, [&] { return JsonEncoder(dialect, ctx, records, out).run(); });
}

// ---- Decoding ---------------------------------------------------------------------------------
// One SAX pass over the payload: no DOM is built, and each record is checked as it completes.

CodecResult bad(std::string why) {
  return CodecResult::error(CoapCode::kBadRequest, std::move(why));
}

// A JSON value as the decoders keep it; of arrays and objects only the fact is kept.
struct Scalar {
  enum class Type : uint8_t {
    kAbsent,
    kNull,
    kBoolean,
    kInteger,
    kUnsigned,
    kFloat,
    kString,
    kStructure
  };
  Type type = Type::kAbsent;
  bool boolean = false;
  int64_t integer = 0;
  uint64_t unsigned_integer = 0;
  double floating = 0;
  std::string string;

  bool present() const { return type != Type::kAbsent; }
  bool is_number() const {
    return type == Type::kInteger || type == Type::kUnsigned || type == Type::kFloat;
  }
  double as_double() const {
    switch (type) {
      case Type::kInteger:
        return static_cast<double>(integer);
      case Type::kUnsigned:
        return static_cast<double>(unsigned_integer);
      default:
        return floating;
    }
  }
  const char* type_name() const { return name_of(type); }
  static const char* name_of(Type t) {
    switch (t) {
      case Type::kNull:
        return "null";
      case Type::kBoolean:
        return "boolean";
      case Type::kInteger:
      case Type::kUnsigned:
      case Type::kFloat:
        return "number";
      case Type::kString:
        return "string";
      case Type::kStructure:
        return "array or object";
      default:
        return "nothing";
    }
  }
};

// The labels the decoders read. Value slots hold either dialect's spelling: SenML v/vs/vb/vd/vlo,
// OMA JSON v/sv/bv/-/ov.
enum Slot : uint8_t {
  kBn,
  kBt,
  kN,
  kT,
  kBver,
  kNumber,
  kString,
  kBoolean,
  kData,
  kObjlnk,
  kSlotCount
};
constexpr uint8_t kIgnored = kSlotCount;
constexpr Slot kValueSlots[] = {kNumber, kString, kBoolean, kData, kObjlnk};

struct RawRecord {
  std::array<Scalar, kSlotCount> fields;
  std::string rejected;  // why a label makes the record unusable

  void clear() {
    for (Scalar& f : fields) {
      f.type = Scalar::Type::kAbsent;
      f.string.clear();
    }
    rejected.clear();
  }
};

uint8_t senml_slot(std::string_view key, std::string* rejected) {
  static constexpr std::pair<std::string_view, Slot> kSlots[] = {
      {"bn", kBn},    {"bt", kBt},     {"n", kN},        {"t", kT},     {"bver", kBver},
      {"v", kNumber}, {"vs", kString}, {"vb", kBoolean}, {"vd", kData}, {"vlo", kObjlnk}};
  for (const auto& [name, slot] : kSlots) {
    if (key == name) {
      return slot;
    }
  }
  if (rejected->empty()) {
    // RFC 8428 section 4.4: labels ending in '_' must be understood. Base value and sums change
    // what "v" means, and LwM2M never uses them.
    if (!key.empty() && key.back() == '_') {
      *rejected = "unsupported must-understand label \"" + std::string(key) + "\"";
    } else if (key == "bv" || key == "bs" || key == "s") {
      *rejected = "SenML label \"" + std::string(key) + "\" is not supported by LwM2M";
    }
  }
  return kIgnored;
}

uint8_t oma_slot(std::string_view key) {
  static constexpr std::pair<std::string_view, Slot> kSlots[] = {
      {"n", kN}, {"t", kT}, {"v", kNumber}, {"sv", kString}, {"bv", kBoolean}, {"ov", kObjlnk}};
  for (const auto& [name, slot] : kSlots) {
    if (key == name) {
      return slot;
    }
  }
  return kIgnored;
}

std::string_view value_label(Dialect d, Slot slot) {
  static constexpr std::string_view kSenml[] = {"v", "vs", "vb", "vd", "vlo"};
  static constexpr std::string_view kOma[] = {"v", "sv", "bv", "vd", "ov"};
  const size_t i = static_cast<size_t>(slot - kNumber);
  return d == Dialect::kSenml ? kSenml[i] : kOma[i];
}

// Turns a value found under `slot` into the value type the data model expects at `path`.
CodecResult coerce(const Scalar& j, Slot slot, Dialect dialect, ResourceType type,
                   const Lwm2mPath& path, Value* out) {
  auto where = [&path] { return path.to_string(); };
  auto mismatch = [&](std::string_view got) {
    return bad(where() + " is " + std::string(to_string(type)) + ", the payload gives " +
               std::string(got));
  };
  auto wrong = [&](std::string_view expected) {
    // Appended piecewise: GCC 12 -O3 misreports "literal" + std::string as overlapping memcpy.
    std::string why = "\"";
    why += value_label(dialect, slot);
    why += "\" at " + where() + " must be " + std::string(expected) + ", not " + j.type_name();
    return bad(std::move(why));
  };
  switch (slot) {
    case kNumber: {
      if (!j.is_number()) {
        return wrong("a number");
      }
      switch (type) {
        case ResourceType::kNone:
          if (j.type == Scalar::Type::kInteger) {
            *out = j.integer;
          } else if (j.type == Scalar::Type::kUnsigned) {
            if (j.unsigned_integer <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
              *out = static_cast<int64_t>(j.unsigned_integer);
            } else {
              *out = j.unsigned_integer;
            }
          } else {
            *out = j.floating;
          }
          return CodecResult::success();
        case ResourceType::kInteger:
        case ResourceType::kTime: {
          int64_t i = 0;
          if (j.type == Scalar::Type::kInteger) {
            i = j.integer;
          } else if (j.type == Scalar::Type::kUnsigned) {
            if (j.unsigned_integer > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
              return bad("value at " + where() + " is out of the 64-bit signed range");
            }
            i = static_cast<int64_t>(j.unsigned_integer);
          } else if (!double_to_int64(j.floating, &i)) {
            return bad("value at " + where() + " is not a 64-bit signed integer");
          }
          set_integer(type, i, out);
          return CodecResult::success();
        }
        case ResourceType::kUnsignedInteger:
          if (j.type == Scalar::Type::kUnsigned) {
            *out = j.unsigned_integer;
          } else if (j.type == Scalar::Type::kInteger) {
            if (j.integer < 0) {
              return bad("value at " + where() + " is negative but unsigned");
            }
            *out = static_cast<uint64_t>(j.integer);
          } else {
            uint64_t u = 0;
            if (!double_to_uint64(j.floating, &u)) {
              return bad("value at " + where() + " is not a 64-bit unsigned integer");
            }
            *out = u;
          }
          return CodecResult::success();
        case ResourceType::kFloat:
          *out = j.as_double();
          return CodecResult::success();
        default:
          return mismatch("a number");
      }
    }
    case kBoolean:
      if (j.type != Scalar::Type::kBoolean) {
        return wrong("a boolean");
      }
      if (!model_accepts(type, ResourceType::kBoolean)) {
        return mismatch("a boolean");
      }
      *out = j.boolean;
      return CodecResult::success();
    case kString:
      if (j.type != Scalar::Type::kString) {
        return wrong("a string");
      }
      switch (type) {
        case ResourceType::kNone:
        case ResourceType::kString:
        case ResourceType::kCoreLink:
          set_text(type, j.string, out);
          return CodecResult::success();
        case ResourceType::kOpaque:
          // OMA JSON carries opaque values as base64 in "sv".
          if (dialect == Dialect::kOma) {
            return coerce(j, kData, dialect, type, path, out);
          }
          return mismatch("a string");
        default:
          return mismatch("a string");
      }
    case kData: {
      if (j.type != Scalar::Type::kString) {
        return wrong("a base64 string");
      }
      if (!model_accepts(type, ResourceType::kOpaque)) {
        return mismatch("opaque data");
      }
      Opaque o;
      if (!decode_base64(j.string, &o.bytes)) {
        return bad("value at " + where() + " is not valid base64");
      }
      *out = std::move(o);
      return CodecResult::success();
    }
    case kObjlnk: {
      if (j.type != Scalar::Type::kString) {
        return wrong("an object link string");
      }
      if (!model_accepts(type, ResourceType::kObjlnk)) {
        return mismatch("an object link");
      }
      Objlnk o;
      if (!parse_objlnk(j.string, &o)) {
        return bad("value at " + where() + " is not an object link (object:instance)");
      }
      *out = o;
      return CodecResult::success();
    }
    default:
      return bad("value at " + where() + " has an unknown label");
  }
}

// A SAX handler for nlohmann::json::sax_parse (its json_sax interface).
class JsonDecoder {
 public:
  JsonDecoder(Dialect dialect, const CodecContext& ctx, std::vector<Record>* out)
      : dialect_(dialect), ctx_(ctx), out_(out) {}

  CodecResult run(std::span<const uint8_t> in) {
    const bool parsed = Json::sax_parse(in.begin(), in.end(), this);
    if (!error_.ok()) {
      return error_;
    }
    if (!parsed) {
      return bad(std::string(name()) + " payload is not valid JSON");
    }
    return dialect_ == Dialect::kOma ? finish_oma() : CodecResult::success();
  }

  bool null() { return value(Scalar::Type::kNull); }
  bool boolean(bool v) {
    return keep(Scalar::Type::kBoolean, [v](Scalar& s) { s.boolean = v; });
  }
  bool number_integer(Json::number_integer_t v) {
    return keep(Scalar::Type::kInteger, [v](Scalar& s) { s.integer = v; });
  }
  bool number_unsigned(Json::number_unsigned_t v) {
    return keep(Scalar::Type::kUnsigned, [v](Scalar& s) { s.unsigned_integer = v; });
  }
  bool number_float(Json::number_float_t v, const Json::string_t&) {
    return keep(Scalar::Type::kFloat, [v](Scalar& s) { s.floating = v; });
  }
  bool string(Json::string_t& v) {
    return keep(Scalar::Type::kString, [&v](Scalar& s) { s.string.assign(v); });
  }
  bool binary(Json::binary_t&) { return value(Scalar::Type::kNull); }

  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(Json::string_t& k) {
    if (skip_ > 0) {
      return true;
    }
    if (level_ == record_level()) {
      slot_ = dialect_ == Dialect::kSenml ? senml_slot(k, &raw_.rejected) : oma_slot(k);
    } else if (dialect_ == Dialect::kOma && level_ == 1) {
      if (k == "bn") {
        slot_ = kBn;
      } else if (k == "bt") {
        slot_ = kBt;
      } else if (k == "e") {
        slot_ = kE;
      } else {
        slot_ = kIgnored;
      }
      if (slot_ != kIgnored && seen_[slot_]) {
        return fail(bad("OMA JSON payload has more than one \"" + k + "\""));
      }
      if (slot_ != kIgnored) {
        seen_[slot_] = true;
      }
    }
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) {
    return fail(bad(std::string(name()) + " payload is not valid JSON (byte " +
                    std::to_string(position) + ")"));
  }

 private:
  static constexpr uint8_t kE = kSlotCount + 1;  // OMA JSON's "e", top level only

  std::string_view name() const { return dialect_ == Dialect::kOma ? "OMA JSON" : "SenML JSON"; }
  // SenML: [ {record} ]; OMA JSON: { "e": [ {record} ] }.
  int record_level() const { return dialect_ == Dialect::kSenml ? 2 : 3; }

  bool fail(CodecResult r) {
    error_ = std::move(r);
    return false;
  }

  std::string record_label(size_t index) const {
    return std::string(dialect_ == Dialect::kSenml ? "SenML record " : "OMA JSON entry ") +
           std::to_string(index);
  }

  // Where a value at the current position goes: *slot stays null when it is not kept.
  bool store(Scalar::Type type, Scalar** slot) {
    *slot = nullptr;
    if (skip_ > 0) {
      return true;
    }
    if (!check_container(type)) {
      return false;
    }
    Scalar* s = target();
    if (s != nullptr) {
      s->type = type;
      *slot = s;
    }
    return true;
  }

  bool value(Scalar::Type type) {
    Scalar* s = nullptr;
    return store(type, &s);
  }

  // store(), then `set` fills the slot if the value is kept.
  template <typename Set>
  bool keep(Scalar::Type type, Set set) {
    Scalar* s = nullptr;
    if (!store(type, &s)) {
      return false;
    }
    if (s != nullptr) {
      set(*s);
    }
    return true;
  }

  Scalar* target() {
    if (level_ == record_level()) {
      return slot_ < kSlotCount ? &raw_.fields[slot_] : nullptr;
    }
    if (dialect_ == Dialect::kOma && level_ == 1 && (slot_ == kBn || slot_ == kBt)) {
      return &top_[slot_];
    }
    return nullptr;
  }

  // Values that may not stand where they do: scalars as containers and records.
  bool check_container(Scalar::Type type) {
    const bool object = type == Scalar::Type::kStructure && opening_object_;
    const bool array = type == Scalar::Type::kStructure && !opening_object_;
    const char* got = array ? "array" : object ? "object" : Scalar::name_of(type);
    if (level_ == 0) {
      if (dialect_ == Dialect::kSenml && !array) {
        return fail(bad("SenML JSON payload must be an array, not " + std::string(got)));
      }
      if (dialect_ == Dialect::kOma && !object) {
        return fail(bad("OMA JSON payload must be an object, not " + std::string(got)));
      }
      return true;
    }
    if (level_ == record_level() - 1 && !object) {
      return fail(bad(record_label(index_) + " must be an object, not " + std::string(got)));
    }
    if (dialect_ == Dialect::kOma && level_ == 1 && slot_ == kE && !array) {
      return fail(bad("OMA JSON \"e\" must be an array, not " + std::string(got)));
    }
    return true;
  }

  bool open(bool object) {
    if (skip_ > 0) {
      ++skip_;
      return true;
    }
    opening_object_ = object;
    Scalar* s = nullptr;
    if (!store(Scalar::Type::kStructure, &s)) {
      return false;
    }
    const bool descend = level_ == 0 || level_ == record_level() - 1 ||
                         (dialect_ == Dialect::kOma && level_ == 1 && slot_ == kE);
    if (!descend) {
      skip_ = 1;
      return true;
    }
    if (dialect_ == Dialect::kOma && level_ == 1) {
      // Records can only be checked once "bn" is known; it may follow "e".
      if (!seen_[kBn]) {
        defer_ = true;
      } else if (!top_[kBn].present() || top_[kBn].type == Scalar::Type::kString) {
        bn_ = top_[kBn].string;
      } else {
        return fail(
            bad("OMA JSON \"bn\" must be a string, not " + std::string(top_[kBn].type_name())));
      }
    }
    ++level_;
    if (level_ == record_level()) {
      raw_.clear();
      slot_ = kIgnored;
    }
    return true;
  }

  bool close() {
    if (skip_ > 0) {
      --skip_;
      return true;
    }
    if (level_ == record_level()) {
      CodecResult r = CodecResult::success();
      if (dialect_ == Dialect::kSenml) {
        r = record(raw_, index_);
      } else if (defer_) {
        deferred_.push_back(raw_);
      } else {
        r = record(raw_, index_);
      }
      if (!r.ok()) {
        return fail(std::move(r));
      }
      ++index_;
    }
    --level_;
    slot_ = kIgnored;
    return true;
  }

  CodecResult finish_oma() {
    const Scalar& bn = top_[kBn];
    if (bn.present() && bn.type != Scalar::Type::kString) {
      return bad("OMA JSON \"bn\" must be a string, not " + std::string(bn.type_name()));
    }
    if (top_[kBt].present() && !top_[kBt].is_number()) {
      return bad("OMA JSON \"bt\" must be a number, not " + std::string(top_[kBt].type_name()));
    }
    if (!seen_[kE]) {
      return bad("OMA JSON payload needs an \"e\" array");
    }
    bn_ = bn.string;
    for (size_t i = 0; i < deferred_.size(); ++i) {
      if (CodecResult r = record(deferred_[i], i); !r.ok()) {
        return r;
      }
    }
    return CodecResult::success();
  }

  CodecResult record(const RawRecord& r, size_t index) {
    auto label = [&] { return record_label(index); };
    if (!r.rejected.empty()) {
      return bad(label() + ": " + r.rejected);
    }
    for (Slot number : {kBt, kT, kBver}) {
      const Scalar& f = r.fields[number];
      if (f.present() && !f.is_number()) {
        static constexpr std::string_view kNames[] = {"bn", "bt", "n", "t", "bver"};
        return bad(label() + ": \"" + std::string(kNames[number]) + "\" must be a number, not " +
                   f.type_name());
      }
    }
    if (const Scalar& bn = r.fields[kBn]; bn.present()) {
      if (bn.type != Scalar::Type::kString) {
        return bad(label() + ": \"bn\" must be a string, not " + bn.type_name());
      }
      bn_ = bn.string;
    }
    std::string name = bn_;
    if (const Scalar& n = r.fields[kN]; n.present()) {
      if (n.type != Scalar::Type::kString) {
        return bad(label() + ": \"n\" must be a string, not " + n.type_name());
      }
      name += n.string;
    }
    if (name.empty()) {
      return bad(label() + " has no name");
    }
    Lwm2mPath path;
    if (!parse_lwm2m_path(name, &path)) {
      return bad(label() + ": \"" + name + "\" is not an LwM2M path");
    }
    if (!is_under(path, ctx_.base)) {
      return bad(label() + ": " + path.to_string() + " is outside the target " +
                 ctx_.base.to_string());
    }
    const Scalar* v = nullptr;
    Slot slot = kNumber;
    for (Slot s : kValueSlots) {
      if (r.fields[s].present()) {
        if (v != nullptr) {
          return bad(label() + " has more than one value");
        }
        v = &r.fields[s];
        slot = s;
      }
    }
    Value value;
    // A SenML record without a value names a path (Read-Composite, Observe-Composite).
    if (v == nullptr && dialect_ == Dialect::kOma) {
      return bad(label() + " (" + path.to_string() + ") has no value");
    }
    if (v != nullptr) {
      if (path.depth() < 3) {
        return bad(label() + ": " + path.to_string() + " is not a resource");
      }
      if (CodecResult c = coerce(*v, slot, dialect_, lookup_type(ctx_, path), path, &value);
          !c.ok()) {
        return c;
      }
    }
    out_->push_back(Record{path, std::move(value)});
    return CodecResult::success();
  }

  Dialect dialect_;
  const CodecContext& ctx_;
  std::vector<Record>* out_;
  CodecResult error_;
  int level_ = 0;  // open arrays and objects that are not skipped
  int skip_ = 0;   // open arrays and objects inside a skipped value
  uint8_t slot_ = kIgnored;
  bool opening_object_ = false;
  size_t index_ = 0;  // of the record being read
  std::string bn_;    // the current base name
  RawRecord raw_;
  // OMA JSON top level.
  std::array<Scalar, kSlotCount> top_;
  std::array<bool, kSlotCount + 2> seen_{};
  bool defer_ = false;
  std::vector<RawRecord> deferred_;
};

CodecResult decode_json(Dialect dialect, const CodecContext& ctx, std::span<const uint8_t> in,
                        std::vector<Record>* out) {
  return all_or_nothing(out, [&] { return JsonDecoder(dialect, ctx, out).run(in); });
}

}  // namespace

CodecResult encode_oma_json(const CodecContext& ctx, std::span<const Record> records,
                            std::vector<uint8_t>* out) {
  return encode_json(Dialect::kOma, ctx, records, out);
}

CodecResult decode_oma_json(const CodecContext& ctx, std::span<const uint8_t> in,
                            std::vector<Record>* out) {
  return decode_json(Dialect::kOma, ctx, in, out);
}

CodecResult encode_senml_json(const CodecContext& ctx, std::span<const Record> records,
                              std::vector<uint8_t>* out) {
  return encode_json(Dialect::kSenml, ctx, records, out);
}

CodecResult decode_senml_json(const CodecContext& ctx, std::span<const uint8_t> in,
                              std::vector<Record>* out) {
  return decode_json(Dialect::kSenml, ctx, in, out);
}

}  // namespace lwm2msim
