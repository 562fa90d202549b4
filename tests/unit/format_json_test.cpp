#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/format/format.h"
#include "sim/util/rng.h"
#include "tests/unit/format_fixtures.h"

namespace lwm2msim {
namespace {

// The Read /3/0 examples of the TS (OMA JSON: TS 1.0 section 6.4.4, SenML JSON: TS 1.1 section
// 7.4.5), as printed there with line breaks.
constexpr std::string_view kDeviceOmaJson = R"({"bn":"/3/0/",
"e":[
{"n":"0","sv":"Open Mobile Alliance"},
{"n":"1","sv":"Lightweight M2M Client"},
{"n":"2","sv":"345000123"},
{"n":"3","sv":"1.0"},
{"n":"6/0","v":1},
{"n":"6/1","v":5},
{"n":"7/0","v":3800},
{"n":"7/1","v":5000},
{"n":"8/0","v":125},
{"n":"8/1","v":900},
{"n":"9","v":100},
{"n":"10","v":15},
{"n":"11/0","v":0},
{"n":"13","v":1367491215},
{"n":"14","sv":"+02:00"},
{"n":"16","sv":"U"}]
})";

constexpr std::string_view kDeviceSenmlJson =
    R"([{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},
{"n":"1","vs":"Lightweight M2M Client"},
{"n":"2","vs":"345000123"},
{"n":"3","vs":"1.0"},
{"n":"6/0","v":1},
{"n":"6/1","v":5},
{"n":"7/0","v":3800},
{"n":"7/1","v":5000},
{"n":"8/0","v":125},
{"n":"8/1","v":900},
{"n":"9","v":100},
{"n":"10","v":15},
{"n":"11/0","v":0},
{"n":"13","v":1367491215},
{"n":"14","vs":"+02:00"},
{"n":"16","vs":"U"}])";

std::string compact(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '\n') {
      out += c;
    }
  }
  return out;
}

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

enum class Dialect { kOma, kSenml };

const char* name_of(Dialect d) {
  return d == Dialect::kOma ? "OMA JSON" : "SenML JSON";
}

CodecResult encode(Dialect d, const CodecContext& ctx, std::span<const Record> records,
                   std::vector<uint8_t>* out) {
  return d == Dialect::kOma ? encode_oma_json(ctx, records, out)
                            : encode_senml_json(ctx, records, out);
}

CodecResult decode(Dialect d, const CodecContext& ctx, std::span<const uint8_t> in,
                   std::vector<Record>* out) {
  return d == Dialect::kOma ? decode_oma_json(ctx, in, out) : decode_senml_json(ctx, in, out);
}

std::string encode_ok(Dialect d, const CodecContext& ctx, const std::vector<Record>& records) {
  std::vector<uint8_t> out;
  const CodecResult r = encode(d, ctx, records, &out);
  EXPECT_TRUE(r.ok()) << name_of(d) << ": " << r.reason;
  return std::string(out.begin(), out.end());
}

std::vector<Record> decode_ok(Dialect d, const CodecContext& ctx, std::string_view text) {
  std::vector<Record> out;
  const CodecResult r = decode(d, ctx, bytes_of(text), &out);
  EXPECT_TRUE(r.ok()) << name_of(d) << " " << text << ": " << r.reason;
  return out;
}

CodecResult decode_error(Dialect d, const CodecContext& ctx, std::string_view text) {
  std::vector<Record> out;
  const CodecResult r = decode(d, ctx, bytes_of(text), &out);
  EXPECT_FALSE(r.ok()) << name_of(d) << " decoded " << text;
  EXPECT_FALSE(r.reason.empty());
  EXPECT_TRUE(out.empty());
  return r;
}

TEST(FormatJson, OmaJsonDeviceInstanceMatchesTheTs) {
  const CodecContext ctx = device_context(path(3, 0));
  EXPECT_EQ(encode_ok(Dialect::kOma, ctx, device_records()), compact(kDeviceOmaJson));
  EXPECT_EQ(decode_ok(Dialect::kOma, ctx, kDeviceOmaJson), device_records());
}

TEST(FormatJson, SenmlJsonDeviceInstanceMatchesTheTs) {
  const CodecContext ctx = device_context(path(3, 0));
  EXPECT_EQ(encode_ok(Dialect::kSenml, ctx, device_records()), compact(kDeviceSenmlJson));
  EXPECT_EQ(decode_ok(Dialect::kSenml, ctx, kDeviceSenmlJson), device_records());
}

TEST(FormatJson, ObjectLevelNamesIncludeTheInstance) {
  const CodecContext ctx = device_context(path(3));
  const std::vector<Record> records{{path(3, 0, 9), int64_t{100}}, {path(3, 1, 6, 2), int64_t{1}}};
  const std::string senml = R"([{"bn":"/3/","n":"0/9","v":100},{"n":"1/6/2","v":1}])";
  const std::string oma = R"({"bn":"/3/","e":[{"n":"0/9","v":100},{"n":"1/6/2","v":1}]})";
  EXPECT_EQ(encode_ok(Dialect::kSenml, ctx, records), senml);
  EXPECT_EQ(encode_ok(Dialect::kOma, ctx, records), oma);
  EXPECT_EQ(decode_ok(Dialect::kSenml, ctx, senml), records);
  EXPECT_EQ(decode_ok(Dialect::kOma, ctx, oma), records);
}

TEST(FormatJson, SingleResourceIsNamedByTheBaseName) {
  const CodecContext ctx = device_context(path(3, 0, 0));
  const std::vector<Record> records{{path(3, 0, 0), std::string("Open Mobile Alliance")}};
  const std::string senml = R"([{"bn":"/3/0/0","vs":"Open Mobile Alliance"}])";
  const std::string oma = R"({"bn":"/3/0/0","e":[{"sv":"Open Mobile Alliance"}]})";
  EXPECT_EQ(encode_ok(Dialect::kSenml, ctx, records), senml);
  EXPECT_EQ(encode_ok(Dialect::kOma, ctx, records), oma);
  EXPECT_EQ(decode_ok(Dialect::kSenml, ctx, senml), records);
  EXPECT_EQ(decode_ok(Dialect::kOma, ctx, oma), records);
  // Other spellings of the same name.
  EXPECT_EQ(decode_ok(Dialect::kSenml, ctx, R"([{"n":"/3/0/0","vs":"Open Mobile Alliance"}])"),
            records);
  EXPECT_EQ(
      decode_ok(Dialect::kSenml, ctx, R"([{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"}])"),
      records);
  EXPECT_EQ(decode_ok(Dialect::kOma, ctx, R"({"e":[{"n":"/3/0/0","sv":"Open Mobile Alliance"}]})"),
            records);
}

TEST(FormatJson, MultipleResourceNamesItsInstances) {
  const CodecContext ctx = device_context(path(3, 0, 7));
  const std::vector<Record> records{{path(3, 0, 7, 0), int64_t{3800}},
                                    {path(3, 0, 7, 1), int64_t{5000}}};
  const std::string senml = R"([{"bn":"/3/0/7/","n":"0","v":3800},{"n":"1","v":5000}])";
  const std::string oma = R"({"bn":"/3/0/7/","e":[{"n":"0","v":3800},{"n":"1","v":5000}]})";
  EXPECT_EQ(encode_ok(Dialect::kSenml, ctx, records), senml);
  EXPECT_EQ(encode_ok(Dialect::kOma, ctx, records), oma);
  EXPECT_EQ(decode_ok(Dialect::kSenml, ctx, senml), records);
  EXPECT_EQ(decode_ok(Dialect::kOma, ctx, oma), records);
}

TEST(FormatJson, ValueLabelsPerType) {
  const Lwm2mPath p = path(9, 0, 1);
  const struct {
    Value value;
    ResourceType type;
    std::string senml;
    std::string oma;
  } cases[] = {
      {std::string("a\"b\\c\n\x01\xc3\xa9/"), ResourceType::kString,
       R"("vs":"a\"b\\c\n\u0001)"
       "\xc3\xa9/\"",
       R"("sv":"a\"b\\c\n\u0001)"
       "\xc3\xa9/\""},
      {int64_t{-7}, ResourceType::kInteger, R"("v":-7)", R"("v":-7)"},
      {std::numeric_limits<uint64_t>::max(), ResourceType::kUnsignedInteger,
       R"("v":18446744073709551615)", R"("v":18446744073709551615)"},
      {22.5, ResourceType::kFloat, R"("v":22.5)", R"("v":22.5)"},
      {3.0, ResourceType::kFloat, R"("v":3.0)", R"("v":3.0)"},
      {1e300, ResourceType::kFloat, R"("v":1e+300)", R"("v":1e+300)"},
      {true, ResourceType::kBoolean, R"("vb":true)", R"("bv":true)"},
      {Opaque{{0xfb, 0xff}}, ResourceType::kOpaque, R"("vd":"-_8")", R"("sv":"+/8=")"},
      {Opaque{{1, 2, 3}}, ResourceType::kOpaque, R"("vd":"AQID")", R"("sv":"AQID")"},
      {Opaque{}, ResourceType::kOpaque, R"("vd":"")", R"("sv":"")"},
      {TimeValue{-5}, ResourceType::kTime, R"("v":-5)", R"("v":-5)"},
      {Objlnk{3, 0}, ResourceType::kObjlnk, R"("vlo":"3:0")", R"("ov":"3:0")"},
      {CoreLink{"</3/0>;ver=\"1.1\""}, ResourceType::kCoreLink, R"("vs":"</3/0>;ver=\"1.1\"")",
       R"("sv":"</3/0>;ver=\"1.1\"")"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.senml);
    const CodecContext ctx = typed_context(p, c.type);
    const std::vector<Record> records{{p, c.value}};
    const std::string senml = R"([{"bn":"/9/0/1",)" + c.senml + "}]";
    const std::string oma = R"({"bn":"/9/0/1","e":[{)" + c.oma + "}]}";
    EXPECT_EQ(encode_ok(Dialect::kSenml, ctx, records), senml);
    EXPECT_EQ(encode_ok(Dialect::kOma, ctx, records), oma);
    EXPECT_EQ(decode_ok(Dialect::kSenml, ctx, senml), records);
    EXPECT_EQ(decode_ok(Dialect::kOma, ctx, oma), records);
  }
}

TEST(FormatJson, OpaqueAcceptsEitherBase64Alphabet) {
  const Lwm2mPath p = path(9, 0, 1);
  const CodecContext ctx = typed_context(p, ResourceType::kOpaque);
  const std::vector<Record> records{{p, Opaque{{0xfb, 0xff}}}};
  for (std::string_view v : {"-_8", "+/8", "+/8=", "-_8="}) {
    EXPECT_EQ(decode_ok(Dialect::kSenml, ctx, R"([{"n":"/9/0/1","vd":")" + std::string(v) + "\"}]"),
              records);
    EXPECT_EQ(
        decode_ok(Dialect::kOma, ctx, R"({"e":[{"n":"/9/0/1","sv":")" + std::string(v) + "\"}]}"),
        records);
  }
}

TEST(FormatJson, BaseTimeIsWrittenWhenSet) {
  CodecContext ctx = device_context(path(3, 0));
  ctx.base_time = 1700000000;
  const std::vector<Record> records{{path(3, 0, 9), int64_t{100}}, {path(3, 0, 10), int64_t{15}}};
  const std::string senml = R"([{"bn":"/3/0/","bt":1700000000,"n":"9","v":100},{"n":"10","v":15}])";
  const std::string oma =
      R"({"bn":"/3/0/","bt":1700000000,"e":[{"n":"9","v":100},{"n":"10","v":15}]})";
  EXPECT_EQ(encode_ok(Dialect::kSenml, ctx, records), senml);
  EXPECT_EQ(encode_ok(Dialect::kOma, ctx, records), oma);
  EXPECT_EQ(decode_ok(Dialect::kSenml, ctx, senml), records);
  EXPECT_EQ(decode_ok(Dialect::kOma, ctx, oma), records);
  // Per-record times are accepted and dropped: records carry no time.
  EXPECT_EQ(
      decode_ok(Dialect::kSenml, ctx,
                R"([{"bn":"/3/0/","bt":1.5,"n":"9","v":100,"t":-10},{"n":"10","v":15,"t":0}])"),
      records);
}

TEST(FormatJson, SenmlNamesWithoutValuesForComposite) {
  const CodecContext ctx = device_context(Lwm2mPath{});
  const std::vector<Record> request{{path(3, 0, 0), std::monostate{}},
                                    {path(1, 0), std::monostate{}},
                                    {path(5), std::monostate{}}};
  const std::string text = R"([{"n":"/3/0/0"},{"n":"/1/0"},{"n":"/5"}])";
  EXPECT_EQ(encode_ok(Dialect::kSenml, ctx, request), text);
  EXPECT_EQ(decode_ok(Dialect::kSenml, ctx, text), request);
  const std::vector<Record> response{{path(3, 0, 0), std::string("Open Mobile Alliance")},
                                     {path(3, 0, 9), int64_t{100}}};
  const std::string answer =
      R"([{"n":"/3/0/0","vs":"Open Mobile Alliance"},{"n":"/3/0/9","v":100}])";
  EXPECT_EQ(encode_ok(Dialect::kSenml, ctx, response), answer);
  EXPECT_EQ(decode_ok(Dialect::kSenml, ctx, answer), response);
  // OMA JSON has no records without values.
  std::vector<uint8_t> out;
  EXPECT_EQ(encode_oma_json(ctx, request, &out).code, CoapCode::kNotAcceptable);
  EXPECT_TRUE(out.empty());
}

TEST(FormatJson, UntypedNumbersKeepTheirJsonForm) {
  const CodecContext ctx = typed_context(path(9, 0), ResourceType::kNone);
  const std::vector<Record> expected{
      {path(9, 0, 1), int64_t{5}},
      {path(9, 0, 2), 2.5},
      {path(9, 0, 3), std::numeric_limits<uint64_t>::max()},
      {path(9, 0, 4), int64_t{-7}},
      {path(9, 0, 5), 3.0},
      {path(9, 0, 6), std::string("x")},
      {path(9, 0, 7), true},
      {path(9, 0, 8), Opaque{{1, 2}}},
      {path(9, 0, 9), Objlnk{1, 2}},
  };
  EXPECT_EQ(decode_ok(Dialect::kSenml, ctx,
                      R"([{"bn":"/9/0/","n":"1","v":5},{"n":"2","v":2.5},)"
                      R"({"n":"3","v":18446744073709551615},{"n":"4","v":-7},{"n":"5","v":3.0},)"
                      R"({"n":"6","vs":"x"},{"n":"7","vb":true},{"n":"8","vd":"AQI"},)"
                      R"({"n":"9","vlo":"1:2"}])"),
            expected);
}

TEST(FormatJson, NumbersAreCheckedAgainstTheModelsType) {
  const Lwm2mPath p = path(9, 0, 1);
  auto one = [&](Value v) { return std::vector<Record>{{p, std::move(v)}}; };
  auto senml = [](std::string_view number) {
    return R"([{"n":"/9/0/1","v":)" + std::string(number) + "}]";
  };
  const CodecContext integer = typed_context(p, ResourceType::kInteger);
  EXPECT_EQ(decode_ok(Dialect::kSenml, integer, senml("3.0")), one(int64_t{3}));
  EXPECT_EQ(decode_ok(Dialect::kSenml, integer, senml("-2e3")), one(int64_t{-2000}));
  EXPECT_EQ(decode_ok(Dialect::kSenml, integer, senml("-9223372036854775808")),
            one(std::numeric_limits<int64_t>::min()));
  const CodecContext unsigned_int = typed_context(p, ResourceType::kUnsignedInteger);
  EXPECT_EQ(decode_ok(Dialect::kSenml, unsigned_int, senml("7")), one(uint64_t{7}));
  const CodecContext floating = typed_context(p, ResourceType::kFloat);
  EXPECT_EQ(decode_ok(Dialect::kSenml, floating, senml("5")), one(5.0));
  EXPECT_EQ(decode_ok(Dialect::kSenml, floating, senml("-5")), one(-5.0));
  const CodecContext time = typed_context(p, ResourceType::kTime);
  EXPECT_EQ(decode_ok(Dialect::kSenml, time, senml("1700000000")), one(TimeValue{1700000000}));

  for (std::string_view bad : {"3.5", "9223372036854775808", "1e19", "-9.3e18"}) {
    EXPECT_EQ(decode_error(Dialect::kSenml, integer, senml(bad)).code, CoapCode::kBadRequest)
        << bad;
  }
  for (std::string_view bad : {"-1", "0.5", "18446744073709551616", "2e19"}) {
    EXPECT_EQ(decode_error(Dialect::kSenml, unsigned_int, senml(bad)).code, CoapCode::kBadRequest)
        << bad;
  }
  EXPECT_EQ(decode_error(Dialect::kSenml, time, senml("1.5")).code, CoapCode::kBadRequest);
  for (ResourceType t : {ResourceType::kString, ResourceType::kBoolean, ResourceType::kOpaque,
                         ResourceType::kObjlnk, ResourceType::kCoreLink}) {
    const CodecResult r = decode_error(Dialect::kSenml, typed_context(p, t), senml("1"));
    EXPECT_EQ(r.code, CoapCode::kBadRequest);
    EXPECT_NE(r.reason.find("/9/0/1"), std::string::npos) << r.reason;
  }
}

TEST(FormatJson, MalformedSenmlIsBadRequest) {
  const CodecContext ctx = device_context(path(3, 0));
  for (std::string_view text : {
           "",
           "[",
           "[{\"n\":\"/3/0/9\",\"v\":1}",
           "{}",
           "1",
           "[1]",
           "[[]]",
           R"([{"n":9,"v":1}])",
           R"([{"bn":3,"n":"9","v":1}])",
           R"([{"v":1}])",
           R"([{"n":"3/0/9","v":1}])",
           R"([{"n":"/3/0/x","v":1}])",
           R"([{"n":"/3/0/9/1/2","v":1}])",
           R"([{"n":"/3/0/65535","v":1}])",
           R"([{"bn":"/3/0","n":"9","v":1}])",
           R"([{"n":"/3/1/9","v":1}])",
           R"([{"n":"/4/0/9","v":1}])",
           R"([{"n":"/3","v":1}])",
           R"([{"n":"/3/0","v":1}])",
           R"([{"n":"/3/0/9","v":1,"vs":"1"}])",
           R"([{"n":"/3/0/9","v":"1"}])",
           R"([{"n":"/3/0/9","vs":"1"}])",
           R"([{"n":"/3/0/0","vs":1}])",
           R"([{"n":"/3/0/0","vb":true}])",
           R"([{"n":"/3/0/0","vd":"AQI"}])",
           R"([{"n":"/3/0/0","vlo":"1:2"}])",
           R"([{"n":"/3/0/9","v":1e400}])",
           R"([{"n":"/3/0/9","v":null}])",
           R"([{"n":"/3/0/9","v":1,"t":"now"}])",
           R"([{"n":"/3/0/9","v":1,"bt":[]}])",
           R"([{"n":"/3/0/9","v":1,"bv":1}])",
           R"([{"n":"/3/0/9","v":1,"s":1}])",
           R"([{"n":"/3/0/9","v":1,"foo_":1}])",
           R"([{"n":"/3/0/9","v":1}] x)",
       }) {
    EXPECT_EQ(decode_error(Dialect::kSenml, ctx, text).code, CoapCode::kBadRequest) << text;
  }
  // Data and object links are checked for their own syntax.
  const Lwm2mPath p = path(9, 0, 1);
  for (std::string_view bad : {"\"@@\"", "\"A\"", "\"AQI==\"", "\"AQ=I\"", "1"}) {
    EXPECT_EQ(decode_error(Dialect::kSenml, typed_context(p, ResourceType::kOpaque),
                           R"([{"n":"/9/0/1","vd":)" + std::string(bad) + "}]")
                  .code,
              CoapCode::kBadRequest)
        << bad;
  }
  for (std::string_view bad : {"\"3\"", "\"3:\"", "\":0\"", "\"3:65536\"", "\"a:b\"", "3"}) {
    EXPECT_EQ(decode_error(Dialect::kSenml, typed_context(p, ResourceType::kObjlnk),
                           R"([{"n":"/9/0/1","vlo":)" + std::string(bad) + "}]")
                  .code,
              CoapCode::kBadRequest)
        << bad;
  }
  EXPECT_EQ(decode_error(Dialect::kSenml, ctx, R"([{"n":"/3/0/9","v":{"x":1}}])").code,
            CoapCode::kBadRequest);
  // Unknown labels are ignored (RFC 8428 section 4.4), as is an empty pack.
  EXPECT_EQ(decode_ok(Dialect::kSenml, ctx, R"([{"n":"/3/0/9","x":{"v":"s","bn":3},"v":100}])"),
            (std::vector<Record>{{path(3, 0, 9), int64_t{100}}}));
  EXPECT_EQ(decode_ok(Dialect::kSenml, ctx, R"([{"n":"/3/0/9","v":100,"u":"%EL","x":[1]}])"),
            (std::vector<Record>{{path(3, 0, 9), int64_t{100}}}));
  EXPECT_TRUE(decode_ok(Dialect::kSenml, ctx, "[]").empty());
}

TEST(FormatJson, MalformedOmaJsonIsBadRequest) {
  const CodecContext ctx = device_context(path(3, 0));
  for (std::string_view text : {
           "",
           "[]",
           "{}",
           R"({"e":{}})",
           R"({"e":[1]})",
           R"({"bn":1,"e":[]})",
           R"({"bn":"/3/0/","bt":"x","e":[]})",
           R"({"bn":"/3/0/","e":[{"n":"9"}]})",
           R"({"bn":"/3/0/","e":[{"n":9,"v":1}]})",
           R"({"bn":"/3/0/","e":[{"n":"9","v":1,"sv":"1"}]})",
           R"({"bn":"/3/0/","e":[{"n":"9","v":"1"}]})",
           R"({"bn":"/3/0/","e":[{"n":"9","sv":"1"}]})",
           R"({"bn":"/3/0/","e":[{"n":"0","bv":true}]})",
           R"({"bn":"/3/0/","e":[{"n":"0","ov":"3:0"}]})",
           R"({"bn":"/3/0/","e":[{"n":"9","v":1,"t":"x"}]})",
           R"({"bn":"/3/0/","e":[{"n":"x","v":1}]})",
           R"({"bn":"/3/1/","e":[{"n":"9","v":1}]})",
           R"({"e":[{"v":1}]})",
           R"({"bn":"/3/","e":[{"n":"0","v":1}]})",
           R"({"bn":"/3/0/","e":[{"n":"9","v":[1]}]})",
           R"({"bn":"/3/0/","bn":"/3/1/","e":[]})",
           R"({"bn":"/3/0/","e":[],"e":[]})",
           R"({"bn":{},"e":[{"n":"9","v":1}]})",
           R"({"e":[{"n":"9","v":1}],"bn":5})",
           R"({"e":[{"n":"9","v":1}],"bn":"/3/1/"})",
       }) {
    EXPECT_EQ(decode_error(Dialect::kOma, ctx, text).code, CoapCode::kBadRequest) << text;
  }
  // Members may come in any order, and unknown ones are skipped whatever they hold.
  const std::vector<Record> nine{{path(3, 0, 9), int64_t{100}}};
  EXPECT_EQ(decode_ok(Dialect::kOma, ctx, R"({"e":[{"n":"9","v":100}],"bn":"/3/0/"})"), nine);
  EXPECT_EQ(
      decode_ok(Dialect::kOma, ctx,
                R"({"x":{"e":[1,{"a":[]}]},"bn":"/3/0/","e":[{"y":{"v":"s"},"n":"9","v":100}]})"),
      nine);
  EXPECT_TRUE(decode_ok(Dialect::kOma, ctx, R"({"bn":"/3/0/","e":[]})").empty());
  const CodecResult r =
      decode_error(Dialect::kOma, ctx, R"({"bn":"/3/0/","e":[{"n":"9","bv":true}]})");
  EXPECT_NE(r.reason.find("/3/0/9"), std::string::npos) << r.reason;
}

TEST(FormatJson, EncodeRefusesWhatJsonCannotCarry) {
  for (Dialect d : {Dialect::kOma, Dialect::kSenml}) {
    std::vector<uint8_t> out;
    const Lwm2mPath p = path(9, 0, 1);
    const CodecContext ctx = typed_context(path(9, 0), ResourceType::kNone);
    std::vector<Record> nan{{p, std::nan("")}};
    EXPECT_EQ(encode(d, ctx, nan, &out).code, CoapCode::kNotAcceptable);
    std::vector<Record> inf{{p, -std::numeric_limits<double>::infinity()}};
    EXPECT_EQ(encode(d, ctx, inf, &out).code, CoapCode::kNotAcceptable);
    std::vector<Record> broken{{p, std::string("\xff")}};
    EXPECT_EQ(encode(d, ctx, broken, &out).code, CoapCode::kInternalServerError);
    std::vector<Record> outside{{path(9, 1, 1), int64_t{1}}};
    EXPECT_EQ(encode(d, ctx, outside, &out).code, CoapCode::kInternalServerError);
    EXPECT_TRUE(out.empty()) << name_of(d);
  }
}

std::string random_string(Rng& rng) {
  static constexpr std::string_view kPieces[] = {"a",
                                                 "Z",
                                                 "0",
                                                 " ",
                                                 "\"",
                                                 "\\",
                                                 "/",
                                                 "\n",
                                                 "\t",
                                                 "\x01",
                                                 "\x1f",
                                                 "\x7f",
                                                 "\xc3\xa9",
                                                 "\xe2\x82\xac",
                                                 "\xf0\x9f\x98\x80",
                                                 "{",
                                                 "]",
                                                 ",",
                                                 ":"};
  std::string s;
  const uint64_t n = rng.below(16);
  for (uint64_t i = 0; i < n; ++i) {
    s += kPieces[rng.below(std::size(kPieces))];
  }
  return s;
}

Value random_value(Rng& rng, ResourceType type) {
  switch (type) {
    case ResourceType::kString:
      return random_string(rng);
    case ResourceType::kFloat: {
      if (rng.below(2) == 0) {
        return std::round(rng.uniform(-1e4, 1e4)) / 8;
      }
      double d = 0;
      do {
        const uint64_t bits = rng.next();
        std::memcpy(&d, &bits, sizeof(d));
      } while (!std::isfinite(d));
      return d;
    }
    case ResourceType::kOpaque:
      return random_opaque(rng, rng.below(40));
    case ResourceType::kCoreLink:
      return CoreLink{"</" + std::to_string(rng.below(1000)) + ">;rt=\"x,y\""};
    default:
      return random_plain_value(rng, type);
  }
}

std::vector<Record> random_records(Rng& rng, RandomModel* model, uint32_t object) {
  static constexpr ResourceType kTypes[] = {
      ResourceType::kString, ResourceType::kInteger, ResourceType::kUnsignedInteger,
      ResourceType::kFloat,  ResourceType::kBoolean, ResourceType::kOpaque,
      ResourceType::kTime,   ResourceType::kObjlnk,  ResourceType::kCoreLink};
  const uint64_t n = 1 + rng.below(8);
  for (uint64_t i = 0; i < n; ++i) {
    const auto id = static_cast<uint32_t>(rng.below(3) == 0 ? rng.below(65535) : rng.below(30));
    model->types[id] = kTypes[rng.below(std::size(kTypes))];
    model->multiple[id] = rng.below(3) == 0;
  }
  std::vector<Record> records;
  const uint64_t instances = 1 + rng.below(3);
  for (uint64_t k = 0; k < instances; ++k) {
    const auto inst = static_cast<uint32_t>(k * 1000 + rng.below(1000));
    for (const auto& [id, type] : model->types) {
      if (model->multiple[id]) {
        const uint64_t count = rng.below(4);
        for (uint64_t ri = 0; ri < count; ++ri) {
          records.push_back(
              {path(object, inst, id, static_cast<uint32_t>(ri * 7)), random_value(rng, type)});
        }
      } else if (rng.below(4) != 0) {
        records.push_back({path(object, inst, id), random_value(rng, type)});
      }
    }
  }
  return records;
}

TEST(FormatJson, RandomRecordsRoundTrip) {
  Rng rng(0x150a);
  for (int round = 0; round < 300; ++round) {
    RandomModel model;
    const auto object = static_cast<uint32_t>(rng.below(65535));
    const std::vector<Record> records = random_records(rng, &model, object);
    for (Dialect d : {Dialect::kOma, Dialect::kSenml}) {
      for (const Lwm2mPath& base :
           {path(object), records.empty() ? path(object) : records.front().path}) {
        std::vector<Record> subset;
        for (const Record& r : records) {
          if (r.path.depth() >= base.depth() && (base.depth() < 4 || r.path == base) &&
              (base.depth() < 2 || r.path.instance == base.instance) &&
              (base.depth() < 3 || r.path.resource == base.resource)) {
            subset.push_back(r);
          }
        }
        const CodecContext ctx = model.context(base);
        const std::string text = encode_ok(d, ctx, subset);
        ASSERT_EQ(decode_ok(d, ctx, text), subset) << name_of(d) << " " << text;
      }
    }
    // The root, as Read-Composite answers use it.
    const CodecContext root = model.context(Lwm2mPath{});
    const std::string text = encode_ok(Dialect::kSenml, root, records);
    ASSERT_EQ(decode_ok(Dialect::kSenml, root, text), records) << text;
  }
}

TEST(FormatJson, EveryPrefixDecodesOrFailsCleanly) {
  Rng rng(31);
  for (int round = 0; round < 10; ++round) {
    RandomModel model;
    const std::vector<Record> records = random_records(rng, &model, 42);
    const CodecContext ctx = model.context(path(42));
    for (Dialect d : {Dialect::kOma, Dialect::kSenml}) {
      std::string text = encode_ok(d, ctx, records);
      text.resize(std::min<size_t>(text.size(), 400));
      for (size_t n = 0; n < text.size(); ++n) {
        // An exact-size copy lets ASan catch any read past the prefix.
        const std::vector<uint8_t> prefix(text.begin(), text.begin() + static_cast<long>(n));
        std::vector<Record> out;
        const CodecResult r = decode(d, ctx, prefix, &out);
        if (!r.ok()) {
          ASSERT_EQ(r.code, CoapCode::kBadRequest) << r.reason;
          ASSERT_TRUE(out.empty());
        }
      }
    }
  }
}

}  // namespace
}  // namespace lwm2msim
