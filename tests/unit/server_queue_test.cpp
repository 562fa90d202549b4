// Queue mode (LwM2M TS 1.1 section 6.5) in the built-in server: requests due while a queue-mode
// client sleeps wait for its next Update, then go out in order.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "sim/server/queue.h"
#include "sim/server/server.h"
#include "tests/unit/server_fixtures.h"

namespace lwm2msim {
namespace {

using testing::DatagramPtr;
using testing::eventually;
using testing::FakeClient;
using testing::milliseconds;

constexpr std::string_view kLinks = "</1/0>,</3/0>";

CoapMessage parse_into(std::span<const uint8_t> bytes) {
  CoapMessage m;
  EXPECT_EQ(m.parse(bytes), CoapParseError::kOk);
  return m;
}

// A Register with the given Uri-Query options, as LwM2M 1.1 writes queue mode (a bare Q).
std::span<const uint8_t> register_with_queries(std::span<uint8_t> out, uint16_t mid,
                                               const CoapToken& token,
                                               std::initializer_list<std::string_view> queries) {
  CoapWriter w(out);
  w.header(CoapType::kCon, CoapCode::kPost, mid, token.view())
      .option(CoapOption::kUriPath, "rd")
      .option_uint(CoapOption::kContentFormat, CoapContentFormat::kLinkFormat);
  for (std::string_view q : queries) {
    w.option(CoapOption::kUriQuery, q);
  }
  w.payload(kLinks);
  return w.finish();
}

TEST(QueueModeRegister, BindingQOrABareQParameterAskForIt) {
  std::array<uint8_t, 256> buf;
  const CoapToken token = CoapToken::from_u64(1, 2);
  auto wants = [&](std::initializer_list<std::string_view> queries) {
    const auto bytes = register_with_queries(buf, 1, token, queries);
    return register_wants_queue_mode(parse_into(bytes));
  };
  EXPECT_TRUE(wants({"ep=a", "b=UQ"}));
  EXPECT_TRUE(wants({"ep=a", "b=UQS"}));
  EXPECT_TRUE(wants({"ep=a", "lwm2m=1.1", "b=U", "Q"}));
  EXPECT_TRUE(wants({"ep=a", "Q", "lt=60"}));
  EXPECT_FALSE(wants({"ep=a", "b=U"}));
  EXPECT_FALSE(wants({"ep=a", "lwm2m=1.1", "b=US"}));
  EXPECT_FALSE(wants({"ep=Q"}));
  EXPECT_FALSE(wants({"ep=a", "Q=1"}));
  EXPECT_FALSE(wants({"ep=a"}));

  RegistrationParams p;
  p.endpoint = "a";
  p.version = Lwm2mVersion::k1_0;
  p.binding = "UQ";
  p.links = kLinks;
  EXPECT_TRUE(register_wants_queue_mode(parse_into(build_register(buf, 1, token, p))));
  p.binding = "U";
  EXPECT_FALSE(register_wants_queue_mode(parse_into(build_register(buf, 1, token, p))));
}

HeldRequest held(uint16_t path, TimeUs due) {
  HeldRequest h;
  h.path = path;
  h.due = due;
  h.held_at = due;
  return h;
}

TEST(SleepQueues, HoldWhileAsleepAndReleaseInOrderOnWake) {
  SleepQueues q;
  const Endpoint4 first{0x7f000001, 1000};
  const Endpoint4 moved{0x7f000002, 2000};
  q.add(7, first, 100);
  Endpoint4 peer{0x7f000009, 9};
  // Not queue mode: sent, address untouched.
  EXPECT_EQ(q.admit(8, 500, held(0, 500), &peer), SleepQueues::Admit::kSend);
  EXPECT_EQ(peer, (Endpoint4{0x7f000009, 9}));
  // Awake: sent, to where the client was heard from.
  EXPECT_EQ(q.admit(7, 99, held(0, 99), &peer), SleepQueues::Admit::kSend);
  EXPECT_EQ(peer, first);
  // Asleep: held, in order.
  for (uint16_t i = 1; i <= 3; ++i) {
    EXPECT_EQ(q.admit(7, 100 + i, held(i, 100 + i), &peer), SleepQueues::Admit::kHeld);
  }
  EXPECT_TRUE(q.has_held(7));
  Endpoint4 to;
  const std::vector<HeldRequest> out = q.wake(7, &moved, 1000, &to);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].path, 1);
  EXPECT_EQ(out[2].path, 3);
  EXPECT_EQ(to, moved);
  EXPECT_FALSE(q.has_held(7));
  EXPECT_EQ(q.admit(7, 999, held(4, 999), &peer), SleepQueues::Admit::kSend);
  EXPECT_EQ(peer, moved);
  // A wake never shortens the window.
  EXPECT_TRUE(q.wake(7, nullptr, 500, &to).empty());
  EXPECT_EQ(q.admit(7, 999, held(5, 999), &peer), SleepQueues::Admit::kSend);
  EXPECT_EQ(q.admit(7, 1000, held(6, 1000), &peer), SleepQueues::Admit::kHeld);
}

TEST(SleepQueues, BoundedAndDroppedWithTheRegistration) {
  SleepQueues q;
  q.add(1, Endpoint4{0x7f000001, 1}, 0);
  q.add(2, Endpoint4{0x7f000001, 2}, 0);
  Endpoint4 peer;
  for (size_t i = 0; i < SleepQueues::kMaxHeld; ++i) {
    EXPECT_EQ(q.admit(1, 10, held(0, 10), &peer), SleepQueues::Admit::kHeld);
  }
  EXPECT_EQ(q.admit(1, 10, held(0, 10), &peer), SleepQueues::Admit::kFull);
  EXPECT_EQ(q.admit(2, 10, held(0, 10), &peer), SleepQueues::Admit::kHeld);
  EXPECT_EQ(q.drop_if([](uint32_t id) { return id == 1; }), SleepQueues::kMaxHeld);
  EXPECT_FALSE(q.contains(1));
  EXPECT_TRUE(q.contains(2));
  EXPECT_EQ(q.size(), 1u);
}

ServerConfig reading_server(uint32_t threads) {
  ServerConfig c;
  c.listen = Endpoint4{0x7f000001, 0};
  c.threads = threads;
  c.read_rate = 20;
  c.read_paths = {Lwm2mPath{3, 0, 0}};
  c.queue_awake = 300 * kUsPerMs;
  // Reads left unanswered stay quiet: no retransmission within a test.
  c.coap.ack_timeout = 60 * kUsPerSec;
  return c;
}

// Receives the requests that arrive within `window`, answering them when `answer` is set (which
// keeps a queue-mode client awake: an answer is a message from it); returns how many.
size_t take_requests(FakeClient& client, milliseconds window, bool answer) {
  size_t n = 0;
  const auto deadline = std::chrono::steady_clock::now() + window;
  while (std::chrono::steady_clock::now() < deadline) {
    DatagramPtr d = client.next_request(milliseconds(10));
    if (d != nullptr) {
      EXPECT_EQ(d->m.code(), CoapCode::kGet);
      EXPECT_EQ(d->path(), "3/0/0");
      if (answer) {
        client.reply(d->m, CoapCode::kContent, "Acme");
      }
      ++n;
    }
  }
  return n;
}
size_t answer_requests(FakeClient& client, milliseconds window) {
  return take_requests(client, window, true);
}
size_t ignore_requests(FakeClient& client, milliseconds window) {
  return take_requests(client, window, false);
}

// Registers a queue-mode client, lets it fall asleep, checks nothing reaches it while the server
// holds its reads, then wakes it with an Update (from `waker`, when given: a new source address)
// and checks the held reads arrive there.
void sleep_then_wake(Lwm2mServer& server, FakeClient& client, const std::string& location,
                     FakeClient* waker) {
  ASSERT_FALSE(location.empty());
  const ServerSnapshot base = server.snapshot();
  // Reads sent while it is still awake go unanswered (so it falls asleep); then the server
  // starts holding them.
  ASSERT_TRUE(eventually(
      [&] {
        ignore_requests(client, milliseconds(20));
        return server.snapshot().queued >= base.queued + 3;
      },
      milliseconds(10000)))
      << server.snapshot().to_text();
  ignore_requests(client, milliseconds(100));  // anything sent before the first hold
  const ServerSnapshot asleep = server.snapshot();
  EXPECT_EQ(client.next_request(milliseconds(600)), nullptr) << "a request reached a sleeper";
  const ServerSnapshot still = server.snapshot();
  EXPECT_EQ(still.reads_sent, asleep.reads_sent);
  EXPECT_GT(still.queued, asleep.queued);
  EXPECT_EQ(still.queue_flushed, base.queue_flushed);

  FakeClient& awake = waker != nullptr ? *waker : client;
  ASSERT_EQ(awake.update(location), CoapCode::kChanged);
  // Every read held so far arrives (later ones may go out while it is awake).
  size_t received = 0;
  ASSERT_TRUE(eventually(
      [&] {
        received += answer_requests(awake, milliseconds(20));
        const uint64_t flushed = server.snapshot().queue_flushed - base.queue_flushed;
        return flushed > 0 && received >= flushed;
      },
      milliseconds(10000)))
      << server.snapshot().to_text();
  const ServerSnapshot woken = server.snapshot();
  EXPECT_EQ(woken.queue_overflow, 0u);
  EXPECT_GE(woken.queue_flushed - base.queue_flushed, still.queued - base.queued);
  EXPECT_EQ(woken.queue_wakeups, base.queue_wakeups + 1);
  EXPECT_EQ(woken.queue_dropped, 0u);
  EXPECT_EQ(woken.queue_delay.count(), woken.queue_flushed);
  // Read latency counts from when a Read fell due, so it covers the time it was held.
  EXPECT_GE(woken.read_latency.max(), woken.queue_delay.max());
  EXPECT_EQ(woken.reads_error, 0u);
  EXPECT_EQ(woken.request_timeouts, 0u);
}

TEST(ServerQueueMode, Lwm2m11BareQHoldsReadsUntilTheUpdate) {
  Lwm2mServer server(reading_server(1));
  ASSERT_EQ(server.start(), "");
  FakeClient client(server.address());
  const std::string location =
      client.register_with([](std::span<uint8_t> out, uint16_t mid, const CoapToken& token) {
        return register_with_queries(out, mid, token,
                                     {"ep=queue-11", "lt=300", "lwm2m=1.1", "b=U", "Q"});
      });
  sleep_then_wake(server, client, location, nullptr);
}

TEST(ServerQueueMode, Lwm2m10BindingUqHoldsReadsUntilTheUpdate) {
  Lwm2mServer server(reading_server(1));
  ASSERT_EQ(server.start(), "");
  FakeClient client(server.address());
  RegistrationParams p;
  p.endpoint = "queue-10";
  p.version = Lwm2mVersion::k1_0;
  p.binding = "UQ";
  p.links = kLinks;
  sleep_then_wake(server, client, client.register_endpoint(p), nullptr);
}

// The Update may reach another server thread than the one holding the queue (SO_REUSEPORT hashes
// the new source address): it still wakes the client, at its new address.
TEST(ServerQueueMode, UpdateFromANewAddressWakesTheOwningThread) {
  Lwm2mServer server(reading_server(4));
  ASSERT_EQ(server.start(), "");
  auto client = std::make_unique<FakeClient>(server.address());
  const std::string location =
      client->register_with([](std::span<uint8_t> out, uint16_t mid, const CoapToken& token) {
        return register_with_queries(out, mid, token, {"ep=queue-moving", "lwm2m=1.1", "Q"});
      });
  for (int round = 0; round < 3; ++round) {
    auto moved = std::make_unique<FakeClient>(server.address());
    sleep_then_wake(server, *client, location, moved.get());
    client = std::move(moved);
    if (::testing::Test::HasFailure()) {
      return;
    }
  }
}

TEST(ServerQueueMode, HeldRequestsGoWithTheRegistration) {
  Lwm2mServer server(reading_server(1));
  ASSERT_EQ(server.start(), "");
  FakeClient client(server.address());
  const std::string location =
      client.register_with([](std::span<uint8_t> out, uint16_t mid, const CoapToken& token) {
        return register_with_queries(out, mid, token, {"ep=queue-gone", "b=UQ"});
      });
  ASSERT_FALSE(location.empty());
  ASSERT_TRUE(eventually(
      [&] {
        ignore_requests(client, milliseconds(20));
        return server.snapshot().queued >= 2;
      },
      milliseconds(10000)));
  ASSERT_EQ(client.deregister(location), CoapCode::kDeleted);
  // The once-a-second sweep drops the queue.
  ASSERT_TRUE(eventually([&] { return server.snapshot().queue_dropped >= 2; }, milliseconds(5000)))
      << server.snapshot().to_text();
  EXPECT_EQ(server.snapshot().queue_flushed, 0u);
}

TEST(ServerQueueMode, OtherClientsGetReadsDirectly) {
  Lwm2mServer server(reading_server(1));
  ASSERT_EQ(server.start(), "");
  FakeClient client(server.address());
  RegistrationParams p;
  p.endpoint = "always-on";
  p.binding = "U";
  p.links = kLinks;
  ASSERT_FALSE(client.register_endpoint(p).empty());
  // At 20 reads/s, 15 answered reads span well past the 300 ms a queue-mode client would stay
  // awake.
  size_t answered = 0;
  ASSERT_TRUE(eventually(
      [&] {
        answered += answer_requests(client, milliseconds(20));
        return answered >= 15;
      },
      milliseconds(10000)));
  const ServerSnapshot s = server.snapshot();
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.queue_flushed, 0u);
  EXPECT_GE(s.reads_sent, 15u);
}

}  // namespace
}  // namespace lwm2msim
