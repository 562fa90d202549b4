// coap: RFC 7252 message codec (zero-copy parse, in-place build) and message-layer helpers
// (retransmission schedule, duplicate detection). No heap allocation per message.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace lwm2msim {

enum class CoapType : uint8_t { kCon = 0, kNon = 1, kAck = 2, kRst = 3 };

// Codes are class << 5 | detail (RFC 7252 section 3).
constexpr uint8_t coap_code(uint8_t cls, uint8_t detail) {
  return static_cast<uint8_t>((cls << 5) | detail);
}
constexpr uint8_t coap_code_class(uint8_t code) {
  return code >> 5;
}
constexpr uint8_t coap_code_detail(uint8_t code) {
  return code & 0x1f;
}

struct CoapCode {
  static constexpr uint8_t kEmpty = 0;
  static constexpr uint8_t kGet = 1;
  static constexpr uint8_t kPost = 2;
  static constexpr uint8_t kPut = 3;
  static constexpr uint8_t kDelete = 4;
  static constexpr uint8_t kFetch = 5;
  static constexpr uint8_t kPatch = 6;
  static constexpr uint8_t kIPatch = 7;
  static constexpr uint8_t kCreated = coap_code(2, 1);
  static constexpr uint8_t kDeleted = coap_code(2, 2);
  static constexpr uint8_t kValid = coap_code(2, 3);
  static constexpr uint8_t kChanged = coap_code(2, 4);
  static constexpr uint8_t kContent = coap_code(2, 5);
  static constexpr uint8_t kContinue = coap_code(2, 31);
  static constexpr uint8_t kBadRequest = coap_code(4, 0);
  static constexpr uint8_t kUnauthorized = coap_code(4, 1);
  static constexpr uint8_t kBadOption = coap_code(4, 2);
  static constexpr uint8_t kForbidden = coap_code(4, 3);
  static constexpr uint8_t kNotFound = coap_code(4, 4);
  static constexpr uint8_t kMethodNotAllowed = coap_code(4, 5);
  static constexpr uint8_t kNotAcceptable = coap_code(4, 6);
  static constexpr uint8_t kRequestEntityIncomplete = coap_code(4, 8);
  static constexpr uint8_t kPreconditionFailed = coap_code(4, 12);
  static constexpr uint8_t kRequestEntityTooLarge = coap_code(4, 13);
  static constexpr uint8_t kUnsupportedContentFormat = coap_code(4, 15);
  static constexpr uint8_t kInternalServerError = coap_code(5, 0);
  static constexpr uint8_t kNotImplemented = coap_code(5, 1);
  static constexpr uint8_t kServiceUnavailable = coap_code(5, 3);
};

// Option numbers (RFC 7252 section 5.10, RFC 7641, RFC 7959).
struct CoapOption {
  static constexpr uint16_t kIfMatch = 1;
  static constexpr uint16_t kUriHost = 3;
  static constexpr uint16_t kETag = 4;
  static constexpr uint16_t kIfNoneMatch = 5;
  static constexpr uint16_t kObserve = 6;
  static constexpr uint16_t kUriPort = 7;
  static constexpr uint16_t kLocationPath = 8;
  static constexpr uint16_t kUriPath = 11;
  static constexpr uint16_t kContentFormat = 12;
  static constexpr uint16_t kMaxAge = 14;
  static constexpr uint16_t kUriQuery = 15;
  static constexpr uint16_t kAccept = 17;
  static constexpr uint16_t kLocationQuery = 20;
  static constexpr uint16_t kBlock2 = 23;
  static constexpr uint16_t kBlock1 = 27;
  static constexpr uint16_t kSize2 = 28;
  static constexpr uint16_t kProxyUri = 35;
  static constexpr uint16_t kProxyScheme = 39;
  static constexpr uint16_t kSize1 = 60;

  // Odd option numbers are critical (RFC 7252 section 5.4.1).
  static constexpr bool is_critical(uint16_t number) { return (number & 1) != 0; }
  // Options this codebase understands; an unknown critical option in a request earns 4.02.
  static bool is_known(uint16_t number);
};

struct CoapContentFormat {
  static constexpr uint16_t kTextPlain = 0;
  static constexpr uint16_t kLinkFormat = 40;
  static constexpr uint16_t kOctetStream = 42;
  static constexpr uint16_t kSenmlJson = 110;
  static constexpr uint16_t kSenmlCbor = 112;
  static constexpr uint16_t kLwm2mTlv = 11542;
  static constexpr uint16_t kLwm2mJson = 11543;
  static constexpr uint16_t kLwm2mCbor = 11544;
};

constexpr size_t kCoapMaxTokenLength = 8;
// Largest datagram the engine builds or accepts (RFC 7252 section 4.6 suggests 1152 bytes of
// message; block-wise transfer covers anything larger).
constexpr size_t kCoapMaxMessageSize = 1280;

struct CoapToken {
  std::array<uint8_t, kCoapMaxTokenLength> bytes{};
  uint8_t length = 0;

  std::span<const uint8_t> view() const { return {bytes.data(), length}; }
  static CoapToken from(std::span<const uint8_t> data);
  static CoapToken from_u64(uint64_t value, uint8_t length);
  uint64_t as_u64() const;
  friend bool operator==(const CoapToken& a, const CoapToken& b) {
    return a.length == b.length && a.view().size() == b.view().size() &&
           std::equal(a.bytes.begin(), a.bytes.begin() + a.length, b.bytes.begin());
  }
};

struct CoapOptionView {
  uint16_t number = 0;
  std::span<const uint8_t> value;

  // Unsigned integer option value (big-endian, up to 4 bytes; RFC 7252 section 3.2). Leading zero
  // bytes are skipped; a value still wider than 4 bytes returns UINT32_MAX.
  uint32_t as_uint() const;
  std::string_view as_string() const {
    return {reinterpret_cast<const char*>(value.data()), value.size()};
  }
};

enum class CoapParseError : uint8_t {
  kOk = 0,
  kTooShort,            // fewer than 4 bytes, or fewer than the header announces
  kBadVersion,          // version is not 1
  kBadTokenLength,      // TKL 9-15
  kBadOption,           // reserved nibble 15 in delta/length, or option runs past the end
  kTooManyOptions,      // more than CoapMessage::kMaxOptions
  kPayloadMarkerAlone,  // 0xFF followed by nothing
  kEmptyNotEmpty,       // code 0.00 with token, options or payload (section 4.1)
  kReservedClass,       // code class 1, 6 or 7 (section 12.1)
  kTooLarge,            // datagram above kCoapMaxMessageSize
};
const char* to_string(CoapParseError e);
constexpr size_t kCoapParseErrorCount = static_cast<size_t>(CoapParseError::kTooLarge) + 1;

// RFC 7252 4.2: a Confirmable message the receiver cannot process is rejected with a Reset that
// carries its Message ID; anything else unusable is dropped silently (4.3, and 3 for an unknown
// version). The Message ID to reset for a datagram whose parse failed with `e`, or -1 to drop it.
int32_t coap_reject_mid(std::span<const uint8_t> datagram, CoapParseError e);

class CoapMessage;

// What a receiver does with a datagram before acting on it (RFC 7252 4.2, 4.3, 5.4.1).
enum class CoapVerdict : uint8_t {
  kAccept,     // parsed: act on it
  kMalformed,  // failed to parse (`error` says why)
  kPing,       // an empty Confirmable message
  kBadOption,  // a response with an unrecognised critical option
};
struct CoapScreen {
  CoapVerdict verdict = CoapVerdict::kAccept;
  CoapParseError error = CoapParseError::kOk;
  int32_t reset_mid = -1;  // >= 0: answer with a Reset carrying this Message ID
};
// Parses `datagram` into `*m` and screens it. A request with an unknown critical option is
// accepted: its answer (4.02) is the request handler's.
CoapScreen coap_screen(std::span<const uint8_t> datagram, CoapMessage* m);

// A parsed message: views into the datagram it was parsed from, which must outlive it.
class CoapMessage {
 public:
  static constexpr size_t kMaxOptions = 32;

  CoapParseError parse(std::span<const uint8_t> datagram);

  CoapType type() const { return type_; }
  uint8_t code() const { return code_; }
  uint16_t message_id() const { return message_id_; }
  std::span<const uint8_t> token() const { return token_; }
  CoapToken token_value() const { return CoapToken::from(token_); }
  std::span<const CoapOptionView> options() const { return {options_.data(), option_count_}; }
  std::span<const uint8_t> payload() const { return payload_; }

  bool is_request() const { return code_ >= 1 && code_ <= 31; }
  bool is_response() const { return code_ >= 64; }
  bool is_empty() const { return code_ == 0; }

  // First option with this number, or nullptr.
  const CoapOptionView* find(uint16_t number) const;
  size_t count(uint16_t number) const;
  // Option number of the first unrecognised critical option, or 0 when there is none.
  uint16_t first_unknown_critical() const;
  // Joins every instance of a repeatable string option (Uri-Path, Location-Path, ...) with '/'
  // into out; returns the written view, or an empty view with *ok=false if it does not fit.
  std::string_view join(uint16_t number, std::span<char> out, bool* ok = nullptr) const;

 private:
  CoapType type_ = CoapType::kCon;
  uint8_t code_ = 0;
  uint16_t message_id_ = 0;
  uint8_t option_count_ = 0;
  std::span<const uint8_t> token_;
  std::span<const uint8_t> payload_;
  std::array<CoapOptionView, kMaxOptions> options_{};
};

// Builds a message in place into a caller-owned buffer. Options must be added in non-decreasing
// number order. Any overflow or ordering error makes ok() false and finish() return an empty span.
class CoapWriter {
 public:
  explicit CoapWriter(std::span<uint8_t> buffer) : buf_(buffer) {}

  CoapWriter& header(CoapType type, uint8_t code, uint16_t message_id,
                     std::span<const uint8_t> token);
  CoapWriter& option(uint16_t number, std::span<const uint8_t> value);
  CoapWriter& option(uint16_t number, std::string_view value);
  // Minimal-length unsigned encoding (0 is the empty value).
  CoapWriter& option_uint(uint16_t number, uint32_t value);
  // Splits "a/b/c" into one option per segment (Uri-Path, Location-Path, Uri-Query with '&').
  CoapWriter& option_path(uint16_t number, std::string_view path, char separator = '/');
  CoapWriter& payload(std::span<const uint8_t> data);
  CoapWriter& payload(std::string_view data);

  bool ok() const { return ok_; }
  size_t size() const { return pos_; }
  std::span<const uint8_t> finish() const {
    return ok_ ? std::span<const uint8_t>(buf_.data(), pos_) : std::span<const uint8_t>();
  }

 private:
  bool put(std::span<const uint8_t> bytes);
  bool put_byte(uint8_t b);

  std::span<uint8_t> buf_;
  size_t pos_ = 0;
  uint16_t last_option_ = 0;
  bool ok_ = true;
  bool has_header_ = false;
  bool has_payload_ = false;
};

// Writes an empty ACK or RST for a message id (4 bytes). Returns the used part of out.
std::span<const uint8_t> coap_write_empty(std::span<uint8_t> out, CoapType type,
                                          uint16_t message_id);

}  // namespace lwm2msim
