#include "sim/lwm2m/lwm2m.h"

#include <gtest/gtest.h>

#include <array>

namespace lwm2msim {
namespace {

TEST(Lwm2mPath, ParsesAndPrints) {
  Lwm2mPath p;
  ASSERT_TRUE(parse_lwm2m_path("/3/0/9", &p));
  EXPECT_EQ(p.depth(), 3);
  EXPECT_EQ(p.to_string(), "/3/0/9");
  ASSERT_TRUE(parse_lwm2m_path("/", &p));
  EXPECT_EQ(p.depth(), 0);
  EXPECT_FALSE(parse_lwm2m_path("3/0", &p));
  EXPECT_FALSE(parse_lwm2m_path("/3/x", &p));
  EXPECT_FALSE(parse_lwm2m_path("/65535", &p));
  EXPECT_FALSE(parse_lwm2m_path("/1/2/3/4/5", &p));
}

TEST(EndpointPattern, FormatsWithPaddingAndRejectsBadPatterns) {
  EndpointPattern p;
  ASSERT_EQ(EndpointPattern::parse("sim-%06d", &p), "");
  EXPECT_EQ(p.format(42), "sim-000042");
  EXPECT_EQ(p.format(1234567), "sim-1234567");
  ASSERT_EQ(EndpointPattern::parse("%d.meter%%", &p), "");
  EXPECT_EQ(p.format(5), "5.meter%");
  EXPECT_NE(EndpointPattern::parse("fixed", &p), "");
  EXPECT_NE(EndpointPattern::parse("a-%d-%d", &p), "");
  EXPECT_NE(EndpointPattern::parse("a-%s", &p), "");
}

TEST(Registration, RegisterMessageMatchesTheTs) {
  std::array<uint8_t, 256> buf;
  RegistrationParams p;
  p.endpoint = "sim-000001";
  p.lifetime_s = 300;
  p.version = Lwm2mVersion::k1_0;
  p.links = "</>;rt=\"oma.lwm2m\",</3/0>";
  const CoapToken token = CoapToken::from_u64(0xdeadbeef, 4);
  const auto bytes = build_register(buf, 0x1234, token, p);
  ASSERT_FALSE(bytes.empty());
  CoapMessage m;
  ASSERT_EQ(m.parse(bytes), CoapParseError::kOk);
  EXPECT_EQ(m.type(), CoapType::kCon);
  EXPECT_EQ(m.code(), CoapCode::kPost);
  EXPECT_EQ(m.message_id(), 0x1234);
  EXPECT_EQ(m.token_value(), token);
  std::vector<std::string> queries;
  for (const auto& o : m.options()) {
    if (o.number == CoapOption::kUriQuery) {
      queries.emplace_back(o.as_string());
    }
  }
  EXPECT_EQ(queries, (std::vector<std::string>{"ep=sim-000001", "lt=300", "lwm2m=1.0", "b=U"}));
  EXPECT_EQ(std::string(m.payload().begin(), m.payload().end()), p.links);
}

TEST(Registration, QueueModeIsInTheBindingFor10AndAParameterFrom11) {
  std::array<uint8_t, 256> buf;
  std::array<char, 128> query;
  RegistrationParams p;
  p.endpoint = "q";
  p.binding = "UQ";
  const CoapToken token = CoapToken::from_u64(1, 4);
  CoapMessage m;
  p.version = Lwm2mVersion::k1_0;
  ASSERT_EQ(m.parse(build_register(buf, 1, token, p)), CoapParseError::kOk);
  EXPECT_EQ(m.join(CoapOption::kUriQuery, query), "ep=q/lt=300/lwm2m=1.0/b=UQ");
  p.version = Lwm2mVersion::k1_1;
  ASSERT_EQ(m.parse(build_register(buf, 1, token, p)), CoapParseError::kOk);
  EXPECT_EQ(m.join(CoapOption::kUriQuery, query), "ep=q/lt=300/lwm2m=1.1/b=U/Q");
  p.binding = "U";
  ASSERT_EQ(m.parse(build_register(buf, 1, token, p)), CoapParseError::kOk);
  EXPECT_EQ(m.join(CoapOption::kUriQuery, query), "ep=q/lt=300/lwm2m=1.1/b=U");
}

TEST(ResourceUri, SplitsSchemeHostPortAndPath) {
  ResourceUri u;
  ASSERT_TRUE(parse_resource_uri("coap://127.0.0.1:5700/fw/2.0.0", &u));
  EXPECT_EQ(u.scheme, "coap");
  EXPECT_EQ(u.endpoint, (Endpoint4{0x7f000001, 5700}));
  EXPECT_EQ(u.path, "fw/2.0.0");
  ASSERT_TRUE(parse_resource_uri("coaps://localhost/a", &u));
  EXPECT_EQ(u.endpoint, (Endpoint4{0x7f000001, 5684}));
  ASSERT_TRUE(parse_resource_uri("coap://10.0.0.1", &u));
  EXPECT_EQ(u.endpoint.port, 5683);
  EXPECT_EQ(u.path, "");
  EXPECT_FALSE(parse_resource_uri("coap://example.com/fw", &u));  // IPv4 literals only
  EXPECT_FALSE(parse_resource_uri("coap://127.0.0.1:70000/fw", &u));
  EXPECT_FALSE(parse_resource_uri("127.0.0.1/fw", &u));
  EXPECT_FALSE(parse_resource_uri("://127.0.0.1/fw", &u));
}

TEST(Registration, UpdateAndDeregisterTargetTheLocation) {
  std::array<uint8_t, 128> buf;
  std::array<char, 64> path;
  const CoapToken token = CoapToken::from_u64(1, 4);
  CoapMessage m;
  ASSERT_EQ(m.parse(build_update(buf, 1, token, "rd/5a", 600, {})), CoapParseError::kOk);
  EXPECT_EQ(m.join(CoapOption::kUriPath, path), "rd/5a");
  EXPECT_EQ(m.find(CoapOption::kUriQuery)->as_string(), "lt=600");
  ASSERT_EQ(m.parse(build_deregister(buf, 2, token, "rd/5a")), CoapParseError::kOk);
  EXPECT_EQ(m.code(), CoapCode::kDelete);
  EXPECT_EQ(m.join(CoapOption::kUriPath, path), "rd/5a");
}

TEST(Operations, ClassifiedPerTheTs) {
  auto classify = [](uint8_t code, std::string_view path, auto&& extra) {
    std::array<uint8_t, 128> buf;
    CoapWriter w(buf);
    w.header(CoapType::kCon, code, 1, {});
    extra(w, path);
    CoapMessage m;
    EXPECT_EQ(m.parse(w.finish()), CoapParseError::kOk);
    Lwm2mPath p;
    EXPECT_TRUE(lwm2m_path_from_request(m, &p));
    return classify_request(m, p);
  };
  auto plain = [](CoapWriter& w, std::string_view path) {
    w.option_path(CoapOption::kUriPath, path);
  };
  auto observe = [](CoapWriter& w, std::string_view path) {
    w.option_uint(CoapOption::kObserve, 0).option_path(CoapOption::kUriPath, path);
  };
  auto cancel = [](CoapWriter& w, std::string_view path) {
    w.option_uint(CoapOption::kObserve, 1).option_path(CoapOption::kUriPath, path);
  };
  auto discover = [](CoapWriter& w, std::string_view path) {
    w.option_path(CoapOption::kUriPath, path).option_uint(CoapOption::kAccept, 40);
  };
  auto attrs = [](CoapWriter& w, std::string_view path) {
    w.option_path(CoapOption::kUriPath, path)
        .option(CoapOption::kUriQuery, std::string_view("pmin=10"));
  };
  auto payload = [](CoapWriter& w, std::string_view path) {
    w.option_path(CoapOption::kUriPath, path).payload(std::string_view("1"));
  };
  EXPECT_EQ(classify(CoapCode::kGet, "3/0/9", plain), Lwm2mOperation::kRead);
  EXPECT_EQ(classify(CoapCode::kGet, "3/0", observe), Lwm2mOperation::kObserve);
  EXPECT_EQ(classify(CoapCode::kGet, "3/0", cancel), Lwm2mOperation::kCancelObserve);
  EXPECT_EQ(classify(CoapCode::kGet, "3", discover), Lwm2mOperation::kDiscover);
  EXPECT_EQ(classify(CoapCode::kPut, "3/0/9", attrs), Lwm2mOperation::kWriteAttributes);
  EXPECT_EQ(classify(CoapCode::kPut, "3/0/9", payload), Lwm2mOperation::kWrite);
  EXPECT_EQ(classify(CoapCode::kPost, "3/0/4", plain), Lwm2mOperation::kExecute);
  EXPECT_EQ(classify(CoapCode::kPost, "3/0", payload), Lwm2mOperation::kWritePartial);
  EXPECT_EQ(classify(CoapCode::kPost, "3303", payload), Lwm2mOperation::kCreate);
  EXPECT_EQ(classify(CoapCode::kDelete, "3303/1", plain), Lwm2mOperation::kDelete);
  EXPECT_EQ(classify(CoapCode::kFetch, "", plain), Lwm2mOperation::kReadComposite);
  EXPECT_EQ(classify(CoapCode::kIPatch, "", plain), Lwm2mOperation::kWriteComposite);
}

}  // namespace
}  // namespace lwm2msim
