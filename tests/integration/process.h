#pragma once

#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sim/util/address_plan.h"

namespace lwm2msim::testing {

// A child process with its stdout and stderr captured; killed (SIGKILL) and reaped on destruction.
class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> args);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads stdout until a line containing `needle` arrives; returns it, or nullopt on timeout/EOF.
  std::optional<std::string> wait_stdout_line(const std::string& needle,
                                              std::chrono::milliseconds timeout);
  // Waits until stderr contains `needle` anywhere; false on timeout/EOF.
  bool wait_stderr(const std::string& needle, std::chrono::milliseconds timeout);
  void signal(int sig);
  // Waits for exit; returns the exit code (128+signal if killed), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void kill_now();
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  pid_t pid() const { return pid_; }

 private:
  // Reads whatever is available within `budget` into out_/err_.
  void pump(std::chrono::milliseconds budget);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  size_t out_scan_ = 0;
  std::optional<int> status_;
};

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
