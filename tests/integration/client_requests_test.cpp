// Server-initiated requests reach the right virtual client; a test socket plays the server.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/dm/data_model.h"
#include "sim/fleet/fleet.h"
#include "sim/format/format.h"
#include "tests/integration/process.h"

namespace lwm2msim {
namespace {

using std::chrono::seconds;

using testing::FakeServer;

class ClientRequests : public ::testing::Test {
 protected:
  void SetUp() override {
    FleetConfig c;
    c.clients = 2;
    c.threads = 1;
    c.rate = 0;
    ASSERT_EQ(AddressPlan::parse("127.11.0.0/24", &c.local_addrs), "");
    ASSERT_EQ(EndpointPattern::parse("req-%d", &c.client.endpoint_pattern), "");
    c.client.server = server_.address();
    c.stop_timeout = 300 * kUsPerMs;
    fleet_ = std::make_unique<Fleet>(c);
    ASSERT_EQ(fleet_->prepare(), "");
    fleet_->start();
    // Register both clients and remember where each one lives.
    for (int i = 0; i < 2; ++i) {
      Endpoint4 from;
      auto reg = server_.receive(&from);
      ASSERT_TRUE(reg.has_value());
      CoapMessage m;
      ASSERT_EQ(m.parse(*reg), CoapParseError::kOk);
      std::array<char, 128> q;
      const std::string queries(m.join(CoapOption::kUriQuery, q));
      const int index = queries.find("ep=req-0") != std::string::npos ? 0 : 1;
      clients_[index] = from;
      std::array<uint8_t, 64> buf;
      CoapWriter w(buf);
      w.header(CoapType::kAck, CoapCode::kCreated, m.message_id(), m.token())
          .option_path(CoapOption::kLocationPath, index == 0 ? "rd/0" : "rd/1");
      server_.send(from, w.finish());
    }
    ASSERT_TRUE(testing::eventually(
        [&] {
          return fleet_->snapshot().states[static_cast<size_t>(ClientState::kRegistered)] == 2;
        },
        seconds(5)));
  }

  void TearDown() override {
    if (fleet_) {
      fleet_->stop();
      // Nobody answers the De-registers: the stop bound ends the run.
      EXPECT_TRUE(testing::eventually([&] { return fleet_->stopped(); }, seconds(10)));
      fleet_->join();
    }
  }

  // Sends a request to client `index` and returns its response.
  CoapMessage request(int index, CoapType type, uint8_t code, uint16_t mid, std::string_view path,
                      std::optional<uint32_t> accept, std::vector<uint8_t>* storage) {
    std::array<uint8_t, 128> buf;
    const uint8_t token[] = {0xab, static_cast<uint8_t>(mid)};
    CoapWriter w(buf);
    w.header(type, code, mid, token).option_path(CoapOption::kUriPath, path);
    if (accept) {
      w.option_uint(CoapOption::kAccept, *accept);
    }
    server_.send(clients_[index], w.finish());
    Endpoint4 from;
    auto reply = server_.receive(&from);
    EXPECT_TRUE(reply.has_value());
    EXPECT_EQ(from, clients_[index]) << "the answer comes from the client's own address";
    *storage = reply.value_or(std::vector<uint8_t>{});
    CoapMessage m;
    EXPECT_EQ(m.parse(*storage), CoapParseError::kOk);
    return m;
  }

  FakeServer server_;
  std::unique_ptr<Fleet> fleet_;
  std::array<Endpoint4, 2> clients_;
};

TEST_F(ClientRequests, ReadOfADeviceResourceIsAnsweredInPlainText) {
  std::vector<uint8_t> storage;
  const CoapMessage m =
      request(1, CoapType::kCon, CoapCode::kGet, 0x100, "3/0/2", std::nullopt, &storage);
  EXPECT_EQ(m.type(), CoapType::kAck);
  EXPECT_EQ(m.message_id(), 0x100);
  EXPECT_EQ(m.code(), CoapCode::kContent);
  EXPECT_EQ(m.find(CoapOption::kContentFormat)->as_uint(), CoapContentFormat::kTextPlain);
  EXPECT_EQ(std::string(m.payload().begin(), m.payload().end()), "SN0000000001");
}

TEST_F(ClientRequests, ARetransmittedConGetsTheCachedAnswer) {
  std::vector<uint8_t> first;
  std::vector<uint8_t> second;
  request(0, CoapType::kCon, CoapCode::kGet, 0x200, "3/0/0", std::nullopt, &first);
  request(0, CoapType::kCon, CoapCode::kGet, 0x200, "3/0/0", std::nullopt, &second);
  EXPECT_EQ(first, second);
  const FleetSnapshot s = fleet_->snapshot();
  EXPECT_EQ(s.requests, 1u);
  EXPECT_EQ(s.request_duplicates, 1u);
}

TEST_F(ClientRequests, ErrorsAreCoapCodes) {
  std::vector<uint8_t> storage;
  EXPECT_EQ(
      request(0, CoapType::kCon, CoapCode::kGet, 0x300, "3/0/77", std::nullopt, &storage).code(),
      CoapCode::kNotFound);
  EXPECT_EQ(
      request(0, CoapType::kCon, CoapCode::kGet, 0x301, "9/0/1", std::nullopt, &storage).code(),
      CoapCode::kNotFound);
  EXPECT_EQ(request(0, CoapType::kCon, CoapCode::kGet, 0x302, "3/0/0", 50u, &storage).code(),
            CoapCode::kNotAcceptable)
      << "application/json is not an LwM2M format";
  EXPECT_EQ(request(0, CoapType::kCon, CoapCode::kGet, 0x305, "3/0", 0u, &storage).code(),
            CoapCode::kNotAcceptable)
      << "a whole instance does not fit in plain text";
  EXPECT_EQ(
      request(0, CoapType::kCon, CoapCode::kGet, 0x303, "3/0/4", std::nullopt, &storage).code(),
      CoapCode::kMethodNotAllowed);
  EXPECT_EQ(
      request(0, CoapType::kCon, CoapCode::kGet, 0x304, "bs/x", std::nullopt, &storage).code(),
      CoapCode::kNotFound);
}

TEST_F(ClientRequests, InstanceReadHonoursAcceptAndDecodesBack) {
  const DataModel model(builtin_profile(ObjectRegistry::builtin()), 0, 0);
  const CodecContext ctx = model.codec_context(Lwm2mPath{3, 0});
  uint16_t mid = 0x600;
  for (uint16_t format :
       {CoapContentFormat::kLwm2mTlv, CoapContentFormat::kSenmlJson, CoapContentFormat::kSenmlCbor,
        CoapContentFormat::kLwm2mCbor, CoapContentFormat::kLwm2mJson}) {
    std::vector<uint8_t> storage;
    const CoapMessage m =
        request(1, CoapType::kCon, CoapCode::kGet, mid++, "3/0", format, &storage);
    ASSERT_EQ(m.code(), CoapCode::kContent) << format;
    EXPECT_EQ(m.find(CoapOption::kContentFormat)->as_uint(), format);
    std::vector<Record> records;
    ASSERT_TRUE(decode(format, ctx, m.payload(), &records).ok()) << format;
    bool serial = false;
    for (const Record& r : records) {
      if (r.path == Lwm2mPath{3, 0, 2}) {
        serial = std::get<std::string>(r.value) == "SN0000000001";
      }
    }
    EXPECT_TRUE(serial) << "format " << format;
  }
  // Without Accept a 1.1 client answers a multi-value read in TLV.
  std::vector<uint8_t> storage;
  const CoapMessage m =
      request(1, CoapType::kCon, CoapCode::kGet, mid++, "3/0", std::nullopt, &storage);
  EXPECT_EQ(m.find(CoapOption::kContentFormat)->as_uint(), CoapContentFormat::kLwm2mTlv);
}

TEST_F(ClientRequests, DiscoverListsTheDeviceResources) {
  std::vector<uint8_t> storage;
  const CoapMessage m = request(0, CoapType::kCon, CoapCode::kGet, 0x400, "3/0", 40u, &storage);
  EXPECT_EQ(m.code(), CoapCode::kContent);
  EXPECT_EQ(m.find(CoapOption::kContentFormat)->as_uint(), CoapContentFormat::kLinkFormat);
  const std::string links(m.payload().begin(), m.payload().end());
  EXPECT_NE(links.find("</3/0/9>"), std::string::npos) << links;
}

TEST_F(ClientRequests, NonRequestGetsANonResponse) {
  std::vector<uint8_t> storage;
  const CoapMessage m =
      request(0, CoapType::kNon, CoapCode::kGet, 0x500, "3/0/1", std::nullopt, &storage);
  EXPECT_EQ(m.type(), CoapType::kNon);
  EXPECT_EQ(m.code(), CoapCode::kContent);
  EXPECT_EQ(std::string(m.payload().begin(), m.payload().end()), "virtual-device");
}

}  // namespace
}  // namespace lwm2msim
