#include "bench/scale/kernel_floor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace lwm2msim::bench {
namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// A UDP socket bound to 127.0.0.1 at a free port; closed on destruction.
class UdpSocket {
 public:
  UdpSocket() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      throw std::runtime_error("cannot bind a UDP socket on 127.0.0.1");
    }
    address_ = sa;
    // Receives give up after 100 ms so that no loop waits for ever on a lost datagram.
    timeval tv{0, 100'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~UdpSocket() { ::close(fd_); }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  int fd() const { return fd_; }
  const sockaddr_in& address() const { return address_; }

 private:
  int fd_;
  sockaddr_in address_{};
};

// Echoes every datagram back to its sender until stopped; measures its own CPU.
class Responder {
 public:
  Responder() : thread_([this] { run(); }) {}
  ~Responder() { stop(); }
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  const sockaddr_in& address() const { return socket_.address(); }
  // Stops the thread; returns the CPU seconds it used.
  double stop() {
    stop_.store(true);
    if (thread_.joinable()) {
      thread_.join();
    }
    return cpu_;
  }

 private:
  void run() {
    const double start = thread_cpu_seconds();
    std::vector<uint8_t> buf(2048);
    while (!stop_.load(std::memory_order_relaxed)) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(socket_.fd(), buf.data(), buf.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &len);
      if (n > 0) {
        ::sendto(socket_.fd(), buf.data(), static_cast<size_t>(n), 0,
                 reinterpret_cast<const sockaddr*>(&from), len);
      }
    }
    cpu_ = thread_cpu_seconds() - start;
  }

  UdpSocket socket_;
  std::atomic<bool> stop_{false};
  double cpu_ = 0;
  std::thread thread_;
};

// A client socket, an echo responder and the request both floors send; measures the client's CPU
// from construction.
class Rig {
 public:
  explicit Rig(size_t payload) : request_(payload, 0x42), buf_(2048), to_(responder_.address()) {}

  void send_request() {
    ::sendto(client_.fd(), request_.data(), request_.size(), 0,
             reinterpret_cast<const sockaddr*>(&to_), sizeof to_);
  }
  // True when a response came (within the socket's receive timeout).
  bool receive(int flags) {
    return ::recvfrom(client_.fd(), buf_.data(), buf_.size(), flags, nullptr, nullptr) > 0;
  }
  // Stops the responder and divides both sides' CPU by `exchanges`.
  FloorResult finish(uint64_t exchanges) {
    FloorResult r;
    r.exchanges = exchanges;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double client_cpu = thread_cpu_seconds() - cpu_start_;
    const double responder_cpu = responder_.stop();
    if (exchanges > 0) {
      r.client_cpu_us = client_cpu * 1e6 / static_cast<double>(exchanges);
      r.responder_cpu_us = responder_cpu * 1e6 / static_cast<double>(exchanges);
    }
    return r;
  }
  std::chrono::steady_clock::time_point start() const { return start_; }

 private:
  Responder responder_;
  UdpSocket client_;
  std::vector<uint8_t> request_;
  std::vector<uint8_t> buf_;
  sockaddr_in to_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double cpu_start_ = thread_cpu_seconds();
};

}  // namespace

FloorResult saturated_floor(std::chrono::milliseconds duration, size_t payload, unsigned window) {
  Rig rig(payload);
  const auto deadline = rig.start() + duration;
  for (unsigned i = 0; i < window; ++i) {
    rig.send_request();
  }
  uint64_t exchanges = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (rig.receive(0)) {
      ++exchanges;
    }
    // A lost datagram (no answer within the receive timeout) is replaced: the window stays full.
    rig.send_request();
  }
  return rig.finish(exchanges);
}

FloorResult paced_floor(std::chrono::milliseconds duration, size_t payload, double rate) {
  Rig rig(payload);
  timespec tick{};
  clock_gettime(CLOCK_MONOTONIC, &tick);
  const int64_t ticks = duration.count();
  double owed = 0;
  uint64_t exchanges = 0;
  for (int64_t t = 0; t < ticks; ++t) {
    tick.tv_nsec += 1'000'000;
    if (tick.tv_nsec >= 1'000'000'000) {
      tick.tv_nsec -= 1'000'000'000;
      ++tick.tv_sec;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, nullptr);
    while (rig.receive(MSG_DONTWAIT)) {
      ++exchanges;
    }
    owed += rate / 1000.0;
    for (; owed >= 1; owed -= 1) {
      rig.send_request();
    }
  }
  return rig.finish(exchanges);
}

}  // namespace lwm2msim::bench
