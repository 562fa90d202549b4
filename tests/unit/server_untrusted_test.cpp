// The built-in server treats datagrams from clients as untrusted: RFC 7252's Reset for a
// Confirmable message it cannot process, 4.02 for an unknown critical option, silence otherwise.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "sim/server/server.h"
#include "tests/unit/server_fixtures.h"

namespace lwm2msim {
namespace {

using testing::DatagramPtr;
using testing::FakeClient;
using testing::milliseconds;

ServerConfig plain_server() {
  ServerConfig c;
  c.listen = Endpoint4{0x7f000001, 0};
  c.threads = 1;
  return c;
}

// Sends `bytes`, then a CoAP ping; returns what came back before the ping's Reset. The server
// answers one peer's datagrams in order, so anything the first provoked arrives first.
std::vector<DatagramPtr> answers_to(FakeClient& client, std::span<const uint8_t> bytes,
                                    uint16_t ping_mid) {
  client.send(bytes);
  std::array<uint8_t, 4> ping;
  client.send(coap_write_empty(ping, CoapType::kCon, ping_mid));
  std::vector<DatagramPtr> before;
  for (int i = 0; i < 10; ++i) {
    DatagramPtr d = client.next([](const testing::Datagram&) { return true; });
    if (d == nullptr) {
      ADD_FAILURE() << "no Reset to the ping";
      break;
    }
    if (d->m.type() == CoapType::kRst && d->m.message_id() == ping_mid) {
      break;
    }
    before.push_back(std::move(d));
  }
  return before;
}

TEST(ServerUntrustedInput, ConfirmableFormatErrorIsReset) {
  Lwm2mServer server(plain_server());
  ASSERT_EQ(server.start(), "");
  FakeClient client(server.address());
  const std::vector<uint8_t> bad_option = {0x40, 0x02, 0x43, 0x21, 0xf1, 0x00};
  const auto answers = answers_to(client, bad_option, 0x0101);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0]->m.type(), CoapType::kRst);
  EXPECT_EQ(answers[0]->m.message_id(), 0x4321);
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.malformed, 1u);
  EXPECT_EQ(s.resets, 2u);  // the format error's and the ping's
}

TEST(ServerUntrustedInput, OtherGarbageIsDroppedSilently) {
  Lwm2mServer server(plain_server());
  ASSERT_EQ(server.start(), "");
  FakeClient client(server.address());
  std::vector<uint8_t> oversized(1400, 0x33);
  oversized[0] = 0x40;
  const std::vector<std::vector<uint8_t>> garbage = {
      {0x50, 0x02, 0x00, 0x01, 0xf1},  // Non-confirmable format error
      {0x80, 0x02, 0x00, 0x02},        // version 2
      {0x40},                          // shorter than a header
      oversized,
  };
  uint16_t ping = 0x0200;
  for (const auto& g : garbage) {
    EXPECT_TRUE(answers_to(client, g, ping++).empty()) << g.size() << " bytes";
  }
  EXPECT_EQ(server.snapshot().malformed, garbage.size());
}

TEST(ServerUntrustedInput, UnknownCriticalOptionsGetBadOptionOrAreIgnored) {
  Lwm2mServer server(plain_server());
  ASSERT_EQ(server.start(), "");
  FakeClient client(server.address());
  std::array<uint8_t, 64> buf;
  const uint8_t token[] = {9, 9};
  {
    CoapWriter w(buf);
    w.header(CoapType::kCon, CoapCode::kPost, 0x0301, token)
        .option(CoapOption::kUriPath, "rd")
        .option_uint(65001, 1);
    const auto answers = answers_to(client, w.finish(), 0x0401);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0]->m.type(), CoapType::kAck);
    EXPECT_EQ(answers[0]->m.code(), CoapCode::kBadOption);
  }
  {
    // Non-confirmable: rejected without an answer.
    CoapWriter w(buf);
    w.header(CoapType::kNon, CoapCode::kPost, 0x0302, token)
        .option(CoapOption::kUriPath, "rd")
        .option_uint(65001, 1);
    EXPECT_TRUE(answers_to(client, w.finish(), 0x0402).empty());
  }
  {
    // A Confirmable response carrying one: Reset.
    CoapWriter w(buf);
    w.header(CoapType::kCon, CoapCode::kContent, 0x0303, token).option_uint(9, 1);
    const auto answers = answers_to(client, w.finish(), 0x0403);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0]->m.type(), CoapType::kRst);
    EXPECT_EQ(answers[0]->m.message_id(), 0x0303);
  }
  EXPECT_EQ(server.snapshot().registered, 0u);
}

}  // namespace
}  // namespace lwm2msim
