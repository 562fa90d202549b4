// cbor_codec: a small, strict RFC 8949 CBOR reader and writer for the CBOR content formats.
// The reader is a pull parser over a span that never allocates and never reads past the span:
// every declared length and count is checked against the bytes left, and nesting is bounded.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lwm2msim {

enum class CborError : uint8_t {
  kNone,
  kTruncated,      // the input ends inside an item
  kBadLength,      // a declared length or count exceeds the bytes left
  kMalformed,      // reserved additional info, misplaced break, bad string chunk, ...
  kTooDeep,        // nesting beyond CborReader::kMaxDepth
  kInvalidUtf8,    // a text string that is not UTF-8
  kNoMoreItems,    // next() past the end of a container, or leave() at top level
  kTrailingBytes,  // cbor_validate(): input left after the item
};
std::string_view to_string(CborError e);

enum class CborType : uint8_t {
  kUnsigned,
  kNegative,
  kBytes,
  kText,
  kArray,
  kMap,
  kTag,
  kFalse,
  kTrue,
  kNull,
  kUndefined,
  kSimple,  // an unassigned simple value
  kFloat,
};

struct CborItem {
  CborType type = CborType::kUndefined;
  // kUnsigned: the value; kNegative: n for the value -1 - n (so all of -2^64..-1 fits);
  // kTag: the tag number; kSimple: the simple value; kArray: the element count; kMap: the pair
  // count; kBytes/kText: the length. Counts and lengths are 0 when `indefinite`.
  uint64_t arg = 0;
  // kFloat: the value, and how many bytes encoded it (2, 4 or 8).
  double number = 0;
  uint8_t float_size = 0;
  bool indefinite = false;
  // kBytes/kText of definite length: the content, pointing into the reader's input.
  std::span<const uint8_t> data;

  bool is_integer() const { return type == CborType::kUnsigned || type == CborType::kNegative; }
  // False when the item is not an integer or does not fit.
  bool to_int64(int64_t* out) const;
  std::string_view text() const {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
  }
  // Arrays, maps and indefinite-length strings are entered by next(); leave() exits them.
  bool opens_container() const {
    return type == CborType::kArray || type == CborType::kMap ||
           ((type == CborType::kBytes || type == CborType::kText) && indefinite);
  }
};

// Pull parser. Usage: next() an array or map, then `while (has_next()) next(...)`, then leave().
// Errors are sticky: after the first one every call returns false and error() tells why.
class CborReader {
 public:
  static constexpr int kMaxDepth = 16;
  static constexpr uint64_t kNoTag = UINT64_MAX;

  explicit CborReader(std::span<const uint8_t> in) : in_(in) {}

  // Whether the innermost open container (or, at top level, the input) has another item. False
  // at its end: then call leave().
  bool has_next();
  // Reads the next item. A tag is an item of its own, followed by the tagged item.
  bool next(CborItem* item);
  // Like next(), but consumes any tags first; *tag gets the innermost one, or kNoTag.
  bool next_untagged(CborItem* item, uint64_t* tag);
  // Skips what is left of the innermost open container and exits it.
  bool leave();
  // Skips one whole item, tags and content included.
  bool skip();

  int depth() const { return depth_; }
  size_t offset() const { return pos_; }
  // At top level with the whole input consumed and no error.
  bool at_end() const {
    return error_ == CborError::kNone && depth_ == 0 && !tag_pending_ && pos_ == in_.size();
  }
  CborError error() const { return error_; }
  bool ok() const { return error_ == CborError::kNone; }

 private:
  enum class FrameKind : uint8_t { kArray, kMap, kBytes, kText };
  struct Frame {
    uint64_t remaining = 0;  // items left when definite
    uint64_t seen = 0;       // items read when indefinite (a map's break needs an even count)
    FrameKind kind = FrameKind::kArray;
    bool indefinite = false;
  };

  bool fail(CborError e);
  bool push(FrameKind kind, bool indefinite, uint64_t items);
  bool read_argument(uint8_t info, uint64_t* out);

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  std::array<Frame, kMaxDepth> frames_{};
  int depth_ = 0;
  bool tag_pending_ = false;
  CborError error_ = CborError::kNone;
};

// Reads a text or byte string item just returned by next() (definite or indefinite), appending
// its content to *out. Growth is bounded by the input's size.
bool cbor_read_text(CborReader* reader, const CborItem& item, std::string* out);
bool cbor_read_bytes(CborReader* reader, const CborItem& item, std::vector<uint8_t>* out);
// Checks that `in` is exactly one well-formed CBOR item.
CborError cbor_validate(std::span<const uint8_t> in);
bool is_valid_utf8(std::string_view s);

// Appends CBOR to a byte vector. Heads always use the shortest argument encoding and floats the
// shortest width that keeps the value (RFC 8949 section 4.2.2 preferred serialization).
class CborWriter {
 public:
  explicit CborWriter(std::vector<uint8_t>* out) : out_(out) {}

  void write_uint(uint64_t v);
  void write_int(int64_t v);
  // The value -1 - n, reaching down to -2^64.
  void write_negative(uint64_t n);
  void write_bytes(std::span<const uint8_t> bytes);
  // Callers pass UTF-8.
  void write_text(std::string_view text);
  void write_array(uint64_t count);
  void write_map(uint64_t pairs);
  // Indefinite-length containers and strings; close each with write_break().
  void begin_array();
  void begin_map();
  void begin_bytes();
  void begin_text();
  void write_break();
  void write_tag(uint64_t tag);
  void write_bool(bool v);
  void write_null();
  void write_undefined();
  // False (nothing written) for 24..31, which have no valid encoding.
  bool write_simple(uint8_t v);
  // Half, single or double: the shortest that represents v exactly; every NaN becomes 0xf97e00.
  void write_float(double v);

 private:
  void write_head(uint8_t major, uint64_t argument);

  std::vector<uint8_t>* out_;
};

}  // namespace lwm2msim
