#include "sim/format/cbor_codec.h"

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>

namespace lwm2msim {
namespace {

constexpr uint8_t kMajorUnsigned = 0;
constexpr uint8_t kMajorNegative = 1;
constexpr uint8_t kMajorBytes = 2;
constexpr uint8_t kMajorText = 3;
constexpr uint8_t kMajorArray = 4;
constexpr uint8_t kMajorMap = 5;
constexpr uint8_t kMajorTag = 6;
constexpr uint8_t kMajorSimple = 7;
constexpr uint8_t kIndefinite = 31;
constexpr uint8_t kBreak = 0xff;

double half_to_double(uint16_t h) {
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  double v = 0;
  if (exponent == 0) {
    v = std::ldexp(mantissa, -24);
  } else if (exponent != 31) {
    v = std::ldexp(mantissa + 1024, exponent - 25);
  } else {
    v = mantissa == 0 ? HUGE_VAL : std::nan("");
  }
  return (h & 0x8000) != 0 ? -v : v;
}

// The binary16 encoding of a finite v, when it has one that is exact.
bool double_to_half(double v, uint16_t* bits) {
  const uint16_t sign = std::signbit(v) ? 0x8000 : 0;
  const double a = std::fabs(v);
  if (a == 0) {
    *bits = sign;
    return true;
  }
  if (a > 65504.0 || a < std::ldexp(1.0, -24)) {
    return false;
  }
  int e = 0;
  std::frexp(a, &e);
  const int exponent = e - 1;  // a = 1.f * 2^exponent
  if (exponent >= -14) {
    const double scaled = std::ldexp(a, 10 - exponent);  // in [1024, 2048)
    if (scaled != std::floor(scaled)) {
      return false;
    }
    *bits = static_cast<uint16_t>(sign | ((exponent + 15) << 10) |
                                  (static_cast<uint16_t>(scaled) - 1024));
  } else {
    const double scaled = std::ldexp(a, 24);  // subnormal: multiples of 2^-24
    if (scaled != std::floor(scaled)) {
      return false;
    }
    *bits = static_cast<uint16_t>(sign | static_cast<uint16_t>(scaled));
  }
  return true;
}

uint64_t read_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

}  // namespace

std::string_view to_string(CborError e) {
  switch (e) {
    case CborError::kNone:
      return "no error";
    case CborError::kTruncated:
      return "truncated input";
    case CborError::kBadLength:
      return "length exceeds the input";
    case CborError::kMalformed:
      return "malformed item";
    case CborError::kTooDeep:
      return "nesting too deep";
    case CborError::kInvalidUtf8:
      return "text string is not UTF-8";
    case CborError::kNoMoreItems:
      return "no more items";
    case CborError::kTrailingBytes:
      return "bytes after the item";
  }
  return "unknown error";
}

bool CborItem::to_int64(int64_t* out) const {
  if (arg > static_cast<uint64_t>(INT64_MAX)) {
    return false;
  }
  if (type == CborType::kUnsigned) {
    *out = static_cast<int64_t>(arg);
    return true;
  }
  if (type == CborType::kNegative) {
    *out = -1 - static_cast<int64_t>(arg);
    return true;
  }
  return false;
}

bool CborReader::fail(CborError e) {
  if (error_ == CborError::kNone) {
    error_ = e;
  }
  return false;
}

bool CborReader::push(FrameKind kind, bool indefinite, uint64_t items) {
  if (depth_ == kMaxDepth) {
    return fail(CborError::kTooDeep);
  }
  frames_[static_cast<size_t>(depth_++)] = Frame{items, 0, kind, indefinite};
  return true;
}

bool CborReader::read_argument(uint8_t info, uint64_t* out) {
  if (info < 24) {
    *out = info;
    return true;
  }
  if (info > 27) {
    return fail(CborError::kMalformed);
  }
  const size_t n = size_t{1} << (info - 24);
  if (in_.size() - pos_ < n) {
    return fail(CborError::kTruncated);
  }
  *out = read_be(in_.data() + pos_, n);
  pos_ += n;
  return true;
}

bool CborReader::has_next() {
  if (error_ != CborError::kNone) {
    return false;
  }
  if (tag_pending_) {
    return true;
  }
  if (depth_ == 0) {
    return pos_ < in_.size();
  }
  const Frame& f = frames_[static_cast<size_t>(depth_ - 1)];
  if (!f.indefinite) {
    return f.remaining > 0;
  }
  if (pos_ >= in_.size()) {
    return fail(CborError::kTruncated);
  }
  return in_[pos_] != kBreak;
}

bool CborReader::next(CborItem* item) {
  if (error_ != CborError::kNone) {
    return false;
  }
  Frame* frame = depth_ > 0 ? &frames_[static_cast<size_t>(depth_ - 1)] : nullptr;
  // A tagged item fills the slot its tag took; only untagged heads count against the container.
  const bool in_chunks =
      frame != nullptr && (frame->kind == FrameKind::kBytes || frame->kind == FrameKind::kText);
  if (!tag_pending_) {
    if (frame == nullptr) {
      if (pos_ >= in_.size()) {
        return fail(CborError::kTruncated);
      }
    } else if (frame->indefinite) {
      if (pos_ >= in_.size()) {
        return fail(CborError::kTruncated);
      }
      if (in_[pos_] == kBreak) {
        return fail(CborError::kNoMoreItems);
      }
      ++frame->seen;
    } else {
      if (frame->remaining == 0) {
        return fail(CborError::kNoMoreItems);
      }
      --frame->remaining;
    }
  }
  tag_pending_ = false;
  if (pos_ >= in_.size()) {
    return fail(CborError::kTruncated);
  }
  const uint8_t initial = in_[pos_++];
  const uint8_t major = initial >> 5;
  const uint8_t info = initial & 0x1f;
  *item = CborItem{};
  if (in_chunks) {
    // RFC 8949 section 3.2.3: chunks are definite strings of the enclosing string's type.
    const uint8_t want = frame->kind == FrameKind::kBytes ? kMajorBytes : kMajorText;
    if (major != want || info == kIndefinite) {
      return fail(CborError::kMalformed);
    }
  }
  switch (major) {
    case kMajorUnsigned:
    case kMajorNegative:
      item->type = major == kMajorUnsigned ? CborType::kUnsigned : CborType::kNegative;
      return read_argument(info, &item->arg);
    case kMajorBytes:
    case kMajorText: {
      const bool text = major == kMajorText;
      item->type = text ? CborType::kText : CborType::kBytes;
      if (info == kIndefinite) {
        item->indefinite = true;
        return push(text ? FrameKind::kText : FrameKind::kBytes, true, 0);
      }
      if (!read_argument(info, &item->arg)) {
        return false;
      }
      if (item->arg > in_.size() - pos_) {
        return fail(CborError::kBadLength);
      }
      item->data = in_.subspan(pos_, static_cast<size_t>(item->arg));
      pos_ += static_cast<size_t>(item->arg);
      if (text && !is_valid_utf8(item->text())) {
        return fail(CborError::kInvalidUtf8);
      }
      return true;
    }
    case kMajorArray:
    case kMajorMap: {
      const bool map = major == kMajorMap;
      item->type = map ? CborType::kMap : CborType::kArray;
      const FrameKind kind = map ? FrameKind::kMap : FrameKind::kArray;
      if (info == kIndefinite) {
        item->indefinite = true;
        return push(kind, true, 0);
      }
      if (!read_argument(info, &item->arg)) {
        return false;
      }
      // Every item takes at least one byte, which bounds any honest count by the input left.
      const uint64_t left = in_.size() - pos_;
      if (item->arg > (map ? left / 2 : left)) {
        return fail(CborError::kBadLength);
      }
      return push(kind, false, map ? item->arg * 2 : item->arg);
    }
    case kMajorTag:
      item->type = CborType::kTag;
      if (info == kIndefinite || !read_argument(info, &item->arg)) {
        return fail(CborError::kMalformed);
      }
      tag_pending_ = true;
      return true;
    default:
      break;
  }
  // Major type 7.
  switch (info) {
    case 20:
      item->type = CborType::kFalse;
      return true;
    case 21:
      item->type = CborType::kTrue;
      return true;
    case 22:
      item->type = CborType::kNull;
      return true;
    case 23:
      item->type = CborType::kUndefined;
      return true;
    case 24:
      if (!read_argument(info, &item->arg)) {
        return false;
      }
      // Two-byte forms of values below 32 are not well-formed (RFC 8949 section 3.3).
      if (item->arg < 32) {
        return fail(CborError::kMalformed);
      }
      item->type = CborType::kSimple;
      return true;
    case 25:
    case 26:
    case 27: {
      uint64_t bits = 0;
      if (!read_argument(info, &bits)) {
        return false;
      }
      item->type = CborType::kFloat;
      if (info == 25) {
        item->float_size = 2;
        item->number = half_to_double(static_cast<uint16_t>(bits));
      } else if (info == 26) {
        item->float_size = 4;
        item->number = std::bit_cast<float>(static_cast<uint32_t>(bits));
      } else {
        item->float_size = 8;
        item->number = std::bit_cast<double>(bits);
      }
      return true;
    }
    default:
      break;
  }
  if (info < 20) {
    item->type = CborType::kSimple;
    item->arg = info;
    return true;
  }
  // 28-30 are reserved; a break (31) here is outside any indefinite-length item.
  return fail(CborError::kMalformed);
}

bool CborReader::next_untagged(CborItem* item, uint64_t* tag) {
  *tag = kNoTag;
  while (next(item)) {
    if (item->type != CborType::kTag) {
      return true;
    }
    *tag = item->arg;
  }
  return false;
}

bool CborReader::leave() {
  if (error_ != CborError::kNone) {
    return false;
  }
  if (depth_ == 0) {
    return fail(CborError::kNoMoreItems);
  }
  while (has_next()) {
    if (!skip()) {
      return false;
    }
  }
  if (error_ != CborError::kNone) {
    return false;
  }
  const Frame& f = frames_[static_cast<size_t>(depth_ - 1)];
  if (f.indefinite) {
    // has_next() stopped at the break.
    if (f.kind == FrameKind::kMap && f.seen % 2 != 0) {
      return fail(CborError::kMalformed);
    }
    ++pos_;
  }
  --depth_;
  return true;
}

bool CborReader::skip() {
  CborItem item;
  uint64_t tag = kNoTag;
  if (!next_untagged(&item, &tag)) {
    return false;
  }
  return item.opens_container() ? leave() : true;
}

bool cbor_read_text(CborReader* reader, const CborItem& item, std::string* out) {
  if (item.type != CborType::kText) {
    return false;
  }
  if (!item.indefinite) {
    out->append(item.text());
    return true;
  }
  CborItem chunk;
  while (reader->has_next()) {
    if (!reader->next(&chunk)) {
      return false;
    }
    out->append(chunk.text());
  }
  // Chunks are validated one by one; a code point split across chunks fails there.
  return reader->leave();
}

bool cbor_read_bytes(CborReader* reader, const CborItem& item, std::vector<uint8_t>* out) {
  if (item.type != CborType::kBytes) {
    return false;
  }
  if (!item.indefinite) {
    out->insert(out->end(), item.data.begin(), item.data.end());
    return true;
  }
  CborItem chunk;
  while (reader->has_next()) {
    if (!reader->next(&chunk)) {
      return false;
    }
    out->insert(out->end(), chunk.data.begin(), chunk.data.end());
  }
  return reader->leave();
}

CborError cbor_validate(std::span<const uint8_t> in) {
  CborReader reader(in);
  if (!reader.skip()) {
    return reader.error();
  }
  return reader.at_end() ? CborError::kNone : CborError::kTrailingBytes;
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint8_t lo = 0x80;
    uint8_t hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      // No overlong forms, no UTF-16 surrogates.
      lo = c == 0xe0 ? 0xa0 : 0x80;
      hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      // No overlong forms, nothing above U+10FFFF.
      lo = c == 0xf0 ? 0x90 : 0x80;
      hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
      return false;
    }
    if (s.size() - i <= n) {
      return false;
    }
    const auto c1 = static_cast<uint8_t>(s[i + 1]);
    if (c1 < lo || c1 > hi) {
      return false;
    }
    for (size_t k = 2; k <= n; ++k) {
      const auto ck = static_cast<uint8_t>(s[i + k]);
      if (ck < 0x80 || ck > 0xbf) {
        return false;
      }
    }
    i += n + 1;
  }
  return true;
}

void CborWriter::write_head(uint8_t major, uint64_t argument) {
  const auto initial = static_cast<uint8_t>(major << 5);
  if (argument < 24) {
    out_->push_back(static_cast<uint8_t>(initial | argument));
    return;
  }
  size_t n = 8;
  uint8_t info = 27;
  if (argument <= 0xff) {
    n = 1;
    info = 24;
  } else if (argument <= 0xffff) {
    n = 2;
    info = 25;
  } else if (argument <= 0xffffffff) {
    n = 4;
    info = 26;
  }
  out_->push_back(static_cast<uint8_t>(initial | info));
  for (size_t i = n; i-- > 0;) {
    out_->push_back(static_cast<uint8_t>(argument >> (8 * i)));
  }
}

void CborWriter::write_uint(uint64_t v) {
  write_head(kMajorUnsigned, v);
}

void CborWriter::write_int(int64_t v) {
  if (v >= 0) {
    write_head(kMajorUnsigned, static_cast<uint64_t>(v));
  } else {
    // -1 - v without overflow, also for INT64_MIN.
    write_head(kMajorNegative, ~static_cast<uint64_t>(v));
  }
}

void CborWriter::write_negative(uint64_t n) {
  write_head(kMajorNegative, n);
}

void CborWriter::write_bytes(std::span<const uint8_t> bytes) {
  write_head(kMajorBytes, bytes.size());
  out_->insert(out_->end(), bytes.begin(), bytes.end());
}

void CborWriter::write_text(std::string_view text) {
  write_head(kMajorText, text.size());
  out_->insert(out_->end(), text.begin(), text.end());
}

void CborWriter::write_array(uint64_t count) {
  write_head(kMajorArray, count);
}

void CborWriter::write_map(uint64_t pairs) {
  write_head(kMajorMap, pairs);
}

void CborWriter::begin_array() {
  out_->push_back((kMajorArray << 5) | kIndefinite);
}

void CborWriter::begin_map() {
  out_->push_back((kMajorMap << 5) | kIndefinite);
}

void CborWriter::begin_bytes() {
  out_->push_back((kMajorBytes << 5) | kIndefinite);
}

void CborWriter::begin_text() {
  out_->push_back((kMajorText << 5) | kIndefinite);
}

void CborWriter::write_break() {
  out_->push_back(kBreak);
}

void CborWriter::write_tag(uint64_t tag) {
  write_head(kMajorTag, tag);
}

void CborWriter::write_bool(bool v) {
  out_->push_back(v ? 0xf5 : 0xf4);
}

void CborWriter::write_null() {
  out_->push_back(0xf6);
}

void CborWriter::write_undefined() {
  out_->push_back(0xf7);
}

bool CborWriter::write_simple(uint8_t v) {
  if (v >= 24 && v < 32) {
    return false;
  }
  write_head(kMajorSimple, v);
  return true;
}

void CborWriter::write_float(double v) {
  uint16_t half = 0;
  if (std::isnan(v)) {
    half = 0x7e00;
  } else if (std::isinf(v)) {
    half = v < 0 ? 0xfc00 : 0x7c00;
  } else if (!double_to_half(v, &half)) {
    // The range check keeps the narrowing conversion defined.
    if (std::fabs(v) <= FLT_MAX && static_cast<double>(static_cast<float>(v)) == v) {
      const auto bits = std::bit_cast<uint32_t>(static_cast<float>(v));
      out_->push_back(0xfa);
      for (int i = 3; i >= 0; --i) {
        out_->push_back(static_cast<uint8_t>(bits >> (8 * i)));
      }
      return;
    }
    const auto bits = std::bit_cast<uint64_t>(v);
    out_->push_back(0xfb);
    for (int i = 7; i >= 0; --i) {
      out_->push_back(static_cast<uint8_t>(bits >> (8 * i)));
    }
    return;
  }
  out_->push_back(0xf9);
  out_->push_back(static_cast<uint8_t>(half >> 8));
  out_->push_back(static_cast<uint8_t>(half));
}

}  // namespace lwm2msim
