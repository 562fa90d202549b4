#include "sim/dm/attributes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "sim/coap/coap.h"

namespace lwm2msim {
namespace {

constexpr AttributeTarget kObject{1, ResourceType::kNone, Lwm2mVersion::k1_1};
constexpr AttributeTarget kInstance{2, ResourceType::kNone, Lwm2mVersion::k1_1};
constexpr AttributeTarget kFloat{3, ResourceType::kFloat, Lwm2mVersion::k1_1};
constexpr AttributeTarget kString{3, ResourceType::kString, Lwm2mVersion::k1_1};

uint8_t apply(std::vector<std::string_view> queries, const AttributeTarget& target,
              NotificationAttributes* attrs) {
  return apply_write_attributes(queries, target, attrs);
}

std::string params(const NotificationAttributes& a) {
  std::string out;
  append_link_params(a, &out);
  return out;
}

TEST(Attributes, StaySmall) {
  EXPECT_LE(sizeof(NotificationAttributes), 48u);
}

TEST(Attributes, SetUnsetAndCompare) {
  NotificationAttributes a;
  EXPECT_TRUE(a.empty());
  a.set_pmin(10);
  a.set_gt(2.5);
  EXPECT_TRUE(a.has(Attr::kPmin));
  EXPECT_TRUE(a.has(Attr::kGt));
  EXPECT_FALSE(a.has(Attr::kPmax));
  EXPECT_EQ(a.pmin(), 10u);
  EXPECT_EQ(a.gt(), 2.5);
  a.unset(Attr::kGt);
  EXPECT_FALSE(a.has(Attr::kGt));
  EXPECT_EQ(a.gt(), 0);
  NotificationAttributes b;
  b.set_pmin(10);
  EXPECT_EQ(a, b);
  b.set_pmin(11);
  EXPECT_NE(a, b);
}

TEST(Attributes, NamesRoundTrip) {
  for (int i = 0; i < kAttrCount; ++i) {
    const auto a = static_cast<Attr>(i);
    Attr back;
    ASSERT_TRUE(parse_attr_name(to_string(a), &back));
    EXPECT_EQ(back, a);
  }
  Attr a;
  EXPECT_FALSE(parse_attr_name("hqmax", &a));
  EXPECT_FALSE(parse_attr_name("PMIN", &a));
  EXPECT_FALSE(parse_attr_name("", &a));
}

TEST(WriteAttributes, SetsEveryAttributeOnANumericResource) {
  NotificationAttributes a;
  ASSERT_EQ(apply({"pmin=10", "pmax=60", "gt=25.5", "lt=-3", "st=0.5", "epmin=1", "epmax=30"},
                  kFloat, &a),
            0);
  EXPECT_EQ(a.pmin(), 10u);
  EXPECT_EQ(a.pmax(), 60u);
  EXPECT_EQ(a.gt(), 25.5);
  EXPECT_EQ(a.lt(), -3);
  EXPECT_EQ(a.st(), 0.5);
  EXPECT_EQ(a.epmin(), 1u);
  EXPECT_EQ(a.epmax(), 30u);
  EXPECT_EQ(params(a), ";pmin=10;pmax=60;gt=25.5;lt=-3;st=0.5;epmin=1;epmax=30");
}

TEST(WriteAttributes, BareNameUnsets) {
  NotificationAttributes a;
  ASSERT_EQ(apply({"pmin=10", "pmax=60", "gt=5"}, kFloat, &a), 0);
  ASSERT_EQ(apply({"pmax", "gt"}, kFloat, &a), 0);
  EXPECT_TRUE(a.has(Attr::kPmin));
  EXPECT_FALSE(a.has(Attr::kPmax));
  EXPECT_FALSE(a.has(Attr::kGt));
  // Unsetting what is not set is fine.
  ASSERT_EQ(apply({"st"}, kFloat, &a), 0);
  EXPECT_EQ(params(a), ";pmin=10");
}

TEST(WriteAttributes, LaterRequestsMergeWithEarlierOnes) {
  NotificationAttributes a;
  ASSERT_EQ(apply({"pmin=10"}, kInstance, &a), 0);
  ASSERT_EQ(apply({"pmax=20"}, kInstance, &a), 0);
  EXPECT_EQ(params(a), ";pmin=10;pmax=20");
  // The result is checked, not only the request: pmax below the stored pmin.
  EXPECT_EQ(apply({"pmax=5"}, kInstance, &a), CoapCode::kBadRequest);
  // Unsetting pmin in the same request makes it acceptable.
  EXPECT_EQ(apply({"pmin", "pmax=5"}, kInstance, &a), 0);
  EXPECT_EQ(params(a), ";pmax=5");
}

TEST(WriteAttributes, RejectsMalformedValues) {
  const std::vector<std::string_view> bad = {
      "pmin=",    "pmin=-1",  "pmin=1.5",  "pmin=+1",  "pmin= 1",  "pmin=4294967296",
      "pmin=abc", "pmax=1e3", "gt=",       "gt=abc",   "gt=1.2.3", "gt=inf",
      "gt=nan",   "lt=1e400", "st=0",      "st=-0.5",  "st=-0",    "epmin=-2",
      "epmax=x",  "=5",       "unknown=1", "hqmax=10", "Pmin=1",   "pmin=10=2",
  };
  for (std::string_view q : bad) {
    NotificationAttributes a;
    a.set_pmin(3);
    const NotificationAttributes before = a;
    EXPECT_EQ(apply({q}, kFloat, &a), CoapCode::kBadRequest) << q;
    EXPECT_EQ(a, before) << q;
  }
}

TEST(WriteAttributes, AcceptsBoundaryValues) {
  NotificationAttributes a;
  ASSERT_EQ(apply({"pmin=0", "pmax=4294967295"}, kFloat, &a), 0);
  EXPECT_EQ(a.pmax(), 4294967295u);
  ASSERT_EQ(apply({"gt=1e3", "lt=-0.25"}, kFloat, &a), 0);
  EXPECT_EQ(a.gt(), 1000);
  EXPECT_EQ(a.lt(), -0.25);
}

TEST(WriteAttributes, ErrorLeavesAttributesUnchanged) {
  NotificationAttributes a;
  ASSERT_EQ(apply({"pmin=10", "gt=5"}, kFloat, &a), 0);
  const NotificationAttributes before = a;
  // The first two are fine; the third fails, so none applies.
  EXPECT_EQ(apply({"pmin=20", "gt", "bogus=1"}, kFloat, &a), CoapCode::kBadRequest);
  EXPECT_EQ(a, before);
}

TEST(WriteAttributes, RejectsRepeatedNames) {
  NotificationAttributes a;
  EXPECT_EQ(apply({"pmin=1", "pmin=2"}, kFloat, &a), CoapCode::kBadRequest);
  EXPECT_EQ(apply({"pmin=1", "pmin"}, kFloat, &a), CoapCode::kBadRequest);
  EXPECT_TRUE(a.empty());
}

TEST(WriteAttributes, ValueConditionsOnlyOnNumericResources) {
  for (std::string_view q : {"gt=1", "lt=1", "st=1", "gt"}) {
    NotificationAttributes a;
    EXPECT_EQ(apply({q}, kObject, &a), CoapCode::kBadRequest) << q;
    EXPECT_EQ(apply({q}, kInstance, &a), CoapCode::kBadRequest) << q;
    EXPECT_EQ(apply({q}, kString, &a), CoapCode::kBadRequest) << q;
    for (ResourceType t : {ResourceType::kBoolean, ResourceType::kOpaque, ResourceType::kTime,
                           ResourceType::kObjlnk, ResourceType::kNone}) {
      EXPECT_EQ(apply({q}, {3, t, Lwm2mVersion::k1_1}, &a), CoapCode::kBadRequest) << q;
    }
    for (ResourceType t :
         {ResourceType::kInteger, ResourceType::kUnsignedInteger, ResourceType::kFloat}) {
      EXPECT_EQ(apply({q}, {3, t, Lwm2mVersion::k1_1}, &a), 0) << q;
      // Resource instances of a numeric multiple resource too.
      EXPECT_EQ(apply({q}, {4, t, Lwm2mVersion::k1_1}, &a), 0) << q;
    }
  }
}

TEST(WriteAttributes, PeriodsAtEveryLevel) {
  for (int depth = 1; depth <= 4; ++depth) {
    NotificationAttributes a;
    EXPECT_EQ(
        apply({"pmin=1", "pmax=2", "epmin=1", "epmax=2"},
              {depth, depth >= 3 ? ResourceType::kString : ResourceType::kNone, Lwm2mVersion::k1_1},
              &a),
        0)
        << depth;
  }
  NotificationAttributes a;
  EXPECT_EQ(apply({"pmin=1"}, {0, ResourceType::kNone, Lwm2mVersion::k1_1}, &a),
            CoapCode::kBadRequest);
  EXPECT_EQ(apply({"pmin=1"}, {5, ResourceType::kNone, Lwm2mVersion::k1_1}, &a),
            CoapCode::kBadRequest);
}

TEST(WriteAttributes, VersionGates) {
  const AttributeTarget v10{3, ResourceType::kFloat, Lwm2mVersion::k1_0};
  NotificationAttributes a;
  EXPECT_EQ(apply({"pmin=1", "pmax=2", "gt=1", "lt=0", "st=0.1"}, v10, &a), 0);
  EXPECT_EQ(apply({"epmin=1"}, v10, &a), CoapCode::kBadRequest);
  EXPECT_EQ(apply({"epmax=1"}, v10, &a), CoapCode::kBadRequest);
  // 1.0 has no resource-instance level.
  EXPECT_EQ(apply({"pmin=1"}, {4, ResourceType::kFloat, Lwm2mVersion::k1_0}, &a),
            CoapCode::kBadRequest);
  // edge and con are 1.2 attributes.
  const AttributeTarget boolean11{3, ResourceType::kBoolean, Lwm2mVersion::k1_1};
  EXPECT_EQ(apply({"edge=1"}, boolean11, &a), CoapCode::kBadRequest);
  EXPECT_EQ(apply({"con=1"}, kInstance, &a), CoapCode::kBadRequest);
}

TEST(WriteAttributes, EdgeAndConFrom12) {
  const AttributeTarget boolean{3, ResourceType::kBoolean, Lwm2mVersion::k1_2};
  NotificationAttributes a;
  ASSERT_EQ(apply({"edge=1", "con=0"}, boolean, &a), 0);
  EXPECT_TRUE(a.edge());
  EXPECT_FALSE(a.con());
  EXPECT_EQ(params(a), ";edge=1;con=0");
  ASSERT_EQ(apply({"edge=0", "con=1"}, boolean, &a), 0);
  EXPECT_EQ(params(a), ";edge=0;con=1");
  EXPECT_EQ(apply({"edge=2"}, boolean, &a), CoapCode::kBadRequest);
  EXPECT_EQ(apply({"con=true"}, boolean, &a), CoapCode::kBadRequest);
  // edge needs a Boolean resource; con applies at any level.
  EXPECT_EQ(apply({"edge=1"}, {3, ResourceType::kInteger, Lwm2mVersion::k1_2}, &a),
            CoapCode::kBadRequest);
  EXPECT_EQ(apply({"edge=1"}, {2, ResourceType::kNone, Lwm2mVersion::k1_2}, &a),
            CoapCode::kBadRequest);
  NotificationAttributes object_level;
  EXPECT_EQ(apply({"con=1"}, {1, ResourceType::kNone, Lwm2mVersion::k1_2}, &object_level), 0);
  EXPECT_EQ(params(object_level), ";con=1");
  // Still no hqmax.
  EXPECT_EQ(apply({"hqmax=10"}, boolean, &a), CoapCode::kBadRequest);
}

TEST(WriteAttributes, PeriodOrdering) {
  NotificationAttributes a;
  EXPECT_EQ(apply({"pmin=10", "pmax=10"}, kFloat, &a), 0);
  EXPECT_EQ(apply({"pmin=11"}, kFloat, &a), CoapCode::kBadRequest);
  EXPECT_EQ(apply({"pmin=60", "pmax=10"}, kFloat, &a), CoapCode::kBadRequest);
  EXPECT_EQ(apply({"epmin=5", "epmax=5"}, kFloat, &a), 0);
  EXPECT_EQ(apply({"epmax=4"}, kFloat, &a), CoapCode::kBadRequest);
  EXPECT_EQ(apply({"epmin=6"}, kFloat, &a), CoapCode::kBadRequest);
  EXPECT_EQ(params(a), ";pmin=10;pmax=10;epmin=5;epmax=5");
}

TEST(WriteAttributes, ThresholdOrdering) {
  NotificationAttributes a;
  EXPECT_EQ(apply({"lt=10", "gt=10"}, kFloat, &a), CoapCode::kBadRequest);
  EXPECT_EQ(apply({"lt=11", "gt=10"}, kFloat, &a), CoapCode::kBadRequest);
  ASSERT_EQ(apply({"lt=0", "gt=10"}, kFloat, &a), 0);
  // lt + 2*st must stay below gt: 0 + 2*5 = 10 is not.
  EXPECT_EQ(apply({"st=5"}, kFloat, &a), CoapCode::kBadRequest);
  EXPECT_EQ(apply({"st=4.9"}, kFloat, &a), 0);
  // Moving lt up against a stored st and gt is checked too.
  EXPECT_EQ(apply({"lt=1"}, kFloat, &a), CoapCode::kBadRequest);
  // st alone, or with one threshold, has no ordering to respect.
  NotificationAttributes b;
  EXPECT_EQ(apply({"gt=1", "st=100"}, kFloat, &b), 0);
}

TEST(EffectiveAttributes, InnerLevelsOverrideOuter) {
  NotificationAttributes object;
  object.set_pmin(5);
  object.set_pmax(100);
  object.set_epmax(50);
  NotificationAttributes instance;
  instance.set_pmax(60);
  NotificationAttributes resource;
  resource.set_pmin(1);
  resource.set_gt(20);
  NotificationAttributes resource_instance;
  resource_instance.set_gt(30);
  resource_instance.set_st(2);
  const NotificationAttributes* levels[] = {&object, &instance, &resource, &resource_instance};

  const auto all = effective_attributes(levels, 0, 300);
  EXPECT_EQ(params(all), ";pmin=1;pmax=60;gt=30;st=2;epmax=50");

  const auto down_to_resource = effective_attributes(std::span(levels, 3), 0, 300);
  EXPECT_EQ(params(down_to_resource), ";pmin=1;pmax=60;gt=20;epmax=50");

  const auto down_to_instance = effective_attributes(std::span(levels, 2), 0, 300);
  EXPECT_EQ(params(down_to_instance), ";pmin=5;pmax=60;epmax=50");
}

TEST(EffectiveAttributes, ServerDefaultsFillTheGaps) {
  const NotificationAttributes* none[] = {nullptr, nullptr, nullptr};
  EXPECT_EQ(params(effective_attributes(none, 0, std::nullopt)), ";pmin=0");
  EXPECT_EQ(params(effective_attributes(none, 15, 600)), ";pmin=15;pmax=600");
  NotificationAttributes instance;
  instance.set_pmax(30);
  const NotificationAttributes* levels[] = {nullptr, &instance};
  EXPECT_EQ(params(effective_attributes(levels, 15, 600)), ";pmin=15;pmax=30");
  EXPECT_EQ(params(effective_attributes({}, 1, 2)), ";pmin=1;pmax=2");
}

TEST(EffectiveAttributes, ValueConditionsNotInheritedFromAboveTheResource) {
  // Write-Attributes never puts them there; a store that did must not leak them down.
  NotificationAttributes object;
  object.set_gt(5);
  object.set_con(true);
  NotificationAttributes instance;
  instance.set_st(1);
  instance.set_edge(true);
  const NotificationAttributes* levels[] = {&object, &instance, nullptr};
  EXPECT_EQ(params(effective_attributes(levels, 0, std::nullopt)), ";pmin=0;con=1");
}

TEST(LinkParams, ShortestDecimals) {
  NotificationAttributes a;
  a.set_gt(0.1);
  EXPECT_EQ(params(a), ";gt=0.1");
  a.set_gt(100);
  EXPECT_EQ(params(a), ";gt=100");
  a.set_gt(-0.0);
  EXPECT_EQ(params(a), ";gt=0");
  a.set_gt(1e21);
  EXPECT_EQ(params(a), ";gt=1000000000000000000000");
  a.set_gt(1.0 / 3);
  EXPECT_EQ(params(a), ";gt=0.3333333333333333");
  a.set_gt(1e-7);
  EXPECT_EQ(params(a), ";gt=0.0000001");
  a.set_gt(std::numeric_limits<double>::denorm_min());
  std::string denorm = params(a);
  EXPECT_EQ(denorm.substr(0, 8), ";gt=0.00");
  EXPECT_EQ(denorm.back(), '5');
  EXPECT_EQ(params(NotificationAttributes{}), "");
}

TEST(LinkParams, ValuesReadBack) {
  // Whatever Discover shows, Write-Attributes accepts and gives back the same values.
  NotificationAttributes a;
  a.set_pmin(7);
  a.set_lt(-12.125);
  a.set_gt(98.6);
  a.set_st(0.01);
  const std::string text = params(a);
  std::vector<std::string> parts;
  for (size_t i = 1; i < text.size();) {
    const size_t next = std::min(text.find(';', i), text.size());
    parts.push_back(text.substr(i, next - i));
    i = next + 1;
  }
  const std::vector<std::string_view> queries(parts.begin(), parts.end());
  NotificationAttributes back;
  ASSERT_EQ(apply_write_attributes(queries, kFloat, &back), 0) << text;
  EXPECT_EQ(back, a);
}

}  // namespace
}  // namespace lwm2msim
