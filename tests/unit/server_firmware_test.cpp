// Firmware-update campaigns in the built-in server (LwM2M object 5, pull over CoAP): the package
// served block-wise at /fw/<version>, and a campaign driven step by step by a hand-written client.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "sim/server/firmware.h"
#include "sim/server/server.h"
#include "tests/unit/server_fixtures.h"

namespace lwm2msim {
namespace {

using testing::DatagramPtr;
using testing::eventually;
using testing::FakeClient;
using testing::milliseconds;

constexpr std::string_view kVersion = "2.0.1";
constexpr uint32_t kSize = 5000;  // not a multiple of any block size
constexpr std::string_view kFirmwareLinks = "</1/0>,</3/0>,</5/0>";

ServerConfig firmware_server(uint32_t threads) {
  ServerConfig c;
  c.listen = Endpoint4{0x7f000001, 0};
  c.threads = threads;
  c.firmware_fraction = 1;
  c.firmware_size = kSize;
  c.firmware_version = std::string(kVersion);
  return c;
}

std::span<const uint8_t> build_get(std::span<uint8_t> out, uint16_t mid, std::string_view path,
                                   int64_t block2) {
  CoapWriter w(out);
  w.header(CoapType::kCon, CoapCode::kGet, mid, CoapToken::from_u64(mid, 2).view())
      .option_path(CoapOption::kUriPath, path);
  if (block2 >= 0) {
    w.option_uint(CoapOption::kBlock2, static_cast<uint32_t>(block2));
  }
  return w.finish();
}

// Fetches `path` block by block with blocks of 2^(szx+4) bytes (szx < 0: no Block2 option in the
// first request); checks every block's options and returns the reassembled package.
std::vector<uint8_t> download(FakeClient& client, std::string_view path, int szx) {
  std::vector<uint8_t> data;
  for (uint32_t num = 0; num < 100000; ++num) {
    std::array<uint8_t, kCoapMaxMessageSize> buf;
    const uint16_t mid = client.take_mid();
    const int64_t block2 = num == 0 && szx < 0 ? -1 : int64_t{(num << 4) | (szx < 0 ? 6 : szx)};
    client.send(build_get(buf, mid, path, block2));
    DatagramPtr d = client.next_reply(mid);
    if (d == nullptr) {
      ADD_FAILURE() << "no answer to block " << num;
      return {};
    }
    EXPECT_EQ(d->m.type(), CoapType::kAck);
    EXPECT_EQ(d->m.code(), CoapCode::kContent);
    EXPECT_EQ(d->option(CoapOption::kContentFormat), CoapContentFormat::kOctetStream);
    EXPECT_EQ(d->option(CoapOption::kSize2), kSize) << "block " << num;
    EXPECT_NE(d->m.find(CoapOption::kETag), nullptr);
    const int64_t b = d->option(CoapOption::kBlock2);
    EXPECT_GE(b, 0);
    EXPECT_EQ(b >> 4, num);
    EXPECT_EQ(b & 7, szx < 0 ? 6 : szx);
    data.insert(data.end(), d->m.payload().begin(), d->m.payload().end());
    if ((b & 8) == 0) {
      return data;
    }
    EXPECT_EQ(d->m.payload().size(), size_t{16} << (b & 7));
  }
  ADD_FAILURE() << "no last block";
  return {};
}

std::vector<uint8_t> expected_package() {
  std::vector<uint8_t> v(kSize);
  for (uint32_t i = 0; i < kSize; ++i) {
    v[i] = firmware_byte(i);
  }
  return v;
}

uint8_t get_code(FakeClient& client, std::string_view path, int64_t block2, uint8_t method) {
  std::array<uint8_t, kCoapMaxMessageSize> buf;
  const uint16_t mid = client.take_mid();
  auto bytes = build_get(buf, mid, path, block2);
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  copy[1] = method;  // the code byte
  client.send(copy);
  DatagramPtr d = client.next_reply(mid);
  return d == nullptr ? 0 : d->m.code();
}

TEST(FirmwarePackage, BlockWiseDownloadsReassembleThePackage) {
  Lwm2mServer server(firmware_server(1));
  ASSERT_EQ(server.start(), "");
  FakeClient client(server.address());
  const std::string path = "fw/" + std::string(kVersion);
  const std::vector<uint8_t> expected = expected_package();
  uint64_t blocks = 0;
  for (int szx : {-1, 0, 2, 5, 6}) {
    const std::vector<uint8_t> got = download(client, path, szx);
    EXPECT_EQ(got.size(), kSize) << "szx " << szx;
    EXPECT_TRUE(got == expected) << "szx " << szx;
    blocks += (kSize + (size_t{16} << (szx < 0 ? 6 : szx)) - 1) >> ((szx < 0 ? 6 : szx) + 4);
  }
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.firmware_downloads, 5u);
  EXPECT_EQ(s.firmware_blocks, blocks);
  EXPECT_EQ(s.firmware_started, 0u);
}

TEST(FirmwarePackage, BadRequestsGetTheRfcAnswers) {
  Lwm2mServer server(firmware_server(1));
  ASSERT_EQ(server.start(), "");
  FakeClient client(server.address());
  const std::string path = "fw/" + std::string(kVersion);
  // 5000 bytes are blocks 0-4 of 1024: block 5 is past the end (RFC 7959: 4.02 Bad Option).
  EXPECT_EQ(get_code(client, path, (4 << 4) | 6, CoapCode::kGet), CoapCode::kContent);
  EXPECT_EQ(get_code(client, path, (5 << 4) | 6, CoapCode::kGet), CoapCode::kBadOption);
  EXPECT_EQ(get_code(client, path, 7, CoapCode::kGet), CoapCode::kBadOption);  // SZX 7: reserved
  EXPECT_EQ(get_code(client, "fw/1.0.0", -1, CoapCode::kGet), CoapCode::kNotFound);
  EXPECT_EQ(get_code(client, "fw", -1, CoapCode::kGet), CoapCode::kNotFound);
  EXPECT_EQ(get_code(client, path, -1, CoapCode::kPost), CoapCode::kMethodNotAllowed);
}

TEST(FirmwarePackage, BlocksAreBuiltForEachSize) {
  std::array<uint8_t, kCoapMaxMessageSize> req_buf;
  std::array<uint8_t, kCoapMaxMessageSize> out;
  for (uint32_t szx = 0; szx <= 6; ++szx) {
    const auto bytes = build_get(req_buf, 9, "fw/x", (1 << 4) | szx);
    CoapMessage req;
    ASSERT_EQ(req.parse(bytes), CoapParseError::kOk);
    const FirmwareBlockAnswer a = build_firmware_block(req, 0, 100, 42, out);
    CoapMessage m;
    ASSERT_EQ(m.parse(a.message), CoapParseError::kOk);
    const size_t block = size_t{16} << szx;
    if (block >= 100) {
      EXPECT_EQ(m.code(), CoapCode::kBadOption) << szx;
      continue;
    }
    EXPECT_EQ(m.code(), CoapCode::kContent) << szx;
    EXPECT_EQ(m.payload().size(), std::min<size_t>(block, 100 - block));
    EXPECT_EQ(m.payload()[0], firmware_byte(block));
  }
}

// The client's side of a campaign up to the Execute; `fail_at` makes that step's answer wrong.
struct CampaignClient {
  explicit CampaignClient(Lwm2mServer& s) : server(s), client(s.address()) {}

  Lwm2mServer& server;
  FakeClient client;
  std::vector<uint8_t> observe_token;
  uint32_t sequence = 1;

  void register_client(FakeClient& from, std::string_view links = kFirmwareLinks,
                       std::string_view endpoint = "fw-client") {
    RegistrationParams p;
    p.endpoint = endpoint;
    p.links = links;
    ASSERT_FALSE(from.register_endpoint(p).empty());
  }

  DatagramPtr expect(FakeClient& from, uint8_t method, std::string_view path) {
    DatagramPtr d = from.next_request();
    if (d == nullptr) {
      ADD_FAILURE() << "no request for " << path << "\n" << server.snapshot().to_text();
      return nullptr;
    }
    EXPECT_EQ(d->m.type(), CoapType::kCon);
    EXPECT_EQ(d->m.code(), method) << path;
    EXPECT_EQ(d->path(), path);
    return d;
  }

  void observe_state() {
    DatagramPtr d = expect(client, CoapCode::kGet, "5/0/3");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->option(CoapOption::kObserve), 0);
    EXPECT_EQ(d->option(CoapOption::kAccept), CoapContentFormat::kTextPlain);
    observe_token.assign(d->m.token().begin(), d->m.token().end());
    client.reply(d->m, CoapCode::kContent, "0", sequence++);
  }

  // Returns the package URI the server wrote.
  std::string write_uri(uint8_t code = CoapCode::kChanged) {
    DatagramPtr d = expect(client, CoapCode::kPut, "5/0/1");
    if (d == nullptr) {
      return {};
    }
    EXPECT_EQ(d->option(CoapOption::kContentFormat), CoapContentFormat::kTextPlain);
    const std::string uri = d->payload();
    client.reply(d->m, code);
    return uri;
  }

  // A CON notification of State; waits for its ACK (or RST) and returns that reply's type.
  CoapType notify(std::string_view state) {
    const uint16_t mid = client.notify(observe_token, sequence++, state, true);
    DatagramPtr r = client.next_reply(mid);
    EXPECT_NE(r, nullptr) << "no reply to State " << state;
    return r == nullptr ? CoapType::kCon : r->m.type();
  }

  void execute(uint8_t code) {
    DatagramPtr d = expect(client, CoapCode::kPost, "5/0/2");
    ASSERT_NE(d, nullptr);
    EXPECT_TRUE(d->m.payload().empty());
    client.reply(d->m, code);
  }

  // Everything up to the Execute's answer, which is `execute_code`.
  void until_execute(uint8_t execute_code) {
    register_client(client);
    observe_state();
    const std::string uri = write_uri();
    const std::string prefix = "coap://" + server.address().to_string() + "/";
    ASSERT_TRUE(uri.starts_with(prefix)) << uri;
    EXPECT_EQ(uri.substr(prefix.size()), "fw/" + std::string(kVersion));
    EXPECT_EQ(notify("1"), CoapType::kAck);
    EXPECT_EQ(download(client, uri.substr(prefix.size()), 6), expected_package());
    EXPECT_EQ(notify("2"), CoapType::kAck);
    execute(execute_code);
  }

  // After the reboot: a new Register from a new socket, then the two reads.
  void after_reboot(FakeClient& rebooted, std::string_view result, std::string_view version) {
    register_client(rebooted);
    DatagramPtr r = expect(rebooted, CoapCode::kGet, "5/0/5");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->option(CoapOption::kAccept), CoapContentFormat::kTextPlain);
    rebooted.reply(r->m, CoapCode::kContent, result);
    if (result != "1") {
      return;
    }
    DatagramPtr v = expect(rebooted, CoapCode::kGet, "3/0/3");
    ASSERT_NE(v, nullptr);
    rebooted.reply(v->m, CoapCode::kContent, version);
  }
};

TEST(FirmwareCampaign, UpdatesAClientThroughItsReboot) {
  // Two threads: the Register after the reboot, from a new port, may reach the other one.
  Lwm2mServer server(firmware_server(2));
  ASSERT_EQ(server.start(), "");
  CampaignClient c(server);
  ASSERT_NO_FATAL_FAILURE(c.until_execute(CoapCode::kChanged));
  // The server is done with the observation: the next notification ends it.
  EXPECT_EQ(c.notify("3"), CoapType::kRst);
  FakeClient rebooted(server.address());
  c.after_reboot(rebooted, "1", kVersion);
  ASSERT_TRUE(
      eventually([&] { return server.snapshot().firmware_succeeded == 1; }, milliseconds(5000)))
      << server.snapshot().to_text();
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.firmware_started, 1u);
  EXPECT_EQ(s.firmware_downloads, 1u);
  EXPECT_EQ(s.firmware_blocks, 5u);
  EXPECT_EQ(s.firmware_downloaded, 1u);
  EXPECT_EQ(s.firmware_executed, 1u);
  EXPECT_EQ(s.firmware_failed, 0u);
  EXPECT_EQ(s.firmware_abandoned, 0u);
  EXPECT_EQ(s.observations_cancelled, 1u);
  EXPECT_EQ(s.reregisters, 1u);
  EXPECT_EQ(s.firmware_duration.count(), 1u);
  EXPECT_NE(s.to_text().find("firmware_succeeded=1\n"), std::string::npos);
}

void expect_failed_at(Lwm2mServer& server, FirmwareStep step) {
  ASSERT_TRUE(
      eventually([&] { return server.snapshot().firmware_failed == 1; }, milliseconds(5000)))
      << server.snapshot().to_text();
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.firmware_failed_at[static_cast<size_t>(step)], 1u) << s.to_text();
  EXPECT_EQ(s.firmware_succeeded, 0u);
  EXPECT_NE(s.to_text().find("firmware_" + std::string(to_string(step)) + "_failed=1\n"),
            std::string::npos);
}

TEST(FirmwareCampaign, ExecuteRefusedFails) {
  Lwm2mServer server(firmware_server(1));
  ASSERT_EQ(server.start(), "");
  CampaignClient c(server);
  ASSERT_NO_FATAL_FAILURE(c.until_execute(CoapCode::kMethodNotAllowed));
  expect_failed_at(server, FirmwareStep::kExecute);
  EXPECT_EQ(server.snapshot().firmware_executed, 0u);
  // The campaign is over: the client's next Register does not continue it (and, without
  // </5/0>, starts none).
  FakeClient rebooted(server.address());
  c.register_client(rebooted, "</1/0>,</3/0>");
  EXPECT_EQ(rebooted.next_request(milliseconds(300)), nullptr);
}

TEST(FirmwareCampaign, UpdateResultOtherThanSuccessFails) {
  Lwm2mServer server(firmware_server(1));
  ASSERT_EQ(server.start(), "");
  CampaignClient c(server);
  ASSERT_NO_FATAL_FAILURE(c.until_execute(CoapCode::kChanged));
  FakeClient rebooted(server.address());
  c.after_reboot(rebooted, "8", kVersion);  // 8: integrity check failure
  expect_failed_at(server, FirmwareStep::kReadResult);
  EXPECT_EQ(server.snapshot().firmware_executed, 1u);
}

TEST(FirmwareCampaign, WrongVersionAfterTheRebootFails) {
  Lwm2mServer server(firmware_server(1));
  ASSERT_EQ(server.start(), "");
  CampaignClient c(server);
  ASSERT_NO_FATAL_FAILURE(c.until_execute(CoapCode::kChanged));
  FakeClient rebooted(server.address());
  c.after_reboot(rebooted, "1", "1.0.0");
  expect_failed_at(server, FirmwareStep::kReadVersion);
}

TEST(FirmwareCampaign, StateBackToIdleMeansTheDownloadFailed) {
  Lwm2mServer server(firmware_server(1));
  ASSERT_EQ(server.start(), "");
  CampaignClient c(server);
  c.register_client(c.client);
  c.observe_state();
  ASSERT_FALSE(c.write_uri().empty());
  EXPECT_EQ(c.notify("1"), CoapType::kAck);
  EXPECT_EQ(c.notify("0"), CoapType::kAck);
  expect_failed_at(server, FirmwareStep::kDownload);
  EXPECT_EQ(c.notify("0"), CoapType::kRst);
}

TEST(FirmwareCampaign, OnlyClientsWithAFirmwareObjectAndWithinTheRate) {
  ServerConfig config = firmware_server(1);
  Lwm2mServer server(config);
  ASSERT_EQ(server.start(), "");
  CampaignClient without(server);
  RegistrationParams p;
  p.endpoint = "no-firmware";
  p.links = "</1/0>,</3/0>,</55/0>";
  ASSERT_FALSE(without.client.register_endpoint(p).empty());
  // One thread handles both Registers in order: by the time the second client's campaign asks
  // for its State, the first one was passed over.
  CampaignClient with(server);
  with.register_client(with.client);
  ASSERT_NE(with.expect(with.client, CoapCode::kGet, "5/0/3"), nullptr);
  EXPECT_EQ(server.snapshot().firmware_started, 1u);
  EXPECT_EQ(without.client.next_request(milliseconds(100)), nullptr);

  // The bucket starts with one start and refills it in a million seconds.
  config.firmware_rate = 1e-6;
  Lwm2mServer slow(config);
  ASSERT_EQ(slow.start(), "");
  CampaignClient first(slow);
  first.register_client(first.client, kFirmwareLinks, "first");
  ASSERT_NE(first.expect(first.client, CoapCode::kGet, "5/0/3"), nullptr);
  CampaignClient second(slow);
  second.register_client(second.client, kFirmwareLinks, "second");
  EXPECT_TRUE(
      eventually([&] { return slow.snapshot().firmware_rate_limited == 1; }, milliseconds(5000)));
  EXPECT_EQ(slow.snapshot().firmware_started, 1u);
}

// A queue-mode client that is never awake for long (queue_awake 0): every step waits for the
// next Update.
TEST(FirmwareCampaign, StepsWaitForASleepingQueueModeClient) {
  ServerConfig config = firmware_server(1);
  config.queue_awake = 0;
  Lwm2mServer server(config);
  ASSERT_EQ(server.start(), "");
  CampaignClient c(server);
  RegistrationParams p;
  p.endpoint = "fw-sleeper";
  p.version = Lwm2mVersion::k1_0;
  p.binding = "UQ";
  p.links = kFirmwareLinks;
  const std::string location = c.client.register_endpoint(p);
  ASSERT_FALSE(location.empty());
  auto held = [&](uint64_t n) {
    return eventually([&] { return server.snapshot().queued == n; }, milliseconds(5000));
  };
  ASSERT_TRUE(held(1)) << server.snapshot().to_text();
  EXPECT_EQ(c.client.next_request(milliseconds(100)), nullptr);
  ASSERT_EQ(c.client.update(location), CoapCode::kChanged);
  c.observe_state();
  ASSERT_TRUE(held(2)) << server.snapshot().to_text();
  ASSERT_EQ(c.client.update(location), CoapCode::kChanged);
  ASSERT_FALSE(c.write_uri().empty());
  EXPECT_EQ(c.notify("2"), CoapType::kAck);
  ASSERT_TRUE(held(3)) << server.snapshot().to_text();
  ASSERT_EQ(c.client.update(location), CoapCode::kChanged);
  c.execute(CoapCode::kChanged);
  ASSERT_TRUE(
      eventually([&] { return server.snapshot().firmware_executed == 1; }, milliseconds(5000)));
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.queue_flushed, 3u);
  EXPECT_EQ(s.queue_wakeups, 3u);
  EXPECT_EQ(s.queue_delay.count(), 3u);
  EXPECT_EQ(s.firmware_failed, 0u);
}

}  // namespace
}  // namespace lwm2msim
