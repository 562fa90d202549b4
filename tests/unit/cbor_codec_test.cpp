#include "sim/format/cbor_codec.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "sim/util/rng.h"
#include "tests/unit/format_fixtures.h"

namespace lwm2msim {
namespace {

// RFC 8949 diagnostic notation for integers, strings, containers, simple values and tags.
// Floats are checked apart, their notation has too many spellings.
class Diag {
 public:
  explicit Diag(std::span<const uint8_t> in) : reader_(in) {}

  std::string run() {
    std::string s;
    if (!item(&s) || !reader_.at_end()) {
      return "error: " + std::string(to_string(reader_.error()));
    }
    return s;
  }

 private:
  bool item(std::string* s) {
    CborItem it;
    if (!reader_.next(&it)) {
      return false;
    }
    switch (it.type) {
      case CborType::kUnsigned:
        *s += std::to_string(it.arg);
        return true;
      case CborType::kNegative:
        *s += it.arg == UINT64_MAX ? "-18446744073709551616" : "-" + std::to_string(it.arg + 1);
        return true;
      case CborType::kBytes:
      case CborType::kText:
        if (it.indefinite) {
          return container(s, "(_ ", ")", false);
        }
        *s += it.type == CborType::kText ? "\"" + std::string(it.text()) + "\""
                                         : "h'" + to_hex(it.data) + "'";
        return true;
      case CborType::kArray:
        return container(s, it.indefinite ? "[_ " : "[", "]", false);
      case CborType::kMap:
        return container(s, it.indefinite ? "{_ " : "{", "}", true);
      case CborType::kTag:
        *s += std::to_string(it.arg) + "(";
        if (!item(s)) {
          return false;
        }
        *s += ")";
        return true;
      case CborType::kFalse:
        *s += "false";
        return true;
      case CborType::kTrue:
        *s += "true";
        return true;
      case CborType::kNull:
        *s += "null";
        return true;
      case CborType::kUndefined:
        *s += "undefined";
        return true;
      case CborType::kSimple:
        *s += "simple(" + std::to_string(it.arg) + ")";
        return true;
      case CborType::kFloat:
        *s += "float";
        return true;
    }
    return false;
  }

  bool container(std::string* s, std::string_view open, std::string_view close, bool map) {
    *s += open;
    for (int i = 0; reader_.has_next(); ++i) {
      if (i > 0) {
        *s += map && i % 2 == 1 ? ": " : ", ";
      }
      if (!item(s)) {
        return false;
      }
    }
    *s += close;
    return reader_.leave();
  }

  CborReader reader_;
};

std::string diag(std::string_view h) {
  const std::vector<uint8_t> bytes = hex(h);
  return Diag(bytes).run();
}

CborItem read_one(const std::vector<uint8_t>& bytes) {
  CborReader reader(bytes);
  CborItem item;
  EXPECT_TRUE(reader.next(&item)) << to_string(reader.error());
  EXPECT_TRUE(reader.at_end());
  return item;
}

// Every encoded example of RFC 8949 Appendix A.
constexpr std::string_view kAppendixA[] = {
    "00",
    "01",
    "0a",
    "17",
    "1818",
    "1819",
    "1864",
    "1903e8",
    "1a000f4240",
    "1b000000e8d4a51000",
    "1bffffffffffffffff",
    "c249010000000000000000",
    "3bffffffffffffffff",
    "c349010000000000000000",
    "20",
    "29",
    "3863",
    "3903e7",
    "f90000",
    "f98000",
    "f93c00",
    "fb3ff199999999999a",
    "f93e00",
    "f97bff",
    "fa47c35000",
    "fa7f7fffff",
    "fb7e37e43c8800759c",
    "f90001",
    "f90400",
    "f9c400",
    "fbc010666666666666",
    "f97c00",
    "f97e00",
    "f9fc00",
    "fa7f800000",
    "fa7fc00000",
    "faff800000",
    "fb7ff0000000000000",
    "fb7ff8000000000000",
    "fbfff0000000000000",
    "f4",
    "f5",
    "f6",
    "f7",
    "f0",
    "f8ff",
    "c074323031332d30332d32315432303a30343a30305a",
    "c11a514b67b0",
    "c1fb41d452d9ec200000",
    "d74401020304",
    "d818456449455446",
    "d82076687474703a2f2f7777772e6578616d706c652e636f6d",
    "40",
    "4401020304",
    "60",
    "6161",
    "6449455446",
    "62225c",
    "62c3bc",
    "63e6b0b4",
    "64f0908591",
    "80",
    "83010203",
    "8301820203820405",
    "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
    "a0",
    "a201020304",
    "a26161016162820203",
    "826161a161626163",
    "a56161614161626142616361436164614461656145",
    "5f42010243030405ff",
    "7f657374726561646d696e67ff",
    "9fff",
    "9f018202039f0405ffff",
    "9f01820203820405ff",
    "83018202039f0405ff",
    "83019f0203ff820405",
    "9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff",
    "bf61610161629f0203ffff",
    "826161bf61626163ff",
    "bf6346756ef563416d7421ff",
};

TEST(CborCodec, AppendixAIntegers) {
  struct Case {
    bool negative;
    uint64_t arg;  // the value, or n for -1 - n
    std::string_view hex;
  };
  const Case cases[] = {
      {false, 0, "00"},
      {false, 1, "01"},
      {false, 10, "0a"},
      {false, 23, "17"},
      {false, 24, "1818"},
      {false, 25, "1819"},
      {false, 100, "1864"},
      {false, 1000, "1903e8"},
      {false, 1000000, "1a000f4240"},
      {false, 1000000000000, "1b000000e8d4a51000"},
      {false, UINT64_MAX, "1bffffffffffffffff"},
      {true, UINT64_MAX, "3bffffffffffffffff"},  // -18446744073709551616
      {true, 0, "20"},
      {true, 9, "29"},
      {true, 99, "3863"},
      {true, 999, "3903e7"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.hex);
    std::vector<uint8_t> out;
    CborWriter w(&out);
    if (c.negative) {
      w.write_negative(c.arg);
    } else {
      w.write_uint(c.arg);
    }
    EXPECT_EQ(to_hex(out), c.hex);
    const CborItem item = read_one(hex(c.hex));
    EXPECT_EQ(item.type, c.negative ? CborType::kNegative : CborType::kUnsigned);
    EXPECT_EQ(item.arg, c.arg);
  }
  std::vector<uint8_t> out;
  CborWriter w(&out);
  w.write_int(-1000);
  w.write_int(1000);
  w.write_int(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(to_hex(out), "3903e71903e83b7fffffffffffffff");

  int64_t v = 0;
  EXPECT_TRUE(read_one(hex("3903e7")).to_int64(&v));
  EXPECT_EQ(v, -1000);
  EXPECT_TRUE(read_one(hex("3b7fffffffffffffff")).to_int64(&v));
  EXPECT_EQ(v, std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(read_one(hex("3b8000000000000000")).to_int64(&v));
  EXPECT_FALSE(read_one(hex("1bffffffffffffffff")).to_int64(&v));

  // Bignums are tag 2/3 over a byte string; the reader exposes them as such.
  EXPECT_EQ(diag("c249010000000000000000"), "2(h'010000000000000000')");
  EXPECT_EQ(diag("c349010000000000000000"), "3(h'010000000000000000')");
  out.clear();
  w.write_tag(2);
  w.write_bytes(hex("010000000000000000"));
  EXPECT_EQ(to_hex(out), "c249010000000000000000");
}

TEST(CborCodec, HeadsUseTheShortestArgument) {
  const std::pair<uint64_t, std::string_view> cases[] = {
      {23, "17"},
      {24, "1818"},
      {255, "18ff"},
      {256, "190100"},
      {65535, "19ffff"},
      {65536, "1a00010000"},
      {0xffffffff, "1affffffff"},
      {0x100000000, "1b0000000100000000"},
  };
  for (const auto& [value, h] : cases) {
    std::vector<uint8_t> out;
    CborWriter(&out).write_uint(value);
    EXPECT_EQ(to_hex(out), h);
    EXPECT_EQ(read_one(out).arg, value);
  }
}

TEST(CborCodec, AppendixAFloats) {
  struct Case {
    double value;
    std::string_view hex;
    uint8_t size;
  };
  const Case cases[] = {
      {0.0, "f90000", 2},
      {-0.0, "f98000", 2},
      {1.0, "f93c00", 2},
      {1.1, "fb3ff199999999999a", 8},
      {1.5, "f93e00", 2},
      {65504.0, "f97bff", 2},
      {100000.0, "fa47c35000", 4},
      {3.4028234663852886e+38, "fa7f7fffff", 4},
      {1.0e+300, "fb7e37e43c8800759c", 8},
      {5.960464477539063e-8, "f90001", 2},
      {0.00006103515625, "f90400", 2},
      {-4.0, "f9c400", 2},
      {-4.1, "fbc010666666666666", 8},
      {HUGE_VAL, "f97c00", 2},
      {-HUGE_VAL, "f9fc00", 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.hex);
    std::vector<uint8_t> out;
    CborWriter(&out).write_float(c.value);
    EXPECT_EQ(to_hex(out), c.hex);
    const CborItem item = read_one(hex(c.hex));
    EXPECT_EQ(item.type, CborType::kFloat);
    EXPECT_EQ(item.float_size, c.size);
    EXPECT_EQ(item.number, c.value);
    EXPECT_EQ(std::signbit(item.number), std::signbit(c.value));
  }
  std::vector<uint8_t> out;
  CborWriter(&out).write_float(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(to_hex(out), "f97e00");
  EXPECT_TRUE(std::isnan(read_one(hex("f97e00")).number));

  // The longer encodings Appendix A also lists decode to the same values.
  EXPECT_EQ(read_one(hex("fa7f800000")).number, HUGE_VAL);
  EXPECT_EQ(read_one(hex("faff800000")).number, -HUGE_VAL);
  EXPECT_EQ(read_one(hex("fb7ff0000000000000")).number, HUGE_VAL);
  EXPECT_EQ(read_one(hex("fbfff0000000000000")).number, -HUGE_VAL);
  EXPECT_TRUE(std::isnan(read_one(hex("fa7fc00000")).number));
  EXPECT_TRUE(std::isnan(read_one(hex("fb7ff8000000000000")).number));
}

// Every binary16 value survives decode and re-encode, and comes back as the same half.
TEST(CborCodec, EveryHalfRoundTrips) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const std::vector<uint8_t> in = {0xf9, static_cast<uint8_t>(bits >> 8),
                                     static_cast<uint8_t>(bits)};
    const CborItem item = read_one(in);
    ASSERT_EQ(item.float_size, 2);
    std::vector<uint8_t> out;
    CborWriter(&out).write_float(item.number);
    if (std::isnan(item.number)) {
      EXPECT_EQ(to_hex(out), "f97e00");
    } else {
      ASSERT_EQ(out, in) << std::hex << bits;
    }
  }
}

// Random singles and doubles come back bit for bit, in the shortest width that holds them.
TEST(CborCodec, FloatsTakeTheShortestExactWidth) {
  Rng rng(0xcb0f);
  for (int i = 0; i < 20000; ++i) {
    double v = 0;
    switch (i % 3) {
      case 0:
        v = std::bit_cast<double>(rng.next());
        break;
      case 1:
        v = std::bit_cast<float>(static_cast<uint32_t>(rng.next()));
        break;
      default:
        // Small dyadic values, many of them halves.
        v = std::ldexp(static_cast<double>(rng.below(4096)) - 2048.0,
                       static_cast<int>(rng.below(40)) - 30);
        break;
    }
    if (std::isnan(v)) {
      continue;
    }
    std::vector<uint8_t> out;
    CborWriter(&out).write_float(v);
    const CborItem item = read_one(out);
    ASSERT_EQ(std::bit_cast<uint64_t>(item.number), std::bit_cast<uint64_t>(v)) << v;
    const bool fits_single =
        std::fabs(v) <= 3.4028234663852886e+38 && static_cast<double>(static_cast<float>(v)) == v;
    if (item.float_size == 8) {
      EXPECT_FALSE(fits_single) << v;
    } else {
      EXPECT_TRUE(fits_single) << v;
    }
  }
}

TEST(CborCodec, AppendixASimpleValuesAndTags) {
  EXPECT_EQ(diag("f4"), "false");
  EXPECT_EQ(diag("f5"), "true");
  EXPECT_EQ(diag("f6"), "null");
  EXPECT_EQ(diag("f7"), "undefined");
  EXPECT_EQ(diag("f0"), "simple(16)");
  EXPECT_EQ(diag("f8ff"), "simple(255)");
  EXPECT_EQ(diag("c074323031332d30332d32315432303a30343a30305a"), "0(\"2013-03-21T20:04:00Z\")");
  EXPECT_EQ(diag("c11a514b67b0"), "1(1363896240)");
  EXPECT_EQ(diag("d74401020304"), "23(h'01020304')");
  EXPECT_EQ(diag("d818456449455446"), "24(h'6449455446')");
  EXPECT_EQ(diag("d82076687474703a2f2f7777772e6578616d706c652e636f6d"),
            "32(\"http://www.example.com\")");

  // Tags can be skipped on the way to the value.
  const std::vector<uint8_t> in = hex("c1fb41d452d9ec200000");
  CborReader reader(in);
  CborItem item;
  uint64_t tag = 0;
  ASSERT_TRUE(reader.next_untagged(&item, &tag));
  EXPECT_EQ(tag, 1u);
  EXPECT_EQ(item.number, 1363896240.5);
  EXPECT_TRUE(reader.at_end());

  std::vector<uint8_t> out;
  CborWriter w(&out);
  w.write_bool(false);
  w.write_bool(true);
  w.write_null();
  w.write_undefined();
  EXPECT_TRUE(w.write_simple(16));
  EXPECT_TRUE(w.write_simple(255));
  EXPECT_FALSE(w.write_simple(24));
  EXPECT_FALSE(w.write_simple(31));
  w.write_tag(1);
  w.write_uint(1363896240);
  w.write_tag(1);
  w.write_float(1363896240.5);
  w.write_tag(32);
  w.write_text("http://www.example.com");
  EXPECT_EQ(to_hex(out),
            "f4f5f6f7f0f8ffc11a514b67b0c1fb41d452d9ec200000"
            "d82076687474703a2f2f7777772e6578616d706c652e636f6d");
}

TEST(CborCodec, AppendixAStrings) {
  EXPECT_EQ(diag("40"), "h''");
  EXPECT_EQ(diag("4401020304"), "h'01020304'");
  EXPECT_EQ(diag("60"), "\"\"");
  EXPECT_EQ(diag("6161"), "\"a\"");
  EXPECT_EQ(diag("6449455446"), "\"IETF\"");
  EXPECT_EQ(diag("62225c"), "\"\"\\\"");
  EXPECT_EQ(diag("62c3bc"), "\"\u00fc\"");
  EXPECT_EQ(diag("63e6b0b4"), "\"\u6c34\"");
  EXPECT_EQ(diag("64f0908591"), "\"\U00010151\"");
  EXPECT_EQ(diag("5f42010243030405ff"), "(_ h'0102', h'030405')");
  EXPECT_EQ(diag("7f657374726561646d696e67ff"), "(_ \"strea\", \"ming\")");

  std::vector<uint8_t> out;
  CborWriter w(&out);
  w.write_bytes({});
  w.write_bytes(hex("01020304"));
  w.write_text("");
  w.write_text("\u6c34");
  w.write_text("\U00010151");
  w.begin_text();
  w.write_text("strea");
  w.write_text("ming");
  w.write_break();
  w.begin_bytes();
  w.write_bytes(hex("0102"));
  w.write_bytes(hex("030405"));
  w.write_break();
  EXPECT_EQ(to_hex(out),
            "40440102030460"
            "63e6b0b4"
            "64f0908591"
            "7f657374726561646d696e67ff"
            "5f42010243030405ff");

  // Chunks join into one value.
  const std::vector<uint8_t> in = hex("7f657374726561646d696e67ff");
  CborReader reader(in);
  CborItem item;
  ASSERT_TRUE(reader.next(&item));
  std::string text;
  ASSERT_TRUE(cbor_read_text(&reader, item, &text));
  EXPECT_EQ(text, "streaming");
  EXPECT_TRUE(reader.at_end());

  const std::vector<uint8_t> bin = hex("5f42010243030405ff");
  CborReader bytes_reader(bin);
  ASSERT_TRUE(bytes_reader.next(&item));
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(cbor_read_bytes(&bytes_reader, item, &bytes));
  EXPECT_EQ(bytes, hex("0102030405"));
  EXPECT_TRUE(bytes_reader.at_end());
}

TEST(CborCodec, AppendixAArraysAndMaps) {
  EXPECT_EQ(diag("80"), "[]");
  EXPECT_EQ(diag("83010203"), "[1, 2, 3]");
  EXPECT_EQ(diag("8301820203820405"), "[1, [2, 3], [4, 5]]");
  EXPECT_EQ(diag("98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
            "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, "
            "24, 25]");
  EXPECT_EQ(diag("a0"), "{}");
  EXPECT_EQ(diag("a201020304"), "{1: 2, 3: 4}");
  EXPECT_EQ(diag("a26161016162820203"), "{\"a\": 1, \"b\": [2, 3]}");
  EXPECT_EQ(diag("826161a161626163"), "[\"a\", {\"b\": \"c\"}]");
  EXPECT_EQ(diag("a56161614161626142616361436164614461656145"),
            "{\"a\": \"A\", \"b\": \"B\", \"c\": \"C\", \"d\": \"D\", \"e\": \"E\"}");
  EXPECT_EQ(diag("9fff"), "[_ ]");
  EXPECT_EQ(diag("9f018202039f0405ffff"), "[_ 1, [2, 3], [_ 4, 5]]");
  EXPECT_EQ(diag("9f01820203820405ff"), "[_ 1, [2, 3], [4, 5]]");
  EXPECT_EQ(diag("83018202039f0405ff"), "[1, [2, 3], [_ 4, 5]]");
  EXPECT_EQ(diag("83019f0203ff820405"), "[1, [_ 2, 3], [4, 5]]");
  EXPECT_EQ(diag("9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff"),
            "[_ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, "
            "23, 24, 25]");
  EXPECT_EQ(diag("bf61610161629f0203ffff"), "{_ \"a\": 1, \"b\": [_ 2, 3]}");
  EXPECT_EQ(diag("826161bf61626163ff"), "[\"a\", {_ \"b\": \"c\"}]");
  EXPECT_EQ(diag("bf6346756ef563416d7421ff"), "{_ \"Fun\": true, \"Amt\": -2}");

  std::vector<uint8_t> out;
  CborWriter w(&out);
  w.write_array(3);
  w.write_uint(1);
  w.write_array(2);
  w.write_uint(2);
  w.write_uint(3);
  w.begin_array();
  w.write_uint(4);
  w.write_uint(5);
  w.write_break();
  EXPECT_EQ(to_hex(out), "83018202039f0405ff");
  out.clear();
  w.begin_map();
  w.write_text("Fun");
  w.write_bool(true);
  w.write_text("Amt");
  w.write_int(-2);
  w.write_break();
  w.write_map(2);
  w.write_uint(1);
  w.write_uint(2);
  w.write_uint(3);
  w.write_uint(4);
  EXPECT_EQ(to_hex(out),
            "bf6346756ef563416d7421ff"
            "a201020304");
}

TEST(CborCodec, ReaderWalksAndSkips) {
  // [1, {"a": [2, 3]}, 4]: leave() drops what is left of a container.
  const std::vector<uint8_t> in =
      hex("8301a16161820203"
          "04");
  CborReader reader(in);
  CborItem item;
  ASSERT_TRUE(reader.next(&item));
  EXPECT_EQ(item.type, CborType::kArray);
  EXPECT_EQ(item.arg, 3u);
  EXPECT_EQ(reader.depth(), 1);
  ASSERT_TRUE(reader.next(&item));
  EXPECT_EQ(item.arg, 1u);
  ASSERT_TRUE(reader.next(&item));
  EXPECT_EQ(item.type, CborType::kMap);
  ASSERT_TRUE(reader.next(&item));
  EXPECT_EQ(item.text(), "a");
  ASSERT_TRUE(reader.leave());
  EXPECT_EQ(reader.depth(), 1);
  ASSERT_TRUE(reader.has_next());
  ASSERT_TRUE(reader.next(&item));
  EXPECT_EQ(item.arg, 4u);
  EXPECT_FALSE(reader.has_next());
  EXPECT_FALSE(reader.next(&item));
  EXPECT_EQ(reader.error(), CborError::kNoMoreItems);
  // Errors stick.
  EXPECT_FALSE(reader.leave());
  EXPECT_FALSE(reader.at_end());

  CborReader top(in);
  EXPECT_FALSE(top.leave());
  EXPECT_EQ(top.error(), CborError::kNoMoreItems);

  // A CBOR sequence: several top-level items.
  const std::vector<uint8_t> seq = hex("0102");
  CborReader sequence(seq);
  int count = 0;
  while (sequence.has_next()) {
    ASSERT_TRUE(sequence.skip());
    ++count;
  }
  EXPECT_EQ(count, 2);
  EXPECT_TRUE(sequence.at_end());
}

TEST(CborCodec, EveryPrefixOfAnExampleIsTruncated) {
  for (std::string_view h : kAppendixA) {
    SCOPED_TRACE(h);
    const std::vector<uint8_t> bytes = hex(h);
    ASSERT_EQ(cbor_validate(bytes), CborError::kNone);
    for (size_t n = 0; n < bytes.size(); ++n) {
      const CborError e = cbor_validate(std::span<const uint8_t>(bytes).first(n));
      EXPECT_TRUE(e == CborError::kTruncated || e == CborError::kBadLength) << n;
    }
    std::vector<uint8_t> longer = bytes;
    longer.push_back(0);
    EXPECT_EQ(cbor_validate(longer), CborError::kTrailingBytes);
  }
}

TEST(CborCodec, NestingDepthIsLimited) {
  for (const uint8_t open : {uint8_t{0x81}, uint8_t{0x9f}, uint8_t{0xa1}}) {
    for (int depth : {CborReader::kMaxDepth, CborReader::kMaxDepth + 1}) {
      std::vector<uint8_t> in;
      for (int i = 0; i < depth; ++i) {
        if (open == 0xa1) {
          in.push_back(0x00);  // key
        }
        in.push_back(open);
      }
      if (open == 0xa1) {
        in.erase(in.begin());  // the outermost map has no key before it
        in.push_back(0x00);
        in.push_back(0x00);
      } else {
        in.push_back(0x00);
      }
      if (open == 0x9f) {
        in.insert(in.end(), static_cast<size_t>(depth), 0xff);
      }
      const CborError e = cbor_validate(in);
      if (depth <= CborReader::kMaxDepth) {
        EXPECT_EQ(e, CborError::kNone) << int{open} << " " << depth;
      } else {
        EXPECT_EQ(e, CborError::kTooDeep) << int{open} << " " << depth;
      }
    }
  }
  // Tags do not nest containers, and a long chain of them is still read without recursion.
  std::vector<uint8_t> tags(10000, 0xc1);
  tags.push_back(0x00);
  EXPECT_EQ(cbor_validate(tags), CborError::kNone);
}

TEST(CborCodec, HugeDeclaredLengthsAreRejected) {
  const std::string_view cases[] = {
      "5bffffffffffffffff", "5b00000001000000000102", "7bffffffffffffffff",
      "7a7fffffff6161",     "9bffffffffffffffff",     "9b00000000ffffffff00",
      "9a0001000000000000", "bbffffffffffffffff",     "ba80000000000000",
      "a3000000",  // three pairs need six items
  };
  for (std::string_view h : cases) {
    EXPECT_EQ(cbor_validate(hex(h)), CborError::kBadLength) << h;
  }
}

TEST(CborCodec, MalformedInputIsRejected) {
  const std::pair<std::string_view, CborError> cases[] = {
      {"1c", CborError::kMalformed},          // reserved additional information
      {"3d", CborError::kMalformed},          //
      {"5e", CborError::kMalformed},          //
      {"7c", CborError::kMalformed},          //
      {"9d", CborError::kMalformed},          //
      {"be", CborError::kMalformed},          //
      {"dc00", CborError::kMalformed},        //
      {"fc", CborError::kMalformed},          //
      {"ff", CborError::kMalformed},          // break outside an indefinite item
      {"81ff", CborError::kMalformed},        //
      {"1f", CborError::kMalformed},          // indefinite integers and tags
      {"3f", CborError::kMalformed},          //
      {"df00", CborError::kMalformed},        //
      {"f818", CborError::kMalformed},        // two-byte simple value below 32
      {"5f6161ff", CborError::kMalformed},    // text chunk in a byte string
      {"5f5fffff", CborError::kMalformed},    // nested indefinite chunk
      {"7fc16161ff", CborError::kMalformed},  // tag inside a string
      {"bf01ff", CborError::kMalformed},      // key without value
      {"9fc1ff", CborError::kMalformed},      // tag without content
      {"62c328", CborError::kInvalidUtf8},
      {"6180", CborError::kInvalidUtf8},
      {"62c080", CborError::kInvalidUtf8},        // overlong
      {"63eda080", CborError::kInvalidUtf8},      // surrogate
      {"64f4908080", CborError::kInvalidUtf8},    // above U+10FFFF
      {"7f61c361bcff", CborError::kInvalidUtf8},  // code point split across chunks
  };
  for (const auto& [h, e] : cases) {
    EXPECT_EQ(cbor_validate(hex(h)), e) << h;
  }
  EXPECT_EQ(cbor_validate({}), CborError::kTruncated);
  EXPECT_EQ(cbor_validate(hex("c1")), CborError::kTruncated);
}

TEST(CborCodec, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\u00fc\u6c34\U00010151\U0010FFFF"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));
  EXPECT_FALSE(is_valid_utf8("\xe6\xb0"));
  EXPECT_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xfe"));
}

// Random and mutated input never reads out of bounds (the sanitizer build watches) and every
// answer is consistent: a valid buffer is exactly one item.
TEST(CborCodec, RandomInputIsHandled) {
  Rng rng(0x5eed);
  std::vector<uint8_t> in;
  int valid = 0;
  for (int i = 0; i < 20000; ++i) {
    if (i % 2 == 0) {
      in.resize(rng.below(24));
      for (uint8_t& b : in) {
        b = static_cast<uint8_t>(rng.next());
      }
    } else {
      in = hex(kAppendixA[rng.below(std::size(kAppendixA))]);
      const uint64_t edits = 1 + rng.below(3);
      for (uint64_t k = 0; k < edits && !in.empty(); ++k) {
        in[rng.below(in.size())] = static_cast<uint8_t>(rng.next());
      }
    }
    if (cbor_validate(in) == CborError::kNone) {
      ++valid;
      CborReader reader(in);
      EXPECT_TRUE(reader.skip());
      EXPECT_TRUE(reader.at_end());
    }
  }
  EXPECT_GT(valid, 0);
}

}  // namespace
}  // namespace lwm2msim
