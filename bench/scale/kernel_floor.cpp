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

FloorResult finish(uint64_t exchanges, std::chrono::steady_clock::time_point start,
                   double client_cpu, Responder& responder) {
  FloorResult r;
  r.exchanges = exchanges;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double responder_cpu = responder.stop();
  if (exchanges > 0) {
    r.client_cpu_us = client_cpu * 1e6 / static_cast<double>(exchanges);
    r.responder_cpu_us = responder_cpu * 1e6 / static_cast<double>(exchanges);
  }
  return r;
}

}  // namespace

FloorResult saturated_floor(std::chrono::milliseconds duration, size_t payload, unsigned window) {
  Responder responder;
  UdpSocket client;
  const sockaddr_in to = responder.address();
  std::vector<uint8_t> request(payload, 0x42);
  std::vector<uint8_t> buf(2048);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + duration;
  const double cpu_start = thread_cpu_seconds();
  auto send_one = [&] {
    ::sendto(client.fd(), request.data(), request.size(), 0, reinterpret_cast<const sockaddr*>(&to),
             sizeof to);
  };
  for (unsigned i = 0; i < window; ++i) {
    send_one();
  }
  uint64_t exchanges = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::recvfrom(client.fd(), buf.data(), buf.size(), 0, nullptr, nullptr);
    if (n > 0) {
      ++exchanges;
    }
    // A lost datagram (n < 0 after the receive timeout) is replaced, so the window stays full.
    send_one();
  }
  const double client_cpu = thread_cpu_seconds() - cpu_start;
  return finish(exchanges, start, client_cpu, responder);
}

FloorResult paced_floor(std::chrono::milliseconds duration, size_t payload, double rate) {
  Responder responder;
  UdpSocket client;
  const sockaddr_in to = responder.address();
  std::vector<uint8_t> request(payload, 0x42);
  std::vector<uint8_t> buf(2048);
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = thread_cpu_seconds();
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
    while (::recvfrom(client.fd(), buf.data(), buf.size(), MSG_DONTWAIT, nullptr, nullptr) > 0) {
      ++exchanges;
    }
    owed += rate / 1000.0;
    for (; owed >= 1; owed -= 1) {
      ::sendto(client.fd(), request.data(), request.size(), 0,
               reinterpret_cast<const sockaddr*>(&to), sizeof to);
    }
  }
  const double client_cpu = thread_cpu_seconds() - cpu_start;
  return finish(exchanges, start, client_cpu, responder);
}

}  // namespace lwm2msim::bench
