#include "sim/coap/coap.h"

#include <coap3/coap.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/util/rng.h"

namespace lwm2msim {

// Readable gtest failure messages for parse results.
void PrintTo(CoapParseError e, std::ostream* os) {
  *os << to_string(e);
}

namespace {

using Bytes = std::vector<uint8_t>;

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

Bytes to_bytes(std::span<const uint8_t> s) {
  return Bytes(s.begin(), s.end());
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

// True when every view of a parsed message lies inside the datagram it came from.
bool views_inside(const CoapMessage& m, std::span<const uint8_t> d) {
  auto inside = [&](std::span<const uint8_t> v) {
    return v.empty() || (v.data() >= d.data() && v.data() + v.size() <= d.data() + d.size());
  };
  bool ok = inside(m.token()) && inside(m.payload());
  for (const auto& o : m.options()) {
    ok = ok && inside(o.value);
  }
  return ok;
}

// ---------------------------------------------------------------------------------------------
// libcoap cross-check

struct PduDeleter {
  void operator()(coap_pdu_t* p) const { coap_delete_pdu(p); }
};
using PduPtr = std::unique_ptr<coap_pdu_t, PduDeleter>;

// libcoap needs coap_startup() once per process before any PDU work.
void ensure_libcoap() {
  static const bool started = [] {
    coap_startup();
    // Rejections are expected in these tests; keep libcoap's log quiet.
    coap_set_log_level(LOG_EMERG);
    return true;
  }();
  (void)started;
}

PduPtr libcoap_parse(std::span<const uint8_t> d) {
  ensure_libcoap();
  PduPtr pdu(coap_pdu_init(COAP_MESSAGE_CON, COAP_EMPTY_CODE, 0, std::max<size_t>(d.size(), 4)));
  if (!pdu || coap_pdu_parse(COAP_PROTO_UDP, d.data(), d.size(), pdu.get()) == 0) {
    return nullptr;
  }
  return pdu;
}

// Parses d with both libcoap and CoapMessage and compares every field.
void expect_libcoap_agrees(std::span<const uint8_t> d) {
  CoapMessage m;
  ASSERT_EQ(m.parse(d), CoapParseError::kOk);
  PduPtr pdu = libcoap_parse(d);
  ASSERT_TRUE(pdu) << "libcoap rejected a message we accept";

  EXPECT_EQ(static_cast<int>(coap_pdu_get_type(pdu.get())), static_cast<int>(m.type()));
  EXPECT_EQ(static_cast<int>(coap_pdu_get_code(pdu.get())), m.code());
  EXPECT_EQ(static_cast<uint16_t>(coap_pdu_get_mid(pdu.get())), m.message_id());
  const coap_bin_const_t token = coap_pdu_get_token(pdu.get());
  EXPECT_EQ(Bytes(token.s, token.s + token.length), to_bytes(m.token()));

  coap_opt_iterator_t it;
  coap_option_iterator_init(pdu.get(), &it, nullptr);
  size_t i = 0;
  while (coap_opt_t* opt = coap_option_next(&it)) {
    ASSERT_LT(i, m.options().size());
    const CoapOptionView& ours = m.options()[i];
    EXPECT_EQ(it.number, ours.number) << "option " << i;
    const uint8_t* v = coap_opt_value(opt);
    EXPECT_EQ(Bytes(v, v + coap_opt_length(opt)), to_bytes(ours.value)) << "option " << i;
    ++i;
  }
  EXPECT_EQ(i, m.options().size());

  size_t len = 0;
  const uint8_t* data = nullptr;
  if (coap_get_data(pdu.get(), &len, &data) != 0 && len > 0) {
    EXPECT_EQ(Bytes(data, data + len), to_bytes(m.payload()));
  } else {
    EXPECT_TRUE(m.payload().empty());
  }
}

// ---------------------------------------------------------------------------------------------
// RFC 7252 Appendix A

// Figure 16/17: GET /temperature with token 0x20, answered by a piggybacked 2.05 "22.3 C".
const Bytes kFigureRequest =
    concat({{0x41, 0x01, 0x7d, 0x34, 0x20, 0xbb}, bytes_of("temperature")});
const Bytes kFigureResponse = concat({{0x61, 0x45, 0x7d, 0x34, 0x20, 0xff}, bytes_of("22.3 C")});

TEST(CoapAppendixA, RequestBuildsExactBytes) {
  std::array<uint8_t, 64> buf{};
  const std::array<uint8_t, 1> token = {0x20};
  const auto out = CoapWriter(buf)
                       .header(CoapType::kCon, CoapCode::kGet, 0x7d34, token)
                       .option(CoapOption::kUriPath, "temperature")
                       .finish();
  EXPECT_EQ(to_bytes(out), kFigureRequest);
}

TEST(CoapAppendixA, ResponseBuildsExactBytes) {
  std::array<uint8_t, 64> buf{};
  const std::array<uint8_t, 1> token = {0x20};
  const auto out = CoapWriter(buf)
                       .header(CoapType::kAck, CoapCode::kContent, 0x7d34, token)
                       .payload("22.3 C")
                       .finish();
  EXPECT_EQ(to_bytes(out), kFigureResponse);
}

TEST(CoapAppendixA, RequestParses) {
  CoapMessage m;
  ASSERT_EQ(m.parse(kFigureRequest), CoapParseError::kOk);
  EXPECT_EQ(m.type(), CoapType::kCon);
  EXPECT_EQ(m.code(), CoapCode::kGet);
  EXPECT_TRUE(m.is_request());
  EXPECT_FALSE(m.is_response());
  EXPECT_EQ(m.message_id(), 0x7d34);
  EXPECT_EQ(to_bytes(m.token()), Bytes{0x20});
  EXPECT_EQ(m.token_value().as_u64(), 0x20u);
  ASSERT_EQ(m.options().size(), 1u);
  EXPECT_EQ(m.options()[0].number, CoapOption::kUriPath);
  EXPECT_EQ(m.options()[0].as_string(), "temperature");
  EXPECT_TRUE(m.payload().empty());
  expect_libcoap_agrees(kFigureRequest);
}

TEST(CoapAppendixA, ResponseParses) {
  CoapMessage m;
  ASSERT_EQ(m.parse(kFigureResponse), CoapParseError::kOk);
  EXPECT_EQ(m.type(), CoapType::kAck);
  EXPECT_EQ(m.code(), CoapCode::kContent);
  EXPECT_TRUE(m.is_response());
  EXPECT_EQ(m.message_id(), 0x7d34);
  EXPECT_EQ(to_bytes(m.token()), Bytes{0x20});
  EXPECT_TRUE(m.options().empty());
  EXPECT_EQ(to_bytes(m.payload()), bytes_of("22.3 C"));
  expect_libcoap_agrees(kFigureResponse);
}

// Figure 18-style empty ACK and an RST.
TEST(CoapAppendixA, EmptyAckAndReset) {
  std::array<uint8_t, 4> buf{};
  auto ack = coap_write_empty(buf, CoapType::kAck, 0x7d38);
  EXPECT_EQ(to_bytes(ack), (Bytes{0x60, 0x00, 0x7d, 0x38}));
  CoapMessage m;
  ASSERT_EQ(m.parse(ack), CoapParseError::kOk);
  EXPECT_TRUE(m.is_empty());
  EXPECT_EQ(m.type(), CoapType::kAck);
  EXPECT_EQ(m.message_id(), 0x7d38);
  expect_libcoap_agrees(ack);

  auto rst = coap_write_empty(buf, CoapType::kRst, 0x0102);
  EXPECT_EQ(to_bytes(rst), (Bytes{0x70, 0x00, 0x01, 0x02}));
  ASSERT_EQ(m.parse(rst), CoapParseError::kOk);
  EXPECT_EQ(m.type(), CoapType::kRst);
  expect_libcoap_agrees(rst);

  std::array<uint8_t, 3> small{};
  EXPECT_TRUE(coap_write_empty(small, CoapType::kAck, 1).empty());
}

// ---------------------------------------------------------------------------------------------
// Option delta / length encodings (RFC 7252 section 3.1)

struct ExtCase {
  uint32_t value;
  Bytes encoding;  // nibble first (as the high or low nibble), then the extended bytes
};

TEST(CoapOptionEncoding, DeltaBoundaries) {
  const std::vector<ExtCase> cases = {
      {12, {12}},
      {13, {13, 0x00}},
      {14, {13, 0x01}},
      {268, {13, 0xff}},
      {269, {14, 0x00, 0x00}},
      {270, {14, 0x00, 0x01}},
      {1000, {14, 0x02, 0xdb}},
      {65535, {14, 0xfe, 0xf2}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    std::array<uint8_t, 32> buf{};
    const auto number = static_cast<uint16_t>(c.value);
    const auto out =
        CoapWriter(buf).header(CoapType::kNon, CoapCode::kGet, 1, {}).option(number, "x").finish();
    Bytes expected = {0x50, 0x01, 0x00, 0x01, static_cast<uint8_t>((c.encoding[0] << 4) | 1)};
    expected.insert(expected.end(), c.encoding.begin() + 1, c.encoding.end());
    expected.push_back('x');
    EXPECT_EQ(to_bytes(out), expected);
    CoapMessage m;
    ASSERT_EQ(m.parse(out), CoapParseError::kOk);
    ASSERT_EQ(m.options().size(), 1u);
    EXPECT_EQ(m.options()[0].number, c.value);
    EXPECT_EQ(m.options()[0].as_string(), "x");
    expect_libcoap_agrees(out);
  }
}

TEST(CoapOptionEncoding, LengthBoundaries) {
  const std::vector<ExtCase> cases = {
      {0, {0}},
      {12, {12}},
      {13, {13, 0x00}},
      {268, {13, 0xff}},
      {269, {14, 0x00, 0x00}},
      {270, {14, 0x00, 0x01}},
      {1000, {14, 0x02, 0xdb}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    std::array<uint8_t, kCoapMaxMessageSize> buf{};
    const Bytes value(c.value, 0xab);
    // Option 2000 is unassigned, so libcoap applies no length limit to it.
    const auto out = CoapWriter(buf)
                         .header(CoapType::kCon, CoapCode::kPut, 7, {})
                         .option(CoapOption::kUriPath, "a")
                         .option(2000, value)
                         .finish();
    Bytes expected = {0x40, 0x03, 0x00, 0x07, 0xb1, 'a'};
    // Delta 1989 from Uri-Path (11): nibble 14, 1989 - 269 = 0x06b8.
    expected.push_back(static_cast<uint8_t>(0xe0 | c.encoding[0]));
    expected.push_back(0x06);
    expected.push_back(0xb8);
    expected.insert(expected.end(), c.encoding.begin() + 1, c.encoding.end());
    expected.insert(expected.end(), value.begin(), value.end());
    EXPECT_EQ(to_bytes(out), expected);
    CoapMessage m;
    ASSERT_EQ(m.parse(out), CoapParseError::kOk);
    ASSERT_EQ(m.options().size(), 2u);
    EXPECT_EQ(m.options()[1].number, 2000);
    EXPECT_EQ(to_bytes(m.options()[1].value), value);
    expect_libcoap_agrees(out);
  }
}

TEST(CoapOptionEncoding, RepeatedOptionsHaveDeltaZero) {
  std::array<uint8_t, 64> buf{};
  const auto out = CoapWriter(buf)
                       .header(CoapType::kCon, CoapCode::kGet, 1, {})
                       .option_path(CoapOption::kUriPath, "/3/0")
                       .finish();
  EXPECT_EQ(to_bytes(out), (Bytes{0x40, 0x01, 0x00, 0x01, 0xb1, '3', 0x01, '0'}));
}

TEST(CoapOptionEncoding, UintMinimalEncoding) {
  struct Case {
    uint32_t value;
    Bytes encoded;
  };
  const std::vector<Case> cases = {
      {0, {}},
      {1, {0x01}},
      {255, {0xff}},
      {256, {0x01, 0x00}},
      {65535, {0xff, 0xff}},
      {65536, {0x01, 0x00, 0x00}},
      {0xffffff, {0xff, 0xff, 0xff}},
      {0x1000000, {0x01, 0x00, 0x00, 0x00}},
      {UINT32_MAX, {0xff, 0xff, 0xff, 0xff}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    std::array<uint8_t, 32> buf{};
    const auto out = CoapWriter(buf)
                         .header(CoapType::kCon, CoapCode::kGet, 1, {})
                         .option_uint(CoapOption::kSize1, c.value)
                         .finish();
    CoapMessage m;
    ASSERT_EQ(m.parse(out), CoapParseError::kOk);
    const CoapOptionView* o = m.find(CoapOption::kSize1);
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(to_bytes(o->value), c.encoded);
    EXPECT_EQ(o->as_uint(), c.value);
  }
}

TEST(CoapOptionEncoding, AsUintAcceptsLeadingZerosAndSaturates) {
  const Bytes padded = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02};
  EXPECT_EQ((CoapOptionView{60, padded}.as_uint()), 0x0102u);
  const Bytes wide = {0x01, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ((CoapOptionView{60, wide}.as_uint()), UINT32_MAX);
  const Bytes zeros = {0x00, 0x00};
  EXPECT_EQ((CoapOptionView{60, zeros}.as_uint()), 0u);
  EXPECT_EQ((CoapOptionView{60, {}}.as_uint()), 0u);
}

// ---------------------------------------------------------------------------------------------
// Parse errors: one fault per input

CoapParseError parse(const Bytes& d) {
  CoapMessage m;
  return m.parse(d);
}

TEST(CoapParseErrors, TooShort) {
  EXPECT_EQ(parse({}), CoapParseError::kTooShort);
  EXPECT_EQ(parse({0x40}), CoapParseError::kTooShort);
  EXPECT_EQ(parse({0x40, 0x01, 0x00}), CoapParseError::kTooShort);
  // TKL 4 announced, 2 token bytes present.
  EXPECT_EQ(parse({0x44, 0x01, 0x00, 0x01, 0xaa, 0xbb}), CoapParseError::kTooShort);
}

TEST(CoapParseErrors, BadVersion) {
  EXPECT_EQ(parse({0x00, 0x01, 0x00, 0x01}), CoapParseError::kBadVersion);
  EXPECT_EQ(parse({0x80, 0x01, 0x00, 0x01}), CoapParseError::kBadVersion);
  EXPECT_EQ(parse({0xc0, 0x01, 0x00, 0x01}), CoapParseError::kBadVersion);
}

TEST(CoapParseErrors, BadTokenLength) {
  for (uint8_t tkl = 9; tkl <= 15; ++tkl) {
    Bytes d = {static_cast<uint8_t>(0x40 | tkl), 0x01, 0x00, 0x01};
    d.resize(d.size() + tkl, 0x11);
    EXPECT_EQ(parse(d), CoapParseError::kBadTokenLength) << int{tkl};
  }
  Bytes eight = {0x48, 0x01, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(parse(eight), CoapParseError::kOk);
}

TEST(CoapParseErrors, BadOption) {
  const Bytes h = {0x40, 0x01, 0x00, 0x01};
  // Reserved delta nibble 15 with a non-15 length.
  EXPECT_EQ(parse(concat({h, {0xf1, 'a'}})), CoapParseError::kBadOption);
  // Reserved length nibble 15.
  EXPECT_EQ(parse(concat({h, {0x1f, 'a'}})), CoapParseError::kBadOption);
  // Value runs past the end.
  EXPECT_EQ(parse(concat({h, {0xb5, 'a', 'b'}})), CoapParseError::kBadOption);
  // Extended delta byte missing (8-bit and 16-bit forms).
  EXPECT_EQ(parse(concat({h, {0xd0}})), CoapParseError::kBadOption);
  EXPECT_EQ(parse(concat({h, {0xe0, 0x00}})), CoapParseError::kBadOption);
  // Extended length byte missing.
  EXPECT_EQ(parse(concat({h, {0x0d}})), CoapParseError::kBadOption);
  EXPECT_EQ(parse(concat({h, {0x0e, 0x01}})), CoapParseError::kBadOption);
  // Extended length present but value too short.
  EXPECT_EQ(parse(concat({h, {0x0d, 0x00}, Bytes(12, 'x')})), CoapParseError::kBadOption);
  // Option number above 65535: 65535 then another delta of 1.
  EXPECT_EQ(parse(concat({h, {0xe0, 0xfe, 0xf2, 0x10}})), CoapParseError::kBadOption);
  EXPECT_EQ(parse(concat({h, {0xe0, 0xfe, 0xf2, 0x00}})), CoapParseError::kOk);
}

TEST(CoapParseErrors, TooManyOptions) {
  Bytes d = {0x40, 0x01, 0x00, 0x01};
  for (size_t i = 0; i < CoapMessage::kMaxOptions; ++i) {
    d.push_back(i == 0 ? 0xb1 : 0x01);
    d.push_back('p');
  }
  EXPECT_EQ(parse(d), CoapParseError::kOk);
  d.push_back(0x01);
  d.push_back('p');
  EXPECT_EQ(parse(d), CoapParseError::kTooManyOptions);
}

TEST(CoapParseErrors, PayloadMarkerAlone) {
  EXPECT_EQ(parse({0x40, 0x01, 0x00, 0x01, 0xff}), CoapParseError::kPayloadMarkerAlone);
  EXPECT_EQ(parse({0x41, 0x45, 0x00, 0x01, 0x20, 0xc0, 0xff}), CoapParseError::kPayloadMarkerAlone);
  EXPECT_EQ(parse({0x40, 0x45, 0x00, 0x01, 0xff, 'x'}), CoapParseError::kOk);
}

TEST(CoapParseErrors, EmptyNotEmpty) {
  EXPECT_EQ(parse({0x60, 0x00, 0x00, 0x01}), CoapParseError::kOk);
  // Token.
  EXPECT_EQ(parse({0x61, 0x00, 0x00, 0x01, 0x20}), CoapParseError::kEmptyNotEmpty);
  // Announced token but none present is still an Empty message with a token length.
  EXPECT_EQ(parse({0x61, 0x00, 0x00, 0x01}), CoapParseError::kEmptyNotEmpty);
  // Option.
  EXPECT_EQ(parse({0x60, 0x00, 0x00, 0x01, 0xb1, 'a'}), CoapParseError::kEmptyNotEmpty);
  // Payload.
  EXPECT_EQ(parse({0x70, 0x00, 0x00, 0x01, 0xff, 'a'}), CoapParseError::kEmptyNotEmpty);
}

TEST(CoapParseErrors, ReservedClass) {
  for (uint8_t cls : {1, 6, 7}) {
    for (uint8_t detail : {0, 1, 31}) {
      EXPECT_EQ(parse({0x40, coap_code(cls, detail), 0x00, 0x01}), CoapParseError::kReservedClass)
          << int{cls} << "." << int{detail};
    }
  }
  // Section 12.1 assigns 2.00-5.31 to responses, class 3 included.
  for (uint8_t cls : {0, 2, 3, 4, 5}) {
    EXPECT_EQ(parse({0x40, coap_code(cls, 1), 0x00, 0x01}), CoapParseError::kOk) << int{cls};
  }
}

TEST(CoapParseErrors, TooLarge) {
  Bytes d = {0x40, 0x02, 0x00, 0x01, 0xff};
  d.resize(kCoapMaxMessageSize, 'x');
  EXPECT_EQ(parse(d), CoapParseError::kOk);
  d.push_back('x');
  EXPECT_EQ(parse(d), CoapParseError::kTooLarge);
}

TEST(CoapParseErrors, ToStringIsDistinctForEveryError) {
  std::vector<std::string> names;
  for (int e = 0; e <= static_cast<int>(CoapParseError::kTooLarge); ++e) {
    const std::string name = to_string(static_cast<CoapParseError>(e));
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(std::find(names.begin(), names.end(), name), names.end()) << name;
    names.push_back(name);
  }
  EXPECT_EQ(std::string(to_string(CoapParseError::kOk)), "ok");
}

TEST(CoapParseErrors, FailedParseLeavesNoStaleViews) {
  CoapMessage m;
  ASSERT_EQ(m.parse(kFigureRequest), CoapParseError::kOk);
  ASSERT_EQ(m.options().size(), 1u);
  EXPECT_EQ(parse({0x40, 0x01, 0x00, 0x01, 0xff}), CoapParseError::kPayloadMarkerAlone);
  const Bytes bad = {0x41, 0x01, 0x00, 0x01, 0x20, 0xf1, 'a'};
  EXPECT_NE(m.parse(bad), CoapParseError::kOk);
  EXPECT_TRUE(m.options().empty());
  EXPECT_TRUE(m.payload().empty());
  EXPECT_TRUE(m.token().empty());
}

// libcoap must reject the format errors too (it has its own limits on option count, size and
// code classes, so those are not compared).
TEST(CoapParseErrors, LibcoapRejectsFormatErrors) {
  const std::vector<Bytes> bad = {
      {0x40, 0x01, 0x00},
      {0x44, 0x01, 0x00, 0x01, 0xaa, 0xbb},
      {0x80, 0x01, 0x00, 0x01},
      {0x40, 0x01, 0x00, 0x01, 0xf1, 'a'},
      {0x40, 0x01, 0x00, 0x01, 0x1f, 'a'},
      {0x40, 0x01, 0x00, 0x01, 0xb5, 'a', 'b'},
      {0x40, 0x01, 0x00, 0x01, 0xd0},
      {0x40, 0x01, 0x00, 0x01, 0xff},
      {0x61, 0x00, 0x00, 0x01, 0x20},
      {0x60, 0x00, 0x00, 0x01, 0xb1, 'a'},
      {0x70, 0x00, 0x00, 0x01, 0xff, 'a'},
  };
  for (const auto& d : bad) {
    EXPECT_NE(parse(d), CoapParseError::kOk);
    EXPECT_FALSE(libcoap_parse(d)) << "libcoap accepted input of size " << d.size();
  }
}

// ---------------------------------------------------------------------------------------------
// Robustness

Bytes rich_message() {
  std::array<uint8_t, kCoapMaxMessageSize> buf{};
  const std::array<uint8_t, 8> token = {1, 2, 3, 4, 5, 6, 7, 8};
  const auto out =
      CoapWriter(buf)
          .header(CoapType::kCon, CoapCode::kPost, 0xbeef, token)
          .option_path(CoapOption::kUriPath, "rd")
          .option_uint(CoapOption::kContentFormat, CoapContentFormat::kLinkFormat)
          .option_path(CoapOption::kUriQuery, "ep=sim-000001&lt=300&lwm2m=1.1&b=U", '&')
          .option(300, Bytes(20, 0x5a))
          .option(1000, Bytes(280, 0xa5))
          .payload(R"(</>;rt="oma.lwm2m",</1/0>,</3/0>)")
          .finish();
  return to_bytes(out);
}

TEST(CoapRobustness, EveryPrefixParsesOrFailsCleanly) {
  const Bytes full = rich_message();
  ASSERT_FALSE(full.empty());
  for (size_t n = 0; n <= full.size(); ++n) {
    // A fresh heap copy of exactly n bytes so the sanitizer sees any over-read.
    const Bytes prefix(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
    CoapMessage m;
    const CoapParseError e = m.parse(prefix);
    const bool libcoap_ok = static_cast<bool>(libcoap_parse(prefix));
    EXPECT_EQ(e == CoapParseError::kOk, libcoap_ok) << "prefix " << n << ": " << to_string(e);
    if (e == CoapParseError::kOk) {
      EXPECT_TRUE(views_inside(m, prefix)) << n;
    }
  }
}

TEST(CoapRobustness, RandomMutationsNeverEscapeTheDatagram) {
  const Bytes base = rich_message();
  Rng rng(1234);
  for (int round = 0; round < 20000; ++round) {
    Bytes d = base;
    const uint64_t flips = 1 + rng.below(4);
    for (uint64_t f = 0; f < flips; ++f) {
      d[rng.below(d.size())] = static_cast<uint8_t>(rng.next());
    }
    d.resize(rng.below(d.size() + 1));
    CoapMessage m;
    if (m.parse(d) == CoapParseError::kOk) {
      ASSERT_TRUE(views_inside(m, d));
      uint32_t last = 0;
      for (const auto& o : m.options()) {
        ASSERT_GE(o.number, last);
        last = o.number;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Random round trips, checked against the generator and libcoap

struct GenOption {
  uint16_t number;
  Bytes value;
};

struct GenMessage {
  CoapType type = CoapType::kCon;
  uint8_t code = 0;
  uint16_t mid = 0;
  Bytes token;
  std::vector<GenOption> options;
  Bytes payload;
};

struct OptionSpec {
  uint16_t number;
  size_t min_len;
  size_t max_len;
};

// Registered options with their RFC length ranges (libcoap enforces them, and additionally
// rejects an empty Uri-Query), and unassigned numbers that exercise the extended delta forms with
// any length.
const std::vector<OptionSpec> kOptionSpecs = {
    {CoapOption::kIfMatch, 0, 8},
    {CoapOption::kUriHost, 1, 255},
    {CoapOption::kETag, 1, 8},
    {CoapOption::kIfNoneMatch, 0, 0},
    {CoapOption::kObserve, 0, 3},
    {CoapOption::kUriPort, 0, 2},
    {CoapOption::kLocationPath, 0, 255},
    {CoapOption::kUriPath, 0, 255},
    {CoapOption::kContentFormat, 0, 2},
    {CoapOption::kMaxAge, 0, 4},
    {CoapOption::kUriQuery, 1, 255},
    {CoapOption::kAccept, 0, 2},
    {CoapOption::kLocationQuery, 0, 255},
    {CoapOption::kBlock2, 0, 3},
    {CoapOption::kBlock1, 0, 3},
    {CoapOption::kSize2, 0, 4},
    {CoapOption::kProxyUri, 1, 300},
    {CoapOption::kProxyScheme, 1, 255},
    {CoapOption::kSize1, 0, 4},
    {2, 0, 300},
    {13, 0, 20},
    {22, 0, 20},
    {100, 0, 300},
    {268, 0, 20},
    {269, 0, 20},
    {270, 0, 300},
    {1000, 0, 20},
    {4000, 0, 20},
    {65000, 0, 20},
    {65535, 0, 20},
};

uint8_t random_code(Rng& rng) {
  static constexpr std::array<uint8_t, 5> kClasses = {0, 2, 3, 4, 5};
  const uint8_t cls = kClasses[rng.below(kClasses.size())];
  const auto detail = static_cast<uint8_t>(cls == 0 ? 1 + rng.below(31) : rng.below(32));
  return coap_code(cls, detail);
}

Bytes random_bytes(Rng& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) {
    x = static_cast<uint8_t>(rng.next());
  }
  return b;
}

GenMessage random_message(Rng& rng) {
  GenMessage g;
  g.type = static_cast<CoapType>(rng.below(4));
  g.mid = static_cast<uint16_t>(rng.next());
  if (rng.below(20) == 0) {
    g.code = CoapCode::kEmpty;
    return g;
  }
  g.code = random_code(rng);
  g.token = random_bytes(rng, rng.below(kCoapMaxTokenLength + 1));
  const size_t n_options =
      rng.below(10) == 0 ? rng.below(CoapMessage::kMaxOptions + 1) : rng.below(8);
  for (size_t i = 0; i < n_options; ++i) {
    const OptionSpec& spec = kOptionSpecs[rng.below(kOptionSpecs.size())];
    size_t max_len = spec.max_len;
    if (rng.below(4) != 0) {
      max_len = std::min<size_t>(max_len, 16);
    }
    const size_t len = spec.min_len + rng.below(max_len - spec.min_len + 1);
    g.options.push_back({spec.number, random_bytes(rng, len)});
  }
  std::stable_sort(g.options.begin(), g.options.end(),
                   [](const GenOption& a, const GenOption& b) { return a.number < b.number; });
  if (rng.below(2) == 0) {
    g.payload = random_bytes(rng, 1 + rng.below(rng.below(4) == 0 ? 600 : 40));
  }
  return g;
}

std::span<const uint8_t> write(const GenMessage& g, std::span<uint8_t> buf) {
  CoapWriter w(buf);
  w.header(g.type, g.code, g.mid, g.token);
  for (const auto& o : g.options) {
    w.option(o.number, o.value);
  }
  w.payload(g.payload);
  return w.finish();
}

TEST(CoapRoundTrip, RandomMessages) {
  Rng rng(0xc0a9);
  int written = 0;
  for (int round = 0; round < 3000; ++round) {
    SCOPED_TRACE(round);
    const GenMessage g = random_message(rng);
    std::array<uint8_t, kCoapMaxMessageSize> buf{};
    const auto out = write(g, buf);
    if (out.empty()) {
      continue;  // larger than a datagram; overflow is tested separately
    }
    ++written;
    CoapMessage m;
    ASSERT_EQ(m.parse(out), CoapParseError::kOk);
    EXPECT_EQ(m.type(), g.type);
    EXPECT_EQ(m.code(), g.code);
    EXPECT_EQ(m.message_id(), g.mid);
    EXPECT_EQ(to_bytes(m.token()), g.token);
    ASSERT_EQ(m.options().size(), g.options.size());
    for (size_t i = 0; i < g.options.size(); ++i) {
      EXPECT_EQ(m.options()[i].number, g.options[i].number);
      EXPECT_EQ(to_bytes(m.options()[i].value), g.options[i].value);
    }
    EXPECT_EQ(to_bytes(m.payload()), g.payload);
    expect_libcoap_agrees(out);

    // Re-encoding the parsed message gives the same bytes: the writer's encoding is canonical.
    std::array<uint8_t, kCoapMaxMessageSize> again{};
    CoapWriter w(again);
    w.header(m.type(), m.code(), m.message_id(), m.token());
    for (const auto& o : m.options()) {
      w.option(o.number, o.value);
    }
    w.payload(m.payload());
    EXPECT_EQ(to_bytes(w.finish()), to_bytes(out));
  }
  EXPECT_GT(written, 2500);
}

// ---------------------------------------------------------------------------------------------
// Writer rules

TEST(CoapWriterRules, OptionsOutOfOrderFail) {
  std::array<uint8_t, 64> buf{};
  CoapWriter w(buf);
  w.header(CoapType::kCon, CoapCode::kGet, 1, {})
      .option(CoapOption::kUriPath, "a")
      .option(CoapOption::kUriHost, "h");
  EXPECT_FALSE(w.ok());
  EXPECT_TRUE(w.finish().empty());
  // Once failed, later valid calls do not revive it.
  w.option(CoapOption::kAccept, "");
  EXPECT_FALSE(w.ok());
}

TEST(CoapWriterRules, HeaderMustComeFirstAndOnce) {
  std::array<uint8_t, 64> buf{};
  EXPECT_FALSE(CoapWriter(buf).option(CoapOption::kUriPath, "a").ok());
  EXPECT_FALSE(CoapWriter(buf).payload("x").ok());
  EXPECT_FALSE(CoapWriter(buf)
                   .header(CoapType::kCon, CoapCode::kGet, 1, {})
                   .header(CoapType::kCon, CoapCode::kGet, 1, {})
                   .ok());
}

TEST(CoapWriterRules, InvalidHeaders) {
  std::array<uint8_t, 64> buf{};
  const std::array<uint8_t, 9> long_token{};
  EXPECT_FALSE(CoapWriter(buf).header(CoapType::kCon, CoapCode::kGet, 1, long_token).ok());
  const std::array<uint8_t, 1> token = {1};
  EXPECT_FALSE(CoapWriter(buf).header(CoapType::kAck, CoapCode::kEmpty, 1, token).ok());
  EXPECT_FALSE(CoapWriter(buf).header(CoapType::kCon, coap_code(7, 1), 1, {}).ok());
  EXPECT_FALSE(CoapWriter(buf)
                   .header(CoapType::kAck, CoapCode::kEmpty, 1, {})
                   .option(CoapOption::kUriPath, "a")
                   .ok());
  EXPECT_FALSE(CoapWriter(buf).header(CoapType::kAck, CoapCode::kEmpty, 1, {}).payload("a").ok());
  EXPECT_EQ(CoapWriter(buf).header(CoapType::kAck, CoapCode::kEmpty, 1, {}).payload("").size(), 4u);
}

TEST(CoapWriterRules, NothingAfterPayload) {
  std::array<uint8_t, 64> buf{};
  CoapWriter w(buf);
  w.header(CoapType::kCon, CoapCode::kPut, 1, {}).payload("x").option(CoapOption::kUriPath, "a");
  EXPECT_FALSE(w.ok());
  CoapWriter w2(buf);
  w2.header(CoapType::kCon, CoapCode::kPut, 1, {}).payload("x").payload("y");
  EXPECT_FALSE(w2.ok());
}

TEST(CoapWriterRules, EmptyPayloadWritesNoMarker) {
  std::array<uint8_t, 64> buf{};
  const auto out =
      CoapWriter(buf).header(CoapType::kCon, CoapCode::kGet, 9, {}).payload("").finish();
  EXPECT_EQ(to_bytes(out), (Bytes{0x40, 0x01, 0x00, 0x09}));
}

TEST(CoapWriterRules, OverflowAtEveryBufferSize) {
  const Bytes full = rich_message();
  for (size_t n = 0; n < full.size(); ++n) {
    Bytes buf(n);
    const std::array<uint8_t, 8> token = {1, 2, 3, 4, 5, 6, 7, 8};
    CoapWriter w(buf);
    w.header(CoapType::kCon, CoapCode::kPost, 0xbeef, token)
        .option_path(CoapOption::kUriPath, "rd")
        .option_uint(CoapOption::kContentFormat, CoapContentFormat::kLinkFormat)
        .option_path(CoapOption::kUriQuery, "ep=sim-000001&lt=300&lwm2m=1.1&b=U", '&')
        .option(300, Bytes(20, 0x5a))
        .option(1000, Bytes(280, 0xa5))
        .payload(R"(</>;rt="oma.lwm2m",</1/0>,</3/0>)");
    EXPECT_FALSE(w.ok()) << n;
    EXPECT_TRUE(w.finish().empty()) << n;
    EXPECT_LE(w.size(), n);
  }
}

TEST(CoapWriterRules, OptionPathSplitting) {
  struct Case {
    std::string_view path;
    char sep;
    std::vector<std::string> segments;
  };
  const std::vector<Case> cases = {
      {"", '/', {}},
      {"/", '/', {}},
      {"rd", '/', {"rd"}},
      {"/3303/0/5700", '/', {"3303", "0", "5700"}},
      {"3303/0/5700", '/', {"3303", "0", "5700"}},
      {"a//b", '/', {"a", "", "b"}},
      {"a/b/", '/', {"a", "b", ""}},
      {"ep=x&lt=300", '&', {"ep=x", "lt=300"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    std::array<uint8_t, 128> buf{};
    const auto out = CoapWriter(buf)
                         .header(CoapType::kCon, CoapCode::kGet, 1, {})
                         .option_path(CoapOption::kUriPath, c.path, c.sep)
                         .finish();
    CoapMessage m;
    ASSERT_EQ(m.parse(out), CoapParseError::kOk);
    std::vector<std::string> got;
    for (const auto& o : m.options()) {
      got.emplace_back(o.as_string());
    }
    EXPECT_EQ(got, c.segments);
  }
}

// ---------------------------------------------------------------------------------------------
// Message helpers

TEST(CoapMessageHelpers, JoinUriPath) {
  std::array<uint8_t, 128> buf{};
  const auto out = CoapWriter(buf)
                       .header(CoapType::kCon, CoapCode::kGet, 1, {})
                       .option(CoapOption::kUriHost, "example")
                       .option_path(CoapOption::kUriPath, "/3303/0/5700")
                       .option(CoapOption::kUriQuery, "x=1")
                       .finish();
  CoapMessage m;
  ASSERT_EQ(m.parse(out), CoapParseError::kOk);
  std::array<char, 64> text{};
  bool ok = false;
  EXPECT_EQ(m.join(CoapOption::kUriPath, text, &ok), "3303/0/5700");
  EXPECT_TRUE(ok);
  EXPECT_EQ(m.join(CoapOption::kUriPath, text), "3303/0/5700");
  // Exact fit, then one byte short.
  std::array<char, 11> exact{};
  EXPECT_EQ(m.join(CoapOption::kUriPath, exact, &ok), "3303/0/5700");
  EXPECT_TRUE(ok);
  std::array<char, 10> small{};
  EXPECT_TRUE(m.join(CoapOption::kUriPath, small, &ok).empty());
  EXPECT_FALSE(ok);
  // Absent option: empty and fine.
  EXPECT_TRUE(m.join(CoapOption::kLocationPath, text, &ok).empty());
  EXPECT_TRUE(ok);
}

TEST(CoapMessageHelpers, FindAndCount) {
  std::array<uint8_t, 128> buf{};
  const auto out = CoapWriter(buf)
                       .header(CoapType::kCon, CoapCode::kPost, 1, {})
                       .option_path(CoapOption::kUriPath, "rd")
                       .option_uint(CoapOption::kContentFormat, CoapContentFormat::kLinkFormat)
                       .option_path(CoapOption::kUriQuery, "ep=a&lt=300&b=U", '&')
                       .finish();
  CoapMessage m;
  ASSERT_EQ(m.parse(out), CoapParseError::kOk);
  EXPECT_EQ(m.count(CoapOption::kUriQuery), 3u);
  EXPECT_EQ(m.count(CoapOption::kUriPath), 1u);
  EXPECT_EQ(m.count(CoapOption::kAccept), 0u);
  const CoapOptionView* q = m.find(CoapOption::kUriQuery);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->as_string(), "ep=a");
  const CoapOptionView* cf = m.find(CoapOption::kContentFormat);
  ASSERT_NE(cf, nullptr);
  EXPECT_EQ(cf->as_uint(), CoapContentFormat::kLinkFormat);
  EXPECT_EQ(m.find(CoapOption::kObserve), nullptr);
  EXPECT_EQ(m.find(CoapOption::kSize1), nullptr);
}

TEST(CoapMessageHelpers, FirstUnknownCritical) {
  auto first_unknown = [](std::initializer_list<uint16_t> numbers) {
    std::array<uint8_t, 256> buf{};
    CoapWriter w(buf);
    w.header(CoapType::kCon, CoapCode::kGet, 1, {});
    for (uint16_t n : numbers) {
      w.option(n, "v");
    }
    CoapMessage m;
    EXPECT_EQ(m.parse(w.finish()), CoapParseError::kOk);
    return m.first_unknown_critical();
  };
  EXPECT_EQ(first_unknown({}), 0);
  // Known critical and unknown elective options are fine.
  EXPECT_EQ(first_unknown({CoapOption::kUriHost, CoapOption::kUriPath, CoapOption::kBlock2}), 0);
  EXPECT_EQ(first_unknown({2, 10, 2048}), 0);
  EXPECT_EQ(first_unknown({9, CoapOption::kUriPath, 13}), 9);
  EXPECT_EQ(first_unknown({CoapOption::kUriPath, 2049}), 2049);
  EXPECT_EQ(first_unknown({65535}), 65535);
}

TEST(CoapMessageHelpers, KnownOptions) {
  for (uint16_t n : {1, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 17, 20, 23, 27, 28, 35, 39, 60}) {
    EXPECT_TRUE(CoapOption::is_known(n)) << n;
  }
  for (uint16_t n : {0, 2, 9, 10, 13, 16, 19, 21, 258, 2049, 65535}) {
    EXPECT_FALSE(CoapOption::is_known(n)) << n;
  }
  EXPECT_TRUE(CoapOption::is_critical(CoapOption::kUriPath));
  EXPECT_FALSE(CoapOption::is_critical(CoapOption::kContentFormat));
}

TEST(CoapToken, Conversions) {
  const CoapToken t = CoapToken::from_u64(0x0102030405060708ULL, 8);
  EXPECT_EQ(t.length, 8);
  EXPECT_EQ(to_bytes(t.view()), (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(t.as_u64(), 0x0102030405060708ULL);

  const CoapToken short_token = CoapToken::from_u64(0xaabbccdd, 2);
  EXPECT_EQ(to_bytes(short_token.view()), (Bytes{0xcc, 0xdd}));
  EXPECT_EQ(short_token.as_u64(), 0xccddu);

  EXPECT_EQ(CoapToken::from_u64(5, 0).length, 0);
  EXPECT_EQ(CoapToken::from_u64(5, 0).as_u64(), 0u);
  EXPECT_EQ(CoapToken::from_u64(5, 12).length, 8);

  const Bytes raw = {9, 8, 7};
  const CoapToken r = CoapToken::from(raw);
  EXPECT_EQ(to_bytes(r.view()), raw);
  EXPECT_EQ(r, CoapToken::from_u64(0x090807, 3));
  EXPECT_FALSE(r == CoapToken::from_u64(0x090807, 4));
  const Bytes too_long(12, 1);
  EXPECT_EQ(CoapToken::from(too_long).length, 8);

  Rng rng(99);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t v = rng.next();
    const auto len = static_cast<uint8_t>(rng.below(9));
    const uint64_t mask = len == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * len)) - 1;
    EXPECT_EQ(CoapToken::from_u64(v, len).as_u64(), v & mask);
  }
}

// RFC 7252 4.2/4.3: only a Confirmable message with a readable header is rejected with a Reset.
TEST(CoapReject, OnlyConfirmableMessagesWithAReadableHeaderAreReset) {
  auto reject = [](std::vector<uint8_t> bytes) {
    CoapMessage m;
    return coap_reject_mid(bytes, m.parse(bytes));
  };
  EXPECT_EQ(reject({0x40, 0x01, 0xab, 0xcd, 0xf1}), 0xabcd);  // bad option nibble
  EXPECT_EQ(reject({0x49, 0x01, 0x00, 0x07}), 7);             // TKL 9
  EXPECT_EQ(reject({0x48, 0x01, 0x00, 0x08, 1, 2}), 8);       // token cut short
  EXPECT_EQ(reject({0x40, 0x01, 0x00, 0x09, 0xff}), 9);       // lone payload marker
  EXPECT_EQ(reject({0x40, 0x00, 0x00, 0x0a, 0x11}), 10);      // empty with content
  EXPECT_EQ(reject({0x40, 0x20, 0x00, 0x0b}), 11);            // reserved class 1
  EXPECT_EQ(reject({0x50, 0x01, 0x00, 0x0c, 0xf1}), -1);      // Non-confirmable
  EXPECT_EQ(reject({0x60, 0x01, 0x00, 0x0d, 0xf1}), -1);      // ACK
  EXPECT_EQ(reject({0x80, 0x01, 0x00, 0x0e, 0xf1}), -1);      // version 2
  EXPECT_EQ(reject({0x40, 0x01, 0x00}), -1);                  // no Message ID
  EXPECT_EQ(reject({0x40, 0x01, 0x00, 0x0f}), -1);            // parses: nothing to reject
  std::vector<uint8_t> large(kCoapMaxMessageSize + 1, 0);
  large[0] = 0x40;
  EXPECT_EQ(reject(large), -1);
}

}  // namespace
}  // namespace lwm2msim
