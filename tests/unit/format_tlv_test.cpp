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

// Device (3) and Access Control (2) resource types, as their object definitions give them.
ResourceType model_type(const Lwm2mPath& p) {
  if (p.object == 2 && p.resource <= 3) {
    return ResourceType::kInteger;
  }
  return device_type(p);
}

bool model_multiple(const Lwm2mPath& p) {
  return (p.object == 2 && p.resource == 2) || device_multiple(p);
}

CodecContext model_context(const Lwm2mPath& base) {
  CodecContext ctx = device_context(base);
  ctx.type_of = model_type;
  ctx.is_multiple = model_multiple;
  return ctx;
}

// LwM2M TS 1.1 section 7.4.3.2, Read on the single instance /3/0 of the Device object.
const std::vector<uint8_t> kDeviceTlv = {
    // Manufacturer: "Open Mobile Alliance"
    0xC8, 0x00, 0x14, 0x4F, 0x70, 0x65, 0x6E, 0x20, 0x4D, 0x6F, 0x62, 0x69, 0x6C, 0x65, 0x20, 0x41,
    0x6C, 0x6C, 0x69, 0x61, 0x6E, 0x63, 0x65,
    // Model Number: "Lightweight M2M Client"
    0xC8, 0x01, 0x16, 0x4C, 0x69, 0x67, 0x68, 0x74, 0x77, 0x65, 0x69, 0x67, 0x68, 0x74, 0x20, 0x4D,
    0x32, 0x4D, 0x20, 0x43, 0x6C, 0x69, 0x65, 0x6E, 0x74,
    // Serial Number: "345000123"
    0xC8, 0x02, 0x09, 0x33, 0x34, 0x35, 0x30, 0x30, 0x30, 0x31, 0x32, 0x33,
    // Firmware Version: "1.0"
    0xC3, 0x03, 0x31, 0x2E, 0x30,
    // Available Power Sources: 1, 5
    0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05,
    // Power Source Voltage: 3800, 5000
    0x88, 0x07, 0x08, 0x42, 0x00, 0x0E, 0xD8, 0x42, 0x01, 0x13, 0x88,
    // Power Source Current: 125, 900
    0x87, 0x08, 0x41, 0x00, 0x7D, 0x42, 0x01, 0x03, 0x84,
    // Battery Level: 100
    0xC1, 0x09, 0x64,
    // Memory Free: 15
    0xC1, 0x0A, 0x0F,
    // Error Code: 0
    0x83, 0x0B, 0x41, 0x00, 0x00,
    // Current Time: 1367491215
    0xC4, 0x0D, 0x51, 0x82, 0x42, 0x8F,
    // UTC Offset: "+02:00"
    0xC6, 0x0E, 0x2B, 0x30, 0x32, 0x3A, 0x30, 0x30,
    // Supported Binding and Modes: "U"
    0xC1, 0x10, 0x55};

// LwM2M TS 1.1 section 7.4.3.2, Read on the Access Control object /2 with two instances.
const std::vector<uint8_t> kAccessControlTlv = {
    0x08, 0x00, 0x0E,                                      // instance 0, 14 bytes
    0xC1, 0x00, 0x01,                                      // Object ID: 1
    0xC1, 0x01, 0x00,                                      // Object Instance ID: 0
    0x83, 0x02, 0x41, 0x7F, 0x07,                          // ACL: [127] = 7
    0xC1, 0x03, 0x7F,                                      // Access Control Owner: 127
    0x08, 0x02, 0x12,                                      // instance 2, 18 bytes
    0xC1, 0x00, 0x03,                                      // Object ID: 3
    0xC1, 0x01, 0x00,                                      // Object Instance ID: 0
    0x87, 0x02, 0x41, 0x7F, 0x07, 0x61, 0x01, 0x36, 0x01,  // ACL: [127] = 7, [310] = 1
    0xC1, 0x03, 0x7F,                                      // Access Control Owner: 127
};

std::vector<Record> access_control_records() {
  return {
      {path(2, 0, 0), int64_t{1}},      {path(2, 0, 1), int64_t{0}},
      {path(2, 0, 2, 127), int64_t{7}}, {path(2, 0, 3), int64_t{127}},
      {path(2, 2, 0), int64_t{3}},      {path(2, 2, 1), int64_t{0}},
      {path(2, 2, 2, 127), int64_t{7}}, {path(2, 2, 2, 310), int64_t{1}},
      {path(2, 2, 3), int64_t{127}},
  };
}

std::vector<uint8_t> encode_ok(const CodecContext& ctx, const std::vector<Record>& records) {
  std::vector<uint8_t> out;
  const CodecResult r = encode_tlv(ctx, records, &out);
  EXPECT_TRUE(r.ok()) << r.reason;
  return out;
}

std::vector<Record> decode_ok(const CodecContext& ctx, const std::vector<uint8_t>& bytes) {
  std::vector<Record> out;
  const CodecResult r = decode_tlv(ctx, bytes, &out);
  EXPECT_TRUE(r.ok()) << r.reason;
  return out;
}

CodecResult decode_error(const CodecContext& ctx, const std::vector<uint8_t>& bytes) {
  std::vector<Record> out;
  const CodecResult r = decode_tlv(ctx, bytes, &out);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.reason.empty());
  EXPECT_TRUE(out.empty());
  return r;
}

TEST(FormatTlv, DeviceInstanceMatchesTheTs) {
  const CodecContext ctx = model_context(path(3, 0));
  EXPECT_EQ(encode_ok(ctx, device_records()), kDeviceTlv);
  EXPECT_EQ(decode_ok(ctx, kDeviceTlv), device_records());
}

TEST(FormatTlv, SingleAndMultipleResourcesMatchTheTs) {
  const CodecContext manufacturer = model_context(path(3, 0, 0));
  const std::vector<Record> one{{path(3, 0, 0), std::string("Open Mobile Alliance")}};
  const std::vector<uint8_t> one_bytes(kDeviceTlv.begin(), kDeviceTlv.begin() + 23);
  EXPECT_EQ(encode_ok(manufacturer, one), one_bytes);
  EXPECT_EQ(decode_ok(manufacturer, one_bytes), one);

  const CodecContext sources = model_context(path(3, 0, 6));
  const std::vector<Record> many{{path(3, 0, 6, 0), int64_t{1}}, {path(3, 0, 6, 1), int64_t{5}}};
  const std::vector<uint8_t> many_bytes{0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05};
  EXPECT_EQ(encode_ok(sources, many), many_bytes);
  EXPECT_EQ(decode_ok(sources, many_bytes), many);
  // Bare resource instances are accepted for a multiple resource too.
  EXPECT_EQ(decode_ok(sources, {0x41, 0x00, 0x01, 0x41, 0x01, 0x05}), many);

  const CodecContext instance = model_context(path(3, 0, 6, 1));
  const std::vector<Record> single{{path(3, 0, 6, 1), int64_t{5}}};
  EXPECT_EQ(encode_ok(instance, single), (std::vector<uint8_t>{0x41, 0x01, 0x05}));
  EXPECT_EQ(decode_ok(instance, {0x41, 0x01, 0x05}), single);
}

TEST(FormatTlv, ObjectWithInstancesMatchesTheTs) {
  const CodecContext ctx = model_context(path(2));
  EXPECT_EQ(encode_ok(ctx, access_control_records()), kAccessControlTlv);
  EXPECT_EQ(decode_ok(ctx, kAccessControlTlv), access_control_records());
}

TEST(FormatTlv, InstanceTargetAcceptsAWrappingInstanceTlv) {
  const CodecContext ctx = model_context(path(2, 2));
  const std::vector<uint8_t> wrapped(kAccessControlTlv.begin() + 17, kAccessControlTlv.end());
  const std::vector<Record> all = access_control_records();
  const std::vector<Record> expected(all.begin() + 4, all.end());
  EXPECT_EQ(decode_ok(ctx, wrapped), expected);
  const std::vector<uint8_t> bare(wrapped.begin() + 3, wrapped.end());
  EXPECT_EQ(decode_ok(ctx, bare), expected);
  EXPECT_EQ(encode_ok(ctx, expected), bare);
  // Instance 0 is not the target /2/2.
  const std::vector<uint8_t> other(kAccessControlTlv.begin(), kAccessControlTlv.begin() + 17);
  EXPECT_EQ(decode_error(ctx, other).code, CoapCode::kBadRequest);
}

TEST(FormatTlv, LengthAndIdentifierFields) {
  CodecContext ctx;
  ctx.base = path(1000, 0);
  ctx.type_of = [](const Lwm2mPath&) { return ResourceType::kOpaque; };
  auto encoded = [&](uint32_t id, size_t length) {
    std::vector<Record> records{{path(1000, 0, id), Opaque{std::vector<uint8_t>(length, 0xAB)}}};
    std::vector<uint8_t> bytes = encode_ok(ctx, records);
    EXPECT_EQ(decode_ok(ctx, bytes), records);
    bytes.resize(std::min<size_t>(bytes.size(), 6));
    return bytes;
  };
  EXPECT_EQ(encoded(5, 0), (std::vector<uint8_t>{0xC0, 0x05}));
  EXPECT_EQ(encoded(5, 7), (std::vector<uint8_t>{0xC7, 0x05, 0xAB, 0xAB, 0xAB, 0xAB}));
  EXPECT_EQ(encoded(5, 8), (std::vector<uint8_t>{0xC8, 0x05, 0x08, 0xAB, 0xAB, 0xAB}));
  EXPECT_EQ(encoded(5, 255), (std::vector<uint8_t>{0xC8, 0x05, 0xFF, 0xAB, 0xAB, 0xAB}));
  EXPECT_EQ(encoded(5, 256), (std::vector<uint8_t>{0xD0, 0x05, 0x01, 0x00, 0xAB, 0xAB}));
  EXPECT_EQ(encoded(5, 65536), (std::vector<uint8_t>{0xD8, 0x05, 0x01, 0x00, 0x00, 0xAB}));
  EXPECT_EQ(encoded(255, 1), (std::vector<uint8_t>{0xC1, 0xFF, 0xAB}));
  EXPECT_EQ(encoded(256, 1), (std::vector<uint8_t>{0xE1, 0x01, 0x00, 0xAB}));
  EXPECT_EQ(encoded(65534, 300), (std::vector<uint8_t>{0xF0, 0xFF, 0xFE, 0x01, 0x2C, 0xAB}));
}

std::vector<uint8_t> value_bytes(const Value& v, ResourceType type) {
  CodecContext ctx;
  ctx.base = path(9, 0, 1);
  ctx.type_of = [type](const Lwm2mPath&) { return type; };
  const std::vector<Record> records{{ctx.base, v}};
  std::vector<uint8_t> bytes = encode_ok(ctx, records);
  EXPECT_EQ(decode_ok(ctx, bytes), records);
  // Drop the header: type and 8-bit id, plus a length byte for values over 7 bytes.
  const size_t header = (bytes[0] & 0x18) != 0 ? 3 : 2;
  return std::vector<uint8_t>(bytes.begin() + static_cast<long>(header), bytes.end());
}

TEST(FormatTlv, NumbersUseTheSmallestWidth) {
  using B = std::vector<uint8_t>;
  const auto i = ResourceType::kInteger;
  EXPECT_EQ(value_bytes(int64_t{0}, i), B({0x00}));
  EXPECT_EQ(value_bytes(int64_t{127}, i), B({0x7F}));
  EXPECT_EQ(value_bytes(int64_t{128}, i), B({0x00, 0x80}));
  EXPECT_EQ(value_bytes(int64_t{-1}, i), B({0xFF}));
  EXPECT_EQ(value_bytes(int64_t{-128}, i), B({0x80}));
  EXPECT_EQ(value_bytes(int64_t{-129}, i), B({0xFF, 0x7F}));
  EXPECT_EQ(value_bytes(int64_t{32768}, i), B({0x00, 0x00, 0x80, 0x00}));
  EXPECT_EQ(value_bytes(int64_t{-2147483648LL}, i), B({0x80, 0x00, 0x00, 0x00}));
  EXPECT_EQ(value_bytes(int64_t{2147483648LL}, i), B({0, 0, 0, 0, 0x80, 0, 0, 0}));
  EXPECT_EQ(value_bytes(std::numeric_limits<int64_t>::min(), i), B({0x80, 0, 0, 0, 0, 0, 0, 0}));
  const auto u = ResourceType::kUnsignedInteger;
  EXPECT_EQ(value_bytes(uint64_t{255}, u), B({0xFF}));
  EXPECT_EQ(value_bytes(uint64_t{256}, u), B({0x01, 0x00}));
  EXPECT_EQ(value_bytes(uint64_t{4294967295ULL}, u), B({0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(value_bytes(std::numeric_limits<uint64_t>::max(), u), B(8, 0xFF));
  const auto f = ResourceType::kFloat;
  EXPECT_EQ(value_bytes(1.5, f), B({0x3F, 0xC0, 0x00, 0x00}));
  EXPECT_EQ(value_bytes(-0.0, f), B({0x80, 0x00, 0x00, 0x00}));
  EXPECT_EQ(value_bytes(0.1, f), B({0x3F, 0xB9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A}));
  EXPECT_EQ(value_bytes(1e300, f), B({0x7E, 0x37, 0xE4, 0x3C, 0x88, 0x00, 0x75, 0x9C}));
  EXPECT_EQ(value_bytes(std::numeric_limits<double>::infinity(), f), B({0x7F, 0x80, 0x00, 0x00}));
  EXPECT_EQ(value_bytes(true, ResourceType::kBoolean), B({0x01}));
  EXPECT_EQ(value_bytes(false, ResourceType::kBoolean), B({0x00}));
  EXPECT_EQ(value_bytes(TimeValue{1367491215}, ResourceType::kTime), B({0x51, 0x82, 0x42, 0x8F}));
  EXPECT_EQ(value_bytes(Objlnk{3, 0x1234}, ResourceType::kObjlnk), B({0x00, 0x03, 0x12, 0x34}));
  EXPECT_EQ(value_bytes(CoreLink{"</3>"}, ResourceType::kCoreLink), B({'<', '/', '3', '>'}));
}

TEST(FormatTlv, DecodesWiderIntegersThanNeeded) {
  CodecContext ctx;
  ctx.base = path(9, 0, 1);
  ctx.type_of = [](const Lwm2mPath&) { return ResourceType::kInteger; };
  EXPECT_EQ(decode_ok(ctx, {0xC2, 0x01, 0xFF, 0xFE}),
            (std::vector<Record>{{ctx.base, int64_t{-2}}}));
  EXPECT_EQ(decode_ok(ctx, {0xC8, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 5}),
            (std::vector<Record>{{ctx.base, int64_t{5}}}));
  ctx.type_of = [](const Lwm2mPath&) { return ResourceType::kUnsignedInteger; };
  EXPECT_EQ(decode_ok(ctx, {0xC2, 0x01, 0xFF, 0xFE}),
            (std::vector<Record>{{ctx.base, uint64_t{65534}}}));
}

TEST(FormatTlv, MalformedValuesAreBadRequest) {
  CodecContext ctx;
  ctx.base = path(9, 0, 1);
  ResourceType type = ResourceType::kInteger;
  ctx.type_of = [&type](const Lwm2mPath&) { return type; };
  EXPECT_EQ(decode_error(ctx, {0xC3, 0x01, 0, 0, 1}).code, CoapCode::kBadRequest);
  EXPECT_EQ(decode_error(ctx, {0xC0, 0x01}).code, CoapCode::kBadRequest);
  type = ResourceType::kUnsignedInteger;
  EXPECT_EQ(decode_error(ctx, {0xC5, 0x01, 0, 0, 0, 0, 1}).code, CoapCode::kBadRequest);
  type = ResourceType::kFloat;
  EXPECT_EQ(decode_error(ctx, {0xC2, 0x01, 0, 0}).code, CoapCode::kBadRequest);
  type = ResourceType::kBoolean;
  EXPECT_EQ(decode_error(ctx, {0xC1, 0x01, 0x02}).code, CoapCode::kBadRequest);
  EXPECT_EQ(decode_error(ctx, {0xC2, 0x01, 0x00, 0x01}).code, CoapCode::kBadRequest);
  type = ResourceType::kObjlnk;
  EXPECT_EQ(decode_error(ctx, {0xC3, 0x01, 0, 3, 0}).code, CoapCode::kBadRequest);
  type = ResourceType::kString;
  EXPECT_EQ(decode_error(ctx, {0xC2, 0x01, 0xC3, 0x28}).code, CoapCode::kBadRequest);
  // The data model does not know the path: the reason names it.
  type = ResourceType::kNone;
  const CodecResult r = decode_error(ctx, {0xC1, 0x01, 0x00});
  EXPECT_EQ(r.code, CoapCode::kBadRequest);
  EXPECT_NE(r.reason.find("/9/0/1"), std::string::npos) << r.reason;
}

TEST(FormatTlv, MalformedStructureIsBadRequest) {
  const struct {
    Lwm2mPath base;
    std::vector<uint8_t> bytes;
  } cases[] = {
      // Truncated identifier, length field and value.
      {path(3, 0), {0xC1}},
      {path(3, 0), {0xE1, 0x00}},
      {path(3, 0), {0xC8, 0x09}},
      {path(3, 0), {0xD0, 0x09, 0x00}},
      {path(3, 0), {0xD8, 0x09, 0x00, 0x00}},
      {path(3, 0), {0xC2, 0x09, 0x64}},
      {path(3, 0), {0xC8, 0x00, 0x14, 0x4F}},
      // A multiple resource whose child overruns it.
      {path(3, 0), {0x83, 0x06, 0x42, 0x00, 0x01}},
      // Wrong nesting: resource instance directly under an instance, resource inside a
      // multiple resource, instance inside an instance.
      {path(3, 0), {0x41, 0x06, 0x01}},
      {path(3, 0), {0x83, 0x06, 0xC1, 0x00, 0x01}},
      {path(3), {0x02, 0x00, 0x00, 0x01}},
      {path(3), {0xC1, 0x09, 0x64}},
      // Entries for another resource than the target, or another resource instance.
      {path(3, 0, 9), {0xC1, 0x0A, 0x0F}},
      {path(3, 0, 6, 0), {0x41, 0x01, 0x05}},
      {path(3, 0, 6, 0), {0xC1, 0x06, 0x05}},
      // Something after a wrapping instance.
      {path(3, 0), {0x03, 0x00, 0xC1, 0x09, 0x64, 0xC1, 0x0A, 0x0F}},
      // The reserved identifier 65535.
      {path(3, 0), {0xE1, 0xFF, 0xFF, 0x00}},
      // No TLV can target the root.
      {Lwm2mPath{}, {0x08, 0x00, 0x00}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.base.to_string() + " " + ::testing::PrintToString(c.bytes));
    EXPECT_EQ(decode_error(model_context(c.base), c.bytes).code, CoapCode::kBadRequest);
  }
}

TEST(FormatTlv, EncodeRejectsRecordsOutsideTheTarget) {
  std::vector<uint8_t> out;
  std::vector<Record> records{{path(3, 0, 9), int64_t{1}}};
  EXPECT_EQ(encode_tlv(model_context(path(3, 1)), records, &out).code,
            CoapCode::kInternalServerError);
  EXPECT_EQ(encode_tlv(model_context(path(3, 0, 10)), records, &out).code,
            CoapCode::kInternalServerError);
  EXPECT_EQ(encode_tlv(model_context(Lwm2mPath{}), records, &out).code, CoapCode::kNotAcceptable);
  std::vector<Record> none{{path(3, 0, 9), std::monostate{}}};
  EXPECT_EQ(encode_tlv(model_context(path(3, 0)), none, &out).code, CoapCode::kNotAcceptable);
  EXPECT_TRUE(out.empty());
}

TEST(FormatTlv, EmptyMultipleResource) {
  const CodecContext ctx = model_context(path(3, 0, 11));
  EXPECT_EQ(encode_ok(ctx, {}), (std::vector<uint8_t>{0x80, 0x0B}));
  EXPECT_TRUE(decode_ok(ctx, {0x80, 0x0B}).empty());
  // A valueless multiple resource inside an instance is an empty multiple-resource TLV.
  const std::vector<Record> records{{path(3, 0, 11), std::monostate{}}};
  EXPECT_EQ(encode_ok(model_context(path(3, 0)), records), (std::vector<uint8_t>{0x80, 0x0B}));
}

TEST(FormatTlv, GroupsScatteredRecordsByInstanceAndResource) {
  const std::vector<Record> scattered{
      {path(2, 1, 2, 0), int64_t{1}},
      {path(2, 0, 3), int64_t{2}},
      {path(2, 1, 3), int64_t{3}},
      {path(2, 1, 2, 1), int64_t{4}},
  };
  const std::vector<Record> grouped{scattered[0], scattered[3], scattered[2], scattered[1]};
  const CodecContext ctx = model_context(path(2));
  EXPECT_EQ(decode_ok(ctx, encode_ok(ctx, scattered)), grouped);
}

Value random_value(Rng& rng, ResourceType type) {
  switch (type) {
    case ResourceType::kString: {
      std::string s(rng.below(300), 'x');
      for (char& c : s) {
        c = static_cast<char>('a' + rng.below(26));
      }
      return s;
    }
    case ResourceType::kFloat: {
      if (rng.below(2) == 0) {
        return static_cast<double>(static_cast<float>(rng.uniform(-1000, 1000)));
      }
      double d = 0;
      do {
        const uint64_t bits = rng.next();
        std::memcpy(&d, &bits, sizeof(d));
      } while (std::isnan(d));
      return d;
    }
    case ResourceType::kOpaque:
      return random_opaque(rng, rng.below(rng.below(8) == 0 ? 70000 : 40));
    case ResourceType::kCoreLink:
      return CoreLink{"</" + std::to_string(rng.below(1000)) + ">;ct=40"};
    default:
      return random_plain_value(rng, type);
  }
}

RandomModel random_model(Rng& rng) {
  static constexpr ResourceType kTypes[] = {
      ResourceType::kString, ResourceType::kInteger, ResourceType::kUnsignedInteger,
      ResourceType::kFloat,  ResourceType::kBoolean, ResourceType::kOpaque,
      ResourceType::kTime,   ResourceType::kObjlnk,  ResourceType::kCoreLink};
  RandomModel m;
  const uint64_t n = 1 + rng.below(10);
  for (uint64_t i = 0; i < n; ++i) {
    const auto id = static_cast<uint32_t>(rng.below(4) == 0 ? rng.below(65535) : rng.below(30));
    m.types[id] = kTypes[rng.below(std::size(kTypes))];
    m.multiple[id] = rng.below(3) == 0;
  }
  return m;
}

std::vector<Record> random_instance(Rng& rng, const RandomModel& m, uint32_t object,
                                    uint32_t instance) {
  std::vector<Record> records;
  for (const auto& [id, type] : m.types) {
    if (rng.below(4) == 0) {
      continue;
    }
    if (m.multiple.at(id)) {
      const uint64_t count = 1 + rng.below(4);
      uint32_t ri = static_cast<uint32_t>(rng.below(3));
      for (uint64_t k = 0; k < count; ++k) {
        records.push_back({path(object, instance, id, ri), random_value(rng, type)});
        ri += 1 + static_cast<uint32_t>(rng.below(rng.below(2) == 0 ? 3 : 600));
      }
    } else {
      records.push_back({path(object, instance, id), random_value(rng, type)});
    }
  }
  return records;
}

TEST(FormatTlv, RandomObjectsRoundTrip) {
  Rng rng(0x7115);
  for (int round = 0; round < 200; ++round) {
    const RandomModel model = random_model(rng);
    const auto object = static_cast<uint32_t>(rng.below(40000));
    std::vector<Record> records;
    const uint64_t instances = 1 + rng.below(4);
    for (uint64_t i = 0; i < instances; ++i) {
      const auto inst = static_cast<uint32_t>(i * 100 + rng.below(100));
      const std::vector<Record> more = random_instance(rng, model, object, inst);
      records.insert(records.end(), more.begin(), more.end());
    }
    // Object-level read.
    const CodecContext ctx = model.context(path(object));
    const std::vector<uint8_t> bytes = encode_ok(ctx, records);
    ASSERT_EQ(decode_ok(ctx, bytes), records) << "round " << round;
    // Instance-level read of the first instance, and resource-level reads of its resources.
    if (records.empty()) {
      continue;
    }
    const uint32_t inst = records.front().path.instance;
    std::vector<Record> first;
    for (const Record& r : records) {
      if (r.path.instance == inst) {
        first.push_back(r);
      }
    }
    const CodecContext ictx = model.context(path(object, inst));
    ASSERT_EQ(decode_ok(ictx, encode_ok(ictx, first)), first);
    for (size_t k = 0; k < first.size();) {
      const uint32_t res = first[k].path.resource;
      std::vector<Record> one;
      while (k < first.size() && first[k].path.resource == res) {
        one.push_back(first[k++]);
      }
      const CodecContext rctx = model.context(path(object, inst, res));
      ASSERT_EQ(decode_ok(rctx, encode_ok(rctx, one)), one);
    }
  }
}

void expect_prefixes_fail_cleanly(const CodecContext& ctx, const std::vector<uint8_t>& bytes) {
  for (size_t n = 0; n < bytes.size(); ++n) {
    // An exact-size copy lets ASan catch any read past the prefix.
    const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<long>(n));
    std::vector<Record> out;
    const CodecResult r = decode_tlv(ctx, prefix, &out);
    if (!r.ok()) {
      ASSERT_EQ(r.code, CoapCode::kBadRequest) << r.reason;
      ASSERT_TRUE(out.empty());
    }
  }
}

TEST(FormatTlv, EveryPrefixDecodesOrFailsCleanly) {
  expect_prefixes_fail_cleanly(model_context(path(3, 0)), kDeviceTlv);
  expect_prefixes_fail_cleanly(model_context(path(2)), kAccessControlTlv);
  Rng rng(99);
  for (int round = 0; round < 40; ++round) {
    const RandomModel model = random_model(rng);
    const CodecContext ctx = model.context(path(7));
    std::vector<Record> records = random_instance(rng, model, 7, 1);
    const std::vector<Record> more = random_instance(rng, model, 7, 300);
    records.insert(records.end(), more.begin(), more.end());
    std::vector<uint8_t> bytes = encode_ok(ctx, records);
    bytes.resize(std::min<size_t>(bytes.size(), 2000));
    expect_prefixes_fail_cleanly(ctx, bytes);
  }
}

TEST(FormatTlv, RandomBytesNeverCrash) {
  Rng rng(1234);
  RandomModel model;
  model.types = {{0, ResourceType::kInteger}, {1, ResourceType::kString},
                 {2, ResourceType::kFloat},   {3, ResourceType::kBoolean},
                 {4, ResourceType::kObjlnk},  {5, ResourceType::kOpaque}};
  const Lwm2mPath bases[] = {path(1), path(1, 0), path(1, 0, 1), path(1, 0, 1, 0)};
  for (int round = 0; round < 5000; ++round) {
    std::vector<uint8_t> bytes(rng.below(24));
    for (auto& b : bytes) {
      // Mostly small ids and lengths so that some inputs nest and parse deeper.
      b = static_cast<uint8_t>(rng.below(2) == 0 ? rng.next() : rng.below(8));
    }
    std::vector<Record> out;
    const CodecResult r = decode_tlv(model.context(bases[round % 4]), bytes, &out);
    if (!r.ok()) {
      ASSERT_EQ(r.code, CoapCode::kBadRequest);
    }
  }
}

}  // namespace
}  // namespace lwm2msim
