#include "sim/util/address_plan.h"

#include <gtest/gtest.h>

namespace lwm2msim {
namespace {

TEST(AddressPlan, CidrSkipsNetworkAndBroadcast) {
  AddressPlan plan;
  ASSERT_EQ(AddressPlan::parse("127.0.0.0/24", &plan), "");
  EXPECT_EQ(plan.ip_count(), 254u);
  EXPECT_EQ(plan.ip_at(0), 0x7f000001u);
  EXPECT_EQ(plan.ip_at(253), 0x7f0000feu);
  EXPECT_EQ(plan.index_of_ip(0x7f000001u), 0u);
  EXPECT_EQ(plan.index_of_ip(0x7f000000u), UINT64_MAX);
  EXPECT_EQ(plan.index_of_ip(0x7f0000ffu), UINT64_MAX);
  EXPECT_EQ(plan.port_count(), 1u);
  EXPECT_EQ(plan.port_first(), 0u);
}

TEST(AddressPlan, ListAndPortsRoundTrip) {
  AddressPlan plan;
  ASSERT_EQ(AddressPlan::parse("127.0.0.9, 127.0.0.2-127.0.0.4:40000-40009", &plan), "");
  EXPECT_EQ(plan.ip_count(), 4u);
  EXPECT_EQ(plan.port_first(), 40000u);
  EXPECT_EQ(plan.port_count(), 10u);
  EXPECT_EQ(plan.capacity(), 40u);
  for (uint64_t i = 0; i < plan.ip_count(); ++i) {
    EXPECT_EQ(plan.index_of_ip(plan.ip_at(i)), i);
  }
  EXPECT_EQ(plan.ip_at(3), 0x7f000009u);
}

TEST(AddressPlan, RejectsBadInput) {
  AddressPlan plan;
  EXPECT_NE(AddressPlan::parse("", &plan), "");
  EXPECT_NE(AddressPlan::parse("127.0.0.256", &plan), "");
  EXPECT_NE(AddressPlan::parse("127.0.0.0/33", &plan), "");
  EXPECT_NE(AddressPlan::parse("127.0.0.1:0", &plan), "");
  EXPECT_NE(AddressPlan::parse("127.0.0.1:5-4", &plan), "");
  EXPECT_NE(AddressPlan::parse("127.0.0.0/24,127.0.0.5", &plan), "");
  EXPECT_NE(AddressPlan::parse("127.0.0.1:1000,127.0.0.2:2000", &plan), "");
}

TEST(AddressPlan, ParsesEndpoints) {
  Endpoint4 ep;
  ASSERT_TRUE(parse_endpoint("127.0.0.1:5683", &ep));
  EXPECT_EQ(ep.ip, 0x7f000001u);
  EXPECT_EQ(ep.port, 5683);
  EXPECT_EQ(ep.to_string(), "127.0.0.1:5683");
  ASSERT_TRUE(parse_endpoint("localhost:1", &ep));
  EXPECT_FALSE(parse_endpoint("127.0.0.1", &ep));
  EXPECT_FALSE(parse_endpoint("127.0.0.1:70000", &ep));
}

}  // namespace
}  // namespace lwm2msim
