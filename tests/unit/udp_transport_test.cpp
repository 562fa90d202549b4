// UdpTransport on loopback: kernel arrival stamps, and flushes grouped by socket that keep each
// socket's order.
#include "sim/transport/udp_transport.h"

#include <gtest/gtest.h>
#include <time.h>

#include <set>
#include <string>
#include <vector>

#include "sim/transport/event_loop.h"

namespace lwm2msim {
namespace {

struct Received {
  uint32_t socket;
  Endpoint4 peer;
  std::string text;
  int64_t arrival_ns;
};

class Collector : public DatagramHandler {
 public:
  void on_datagram(const ReceivedDatagram& d) override {
    got.push_back({d.socket, d.peer, std::string(d.data.begin(), d.data.end()), d.arrival_ns});
  }
  std::vector<Received> got;
};

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Waits (bounded) until `n` datagrams arrived at `t`.
void receive(UdpTransport& t, Collector& c, size_t n) {
  EventLoop loop;
  loop.set_input(t.epoll_fd());
  for (int i = 0; i < 100 && c.got.size() < n; ++i) {
    if (loop.wait(EventLoop::Clock::now() + std::chrono::milliseconds(20), true)) {
      t.drain_ready();
    }
  }
}

// A receiving and a sending transport on 127.0.0.1; tests open their sockets.
class UdpTransportTest : public ::testing::Test {
 protected:
  // Opens a socket of `t` on 127.0.0.1 at a free port; its index.
  int open(UdpTransport& t, bool timestamps = false) {
    std::string error;
    const int index = t.open(Endpoint4{0x7f000001, 0}, false, false, &error, timestamps);
    EXPECT_GE(index, 0) << error;
    return index;
  }

  Collector rx_handler;
  Collector tx_handler;
  UdpTransport rx{rx_handler};
  UdpTransport tx{tx_handler};
};

TEST_F(UdpTransportTest, StampsArrivalInMonotonicTimeWhenAsked) {
  ASSERT_EQ(open(rx, true), 0);
  ASSERT_EQ(open(tx), 0);
  const int64_t before = monotonic_ns();
  tx.send(0, 0, rx.local_address(0), bytes("ping"));
  tx.flush();
  receive(rx, rx_handler, 1);
  const int64_t after = monotonic_ns();
  ASSERT_EQ(rx_handler.got.size(), 1u);
  EXPECT_EQ(rx_handler.got[0].text, "ping");
  EXPECT_GE(rx_handler.got[0].arrival_ns, before);
  EXPECT_LE(rx_handler.got[0].arrival_ns, after);

  // Without stamps the field stays 0.
  rx_handler.got.clear();
  rx.send(0, 0, tx.local_address(0), bytes("pong"));
  rx.flush();
  receive(tx, tx_handler, 1);
  ASSERT_EQ(tx_handler.got.size(), 1u);
  EXPECT_EQ(tx_handler.got[0].arrival_ns, 0);
}

TEST_F(UdpTransportTest, FlushKeepsEachSocketsOrderWhenQueuedInterleaved) {
  ASSERT_EQ(open(rx), 0);
  ASSERT_EQ(open(tx), 0);
  ASSERT_EQ(open(tx), 1);
  ASSERT_EQ(open(tx), 2);
  constexpr int kEach = 20;
  for (int i = 0; i < kEach; ++i) {
    for (uint32_t s = 0; s < 3; ++s) {
      tx.send(s, 0, rx.local_address(0), bytes(std::to_string(s) + ":" + std::to_string(i)));
    }
  }
  tx.flush();
  receive(rx, rx_handler, 3 * kEach);
  ASSERT_EQ(rx_handler.got.size(), static_cast<size_t>(3 * kEach));
  EXPECT_EQ(tx.stats().datagrams_out.value(), static_cast<uint64_t>(3 * kEach));
  // One sendmmsg per socket.
  EXPECT_EQ(tx.stats().syscalls.value(), 3u);
  std::vector<int> next(3, 0);
  for (const Received& r : rx_handler.got) {
    uint32_t s = 3;
    for (uint32_t k = 0; k < 3; ++k) {
      if (r.peer == tx.local_address(k)) {
        s = k;
      }
    }
    ASSERT_LT(s, 3u) << "from an unknown port";
    EXPECT_EQ(r.text, std::to_string(s) + ":" + std::to_string(next[s]));
    ++next[s];
  }
}

TEST_F(UdpTransportTest, ReusePortSocketsOnPortZeroNeverShareAPort) {
  // Each is the first socket of a server: none may join another's port. Were the kernel to pick
  // the ports with SO_REUSEPORT set, 800 of them would share some (birthday bound over 28k ports).
  std::set<uint16_t> ports;
  std::string error;
  for (int i = 0; i < 800; ++i) {
    const int index = rx.open(Endpoint4{0x7f000001, 0}, false, true, &error);
    ASSERT_GE(index, 0) << error;
    ports.insert(rx.local_address(static_cast<uint32_t>(index)).port);
  }
  EXPECT_EQ(ports.size(), 800u);
}

}  // namespace
}  // namespace lwm2msim
