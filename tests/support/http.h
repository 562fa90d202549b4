// HTTP/1.0 GET over loopback and the Prometheus text exposition format: how tests and benchmarks
// read a run's metrics endpoint.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.h"

namespace lwm2msim::testing {

// A socket descriptor, closed on destruction.
class Socket {
 public:
  explicit Socket(int type);
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in loopback(uint16_t port);

struct HttpResponse {
  int status = 0;
  std::string body;
};

// HTTP/1.0 GET from 127.0.0.1:port; nullopt unless a whole response arrives within `timeout`.
std::optional<HttpResponse> http_get(uint16_t port, const std::string& target,
                                     std::chrono::milliseconds timeout);

// Waits for `run`'s first stderr line and returns the metrics port it names, or 0.
uint16_t metrics_port(ChildProcess& run);

// One sample line of the text exposition format.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family name -> TYPE
  std::vector<Sample> samples;
};

// Parses the text exposition format; empty string on success, else the offending line.
std::string parse_exposition(const std::string& text, Exposition* out);

}  // namespace lwm2msim::testing
