#include "sim/coap/coap.h"

#include <cstring>

namespace lwm2msim {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kPayloadMarker = 0xff;
constexpr size_t kHeaderSize = 4;
// Nibble values that announce an extended option delta or length (RFC 7252 section 3.1).
constexpr uint8_t kExt8 = 13;
constexpr uint8_t kExt16 = 14;
constexpr uint8_t kReservedNibble = 15;
constexpr uint32_t kExt8Base = 13;
constexpr uint32_t kExt16Base = 269;
constexpr uint32_t kMaxOptionNumber = 0xffff;
// Largest option length the 16-bit extended form can express.
constexpr size_t kMaxOptionLength = kExt16Base + 0xffff;

// Decodes an option delta or length nibble with its extended bytes; false when the nibble is the
// reserved 15 or the extended bytes run past the end.
bool read_extended(uint8_t nibble, std::span<const uint8_t> data, size_t& pos, uint32_t& out) {
  static_assert(kReservedNibble == kExt16 + 1);
  if (nibble < kExt8) {
    out = nibble;
    return true;
  }
  if (nibble == kExt8) {
    if (pos + 1 > data.size()) {
      return false;
    }
    out = kExt8Base + data[pos];
    pos += 1;
    return true;
  }
  if (nibble == kExt16) {
    if (pos + 2 > data.size()) {
      return false;
    }
    out = kExt16Base + ((static_cast<uint32_t>(data[pos]) << 8) | data[pos + 1]);
    pos += 2;
    return true;
  }
  // kReservedNibble: a format error (RFC 7252 3.1).
  return false;
}

// Nibble and extended bytes for an option delta or length.
struct Extended {
  uint8_t nibble = 0;
  std::array<uint8_t, 2> bytes{};
  uint8_t count = 0;
};

Extended encode_extended(uint32_t value) {
  Extended e;
  if (value < kExt8Base) {
    e.nibble = static_cast<uint8_t>(value);
  } else if (value < kExt16Base) {
    e.nibble = kExt8;
    e.bytes[0] = static_cast<uint8_t>(value - kExt8Base);
    e.count = 1;
  } else {
    const uint32_t v = value - kExt16Base;
    e.nibble = kExt16;
    e.bytes[0] = static_cast<uint8_t>(v >> 8);
    e.bytes[1] = static_cast<uint8_t>(v & 0xff);
    e.count = 2;
  }
  return e;
}

bool is_reserved_class(uint8_t code) {
  const uint8_t cls = coap_code_class(code);
  return cls == 1 || cls == 6 || cls == 7;
}

}  // namespace

bool CoapOption::is_known(uint16_t number) {
  switch (number) {
    case kIfMatch:
    case kUriHost:
    case kETag:
    case kIfNoneMatch:
    case kObserve:
    case kUriPort:
    case kLocationPath:
    case kUriPath:
    case kContentFormat:
    case kMaxAge:
    case kUriQuery:
    case kAccept:
    case kLocationQuery:
    case kBlock2:
    case kBlock1:
    case kSize2:
    case kProxyUri:
    case kProxyScheme:
    case kSize1:
      return true;
    default:
      return false;
  }
}

CoapToken CoapToken::from(std::span<const uint8_t> data) {
  CoapToken t;
  // Longer input cannot be a valid token; keep the first 8 bytes rather than overrun.
  t.length = static_cast<uint8_t>(std::min(data.size(), kCoapMaxTokenLength));
  std::copy_n(data.begin(), t.length, t.bytes.begin());
  return t;
}

CoapToken CoapToken::from_u64(uint64_t value, uint8_t length) {
  CoapToken t;
  t.length = static_cast<uint8_t>(std::min<size_t>(length, kCoapMaxTokenLength));
  // Big-endian, low-order bytes of value: as_u64() gives value back modulo 2^(8*length).
  for (size_t i = 0; i < t.length; ++i) {
    t.bytes[t.length - 1 - i] = static_cast<uint8_t>(value >> (8 * i));
  }
  return t;
}

uint64_t CoapToken::as_u64() const {
  uint64_t v = 0;
  for (size_t i = 0; i < length; ++i) {
    v = (v << 8) | bytes[i];
  }
  return v;
}

uint32_t CoapOptionView::as_uint() const {
  // Recipients must accept leading zero bytes (RFC 7252 section 3.2), so skip them before
  // judging the width; anything still wider than 4 bytes saturates to UINT32_MAX so that range
  // checks downstream reject it instead of acting on a truncated value.
  size_t i = 0;
  while (i < value.size() && value[i] == 0) {
    ++i;
  }
  if (value.size() - i > 4) {
    return UINT32_MAX;
  }
  uint32_t v = 0;
  for (; i < value.size(); ++i) {
    v = (v << 8) | value[i];
  }
  return v;
}

int32_t coap_reject_mid(std::span<const uint8_t> datagram, CoapParseError e) {
  // Too short to carry a Message ID, of another protocol version, or cut by the receive buffer:
  // nothing in it can be trusted to address a Reset.
  if (e == CoapParseError::kOk || e == CoapParseError::kBadVersion ||
      e == CoapParseError::kTooLarge || datagram.size() < kHeaderSize) {
    return -1;
  }
  if (static_cast<CoapType>((datagram[0] >> 4) & 0x03) != CoapType::kCon) {
    return -1;
  }
  return (datagram[2] << 8) | datagram[3];
}

CoapScreen coap_screen(std::span<const uint8_t> datagram, CoapMessage* m) {
  CoapScreen s;
  s.error = m->parse(datagram);
  if (s.error != CoapParseError::kOk) {
    s.verdict = CoapVerdict::kMalformed;
    s.reset_mid = coap_reject_mid(datagram, s.error);
  } else if (m->type() == CoapType::kCon && m->is_empty()) {
    s.verdict = CoapVerdict::kPing;
    s.reset_mid = m->message_id();
  } else if (!m->is_request() && !m->is_empty() && m->first_unknown_critical() != 0) {
    // A Confirmable response is rejected; a piggybacked one is ignored, so its request
    // retransmits or times out.
    s.verdict = CoapVerdict::kBadOption;
    if (m->type() == CoapType::kCon) {
      s.reset_mid = m->message_id();
    }
  }
  return s;
}

const char* to_string(CoapParseError e) {
  switch (e) {
    case CoapParseError::kOk:
      return "ok";
    case CoapParseError::kTooShort:
      return "too short";
    case CoapParseError::kBadVersion:
      return "bad version";
    case CoapParseError::kBadTokenLength:
      return "bad token length";
    case CoapParseError::kBadOption:
      return "bad option";
    case CoapParseError::kTooManyOptions:
      return "too many options";
    case CoapParseError::kPayloadMarkerAlone:
      return "payload marker without payload";
    case CoapParseError::kEmptyNotEmpty:
      return "empty message with content";
    case CoapParseError::kReservedClass:
      return "reserved code class";
    case CoapParseError::kTooLarge:
      return "message too large";
  }
  return "unknown";
}

CoapParseError CoapMessage::parse(std::span<const uint8_t> datagram) {
  // A failed parse leaves no views behind, neither from this datagram nor from a previous one.
  auto fail = [this](CoapParseError e) {
    option_count_ = 0;
    token_ = {};
    payload_ = {};
    return e;
  };
  option_count_ = 0;
  token_ = {};
  payload_ = {};

  if (datagram.size() > kCoapMaxMessageSize) {
    return fail(CoapParseError::kTooLarge);
  }
  if (datagram.size() < kHeaderSize) {
    return fail(CoapParseError::kTooShort);
  }
  const uint8_t b0 = datagram[0];
  if ((b0 >> 6) != kVersion) {
    return fail(CoapParseError::kBadVersion);
  }
  const size_t tkl = b0 & 0x0f;
  if (tkl > kCoapMaxTokenLength) {
    return fail(CoapParseError::kBadTokenLength);
  }
  const uint8_t code = datagram[1];
  if (is_reserved_class(code)) {
    return fail(CoapParseError::kReservedClass);
  }
  if (code == CoapCode::kEmpty && (tkl != 0 || datagram.size() != kHeaderSize)) {
    return fail(CoapParseError::kEmptyNotEmpty);
  }
  if (datagram.size() < kHeaderSize + tkl) {
    return fail(CoapParseError::kTooShort);
  }

  type_ = static_cast<CoapType>((b0 >> 4) & 0x03);
  code_ = code;
  message_id_ = static_cast<uint16_t>((datagram[2] << 8) | datagram[3]);
  token_ = datagram.subspan(kHeaderSize, tkl);

  size_t pos = kHeaderSize + tkl;
  uint32_t number = 0;
  while (pos < datagram.size()) {
    const uint8_t b = datagram[pos++];
    if (b == kPayloadMarker) {
      if (pos == datagram.size()) {
        return fail(CoapParseError::kPayloadMarkerAlone);
      }
      payload_ = datagram.subspan(pos);
      break;
    }
    uint32_t delta = 0;
    uint32_t length = 0;
    if (!read_extended(b >> 4, datagram, pos, delta) ||
        !read_extended(b & 0x0f, datagram, pos, length)) {
      return fail(CoapParseError::kBadOption);
    }
    number += delta;
    if (number > kMaxOptionNumber || length > datagram.size() - pos) {
      return fail(CoapParseError::kBadOption);
    }
    if (option_count_ == kMaxOptions) {
      return fail(CoapParseError::kTooManyOptions);
    }
    options_[option_count_++] =
        CoapOptionView{static_cast<uint16_t>(number), datagram.subspan(pos, length)};
    pos += length;
  }
  return CoapParseError::kOk;
}

const CoapOptionView* CoapMessage::find(uint16_t number) const {
  for (const auto& o : options()) {
    if (o.number == number) {
      return &o;
    }
    // Options are stored in number order, so nothing further can match.
    if (o.number > number) {
      break;
    }
  }
  return nullptr;
}

size_t CoapMessage::count(uint16_t number) const {
  size_t n = 0;
  for (const auto& o : options()) {
    if (o.number == number) {
      ++n;
    }
  }
  return n;
}

uint16_t CoapMessage::first_unknown_critical() const {
  for (const auto& o : options()) {
    if (CoapOption::is_critical(o.number) && !CoapOption::is_known(o.number)) {
      return o.number;
    }
  }
  return 0;
}

std::string_view CoapMessage::join(uint16_t number, std::span<char> out, bool* ok) const {
  size_t pos = 0;
  bool first = true;
  for (const auto& o : options()) {
    if (o.number != number) {
      continue;
    }
    const size_t need = o.value.size() + (first ? 0 : 1);
    if (need > out.size() - pos) {
      if (ok != nullptr) {
        *ok = false;
      }
      return {};
    }
    if (!first) {
      out[pos++] = '/';
    }
    std::copy(o.value.begin(), o.value.end(), out.begin() + static_cast<ptrdiff_t>(pos));
    pos += o.value.size();
    first = false;
  }
  if (ok != nullptr) {
    *ok = true;
  }
  return {out.data(), pos};
}

bool CoapWriter::put(std::span<const uint8_t> bytes) {
  if (!ok_ || bytes.size() > buf_.size() - pos_) {
    ok_ = false;
    return false;
  }
  if (!bytes.empty()) {
    std::memcpy(buf_.data() + pos_, bytes.data(), bytes.size());
  }
  pos_ += bytes.size();
  return true;
}

bool CoapWriter::put_byte(uint8_t b) {
  if (!ok_ || pos_ >= buf_.size()) {
    ok_ = false;
    return false;
  }
  buf_[pos_++] = b;
  return true;
}

CoapWriter& CoapWriter::header(CoapType type, uint8_t code, uint16_t message_id,
                               std::span<const uint8_t> token) {
  // Refuse headers that parse() would reject: one header, first, a valid token, no reserved
  // class, and an Empty message carries no token (RFC 7252 section 4.1).
  if (has_header_ || pos_ != 0 || token.size() > kCoapMaxTokenLength || is_reserved_class(code) ||
      (code == CoapCode::kEmpty && !token.empty())) {
    ok_ = false;
    return *this;
  }
  has_header_ = true;
  const uint8_t b0 =
      static_cast<uint8_t>((kVersion << 6) | (static_cast<uint8_t>(type) << 4) | token.size());
  const std::array<uint8_t, kHeaderSize> head = {b0, code, static_cast<uint8_t>(message_id >> 8),
                                                 static_cast<uint8_t>(message_id & 0xff)};
  put(head);
  put(token);
  return *this;
}

CoapWriter& CoapWriter::option(uint16_t number, std::span<const uint8_t> value) {
  // ok_ && has_header_ guarantees the header bytes are in buf_; an Empty message takes no options.
  if (!ok_ || !has_header_ || has_payload_ || buf_[1] == CoapCode::kEmpty ||
      number < last_option_ || value.size() > kMaxOptionLength) {
    ok_ = false;
    return *this;
  }
  const Extended delta = encode_extended(number - last_option_);
  const Extended length = encode_extended(static_cast<uint32_t>(value.size()));
  // The option head is at most 5 bytes; assembling it locally costs one bounds check and one copy.
  std::array<uint8_t, 5> head{};
  size_t n = 0;
  head[n++] = static_cast<uint8_t>((delta.nibble << 4) | length.nibble);
  for (size_t i = 0; i < delta.count; ++i) {
    head[n++] = delta.bytes[i];
  }
  for (size_t i = 0; i < length.count; ++i) {
    head[n++] = length.bytes[i];
  }
  if (n + value.size() > buf_.size() - pos_) {
    ok_ = false;
    return *this;
  }
  std::copy_n(head.begin(), n, buf_.begin() + static_cast<ptrdiff_t>(pos_));
  pos_ += n;
  put(value);
  last_option_ = number;
  return *this;
}

CoapWriter& CoapWriter::option(uint16_t number, std::string_view value) {
  return option(number, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()),
                                                 value.size()));
}

CoapWriter& CoapWriter::option_uint(uint16_t number, uint32_t value) {
  const std::array<uint8_t, 4> bytes = {
      static_cast<uint8_t>(value >> 24), static_cast<uint8_t>(value >> 16),
      static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
  size_t skip = 0;
  while (skip < bytes.size() && bytes[skip] == 0) {
    ++skip;
  }
  return option(number, std::span<const uint8_t>(bytes).subspan(skip));
}

CoapWriter& CoapWriter::option_path(uint16_t number, std::string_view path, char separator) {
  // RFC 7252 section 6.4 steps 8-9: one leading separator is dropped, an empty remainder adds no
  // option, and every other segment (including empty ones) becomes an option.
  if (!path.empty() && path.front() == separator) {
    path.remove_prefix(1);
  }
  if (path.empty()) {
    return *this;
  }
  while (true) {
    const size_t cut = path.find(separator);
    option(number, path.substr(0, cut));
    if (cut == std::string_view::npos) {
      break;
    }
    path.remove_prefix(cut + 1);
  }
  return *this;
}

CoapWriter& CoapWriter::payload(std::span<const uint8_t> data) {
  if (!ok_ || !has_header_ || has_payload_ || (buf_[1] == CoapCode::kEmpty && !data.empty())) {
    ok_ = false;
    return *this;
  }
  // A marker with nothing after it is a format error, so an empty payload writes nothing.
  if (data.empty()) {
    return *this;
  }
  has_payload_ = true;
  put_byte(kPayloadMarker);
  put(data);
  return *this;
}

CoapWriter& CoapWriter::payload(std::string_view data) {
  return payload(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

std::span<const uint8_t> coap_write_empty(std::span<uint8_t> out, CoapType type,
                                          uint16_t message_id) {
  if (out.size() < kHeaderSize) {
    return {};
  }
  out[0] = static_cast<uint8_t>((kVersion << 6) | (static_cast<uint8_t>(type) << 4));
  out[1] = CoapCode::kEmpty;
  out[2] = static_cast<uint8_t>(message_id >> 8);
  out[3] = static_cast<uint8_t>(message_id & 0xff);
  return out.first(kHeaderSize);
}

}  // namespace lwm2msim
