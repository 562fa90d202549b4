// Field behaviours of one device against a hand-driven server: a firmware update pulled block by
// block (LwM2M object 5, RFC 7959), queue mode (LwM2M 1.1 6.5) and NAT rebinding.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/fleet/fleet.h"
#include "sim/profile/profile.h"
#include "tests/integration/hand_driven.h"

namespace lwm2msim {
namespace {

using std::chrono::seconds;

constexpr std::string_view kFirmwareProfile = R"(name: updatable
device:
  firmware: "1.0.0"
objects:
  5:
    0:
      0: ""
      1: ""
      3: 0
      5: 0
      9: 0
)";

class DeviceBehaviours : public testing::HandDriven {
 protected:
  // One group of one device with the firmware profile; `group` adjusts it.
  void start_group(const std::function<void(FleetGroup&)>& group,
                   const std::function<void(FleetConfig&)>& fleet = {}) {
    auto profile = std::make_shared<Profile>();
    ASSERT_EQ(load_profile_text(kFirmwareProfile, "fw.yaml", ".", ObjectRegistry::builtin(),
                                profile.get()),
              "");
    start([&](FleetConfig& c) {
      FleetGroup g;
      g.name = "devices";
      g.count = 1;
      g.profile = profile;
      g.client = c.client;
      g.firmware_update_time = 300 * kUsPerMs;
      if (group) {
        group(g);
      }
      c.groups = {g};
      if (fleet) {
        fleet(c);
      }
    });
  }

  std::string read_text(std::string_view path) {
    auto r = request(CoapCode::kGet, path);
    return r ? text_of(r->message) : "<no answer>";
  }

  static std::string text_of(const CoapMessage& m) {
    const auto p = m.payload();
    return std::string(p.begin(), p.end());
  }

  static bool is_get(const CoapMessage& m, std::string_view path) {
    std::array<char, 64> buf;
    return m.code() == CoapCode::kGet && m.join(CoapOption::kUriPath, buf) == path;
  }

  // Answers a block request with `size` bytes of a `total`-byte package cut in 1024-byte blocks.
  void answer_block(const testing::Received& get, uint32_t total, uint32_t size_in_option) {
    const CoapOptionView* block = get.message.find(CoapOption::kBlock2);
    ASSERT_NE(block, nullptr);
    const uint32_t num = block->as_uint() >> 4;
    const uint32_t offset = num * 1024;
    const uint32_t length = std::min<uint32_t>(1024, total - offset);
    const bool more = offset + length < total;
    std::vector<uint8_t> body(length, static_cast<uint8_t>(num));
    std::array<uint8_t, 1280> buf;
    CoapWriter w(buf);
    w.header(CoapType::kAck, CoapCode::kContent, get.message.message_id(), get.message.token())
        .option_uint(CoapOption::kContentFormat, CoapContentFormat::kOctetStream)
        .option_uint(CoapOption::kBlock2, (num << 4) | (more ? 8u : 0u) | 6u)
        .option_uint(CoapOption::kSize2, size_in_option)
        .payload(body);
    server_.send(get.from, w.finish());
  }

  std::string package_uri(std::string_view scheme, std::string_view version) const {
    return std::string(scheme) + "://" + server_.address().to_string() + "/fw/" +
           std::string(version);
  }
};

TEST_F(DeviceBehaviours, FirmwareIsPulledBlockWiseInstalledAndRunAfterTheReboot) {
  start_group({});
  // Update before anything was downloaded is not allowed (state Idle).
  EXPECT_EQ(request(CoapCode::kPost, "5/0/2")->message.code(), CoapCode::kMethodNotAllowed);
  const std::string uri = package_uri("coap", "2.0.0");
  auto written = request(CoapCode::kPut, "5/0/1", {}, std::nullopt, uri, 0);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(written->message.code(), CoapCode::kChanged);
  // 2,500 bytes: blocks 0 and 1 full, block 2 the last 452 bytes.
  for (uint32_t num = 0; num < 3; ++num) {
    auto get = next([](const CoapMessage& m) { return is_get(m, "fw/2.0.0"); });
    ASSERT_TRUE(get.has_value()) << "block " << num;
    EXPECT_EQ(get->message.find(CoapOption::kBlock2)->as_uint() >> 4, num);
    answer_block(*get, 2500, 2500);
  }
  ASSERT_TRUE(
      testing::eventually([&] { return fleet_->snapshot().fw_downloaded == 1; }, seconds(5)));
  EXPECT_EQ(fleet_->snapshot().fw_blocks, 3u);
  EXPECT_EQ(read_text("5/0/3"), "2");  // Downloaded
  EXPECT_EQ(read_text("5/0/7"), "2.0.0");
  EXPECT_EQ(request(CoapCode::kPost, "5/0/2")->message.code(), CoapCode::kChanged);
  EXPECT_EQ(read_text("5/0/3"), "3");  // Updating
  // Installing ends in a reboot: a fresh Register, no De-register, and the new version.
  accept_register();
  EXPECT_EQ(read_text("5/0/3"), "0");
  EXPECT_EQ(read_text("5/0/5"), "1");
  EXPECT_EQ(read_text("3/0/3"), "2.0.0");
  const FleetSnapshot s = fleet_->snapshot();
  EXPECT_EQ(s.fw_updated, 1u);
  EXPECT_EQ(s.deregister_sent, 0u);
}

TEST_F(DeviceBehaviours, FirmwareFailuresEndInTheUpdateResultTheSpecificationNames) {
  start_group({});
  // A scheme the device does not speak: Unsupported protocol (9).
  request(CoapCode::kPut, "5/0/1", {}, std::nullopt, package_uri("https", "2.0.0"), 0);
  EXPECT_EQ(read_text("5/0/5"), "9");
  // Not a URI: Invalid URI (7).
  request(CoapCode::kPut, "5/0/1", {}, std::nullopt, "coap://no-such-host/fw", 0);
  EXPECT_EQ(read_text("5/0/5"), "7");
  EXPECT_EQ(read_text("5/0/3"), "0");
  // A package shorter than its Size2 says: Integrity check failure (5).
  request(CoapCode::kPut, "5/0/1", {}, std::nullopt, package_uri("coap", "3.0.0"), 0);
  auto get = next([](const CoapMessage& m) { return is_get(m, "fw/3.0.0"); });
  ASSERT_TRUE(get.has_value());
  answer_block(*get, 700, 5000);
  ASSERT_TRUE(testing::eventually([&] { return read_text("5/0/5") == "5"; }, seconds(5)));
  // The server refuses the package: Invalid URI (7) for 4.04.
  request(CoapCode::kPut, "5/0/1", {}, std::nullopt, package_uri("coap", "4.0.0"), 0);
  get = next([](const CoapMessage& m) { return is_get(m, "fw/4.0.0"); });
  ASSERT_TRUE(get.has_value());
  std::array<uint8_t, 32> buf;
  CoapWriter w(buf);
  w.header(CoapType::kAck, CoapCode::kNotFound, get->message.message_id(), get->message.token());
  server_.send(get->from, w.finish());
  ASSERT_TRUE(testing::eventually([&] { return read_text("5/0/5") == "7"; }, seconds(5)));
  EXPECT_EQ(fleet_->snapshot().fw_download_failed, 4u);
  // An empty URI resets the state machine (Update Result back to 0).
  request(CoapCode::kPut, "5/0/1", {}, std::nullopt, "", 0);
  EXPECT_EQ(read_text("5/0/5"), "0");
}

TEST_F(DeviceBehaviours, QueueModeDeviceAnswersOnlyWhileAwakeAndWakesWithAnUpdate) {
  // Awake 1 s after each Update, then asleep 3 s: longer than the fake server waits for an answer,
  // so an unanswered request is over before the device wakes.
  start_group([](FleetGroup& g) {
    g.queue_awake = 1 * kUsPerSec;
    g.queue_sleep = 3 * kUsPerSec;
  });
  // LwM2M 1.1: queue mode is a query parameter of its own, not part of the binding (the
  // fixture joins Uri-Query options with '/').
  EXPECT_TRUE(last_register_query_.ends_with("/b=U/Q")) << last_register_query_;
  EXPECT_EQ(read_text("3/0/3"), "1.0.0");  // awake right after registering
  // Past the awake window a request finds the radio off: no answer, and the device counts it.
  ASSERT_TRUE(testing::eventually(
      [&] { return !request(CoapCode::kGet, "3/0/3") && fleet_->snapshot().sleep_drops == 1; },
      seconds(8)));
  // It wakes with an Update and answers again.
  auto update = next([](const CoapMessage& m) {
    std::array<char, 64> buf;
    return m.code() == CoapCode::kPost && m.join(CoapOption::kUriPath, buf) == "rd/5";
  });
  ASSERT_TRUE(update.has_value());
  std::array<uint8_t, 32> buf;
  CoapWriter w(buf);
  w.header(CoapType::kAck, CoapCode::kChanged, update->message.message_id(),
           update->message.token());
  server_.send(client_, w.finish());
  EXPECT_EQ(read_text("3/0/3"), "1.0.0");
}

TEST_F(DeviceBehaviours, NatRebindingMovesTheDeviceToAnotherSourcePort) {
  start_group([](FleetGroup& g) {
    FaultSpec f;
    f.nat_rebind_every = 1 * kUsPerSec;
    g.faults = {f};
    g.client.update_every = 700 * kUsPerMs;
  });
  const Endpoint4 first = client_;
  // Updates keep coming; within a few the NAT has given the device another port.
  Endpoint4 moved;
  for (int i = 0; i < 8 && !(moved.port != 0 && moved.port != first.port); ++i) {
    auto update = next([](const CoapMessage& m) {
      std::array<char, 64> buf;
      return m.code() == CoapCode::kPost && m.join(CoapOption::kUriPath, buf) == "rd/5";
    });
    ASSERT_TRUE(update.has_value());
    moved = update->from;
    std::array<uint8_t, 32> buf;
    CoapWriter w(buf);
    w.header(CoapType::kAck, CoapCode::kChanged, update->message.message_id(),
             update->message.token());
    server_.send(moved, w.finish());
  }
  ASSERT_NE(moved.port, first.port);
  EXPECT_EQ(moved.ip, first.ip);
  // The old mapping is gone: a request to it never reaches the device.
  std::array<uint8_t, 32> buf;
  CoapWriter w(buf);
  const uint8_t token[] = {1};
  w.header(CoapType::kCon, CoapCode::kGet, 0x7000, token)
      .option_path(CoapOption::kUriPath, "3/0/3");
  server_.send(first, w.finish());
  ASSERT_TRUE(testing::eventually([&] { return fleet_->snapshot().nat_drops >= 1; }, seconds(5)));
}

}  // namespace
}  // namespace lwm2msim
