#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/format/format.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/util/rng.h"

namespace lwm2msim {
namespace {

std::vector<Link> decode_ok(std::string_view text) {
  std::vector<Link> links;
  std::string error;
  EXPECT_TRUE(decode_links(text, &links, &error)) << text << ": " << error;
  return links;
}

std::string decode_error(std::string_view text) {
  std::vector<Link> links{{"/keep", {}}};
  std::string error;
  EXPECT_FALSE(decode_links(text, &links, &error)) << text;
  // Nothing is appended on failure.
  EXPECT_EQ(links.size(), 1u);
  return error;
}

TEST(LinkFormat, DecodesARegistrationPayload) {
  const std::vector<Link> links =
      decode_ok(R"(</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>;ver=1.1,</3/0/1>)");
  const std::vector<Link> expected{
      {"/", {{"rt", "\"oma.lwm2m\""}, {"ct", "11543"}}},
      {"/1/0", {}},
      {"/3/0", {{"ver", "1.1"}}},
      {"/3/0/1", {}},
  };
  EXPECT_EQ(links, expected);
  EXPECT_EQ(encode_links(expected),
            R"(</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>;ver=1.1,</3/0/1>)");
}

TEST(LinkFormat, ReadsARegistersLinks) {
  const std::vector<Link> links =
      decode_ok(R"(</>;rt="oma.lwm2m";ct="110 112",</1/0>,</3/0>,</3303>;ver=1.1,</3303/1>)");
  ASSERT_EQ(links.size(), 5u);
  EXPECT_EQ(links[0], (Link{"/", {{"rt", "\"oma.lwm2m\""}, {"ct", "\"110 112\""}}}));
  EXPECT_EQ(links[3], (Link{"/3303", {{"ver", "1.1"}}}));
  EXPECT_EQ(links[4].target, "/3303/1");
}

TEST(LinkFormat, DiscoverAnswerWithAttributesAndFlags) {
  // LwM2M TS 1.1 section 8.2.4 style Discover answer on /3/0.
  const std::string text =
      R"(</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/2>,</3/0/6>;dim=2,</3/0/7>;dim=2;gt=50;lt=42.2;st=0.5,</3/0/13>;obs)";
  const std::vector<Link> links = decode_ok(text);
  ASSERT_EQ(links.size(), 6u);
  EXPECT_EQ(links[0].params,
            (std::vector<std::pair<std::string, std::string>>{{"pmin", "10"}, {"pmax", "60"}}));
  EXPECT_EQ(links[4].params.size(), 4u);
  EXPECT_EQ(links[4].params[2], (std::pair<std::string, std::string>{"lt", "42.2"}));
  EXPECT_EQ(links[5].params, (std::vector<std::pair<std::string, std::string>>{{"obs", ""}}));
  EXPECT_EQ(encode_links(links), text);
}

TEST(LinkFormat, QuotedStringsDoNotSplit) {
  const std::vector<Link> links =
      decode_ok(R"(</a>;title="x,y;z";rt="q\"uo,te\\",</b>;if="";sz=5)");
  const std::vector<Link> expected{
      {"/a", {{"title", R"("x,y;z")"}, {"rt", R"("q\"uo,te\\")"}}},
      {"/b", {{"if", R"("")"}, {"sz", "5"}}},
  };
  EXPECT_EQ(links, expected);
  EXPECT_EQ(decode_ok(encode_links(links)), links);
}

TEST(LinkFormat, TokensMayHoldEqualsAndAngleBrackets) {
  EXPECT_EQ(decode_ok("</x>;a=b=c;u=<y>"),
            (std::vector<Link>{{"/x", {{"a", "b=c"}, {"u", "<y>"}}}}));
}

TEST(LinkFormat, EmptyInputAndWhitespaceBetweenLinks) {
  EXPECT_TRUE(decode_ok("").empty());
  EXPECT_TRUE(decode_ok(" \r\n").empty());
  EXPECT_EQ(decode_ok("</1/0>,\n </3/0>;ver=1.1 ,\t</5>\n"),
            (std::vector<Link>{{"/1/0", {}}, {"/3/0", {{"ver", "1.1"}}}, {"/5", {}}}));
  EXPECT_EQ(encode_links({}), "");
}

TEST(LinkFormat, ErrorsNameTheOffset) {
  const struct {
    std::string_view text;
    std::string_view error;
  } cases[] = {
      {"3/0", "offset 0: expected '<'"},
      {"</3/0", "offset 0: unterminated link target"},
      {"</3 /0>", "offset 3: invalid character in link target"},
      {"</3/0>x", "offset 6: expected ',' or ';'"},
      {"</3/0>,", "offset 7: expected '<'"},
      {"</3/0>,,</1>", "offset 7: expected '<'"},
      {"</3/0>;", "offset 7: expected a parameter name"},
      {"</3/0>;=1", "offset 7: expected a parameter name"},
      {"</3/0>;a=", "offset 9: expected a parameter value"},
      {"</3/0>;a=,</1>", "offset 9: expected a parameter value"},
      {"</3/0>;a b", "offset 9: expected ',' or ';'"},
      {"</3/0>;a=\"x", "offset 9: unterminated quoted string"},
      {"</3/0>;a=\"x\\\"", "offset 9: unterminated quoted string"},
      {"</3/0>;a=\"x\ny\"", "offset 11: control character in quoted string"},
      {"</3/0>;a=\"x\"y", "offset 12: expected ',' or ';'"},
      {"</3/0>;a=x\"y\"", "offset 10: expected ',' or ';'"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(decode_error(c.text), c.error) << c.text;
  }
}

std::string random_token(Rng& rng, std::string_view alphabet, size_t max) {
  std::string s(1 + rng.below(max), ' ');
  for (char& c : s) {
    c = alphabet[rng.below(alphabet.size())];
  }
  return s;
}

Link random_link(Rng& rng) {
  static constexpr std::string_view kName = "abcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~";
  static constexpr std::string_view kToken = "abcxyz0123456789!#$%&'()*+-./:<=>?@[]^_`{|}~";
  static constexpr std::string_view kQuoted = "ab ,;=<>/:'\t{}[]";
  Link link;
  link.target = "/";
  const uint64_t depth = rng.below(5);
  for (uint64_t i = 0; i < depth; ++i) {
    link.target += (i > 0 ? "/" : "") + std::to_string(rng.below(65535));
  }
  const uint64_t params = rng.below(5);
  for (uint64_t i = 0; i < params; ++i) {
    std::string name = random_token(rng, kName, 6);
    std::string value;
    switch (rng.below(4)) {
      case 0:
        break;
      case 1:
        value = random_token(rng, kToken, 8);
        break;
      default: {
        value = "\"";
        const uint64_t n = rng.below(10);
        for (uint64_t k = 0; k < n; ++k) {
          if (rng.below(6) == 0) {
            value += rng.below(2) == 0 ? "\\\"" : "\\\\";
          } else {
            value += kQuoted[rng.below(kQuoted.size())];
          }
        }
        value += "\"";
      }
    }
    link.params.emplace_back(std::move(name), std::move(value));
  }
  return link;
}

TEST(LinkFormat, RandomLinksRoundTrip) {
  Rng rng(6690);
  for (int round = 0; round < 500; ++round) {
    std::vector<Link> links(rng.below(8));
    for (Link& l : links) {
      l = random_link(rng);
    }
    const std::string text = encode_links(links);
    ASSERT_EQ(decode_ok(text), links) << text;
  }
}

TEST(LinkFormat, EveryPrefixDecodesOrFailsCleanly) {
  Rng rng(40);
  for (int round = 0; round < 100; ++round) {
    std::vector<Link> links(1 + rng.below(4));
    for (Link& l : links) {
      l = random_link(rng);
    }
    const std::string text = encode_links(links);
    for (size_t n = 0; n < text.size(); ++n) {
      // An exact-size copy lets ASan catch any read past the prefix.
      const std::string prefix = text.substr(0, n);
      std::vector<Link> out;
      std::string error;
      if (!decode_links(prefix, &out, &error)) {
        ASSERT_EQ(error.rfind("offset ", 0), 0u) << error;
        ASSERT_TRUE(out.empty());
      }
    }
  }
}

}  // namespace
}  // namespace lwm2msim
