#pragma once

#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/util/address_plan.h"
#include "tests/support/child_process.h"

namespace lwm2msim::testing {

// Starts `lwm2m-sim server` on 127.0.0.1 (port 0 picks a free one) and learns its address.
class ServerProcess {
 public:
  explicit ServerProcess(uint16_t port = 0, std::vector<std::string> extra = {});
  Endpoint4 address() const { return address_; }
  std::string uri() const { return "coap://" + address_.to_string(); }
  ChildProcess& process() { return *process_; }

 private:
  std::unique_ptr<ChildProcess> process_;
  Endpoint4 address_;
};

// A bare UDP socket on 127.0.0.1 (free port) that speaks CoAP by hand: a server whose every
// answer a test decides. Receives time out after 2 s.
class FakeServer {
 public:
  FakeServer();
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  Endpoint4 address() const { return address_; }
  // Next datagram, with its sender; nullopt after the timeout.
  std::optional<std::vector<uint8_t>> receive(Endpoint4* from);
  void send(const Endpoint4& to, std::span<const uint8_t> data);

 private:
  int fd_ = -1;
  Endpoint4 address_;
};

// GET /sim/stats from a built-in server over CoAP, block-wise (RFC 7959) when the text
// outgrows one datagram; empty map when it does not answer.
std::map<std::string, uint64_t> query_server_stats(const Endpoint4& server);
// The server's "key=value" stats lines as a map.
std::map<std::string, uint64_t> parse_stats(std::string_view text);

// Polls `predicate` every 50 ms until it holds or `timeout` passes.
template <class F>
bool eventually(F&& predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) {
      return true;
    }
    struct timespec ts {
      0, 50 * 1000 * 1000
    };
    nanosleep(&ts, nullptr);
  }
  return predicate();
}

}  // namespace lwm2msim::testing
