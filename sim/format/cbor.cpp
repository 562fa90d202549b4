// SenML CBOR (RFC 8428 section 6, LwM2M TS 1.1 section 7.4.6) and LwM2M CBOR (TS 1.2 section
// 7.4.7) on top of cbor_codec.
#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <utility>
#include <variant>

#include "sim/coap/coap.h"
#include "sim/format/cbor_codec.h"
#include "sim/format/codec_util.h"
#include "sim/format/format.h"

namespace lwm2msim {
namespace {

// SenML CBOR labels (RFC 8428 table 6); LwM2M adds "vlo" for object links as a text label.
constexpr int64_t kLabelBaseName = -2;
constexpr int64_t kLabelBaseTime = -3;
constexpr int64_t kLabelBaseValue = -5;
constexpr int64_t kLabelBaseSum = -6;
constexpr int64_t kLabelName = 0;
constexpr int64_t kLabelValue = 2;
constexpr int64_t kLabelStringValue = 3;
constexpr int64_t kLabelBoolValue = 4;
constexpr int64_t kLabelSum = 5;
constexpr int64_t kLabelTime = 6;
constexpr int64_t kLabelDataValue = 8;
constexpr std::string_view kLabelObjlnk = "vlo";

constexpr uint64_t kTagEpochTime = 1;
// Highest LwM2M id; 65535 is reserved (TS 1.1 section 7.1).
constexpr uint64_t kMaxId = 65534;
constexpr int kMaxPathDepth = 4;

// Orders by segments with a prefix before its extensions, so duplicates end up adjacent.
bool prefix_first_less(const Lwm2mPath& a, const Lwm2mPath& b) {
  const int da = a.depth();
  const int db = b.depth();
  for (int i = 0; i < std::min(da, db); ++i) {
    if (path_id(a, i) != path_id(b, i)) {
      return path_id(a, i) < path_id(b, i);
    }
  }
  return da < db;
}

bool parse_u16(std::string_view s, uint16_t* out) {
  if (s.empty() || s.size() > 5) {
    return false;
  }
  uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > UINT16_MAX) {
    return false;
  }
  *out = static_cast<uint16_t>(v);
  return true;
}

// Stricter than parse_objlnk (codec_util.h): an id has at most five digits, so zero-padded longer
// ones are refused.
bool parse_short_objlnk(std::string_view s, Objlnk* out) {
  const size_t colon = s.find(':');
  return colon != std::string_view::npos && parse_u16(s.substr(0, colon), &out->object) &&
         parse_u16(s.substr(colon + 1), &out->instance);
}

// Checks what the encoders need of every record; empty string when fine.
std::string check_records(const CodecContext& ctx, std::span<const Record> records) {
  for (const Record& r : records) {
    if (r.path.depth() == 0 || !is_under(r.path, ctx.base)) {
      return "record " + r.path.to_string() + " is outside " + ctx.base.to_string();
    }
    if (const auto* s = std::get_if<std::string>(&r.value); s != nullptr && !is_valid_utf8(*s)) {
      return "record " + r.path.to_string() + " holds a string that is not UTF-8";
    }
    if (const auto* l = std::get_if<CoreLink>(&r.value); l != nullptr && !is_valid_utf8(l->text)) {
      return "record " + r.path.to_string() + " holds a link that is not UTF-8";
    }
  }
  return {};
}

std::string reader_failure(const CborReader& reader) {
  return std::string(to_string(reader.error())) + " at byte " + std::to_string(reader.offset());
}

// A number as the payload carried it, before the data model's type decides what it becomes.
struct Number {
  CborType type = CborType::kUnsigned;  // kUnsigned, kNegative or kFloat
  uint64_t arg = 0;
  double value = 0;
  bool epoch_tag = false;
};

bool to_number(const CborItem& item, uint64_t tag, Number* out) {
  if (!item.is_integer() && item.type != CborType::kFloat) {
    return false;
  }
  *out = Number{item.type, item.arg, item.number, tag == kTagEpochTime};
  return true;
}

bool number_to_int64(const Number& n, int64_t* out) {
  if (n.type == CborType::kFloat) {
    return double_to_int64(n.value, out);
  }
  if (n.arg > static_cast<uint64_t>(INT64_MAX)) {
    return false;
  }
  *out = n.type == CborType::kUnsigned ? static_cast<int64_t>(n.arg)
                                       : -1 - static_cast<int64_t>(n.arg);
  return true;
}

bool number_to_uint64(const Number& n, uint64_t* out) {
  if (n.type == CborType::kFloat) {
    return double_to_uint64(n.value, out);
  }
  if (n.type != CborType::kUnsigned) {
    return false;
  }
  *out = n.arg;
  return true;
}

double number_to_double(const Number& n) {
  switch (n.type) {
    case CborType::kUnsigned:
      return static_cast<double>(n.arg);
    case CborType::kNegative:
      return -1.0 - static_cast<double>(n.arg);
    default:
      return n.value;
  }
}

std::string mismatch(std::string_view what, ResourceType t, const Lwm2mPath& path) {
  return std::string(what) + " for " + std::string(to_string(t)) + " resource " + path.to_string();
}

std::string convert_number(const Number& n, ResourceType t, const Lwm2mPath& path, Value* out) {
  int64_t i = 0;
  uint64_t u = 0;
  switch (t) {
    case ResourceType::kInteger:
      if (!number_to_int64(n, &i)) {
        return "value out of integer range for " + path.to_string();
      }
      *out = i;
      return {};
    case ResourceType::kUnsignedInteger:
      if (!number_to_uint64(n, &u)) {
        return "value out of unsigned integer range for " + path.to_string();
      }
      *out = u;
      return {};
    case ResourceType::kFloat:
      *out = number_to_double(n);
      return {};
    case ResourceType::kTime:
      if (!number_to_int64(n, &i)) {
        return "time is not a whole number of seconds for " + path.to_string();
      }
      *out = TimeValue{i};
      return {};
    case ResourceType::kNone:
      break;
    default:
      return mismatch("number", t, path);
  }
  // Unknown resource: keep what CBOR said, with tag 1 marking a time.
  if (n.type == CborType::kFloat) {
    if (n.epoch_tag && number_to_int64(n, &i)) {
      *out = TimeValue{i};
    } else {
      *out = n.value;
    }
    return {};
  }
  if (number_to_int64(n, &i)) {
    if (n.epoch_tag) {
      *out = TimeValue{i};
    } else {
      *out = i;
    }
    return {};
  }
  if (n.type == CborType::kUnsigned && !n.epoch_tag) {
    *out = n.arg;
    return {};
  }
  return "integer out of range for " + path.to_string();
}

std::string convert_text(std::string text, bool objlnk_label, ResourceType t, const Lwm2mPath& path,
                         Value* out) {
  if (objlnk_label && !model_accepts(t, ResourceType::kObjlnk)) {
    return mismatch("object link", t, path);
  }
  if (objlnk_label || t == ResourceType::kObjlnk) {
    Objlnk link;
    if (!parse_short_objlnk(text, &link)) {
      return "bad object link \"" + text + "\" for " + path.to_string();
    }
    *out = link;
    return {};
  }
  switch (t) {
    case ResourceType::kString:
    case ResourceType::kNone:
    case ResourceType::kCoreLink:
      set_text(t, std::move(text), out);
      return {};
    default:
      return mismatch("text", t, path);
  }
}

std::string convert_bytes(std::vector<uint8_t> bytes, ResourceType t, const Lwm2mPath& path,
                          Value* out) {
  if (!model_accepts(t, ResourceType::kOpaque)) {
    return mismatch("byte string", t, path);
  }
  *out = Opaque{std::move(bytes)};
  return {};
}

std::string convert_bool(bool b, ResourceType t, const Lwm2mPath& path, Value* out) {
  if (!model_accepts(t, ResourceType::kBoolean)) {
    return mismatch("boolean", t, path);
  }
  *out = b;
  return {};
}

// Checks where a decoded record may go; empty string when fine.
std::string check_decoded_path(const CodecContext& ctx, const Lwm2mPath& path, bool has_value) {
  if (!is_under(path, ctx.base)) {
    return "path " + path.to_string() + " is outside " + ctx.base.to_string();
  }
  // Paths without values (Read-Composite) may name objects and instances; values need a resource.
  if (has_value && path.depth() < 3) {
    return "value for " + path.to_string() + ", which is not a resource";
  }
  return {};
}

// ---- SenML CBOR ----------------------------------------------------------------------------

void write_senml_value(CborWriter* w, const Value& value) {
  struct Visitor {
    CborWriter* w;
    void operator()(std::monostate) const {}
    void operator()(const std::string& s) const {
      w->write_int(kLabelStringValue);
      w->write_text(s);
    }
    void operator()(int64_t v) const {
      w->write_int(kLabelValue);
      w->write_int(v);
    }
    void operator()(uint64_t v) const {
      w->write_int(kLabelValue);
      w->write_uint(v);
    }
    void operator()(double v) const {
      w->write_int(kLabelValue);
      w->write_float(v);
    }
    void operator()(bool v) const {
      w->write_int(kLabelBoolValue);
      w->write_bool(v);
    }
    void operator()(const Opaque& v) const {
      w->write_int(kLabelDataValue);
      w->write_bytes(v.bytes);
    }
    void operator()(TimeValue v) const {
      w->write_int(kLabelValue);
      w->write_int(v.seconds);
    }
    void operator()(const Objlnk& v) const {
      w->write_text(kLabelObjlnk);
      w->write_text(objlnk_text(v));
    }
    void operator()(const CoreLink& v) const {
      w->write_int(kLabelStringValue);
      w->write_text(v.text);
    }
  };
  std::visit(Visitor{w}, value);
}

// One SenML record's fields before conversion.
struct SenmlFields {
  enum class Kind : uint8_t { kNone, kNumber, kText, kObjlnk, kBool, kBytes };
  Kind kind = Kind::kNone;
  bool has_name = false;
  std::string name;
  Number number;
  std::string text;
  bool boolean = false;
  std::vector<uint8_t> bytes;
};

// What the SenML and LwM2M CBOR decoders share: one reader over the payload, the checks on its
// top-level item and its end, and how a decoded record is checked, typed and added.
class CborRecordDecoder {
 protected:
  CborRecordDecoder(const CodecContext& ctx, std::span<const uint8_t> in, std::vector<Record>* out)
      : ctx_(ctx), reader_(in), out_(out) {}

  // Reads the payload's top-level item, which must be of `type` (`what` names it for errors).
  std::string open_payload(CborType type, std::string_view what) {
    CborItem item;
    if (!reader_.next(&item)) {
      return reader_failure(reader_);
    }
    if (item.type != type) {
      return "payload is not " + std::string(what);
    }
    return {};
  }

  std::string check_payload_end() const {
    if (!reader_.at_end()) {
      return "bytes after the payload at byte " + std::to_string(reader_.offset());
    }
    return {};
  }

  // Adds a record at `path` once its place is checked; `convert(type, &value)` turns a present
  // value into the data model's type and returns why it cannot.
  template <typename Convert>
  std::string add_record(const Lwm2mPath& path, bool has_value, Convert convert) {
    if (std::string why = check_decoded_path(ctx_, path, has_value); !why.empty()) {
      return why;
    }
    Record record{path, {}};
    if (has_value) {
      if (std::string why = convert(lookup_type(ctx_, path), &record.value); !why.empty()) {
        return why;
      }
    }
    out_->push_back(std::move(record));
    return {};
  }

  const CodecContext& ctx_;
  CborReader reader_;
  std::vector<Record>* out_;
};

class SenmlDecoder : CborRecordDecoder {
 public:
  SenmlDecoder(const CodecContext& ctx, std::span<const uint8_t> in, std::vector<Record>* out)
      : CborRecordDecoder(ctx, in, out) {}

  // Empty string on success, else the reason.
  std::string run() {
    if (std::string why = open_payload(CborType::kArray, "an array"); !why.empty()) {
      return why;
    }
    CborItem item;
    while (reader_.has_next()) {
      if (!reader_.next(&item)) {
        return reader_failure(reader_);
      }
      if (item.type != CborType::kMap) {
        return "record at byte " + std::to_string(reader_.offset() - 1) + " is not a map";
      }
      SenmlFields fields;
      if (std::string why = read_fields(&fields); !why.empty()) {
        return why;
      }
      if (std::string why = add_fields(std::move(fields)); !why.empty()) {
        return why;
      }
    }
    if (!reader_.leave()) {
      return reader_failure(reader_);
    }
    return check_payload_end();
  }

 private:
  // Reads the value item of a pair whose key was just read.
  bool read_value(CborItem* item) {
    uint64_t tag = CborReader::kNoTag;
    return reader_.next_untagged(item, &tag);
  }

  std::string read_text_value(std::string_view label, std::string* out) {
    CborItem item;
    if (!read_value(&item)) {
      return reader_failure(reader_);
    }
    if (item.type != CborType::kText) {
      return std::string(label) + " is not a text string";
    }
    out->clear();
    return cbor_read_text(&reader_, item, out) ? std::string() : reader_failure(reader_);
  }

  std::string set_kind(SenmlFields* f, SenmlFields::Kind kind) {
    if (f->kind != SenmlFields::Kind::kNone) {
      return "record has more than one value";
    }
    f->kind = kind;
    return {};
  }

  std::string read_fields(SenmlFields* f) {
    CborItem key;
    CborItem value;
    std::string label_text;
    bool has_base_name = false;
    while (reader_.has_next()) {
      if (!reader_.next(&key)) {
        return reader_failure(reader_);
      }
      int64_t label = 0;
      if (key.type == CborType::kText) {
        label_text.clear();
        if (!cbor_read_text(&reader_, key, &label_text)) {
          return reader_failure(reader_);
        }
        if (label_text == kLabelObjlnk) {
          if (std::string why = set_kind(f, SenmlFields::Kind::kObjlnk); !why.empty()) {
            return why;
          }
          if (std::string why = read_text_value("vlo", &f->text); !why.empty()) {
            return why;
          }
          continue;
        }
        // RFC 8428 section 12.2: labels ending in '_' must be understood.
        if (!label_text.empty() && label_text.back() == '_') {
          return "unsupported must-understand label \"" + label_text + "\"";
        }
        if (!reader_.skip()) {
          return reader_failure(reader_);
        }
        continue;
      }
      if (!key.is_integer()) {
        return "record key is neither an integer nor a text string";
      }
      if (!key.to_int64(&label)) {
        label = INT64_MAX;  // unknown
      }
      std::string why;
      switch (label) {
        case kLabelBaseName:
          if (has_base_name) {
            return "record has bn twice";
          }
          has_base_name = true;
          why = read_text_value("bn", &base_name_);
          break;
        case kLabelName:
          if (f->has_name) {
            return "record has n twice";
          }
          f->has_name = true;
          why = read_text_value("n", &f->name);
          break;
        case kLabelBaseTime:
        case kLabelTime: {
          // Records carry no timestamps here; the field only has to be a number.
          Number ignored;
          if (!read_value(&value)) {
            return reader_failure(reader_);
          }
          if (!to_number(value, CborReader::kNoTag, &ignored)) {
            return label == kLabelTime ? "t is not a number" : "bt is not a number";
          }
          break;
        }
        case kLabelValue: {
          if (why = set_kind(f, SenmlFields::Kind::kNumber); !why.empty()) {
            return why;
          }
          uint64_t tag = CborReader::kNoTag;
          if (!reader_.next_untagged(&value, &tag)) {
            return reader_failure(reader_);
          }
          if (!to_number(value, tag, &f->number)) {
            return "v is not a number";
          }
          break;
        }
        case kLabelStringValue:
          if (why = set_kind(f, SenmlFields::Kind::kText); !why.empty()) {
            return why;
          }
          why = read_text_value("vs", &f->text);
          break;
        case kLabelBoolValue:
          if (why = set_kind(f, SenmlFields::Kind::kBool); !why.empty()) {
            return why;
          }
          if (!read_value(&value)) {
            return reader_failure(reader_);
          }
          if (value.type != CborType::kTrue && value.type != CborType::kFalse) {
            return "vb is not a boolean";
          }
          f->boolean = value.type == CborType::kTrue;
          break;
        case kLabelDataValue:
          if (why = set_kind(f, SenmlFields::Kind::kBytes); !why.empty()) {
            return why;
          }
          if (!read_value(&value)) {
            return reader_failure(reader_);
          }
          if (value.type != CborType::kBytes) {
            return "vd is not a byte string";
          }
          if (!cbor_read_bytes(&reader_, value, &f->bytes)) {
            return reader_failure(reader_);
          }
          break;
        case kLabelBaseValue:
        case kLabelBaseSum:
        case kLabelSum:
          // They would change values in ways LwM2M never uses.
          return "unsupported SenML label " + std::to_string(label);
        default:
          if (!reader_.skip()) {
            return reader_failure(reader_);
          }
          break;
      }
      if (!why.empty()) {
        return why;
      }
    }
    return reader_.leave() ? std::string() : reader_failure(reader_);
  }

  std::string add_fields(SenmlFields f) {
    const std::string name = base_name_ + f.name;
    if (name.empty()) {
      return "record without a name";
    }
    Lwm2mPath path;
    if (!parse_lwm2m_path(name, &path) || path.depth() == 0) {
      return "name \"" + name + "\" is not an LwM2M path";
    }
    const bool has_value = f.kind != SenmlFields::Kind::kNone;
    return add_record(path, has_value, [&](ResourceType t, Value* value) -> std::string {
      switch (f.kind) {
        case SenmlFields::Kind::kNone:
          break;
        case SenmlFields::Kind::kNumber:
          return convert_number(f.number, t, path, value);
        case SenmlFields::Kind::kText:
          return convert_text(std::move(f.text), false, t, path, value);
        case SenmlFields::Kind::kObjlnk:
          return convert_text(std::move(f.text), true, t, path, value);
        case SenmlFields::Kind::kBool:
          return convert_bool(f.boolean, t, path, value);
        case SenmlFields::Kind::kBytes:
          return convert_bytes(std::move(f.bytes), t, path, value);
      }
      return {};
    });
  }

  std::string base_name_;  // sticky across records (RFC 8428 section 4.1)
};

// ---- LwM2M CBOR ----------------------------------------------------------------------------

void write_lwm2m_value(CborWriter* w, const Value& value) {
  struct Visitor {
    CborWriter* w;
    void operator()(std::monostate) const { w->write_null(); }
    void operator()(const std::string& s) const { w->write_text(s); }
    void operator()(int64_t v) const { w->write_int(v); }
    void operator()(uint64_t v) const { w->write_uint(v); }
    void operator()(double v) const { w->write_float(v); }
    void operator()(bool v) const { w->write_bool(v); }
    void operator()(const Opaque& v) const { w->write_bytes(v.bytes); }
    // A plain integer: every decoder reads it, and the data model knows it is a time.
    void operator()(TimeValue v) const { w->write_int(v.seconds); }
    void operator()(const Objlnk& v) const { w->write_text(objlnk_text(v)); }
    void operator()(const CoreLink& v) const { w->write_text(v.text); }
  };
  std::visit(Visitor{w}, value);
}

class Lwm2mCborEncoder {
 public:
  Lwm2mCborEncoder(std::span<const Record> records, std::vector<size_t> order, CborWriter* w)
      : records_(records), order_(std::move(order)), w_(w) {}

  // Maps keyed by one id per level below `level`, over order_[lo, hi).
  void write_level(size_t lo, size_t hi, int level) {
    size_t groups = 0;
    for (size_t i = lo; i < hi; i = group_end(i, hi, level)) {
      ++groups;
    }
    w_->write_map(groups);
    for (size_t i = lo; i < hi;) {
      const size_t end = group_end(i, hi, level);
      const Record& first = at(i);
      w_->write_uint(path_id(first.path, level));
      if (end - i == 1 && first.path.depth() == level + 1) {
        write_lwm2m_value(w_, first.value);
      } else {
        write_level(i, end, level + 1);
      }
      i = end;
    }
  }

 private:
  const Record& at(size_t i) const { return records_[order_[i]]; }

  size_t group_end(size_t i, size_t hi, int level) const {
    const uint32_t id = path_id(at(i).path, level);
    size_t end = i + 1;
    while (end < hi && path_id(at(end).path, level) == id) {
      ++end;
    }
    return end;
  }

  std::span<const Record> records_;
  std::vector<size_t> order_;
  CborWriter* w_;
};

class Lwm2mCborDecoder : CborRecordDecoder {
 public:
  Lwm2mCborDecoder(const CodecContext& ctx, std::span<const uint8_t> in, std::vector<Record>* out)
      : CborRecordDecoder(ctx, in, out) {}

  std::string run() {
    if (std::string why = open_payload(CborType::kMap, "a map"); !why.empty()) {
      return why;
    }
    if (std::string why = read_map(Lwm2mPath{}, 0); !why.empty()) {
      return why;
    }
    return check_payload_end();
  }

 private:
  std::string add_segment(uint64_t id, Lwm2mPath* path, int* depth) {
    if (id > kMaxId) {
      return "id " + std::to_string(id) + " out of range";
    }
    if (*depth == kMaxPathDepth) {
      return "path deeper than a resource instance under " + path->to_string();
    }
    set_path_id(path, (*depth)++, static_cast<uint32_t>(id));
    return {};
  }

  // The map just entered sits at `prefix`; each key adds one id or an array of them.
  std::string read_map(const Lwm2mPath& prefix, int prefix_depth) {
    CborItem key;
    CborItem value;
    while (reader_.has_next()) {
      if (!reader_.next(&key)) {
        return reader_failure(reader_);
      }
      Lwm2mPath path = prefix;
      int depth = prefix_depth;
      if (key.type == CborType::kUnsigned) {
        if (std::string why = add_segment(key.arg, &path, &depth); !why.empty()) {
          return why;
        }
      } else if (key.type == CborType::kArray) {
        CborItem id;
        while (reader_.has_next()) {
          if (!reader_.next(&id)) {
            return reader_failure(reader_);
          }
          if (id.type != CborType::kUnsigned) {
            return "path array holds something other than an id";
          }
          if (std::string why = add_segment(id.arg, &path, &depth); !why.empty()) {
            return why;
          }
        }
        if (!reader_.leave()) {
          return reader_failure(reader_);
        }
        if (depth == prefix_depth) {
          return "empty path array";
        }
      } else {
        return "map key is neither an id nor an array of ids";
      }
      uint64_t tag = CborReader::kNoTag;
      if (!reader_.next_untagged(&value, &tag)) {
        return reader_failure(reader_);
      }
      std::string why = value.type == CborType::kMap && tag == CborReader::kNoTag
                            ? read_map(path, depth)
                            : read_leaf(path, value, tag);
      if (!why.empty()) {
        return why;
      }
    }
    return reader_.leave() ? std::string() : reader_failure(reader_);
  }

  std::string read_leaf(const Lwm2mPath& path, const CborItem& value, uint64_t tag) {
    const bool has_value = value.type != CborType::kNull;
    return add_record(path, has_value, [&](ResourceType t, Value* out) -> std::string {
      switch (value.type) {
        case CborType::kUnsigned:
        case CborType::kNegative:
        case CborType::kFloat: {
          Number number;
          to_number(value, tag, &number);
          return convert_number(number, t, path, out);
        }
        case CborType::kText: {
          std::string text;
          if (!cbor_read_text(&reader_, value, &text)) {
            return reader_failure(reader_);
          }
          return convert_text(std::move(text), false, t, path, out);
        }
        case CborType::kBytes: {
          std::vector<uint8_t> bytes;
          if (!cbor_read_bytes(&reader_, value, &bytes)) {
            return reader_failure(reader_);
          }
          return convert_bytes(std::move(bytes), t, path, out);
        }
        case CborType::kTrue:
        case CborType::kFalse:
          return convert_bool(value.type == CborType::kTrue, t, path, out);
        default:
          return "unsupported value type at " + path.to_string();
      }
    });
  }
};

CodecResult encode_failure(std::string_view format, const std::string& why,
                           std::vector<uint8_t>* out, size_t original) {
  out->resize(original);
  return CodecResult::error(CoapCode::kInternalServerError, std::string(format) + ": " + why);
}

CodecResult decode_failure(std::string_view format, const std::string& why,
                           std::vector<Record>* out, size_t original) {
  out->erase(out->begin() + static_cast<std::ptrdiff_t>(original), out->end());
  return CodecResult::error(CoapCode::kBadRequest, std::string(format) + ": " + why);
}

constexpr std::string_view kSenmlCborName = "SenML CBOR";
constexpr std::string_view kLwm2mCborName = "LwM2M CBOR";

}  // namespace

CodecResult encode_senml_cbor(const CodecContext& ctx, std::span<const Record> records,
                              std::vector<uint8_t>* out) {
  const size_t original = out->size();
  if (std::string why = check_records(ctx, records); !why.empty()) {
    return encode_failure(kSenmlCborName, why, out, original);
  }
  const int base_depth = ctx.base.depth();
  // Names are relative to bn: "/3/0/" + "6/0" as in the TS examples.
  const std::string base_name = senml_base_name(ctx.base, records);
  CborWriter w(out);
  w.write_array(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    const bool first = i == 0;
    const bool has_name = base_depth == 0 || r.path != ctx.base;
    const bool has_value = !std::holds_alternative<std::monostate>(r.value);
    w.write_map(static_cast<uint64_t>(first && !base_name.empty()) +
                static_cast<uint64_t>(first && ctx.base_time != 0) +
                static_cast<uint64_t>(has_name) + static_cast<uint64_t>(has_value));
    if (first && !base_name.empty()) {
      w.write_int(kLabelBaseName);
      w.write_text(base_name);
    }
    if (first && ctx.base_time != 0) {
      w.write_int(kLabelBaseTime);
      w.write_int(ctx.base_time);
    }
    if (has_name) {
      w.write_int(kLabelName);
      w.write_text(base_depth == 0 ? r.path.to_string() : relative_name(r.path, base_depth));
    }
    write_senml_value(&w, r.value);
  }
  return CodecResult::success();
}

CodecResult decode_senml_cbor(const CodecContext& ctx, std::span<const uint8_t> in,
                              std::vector<Record>* out) {
  const size_t original = out->size();
  SenmlDecoder decoder(ctx, in, out);
  if (std::string why = decoder.run(); !why.empty()) {
    return decode_failure(kSenmlCborName, why, out, original);
  }
  return CodecResult::success();
}

CodecResult encode_lwm2m_cbor(const CodecContext& ctx, std::span<const Record> records,
                              std::vector<uint8_t>* out) {
  const size_t original = out->size();
  if (std::string why = check_records(ctx, records); !why.empty()) {
    return encode_failure(kLwm2mCborName, why, out, original);
  }
  // Records with a common prefix must share one map, so group them by sorting.
  std::vector<size_t> order(records.size());
  for (size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return prefix_first_less(records[a].path, records[b].path);
  });
  for (size_t i = 1; i < order.size(); ++i) {
    const Lwm2mPath& prev = records[order[i - 1]].path;
    const Lwm2mPath& cur = records[order[i]].path;
    if (is_under(cur, prev)) {
      return encode_failure(kLwm2mCborName,
                            prev == cur ? "duplicate record " + cur.to_string()
                                        : "record " + prev.to_string() + " has records below it",
                            out, original);
    }
  }
  CborWriter w(out);
  const int base_depth = ctx.base.depth();
  if (records.empty() || base_depth == 0) {
    Lwm2mCborEncoder(records, std::move(order), &w).write_level(0, records.size(), 0);
    return CodecResult::success();
  }
  // The base path is the single outer key, as an id or an array of ids (TS 1.2 7.4.7).
  w.write_map(1);
  if (base_depth == 1) {
    w.write_uint(ctx.base.object);
  } else {
    w.write_array(static_cast<uint64_t>(base_depth));
    for (int i = 0; i < base_depth; ++i) {
      w.write_uint(path_id(ctx.base, i));
    }
  }
  if (records.size() == 1 && records[0].path == ctx.base) {
    write_lwm2m_value(&w, records[0].value);
  } else {
    Lwm2mCborEncoder(records, std::move(order), &w).write_level(0, records.size(), base_depth);
  }
  return CodecResult::success();
}

CodecResult decode_lwm2m_cbor(const CodecContext& ctx, std::span<const uint8_t> in,
                              std::vector<Record>* out) {
  const size_t original = out->size();
  Lwm2mCborDecoder decoder(ctx, in, out);
  if (std::string why = decoder.run(); !why.empty()) {
    return decode_failure(kLwm2mCborName, why, out, original);
  }
  // The same path reached through different key splits is a duplicate map key in disguise.
  std::vector<Lwm2mPath> paths;
  paths.reserve(out->size() - original);
  for (size_t i = original; i < out->size(); ++i) {
    paths.push_back((*out)[i].path);
  }
  std::sort(paths.begin(), paths.end(), prefix_first_less);
  const auto dup = std::adjacent_find(paths.begin(), paths.end());
  if (dup != paths.end()) {
    return decode_failure(kLwm2mCborName, "duplicate path " + dup->to_string(), out, original);
  }
  return CodecResult::success();
}

}  // namespace lwm2msim
