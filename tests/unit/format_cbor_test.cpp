#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/format/cbor_codec.h"
#include "sim/format/format.h"
#include "sim/util/rng.h"
#include "tests/unit/format_fixtures.h"

namespace lwm2msim {
namespace {

Lwm2mPath path(std::string_view text) {
  Lwm2mPath p;
  EXPECT_TRUE(parse_lwm2m_path(text, &p)) << text;
  return p;
}

Lwm2mPath resource_of(Lwm2mPath p) {
  p.resource_instance = Lwm2mPath::kAbsent;
  return p;
}

// [{-2: "/3/0/", 0: "0", 3: "Open Mobile Alliance"}, {0: "1", 3: "Lightweight M2M Client"},
//  {0: "2", 3: "345000123"}, {0: "3", 3: "1.0"}, {0: "6/0", 2: 1}, {0: "6/1", 2: 5},
//  {0: "7/0", 2: 3800}, {0: "7/1", 2: 5000}, {0: "8/0", 2: 125}, {0: "8/1", 2: 900},
//  {0: "9", 2: 100}, {0: "10", 2: 15}, {0: "11/0", 2: 0}, {0: "13", 2: 1367491215},
//  {0: "14", 3: "+02:00"}, {0: "16", 3: "U"}]
// The TS 1.1 section 7.4.5 SenML JSON Read of /3/0, in SenML CBOR's integer labels.
constexpr std::string_view kDeviceSenmlCbor =
    "90a321652f332f302f00613003744f70656e204d6f62696c6520416c6c69616e6365a200613103764c696768"
    "74776569676874204d324d20436c69656e74a20061320369333435303030313233a20061330363312e30a200"
    "63362f300201a20063362f310205a20063372f3002190ed8a20063372f3102191388a20063382f3002187da2"
    "0063382f3102190384a2006139021864a200623130020fa2006431312f300200a200623133021a5182428fa2"
    "0062313403662b30323a3030a200623136036155";

// {[3, 0]: {0: "Open Mobile Alliance", 1: "Lightweight M2M Client", 2: "345000123", 3: "1.0",
//  6: {0: 1, 1: 5}, 7: {0: 3800, 1: 5000}, 8: {0: 125, 1: 900}, 9: 100, 10: 15, 11: {0: 0},
//  13: 1367491215, 14: "+02:00", 16: "U"}}
// The same Read in LwM2M CBOR (TS 1.2 section 7.4.7): the base path as the outer key.
constexpr std::string_view kDeviceLwm2mCbor =
    "a1820300ad00744f70656e204d6f62696c6520416c6c69616e636501764c69676874776569676874204d324d"
    "20436c69656e7402693334353030303132330363312e3006a20001010507a200190ed80119138808a200187d"
    "011903840918640a0f0ba100000d1a5182428f0e662b30323a3030106155";

bool record_less(const Record& a, const Record& b) {
  return path_less(a.path, b.path);
}

std::vector<Record> sorted(std::vector<Record> records) {
  std::sort(records.begin(), records.end(), record_less);
  return records;
}

CodecResult decode_with(uint16_t format, const CodecContext& ctx, std::span<const uint8_t> in,
                        std::vector<Record>* out) {
  return format == CoapContentFormat::kSenmlCbor ? decode_senml_cbor(ctx, in, out)
                                                 : decode_lwm2m_cbor(ctx, in, out);
}

CodecResult encode_with(uint16_t format, const CodecContext& ctx, std::span<const Record> in,
                        std::vector<uint8_t>* out) {
  return format == CoapContentFormat::kSenmlCbor ? encode_senml_cbor(ctx, in, out)
                                                 : encode_lwm2m_cbor(ctx, in, out);
}

// Every payload (in hex) is a bad request that leaves the records already decoded alone.
void expect_bad_requests(uint16_t format, const CodecContext& ctx,
                         std::span<const std::string_view> cases) {
  for (std::string_view h : cases) {
    std::vector<Record> out = {{path("/9/9/9"), true}};
    const CodecResult r = decode_with(format, ctx, hex(h), &out);
    EXPECT_EQ(r.code, CoapCode::kBadRequest) << h;
    EXPECT_FALSE(r.reason.empty()) << h;
    EXPECT_EQ(out.size(), 1u) << h;
  }
}

// ---- SenML CBOR ----------------------------------------------------------------------------

TEST(FormatSenmlCbor, DeviceInstanceReadMatchesTheTsExample) {
  const CodecContext ctx = device_context(path("/3/0"));
  const std::vector<Record> records = device_records();
  std::vector<uint8_t> out;
  ASSERT_TRUE(encode_senml_cbor(ctx, records, &out).ok());
  EXPECT_EQ(to_hex(out), kDeviceSenmlCbor);

  std::vector<Record> decoded;
  const CodecResult r = decode_senml_cbor(ctx, hex(kDeviceSenmlCbor), &decoded);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(decoded, records);

  // Through the dispatcher too.
  std::vector<uint8_t> again;
  ASSERT_TRUE(encode(CoapContentFormat::kSenmlCbor, ctx, records, &again).ok());
  EXPECT_EQ(again, out);
  decoded.clear();
  ASSERT_TRUE(decode(CoapContentFormat::kSenmlCbor, ctx, out, &decoded).ok());
  EXPECT_EQ(decoded, records);
}

TEST(FormatSenmlCbor, SingleResourceIsNamedByBaseNameAlone) {
  const CodecContext ctx = device_context(path("/3/0/0"));
  const std::vector<Record> records = {{path("/3/0/0"), std::string("Open Mobile Alliance")}};
  std::vector<uint8_t> out;
  ASSERT_TRUE(encode_senml_cbor(ctx, records, &out).ok());
  // [{-2: "/3/0/0", 3: "Open Mobile Alliance"}]
  EXPECT_EQ(to_hex(out), "81a221662f332f302f3003744f70656e204d6f62696c6520416c6c69616e6365");
  std::vector<Record> decoded;
  ASSERT_TRUE(decode_senml_cbor(ctx, out, &decoded).ok());
  EXPECT_EQ(decoded, records);
}

TEST(FormatSenmlCbor, BaseTimeGoesIntoTheFirstRecord) {
  CodecContext ctx = device_context(path("/3/0/7"));
  ctx.base_time = 1700000000;
  const std::vector<Record> records = {{path("/3/0/7/0"), int64_t{3800}},
                                       {path("/3/0/7/1"), int64_t{5000}}};
  std::vector<uint8_t> out;
  ASSERT_TRUE(encode_senml_cbor(ctx, records, &out).ok());
  // [{-2: "/3/0/7/", -3: 1700000000, 0: "0", 2: 3800}, {0: "1", 2: 5000}]
  EXPECT_EQ(to_hex(out),
            "82a421672f332f302f372f221a6553f10000613002190ed8a2006131021913"
            "88");
  std::vector<Record> decoded;
  ASSERT_TRUE(decode_senml_cbor(ctx, out, &decoded).ok());
  EXPECT_EQ(decoded, records);
}

TEST(FormatSenmlCbor, NamesMayBeSplitAnyWay) {
  // [{-2: "/3/0", 0: "/9", 2: 100}, {0: "/6/0", 2: 1}, {-2: "/3/", 0: "0/13", 2: 1(1367491215)}]
  std::vector<uint8_t> in;
  CborWriter w(&in);
  w.write_array(3);
  w.write_map(3);
  w.write_int(-2);
  w.write_text("/3/0");
  w.write_int(0);
  w.write_text("/9");
  w.write_int(2);
  w.write_uint(100);
  w.write_map(2);
  w.write_int(0);
  w.write_text("/6/0");
  w.write_int(2);
  w.write_uint(1);
  w.write_map(3);
  w.write_int(-2);
  w.write_text("/3/");
  w.write_int(0);
  w.write_text("0/13");
  w.write_int(2);
  w.write_tag(1);
  w.write_uint(1367491215);
  std::vector<Record> decoded;
  const CodecResult r = decode_senml_cbor(device_context(path("/3/0")), in, &decoded);
  ASSERT_TRUE(r.ok()) << r.reason;
  const std::vector<Record> want = {{path("/3/0/9"), int64_t{100}},
                                    {path("/3/0/6/0"), int64_t{1}},
                                    {path("/3/0/13"), TimeValue{1367491215}}};
  EXPECT_EQ(decoded, want);
}

TEST(FormatSenmlCbor, CompositeRequestsCarryFullNamesAndNoValues) {
  CodecContext ctx;  // root base, no type information
  const std::vector<Record> records = {
      {path("/3/0/9"), {}}, {path("/3303/0"), {}}, {path("/1"), {}}};
  std::vector<uint8_t> out;
  ASSERT_TRUE(encode_senml_cbor(ctx, records, &out).ok());
  // [{0: "/3/0/9"}, {0: "/3303/0"}, {0: "/1"}]
  EXPECT_EQ(to_hex(out), "83a100662f332f302f39a100672f333330332f30a100622f31");
  std::vector<Record> decoded;
  ASSERT_TRUE(decode_senml_cbor(ctx, out, &decoded).ok());
  EXPECT_EQ(decoded, records);
}

TEST(FormatSenmlCbor, EveryValueLabel) {
  CodecContext ctx;
  ctx.base = path("/3303/0");
  const std::vector<Record> records = {
      {path("/3303/0/5700"), 22.5},
      {path("/3303/0/5701"), std::string("Cel")},
      {path("/3303/0/5850"), true},
      {path("/3303/0/5750"), Opaque{{0xde, 0xad}}},
      {path("/3303/0/5518"), TimeValue{-5}},
      {path("/3303/0/5600"), int64_t{-40}},
      {path("/3303/0/5601"), uint64_t{UINT64_MAX}},
      {path("/3303/0/5602"), Objlnk{3, 0}},
      {path("/3303/0/5603"), CoreLink{"</3/0>"}},
  };
  std::map<std::string, ResourceType> types;
  for (const Record& r : records) {
    types[r.path.to_string()] = type_of(r.value);
  }
  ctx.type_of = [&](const Lwm2mPath& p) {
    const auto it = types.find(p.to_string());
    return it == types.end() ? ResourceType::kNone : it->second;
  };
  std::vector<uint8_t> out;
  ASSERT_TRUE(encode_senml_cbor(ctx, records, &out).ok());
  // [{-2: "/3303/0/", 0: "5700", 2: 22.5}, {0: "5701", 3: "Cel"}, {0: "5850", 4: true},
  //  {0: "5750", 8: h'dead'}, {0: "5518", 2: -5}, {0: "5600", 2: -40},
  //  {0: "5601", 2: 18446744073709551615}, {0: "5602", "vlo": "3:0"}, {0: "5603", 3: "</3/0>"}]
  EXPECT_EQ(to_hex(out),
            "89a321682f333330332f302f00643537303002f94da0a200643537303103634365"
            "6ca200643538353004f5a20064353735300842dead"
            "a200643535313802"
            "24"
            "a200643536303002"
            "3827"
            "a200643536303102"
            "1bffffffffffffffff"
            "a2006435363032"
            "63766c6f"
            "63333a30"
            "a2006435363033"
            "03"
            "663c2f332f303e");
  std::vector<Record> decoded;
  const CodecResult r = decode_senml_cbor(ctx, out, &decoded);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(decoded, records);
}

TEST(FormatSenmlCbor, MalformedPayloadsAreBadRequests) {
  const CodecContext ctx = device_context(path("/3/0"));
  const std::string_view cases[] = {
      "a0",                // not an array
      "8101",              // record is not a map
      "81a1006131",        // name "1" is not a path
      "81a200622f3902f5",  // v is not a number
      "81a2006a2f332f302f392f312f3102"
      "01",                    // path too deep
      "81a100662f332f312f39",  // /3/1/9 outside /3/0
      "81a20064"
      "2f332f30"
      "0201",  // value for an instance
      "81a300662f332f302f39021864"
      "0418",                            // two values (and truncated)
      "81a300662f332f302f3902186404f5",  // two values
      "81a2006a2f332f302f3939393939"
      "0201",  // id 99999
      "81a2000102"
      "01",  // n is not text
      "81a300662f332f302f39021864"
      "64666f6f5f01",                    // must-understand label "foo_"
      "81a300662f332f302f390218642401",  // bv (-5) is not supported
      "81a200662f332f302f390463747275",  // vb is not a boolean
      "81a200662f332f302f39"
      "0863"
      "616263",                    // vd is not a byte string
      "81bf00662f332f302f3902ff",  // a key without a value
      "81a200662f332f302f3903"
      "6161",  // vs for an integer resource
      "81a200662f332f302f3002"
      "01",  // v for a string resource
      "81a2"
      "0068"
      "2f332f302f31332f"
      "02fb3ff8000000000000",  // time 1.5 s
      "81a100662f332f302f39"
      "00",  // trailing byte
      "81a2"
      "00662f332f302f39"
      "00662f332f302f39",  // n twice
  };
  expect_bad_requests(CoapContentFormat::kSenmlCbor, ctx, cases);
}

// ---- LwM2M CBOR ----------------------------------------------------------------------------

TEST(FormatLwm2mCbor, DeviceInstanceReadMatchesTheTsExample) {
  const CodecContext ctx = device_context(path("/3/0"));
  const std::vector<Record> records = device_records();
  std::vector<uint8_t> out;
  ASSERT_TRUE(encode_lwm2m_cbor(ctx, records, &out).ok());
  EXPECT_EQ(to_hex(out), kDeviceLwm2mCbor);

  std::vector<Record> decoded;
  const CodecResult r = decode_lwm2m_cbor(ctx, hex(kDeviceLwm2mCbor), &decoded);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(sorted(decoded), sorted(records));

  std::vector<uint8_t> again;
  ASSERT_TRUE(encode(CoapContentFormat::kLwm2mCbor, ctx, records, &again).ok());
  EXPECT_EQ(again, out);
  decoded.clear();
  ASSERT_TRUE(decode(CoapContentFormat::kLwm2mCbor, ctx, out, &decoded).ok());
  EXPECT_EQ(sorted(decoded), sorted(records));
}

TEST(FormatLwm2mCbor, RecordOrderDoesNotMatter) {
  const CodecContext ctx = device_context(path("/3/0"));
  std::vector<Record> records = device_records();
  std::reverse(records.begin(), records.end());
  std::vector<uint8_t> out;
  ASSERT_TRUE(encode_lwm2m_cbor(ctx, records, &out).ok());
  EXPECT_EQ(to_hex(out), kDeviceLwm2mCbor);
}

TEST(FormatLwm2mCbor, BasePathBecomesTheOuterKey) {
  struct Case {
    std::string_view base;
    std::vector<Record> records;
    std::string_view hex;
  };
  const Case cases[] = {
      // {[3, 0, 9]: 100}
      {"/3/0/9", {{path("/3/0/9"), int64_t{100}}}, "a1830300091864"},
      // {[3, 0, 6]: {0: 1, 1: 5}}
      {"/3/0/6",
       {{path("/3/0/6/0"), int64_t{1}}, {path("/3/0/6/1"), int64_t{5}}},
       "a1830300"
       "06a200010105"},
      // {3: {0: {9: 100}}}
      {"/3", {{path("/3/0/9"), int64_t{100}}}, "a103a100a1091864"},
      // {3: {0: {9: 100}}, 3303: {1: {5700: 22.5}}}
      {"/",
       {{path("/3303/1/5700"), 22.5}, {path("/3/0/9"), int64_t{100}}},
       "a203a100a1091864190ce7a101a1191644f94da0"},
      // {[3, 0]: {}}
      {"/3/0", {}, "a0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.base);
    const CodecContext ctx = device_context(path(c.base));
    std::vector<uint8_t> out;
    ASSERT_TRUE(encode_lwm2m_cbor(ctx, c.records, &out).ok());
    EXPECT_EQ(to_hex(out), c.hex);
    std::vector<Record> decoded;
    const CodecResult r = decode_lwm2m_cbor(ctx, out, &decoded);
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_EQ(sorted(decoded), sorted(c.records));
  }
}

TEST(FormatLwm2mCbor, KeysMaySplitPathsAnyWay) {
  const std::vector<Record> want = {{path("/3/0/9"), int64_t{100}},
                                    {path("/3/0/6/0"), int64_t{1}},
                                    {path("/3/0/6/1"), int64_t{5}},
                                    {path("/3/0/13"), TimeValue{1367491215}}};
  const CodecContext ctx = device_context(path("/3/0"));

  // {3: {_ 0: {9: 100, [6, 0]: 1, [6]: {1: 5}, 13: 1(1367491215)}}}
  std::vector<uint8_t> nested;
  CborWriter w(&nested);
  w.write_map(1);
  w.write_uint(3);
  w.begin_map();
  w.write_uint(0);
  w.write_map(4);
  w.write_uint(9);
  w.write_uint(100);
  w.write_array(2);
  w.write_uint(6);
  w.write_uint(0);
  w.write_uint(1);
  w.write_array(1);
  w.write_uint(6);
  w.write_map(1);
  w.write_uint(1);
  w.write_uint(5);
  w.write_uint(13);
  w.write_tag(1);
  w.write_uint(1367491215);
  w.write_break();
  std::vector<Record> decoded;
  CodecResult r = decode_lwm2m_cbor(ctx, nested, &decoded);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(sorted(decoded), sorted(want));

  // {_ [_ 3, 0, 9]: 100, [3, 0, 6, 0]: 1, [3, 0, 6, 1]: 5, [3, 0, 13]: 1367491215}
  std::vector<uint8_t> flat;
  CborWriter f(&flat);
  f.begin_map();
  f.begin_array();
  f.write_uint(3);
  f.write_uint(0);
  f.write_uint(9);
  f.write_break();
  f.write_uint(100);
  for (uint64_t i : {0, 1}) {
    f.write_array(4);
    f.write_uint(3);
    f.write_uint(0);
    f.write_uint(6);
    f.write_uint(i);
    f.write_uint(i == 0 ? 1 : 5);
  }
  f.write_array(3);
  f.write_uint(3);
  f.write_uint(0);
  f.write_uint(13);
  f.write_uint(1367491215);
  f.write_break();
  decoded.clear();
  r = decode_lwm2m_cbor(ctx, flat, &decoded);
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(sorted(decoded), sorted(want));

  // The examples of the reference implementation's decoder tests: {[13, 26, 1]: 42} and
  // {_ [_ 13, 26, 1]: 42}, with a resource of unknown type.
  for (std::string_view h : {"a1830d181a01182a", "bf9f0d181a01ff182aff", "a10da1181aa101182a"}) {
    CodecContext plain;
    plain.base = path("/13/26/1");
    decoded.clear();
    r = decode_lwm2m_cbor(plain, hex(h), &decoded);
    ASSERT_TRUE(r.ok()) << h << ": " << r.reason;
    EXPECT_EQ(decoded, (std::vector<Record>{{path("/13/26/1"), int64_t{42}}})) << h;
  }
}

TEST(FormatLwm2mCbor, TheDataModelTypeDecidesNumbers) {
  std::map<std::string, ResourceType> types = {
      {"/9/0/1", ResourceType::kFloat},           {"/9/0/2", ResourceType::kInteger},
      {"/9/0/3", ResourceType::kUnsignedInteger}, {"/9/0/4", ResourceType::kTime},
      {"/9/0/5", ResourceType::kObjlnk},          {"/9/0/6", ResourceType::kCoreLink},
  };
  CodecContext ctx;
  ctx.base = path("/9/0");
  ctx.type_of = [&](const Lwm2mPath& p) {
    const auto it = types.find(p.to_string());
    return it == types.end() ? ResourceType::kNone : it->second;
  };
  const auto decode_one = [&](uint32_t resource, auto&& write_value, Value* value) {
    std::vector<uint8_t> in;
    CborWriter w(&in);
    w.write_map(1);
    w.write_array(3);
    w.write_uint(9);
    w.write_uint(0);
    w.write_uint(resource);
    write_value(w);
    std::vector<Record> out;
    const CodecResult r = decode_lwm2m_cbor(ctx, in, &out);
    if (r.ok()) {
      EXPECT_EQ(out.size(), 1u);
      *value = out.at(0).value;
    }
    return r;
  };
  Value v;
  ASSERT_TRUE(decode_one(
                  1, [](CborWriter& w) { w.write_uint(7); }, &v)
                  .ok());
  EXPECT_EQ(v, Value(7.0));
  ASSERT_TRUE(decode_one(
                  1, [](CborWriter& w) { w.write_int(-7); }, &v)
                  .ok());
  EXPECT_EQ(v, Value(-7.0));
  ASSERT_TRUE(decode_one(
                  2, [](CborWriter& w) { w.write_float(-3.0); }, &v)
                  .ok());
  EXPECT_EQ(v, Value(int64_t{-3}));
  EXPECT_FALSE(decode_one(
                   2, [](CborWriter& w) { w.write_float(3.5); }, &v)
                   .ok());
  EXPECT_FALSE(decode_one(
                   2, [](CborWriter& w) { w.write_uint(UINT64_MAX); }, &v)
                   .ok());
  EXPECT_FALSE(decode_one(
                   2, [](CborWriter& w) { w.write_float(1e19); }, &v)
                   .ok());
  ASSERT_TRUE(decode_one(
                  3, [](CborWriter& w) { w.write_uint(UINT64_MAX); }, &v)
                  .ok());
  EXPECT_EQ(v, Value(uint64_t{UINT64_MAX}));
  EXPECT_FALSE(decode_one(
                   3, [](CborWriter& w) { w.write_int(-1); }, &v)
                   .ok());
  ASSERT_TRUE(decode_one(
                  4, [](CborWriter& w) { w.write_uint(1367491215); }, &v)
                  .ok());
  EXPECT_EQ(v, Value(TimeValue{1367491215}));
  ASSERT_TRUE(decode_one(
                  4,
                  [](CborWriter& w) {
                    w.write_tag(1);
                    w.write_int(-10);
                  },
                  &v)
                  .ok());
  EXPECT_EQ(v, Value(TimeValue{-10}));
  ASSERT_TRUE(decode_one(
                  5, [](CborWriter& w) { w.write_text("3303:12"); }, &v)
                  .ok());
  EXPECT_EQ(v, Value(Objlnk{3303, 12}));
  EXPECT_FALSE(decode_one(
                   5, [](CborWriter& w) { w.write_text("3303"); }, &v)
                   .ok());
  EXPECT_FALSE(decode_one(
                   5, [](CborWriter& w) { w.write_text("70000:1"); }, &v)
                   .ok());
  ASSERT_TRUE(decode_one(
                  6, [](CborWriter& w) { w.write_text("</3/0>"); }, &v)
                  .ok());
  EXPECT_EQ(v, Value(CoreLink{"</3/0>"}));
  EXPECT_FALSE(decode_one(
                   1, [](CborWriter& w) { w.write_text("1.5"); }, &v)
                   .ok());
  EXPECT_FALSE(decode_one(
                   2, [](CborWriter& w) { w.write_bool(true); }, &v)
                   .ok());
  EXPECT_FALSE(decode_one(
                   2, [](CborWriter& w) { w.write_bytes(hex("01")); }, &v)
                   .ok());

  // Unknown resources keep what CBOR says.
  ASSERT_TRUE(decode_one(
                  20, [](CborWriter& w) { w.write_uint(7); }, &v)
                  .ok());
  EXPECT_EQ(v, Value(int64_t{7}));
  ASSERT_TRUE(decode_one(
                  20, [](CborWriter& w) { w.write_uint(UINT64_MAX); }, &v)
                  .ok());
  EXPECT_EQ(v, Value(uint64_t{UINT64_MAX}));
  ASSERT_TRUE(decode_one(
                  20, [](CborWriter& w) { w.write_float(2.0); }, &v)
                  .ok());
  EXPECT_EQ(v, Value(2.0));
  ASSERT_TRUE(decode_one(
                  20,
                  [](CborWriter& w) {
                    w.write_tag(1);
                    w.write_uint(5);
                  },
                  &v)
                  .ok());
  EXPECT_EQ(v, Value(TimeValue{5}));
  ASSERT_TRUE(decode_one(
                  20, [](CborWriter& w) { w.write_text("x"); }, &v)
                  .ok());
  EXPECT_EQ(v, Value(std::string("x")));
  ASSERT_TRUE(decode_one(
                  20, [](CborWriter& w) { w.write_bytes(hex("01")); }, &v)
                  .ok());
  EXPECT_EQ(v, Value(Opaque{{1}}));
  ASSERT_TRUE(decode_one(
                  20, [](CborWriter& w) { w.write_null(); }, &v)
                  .ok());
  EXPECT_EQ(v, Value());
  ASSERT_TRUE(decode_one(
                  20,
                  [](CborWriter& w) {
                    w.begin_text();
                    w.write_text("ab");
                    w.write_text("c");
                    w.write_break();
                  },
                  &v)
                  .ok());
  EXPECT_EQ(v, Value(std::string("abc")));
}

TEST(FormatLwm2mCbor, ResourceInstancesFallBackToTheResourceType) {
  CodecContext ctx;
  ctx.base = path("/3/0/7");
  // A lookup that only knows resources, not their instances.
  ctx.type_of = [](const Lwm2mPath& p) {
    return p == path("/3/0/7") ? ResourceType::kFloat : ResourceType::kNone;
  };
  std::vector<Record> out;
  // {[3, 0, 7]: {0: 3800}}
  ASSERT_TRUE(decode_lwm2m_cbor(ctx,
                                hex("a1830300"
                                    "07a100190ed8"),
                                &out)
                  .ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, Value(3800.0));
}

TEST(FormatLwm2mCbor, MalformedPayloadsAreBadRequests) {
  const CodecContext ctx = device_context(path("/3/0"));
  const std::string_view cases[] = {
      "80",                            // not a map
      "a161330100",                    // text key
      "a120a10001",                    // negative key
      "a18203fb3fd0a3d70a3d70a40901",  // float in a path array
      "a1831a000100000000"
      "0901",  // id 65536
      "a1820319ffff"
      "a10901",  // id 65535 is reserved
      "a1850300090102"
      "01",  // path deeper than a resource instance
      "a1820300a1820901a1820203"
      "01",  // deeper through nesting
      "a180"
      "01",                // empty path array
      "a1820300a1808001",  // empty path array as a nested key
      "a18303010001",      // /3/1/0 outside /3/0
      "a183030201"
      "01",  // /3/2/1 outside /3/0
      "a1820300"
      "01",                // value for the instance itself
      "a1820300a1098101",  // array value
      "a1820300a109f7",    // undefined value
      "a1820300a109c1a0",  // tagged map
      "a1820300a209186409"
      "01",  // /3/0/9 twice
      "a2830300090183030009"
      "02",                // /3/0/9 twice, through arrays
      "a1820300a1096131",  // text for an integer resource
      "a1820300a1001864",  // integer for a string resource
      "a1820300a109",      // truncated
      "a1820300a1091864"
      "00",  // trailing bytes
      "a1820300a10d"
      "fb3ff8000000000000",  // fractional time
  };
  expect_bad_requests(CoapContentFormat::kLwm2mCbor, ctx, cases);
}

// ---- both formats --------------------------------------------------------------------------

TEST(FormatCbor, EncodingRejectsRecordsItCannotRepresent) {
  for (uint16_t format : {CoapContentFormat::kSenmlCbor, CoapContentFormat::kLwm2mCbor}) {
    SCOPED_TRACE(format);
    const CodecContext ctx = device_context(path("/3/0"));
    const std::vector<std::vector<Record>> cases = {
        {{path("/3/1/0"), std::string("x")}},
        {{path("/3/0/0"), std::string("\xc3")}},
        {{path("/3/0/0"), CoreLink{"\xff"}}},
    };
    for (const auto& records : cases) {
      std::vector<uint8_t> out = {0x42};
      const CodecResult r = encode_with(format, ctx, records, &out);
      EXPECT_EQ(r.code, CoapCode::kInternalServerError);
      EXPECT_EQ(out, std::vector<uint8_t>{0x42});
    }
  }
  // LwM2M CBOR has one map key per path.
  std::vector<uint8_t> out;
  const CodecContext ctx = device_context(path("/3/0"));
  const std::vector<Record> dup = {{path("/3/0/9"), int64_t{1}}, {path("/3/0/9"), int64_t{2}}};
  EXPECT_FALSE(encode_lwm2m_cbor(ctx, dup, &out).ok());
  const std::vector<Record> nested = {{path("/3/0/6"), int64_t{1}}, {path("/3/0/6/0"), int64_t{2}}};
  EXPECT_FALSE(encode_lwm2m_cbor(ctx, nested, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(FormatCbor, EveryPrefixOfAnExampleIsABadRequest) {
  for (uint16_t format : {CoapContentFormat::kSenmlCbor, CoapContentFormat::kLwm2mCbor}) {
    const std::vector<uint8_t> full =
        hex(format == CoapContentFormat::kSenmlCbor ? kDeviceSenmlCbor : kDeviceLwm2mCbor);
    const CodecContext ctx = device_context(path("/3/0"));
    for (size_t n = 0; n < full.size(); ++n) {
      std::vector<Record> out;
      const CodecResult r = decode_with(format, ctx, std::span<const uint8_t>(full).first(n), &out);
      EXPECT_EQ(r.code, CoapCode::kBadRequest) << format << " " << n;
      EXPECT_TRUE(out.empty());
    }
  }
}

// Random record sets under /3/0, /3303/x, single resources and the root, with every value type.
class RandomRecords {
 public:
  explicit RandomRecords(uint64_t seed) : rng_(seed) {}

  std::string text() {
    static constexpr std::string_view kPieces[] = {"a",      "Z",      "0",          " ",  "/", ":",
                                                   "\u00fc", "\u6c34", "\U00010151", "\"", "\\"};
    std::string s;
    for (uint64_t n = rng_.below(12); n > 0; --n) {
      s += kPieces[rng_.below(std::size(kPieces))];
    }
    return s;
  }

  Value value(ResourceType t) {
    switch (t) {
      case ResourceType::kString:
        return text();
      case ResourceType::kInteger: {
        const int64_t edges[] = {0, -1, 23, 24, -24, -25, INT64_MIN, INT64_MAX};
        return rng_.below(3) == 0 ? edges[rng_.below(std::size(edges))]
                                  : static_cast<int64_t>(rng_.next()) >> rng_.below(64);
      }
      case ResourceType::kUnsignedInteger:
        return rng_.next() >> rng_.below(64);
      case ResourceType::kFloat: {
        double d = 0;
        switch (rng_.below(4)) {
          case 0:
            d = std::bit_cast<double>(rng_.next());
            break;
          case 1:
            d = static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(rng_.next())));
            break;
          case 2:
            d = static_cast<double>(static_cast<int64_t>(rng_.below(200000)) - 100000) / 4;
            break;
          default:
            d = rng_.uniform(-1000, 1000);
            break;
        }
        return std::isnan(d) ? 0.5 : d;
      }
      case ResourceType::kBoolean:
        return rng_.below(2) == 1;
      case ResourceType::kOpaque: {
        Opaque o;
        o.bytes.resize(rng_.below(40));
        for (uint8_t& b : o.bytes) {
          b = static_cast<uint8_t>(rng_.next());
        }
        return o;
      }
      case ResourceType::kTime:
        return TimeValue{static_cast<int64_t>(rng_.below(4000000000)) - 100};
      case ResourceType::kObjlnk:
        return Objlnk{static_cast<uint16_t>(rng_.below(65536)),
                      static_cast<uint16_t>(rng_.below(65536))};
      case ResourceType::kCoreLink:
        return CoreLink{"<" + text() + ">"};
      case ResourceType::kNone:
        return {};
    }
    return {};
  }

  ResourceType type() { return static_cast<ResourceType>(rng_.below(10)); }

  // Resources of one instance: some single, some with instances.
  void instance(uint32_t object, uint32_t inst, std::vector<Record>* out) {
    std::set<uint32_t> ids;
    for (uint64_t n = 1 + rng_.below(12); n > 0; --n) {
      ids.insert(static_cast<uint32_t>(rng_.below(rng_.below(2) == 0 ? 30 : 65535)));
    }
    for (uint32_t id : ids) {
      resource(object, inst, id, out);
    }
  }

  void resource(uint32_t object, uint32_t inst, uint32_t id, std::vector<Record>* out) {
    const ResourceType t = type();
    Lwm2mPath p;
    p.object = object;
    p.instance = inst;
    p.resource = id;
    types_[p.to_string()] = t;
    if (rng_.below(4) != 0) {
      out->push_back({p, value(t)});
      return;
    }
    std::set<uint32_t> instances;
    for (uint64_t n = 1 + rng_.below(4); n > 0; --n) {
      instances.insert(static_cast<uint32_t>(rng_.below(10)));
    }
    for (uint32_t ri : instances) {
      p.resource_instance = ri;
      out->push_back({p, value(t)});
    }
  }

  CodecContext context(const Lwm2mPath& base) {
    CodecContext ctx;
    ctx.base = base;
    ctx.type_of = [this](const Lwm2mPath& p) {
      const auto it = types_.find(resource_of(p).to_string());
      return it == types_.end() ? ResourceType::kNone : it->second;
    };
    if (rng_.below(3) == 0) {
      ctx.base_time = static_cast<int64_t>(rng_.below(2000000000));
    }
    return ctx;
  }

  Rng& rng() { return rng_; }
  void clear() { types_.clear(); }

 private:
  Rng rng_;
  std::map<std::string, ResourceType> types_;
};

TEST(FormatCbor, RandomRecordSetsRoundTrip) {
  RandomRecords gen(0xc0ffee);
  for (int i = 0; i < 400; ++i) {
    gen.clear();
    std::vector<Record> records;
    Lwm2mPath base;
    switch (i % 4) {
      case 0:
        base = path("/3/0");
        gen.instance(3, 0, &records);
        break;
      case 1: {
        const auto inst = static_cast<uint32_t>(gen.rng().below(5));
        base.object = 3303;
        base.instance = inst;
        gen.instance(3303, inst, &records);
        break;
      }
      case 2:
        // A single resource, or one with instances.
        base = path("/3303/1");
        gen.resource(3303, 1, static_cast<uint32_t>(5700 + gen.rng().below(10)), &records);
        base.resource = records[0].path.resource;
        if (records.size() == 1 && records[0].path.resource_instance != Lwm2mPath::kAbsent &&
            gen.rng().below(2) == 0) {
          base = records[0].path;
        }
        break;
      default:
        // Composite: several objects under the root.
        gen.instance(3, 0, &records);
        const uint64_t instances = 1 + gen.rng().below(3);
        for (uint32_t inst = 0; inst < instances; ++inst) {
          gen.instance(3303, inst, &records);
        }
        break;
    }
    const CodecContext ctx = gen.context(base);
    for (uint16_t format : {CoapContentFormat::kSenmlCbor, CoapContentFormat::kLwm2mCbor}) {
      SCOPED_TRACE(testing::Message() << "iteration " << i << " format " << format);
      std::vector<uint8_t> payload;
      CodecResult r = encode_with(format, ctx, records, &payload);
      ASSERT_TRUE(r.ok()) << r.reason;
      ASSERT_EQ(cbor_validate(payload), CborError::kNone);
      std::vector<Record> decoded;
      r = decode_with(format, ctx, payload, &decoded);
      ASSERT_TRUE(r.ok()) << r.reason << " " << to_hex(payload);
      if (format == CoapContentFormat::kSenmlCbor) {
        EXPECT_EQ(decoded, records);
      } else {
        EXPECT_EQ(sorted(decoded), sorted(records));
      }
    }
  }
}

// Mutated payloads decode or fail with 4.00; nothing in between (the sanitizer build watches
// for over-reads).
TEST(FormatCbor, MutatedPayloadsNeverCrash) {
  Rng rng(0xbad);
  const CodecContext ctx = device_context(path("/3/0"));
  for (uint16_t format : {CoapContentFormat::kSenmlCbor, CoapContentFormat::kLwm2mCbor}) {
    const std::vector<uint8_t> full =
        hex(format == CoapContentFormat::kSenmlCbor ? kDeviceSenmlCbor : kDeviceLwm2mCbor);
    int accepted = 0;
    for (int i = 0; i < 4000; ++i) {
      std::vector<uint8_t> in = full;
      for (uint64_t n = 1 + rng.below(4); n > 0; --n) {
        const size_t at = rng.below(in.size());
        switch (rng.below(3)) {
          case 0:
            in[at] = static_cast<uint8_t>(rng.next());
            break;
          case 1:
            in[at] ^= static_cast<uint8_t>(1u << rng.below(8));
            break;
          default:
            in.resize(at + 1);
            break;
        }
      }
      std::vector<Record> out;
      const CodecResult r = decode_with(format, ctx, in, &out);
      if (r.ok()) {
        ++accepted;
      } else {
        EXPECT_EQ(r.code, CoapCode::kBadRequest);
        EXPECT_TRUE(out.empty());
      }
    }
    EXPECT_GT(accepted, 0);
  }
}

}  // namespace
}  // namespace lwm2msim
