#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/format/format.h"
#include "sim/util/rng.h"
#include "tests/unit/format_fixtures.h"

namespace lwm2msim {
namespace {

std::string encode_ok(const Value& v) {
  const Lwm2mPath p = path(3, 0, 1);
  std::vector<Record> records{{p, v}};
  std::vector<uint8_t> out;
  const CodecResult r = encode_text(typed_context(p, ResourceType::kNone), records, &out);
  EXPECT_TRUE(r.ok()) << r.reason;
  return std::string(out.begin(), out.end());
}

CodecResult decode(std::string_view text, ResourceType type, std::vector<Record>* out,
                   const Lwm2mPath& base = path(3, 0, 1)) {
  const auto* data = reinterpret_cast<const uint8_t*>(text.data());
  return decode_text(typed_context(base, type), std::span<const uint8_t>(data, text.size()), out);
}

Value decode_ok(std::string_view text, ResourceType type) {
  std::vector<Record> out;
  const CodecResult r = decode(text, type, &out);
  EXPECT_TRUE(r.ok()) << "'" << text << "': " << r.reason;
  if (out.size() != 1) {
    ADD_FAILURE() << "expected one record for '" << text << "'";
    return {};
  }
  EXPECT_EQ(out[0].path, path(3, 0, 1));
  return out[0].value;
}

uint8_t decode_error(std::string_view text, ResourceType type) {
  std::vector<Record> out;
  const CodecResult r = decode(text, type, &out);
  EXPECT_FALSE(r.ok()) << "'" << text << "' decoded";
  EXPECT_TRUE(out.empty());
  if (!r.ok()) {
    EXPECT_FALSE(r.reason.empty());
  }
  return r.code;
}

TEST(FormatText, EncodesEveryTextualType) {
  EXPECT_EQ(encode_ok(std::string("Open Mobile Alliance")), "Open Mobile Alliance");
  EXPECT_EQ(encode_ok(std::string()), "");
  EXPECT_EQ(encode_ok(int64_t{-42}), "-42");
  EXPECT_EQ(encode_ok(std::numeric_limits<int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(encode_ok(std::numeric_limits<uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(encode_ok(true), "1");
  EXPECT_EQ(encode_ok(false), "0");
  EXPECT_EQ(encode_ok(TimeValue{1367491215}), "1367491215");
  EXPECT_EQ(encode_ok(Objlnk{3, 0}), "3:0");
  EXPECT_EQ(encode_ok(Objlnk{65535, 65535}), "65535:65535");
  EXPECT_EQ(encode_ok(CoreLink{"</3/0>;ver=1.1"}), "</3/0>;ver=1.1");
}

TEST(FormatText, FloatsUseTheShortestRoundTripForm) {
  EXPECT_EQ(encode_ok(0.1), "0.1");
  EXPECT_EQ(encode_ok(-22.5), "-22.5");
  EXPECT_EQ(encode_ok(3.0), "3");
  EXPECT_EQ(encode_ok(1e300), "1e+300");
  EXPECT_EQ(encode_ok(5e-324), "5e-324");
  EXPECT_EQ(encode_ok(1.0 / 3.0), "0.3333333333333333");
}

TEST(FormatText, EncodeRefusesWhatPlainTextCannotCarry) {
  const Lwm2mPath p = path(3, 0, 1);
  std::vector<uint8_t> out;
  auto code = [&](const CodecContext& ctx, std::vector<Record> records) {
    out.clear();
    const CodecResult r = encode_text(ctx, records, &out);
    EXPECT_FALSE(r.reason.empty());
    return r.code;
  };
  const CodecContext ctx = typed_context(p, ResourceType::kNone);
  EXPECT_EQ(code(ctx, {{p, Opaque{{1, 2}}}}), CoapCode::kNotAcceptable);
  EXPECT_EQ(code(ctx, {{p, std::numeric_limits<double>::infinity()}}), CoapCode::kNotAcceptable);
  EXPECT_EQ(code(ctx, {{p, std::nan("")}}), CoapCode::kNotAcceptable);
  EXPECT_EQ(code(ctx, {{p, std::monostate{}}}), CoapCode::kNotAcceptable);
  EXPECT_EQ(code(ctx, {}), CoapCode::kNotAcceptable);
  EXPECT_EQ(code(ctx, {{p, int64_t{1}}, {p, int64_t{2}}}), CoapCode::kNotAcceptable);
  // An instance or object, or a multiple resource, is more than one value.
  EXPECT_EQ(code(typed_context(Lwm2mPath{3, 0}, ResourceType::kNone), {{p, int64_t{1}}}),
            CoapCode::kNotAcceptable);
  EXPECT_EQ(code(typed_context(path(3, 0, 6), ResourceType::kInteger, true),
                 {{path(3, 0, 6, 0), int64_t{1}}}),
            CoapCode::kNotAcceptable);
  // A record that is not the target is the caller's bug.
  EXPECT_EQ(code(ctx, {{path(3, 0, 2), int64_t{1}}}), CoapCode::kInternalServerError);
  EXPECT_TRUE(out.empty());
}

TEST(FormatText, ResourceInstancesAreSingleValues) {
  const Lwm2mPath p = path(3, 0, 6, 1);
  std::vector<Record> records{{p, int64_t{5}}};
  std::vector<uint8_t> out;
  ASSERT_TRUE(encode_text(typed_context(p, ResourceType::kInteger, true), records, &out).ok());
  EXPECT_EQ(std::string(out.begin(), out.end()), "5");
  std::vector<Record> decoded;
  ASSERT_TRUE(decode_text(typed_context(p, ResourceType::kInteger, true), out, &decoded).ok());
  EXPECT_EQ(decoded, records);
}

TEST(FormatText, DecodesByTheModelsType) {
  EXPECT_EQ(decode_ok("Open Mobile Alliance", ResourceType::kString),
            Value(std::string("Open Mobile Alliance")));
  EXPECT_EQ(decode_ok("", ResourceType::kString), Value(std::string()));
  EXPECT_EQ(decode_ok("caf\xc3\xa9", ResourceType::kString), Value(std::string("caf\xc3\xa9")));
  EXPECT_EQ(decode_ok("-9223372036854775808", ResourceType::kInteger),
            Value(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(decode_ok("18446744073709551615", ResourceType::kUnsignedInteger),
            Value(std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(decode_ok("22.5", ResourceType::kFloat), Value(22.5));
  EXPECT_EQ(decode_ok("-1.5e3", ResourceType::kFloat), Value(-1500.0));
  EXPECT_EQ(decode_ok("7", ResourceType::kFloat), Value(7.0));
  EXPECT_EQ(decode_ok("1", ResourceType::kBoolean), Value(true));
  EXPECT_EQ(decode_ok("0", ResourceType::kBoolean), Value(false));
  EXPECT_EQ(decode_ok("1367491215", ResourceType::kTime), Value(TimeValue{1367491215}));
  EXPECT_EQ(decode_ok("-1", ResourceType::kTime), Value(TimeValue{-1}));
  EXPECT_EQ(decode_ok("3:0", ResourceType::kObjlnk), Value(Objlnk{3, 0}));
  EXPECT_EQ(decode_ok("</1/0>", ResourceType::kCoreLink), Value(CoreLink{"</1/0>"}));
}

TEST(FormatText, UnparsableOrOutOfRangeTextIsBadRequest) {
  const struct {
    std::string_view text;
    ResourceType type;
  } cases[] = {
      {"", ResourceType::kInteger},
      {"abc", ResourceType::kInteger},
      {"1.5", ResourceType::kInteger},
      {" 1", ResourceType::kInteger},
      {"1 ", ResourceType::kInteger},
      {"+1", ResourceType::kInteger},
      {"0x10", ResourceType::kInteger},
      {"9223372036854775808", ResourceType::kInteger},
      {"-9223372036854775809", ResourceType::kInteger},
      {"-1", ResourceType::kUnsignedInteger},
      {"18446744073709551616", ResourceType::kUnsignedInteger},
      {"", ResourceType::kFloat},
      {"nan", ResourceType::kFloat},
      {"inf", ResourceType::kFloat},
      {"1e999", ResourceType::kFloat},
      {"1.2.3", ResourceType::kFloat},
      {"1,5", ResourceType::kFloat},
      {"2", ResourceType::kBoolean},
      {"true", ResourceType::kBoolean},
      {"", ResourceType::kBoolean},
      {"1.0", ResourceType::kTime},
      {"3", ResourceType::kObjlnk},
      {"3:", ResourceType::kObjlnk},
      {":0", ResourceType::kObjlnk},
      {"3:0:1", ResourceType::kObjlnk},
      {"3:65536", ResourceType::kObjlnk},
      {"-3:0", ResourceType::kObjlnk},
      {"\xff\xfe", ResourceType::kString},
      {"\xc0\xaf", ResourceType::kString},
      {"\xed\xa0\x80", ResourceType::kString},
      {"\xe2\x82", ResourceType::kCoreLink},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(decode_error(c.text, c.type), CoapCode::kBadRequest)
        << "'" << c.text << "' as " << to_string(c.type);
  }
}

TEST(FormatText, DecodeRejectsTargetsPlainTextCannotWrite) {
  // Unknown type: the reason names the path.
  std::vector<Record> out;
  CodecResult r = decode("1", ResourceType::kNone, &out);
  EXPECT_EQ(r.code, CoapCode::kBadRequest);
  EXPECT_NE(r.reason.find("/3/0/1"), std::string::npos) << r.reason;
  EXPECT_EQ(decode_error("AQI=", ResourceType::kOpaque), CoapCode::kUnsupportedContentFormat);
  r = decode("1", ResourceType::kInteger, &out, Lwm2mPath{3, 0});
  EXPECT_EQ(r.code, CoapCode::kUnsupportedContentFormat);
  r = decode_text(typed_context(path(3, 0, 6), ResourceType::kInteger, true), {}, &out);
  EXPECT_EQ(r.code, CoapCode::kUnsupportedContentFormat);
  EXPECT_TRUE(out.empty());
}

TEST(FormatOpaque, CarriesOnlyOpaqueResources) {
  const Lwm2mPath p = path(5, 0, 0);
  const std::vector<uint8_t> bytes{0x00, 0xff, 0x10, 0x80};
  std::vector<Record> records{{p, Opaque{bytes}}};
  std::vector<uint8_t> out;
  ASSERT_TRUE(encode_opaque(typed_context(p, ResourceType::kOpaque), records, &out).ok());
  EXPECT_EQ(out, bytes);
  std::vector<Record> decoded;
  ASSERT_TRUE(decode_opaque(typed_context(p, ResourceType::kOpaque), out, &decoded).ok());
  EXPECT_EQ(decoded, records);
  decoded.clear();
  ASSERT_TRUE(decode_opaque(typed_context(p, ResourceType::kOpaque), {}, &decoded).ok());
  EXPECT_EQ(decoded, (std::vector<Record>{{p, Opaque{}}}));

  out.clear();
  std::vector<Record> text{{p, std::string("x")}};
  EXPECT_EQ(encode_opaque(typed_context(p, ResourceType::kString), text, &out).code,
            CoapCode::kNotAcceptable);
  EXPECT_EQ(
      encode_opaque(typed_context(Lwm2mPath{5, 0}, ResourceType::kOpaque), records, &out).code,
      CoapCode::kNotAcceptable);
  EXPECT_TRUE(out.empty());
  decoded.clear();
  EXPECT_EQ(decode_opaque(typed_context(p, ResourceType::kString), bytes, &decoded).code,
            CoapCode::kUnsupportedContentFormat);
  EXPECT_EQ(decode_opaque(typed_context(p, ResourceType::kNone), bytes, &decoded).code,
            CoapCode::kUnsupportedContentFormat);
  EXPECT_EQ(
      decode_opaque(typed_context(Lwm2mPath{5, 0}, ResourceType::kOpaque), bytes, &decoded).code,
      CoapCode::kUnsupportedContentFormat);
  EXPECT_TRUE(decoded.empty());
}

double random_finite_double(Rng& rng) {
  while (true) {
    const uint64_t bits = rng.next();
    double d = 0;
    std::memcpy(&d, &bits, sizeof(d));
    if (std::isfinite(d)) {
      return d;
    }
  }
}

std::string random_utf8(Rng& rng) {
  static constexpr std::string_view kPieces[] = {
      "a", "Z", "0", " ", ":", "\n", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", ","};
  std::string s;
  const uint64_t n = rng.below(12);
  for (uint64_t i = 0; i < n; ++i) {
    s += kPieces[rng.below(std::size(kPieces))];
  }
  return s;
}

Value random_text_value(Rng& rng, ResourceType* type) {
  switch (rng.below(8)) {
    case 0:
      *type = ResourceType::kString;
      return random_utf8(rng);
    case 1:
      *type = ResourceType::kInteger;
      return static_cast<int64_t>(rng.next() >> rng.below(64));
    case 2:
      *type = ResourceType::kUnsignedInteger;
      return rng.next() >> rng.below(64);
    case 3:
      *type = ResourceType::kFloat;
      return rng.below(2) == 0 ? random_finite_double(rng) : rng.uniform(-100, 100);
    case 4:
      *type = ResourceType::kBoolean;
      return rng.below(2) == 1;
    case 5:
      *type = ResourceType::kTime;
      return TimeValue{static_cast<int64_t>(rng.next())};
    case 6:
      *type = ResourceType::kObjlnk;
      return Objlnk{static_cast<uint16_t>(rng.next()), static_cast<uint16_t>(rng.next())};
    default:
      *type = ResourceType::kCoreLink;
      return CoreLink{"</" + std::to_string(rng.below(100)) + ">"};
  }
}

// One random value at a Temperature resource, and a context typed to match.
std::vector<Record> random_text_record(Rng& rng, CodecContext* ctx) {
  const Lwm2mPath p = path(3303, 2, 5700);
  ResourceType type = ResourceType::kNone;
  std::vector<Record> records{{p, random_text_value(rng, &type)}};
  *ctx = typed_context(p, type);
  return records;
}

TEST(FormatText, RandomValuesRoundTrip) {
  Rng rng(20240601);
  for (int i = 0; i < 2000; ++i) {
    CodecContext ctx;
    const std::vector<Record> records = random_text_record(rng, &ctx);
    std::vector<uint8_t> bytes;
    const CodecResult e = encode_text(ctx, records, &bytes);
    ASSERT_TRUE(e.ok()) << e.reason;
    std::vector<Record> decoded;
    const CodecResult d = decode_text(ctx, bytes, &decoded);
    ASSERT_TRUE(d.ok()) << d.reason << " for '" << std::string(bytes.begin(), bytes.end()) << "'";
    ASSERT_EQ(decoded, records) << std::string(bytes.begin(), bytes.end());
  }
}

TEST(FormatText, EveryPrefixDecodesOrFailsCleanly) {
  Rng rng(7);
  for (int i = 0; i < 300; ++i) {
    CodecContext ctx;
    const std::vector<Record> records = random_text_record(rng, &ctx);
    std::vector<uint8_t> bytes;
    ASSERT_TRUE(encode_text(ctx, records, &bytes).ok());
    for (size_t n = 0; n <= bytes.size(); ++n) {
      // An exact-size copy lets ASan catch any read past the prefix.
      const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<long>(n));
      std::vector<Record> decoded;
      const CodecResult r = decode_text(ctx, prefix, &decoded);
      if (r.ok()) {
        EXPECT_EQ(decoded.size(), 1u);
      } else {
        EXPECT_EQ(r.code, CoapCode::kBadRequest) << r.reason;
        EXPECT_TRUE(decoded.empty());
      }
    }
  }
}

}  // namespace
}  // namespace lwm2msim
