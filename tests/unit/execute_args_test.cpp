#include "sim/dm/execute_args.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace lwm2msim {
namespace {

// Renders parsed arguments back in the TS syntax.
std::string render(const std::vector<ExecuteArg>& args) {
  std::string out;
  for (const ExecuteArg& a : args) {
    if (!out.empty()) {
      out += ',';
    }
    out += static_cast<char>('0' + a.digit);
    if (a.has_value) {
      out += "='";
      out += a.value;
      out += "'";
    }
  }
  return out;
}

TEST(ExecuteArgs, EmptyPayloadIsNoArguments) {
  std::vector<ExecuteArg> args{{1, "x", true}};
  ASSERT_TRUE(parse_execute_args("", &args));
  EXPECT_TRUE(args.empty());
}

TEST(ExecuteArgs, TsExamples) {
  std::vector<ExecuteArg> args;
  ASSERT_TRUE(parse_execute_args("5", &args));
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0].digit, 5);
  EXPECT_FALSE(args[0].has_value);

  ASSERT_TRUE(parse_execute_args("2='10.3'", &args));
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0].digit, 2);
  EXPECT_TRUE(args[0].has_value);
  EXPECT_EQ(args[0].value, "10.3");

  ASSERT_TRUE(parse_execute_args("0,1,2,3,4", &args));
  ASSERT_EQ(args.size(), 5u);
  for (uint8_t i = 0; i < 5; ++i) {
    EXPECT_EQ(args[i].digit, i);
    EXPECT_FALSE(args[i].has_value);
  }

  // The same example without the spaces the TS shows (issue 487: spaces are not allowed).
  ASSERT_TRUE(parse_execute_args("7,0='https://www.omaspecworks.org'", &args));
  EXPECT_EQ(render(args), "7,0='https://www.omaspecworks.org'");
  EXPECT_FALSE(parse_execute_args("7, 0=' https://www.omaspecworks.org'", &args));
}

TEST(ExecuteArgs, ValuesAndMixedLists) {
  std::vector<ExecuteArg> args;
  ASSERT_TRUE(parse_execute_args("0='ab',1='cd'", &args));
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0].value, "ab");
  EXPECT_EQ(args[1].digit, 1);
  EXPECT_EQ(args[1].value, "cd");

  ASSERT_TRUE(parse_execute_args("2='10',3", &args));
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0].value, "10");
  EXPECT_FALSE(args[1].has_value);

  // An empty value is a value.
  ASSERT_TRUE(parse_execute_args("9=''", &args));
  ASSERT_EQ(args.size(), 1u);
  EXPECT_TRUE(args[0].has_value);
  EXPECT_EQ(args[0].value, "");

  // Values view into the payload.
  const std::string payload = "4='x,y=z'";
  ASSERT_TRUE(parse_execute_args(payload, &args));
  EXPECT_EQ(args[0].value, "x,y=z");
  EXPECT_EQ(args[0].value.data(), payload.data() + 3);
}

TEST(ExecuteArgs, EveryCharTheTsAllowsAndNoOther) {
  std::vector<ExecuteArg> args;
  for (int c = 0; c < 256; ++c) {
    std::string payload = "1='";
    payload += static_cast<char>(c);
    payload += "'";
    const bool allowed = c == 0x21 || (c >= 0x23 && c <= 0x26) || (c >= 0x28 && c <= 0x5b) ||
                         (c >= 0x5d && c <= 0x7e);
    EXPECT_EQ(parse_execute_args(payload, &args), allowed) << c;
  }
  const std::string all_allowed =
      "!#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~";
  const std::string payload = "0='" + all_allowed + "'";
  ASSERT_TRUE(parse_execute_args(payload, &args));
  EXPECT_EQ(args[0].value, all_allowed);
}

TEST(ExecuteArgs, RejectsMalformedLists) {
  const std::vector<std::string> bad = {
      "a",
      "10",
      "-1",
      "0=",
      "0=ab",
      "0='ab",
      "0=ab'",
      "0='a'b'",
      "0=\"ab\"",
      "0='a b'",
      "0='a\\b'",
      ",",
      "0,",
      ",0",
      "0,,1",
      "0;1",
      " 0",
      "0 ",
      "0 ,1",
      "0='a'1",
      "0='a',",
      "0='a''b'",
      "01",
      "0=='a'",
      "0='a'='b'",
      "1,1",
      "1='a',1",
      "3,2,3='x'",
      std::string("0\0", 2),
  };
  for (const std::string& payload : bad) {
    std::vector<ExecuteArg> args{{1, "x", true}};
    EXPECT_FALSE(parse_execute_args(payload, &args)) << payload;
    EXPECT_TRUE(args.empty()) << payload;
  }
}

TEST(ExecuteArgs, EveryTruncationOfAValidList) {
  const std::string full = "0='ab',1='cd',2,3=''";
  // The prefixes that are themselves complete argument lists.
  const std::vector<std::string> valid = {
      "", "0", "0='ab'", "0='ab',1", "0='ab',1='cd'", "0='ab',1='cd',2", "0='ab',1='cd',2,3", full,
  };
  std::vector<ExecuteArg> args;
  for (size_t n = 0; n <= full.size(); ++n) {
    const std::string prefix = full.substr(0, n);
    const bool expected = std::find(valid.begin(), valid.end(), prefix) != valid.end();
    ASSERT_EQ(parse_execute_args(prefix, &args), expected) << prefix;
    if (expected) {
      EXPECT_EQ(render(args), prefix);
    } else {
      EXPECT_TRUE(args.empty()) << prefix;
    }
  }
}

TEST(ExecuteArgs, FindByDigit) {
  std::vector<ExecuteArg> args;
  ASSERT_TRUE(parse_execute_args("3='x',7", &args));
  const ExecuteArg* three = find_execute_arg(args, 3);
  ASSERT_NE(three, nullptr);
  EXPECT_EQ(three->value, "x");
  const ExecuteArg* seven = find_execute_arg(args, 7);
  ASSERT_NE(seven, nullptr);
  EXPECT_FALSE(seven->has_value);
  EXPECT_EQ(find_execute_arg(args, 0), nullptr);
}

}  // namespace
}  // namespace lwm2msim
